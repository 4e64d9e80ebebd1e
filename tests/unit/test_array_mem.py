"""Systolic array and scratchpad on the Amaranth simulator, driven directly."""
import random

import numpy as np
import pytest
from amaranth.hdl import signed
from amaranth.lib import data

from sim_tb.amaranth_sim import simulate

from hwgen.array import SystolicArray
from hwgen.config import OS, WS, ArrayConfig, BufferConfig
from hwgen.mem import Scratchpad


def sim(dut, bench):
    simulate(dut, bench)


@pytest.mark.parametrize("R,C", [(1, 1), (3, 2), (2, 5), (4, 4)])
def test_ws_array_streams_tiles_back_to_back(R, C):
    """Weight tiles switch on the row that carries sw, with no gap between tiles."""
    dut = SystolicArray(ArrayConfig(R, C, WS), 8, 24)
    rng = np.random.default_rng(R * 10 + C)
    M = max(2 * R + C - 2, 2) + 1
    tiles = [rng.integers(-128, 128, size=(R, C)) for _ in range(3)]
    rows = [rng.integers(-128, 128, size=(M, R)) for _ in tiles]
    expect = [r @ w for r, w in zip(rows, tiles)]
    got = []

    async def bench(ctx):
        def shift_in(w):
            return [list(w[R - 1 - j]) for j in range(R)]  # bottom row goes in first
        pending = []
        for t, w in enumerate(tiles):
            if t == 0:
                for vec in shift_in(w):
                    ctx.set(dut.b, vec)
                    ctx.set(dut.w_shift, 1)
                    await ctx.tick()
                ctx.set(dut.w_shift, 0)
            nxt = shift_in(tiles[t + 1]) if t + 1 < len(tiles) else []
            for i in range(M):
                ctx.set(dut.a, list(rows[t][i]))
                ctx.set(dut.sw, i == 0)
                g = i - (R + C - 2)  # next weights may shift once the switch has swept
                if 0 <= g < len(nxt):
                    ctx.set(dut.b, nxt[g])
                    ctx.set(dut.w_shift, 1)
                else:
                    ctx.set(dut.w_shift, 0)
                pending.append(ctx.get(dut.out))
                await ctx.tick()
        ctx.set(dut.w_shift, 0)
        ctx.set(dut.a, [0] * R)
        for _ in range(dut.latency + 1):
            pending.append(ctx.get(dut.out))
            await ctx.tick()
        flat = [list(v) for v in pending]
        for t in range(len(tiles)):
            for i in range(M):
                got.append(flat[t * M + i + dut.latency])

    sim(dut, bench)
    assert np.array_equal(np.array(got), np.concatenate(expect))


@pytest.mark.parametrize("R,C", [(1, 1), (3, 2), (2, 5), (4, 4)])
def test_os_array_accumulates_and_drains(R, C):
    dut = SystolicArray(ArrayConfig(R, C, OS), 8, 24)
    rng = np.random.default_rng(R * 7 + C)
    K = max(2 * R - 1, 3)
    tiles = [(rng.integers(-128, 128, size=(R, K)), rng.integers(-128, 128, size=(K, C)))
             for _ in range(3)]
    outs = []

    async def bench(ctx):
        trace = []
        for a, b in tiles + [(np.zeros((R, 1), int), np.zeros((1, C), int))]:  # last: flush
            for k in range(a.shape[1]):
                ctx.set(dut.a, list(a[:, k]))
                ctx.set(dut.b, list(b[k]))
                ctx.set(dut.sw, k == 0)
                trace.append(ctx.get(dut.out))
                await ctx.tick()
        ctx.set(dut.sw, 0)
        for _ in range(dut.drain_offset + 2 * R + 2):
            trace.append(ctx.get(dut.out))
            await ctx.tick()
        flat = [list(v) for v in trace]
        for t in range(len(tiles)):
            start = (t + 1) * K + dut.drain_offset  # the sw step of the next tile
            outs.append([flat[start + 2 * r] for r in range(R)])

    sim(dut, bench)
    for (a, b), got in zip(tiles, outs):
        assert np.array_equal(np.array(got), a @ b)


