"""hwgen estimate --model on multi-pod and heterogeneous designs: per-layer pods used and
cycles, the schedule of several models on sub-accelerators, and what is refused."""
import json

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
    (["generate", "{pods}", "-o", "x"], "pods: hwgen generate builds one array"),
    (["sim", "{het}", "--workload", "gemm:4x4x4"], "subaccelerators: hwgen sim builds one"),
    (["estimate", "{pods}", "--workload", "gemm:4x4x4"],
     "pods: hwgen estimate --workload builds one array"),
    (["estimate", "tiny", "--model", "digits_cnn", "--model", "digits_cnn"],
     "hwgen: several --model go with a design of subaccelerators"),
])
def test_refused_in_one_line(capsys, configs, argv, message):
    argv = [a.format(pods=configs / "pods.yaml", het=configs / "het.yaml") for a in argv]
    code, out, err = run(capsys, *argv, "-q")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err
