"""The command line as a user meets it: exit codes, one-line errors, outputs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_ok(capsys):
    code, out, _ = run(capsys, "check", "tiny")
    assert code == 0 and out.startswith("tiny: ok: tiny, 4x4 output_stationary")


def test_check_bad_config_exit_2_one_line_each(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("array: {rows: 0, cols: 2, bogus: 1}\n")
    code, out, err = run(capsys, "check", "bad.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "bad.yaml: array.bogus: unknown key (known: cols, dataflow, rows)",
        "bad.yaml: array.rows: must be between 1 and 64, got 0",
    ]
    assert "Traceback" not in err


@pytest.mark.parametrize("spec", ["gemm:3x4", "gemm:0x4x4", "conv:3x3x3", "", "gemm:axbxc"])
def test_bad_workload(capsys, spec):
    code, out, err = run(capsys, "estimate", "tiny", "--workload", spec)
    assert code == 2
    assert err.strip() == (f"hwgen: argument --workload: {spec!r} is not gemm:MxKxN with "
                           "positive integers, e.g. gemm:64x64x64")


def test_workload_k_beyond_max_k(capsys):
    code, _, err = run(capsys, "estimate", "tiny", "--workload", "gemm:4x3000x4")
    assert code == 2 and "gemm K=3000 can overflow the 26-bit accumulator (it holds 2047 " \
        "products of 8-bit operands); raise precision.max_k" in err


def test_estimate_json_keys(capsys):
    code, out, _ = run(capsys, "estimate", "os16", "--workload", "gemm:256x256x256", "--json")
    rep = json.loads(out)
    assert code == 0
    for k in ("cycles", "ideal_cycles", "utilization", "compute_cycles", "compute_utilization",
              "macs", "mapping", "host_beats"):
        assert k in rep
    assert rep["ideal_cycles"] == 256 ** 3 // 256


@pytest.mark.parametrize("preset,shape", [("tiny", (5, 6, 7)), ("tiny", (64, 48, 40)),
                                          ("ws16", (100, 33, 17)), ("os16", (300, 64, 9)),
                                          ("tiny", (1, 1, 1))])
def test_estimate_equals_the_program_replay(capsys, preset, shape):
    """The closed-form estimate reports what replaying the built program gives."""
    import numpy as np

    from hwgen.compiler import build_gemm_program
    from hwgen.config import load_config
    from hwgen.models.gemm import random_operands
    from hwgen.models.perf import program_timing, report
    cfg = load_config(preset)
    a, b = random_operands(np.random.default_rng(1), *shape, cfg.precision.in_bits)
    prog = build_gemm_program(cfg, *shape, a, b)
    want = report(cfg, program_timing(cfg, prog.cmds))
    want["mapping"] = {"tile": dict(zip("mkn", prog.chunks)), "order": list(prog.order)}
    code, out, _ = run(capsys, "estimate", preset, "--workload", "gemm:{}x{}x{}".format(*shape),
                       "--json")
    rep = json.loads(out)
    assert code == 0 and {k: rep[k] for k in want} == want
    assert rep["host_beats"] == len(prog.din) + prog.n_dout


@pytest.mark.parametrize("spec", ["gemm:1000000000x1x1", "gemm:100000x1000x100000",
                                  "gemm:1000000x1000x1000000"])
def test_estimate_of_huge_gemms_is_immediate(capsys, spec):
    import time
    t0 = time.monotonic()
    code, out, err = run(capsys, "estimate", "tiny", "--workload", spec, "--json")
    assert code == 0, err
    assert time.monotonic() - t0 < 2
    M, K, N = (int(x) for x in spec[5:].split("x"))
    assert json.loads(out)["macs"] == M * K * N


def test_generate_outputs(capsys, tmp_path):
    out = tmp_path / "gen"
    code, _, _ = run(capsys, "generate", "tiny", "-o", str(out))
    assert code == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["config"]["array"] == {"rows": 4, "cols": 4, "dataflow": "output_stationary"}
    assert man["config"]["precision"]["acc_bits"] == 26
    assert man["tools"]["amaranth"].startswith("0.5")
    ports = {p["name"]: p for p in man["ports"]}
    assert ports["cmd__payload"] == {"name": "cmd__payload", "direction": "input", "width": 64}
    assert ports["dout__payload"]["width"] == 4 * 26
    params = json.loads((out / "params.json").read_text())
    header = (out / "hwgen_params.h").read_text()
    for k, v in params.items():
        assert f"#define HWGEN_{k} {v}\n" in header
    assert not list(out.glob(".*tmp*"))


def test_generate_writes_special_units(capsys, tmp_path):
    """Optional ``sc:`` / ``circulant:`` sections give one stand-alone module each,
    listed in the manifest with its ports and hash."""
    import hashlib
    cfg = tmp_path / "u.yaml"
    cfg.write_text("name: u\narray: {rows: 2, cols: 2}\n"
                   "sc: {length: 64, encoding: bipolar, fan_in: 4, neurons: 2}\n"
                   "circulant: {k: 8, m: 16, n: 16}\n")
    out = tmp_path / "gen"
    assert run(capsys, "generate", str(cfg), "-o", str(out))[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(man["units"]) == ["hwgen_circulant_layer", "hwgen_sc_layer"]
    for name, unit in man["units"].items():
        text = (out / unit["file"]).read_text()
        assert f"module {name}(" in text
        assert man["files"][unit["file"]] == hashlib.sha256(text.encode()).hexdigest()
        assert {p["name"] for p in unit["ports"]} >= {"clk", "rst"}
    plain = tmp_path / "plain"
    assert run(capsys, "generate", "tiny", "-o", str(plain))[0] == 0
    assert json.loads((plain / "manifest.json").read_text())["units"] == {}


def test_generate_interrupted_keeps_the_previous_output(tmp_path, monkeypatch):
    """A run that dies mid-way leaves the previous output as it was (its manifest still
    describes its files) and no temporary files."""
    import hashlib

    import hwgen.outputs as outputs
    out = tmp_path / "gen"
    from hwgen.config import load_config
    outputs.write_outputs(load_config("tiny"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(text):
        raise KeyboardInterrupt
    monkeypatch.setattr(outputs, "c_header", lambda cfg, digest: boom(cfg))
    with pytest.raises(KeyboardInterrupt):
        outputs.write_outputs(load_config("tiny"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    man = json.loads((out / "manifest.json").read_text())
    for name, digest in man["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]


def test_cli_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "hwgen.cli", "check", "ws16"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "16x16 weight_stationary" in out.stdout


def test_missing_simulator_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("IVERILOG", "/nonexistent/iverilog")
    code, out, err = run(capsys, "sim", "tiny", "--sim", "icarus", "--workload", "gemm:2x2x2")
    lines = [l for l in err.splitlines() if not l.startswith("hwgen: generating")
             and not l.startswith("hwgen: simulating")]
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("hwgen: iverilog (for ") and "apt-get install -y iverilog" in lines[0]


def test_sim_amaranth_reports_and_matches_estimate(capsys):
    code, out, _ = run(capsys, "sim", "tiny", "--sim", "amaranth", "--workload", "gemm:5x6x7",
                       "--json", "--seed", "4")
    rep = json.loads(out)
    assert code == 0 and rep["correct"] is True
    assert rep["cycles"] == rep["estimate_cycles"]
    assert rep["ideal_cycles"] == -(-5 * 6 * 7 // 16)
    assert rep["utilization"] == round(5 * 6 * 7 / (16 * rep["cycles"]), 6)


def test_sim_timeout_says_so(capsys):
    code, out, err = run(capsys, "sim", "tiny", "--sim", "amaranth", "--workload", "gemm:4x4x4",
                         "--stall", "90", "--max-cycles", "60")
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "hwgen: the simulation stopped at --max-cycles 60 before the program finished (the "
        "cycle model expects 58 cycles without back-pressure)")


def test_sim_exit_1_when_not_bit_exact(capsys, monkeypatch):
    import hwgen.models.gemm as golden
    real = golden.gemm
    monkeypatch.setattr(golden, "gemm", lambda a, b: real(a, b) + 1)  # a wrong reference
    code, out, err = run(capsys, "sim", "tiny", "--sim", "amaranth", "--workload", "gemm:3x3x3")
    assert code == 1 and "NOT bit-exact" in err and "seed 1" in err


def test_examples_are_valid(capsys):
    root = Path(__file__).resolve().parents[2] / "examples"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        code, out, err = run(capsys, "check", str(f))
        assert code == 0, err


def test_estimate_of_a_large_gemm(capsys):
    # 1G MACs on 16 PEs: the mapping search must not build every candidate's program
    code, out, _ = run(capsys, "estimate", "tiny", "--workload", "gemm:1024x1024x1024", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["utilization"] > 0.9
    assert rep["ideal_cycles"] == 1024 ** 3 // 16


def test_fpga_unknown_board_and_does_not_fit(capsys):
    code, _, err = run(capsys, "fpga", "ice40", "--board", "de0nano", "-o", "/nonexistent/x")
    assert code == 2 and "unknown board 'de0nano' (known: icebreaker" in err
    # ws16's buffers alone exceed the UP5K: refused before any tool runs, as bad input
    code, _, err = run(capsys, "fpga", "ws16", "--board", "icebreaker", "-o", "/nonexistent/x")
    assert code == 2 and "BRAM" in err and "over by" in err
    assert len(err.strip().splitlines()) == 1


IS_CONFIG = """\
name: is3x4
array: {rows: 3, cols: 4, dataflow: is}
buffers:
  input:  {depth: 128, banks: 2}
  weight: {depth: 128, banks: 2}
  acc:    {depth: 128, banks: 1}
