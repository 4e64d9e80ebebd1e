"""The pattern-pruned convolution's generated Verilog (hwgen_pattern_conv, as `hwgen
generate` writes it) on Icarus Verilog and Verilator through cocotb: every result equal
to hwgen.models.pattern_conv with random gaps on all streams; lint-clean under
Verilator -Wall with the waivers of rtl_templates/lint/hwgen_pattern_conv.vlt; the same
config gives the same text."""
import numpy as np
import pytest

from hwgen.config.pattern_conv import PatternConvConfig
from hwgen.models import pattern_conv as pm
from sim_tb.pattern_conv import pattern_conv_verilog, run_pattern_conv_rtl
from sim_tb.runner import lint

from ..fixtures import PCONV_CASES, pconv_case

WAIVERS = "hwgen_pattern_conv.vlt"  # rtl_templates/lint
SEED = 17
RUNS = [(case, "icarus") for case in sorted(PCONV_CASES)] + [
    ("lib8", "verilator"),
    *[pytest.param(case, "verilator", marks=pytest.mark.slow)
      for case in sorted(PCONV_CASES) if case != "lib8"]]


@pytest.mark.parametrize("case,sim", RUNS)
def test_pattern_conv_rtl_bit_exact(case, sim, tmp_path):
    cfg, w, xs = pconv_case(case, images=2, seed=SEED)
    got, _ = run_pattern_conv_rtl(cfg, w, xs, sim, tmp_path, SEED)
    want = np.array([pm.results(cfg, w, x) for x in xs])
    assert got.shape == want.shape
    assert np.array_equal(got, want), f"{sim} {case}: first difference at result " \
        f"{np.argwhere(got != want)[0]} (seed {SEED})"


def test_pattern_conv_rtl_cycles_equal_schedule(tmp_path):
    cfg, w, xs = pconv_case("lib8", images=2, seed=SEED)
    _, cycles = run_pattern_conv_rtl(cfg, w, xs, "icarus", tmp_path, SEED, stall=0.0)
    assert cycles == [pm.cycles(cfg, len(pm.compress(cfg, w)))] * 2


LINT_CASES = [*PCONV_CASES.values(),
              dict(in_channels=1, out_channels=1, height=1, width=1, kernel=1,
                   patterns=[["1"]], connectivity=100, in_bits=2, weight_bits=2),
              dict(in_channels=32, out_channels=32, height=4, width=4, patterns=8,
                   connectivity=50)]


@pytest.mark.parametrize("case", range(len(LINT_CASES)))
def test_pattern_conv_lint_clean_with_scoped_waivers(case):
    v = pattern_conv_verilog(PatternConvConfig(**LINT_CASES[case]))
    assert lint(v, WAIVERS, file_name="hwgen_pattern_conv.v") == []
    # the waivers are per rule: without them the same run reports warnings
    assert lint(v, None, file_name="hwgen_pattern_conv.v") != []


def test_generated_verilog_is_deterministic():
    cfg = PatternConvConfig(**PCONV_CASES["k5"])
    assert pattern_conv_verilog(cfg) == pattern_conv_verilog(PatternConvConfig(**PCONV_CASES["k5"]))
