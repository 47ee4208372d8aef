"""Reading a session folder back as Python data (docs/python.md, "Sessions").

Tolerant by design, like `aeqlab sessions`: a folder may be half written (a crash, a run still
going, a disk that filled up). What cannot be read is reported with warnings.warn, naming the file
and line, and left out; nothing here raises for damaged contents.
"""

import csv
import hashlib
import json
import math
import warnings
from pathlib import Path

import numpy as np

from . import _aeqlab


class SessionWarning(UserWarning):
    """Part of a session folder could not be read (the message names the file and line)."""


def _warn(message):
    warnings.warn(message, SessionWarning, stacklevel=3)


# What a session file may hold before it is not read, as the program's readers bound them
# (docs/sessions.md, "Reading a session back").
_MAX_JSON_BYTES = 64 << 20
_MAX_EVENT_LINE_BYTES = 4 << 20


def _read_json(file):
    if not file.exists():
        return None
    try:
        if file.stat().st_size > _MAX_JSON_BYTES:
            _warn(f"{file}: more than {_MAX_JSON_BYTES} bytes; left out")
            return None
        with open(file, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        _warn(f"{file}: cannot be read ({e}); left out")
        return None
    except RecursionError:
        _warn(f"{file}: nested too deep; left out")
        return None


def _number(text):
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


class Session:
    """A session folder (docs/sessions.md): summary, metrics, events, parameters, report.

    Every property reads the files when asked, so a Session of a run still going shows how far it
    has come.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise _aeqlab.DataError(f"{self.path}: not a folder")
        if not _aeqlab._is_session_dir(str(self.path)):
            raise _aeqlab.DataError(
                f"{self.path}: not a session folder (no events.jsonl or summary.json)")

    def __repr__(self):
        info = self.info
        return f"aeqlab.Session({str(self.path)!r}, status={info.get('status')!r})"

    def __fspath__(self):
        return str(self.path)

    # --- what the run wrote once ---------------------------------------------------------------
    @property
    def config(self):
        """config.json: the resolved config the run used (None if unreadable)."""
        return _read_json(self.path / "config.json")

    @property
    def device(self):
        """device.json: the device's description, as Device.describe() gives it."""
        return _read_json(self.path / "device.json")

    @property
    def info(self):
        """What `aeqlab sessions --json` says of the folder: status (completed, aborted, failed,
        running, interrupted, unreadable), headline figures and the warnings of reading it."""
        info = _aeqlab._session_info(str(self.path))
        for w in info.get("warnings") or []:
            _warn(w)
        return info

    @property
    def status(self):
        return self.info.get("status")

    @property
    def summary(self):
        """summary.json as a dict. A run that has not ended (or whose summary is damaged) has
        none: then the figures `aeqlab sessions` reads from the event log, with a warning."""
        s = _read_json(self.path / "summary.json")
        if isinstance(s, dict):
            return s
        if s is not None:
            _warn(f"{self.path / 'summary.json'}: not a JSON object; left out")
        info = self.info
        return {k: v for k, v in info.items() if v is not None and k not in ("dir", "warnings")}

    # --- what grows during the run --------------------------------------------------------------
    @property
    def metrics(self):
        """metrics.csv as {column: NumPy array}, one value per epoch; empty cells are NaN.

        A row of the wrong length or with a value that is not a number is left out, with a
        warning naming its line."""
        file = self.path / "metrics.csv"
        if not file.exists():
            _warn(f"{file}: missing; no metrics")
            return {}
        try:
            with open(file, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            _warn(f"{file}: cannot be read ({e}); no metrics")
            return {}
        if not rows:
            return {}
        header, columns = rows[0], [[] for _ in rows[0]]
        for line, row in enumerate(rows[1:], start=2):
            values = [_number(v) for v in row]
            if len(row) != len(header) or any(v is None for v in values):
                _warn(f"{file}:{line}: not a row of {len(header)} numbers; left out")
                continue
            for c, v in zip(columns, values):
                c.append(v)
        return {name: np.array(c, dtype=float) for name, c in zip(header, columns)}

    def metrics_frame(self):
        """metrics.csv as a pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd  # optional: only this method needs it

        frame = pd.DataFrame(self.metrics)
        return frame.set_index("epoch") if "epoch" in frame else frame

    def events(self, kind=None):
        """The event log (events.jsonl) as a list of dicts, honouring resumes: the lines a resume
        superseded are dropped (docs/sessions.md, section 12). `kind` picks one kind ("step",
        "epoch", "run_stop", ...) or several (a list)."""
        file = self.path / "events.jsonl"
        kinds = None if kind is None else ({kind} if isinstance(kind, str) else set(kind))
        kept = []
        try:
            with open(file, "rb") as f:
                number = 0
                while True:
                    # One line at a time, none held beyond _MAX_EVENT_LINE_BYTES.
                    line = f.readline(_MAX_EVENT_LINE_BYTES + 1)
                    if not line:
                        break
                    number += 1
                    if len(line) > _MAX_EVENT_LINE_BYTES and not line.endswith(b"\n"):
                        while line and not line.endswith(b"\n"):
                            line = f.readline(_MAX_EVENT_LINE_BYTES + 1)
                        _warn(f"{file}:{number}: longer than {_MAX_EVENT_LINE_BYTES} bytes; "
                              "left out")
                        continue
                    if not line.endswith(b"\n"):
                        _warn(f"{file}:{number}: last line cut short; left out")
                        break
                    try:
                        event = json.loads(line)
                        name = event["event"]
                    except (ValueError, KeyError, TypeError, RecursionError):
                        _warn(f"{file}:{number}: not an event line; left out")
                        continue
                    if name == "resume" and isinstance(event.get("superseded_after_line"), int):
                        after = event["superseded_after_line"]
                        kept = [(n, e) for n, e in kept if n <= after]
                    kept.append((number, event))
        except FileNotFoundError:
            _warn(f"{file}: missing; no events")
            return []
        except OSError as e:
            _warn(f"{file}: cannot be read ({e})")
        return [e for _, e in kept if kinds is None or e["event"] in kinds]

    @property
    def parameters(self):
        """parameters.f64, the final parameters in the device's order (None before the run ends).
        Checked against summary.json's parameters_sha256 when it has one."""
        file = self.path / "parameters.f64"
        if not file.exists():
            return None
        raw = file.read_bytes()
        if len(raw) % 8:
            _warn(f"{file}: {len(raw)} bytes is not a whole number of float64; left out")
            return None
        values = np.frombuffer(raw, dtype="<f8").copy()
        summary = _read_json(self.path / "summary.json")
        expected = summary.get("parameters_sha256") if isinstance(summary, dict) else None
        if expected and hashlib.sha256(raw).hexdigest() != expected:
            _warn(f"{file}: does not match parameters_sha256 in summary.json")
        return values

    @property
    def parameter_groups(self):
        """The final parameters split into their groups, {name: array}, by device.json."""
        theta, device = self.parameters, self.device
        if theta is None or not isinstance(device, dict):
            return {}
        groups, at = {}, 0
        declared = device.get("parameters", [])
        for i, g in enumerate(declared if isinstance(declared, list) else [None]):
            name = g.get("name") if isinstance(g, dict) else None
            count = g.get("count") if isinstance(g, dict) else None
            if not isinstance(name, str) or isinstance(count, bool) or not isinstance(count, int) \
                    or count < 0:
                _warn(f"{self.path / 'device.json'}: parameters[{i}] is not a name and a count; "
                      "no groups")
                return {}
            groups[name] = theta[at:at + count]
            at += count
        if at != len(theta):
            _warn(f"{self.path / 'parameters.f64'}: {len(theta)} values, device.json "
                  f"declares {at}")
        return groups

    @property
    def log(self):
        """log.txt, the console's log of the run (a Python device's traceback is there)."""
        file = self.path / "log.txt"
        return file.read_text(encoding="utf-8", errors="replace") if file.exists() else ""

    # --- what can be done with it ----------------------------------------------------------------
    def report(self, out=None):
        """Draws the report (`aeqlab report`, docs/report.md); returns its folder."""
        from . import report

        return report([self], out)

    def eval(self, set=(), device=None):
        """Evaluates the final parameters (`aeqlab eval`); a dict of errors and costs."""
        from . import eval as evaluate

        return evaluate(self, set=set, device=device)

    def resume(self, device=None, check=True):
        """Continues the run from its newest checkpoint (`aeqlab train --resume`)."""
        from . import train

        return train(resume=self, device=device, check=check)


def sessions(root="sessions"):
    """The sessions under `root` as `aeqlab sessions --json` lists them: a list of dicts."""
    return _aeqlab._list_sessions(str(root))
