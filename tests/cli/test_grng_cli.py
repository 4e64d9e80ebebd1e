"""``hwgen check`` and ``hwgen generate`` on configs with ``grng:`` and ``bayesian:``
sections: bad values exit 2 with one line each, good ones write the units."""
from pathlib import Path

from hwgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_bad_grng_and_bayesian_exit_2_one_line_each(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cfg.yaml").write_text(
        "grng: {kind: wallace, lanes: 4, pool: 1022}\n"
        "bayesian: {inputs: 0, grng: {kind: rlf, degree: 127, shift: 64}}\n")
    code, out, err = run(capsys, "check", "cfg.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "cfg.yaml: grng.pool: must be a multiple of the transform size 4, got 1022",
        "cfg.yaml: bayesian.grng.shift: at most 32 for degree 127 (two steps of shift words "
        "must fit below the tap at 64), got 64",
        "cfg.yaml: bayesian.inputs: must be between 1 and 4096, got 0",
    ]
    assert "Traceback" not in err


def test_check_good_sections(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ok.yaml").write_text("grng: {kind: clt, lanes: 2, uniforms: 8}\n"
                               "bayesian: {inputs: 8, outputs: 3, samples: 2}\n")
    code, out, _ = run(capsys, "check", "ok.yaml")
    assert code == 0 and out.startswith("ok.yaml: ok: ok,")


def test_generate_writes_the_generator(capsys, tmp_path):
    import json
    cfg = tmp_path / "g.yaml"
    cfg.write_text("name: g\narray: {rows: 2, cols: 2}\ngrng: {kind: wallace, lanes: 4, "
                   "pool: 64, bits: 10}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_grng"]
    ports = {p["name"]: p for p in man["units"]["hwgen_grng"]["ports"]}
    assert ports["out__payload"]["width"] == 40 and ports["out__payload"]["direction"] == "output"
    assert {"clk", "rst", "out__valid", "out__ready"} <= set(ports)
    assert man["config"]["grng"]["pool"] == 64


def test_generate_writes_the_bayesian_layer(capsys, tmp_path):
    import json
    cfg = tmp_path / "b.yaml"
    cfg.write_text("name: b\narray: {rows: 2, cols: 2}\n"
                   "bayesian: {inputs: 8, outputs: 3, samples: 2, weight_bits: 6,\n"
                   "           grng: {kind: icdf, lanes: 2, bits: 8}}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_bayesian_layer"]
    ports = {p["name"]: p["width"] for p in man["units"]["hwgen_bayesian_layer"]["ports"]}
    assert ports["w_in__payload"] == 2 * 2 * 6 and ports["x_in__payload"] == 8
    assert {"busy", "y_out__valid", "y_out__ready", "y_out__payload"} <= set(ports)
