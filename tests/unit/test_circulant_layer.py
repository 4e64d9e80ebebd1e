"""The block-circulant stream layer: its golden model against the mathematics, and the
Amaranth unit against the model bit for bit, with random gaps and back-pressure, and
against its cycle formulas."""
import numpy as np
import pytest

from hwgen.config import ConfigError
from hwgen.config.circulant import CirculantConfig
from hwgen.models.circulant_layer import (check_weights, complete_spectrum,
                                          layer_fixed, layer_gain, op_counts, pack_spectrum,
                                          quantize_layer_weights, unpack_spectrum)
from hwgen.models.fft_fixed import circulant_float, fft_fixed
from hwgen.units.circulant_layer import CirculantStreamLayer, circulant_top

from sim_tb.amaranth_sim import run_stream_layer
from ..fixtures import circulant_layer_vectors, make_circulant_layer


def run_layer(cfg, words, x, p_valid=1.0, p_ready=1.0, seed=0):
    """Load the weights, stream the vectors through, return (outputs, input transfer
    cycles, output transfer cycles)."""
    p, q = cfg.blocks_out, cfg.blocks_in
    blocks = x.reshape(-1, cfg.k)
    y, t_in, t_out = run_stream_layer(
        CirculantStreamLayer(cfg), words.reshape(p * q, cfg.spectrum_words), blocks,
        len(x) * p, p_valid=p_valid, p_ready=p_ready, seed=seed,
        max_cycles=50 * len(blocks) * p + 200)
    return y.reshape(len(x), p * cfg.k), t_in, t_out


# ------------------------------------------------------------------ the model


def test_spectrum_words_round_trip_and_symmetry():
    cfg = CirculantConfig(k=8, out_bits=12, real_input=True, m=8, n=8)
    rng = np.random.default_rng(0)
    x = rng.integers(-2048, 2048, size=(5, 8))
    Xr, Xi, _ = fft_fixed(cfg.replace(in_bits=12), x)
    assert (Xi[:, 0] == 0).all() and (Xi[:, 4] == 0).all()   # bins 0, k/2 of a real vector
    words = pack_spectrum(cfg, Xr, Xi)
    assert words.shape == (5, cfg.spectrum_words) == (5, 8)
    r, i = unpack_spectrum(cfg, words)
    assert (r == Xr[:, :5]).all() and (i == Xi[:, :5]).all()
    fr, fi = complete_spectrum(cfg, r, i)
    # the mirror bins are the conjugates (up to one LSB of asymmetric rounding)
    assert np.abs(fr - Xr).max() <= 1 and np.abs(fi - Xi).max() <= 1
    assert (fi[:, 5:] == -fi[:, 3:0:-1]).all()
    full = cfg.replace(real_input=False)
    r, i = unpack_spectrum(full, pack_spectrum(full, Xr, Xi))
    assert (r == Xr).all() and (i == Xi).all()
    # saturating negation of the most negative value
    _, mi = complete_spectrum(cfg, np.zeros((1, 5), dtype=np.int64),
                              np.array([[0, -2048, 0, 0, 0]]))
    assert mi[0, 7] == 2047


@pytest.mark.parametrize("real_input", [True, False])
@pytest.mark.parametrize("scaling", ["per_stage", "none"])
def test_model_follows_the_float_layer(real_input, scaling):
    rng = np.random.default_rng(3)
    cfg, w, words, frac = make_circulant_layer(rng, k=16, in_bits=8, out_bits=18, tw_bits=16,
                                     w_bits=14, m=32, n=48, real_input=real_input,
                                     scaling=scaling)
    x = rng.integers(-128, 128, size=(40, cfg.n))
    y = layer_fixed(cfg, x, words)
    ref = circulant_float(w, x) * layer_gain(cfg, frac)
    # quantization noise well below the signal: within 1% of the output peak
    assert np.abs(y - ref).max() < 0.01 * np.abs(ref).max()
    # and the two spectrum modes agree to a few LSBs
    other = cfg.replace(real_input=not real_input)
    w2, _ = quantize_layer_weights(other, w, frac)
    assert np.abs(layer_fixed(other, x, w2) - y).max() <= 4


