"""The Bayesian layer on the Amaranth simulator: bit-exact against hwgen.models.bayesian
with the generator model's beats, under random gaps and back-pressure, and the cycle
counts of its schedule."""
import numpy as np
import pytest

from hwgen.config.bayesian import BayesianConfig
from hwgen.config.grng import GrngConfig
from hwgen.models import bayesian as bm
from hwgen.models import grng as gm
from hwgen.units.bayesian import BayesianLayer
from sim_tb.grng import run_bayesian_amaranth

from ..fixtures import BAYES_CASES, bayes_case

SEED = 17


@pytest.mark.parametrize("case", sorted(BAYES_CASES))
def test_layer_matches_model_under_back_pressure(case):
    cfg, mu, sigma, xs = bayes_case(case, 4, SEED)
    got, _, _ = run_bayesian_amaranth(cfg, mu, sigma, xs, p_valid=0.7, p_ready=0.6, seed=SEED)
    eps = gm.samples(cfg.grng, len(xs) * cfg.eps_per_vector)
    assert np.array_equal(got, bm.layer(cfg, mu, sigma, xs, eps)), f"{case} (seed {SEED})"


@pytest.mark.parametrize("lrt", [False, True])
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("shape", [(5, 4, 3, 3), (8, 8, 2, 4), (16, 3, 4, 4), (6, 10, 1, 4)])
def test_schedule_cycles(lrt, average, shape):
    n, m, N, L = shape
    cfg = BayesianConfig(inputs=n, outputs=m, samples=N, in_bits=6, weight_bits=5,
                         local_reparam=lrt, average=average,
                         grng=GrngConfig(kind="rlf", lanes=L, bits=8, degree=17, shift=2))
    rng = np.random.default_rng(1)
    mu = rng.integers(-16, 16, size=(m, n))
    sigma = rng.integers(0, 32, size=(m, n))
    xs = rng.integers(-32, 32, size=(3, n))
    got, spans, periods = run_bayesian_amaranth(cfg, mu, sigma, xs)
    assert np.array_equal(got, bm.layer(cfg, mu, sigma, xs,
                                        gm.samples(cfg.grng, 3 * cfg.eps_per_vector)))
    assert spans == [cfg.latency] * 3
    assert periods == [cfg.cycles_per_vector] * 2


def test_constructor_check():
    with pytest.raises(TypeError, match="BayesianLayer cfg must be a BayesianConfig"):
        BayesianLayer({"inputs": 3})
