"""aeqlab from Python: runs, sessions and devices (docs/python.md).

    import aeqlab
    s = aeqlab.train({"data": {"set": "xor"}, "device": {"layers": [2, 16, 2]}}, out="runs/xor")
    s.summary["test_error"], s.metrics["test_error"]

The engine is the same C++ as the `aeqlab` program (the extension _aeqlab); this package adds
what is easier in Python: reading sessions, and the arguments a notebook expects.
"""

import os
from pathlib import Path

from . import _aeqlab
from ._aeqlab import (
    ConfigError,
    DataError,
    Device,
    DeviceError,
    Error,
    Interrupted,
    SafeRangeError,
    default_config,
    resolve_config,
)
from .session import Session, SessionWarning, sessions

__all__ = [
    "ConfigError", "DataError", "Device", "DeviceError", "Error", "Interrupted", "RunAborted",
    "RunFailed", "SafeRangeError", "Session", "SessionWarning", "bench", "circuit",
    "default_config", "eval", "hopfield", "make_device", "report", "resolve_config", "sessions",
    "train",
]


class RunFailed(Error):
    """A run ended `failed` (a device fault, a Python device that raised, a full disk).
    Its session, with the reason and the traceback in log.txt, is `.session`."""

    def __init__(self, message, session):
        super().__init__(message)
        self.session = session


class RunAborted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (or SIGTERM/SIGHUP): checkpointed, the device in its safe state,
    status `aborted`. Continue it with `.session.resume()`."""

    def __init__(self, message, session):
        super().__init__(message)
        self.session = session


def make_device(section, batch_size=1):
    """A built-in device from a config's `device` section (docs/config-reference.md), e.g.
    {"type": "hopfield", "layers": [2, 16, 2]}; `batch_size` fills in its replicas when the
    section gives none. Training with it records the section, so the session resumes as any."""
    device, resolved = _aeqlab._make_device(dict(section), int(batch_size))
    device._aeqlab_section = resolved
    return device


def hopfield(layers, replicas=1, **keys):
    """The simulated layered Hopfield network (docs/hopfield-device.md)."""
    return make_device({"type": "hopfield", "layers": list(layers), **keys}, replicas)


def circuit(replicas=1, **keys):
    """A simulated diode-resistor circuit (docs/circuit-device.md)."""
    return make_device({"type": "circuit", **keys}, replicas)


def bench(path):
    """The bench a bench file describes (docs/bench.md): instruments and channel map."""
    return make_device({"type": "bench", "bench": os.fspath(path)}, 1)


def _device_section(device):
    section = getattr(device, "_aeqlab_section", None)
    if section is not None:
        return section
    cls = _aeqlab._python_class(device)
    model = Device.describe(device)["model"]
    return {"type": "python", "class": cls or type(device).__qualname__, "model": model}


def _ended(result, check):
    session = Session(result["session"])
    status = result["status"]
    if check and status == "aborted":
        raise RunAborted(f"{session.path}: aborted ({result['summary'].get('reason', '')}); "
                         f"continue with aeqlab.train(resume=...)", session)
    if check and status == "failed":
        raise RunFailed(f"{session.path}: failed: {result['summary'].get('reason', '')}", session)
    return session


def train(config=None, device=None, out=None, resume=None, set=(), check=True):
    """Trains as `aeqlab train` does and returns the Session.

    config: a dict (merged over the defaults, as a --config file is) or the path of a JSON file;
        errors raise ConfigError naming the key (and file).
    device: a device made here (make_device, hopfield, ...) or an aeqlab.Device written in Python;
        None builds the config's device. With a device, trainer.batch_size defaults to its
        replicas.
    out: the session folder (default: session.root/<time>).
    resume: a session folder (or Session) to continue from its newest checkpoint; a session of
        a Python device needs the device again.
    set: overrides, as --set: ["trainer.epochs=5"].
    check: raise RunAborted (a KeyboardInterrupt) or RunFailed when the run did not complete;
        with check=False the Session is returned whatever happened.
    """
    section = _device_section(device) if device is not None else None
    if config is not None and not isinstance(config, dict):
        config = os.fspath(config)
    result = _aeqlab._train(
        config, [str(s) for s in set], None if out is None else os.fspath(out),
        None if resume is None else os.fspath(resume), device, section)
    if not result["session"]:
        raise Error("the run did not start")
    return _ended(result, check)


def eval(session, set=(), device=None):
    """Evaluates a session's final parameters on its data (`aeqlab eval`): a dict with
    train_error, train_cost, test_error, test_cost and the sample counts."""
    return _aeqlab._eval(os.fspath(session), [str(s) for s in set], device)


def report(sessions, out=None):
    """Draws the report of one or more sessions (`aeqlab report`, docs/report.md) and returns the
    folder it is in."""
    if isinstance(sessions, (str, os.PathLike)):
        sessions = [sessions]
    paths = [os.fspath(s) for s in sessions]
    status = _aeqlab._report(paths, None if out is None else os.fspath(out))
    if status != 0:
        raise Error(f"aeqlab report exited {status}")
    if out is not None:
        return Path(out)
    return Path(paths[0]) / "report" if len(paths) == 1 else Path("aeqlab-report")
