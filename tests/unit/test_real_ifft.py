"""The real-output IFFT (a merge stage and one k/2-point complex IFFT): the golden model
against numpy and against the layer's k-point inverse path with the derived bounds, and
:class:`RealIfftParallel` on the Amaranth simulator, bit for bit against the model."""
import numpy as np
import pytest

from hwgen.config import ConfigError
from hwgen.config.circulant import FftConfig
from hwgen.emit import component_verilog
from hwgen.models import circulant_layer as cl
from hwgen.models import fft_fixed as ff
from hwgen.models.real_ifft import (error_bound, merge_fixed, real_ifft_fixed,
                                    real_ifft_reference)
from hwgen.units.fft import CirculantFft
from hwgen.units.real_ifft import RealIfftParallel
from sim_tb.amaranth_sim import run_block_unit
from ..fixtures import (REAL_IFFT_CONFIGS, REAL_IFFT_LAYER, bounded_spectra, corner_spectra,
                        half_words)

KS = [8, 16, 32, 64]


def cfg_of(k, params):
    return FftConfig(k=k, **params)


def k_point_path(cfg, words):
    """What the layer computes today: complete the spectrum, k-point inverse FFT, real
    part."""
    lcfg = cfg.replace(real_input=True)
    re, im = cl.unpack_spectrum(lcfg, words)
    re, im = cl.complete_spectrum(lcfg.replace(out_bits=cfg.in_bits), re, im)
    y, _, _ = ff.ifft_fixed(cfg.replace(real_input=False), re, im)
    return y


# ------------------------------------------------------------------- the mathematics


def test_float_algorithm_is_the_inverse_real_fft():
    """The merge identity in floating point: one N-point IFFT of Z' gives y."""
    rng = np.random.default_rng(0)
    for k in KS:
        N = k // 2
        y = rng.normal(size=(5, k))
        Y = np.fft.rfft(y, axis=-1)
        f = np.arange(N)
        a, cb = Y[..., f], np.conj(Y[..., N - f])
        Zm = 0.5 * (a + cb) + 0.5j * np.exp(2j * np.pi * f / k) * (a - cb)
        z = np.fft.ifft(Zm, axis=-1)
        assert np.allclose(z.real, y[..., 0::2]) and np.allclose(z.imag, y[..., 1::2])


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("params", REAL_IFFT_CONFIGS)
def test_model_against_numpy_within_the_bound(k, params):
    cfg = cfg_of(k, params)
    frac = 0.99
    words = bounded_spectra(cfg, 300, frac, seed=k)
    err = np.abs(real_ifft_fixed(cfg, words) - real_ifft_reference(cfg, words)).max()
    assert err <= error_bound(cfg, frac * (1 << (cfg.in_bits - 1)))


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("params", REAL_IFFT_CONFIGS)
def test_model_against_the_k_point_inverse(k, params):
    """Within the two bounds of each other, and as close to the float result as the
    k-point path on average (a fraction of an LSB apart in RMS error)."""
    cfg = cfg_of(k, params)
    r0 = 0.7 * (1 << (cfg.in_bits - 1))
    words = bounded_spectra(cfg, 300, 0.7, seed=100 + k)
    ours, theirs = real_ifft_fixed(cfg, words), k_point_path(cfg, words)
    ref = real_ifft_reference(cfg, words)
    k_bound = ff.error_bound(cfg.replace(real_input=False), r0=r0)
    assert np.abs(ours - theirs).max() <= error_bound(cfg, r0) + k_bound
    rms = [float(np.sqrt(np.mean((v - ref) ** 2))) for v in (ours, theirs)]
    assert rms[0] <= rms[1] + 0.5, rms


def test_exact_cases():
    """DC and Nyquist bins come out exact; merge of bin 0 is the half sum and half
    difference of bins 0 and k/2."""
    cfg = cfg_of(16, REAL_IFFT_LAYER)
    w = np.zeros((2, 16), dtype=np.int64)
    w[0, 0] = 1600          # DC: y = 1600 / 16 = 100 everywhere
    w[1, 8] = -3200         # Nyquist: y[t] = -200 * (-1)^t
    y = real_ifft_fixed(cfg, w)
    assert (y[0] == 100).all()
    assert (y[1] == -200 * (-1) ** np.arange(16)).all()
    zr, zi = merge_fixed(cfg, w)
    assert (zr[0, 0], zi[0, 0], zr[1, 0], zi[1, 0]) == (800, 800, -1600, 1600)


