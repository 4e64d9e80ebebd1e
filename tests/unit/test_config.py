import textwrap

import pytest

from hwgen.config import (ConfigError, acc_bits_needed, config_dict, config_hash,
                          load_config, preset_names)
from hwgen.config.loader import config_from_dict


@pytest.fixture
def problems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(text, name="cfg.yaml"):
        (tmp_path / name).write_text(textwrap.dedent(text))
        with pytest.raises(ConfigError) as e:
            load_config(name)
        return e.value.problems
    return run


def test_presets_load():
    assert {"tiny", "ws16", "os16"} <= set(preset_names())
    ws, os_ = load_config("ws16"), load_config("os16")
    assert (ws.R, ws.C, ws.array.dataflow) == (16, 16, "weight_stationary")
    assert (os_.R, os_.C, os_.array.dataflow) == (16, 16, "output_stationary")
    # ws16 keeps a 256x256x256 GEMM's operands on chip
    assert ws.chunk_fits(256, 256, 256) is None and os_.chunk_fits(256, 256, 256) is None


def test_input_stationary_preset_and_its_parameters():
    """is16: the activations stationary, so the buffers' words are exchanged (input
    words of COLS elements, weight words of ROWS), and the exported parameters say so."""
    cfg = load_config("is16")
    assert (cfg.array.dataflow, cfg.features.im2col) == ("input_stationary", False)
    rect = cfg.replace(array=cfg.array.__class__(rows=4, cols=6, dataflow="is"))
    assert (rect.in_word_elems, rect.w_word_elems, rect.acc_word_elems) == (6, 4, 6)
    p = rect.params()
    assert (p["DATAFLOW_IS"], p["DATAFLOW_OS"]) == (1, 0)
    assert load_config("ws16").params()["DATAFLOW_IS"] == 0
    # a chunk's words: A^T tiles (K tiles of R words per M tile of C), B's columns per
    # K tile, C^T words per M tile
    assert rect.chunk_words(7, 9, 5) == {"input": 3 * 4 * 2, "weight": 3 * 5, "acc": 2 * 5}


def test_acc_width_is_exact():
    # 8-bit operands: the worst product is (-128)^2 = 2^14
    assert acc_bits_needed(8, 1) == 16          # 2^14 <= 2^15 - 1
    assert acc_bits_needed(8, 2) == 17          # 2^15 needs 17 signed bits
    assert acc_bits_needed(8, 1024) == 26
    for b in range(2, 17):
        for k in (1, 3, 100, 4095):
            w = acc_bits_needed(b, k)
            peak = k * (1 << (2 * b - 2))
            assert peak <= (1 << (w - 1)) - 1 and peak > (1 << (w - 2)) - 1


def test_hash_and_dict_stable():
    a, b = load_config("tiny"), load_config("tiny")
    assert config_hash(a) == config_hash(b)
    assert config_dict(a)["precision"]["acc_bits"] == a.acc_bits
    assert config_hash(a) != config_hash(a.replace(name="other"))


