"""Golden model of the inverse transform of a real block's half spectrum computed with one
k/2-point complex IFFT (:class:`hwgen.units.real_ifft.RealIfftParallel`), bit for bit.
It is the counterpart of :mod:`hwgen.models.real_fft` on the output side of a
block-circulant layer, whose IFFT input is conjugate symmetric and whose output is real.

The mathematics
---------------
Let Y be the spectrum of a real k-point block y, N = k/2, so ``Y[k-f] = conj Y[f]`` and
only bins 0..N are given (bins 0 and N real). With ``W_k = exp(-2*pi*i/k)``, the even
and odd samples of y are the N-point inverse transforms of ::

    E[f] = Y[f] + Y[f+N] = Y[f] + conj Y[N-f]
    O[f] = (Y[f] - Y[f+N]) W_k^-f = (Y[f] - conj Y[N-f]) conj(W_k^f)     f = 0..N-1

each divided by 2 (``IFFT_N(E)[t] = 2 y[2t]``). Both are real sequences, so one complex
IFFT of ``Z'[f] = (E[f] + i O[f]) / 2`` gives ``z[t] = y[2t] + i y[2t+1]``::

    Z'[f] = 1/2 (Y[f] + conj Y[N-f]) + i/2 conj(W_k^f) (Y[f] - conj Y[N-f])

The fixed-point arithmetic
--------------------------
``cfg`` describes the k-point IFFT this replaces (the layer's
:meth:`hwgen.config.CirculantConfig.inverse_transform`): ``in_bits``-wide spectrum
words, ``out_bits``-wide results, ``tw_bits``, ``per_stage`` scaling (the 1/k of the
inverse). The result has the units of that IFFT's real part for the completed spectrum:
``y * 2^g`` with ``g = out_bits - in_bits``.

1. **Merge.** For f in 0..N-1, with ``a = Y[f]``, ``b = Y[N-f]`` (``b = Y[N]`` for f = 0),
   ``S = a + conj b`` and ``D = a - conj b`` (exact) and the twiddle ``(c_r, c_i)`` of
   ``W_k^f`` rounded like :func:`hwgen.models.fft_fixed.twiddles` (``F = tw_bits - 2``
   fraction bits), the exact integer ::

       num_r = S_r * 2^F - c_r * D_i + c_i * D_r
       num_i = S_i * 2^F + c_r * D_r + c_i * D_i        (num = 2^F S + i conj(Wq) D)

   is rounded half up once and saturated to ``in_bits + 1`` bits:
   ``Z' = saturate((num + 2^F) >> (F + 1), in_bits + 1)``. The extra bit is needed:
   ``|Z'[f]| <= |Y[f]| + |Y[N-f]|``, twice a bin's magnitude, so no merge result
   saturates while every bin's magnitude is below ``2^(in_bits-1)``.
2. **Core.** ``z = ifft_fixed(core, Z')`` with ``core = cfg.real_ifft_core()``: N points,
   ``per_stage``, input ``in_bits + 1``, stage words ``out_bits + 1`` bits (so the core's
   full scale is twice the k-point IFFT's and, by the bound above, the core does not
   saturate either). ``z`` approximates ``(y[2t] + i y[2t+1]) * 2^g``.
3. **Output.** ``y[2t] = saturate(Re z[t], out_bits)``, ``y[2t+1] = saturate(Im z[t],
   out_bits)``.

Everything is vectorized over leading batch axes in int64; with the widths the config
allows (``tw_bits <= 27``, words <= 32 bits) every intermediate stays below 2^62.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import FftConfig
from ..lib.fixed import merge_twiddles, round_shift, saturate
from . import fft_fixed as ff
from .real_fft import check_blocks


def unpack_half(cfg: FftConfig, words) -> tuple[np.ndarray, np.ndarray]:
    """Half-spectrum words ``re[0..N], im[1..N-1]`` (..., k) -> ``(re, im)`` of bins 0..N
    (``im`` zero at bins 0 and N), checked against ``in_bits``."""
    N = cfg.k // 2
    w = check_blocks(cfg, words, "spectrum words")
    zero = np.zeros(w.shape[:-1] + (1,), dtype=np.int64)
    return w[..., :N + 1], np.concatenate([zero, w[..., N + 1:], zero], axis=-1)


def merge_fixed(cfg: FftConfig, words) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: the core's input ``Z'`` (re, im), each (..., N) of ``in_bits + 1`` bits."""
    cfg.check_real_ifft()
    N, F = cfg.k // 2, cfg.tw_frac
    yr, yi = unpack_half(cfg, words)
    f = np.arange(N)
    ar, ai = yr[..., f], yi[..., f]
    br, bi = yr[..., N - f], yi[..., N - f]
    sr, si = ar + br, ai - bi          # S = a + conj b
    dr, di = ar - br, ai + bi          # D = a - conj b
    tw = np.array(merge_twiddles(cfg.k, cfg.tw_bits), dtype=np.int64)
    cr, ci = tw[:, 0], tw[:, 1]
    num_r = (sr << F) - cr * di + ci * dr
    num_i = (si << F) + cr * dr + ci * di
    b = cfg.in_bits + 1
    return (saturate(round_shift(num_r, F + 1), b),
            saturate(round_shift(num_i, F + 1), b))


def real_ifft_fixed(cfg: FftConfig, words) -> np.ndarray:
    """Bit-exact real output (..., k) of ``out_bits``-bit integers for half-spectrum
    words (..., k)."""
    zr_in, zi_in = merge_fixed(cfg, words)
    zr, zi, _ = ff.ifft_fixed(cfg.real_ifft_core(), zr_in, zi_in)
    y = np.empty(zr.shape[:-1] + (cfg.k,), dtype=np.int64)
    y[..., 0::2] = saturate(zr, cfg.out_bits)
    y[..., 1::2] = saturate(zi, cfg.out_bits)
    return y


def real_ifft_reference(cfg: FftConfig, words) -> np.ndarray:
    """The float result the fixed-point one approximates: ``irfft`` of bins 0..N times
    ``2^(out_bits - in_bits)``."""
    yr, yi = unpack_half(cfg, words)
    return np.fft.irfft(yr + 1j * yi, n=cfg.k, axis=-1) * 2.0 ** (cfg.out_bits - cfg.in_bits)


def error_bound(cfg: FftConfig, r0: float) -> float:
    """Largest error of a :func:`real_ifft_fixed` sample against
    :func:`real_ifft_reference`, in output LSBs, when every bin's magnitude is at most
    ``r0`` (input LSBs) and nothing saturates.

    The merge rounds once (``sqrt(2)/2``) and its twiddle error ``|dW| <= sqrt(2) *
    2^-(F+1)`` meets ``|D| <= 2 r0`` halved: ``e1 = dW r0 + sqrt(2)/2``. An N-point
    ``per_stage`` IFFT averages its input errors (each stage passes at most
    ``(1 + dW/2)`` times them on), and adds its own
    (:func:`hwgen.models.fft_fixed.error_bound` for inputs up to ``2 r0``).
    """
    core = cfg.real_ifft_core()
    dw = math.sqrt(2) * 2.0 ** -(cfg.tw_frac + 1)
    e1 = dw * r0 + math.sqrt(2) / 2
    return e1 * 2.0 ** core.guard_bits * (1 + dw / 2) ** core.stages \
        + ff.error_bound(core, r0=2 * r0)
