"""aeqlab report: figures and one HTML page from one or more session folders.

Compiled into the `aeqlab` program (scripts/embed.cmake) and run by `aeqlab report` as
    python3 - --out OUTDIR -- DIR [DIR ...]
Needs matplotlib and numpy (Debian: python3-matplotlib, python3-numpy).

It reads whatever each session folder holds (summary.json, device.json, config.json, metrics.csv,
events.jsonl, parameters.f64 or the newest checkpoint's) and never fails on a damaged or missing
piece: what cannot be read is skipped with a warning on standard error naming the file (and line),
a figure whose data are absent is left out with a note on the page. The last line printed on
standard output is the path of index.html.
"""

import argparse
import csv
import datetime
import html
import io
import json
import math
import os
import sys
import tempfile

# matplotlib reads a file named matplotlibrc in the working folder when it is imported, and the
# file MATPLOTLIBRC names: a session folder (or the folder the report is run in) is not to change
# what it draws or where it writes. So it is imported from an empty private folder, MATPLOTLIBRC
# ignored, and its settings then pinned to the library's own defaults (docs/sessions.md, "Reports").
os.environ.pop("MATPLOTLIBRC", None)
try:
    _here = os.open(".", os.O_RDONLY)  # the working folder, even one no longer named
except OSError:
    _here = os.getcwd()  # a folder that cannot be listed can still be returned to
with tempfile.TemporaryDirectory(prefix="aeqlab-report-") as _empty:
    os.chdir(_empty)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: E402
        import numpy as np  # noqa: E402
        from matplotlib.ticker import MaxNLocator  # noqa: E402
    finally:
        if isinstance(_here, int):
            os.fchdir(_here)
            os.close(_here)
        else:
            os.chdir(_here)
matplotlib.rcdefaults()  # the library's defaults, whatever rc file was found
matplotlib.use("Agg")

# What a session file may hold before it is not read (docs/sessions.md, "Reading a session back"),
# as the program's own readers bound them.
MAX_JSON_BYTES = 64 << 20
MAX_EVENT_LINE_BYTES = 4 << 20
MAX_METRICS_BYTES = 256 << 20
MAX_PARAMETER_BYTES = 2 << 30
csv.field_size_limit(MAX_EVENT_LINE_BYTES)

PHASES = ("scoring", "homeostatic", "free_knob")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# Every figure this script may write; stale ones from an earlier report in the same folder are
# removed so that the folder always matches its index.html.
FIGURE_FILES = (
    "error.png",
    "cost.png",
    "parameters.png",
    "settle_time.png",
    "settle_iterations.png",
    "speed.png",
    "rounds_per_hold.png",
)

ALT = {
    "error.png": "error per epoch",
    "cost.png": "cost per epoch",
    "parameters.png": "parameter distributions",
    "settle_time.png": "settle time histograms",
    "settle_iterations.png": "settle iteration histograms",
    "speed.png": "samples per second per epoch",
    "rounds_per_hold.png": "homeostat rounds per hold per epoch",
}
WARNINGS = []


def warn(message):
    WARNINGS.append(message)
    print("aeqlab report: warning: " + message, file=sys.stderr, flush=True)


