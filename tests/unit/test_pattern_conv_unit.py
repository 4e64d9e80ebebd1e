"""The pattern-pruned convolution unit on the Amaranth simulator: every result equal to
the golden model with random gaps on both inputs and back-pressure on the results, one
kernel word per output position and cycle, and the constructor's check."""
import numpy as np
import pytest

from hwgen.models import pattern_conv as pm
from hwgen.units.pattern_conv import PatternConv
from sim_tb.pattern_conv import run_pattern_conv_amaranth

from ..fixtures import PCONV_CASES, pconv_case

SEED = 5


@pytest.mark.parametrize("case", sorted(PCONV_CASES))
def test_unit_matches_model_with_gaps(case):
    cfg, w, xs = pconv_case(case, images=2, seed=SEED)
    got, _ = run_pattern_conv_amaranth(cfg, w, xs, p_valid=0.7, p_ready=0.6, seed=SEED)
    want = np.array([pm.results(cfg, w, x) for x in xs])
    assert np.array_equal(got, want), f"{case}: first difference at result " \
        f"{np.argwhere(got != want)[0]} (seed {SEED})"


@pytest.mark.parametrize("case", ["lib8", "dense"])
def test_one_kernel_word_per_cycle(case):
    cfg, w, xs = pconv_case(case, images=2, seed=SEED)
    _, spans = run_pattern_conv_amaranth(cfg, w, xs)
    n = len(pm.compress(cfg, w))
    assert spans == [pm.cycles(cfg, n)] * 2 == [cfg.out_height * cfg.out_width * n + 3] * 2


def test_dense_configuration_runs_every_kernel():
    cfg, w, xs = pconv_case("dense", images=1, seed=SEED)
    got, spans = run_pattern_conv_amaranth(cfg, w, xs, every_kernel=True, p_ready=0.8, seed=1)
    assert np.array_equal(got[0], pm.results(cfg, w, xs[0]))
    _, spans = run_pattern_conv_amaranth(cfg, w, xs, every_kernel=True)
    F, C = cfg.out_channels, cfg.in_channels
    assert spans == [cfg.out_height * cfg.out_width * F * C + 3]


def test_constructor_check():
    with pytest.raises(TypeError, match="PatternConv cfg must be a PatternConvConfig"):
        PatternConv({"in_channels": 2})
