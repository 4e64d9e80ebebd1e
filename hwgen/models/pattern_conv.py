"""Golden model of the pattern-pruned sparse convolution unit (``pattern_conv:``).

The arithmetic is the plain convolution of the pruned weights (zeros where a pattern or
the connectivity pruning removed a weight), in exact integers:

    out[f, y, x] = sum_c sum_{dy, dx} w[f, c, dy, dx] in[c, s y + dy - pad, s x + dx - pad]

with the input zero outside the plane. The sparse unit must give the same numbers; what
it changes is the work: the compressed weights (:func:`compress`) hold one word per kept
kernel, and each word costs one cycle per output position.

Compressed format (the order the words are loaded in): filters sorted by the number of
kernels they keep, most first (ties in filter order) -- PatDNN's filter reordering,
which puts filters of equal length side by side; within a filter its kernels by pattern
id, then channel, so runs of one pattern are contiguous. A filter that keeps no kernel
stores one word of zero weights (channel 0, pattern 0). Word fields, least significant
first: ``last`` (1 on a filter's final word), ``channel``, ``pattern``, then the E
weights in the order of :meth:`PatternConvConfig.offsets`, each ``weight_bits`` two's
complement. Results leave position by position (row-major), and at each position filter
by filter in the compressed order.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..config.pattern_conv import PatternConvConfig

__all__ = ["KernelWord", "conv", "match_pattern", "compress", "filter_order", "results",
           "pack", "dense_weights", "cycles"]


class KernelWord(NamedTuple):
    last: int
    channel: int
    pattern: int
    weights: tuple


def conv(cfg: PatternConvConfig, weights, x) -> np.ndarray:
    """(F, Ho, Wo) exact integer convolution of ``x`` (C, H, W) with ``weights``
    (F, C, k, k), zero padding ``pad``, stride ``stride``."""
    w = np.asarray(weights, dtype=object)
    x = np.asarray(x, dtype=object)
    k, p, s = cfg.kernel, cfg.pad, cfg.stride
    xp = np.zeros((cfg.in_channels, cfg.height + 2 * p, cfg.width + 2 * p), dtype=object)
    xp[:, p:p + cfg.height, p:p + cfg.width] = x
    out = np.zeros((cfg.out_channels, cfg.out_height, cfg.out_width), dtype=object)
    for y in range(cfg.out_height):
        for xx in range(cfg.out_width):
            window = xp[:, s * y:s * y + k, s * xx:s * xx + k]
            out[:, y, xx] = np.tensordot(w, window, axes=([1, 2, 3], [0, 1, 2]))
    return out.astype(np.int64)


def masks(cfg: PatternConvConfig) -> np.ndarray:
    """(patterns, k, k) booleans: the positions each pattern keeps."""
    return np.array([[[ch == "1" for ch in row] for row in pat] for pat in cfg.patterns])


def match_pattern(cfg: PatternConvConfig, kernel) -> int | None:
    """The first pattern whose positions hold every non-zero of ``kernel`` (k, k), or
    None when no pattern does."""
    nz = np.asarray(kernel) != 0
    for i, m in enumerate(masks(cfg)):
        if not (nz & ~m).any():
            return i
    return None


def filter_order(cfg: PatternConvConfig, weights) -> list[int]:
    """Filters by the number of non-zero kernels they keep, most first, ties in order."""
    kept = (np.asarray(weights) != 0).any(axis=(2, 3)).sum(axis=1)
    return sorted(range(cfg.out_channels), key=lambda f: (-int(kept[f]), f))


def compress(cfg: PatternConvConfig, weights, every_kernel: bool = False) -> list[KernelWord]:
    """The kernel words of ``weights`` (F, C, k, k) in load order (module docstring);
    ``every_kernel`` stores the all-zero kernels too (a dense accelerator's work, for
    comparison). Raises ValueError when a kernel fits no pattern or the words exceed the unit's
    ``kernel_capacity``."""
    w = np.asarray(weights)
    if w.shape != (cfg.out_channels, cfg.in_channels, cfg.kernel, cfg.kernel):
        raise ValueError(f"weights must have shape {(cfg.out_channels, cfg.in_channels, cfg.kernel, cfg.kernel)}, "
                         f"got {w.shape}")
    lim = 1 << (cfg.weight_bits - 1)
    if w.min(initial=0) < -lim or w.max(initial=0) >= lim:
        raise ValueError(f"weights must fit {cfg.weight_bits} signed bits")
    out = []
    for f in filter_order(cfg, w):
        kernels = []
        for c in range(cfg.in_channels):
            if not w[f, c].any() and not every_kernel:
                continue
            p = match_pattern(cfg, w[f, c])
            if p is None:
                raise ValueError(f"kernel (filter {f}, channel {c}) fits none of the "
                                 f"{len(cfg.patterns)} patterns")
            kernels.append((p, c))
        kernels.sort()
        if not kernels:
            out.append(KernelWord(1, 0, 0, (0,) * cfg.entries))
            continue
        for i, (p, c) in enumerate(kernels):
            vals = tuple(int(w[f, c, dy, dx]) for dy, dx in cfg.offsets(p))
            out.append(KernelWord(int(i == len(kernels) - 1), c, p, vals))
    if len(out) > cfg.kernel_capacity:
        raise ValueError(f"{len(out)} kernel words, more than the {cfg.kernel_capacity} the "
                         f"unit holds (connectivity {cfg.connectivity} %)")
    return out


def dense_weights(cfg: PatternConvConfig, words) -> np.ndarray:
    """(F, C, k, k) weights back from kernel words (in the stored filter order: filter
    i of the result is the i-th filter of ``words``)."""
    out = np.zeros((cfg.out_channels, cfg.in_channels, cfg.kernel, cfg.kernel), dtype=np.int64)
    f = 0
    for wd in words:
        for (dy, dx), v in zip(cfg.offsets(wd.pattern), wd.weights):
            out[f, wd.channel, dy, dx] += v
        f += wd.last
    return out


def results(cfg: PatternConvConfig, weights, x) -> np.ndarray:
    """The unit's result stream for one image: (Ho Wo F,) position-major, filters in
    :func:`filter_order` at each position."""
    y = conv(cfg, weights, x)
    order = filter_order(cfg, weights)
    return y[order].transpose(1, 2, 0).reshape(-1)


def pack(cfg: PatternConvConfig, words) -> list[int]:
    """Kernel words as the unsigned integers the unit's ``w_in`` takes."""
    wb, cb, pb = cfg.weight_bits, cfg.channel_bits, cfg.pattern_bits
    mask = (1 << wb) - 1
    out = []
    for wd in words:
        v = wd.last | (wd.channel << 1) | (wd.pattern << (1 + cb))
        base = 1 + cb + pb
        for i, w in enumerate(wd.weights):
            v |= (int(w) & mask) << (base + i * wb)
        out.append(v)
    return out


def cycles(cfg: PatternConvConfig, n_words: int) -> int:
    """Cycles from the last input of an image to its last result (results taken at
    once)."""
    return cfg.cycles_per_image(n_words)
