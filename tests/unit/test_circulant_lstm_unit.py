"""The block-circulant LSTM cell (hwgen.units.circulant_lstm) on the Amaranth simulator:
every hidden value equal to hwgen.models.circulant_lstm.lstm_fixed for several shapes
(dense k = 1 among them) and saturating words, with random gaps on both inputs and
back-pressure on the results; the state restarts on a sequence's first code; the
cycles per step; the word packing's and the constructor's refusals."""
import numpy as np
import pytest

from hwgen.models.circulant_lstm import (circulant_matrix, fixed_of, lstm_fixed, pack_words,
                                         step_codes)
from hwgen.units.circulant_lstm import CirculantLstm
from sim_tb.circulant_lstm import run_lstm_amaranth

from hwgen.config.lstm import LstmConfig

from ..fixtures import LSTM_CASES, cell_case, lstm_case

SEED = 3


def model(cfg, wx, wh, b, xs):
    return lstm_fixed(fixed_of(cfg), wx, wh, b, xs)


@pytest.mark.parametrize("case", sorted(LSTM_CASES))
def test_cell_matches_model_with_gaps(case):
    cfg, wx, wh, b, xs = lstm_case(case, seed=SEED)
    got, _ = run_lstm_amaranth(cfg, wx, wh, b, xs, p_valid=0.7, p_ready=0.6, seed=SEED)
    want = model(cfg, wx, wh, b, xs)
    assert np.array_equal(got, want), f"{case}: first difference at (seq, step, unit) " \
        f"{np.argwhere(got != want)[0]} (seed {SEED})"


def test_saturating_case_saturates():
    # the vectors of the saturating case reach the clamps the cell must reproduce
    cfg, wx, wh, b, xs = lstm_case("k8sat", seed=SEED)
    h = model(cfg, wx, wh, b, xs)
    z = xs[:, 0] @ circulant_matrix(wx).T + b        # first step: h = 0
    lim = 1 << (cfg.state_bits - 1)
    assert (np.abs(z >> cfg.w_frac) >= lim).any()   # pre-activations saturate
    # a saturated o (511) gives sigma = 127 + 128 = 255: |h| reaches 255 with tanh(c)
    # clamped at 1.0
    assert (np.abs(h) == (1 << cfg.frac) - 1).any()


def test_weight_counter_spans_the_biases():
    # D = H = k = 3: 24 weight codes and 12 biases, 36 words past a 5-bit count of the
    # weights alone (the biases used to wrap it and land in the weight memory)
    cfg, wx, wh, b, xs = cell_case(LstmConfig(input_size=3, hidden_size=3, block_size=3),
                                   4, seqs=1, steps=2, seed=SEED)
    got, _ = run_lstm_amaranth(cfg, wx, wh, b, xs)
    assert np.array_equal(got, model(cfg, wx, wh, b, xs))


def test_sequences_restart_from_zero():
    cfg, wx, wh, b, xs = lstm_case("k2", seqs=3, steps=2, seed=SEED)
    xs[2] = xs[0]
    got, _ = run_lstm_amaranth(cfg, wx, wh, b, xs)
    assert np.array_equal(got[2], got[0])
    assert np.array_equal(got, model(cfg, wx, wh, b, xs))


@pytest.mark.parametrize("case", ["k4", "dense"])
def test_cycles_per_step(case):
    cfg, wx, wh, b, xs = lstm_case(case, seqs=1, steps=2, seed=SEED)
    _, spans = run_lstm_amaranth(cfg, wx, wh, b, xs)
    k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
    assert spans == [cfg.cycles_per_step] * 2 == [4 * H * (D + H) // k + H + 5] * 2


def test_packing_refusals():
    cfg, wx, wh, b, _ = lstm_case("k4", seed=SEED)
    words = pack_words(cfg, wx, wh, b)
    assert len(words) == cfg.weight_codes + 4 * cfg.hidden_size
    assert words[0] == (1 << cfg.word_bits) - (1 << (cfg.w_bits - 1))   # -2^(w-1)
    with pytest.raises(ValueError, match=r"wh: shape must be \(8, 2, 4\)"):
        pack_words(cfg, wx, wh[:, :1], b)
    wx[1, 1, 1] = 1 << (cfg.w_bits - 1)
    with pytest.raises(ValueError, match="wx: codes must fit 8 signed bits"):
        pack_words(cfg, wx, wh, b)
    with pytest.raises(ValueError, match="x: codes must fit 12 signed bits"):
        step_codes(cfg, np.full((2, 8), 1 << 11))
    assert step_codes(cfg, -np.ones((2, 8), dtype=int))[0][:2] == [(1 << 13) - 1, (1 << 12) - 1]


def test_constructor_check():
    with pytest.raises(TypeError, match="CirculantLstm cfg must be a LstmConfig"):
        CirculantLstm({"input_size": 8})
