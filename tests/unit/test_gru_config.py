"""The ``gru:`` config section: the keys and checks of ``lstm:`` (shared in
hwgen.config.lstm.CellConfig) under its own YAML path, and the GRU's own derived facts
(3H (D + H) / k weight codes: the candidate's two parts read half the columns each)."""
import pytest

from hwgen.config import ConfigError
from hwgen.config.gru import parse_gru
from hwgen.config.lstm import parse_lstm


def problems(data):
    with pytest.raises(ConfigError) as e:
        parse_gru(data, "g.yaml")
    return e.value.problems


def test_defaults_and_derived_facts():
    cfg = parse_gru(None, "g.yaml")
    lstm = parse_lstm(None, "g.yaml")
    assert (cfg.input_size, cfg.hidden_size, cfg.block_size) == (8, 16, 4)
    # r, z over [Wx Wh] (6 block columns), n_x over Wx (2), n_h over Wh (4)
    assert cfg.block_columns == ((0, 5), (0, 5), (0, 1), (2, 5))
    assert (cfg.blocks_out, cfg.blocks_in, cfg.weight_codes) == (16, 6, 288)
    assert cfg.weight_codes == 3 * 16 * 24 // 4 == lstm.weight_codes * 3 // 4
    assert (cfg.h_bits, cfg.acc_bits, cfg.word_bits) == (lstm.h_bits, 25, 24)
    assert cfg.cycles_per_step == 288 + 16 + 5
    assert parse_gru({"block_size": 1}, "g").weight_codes == 48 * 24


def test_every_problem_one_line_under_gru():
    assert problems({"input_size": 6, "frac": 15}) == [
        "g.yaml: gru.input_size: must be a multiple of block_size=4, got 6",
        "g.yaml: gru.frac: must be at most state_bits - 2 = 14 (the state holds +-1.0), "
        "got 15"]
    assert problems({"cell": "lstm"}) == [
        "g.yaml: gru.cell: unknown key (known: bias_bits, block_size, frac, hidden_size, "
        "in_bits, input_size, state_bits, w_bits, w_frac)"]
