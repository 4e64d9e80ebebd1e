"""Bayesian neural networks trained by variational inference (Bayes by Backprop), and
their mapping onto the Bayesian layer (``bayesian:``).

:class:`BayesLinear` keeps a Gaussian posterior N(mu, sigma^2) per weight, sigma =
softplus(rho); a forward pass draws w = mu + sigma eps with eps ~ N(0, 1) (the
reparameterisation trick), and :meth:`BayesLinear.kl` is the closed-form
KL(N(mu, sigma^2) || N(0, prior^2)) summed over the weights. Training minimises the
negative evidence lower bound per example, cross-entropy + KL / (training examples)
(Blundell et al., 2015). The layers have no bias, like the hardware layer.

:class:`QuantBnn` maps a trained 64-32-10 network onto two Bayesian layers: inputs and
hidden activations as signed codes (non-negative, ReLU), mu as signed codes on a
per-layer grid, sigma on the same grid divided by the layer's
:attr:`~hwgen.config.bayesian.BayesianConfig.sigma_gain`. The hidden layer draws N
weight samples per image (``average: false``, ReLU in hardware); the host requantises
each draw's activations for the output layer, which draws its weights once per hidden
vector; the prediction is the average of the N softmax outputs -- the network's
predictive distribution with N samples. :meth:`QuantBnn.predict` runs it on the golden
models (hwgen.models.bayesian with hwgen.models.grng's beats), bit-exact with the RTL.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from ..config.bayesian import BayesianConfig
from ..models import bayesian as bm
from ..models import grng as gm
from .stochastic import digits_data

__all__ = ["BayesLinear", "BayesMlp", "train_bayes_mlp", "predict_float", "expected_calibration_error",
           "QuantBnn", "digits_data"]


class BayesLinear(nn.Module):
    """Bias-free linear layer with a factorised Gaussian posterior over its weights."""

    def __init__(self, n_in: int, n_out: int, prior_sigma: float = 1.0, rho0: float = -5.0):
        super().__init__()
        self.mu = nn.Parameter(torch.empty(n_out, n_in).normal_(0, (2.0 / n_in) ** 0.5 / 2))
        self.rho = nn.Parameter(torch.full((n_out, n_in), rho0))
        self.prior_sigma = prior_sigma

    @property
    def sigma(self) -> torch.Tensor:
        return nn.functional.softplus(self.rho)

    def forward(self, x: torch.Tensor, sample: bool = True) -> torch.Tensor:
        if not sample:
            return x @ self.mu.T
        w = self.mu + self.sigma * torch.randn_like(self.mu)
        return x @ w.T

    def kl(self) -> torch.Tensor:
        s, p = self.sigma, self.prior_sigma
        return (torch.log(p / s) + (s ** 2 + self.mu ** 2) / (2 * p ** 2) - 0.5).sum()


class BayesMlp(nn.Module):
    """n_in - hidden - n_out Bayesian MLP with ReLU, no biases."""

    def __init__(self, n_in: int = 64, hidden: int = 32, n_out: int = 10,
                 prior_sigma: float = 1.0):
        super().__init__()
        self.l1 = BayesLinear(n_in, hidden, prior_sigma)
        self.l2 = BayesLinear(hidden, n_out, prior_sigma)

    def forward(self, x, sample: bool = True):
        return self.l2(torch.relu(self.l1(x, sample)), sample)

    def hidden(self, x, sample: bool = True):
        return torch.relu(self.l1(x, sample))

    def kl(self):
        return self.l1.kl() + self.l2.kl()


def train_bayes_mlp(data: dict, hidden: int = 32, seed: int = 0, steps: int = 1500,
                    lr: float = 1e-2, prior_sigma: float = 1.0, kl_weight: float = 1.0) -> BayesMlp:
    """Bayes by Backprop on the training split: full batch, one weight sample a step,
    Adam; seeded and on one thread (the order of torch's sums depends on the thread
    count), so the same arguments give the same network. About 5-10 s on a CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = BayesMlp(data["x_train"].shape[1], hidden, 10, prior_sigma)
        x = torch.tensor(data["x_train"], dtype=torch.float32)
        y = torch.tensor(data["y_train"], dtype=torch.long)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        n = len(x)
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y) + kl_weight * model.kl() / n
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model


@torch.no_grad()
def predict_float(model: BayesMlp, x, samples: int, seed: int = 1) -> np.ndarray:
    """The predictive distribution: the mean of ``samples`` softmax outputs, each with
    its own weight draw (float weights, torch's normal eps)."""
    torch.manual_seed(seed)
    x = torch.tensor(np.asarray(x), dtype=torch.float32)
    probs = torch.stack([torch.softmax(model(x), -1) for _ in range(samples)])
    return probs.mean(0).numpy()


def expected_calibration_error(probs, labels, bins: int = 15) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over ``bins``
    equal-width confidence bins (Guo et al., 2017)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(conf[sel].mean() - correct[sel].mean())
    return float(ece)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


