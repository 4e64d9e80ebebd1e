"""The fixed-point FFT and block-circulant golden models against the mathematics."""
import math

import numpy as np
import pytest

from hwgen.config.circulant import CirculantConfig, FftConfig
from hwgen.lib.fixed import fft_input_order, round_shift, saturate, twiddles
from hwgen.models.fft_fixed import (circulant_dense, circulant_fixed, circulant_float,
                                    error_bound, fft_fixed, fft_reference, ifft_fixed,
                                    layer_gain, mac_shift, quantize_freq_weights, sqnr_db,
                                    sqnr_vs_word_length)

KS = [4, 8, 16, 32, 64]


def cfg_for(k, scaling="per_stage", in_bits=12, tw_bits=16):
    out = in_bits + k.bit_length() if scaling == "none" else 16
    return FftConfig(k=k, in_bits=in_bits, out_bits=out, tw_bits=tw_bits,
                           scaling=scaling, real_input=False)


def safe_inputs(cfg, rng, n):
    # complex magnitude below full scale: no stage saturates
    lim = int(0.7 * (1 << (cfg.in_bits - 1)))
    return (rng.integers(-lim, lim + 1, size=(n, cfg.k)),
            rng.integers(-lim, lim + 1, size=(n, cfg.k)))


def test_primitives():
    assert list(round_shift([5, 6, 7, -5, -6, -7], 1)) == [3, 3, 4, -2, -3, -3]  # half up
    assert list(saturate([-300, 300, 5], 8)) == [-128, 127, 5]
    assert fft_input_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    tw = twiddles(8, 10)
    assert tw[0] == (256, 0) and tw[2] == (0, -256)       # +1 and -j exact
    assert tw[1] == (181, -181)                            # cos(pi/4) * 256 = 181.02


