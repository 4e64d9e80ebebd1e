"""A Bayesian 64-32-10 MLP trained on the digits (Bayes by Backprop) on the generated
Bayesian layers: test images through the output layer on Icarus and Verilator, and
through both layers on Verilator (slow), bit-exact with the quantized network's golden
models (hwgen.nn.bayesian.QuantBnn) and the generators' streams from reset."""
import numpy as np
import pytest

from hwgen.config.bayesian import BayesianConfig
from hwgen.config.grng import GrngConfig
from hwgen.nn.bayesian import QuantBnn, digits_data, train_bayes_mlp
from sim_tb.grng import run_bnn_rtl

SEED = 5
IMAGES = 3


@pytest.fixture(scope="module")
def network():
    data = digits_data(0)
    model = train_bayes_mlp(data, steps=150, seed=0)     # few steps: bits, not accuracy
    gk = dict(kind="wallace", pool=256, bits=12)
    c1 = BayesianConfig(inputs=64, outputs=32, samples=4, activation="relu", average=False,
                        grng=GrngConfig(lanes=16, seed=1, **gk))
    c2 = BayesianConfig(inputs=32, outputs=10, samples=1, average=False,
                        grng=GrngConfig(lanes=12, seed=2, **gk))
    return QuantBnn.from_torch(model, data["x_train"], c1, c2), data["x_test"][:IMAGES]


# a Verilator build of the 12-lane layer takes about a minute: Icarus by default
@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_output_layer_rtl_matches_the_model(network, sim, tmp_path):
    q, x = network
    out = run_bnn_rtl(q, x, sim, tmp_path, SEED, layers=(2,), stall=0.2)
    assert np.array_equal(out["logits"], out["model"]["logits"]), f"{sim} (seed {SEED})"


@pytest.mark.slow
def test_both_layers_rtl_match_the_model(network, tmp_path):
    q, x = network
    out = run_bnn_rtl(q, x, "verilator", tmp_path, SEED, layers=(1, 2), stall=0.2)
    assert np.array_equal(out["y1"], out["model"]["y1"])
    assert np.array_equal(out["logits"], out["model"]["logits"])