def number(value):
    """A finite float from a JSON or CSV value, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        v = float(value)
    else:
        try:
            v = float(str(value).strip())
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def read_json_object(path, what):
    if not os.path.exists(path):
        return None
    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            warn("{}: more than {} bytes; {} left out".format(path, MAX_JSON_BYTES, what))
            return None
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            value = json.load(f)
    except (OSError, ValueError) as e:
        warn("{}: cannot read {} ({}); left out".format(path, what, e))
        return None
    except RecursionError:
        warn("{}: {} nested too deep; left out".format(path, what))
        return None
    if not isinstance(value, dict):
        warn("{}: {} is not a JSON object; left out".format(path, what))
        return None
    return value


def read_events(path):
    """The events of events.jsonl that stand, as (line number, object), 1-based lines.

    A line that is not a JSON object (a garbage line, a truncated last line) is skipped with a
    warning. Lines superseded by a resume (lines N+1 .. resume line - 1 for
    "superseded_after_line": N) are dropped: that work was redone after a crash.
    """
    if not os.path.exists(path):
        return None
    events = []
    try:
        f = open(path, "rb")
    except OSError as e:
        warn("{}: cannot read ({}); no events".format(path, e))
        return None
    with f:
        number_ = 0
        while True:
            # One line at a time, none held beyond MAX_EVENT_LINE_BYTES.
            try:
                line = f.readline(MAX_EVENT_LINE_BYTES + 1)
            except OSError as e:
                warn("{}: cannot read ({}); events after line {} left out".format(
                    path, e, number_))
                break
            if not line:
                break
            number_ += 1
            if len(line) > MAX_EVENT_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):
                    line = f.readline(MAX_EVENT_LINE_BYTES + 1)
                warn("{}:{}: longer than {} bytes; line skipped".format(
                    path, number_, MAX_EVENT_LINE_BYTES))
                continue
            read_event_line(path, number_, line, events)
    return drop_superseded(path, events)


def read_event_line(path, number_, line, events):
    """Appends (line number, object) for one line of events.jsonl, or warns why not."""
    truncated_last = not line.endswith(b"\n")
    text = line.decode("utf-8", errors="replace").strip()
    if not text:
        return
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        warn("{}:{}: {}; line skipped".format(
            path, number_, "truncated last line" if truncated_last else "not a JSON object"))
        return
    if not isinstance(obj.get("event"), str):
        warn("{}:{}: no \"event\" field; line skipped".format(path, number_))
        return
    events.append((number_, obj))


def drop_superseded(path, events):
    """The events that stand: those a resume superseded are dropped."""
    superseded = []  # (first, last) line ranges, inclusive
    for line_no, e in events:
        if e["event"] != "resume" or "superseded_after_line" not in e:
            continue
        after = e["superseded_after_line"]
        if isinstance(after, bool) or not isinstance(after, int) or after < 0 or after >= line_no:
            warn("{}:{}: resume with an unusable superseded_after_line ({!r}); ignored".format(
                path, line_no, after))
            continue
        if after + 1 <= line_no - 1:
            superseded.append((after + 1, line_no - 1))
    if superseded:
        events = [(n, e) for n, e in events if not any(a <= n <= b for a, b in superseded)]
    return events


def read_metrics(path):
    """metrics.csv as {epoch: {column: float or None}}; damaged rows are skipped with a warning."""
    if not os.path.exists(path):
        return None
    try:
        if os.path.getsize(path) > MAX_METRICS_BYTES:
            warn("{}: more than {} bytes; left out".format(path, MAX_METRICS_BYTES))
            return None
        with open(path, "r", encoding="utf-8", errors="replace", newline="") as f:
            text = f.read()
        rows = list(csv.reader(io.StringIO(text)))
    except (OSError, csv.Error) as e:
        warn("{}: cannot read ({}); left out".format(path, e))
        return None
    if not rows:
        warn("{}: empty; left out".format(path))
        return None
    header = [h.strip() for h in rows[0]]
    if "epoch" not in header:
        warn("{}:1: no \"epoch\" column in the header; left out".format(path))
        return None
    truncated_last = not text.endswith("\n")
    by_epoch = {}
    for i, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        last = i == len(rows)
        if last and truncated_last:
            warn("{}:{}: truncated last row; row skipped".format(path, i))
            continue
        if len(row) != len(header):
            warn("{}:{}: {} fields where the header has {}; row skipped".format(
                path, i, len(row), len(header)))
            continue
        values = {h: number(c) for h, c in zip(header, row)}
        epoch = values.get("epoch")
        if epoch is None:
            warn("{}:{}: no epoch number; row skipped".format(path, i))
            continue
        by_epoch[int(epoch)] = values  # a row repeated after a resume: the last one stands
    return by_epoch


def read_parameters(path):
    try:
        if os.path.getsize(path) > MAX_PARAMETER_BYTES:
            warn("{}: more than {} bytes; no parameter histograms".format(
                path, MAX_PARAMETER_BYTES))
            return None
        values = np.fromfile(path, dtype="<f8")
    except (OSError, ValueError) as e:
        warn("{}: cannot read ({}); no parameter histograms".format(path, e))
        return None
    size = os.path.getsize(path)
    if size % 8:
        warn("{}: {} bytes is not a whole number of float64 values; the last {} bytes are "
             "ignored".format(path, size, size % 8))
    return values


def newest_checkpoint_parameters(session_dir):
    root = os.path.join(session_dir, "checkpoints")
    if not os.path.isdir(root):
        return None, None
    best = None
    for name in os.listdir(root):
        if name.isdigit() and os.path.isfile(os.path.join(root, name, "parameters.f64")):
            if best is None or int(name) > int(best):
                best = name
    if best is None:
        return None, None
    return os.path.join(root, best, "parameters.f64"), best


class Session:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.normpath(path)) or path
        self.label = self.name
        self.summary = read_json_object(os.path.join(path, "summary.json"), "summary.json")
        self.device = read_json_object(os.path.join(path, "device.json"), "device.json")
        events_path = os.path.join(path, "events.jsonl")
        metrics_path = os.path.join(path, "metrics.csv")
        events = read_events(events_path)
        metrics = read_metrics(metrics_path)
        for p, what in ((events_path, events), (metrics_path, metrics)):
            if what is None and not os.path.exists(p):
                warn("{}: absent".format(p))
        if self.summary is None and not os.path.exists(os.path.join(path, "summary.json")):
            warn("{}: absent (the run may still be going, or was killed)".format(
                os.path.join(path, "summary.json")))
        events = events or []

        self.run_start = None
        self.run_stop = None
        self.resumes = 0
        self.steps = []
        epoch_events = {}
        for _, e in events:
            kind = e["event"]
            if kind == "run_start":
                self.run_start = e
            elif kind == "run_stop":
                self.run_stop = e
            elif kind == "resume":
                self.resumes += 1
            elif kind == "epoch":
                n = number(e.get("epoch"))
                if n is not None:
                    epoch_events[int(n)] = e
            elif kind == "step":
                self.steps.append(e)

        # Per-epoch curves: metrics.csv where it has the column, the epoch events otherwise.
        self.epochs = {}
        aliases = {"samples": "samples_seen", "seconds": "epoch_seconds"}
        for n, e in epoch_events.items():
            row = {}
            for k, v in e.items():
                row[aliases.get(k, k)] = number(v)
            self.epochs[n] = row
        for n, row in (metrics or {}).items():
            merged = self.epochs.setdefault(n, {})
            for k, v in row.items():
                if v is not None or k not in merged:
                    merged[k] = v

        self.parameters = None
        self.parameter_source = None
        own = os.path.join(path, "parameters.f64")
        if os.path.isfile(own):
            self.parameters = read_parameters(own)
            self.parameter_source = "parameters.f64"
        else:
            checkpoint, sequence = newest_checkpoint_parameters(path)
            if checkpoint:
                warn("{}: absent; using the newest checkpoint's, {}".format(own, checkpoint))
                self.parameters = read_parameters(checkpoint)
                self.parameter_source = "checkpoint {}".format(sequence)
        self.groups = self.parameter_groups()

    def parameter_groups(self):
        """[(group name, values)] from device.json's parameter list, else one group of all."""
        p = self.parameters
        if p is None or p.size == 0:
            return []
        declared = (self.device or {}).get("parameters")
        if not isinstance(declared, list) or not declared:
            return [("all parameters", p)]
        layout = []  # (name, count)
        for i, g in enumerate(declared):
            count = number(g.get("count")) if isinstance(g, dict) else None
            if count is None or count < 0:
                warn("{}: device.json's parameter group {} has no usable count; one histogram "
                     "of all values".format(self.path, i))
                return [("all parameters", p)]
            layout.append((str(g.get("name", "group {}".format(i))), int(count)))
        total = sum(c for _, c in layout)
        if total < p.size:
            warn("{}: {} holds {} values, more than the {} device.json declares; one histogram "
                 "of all values".format(self.path, self.parameter_source, p.size, total))
            return [("all parameters", p)]
        if total > p.size:
            # A file cut short: the groups as far as its values go.
            warn("{}: {} holds {} values where device.json declares {}; the groups as far as "
                 "they go".format(self.path, self.parameter_source, p.size, total))
        groups, offset = [], 0
        for name, count in layout:
            values = p[offset:offset + count]
            if values.size:
                groups.append((name if values.size == count else name + " (part)", values))
            offset += count
        return groups

    def status(self):
        if self.summary and isinstance(self.summary.get("status"), str):
            return self.summary["status"]
        if self.run_stop and isinstance(self.run_stop.get("status"), str):
            return self.run_stop["status"] + " (no summary.json)"
        if self.run_start:
            return "unfinished (no run_stop)"
        return "unknown"

    def device_model(self):
        for source in (self.summary, self.device, self.run_start):
            if source:
                for key in ("device", "model"):
                    if isinstance(source.get(key), str):
                        return source[key]
        return ""

    def series(self, key, scale=1.0):
        xs, ys = [], []
        for n in sorted(self.epochs):
            v = self.epochs[n].get(key)
            if v is not None:
                xs.append(n)
                ys.append(v * scale)
        return xs, ys

    def phase_values(self, phase, key):
        out = []
        for s in self.steps:
            phases = s.get("phases")
            if not isinstance(phases, dict) or not isinstance(phases.get(phase), dict):
                continue
            v = number(phases[phase].get(key))
            if v is not None:
                out.append(v)
        return out

    def phase_names(self):
        names = []
        for s in self.steps:
            phases = s.get("phases")
            if isinstance(phases, dict):
                for k in phases:
                    if k not in names:
                        names.append(k)
        return sorted(names, key=lambda k: (PHASES.index(k) if k in PHASES else len(PHASES), k))