@pytest.mark.parametrize("k", KS)
def test_impulse_is_flat_and_dc_is_one_bin(k):
    cfg = cfg_for(k)
    x = np.zeros((1, k), dtype=np.int64)
    x[0, 0] = 1024                                         # 1024 * 16 / k is an integer
    r, i, _ = fft_fixed(cfg, x)
    assert (r == 1024 * 16 // k).all() and (i == 0).all()
    dc = np.full((1, k), -700)
    r, i, _ = fft_fixed(cfg, dc)
    assert r[0, 0] == -700 * 16 and (r[0, 1:] == 0).all() and (i == 0).all()


@pytest.mark.parametrize("scaling", ["per_stage", "none"])
@pytest.mark.parametrize("k", KS)
def test_agrees_with_numpy_within_the_analytic_bound(k, scaling):
    cfg = cfg_for(k, scaling)
    re, im = safe_inputs(cfg, np.random.default_rng(k), 64)
    r, i, _ = fft_fixed(cfg, re, im)
    err = np.abs(r + 1j * i - fft_reference(cfg, re, im))
    assert err.max() <= error_bound(cfg, r0=0.7 * math.sqrt(2) * (1 << 11)), err.max()


@pytest.mark.parametrize("k", KS)
def test_full_scale_real_inputs_do_not_saturate(k):
    cfg = cfg_for(k)
    lo, hi = -(1 << 11), (1 << 11) - 1
    cases = np.array([[lo] * k, [hi] * k, [lo, hi] * (k // 2), [hi, lo] * (k // 2),
                      [lo] + [hi] * (k - 1)])
    r, i, _ = fft_fixed(cfg, cases)
    err = np.abs(r + 1j * i - fft_reference(cfg, cases))
    assert err.max() <= error_bound(cfg)
    # complex full scale at the corner may saturate, but stays in range
    r, i, _ = fft_fixed(cfg, np.full((1, k), lo), np.full((1, k), lo))
    assert r.min() >= -(1 << 15) and i.max() < (1 << 15)


@pytest.mark.parametrize("k", [8, 64])
def test_linear_within_rounding(k):
    cfg = cfg_for(k)
    rng = np.random.default_rng(7)
    a, _ = safe_inputs(cfg, rng, 32)
    b, _ = safe_inputs(cfg, rng, 32)
    ra, ia, _ = fft_fixed(cfg, a // 2)
    rb, ib, _ = fft_fixed(cfg, b // 2)
    rs, is_, _ = fft_fixed(cfg, a // 2 + b // 2)
    diff = np.abs((rs - ra - rb) + 1j * (is_ - ia - ib))
    assert diff.max() <= 3 * error_bound(cfg)


@pytest.mark.parametrize("k", KS)
def test_block_float_is_at_least_as_good_as_per_stage(k):
    bf, ps = cfg_for(k, "block_float"), cfg_for(k)
    re, im = safe_inputs(bf, np.random.default_rng(3), 32)
    r, i, e = fft_fixed(bf, re, im)
    assert ((0 <= e) & (e <= bf.stages)).all()
    ref = fft_reference(bf, re, im, e)
    assert np.abs(r + 1j * i - ref).max() <= bf.stages + 1
    assert sqnr_db(bf) >= sqnr_db(ps) - 0.5
    # small inputs keep the full scale: exponent below the number of stages
    _, _, e = fft_fixed(bf, re // 64, im // 64)
    assert (e < bf.stages).all()


def test_inverse_undoes_forward():
    cfg = cfg_for(16)
    re, im = safe_inputs(cfg, np.random.default_rng(5), 16)
    X = fft_fixed(cfg, re, im)
    r, i, _ = ifft_fixed(cfg.inverse(), X[0], X[1])
    want = (re + 1j * im) * 2 ** cfg.guard_bits / cfg.k
    assert np.abs(r + 1j * i - want).max() <= 2 * error_bound(cfg.inverse())


def test_sqnr_grows_about_six_db_per_bit():
    cfg = cfg_for(32).replace(in_bits=8)
    s = sqnr_vs_word_length(cfg, [8, 12, 16], trials=64)
    assert s[8] < s[12] < s[16]
    assert 4.5 * 4 < s[12] - s[8] < 7.5 * 4


def test_rejects_bad_samples():
    cfg = cfg_for(8)
    with pytest.raises(ValueError, match="expected"):
        fft_fixed(cfg, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="12 signed bits"):
        fft_fixed(cfg, np.full((1, 8), 1 << 11))


def test_circulant_blocks_match_dense_matrix():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 8))
    x = rng.normal(size=(5, 16))
    assert np.allclose(circulant_float(w, x), x @ circulant_dense(w).T)
    C = circulant_dense(w)
    assert C[1, 0] == w[0, 0, 1] and C[0, 1] == w[0, 0, 7] and C[9, 8] == w[1, 1, 1]


@pytest.mark.parametrize("k", [4, 16, 64])
def test_fixed_layer_matches_float_layer(k):
    cfg = CirculantConfig(k=k, in_bits=8, out_bits=16, tw_bits=14, m=2 * k, n=3 * k)
    rng = np.random.default_rng(k)
    w = rng.normal(size=(2, 3, k)) / k
    wre, wim, frac = quantize_freq_weights(w, 14)
    x = rng.integers(-128, 128, size=(20, 3 * k))
    shift = mac_shift(cfg, wre, wim)
    y = circulant_fixed(cfg, x, wre, wim, shift)
    ref = circulant_float(w, x) * layer_gain(cfg, frac, shift)
    # per_stage scaling divides by k twice (FFT and IFFT): about 6 dB lost per stage
    sqnr = 10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))
    assert sqnr > 40, sqnr
    # extreme inputs do not saturate the frequency samples with that shift
    for v in (-128, 127):
        y = circulant_fixed(cfg, np.full((1, 3 * k), v), wre, wim, shift)
        ref = circulant_float(w, np.full((1, 3 * k), v)) * layer_gain(cfg, frac, shift)
        assert np.abs(y - ref).max() < 2 + 2 * error_bound(cfg)
