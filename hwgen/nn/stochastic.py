"""Multilayer perceptrons on stochastic-computing (SC) layers, and the int8 reference.

:func:`sc_linear` is the SC layer of :mod:`hwgen.models.stochastic` evaluated for a batch
at once: instead of stepping through the streams it writes the ones count as sums of
products of stream bits, which are matrix products (for XNOR:
``sum_t [a_t = b_t] = L - sum a - sum b + 2 sum a b``). It gives the same counts and
activations as :func:`hwgen.models.stochastic.layer` bit for bit (tests/unit/test_nn_stochastic.py).

:class:`ScMlp` maps a trained bias-free ``Linear``/``ReLU`` stack onto SC layers: each
layer's weights are divided by their largest magnitude (so they fit the bipolar range
[-1, 1]), activations by a scale calibrated on training data (so they fit [0, 1]), and
both are rounded to the codes of the layer's stream number generators. Between layers the
host turns the binary ReLU outputs back into codes; the last layer's ones counts are the
logits (up to a positive scale and offset, which argmax ignores).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..config import ScConfig
from ..models import stochastic as scm


def to_codes(v, bits: int, encoding: str = "bipolar") -> np.ndarray:
    """Nearest ``bits``-wide code of real values ``v`` (clipped to the encodable range):
    x = round(2^bits v) unipolar, round(2^(bits-1) (v + 1)) bipolar."""
    v = np.asarray(v, dtype=np.float64)
    p = v if encoding == "unipolar" else (v + 1) / 2
    return np.clip(np.rint(p * (1 << bits)), 0, (1 << bits) - 1).astype(np.int64)


def _streams(codes: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Stream bits of ``codes`` (..., n) against random numbers r, (L,) or (n, L)."""
    return (codes[..., None] > r).astype(np.float32)


def sc_linear(cfg: ScConfig, x, w, chunk: int = 32) -> dict:
    """Counts and activations of the SC layer ``cfg`` for a batch.

    Parameters
    ----------
    x : (B, fan_in) input codes.
    w : (neurons, fan_in) weight codes.

    Returns ``count`` and ``y`` (B, neurons), as :func:`hwgen.models.stochastic.layer`
    gives them for each row of x (masked to ``cfg.count_width`` bits).
    """
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    B, n = x.shape
    k, L = cfg.neurons, cfg.length
    assert n == cfg.fan_in and w.shape == (k, n), (x.shape, w.shape, cfg)
    ra, rb, sel = scm.operand_randoms(cfg)
    sw = _streams(w, rb)                                        # (k, n, L)
    bip = cfg.encoding == "bipolar"
    mux = cfg.adder == "mux"
    stanh = cfg.activation == "stanh"
    if mux:
        mask = (np.arange(n)[:, None] == sel[None, :]).astype(np.float32)  # (n, L)
        sw = sw * mask
    counts = np.empty((B, k), dtype=np.int64)
    ys = np.empty((B, k), dtype=np.int64)
    for lo in range(0, B, chunk):
        sx = _streams(x[lo:lo + chunk], ra)                     # (b, n, L)
        if mux:
            sx = sx * mask
        b = sx.shape[0]
        if stanh:
            # per stream bit: ones among the products (counter) or the selected product
            both = np.einsum("bit,kit->bkt", sx, sw, optimize=True)
            if bip:
                ones = (n if not mux else 1) - sx.sum(1)[:, None, :] - sw.sum(1)[None] + 2 * both
            else:
                ones = both
            ones = np.rint(ones).astype(np.int64)               # (b, k, L)
            c = ones.sum(-1)
            scale = 1 if mux else n
            y = scm.stanh(2 * ones - scale, cfg.fsm_states).sum(-1).astype(np.int64)
        else:
            # float32 is exact here: every partial sum is an integer below n L <= 2^22
            both = sx.reshape(b, -1) @ sw.reshape(k, -1).T
            if bip:
                tot = L if mux else n * L
                c = (tot - sx.reshape(b, -1).sum(1, dtype=np.float64)[:, None]
                     - sw.reshape(k, -1).sum(1, dtype=np.float64)[None]
                     + 2 * both.astype(np.float64))
            else:
                c = both
            c = np.rint(c).astype(np.int64)
            total = L * (1 if mux else n)
            if cfg.activation == "none":
                y = c
            elif cfg.activation == "sign":
                y = (2 * c >= total).astype(np.int64)
            else:
                y = np.maximum(0, 2 * c - total)
        counts[lo:lo + b] = c
        ys[lo:lo + b] = y
    mask_bits = (1 << cfg.count_width) - 1
    return {"count": counts & mask_bits, "y": ys & mask_bits}


