"""The ``pattern_conv:`` config section: defaults and derived facts, one line per
problem naming the YAML path, and configs without it keeping their hash."""
import pytest

from hwgen.config import ConfigError, config_dict, config_hash, load_config
from hwgen.config.loader import config_from_dict
from hwgen.config.pattern_conv import LIBRARY, PatternConvConfig, parse_pattern_conv


def problems(data):
    with pytest.raises(ConfigError) as e:
        parse_pattern_conv(data, "p.yaml")
    return e.value.problems


def test_defaults_and_derived_facts():
    cfg = parse_pattern_conv(None, "p.yaml")
    assert cfg.patterns == LIBRARY and cfg.entries == 4 and cfg.pattern_bits == 3
    assert (cfg.out_height, cfg.out_width, cfg.pad) == (8, 8, 1)
    assert cfg.kernel_capacity == 128          # half of 16 x 16 kernels
    assert cfg.word_bits == 1 + 4 + 3 + 4 * 8
    # 16 channels x 4 products of at most 2^14 need 21 bits and a sign
    assert cfg.acc_bits == 22
    assert cfg.offsets(0) == [(0, 1), (1, 0), (1, 1), (1, 2)]
    s2 = parse_pattern_conv({"height": 7, "width": 6, "stride": 2}, "p")
    assert (s2.out_height, s2.out_width) == (4, 3)
    # a filter without kernels still stores a word
    assert parse_pattern_conv({"in_channels": 1, "out_channels": 10, "connectivity": 1},
                              "p").kernel_capacity == 10
    assert parse_pattern_conv({"patterns": 2}, "p").patterns == LIBRARY[:2]
    dense = parse_pattern_conv({"patterns": [["111", "111", "111"]], "connectivity": 100}, "p")
    assert dense.entries == 9 and dense.kernel_capacity == 256 and dense.pattern_bits == 1


def test_every_problem_one_line():
    assert problems({"kernel": 4}) == [
        "p.yaml: pattern_conv.kernel: must be one of 1, 3, 5, 7 (odd, so the output is "
        "centred), got 4"]
    assert problems({"patterns": [["111", "11", "000"]]}) == [
        "p.yaml: pattern_conv.patterns[0]: must be 3 strings of 3 characters '0' or '1' "
        "(kernel is 3x3), got ['111', '11', '000']"]
    assert problems({"kernel": 5, "patterns": 4}) == [
        "p.yaml: pattern_conv.patterns: a number picks from the built-in 3x3 library; kernel "
        "5 needs a list of patterns (5 strings of 5 '0'/'1' each)"]
    assert problems({"patterns": 9}) == [
        "p.yaml: pattern_conv.patterns: must be between 1 and 8 (the built-in library) or a "
        "list of patterns, got 9"]
    assert problems({"patterns": [["110", "000", "000"], ["111", "000", "000"]]}) == [
        "p.yaml: pattern_conv.patterns: all patterns must keep the same number of positions "
        "(one multiplier each), got [2, 3]"]
    assert problems({"patterns": [["000", "000", "000"]]}) == [
        "p.yaml: pattern_conv.patterns: a pattern keeps no position"]
    assert problems({"patterns": [["100", "000", "000"]] * 2}) == [
        "p.yaml: pattern_conv.patterns: the same pattern is listed twice"]
    assert problems({"patterns": "T"}) == [
        "p.yaml: pattern_conv.patterns: must be a number or a non-empty list of patterns, "
        "got a string 'T'"]
    assert problems({"connectivity": 0, "stride": 3, "taps": 1}) == [
        "p.yaml: pattern_conv.taps: unknown key (known: connectivity, height, in_bits, "
        "in_channels, kernel, out_channels, patterns, stride, weight_bits, width)",
        "p.yaml: pattern_conv.stride: must be between 1 and 2, got 3",
        "p.yaml: pattern_conv.connectivity: must be between 1 and 100, got 0"]


def test_whole_config_round_trip_and_hash(tmp_path):
    base = load_config("tiny")
    path = tmp_path / "p.yaml"
    path.write_text("name: p\npattern_conv: {patterns: [['010', '111', '010']], "
                    "connectivity: 30}\n")
    cfg = load_config(str(path))
    assert cfg.pattern_conv.patterns == (("010", "111", "010"),)
    assert config_from_dict(config_dict(cfg)).pattern_conv == cfg.pattern_conv
    assert "pattern_conv" not in config_dict(base)
    assert config_hash(base) == config_hash(load_config("tiny"))
    path.write_text("name: p\npattern_conv: {kernel: 2}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert str(e.value).startswith(f"{path}: pattern_conv.kernel: must be one of 1, 3, 5, 7")


def test_dataclass_checks_itself():
    with pytest.raises(ConfigError, match="pattern_conv.in_channels: must be between 1"):
        PatternConvConfig(in_channels=0)
