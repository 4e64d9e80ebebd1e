"""The dense stream layer (the block-circulant layer's baseline) and the block scheduler
it shares with the circulant layer: the golden model against exact rational arithmetic,
the Amaranth unit against the model bit for bit under random gaps and back-pressure, and
its cycles against the schedule's formulas."""
from fractions import Fraction
from math import floor

import numpy as np
import pytest

from hwgen.lib.arith import dot_acc_bits as acc_bits
from hwgen.models.dense_layer import dense_fixed, pack_blocks
from hwgen.units.block_schedule import BlockSchedule, BlockScheduler
from hwgen.units.dense_stream import DenseStreamLayer

from sim_tb.amaranth_sim import run_stream_layer
from ..fixtures import dense_vectors


def exact_layer(x, w, shift, out_bits):
    """The layer with Python integers and fractions, one output at a time."""
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    out = []
    for row in x:
        ys = []
        for wr in w:
            a = sum(int(a) * int(b) for a, b in zip(row, wr))
            ys.append(min(max(floor(Fraction(a, 1 << shift) + Fraction(1, 2)), lo), hi))
        out.append(ys)
    return np.array(out, dtype=np.int64)


# ------------------------------------------------------------------ the model


@pytest.mark.parametrize("shift,out_bits", [(0, 24), (3, 8), (7, 8), (9, 6)])
def test_model_is_the_rounded_saturated_product(shift, out_bits):
    rng = np.random.default_rng(shift)
    w = rng.integers(-128, 128, size=(12, 20))
    w[0] = -128                        # the largest sums the accumulator must hold
    x = dense_vectors(20, 8, rng)
    got = dense_fixed(x, w, shift=shift, out_bits=out_bits)
    assert (got == exact_layer(x, w, shift, out_bits)).all()
    # the test reaches both saturation limits unless the output holds every sum
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    if out_bits < acc_bits(8, 8, 20) - shift:
        assert (got == hi).any() and (got == lo).any()


def test_model_rounds_halves_up():
    # sums -3, -2, -1, 1, 2, 3 over 2^1: -1.5 -> -1, -1, -0.5 -> 0, 0.5 -> 1, 1, 1.5 -> 2
    x = np.array([[1]])
    w = np.array([[-3], [-2], [-1], [1], [2], [3]])
    assert dense_fixed(x, w, shift=1).tolist() == [[-1, -1, 0, 1, 1, 2]]


def test_model_input_checks():
    with pytest.raises(ValueError, match=r"^x: values must fit 8 signed bits, got 0..128$"):
        dense_fixed([[0, 128]], [[1, 1]], shift=0)
    with pytest.raises(ValueError, match=r"^x: shape \(1, 3\) does not match weights"):
        dense_fixed([[0, 1, 2]], [[1, 1]], shift=0)
    with pytest.raises(ValueError, match=r"^weights: shape \(4, 6\) is not a whole number "
                                         r"of 4 x 4 blocks$"):
        pack_blocks(np.zeros((4, 6)), 4)


def test_block_packing():
    w = np.arange(6 * 4).reshape(6, 4)
    words = pack_blocks(w, 2)
    assert words.shape == (6, 4)
    # word i*q + j is W_ij row by row
    for i in range(3):
        for j in range(2):
            block = w[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            assert words[i * 2 + j].tolist() == block.reshape(-1).tolist()


def test_acc_bits_hold_the_extremes():
    for in_bits, w_bits, n in [(8, 8, 64), (8, 8, 12), (4, 6, 1), (2, 2, 3)]:
        b = acc_bits(in_bits, w_bits, n)
        most = n * (1 << (in_bits - 1)) * (1 << (w_bits - 1))     # (-2^..)(-2^..) n times
        least = -n * (1 << (in_bits - 1)) * ((1 << (w_bits - 1)) - 1)
        assert most <= (1 << (b - 1)) - 1 and least >= -(1 << (b - 1))


# ------------------------------------------------------------------ the hardware


def run_dense(dut, w, x, **kw):
    blocks = x.reshape(-1, dut.k)
    y, t_in, t_out = run_stream_layer(dut, pack_blocks(w, dut.k), blocks, len(x) * dut.p,
                                      max_cycles=50 * len(blocks) * dut.p + 200, **kw)
    return y.reshape(len(x), dut.m), t_in, t_out


@pytest.mark.parametrize("k,m,n,shift,out_bits,w_bits", [
    (4, 8, 12, 7, 8, 8), (8, 16, 8, 9, 8, 8), (2, 6, 2, 4, 6, 5), (1, 3, 5, 0, 12, 8),
    (4, 4, 16, 8, 10, 8)])
def test_bit_exact_with_back_pressure(k, m, n, shift, out_bits, w_bits):
    rng = np.random.default_rng(k * 100 + m + n)
    w = rng.integers(-(1 << (w_bits - 1)), 1 << (w_bits - 1), size=(m, n))
    w[0] = -(1 << (w_bits - 1))
    x = dense_vectors(n, 8, rng)
    want = dense_fixed(x, w, shift=shift, w_bits=w_bits, out_bits=out_bits)
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    assert (want == hi).any() and (want == lo).any()      # saturation is exercised
    seed = 200 + k + m
    for p_valid, p_ready in [(0.7, 0.5), (1.0, 0.15)]:
        dut = DenseStreamLayer(k, m, n, w_bits=w_bits, out_bits=out_bits, shift=shift)
        got, _, _ = run_dense(dut, w, x, p_valid=p_valid, p_ready=p_ready, seed=seed)
        assert (got == want).all(), f"k={k} m={m} n={n} p_ready={p_ready} (seed {seed})"


@pytest.mark.parametrize("k,m,n", [(8, 64, 64), (4, 8, 4), (4, 4, 8), (2, 2, 2),
                                   (1, 1, 3), (4, 12, 16)])
def test_latency_and_throughput_formulas(k, m, n):
    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, size=(m, n))
    x = rng.integers(-128, 128, size=(10 if m * n <= 1024 else 4, n))
    dut = DenseStreamLayer(k, m, n)
    got, t_in, t_out = run_dense(dut, w, x)
    assert (got == dense_fixed(x, w, shift=7)).all()
    p, q = m // k, n // k
    first_out = t_out[::p]
    # the formulas, and what they come to for a layer whose blocks are stored as they
    # arrive and whose results leave four stages after the last pair
    assert dut.latency == q + 6
    assert dut.cycles_per_vector == p * q
    assert first_out[0] - t_in[0] == dut.latency
    span = (first_out[-1] - first_out[1]) / (len(first_out) - 2)
    assert span == dut.cycles_per_vector, (span, dut.cycles_per_vector)
    # one weight block per cycle: output blocks leave back to back within a vector
    assert all(t_out[v * p + i + 1] - t_out[v * p + i] == q
               for v in range(len(x)) for i in range(p - 1))


