"""A serial line driven and sampled bit by bit from an Amaranth testbench (8N1)."""

DIV = 5


async def wait(ctx, n):
    if n > 0:
        await ctx.tick().repeat(n)


def line_bits(byte, stop_ok=True):
    return [0] + [(byte >> i) & 1 for i in range(8)] + [1 if stop_ok else 0]


async def send_serial(ctx, line, data, div=DIV, gap=0, bad_stop=()):
    for n, byte in enumerate(data):
        for bit in line_bits(byte, n not in bad_stop):
            ctx.set(line, bit)
            await ctx.tick().repeat(div)
        ctx.set(line, 1)
        await wait(ctx, gap + (div if n in bad_stop else 0))


async def recv_serial(ctx, line, n, div=DIV, timeout=100_000):
    """Sample a serial line in the middle of each bit; returns n bytes."""
    out = []
    waited = 0
    while len(out) < n:
        while ctx.get(line) == 1:
            await ctx.tick()
            waited += 1
            assert waited < timeout, f"timed out after {len(out)} of {n} bytes"
        await ctx.tick().repeat(div // 2)
        assert ctx.get(line) == 0, "start bit too short"
        byte = 0
        for i in range(8):
            await ctx.tick().repeat(div)
            byte |= ctx.get(line) << i
        await ctx.tick().repeat(div)
        assert ctx.get(line) == 1, "stop bit low"
        out.append(byte)
    return out