def unique_labels(sessions):
    """Legend labels: the folder name, with its parent when two sessions share a name."""
    for s in sessions:
        s.label = s.name
    for depth in (2, 3):
        seen = {}
        for s in sessions:
            seen.setdefault(s.label, []).append(s)
        for same in seen.values():
            if len(same) > 1:
                for s in same:
                    parts = os.path.normpath(os.path.abspath(s.path)).split(os.sep)
                    s.label = "/".join(parts[-depth:])
    seen = {}
    for s in sessions:
        seen[s.label] = seen.get(s.label, 0) + 1
        if seen[s.label] > 1:
            s.label += " #{}".format(seen[s.label])


def style(i):
    return {"linestyle": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)]}


# ---- the look shared by the figures: sessions by colour, legends beside the data, ticks that
# do not collide (docs/report.md, "Reading the figures") ------------------------------------------


def session_colour(i):
    """Session i's colour, the same in every figure of a report."""
    return "C{}".format(i % 10)


def curve_style(j, points):
    """The j-th kind of curve of a figure (test, train, ...) by line style; markers only where the
    points are few enough to be told apart."""
    st = {"linestyle": ["-", "--", ":", "-."][j % 4]}
    if points <= 30:
        st["marker"] = MARKERS[j % len(MARKERS)]
        st["markersize"] = 4
    return st


