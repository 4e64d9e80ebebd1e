"""Golden model of the fixed-point radix-2 FFT and of the block-circulant layer.

Written from the mathematics; :class:`hwgen.units.fft.CirculantFft` must match
it bit for bit.

The transform
-------------
Decimation in time, radix 2: the input is taken in bit-reversed order and stage s
(0-based, ``log2 k`` stages) combines pairs ``a``, ``b`` that are ``2^s`` apart with the
twiddle ``W = exp(-2*pi*i*j/2^(s+1))``::

    a' = scale(a * 2^F + W_q * b)        b' = scale(a * 2^F - W_q * b)

in exact integer arithmetic, where ``W_q`` is the twiddle quantized to ``tw_bits`` signed
bits with ``F = tw_bits - 2`` fraction bits (each component ``floor(c * 2^F + 1/2)``, so
+1 and -1 are exact and the trivial twiddles add no error). ``scale`` is

* ``per_stage``: divide by ``2^(F+1)`` -- the stage halves, so the FFT gives X / k;
* ``none``: divide by ``2^F``; the word grows by one bit per stage (see
  :mod:`hwgen.config.circulant`);
* ``block_float``: divide by ``2^F`` if every component of every output of the stage
  then fits one bit less than the stage's word (so the next stage, halving or not,
  cannot overflow); otherwise the whole stage divides by ``2^(F+1)`` and the block
  exponent goes up by one.

Every division rounds half up: ``(v + 2^(s-1)) >> s`` with an arithmetic shift
(ties go towards +infinity). Every result then saturates to the signed width of the
next stage (``FftConfig.stage_bits``). Inputs enter the first stage shifted left by
``FftConfig.guard_bits``.

Saturation only acts on inputs beyond the safe range: with ``per_stage`` and
``block_float`` no value saturates while every input sample's complex magnitude is below
full scale (about 2^(in_bits-1)); a real input is always safe. With ``none`` the words
are wide enough for any input.

The inverse transform is ``conj(FFT(conj(X)))``: the imaginary input and output are
negated with saturation (``-(-2^(b-1))`` becomes ``2^(b-1) - 1``). With ``per_stage``
scaling it gives ``IFFT(X)`` including the 1/k.

Everything is vectorized over a leading batch axis in int64; the widths the config allows
(``tw_bits <= 27``, stage words <= 32 bits) keep every intermediate below 2^62.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import CirculantConfig, FftConfig
from ..lib.fixed import fft_input_order, round_shift, saturate, twiddles

# --------------------------------------------------------------------- primitives


def _fits(v, bits: int):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return (v >= lo) & (v <= hi)


# --------------------------------------------------------------------- transforms


def fft_fixed(cfg: FftConfig, re, im=None):
    """Bit-exact fixed-point FFT of ``cfg.k`` points.

    ``re``/``im``: integer arrays ``(..., k)`` of ``cfg.in_bits``-bit samples (``im`` None:
    real input). Returns ``(re, im, exp)``: ``cfg.out_bits``-bit outputs and the
    block exponent per transform (zeros unless ``block_float``); the result approximates
    ``FFT(x) * 2^guard_bits / 2^(stages if per_stage else exp)``.
    """
    k, F = cfg.k, cfg.tw_frac
    re = np.asarray(re, dtype=np.int64)
    im = np.zeros_like(re) if im is None else np.asarray(im, dtype=np.int64)
    if re.shape[-1] != k or im.shape != re.shape:
        raise ValueError(f"expected (..., {k}) samples, got {re.shape} and {im.shape}")
    lim = 1 << (cfg.in_bits - 1)
    if (re < -lim).any() or (re >= lim).any() or (im < -lim).any() or (im >= lim).any():
        raise ValueError(f"samples must fit {cfg.in_bits} signed bits")
    rev = fft_input_order(k)
    vr = re[..., rev] << cfg.guard_bits
    vi = im[..., rev] << cfg.guard_bits
    exp = np.zeros(re.shape[:-1], dtype=np.int64)
    tw = twiddles(k, cfg.tw_bits)
    for s in range(cfg.stages):
        bo = cfg.stage_bits(s + 1)
        half, span = 1 << s, 2 << s
        wr = np.array([tw[(p % span) * (k // span)][0] if p % span < half else 0
                       for p in range(k)], dtype=np.int64)
        wi = np.array([tw[(p % span) * (k // span)][1] if p % span < half else 0
                       for p in range(k)], dtype=np.int64)
        top = np.array([p for p in range(k) if p % span < half])
        bot = top + half
        ar, ai = vr[..., top] << F, vi[..., top] << F
        br, bi = vr[..., bot], vi[..., bot]
        pr = wr[top] * br - wi[top] * bi
        pi = wr[top] * bi + wi[top] * br
        sums = (ar + pr, ai + pi, ar - pr, ai - pi)
        if cfg.scaling == "per_stage":
            outs = [saturate(round_shift(v, F + 1), bo) for v in sums]
        elif cfg.scaling == "none":
            outs = [saturate(round_shift(v, F), bo) for v in sums]
        else:
            full = [round_shift(v, F) for v in sums]
            ok = np.ones(re.shape[:-1], dtype=bool)
            for v in full:
                ok &= _fits(v, bo - 1).all(axis=-1)
            halved = [saturate(round_shift(v, F + 1), bo) for v in sums]
            outs = [np.where(ok[..., None], f, h) for f, h in zip(full, halved)]
            exp = exp + (~ok)
        nr, ni = np.empty_like(vr), np.empty_like(vi)
        nr[..., top], ni[..., top], nr[..., bot], ni[..., bot] = outs
        vr, vi = nr, ni
    ob = cfg.out_bits
    return saturate(vr, ob), saturate(vi, ob), exp


def ifft_fixed(cfg: FftConfig, re, im):
    """Bit-exact inverse: ``conj(fft_fixed(conj(X)))`` with saturating negation."""
    im_n = saturate(-np.asarray(im, dtype=np.int64), cfg.in_bits)
    r, i, e = fft_fixed(cfg, re, im_n)
    return r, saturate(-i, cfg.out_bits), e


def fft_reference(cfg: FftConfig, re, im=None, exp=None):
    """The float transform the fixed-point one approximates, in its output units."""
    x = np.asarray(re, dtype=float) + (0 if im is None else 1j * np.asarray(im, dtype=float))
    X = np.fft.fft(x * 2.0 ** cfg.guard_bits, axis=-1)
    if cfg.scaling == "per_stage":
        return X / cfg.k
    if cfg.scaling == "block_float":
        e = np.zeros(X.shape[:-1]) if exp is None else np.asarray(exp)
        return X / 2.0 ** e[..., None]
    return X


def error_bound(cfg: FftConfig, r0: float | None = None) -> float:
    """Largest complex error magnitude |fixed - reference| in output LSBs, for inputs of
    magnitude at most ``r0`` (in input LSBs; default the full-scale corner) that do not
    saturate. ``per_stage`` and ``none`` only.

    Stage recursion: the output error is ``c*(e_a + W_q e_b + dW * b) + r`` with
    ``c`` = 1/2 or 1, ``|dW| <= sqrt(2) * 2^-(F+1)``, ``|W_q| <= 1 + |dW|``, ``|b|`` at most
    the stage's ideal peak ``(2c)^s * r0`` and rounding ``|r| <= sqrt(2)/2``.
    """
    if cfg.scaling == "block_float":
        raise ValueError("error_bound covers per_stage and none scaling")
    if r0 is None:
        r0 = math.sqrt(2) * (1 << (cfg.in_bits - 1))
    r0 *= 2.0 ** cfg.guard_bits
    c = 0.5 if cfg.scaling == "per_stage" else 1.0
    dw = math.sqrt(2) * 2.0 ** -(cfg.tw_frac + 1)
    e = 0.0
    for s in range(cfg.stages):
        peak = (2 * c) ** s * r0
        e = c * (e + (1 + dw) * e + dw * peak) + math.sqrt(2) / 2
    return e


def sqnr_db(cfg: FftConfig, trials: int = 256, seed: int = 0,
            amplitude: float = 0.7) -> float:
    """Measured signal-to-quantization-noise ratio of :func:`fft_fixed` against the float
    transform, for uniform random complex inputs with components within
    ``amplitude * 2^(in_bits-1)`` (real only when ``cfg.real_input``)."""
    rng = np.random.default_rng(seed)
    lim = int(amplitude * (1 << (cfg.in_bits - 1)))
    re = rng.integers(-lim, lim + 1, size=(trials, cfg.k))
    im = None if cfg.real_input else rng.integers(-lim, lim + 1, size=(trials, cfg.k))
    r, i, e = fft_fixed(cfg, re, im)
    ref = fft_reference(cfg, re, im, e)
    noise = float(np.sum(np.abs((r + 1j * i) - ref) ** 2))
    if noise == 0.0:
        return math.inf
    return 10 * math.log10(float(np.sum(np.abs(ref) ** 2)) / noise)


def sqnr_vs_word_length(cfg: FftConfig, word_lengths, trials: int = 256,
                        seed: int = 0) -> dict[int, float]:
    """SQNR (dB) for each output word length, with the twiddle word as wide as the data
    word (capped at 27) and the input word unchanged."""
    out = {}
    for b in word_lengths:
        c = cfg.replace(out_bits=b, tw_bits=min(max(b, 3), 27),
                        in_bits=min(cfg.in_bits, b))
        out[b] = sqnr_db(c, trials=trials, seed=seed)
    return out


# --------------------------------------------------------------------- the layer


def circulant_dense(w) -> np.ndarray:
    """The dense (p*k) x (q*k) matrix of block-defining vectors ``w`` (p, q, k):
    block (i, j) is ``C[r, c] = w[i, j, (r - c) mod k]``, so ``C x = w (*) x``
    (circular convolution)."""
    w = np.asarray(w)
    p, q, k = w.shape
    idx = (np.arange(k)[:, None] - np.arange(k)[None, :]) % k
    return w[:, :, idx].transpose(0, 2, 1, 3).reshape(p * k, q * k)


def circulant_float(w, x) -> np.ndarray:
    """``y_i = sum_j IFFT(FFT(w_ij) * FFT(x_j))``, x of shape (..., q*k)."""
    w = np.asarray(w, dtype=float)
    p, q, k = w.shape
    xb = np.asarray(x, dtype=float).reshape(*np.shape(x)[:-1], q, k)
    Y = np.einsum("ijf,...jf->...if", np.fft.fft(w, axis=-1), np.fft.fft(xb, axis=-1))
    return np.real(np.fft.ifft(Y, axis=-1)).reshape(*np.shape(x)[:-1], p * k)


def quantize_freq_weights(w, bits: int):
    """FFT of every block vector, quantized to ``bits``-bit components with the largest
    power-of-two scale that fits. Returns ``(re, im, frac)``: ints (p, q, k) and the number
    of fraction bits."""
    Wf = np.fft.fft(np.asarray(w, dtype=float), axis=-1)
    peak = max(np.abs(Wf.real).max(), np.abs(Wf.imag).max(), 1e-300)
    frac = (bits - 1) - math.ceil(math.log2(peak * (1 + 2.0 ** -(bits - 1))) + 1e-12)
    sc = 2.0 ** frac
    re = saturate(np.floor(Wf.real * sc + 0.5).astype(np.int64), bits)
    im = saturate(np.floor(Wf.imag * sc + 0.5).astype(np.int64), bits)
    return re, im, frac


def circulant_fixed(cfg: CirculantConfig, x, wre, wim, shift: int) -> np.ndarray:
    """Bit-exact block-circulant layer: per input block ``X_j = fft_fixed(x_j)``; per
    output block the complex multiply-accumulate ``A_i = sum_j W_ij * X_j`` (exact), then
    ``Y_i = saturate(round_half_up(A_i / 2^shift), out_bits)`` and
    ``y_i = Re(ifft_fixed(Y_i))``. ``per_stage`` scaling only.

    ``y`` approximates ``layer_gain(cfg, frac, shift) * (W x)``.
    """
    if cfg.scaling != "per_stage":
        raise ValueError("the layer model needs per_stage scaling")
    k, p, q = cfg.k, cfg.blocks_out, cfg.blocks_in
    x = np.asarray(x, dtype=np.int64)
    xb = x.reshape(*x.shape[:-1], q, k)
    Xr, Xi, _ = fft_fixed(cfg, xb)
    wre, wim = np.asarray(wre, dtype=np.int64), np.asarray(wim, dtype=np.int64)
    Ar = np.einsum("ijf,...jf->...if", wre, Xr) - np.einsum("ijf,...jf->...if", wim, Xi)
    Ai = np.einsum("ijf,...jf->...if", wre, Xi) + np.einsum("ijf,...jf->...if", wim, Xr)
    Yr = saturate(round_shift(Ar, shift), cfg.out_bits)
    Yi = saturate(round_shift(Ai, shift), cfg.out_bits)
    yr, _, _ = ifft_fixed(cfg.inverse(), Yr, Yi)
    return yr.reshape(*x.shape[:-1], p * k)


def mac_shift(cfg: CirculantConfig, wre, wim) -> int:
    """Smallest requantization shift with which no frequency sample of the layer can
    leave ``out_bits`` in magnitude, for any input: ``|A_i[f]| <= sum_j |W_ij[f]| *
    2^(in_bits - 1 + guard_bits)``, and the IFFT then cannot saturate either."""
    mag = np.hypot(np.asarray(wre, dtype=float), np.asarray(wim, dtype=float))
    peak = mag.sum(axis=1).max() * 2.0 ** (cfg.in_bits - 1 + cfg.guard_bits)
    limit = 2.0 ** (cfg.out_bits - 1) - 1
    shift = 0
    while peak / 2.0 ** shift + 0.5 > limit:
        shift += 1
    return shift


def layer_gain(cfg: CirculantConfig, frac: int, shift: int) -> float:
    """Factor between :func:`circulant_fixed` and the float layer ``W x``."""
    return 2.0 ** (cfg.guard_bits + frac - shift) / cfg.k