def test_same_schedule_as_the_circulant_layer():
    from hwgen.config.circulant import CirculantConfig
    from hwgen.units.circulant_layer import CirculantStreamLayer
    circ = CirculantStreamLayer(CirculantConfig(k=8, m=64, n=64))
    dense = DenseStreamLayer(8, 64, 64)
    for unit in (circ, dense):
        unit._MustUse__silence = True
    assert (circ.schedule.p, circ.schedule.q) == (dense.schedule.p, dense.schedule.q)
    assert circ.cycles_per_vector == dense.cycles_per_vector == 64
    # the circulant layer stores spectra log2 k cycles late and adds an IFFT
    assert circ.latency - dense.latency == 2 * 3
    assert set(circ.signature.members) == set(dense.signature.members)


def test_constructor_messages():
    def rejects(exc, pattern, *args, **kw):
        with pytest.raises(exc, match=pattern):
            DenseStreamLayer(*args, **kw)

    rejects(ValueError, r"^DenseStreamLayer m must be a positive multiple of k=8, got 60$",
            8, 60, 64)
    rejects(ValueError, r"^DenseStreamLayer n must be a positive multiple of k=4, got 0$",
            4, 8, 0)
    rejects(ValueError, r"^DenseStreamLayer k must be >= 1, got 0$", 0, 8, 8)
    rejects(ValueError, r"^DenseStreamLayer w_bits must be within 2\.\.32, got 1$",
            4, 8, 8, w_bits=1)
    rejects(ValueError, r"^DenseStreamLayer shift must be within 0\.\.18 \(acc_bits - 1\), "
                        r"got 19$", 4, 8, 8, shift=19)
    rejects(TypeError, r"^DenseStreamLayer k must be an integer, not 4\.0$", 4.0, 8, 8)


def test_schedule_messages():
    with pytest.raises(ValueError, match=r"^BlockSchedule q must be an integer >= 1, got 0$"):
        BlockSchedule(2, 0)
    with pytest.raises(ValueError, match=r"^BlockSchedule store_delay must be an integer "
                                         r">= 0, got -1$"):
        BlockSchedule(2, 2, store_delay=-1)
    with pytest.raises(TypeError, match=r"^schedule must be a BlockSchedule, not None$"):
        BlockScheduler(None, store_shape=8, weight_shape=8, result_shape=8)


@pytest.mark.parametrize("q,result_delay", [(1, 4), (2, 4), (8, 4), (3, 7), (16, 10)])
def test_fifo_depth_covers_the_results_in_flight(q, result_delay):
    """With an output block started every q cycles, a block holds its credit for
    q + result_delay + 1 cycles (from the cycle after its first issue to the cycle after
    its result leaves the FIFO), so when the next block asks for one, the blocks started
    1 .. 1 + (result_delay + 1) // q periods earlier still hold theirs. The depth must
    exceed that count, and the formula wastes at most one place."""
    sch = BlockSchedule(3, q, result_delay=result_delay)
    needed = 2 + (result_delay + 1) // q
    assert needed <= sch.fifo_depth <= needed + 1