def legend_beside(ax):
    """The legend to the right of the axes, where it cannot cover a curve's peak."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def readable_ticks(ax, axis="x"):
    """Few ticks, and small or large values with a shared power of ten rather than long labels
    that run into each other (parameter values in siemens, biases near zero)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=5))
    try:
        ax.ticklabel_format(axis=axis, style="sci", scilimits=(-2, 3), useMathText=True)
    except AttributeError:  # a log or categorical axis keeps its own labels
        pass


def sessions_legend(fig, sessions, indices):
    """One legend for the whole figure, naming each session by its colour."""
    from matplotlib.lines import Line2D
    handles = [Line2D([0], [0], color=session_colour(i), linewidth=2) for i in indices]
    labels = [sessions[i].label for i in indices]
    fig.legend(handles, labels, loc="upper right", fontsize="small", ncol=min(4, len(labels)),
               frameon=False)


def log_y_if_spread(ax, counts):
    counts = np.asarray([c for c in counts if c > 0])
    if counts.size and counts.max() / counts.min() >= 100:
        ax.set_yscale("log", nonpositive="clip")


def save(fig, out_dir, name, rect=None):
    fig.tight_layout(rect=rect)
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)


# ---- figures: each returns (file, caption) or (None, note) --------------------------------------


def per_epoch_figure(sessions, out_dir, name, title, ylabel, curves, scale, what):
    fig, ax = plt.subplots(figsize=(9, 4.5))
    drawn = 0
    for i, s in enumerate(sessions):
        for j, (key, label) in enumerate(curves):
            xs, ys = s.series(key, scale)
            if not xs:
                continue
            # The session is the colour; the kind of curve (test, train) the line style.
            ax.plot(xs, ys, color=session_colour(i), label="{}: {}".format(s.label, label),
                    **curve_style(j, len(xs)))
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None, "No {}: no session has per-epoch {} (metrics.csv or epoch events).".format(
            what, " or ".join(k for k, _ in curves))
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    legend_beside(ax)
    save(fig, out_dir, name)
    return name, None


