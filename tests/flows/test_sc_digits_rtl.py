"""Test images of scikit-learn's digits through the generated SC layer (hwgen_sc_layer,
on Icarus and Verilator), compared bit for bit with the model of the trained 64-32-10
network (hwgen.nn.stochastic.ScMlp): the output layer (32 x 10) on Icarus in CI, on
Verilator and the hidden layer (64 x 32, 2,048 multipliers) in the slow set."""
import dataclasses

import numpy as np
import pytest

from hwgen.config.sc import ScConfig
from hwgen.models import stochastic as model
from hwgen.nn.stochastic import ScMlp, digits_data, sc_linear, train_digits_mlp

from sim_tb.stochastic import run_sc_layer_rtl as run_rtl

# The configuration that reaches the float accuracy at L = 256 in benchmarks/sc_digits.py.
BASE = ScConfig(length=256, generator="vdc", sharing="per_operand", seed=0xACE1)
IMAGES = [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def mlp():
    data = digits_data()
    net = train_digits_mlp(data)
    m = ScMlp.from_torch(net, data["x_train"], BASE)
    return m, data["x_test"][IMAGES], data["y_test"][IMAGES]


def layer_case(mlp, i, images, parallelism):
    """(cfg, weight codes, input codes, expected y) of layer i for the images."""
    net, x, _ = mlp
    codes = net.forward(x)["codes"]
    cfg = net.layer_cfg(i)
    cfg = dataclasses.replace(cfg, parallelism=parallelism)
    w = net.weight_codes(i)
    xc = codes[i][:images]
    want = sc_linear(cfg, xc, w)["y"]
    # the batched model is the golden model, row by row
    assert want[0].tolist() == [r["y"] for r in model.layer(cfg, xc[0], w)]
    return cfg, w, xc, want


def check(mlp, i, images, parallelism, sim, tmp_path, seed):
    cfg, w, xc, want = layer_case(mlp, i, images, parallelism)
    got = run_rtl(cfg, w, xc, sim, tmp_path, seed, stall=0.1)
    assert [g["y"] for g in got] == want.tolist(), f"{sim}: layer {i} differs (seed {seed})"
    return np.array([g["y"] for g in got])


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_output_layer_rtl_matches_model(mlp, sim, tmp_path):
    y = check(mlp, 1, 2, 4, sim, tmp_path, seed=21)
    # the class the hardware picks is the model's, and here the true label
    net, x, labels = mlp
    assert y.argmax(1).tolist() == net.forward(x[:2])["logits"].argmax(1).tolist()
    assert y.argmax(1).tolist() == labels[:2].tolist()


# Verilator only: Icarus runs this 2,048-multiplier design at a few cycles per second.
@pytest.mark.slow
def test_hidden_layer_rtl_matches_model(mlp, tmp_path):
    check(mlp, 0, len(IMAGES), 4, "verilator", tmp_path, seed=22)