def test_headroom_keeps_the_merge_from_saturating():
    """Two bins just below full magnitude, phased so that the merge adds them up: the
    merged value exceeds the k-point IFFT's input range (by 35 %) and the core's extra
    bit holds it, so the result still meets the bound."""
    cfg = cfg_of(32, REAL_IFFT_LAYER)
    k, N, f = 32, 16, 3
    M = 0.999 * (1 << 15)
    u = 1 + 1j * np.exp(2j * np.pi * f / k)     # Z' = (u a + v conj b) / 2
    v = 1 - 1j * np.exp(2j * np.pi * f / k)
    a, cb = M * np.conj(u) / abs(u), M * np.conj(v) / abs(v)
    re = np.zeros((1, N + 1), dtype=np.int64)
    im = np.zeros((1, N + 1), dtype=np.int64)
    re[0, f], im[0, f] = np.trunc(a.real), np.trunc(a.imag)
    re[0, N - f], im[0, N - f] = np.trunc(cb.real), -np.trunc(cb.imag)
    words = half_words(cfg, re, im)
    zr, zi = merge_fixed(cfg, words)
    assert 1.3 * (1 << 15) < zr[0, f] < 1 << 16
    err = np.abs(real_ifft_fixed(cfg, words) - real_ifft_reference(cfg, words)).max()
    assert err <= error_bound(cfg, M)


def test_model_input_messages():
    cfg = cfg_of(8, REAL_IFFT_LAYER)
    with pytest.raises(ValueError, match=r"^expected \(\.\.\., 8\) spectrum words"):
        real_ifft_fixed(cfg, np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=r"^spectrum words must fit in_bits=16"):
        real_ifft_fixed(cfg, np.full((1, 8), 1 << 15))


def test_config_messages():
    with pytest.raises(ValueError, match=r"^k=4: the real-output IFFT needs a power of two"):
        FftConfig(k=4, in_bits=16, out_bits=16).real_ifft_core()
    with pytest.raises(ValueError, match=r"per_stage scaling only, not 'none'"):
        FftConfig(k=8, in_bits=8, out_bits=12, scaling="none").real_ifft_core()
    with pytest.raises(ConfigError, match=r"^fft\.out_bits: must be at least in_bits=16"):
        FftConfig(k=8, in_bits=16, out_bits=12)
    with pytest.raises(ValueError, match=r"^out_bits=32: the k/2-point core needs out_bits \+ 1 <= 32 bits$"):
        RealIfftParallel(FftConfig(k=8, in_bits=32, out_bits=32))
    with pytest.raises(TypeError, match=r"^cfg must be an FftConfig"):
        RealIfftParallel({"k": 8})
    with pytest.raises(ValueError, match=r"^merge_stages must be 1 or 2, not 0$"):
        RealIfftParallel(FftConfig(k=8, in_bits=16, out_bits=16), merge_stages=0)


# ------------------------------------------------------------------- the hardware


@pytest.mark.parametrize("k,params,n_random,merge_stages", [
    (8, REAL_IFFT_LAYER, 8, 1), (16, REAL_IFFT_LAYER, 4, 1), (32, REAL_IFFT_LAYER, 2, 1), (64, REAL_IFFT_LAYER, 1, 1),
    (16, REAL_IFFT_CONFIGS[1], 3, 1), (8, REAL_IFFT_CONFIGS[2], 4, 1), (8, REAL_IFFT_LAYER, 4, 2), (32, REAL_IFFT_CONFIGS[1], 1, 2)])
def test_unit_bit_exact(k, params, n_random, merge_stages):
    cfg = cfg_of(k, params)
    words = np.concatenate([corner_spectra(cfg, n_random, seed=300 + k),
                            bounded_spectra(cfg, n_random, 0.99, seed=400 + k)])
    dut = RealIfftParallel(cfg, merge_stages=merge_stages)
    got, delay = run_block_unit(dut, "i_spec", "o_re", words, seed=k)
    want = real_ifft_fixed(cfg, words)
    assert got.shape == want.shape
    for v in range(len(words)):
        assert (got[v] == want[v]).all(), f"k={k} {params} spectrum {v}"
    assert (delay == dut.latency).all()


def test_latency_ports_and_determinism():
    cfg = cfg_of(16, REAL_IFFT_LAYER)
    dut = RealIfftParallel(cfg)
    full = CirculantFft(cfg, inverse=True)
    full._MustUse__silence = True      # built only to read its latency
    assert dut.latency == full.latency == 4
    two = RealIfftParallel(cfg, merge_stages=2)
    two._MustUse__silence = True       # built only to read its latency
    assert two.latency == 5
    members = dut.signature.members
    assert set(members) == {"i_valid", "i_spec", "o_valid", "o_re"}
    assert members["o_re"].shape.length == 16 and members["o_re"].shape.elem_shape.width == 16
    assert component_verilog(dut, "rifft") == component_verilog(RealIfftParallel(cfg), "rifft")