def error_figure(sessions, out_dir):
    name, note = per_epoch_figure(
        sessions, out_dir, "error.png", "Error per epoch", "error (%)",
        [("test_error", "test"), ("train_error_running", "train (running)")], 100.0,
        "error curves")
    return name, note or (
        "Error rate per epoch, in %. Test: on the test set after each epoch. Train (running): "
        "each mini-batch scored just before its step, averaged over the epoch. One line style "
        "per session.")


def cost_figure(sessions, out_dir):
    name, note = per_epoch_figure(
        sessions, out_dir, "cost.png", "Cost (loss) per epoch", "mean cost ½‖y − t‖² per sample",
        [("test_cost", "test"), ("train_cost_running", "train (running)")], 1.0, "cost curves")
    return name, note or (
        "Mean cost ½‖y − t‖² per sample, per epoch: on the test set after each epoch, and running "
        "over the epoch's training mini-batches.")


def speed_figure(sessions, out_dir):
    name, note = per_epoch_figure(
        sessions, out_dir, "speed.png", "Training speed per epoch", "samples per second",
        [("samples_per_second", "samples/s")], 1.0, "speed curve")
    return name, note or (
        "Training samples per second of wall time in each epoch's training loop (test evaluation "
        "excluded).")


def rounds_figure(sessions, out_dir):
    """Settles per homeostat hold, per epoch (docs/algorithm.md §4): the feedback homeostat's
    cost on a bench, where every round is one settle time."""
    name, note = per_epoch_figure(
        sessions, out_dir, "rounds_per_hold.png", "Homeostat rounds per hold",
        "settles per hold (mean over the epoch)", [("rounds_per_hold", "rounds per hold")], 1.0,
        "rounds per hold")
    return name, note or (
        "Mean settles per homeostat hold over each epoch's training steps: 1 for native "
        "homeostasis, the feedback rounds otherwise (metrics.csv column rounds_per_hold).")


