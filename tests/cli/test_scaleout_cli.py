"""hwgen estimate --model on multi-pod and heterogeneous designs: per-layer pods used and
cycles, the schedule of several models on sub-accelerators, and what is refused; hwgen
generate on both."""
import json
import re

import numpy as np
import pytest

from hwgen.cli import main

BASE = """precision: {in_bits: 8, out_bits: 8, max_k: 4096}
buffers:
  input:  {depth: 1024, banks: 2}
  weight: {depth: 1024, banks: 2}
  acc:    {depth: 1024, banks: 2}
"""
PODS = BASE + """array: {rows: 8, cols: 8, dataflow: os}
host: {beat_elems: 8}
pods: {count: 8, interconnect: butterfly, tiling: sosa}
"""
HET = BASE + """host: {beat_elems: 8}
subaccelerators:
  - {name: ws, array: {rows: 8, cols: 8, dataflow: ws}}
  - {name: os, array: {rows: 8, cols: 8, dataflow: os}}
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def configs(tmp_path):
    (tmp_path / "pods.yaml").write_text(PODS)
    (tmp_path / "het.yaml").write_text(HET)
    return tmp_path


def test_pods_per_layer(capsys, configs):
    code, out, _ = run(capsys, "estimate", str(configs / "pods.yaml"), "--model",
                       "digits_cnn", "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    assert (rep["pods"], rep["interconnect"], rep["interconnect_latency"]) == (8, "butterfly", 3)
    arr = [d for d in rep["layers"] if d["where"] == "pods"]
    assert [d["name"] for d in arr] == ["conv1", "conv2", "conv3", "pool", "fc"]
    assert all(1 <= d["pods_used"] <= 8 and d["cycles"] > 0 for d in arr)
    assert rep["cycles"] == sum(d["cycles"] for d in rep["layers"])
    code, out, _ = run(capsys, "estimate", str(configs / "pods.yaml"), "--model",
                       "digits_cnn", "-q")
    assert code == 0 and "pods" in out.splitlines()[0] and "butterfly" in out


def test_two_models_scheduled(capsys, configs):
    code, out, _ = run(capsys, "estimate", str(configs / "het.yaml"), "--model", "digits_cnn",
                       "--model", "digits_cnn", "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    assert rep["models"] == ["digits_cnn#0", "digits_cnn#1"]
    assert {d["engine"] for d in rep["layers"]} >= {"ws", "os"}
    assert rep["cycles"] == max(d["end"] for d in rep["layers"])
    assert rep["schedule_seconds"] < 0.1


def test_two_models_share_the_pods(capsys, configs):
    code, out, _ = run(capsys, "estimate", str(configs / "pods.yaml"), "--model",
                       "digits_cnn", "--model", "digits_cnn", "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    assert rep["split"] == {"digits_cnn#0": 4, "digits_cnn#1": 4}
    assert rep["cycles"] == max(t["cycles"] for t in rep["tenants"])


@pytest.mark.parametrize("argv,message", [
    (["fpga", "{pods}", "--board", "icebreaker", "-o", "x"],
     "hwgen: does not fit: pods does not fit icebreaker (iCE40UP5K): BRAM: buffers hold "
     "5632 kbit"),
    (["sim", "{het}", "--workload", "gemm:4x4x4", "--stall", "3"],
     "hwgen: --stall is not supported on a heterogeneous design yet"),
    (["sim", "{pods}", "--workload", "gemm:4x4x4", "--stall", "5"],
     "hwgen: --stall is not supported on a multi-pod design yet"),
    (["estimate", "tiny", "--model", "digits_cnn", "--model", "digits_cnn"],
     "hwgen: several --model go with a design of subaccelerators"),
])
def test_refused_in_one_line(capsys, configs, argv, message):
    argv = [a.format(pods=configs / "pods.yaml", het=configs / "het.yaml") for a in argv]
    code, out, err = run(capsys, *argv, "-q")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err


SMALL_PODS = """array: {rows: 2, cols: 2, dataflow: ws}
host: {beat_elems: 2}
buffers: {input: {depth: 64}, weight: {depth: 64}, acc: {depth: 64}}
pods: {count: 4, interconnect: butterfly}
"""
SMALL_HET = """host: {beat_elems: 2}
buffers: {input: {depth: 64}, weight: {depth: 64}, acc: {depth: 64}}
subaccelerators:
  - {name: ws, array: {rows: 2, cols: 3, dataflow: ws}}
  - {name: os, array: {rows: 3, cols: 2, dataflow: os}, buffers: {input: {depth: 32}, weight: {depth: 32}, acc: {depth: 128}}}
