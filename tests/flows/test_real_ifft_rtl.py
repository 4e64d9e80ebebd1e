"""The real-output IFFT's generated Verilog (`RealIfftParallel`) on Icarus Verilog and
Verilator through cocotb, bit for bit against :func:`hwgen.models.real_ifft.real_ifft_fixed`
with the Amaranth-simulator tests' stimulus, its latency, and Verilator's -Wall lint with
the block-circulant waivers.

CI runs k = 8, 16 and 32 on Icarus; k = 64 on Icarus and every k on Verilator are behind
the slow marker."""

import numpy as np
import pytest

from hwgen.config.circulant import FftConfig
from hwgen.emit import component_verilog
from hwgen.models.real_ifft import real_ifft_fixed
from hwgen.units.real_ifft import RealIfftParallel
from sim_tb.circulant import run_block_unit_rtl
from sim_tb.runner import ToolMissing, lint

from ..fixtures import REAL_IFFT_CONFIGS as CONFIGS, REAL_IFFT_LAYER as LAYER, bounded_spectra, corner_spectra

WAIVERS = "hwgen_circulant.vlt"  # rtl_templates/lint


def rtl_case(k, sim, tmp_path, params=LAYER, n_random=6, merge_stages=1):
    cfg = FftConfig(k=k, **params)
    words = np.concatenate([corner_spectra(cfg, n_random, seed=500 + k),
                            bounded_spectra(cfg, n_random, 0.99, seed=600 + k)])
    dut = RealIfftParallel(cfg, merge_stages=merge_stages)
    got, delay = run_block_unit_rtl(dut, "i_spec", "o_re", words, tmp_path, sim=sim, seed=k)
    want = real_ifft_fixed(cfg, words)
    assert got.shape == want.shape, f"{sim} k={k}: {len(got)} of {len(want)} blocks came out"
    for n in range(len(words)):
        assert (got[n] == want[n]).all(), f"{sim} k={k}: block {n}"
    assert (delay == dut.latency).all(), f"{sim} k={k}: latency {sorted(set(delay))}"


@pytest.mark.parametrize("k", [8, 16, 32, pytest.param(64, marks=pytest.mark.slow)])
def test_real_ifft_icarus(k, tmp_path):
    rtl_case(k, "icarus", tmp_path)


def test_real_ifft_icarus_with_guard_bits(tmp_path):
    rtl_case(16, "icarus", tmp_path, params=CONFIGS[1], n_random=3)


def test_real_ifft_icarus_two_merge_stages(tmp_path):
    rtl_case(16, "icarus", tmp_path, n_random=3, merge_stages=2)


@pytest.mark.slow
@pytest.mark.parametrize("k", [8, 16, 32, 64])
def test_real_ifft_verilator(k, tmp_path):
    rtl_case(k, "verilator", tmp_path)


def test_lint_clean_with_waivers():
    cfg = FftConfig(k=16, **LAYER)
    try:
        findings = lint(component_verilog(RealIfftParallel(cfg), "hwgen_circulant_layer"), WAIVERS,
                        file_name="hwgen_circulant_layer.v")
    except ToolMissing as e:
        pytest.skip(str(e))
    assert findings == [], "\n".join(findings[:10])