@pytest.mark.parametrize("banks", [1, 2])
def test_scratchpad_banks_and_two_readers(banks):
    """Reads issued every cycle (with gaps) return their words read_latency cycles
    later, from two readers on different banks at once; data holds while no read
    arrives."""
    cfg = BufferConfig(depth=16, banks=banks)
    shape = data.ArrayLayout(signed(8), 3)
    dut = Scratchpad(cfg, shape, n_read=2)
    L = dut.read_latency
    rng = random.Random(banks)
    model = {}

    async def bench(ctx):
        for _ in range(60):
            b, a = rng.randrange(banks), rng.randrange(16)
            word = [rng.randrange(-128, 128) for _ in range(3)]
            ctx.set(dut.w.bank, b)
            ctx.set(dut.w.addr, a)
            ctx.set(dut.w.data, word)
            ctx.set(dut.w.en, 1)
            await ctx.tick()
            model[(b, a)] = word
        ctx.set(dut.w.en, 0)
        issued = []   # per cycle: the keys read by r0 and r1 (None: no read)
        for t in range(80 + L):
            keys = [None, None]
            if t < 80 and rng.random() < 0.8:
                if banks == 2:  # two readers on different banks at once
                    keys = [rng.choice([k for k in model if k[0] == 0]),
                            rng.choice([k for k in model if k[0] == 1])]
                else:           # one bank, one port: the first reader wins
                    keys = [rng.choice(sorted(model)), None]
            for rd, k in zip((dut.r0, dut.r1), keys):
                ctx.set(rd.en, k is not None)
                if k is not None:
                    ctx.set(rd.bank, k[0])
                    ctx.set(rd.addr, k[1])
            issued.append(keys)
            await ctx.tick()
            if t + 1 >= L:
                src = t + 1 - L   # the cycle whose reads arrive now
                for i, rd in enumerate((dut.r0, dut.r1)):
                    last = [ks[i] for ks in issued[:src + 1] if ks[i] is not None]
                    if last and (banks == 2 or i == 0):
                        assert list(ctx.get(rd.data)) == model[last[-1]], (t, i)

    sim(dut, bench)


def test_scratchpad_pair_reads_two_consecutive_words():
    """The first reader of a paired scratchpad gets the words at addr and addr + 1
    (wrapping at a power-of-two depth) from the even and odd halves, read_latency cycles later."""
    depth = 16
    cfg = BufferConfig(depth=depth, banks=2)
    shape = data.ArrayLayout(signed(8), 2)
    dut = Scratchpad(cfg, shape, n_read=1, pair=True)
    L = dut.read_latency
    rng = random.Random(7)
    model = {(b, a): [rng.randrange(-128, 128) for _ in range(2)]
             for b in range(2) for a in range(depth)}

    async def bench(ctx):
        for (b, a), word in model.items():
            ctx.set(dut.w.bank, b)
            ctx.set(dut.w.addr, a)
            ctx.set(dut.w.data, word)
            ctx.set(dut.w.en, 1)
            await ctx.tick()
        ctx.set(dut.w.en, 0)
        keys = [(rng.randrange(2), rng.randrange(depth)) for _ in range(50)]
        for t in range(len(keys) + L - 1):
            if t < len(keys):
                ctx.set(dut.r0.en, 1)
                ctx.set(dut.r0.bank, keys[t][0])
                ctx.set(dut.r0.addr, keys[t][1])
            else:
                ctx.set(dut.r0.en, 0)
            await ctx.tick()
            if t + 1 >= L:
                b, a = keys[t + 1 - L]
                assert list(ctx.get(dut.r0.data)) == model[(b, a)]
                assert list(ctx.get(dut.r0.data_next)) == model[(b, (a + 1) % depth)]

    sim(dut, bench)
