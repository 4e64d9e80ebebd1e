"""A weight-sharing super-network over a :class:`~hwgen.cosearch.netspace.NetSpace`, so
that any network of the family is scored without training it from scratch.

* Widths share the first channels of each layer's widest weights, kernels share the
  centre of the largest kernel, and each depth has its own classifier over the widest
  features (sliced to the width used).
* Training follows the sandwich rule: every step trains the largest network, the
  smallest and two random ones on the same batch.
* A sub-network is scored after recomputing its batch-norm statistics on training images
  and with its operands fake-quantized to its bit-width (symmetric, per output channel
  for weights, per tensor for activations: the scheme hwgen's post-training
  quantization uses), so the score tracks what the quantized network will do.
* :meth:`SuperNet.extract` gives a stand-alone ``torch.nn.Module`` of one network with the
  shared weights copied, for fine-tuning and export to ONNX.
* The relaxed forward (:meth:`SuperNet.forward_relaxed`) mixes every choice by
  probabilities: a width as the expected channel mask ``sum_w p_w [c < w]``, a kernel as
  the mix of the cropped kernels, the depth as the mix of the classifiers, the bit-width
  as the mix of the fake-quantized operands (straight-through rounding) — what the
  differentiable co-search trains its architecture logits through.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from .netspace import Arch, NetSpace

__all__ = ["SuperNet", "train_supernet", "accuracy", "fake_quant"]


def _torch():
    import torch
    import torch.nn as nn
    return torch, nn


def fake_quant(x, bits: int, per_channel: bool = False):
    """Symmetric fake quantization with straight-through rounding."""
    torch, _ = _torch()
    qmax = (1 << (bits - 1)) - 1
    if per_channel:
        amax = x.detach().abs().flatten(1).amax(1).clamp_min(1e-8)
        s = (amax / qmax).view(-1, *([1] * (x.dim() - 1)))
    else:
        s = (x.detach().abs().amax().clamp_min(1e-8) / qmax)
    q = torch.clamp(torch.round(x / s), -qmax - 1, qmax) * s
    return x + (q - x).detach()


def _make_module(space: NetSpace):
    _, nn = _torch()

    class _Super(nn.Module):
        def __init__(self):
            super().__init__()
            W, K, D = space.max_width, max(space.kernels), space.max_depth
            cin = space.input[0]
            self.convs = nn.ModuleList()
            self.bns = nn.ModuleList()
            for _ in range(D):
                self.convs.append(nn.Conv2d(cin, W, K, 1, K // 2))
                self.bns.append(nn.BatchNorm2d(W, momentum=None))
                cin = W
            self.heads = nn.ModuleList(nn.Linear(W * 4, space.classes) for _ in range(D))

    return _Super


def _pool_to_2(x):
    torch, nn = _torch()
    h = x.shape[-1]
    return nn.functional.avg_pool2d(x, h // 2) if h > 2 else x


class SuperNet:
    """The shared weights and the ways to run a network of the family on them."""

    def __init__(self, space: NetSpace, seed: int = 0):
        torch, _ = _torch()
        torch.manual_seed(seed)
        self.space = space
        self.net = _make_module(space)()
        self.Kmax = max(space.kernels)
        self._momentum = 0.1

    # ---- one network -----------------------------------------------------------------
    def _kernel(self, i: int, cout: int, cin: int, k: int):
        w = self.net.convs[i].weight
        o = (self.Kmax - k) // 2
        return w[:cout, :cin, o:o + k, o:o + k], self.net.convs[i].bias[:cout]

    def forward(self, x, arch: Arch, quant: bool = False):
        torch, nn = _torch()
        F = nn.functional
        cin = x.shape[1]
        if quant:
            x = fake_quant(x, arch.bits)
        for i, (c, k, s) in enumerate(zip(arch.widths, arch.kernels, arch.strides())):
            w, b = self._kernel(i, c, cin, k)
            if quant:
                w = fake_quant(w, arch.bits, per_channel=True)
            x = F.conv2d(x, w, b, s, k // 2)
            bn = self.net.bns[i]
            x = F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c],
                             bn.bias[:c], self.net.training, self._momentum,
                             bn.eps)
            x = F.relu(x)
            if quant:
                x = fake_quant(x, arch.bits)
            cin = c
        x = torch.flatten(_pool_to_2(x), 1)
        head = self.net.heads[arch.depth - 1]
        wl = head.weight.view(self.space.classes, self.space.max_width, 4)[:, :cin].reshape(
            self.space.classes, cin * 4)
        return F.linear(x, wl, head.bias)

    def recalibrate(self, x, arch: Arch, images: int = 1024):
        """Batch-norm statistics of ``arch``'s channels computed on (up to ``images`` of)
        ``x`` in one batch (the shared statistics are those of whichever network ran
        last)."""
        torch, _ = _torch()
        self._momentum = 1.0           # the running statistics become this batch's
        self.net.train()
        try:
            with torch.no_grad():
                self.forward(x[:images], arch)
        finally:
            self._momentum = 0.1
            self.net.eval()

    def extract(self, arch: Arch):
        """A stand-alone module of ``arch`` with the shared weights copied (eval mode)."""
        torch, nn = _torch()
        layers = []
        cin = self.space.input[0]
        for i, (c, k, s) in enumerate(zip(arch.widths, arch.kernels, arch.strides())):
            conv = nn.Conv2d(cin, c, k, s, k // 2)
            w, b = self._kernel(i, c, cin, k)
            bn = nn.BatchNorm2d(c)
            src = self.net.bns[i]
            with torch.no_grad():
                conv.weight.copy_(w)
                conv.bias.copy_(b)
                bn.weight.copy_(src.weight[:c])
                bn.bias.copy_(src.bias[:c])
                bn.running_mean.copy_(src.running_mean[:c])
                bn.running_var.copy_(src.running_var[:c])
            layers += [conv, bn, nn.ReLU()]
            cin = c
        (h, _) = arch.feature_sizes()[-1]
        if h > 2:
            layers.append(nn.AvgPool2d(h // 2))
        layers.append(nn.Flatten())
        fc = nn.Linear(cin * 4, arch.classes)
        head = self.net.heads[arch.depth - 1]
        with torch.no_grad():
            fc.weight.copy_(head.weight.view(arch.classes, self.space.max_width, 4)[:, :cin]
                            .reshape(arch.classes, cin * 4))
            fc.bias.copy_(head.bias)
        layers.append(fc)
        return nn.Sequential(*layers).eval()

    # ---- every network at once (probabilities over the choices) -----------------------
    def forward_relaxed(self, x, probs: dict):
        """``probs``: ``width`` (D, n_widths), ``kernel`` (D, n_kernels), ``depth`` (D,),
        ``bits`` (n_bits,) — each row a distribution (e.g. Gumbel-softmax samples)."""
        torch, nn = _torch()
        F = nn.functional
        sp = self.space
        W = sp.max_width
        ch = torch.arange(W, dtype=x.dtype)
        widths = torch.arange(sp.min_width, sp.max_width + 1, dtype=x.dtype)
        # mask[c] = P(width > c) = sum_w p_w [c < w]
        pb = probs["bits"]

        def q(t, per_channel=False):
            return sum(pb[j] * fake_quant(t, b, per_channel) for j, b in enumerate(sp.bits))

        x = q(x)
        out = 0
        cin = x.shape[1]
        for i in range(sp.max_depth):
            s = 2 if i == 1 else 1
            y = 0
            for j, k in enumerate(sp.kernels):
                w, b = self._kernel(i, W, cin, k)
                y = y + probs["kernel"][i, j] * F.conv2d(x, q(w, True), b, s, k // 2)
            y = self.net.bns[i](y)
            mask = ((ch[:, None] < widths[None, :]).to(x.dtype)
                    * probs["width"][i][None, :]).sum(1)
            x = q(F.relu(y)) * mask.view(1, -1, 1, 1)
            cin = W
            logits = self.net.heads[i](torch.flatten(_pool_to_2(x), 1))
            out = out + probs["depth"][i] * logits
        return out


def accuracy(sn: SuperNet, arch: Arch, x, y, calib, quant: bool = True) -> float:
    """Top-1 of ``arch`` on the super-network's shared weights (statistics recomputed on
    ``calib``; operands fake-quantized to its bit-width when ``quant``)."""
    torch, _ = _torch()
    sn.recalibrate(calib, arch)
    with torch.no_grad():
        pred = sn.forward(x, arch, quant=quant).argmax(1)
    return float((pred == y).float().mean())


@dataclass
class TrainLog:
    epochs: int
    seconds: float
    largest_acc: float
    smallest_acc: float


def train_supernet(sn: SuperNet, x, y, *, epochs: int = 30, seed: int = 0, batch: int = 64,
                   lr: float = 3e-3, progress=None, xval=None, yval=None) -> TrainLog:
    """Sandwich-rule training: each step the largest, the smallest and two random networks
    (fake-quantized at their bit-width for half of the steps)."""
    import time
    torch, nn = _torch()
    F = nn.functional
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(sn.net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    sp = sn.space
    big, small = sp.largest(), sp.smallest()
    t0 = time.perf_counter()
    for ep in range(epochs):
        sn.net.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            archs = [big, small] + [sp.decode(g) for g in sp.random(rng, 2)]
            for a in archs:
                F.cross_entropy(sn.forward(xb, a, quant=bool(rng.integers(0, 2))),
                                yb).backward()
            opt.step()
        sched.step()
        if progress:
            progress(f"super-network epoch {ep + 1}/{epochs}")
    secs = time.perf_counter() - t0
    xv, yv = (x, y) if xval is None else (xval, yval)
    return TrainLog(epochs, secs, accuracy(sn, big, xv, yv, x), accuracy(sn, small, xv, yv, x))


def finetune(module, x, y, *, epochs: int = 15, seed: int = 0, lr: float = 1e-3,
             batch: int = 64):
    """Train a stand-alone network a few more epochs (from the inherited weights)."""
    torch, nn = _torch()
    F = nn.functional
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=1e-4)
    for _ in range(epochs):
        module.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            F.cross_entropy(module(x[idx]), y[idx]).backward()
            opt.step()
    return module.eval()


def module_accuracy(module, x, y) -> float:
    torch, _ = _torch()
    with torch.no_grad():
        return float((module(x).argmax(1) == y).float().mean())