"""


@pytest.mark.parametrize("text,ports,params", [
    (SMALL_PODS, 4, {"PODS": 4, "INTERCONNECT_LATENCY": 2, "ROWS": 2, "COLS": 2}),
    (SMALL_HET, 2, {"ENGINES": 2, "ENGINE0_ROWS": 2, "ENGINE0_COLS": 3,
                    "ENGINE0_DATAFLOW_OS": 0, "ENGINE1_ROWS": 3, "ENGINE1_DATAFLOW_OS": 1,
                    "ENGINE1_ACC_DEPTH": 128}),
])
def test_generate_scaleout(capsys, tmp_path, text, ports, params, names):
    """hwgen generate writes a multi-pod or heterogeneous design: its top has a command,
    operand and result stream per pod (engine), params.json and the C header name the
    organisation, and a second run gives the same bytes."""
    (tmp_path / "d.yaml").write_text(text)
    outs = []
    for name in ("a", "b"):
        code, out, err = run(capsys, "generate", str(tmp_path / "d.yaml"), "-o",
                             str(tmp_path / name))
        assert code == 0, err
        outs.append({p.name: p.read_bytes() for p in (tmp_path / name).iterdir()})
    assert outs[0] == outs[1]
    man = json.loads(outs[0]["manifest.json"])
    width = {p["name"]: p["width"] for p in man["ports"]}
    assert width["cmd__valid"] == width["din__valid"] == width["dout__ready"] == ports
    assert width["cmd__data"] == 64 * ports
    got = json.loads(outs[0]["params.json"])
    assert {k: got[k] for k in params} == params
    header = outs[0]["hwgen_params.h"].decode()
    assert all(f"#define HWGEN_{k} {v}" in header for k, v in params.items())
    verilog = outs[0]["hwgen_top.v"].decode()
    tops = re.findall(r"^module \\hwgen_top\.(\w+) ", verilog, re.M)
    assert tops == names, tops   # one accelerator per pod (engine), and the interconnects


@pytest.fixture
def names(text):
    return (["in_net", "out_net", "pod0", "pod1", "pod2", "pod3"] if "pods:" in text
            else ["engine0_ws", "engine1_os"])


def pods_design(tmp_path, dataflow="os", interconnect="butterfly", tiling="sosa"):
    path = tmp_path / f"{dataflow}-{interconnect}-{tiling}.yaml"
    path.write_text(f"""array: {{rows: 2, cols: 2, dataflow: {dataflow}}}
