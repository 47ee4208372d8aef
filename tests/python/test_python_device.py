"""A device written in Python: it trains XOR (AEqprop through the feedback homeostat, and EqProp),
the C++ contract checks every request before Python sees it, and what Python returns or raises is
handled as the contract says: the run ends `failed`, the device in its safe state."""

import math

import numpy as np
import pytest

import aeqlab
from resistive_network import ResistiveNetwork

XOR_AEQPROP = {
    "data": {"set": "xor"},
    "trainer": {"algorithm": "aeqprop", "homeostat": "feedback", "nudging": 1e-3,
                "epochs": 200, "batch_size": 4, "compliance_decay": 1.0,
                "feedback": {"gain": 0.5, "tolerance": 1e-7, "max_rounds": 100}},
    "session": {"detail": "epoch"},
    "log": {"level": "warn"},
}

XOR_EQPROP = {
    "data": {"set": "xor"},
    "trainer": {"algorithm": "eqprop", "nudging": 5e-4, "learning_rates": 5e-7, "epochs": 150,
                "batch_size": 4},
    "session": {"detail": "epoch"},
    "log": {"level": "warn"},
}


def test_a_numpy_network_learns_xor_with_aeqprop_through_the_feedback_homeostat(tmp_path):
    device = ResistiveNetwork(relaxing=True)
    s = aeqlab.train(XOR_AEQPROP, device=device, out=tmp_path / "aeqprop")
    assert s.summary["status"] == "completed"
    assert s.summary["test_error"] == 0.0 and s.summary["train_error"] == 0.0
    assert s.config["device"] == {"type": "python", "class": "resistive_network.ResistiveNetwork",
                                  "model": "numpy resistive 2-8-2 relaxing"}
    assert s.device["capabilities"]["local_probes"]
    assert device.calls["safe_state"] >= 1
    # Its parameters evaluated again, on a new device: aeqlab eval with a Python device.
    assert aeqlab.eval(s, device=ResistiveNetwork(relaxing=True))["test_error"] == 0.0


def test_a_numpy_network_learns_xor_with_eqprop(tmp_path):
    device = ResistiveNetwork(relaxing=False, g_init=(1e-5, 2e-4))
    # EqProp reads the local probes and applies their declared law (dE/dg = dV^2 / 2).
    assert aeqlab.Device.describe(device)["probes"] == {"unit": "V", "law": "half_square"}
    s = aeqlab.train(XOR_EQPROP, device=device, out=tmp_path / "eqprop")
    assert s.summary["test_error"] == 0.0 and s.summary["train_error"] == 0.0


def test_the_contract_refuses_before_python_runs():
    device = ResistiveNetwork(replicas=2)
    with pytest.raises(aeqlab.SafeRangeError, match=r"input channel x\[1\] refused 1\.5"):
        aeqlab.Device.set_inputs(device, [[0.0, 1.5]])
    with pytest.raises(aeqlab.SafeRangeError, match=r"input channel x\[0\] refused nan"):
        aeqlab.Device.set_inputs(device, [[math.nan, 0.0]])
    with pytest.raises(aeqlab.DeviceError, match="3 active replicas requested, it has 2"):
        aeqlab.Device.set_inputs(device, np.zeros((3, 2)))
    with pytest.raises(aeqlab.SafeRangeError, match="nudge beta refused 1"):
        aeqlab.Device.set_nudge(device, 1.0, np.zeros((2, 2)))
    with pytest.raises(aeqlab.SafeRangeError, match=r"parameter channel W1\[0\] refused -1"):
        aeqlab.Device.write_parameters(device, -np.ones(88))
    assert "set_inputs" not in device.calls and "set_nudge" not in device.calls
    aeqlab.Device.set_inputs(device, [[0.0, 1.0], [1.0, 0.0]])
    assert device.calls["set_inputs"] == 1
    assert aeqlab.Device.settle(device)["converged"]
    assert aeqlab.Device.read_outputs(device).shape == (2, 2)
    assert aeqlab.Device.describe(device)["model"] == "numpy resistive 2-8-2 relaxing"


class WrongSize(ResistiveNetwork):
    def read_outputs(self):
        return np.zeros(3)


