"""``hwgen check`` and ``hwgen generate`` on configs with an ``lstm:`` section: bad values
exit 2 with one line each, a good one writes the cell."""
import json
from pathlib import Path

from hwgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_bad_lstm_exit_2_one_line_each(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cfg.yaml").write_text("lstm: {input_size: 6, block_size: 4, frac: 20, gru: true}\n")
    code, out, err = run(capsys, "check", "cfg.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "cfg.yaml: lstm.gru: unknown key (known: bias_bits, block_size, frac, hidden_size, "
        "in_bits, input_size, state_bits, w_bits, w_frac)",
        "cfg.yaml: lstm.input_size: must be a multiple of block_size=4, got 6",
        "cfg.yaml: lstm.frac: must be at most state_bits - 2 = 14 (the state holds +-1.0), "
        "got 20"]
    assert "Traceback" not in err
    assert sorted(Path(".").iterdir()) == [Path("cfg.yaml")]


def test_generate_writes_the_cell(capsys, tmp_path):
    cfg = tmp_path / "l.yaml"
    cfg.write_text("name: l\narray: {rows: 2, cols: 2}\n"
                   "lstm: {input_size: 4, hidden_size: 8, block_size: 4, frac: 6, "
                   "in_bits: 9, bias_bits: 20}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_lstm"]
    ports = {p["name"]: p for p in man["units"]["hwgen_lstm"]["ports"]}
    assert ports["w_in__payload"]["width"] == 20           # max(w_bits, bias_bits)
    assert ports["x_in__payload"]["width"] == 9 + 1        # code and first flag
    assert ports["y_out__payload"]["width"] == 6 + 2       # within +-2^frac
    text = (out / "hwgen_lstm.v").read_text()
    assert "module hwgen_lstm(" in text
    assert man["config"]["lstm"]["hidden_size"] == 8
