"""The int8 baseline layers (hwgen.units.int8_layer) against their golden model on the
Amaranth simulator: combinational, pipelined and serial layers, results and their
cycles."""
import numpy as np
import pytest

from asic_flow import synth
from hwgen.emit import component_verilog
from hwgen.units.int8_layer import (Int8Layer, Int8PipelinedLayer, Int8SerialHeldLayer,
                                    Int8SerialLayer, acc_bits)
from sim_tb.int8_layer_tb import check, operands

LAYERS = [Int8Layer, Int8PipelinedLayer, Int8SerialLayer, Int8SerialHeldLayer]
TOP = "layer"


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("n,m", [(16, 10), (5, 3), (1, 1), (2, 4)])
def test_int8_layer_matches_numpy(make, n, m):
    rng = np.random.default_rng(31 * n + m)
    assert check(make(n, m), rng, vectors=5) == 5


def test_operands_reach_the_accumulator_extremes():
    n = 16
    x, w = operands(n, 2, 3, np.random.default_rng(0))
    sums = np.einsum("kmn,kn->km", w, x)
    assert sums.max() == n * 128 * 128
    assert sums.min() == -n * 128 * 127
    a = acc_bits(n)
    assert sums.max() < 1 << (a - 1) and sums.min() >= -(1 << (a - 1))


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_check_rejects_a_wrong_latency(make):
    # the check compares cycles, not just values: a layer claiming one cycle less fails
    dut = make(4, 2)
    dut.latency -= 1
    with pytest.raises(AssertionError):
        check(dut, np.random.default_rng(1), vectors=3)


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_each_neuron_is_a_block(make):
    v = component_verilog(make(4, 3), TOP)
    assert synth.top_blocks(v, TOP) == ["layer.n0", "layer.n1", "layer.n2"]
