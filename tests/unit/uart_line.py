"""A serial line driven and sampled bit by bit from an Amaranth testbench (8N1); the
framing itself is sim_tb.uart_model's, shared with the cocotb testbench."""
from sim_tb.uart_model import decode_frame, frame_bits, sample_delays

DIV = 5


async def wait(ctx, n):
    if n > 0:
        await ctx.tick().repeat(n)


line_bits = frame_bits


async def send_serial(ctx, line, data, div=DIV, gap=0, bad_stop=()):
    for n, byte in enumerate(data):
        for bit in frame_bits(byte, n not in bad_stop):
            ctx.set(line, bit)
            await ctx.tick().repeat(div)
        ctx.set(line, 1)
        await wait(ctx, gap + (div if n in bad_stop else 0))


async def recv_frame(ctx, line, div):
    """Sample one frame whose start bit has just begun; returns its byte."""
    bits = []
    for delay in sample_delays(div):
        await ctx.tick().repeat(delay)
        bits.append(ctx.get(line))
    return decode_frame(bits)


async def recv_serial(ctx, line, n, div=DIV, timeout=100_000):
    """Sample a serial line in the middle of each bit; returns n bytes."""
    out = []
    waited = 0
    while len(out) < n:
        while ctx.get(line) == 1:
            await ctx.tick()
            waited += 1
            assert waited < timeout, f"timed out after {len(out)} of {n} bytes"
        out.append(await recv_frame(ctx, line, div))
    return out
