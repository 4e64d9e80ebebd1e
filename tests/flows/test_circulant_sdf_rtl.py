"""The block-circulant layer on streaming FFTs (`CirculantSdfLayer`): its generated
Verilog on Icarus Verilog and Verilator through cocotb, bit for bit against
`layer_fixed` with random gaps and back-pressure, its cycle formulas on the RTL, and
Verilator's -Wall lint with the block-circulant waivers."""
import json
from pathlib import Path

import numpy as np
import pytest

from hwgen.emit import component_verilog
from hwgen.models.circulant_layer import layer_fixed
from hwgen.units.circulant_sdf_layer import CirculantSdfLayer
from sim_tb.circulant import pack, unpack
from sim_tb.runner import ToolMissing, lint, run_unit

from ..fixtures import make_sdf_layer as make_layer, sdf_layer_vectors as layer_vectors

WAIVERS = "hwgen_circulant.vlt"  # rtl_templates/lint


def sdf_layer_verilog(cfg, name: str) -> str:
    return component_verilog(CirculantSdfLayer(cfg), name)


def run_sdf_layer_rtl(cfg, words, x, work_dir: Path, *, sim: str, p_valid: float = 1.0,
                      p_ready: float = 1.0, seed: int = 0) -> dict:
    """Outputs (vectors, m) of the layer's RTL for inputs ``x`` (vectors, n) and weight
    words (m/k, n/k, spectrum_words), and the cycle of every input and output transfer."""
    top = "circulant_sdf_layer"
    p, q = cfg.blocks_out, cfg.blocks_in
    x = np.asarray(x, dtype=np.int64)
    job = {
        "weights": pack(np.asarray(words).reshape(p * q, cfg.spectrum_words), cfg.w_bits),
        "samples": pack(x.reshape(-1, 1), cfg.in_bits),
        "outputs": len(x) * cfg.m,
        "quiet_cycles": 4 * cfg.k + 16,
        "p_valid": p_valid, "p_ready": p_ready, "seed": seed,
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "sdf_in.json").write_text(json.dumps(job))
    result = work_dir / "sdf_out.json"
    run_unit(sdf_layer_verilog(cfg, top), top, "sim_tb.test_circulant_sdf_layer", work_dir,
             sim=sim, extra_env={"HWGEN_CIRC_SDF_IN": str(work_dir / "sdf_in.json"),
                                 "HWGEN_CIRC_SDF_OUT": str(result)})
    got = json.loads(result.read_text())
    y = np.array([unpack(w, cfg.out_bits, 1)[0] for w in got["outputs"]], dtype=np.int64)
    return {"y": y.reshape(len(x), cfg.m), "in_cycles": got["in_cycles"],
            "out_cycles": got["out_cycles"]}


def sdf_case(sim, tmp_path, *, k, m, n, real_input=True, scaling="per_stage",
             p_valid=0.7, p_ready=0.5, seed=0):
    rng = np.random.default_rng(seed)
    out_bits = 12 if scaling == "per_stage" else 8 + k.bit_length()
    cfg, words = make_layer(rng, tighten=3, k=k, in_bits=8, out_bits=out_bits, tw_bits=10,
                            w_bits=8, m=m, n=n, real_input=real_input, scaling=scaling)
    x = layer_vectors(cfg, rng, n_random=3)
    r = run_sdf_layer_rtl(cfg, words, x, tmp_path, sim=sim, p_valid=p_valid,
                          p_ready=p_ready, seed=seed)
    want = layer_fixed(cfg, x, words)
    for v in range(len(x)):
        assert (r["y"][v] == want[v]).all(), f"{sim}: vector {v} (seed {seed})"
    return cfg, r


def test_sdf_layer_icarus(tmp_path):
    sdf_case("icarus", tmp_path, k=8, m=16, n=24, seed=21)


def test_sdf_layer_full_spectrum_no_scaling_icarus(tmp_path):
    sdf_case("icarus", tmp_path, k=4, m=12, n=8, real_input=False, scaling="none", seed=22)


def test_sdf_layer_cycles_on_icarus(tmp_path):
    """With no gaps and no back-pressure the RTL keeps the cycle formulas: the first
    vector's latency (an output block of the same vector follows, so the next vector does
    not change it) and the steady-state spacing of vectors."""
    cfg, r = sdf_case("icarus", tmp_path, k=8, m=16, n=16, p_valid=1.0, p_ready=1.0,
                      seed=24)
    dut = CirculantSdfLayer(cfg)
    dut._MustUse__silence = True
    first = r["out_cycles"][::cfg.m]
    assert first[0] - r["in_cycles"][0] == dut.latency
    assert (first[6] - first[2]) / 4 == dut.cycles_per_vector, np.diff(first).tolist()


@pytest.mark.slow
def test_sdf_layer_verilator(tmp_path):
    """Verilator's build takes 30-90 s on a loaded machine, so this is opt-in."""
    sdf_case("verilator", tmp_path, k=8, m=16, n=24, seed=23)


@pytest.mark.slow
@pytest.mark.parametrize("k,m,n,real_input", [(16, 32, 48, True), (32, 32, 64, False),
                                              (64, 64, 64, True)])
def test_sdf_layer_verilator_sizes(k, m, n, real_input, tmp_path):
    sdf_case("verilator", tmp_path, k=k, m=m, n=n, real_input=real_input, seed=k + 1)


def test_sdf_layer_lint_clean_with_waivers():
    """Verilator -Wall finds nothing beyond the block-circulant waivers, in both spectrum
    modes and both scalings."""
    from hwgen.config.circulant import CirculantConfig
    base = CirculantConfig(k=8, in_bits=8, out_bits=12, tw_bits=10, m=16, n=24, w_bits=8,
                           architecture="streaming")
    designs = {
        "half spectrum": base,
        "full spectrum, no scaling": base.replace(k=4, out_bits=11, real_input=False,
                                                  scaling="none"),
        "one block": base.replace(k=4, m=4, n=4),
        "early X-bank release": base.replace(k=4, m=8, n=24),
    }
    for what, cfg in designs.items():
        try:
            findings = lint(sdf_layer_verilog(cfg, "hwgen_circulant_layer"), WAIVERS, file_name="hwgen_circulant_layer.v")
        except ToolMissing as e:
            pytest.skip(str(e))
        assert findings == [], f"{what}: " + "\n".join(findings[:10])
