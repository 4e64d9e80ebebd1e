"""ONNX import: float models against onnxruntime's float run, QDQ models (written by
onnxruntime's quantize_static) against onnxruntime's quantized run, and the one-line
errors."""
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper

from hwgen.frontend import ModelError, load_model
from hwgen.frontend.graph import prepare, run_float
from hwgen.frontend.onnx_import import onnx_graph
from hwgen.frontend.zoo import digits_cnn, digits_data


def _typed(v):
    v = np.asarray(v)
    return v.astype(np.int64) if np.issubdtype(v.dtype, np.integer) else v.astype(np.float32)


def make_model(nodes, inits, x_shape=("N", 3, 12, 12), out="y", opset=13, name="t"):
    g = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(_typed(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8

    return m


def save(m, path):
    onnx.save(m, str(path))
    return path


def every_op_model(seed=0, bn=True):
    """Conv (asymmetric pads, bias), BatchNormalization, Relu, MaxPool, depthwise Conv +
    Clip, pointwise Conv + residual Add + Relu, dilated Conv, Concat, AveragePool, a
    host Add, GlobalAveragePool, Flatten, Concat of vectors, Gemm, Relu, Reshape,
    Transpose (no-op), Identity, Dropout, MatMul + constant Add."""
    r = np.random.default_rng(seed)
    w = lambda *s: r.normal(0, 0.4, s)
    init = {
        "w1": w(8, 3, 3, 3), "b1": w(8), "bn_s": r.uniform(0.5, 1.5, 8), "bn_b": w(8),
        "bn_m": w(8), "bn_v": r.uniform(0.5, 2, 8), "w2": w(8, 1, 3, 3), "b2": w(8),
        "lo": np.array(0.0), "hi": np.array(6.0), "w3": w(8, 8, 1, 1), "w4": w(4, 8, 3, 3),
        "w5": w(4, 8, 1, 1), "b5": w(4), "wg": w(16, 80), "bg": w(16),
        "shape": np.array([0, 16, 1, 1]), "wm": w(16, 10), "bm": w(10)}
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="c1", pads=[1, 0, 2, 1]),
        n("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn1"], name="bn1"),
        n("Relu", ["bn1" if bn else "c1"], ["r1"], name="r1"),
        n("MaxPool", ["r1"], ["mp"], name="mp", kernel_shape=[3, 3], strides=[2, 2],
          pads=[1, 1, 1, 1]),
        n("Conv", ["mp", "w2", "b2"], ["c2"], name="c2", group=8, pads=[1, 1, 1, 1]),
        n("Clip", ["c2", "lo", "hi"], ["r2"], name="clip"),
        n("Conv", ["r2", "w3"], ["c3"], name="c3"),
        n("Add", ["c3", "mp"], ["s3"], name="res"),
        n("Relu", ["s3"], ["r3"], name="r3"),
        n("Conv", ["r3", "w4"], ["c4"], name="c4", dilations=[2, 2], pads=[2, 2, 2, 2]),
        n("Conv", ["r3", "w5", "b5"], ["c5"], name="c5"),
        n("Concat", ["c4", "c5"], ["cat"], name="cat", axis=1),
        n("AveragePool", ["cat"], ["ap"], name="ap", kernel_shape=[2, 2], strides=[2, 2]),
        n("MaxPool", ["cat"], ["mp2"], name="mp2", kernel_shape=[2, 2], strides=[2, 2]),
        n("Add", ["ap", "mp2"], ["hadd"], name="hadd"),
        n("Transpose", ["hadd"], ["tr"], name="tr", perm=[0, 1, 2, 3]),
        n("Flatten", ["tr"], ["f1"], name="f1"),
        n("GlobalAveragePool", ["cat"], ["gap"], name="gap"),
        n("Flatten", ["gap"], ["f2"], name="f2"),
        n("Concat", ["f1", "f2"], ["fcat"], name="fcat", axis=1),
        n("Gemm", ["fcat", "wg", "bg"], ["g"], name="gemm", transB=1),
        n("Relu", ["g"], ["gr"], name="gr"),
        n("Dropout", ["gr"], ["dr"], name="drop"),
        n("Reshape", ["dr", "shape"], ["rs"], name="rs"),
        n("Identity", ["rs"], ["id"], name="id"),
        n("Flatten", ["id"], ["f3"], name="f3"),
        n("MatMul", ["f3", "wm"], ["mm"], name="mm"),
        n("Add", ["mm", "bm"], ["y"], name="bias"),
    ]
    if not bn:
        nodes = [n for n in nodes if n.op_type != "BatchNormalization"]
        init = {k: v for k, v in init.items() if not k.startswith("bn_")}
    return make_model(nodes, init)


