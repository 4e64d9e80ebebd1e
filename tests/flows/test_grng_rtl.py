"""The Gaussian generators' generated Verilog (hwgen_grng, as `hwgen generate` writes
it) on Icarus Verilog and Verilator through cocotb: the same beats as hwgen.models.grng
under random back-pressure and across a reset; lint-clean under Verilator -Wall with the
waivers of rtl_templates/lint/hwgen_grng.vlt; the same config gives the same text."""
import numpy as np
import pytest

from hwgen.config.grng import GrngConfig
from hwgen.models import grng as gm
from hwgen.units.grng import LATENCY
from sim_tb.grng import grng_verilog, run_grng_rtl
from sim_tb.runner import lint

from ..fixtures import GRNG_CASES

WAIVERS = "hwgen_grng.vlt"  # rtl_templates/lint
SEED = 13
BEATS = 300
# a Verilator build costs 10-20 s: the default run builds one generator, the rest are slow
RUNS = [(case, "icarus") for case in sorted(GRNG_CASES)] + [
    ("rlf", "verilator"),
    *[pytest.param(case, "verilator", marks=pytest.mark.slow)
      for case in sorted(GRNG_CASES) if case != "rlf"]]


@pytest.mark.parametrize("case,sim", RUNS)
def test_grng_rtl_bit_exact(case, sim, tmp_path):
    cfg = GrngConfig(**GRNG_CASES[case])
    got, cycles = run_grng_rtl(cfg, BEATS, sim, tmp_path, SEED)
    want = gm.samples(cfg, BEATS)
    assert got.shape == want.shape
    assert np.array_equal(got, want), f"{sim} {case}: first difference at beat " \
        f"{np.argwhere(got != want)[0][0]} (seed {SEED})"
    assert cycles[0] >= LATENCY[cfg.kind]


@pytest.mark.parametrize("case", sorted(GRNG_CASES))
def test_grng_rtl_reset_in_mid_stream(case, tmp_path):
    """rlf and wallace lose no beat over a reset (their state is in RAM and re-read);
    clt and icdf drop the beats in their output pipeline."""
    cfg = GrngConfig(**GRNG_CASES[case])
    got, _ = run_grng_rtl(cfg, 60, "icarus", tmp_path, SEED, stall=0.2, reset_after=25)
    lost = 0 if cfg.kind in ("rlf", "wallace") else LATENCY[cfg.kind]
    want = gm.samples(cfg, 60 + lost)
    assert np.array_equal(got, np.concatenate([want[:25], want[25 + lost:]])), case


LINT_CASES = [*GRNG_CASES.values(),
              dict(kind="rlf", degree=521, shift=64, lanes=16, bits=11),
              dict(kind="wallace", lanes=4, pool=16, bits=6),
              dict(kind="clt", uniforms=1, lanes=1, bits=4),
              dict(kind="icdf", segments=1, lanes=1, bits=16, uniform_bits=8)]


@pytest.mark.parametrize("case", range(len(LINT_CASES)))
def test_grng_lint_clean_with_scoped_waivers(case):
    cfg = GrngConfig(**LINT_CASES[case])
    v = grng_verilog(cfg)
    assert lint(v, WAIVERS, file_name="hwgen_grng.v") == []
    # the waivers are per rule: without them the same run reports warnings
    assert lint(v, None, file_name="hwgen_grng.v") != []


def test_generated_verilog_is_deterministic():
    cfg = GrngConfig(**GRNG_CASES["wallace"])
    assert grng_verilog(cfg) == grng_verilog(GrngConfig(**GRNG_CASES["wallace"]))
