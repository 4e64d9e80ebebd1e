"""The real-input FFT (one k/2-point complex FFT and a split stage): the golden model
against numpy and against the k-point fixed-point FFT with its derived bounds, and
:class:`RealFftParallel` on the Amaranth simulator, bit for bit against the model."""
import math

import numpy as np
import pytest

from hwgen.config import ConfigError
from hwgen.config.circulant import FftConfig
from hwgen.emit import component_verilog
from hwgen.models import fft_fixed as ff
from hwgen.models.spectrum import pack_spectrum
from hwgen.lib.fixed import fft_input_order, split_twiddles
from hwgen.models.real_fft import (error_bound, real_fft_bins, real_fft_fixed,
                                   real_fft_float, real_fft_reference,
                                   sqnr_db)
from hwgen.units.fft import CirculantFft
from hwgen.units.real_fft import RealFftParallel

from sim_tb.amaranth_sim import run_block_unit
from ..fixtures import REAL_FFT_ADVERSARIAL_16, REAL_FFT_DIGITS, real_fft_vectors

KS = [8, 16, 32, 64]
CONFIGS = [REAL_FFT_DIGITS, {"in_bits": 10, "out_bits": 14, "tw_bits": 12},
           {"in_bits": 8, "out_bits": 8, "tw_bits": 10},    # no guard bit: core one bit wider
           {"in_bits": 6, "out_bits": 9, "tw_bits": 5}]     # coarse twiddles


def cfg_of(k, params):
    return FftConfig(k=k, **params)


# ------------------------------------------------------------------- the mathematics


