"""Reading sessions back: a real folder, and a damaged one (warnings, never a crash)."""

import hashlib
import shutil

import numpy as np
import pytest

import aeqlab


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from conftest import XOR

    return aeqlab.train(XOR, out=tmp_path_factory.mktemp("s") / "xor")


def test_a_finished_session_reads_back_as_python_data(session):
    s = aeqlab.Session(session.path)
    assert s.status == "completed"
    assert s.summary["epochs"] == 60
    m = s.metrics
    assert isinstance(m["test_error"], np.ndarray) and len(m["test_error"]) == 60
    assert list(m["epoch"]) == list(range(1, 61))
    assert m["test_error"][-1] == s.summary["test_error"]
    epochs = s.events(kind="epoch")
    assert len(epochs) == 60 and epochs[-1]["test_error"] == s.summary["test_error"]
    assert [e["event"] for e in s.events(["run_start", "run_stop"])] == ["run_start", "run_stop"]
    theta = s.parameters
    assert hashlib.sha256(theta.astype("<f8").tobytes()).hexdigest() == \
        s.summary["parameters_sha256"]
    groups = s.parameter_groups
    assert sum(len(g) for g in groups.values()) == len(theta)
    assert s.device["model"] == s.summary["device"]
    frame = s.metrics_frame()
    assert frame.index.name == "epoch" and frame["test_error"].iloc[-1] == m["test_error"][-1]
    assert any(x["dir"] == str(s.path) for x in aeqlab.sessions(s.path.parent))


def test_a_damaged_session_gives_warnings_not_errors(session, tmp_path):
    d = tmp_path / "damaged"
    shutil.copytree(session.path, d)
    (d / ".lock").unlink(missing_ok=True)
    events = (d / "events.jsonl").read_bytes().splitlines(keepends=True)
    (d / "events.jsonl").write_bytes(
        b"".join(events[:3]) + b"{not json\n" + b"".join(events[3:-1]) + events[-1][:20])
    rows = (d / "metrics.csv").read_text().splitlines()
    rows[5] = rows[5].replace(",", ",x", 1)
    (d / "metrics.csv").write_text("\n".join(rows[:-1]) + "\n" + rows[-1][:7] + "\n")
    (d / "summary.json").write_text('{"status": "compl')
    (d / "parameters.f64").write_bytes(b"\0" * 12)

    s = aeqlab.Session(d)
    with pytest.warns(aeqlab.SessionWarning, match=r"events\.jsonl:4: not an event line"):
        events = s.events()
    assert events[0]["event"] == "run_start" and events[-1]["event"] != "run_stop"
    with pytest.warns(aeqlab.SessionWarning, match=r"metrics\.csv:6: not a row"):
        m = s.metrics
    assert len(m["test_error"]) == 58
    with pytest.warns(aeqlab.SessionWarning, match=r"summary\.json"):
        summary = s.summary
    assert summary["status"] in ("interrupted", "completed")  # from the event log
    with pytest.warns(aeqlab.SessionWarning, match=r"12 bytes is not a whole number"):
        assert s.parameters is None
    with pytest.raises(aeqlab.DataError, match="not a session folder"):
        aeqlab.Session(tmp_path)


def test_a_hostile_session_is_read_bounded(session, tmp_path):
    """Files nested deep, an endless event line, a device.json of the wrong shape: warnings
    naming the file, never a RecursionError or a traceback (docs/sessions.md, "Reading a session
    back")."""
    d = tmp_path / "hostile"
    shutil.copytree(session.path, d)
    (d / ".lock").unlink(missing_ok=True)
    deep = "[" * 100000 + "]" * 100000
    with open(d / "events.jsonl", "ab") as f:
        f.write(b'{"event":"note","x":' + deep.encode() + b"}\n")
        f.write(b"x" * (5 << 20) + b"\n")
        f.write(b'{"event":"note"}\n')
    (d / "device.json").write_text('{"parameters": [{"name": 7, "count": "many"}]}')
    s = aeqlab.Session(d)
    with pytest.warns(aeqlab.SessionWarning) as caught:
        events = s.events()
    messages = " ".join(str(w.message) for w in caught)
    assert "not an event line" in messages and "longer than" in messages
    assert events[-1] == {"event": "note"}
    with pytest.warns(aeqlab.SessionWarning, match=r"device\.json: parameters\[0\]"):
        assert s.parameter_groups == {}
    (d / "device.json").write_text('{"parameters": ' + deep + "}")
    with pytest.warns(aeqlab.SessionWarning, match=r"device\.json: nested too deep"):
        assert s.device is None
