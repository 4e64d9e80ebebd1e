"""Shared test vectors and builders, defined once: random GEMMs and config variants, and
the stimulus that a unit's tests on the Amaranth simulator and its Verilog tests share."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwgen.compiler import Quant, build_gemm_program
from hwgen.config import (ArrayConfig, BufferConfig, BuffersConfig, CirculantConfig, Dataflow,
                          HostConfig, load_config)
from hwgen.models.circulant_layer import choose_shift, quantize_layer_weights
from hwgen.models.gemm import gemm, random_operands, requantize

# ---- the GEMM accelerator ------------------------------------------------------------


def variant(base="tiny", *, rows=None, cols=None, dataflow=None, beat=None, banks=None,
            depth=None, in_bits=None, pe=None):
    cfg = load_config(base)
    arr = ArrayConfig(rows or cfg.R, cols or cfg.C, dataflow or cfg.array.dataflow)
    if arr.dataflow is Dataflow.IS:   # (no on-chip im2col there)
        cfg = cfg.replace(array=arr, features=replace(cfg.features, im2col=False))
    else:
        cfg = cfg.replace(array=arr)
    if beat:
        cfg = cfg.replace(host=HostConfig(beat))
    if banks or depth:
        b = cfg.buffers
        mk = lambda x: BufferConfig(depth or x.depth, banks or x.banks)
        cfg = cfg.replace(buffers=BuffersConfig(mk(b.input), mk(b.weight), mk(b.acc)))
    if in_bits:
        cfg = cfg.replace(precision=replace(cfg.precision, in_bits=in_bits))
    if pe is not None:
        cfg = cfg.replace(pipeline=replace(cfg.pipeline, pe=pe))
    return cfg


def gemm_case(cfg, M, K, N, seed, *, extreme=False, quant=Quant(), mapping=None):
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, M, K, N, cfg.precision.in_bits, extreme=extreme)
    if not quant.raw and quant.bias is None:
        quant = Quant(raw=False, mult=quant.mult, shift=quant.shift, relu=quant.relu,
                      bias=tuple(int(x) for x in rng.integers(-5000, 5000, size=N)))
    prog = build_gemm_program(cfg, M, K, N, a, b, mapping=mapping, quant=quant)
    want = gemm(a, b)
    if not quant.raw:
        want = requantize(want, quant.bias, quant.mult, quant.shift, cfg.precision.out_bits,
                          quant.relu)
    return prog, want


# ---- real_fft ------------------------------------------------------------


REAL_FFT_DIGITS = {"in_bits": 8, "out_bits": 16, "tw_bits": 14}     # benchmarks/circulant_digits.py


# x in {-128, 127}^16 whose packing, at the full scale of a k/2-point core's input word,
# saturates that core by thousands of LSBs (found by exhaustive search); with the unit's
# one bit of headroom it stays within the error bound
REAL_FFT_ADVERSARIAL_16 = [-128, 127, -128, -128, 127, -128, -128, 127,
                  -128, -128, 127, 127, -128, -128, 127, -128]


def real_fft_vectors(cfg, seed, n_random):
    """Random samples, impulses, DC, alternating and full-scale +/- corners, (n, k)."""
    k, lo, hi = cfg.k, -(1 << (cfg.in_bits - 1)), (1 << (cfg.in_bits - 1)) - 1
    rng = np.random.default_rng(seed)
    rows = [rng.integers(lo, hi + 1, size=(n_random, k)),
            rng.choice([lo, hi], size=(n_random, k))]
    imp = np.zeros((3, k), dtype=np.int64)
    imp[0, 0], imp[1, 1], imp[2, k // 2 + 1] = hi, lo, hi
    rows.append(imp)
    rows.append(np.array([[hi] * k, [lo] * k, [lo, hi] * (k // 2), [hi, lo] * (k // 2),
                          [lo] + [hi] * (k - 1), [lo, lo, hi, hi] * (k // 4)]))
    return np.concatenate(rows)


# ---- dense_stream ------------------------------------------------------------


def dense_vectors(n, in_bits, rng, n_random=6):
    """Random vectors, both full-scale ends, alternating full scale and zeros."""
    lo, hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    rows = [rng.integers(lo, hi + 1, size=(n_random, n)), np.full((1, n), hi),
            np.full((1, n), lo), np.array([[hi, lo] * (n // 2) + [hi] * (n % 2)]),
            np.zeros((1, n), dtype=np.int64)]
    return np.concatenate(rows)


# ---- circulant_sdf_layer ------------------------------------------------------------


def make_sdf_layer(rng, tighten=0, **kw):
    """A streaming layer config with random block vectors quantized to weight words and
    a shift ``tighten`` bits below the one that can never saturate."""
    cfg = CirculantConfig(architecture="streaming", **kw)
    w = rng.normal(size=(cfg.blocks_out, cfg.blocks_in, cfg.k))
    words, _ = quantize_layer_weights(cfg, w)
    return cfg.replace(shift=max(choose_shift(cfg, words) - tighten, 0)), words


def sdf_layer_vectors(cfg, rng, n_random=4):
    """Random vectors, two impulses, DC at both full-scale ends, an alternating full-scale
    vector and zeros, (vectors, n)."""
    lo, hi = -(1 << (cfg.in_bits - 1)), (1 << (cfg.in_bits - 1)) - 1
    n = cfg.n
    imp = np.zeros((2, n), dtype=np.int64)
    imp[0, 0], imp[1, n - 1] = hi, lo
    return np.concatenate([rng.integers(lo, hi + 1, size=(n_random, n)), imp,
                           np.full((1, n), hi), np.full((1, n), lo),
                           np.array([[hi, lo] * (n // 2)]), np.zeros((1, n), dtype=np.int64)])


# ---- circulant_fft ------------------------------------------------------------


def fft_vectors(cfg, seed, n_random=6):
    """Random samples, impulses, DC and full-scale corners, (n, k) each part."""
    k, lo, hi = cfg.k, -(1 << (cfg.in_bits - 1)), (1 << (cfg.in_bits - 1)) - 1
    rng = np.random.default_rng(seed)
    re = [rng.integers(lo, hi + 1, size=(n_random, k))]
    im = [rng.integers(lo, hi + 1, size=(n_random, k))]
    imp = np.zeros((2, k), dtype=np.int64)
    imp[0, 0], imp[1, k // 2 + 1] = hi, lo
    re.append(imp)
    im.append(imp[::-1])
    re.append(np.array([[hi] * k, [lo] * k, [lo, hi] * (k // 2)]))
    im.append(np.array([[0] * k, [lo] * k, [hi] * k]))
    return np.concatenate(re), np.concatenate(im)


# ---- circulant_layer ------------------------------------------------------------


def circulant_layer_vectors(cfg, rng, n_random=6):
    """Random vectors, an impulse, DC at both full-scale ends, an alternating full-scale
    vector and zeros, (vectors, n)."""
    lo, hi = -(1 << (cfg.in_bits - 1)), (1 << (cfg.in_bits - 1)) - 1
    n = cfg.n
    rows = [rng.integers(lo, hi + 1, size=(n_random, n))]
    imp = np.zeros((1, n), dtype=np.int64)
    imp[0, 1] = hi
    rows += [imp, np.full((1, n), hi), np.full((1, n), lo),
             np.array([[hi, lo] * (n // 2)]), np.zeros((1, n), dtype=np.int64)]
    return np.concatenate(rows)


def make_circulant_layer(rng, tighten=0, **kw):
    cfg = CirculantConfig(**kw)
    w = rng.normal(size=(cfg.blocks_out, cfg.blocks_in, cfg.k))
    words, frac = quantize_layer_weights(cfg, w)
    cfg = cfg.replace(shift=max(choose_shift(cfg, words) - tighten, 0))
    return cfg, w, words, frac


# ---- real_ifft ------------------------------------------------------------


REAL_IFFT_LAYER = {"in_bits": 16, "out_bits": 16, "tw_bits": 14}   # the digits layer's IFFT


REAL_IFFT_CONFIGS = [REAL_IFFT_LAYER, {"in_bits": 12, "out_bits": 14, "tw_bits": 12},   # guard bits
           {"in_bits": 8, "out_bits": 8, "tw_bits": 5}]              # coarse twiddles


def half_words(cfg, re, im):
    """Bins 0..k/2 (im of bins 0 and k/2 ignored) -> the half-spectrum packing."""
    N = cfg.k // 2
    return np.concatenate([re[..., :N + 1], im[..., 1:N]], axis=-1)


def bounded_spectra(cfg, n, frac, seed):
    """n spectra whose bins have magnitude below ``frac`` of the input full scale."""
    N, full = cfg.k // 2, 1 << (cfg.in_bits - 1)
    rng = np.random.default_rng(seed)
    mag = rng.uniform(0, frac * full, size=(n, N + 1))
    ph = rng.uniform(0, 2 * np.pi, size=(n, N + 1))
    ph[:, [0, N]] = rng.choice([0.0, np.pi], size=(n, 2))     # real bins
    re = np.trunc(mag * np.cos(ph)).astype(np.int64)
    im = np.trunc(mag * np.sin(ph)).astype(np.int64)
    return half_words(cfg, re, im)


def corner_spectra(cfg, n_random, seed):
    """Random full-range words, impulses in each bin kind, DC, Nyquist, and the extreme
    words (which may saturate: the model says how, bit for bit)."""
    k, N = cfg.k, cfg.k // 2
    lo, hi = -(1 << (cfg.in_bits - 1)), (1 << (cfg.in_bits - 1)) - 1
    rng = np.random.default_rng(seed)
    rows = [rng.integers(lo, hi + 1, size=(n_random, k)),
            rng.choice([lo, hi], size=(n_random, k))]
    special = np.zeros((6, k), dtype=np.int64)
    special[0, 0] = hi                      # DC: a constant block
    special[1, N] = lo                      # Nyquist: alternating signs
    special[2, 1] = hi                      # one cosine
    special[3, N + 1] = lo                  # one sine
    special[4, N // 2] = hi                 # bin k/4 (trivial twiddle)
    special[5, N + N // 2] = hi
    rows += [special, np.full((1, k), hi), np.full((1, k), lo)]
    return np.concatenate(rows)


# ---- grng ------------------------------------------------------------


#: Small generators of every kind (and the less common options): name -> grng: keys.
GRNG_CASES = {
    "rlf": dict(kind="rlf", degree=17, shift=4, lanes=5, bits=6, seed=7),
    "rlf127": dict(kind="rlf", degree=127, shift=1, lanes=3, bits=9, seed=2),
    "wallace": dict(kind="wallace", pool=64, passes=2, lanes=8, bits=10, seed=7),
    "clt": dict(kind="clt", uniforms=3, lanes=4, bits=10, seed=7),
    "icdf": dict(kind="icdf", segments=4, uniform_bits=20, lanes=3, bits=10, seed=7),
}


# ---- bayesian ------------------------------------------------------------


#: Small Bayesian layers: name -> bayesian: keys (grng: a mapping).
BAYES_CASES = {
    "plain": dict(inputs=6, outputs=5, samples=3, in_bits=6, weight_bits=5, activation="relu",
                  grng=dict(kind="rlf", degree=17, shift=2, lanes=3, bits=6, seed=3)),
    "plain_draws": dict(inputs=5, outputs=4, samples=2, in_bits=5, weight_bits=6, average=False,
                        grng=dict(kind="wallace", pool=64, lanes=4, bits=8, seed=5)),
    "lrt": dict(inputs=7, outputs=4, samples=3, in_bits=6, weight_bits=5, local_reparam=True,
                activation="relu", grng=dict(kind="icdf", segments=4, lanes=3, bits=8, seed=2)),
    "lrt_draws": dict(inputs=5, outputs=3, samples=4, in_bits=6, weight_bits=5,
                      local_reparam=True, average=False,
                      grng=dict(kind="clt", uniforms=4, lanes=2, bits=8, seed=9)),
}


def bayes_case(name: str, vectors: int, seed: int):
    """(config, mu, sigma, inputs) of BAYES_CASES[name]: random codes over the full
    ranges, with the extremes (mu = -2^(w-1), sigma = 2^w - 1, x = -2^(b-1)) in the
    last vector and weights."""
    from hwgen.config.bayesian import parse_bayesian
    cfg = parse_bayesian(BAYES_CASES[name], "fixture.yaml")
    rng = np.random.default_rng(seed)
    m, n = cfg.outputs, cfg.inputs
    mu = rng.integers(-cfg.mu_max, cfg.mu_max, size=(m, n))
    sigma = rng.integers(0, cfg.sigma_max + 1, size=(m, n))
    mu[-1], sigma[-1] = -cfg.mu_max, cfg.sigma_max
    xs = rng.integers(-cfg.x_max, cfg.x_max, size=(vectors, n))
    xs[-1] = -cfg.x_max
    return cfg, mu, sigma, xs


# ---- pattern_conv --------------------------------------------------------


#: Small pattern-pruned convolutions: name -> pattern_conv: keys.
PCONV_CASES = {
    "lib8": dict(in_channels=3, out_channels=4, height=5, width=4, patterns=8, connectivity=60,
                 in_bits=5, weight_bits=4),
    "stride2": dict(in_channels=2, out_channels=3, height=5, width=6, stride=2, patterns=4,
                    connectivity=100, in_bits=6, weight_bits=5),
    "k5": dict(in_channels=2, out_channels=2, height=4, width=3, kernel=5, connectivity=50,
               in_bits=4, weight_bits=6,
               patterns=[["00000", "00100", "01110", "00100", "00000"],
                         ["10001", "00000", "00100", "00000", "10001"]]),
    "dense": dict(in_channels=2, out_channels=3, height=3, width=4,
                  patterns=[["111", "111", "111"]], connectivity=100, in_bits=6, weight_bits=6),
}


def pconv_case(name: str, images: int = 2, seed: int = 0):
    """(config, weights (F, C, k, k), images (N, C, H, W)) of PCONV_CASES[name]: each
    kernel kept with the probability the connectivity allows (never more kernels than
    the unit holds) in a random pattern with random weights over the full range, the
    extremes (-2^(w-1) weights, -2^(b-1) inputs) in filter 0 and the last image, and
    the last filter pruned away entirely."""
    from hwgen.config.pattern_conv import PatternConvConfig
    from hwgen.models.pattern_conv import masks
    cfg = PatternConvConfig(**PCONV_CASES[name])
    rng = np.random.default_rng(seed)
    F, C, k = cfg.out_channels, cfg.in_channels, cfg.kernel
    lim, xlim = 1 << (cfg.weight_bits - 1), 1 << (cfg.in_bits - 1)
    w = np.zeros((F, C, k, k), dtype=np.int64)
    pats = masks(cfg)
    w[0, 0][pats[0]] = -lim
    budget = cfg.kernel_capacity - 2      # that kernel, and one word for the empty filter
    for f in range(F - 1):
        for c in range(C):
            if (f, c) == (0, 0):
                continue
            # keep a word for every later filter (an empty one stores one too)
            if budget > (F - 2 - f) and rng.random() < cfg.connectivity / 100:
                w[f, c][pats[rng.integers(len(pats))]] = rng.integers(-lim, lim, cfg.entries)
                budget -= 1
    xs = rng.integers(-xlim, xlim, size=(images, C, cfg.height, cfg.width))
    xs[-1] = -xlim
    return cfg, w, xs


# ---- lstm (block-circulant LSTM cell) -------------------------------------


#: Small block-circulant LSTM cells: name -> lstm: keys.
LSTM_CASES = {
    "k4": dict(input_size=8, hidden_size=8, block_size=4, w_frac=5),
    "dense": dict(input_size=3, hidden_size=2, block_size=1, frac=6, w_frac=3, w_bits=6,
                  state_bits=12, in_bits=8, bias_bits=14),
    "k2": dict(input_size=2, hidden_size=6, block_size=2, frac=5, w_frac=4, w_bits=5,
               state_bits=9, in_bits=7, bias_bits=12),
    "k8sat": dict(input_size=16, hidden_size=8, block_size=8, frac=8, w_frac=2, w_bits=8,
                  state_bits=10, in_bits=10, bias_bits=20),
}


def lstm_case(name: str, seqs: int = 2, steps: int = 3, seed: int = 0):
    """(config, wx, wh, bias, inputs (N, T, D)) of LSTM_CASES[name]: random codes over
    the full ranges of weights and inputs, biases over a quarter of theirs, the
    extremes (-2^(w-1) weights, -2^(b-1) inputs) in the first block and the last
    sequence's first step."""
    from hwgen.config.lstm import LstmConfig
    return cell_case(LstmConfig(**LSTM_CASES[name]), 4, seqs, steps, seed)


