"""The reference cells reproduce their pinned metrics bit for bit (see ``tests/pinned.py``).

A change that moves them must say why in its commit and re-pin with ``python -m tests.pinned``.
"""

import json

import pytest

from tests.pinned import DEFAULT_CELLS, PINNED, compute, key, platform, same

PINS = json.loads(PINNED.read_text())
EXPECTED = PINS["cells"]
TEST_CELLS = sorted(k for k in EXPECTED if k.endswith("|test"))


@pytest.mark.parametrize("cell", [key(*c) for c in DEFAULT_CELLS] + TEST_CELLS)
def test_cell_reproduces_its_pinned_metrics(cell):
    if platform() != PINS["platform"]:
        pytest.skip(f"pinned on {PINS['platform']}, this is {platform()}: bit-for-bit pins hold on one arithmetic "
                    f"platform (`python -m tests.pinned` pins this one)")
    scenario, strategy, size = cell.split("|")
    got = json.loads(json.dumps(compute(scenario, strategy, size == "test")))
    want = EXPECTED[cell]
    assert same(got["metrics"], want["metrics"]), (got["metrics"], want["metrics"])
    assert same(got["matrix"], want["matrix"])
    assert same(got["curves"], want["curves"])
