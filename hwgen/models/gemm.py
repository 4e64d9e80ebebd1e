"""Golden model of the GEMM datapath, written from the mathematics.

``C = A.B`` in exact integer arithmetic, then the READ post-processing of
docs/host_protocol.md: bias, multiply, divide by 2^shift rounding half to even,
saturate to the output width, optional ReLU.
"""
from __future__ import annotations

import numpy as np

from ..lib.fixed import round_shift_half_even


def gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer product (Python integers, so no width can overflow)."""
    return np.asarray(a, dtype=object).dot(np.asarray(b, dtype=object))


def requantize(acc, bias, mult, shift, out_bits: int, relu: bool,
               lo: int | None = None, hi: int | None = None) -> np.ndarray:
    """Elementwise READ post-processing of an accumulator matrix: ``bias``, and
    ``mult`` and ``shift`` when they are sequences, are per column; the result saturates
    to ``out_bits``, then is clamped to ``[lo, hi]`` (default: no further bound), then
    ReLU."""
    acc = np.asarray(acc, dtype=object)
    smin, smax = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    lo = smin if lo is None else lo
    hi = smax if hi is None else hi
    per = lambda v, c: int(v[c]) if np.ndim(v) else int(v)  # noqa: E731
    out = np.empty(acc.shape, dtype=object)
    for idx, v in np.ndenumerate(acc):
        c = idx[-1]
        y = round_shift_half_even((int(v) + int(bias[c])) * per(mult, c), per(shift, c))
        y = min(max(min(max(y, smin), smax), lo), hi)
        out[idx] = max(y, 0) if relu else y
    return out


def random_operands(rng: np.random.Generator, m: int, k: int, n: int, bits: int,
                    extreme: bool = False):
    """Random signed operands; ``extreme`` gives all -2^(bits-1), the worst case for the
    accumulator width."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if extreme:
        return np.full((m, k), lo, dtype=np.int64), np.full((k, n), lo, dtype=np.int64)
    return (rng.integers(lo, hi + 1, size=(m, k), dtype=np.int64),
            rng.integers(lo, hi + 1, size=(k, n), dtype=np.int64))