host: {{beat_elems: 2}}
buffers: {{input: {{depth: 64}}, weight: {{depth: 64}}, acc: {{depth: 64}}}}
pods: {{count: 4, interconnect: {interconnect}, tiling: {tiling}}}
""")
    return str(path)


@pytest.mark.parametrize("dataflow,interconnect,tiling,grid", [
    ("os", "butterfly", "sosa", None), ("ws", "crossbar", "sosa", None),
    ("os", "butterfly", "uniform", "2x2"), ("ws", "bus", "sosa", None),
    pytest.param("os", "bus", "uniform", "2x2", marks=pytest.mark.slow)])
def test_sim_gemm_across_pods(capsys, tmp_path, dataflow, interconnect, tiling, grid):
    """hwgen sim on a multi-pod design cuts the GEMM across the pods (chunked on each:
    17x24x9 does not fit one pod's buffers), every slice bit-exact, the cycles those
    hwgen estimate gives (exact for every interconnect, the bus's slots included)."""
    cfg = pods_design(tmp_path, dataflow, interconnect, tiling)
    code, out, _ = run(capsys, "estimate", cfg, "--workload", "gemm:17x24x9", "--json")
    assert code == 0
    est = json.loads(out)
    code, out, err = run(capsys, "sim", cfg, "--workload", "gemm:17x24x9", "--sim",
                         "amaranth", "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] is True and rep["estimate_cycles"] == est["cycles"]
    assert rep["grid"] == est["grid"] and rep["pods_used"] == 4
    assert rep["exact"] is True and rep["cycles"] == est["cycles"]
    if grid is not None:   # uniform: P as square as it factors
        assert rep["grid"] == grid


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_sim_pods_on_rtl(capsys, tmp_path, sim):
    code, out, err = run(capsys, "sim", pods_design(tmp_path), "--workload", "gemm:9x7x5",
                         "--sim", sim, "--seed", "5", "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] is True and rep["cycles"] == rep["estimate_cycles"]


@pytest.mark.parametrize("sim", ["amaranth", pytest.param("verilator", marks=pytest.mark.slow)])
def test_sim_gemm_on_every_engine(capsys, tmp_path, sim):
    """hwgen sim on a heterogeneous design runs the GEMM on every engine at once, each
    bit-exact; the design is done with its slowest engine, as hwgen estimate says, and
    estimate names the fastest engine."""
    (tmp_path / "het.yaml").write_text(SMALL_HET)
    cfg = str(tmp_path / "het.yaml")
    code, out, _ = run(capsys, "estimate", cfg, "--workload", "gemm:17x24x9", "--json")
    assert code == 0
    est = json.loads(out)
    cyc = {e["engine"]: e["cycles"] for e in est["engines"]}
    assert est["fastest"] == min(cyc, key=cyc.get) and len(set(cyc.values())) == 2
    code, out, err = run(capsys, "sim", cfg, "--workload", "gemm:17x24x9", "--sim", sim,
                         "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] is True and all(e["correct"] for e in rep["engines"])
    assert rep["cycles"] == rep["estimate_cycles"]
    assert max(cyc.values()) < rep["cycles"] <= max(cyc.values()) + 4   # and the SYNC


@pytest.mark.parametrize("text,what", [
    (SMALL_PODS, "4 pods of 2x2 weight_stationary (butterfly)"),
    (SMALL_HET, "2 engines: ws 2x3 weight_stationary, os 3x2 output_stationary")])
def test_check_names_the_organisation(capsys, tmp_path, text, what):
    (tmp_path / "d.yaml").write_text(text)
    code, out, _ = run(capsys, "check", str(tmp_path / "d.yaml"))
    assert code == 0 and f": ok: d, {what}, int8 operands" in out


def _small_model(tmp_path):
    from tests.cli.test_network_cli import small_onnx
    model = small_onnx(tmp_path / "small.onnx")
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(2, 2, 6, 6))
            .astype(np.float32))
    return model


RUN_HET = """host: {beat_elems: 2}
buffers: {input: {depth: 64}, weight: {depth: 64}, acc: {depth: 64}}
subaccelerators:
  - {name: ws, array: {rows: 2, cols: 4, dataflow: ws}}
  - {name: os, array: {rows: 4, cols: 2, dataflow: os}}
"""


@pytest.mark.parametrize("text,kind", [
    (SMALL_PODS, "pods"), (RUN_HET, "engines"),
    pytest.param(SMALL_PODS.replace("butterfly", "bus"), "pods", marks=pytest.mark.slow)],
    ids=["butterfly", "engines", "bus"])
def test_run_network_on_scaleout(capsys, tmp_path, text, kind):
    """hwgen run on a multi-pod design (every layer cut across the pods; the butterfly
    and the bus) and on a heterogeneous one (every layer on the engine the scheduler
    chose): bit-exact against the integer reference, every layer's cycles and the total
    those of hwgen estimate."""
    (tmp_path / "d.yaml").write_text(text)
    cfg, model = str(tmp_path / "d.yaml"), str(_small_model(tmp_path))
    code, out, err = run(capsys, "run", cfg, "--model", model, "--sim", "amaranth",
                         "--input", str(tmp_path / "x.npy"), "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    code, out, _ = run(capsys, "estimate", cfg, "--model", model, "--input-shape",
                       "2x2x6x6", "--json", "-q")
    est = json.loads(out)
    assert rep["correct"] and rep["cycles_match"] and rep["images"] == 2
    assert rep["cycles"] == rep["estimate_cycles"] == est["cycles"]
    assert [d["cycles"] for d in rep["layers"]] == [d["cycles"] for d in est["layers"]]
    assert all(d["bit_exact"] for d in rep["layers"] if d["where"] != "host")
    if kind == "pods":
        assert (rep["pods"], rep["exact"]) == (4, True)
        assert rep["interconnect"] == ("bus" if "bus" in text else "butterfly")
        assert [d.get("grid") for d in rep["layers"]] == [d.get("grid") for d in est["layers"]]
        assert rep["cycles"] == sum(d["cycles"] for d in rep["layers"])
    else:
        assert set(rep["engines"]) == {"ws", "os"}
        assert [(d["engine"], d["start"], d["end"]) for d in rep["layers"]] == \
            [(d["engine"], d["start"], d["end"]) for d in est["layers"]]
        return
    code, out, _ = run(capsys, "run", cfg, "--model", model, "--sim", "amaranth",
                       "--input", str(tmp_path / "x.npy"), "-q")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["layer", "op", "where"]


def test_run_refused_on_scaleout(capsys, tmp_path):
    """A layer the pods cannot hold is refused before any simulation."""
    (tmp_path / "d.yaml").write_text(SMALL_PODS.replace("host:", "precision: {max_k: 8}\nhost:"))
    code, out, err = run(capsys, "run", str(tmp_path / "d.yaml"), "--model",
                         str(_small_model(tmp_path)), "--sim", "amaranth", "-q")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "max_k" in err


def test_run_two_models(capsys, tmp_path):
    """Several --model: each on pods of its own (the split estimate reports), or
    scheduled together on the engines; every layer bit-exact, cycles as estimated."""
    model = str(_small_model(tmp_path))
    for text in (SMALL_PODS, RUN_HET):
        (tmp_path / "d.yaml").write_text(text)
        cfg = str(tmp_path / "d.yaml")
        code, out, err = run(capsys, "run", cfg, "--model", model, "--model", model,
                             "--sim", "amaranth", "--images", "1", "--json", "-q")
        assert code == 0, err
        rep = json.loads(out)
        code, out, _ = run(capsys, "estimate", cfg, "--model", model, "--model", model,
                           "--input-shape", "1x2x6x6", "--json", "-q")
        est = json.loads(out)
        assert rep["models"] == ["small#0", "small#1"] and rep["correct"]
        assert rep["cycles"] == rep["estimate_cycles"] == est["cycles"]
        assert {d["model"] for d in rep["layers"]} == {"small#0", "small#1"}
        assert set(rep["top1_agreement"]) == {"small#0", "small#1"}
        if "split" in est:
            assert rep["split"] == est["split"]


@pytest.mark.parametrize("argv,message", [
    (["run", "tiny", "--model", "digits_cnn", "--model", "digits_cnn"],
     "hwgen: run: several --model go with a design of pods: or subaccelerators:"),
    (["run", "{het}", "--model", "digits_cnn", "--model", "digits_cnn", "--input", "{x}"],
     "hwgen: run: --input and --labels go with one --model"),
])
def test_run_several_models_refused(capsys, configs, argv, message):
    np.save(configs / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    argv = [a.format(het=configs / "het.yaml", x=configs / "x.npy") for a in argv]
    code, out, err = run(capsys, *argv, "-q")
    assert code == 2 and out == "" and err.startswith(message), err


@pytest.mark.parametrize("text", [SMALL_PODS, RUN_HET], ids=["pods", "engines"])
def test_compile_scaleout_package_replays(capsys, tmp_path, text):
    """hwgen compile on a scale-out design writes every layer's program per port (pod
    or engine) with what it waits for; replayed layer by layer on the data path, the
    package gives the test vectors' outputs, and a changed program is noticed."""
    from hwgen.compiler.package import load_package, run_scaleout_package
    from sim_tb.pods import Job, run_jobs_amaranth
    (tmp_path / "d.yaml").write_text(text)
    out = tmp_path / "pkg"
    code, _, err = run(capsys, "compile", str(tmp_path / "d.yaml"), "--model",
                       str(_small_model(tmp_path)), "-o", str(out), "-q")
    assert code == 0, err
    man = json.loads((out / "manifest.json").read_text())
    on = [d for d in man["layers"] if "ports" in d]
    assert man["organisation"] in ("pods", "engines") and on
    assert all((out / pt["program"]).is_file() for d in on for pt in d["ports"])
    if man["organisation"] == "pods":
        assert any(len(d["ports"]) > 1 for d in on)
        assert all(d["after"] == ([] if i == 0 else [on[i - 1]["name"]])
                   for i, d in enumerate(on))
    else:
        assert {d["engine"] for d in on} <= {"ws", "os"}
    pkg = load_package(out)
    cycles = []

    def execute(ports):
        res = run_jobs_amaranth(pkg.cfg, [Job(p, tuple(c), tuple(d), n)
                                          for p, c, d, n in ports])
        assert not res.timed_out
        cycles.append(res.cycles)
        return res.job_dout

    env = run_scaleout_package(pkg, np.load(out / "vectors" / "input.npy"), execute)
    for d in on:
        assert (env[d["output"]] == np.load(out / d["test_output"])).all(), d["name"]
    assert cycles == [d["cycles"] for d in on]
    first = on[0]["ports"][0]
    (out / first["program"]).write_text("0\n")
    with pytest.raises(Exception, match="was changed after compiling"):
        load_package(out)
