"""Bayes by Backprop layers and the mapping of a trained network onto the Bayesian
layers: the KL term, seeded training, the calibration error, and the quantized
network's golden-model path."""
import math

import numpy as np
import pytest
import torch

from hwgen.config.bayesian import BayesianConfig
from hwgen.config.grng import GrngConfig
from hwgen.models import bayesian as bm
from hwgen.models import grng as gm
from hwgen.nn.bayesian import (BayesLinear, QuantBnn, digits_data, expected_calibration_error,
                               predict_float, train_bayes_mlp)


def test_kl_is_the_gaussian_closed_form():
    torch.manual_seed(0)
    layer = BayesLinear(3, 2, prior_sigma=0.7)
    mu, s = layer.mu.detach().double(), layer.sigma.detach().double()
    want = sum(math.log(0.7 / float(si)) + (float(si) ** 2 + float(mi) ** 2) / (2 * 0.49) - 0.5
               for mi, si in zip(mu.flatten(), s.flatten()))
    assert layer.kl().item() == pytest.approx(want, rel=1e-5)
    x = torch.ones(1, 3)
    assert torch.equal(layer(x, sample=False), x @ layer.mu.T)


def test_expected_calibration_error():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # bin (0.8, 0.9]: confidence 0.9, accuracy 0.5; bin (0.53, 0.6]: 0.6 and 1.0
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert expected_calibration_error(np.eye(3), np.arange(3)) == 0.0


@pytest.fixture(scope="module")
def small():
    data = digits_data(0)
    return data, train_bayes_mlp(data, steps=60, seed=3)


def test_training_is_seeded(small):
    data, model = small
    again = train_bayes_mlp(data, steps=60, seed=3)
    assert torch.equal(model.l1.mu, again.l1.mu) and torch.equal(model.l2.rho, again.l2.rho)
    p = predict_float(model, data["x_test"][:5], 4)
    assert p.shape == (5, 10) and np.allclose(p.sum(1), 1)


def test_quantized_network_on_the_golden_models(small):
    data, model = small
    g1 = GrngConfig(kind="icdf", lanes=8, bits=10, seed=4)
    g2 = GrngConfig(kind="clt", lanes=5, bits=10, uniforms=6, seed=5)
    c1 = BayesianConfig(inputs=64, outputs=32, samples=3, activation="relu", average=False,
                        grng=g1)
    c2 = BayesianConfig(inputs=32, outputs=10, samples=1, average=False, grng=g2)
    q = QuantBnn.from_torch(model, data["x_train"], c1, c2)
    assert q.mu1.min() >= -128 and q.mu1.max() <= 127 and q.sigma1.min() >= 0
    x = data["x_test"][:6]
    out = q.run(x, chunk=4)
    assert out["y1"].shape == (6, 3 * 32) and out["logits"].shape == (6, 3, 10)
    assert np.allclose(out["probs"].sum(1), 1)
    # the same numbers from the layer models, image by image
    e1, e2 = q.eps_beats(6)
    xc = q.input_codes(x)
    y1 = bm.layer(c1, q.mu1, q.sigma1, xc, e1)
    assert np.array_equal(y1, out["y1"])
    h = q.hidden_codes(bm.activate(c1, bm.draws(c1, q.mu1, q.sigma1, xc, e1))).reshape(18, 32)
    assert np.array_equal(bm.layer(c2, q.mu2, q.sigma2, h, e2).reshape(6, 3, 10), out["logits"])
    assert np.array_equal(e1, gm.samples(g1, 6 * c1.eps_per_vector))
