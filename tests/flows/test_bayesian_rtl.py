"""The Bayesian layer's generated Verilog (hwgen_bayesian_layer, as `hwgen generate`
writes it) on Icarus Verilog and Verilator through cocotb, bit-exact against
hwgen.models.bayesian with its generator's beats, with random stream gaps; lint-clean
under Verilator -Wall with the waivers of rtl_templates/lint/hwgen_bayesian.vlt."""
import numpy as np
import pytest

from hwgen.config.bayesian import parse_bayesian
from hwgen.models import bayesian as bm
from hwgen.models import grng as gm
from sim_tb.grng import bayesian_verilog, run_bayesian_rtl
from sim_tb.runner import lint

from ..fixtures import BAYES_CASES, bayes_case

WAIVERS = "hwgen_bayesian.vlt"  # rtl_templates/lint
SEED = 19
# every case on Icarus; one Verilator build (10-20 s) by default, the others slow
RUNS = [(case, "icarus") for case in sorted(BAYES_CASES)] + [
    ("lrt", "verilator"),
    *[pytest.param(case, "verilator", marks=pytest.mark.slow)
      for case in sorted(BAYES_CASES) if case != "lrt"]]


@pytest.mark.parametrize("case,sim", RUNS)
def test_bayesian_rtl_bit_exact(case, sim, tmp_path):
    cfg, mu, sigma, xs = bayes_case(case, 3, SEED)
    got, _ = run_bayesian_rtl(cfg, mu, sigma, xs, sim, tmp_path, SEED)
    eps = gm.samples(cfg.grng, len(xs) * cfg.eps_per_vector)
    want = bm.layer(cfg, mu, sigma, xs, eps)
    assert got.shape == want.shape, (sim, case)
    assert np.array_equal(got, want), f"{sim} {case}: differs from the model (seed {SEED})"


LINT_CASES = [*BAYES_CASES.values(),
              dict(inputs=1, outputs=1, samples=1, grng=dict(kind="rlf", lanes=1)),
              dict(inputs=64, outputs=10, samples=4, local_reparam=True,
                   grng=dict(kind="wallace", lanes=4, pool=64))]


@pytest.mark.parametrize("case", range(len(LINT_CASES)))
def test_bayesian_lint_clean_with_scoped_waivers(case):
    cfg = parse_bayesian(LINT_CASES[case], "lint.yaml")
    v = bayesian_verilog(cfg)
    assert lint(v, WAIVERS, file_name="hwgen_bayesian_layer.v") == []
    assert lint(v, None, file_name="hwgen_bayesian_layer.v") != []


def test_generated_verilog_is_deterministic():
    cfg = parse_bayesian(BAYES_CASES["lrt"], "d.yaml")
    assert bayesian_verilog(cfg) == bayesian_verilog(parse_bayesian(BAYES_CASES["lrt"], "d.yaml"))
