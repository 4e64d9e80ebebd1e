"""Fixed-point rules shared by the golden models and the constants the hardware bakes
in: rounding, saturation, and the FFT's twiddle factors and input permutation."""
from __future__ import annotations

import math

import numpy as np


def round_shift(v, s: int):
    """``v / 2^s`` rounded half up (arithmetic shift); ``s == 0`` is exact."""
    v = np.asarray(v, dtype=np.int64)
    if s == 0:
        return v
    return (v + (np.int64(1) << (s - 1))) >> s


def saturate(v, bits: int):
    """``v`` clamped to the signed ``bits``-bit range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.asarray(v, dtype=np.int64), lo, hi)


def round_shift_half_even(p: int, shift: int) -> int:
    """p / 2^shift rounded to the nearest integer, ties to even."""
    if shift == 0:
        return p
    q = p >> shift                      # floor division, also for negative p
    rem = p - (q << shift)              # 0 <= rem < 2^shift
    half = 1 << (shift - 1)
    if rem > half or (rem == half and q & 1):
        q += 1
    return q


def fft_input_order(k: int) -> list[int]:
    """Index permutation of the decimation-in-time input: position p takes sample
    ``rev(p)`` (the bit-reversed index)."""
    L = k.bit_length() - 1
    return [int(format(p, f"0{L}b")[::-1], 2) if L else 0 for p in range(k)]


def twiddles(k: int, tw_bits: int) -> list[tuple[int, int]]:
    """``W_k^j = exp(-2*pi*i*j/k)`` for j < k/2, each component ``floor(c * 2^F + 1/2)``
    with ``F = tw_bits - 2``."""
    F = tw_bits - 2
    out = []
    for j in range(k // 2):
        ang = -2.0 * math.pi * j / k
        out.append((math.floor(math.cos(ang) * (1 << F) + 0.5),
                    math.floor(math.sin(ang) * (1 << F) + 0.5)))
    return out


def split_twiddles(k: int, tw_bits: int) -> list[tuple[int, int]]:
    """``W_k^f`` for f = 0..k/2 (the real FFT's split stage), rounded like
    :func:`twiddles`."""
    F = tw_bits - 2
    return twiddles(k, tw_bits) + [(-(1 << F), 0)]


def merge_twiddles(k: int, tw_bits: int) -> list[tuple[int, int]]:
    """``W_k^f`` for f = 0..k/2-1 (the real IFFT's merge stage)."""
    return twiddles(k, tw_bits)
