"""The block-circulant GRU cell's generated Verilog (hwgen_gru, as `hwgen generate`
writes it) on Icarus Verilog and Verilator through cocotb: every hidden value equal to
hwgen.models.circulant_gru.gru_fixed with random gaps on all streams (the vectors the
Amaranth-simulator test uses, tests/unit/test_circulant_gru_unit.py), the cycles per
step those of the config; lint-clean under Verilator -Wall with the waivers of
rtl_templates/lint/hwgen_gru.vlt; the same config gives the same text."""
import numpy as np
import pytest

from hwgen.config.gru import GruConfig
from hwgen.models.circulant_gru import gru_fixed
from hwgen.models.circulant_lstm import fixed_of
from sim_tb.circulant_gru import gru_verilog, run_gru_amaranth, run_gru_rtl
from sim_tb.runner import lint

from ..fixtures import LSTM_CASES, gru_case

WAIVERS = "hwgen_gru.vlt"  # rtl_templates/lint
SEED = 29
# Verilator compiles for about 30 s per case: its runs are slow ones
RUNS = [("k4", "icarus"), ("k8sat", "icarus"),
        *[pytest.param(case, "icarus", marks=pytest.mark.slow)
          for case in sorted(LSTM_CASES) if case not in ("k4", "k8sat")],
        *[pytest.param(case, "verilator", marks=pytest.mark.slow)
          for case in sorted(LSTM_CASES)]]


@pytest.mark.parametrize("case,sim", RUNS)
def test_gru_rtl_bit_exact(case, sim, tmp_path):
    cfg, wx, wh, b, xs = gru_case(case, seqs=2, steps=3, seed=SEED)
    got, _ = run_gru_rtl(cfg, wx, wh, b, xs, sim, tmp_path, SEED)
    want = gru_fixed(fixed_of(cfg), wx, wh, b, xs)
    assert got.shape == want.shape
    assert np.array_equal(got, want), f"{sim} {case}: first difference at (seq, step, " \
        f"unit) {np.argwhere(got != want)[0]} (seed {SEED})"
    # the same vectors on the Amaranth simulator
    amaranth, _ = run_gru_amaranth(cfg, wx, wh, b, xs, p_valid=0.8, p_ready=0.8, seed=SEED)
    assert np.array_equal(amaranth, got)


def test_gru_rtl_cycles_per_step(tmp_path):
    cfg, wx, wh, b, xs = gru_case("dense", seqs=1, steps=2, seed=SEED)
    _, cycles = run_gru_rtl(cfg, wx, wh, b, xs, "icarus", tmp_path, SEED, stall=0.0)
    assert cycles == [cfg.cycles_per_step] * 2


LINT_CASES = [*LSTM_CASES.values(),
              dict(input_size=1, hidden_size=1, block_size=1, frac=1, state_bits=3,
                   in_bits=2, w_bits=2, bias_bits=2),
              dict(input_size=64, hidden_size=32, block_size=16)]


@pytest.mark.parametrize("case", range(len(LINT_CASES)))
def test_gru_lint_clean_with_scoped_waivers(case):
    v = gru_verilog(GruConfig(**LINT_CASES[case]))
    assert lint(v, WAIVERS, file_name="hwgen_gru.v") == []
    assert lint(v, None, file_name="hwgen_gru.v") != []


def test_generated_verilog_is_deterministic():
    cfg = GruConfig(**LSTM_CASES["k2"])
    assert gru_verilog(cfg) == gru_verilog(GruConfig(**LSTM_CASES["k2"]))
