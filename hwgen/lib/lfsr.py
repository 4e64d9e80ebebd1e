"""Linear-feedback shift registers as the stochastic-computing units and their golden
model both define them: Fibonacci form, the new bit is the XOR of the tapped bits and
enters at bit 0 (``s' = (s << 1 | fb) mod 2^w``)."""
from __future__ import annotations

import numpy as np

#: Maximal-length Fibonacci tap sets, 1-based bit positions, keyed by width.
LFSR_TAPS: dict[int, tuple[int, ...]] = {
    3: (3, 2), 4: (4, 3), 5: (5, 3), 6: (6, 5), 7: (7, 6), 8: (8, 6, 5, 4),
    9: (9, 5), 10: (10, 7), 11: (11, 9), 12: (12, 6, 4, 1), 13: (13, 4, 3, 1),
    14: (14, 5, 3, 1), 15: (15, 14), 16: (16, 15, 13, 4), 17: (17, 14), 18: (18, 11),
    19: (19, 6, 2, 1), 20: (20, 17), 21: (21, 19), 22: (22, 21), 23: (23, 18),
    24: (24, 23, 22, 17), 25: (25, 22), 26: (26, 6, 2, 1), 27: (27, 5, 2, 1),
    28: (28, 25), 29: (29, 27), 30: (30, 6, 4, 1), 31: (31, 28), 32: (32, 22, 2, 1),
}
LFSR_WIDTH_MIN, LFSR_WIDTH_MAX = min(LFSR_TAPS), max(LFSR_TAPS)


def lfsr_step(state: int, width: int) -> int:
    fb = 0
    for t in LFSR_TAPS[width]:
        fb ^= (state >> (t - 1)) & 1
    return ((state << 1) | fb) & ((1 << width) - 1)


def lfsr_sequence(width: int, seed: int, length: int) -> np.ndarray:
    """States s_0 = seed, s_1, ..., s_{length-1}."""
    out = np.empty(length, dtype=np.int64)
    s = seed
    for i in range(length):
        out[i] = s
        s = lfsr_step(s, width)
    return out


def _step_map(width: int) -> list[int]:
    """The LFSR step as a GF(2)-linear map: the image of each unit vector."""
    return [lfsr_step(1 << j, width) for j in range(width)]


def _apply(cols: list[int], v: int) -> int:
    r = 0
    for j, c in enumerate(cols):
        if (v >> j) & 1:
            r ^= c
    return r


def lfsr_jump(state: int, width: int, steps: int) -> int:
    """The LFSR state ``steps`` steps after ``state`` (the step map raised to that power
    by repeated squaring, so any distance costs O(width^2 log steps))."""
    power = _step_map(width)
    while steps:
        if steps & 1:
            state = _apply(power, state)
        power = [_apply(power, c) for c in power]
        steps >>= 1
    return state