def gru_case(name: str, seqs: int = 2, steps: int = 3, seed: int = 0):
    """(config, wx, wh, bias, inputs (N, T, D)) of the ``gru:`` section with the keys of
    LSTM_CASES[name], drawn as :func:`lstm_case` draws them (3H weight rows, 4H biases)."""
    from hwgen.config.gru import GruConfig
    return cell_case(GruConfig(**LSTM_CASES[name]), 3, seqs, steps, seed)


def cell_case(cfg, gates: int, seqs: int = 2, steps: int = 3, seed: int = 0):
    """Random codes for a recurrent cell's config ``cfg`` with ``gates`` H-row weight
    groups (4: LSTM, 3: GRU), as :func:`lstm_case` describes."""
    rng = np.random.default_rng(seed)
    k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
    wl, xl = 1 << (cfg.w_bits - 1), 1 << (cfg.in_bits - 1)
    wx = rng.integers(-wl, wl, size=(gates * H // k, D // k, k))
    wh = rng.integers(-wl, wl, size=(gates * H // k, H // k, k))
    wx[0, 0] = -wl
    bias = rng.integers(-(1 << (cfg.bias_bits - 3)), 1 << (cfg.bias_bits - 3), size=4 * H)
    xs = rng.integers(-xl, xl, size=(seqs, steps, D))
    xs[-1, 0] = -xl
    return cfg, wx, wh, bias, xs
