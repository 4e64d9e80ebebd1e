"""8N1 serial framing at the bit level, for testbenches that drive or sample a UART pin.

One start bit (0), eight data bits least significant first, one stop bit (1); the line
idles high. The testbenches (Amaranth simulator, cocotb) differ only in how they wait a
bit time; what goes on the line and how a sampled frame is judged lives here.
"""
from __future__ import annotations

FRAME_BITS = 10  # start, 8 data, stop


class FrameError(AssertionError):
    """A sampled frame with a high start bit or a low stop bit."""


def frame_bits(byte: int, stop_ok: bool = True) -> list[int]:
    """Line levels of one byte, in the order they are sent; ``stop_ok=False`` sends a low
    stop bit (a framing error)."""
    if not 0 <= byte < 256:
        raise ValueError(f"not a byte: {byte}")
    return [0] + [(byte >> i) & 1 for i in range(8)] + [1 if stop_ok else 0]


def decode_frame(bits) -> int:
    """The byte of one frame sampled mid-bit (``FRAME_BITS`` line levels)."""
    bits = [int(b) for b in bits]
    if len(bits) != FRAME_BITS:
        raise ValueError(f"a frame has {FRAME_BITS} bits, got {len(bits)}")
    if bits[0] != 0:
        raise FrameError("start bit too short")
    if bits[-1] != 1:
        raise FrameError("stop bit low")
    return sum(b << i for i, b in enumerate(bits[1:9]))


def sample_delays(divisor: int) -> list[int]:
    """Clock cycles to wait before each sample of a frame, counted from the cycle in
    which the start bit's falling edge is seen: the middle of the start bit, then one bit
    time per bit."""
    return [divisor // 2] + [divisor] * (FRAME_BITS - 1)
