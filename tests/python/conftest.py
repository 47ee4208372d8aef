"""pytest for `import aeqlab` (docs/python.md), run by CTest (tests/python/CMakeLists.txt), which
sets PYTHONPATH to the built package and to docs/examples/python, and AEQLAB_BINARY to the program.
"""

import os
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("AEQLAB_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("AEQLAB_BINARY", str(SOURCE_DIR / "build" / "bin" / "aeqlab"))

# XOR on a small Hopfield network: seconds, and enough epochs to reach 0% error.
XOR = {
    "device": {"layers": [2, 16, 2], "gains": [4.0, 1.0],
               "compliance": {"weights": [0.5, 0.1], "biases": [0.2, 0.02]}},
    "data": {"set": "xor"},
    "trainer": {"epochs": 60, "batch_size": 4, "compliance_decay": 0.995},
    "session": {"detail": "epoch"},
    "log": {"level": "warn"},
}


def run_cli(*args, check=True):
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True, check=check)


@pytest.fixture
def xor_config():
    import copy

    return copy.deepcopy(XOR)