def bipolar_sum(cfg: ScConfig, count) -> np.ndarray:
    """The real dot product a ones count encodes: (2 c - n L) / L for the parallel
    counter, n (2 c - L) / L for the MUX adder (which computes the mean)."""
    c = np.asarray(count, dtype=np.float64)
    n, L = cfg.fan_in, cfg.length
    if cfg.adder == "mux":
        return n * (2 * c - L) / L
    return (2 * c - n * L) / L


@dataclasses.dataclass
class ScMlp:
    """A bias-free MLP (Linear, ReLU, ..., Linear) on SC layers.

    Attributes
    ----------
    weights : list of (out, in) float arrays, the trained weights.
    act_scales : list of floats, the real value that maps to 1.0 at each layer's input
        (input pixels for layer 0, the calibrated ReLU outputs after).
    base : ScConfig whose length, generator, sharing, adder, lfsr_width and seed every
        layer uses; fan_in, neurons and activation come from the layer.
    """
    weights: list
    act_scales: list
    base: ScConfig

    @classmethod
    def from_torch(cls, model, calib_x, base: ScConfig, input_scale: float = 1.0,
                   percentile: float = 99.9) -> "ScMlp":
        """Weights of the ``Linear`` layers of ``model`` (a ``torch.nn.Sequential``), and
        activation scales from the float ReLU outputs on ``calib_x`` (the given
        percentile, so a few outliers do not waste the code range)."""
        import torch
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        if any(m.bias is not None for m in linears):
            raise ValueError("ScMlp maps bias-free Linear layers only (an SC layer has no bias)")
        weights = [m.weight.detach().cpu().double().numpy() for m in linears]
        scales = [float(input_scale)]
        h = np.asarray(calib_x, dtype=np.float64)
        for W in weights[:-1]:
            h = np.maximum(h @ W.T, 0)
            scales.append(float(np.percentile(h, percentile)) or 1.0)
        return cls(weights, scales, base)

    def layer_cfg(self, i: int) -> ScConfig:
        out, inp = self.weights[i].shape
        last = i == len(self.weights) - 1
        return dataclasses.replace(self.base, fan_in=inp, neurons=out,
                                   activation="none" if last else "relu", counter_bits=None)

    def weight_codes(self, i: int) -> np.ndarray:
        W = self.weights[i]
        return to_codes(W / np.abs(W).max(), self.layer_cfg(i).value_bits)

    def input_codes(self, i: int, h) -> np.ndarray:
        """Codes of the real inputs ``h`` of layer i (scaled by its activation scale)."""
        return to_codes(np.clip(np.asarray(h) / self.act_scales[i], 0, 1),
                        self.layer_cfg(i).value_bits)

    def forward(self, x) -> dict:
        """Run a batch of real inputs; returns ``logits`` (the last layer's decoded sums),
        ``counts`` and ``codes`` (each layer's input codes)."""
        h = np.asarray(x, dtype=np.float64)
        codes, counts = [], []
        for i, W in enumerate(self.weights):
            cfg = self.layer_cfg(i)
            xc = self.input_codes(i, h)
            codes.append(xc)
            r = sc_linear(cfg, xc, self.weight_codes(i))
            counts.append(r["count"])
            # back to real units: sum * (weight scale) * (input scale)
            unit = np.abs(W).max() * self.act_scales[i]
            if cfg.activation == "relu":
                h = r["y"] / cfg.length * unit * (cfg.fan_in if cfg.adder == "mux" else 1)
            else:
                h = bipolar_sum(cfg, r["count"]) * unit
        return {"logits": h, "counts": counts, "codes": codes}


def int8_mlp_forward(weights: Sequence[np.ndarray], act_scales: Sequence[float], x) -> np.ndarray:
    """The same MLP with symmetric per-tensor int8 quantisation: weights
    round(127 W / max|W|), activations round(127 h / scale) clipped to [0, 127], int32
    accumulation, ReLU and requantisation between layers; returns the last layer's
    accumulators (argmax = the class)."""
    h = np.asarray(x, dtype=np.float64)
    acc = None
    for i, W in enumerate(weights):
        sw = np.abs(W).max() / 127
        qw = np.clip(np.rint(W / sw), -127, 127).astype(np.int64)
        sa = act_scales[i] / 127
        qa = np.clip(np.rint(h / sa), 0, 127).astype(np.int64)
        acc = qa @ qw.T
        h = np.maximum(acc, 0) * (sw * sa)
    return acc


def digits_data(seed: int = 0) -> dict:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], split 80/20 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed,
                                          stratify=d.target)
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def train_digits_mlp(data: dict, hidden: int = 32, seed: int = 0, epochs: int = 300):
    """A bias-free 64-hidden-10 ReLU MLP trained full-batch with Adam (seeded, on one
    CPU thread, so the weights repeat from run to run on one machine)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(64, hidden, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(hidden, 10, bias=False))
        x = torch.tensor(data["x_train"], dtype=torch.float32)
        y = torch.tensor(data["y_train"], dtype=torch.long)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
        for _ in range(epochs):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return net.eval()
