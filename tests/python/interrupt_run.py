"""A Python-driven run that Ctrl-C stops, for test_interrupt.py (a process of its own, as a user's
script would be). Prints one JSON line with what it saw.

    interrupt_run.py SESSION interrupt N   # SIGINT to itself during the N-th settle
    interrupt_run.py SESSION resume        # continue SESSION, from Python, with a new device
    interrupt_run.py SESSION straight      # the same run without interruption
"""

import json
import os
import signal
import sys

import aeqlab
from resistive_network import ResistiveNetwork

CONFIG = {
    "data": {"set": "xor"},
    "trainer": {"algorithm": "aeqprop", "homeostat": "feedback", "nudging": 1e-3, "epochs": 40,
                "batch_size": 4, "compliance_decay": 1.0,
                # The secant rounds alone: the Ctrl-C lands at a counted settle, and the stiff
                # probe (on by default where the compliance adjusts) holds in far fewer.
                "feedback": {"gain": 0.5, "tolerance": 1e-7, "max_rounds": 100, "probe": "off"}},
    "session": {"detail": "step"},
    "log": {"level": "warn"},
}


class InterruptedByHand(ResistiveNetwork):
    """Presses Ctrl-C (sends itself SIGINT) in the middle of its N-th settle."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def settle(self):
        report = super().settle()
        if self.calls["settle"] == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return report


def main():
    session, mode = sys.argv[1], sys.argv[2]
    seen = {}
    if mode == "interrupt":
        device = InterruptedByHand(int(sys.argv[3]))
        try:
            aeqlab.train(CONFIG, device=device, out=session)
            seen["raised"] = None
        except aeqlab.RunAborted as e:
            seen["raised"] = type(e).__name__
            seen["keyboard_interrupt"] = isinstance(e, KeyboardInterrupt)
            seen["status"] = e.session.summary["status"]
            seen["run_stop"] = e.session.events("run_stop")[-1]
            seen["checkpoints"] = [c["why"] for c in e.session.events("checkpoint")]
            seen["settles"] = device.calls["settle"]
            seen["safe_state_calls"] = device.calls.get("safe_state", 0)
        # Python's own Ctrl-C is back once the run has ended.
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000_000):
                pass
            seen["keyboard_interrupt_after"] = False
        except KeyboardInterrupt:
            seen["keyboard_interrupt_after"] = True
    elif mode == "resume":
        s = aeqlab.train(resume=session, device=ResistiveNetwork())
        seen = {"status": s.summary["status"], "sha": s.summary["parameters_sha256"],
                "segments": s.summary["segments"]}
    else:
        s = aeqlab.train(CONFIG, device=ResistiveNetwork(), out=session)
        seen = {"status": s.summary["status"], "sha": s.summary["parameters_sha256"]}
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
