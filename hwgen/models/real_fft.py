"""Golden model of the real-input FFT that computes the spectrum of a real k-point block
with one k/2-point complex FFT (:class:`hwgen.units.real_fft.RealFftParallel`), bit for
bit. Written from the mathematics below.

The mathematics
---------------
Let x be real with k points, N = k/2, and pack the even and odd samples into one complex
vector ``z[t] = x[2t] + i*x[2t+1]`` (t < N). With ``E = FFT_N(x[0::2])``,
``O = FFT_N(x[1::2])`` and ``Z = FFT_N(z) = E + i*O``, the conjugate symmetry of the
spectra of the real vectors gives (indices mod N)::

    E[f] = (Z[f] + conj Z[N-f]) / 2         O[f] = -i (Z[f] - conj Z[N-f]) / 2

and one radix-2 step gives ``X[f] = E[f] + W_k^f O[f]`` with ``W_k = exp(-2*pi*i/k)``::

    X[f] = 1/2 (Z[f] + conj Z[N-f]) - i/2 W_k^f (Z[f] - conj Z[N-f])      f = 0..N

Bins ``N+1..k-1`` are ``conj X[k-f]``; bins 0 and N are real:
``X[0] = Re Z[0] + Im Z[0]``, ``X[N] = Re Z[0] - Im Z[0]``.

The fixed-point arithmetic
--------------------------
The result has the units of the k-point ``per_stage`` FFT of :mod:`hwgen.models.fft_fixed`
for the same real input: ``X * 2^g / k`` with ``g = out_bits - in_bits``.

1. **Core.** ``Zq = fft_fixed(core, x[0::2], x[1::2])`` with
   ``core = cfg.real_fft_core()``: N points, ``per_stage``, the same ``tw_bits``, input word
   ``in_bits + 1`` bits, stage word ``Wc = max(out_bits, in_bits + 1)`` bits. The samples
   enter one bit below the top of the core's input word (guard ``gc = Wc - in_bits - 1``),
   because a packed sample's complex magnitude reaches ``sqrt(2) * 2^(in_bits-1)``; so it
   stays below the core's full scale ``2^in_bits`` and no stage of the core saturates
   (the condition stated in :mod:`hwgen.models.fft_fixed`). At the full scale of the
   k-point FFT's input word instead, adversarial full-range inputs (for N >= 8) would
   saturate. ``Zq`` approximates ``Z * 2^gc / N``.
2. **Split.** For every f in 0..N, with ``a = Zq[f mod N]``, ``b = Zq[(N-f) mod N]``,
   ``S = a + conj b`` and ``D = a - conj b`` (exact), and the twiddle
   ``Wq = (c_r, c_i)``, ``c = floor(component(W_k^f) * 2^F + 1/2)`` with
   ``F = tw_bits - 2`` (exactly the rounding of :func:`hwgen.models.fft_fixed.twiddles`;
   ``W_k^0 = 1`` and ``W_k^N = -1`` exact), the exact integer ::

       num_r = S_r * 2^F + c_r * D_i + c_i * D_r
       num_i = S_i * 2^F - c_r * D_r + c_i * D_i        (num = 2^F S - i Wq D)

   is rounded once and saturated:
   ``X = saturate((num + 2^(s-1)) >> s, out_bits)`` with ``s = F + 1 + d`` (round half up,
   arithmetic shift) and ``d = Wc - out_bits`` (0, or 1 when ``out_bits == in_bits``).
   Since ``num / 2^(F+1)`` approximates ``X * 2^(gc+1) / k`` and ``gc + 1 - d = g``, the
   result approximates ``X * 2^g / k``.

The output is the layer's half-spectrum packing
(:func:`hwgen.models.circulant_layer.pack_spectrum` with ``real_input``):
``re[0..N]`` then ``im[1..N-1]``, k words.

Everything is vectorized over leading batch axes in int64. With the widths the config
allows (``tw_bits <= 27``, words <= 32 bits) every intermediate stays below 2^62.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import FftConfig
from ..lib.fixed import round_shift, saturate, split_twiddles
from . import fft_fixed as ff
from .spectrum import pack_spectrum


def check_blocks(cfg: FftConfig, v, what: str) -> np.ndarray:
    """``v`` as int64 blocks (..., k) of ``in_bits``-bit integers, or a one-line
    ValueError naming ``what``."""
    v = np.asarray(v, dtype=np.int64)
    if v.ndim < 1 or v.shape[-1] != cfg.k:
        raise ValueError(f"expected (..., {cfg.k}) {what}, got shape {v.shape}")
    lim = 1 << (cfg.in_bits - 1)
    if v.size and (v.min() < -lim or v.max() >= lim):
        raise ValueError(f"{what} must fit in_bits={cfg.in_bits} signed bits, "
                         f"got {int(v.min())}..{int(v.max())}")
    return v


def real_fft_bins(cfg: FftConfig, x) -> tuple[np.ndarray, np.ndarray]:
    """Bins 0..k/2 of the bit-exact real-input FFT of ``x`` (..., k) of ``in_bits``-bit
    samples: ``(re, im)``, each (..., k/2 + 1) of ``out_bits``-bit integers (``im`` is 0
    at bins 0 and k/2)."""
    core = cfg.real_fft_core()
    k, N, F = cfg.k, cfg.k // 2, cfg.tw_frac
    x = check_blocks(cfg, x, "samples")
    zr, zi, _ = ff.fft_fixed(core, x[..., 0::2], x[..., 1::2])
    f = np.arange(N + 1)
    ar, ai = zr[..., f % N], zi[..., f % N]
    br, bi = zr[..., (N - f) % N], zi[..., (N - f) % N]
    sr, si = ar + br, ai - bi          # S = a + conj b
    dr, di = ar - br, ai + bi          # D = a - conj b
    tw = np.array(split_twiddles(k, cfg.tw_bits), dtype=np.int64)
    cr, ci = tw[:, 0], tw[:, 1]
    num_r = (sr << F) + cr * di + ci * dr
    num_i = (si << F) - cr * dr + ci * di
    s = cfg.real_fft_post_shift()
    return (saturate(round_shift(num_r, s), cfg.out_bits),
            saturate(round_shift(num_i, s), cfg.out_bits))


def real_fft_fixed(cfg: FftConfig, x) -> np.ndarray:
    """The unit's output: bins 0..k/2 in the half-spectrum packing
    ``re[0..k/2], im[1..k/2-1]`` (..., k)."""
    re, im = real_fft_bins(cfg, x)
    return pack_spectrum(cfg.transform(real_input=True), re, im)


def real_fft_float(x) -> np.ndarray:
    """The same algorithm in floating point (pack, one k/2-point FFT, split): bins
    0..k/2 of ``FFT_k(x)``, unscaled."""
    x = np.asarray(x, dtype=float)
    N = x.shape[-1] // 2
    Z = np.fft.fft(x[..., 0::2] + 1j * x[..., 1::2], axis=-1)
    f = np.arange(N + 1)
    a, cb = Z[..., f % N], np.conj(Z[..., (N - f) % N])
    W = np.exp(-2j * np.pi * f / (2 * N))
    return 0.5 * (a + cb) - 0.5j * W * (a - cb)


def real_fft_reference(cfg: FftConfig, x) -> np.ndarray:
    """The float spectrum the fixed-point one approximates, in its output units:
    bins 0..k/2 of ``FFT_k(x) * 2^(out_bits - in_bits) / k``."""
    x = np.asarray(x, dtype=float)
    return np.fft.rfft(x, axis=-1) * 2.0 ** (cfg.out_bits - cfg.in_bits) / cfg.k


def error_bound(cfg: FftConfig, quantized_twiddles: bool = False) -> float:
    """Largest complex error of :func:`real_fft_bins` in output LSBs, for any input
    within ``in_bits``: against :func:`real_fft_reference` (default), or, with
    ``quantized_twiddles``, against the same two steps computed exactly with the
    quantized twiddles (only the roundings count).

    The core's error is at most ``eZ`` (:func:`hwgen.models.fft_fixed.error_bound` for
    packed samples of magnitude ``sqrt(2) * 2^(in_bits-1)``; with r0 = 0 for the
    quantized-twiddle case). ``num / 2^(F+1) = a (1 + Vq)/2 + conj(b) (1 - Vq)/2`` with
    ``Vq = -i Wq / 2^F``, ``|Vq - V| <= dW = sqrt(2) * 2^-(F+1)``; as
    ``|1 + V| + |1 - V| <= 2 sqrt(2)`` for a unit V, the split passes at most
    ``eZ (sqrt(2) + dW)`` on, and the twiddle's own error adds ``dW |D| / 2`` with
    ``|D| = 2 |O| <= 2^(in_bits + gc)`` in core units. The shift by d divides this, the
    rounding adds ``sqrt(2)/2``. Saturation at the bottom only moves a value towards the
    ideal one; the ideal value can exceed the top ``2^(out_bits-1) - 1`` (by less than
    one LSB) only when ``2^(out_bits - in_bits) < k``, which then adds at most 1. The
    ``quantized_twiddles`` bound is taken before that final saturation: saturation is
    1-Lipschitz per component, so two results within such bounds of the same value stay
    as close after it.
    """
    core = cfg.real_fft_core()
    dW = math.sqrt(2) * 2.0 ** -(cfg.tw_frac + 1)
    d = core.out_bits - cfg.out_bits
    if quantized_twiddles:
        eZ, tw_term = ff.error_bound(core, r0=0.0), 0.0
    else:
        eZ = ff.error_bound(core, r0=math.sqrt(2) * (1 << (cfg.in_bits - 1)))
        tw_term = dW * 2.0 ** (cfg.in_bits + core.guard_bits) / 2
    e = (eZ * (math.sqrt(2) + dW) + tw_term) / 2 ** d + math.sqrt(2) / 2
    if not quantized_twiddles and (1 << (cfg.out_bits - cfg.in_bits)) < cfg.k:
        e += 1.0
    return e


def sqnr_db(cfg: FftConfig, x) -> float:
    """Signal-to-quantization-noise ratio (dB) of :func:`real_fft_bins` against the float
    spectrum over bins 0..k/2 of the inputs ``x`` (..., k)."""
    re, im = real_fft_bins(cfg, x)
    ref = real_fft_reference(cfg, x)
    noise = float(np.sum(np.abs(re + 1j * im - ref) ** 2))
    if noise == 0.0:
        return math.inf
    return 10 * math.log10(float(np.sum(np.abs(ref) ** 2)) / noise)
