"""``hwgen check`` and ``hwgen generate`` on configs with a ``gru:`` section: bad values
exit 2 with one line each naming the YAML path, a good one writes the cell."""
import json
from pathlib import Path

from hwgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_bad_gru_exit_2_one_line_each(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cfg.yaml").write_text("gru: {hidden_size: 10, block_size: 4, w_bits: 1}\n")
    code, out, err = run(capsys, "check", "cfg.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "cfg.yaml: gru.hidden_size: must be a multiple of block_size=4, got 10",
        "cfg.yaml: gru.w_bits: must be between 2 and 16, got 1"]
    assert sorted(Path(".").iterdir()) == [Path("cfg.yaml")]


def test_generate_writes_the_cell_next_to_the_lstm(capsys, tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("name: g\narray: {rows: 2, cols: 2}\n"
                   "lstm: {input_size: 4, hidden_size: 4, block_size: 4}\n"
                   "gru: {input_size: 4, hidden_size: 8, block_size: 4, frac: 6, "
                   "in_bits: 9, bias_bits: 20}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_gru", "hwgen_lstm"]
    ports = {p["name"]: p for p in man["units"]["hwgen_gru"]["ports"]}
    assert ports["w_in__payload"]["width"] == 20
    assert ports["x_in__payload"]["width"] == 9 + 1
    assert ports["y_out__payload"]["width"] == 6 + 2
    assert "module hwgen_gru(" in (out / "hwgen_gru.v").read_text()
    assert man["config"]["gru"]["hidden_size"] == 8