class NotFinite(ResistiveNetwork):
    def read_outputs(self):
        out = super().read_outputs()
        out[0, 1] = math.nan
        return out


class OutOfRange(ResistiveNetwork):
    def read_parameters(self):
        theta = super().read_parameters()
        theta[5] = 0.5  # 0.5 S: outside [1e-7, 1e-3]
        return theta


class Raises(ResistiveNetwork):
    def settle(self):
        if self.calls.get("settle", 0) >= 10:
            raise ZeroDivisionError("the DAQ card went away")
        return super().settle()


@pytest.mark.parametrize("cls, reason", [
    (WrongSize, r"read_outputs\(\) returned 3 values, the contract asked for 8"),
    (NotFinite, r"read_outputs\(\) returned a reading the device does not declare: output "
                r"channel out\[1\] refused nan"),
    (OutOfRange, r"read_parameters\(\) returned a reading the device does not declare: "
                 r"parameter channel W1\[5\] refused 0\.5"),
    (Raises, r"settle\(\) raised in Python:\nTraceback \(most recent call last\):\n.*"
             r"ZeroDivisionError: the DAQ card went away"),
])
def test_bad_readings_and_exceptions_end_the_run_as_a_fault(tmp_path, cls, reason):
    device = cls()
    with pytest.raises(aeqlab.RunFailed) as e:
        aeqlab.train(XOR_AEQPROP, device=device, out=tmp_path / "s")
    s = e.value.session
    assert s.summary["status"] == "failed"
    assert s.events("run_stop")[-1]["safe_state"] == "reached"
    assert device.calls["safe_state"] >= 1
    import re

    assert re.search(reason, s.summary["reason"], re.S), s.summary["reason"]
    assert re.search(reason, s.log, re.S)
    # check=False returns the session instead.
    again = aeqlab.train(XOR_AEQPROP, device=cls(), out=tmp_path / "t", check=False)
    assert again.status == "failed"


def test_a_description_that_does_not_hold_is_refused_naming_its_key(tmp_path):
    class NoRange(ResistiveNetwork):
        def describe(self):
            d = super().describe()
            d["outputs"]["safe"] = [1.0, -1.0]
            return d

    with pytest.raises(aeqlab.DeviceError, match=r"describe\(\): outputs\.safe: expected finite "
                                                   r"low <= high"):
        aeqlab.train(XOR_AEQPROP, device=NoRange(), out=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_the_numpy_network_is_the_circuit_devices_physics():
    """At the same conductances (one value per group, on the potentiometers' taps, so the order
    inside a group does not matter), the NumPy class and the C++ circuit device agree."""
    circuit = aeqlab.make_device({"type": "circuit", "layers": [2, 8, 2], "output_pairs": True,
                                  "hidden_range": [-0.1, 0.1], "parameters": "settable",
                                  "pots": {"taps": 1001, "tolerance": 0.0}}, 4)
    numpy_net = ResistiveNetwork(relaxing=False, replicas=4)
    step = (1e-3 - 1e-7) / 1000
    taps = {"W1": 200, "W2": 100, "B1": 50, "B2": 300}
    groups = circuit.describe()["parameters"]
    theta = np.concatenate([np.full(g["count"], 1e-7 + taps[g["name"]] * step) for g in groups])
    circuit.write_parameters(theta)
    aeqlab.Device.write_parameters(numpy_net, theta)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.3, 0.8]])
    t = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    for beta in (0.0, 5e-4, -2.5e-4):
        probes = []
        for device in (circuit, numpy_net):
            aeqlab.Device.set_inputs(device, x)
            aeqlab.Device.set_nudge(device, beta, t)
            assert aeqlab.Device.settle(device)["converged"]
            probes.append(aeqlab.Device.read_probes(device))
        np.testing.assert_allclose(aeqlab.Device.read_outputs(numpy_net),
                                   circuit.read_outputs(), atol=1e-9)
        at = 0
        for g in groups:
            a = np.sort(np.abs(probes[0][:, at:at + g["count"]]), axis=1)
            b = np.sort(np.abs(probes[1][:, at:at + g["count"]]), axis=1)
            np.testing.assert_allclose(a, b, atol=1e-9)
            at += g["count"]