@pytest.mark.parametrize("k", [8, 16, 64])
def test_real_fft_model_follows_the_float_layer(k):
    """The k/2-point transforms: as close to the float layer as the k-point ones, and a
    few LSBs from them (the same weights: both keep the half spectrum)."""
    rng = np.random.default_rng(5 + k)
    cfg, w, words, frac = make_circulant_layer(rng, k=k, in_bits=8, out_bits=18, tw_bits=16,
                                     w_bits=14, m=2 * k, n=2 * k, real_fft=True)
    x = rng.integers(-128, 128, size=(40, cfg.n))
    y = layer_fixed(cfg, x, words)
    ref = circulant_float(w, x) * layer_gain(cfg, frac)
    y_k = layer_fixed(cfg.replace(real_fft=False), x, words)
    assert np.abs(y - ref).max() < 0.01 * np.abs(ref).max()
    assert np.abs(y - y_k).max() <= 8
    rms = [float(np.sqrt(np.mean((v - ref) ** 2))) for v in (y, y_k)]
    assert rms[0] <= 1.1 * rms[1] + 0.5, rms


def test_weight_checks_name_the_tensor():
    cfg = CirculantConfig(k=4, m=8, n=12, w_bits=8)
    with pytest.raises(ValueError, match=r"^weights: shape \(2, 3, 5\) does not match the "
                                         r"layer \(m/k, n/k, spectrum words\) = \(2, 3, 4\)$"):
        check_weights(cfg, np.zeros((2, 3, 5), dtype=int))
    with pytest.raises(ValueError, match=r"^weights: values must fit w_bits=8 signed bits, "
                                         r"got -129..-129$"):
        check_weights(cfg, np.full((2, 3, 4), -129))
    with pytest.raises(ValueError, match=r"^weight: shape \(3, 2, 4\) does not match"):
        quantize_layer_weights(cfg, np.zeros((3, 2, 4)))


def test_op_counts():
    c = op_counts(CirculantConfig(k=8, m=16, n=32, real_input=True))
    # 2 x 4 blocks, 8 bins: 4 butterflies x 3 stages per FFT, 6 FFTs
    assert c["fft_real_mults"] == 6 * 4 * 3 * 4
    assert c["mac_real_mults"] == 8 * (2 + 4 * 3)
    assert c["weights_stored"] == 8 * 8 and c["dense_weights"] == 512
    assert op_counts(CirculantConfig(k=8, m=16, n=32, real_input=False))["mac_real_mults"] \
        == 8 * 32
    # k/2-point transforms: 2 butterflies x 2 core stages + 2 split pairs, 4 products each
    r = op_counts(CirculantConfig(k=8, m=16, n=32, real_input=True, real_fft=True))
    assert r["fft_real_mults"] == 6 * (2 * 2 + 2) * 4 == c["fft_real_mults"] // 2


# ------------------------------------------------------------------ the hardware


# real_fft: False, True (one split and merge stage) or 2 (two stages)
@pytest.mark.parametrize("k,m,n,real_input,scaling,real_fft", [
    (4, 8, 12, True, "per_stage", False), (4, 8, 12, False, "per_stage", False),
    (8, 16, 8, True, "none", False), (16, 16, 32, False, "none", False),
    (32, 32, 32, True, "per_stage", False), (8, 16, 24, True, "per_stage", True),
    (32, 32, 32, True, "per_stage", True), (16, 16, 32, True, "per_stage", 2)])