def parameters_figure(sessions, out_dir):
    with_params = [s for s in sessions if s.groups]
    if not with_params:
        return None, ("No parameter distributions: no session has parameters.f64 or a "
                      "checkpoint's.")
    # One panel per group *and unit*: a Hopfield W1 (a.u.) and a circuit's W1 (S) are never drawn
    # on one axis.
    names = []
    for s in with_params:
        for g, _ in s.groups:
            key = (g, session_unit(s, g))
            if key not in names:
                names.append(key)
    clash = {g for g, _ in names if sum(1 for h, _ in names if h == g) > 1}
    cols = min(3, len(names))
    rows = int(math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for k, (g, unit) in enumerate(names):
        ax = axes[k // cols][k % cols]
        data = [(i, s, v) for i, s in enumerate(sessions) for n, v in s.groups
                if n == g and session_unit(s, n) == unit]
        title = "{} ({})".format(g, unit) if g in clash and unit else g
        everything = np.concatenate([v for _, _, v in data])
        everything = everything[np.isfinite(everything)]
        if everything.size == 0:
            ax.set_title("{} (no finite values)".format(title))
            continue
        bins = int(min(60, max(10, math.sqrt(everything.size))))
        edges = np.histogram_bin_edges(everything, bins=bins)
        counts = []
        for i, s, v in data:
            v = v[np.isfinite(v)]
            c, _, _ = ax.hist(v, bins=edges, histtype="step", color=session_colour(i),
                              linewidth=1.4, label="{} ({:,} values)".format(s.label, v.size))
            counts.extend(np.atleast_1d(c).tolist())
        log_y_if_spread(ax, counts)
        if len(data) > 1:
            ax.set_title(title, fontsize="medium")
        else:
            ax.set_title("{} ({:,} values)".format(title, data[0][2].size), fontsize="medium")
        ax.set_xlabel("value" + (" ({})".format(unit) if unit else ""))
        ax.set_ylabel("count")
        readable_ticks(ax)
        ax.grid(True, alpha=0.3)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Final parameter distributions per group", x=0.02, ha="left")
    if len(sessions) > 1:
        sessions_legend(fig, sessions, sorted({i for i, s in enumerate(sessions) if s.groups}))
    save(fig, out_dir, "parameters.png", rect=(0, 0, 1, 0.95))
    sources = "; ".join("{}: {}".format(s.label, s.parameter_source) for s in with_params)
    missing = [s.label for s in sessions if not s.groups]
    caption = ("Histogram of the final parameter values per group (groups from device.json; "
               "one histogram of all values where it is absent). Source: {}.".format(sources))
    if missing:
        caption += " No parameters for: {}.".format(", ".join(missing))
    return "parameters.png", caption


def session_unit(session, group):
    """The unit of one session's parameter group, from its device.json ("" when unknown)."""
    return unit_of([session], group)


def unit_of(sessions, group):
    for s in sessions:
        for g in (s.device or {}).get("parameters") or []:
            if isinstance(g, dict) and g.get("name") == group and isinstance(g.get("unit"), str):
                return g["unit"]
    return ""


def time_unit(values):
    top = max(values) if values else 0.0
    if top < 1e-3:
        return 1e6, "µs"
    if top < 1.0:
        return 1e3, "ms"
    return 1.0, "s"


def settle_figure(sessions, out_dir, key):
    phases = []
    for s in sessions:
        for p in s.phase_names():
            if p not in phases:
                phases.append(p)
    phases = [p for p in phases if any(s.phase_values(p, key) for s in sessions)]
    is_time = key == "seconds"
    file = "settle_time.png" if is_time else "settle_iterations.png"
    what = "settle time" if is_time else "settle iteration"
    if not phases:
        details = sorted({str((s.run_start or {}).get("detail")) for s in sessions
                          if (s.run_start or {}).get("detail") is not None})
        why = ""
        if details:
            why = " (session.detail was {}; \"step\" or \"phase\" writes them)".format(
                ", ".join('"{}"'.format(d) for d in details))
        return None, ("No {} histograms: no session has per-step events with phase {}{}. The "
                      "per-epoch means are in metrics.csv.".format(what, key, why))
    fig, axes = plt.subplots(1, len(phases), figsize=(4.4 * len(phases), 3.6), squeeze=False)
    for k, p in enumerate(phases):
        ax = axes[0][k]
        per_session = [(i, s, s.phase_values(p, key)) for i, s in enumerate(sessions)]
        per_session = [(i, s, v) for i, s, v in per_session if v]
        everything = [x for _, _, v in per_session for x in v]
        if is_time:
            factor, unit = time_unit(everything)
            xlabel = "settle time ({})".format(unit)
        else:
            factor, unit = 1.0, ""
            xlabel = "device iterations per settle"
        scaled = np.asarray(everything) * factor
        lo, hi = float(scaled.min()), float(scaled.max())
        if not is_time and hi - lo <= 60:
            edges = np.arange(math.floor(lo) - 0.5, math.ceil(hi) + 1.5)
        elif lo > 0 and hi / lo >= 20:
            # Long tails (a slow settle now and then): logarithmic bins keep the bulk readable.
            edges = np.geomspace(lo, hi, 50)
            ax.set_xscale("log")
        else:
            edges = np.histogram_bin_edges(scaled, bins=50)
        counts = []
        for i, s, v in per_session:
            c, _, _ = ax.hist(np.asarray(v) * factor, bins=edges, histtype="step",
                              color="C{}".format(i), linestyle=LINESTYLES[i % len(LINESTYLES)],
                              linewidth=1.3, label="{} ({} settles)".format(s.label, len(v)))
            counts.extend(np.atleast_1d(c).tolist())
        log_y_if_spread(ax, counts)
        ax.set_title("phase: {}".format(p))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("settles")
        if not is_time and ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small")
    fig.suptitle("Settle {} per phase".format("time" if is_time else "iterations"))
    save(fig, out_dir, file)
    if is_time:
        caption = ("Wall time of each settle (relaxation) of the per-step phases, per phase: "
                   "scoring (the batch scored before its step), homeostatic and free-knob holds.")
    else:
        caption = ("Device iterations each settle took (for the Hopfield device: sweeps; a "
                   "feedback hold counts the sweeps of all its rounds), per phase.")
    caption += " Phases: {}. Steps: {}.".format(
        ", ".join(phases), "; ".join("{}: {}".format(s.label, len(s.steps)) for s in sessions))
    return file, caption


# ---- the page ------------------------------------------------------------------------------------


def fmt_percent(v):
    v = number(v)
    return "" if v is None else "{:.2f} %".format(100 * v)


def fmt_number(v, digits=4):
    v = number(v)
    return "" if v is None else "{:.{}g}".format(v, digits)


def fmt_fixed(v, decimals):
    v = number(v)
    return "" if v is None else "{:,.{}f}".format(v, decimals)


def session_row(s):
    summary = s.summary or {}
    last = s.epochs[max(s.epochs)] if s.epochs else {}
    epochs = summary.get("epochs", max(s.epochs) if s.epochs else "")
    test_error = summary.get("test_error", last.get("test_error"))
    test_cost = summary.get("test_cost", last.get("test_cost"))
    reason = summary.get("reason", (s.run_stop or {}).get("reason", ""))
    if s.resumes:
        reason = (reason + "; " if reason else "") + "resumed {} time{}".format(
            s.resumes, "" if s.resumes == 1 else "s")
    cells = [
        s.label,
        s.status(),
        s.device_model(),
        str(epochs),
        fmt_percent(test_error),
        fmt_percent(summary.get("train_error")),
        fmt_number(test_cost),
        fmt_number(summary.get("train_cost")),
        fmt_fixed(summary.get("samples_per_second"), 0),
        fmt_number(summary.get("wall_seconds"), 3),
        str(reason or ""),
    ]
    title = html.escape(os.path.abspath(s.path), quote=True)
    tds = "".join("<td>{}</td>".format(html.escape(c)) for c in cells[1:])
    return '<tr><td title="{}">{}</td>{}</tr>'.format(title, html.escape(cells[0]), tds)


def write_page(out_dir, sessions, figures):
    e = html.escape
    title = "aeqlab report: " + ", ".join(s.label for s in sessions)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>{}</title>".format(e(title)),
        "<style>",
        "body { font-family: sans-serif; margin: 2em; max-width: 1300px; color: #222; }",
        "table { border-collapse: collapse; margin: 1em 0; }",
        "th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }",
        "th { background: #eee; }",
        "figure { margin: 2em 0; }",
        "figure img { max-width: 100%; border: 1px solid #ddd; }",
        "figcaption { margin-top: 0.4em; max-width: 60em; }",
        ".note { color: #555; font-style: italic; }",
        "</style>",
        "</head>",
        "<body>",
        "<h1>{}</h1>".format(e(title)),
        "<p>Made by <code>aeqlab report</code> on {} from {} session folder{}.</p>".format(
            e(now), len(sessions), "" if len(sessions) == 1 else "s"),
        "<h2>Sessions</h2>",
        "<table>",
        "<tr><th>session</th><th>status</th><th>device</th><th>epochs</th><th>test error</th>"
        "<th>train error</th><th>test cost</th><th>train cost</th><th>samples/s</th>"
        "<th>wall time (s)</th><th>reason</th></tr>",
    ]
    parts += [session_row(s) for s in sessions]
    parts.append("</table>")
    parts.append("<p>Folders: {}</p>".format(
        ", ".join("<code>{}</code>".format(e(os.path.abspath(s.path))) for s in sessions)))
    parts.append("<h2>Figures</h2>")
    for file, text in figures:
        if file:
            parts += [
                "<figure>",
                '<img src="{}" alt="{}">'.format(e(file, quote=True), e(ALT.get(file, file))),
                "<figcaption>{}</figcaption>".format(e(text)),
                "</figure>",
            ]
        else:
            parts.append('<p class="note">{}</p>'.format(e(text)))
    if WARNINGS:
        parts.append("<h2>What could not be read</h2>")
        parts.append("<ul>")
        parts += ["<li><code>{}</code></li>".format(e(w)) for w in WARNINGS]
        parts.append("</ul>")
    parts += ["</body>", "</html>", ""]
    path = os.path.join(out_dir, "index.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, path)
    return path


# ---- sweeps (docs/sweeps.md): DIR/sweep.csv against each swept key, the best points' sessions ----

SWEEP_COLUMNS = ("status", "epochs_done", "epochs", "test_error", "train_error",
                 "samples_per_second", "wall_seconds", "session")
SWEEP_BEST = 4  # the best points whose sessions the report draws side by side


def read_sweep(sweep_dir):
    """The swept keys and the rows of sweep.csv (values as numbers where they are numbers)."""
    path = os.path.join(sweep_dir, "sweep.csv")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        warn("{}: cannot read ({})".format(path, err))
        return [], []
    if not table or table[0][:1] != ["point"]:
        warn("{}: not a sweep table (no point column)".format(path))
        return [], []
    header = table[0]
    keys = [h for h in header[1:] if h not in SWEEP_COLUMNS]
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        if len(cells) != len(header):
            warn("{}:{}: {} cells, the header has {}".format(path, line, len(cells), len(header)))
            continue
        row = dict(zip(header, cells))
        for k in keys:  # a number where the value is one, else the text (a mode, a list)
            n = number(row[k])
            row[k] = n if n is not None else row[k]
        for k in ("test_error", "train_error"):
            row[k] = number(row[k])
        rows.append(row)
    return keys, rows


def sweep_figure(keys, rows, out_dir):
    done = [r for r in rows if r["status"] == "completed" and r["test_error"] is not None]
    if not keys or not done:
        return None, "sweep.png: no completed point with a test error yet"
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        xs = [r[key] for r in done]
        ys = [100 * r["test_error"] for r in done]
        numeric = all(isinstance(x, float) for x in xs)
        if not numeric:  # strings, lists: one slot per distinct value
            labels = sorted({str(x) for x in xs})
            xs = [labels.index(str(x)) for x in xs]
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize="small")
        ax.scatter(xs, ys, color="C0", alpha=0.75)
        if numeric:
            # The mean over the other keys at each value: the trend a lab reads first.
            by = {}
            for x, y in zip(xs, ys):
                by.setdefault(x, []).append(y)
            ordered = sorted(by)
            ax.plot(ordered, [sum(by[x]) / len(by[x]) for x in ordered], color="C1", lw=1.5,
                    label="mean")
            if min(ordered) > 0 and max(ordered) / min(ordered) > 30:
                ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel("test error (%)")
        ax.grid(alpha=0.3)
    fig.suptitle("sweep: test error of each completed point against each swept key")
    save(fig, out_dir, "sweep.png")
    return "sweep.png", ("Test error of the {} completed point(s) of {} against each swept key "
                         "(dots: points; line: mean over the other keys).".format(
                             len(done), len(rows)))


def best_sweep_sessions(sweep_dir, rows):
    done = [r for r in rows if r["status"] == "completed" and r["test_error"] is not None]
    done.sort(key=lambda r: r["test_error"])
    return [os.path.join(sweep_dir, r["session"]) for r in done[:SWEEP_BEST]]


def main(argv):
    parser = argparse.ArgumentParser(prog="aeqlab report")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--sweep", help="a sweep folder (sweep.csv and one session per point)")
    parser.add_argument("sessions", nargs="*", help="session folders")
    args = parser.parse_args(argv)

    sweep = None
    if args.sweep:
        keys, rows = read_sweep(args.sweep)
        args.sessions = best_sweep_sessions(args.sweep, rows)
        if not args.sessions:
            print("aeqlab: error: {}: no completed point to report yet".format(args.sweep),
                  file=sys.stderr)
            return 1
        sweep = (keys, rows)
    sessions = [Session(p) for p in args.sessions]
    unique_labels(sessions)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as err:
        print("aeqlab: error: cannot create {}: {}".format(args.out, err), file=sys.stderr)
        return 1

    plt.rcParams.update({"figure.max_open_warning": 0, "axes.titlesize": "medium"})
    makers = [
        error_figure,
        cost_figure,
        parameters_figure,
        lambda ss, out: settle_figure(ss, out, "seconds"),
        lambda ss, out: settle_figure(ss, out, "iterations"),
        speed_figure,
        rounds_figure,
    ]
    figures = []
    for make, file in zip(makers, FIGURE_FILES):
        target = os.path.join(args.out, file)
        try:
            written, text = make(sessions, args.out)
        except OSError as err:
            print("aeqlab: error: cannot write {}: {}".format(target, err), file=sys.stderr)
            return 1
        except Exception as err:  # a figure must never sink the report
            plt.close("all")
            warn("{}: not drawn ({}: {})".format(file, type(err).__name__, err))
            written, text = None, "{} could not be drawn: {}".format(file, err)
        if not written and os.path.exists(target):
            os.remove(target)  # a stale figure from an earlier report in this folder
        figures.append((written, text))

    if sweep:
        try:
            figures.insert(0, sweep_figure(sweep[0], sweep[1], args.out))
        except Exception as err:  # a figure must never sink the report
            plt.close("all")
            warn("sweep.png: not drawn ({}: {})".format(type(err).__name__, err))

    try:
        page = write_page(args.out, sessions, figures)
    except OSError as err:
        print("aeqlab: error: cannot write {}: {}".format(
            os.path.join(args.out, "index.html"), err), file=sys.stderr)
        return 1
    print(page, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