@pytest.mark.parametrize("text, expect", [
    ("array: {rows: 0}", "cfg.yaml: array.rows: must be between 1 and 64, got 0"),
    ("array: {rows: 65}", "cfg.yaml: array.rows: must be between 1 and 64, got 65"),
    ("array: {cols: four}", "cfg.yaml: array.cols: must be an integer, got a string 'four'"),
    ("array: {dataflow: row_stationary}",
     "cfg.yaml: array.dataflow: must be one of weight_stationary, output_stationary, "
     "input_stationary, got 'row_stationary'"),
    ("array: {rowz: 4}", "cfg.yaml: array.rowz: unknown key (known: cols, dataflow, rows)"),
    ("precision: {in_bits: 1}", "cfg.yaml: precision.in_bits: must be between 2 and 16, got 1"),
    ("precision: {in_bits: 17}", "cfg.yaml: precision.in_bits: must be between 2 and 16, got 17"),
    ("precision: {in_bits: 8, max_k: 1024, acc_bits: 20}",
     "cfg.yaml: precision.acc_bits: 20 bits overflow for max_k=1024 with 8-bit operands; needs at least 26 (or leave it out to derive it)"),
    ("precision: {in_bits: 8, out_bits: 30, max_k: 2}",
     "cfg.yaml: precision.out_bits: must not exceed the accumulator width 17, got 30"),
    ("buffers: {input: {banks: 3}}", "cfg.yaml: buffers.input.banks: must be between 1 and 2, got 3"),
    ("host: {beat_elems: 0}", "cfg.yaml: host.beat_elems: must be between 1 and 64, got 0"),
    ("foo: 1", "cfg.yaml: foo: unknown key (known: array, bayesian, buffers, circulant, features, grng, gru, host, lstm, mapping, name, pattern_conv, pipeline, pods, precision, sc, subaccelerators)"),
    ("array: [1, 2]", "cfg.yaml: array: must be a mapping, got a list"),
    ("mapping: {tile: {m: 8, k: 8, n: 8}, order: [k, m, n]}",
     "cfg.yaml: mapping.order: k must be innermost (partial sums stay in the accumulator buffer), got ['k', 'm', 'n']"),
    ("mapping: {tile: {m: 8, k: 8, n: 8}, order: [m, m, k]}",
     "cfg.yaml: mapping.order: must be a permutation of [m, n, k], got ['m', 'm', 'k']"),
    ("mapping: {tile: {m: 8, k: 8}}", "cfg.yaml: mapping.tile: must give m, k and n (chunk sizes held on chip)"),
])
def test_bad_config_one_line(problems, text, expect):
    assert expect in problems(text)


def test_mapping_that_does_not_fit(problems):
    probs = problems("""
        array: {rows: 4, cols: 4, dataflow: ws}
        buffers: {input: {depth: 64}, weight: {depth: 64}, acc: {depth: 64}}
        mapping: {tile: {m: 64, k: 64, n: 64}, order: [m, n, k]}
    """)
    assert probs == ["cfg.yaml: mapping.tile: does not fit the buffers: input buffer needs "
                     "1024 words per bank for a 64x64x64 chunk, has 64; shrink the tile or "
                     "deepen the buffers"]


def test_every_problem_reported(problems):
    probs = problems("array: {rows: 0, cols: 99}\nprecision: {in_bits: 40}\n")
    assert len(probs) == 3 and all(p.startswith("cfg.yaml: ") for p in probs)


def test_malformed_yaml(problems):
    probs = problems("array: {rows: 4\nprecision: [\n")
    assert len(probs) == 1 and probs[0].startswith("cfg.yaml: line ")
    assert "malformed YAML" in probs[0]


def test_missing_file_names_presets():
    with pytest.raises(ConfigError) as e:
        load_config("no_such_config")
    line = e.value.problems[0]
    assert line.startswith("no_such_config: no such file, and not a preset (presets: ")
    assert all(p in line for p in ("tiny", "ws16", "os16"))


def test_empty_file_is_rejected(problems):
    assert problems("", "empty.yaml") == ["empty.yaml: <top>: must be a mapping, got nothing"]


def test_mapping_accepted():
    cfg = config_from_dict({"array": {"rows": 4, "cols": 4},
                            "mapping": {"tile": {"m": 16, "k": 32, "n": 8}, "order": ["n", "m", "k"]}})
    assert (cfg.mapping.tile_m, cfg.mapping.tile_k, cfg.mapping.tile_n) == (16, 32, 8)
    assert cfg.mapping.order == ("n", "m", "k")


def test_sc_section_hooked_into_the_config(problems):
    cfg = config_from_dict({"sc": {"length": 256, "encoding": "bipolar", "fan_in": 8,
                                   "neurons": 2}}, "x.yaml")
    assert cfg.sc.length == 256 and config_dict(cfg)["sc"]["fan_in"] == 8
    assert "sc" not in config_dict(load_config("tiny"))  # hashes of plain configs unchanged
    assert problems("sc: {length: 100}") == ["cfg.yaml: sc.length: must be a power of two, got 100"]


def test_circulant_section_hooked_into_the_config(problems):
    cfg = config_from_dict({"circulant": {"k": 16, "m": 32, "n": 64}}, "x.yaml")
    assert cfg.circulant.k == 16
    assert "circulant" not in config_dict(load_config("tiny"))
    assert problems("circulant: {k: 12}")[0] == "cfg.yaml: circulant.k: must be a power of two, got 12"