def test_float_import_equals_onnxruntime(tmp_path):
    m = every_op_model()
    path = save(m, tmp_path / "every.onnx")
    g = onnx_graph(path, (3, 12, 12))
    x = np.random.default_rng(1).normal(size=(4, 3, 12, 12)).astype(np.float32)
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.abs(run_float(g, x)["y"] - ref).max() < 1e-4
    # the fusions keep the float function
    assert np.abs(run_float(prepare(g), x)["y"] - ref).max() < 1e-4


def test_float_import_quantized(tmp_path):
    path = save(every_op_model(), tmp_path / "every.onnx")
    x = np.random.default_rng(2).normal(size=(64, 3, 12, 12)).astype(np.float32)
    net = load_model(path, input_shape=(3, 12, 12), calib=x)
    ops = {layer.name: layer for layer in net.layers}
    assert ops["c3"].residual == "mp" and ops["c3"].lo == 0       # Add and Relu fused
    assert ops["c1"].lo == 0 and ops["c2"].lo == 0                # BN folded, ReLU, Clip
    assert ops["c2"].groups == 8 and ops["c4"].dilation == (2, 2)
    assert ops["hadd"].op == "add" and ops["hadd"].runs_on == ("host",)
    assert ops["mm"].op == "linear" and "bias" not in ops           # MatMul + Add(const)
    assert ops["gap"].op == "avgpool" and ops["gap"].kernel == (7, 6)
    assert ops["rs"].op == "reshape" and ops["rs"].shape == (16, 1, 1)
    # concat inputs share one scale: the flattens, the host add and the pool behind them
    assert len({net.tensor(t).scale for t in ("hadd", "f1", "gap", "f2", "fcat")}) == 1
    assert net.tensor("c4").scale == net.tensor("c5").scale == net.tensor("cat").scale
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    got = net.dequantize("y", net.run(net.quantize_input(x), keep="outputs")["y"])
    # ten layers of random weights at 8 bits, calibrated on these images: measured
    # 3.9% largest and 3.0% RMS error relative to the largest / RMS output
    assert np.abs(got - ref).max() / np.abs(ref).max() < 0.05
    assert np.sqrt(((got - ref) ** 2).mean() / (ref ** 2).mean()) < 0.04


