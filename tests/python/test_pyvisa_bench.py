"""The PyVISA example (docs/examples/python/pyvisa_bench.py, docs/python.md section 7) against the
instruments `aeqlab serve` provides: docs/examples/benches/xor.json served on free loopback ports,
reached through PyVISA's raw TCP sockets (pyvisa-py)."""

import json
import os
import signal
import subprocess

import numpy as np
import pytest

import aeqlab
from conftest import BINARY, SOURCE_DIR, run_cli
from pyvisa_bench import VisaBench, visa_address

FEEDBACK = {
    "data": {"set": "xor"},
    "trainer": {"homeostat": "feedback", "epochs": 20, "batch_size": 1, "compliance_decay": 1.0,
                "feedback": {"gain": 1.0, "tolerance": 1e-6, "max_rounds": 100}},
    "session": {"detail": "epoch"},
    "log": {"level": "warn"},
}


class Served:
    """`aeqlab serve` of the XOR bench, every instrument on a free port; no settle time or latency
    (the physics settles when measured), so a run is deterministic."""

    def __init__(self, folder):
        bench = json.loads((SOURCE_DIR / "docs/examples/benches/xor.json").read_text())
        for inst in bench["instruments"]:
            inst["address"] = "tcp://127.0.0.1:0"
        bench["virtual"].update(settle_ms=0, latency_ms=0)
        self.bench_file = folder / "bench.json"
        self.bench_file.write_text(json.dumps(bench))
        self.served_file = folder / "served.json"
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--bench", str(self.bench_file), "--bench-out",
             str(self.served_file)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addresses = {}
        for line in self.proc.stdout:
            j = json.loads(line)
            if j.get("event") == "ready":
                break
            self.addresses[j["instrument"]] = visa_address(j["tcp"])
        assert len(self.addresses) == 6, "aeqlab serve did not get ready"
        self.stopped = None

    def query(self, name, command):
        import pyvisa

        rm = pyvisa.ResourceManager("@py")
        inst = rm.open_resource(self.addresses[name], read_termination="\n",
                                write_termination="\n", timeout=5000)
        try:
            return [float(v) for v in inst.query(command).split(",")]
        finally:
            inst.close()

    def stop(self):
        if self.stopped is None:
            self.proc.send_signal(signal.SIGINT)
            out, _ = self.proc.communicate(timeout=30)
            self.stopped = json.loads(out.splitlines()[-1])
        return self.stopped


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path)
    yield s
    if s.stopped is None:
        s.stop()


def test_a_pyvisa_device_trains_xor_on_the_served_bench(tmp_path, served):
    bench = VisaBench(served.addresses)
    s = aeqlab.train(FEEDBACK, device=bench, out=tmp_path / "visa")
    assert s.summary["status"] == "completed"
    assert s.summary["test_error"] == 0.0
    assert s.metrics["test_error"][0] > 0.0  # it learned: it did not start at 0
    # Every knob write stayed inside the bench's ranges (the contract checks, the bench counts).
    assert np.all(np.abs(s.parameters) < 100)
    ids = {i["name"]: i["identity"] for i in s.device["instruments"]}
    assert ids["dac_knobs_1"] == "AEQLAB,VDAC-82,dac_knobs_1,0.1"
    # Safe state at the end: inputs, nudge and the hold switch at 0.
    assert served.query("dac_inputs", "VOLT? (@1:2)") == [0.0, 0.0]
    assert served.query("dac_nudge", "VOLT? (@1:3)") == [0.0, 0.0, 0.0]
    assert served.query("dac_control", "VOLT? (@1:5)") == [0.0, 0.3, 0.03, 0.2, 0.02]
    assert served.stop()["out_of_range"] == 0


def test_the_same_run_as_aeqlab_train_bench(tmp_path, served):
    """The Python device over PyVISA and the command line's bench device over its own drivers,
    each on a freshly served bench, with the bench's own compliances: the same parameters, to the
    bit. (A settle() that wrote the hold switch when it did not change it added a settle of the
    physics, and the runs parted in the first hold.)"""
    config = dict(FEEDBACK, trainer=dict(FEEDBACK["trainer"], epochs=2))
    bench = VisaBench(served.addresses, compliance=(0.5, 0.1, 0.2, 0.02))
    py = aeqlab.train(config, device=bench, out=tmp_path / "visa")
    served.stop()

    (tmp_path / "cli-bench").mkdir()
    again = Served(tmp_path / "cli-bench")  # a fresh physics, in its initial state
    try:
        (tmp_path / "config.json").write_text(json.dumps(config))
        run_cli("train", "--config", tmp_path / "config.json", "--bench", again.served_file,
                "--out", tmp_path / "cli")
    finally:
        again.stop()
    cli = aeqlab.Session(tmp_path / "cli")
    assert cli.summary["status"] == py.summary["status"] == "completed"
    assert cli.summary["parameters_sha256"] == py.summary["parameters_sha256"]
    assert list(cli.metrics["homeostat_rounds"]) == list(py.metrics["homeostat_rounds"])


class CtrlC(VisaBench):
    """Presses Ctrl-C (SIGINT to its own process) during its N-th settle."""

    def __init__(self, addresses, at):
        super().__init__(addresses)
        self.at, self.settles, self.safe_states = at, 0, 0

    def settle(self):
        self.settles += 1
        if self.settles == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return super().settle()

    def safe_state(self, beside_a_call=False):
        self.safe_states += 1
        super().safe_state(beside_a_call)


def test_ctrl_c_stops_the_pyvisa_run_in_its_safe_state(tmp_path, served):
    device = CtrlC(served.addresses, at=300)
    with pytest.raises(aeqlab.RunAborted) as stop:
        aeqlab.train(FEEDBACK, device=device, out=tmp_path / "visa")
    s = stop.value.session
    assert s.summary["status"] == "aborted"
    assert s.events("run_stop")[-1]["safe_state"] == "reached"
    assert device.safe_states >= 1
    assert served.query("dac_inputs", "VOLT? (@1:2)") == [0.0, 0.0]
    assert served.query("dac_nudge", "VOLT? (@1:3)") == [0.0, 0.0, 0.0]
