"""Networks at the command line: estimate --model, run, compile; one line and exit 2 for a
model, op, shape or file hwgen cannot take."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwgen.cli import main
from hwgen.compiler.package import load_package, run_package
from hwgen.lib.errors import BadInput
from sim_tb.amaranth_sim import run_program_amaranth


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def small_onnx(path, op="Relu"):
    """conv -> op -> global average pool -> flatten -> gemm, 2x6x6 in."""
    r = np.random.default_rng(0)
    inits = [numpy_helper.from_array(r.normal(0, 0.5, s).astype(np.float32), k)
             for k, s in (("w", (4, 2, 3, 3)), ("b", (4,)), ("wg", (3, 4)), ("bg", (3,)))]
    n = helper.make_node
    nodes = [n("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             n(op, ["c"], ["a"], name="act"),
             n("GlobalAveragePool", ["a"], ["p"], name="gap"),
             n("Flatten", ["p"], ["f"], name="flat"),
             n("Gemm", ["f", "wg", "bg"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "small",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def test_estimate_digits_json(capsys):
    code, out, _ = run(capsys, "estimate", "ws16", "--model", "digits_cnn", "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    for k in ("cycles", "macs", "utilization", "host_beats", "layers", "host_ops",
              "estimate_seconds"):
        assert k in rep
    arr = [d for d in rep["layers"] if d["where"] == "array"]
    assert [d["name"] for d in arr] == ["conv1", "conv2", "conv3", "pool", "fc"]
    for d in arr:
        for k in ("name", "op", "gemm", "mapping", "cycles", "utilization", "host_beats"):
            assert k in d
        assert set(d["gemm"]) == {"M", "K", "N"}
    assert rep["cycles"] == sum(d["cycles"] for d in rep["layers"])
    assert rep["macs"] == sum(d["macs"] for d in arr)
    assert rep["host_beats"] == sum(d["host_beats"] for d in arr)
    assert rep["host_ops"] == []
    # a batch: every layer's parts per image, cycles grow
    code, out2, _ = run(capsys, "estimate", "ws16", "--model", "digits_cnn", "--input-shape",
                        "4x1x8x8", "--json", "-q")
    assert code == 0 and json.loads(out2)["cycles"] > 3 * rep["cycles"]


def test_estimate_table(capsys):
    code, out, _ = run(capsys, "estimate", "os16", "--model", "digits_cnn", "-q")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["layer", "op", "where"]
    assert any(line.startswith("conv1 ") for line in lines)


@pytest.mark.parametrize("argv,message", [
    (["--workload", "gemm:4x4x4", "--model", "digits_cnn"],
     "hwgen: estimate takes a workload: either --workload gemm:MxKxN or --model MODEL"),
    ([], "hwgen: estimate takes a workload: either --workload gemm:MxKxN or --model MODEL"),
    (["--model", "lenet"], "hwgen: unknown model 'lenet': not a file, and not one of the "
                           "built-in models (digits_cnn, mobilenet_v2, resnet18)"),
    (["--model", "digits_cnn", "--input-shape", "1x3"],
     "hwgen: argument --input-shape: '1x3': expected NxCxHxW or CxHxW with positive "
     "integers, e.g. 1x3x224x224"),
    (["--model", "digits_cnn", "--input-shape", "1x3x8x8"],
     "hwgen: digits_cnn: input shape (3, 8, 8) does not match the model's input (1, 8, 8)"),
    (["--model", "resnet18", "--input-shape", "1x3x16x16"],
     "hwgen: resnet18: input shape (3, 16, 16) does not fit the model (3 channels, at least "
     "32x32)"),
    (["--workload", "gemm:4x4x4", "--input-shape", "1x3x8x8"],
     "hwgen: --input-shape and --calib go with --model"),
])
def test_estimate_refusals(capsys, argv, message):
    code, out, err = run(capsys, "estimate", "tiny", *argv, "-q")
    assert code == 2 and out == ""
    assert err.strip() == message


def test_model_file_refusals(capsys, tmp_path):
    txt = tmp_path / "model.onnx"
    txt.write_text("not a protobuf\n")
    code, _, err = run(capsys, "estimate", "tiny", "--model", txt, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "model.onnx" in err
    other = tmp_path / "weights.bin"
    other.write_bytes(b"\0" * 16)
    code, _, err = run(capsys, "estimate", "tiny", "--model", other, "-q")
    assert code == 2 and err.strip() == ("hwgen: weights.bin: not a model file (expected "
                                         ".onnx or .pt2)")
    bad_op = small_onnx(tmp_path / "softmax.onnx", op="Softmax")
    code, _, err = run(capsys, "estimate", "tiny", "--model", bad_op, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "act" in err and "Softmax" in err
    calib = tmp_path / "calib.npy"
    np.save(calib, np.zeros((4, 1, 8, 9), dtype=np.float32))
    code, _, err = run(capsys, "estimate", "tiny", "--model", "digits_cnn", "--calib", calib,
                       "-q")
    assert code == 2 and err.strip() == ("hwgen: digits_cnn: calibration images have shape "
                                         "(1, 8, 9), the model takes (1, 8, 8)")


def test_run_small_onnx_on_amaranth(capsys, tmp_path):
    model = small_onnx(tmp_path / "small.onnx")
    x = np.random.default_rng(1).normal(size=(2, 2, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 2]))
    code, out, err = run(capsys, "run", "tiny", "--model", model, "--sim", "amaranth",
                         "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy",
                         "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] and rep["cycles_match"] and rep["images"] == 2
    assert rep["cycles"] == rep["estimate_cycles"] == sum(d["cycles"] for d in rep["layers"])
    assert all(d["bit_exact"] for d in rep["layers"] if d["where"] == "array")
    assert set(rep["accuracy"]) == {"float", "quantized", "rtl", "labels"}
    assert rep["accuracy"]["rtl"] == rep["accuracy"]["quantized"]
    # the estimate of the same model and batch gives the same cycles
    code, out, _ = run(capsys, "estimate", "tiny", "--model", model, "--input-shape",
                       "2x2x6x6", "--json", "-q")
    assert json.loads(out)["cycles"] == rep["cycles"]


def test_run_refusals(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8), dtype=np.float32))
    code, _, err = run(capsys, "run", "tiny", "--model", "digits_cnn", "--sim", "amaranth",
                       "--input", tmp_path / "x.npy", "-q")
    assert code == 2 and err.strip() == (f"hwgen: {tmp_path / 'x.npy'}: images have shape "
                                         "(2, 3, 8, 8), digits_cnn takes (N, 1, 8, 8)")
    np.save(tmp_path / "nan.npy", np.full((1, 1, 8, 8), np.nan, dtype=np.float32))
    code, _, err = run(capsys, "run", "tiny", "--model", "digits_cnn", "--sim", "amaranth",
                       "--input", tmp_path / "nan.npy", "-q")
    assert code == 2 and "NaN" in err
    code, _, err = run(capsys, "run", "tiny", "--model", "digits_cnn", "--images", "2",
                       "--input", tmp_path / "x.npy", "-q")
    assert code == 2 and "not allowed with argument" in err
    code, _, err = run(capsys, "run", "tiny", "--model", "digits_cnn", "--images", "0", "-q")
    assert code == 2 and "--images" in err


def test_compile_package_replays_bit_exact(capsys, tmp_path):
    out = tmp_path / "pkg"
    code, stdout, err = run(capsys, "compile", "tiny", "--model", "digits_cnn", "-o", out, "-q")
    assert code == 0, err
    man = json.loads((out / "manifest.json").read_text())
    assert man["config"] == "tiny" and man["model"] == "digits_cnn"
    progs = [d for d in man["layers"] if d["where"] == "array"]
    assert progs and all((out / d["program"]).is_file() for d in progs)
    pkg = load_package(out)

    def execute(prog):
        res = run_program_amaranth(pkg.cfg, prog.cmds, prog.din, prog.n_dout,
                                   max_cycles=2_000_000)
        assert not res.timed_out
        return res.dout

    xq = np.load(out / "vectors" / "input.npy")
    env = run_package(pkg, xq, execute)
    for d in progs:
        assert (env[d["output"]] == np.load(out / d["test_output"])).all(), d["name"]
    # the test vectors are the programs' beats for that image
    first = progs[0]
    assert len((out / first["test_din"]).read_text().split()) == first["din_beats"]
    # a changed file is noticed; a second compile into a directory of the user's refused
    (out / first["program"]).write_text("0\n")
    with pytest.raises(BadInput, match="was changed after compiling"):
        load_package(out)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code, _, err = run(capsys, "compile", "tiny", "--model", "digits_cnn", "-o", mine, "-q")
    assert code == 2 and "holds files hwgen did not write" in err
    assert (mine / "notes.txt").read_text() == "keep"
