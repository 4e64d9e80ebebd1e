"""The ``grng:`` and ``bayesian:`` config sections: defaults per kind, derived facts, one
line per problem naming the YAML path, and configs without them keeping their hash."""
import math

import pytest

from hwgen.config import ConfigError, config_dict, config_hash, load_config
from hwgen.config.bayesian import BayesianConfig, parse_bayesian
from hwgen.config.grng import GrngConfig, parse_grng
from hwgen.config.loader import config_from_dict
from hwgen.lib.gfsr import TRINOMIALS, seed_bits, seed_words, splitmix64, trinomial_for


def problems(data, parse=parse_grng):
    with pytest.raises(ConfigError) as e:
        parse(data, "g.yaml")
    return e.value.problems


def test_defaults_per_kind():
    rlf = parse_grng(None, "g.yaml")
    assert (rlf.kind, rlf.degree, rlf.shift, rlf.pool, rlf.uniforms) == ("rlf", 127, 1, None, None)
    assert rlf.scale == math.sqrt(127) and rlf.code_max == 127 and rlf.tap == 64
    wal = parse_grng({"kind": "wallace", "lanes": 8}, "g.yaml")
    assert (wal.pool, wal.passes, wal.groups, wal.bank_depth, wal.bank_bits) == (1024, 1, 2, 256, 8)
    assert wal.frac_bits == 8 and wal.scale == 256.0 and wal.pass_bits == 7 + 32
    clt = parse_grng({"kind": "clt", "bits": 12}, "g.yaml")
    assert (clt.uniforms, clt.uniform_width, clt.source_bits, clt.source_degree) == (12, 7, 84, 521)
    assert clt.scale == pytest.approx(math.sqrt(12 * (4 ** 7 - 1) / 3))
    icdf = parse_grng({"kind": "icdf"}, "g.yaml")
    assert (icdf.segments, icdf.uniform_bits, icdf.source_bits, icdf.source_degree) == (16, 32, 33, 89)
    assert len(icdf.icdf_table()) == 33 * 16
    assert parse_grng({"kind": "wallace", "passes": 4, "lanes": 8}, "g").samples_per_cycle == 2
    # changing the kind drops the old kind's keys
    assert rlf.replace(kind="icdf").degree is None


def test_every_problem_one_line():
    assert problems({"kind": "wallace", "pool": 1022}) == [
        "g.yaml: grng.pool: must be a multiple of the transform size 4, got 1022"]
    assert problems({"kind": "wallace", "pool": 1020, "lanes": 6}) == [
        "g.yaml: grng.lanes: wallace needs a multiple of 4 (one pool serves 4 lanes), got 6",
        "g.yaml: grng.pool: must be 4 times a power of two (4 banks of 2^k values), got 1020"]
    assert problems({"kind": "gauss"}) == [
        "g.yaml: grng.kind: must be one of rlf, wallace, clt, icdf, got 'gauss'"]
    assert problems({"kind": "clt", "pool": 64, "degree": 7}) == [
        "g.yaml: grng.degree: applies to kind rlf only (kind is clt)",
        "g.yaml: grng.pool: applies to kind wallace only (kind is clt)"]
    assert problems({"degree": 100}) == [
        "g.yaml: grng.degree: must be one of 7, 17, 31, 89, 127, 521, 607, 1279 (degrees of "
        "the primitive trinomials in the table), got 100"]
    assert problems({"degree": 127, "shift": 64}) == [
        "g.yaml: grng.shift: at most 32 for degree 127 (two steps of shift words must fit "
        "below the tap at 64), got 64"]
    assert problems({"shift": 3}) == ["g.yaml: grng.shift: must be a power of two, got 3"]
    assert problems({"degree": 521, "bits": 8}) == [
        "g.yaml: grng.bits: rlf of degree 521 needs at least 11 bits (2 C - p spans +-521), "
        "got 8"]
    assert problems({"kind": "clt", "uniforms": 12, "bits": 5}) == [
        "g.yaml: grng.bits: clt with 12 uniforms needs at least 6 bits (one per uniform, plus "
        "sign and sum), got 5"]
    assert problems({"kind": "clt", "uniforms": 64, "bits": 24}) == [
        "g.yaml: grng.uniforms: 64 uniforms of 17 bits need 1088 random bits per sample, "
        "more than the 861 the largest bit source gives"]
    assert problems({"kind": "icdf", "bits": 5}) == [
        "g.yaml: grng.bits: icdf needs at least 6 bits (4 integer bits and 2 fraction bits), "
        "got 5"]
    assert problems({"kind": "icdf", "segments": 12}) == [
        "g.yaml: grng.segments: must be a power of two, got 12"]
    assert problems({"lanes": 0, "bits": "x", "seed": -1, "speed": 1}) == [
        "g.yaml: grng.speed: unknown key (known: bits, degree, kind, lanes, passes, pool, "
        "seed, segments, shift, uniform_bits, uniforms)",
        "g.yaml: grng.lanes: must be between 1 and 64, got 0",
        "g.yaml: grng.bits: must be an integer, got a string 'x'",
        "g.yaml: grng.seed: must be between 0 and 18446744073709551615, got -1"]
    assert problems([1]) == ["g.yaml: grng: must be a mapping, got a list"]


