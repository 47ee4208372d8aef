"""A bench a lab drives with PyVISA, as an aeqlab device (docs/python.md, section 7).

The instruments are those of docs/examples/benches/xor.json: six SCPI instruments (DACs for the
inputs, the nudge, the knobs and the control lines; ADCs for the outputs and the parameter
readback) of a 2-16-2 network. Here `aeqlab serve` provides them (docs/virtual-bench.md); on a
lab's bench the same class talks to its own DACs and DMMs. Only the channel numbers and the SCPI
strings below know the instruments: change those for yours.

    aeqlab serve --bench docs/examples/benches/xor.json &
    PYTHONPATH=build/python /usr/bin/python3 docs/examples/python/pyvisa_bench.py

The channel map (from the bench file):

    dac_inputs        1:2   inputs x                       [0, 1]
    dac_nudge         1:2   nudge targets, 3: beta         [-1, 2], [-0.9, 10]
    adc_outputs       1:2   outputs y                      [-1, 2]
    dac_knobs_1       1:82  knobs u_W0 (32), u_W1 (32), u_b1 (16), u_b2 (2)    [-100, 100]
    adc_parameters_1  1:82  the parameters W0, W1, b1, b2, laid out like the knobs
    dac_control       1     homeostat switch (0: relax, 1: hold), 2:5 compliance of each group
"""

import sys
import time

import numpy as np
import pyvisa

import aeqlab

# The fixed loopback ports of docs/examples/benches/xor.json.
XOR_BENCH = {
    "dac_inputs": "TCPIP::127.0.0.1::5101::SOCKET",
    "dac_nudge": "TCPIP::127.0.0.1::5102::SOCKET",
    "adc_outputs": "TCPIP::127.0.0.1::5103::SOCKET",
    "dac_knobs_1": "TCPIP::127.0.0.1::5104::SOCKET",
    "adc_parameters_1": "TCPIP::127.0.0.1::5105::SOCKET",
    "dac_control": "TCPIP::127.0.0.1::5106::SOCKET",
}

# Parameter groups in the order of the knob and readback channels: name, count.
GROUPS = [("W0", 32), ("W1", 32), ("b1", 16), ("b2", 2)]


def visa_address(tcp_url):
    """tcp://HOST:PORT (as `aeqlab serve` prints it) -> a PyVISA raw-socket resource."""
    host, port = tcp_url.removeprefix("tcp://").rsplit(":", 1)
    return f"TCPIP::{host}::{port}::SOCKET"


def channels(first, count):
    return f"(@{first}:{first + count - 1})"


