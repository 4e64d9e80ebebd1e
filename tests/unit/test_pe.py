"""PE-level checks on the Amaranth simulator against the arithmetic they implement."""
import random


from sim_tb.amaranth_sim import simulate

from hwgen.pe import OsPE, WsPE


def run(dut, bench):
    simulate(dut, bench)


def test_ws_pe_mac_and_weight_switch():
    dut = WsPE(8, 20)
    rng = random.Random(3)

    async def bench(ctx):
        # Shift weight -5 into the shadow register; it is not used until sw.
        ctx.set(dut.w_in, -5)
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        assert ctx.get(dut.w_out) == -5
        w = -5
        for i in range(40):
            a, ps = rng.randrange(-128, 128), rng.randrange(-1000, 1000)
            sw = i == 0 or rng.random() < 0.2
            if sw and i:
                # a new weight is waiting in the shadow
                ctx.set(dut.w_in, rng.randrange(-128, 128))
                ctx.set(dut.w_shift, 1)
                await ctx.tick()
                ctx.set(dut.w_shift, 0)
            if sw:
                w = ctx.get(dut.w_out)
            ctx.set(dut.a_in, a)
            ctx.set(dut.ps_in, ps)
            ctx.set(dut.sw_in, sw)
            await ctx.tick()
            ctx.set(dut.sw_in, 0)
            assert ctx.get(dut.ps_out) == ps + a * w
            assert ctx.get(dut.a_out) == a
            assert ctx.get(dut.sw_out) == sw
    run(dut, bench)


def test_ws_pe_extreme_operands():
    dut = WsPE(16, 40)

    async def bench(ctx):
        ctx.set(dut.w_in, -(1 << 15))
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        ctx.set(dut.sw_in, 1)
        ctx.set(dut.a_in, -(1 << 15))
        ctx.set(dut.ps_in, (1 << 38))
        await ctx.tick()
        assert ctx.get(dut.ps_out) == (1 << 38) + (1 << 30)
    run(dut, bench)


def test_os_pe_accumulates_and_drains():
    dut = OsPE(8, 24)
    rng = random.Random(5)

    async def bench(ctx):
        acc = None
        for tile in range(4):
            total = 0
            k = rng.randrange(1, 6)
            for step in range(k):
                a, b = rng.randrange(-128, 128), rng.randrange(-128, 128)
                ctx.set(dut.a_in, a)
                ctx.set(dut.b_in, b)
                ctx.set(dut.sw_in, step == 0)
                ctx.set(dut.d_in, 1000 + step)
                await ctx.tick()
                if step == 0 and acc is not None:
                    assert ctx.get(dut.d_out) == acc       # previous tile captured
                elif step > 0:
                    assert ctx.get(dut.d_out) == 1000 + step  # chain shifts otherwise
                total += a * b
                assert ctx.get(dut.b_out) == b and ctx.get(dut.a_out) == a
            acc = total
    run(dut, bench)
