"""Packing buffer words into stream beats and back: element i of a beat occupies bits
``i*bits .. i*bits+bits-1`` (two's complement), little-endian within the beat; a word of
E elements takes ``ceil(E / beat)`` beats, the last one zero-padded."""
from __future__ import annotations

import numpy as np

from .arith import ceil_div


def pack_beats(words: np.ndarray, beat: int, bits: int) -> list[int]:
    """Words (n x E) -> beats of ``beat`` lanes, two's complement ``bits`` each."""
    words = np.asarray(words)
    n, E = words.shape
    bpw = ceil_div(E, beat)
    padded = np.zeros((n, bpw * beat), dtype=np.int64)
    padded[:, :E] = words
    lanes = padded.reshape(n * bpw, beat)
    mask = (1 << bits) - 1
    if beat * bits <= 62:  # the whole beat fits an int64: pack with numpy
        shifts = np.arange(beat, dtype=np.int64) * bits
        return ((lanes & mask) << shifts).sum(axis=1).tolist()
    out = []
    for row in lanes.tolist():
        v = 0
        for i, e in enumerate(row):
            v |= (e & mask) << (i * bits)
        out.append(v)
    return out


def unpack_beats(beats: list[int], elems: int, beat: int, bits: int) -> np.ndarray:
    """Beats -> words (n x elems) of signed ``bits``-bit integers (Python ints)."""
    bpw = ceil_div(elems, beat)
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    vals = []
    for v in beats:
        for i in range(beat):
            e = (v >> (i * bits)) & mask
            vals.append(e - (1 << bits) if e & sign else e)
    arr = np.array(vals, dtype=object).reshape(-1, bpw * beat)
    return arr[:, :elems]
