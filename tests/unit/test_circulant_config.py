"""The ``circulant:`` config section: defaults, derived widths and one line per problem."""
import pytest

from hwgen.config import ConfigError
from hwgen.config.circulant import CirculantConfig, parse_circulant


def problems(data):
    with pytest.raises(ConfigError) as e:
        parse_circulant(data, "c.yaml")
    return e.value.problems


def test_defaults_and_derived_widths():
    assert parse_circulant(None, "c.yaml") == CirculantConfig()
    cfg = parse_circulant({"k": 8, "in_bits": 10, "out_bits": 14, "tw_bits": 12,
                           "m": 16, "n": 24}, "c.yaml")
    assert (cfg.stages, cfg.tw_frac, cfg.guard_bits) == (3, 10, 4)
    assert [cfg.stage_bits(s) for s in range(4)] == [14] * 4
    assert (cfg.blocks_out, cfg.blocks_in) == (2, 3)
    none = cfg.replace(scaling="none", out_bits=14)
    assert [none.stage_bits(s) for s in range(4)] == [10, 12, 13, 14]
    assert none.guard_bits == 0
    assert cfg.params()["CIRC_K"] == 8 and cfg.params()["CIRC_SCALING"] == 0
    # the layer: 3 input blocks, a 14 + 12 + 2-bit accumulator; half or full spectrum
    assert (cfg.w_bits, cfg.shift, cfg.acc_bits) == (12, 11, 28)
    assert (cfg.bins, cfg.spectrum_words) == (5, 8)
    assert (cfg.replace(real_input=False).bins, cfg.replace(real_input=False).spectrum_words) \
        == (8, 16)


def test_every_problem_one_line():
    assert problems({"k": 12}) == ["c.yaml: circulant.k: must be a power of two, got 12"]
    assert problems({"k": 128}) == ["c.yaml: circulant.k: must be between 4 and 64, got 128"]
    assert problems({"k": 16, "in_bits": 12, "out_bits": 16, "scaling": "none"}) == [
        "c.yaml: circulant.out_bits: 16 bits overflow a 16-point FFT of 12-bit inputs "
        "without scaling; needs at least 17 (or use per_stage or block_float)"]
    assert problems({"in_bits": 12, "out_bits": 10}) == [
        "c.yaml: circulant.out_bits: must be at least in_bits=12 with per_stage scaling, got 10"]
    got = problems({"k": 8, "m": 12, "n": 20, "scaling": "fast", "architecture": "x",
                    "real_input": "yes", "depth": 3})
    assert got == [
        "c.yaml: circulant.depth: unknown key (known: architecture, in_bits, k, m, n, "
        "out_bits, real_fft, real_fft_stages, real_input, scaling, shift, tw_bits, w_bits)",
        "c.yaml: circulant.scaling: must be one of per_stage, block_float, none, got 'fast'",
        "c.yaml: circulant.architecture: must be one of parallel, streaming, got 'x'",
        "c.yaml: circulant.real_input: must be true or false, got a string 'yes'",
        "c.yaml: circulant.m: must be a multiple of k=8, got 12",
        "c.yaml: circulant.n: must be a multiple of k=8, got 20",
    ]
    assert problems([1]) == ["c.yaml: circulant: must be a mapping, got a list"]
    assert problems({"scaling": "block_float"}) == [
        "c.yaml: circulant.scaling: block_float gives every input block its own exponent, "
        "which the layer cannot accumulate; use per_stage or none (block_float is available "
        "on the stand-alone CirculantFft unit)"]
    assert problems({"out_bits": 32, "w_bits": 24, "k": 4, "n": 1024}) == [
        "c.yaml: circulant.w_bits: the layer's accumulator would need 64 bits "
        "(out_bits + w_bits + log2(n/k)), more than 62; use narrower words"]
    assert problems({"w_bits": 1, "shift": -1}) == [
        "c.yaml: circulant.w_bits: must be between 2 and 24, got 1",
        "c.yaml: circulant.shift: must be between 0 and 62, got -1"]
    assert problems({"tw_bits": 2.5}) == [
        "c.yaml: circulant.tw_bits: must be an integer, got a number 2.5"]


def test_real_fft_needs_its_conditions():
    cfg = parse_circulant({"k": 8, "m": 16, "n": 16, "real_fft": True}, "c.yaml")
    assert cfg.real_fft and cfg.params()["CIRC_REAL_FFT"] == 1
    assert CirculantConfig().real_fft is False
    assert problems({"k": 4, "m": 8, "n": 8, "real_fft": True, "real_input": False,
                     "scaling": "none", "out_bits": 12, "in_bits": 8}) == [
        "c.yaml: circulant.real_fft: the k/2-point real transforms need real_input: true, "
        "per_stage scaling, k >= 8 (a k/2-point core of at least 4 points); set "
        "real_fft: false or change those"]
    assert problems({"real_fft": True, "architecture": "streaming"}) == [
        "c.yaml: circulant.real_fft: the k/2-point real transforms need the parallel "
        "architecture; set real_fft: false or change those"]
    two = parse_circulant({"k": 8, "m": 16, "n": 16, "real_fft": True,
                           "real_fft_stages": 2}, "c.yaml")
    assert (two.transform_latency, cfg.transform_latency) == (4, 3)
    assert problems({"real_fft_stages": 2}) == [
        "c.yaml: circulant.real_fft_stages: applies to real_fft: true only (the split and "
        "merge stages of the k/2-point transforms)"]
    assert problems({"real_fft": True, "k": 8, "m": 8, "n": 8, "real_fft_stages": 3}) == [
        "c.yaml: circulant.real_fft_stages: must be between 1 and 2, got 3"]
    assert problems({"real_fft": 1}) == [
        "c.yaml: circulant.real_fft: must be true or false, got int 1"]


def test_none_scaling_at_the_exact_width_is_accepted():
    cfg = parse_circulant({"k": 64, "in_bits": 8, "out_bits": 15, "scaling": "none"}, "c.yaml")
    assert cfg.stage_bits(cfg.stages) == 15
