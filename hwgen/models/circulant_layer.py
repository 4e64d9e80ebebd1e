"""Golden model of the block-circulant layer that ``hwgen generate`` builds
(:class:`hwgen.units.circulant_layer.CirculantStreamLayer`), bit for bit.

For an m x n layer of k x k circulant blocks (p = m/k output blocks, q = n/k input
blocks), with the input vector split into blocks ``x_j`` of k samples:

1. ``X_j = fft_fixed(fwd, x_j)``: the forward FFT of every input block, real input, with
   the section's scaling (``per_stage`` or ``none``).
2. ``A_i[f] = sum_j W_ij[f] * X_j[f]``: the complex multiply-accumulate per output block
   and frequency bin, exact (``CirculantConfig.acc_bits`` bits).
3. ``Y_i[f] = saturate(round_half_up(A_i[f] / 2^shift), out_bits)`` per component.
4. ``y_i = Re(ifft_fixed(inv, Y_i))``: the inverse FFT with ``per_stage`` scaling, whose
   input is ``out_bits`` wide.

With ``real_fft`` steps 1 and 4 are :func:`hwgen.models.real_fft.real_fft_fixed` and
:func:`hwgen.models.real_ifft.real_ifft_fixed`: the same transforms, each on one k/2-point
complex FFT, which round differently.

Spectrum words
--------------
Both the weight buffer and the buffer of input spectra hold one block's spectrum as a
flat list of integers (``CirculantConfig.spectrum_words``):

* ``real_input: false``: ``re[0..k-1]`` then ``im[0..k-1]`` -- all k bins.
* ``real_input: true``: ``re[0..k/2]`` then ``im[1..k/2-1]`` -- the half spectrum.
  A real vector's spectrum is conjugate symmetric (``X[k-f] = conj(X[f])``) and its bins
  0 and k/2 are real, so k numbers describe it. Only bins ``0..k/2`` are multiplied
  (bins 0 and k/2 with one real product each); the IFFT input is completed as
  ``Y[k-f] = (Yr[f], saturate(-Yi[f]))`` with ``Yi[0] = Yi[k/2] = 0``. The forward FFT of
  a real block gives exactly zero imaginary parts at bins 0 and k/2 (every twiddle on
  their paths is 1), so dropping them loses nothing; bins ``k/2+1..k-1`` are not used,
  and because rounding half up is not symmetric under negation they may differ from the
  conjugates of their mirrors by an LSB -- which is why the two modes are distinct
  models and not one with a shortcut.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import CirculantConfig
from ..lib.fixed import round_shift, saturate
from .fft_fixed import fft_fixed, ifft_fixed
from .real_fft import real_fft_fixed
from .real_ifft import real_ifft_fixed
from .spectrum import complete_spectrum, pack_spectrum, unpack_spectrum


def check_weights(cfg: CirculantConfig, words, name: str = "weights") -> np.ndarray:
    """``words`` as int64 of shape (m/k, n/k, spectrum_words) within ``w_bits``, or a
    one-line ValueError naming ``name``."""
    want = (cfg.blocks_out, cfg.blocks_in, cfg.spectrum_words)
    w = np.asarray(words)
    if w.shape != want:
        raise ValueError(f"{name}: shape {tuple(w.shape)} does not match the layer "
                         f"(m/k, n/k, spectrum words) = {want}")
    if w.dtype.kind not in "iu":
        raise ValueError(f"{name}: must be integers, got {w.dtype}")
    lim = 1 << (cfg.w_bits - 1)
    if w.size and (w.min() < -lim or w.max() >= lim):
        raise ValueError(f"{name}: values must fit w_bits={cfg.w_bits} signed bits, "
                         f"got {int(w.min())}..{int(w.max())}")
    return w.astype(np.int64)


def quantize_layer_weights(cfg: CirculantConfig, w, frac: int | None = None):
    """Block-defining vectors ``w`` (m/k, n/k, k) -> ``(words, frac)``: the FFT of every
    block vector, components rounded half up at ``frac`` fraction bits (default: the
    largest that keeps every component within ``w_bits``) and packed as spectrum words."""
    w = np.asarray(w, dtype=float)
    want = (cfg.blocks_out, cfg.blocks_in, cfg.k)
    if w.shape != want:
        raise ValueError(f"weight: shape {tuple(w.shape)} does not match the layer "
                         f"(m/k, n/k, k) = {want}")
    Wf = np.fft.fft(w, axis=-1)
    if frac is None:
        peak = max(np.abs(Wf.real).max(), np.abs(Wf.imag).max(), 1e-300)
        frac = (cfg.w_bits - 1) - math.ceil(math.log2(peak * (1 + 2.0 ** -(cfg.w_bits - 1)))
                                            + 1e-12)
    sc = 2.0 ** frac
    re = saturate(np.floor(Wf.real * sc + 0.5).astype(np.int64), cfg.w_bits)
    im = saturate(np.floor(Wf.imag * sc + 0.5).astype(np.int64), cfg.w_bits)
    return pack_spectrum(cfg, re, im), frac


def layer_fixed(cfg: CirculantConfig, x, words, stats: dict | None = None) -> np.ndarray:
    """Bit-exact layer output (..., m) for inputs ``x`` (..., n) of ``in_bits``-bit
    integers and weight spectrum words (m/k, n/k, spectrum_words). ``stats``, if given,
    receives ``saturated``: how many requantized frequency components were clipped."""
    if cfg.scaling == "block_float":
        raise ValueError("the layer needs per_stage or none scaling")
    k, p, q = cfg.k, cfg.blocks_out, cfg.blocks_in
    words = check_weights(cfg, words)
    x = np.asarray(x, dtype=np.int64)
    if x.shape[-1] != cfg.n:
        raise ValueError(f"x: expected (..., {cfg.n}) samples, got {x.shape}")
    xb = x.reshape(*x.shape[:-1], q, k)
    if cfg.real_fft:
        Xr, Xi = unpack_spectrum(cfg, real_fft_fixed(cfg.forward_transform(), xb))
    else:
        Xr, Xi, _ = fft_fixed(cfg.forward_transform(), xb)
        Xr, Xi = unpack_spectrum(cfg, pack_spectrum(cfg, Xr, Xi))
    Wr, Wi = unpack_spectrum(cfg, words)
    Ar = np.einsum("ijf,...jf->...if", Wr, Xr) - np.einsum("ijf,...jf->...if", Wi, Xi)
    Ai = np.einsum("ijf,...jf->...if", Wr, Xi) + np.einsum("ijf,...jf->...if", Wi, Xr)
    Rr, Ri = round_shift(Ar, cfg.shift), round_shift(Ai, cfg.shift)
    Yr, Yi = saturate(Rr, cfg.out_bits), saturate(Ri, cfg.out_bits)
    if stats is not None:
        stats["saturated"] = int((Yr != Rr).sum() + (Yi != Ri).sum())
    if cfg.real_fft:
        yr = real_ifft_fixed(cfg.inverse_transform(), pack_spectrum(cfg, Yr, Yi))
        return yr.reshape(*x.shape[:-1], p * k)
    if cfg.real_input:
        Yr, Yi = complete_spectrum(cfg, Yr, Yi)
    yr, _, _ = ifft_fixed(cfg.inverse_transform(), Yr, Yi)
    return yr.reshape(*x.shape[:-1], p * k)


def layer_gain(cfg: CirculantConfig, frac: int) -> float:
    """Factor between :func:`layer_fixed` and the float layer ``W x`` (weights quantized
    with ``frac`` fraction bits)."""
    fwd = 1.0 / cfg.k if cfg.scaling == "per_stage" else 1.0
    return 2.0 ** (cfg.guard_bits + frac - cfg.shift) * fwd


def choose_shift(cfg: CirculantConfig, words, x_peak: float | None = None) -> int:
    """Smallest shift for which no frequency sample can saturate when every input sample
    is within ``x_peak`` in magnitude (default full scale): ``|X_j[f]| <= k' * x_peak``
    with ``k'`` the forward gain, and ``|A_i[f]| <= sum_j |W_ij[f]| |X_j[f]|``."""
    Wr, Wi = unpack_spectrum(cfg, check_weights(cfg, words))
    if x_peak is None:
        x_peak = float(1 << (cfg.in_bits - 1))
    fwd = x_peak * 2.0 ** cfg.guard_bits * (1 if cfg.scaling == "per_stage" else cfg.k)
    peak = np.hypot(Wr.astype(float), Wi.astype(float)).sum(axis=1).max() * fwd
    limit = 2.0 ** (cfg.out_bits - 1) - 1
    shift = 0
    while peak / 2.0 ** shift + 0.5 > limit:
        shift += 1
    return shift


def op_counts(cfg: CirculantConfig) -> dict[str, int]:
    """Real multiplications and stored weight numbers per input vector, for the layer as
    built and for the dense m x n layer it replaces."""
    p, q, k = cfg.blocks_out, cfg.blocks_in, cfg.k
    s = cfg.stages
    fft_mults = 4 * (k // 2) * s          # one complex multiply (4 real) per butterfly
    if cfg.real_fft:                      # k/4 butterflies per core stage, then k/4
        fft_mults = 4 * (k // 4) * s      # four-product split or merge pairs
    if cfg.real_input:
        mac = 2 + 4 * (k // 2 - 1)        # bins 0 and k/2 real, the others complex
    else:
        mac = 4 * k
    return {
        "fft_real_mults": (p + q) * fft_mults,
        "mac_real_mults": p * q * mac,
        "total_real_mults": (p + q) * fft_mults + p * q * mac,
        "weights_stored": p * q * cfg.spectrum_words,
        "dense_real_mults": cfg.m * cfg.n,
        "dense_weights": cfg.m * cfg.n,
    }
