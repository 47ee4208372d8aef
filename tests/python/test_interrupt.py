"""Ctrl-C during a run driven from Python: the run stops as on the command line (checkpoint, safe
state, `aborted`), Python gets a KeyboardInterrupt (aeqlab.RunAborted) after that, and the session
resumed from Python ends bit-identical to a run never interrupted. Ctrl-C during aeqlab.eval and
aeqlab.report stops them too (safe state, aeqlab.Interrupted)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import aeqlab
from conftest import run_cli
from interrupt_run import CONFIG
from resistive_network import ResistiveNetwork

SCRIPT = Path(__file__).with_name("interrupt_run.py")


def run(*args):
    p = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                       text=True, env=os.environ, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def test_ctrl_c_stops_checkpoints_and_resumes_bit_identical(tmp_path):
    stopped = run(tmp_path / "s", "interrupt", 250)
    assert stopped["raised"] == "RunAborted" and stopped["keyboard_interrupt"]
    assert stopped["status"] == "aborted"
    assert stopped["run_stop"]["safe_state"] == "reached"
    assert stopped["run_stop"]["reason"].startswith("signal 2 during epoch")
    assert stopped["checkpoints"][-1] == "stop"
    assert stopped["safe_state_calls"] >= 1
    assert stopped["keyboard_interrupt_after"]

    # The command line cannot rebuild a device written in Python, and says so.
    cli = run_cli("train", "--resume", tmp_path / "s", check=False)
    assert cli.returncode == 2 and 'device.type "python"' in cli.stderr

    resumed = run(tmp_path / "s", "resume")
    straight = run(tmp_path / "t", "straight")
    assert resumed["status"] == "completed" and resumed["segments"] == 2
    assert resumed["sha"] == straight["sha"]


class CtrlCInEval(ResistiveNetwork):
    """Presses Ctrl-C (SIGINT to its own process) during its N-th settle."""

    def __init__(self, at):
        super().__init__(relaxing=True)
        self.at = at

    def settle(self):
        report = super().settle()
        if self.calls["settle"] == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return report


def python_ctrl_c_is_back():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000_000):
            pass
    except KeyboardInterrupt:
        return True
    return False


def test_ctrl_c_stops_an_evaluation_in_the_safe_state(tmp_path):
    config = dict(CONFIG, trainer=dict(CONFIG["trainer"], epochs=2))
    s = aeqlab.train(config, device=ResistiveNetwork(relaxing=True), out=tmp_path / "s")
    whole = ResistiveNetwork(relaxing=True)
    assert aeqlab.eval(s, device=whole)["test_samples"] == 4
    device = CtrlCInEval(at=3)
    with pytest.raises(aeqlab.Interrupted) as stop:
        aeqlab.eval(s, device=device)
    assert isinstance(stop.value, KeyboardInterrupt)
    assert "stop request" in str(stop.value)
    # It stopped after the sample in hand, not at the end of the data.
    assert 3 <= device.calls["settle"] < whole.calls["settle"]
    assert device.calls.get("safe_state", 0) >= 1
    assert python_ctrl_c_is_back()


def test_ctrl_c_stops_a_report(tmp_path, xor_config):
    xor_config["trainer"]["epochs"] = 2
    s = aeqlab.train(xor_config, out=tmp_path / "s")
    # The drawing interpreter presses Ctrl-C on its parent (as a Jupyter kernel's interrupt
    # reaches the kernel alone) and waits: the report passes the stop on to it and ends.
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" -c "*) exec {sys.executable} "$@";; esac\n'
        f"exec {sys.executable} -c 'import os, signal, sys, time; sys.stdin.read(); "
        "os.kill(os.getppid(), signal.SIGINT); time.sleep(120)'\n")
    wrapper.chmod(0o755)
    os.environ["AEQLAB_PYTHON"] = str(wrapper)
    try:
        with pytest.raises(aeqlab.Interrupted):
            aeqlab.report(s, out=tmp_path / "report")
    finally:
        del os.environ["AEQLAB_PYTHON"]
    assert python_ctrl_c_is_back()
