"""A diode-resistor network simulated in NumPy, as an aeqlab device written in Python.

The physics of aeqlab's circuit device (docs/circuit-device.md), in ~190 lines a lab can read and
change: inputs as +x/-x voltage sources, a hidden layer of nodes clamped by ideal diodes to
[lo, hi], differential outputs (v+ - v-), bias rails, and a trainable conductance between every
node of a layer and the next. Nudging injects beta * (target - output) at each output pair.

relaxing=True: each conductance relaxes with the circuit, coupled to a knob u with compliance eps:
    g = clip(u - eps * dV^2 / 2, g_min, g_max)
(AEqprop, with the feedback homeostat). relaxing=False: the conductances are set directly
(EqProp, coupled learning, SPSA). Both have local probes: the voltage across each element.

Used by docs/python.md and tests/python.
"""

import io

import numpy as np

import aeqlab


class ResistiveNetwork(aeqlab.Device):
    def __init__(self, hidden=8, replicas=4, relaxing=True, g_range=(1e-7, 1e-3),
                 g_init=(1e-4, 5e-4), compliance=3e-4, hidden_range=(-0.1, 0.1), bias=1.0,
                 seed=1, tolerance=1e-10, max_iterations=200):
        super().__init__()
        self.n_in, self.n_hidden, self.n_out = 2, hidden, 2
        self.replicas, self.relaxing = replicas, relaxing
        self.g_min, self.g_max = g_range
        self.lo, self.hi = hidden_range
        self.bias, self.tolerance, self.max_iterations = bias, tolerance, max_iterations
        # Sources: +x1, -x1, +x2, -x2, then the rails +bias and -bias. Output nodes: v+, v- per pair.
        self.shapes = {"W1": (2 * self.n_in, hidden), "W2": (hidden, 2 * self.n_out),
                       "B1": (2, hidden), "B2": (2, 2 * self.n_out)}
        rng = np.random.default_rng(seed)
        count = sum(r * c for r, c in self.shapes.values())
        self.theta = rng.uniform(*g_init, size=count)
        self.knobs = self.theta.copy()
        self.eps = np.full(count, float(compliance))
        self.hidden = np.zeros((replicas, hidden))
        self.out = np.zeros((replicas, 2 * self.n_out))
        self.sources = np.zeros((replicas, 2 * self.n_in + 2))
        self.beta, self.targets, self.active = 0.0, np.zeros((replicas, self.n_out)), replicas
        self.calls = {}  # what the contract asked of it, for the tests

    # --- the description: what the contract checks for this device -------------------------------
    def describe(self):
        groups = []
        for name, (r, c) in self.shapes.items():
            groups.append({"name": name, "count": r * c, "unit": "S",
                           "safe": [self.g_min, self.g_max], "safe_value": self.g_min,
                           "compliance": self.eps[0] if self.relaxing else 0.0})
        # A knob sits above its conductance by eps * dV^2 / 2 (dV at most the 2 V between the
        # rails), and a homeostat may swing it further: its range is wider than the conductance's.
        span = 10 * (self.g_max - self.g_min) + 2 * self.eps.max() * (2 * self.bias) ** 2
        knobs = [{"name": "u" + g["name"], "count": g["count"], "unit": "S",
                  "safe": [self.g_min - span, self.g_max + span], "safe_value": self.g_min}
                 for g in groups] if self.relaxing else []
        return {
            "model": f"numpy resistive 2-{self.n_hidden}-2 "
                     + ("relaxing" if self.relaxing else "settable"),
            "replicas": self.replicas,
            "inputs": {"name": "x", "count": self.n_in, "unit": "V", "safe": [0.0, 1.0]},
            # Each output is v+ - v-, two node voltages between the rails.
            "outputs": {"name": "out", "count": self.n_out, "unit": "V",
                        "safe": [-2 * self.bias, 2 * self.bias]},
            "nudge": [-1e-2, 1e-2],
            "parameters": groups,
            "knobs": knobs,
            "capabilities": {"parameter_readback": True, "settable_parameters": True,
                             "adjustable_compliance": self.relaxing, "local_probes": True,
                             "snapshot": True},
            "probes": {"unit": "V", "law": "half_square"},
        }

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    # --- the hooks: the contract has checked sizes and ranges before any of these runs ------------
    def set_inputs(self, values, active):
        self._count("set_inputs")
        self.active = active
        x = values  # (active, 2), each in [0, 1]
        self.sources[:active] = np.concatenate(
            [np.stack([x[:, 0], -x[:, 0], x[:, 1], -x[:, 1]], axis=1),
             np.tile([self.bias, -self.bias], (active, 1))], axis=1)

    def set_nudge(self, beta, targets):
        self._count("set_nudge")
        self.beta, self.targets[:self.active] = beta, targets

    def set_knobs(self, values):
        self.knobs[:] = values

    def read_knobs(self):
        return self.knobs.copy()

    def read_parameters(self):
        return self.theta.copy()

    def write_parameters(self, values):
        self.theta[:] = values

    def set_compliance(self, group, compliance):
        start = sum(r * c for r, c in list(self.shapes.values())[:group])
        r, c = list(self.shapes.values())[group]
        self.eps[start:start + r * c] = compliance

    def read_outputs(self):
        self._count("read_outputs")
        v = self.out[:self.active]
        return v[:, 0::2] - v[:, 1::2]

    def settle(self):
        self._count("settle")
        report = self._solve()
        if self.relaxing:  # the conductances move once, after the node voltages (slow elements)
            q = 0.5 * np.mean(self._probes() ** 2, axis=0)
            self.theta = np.clip(self.knobs - self.eps * q, self.g_min, self.g_max)
        return report

    def read_probes(self):
        return self._probes()

    def safe_state(self, beside_a_call=False):
        self._count("safe_state")
        self.sources[:] = 0.0
        self.beta = 0.0

    def save_snapshot(self):
        buffer = io.BytesIO()
        np.savez(buffer, theta=self.theta, knobs=self.knobs, eps=self.eps, hidden=self.hidden,
                 out=self.out, sources=self.sources, targets=self.targets,
                 scalars=np.array([self.beta, self.active]))
        return buffer.getvalue()

    def restore_snapshot(self, data):
        s = np.load(io.BytesIO(data))
        self.theta, self.knobs, self.eps = s["theta"], s["knobs"], s["eps"]
        self.hidden, self.out, self.sources, self.targets = (s["hidden"], s["out"], s["sources"],
                                                             s["targets"])
        self.beta, self.active = float(s["scalars"][0]), int(s["scalars"][1])

    # --- the physics --------------------------------------------------------------------------------
    def _weights(self):
        at, w = 0, {}
        for name, (r, c) in self.shapes.items():
            w[name] = self.theta[at:at + r * c].reshape(r, c)
            at += r * c
        return w

    def _solve(self):
        """The DC operating point: exact block coordinate descent on the co-content, the hidden
        layer (clamped by its diodes) and the output pairs (coupled by the nudge) in turn."""
        w, a = self._weights(), self.active
        s, h, o = self.sources[:a], self.hidden[:a], self.out[:a]
        g_in = np.concatenate([w["W1"], w["B1"]])  # sources and rails -> hidden
        rails = s[:, -2:]
        g_h = g_in.sum(0) + w["W2"].sum(1)
        gp = w["W2"].sum(0) + w["B2"].sum(0)
        beta, t = self.beta, self.targets[:a]
        for iteration in range(1, self.max_iterations + 1):
            h_new = np.clip((s @ g_in + o @ w["W2"].T) / g_h, self.lo, self.hi)
            i_out = h_new @ w["W2"] + rails @ w["B2"]
            # Each pair (v+, v-): [[G+ + b, -b], [-b, G- + b]] v = [I+ + b t, I- - b t]
            g1, g2 = gp[0::2] + beta, gp[1::2] + beta
            r1, r2 = i_out[:, 0::2] + beta * t, i_out[:, 1::2] - beta * t
            det = g1 * g2 - beta * beta
            if np.any(det <= 0):
                raise RuntimeError(f"no equilibrium: nudge {beta} S overwhelms an output pair")
            o_new = np.empty_like(o)
            o_new[:, 0::2] = (g2 * r1 + beta * r2) / det
            o_new[:, 1::2] = (beta * r1 + g1 * r2) / det
            change = max(np.max(np.abs(h_new - h)), np.max(np.abs(o_new - o)))
            h[:], o[:] = h_new, o_new
            if change <= self.tolerance:
                return {"converged": True, "iterations": iteration, "residual": float(change)}
        return {"converged": False, "iterations": self.max_iterations, "residual": float(change)}

    def _probes(self):
        """The voltage across each element, (active, parameters), in the parameters' order."""
        a = self.active
        s, h, o = self.sources[:a], self.hidden[:a], self.out[:a]
        rails = s[:, -2:]
        d_w1 = s[:, :4, None] - h[:, None, :]
        d_b1 = rails[:, :, None] - h[:, None, :]
        d_w2 = h[:, :, None] - o[:, None, :]
        d_b2 = rails[:, :, None] - o[:, None, :]
        return np.concatenate([d.reshape(a, -1) for d in (d_w1, d_w2, d_b1, d_b2)], axis=1)
