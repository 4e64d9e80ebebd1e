"""The int8 baseline layers (:mod:`hwgen.units.int8_layer`) on the Amaranth simulator:
operand vectors back to back, results and their cycles compared with the golden model."""
from __future__ import annotations


from hwgen.models.int8_layer import int8_layer
from hwgen.units.int8_layer import Int8SerialHeldLayer, Int8SerialLayer, acc_bits

from .amaranth_sim import simulate


def pack(values, bits: int) -> int:
    return sum((int(v) & ((1 << bits) - 1)) << (bits * i) for i, v in enumerate(values))


def unpack(word: int, bits: int, count: int) -> list[int]:
    return [(word >> (bits * i)) & ((1 << bits) - 1) for i in range(count)]


def operands(n: int, m: int, vectors: int, rng):
    """Random int8 vectors and weight sets, plus the corner cases: every product
    (-128)(-128) (the largest sum) and every product (-128)(127) (the most negative)."""
    x = rng.integers(-128, 128, size=(vectors, n))
    w = rng.integers(-128, 128, size=(vectors, m, n))
    x[0], w[0] = -128, -128
    x[1], w[1] = -128, 127
    return x, w


def check(dut, rng, vectors: int = 6) -> int:
    """Stream ``vectors`` (input, weights) pairs back to back through an int8 layer on the
    Amaranth simulator, new weights with every vector, and compare each result with
    numpy's max(0, w @ x) and its cycle with the layer's latency. Returns the vectors
    checked."""
    n, m, a = dut.n, dut.m, acc_bits(dut.n)
    x, w = operands(n, m, vectors, rng)
    want = [int8_layer(x[k], w[k]).tolist() for k in range(vectors)]
    got = []

    async def bench(ctx):
        if isinstance(dut, Int8SerialLayer):
            beats = [(k, i) for k in range(vectors) for i in range(n)]
            for t in range(len(beats) + dut.latency + 1):
                if t < len(beats):
                    k, i = beats[t]
                    ctx.set(dut.start, i == 0)
                    if isinstance(dut, Int8SerialHeldLayer):
                        ctx.set(dut.x, pack(x[k], 8))
                        ctx.set(dut.w, pack(w[k].ravel(), 8))
                    else:
                        ctx.set(dut.x, pack([x[k, i]], 8))
                        ctx.set(dut.w, pack(w[k, :, i], 8))
                else:
                    ctx.set(dut.start, 0)
                await ctx.tick()
                # now in cycle t + 1; vector k started in cycle k n
                if ctx.get(dut.done):
                    assert t + 1 == n * len(got) + dut.latency, (t, len(got))
                    got.append(unpack(ctx.get(dut.y), a, m))
        else:
            for t in range(vectors + dut.latency - 1):
                if t < vectors:
                    ctx.set(dut.x, pack(x[t], 8))
                    ctx.set(dut.w, pack(w[t].ravel(), 8))
                await ctx.tick()
                if t + 1 >= dut.latency:
                    got.append(unpack(ctx.get(dut.y), a, m))

    simulate(dut, bench)
    assert got == want, (type(dut).__name__, got, want)
    return vectors
