"""The int8 baselines of benchmarks/sc_area.py against numpy on the Amaranth simulator:
combinational, pipelined and serial layers, results and their cycles."""
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog

from asic_flow import synth

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
sc_area = importlib.import_module("sc_area")

LAYERS = [sc_area.Int8Layer, sc_area.Int8PipelinedLayer, sc_area.Int8SerialLayer,
          sc_area.Int8SerialHeldLayer]


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("n,m", [(16, 10), (5, 3), (1, 1), (2, 4)])
def test_int8_layer_matches_numpy(make, n, m):
    rng = np.random.default_rng(31 * n + m)
    assert sc_area.check(make(n, m), rng, vectors=5) == 5


def test_operands_reach_the_accumulator_extremes():
    n = 16
    x, w = sc_area.operands(n, 2, 3, np.random.default_rng(0))
    sums = np.einsum("kmn,kn->km", w, x)
    assert sums.max() == n * 128 * 128
    assert sums.min() == -n * 128 * 127
    a = sc_area.acc_bits(n)
    assert sums.max() < 1 << (a - 1) and sums.min() >= -(1 << (a - 1))


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_check_rejects_a_wrong_latency(make):
    # the check compares cycles, not just values: a layer claiming one cycle less fails
    dut = make(4, 2)
    dut.latency -= 1
    with pytest.raises(AssertionError):
        sc_area.check(dut, np.random.default_rng(1), vectors=3)


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_each_neuron_is_a_block(make):
    v = verilog.convert(make(4, 3), name=sc_area.TOP, emit_src=False,
                        strip_internal_attrs=True)
    assert synth.top_blocks(v, sc_area.TOP) == ["layer.n0", "layer.n1", "layer.n2"]
