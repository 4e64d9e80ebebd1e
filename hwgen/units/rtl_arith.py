"""Fixed-point pieces shared by the stream layers' datapaths (Amaranth expressions); the
constructor-rejection helper is :func:`hwgen.lib.checks.reject`."""
from __future__ import annotations

from amaranth.hdl import Mux


def saturate(v, bits: int):
    """``v`` clamped to the ``bits``-bit signed range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return Mux(v > hi, hi, Mux(v < lo, lo, v))


def round_shift(v, s: int):
    """``v / 2^s`` rounded half up: add half an LSB, then shift arithmetically; ``s == 0``
    is exact."""
    return v if s == 0 else (v + (1 << (s - 1))) >> s


