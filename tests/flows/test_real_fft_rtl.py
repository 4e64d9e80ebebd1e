"""The real-input FFT's generated Verilog (`RealFftParallel`) on Icarus Verilog and
Verilator through cocotb, bit for bit against :func:`hwgen.models.real_fft.real_fft_fixed`
with the Amaranth-simulator tests' stimulus, its latency, and Verilator's -Wall lint with
the block-circulant waivers.

CI runs k = 8, 16 and 32 on Icarus (a few seconds each); k = 64 on Icarus and every k on
Verilator (each build 45-170 s on a loaded machine) are behind the slow marker."""

import numpy as np
import pytest

from hwgen.config.circulant import FftConfig
from hwgen.emit import component_verilog
from hwgen.models.real_fft import real_fft_fixed
from hwgen.units.real_fft import RealFftParallel
from sim_tb.circulant import run_block_unit_rtl
from sim_tb.runner import ToolMissing, lint

from ..fixtures import REAL_FFT_ADVERSARIAL_16 as ADVERSARIAL_16, REAL_FFT_DIGITS as DIGITS, real_fft_vectors as vectors

WAIVERS = "hwgen_circulant.vlt"  # rtl_templates/lint


def rtl_case(k, sim, tmp_path, params=DIGITS, n_random=10, split_stages=1):
    cfg = FftConfig(k=k, **params)
    x = vectors(cfg, 300 + k, n_random)
    if k == 16:
        x = np.concatenate([x, [ADVERSARIAL_16]])
    dut = RealFftParallel(cfg, split_stages=split_stages)
    got, delay = run_block_unit_rtl(dut, "i_re", "o_spec", x, tmp_path, sim=sim, seed=k)
    want = real_fft_fixed(cfg, x)
    assert got.shape == want.shape, f"{sim} k={k}: {len(got)} of {len(x)} spectra came out"
    for n in range(len(x)):
        assert (got[n] == want[n]).all(), f"{sim} k={k}: block {n}"
    assert (delay == dut.latency).all(), f"{sim} k={k}: latency {sorted(set(delay))}"


@pytest.mark.parametrize("k", [
    8, 16, 32, pytest.param(64, marks=pytest.mark.slow)])
def test_real_fft_icarus(k, tmp_path):
    rtl_case(k, "icarus", tmp_path)


def test_real_fft_icarus_without_guard_bit(tmp_path):
    """out_bits == in_bits: the core is one bit wider and the split shifts one more."""
    rtl_case(16, "icarus", tmp_path, params={"in_bits": 8, "out_bits": 8, "tw_bits": 10},
             n_random=4)


def test_real_fft_icarus_two_split_stages(tmp_path):
    rtl_case(16, "icarus", tmp_path, n_random=4, split_stages=2)


@pytest.mark.slow
@pytest.mark.parametrize("k", [8, 16, 32, 64])
def test_real_fft_verilator(k, tmp_path):
    rtl_case(k, "verilator", tmp_path)


@pytest.mark.parametrize("split_stages", [1, 2])
def test_lint_clean_with_waivers(split_stages):
    cfg = FftConfig(k=16, **DIGITS)
    text = component_verilog(RealFftParallel(cfg, split_stages=split_stages), "hwgen_circulant_layer")
    try:
        findings = lint(text, WAIVERS, file_name="hwgen_circulant_layer.v")
    except ToolMissing as e:
        pytest.skip(str(e))
    assert findings == [], "\n".join(findings[:10])
