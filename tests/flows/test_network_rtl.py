"""Networks on the generated Verilog: the digits CNN end to end (50 test images) on
Verilator on a weight- and an output-stationary design with non-square arrays, a small
CNN with every mapped op on Icarus, random convolutions on Verilator, and (slow)
ResNet-18 and MobileNetV2 at 3x32x32 on the presets; every layer bit-exact against the
integer reference with cycles equal to the estimate."""
import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen.cli import main
from hwgen.compiler.conv import (ConvSpec, conv_mapping, conv_nest, conv_output, emit_conv,
                                 fits)
from hwgen.compiler.network import plan_network
from hwgen.config import config_from_dict, load_config
from hwgen.emit import cached_verilog
from hwgen.frontend import load_model
from hwgen.lib.errors import WorkloadError
from hwgen.models.perf import nest_timing
from sim_tb.network import run_network
from sim_tb.runner import run_program

from ..unit.test_conv import direct_conv
from ..unit.test_frontend_onnx import every_op_model, save

WS43 = {"name": "ws4x3", "array": {"rows": 4, "cols": 3, "dataflow": "ws"},
        "buffers": {"input": {"depth": 512}, "weight": {"depth": 512}, "acc": {"depth": 256}},
        "host": {"beat_elems": 4}}
OS35 = {"name": "os3x5", "array": {"rows": 3, "cols": 5, "dataflow": "os"},
        "buffers": {"input": {"depth": 512}, "weight": {"depth": 512}, "acc": {"depth": 256}},
        "host": {"beat_elems": 4}}


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cfg", [WS43, OS35], ids=["ws4x3", "os3x5"])
def test_digits_cnn_50_images_on_verilator(cfg, capsys, tmp_path):
    path = tmp_path / f"{cfg['name']}.yaml"
    path.write_text(json.dumps(cfg))
    code, out, err = run_cli(capsys, "run", path, "--model", "digits_cnn", "--sim", "verilator",
                             "--images", "50", "--json", "-q")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] and rep["cycles_match"] and rep["images"] == 50
    assert rep["cycles"] == rep["estimate_cycles"]
    layers = [d for d in rep["layers"] if d["where"] == "array"]
    assert len(layers) == 5 and all(d["bit_exact"] and d["cycles"] == d["estimate_cycles"]
                                    for d in layers)
    acc = rep["accuracy"]
    assert acc["labels"] == 50 and acc["rtl"] == acc["quantized"] >= 0.96
    assert rep["top1_agreement"]["rtl_vs_quantized"] == 1.0


def test_small_cnn_every_op_on_icarus(tmp_path):
    model = save(every_op_model(), tmp_path / "every_op.onnx")
    cfg = config_from_dict(OS35, "os3x5.yaml")
    qnet = load_model(model, precision=cfg)
    ops = {layer.op for layer in qnet.layers}
    assert {"conv", "linear", "maxpool", "avgpool", "add", "concat"} <= ops
    x = qnet.quantize_input(np.random.default_rng(2).normal(size=(2, 3, 12, 12)))
    env = qnet.run(x)
    plan = plan_network(cfg, qnet, n_images=2)
    res = run_network(plan, env, sim="icarus")
    assert res.correct, res.first_wrong()
    assert res.cycles_match and res.cycles == plan.totals()["cycles"]
    for o in qnet.outputs:
        assert (res.outputs[o] == env[o]).all()


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(cin=st.integers(1, 7), hw=st.tuples(st.integers(2, 9), st.integers(2, 9)),
       cout=st.integers(1, 7), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.tuples(*[st.integers(0, 1)] * 4), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       seed=st.integers(0, 999), flat=st.sampled_from([None, True, False]))
def test_random_convolutions_on_verilator(dataflow, cin, hw, cout, k, stride, pad, dil, seed,
                                          flat):
    cfg = config_from_dict({**(WS43 if dataflow == "ws" else OS35), "buffers": {
        "input": {"depth": 96}, "weight": {"depth": 128}, "acc": {"depth": 64}}}, "c.yaml")
    spec = ConvSpec(cin, hw[0], hw[1], cout, k[0], k[1], stride, pad, dil)
    if spec.h_out < 1 or spec.w_out < 1:
        return
    try:
        mp = conv_mapping(cfg, spec)
    except WorkloadError:
        return
    if dataflow == "os":   # the output-stationary layout drawn (None: the model's)
        mp = dataclasses.replace(mp, flat=flat)
        if fits(cfg, conv_nest(cfg, spec, mp)) is not None:
            return
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (cin, *hw))
    w = rng.integers(-127, 128, (cout, cin, *k))
    prog, nest = emit_conv(cfg, spec, mp, x, w)
    res = run_program(cached_verilog(cfg), cfg.params(), prog.cmds, prog.din, prog.n_dout,
                      sim="verilator", seed=seed)
    assert not res.timed_out
    got = conv_output(nest, prog.decode(cfg, res.dout).astype(np.int64))
    assert (got == direct_conv(x, w, spec)).all(), (spec, mp)
    assert res.cycles == nest_timing(cfg, nest).cycles


@pytest.mark.parametrize("spec", [
    ConvSpec(3, 7, 7, 4, 3, 3, (1, 1), (1, 1, 1, 1)),             # rows across tiles
    ConvSpec(5, 9, 8, 2, 3, 3, (2, 2), (1, 0, 2, 1), (1, 2))],     # row phases, dilation
    ids=["3x3", "3x3s2d2"])
def test_flat_convolutions_on_icarus(spec):
    """The output-stationary flat layout (a tile spanning output rows, kernel rows
    stepping through row phases) on the Verilog, Icarus."""
    cfg = config_from_dict(OS35, "os3x5.yaml")
    mp = dataclasses.replace(conv_mapping(cfg, spec), flat=True)
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (spec.cin, spec.h, spec.w))
    w = rng.integers(-127, 128, (spec.cout, spec.cin, spec.kh, spec.kw))
    prog, nest = emit_conv(cfg, spec, mp, x, w)
    assert nest.flat
    res = run_program(cached_verilog(cfg), cfg.params(), prog.cmds, prog.din, prog.n_dout,
                      sim="icarus", seed=3)
    assert not res.timed_out
    got = conv_output(nest, prog.decode(cfg, res.dout).astype(np.int64))
    assert (got == direct_conv(x, w, spec)).all()
    assert res.cycles == nest_timing(cfg, nest).cycles


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["ws16", "os16"])
@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2"])
def test_zoo_models_at_32x32_on_verilator(preset, model):
    cfg = load_config(preset)
    qnet = load_model(model, input_shape=(3, 32, 32), precision=cfg)
    x = qnet.quantize_input(np.random.default_rng(5).normal(size=(1, 3, 32, 32)))
    env = qnet.run(x)
    plan = plan_network(cfg, qnet)
    res = run_network(plan, env, sim="verilator", max_cycles=100_000_000)
    assert res.correct, res.first_wrong()
    assert res.cycles_match and res.cycles == plan.totals()["cycles"]