def dit_quantized(z, twq):
    """Radix-2 DIT with per-stage halving in exact (float) arithmetic, with the given
    twiddles ``W^j`` (j < n/2, complex): the transform the fixed-point FFT rounds."""
    n = z.shape[-1]
    v = z[..., fft_input_order(n)]
    for s in range(n.bit_length() - 1):
        half, span = 1 << s, 2 << s
        nv = np.empty_like(v)
        for p in range(n):
            if p % span < half:
                w = twq[(p % span) * (n // span)]
                a, b = v[..., p], v[..., p + half]
                nv[..., p], nv[..., p + half] = (a + w * b) / 2, (a - w * b) / 2
        v = nv
    return v


def quantized_references(cfg, x):
    """Bins 0..k/2 of (ours, k-point FFT) evaluated exactly with the quantized twiddles,
    in output units."""
    k, N, F = cfg.k, cfg.k // 2, cfg.tw_frac
    core = cfg.real_fft_core()
    twq = np.array([complex(*w) for w in split_twiddles(k, cfg.tw_bits)]) / 2.0 ** F
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * 2.0 ** core.guard_bits
    Z = dit_quantized(z, twq[0:k // 2:2])
    f = np.arange(N + 1)
    a, cb = Z[..., f % N], np.conj(Z[..., (N - f) % N])
    ours = (0.5 * (a + cb) - 0.5j * twq * (a - cb)) / 2 ** (core.out_bits - cfg.out_bits)
    theirs = dit_quantized(x * 2.0 ** cfg.guard_bits + 0j, twq[:N])[..., :N + 1]
    return ours, theirs


def clamp(c, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(c.real, lo, hi) + 1j * np.clip(c.imag, lo, hi)


def test_float_algorithm_is_the_real_fft():
    x = np.random.default_rng(1).normal(size=(20, 32))
    assert np.allclose(real_fft_float(x), np.fft.rfft(x), atol=1e-12)
    assert np.allclose(real_fft_float(x[:, :8]), np.fft.rfft(x[:, :8]), atol=1e-12)


@pytest.mark.parametrize("params", CONFIGS)
@pytest.mark.parametrize("k", KS)
def test_model_against_numpy_within_the_bound(k, params):
    cfg = cfg_of(k, params)
    x = real_fft_vectors(cfg, k, 200)
    re, im = real_fft_bins(cfg, x)
    err = np.abs(re + 1j * im - real_fft_reference(cfg, x))
    assert err.max() <= error_bound(cfg), (err.max(), error_bound(cfg))
    # bins 0 and k/2 of a real block are real, exactly
    assert (im[:, 0] == 0).all() and (im[:, -1] == 0).all()


@pytest.mark.parametrize("params", CONFIGS)
@pytest.mark.parametrize("k", KS)
def test_model_against_the_k_point_fixed_point_fft(k, params):
    """Both fixed-point transforms round the same exact transform with the same quantized
    twiddles (checked here), so they differ by at most the sum of their rounding-only
    bounds -- far below the bounds against the float FFT, which the twiddle error
    dominates."""
    cfg = cfg_of(k, params)
    x = real_fft_vectors(cfg, 100 + k, 200)
    ours_q, theirs_q = quantized_references(cfg, x)
    assert np.allclose(ours_q, theirs_q, rtol=0, atol=1e-6)
    re, im = real_fft_bins(cfg, x)
    kr, ki, _ = ff.fft_fixed(cfg, x)
    h = k // 2 + 1
    ours, theirs = re + 1j * im, kr[:, :h] + 1j * ki[:, :h]
    b_ours, b_theirs = error_bound(cfg, quantized_twiddles=True), ff.error_bound(cfg, r0=0.0)
    assert np.abs(ours - clamp(ours_q, cfg.out_bits)).max() <= b_ours
    assert np.abs(theirs - clamp(theirs_q, cfg.out_bits)).max() <= b_theirs
    diff = np.abs(ours - theirs)
    assert diff.max() <= b_ours + b_theirs, (diff.max(), b_ours + b_theirs)
    assert b_ours + b_theirs < 12          # a few LSBs, for every config here


def test_exact_cases():
    cfg = cfg_of(16, {"in_bits": 12, "out_bits": 16, "tw_bits": 16})   # 2^g = 16 = k
    x = np.zeros((4, 16), dtype=np.int64)
    x[0, 0] = 1000                         # impulse: flat spectrum 1000 * 16 / 16
    x[1] = -700                            # DC: bin 0 only
    x[2] = [300, -300] * 8                 # alternating: bin k/2 only
    x[3, 0] = -2048                        # the most negative impulse
    re, im = real_fft_bins(cfg, x)
    assert (re[0] == 1000).all() and (im[0] == 0).all()
    assert re[1, 0] == -700 * 16 and (re[1, 1:] == 0).all() and (im[1] == 0).all()
    assert re[2, 8] == 300 * 16 and (re[2, :8] == 0).all() and (im[2] == 0).all()
    assert (re[3] == -2048).all() and (im[3] == 0).all()
    words = real_fft_fixed(cfg, x)
    assert words.shape == (4, 16)
    assert (words == pack_spectrum(cfg.replace(real_input=True), np.pad(re, ((0, 0), (0, 7))),
                                   np.pad(im, ((0, 0), (0, 7))))).all()


def test_headroom_keeps_the_packed_core_from_saturating():
    cfg = cfg_of(16, REAL_FFT_DIGITS)
    x = np.array([REAL_FFT_ADVERSARIAL_16])
    # the same core at the full scale of the k-point FFT's input word saturates
    full = FftConfig(k=8, in_bits=8, out_bits=16, tw_bits=14, real_input=False)
    r, i, _ = ff.fft_fixed(full, x[:, 0::2], x[:, 1::2])
    assert np.abs(r + 1j * i - ff.fft_reference(full, x[:, 0::2], x[:, 1::2])).max() \
        > 100 * ff.error_bound(full)
    re, im = real_fft_bins(cfg, x)
    assert np.abs(re + 1j * im - real_fft_reference(cfg, x)).max() <= error_bound(cfg)
    assert cfg.real_fft_core().guard_bits == cfg.guard_bits - 1


def test_sqnr_close_to_the_k_point_fft():
    cfg = cfg_of(32, REAL_FFT_DIGITS)
    x = np.random.default_rng(3).integers(-128, 128, size=(256, 32))
    kr, ki, _ = ff.fft_fixed(cfg, x)
    ref = real_fft_reference(cfg, x)
    h = 17
    noise = np.sum(np.abs(kr[:, :h] + 1j * ki[:, :h] - ref) ** 2)
    k_sqnr = 10 * math.log10(np.sum(np.abs(ref) ** 2) / noise)
    assert abs(sqnr_db(cfg, x) - k_sqnr) < 3.0, (sqnr_db(cfg, x), k_sqnr)


def test_model_input_messages():
    cfg = cfg_of(8, REAL_FFT_DIGITS)
    with pytest.raises(ValueError, match=r"^expected \(\.\.\., 8\) samples, got shape \(2, 7\)$"):
        real_fft_fixed(cfg, np.zeros((2, 7), dtype=np.int64))
    with pytest.raises(ValueError, match=r"^samples must fit in_bits=8 signed bits, "
                                         r"got -129\.\.0$"):
        real_fft_fixed(cfg, np.array([[-129] + [0] * 7]))


def test_config_messages():
    with pytest.raises(ValueError, match=r"^k=4: the real-input FFT needs a power of two "
                                         r"from 8 to 64 .*; use CirculantFft for k=4$"):
        RealFftParallel(FftConfig(k=4))
    with pytest.raises(ConfigError, match=r"^fft\.k: must be a power of two, got 12$"):
        FftConfig(k=12)  # no transform of 12 points exists to pass on
    with pytest.raises(ValueError, match=r"^the real-input FFT supports per_stage scaling "
                                         r"only, not 'block_float'$"):
        RealFftParallel(FftConfig(k=8, scaling="block_float"))
    with pytest.raises(ConfigError, match=r"^fft\.out_bits: must be at least in_bits=12 "):
        FftConfig(k=8, in_bits=12, out_bits=8)
    with pytest.raises(ValueError, match=r"^in_bits=32: the k/2-point core needs in_bits \+ 1 <= 32 bits$"):
        RealFftParallel(FftConfig(k=8, in_bits=32, out_bits=32))
    with pytest.raises(TypeError, match=r"^cfg must be an FftConfig"):
        RealFftParallel({"k": 8})
    with pytest.raises(ValueError, match=r"^split_stages must be 1 or 2, not 3$"):
        RealFftParallel(FftConfig(k=8), split_stages=3)


# ------------------------------------------------------------------- the hardware


@pytest.mark.parametrize("k,params,n_random", [
    (8, REAL_FFT_DIGITS, 8), (16, REAL_FFT_DIGITS, 4), (32, REAL_FFT_DIGITS, 2), (64, REAL_FFT_DIGITS, 1),
    (16, CONFIGS[2], 3), (8, CONFIGS[3], 4), (32, CONFIGS[1], 1)])
def test_unit_bit_exact(k, params, n_random):
    cfg = cfg_of(k, params)
    x = real_fft_vectors(cfg, 200 + k, n_random)
    if k == 16 and params is REAL_FFT_DIGITS:
        x = np.concatenate([x, [REAL_FFT_ADVERSARIAL_16]])
    dut = RealFftParallel(cfg)
    got, delay = run_block_unit(dut, "i_re", "o_spec", x, seed=k)
    want = real_fft_fixed(cfg, x)
    assert got.shape == want.shape
    for v in range(len(x)):
        assert (got[v] == want[v]).all(), f"k={k} {params} vector {v}"
    assert (delay == dut.latency).all()


@pytest.mark.parametrize("k", [8, 32])
def test_two_split_stages_bit_exact(k):
    cfg = cfg_of(k, REAL_FFT_DIGITS)
    dut = RealFftParallel(cfg, split_stages=2)
    assert dut.latency == cfg.stages + 1
    x = real_fft_vectors(cfg, 400 + k, 2)
    got, delay = run_block_unit(dut, "i_re", "o_spec", x, seed=k + 1)
    assert (got == real_fft_fixed(cfg, x)).all()
    assert (delay == dut.latency).all()


def test_latency_ports_and_determinism():
    cfg = cfg_of(16, REAL_FFT_DIGITS)
    dut = RealFftParallel(cfg)
    full = CirculantFft(cfg.replace(real_input=True))
    full._MustUse__silence = True      # built only to read its latency
    assert dut.latency == full.latency == 4
    members = dut.signature.members
    assert set(members) == {"i_valid", "i_re", "o_valid", "o_spec"}
    assert members["o_spec"].shape.length == 16 and members["o_spec"].shape.elem_shape.width == 16
    assert component_verilog(dut, "rfft") == component_verilog(RealFftParallel(cfg), "rfft")