@dataclasses.dataclass
class QuantBnn:
    """A trained :class:`BayesMlp` on two Bayesian layers (see the module docstring).

    Attributes
    ----------
    cfg1, cfg2 : the hidden and output layers (``cfg1.samples`` = N draws per image,
        ``average: false`` and ReLU; ``cfg2.samples`` = 1).
    mu1, sigma1, mu2, sigma2 : weight codes, (outputs, inputs).
    x_scale, w1_scale, h_scale, w2_scale : real value of one code step.
    """
    cfg1: BayesianConfig
    cfg2: BayesianConfig
    mu1: np.ndarray
    sigma1: np.ndarray
    mu2: np.ndarray
    sigma2: np.ndarray
    x_scale: float
    w1_scale: float
    h_scale: float
    w2_scale: float

    @staticmethod
    def _codes(layer: BayesLinear, cfg: BayesianConfig) -> tuple[np.ndarray, np.ndarray, float]:
        mu = layer.mu.detach().numpy().astype(np.float64)
        sigma = layer.sigma.detach().numpy().astype(np.float64)
        scale = np.abs(mu).max() / (cfg.mu_max - 1)
        mu_c = np.clip(np.rint(mu / scale), -cfg.mu_max, cfg.mu_max - 1).astype(np.int64)
        sig_c = np.clip(np.rint(sigma / (scale * cfg.sigma_gain)), 0, cfg.sigma_max).astype(np.int64)
        return mu_c, sig_c, float(scale)

    @classmethod
    def from_torch(cls, model: BayesMlp, calib_x, cfg1: BayesianConfig, cfg2: BayesianConfig,
                   percentile: float = 99.9) -> "QuantBnn":
        """Codes for ``model``; the hidden scale is the ``percentile`` of the mean-weight
        network's hidden activations on ``calib_x`` over the largest code."""
        mu1, s1, w1 = cls._codes(model.l1, cfg1)
        mu2, s2, w2 = cls._codes(model.l2, cfg2)
        with torch.no_grad():
            h = model.hidden(torch.tensor(np.asarray(calib_x), dtype=torch.float32), sample=False)
        hmax = float(np.percentile(h.numpy(), percentile))
        return cls(cfg1, cfg2, mu1, s1, mu2, s2, 1.0 / (cfg1.x_max - 1), w1,
                   hmax / (cfg2.x_max - 1), w2)

    def input_codes(self, x) -> np.ndarray:
        """Pixels in [0, 1] as non-negative input codes."""
        return np.clip(np.rint(np.asarray(x) / self.x_scale), 0, self.cfg1.x_max - 1).astype(np.int64)

    def hidden_codes(self, y1: np.ndarray) -> np.ndarray:
        """The host's step between the layers: the hidden layer's ReLU results (codes of
        x_scale * w1_scale) as input codes of the output layer (round half to even,
        clipped)."""
        gain = self.x_scale * self.w1_scale / self.h_scale
        return np.clip(np.rint(y1 * gain), 0, self.cfg2.x_max - 1).astype(np.int64)

    def eps_beats(self, images: int) -> tuple[np.ndarray, np.ndarray]:
        """The beats both layers' generators give for ``images`` images, from reset."""
        n1 = images * self.cfg1.eps_per_vector
        n2 = images * self.cfg1.samples * self.cfg2.eps_per_vector
        return gm.samples(self.cfg1.grng, n1), gm.samples(self.cfg2.grng, n2)

    def run(self, x, chunk: int = 64) -> dict:
        """Both layers on the golden models for images ``x`` (from the generators'
        reset): the hidden layer's results in its output order, the output layer's
        inputs and logits codes, and the predictive probabilities."""
        xc = self.input_codes(x)
        e1, e2 = self.eps_beats(len(xc))
        N = self.cfg1.samples
        per1, per2 = self.cfg1.eps_per_vector, N * self.cfg2.eps_per_vector
        y1s, h, logits = [], [], []
        for lo in range(0, len(xc), chunk):
            xs = xc[lo:lo + chunk]
            v = len(xs)
            d1 = bm.draws(self.cfg1, self.mu1, self.sigma1, xs,
                          e1[lo * per1:(lo + v) * per1])                # (v, N, hidden)
            y1s.append(bm.results(self.cfg1, d1))
            hc = self.hidden_codes(bm.activate(self.cfg1, d1)).reshape(v * N, -1)
            d2 = bm.draws(self.cfg2, self.mu2, self.sigma2, hc,
                          e2[lo * per2:(lo + v) * per2])                # (v N, 1, 10)
            h.append(hc.reshape(v, N, -1))
            logits.append(d2.reshape(v, N, -1))
        logits = np.concatenate(logits)
        real = logits * (self.h_scale * self.w2_scale)
        return {"x_codes": xc, "y1": np.concatenate(y1s), "h_codes": np.concatenate(h),
                "logits": logits, "probs": _softmax(real).mean(1)}

    def predict(self, x) -> np.ndarray:
        return self.run(x)["probs"]
