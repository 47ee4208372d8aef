"""Ctrl-C during a run driven from Python: the run stops as on the command line (checkpoint, safe
state, `aborted`), Python gets a KeyboardInterrupt (aeqlab.RunAborted) after that, and the session
resumed from Python ends bit-identical to a run never interrupted."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

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
