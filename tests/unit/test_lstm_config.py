"""The ``lstm:`` config section: defaults and derived facts, and one line per problem
naming the YAML path."""
import pytest

from hwgen.config import ConfigError
from hwgen.config.lstm import parse_lstm


def problems(data):
    with pytest.raises(ConfigError) as e:
        parse_lstm(data, "l.yaml")
    return e.value.problems


def test_defaults_and_derived_facts():
    cfg = parse_lstm(None, "l.yaml")
    assert (cfg.input_size, cfg.hidden_size, cfg.block_size) == (8, 16, 4)
    assert (cfg.blocks_out, cfg.blocks_in, cfg.weight_codes) == (16, 6, 384)
    assert (cfg.h_bits, cfg.operand_bits, cfg.word_bits) == (10, 12, 24)
    # 24 products of at most 2^(12 + 8 - 2) need 18 + 5 bits, a 24-bit bias 23: 25 bits
    assert cfg.acc_bits == 25
    assert cfg.cycles_per_step == 384 + 16 + 5
    dense = parse_lstm({"block_size": 1}, "l")
    assert dense.weight_codes == 64 * 24


def test_every_problem_one_line():
    assert problems({"hidden_size": 6}) == [
        "l.yaml: lstm.hidden_size: must be a multiple of block_size=4, got 6"]
    assert problems({"frac": 15}) == [
        "l.yaml: lstm.frac: must be at most state_bits - 2 = 14 (the state holds +-1.0), "
        "got 15"]
    assert problems({"block_size": 0, "w_bits": "8"}) == [
        "l.yaml: lstm.block_size: must be between 1 and 64, got 0",
        "l.yaml: lstm.w_bits: must be an integer, got a string '8'"]
    assert problems({"blocks": 2}) == [
        "l.yaml: lstm.blocks: unknown key (known: bias_bits, block_size, frac, hidden_size, "
        "in_bits, input_size, state_bits, w_bits, w_frac)"]


def test_widest_words_fit_the_models_int64():
    widest = parse_lstm({"bias_bits": 48, "in_bits": 32, "w_bits": 16, "input_size": 1024,
                         "hidden_size": 1024, "frac": 24, "state_bits": 32}, "l")
    assert widest.acc_bits == 59     # <= 62
