"""Golden model of the dense int8 stream layer
(:class:`hwgen.units.dense_stream.DenseStreamLayer`), bit for bit.

For an m x n weight matrix ``W`` and an input vector ``x`` (signed integers):

1. ``a = W x``, exact (``acc_bits`` bits hold every possible sum);
2. ``y = saturate(floor(a / 2^shift + 1/2), out_bits)``: divided by ``2^shift`` and
   rounded to the nearest integer, halves upwards, then clamped to the signed
   ``out_bits`` range.

The hardware reads ``W`` as k x k blocks ``W_ij`` (rows ``i*k .. i*k+k-1``, columns
``j*k .. j*k+k-1``): weight word ``i * (n/k) + j`` holds ``W_ij`` row by row
(:func:`pack_blocks`).
"""
from __future__ import annotations

import numpy as np

from ..lib.arith import dot_acc_bits


def _check_range(name: str, v: np.ndarray, bits: int):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"{name}: values must fit {bits} signed bits, "
                         f"got {v.min()}..{v.max()}")


def dense_fixed(x, w, *, shift: int, in_bits: int = 8, w_bits: int = 8,
                out_bits: int = 8) -> np.ndarray:
    """``saturate(round_half_up(x W^T / 2^shift), out_bits)`` for inputs ``x`` of shape
    (vectors, n) and weights ``w`` of shape (m, n)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"x: shape {x.shape} does not match weights {w.shape} "
                         "(vectors, n) x (m, n)")
    _check_range("x", x, in_bits)
    _check_range("weights", w, w_bits)
    if dot_acc_bits(in_bits, w_bits, w.shape[1]) > 62:
        raise ValueError("dense_fixed: sums need more than 62 bits")
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift}")
    a = x @ w.T
    # floor(a / 2^s + 1/2) = floor((2a + 2^s) / 2^(s+1)); // is the floor for negatives too
    y = (2 * a + (1 << shift)) // (1 << (shift + 1))
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    return np.clip(y, lo, hi)


def pack_blocks(w, k: int) -> np.ndarray:
    """(m, n) weights -> (m/k * n/k, k*k) weight words: word ``i * (n/k) + j`` is block
    ``W_ij`` row by row (element ``r * k + c`` is ``W[i*k + r, j*k + c]``)."""
    w = np.asarray(w, dtype=np.int64)
    m, n = w.shape
    if m % k or n % k:
        raise ValueError(f"weights: shape {w.shape} is not a whole number of {k} x {k} "
                         "blocks")
    p, q = m // k, n // k
    return w.reshape(p, k, q, k).transpose(0, 2, 1, 3).reshape(p * q, k * k)