class VisaBench(aeqlab.Device):
    """Inputs, nudge and knobs on DACs, outputs and parameters on ADCs, through PyVISA.

    compliance: one value per group (W0, W1, b1, b2), written to the control DAC at connect. The
    feedback homeostat holds a group's parameters only while its loop gain, about compliance x
    curvature of the energy, stays below 1 (docs/algorithm.md, section 4.1): the physics' own
    compliances of the bench file (0.5, 0.1, 0.2, 0.02) are for native homeostasis; the feedback
    homeostat needs them lower, (0.3, 0.03, 0.2, 0.02) as docs/examples/feedback-homeostat.json.
    native: declare the bench's hold switch (native homeostasis) as well.
    settle_s: how long the circuit takes to settle after a change (the bench's RC; xor.json's
    virtual.settle_ms is 2 ms): the outputs are read no sooner than this after the last write
    (before, they are still on their way). The parameter readback needs no wait on this bench.
    """

    def __init__(self, addresses=XOR_BENCH, compliance=(0.3, 0.03, 0.2, 0.02), native=False,
                 settle_s=0.0, timeout_ms=5000):
        super().__init__()
        rm = pyvisa.ResourceManager("@py")
        opts = dict(read_termination="\n", write_termination="\n", timeout=timeout_ms)
        self.inst = {name: rm.open_resource(address, **opts)
                     for name, address in addresses.items()}
        self.compliance = [float(c) for c in compliance]
        self.native = native
        self.settle_s = settle_s
        self.last_write = 0.0
        self.n_params = sum(n for _, n in GROUPS)
        # The hold switch as the bench has it: settle() writes it only to change it, as every
        # write is a change the circuit settles from (a write of the same value would add a settle
        # the command line's bench device does not make).
        self.hold = float(self.inst["dac_control"].query("VOLT? (@1)")) >= 0.5
        self._write("dac_control", 2, self.compliance)

    # --- the wire ---------------------------------------------------------------------------
    def _write(self, name, first, values):
        values = list(values)
        # The DAC refuses a value outside its channel's range with an error-queue entry, not a
        # reply: the queue is read in the same message, so that a refusal stops the run here. (One
        # message, not a write then a query: two small TCP sends in a row wait out the peer's
        # delayed acknowledgement, 40 ms on Linux, as Nagle's algorithm holds the second.)
        error = self.inst[name].query(
            "VOLT:LIST " + ",".join(f"{v:.17g}" for v in values) + ","
            + channels(first, len(values)) + ";:SYST:ERR?")
        self.last_write = time.monotonic()
        if not error.startswith("0,"):
            raise RuntimeError(f"{name}: {error}")

    def _block(self, name, query):
        return np.array(self.inst[name].query_binary_values(
            query, datatype="d", is_big_endian=False, container=list))

    def _set_hold(self, hold):
        if self.hold != hold:
            self._write("dac_control", 1, [1.0 if hold else 0.0])
            self.hold = hold

    # --- the contract -----------------------------------------------------------------------
    def describe(self):
        groups = [{"name": name, "count": n, "unit": "a.u.", "safe": [-100.0, 100.0],
                   "safe_value": 0.0, "compliance": c}
                  for (name, n), c in zip(GROUPS, self.compliance)]
        return {
            "model": "visa bench 2-16-2",
            "inputs": {"name": "x", "count": 2, "unit": "a.u.", "safe": [0.0, 1.0]},
            "outputs": {"name": "y", "count": 2, "unit": "a.u.", "safe": [-1.0, 2.0],
                        "safe_value": 0.0},
            "nudge": [-0.9, 10.0],
            "parameters": groups,
            "knobs": [{"name": "u_" + name, "count": n, "unit": "a.u.", "safe": [-100.0, 100.0],
                       "safe_value": 0.0} for name, n in GROUPS],
            "capabilities": {"parameter_readback": True, "adjustable_compliance": True,
                             "native_homeostasis": self.native},
        }

    def instruments(self):
        return [{"name": name, "identity": inst.query("*IDN?"), "address": inst.resource_name}
                for name, inst in self.inst.items()]

    def set_inputs(self, values, active):  # (1, 2), already checked against [0, 1]
        self._write("dac_inputs", 1, values[0])

    def set_nudge(self, beta, targets):    # beta checked against [-0.9, 10]
        self._write("dac_nudge", 1, list(targets[0]) + [beta])

    def set_knobs(self, values):           # 82 values, each checked against [-100, 100]
        self._write("dac_knobs_1", 1, values)

    def read_knobs(self):                  # what the DAC holds (a native hold moves the knobs)
        return self._block("dac_knobs_1", "VOLT:BLOC? " + channels(1, self.n_params))

    def read_parameters(self):
        return self._block("adc_parameters_1", "MEAS:VOLT:BLOC? " + channels(1, self.n_params))

    def read_outputs(self):                # checked: 2 finite values within [-1, 2]
        wait = self.last_write + self.settle_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return self._block("adc_outputs", "MEAS:VOLT:BLOC? " + channels(1, 2))

    def set_compliance(self, group, value):
        self.compliance[group] = value
        self._write("dac_control", 2 + group, [value])

    def _settle(self, hold):
        # The physics settles after the writes; read_outputs waits out settle_s.
        self._set_hold(hold)
        return {"converged": True, "iterations": 1}

    def settle(self):
        return self._settle(False)

    def settle_homeostatic(self):
        return self._settle(True)

    def safe_state(self, beside_a_call=False):
        # Inputs, nudge and the hold switch to 0; the knobs stay (they are the learned state).
        self._write("dac_inputs", 1, [0.0, 0.0])
        self._write("dac_nudge", 1, [0.0, 0.0, 0.0])
        self._write("dac_control", 1, [0.0])
        self.hold = False


if __name__ == "__main__":
    bench = VisaBench(settle_s=0.002)
    config = {"data": {"set": "xor"},
              "trainer": {"homeostat": "feedback", "epochs": 40, "batch_size": 1,
                          "compliance_decay": 1.0,
                          "feedback": {"gain": 1.0, "tolerance": 1e-6, "max_rounds": 100}}}
    s = aeqlab.train(config, device=bench, out=sys.argv[1] if len(sys.argv) > 1 else None)
    print(s.path, s.summary["status"], s.summary["test_error"])
