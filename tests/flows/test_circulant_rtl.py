"""The block-circulant units' generated Verilog on Icarus Verilog and Verilator through
cocotb, bit for bit against the golden models (the same stimulus as the Amaranth-simulator
tests), and Verilator's -Wall lint.

CI runs every FFT size on Icarus and a subset on Verilator; the other Verilator builds
(10-60 s each on a loaded machine) are behind the slow marker."""
import json
import time

import numpy as np
import pytest

from hwgen.config.circulant import CirculantConfig, FftConfig
from hwgen.emit import component_verilog
from hwgen.models.circulant_layer import layer_fixed
from hwgen.lib.fixed import fft_input_order
from hwgen.models.fft_fixed import fft_fixed, ifft_fixed
from hwgen.units.circulant_layer import CirculantStreamLayer
from hwgen.units.fft import CirculantFft, CirculantFftSdf
from sim_tb.circulant import layer_verilog, pack, run_layer_rtl, unpack
from sim_tb.runner import ToolMissing, lint, run_unit

from ..fixtures import fft_vectors as vectors
from ..fixtures import circulant_layer_vectors as layer_vectors, make_circulant_layer as make_layer

TOP = "circulant_fft"
WAIVERS = "hwgen_circulant.vlt"  # rtl_templates/lint


def fft_case(k, sim, tmp_path, inverse=False):
    start = time.perf_counter()
    cfg = FftConfig(k=k, in_bits=10, out_bits=14, tw_bits=12, real_input=False)
    re, im = vectors(cfg, 70 + k, n_random=20)
    (tmp_path / "vectors.json").write_text(json.dumps(
        {"re": pack(re, cfg.in_bits), "im": pack(im, cfg.in_bits)}))
    result = tmp_path / "result.json"
    run_unit(component_verilog(CirculantFft(cfg, inverse=inverse), TOP), TOP,
             "sim_tb.test_circulant_fft", tmp_path, sim=sim,
             extra_env={"HWGEN_CIRC_VECTORS": str(tmp_path / "vectors.json"),
                        "HWGEN_CIRC_RESULT": str(result)})
    assert result.is_file(), f"{sim}: no result; see {tmp_path}"
    got = json.loads(result.read_text())
    wr, wi, _ = (ifft_fixed if inverse else fft_fixed)(cfg, re, im)
    assert len(got) == len(re), f"{sim}: {len(got)} of {len(re)} transforms came out"
    for n, (r, i) in enumerate(got):
        assert unpack(r, cfg.out_bits, cfg.k) == list(wr[n]), f"{sim} k={k}: transform {n} (re)"
        assert unpack(i, cfg.out_bits, cfg.k) == list(wi[n]), f"{sim} k={k}: transform {n} (im)"
    print(f"{sim} k={k}: {time.perf_counter() - start:.1f} s")


@pytest.mark.parametrize("k", [4, 8, 16, 32, 64])
def test_fft_icarus_all_sizes(k, tmp_path):
    fft_case(k, "icarus", tmp_path)


def test_ifft_icarus(tmp_path):
    fft_case(16, "icarus", tmp_path, inverse=True)


@pytest.mark.parametrize("k", [
    8, pytest.param(4, marks=pytest.mark.slow), pytest.param(16, marks=pytest.mark.slow),
    pytest.param(32, marks=pytest.mark.slow), pytest.param(64, marks=pytest.mark.slow)])
def test_fft_verilator(k, tmp_path):
    fft_case(k, "verilator", tmp_path)


def sdf_case(k, sim, tmp_path, scaling="per_stage", inverse=False):
    cfg = FftConfig(k=k, in_bits=10, out_bits=14 if scaling == "per_stage" else 17,
                          tw_bits=12, scaling=scaling, architecture="streaming",
                          real_input=False)
    re, im = vectors(cfg, 90 + k, n_random=3)
    rev = fft_input_order(k)
    order = [(f, rev[p]) for f in range(len(re)) for p in range(k)]
    pad = [0] * (2 * k)          # two frames of padding push the last results out
    rng = np.random.default_rng(k)
    (tmp_path / "vectors.json").write_text(json.dumps({
        "re": pack([[re[f, t]] for f, t in order] + [[0]] * len(pad), cfg.in_bits),
        "im": pack([[im[f, t]] for f, t in order] + [[0]] * len(pad), cfg.in_bits),
        "gaps": [int(g) for g in rng.random(97) < 0.2]}))
    result = tmp_path / "result.json"
    run_unit(component_verilog(CirculantFftSdf(cfg, inverse=inverse), "circulant_sdf"),
             "circulant_sdf", "sim_tb.test_circulant_sdf", tmp_path, sim=sim,
             extra_env={"HWGEN_CIRC_VECTORS": str(tmp_path / "vectors.json"),
                        "HWGEN_CIRC_RESULT": str(result)})
    got = json.loads(result.read_text())
    assert len(got) >= len(re) * k, f"{sim}: {len(got)} of {len(re) * k} results came out"
    wr, wi, _ = (ifft_fixed if inverse else fft_fixed)(cfg, re, im)
    g = np.array([[unpack(r, cfg.out_bits, 1)[0], unpack(i, cfg.out_bits, 1)[0]]
                  for r, i in got[:len(re) * k]]).reshape(len(re), k, 2)
    assert (g[..., 0] == wr).all() and (g[..., 1] == wi).all(), f"{sim} streaming k={k}"


