"""The requantizer lane against the golden model, including ties and saturation."""
import random

import pytest

from sim_tb.amaranth_sim import simulate

from hwgen.ctrl.host_if import Requantizer
from hwgen.lib.fixed import round_shift_half_even
from hwgen.models.gemm import requantize


def test_round_half_even_model():
    assert [round_shift_half_even(p, 1) for p in (-3, -2, -1, 1, 2, 3, 5)] == [-2, -1, 0, 0, 1, 2, 2]
    assert round_shift_half_even(6, 2) == 2     # 1.5 -> 2
    assert round_shift_half_even(10, 2) == 2    # 2.5 -> 2
    assert round_shift_half_even(-10, 2) == -2  # -2.5 -> -2
    assert round_shift_half_even(-6, 2) == -2   # -1.5 -> -2
    assert round_shift_half_even(7, 0) == 7


@pytest.mark.parametrize("stages", range(Requantizer.STAGES_MIN, Requantizer.STAGES_MAX + 1))
@pytest.mark.parametrize("acc_bits,out_bits,mult_bits", [(26, 8, 16), (17, 4, 8), (40, 16, 32),
                                                         (22, 8, 1)])
def test_requantizer_matches_model(acc_bits, out_bits, mult_bits, stages):
    dut = Requantizer(acc_bits, out_bits, mult_bits, stages=stages)
    rng = random.Random(acc_bits)
    cases = []
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    blim = 1 << (min(acc_bits, 48) - 1)
    for i in range(300):
        acc = rng.choice([lo, hi, 0, -1, 1, rng.randrange(lo, hi + 1), rng.randrange(-999, 999)])
        bias = rng.choice([0, rng.randrange(-blim, blim), -blim, blim - 1])
        mult = rng.choice([0, 1, (1 << mult_bits) - 1, rng.randrange(1 << mult_bits)])
        shift = rng.randrange(0, min(63, dut.product_bits - 1))
        ob_lo, ob_hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
        c_lo, c_hi = ((ob_lo, ob_hi) if rng.random() < 0.5 else
                      sorted(rng.randrange(ob_lo, ob_hi + 1) for _ in range(2)))
        cases.append((acc, bias, mult, shift, rng.random() < 0.5, rng.random() < 0.2,
                       c_lo, c_hi))
    # exact ties, both signs
    for p in (6, 10, -6, -10, 2, -2):
        cases.append((p, 0, 1, 2, False, False, -(1 << (out_bits - 1)),
                      (1 << (out_bits - 1)) - 1))

    async def bench(ctx):
        results = []
        for acc, bias, mult, shift, relu, raw, c_lo, c_hi in cases:
            for sig, v in ((dut.acc, acc), (dut.bias, bias), (dut.mult, mult), (dut.shift, shift),
                           (dut.relu, relu), (dut.raw, raw), (dut.lo, c_lo), (dut.hi, c_hi)):
                ctx.set(sig, v)
            for _ in range(stages):
                await ctx.tick()
            results.append(ctx.get(dut.out))
        for (acc, bias, mult, shift, relu, raw, c_lo, c_hi), got in zip(cases, results):
            want = acc if raw else requantize([[acc]], [bias], mult, shift, out_bits, relu,
                                              c_lo, c_hi)[0][0]
            assert got == want, (acc, bias, mult, shift, relu, raw, c_lo, c_hi)

    simulate(dut, bench)


@pytest.mark.parametrize("stages", range(Requantizer.STAGES_MIN, Requantizer.STAGES_MAX + 1))
def test_requantizer_streams_one_word_a_cycle(stages):
    """A new accumulator every cycle (as READ feeds it), the lane's settings held: each
    result leaves exactly ``stages`` cycles after its input."""
    acc_bits, out_bits, mult_bits = 24, 8, 12
    dut = Requantizer(acc_bits, out_bits, mult_bits, stages=stages)
    rng = random.Random(stages)
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1

    async def bench(ctx):
        for raw, relu, shift in ((False, False, 9), (False, True, 3), (True, False, 5),
                                 (False, False, 0)):
            bias, mult = rng.randrange(-5000, 5000), rng.randrange(1 << mult_bits)
            for sig, v in ((dut.bias, bias), (dut.mult, mult), (dut.shift, shift),
                           (dut.relu, relu), (dut.raw, raw), (dut.lo, -100), (dut.hi, 90)):
                ctx.set(sig, v)
            accs = [rng.choice([lo, hi, rng.randrange(lo, hi + 1), rng.randrange(-999, 999)])
                    for _ in range(40)]
            got = []
            for t in range(len(accs) + stages):
                if t < len(accs):
                    ctx.set(dut.acc, accs[t])
                await ctx.tick()
                if t + 1 >= stages:
                    got.append(ctx.get(dut.out))
            want = [a if raw else requantize([[a]], [bias], mult, shift, out_bits, relu,
                                             -100, 90)[0][0] for a in accs]
            assert got[:len(accs)] == want, (raw, relu, shift)

    simulate(dut, bench)
