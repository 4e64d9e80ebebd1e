"""Fixed-point model of a block-circulant LSTM cell with piecewise-linear gates (E-RNN),
written from the mathematics; the arithmetic a hardware cell is to match.

Codes: inputs x, hidden state h and gate pre-activations are signed integers with
``frac`` fraction bits (1.0 is 2^frac); weights are signed ``w_bits`` codes with
``w_frac`` fraction bits (block-defining vectors, k per block); biases are integers at
``frac + w_frac`` fraction bits (the scale of the products). One step:

1. ``a = Cx x + Ch h + b``, exact: Cx and Ch are the block-circulant matrices of the
   weight codes, ``C[r, c] = w[(r - c) mod k]`` in every block;
2. ``z = saturate(round_half_up(a / 2^w_frac), state_bits)``, split into i, f, g, o;
3. ``sigma(z) = clamp(floor(z / 4) + 2^(frac-1), 0, 2^frac)``,
   ``tanh(z) = clamp(z, -2^frac, 2^frac)``;
4. ``c = saturate(round_half_up((sigma(f) c + sigma(i) tanh(g)) / 2^frac), state_bits)``;
5. ``h = round_half_up(sigma(o) tanh(c) / 2^frac)`` (within +-2^frac, no saturation).

The state starts at zero. The float counterparts are hwgen.nn.circulant_lstm's
``pwl_sigmoid`` and ``pwl_tanh``; the block-circulant product is the one
``hwgen.nn.circulant.BlockCirculantLinear`` computes through FFTs, here in the time
domain and exact.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..lib.fixed import round_shift, saturate

__all__ = ["LstmFixed", "circulant_matrix", "sigmoid_fixed", "tanh_fixed", "lstm_fixed",
           "fixed_of", "pack_words", "step_codes", "check_codes", "check_words", "words_of"]


class LstmFixed(NamedTuple):
    """Word lengths of a cell (the LSTM's and the GRU's): fraction bits of activations and state, of weights,
    weight code width and state width."""
    frac: int = 8
    w_frac: int = 6
    w_bits: int = 8
    state_bits: int = 16


def circulant_matrix(w) -> np.ndarray:
    """The (p k) x (q k) integer matrix of block-defining vectors ``w`` (p, q, k)."""
    w = np.asarray(w, dtype=np.int64)
    p, q, k = w.shape
    r = np.arange(k)
    idx = (r[:, None] - r[None, :]) % k
    return w[:, :, idx].transpose(0, 2, 1, 3).reshape(p * k, q * k)


def sigmoid_fixed(z, frac: int) -> np.ndarray:
    z = np.asarray(z, dtype=np.int64)
    return np.clip((z >> 2) + (1 << (frac - 1)), 0, 1 << frac)


def tanh_fixed(z, frac: int) -> np.ndarray:
    return np.clip(np.asarray(z, dtype=np.int64), -(1 << frac), 1 << frac)


def check_codes(name: str, v, bits: int, what: str = "codes") -> None:
    """Refuses integer codes ``v`` that do not fit ``bits`` signed bits."""
    v = np.asarray(v)
    lim = 1 << (bits - 1)
    if v.size and (v.min() < -lim or v.max() >= lim):
        raise ValueError(f"{name}: {what} must fit {bits} signed bits")


def lstm_fixed(cfg: LstmFixed, wx, wh, bias, x) -> np.ndarray:
    """Hidden states (..., T, H) of the cell for input codes ``x`` (..., T, D), weight
    codes ``wx`` (4H/k, D/k, k) and ``wh`` (4H/k, H/k, k), bias codes (4H,)."""
    for name, w in (("wx", wx), ("wh", wh)):
        check_codes(name, w, cfg.w_bits, "weight codes")
    Cx, Ch = circulant_matrix(wx), circulant_matrix(wh)
    H = Ch.shape[1]
    if Cx.shape[0] != 4 * H or Ch.shape[0] != 4 * H:
        raise ValueError(f"wx and wh must have 4H = {4 * H} rows, got {Cx.shape[0]} and "
                         f"{Ch.shape[0]}")
    x = np.asarray(x, dtype=np.int64)
    b = np.asarray(bias, dtype=np.int64)
    F = cfg.frac
    h = np.zeros((*x.shape[:-2], H), dtype=np.int64)
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[-2]):
        a = x[..., t, :] @ Cx.T + h @ Ch.T + b
        z = saturate(round_shift(a, cfg.w_frac), cfg.state_bits)
        i, f, g, o = (z[..., j * H:(j + 1) * H] for j in range(4))
        c = saturate(round_shift(sigmoid_fixed(f, F) * c
                                 + sigmoid_fixed(i, F) * tanh_fixed(g, F), F), cfg.state_bits)
        h = round_shift(sigmoid_fixed(o, F) * tanh_fixed(c, F), F)
        out.append(h)
    return np.stack(out, axis=-2)


# ---- the hardware cell's words (hwgen.units.circulant_lstm) -------------------------
def fixed_of(cfg) -> LstmFixed:
    """The word lengths of an ``lstm:`` section (:class:`hwgen.config.lstm.LstmConfig`)."""
    return LstmFixed(frac=cfg.frac, w_frac=cfg.w_frac, w_bits=cfg.w_bits,
                     state_bits=cfg.state_bits)


def pack_words(cfg, wx, wh, bias) -> list[int]:
    """The words the cell loads after reset, as unsigned ``word_bits``-bit integers: for
    every block row r of the gate matrices, every block column c of ``[Wx Wh]`` (the D/k
    input blocks, then the H/k hidden blocks), the k codes of the defining vector; then
    the 4H bias codes. Refuses codes that do not fit ``w_bits`` or ``bias_bits``."""
    k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
    wx, wh, b = check_words(cfg, {"wx": (wx, (4 * H // k, D // k, k)),
                                  "wh": (wh, (4 * H // k, H // k, k)),
                                  "bias": (bias, (4 * H,))})
    return words_of(cfg, [np.concatenate([wx, wh], axis=1)], b)


def check_words(cfg, named: dict) -> list[np.ndarray]:
    """The arrays of ``named`` (name -> (codes, shape); weights, then ``bias`` last) as
    int64, refused with the name if a shape differs or a code does not fit ``w_bits``
    (``bias_bits`` for the bias)."""
    out = []
    for name, (v, shape) in named.items():
        v = np.asarray(v, dtype=np.int64)
        if v.shape != shape:
            raise ValueError(f"{name}: shape must be {shape}, got {v.shape}")
        out.append(v)
    for name, v in zip(named, out):
        check_codes(name, v, cfg.bias_bits if name == "bias" else cfg.w_bits)
    return out


def words_of(cfg, weights, b) -> list[int]:
    """Weight blocks (each (rows, columns, k), in load order), then the bias codes, as
    unsigned ``word_bits``-bit words."""
    mask = (1 << cfg.word_bits) - 1
    return ([int(v) & mask for w in weights for v in w.reshape(-1)]
            + [int(v) & mask for v in b])


def step_codes(cfg, x) -> list[list[int]]:
    """The input beats of a sequence (T, D) of codes: one list of D unsigned
    ``in_bits + 1``-bit words per step, the code in the low ``in_bits`` bits and, on the
    first code of the first step, the top bit (the state restarts at zero)."""
    x = np.asarray(x, dtype=np.int64)
    lim = 1 << (cfg.in_bits - 1)
    if x.ndim != 2 or x.shape[1] != cfg.input_size:
        raise ValueError(f"x: shape must be (T, {cfg.input_size}), got {x.shape}")
    if x.size and (x.min() < -lim or x.max() >= lim):
        raise ValueError(f"x: codes must fit {cfg.in_bits} signed bits")
    mask = (1 << cfg.in_bits) - 1
    out = [[int(v) & mask for v in row] for row in x]
    if out:
        out[0][0] |= 1 << cfg.in_bits
    return out
