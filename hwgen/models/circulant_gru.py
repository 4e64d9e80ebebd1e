"""Fixed-point model of a block-circulant GRU cell with piecewise-linear gates, written
from the mathematics; the arithmetic a hardware cell (``gru:``) is to match.

The codes, the block-circulant products and the two nonlinearities are the LSTM cell's
(:mod:`hwgen.models.circulant_lstm`: ``frac`` fraction bits for inputs, hidden state and
pre-activations, ``w_bits`` weight codes at ``w_frac`` fraction bits, biases at
``frac + w_frac``). The gates are in PyTorch's order r, z, n. One step:

1. ``a = Cx x + Ch h + b`` for the r and z rows, ``a_x = Cnx x + bn_x`` and
   ``a_h = Cnh h + bn_h`` for the candidate, all exact;
2. each of the 4H sums becomes ``saturate(round_half_up(a / 2^w_frac), state_bits)``:
   r, z, n_x, n_h;
3. ``n = tanh(n_x + round_half_up(sigma(r) n_h / 2^frac))`` (the sum needs no saturation:
   tanh clamps at +-2^frac, inside the state range);
4. ``h = round_half_up(((2^frac - sigma(z)) n + sigma(z) h) / 2^frac)``, a convex
   combination of two values within +-2^frac, so within it too;

with ``sigma(v) = clamp(floor(v / 4) + 2^(frac-1), 0, 2^frac)`` and
``tanh(v) = clamp(v, -2^frac, 2^frac)``. The state starts at zero. The float
counterpart is :class:`hwgen.nn.circulant_gru.BlockCirculantGRU` with ``pwl=True``.
"""
from __future__ import annotations

import numpy as np

from ..lib.fixed import round_shift, saturate
from .circulant_lstm import (
    LstmFixed,
    check_codes,
    check_words,
    circulant_matrix,
    sigmoid_fixed,
    tanh_fixed,
    words_of,
)

__all__ = ["gru_fixed", "pack_gru_words"]


def gru_fixed(cfg: LstmFixed, wx, wh, bias, x) -> np.ndarray:
    """Hidden states (..., T, H) of the cell for input codes ``x`` (..., T, D), weight
    codes ``wx`` (3H/k, D/k, k) and ``wh`` (3H/k, H/k, k) (block rows of r, z, n), bias
    codes (4H,): b_r, b_z, bn_x, bn_h."""
    for name, w in (("wx", wx), ("wh", wh)):
        check_codes(name, w, cfg.w_bits, "weight codes")
    Cx, Ch = circulant_matrix(wx), circulant_matrix(wh)
    H = Ch.shape[1]
    if Cx.shape[0] != 3 * H or Ch.shape[0] != 3 * H:
        raise ValueError(f"wx and wh must have 3H = {3 * H} rows, got {Cx.shape[0]} and "
                         f"{Ch.shape[0]}")
    b = np.asarray(bias, dtype=np.int64)
    if b.shape != (4 * H,):
        raise ValueError(f"bias: shape must be ({4 * H},), got {b.shape}")
    x = np.asarray(x, dtype=np.int64)
    F, one = cfg.frac, 1 << cfg.frac

    def pre(a):
        return saturate(round_shift(a, cfg.w_frac), cfg.state_bits)

    h = np.zeros((*x.shape[:-2], H), dtype=np.int64)
    out = []
    for t in range(x.shape[-2]):
        ax, ah = x[..., t, :] @ Cx.T, h @ Ch.T
        r = pre(ax[..., :H] + ah[..., :H] + b[:H])
        z = pre(ax[..., H:2 * H] + ah[..., H:2 * H] + b[H:2 * H])
        nx = pre(ax[..., 2 * H:] + b[2 * H:3 * H])
        nh = pre(ah[..., 2 * H:] + b[3 * H:])
        n = tanh_fixed(nx + round_shift(sigmoid_fixed(r, F) * nh, F), F)
        s = sigmoid_fixed(z, F)
        h = round_shift((one - s) * n + s * h, F)
        out.append(h)
    return np.stack(out, axis=-2)


def pack_gru_words(cfg, wx, wh, bias) -> list[int]:
    """The words the GRU cell loads after reset, as unsigned ``word_bits``-bit integers:
    the block rows of r and z (each: the D/k input blocks, then the H/k hidden blocks),
    those of n_x (input blocks only), those of n_h (hidden blocks only), k codes per
    block; then the 4H bias codes. Refuses codes that do not fit ``w_bits`` or
    ``bias_bits``."""
    k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
    wx, wh, b = check_words(cfg, {"wx": (wx, (3 * H // k, D // k, k)),
                                  "wh": (wh, (3 * H // k, H // k, k)),
                                  "bias": (bias, (4 * H,))})
    rz = 2 * H // k
    return words_of(cfg, [np.concatenate([wx[:rz], wh[:rz]], axis=1), wx[rz:], wh[rz:]], b)
