"""PE-level checks on the Amaranth simulator against the arithmetic they implement."""
import random

import pytest

from sim_tb.amaranth_sim import simulate

from hwgen.pe import OsPE, WsPE


def run(dut, bench):
    simulate(dut, bench)


@pytest.mark.parametrize("stages", [0, 1, 2])
def test_ws_pe_mac_and_weight_switch(stages):
    """A random stream against the PE's rules: the product uses the active weight,
    which takes the shadow at the end of a cycle with sw (sw comes a cycle before the
    tile's first activation); with a register after the multiplier the product is
    added to the partial sum of the next cycle."""
    dut = WsPE(8, 20, stages=stages)
    rng = random.Random(3 + stages)

    async def bench(ctx):
        active = shadow = 0
        prods = [0, 0]  # products of the cycles before (the last one is the previous)
        for t in range(80):
            a, ps = rng.randrange(-128, 128), rng.randrange(-1000, 1000)
            sw, shift, w = rng.random() < 0.2, rng.random() < 0.3, rng.randrange(-128, 128)
            for sig, v in ((dut.a_in, a), (dut.ps_in, ps), (dut.sw_in, sw),
                           (dut.w_shift, shift), (dut.w_in, w)):
                ctx.set(sig, v)
            assert ctx.get(dut.w_out) == shadow
            prods.append(a * active)
            await ctx.tick()
            assert ctx.get(dut.ps_out) == ps + prods[-1 - stages], t
            assert ctx.get(dut.a_out) == a
            assert ctx.get(dut.sw_out) == sw
            if sw:
                active = shadow
            if shift:
                shadow = w
    run(dut, bench)


@pytest.mark.parametrize("stages", [0, 2])
def test_ws_pe_extreme_operands(stages):
    dut = WsPE(16, 40, stages=stages)

    async def bench(ctx):
        ctx.set(dut.w_in, -(1 << 15))
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        ctx.set(dut.sw_in, 1)
        await ctx.tick()
        ctx.set(dut.sw_in, 0)
        ctx.set(dut.a_in, -(1 << 15))
        ctx.set(dut.ps_in, (1 << 38))
        for _ in range(stages):
            await ctx.tick()
        await ctx.tick()
        assert ctx.get(dut.ps_out) == (1 << 38) + (1 << 30)
    run(dut, bench)


@pytest.mark.parametrize("stages", [0, 1, 2])
def test_os_pe_accumulates_and_drains(stages):
    """A random stream against the PE's rules: sw moves the sum into the drain register
    and restarts the accumulator with the new product, otherwise the product adds and
    the drain chain shifts; with a register after the multiplier the product and the
    flag act a cycle later."""
    dut = OsPE(8, 24, stages=stages)
    rng = random.Random(5 + stages)

    async def bench(ctx):
        acc = d = 0
        pipe = [(0, False)] * stages   # (product, sw) in the register
        for t in range(80):
            a, b = rng.randrange(-128, 128), rng.randrange(-128, 128)
            sw, d_in = rng.random() < 0.2, rng.randrange(-5000, 5000)
            for sig, v in ((dut.a_in, a), (dut.b_in, b), (dut.sw_in, sw), (dut.d_in, d_in)):
                ctx.set(sig, v)
            pipe.append((a * b, sw))
            prod, flag = pipe.pop(0)
            await ctx.tick()
            acc, d = (prod, acc) if flag else (acc + prod, d_in)
            assert ctx.get(dut.d_out) == d, t
            assert ctx.get(dut.b_out) == b and ctx.get(dut.a_out) == a
    run(dut, bench)


@pytest.mark.parametrize("bits", [2, 5])
def test_split_multiplier_exhaustive(bits):
    """pipeline.pe 2 splits the multiplier into two registered partial products (the
    weight's low half unsigned, its high half signed): every operand pair, odd width
    included, gives the exact signed product two cycles later."""
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    dut = WsPE(bits, 2 * bits + 2, stages=2)

    async def bench(ctx):
        for w in range(lo, hi):
            ctx.set(dut.w_in, w)
            ctx.set(dut.w_shift, 1)
            await ctx.tick()          # the shadow takes w
            ctx.set(dut.w_shift, 0)
            ctx.set(dut.sw_in, 1)
            await ctx.tick()          # the active weight takes the shadow
            ctx.set(dut.sw_in, 0)
            want = []
            for a in list(range(lo, hi)) + [0, 0]:
                ctx.set(dut.a_in, a)
                ctx.set(dut.ps_in, 1)
                want.append(1 + a * w)
                await ctx.tick()
                if len(want) >= 3:   # the operands of two cycles before, added this cycle
                    assert ctx.get(dut.ps_out) == want[-3], (w, a)
    run(dut, bench)