def test_layer_bit_exact_with_back_pressure(k, m, n, real_input, scaling, real_fft):
    rng = np.random.default_rng(k + m + n)
    out_bits = 12 if scaling == "per_stage" else 8 + k.bit_length()
    cfg, _, words, _ = make_circulant_layer(rng, tighten=3, k=k, in_bits=8, out_bits=out_bits,
                                  tw_bits=10, w_bits=8, m=m, n=n, real_input=real_input,
                                  scaling=scaling, real_fft=bool(real_fft),
                                  real_fft_stages=2 if real_fft == 2 else 1)
    x = circulant_layer_vectors(cfg, rng, n_random=3 if k >= 32 else 6)
    stats = {}
    want = layer_fixed(cfg, x, words, stats)
    # the tight shift makes the full-scale vectors saturate some frequency samples
    assert stats["saturated"] > 0
    seed = 100 + k
    got, _, _ = run_layer(cfg, words, x, p_valid=0.7, p_ready=0.5, seed=seed)
    assert (got == want).all(), \
        f"k={k} m={m} n={n} real_input={real_input} real_fft={real_fft} (seed {seed})"


@pytest.mark.parametrize("k,m,n,real_fft,stages", [
    (4, 4, 4, False, 1), (8, 8, 16, False, 1), (8, 24, 8, False, 1), (4, 8, 16, False, 1),
    (16, 32, 32, False, 1), (8, 8, 16, True, 1), (8, 8, 16, True, 2), (8, 8, 8, True, 2)])
def test_latency_and_throughput_formulas(k, m, n, real_fft, stages):
    rng = np.random.default_rng(9)
    cfg, _, words, _ = make_circulant_layer(rng, k=k, in_bits=8, out_bits=12, tw_bits=10, w_bits=8,
                                  m=m, n=n, real_fft=real_fft, real_fft_stages=stages)
    x = rng.integers(-128, 128, size=(10, n))
    got, t_in, t_out = run_layer(cfg, words, x)
    assert (got == layer_fixed(cfg, x, words)).all()
    dut = CirculantStreamLayer(cfg)
    dut._MustUse__silence = True
    p = cfg.blocks_out
    first_out = t_out[::p]
    assert first_out[0] - t_in[0] == dut.latency
    # the formulas: q + 2 S + 6 (S = log2 k, one more per transform with two real_fft
    # stages) and max(p q, (p q + S + 1) / 2)
    S = cfg.stages + (stages - 1)
    q, pq = cfg.blocks_in, cfg.blocks_in * cfg.blocks_out
    assert dut.latency == q + 2 * S + 6
    assert dut.cycles_per_vector == max(pq, (pq + S + 1) / 2)
    # steady state over an even number of vectors (the bank limit alternates)
    span = (first_out[-1] - first_out[1]) / (len(first_out) - 2)
    assert span == dut.cycles_per_vector, (span, dut.cycles_per_vector)


def test_constructor_messages_and_top():
    with pytest.raises(ConfigError, match=r"^circulant\.scaling: block_float gives every input block its own exponent"):
        CirculantConfig(scaling="block_float")  # the config refuses what no layer builds
    with pytest.raises(ValueError, match=r"^architecture 'streaming': the layer is built "
                                         r"from parallel FFTs$"):
        CirculantStreamLayer(CirculantConfig(architecture="streaming"))
    with pytest.raises(TypeError, match="must be a CirculantConfig"):
        CirculantStreamLayer(None)
    with pytest.raises(ConfigError, match=r"^circulant\.real_fft: the k/2-point real "
                                          r"transforms need real_input: true; "):
        CirculantConfig(k=8, m=8, n=8, real_input=False, real_fft=True)
    with pytest.raises(ConfigError, match=r"^circulant\.real_fft: .* need k >= 8"):
        CirculantConfig(k=4, m=8, n=8, real_fft=True)
    top = circulant_top(CirculantConfig(k=4, m=4, n=8))
    top._MustUse__silence = True
    assert isinstance(top, CirculantStreamLayer)
    assert set(top.signature.members) == {"x", "y", "w_we", "w_addr", "w_data"}