host: {beat_elems: 3}
features: {im2col: false}
"""


@pytest.mark.parametrize("text,line", [
    (IS_CONFIG.replace("features: {im2col: false}\n", ""),
     "is.yaml: features.im2col: an input_stationary array has no on-chip im2col (convolutions "
     "are lowered with im2col on the host); set features.im2col: false"),
    (IS_CONFIG + "pods: {count: 2}\n",
     "is.yaml: pods: an input_stationary array cannot be a pod yet; use ws or os for a "
     "multi-pod design"),
    (IS_CONFIG.replace("dataflow: is", "dataflow: iss"),
     "is.yaml: array.dataflow: must be one of weight_stationary, output_stationary, "
     "input_stationary, got 'iss'"),
])
def test_input_stationary_bad_combinations_exit_2(capsys, tmp_path, monkeypatch, text, line):
    monkeypatch.chdir(tmp_path)
    Path("is.yaml").write_text(text)
    code, out, err = run(capsys, "check", "is.yaml")
    assert code == 2 and out == "" and err.splitlines() == [line]


@pytest.mark.parametrize("shape", ["1x1x1", "7x10x9", "13x5x4"])
def test_sim_input_stationary_matches_estimate(capsys, tmp_path, monkeypatch, shape):
    """Edge tiles in every dimension (M, N, K not multiples of the 3x4 array)."""
    monkeypatch.chdir(tmp_path)
    Path("is.yaml").write_text(IS_CONFIG)
    code, out, _ = run(capsys, "estimate", "is.yaml", "--workload", f"gemm:{shape}", "--json")
    est = json.loads(out)
    code, out, _ = run(capsys, "sim", "is.yaml", "--sim", "amaranth", "--workload",
                       f"gemm:{shape}", "--json", "--seed", "5")
    rep = json.loads(out)
    assert code == 0 and rep["correct"] is True
    assert rep["cycles"] == rep["estimate_cycles"] == est["cycles"]
    assert rep["compute_cycles"] == est["compute_cycles"]