def test_torch_legacy_export_with_a_free_batch(tmp_path):
    """``x.view(x.size(0), -1)`` exports as Shape -> Gather -> Unsqueeze -> Concat ->
    Reshape when the batch is free."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, 2, 1)
            self.fc = torch.nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))

    torch.manual_seed(0)
    path = tmp_path / "view.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), (torch.zeros(2, 3, 12, 12),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    assert "Shape" in [n.op_type for n in onnx.load(str(path)).graph.node]
    g = onnx_graph(path, (3, 12, 12))
    x = np.random.default_rng(3).normal(size=(3, 3, 12, 12)).astype(np.float32)
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.abs(run_float(g, x)["y"] - ref).max() < 1e-5


# ---- QDQ ------------------------------------------------------------------------------

def quantize_qdq(src, dst, images, **kw):
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": images[i:i + 64]} for i in range(0, len(images), 64)])

        def get_next(self):
            return next(self.it, None)

    opts = dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8, per_channel=True,
                extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})
    opts.update(kw)
    import logging
    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(str(src), str(dst), Reader(), **opts)
    return dst


def lsb_diff(net, out_name, x, ref):
    y = net.run(net.quantize_input(x), keep="outputs")[out_name]
    r = ref / net.tensor(out_name).scale
    assert np.abs(r - np.rint(r)).max() < 1e-3     # ORT's output is on the same grid
    return y, y - np.rint(r).astype(np.int64)


@pytest.fixture(scope="module")
def digits_qdq(tmp_path_factory):
    import torch
    tmp = tmp_path_factory.mktemp("qdq")
    net, meta = digits_cnn()
    data = digits_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 1, 8, 8),), str(tmp / "digits.onnx"),
                          dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    quantize_qdq(tmp / "digits.onnx", tmp / "digits_qdq.onnx", data["x_train"][:512])
    return tmp / "digits_qdq.onnx", data


def test_qdq_digits_against_onnxruntime(digits_qdq):
    path, data = digits_qdq
    net = load_model(path)
    assert net.meta["format"] == "onnx-qdq" and "calibrated_tensors" not in net.meta
    model = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    # the model's scales are the network's: input, every fused output
    assert net.input.scale == pytest.approx(float(init["x_scale"]), rel=1e-7)
    assert net.tensor("/relu_2/Relu_output_0").scale == pytest.approx(
        float(init["/relu_2/Relu_output_0_scale"]), rel=1e-7)
    conv3 = net.layer("/conv3/Conv")
    assert conv3.residual == "/relu_1/Relu_output_0"
    conv = next(n for n in model.graph.node if n.name == "/conv3/Conv")
    dq = next(n for n in model.graph.node if n.output[0] == conv.input[1])
    assert np.array_equal(conv3.weight, init[dq.input[0]])     # the model's own integers
    assert np.allclose(conv3.weight.shape[0], init[dq.input[1]].shape[0])
    x = data["x_test"]
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    y, d = lsb_diff(net, "y", x, ref)
    # ORT requantizes the conv output before the residual add and again after ReLU;
    # the accelerator adds the residual into the accumulator and rounds once. Measured:
    # every logit within 1 LSB, 24% of them 1 LSB apart, top-1 identical.
    assert np.abs(d).max() <= 1
    assert (d != 0).mean() < 0.30
    assert (y.argmax(1) == ref.argmax(1)).mean() >= 0.99
    assert (y.argmax(1) == data["y_test"]).mean() >= 0.97


def test_qdq_plain_chain_matches_onnxruntime(tmp_path):
    """Conv -> Conv (stride 2) -> GlobalAveragePool -> Gemm without activations or
    residuals: ORT's requantization (float multiplier) and the accelerator's (16-bit
    multiplier and shift) round the same products; they differ only where the exact
    value lies within 2^-16 of a half."""
    r = np.random.default_rng(5)
    init = {"w1": r.normal(0, 0.3, (16, 3, 3, 3)), "b1": r.normal(0, 0.1, 16),
            "w2": r.normal(0, 0.1, (16, 16, 3, 3)), "b2": r.normal(0, 0.1, 16),
            "wg": r.normal(0, 0.3, (10, 16)), "bg": r.normal(0, 0.1, 10)}
    n = helper.make_node
    nodes = [n("Conv", ["x", "w1", "b1"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
             n("Conv", ["c1", "w2", "b2"], ["c2"], name="c2", pads=[1, 1, 1, 1], strides=[2, 2]),
             n("GlobalAveragePool", ["c2"], ["gap"], name="gap"),
             n("Flatten", ["gap"], ["f"], name="f"),
             n("Gemm", ["f", "wg", "bg"], ["y"], name="fc", transB=1)]
    src = save(make_model(nodes, init), tmp_path / "chain.onnx")
    calib = r.normal(size=(256, 3, 12, 12)).astype(np.float32)
    path = quantize_qdq(src, tmp_path / "chain_qdq.onnx", calib)
    net = load_model(path, input_shape=(3, 12, 12))
    x = r.normal(size=(200, 3, 12, 12)).astype(np.float32)
    names = ["y", "c1", "c2", "gap"]
    model = onnx.load(str(path))
    for t in names[1:]:
        model.graph.output.append(helper.make_tensor_value_info(
            f"{t}_DequantizeLinear_Output", TensorProto.FLOAT, None))
    outs = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    ints = {"x": net.quantize_input(x)}
    for t, ref in zip(names, outs):
        scaled = ref / net.tensor(t).scale
        assert np.abs(scaled - np.rint(scaled)).max() < 1e-3
        ints[t] = np.rint(scaled).astype(np.int64).reshape((len(x),) + net.tensor(t).shape)
    ints["f"] = ints["gap"].reshape(len(x), -1)
    # layer by layer, each fed onnxruntime's integers: measured 0.011% of the conv
    # outputs 1 LSB apart, none of the pool's or the linear layer's
    for layer in net.layers:
        d = net.run_layer(layer, [ints[i] for i in layer.inputs]) - ints[layer.output]
        assert np.abs(d).max() <= 1, layer.name
        assert (d != 0).mean() < 0.001, (layer.name, (d != 0).mean())
    # end to end those few differences spread: measured 0.75% of the logits 1 LSB apart
    env = net.run(ints["x"])
    for t in names:
        d = env[t] - ints[t]
        assert np.abs(d).max() <= 1, t
        assert (d != 0).mean() < 0.02, (t, (d != 0).mean())


def test_qdq_every_op(tmp_path):
    """onnxruntime's QDQ form of the every-op model (BatchNorm left out: a BatchNorm
    after integer weights cannot be folded). Concat inputs get their own scales there;
    the IR gives each concat group the largest, and says so in meta."""
    src = save(every_op_model(bn=False), tmp_path / "every.onnx")
    x = np.random.default_rng(2).normal(size=(128, 3, 12, 12)).astype(np.float32)
    path = quantize_qdq(src, tmp_path / "every_qdq.onnx", x)
    net = load_model(path, input_shape=(3, 12, 12))
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    model_scale = {t: float(init[f"{t}_scale"]) for t in ("x", "r1", "c4", "c5", "cat", "gap")}
    assert net.input.scale == pytest.approx(model_scale["x"], rel=1e-7)
    assert net.tensor("r1").scale == pytest.approx(model_scale["r1"], rel=1e-7)
    assert net.tensor("c5").scale == net.tensor("cat").scale == pytest.approx(
        max(model_scale["c4"], model_scale["c5"], model_scale["cat"]), rel=1e-7)
    assert {"c5", "gap"} <= set(net.meta["rescaled_tensors"])
    assert net.layer("mm").weight.shape == (10, 16)      # MatMul, per channel along axis 1
    xt = np.random.default_rng(3).normal(size=(64, 3, 12, 12)).astype(np.float32)
    ref = ort.InferenceSession(str(path)).run(None, {"x": xt})[0]
    y, d = lsb_diff(net, "y", xt, ref)
    # measured: within 3 LSB (the coarser concat scales, fused residual and ReLU, the
    # host add rounding once), top-1 identical
    assert np.abs(d).max() <= 4
    assert (y.argmax(1) == ref.argmax(1)).mean() >= 0.95
    with_bn = quantize_qdq(save(every_op_model(), tmp_path / "bn.onnx"), tmp_path / "bn_qdq.onnx",
                           x)
    with pytest.raises(ModelError) as e:
        load_model(with_bn, input_shape=(3, 12, 12))
    assert str(e.value) == ("bn_qdq.onnx: node bn1 (BatchNormalization): cannot fold into c1, "
                            "whose weights the model already quantized")


# ---- errors ---------------------------------------------------------------------------

def test_uint8_activations_are_refused(digits_qdq, tmp_path):
    from onnxruntime.quantization import QuantType
    path, data = digits_qdq
    u8 = quantize_qdq(path.parent / "digits.onnx", tmp_path / "d_u8.onnx",
                      data["x_train"][:128], activation_type=QuantType.QUInt8,
                      extra_options={"WeightSymmetric": True})
    with pytest.raises(ModelError) as e:
        load_model(u8)
    assert str(e.value) == ("d_u8.onnx: node x_QuantizeLinear (QuantizeLinear): uint8 zero "
                            "point (unsigned activations): the accelerator's activations are "
                            "signed with zero point 0")


def simple(nodes, init=None, **kw):
    init = {"w": np.ones((2, 3, 1, 1)), **(init or {})}
    return make_model(nodes, init, **kw)


@pytest.mark.parametrize("case,msg", [
    ("sigmoid", "bad.onnx: node sig (Sigmoid): op type not supported"),
    ("conv_weight", "bad.onnx: node c (Conv): weight x is not a constant"),
    ("avgpool", "bad.onnx: node ap (AveragePool): count_include_pad=0 with padding (the "
                "divisor would change at the borders) is not supported"),
    ("asym_zp", "bad.onnx: node q (QuantizeLinear): zero point 3 (asymmetric activations): "
                "the accelerator's zero point is 0"),
    ("broadcast", "bad.onnx: node a (Add): adds a constant of shape (1, 2, 4, 4) that is not "
                  "per channel"),
    ("transpose", "bad.onnx: node t (Transpose): perm (0, 2, 3, 1) moves data (only a "
                  "transpose that is a no-op is supported)"),
    ("ceil", "bad.onnx: node mp (MaxPool): ceil_mode=1 changes the output size here; not "
             "supported"),
])
def test_unsupported_nodes_name_the_node(tmp_path, case, msg):
    n = helper.make_node
    conv = n("Conv", ["x", "w"], ["c"], name="c")
    models = {
        "sigmoid": lambda: simple([conv, n("Sigmoid", ["c"], ["y"], name="sig")]),
        "conv_weight": lambda: simple([n("Conv", ["x", "x"], ["y"], name="c")]),
        "avgpool": lambda: simple([conv, n("AveragePool", ["c"], ["y"], name="ap",
                                           kernel_shape=[3, 3], pads=[1, 1, 1, 1])]),
        "asym_zp": lambda: simple([conv, n("QuantizeLinear", ["c", "s", "zp"], ["q"], name="q"),
                                   n("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dq")],
                                  {"s": np.array(0.1)}),
        "broadcast": lambda: simple([conv, n("Add", ["c", "k"], ["y"], name="a")],
                                    {"k": np.ones((1, 2, 4, 4))}, x_shape=(1, 3, 4, 4)),
        "transpose": lambda: simple([conv, n("Transpose", ["c"], ["y"], name="t",
                                             perm=[0, 2, 3, 1])]),
        "ceil": lambda: simple([conv, n("MaxPool", ["c"], ["y"], name="mp", kernel_shape=[2, 2],
                                        strides=[2, 2], ceil_mode=1)], x_shape=(1, 3, 5, 5)),
    }
    m = models[case]()
    if case == "asym_zp":
        m.graph.initializer.append(numpy_helper.from_array(np.array(3, dtype=np.int8), "zp"))
    path = save(m, tmp_path / "bad.onnx")
    with pytest.raises(ModelError) as e:
        load_model(path, input_shape=(3, 12, 12) if case not in ("broadcast", "ceil") else None)
    assert str(e.value) == msg


def test_input_shape_errors(tmp_path):
    n = helper.make_node
    fixed = save(simple([n("Conv", ["x", "w"], ["y"], name="c")], x_shape=(1, 3, 12, 12)),
                 tmp_path / "fixed.onnx")
    with pytest.raises(ModelError) as e:
        load_model(fixed, input_shape=(3, 16, 16))
    assert str(e.value) == ("fixed.onnx: input shape (3, 16, 16) does not match the model's "
                            "input (3, 12, 12)")
    free = save(simple([n("Conv", ["x", "w"], ["y"], name="c")], x_shape=("N", 3, "H", "W")),
                tmp_path / "free.onnx")
    with pytest.raises(ModelError) as e:
        load_model(free)
    assert str(e.value) == ("free.onnx: the model's input (3, '?', '?') has free sizes; give "
                            "the input shape")
    assert load_model(free, input_shape=(3, 5, 7)).tensor("y").shape == (2, 5, 7)
    bad = tmp_path / "junk.onnx"
    bad.write_bytes(b"\x00\x01 this is not protobuf \xff" * 3)
    with pytest.raises(ModelError, match=r"^junk\.onnx: not an ONNX model \(.*\)$"):
        load_model(bad)
