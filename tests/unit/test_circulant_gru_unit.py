"""The block-circulant GRU cell (hwgen.units.circulant_gru) on the Amaranth simulator:
every hidden value equal to hwgen.models.circulant_gru.gru_fixed for several shapes
(dense k = 1 among them) and saturating words, with random gaps on both inputs and
back-pressure on the results; the state restarts on a sequence's first code; the
cycles per step; the constructor's refusal."""
import numpy as np
import pytest

from hwgen.models.circulant_gru import gru_fixed
from hwgen.models.circulant_lstm import circulant_matrix, fixed_of
from hwgen.units.circulant_gru import CirculantGru
from sim_tb.circulant_gru import run_gru_amaranth

from ..fixtures import LSTM_CASES, gru_case

SEED = 5


def model(cfg, wx, wh, b, xs):
    return gru_fixed(fixed_of(cfg), wx, wh, b, xs)


@pytest.mark.parametrize("case", sorted(LSTM_CASES))
def test_cell_matches_model_with_gaps(case):
    cfg, wx, wh, b, xs = gru_case(case, seed=SEED)
    got, _ = run_gru_amaranth(cfg, wx, wh, b, xs, p_valid=0.7, p_ready=0.6, seed=SEED)
    want = model(cfg, wx, wh, b, xs)
    assert np.array_equal(got, want), f"{case}: first difference at (seq, step, unit) " \
        f"{np.argwhere(got != want)[0]} (seed {SEED})"


def test_saturating_case_saturates():
    cfg, wx, wh, b, xs = gru_case("k8sat", seed=SEED)
    z = xs[:, 0] @ circulant_matrix(wx).T + b[:3 * cfg.hidden_size]   # first step: h = 0
    assert (np.abs(z >> cfg.w_frac) >= 1 << (cfg.state_bits - 1)).any()
    h = model(cfg, wx, wh, b, xs)
    assert (np.abs(h) == 1 << cfg.frac).any()     # the candidate clamped at +-1.0


def test_sequences_restart_from_zero():
    cfg, wx, wh, b, xs = gru_case("k2", seqs=3, steps=2, seed=SEED)
    xs[2] = xs[0]
    got, _ = run_gru_amaranth(cfg, wx, wh, b, xs)
    assert np.array_equal(got[2], got[0])
    assert np.array_equal(got, model(cfg, wx, wh, b, xs))


@pytest.mark.parametrize("case", ["k4", "dense"])
def test_cycles_per_step(case):
    cfg, wx, wh, b, xs = gru_case(case, seqs=1, steps=2, seed=SEED)
    _, spans = run_gru_amaranth(cfg, wx, wh, b, xs)
    k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
    assert spans == [cfg.cycles_per_step] * 2 == [3 * H * (D + H) // k + H + 5] * 2


def test_constructor_check():
    from hwgen.config.lstm import LstmConfig
    with pytest.raises(TypeError, match="CirculantGru cfg must be a GruConfig"):
        CirculantGru(LstmConfig())