@pytest.mark.parametrize("k,scaling,inverse", [(4, "per_stage", False), (16, "none", True),
                                               (64, "per_stage", False)])
def test_streaming_fft_icarus(k, scaling, inverse, tmp_path):
    sdf_case(k, "icarus", tmp_path, scaling, inverse)


@pytest.mark.slow
def test_streaming_fft_verilator(tmp_path):
    sdf_case(32, "verilator", tmp_path)


def layer_case(sim, tmp_path, *, k, m, n, real_input=True, scaling="per_stage",
               real_fft=False, real_fft_stages=1, p_valid=0.7, p_ready=0.5, seed=0):
    rng = np.random.default_rng(seed)
    out_bits = 12 if scaling == "per_stage" else 8 + k.bit_length()
    cfg, _, words, _ = make_layer(rng, tighten=3, k=k, in_bits=8, out_bits=out_bits,
                                  tw_bits=10, w_bits=8, m=m, n=n, real_input=real_input,
                                  scaling=scaling, real_fft=real_fft,
                                  real_fft_stages=real_fft_stages)
    x = layer_vectors(cfg, rng, n_random=6)
    r = run_layer_rtl(cfg, words, x, tmp_path, sim=sim, p_valid=p_valid, p_ready=p_ready,
                      seed=seed)
    want = layer_fixed(cfg, x, words)
    for v in range(len(x)):
        assert (r["y"][v] == want[v]).all(), f"{sim}: vector {v} (seed {seed})"
    return cfg, r


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_layer_bit_exact_with_back_pressure(sim, tmp_path):
    layer_case(sim, tmp_path, k=8, m=16, n=24, seed=11)


def test_layer_full_spectrum_no_scaling_icarus(tmp_path):
    layer_case("icarus", tmp_path, k=4, m=8, n=12, real_input=False, scaling="none", seed=12)


def test_layer_real_fft_icarus(tmp_path):
    """The k/2-point real transforms in the layer: bit-exact with their model."""
    layer_case("icarus", tmp_path, k=16, m=32, n=48, real_fft=True, seed=14)


# (the two-stage case with n = 24: there p q = 6 cycles per vector, not the bank limit,
# which alternates and would need an even number of vectors to average)
@pytest.mark.parametrize("real_fft,stages,n", [(False, 1, 16), (True, 1, 16), (True, 2, 24)])
def test_layer_cycles_on_icarus(tmp_path, real_fft, stages, n):
    """With no gaps and no back-pressure the RTL keeps the cycle formulas."""
    cfg, r = layer_case("icarus", tmp_path, k=8, m=16, n=n, p_valid=1.0, p_ready=1.0,
                        real_fft=real_fft, real_fft_stages=stages, seed=13)
    dut = CirculantStreamLayer(cfg)
    dut._MustUse__silence = True
    first_out = r["out_cycles"][::cfg.blocks_out]
    assert first_out[0] - r["in_cycles"][0] == dut.latency
    span = (first_out[-1] - first_out[1]) / (len(first_out) - 2)
    assert span == dut.cycles_per_vector


@pytest.mark.slow
@pytest.mark.parametrize("k,m,n,real_input,real_fft,stages", [
    (16, 32, 32, True, False, 1), (32, 32, 64, False, False, 1),
    (64, 64, 64, True, False, 1), (8, 16, 24, True, True, 1), (64, 64, 64, True, True, 1),
    (16, 32, 32, True, True, 2)])
def test_layer_verilator_sizes(k, m, n, real_input, real_fft, stages, tmp_path):
    layer_case("verilator", tmp_path, k=k, m=m, n=n, real_input=real_input,
               real_fft=real_fft, real_fft_stages=stages, seed=k)


def test_lint_clean_with_waivers():
    """Verilator -Wall finds nothing beyond the documented waivers in the layer (both
    spectrum modes), the inverse FFT and the streaming FFT."""
    layer = CirculantConfig(k=8, in_bits=8, out_bits=12, tw_bits=10, m=16, n=16, w_bits=8)
    designs = {
        "layer, half spectrum": layer_verilog(layer, "hwgen_circulant_layer"),
        "layer, full spectrum": layer_verilog(layer.replace(k=4, real_input=False),
                                              "hwgen_circulant_layer"),
    }
    designs["layer, k/2-point real transforms"] = layer_verilog(layer.replace(real_fft=True),
                                                               "hwgen_circulant_layer")
    designs["ifft"] = component_verilog(
        CirculantFft(layer.replace(real_input=False), inverse=True), "hwgen_circulant_layer")
    designs["sdf fft"] = component_verilog(
        CirculantFftSdf(layer.replace(architecture="streaming")), "hwgen_circulant_layer")
    for what, text in designs.items():
        try:
            findings = lint(text, WAIVERS, file_name="hwgen_circulant_layer.v")
        except ToolMissing as e:
            pytest.skip(str(e))
        assert findings == [], f"{what}: " + "\n".join(findings[:10])
