"""Built-in models through load_model: the digits CNN's integer reference against its
float model, ResNet-18 and MobileNetV2 structure, agreement and speed, determinism, and
the one-line errors of load_model."""
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwgen.config import AcceleratorConfig, PrecisionConfig
from hwgen.frontend import ModelError, load_graph, load_model, random_images
from hwgen.frontend.graph import prepare, run_float
from hwgen.frontend.quantize import quantize_graph
from hwgen.frontend.zoo import digits_cnn, digits_data, zoo_model
from hwgen.models.network import QNet, quantize_symmetric


@pytest.fixture(scope="module")
def digits():
    return load_model("digits_cnn"), digits_data()


def test_digits_cnn_reference_agrees_with_the_float_model(digits):
    net, data = digits
    fnet, meta = digits_cnn()
    x = data["x_test"]
    y = net.run(net.quantize_input(x), keep="outputs")[net.outputs[0]]
    with torch.no_grad():
        ref = fnet(torch.as_tensor(x)).numpy()
    agree = (y.argmax(1) == ref.argmax(1)).mean()
    q_acc = (y.argmax(1) == data["y_test"]).mean()
    # measured: float 99.2%, quantized 99.2%, top-1 agreement 100% (360 test images)
    assert agree >= 0.99
    assert net.meta["float_test_accuracy"] == meta["float_test_accuracy"] >= 0.97
    assert q_acc >= meta["float_test_accuracy"] - 0.01
    assert "digits training images" in net.meta["calibration"]
    ops = [layer.op for layer in net.layers]
    assert ops == ["conv", "conv", "conv", "avgpool", "flatten", "linear"]
    assert net.layers[2].residual == net.layers[1].output     # the block's add, fused
    assert net.meta["preload_max_rel_error"] < 0.005          # P = rint(s_r / (s_x s_w))
    assert [layer.lo for layer in net.layers[:3]] == [0, 0, 0]


def test_same_spec_same_network(digits, tmp_path):
    net, _ = digits
    again = load_model("digits_cnn")
    assert again.digest() == net.digest() and again.meta == net.meta
    back = QNet.load(net.save(tmp_path / "digits.npz"))
    assert back.digest() == net.digest() and back.meta == net.meta
    a = load_model("resnet18", (3, 32, 32))
    b = load_model("resnet18", (3, 32, 32))
    assert a.digest() == b.digest()
    assert a.digest() != load_model("resnet18", (3, 40, 40)).digest()


def compare_with_float(name, shape, images=8):
    """(network, RMS error of the logits relative to their RMS, seconds for one image),
    after checking the import against the module and every layer on its own."""
    g, _, _ = load_graph(name, shape)
    net = load_model(name, shape)
    fnet, _, _ = zoo_model(name, shape)
    x = random_images(shape, images, seed=99)
    with torch.no_grad():
        ref = fnet(torch.as_tensor(x)).numpy()
    floats = run_float(prepare(g), x)
    out = net.outputs[0]
    assert np.abs(floats[out] - ref).max() <= 1e-4 * np.abs(ref).max()
    # each layer, calibrated on these images and fed the float model's tensors
    # quantized, is within a few LSB of the float result (measured: RMS 0.27..0.80 LSB,
    # largest 3.3 LSB; the rounding of K inputs adds up in layers with large K)
    own = quantize_graph(g, None, x)
    for layer in own.layers:
        ins = [quantize_symmetric(floats[i], own.tensor(i).scale, own.in_bits)
               for i in layer.inputs]
        err = own.run_layer(layer, ins) - floats[layer.output] / own.tensor(layer.output).scale
        assert np.sqrt((err ** 2).mean()) < 1.0 and np.abs(err).max() < 4.5, layer.name
    t = time.perf_counter()
    net.run(net.quantize_input(x[:1]), keep="outputs")
    one = time.perf_counter() - t
    got = net.dequantize(out, net.run(net.quantize_input(x), keep="outputs")[out])
    return net, np.sqrt(((got - ref) ** 2).mean() / (ref ** 2).mean()), one


def test_resnet18_small():
    net, rel, one = compare_with_float("resnet18", (3, 32, 32))
    convs = [layer for layer in net.layers if layer.op == "conv"]
    assert len(convs) == 20 and [layer.op for layer in net.layers][-3:] == [
        "avgpool", "flatten", "linear"]
    assert sum(layer.residual is not None for layer in convs) == 8
    assert not [layer for layer in net.layers if layer.op == "add"]
    assert net.gemm_shape("conv1") == (16 * 16, 147, 64)
    assert net.gemm_shape("layer4.1.conv2") == (1, 4608, 512)
    assert "not trained" in net.meta["weights"]
    # end to end the layers' rounding adds up: measured 16.6% RMS error on the logits of
    # this untrained network, whose float model alone moves 5.6% under input rounding
    assert rel < 0.25, rel
    assert one < 1.0


def test_mobilenet_v2_small():
    net, rel, one = compare_with_float("mobilenet_v2", (3, 32, 32))
    convs = [layer for layer in net.layers if layer.op == "conv"]
    dw = [layer for layer in convs if layer.groups > 1]
    assert len(convs) == 52 and len(dw) == 17
    assert all(layer.groups == layer.weight.shape[0] for layer in dw)
    assert sum(layer.residual is not None for layer in convs) == 10
    six = [layer for layer in convs if layer.lo == 0]
    assert len(six) == 35 and all(
        layer.hi == min(127, round(6 / net.tensor(layer.output).scale)) for layer in six)
    # measured 75% RMS error on the logits: the untrained network amplifies any
    # perturbation (input rounding alone moves its float logits by 35%); the per-layer
    # check above is the one that says the arithmetic is right
    assert rel < 1.0, rel
    assert one < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_zoo_at_224(name):
    net, rel, one = compare_with_float(name, (3, 224, 224), images=2)
    assert rel < (0.25 if name == "resnet18" else 1.0), rel
    assert one < 5.0, one


def test_precision_follows_the_config():
    cfg = AcceleratorConfig(precision=PrecisionConfig(in_bits=6, mult_bits=12, max_k=4096))
    net = load_model("resnet18", (3, 32, 32), precision=cfg)
    assert net.in_bits == 6 and net.mult_bits == 12 and net.max_shift == cfg.max_shift
    assert max(int(np.abs(layer.weight).max()) for layer in net.layers
               if layer.weight is not None) == 31
    assert max(int(layer.mult.max()) for layer in net.layers if layer.mult is not None) < 4096
    assert net.input.range == (-32, 31)


def test_load_model_errors(tmp_path):
    cases = [
        (lambda: load_model("resnet50"), "unknown model 'resnet50': not a file, and not one of "
                                         "the built-in models (digits_cnn, mobilenet_v2, "
                                         "resnet18)"),
        (lambda: load_model("digits_cnn", (1, 16, 16)),
         "digits_cnn: input shape (1, 16, 16) does not match the model's input (1, 8, 8)"),
        (lambda: load_model("resnet18", (1, 64, 64)),
         "resnet18: input shape (1, 64, 64) does not fit the model (3 channels, at least "
         "32x32)"),
        (lambda: load_model(tmp_path / "model.bin"), "model.bin: no such file"),
        (lambda: load_model(tmp_path / "missing.onnx"), "missing.onnx: no such file"),
    ]
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16)
    cases.append((lambda: load_model(tmp_path / "weights.bin"),
                  "weights.bin: not a model file (expected .onnx or .pt2)"))
    for make, msg in cases:
        with pytest.raises(ModelError) as e:
            make()
        assert str(e.value) == msg