def test_bayesian_section():
    cfg = parse_bayesian({"inputs": 64, "outputs": 10, "samples": 4,
                          "grng": {"kind": "wallace", "lanes": 4}}, "b.yaml")
    assert (cfg.lanes, cfg.groups, cfg.eps_shift) == (4, 3, 8)
    assert cfg.eps_per_vector == 3 * 4 * 64
    assert cfg.results_per_vector == 10
    lrt = cfg.replace(local_reparam=True, average=False)
    assert lrt.eps_per_vector == 3 * 4 and lrt.results_per_vector == 40
    # the widths hold the extremes: mu = -2^(w-1), sigma = 2^w - 1, eps = +-code_max
    assert cfg.y_max >= 64 * (128 + (255 * 2047 + 128) // 256) * 128
    assert cfg.out_bits == (cfg.y_max * 4).bit_length() + 1
    # without its own grng key, the layer draws from the top-level section
    top = config_from_dict({"grng": {"kind": "icdf", "lanes": 2}, "bayesian": {"outputs": 3}},
                           "t.yaml")
    assert top.bayesian.grng == top.grng
    assert parse_bayesian({}, "b.yaml").grng == GrngConfig()
    assert problems({"samples": 0, "activation": "tanh", "grng": {"kind": "wallace",
                                                                  "pool": 1022}},
                    parse_bayesian) == [
        "g.yaml: bayesian.grng.pool: must be a multiple of the transform size 4, got 1022",
        "g.yaml: bayesian.samples: must be between 1 and 1024, got 0",
        "g.yaml: bayesian.activation: must be one of none, relu, got 'tanh'"]
    assert problems({"inputs": 4096, "in_bits": 16, "weight_bits": 16,
                     "local_reparam": True}, parse_bayesian) == [
        "g.yaml: bayesian.weight_bits: the layer's widest value would need 74 bits, more "
        "than 62; use narrower words or fewer inputs"]
    with pytest.raises(ConfigError, match="bayesian.grng: must be a grng mapping"):
        BayesianConfig(grng=3)


def test_sections_leave_other_hashes_alone():
    tiny = load_config("tiny")
    d = config_dict(tiny)
    assert "grng" not in d and "bayesian" not in d
    with_grng = tiny.replace(grng=GrngConfig(kind="wallace", lanes=4))
    assert config_hash(with_grng) != config_hash(tiny)
    assert config_dict(with_grng)["grng"]["kind"] == "wallace"


def test_seed_expansion_and_trinomial_choice():
    # SplitMix64 reference values (seed 0: the published first outputs)
    state, out = splitmix64(0)
    assert out == 0xE220A8397B1DCDAF
    assert splitmix64(state)[1] == 0x6E789E6AA1B965F4
    assert seed_words(5, 1, 3) != seed_words(5, 2, 3)
    assert seed_bits(0, 0, 1) in (0, 1) and seed_bits(7, 3, 10) < 1 << 10
    assert trinomial_for(51) == 89 and trinomial_for(52) == 127 and trinomial_for(1) == 7
    with pytest.raises(ValueError, match="no trinomial"):
        trinomial_for(max(TRINOMIALS.values()) + 1)
