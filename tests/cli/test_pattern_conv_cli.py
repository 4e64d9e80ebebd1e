"""``hwgen check`` and ``hwgen generate`` on configs with a ``pattern_conv:`` section:
bad values exit 2 with one line each, a good one writes the unit."""
import json
from pathlib import Path

from hwgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_bad_pattern_conv_exit_2_one_line_each(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cfg.yaml").write_text(
        "pattern_conv: {kernel: 5, patterns: [['111', '010', '000']], connectivity: 101}\n")
    code, out, err = run(capsys, "check", "cfg.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "cfg.yaml: pattern_conv.connectivity: must be between 1 and 100, got 101",
        "cfg.yaml: pattern_conv.patterns[0]: must be 5 strings of 5 characters '0' or '1' "
        "(kernel is 5x5), got ['111', '010', '000']",
    ]
    assert "Traceback" not in err


def test_generate_writes_the_unit(capsys, tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("name: p\narray: {rows: 2, cols: 2}\n"
                   "pattern_conv: {in_channels: 4, out_channels: 6, height: 4, width: 4, "
                   "patterns: 6, in_bits: 6, weight_bits: 5}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_pattern_conv"]
    ports = {p["name"]: p for p in man["units"]["hwgen_pattern_conv"]["ports"]}
    # last, channel (2 bits), pattern (3 bits), 4 weights of 5 bits
    assert ports["w_in__payload"]["width"] == 1 + 2 + 3 + 20
    # 4 channels x 4 products of at most 2^9: 14 bits and a sign
    assert ports["y_out__payload"]["width"] == 15
    assert (out / "hwgen_pattern_conv.v").is_file()
    assert len(man["config"]["pattern_conv"]["patterns"]) == 6
