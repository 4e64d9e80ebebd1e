"""Pattern and connectivity pruning of convolutions in torch (PatDNN, ADMM-NN), for the
pattern-pruned convolution unit (``pattern_conv:``).

The constraint set of a layer: every k x k kernel keeps only the positions of one
pattern of a library, and at most ``keep`` percent of the layer's kernels are non-zero.
:func:`project` is the Euclidean projection onto it (per kernel the pattern that keeps
the most of its squared weights; then the kernels with the most kept energy).

:class:`PatternPruner` trains towards the set two ways:

* ADMM (Zhang et al. 2018, as ADMM-NN and PatDNN use it): minimise the loss plus
  rho/2 ||W - Z + U||^2 while Z = project(W + U) and U += W - Z after every epoch; then
  W is projected (hard pruning) and fine-tuned;
* projected gradient, the baseline: W is projected once and fine-tuned.

Fine-tuning keeps the masks fixed (a parametrization multiplies the weight by its mask)
and can quantize the pruned layers' weights on the way (``weight_bits``: symmetric, one
scale per layer, rounding with a straight-through gradient), so what is trained is what
the integer hardware computes. Training is seeded and runs on one thread.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["pattern_masks", "project", "PatternPruner", "quantize_weight", "accuracy"]


def pattern_masks(patterns: Iterable[Iterable[str]]) -> torch.Tensor:
    """(P, k, k) booleans from patterns given as rows of '0'/'1' (the config's form)."""
    return torch.tensor([[[ch == "1" for ch in row] for row in pat] for pat in patterns])


def project(weight: torch.Tensor, masks: torch.Tensor, keep: float):
    """The projection of ``weight`` (F, C, k, k) onto the pattern set ``masks`` with at
    most ``keep`` percent of the F C kernels non-zero (at least one). Returns the
    projected weight and its mask."""
    w = weight.detach()
    F, C = w.shape[:2]
    energy = torch.einsum("fcij,pij->fcp", w * w, masks.to(w.dtype))
    kept, best = energy.max(dim=-1)
    mask = masks[best]                                     # (F, C, k, k)
    n = max(1, math.floor(keep * F * C / 100))
    if n < F * C:
        order = torch.argsort(kept.flatten(), descending=True, stable=True)
        conn = torch.zeros(F * C, dtype=torch.bool)
        conn[order[:n]] = True
        mask = mask & conn.view(F, C, 1, 1)
    return w * mask, mask


def quantize_weight(w: torch.Tensor, bits: int):
    """Symmetric per-tensor quantization: (codes, scale) with codes in
    [-(2^(b-1) - 1), 2^(b-1) - 1] and w ~ codes * scale."""
    top = (1 << (bits - 1)) - 1
    scale = float(w.detach().abs().max()) / top or 1.0
    return torch.round(w.detach() / scale).clamp(-top, top).to(torch.int64), scale


class _Masked(nn.Module):
    """Weight parametrization: mask, then (optionally) fake quantization."""

    def __init__(self, mask: torch.Tensor, bits: Optional[int]):
        super().__init__()
        self.register_buffer("mask", mask.to(torch.float32))
        self.bits = bits

    def forward(self, w):
        w = w * self.mask
        if self.bits is None:
            return w
        top = (1 << (self.bits - 1)) - 1
        scale = w.detach().abs().max().clamp_min(1e-12) / top
        q = torch.round(w / scale).clamp(-top, top) * scale
        return w + (q - w).detach()


def accuracy(model: nn.Module, x, y) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.as_tensor(x)).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())


class PatternPruner:
    """Prunes the convolutions ``layers`` (name -> keep percent) of ``model`` to the
    pattern library ``masks`` (module docstring). The model is changed in place."""

    def __init__(self, model: nn.Module, layers: dict, masks: torch.Tensor, seed: int = 0):
        self.model, self.layers, self.masks, self.seed = model, dict(layers), masks, seed
        mods = dict(model.named_modules())
        for name in self.layers:
            conv = mods.get(name)
            if not isinstance(conv, nn.Conv2d) or tuple(conv.kernel_size) != tuple(masks.shape[1:]):
                raise ValueError(f"{name}: not a {tuple(masks.shape[1:])} Conv2d of the model")
        self.convs = {name: mods[name] for name in self.layers}

    def _epochs(self, data: dict, epochs: int, lr: float, penalty=None, after_epoch=None):
        x = torch.as_tensor(data["x_train"])
        y = torch.as_tensor(data["y_train"], dtype=torch.long)
        opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(self.seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(epochs):
                self.model.train()
                perm = torch.randperm(x.shape[0], generator=gen)
                for i in range(0, x.shape[0], 64):
                    idx = perm[i:i + 64]
                    opt.zero_grad()
                    loss = nn.functional.cross_entropy(self.model(x[idx]), y[idx])
                    if penalty is not None:
                        loss = loss + penalty()
                    loss.backward()
                    opt.step()
                if after_epoch is not None:
                    after_epoch()
        finally:
            torch.set_num_threads(threads)
        self.model.eval()

    def admm(self, data: dict, epochs: int = 20, rho: float = 1e-2, lr: float = 1e-3) -> None:
        """ADMM towards the constraint sets (Z and U per layer, updated every epoch)."""
        torch.manual_seed(self.seed)
        Z, U = {}, {}
        for name, conv in self.convs.items():
            Z[name] = project(conv.weight, self.masks, self.layers[name])[0]
            U[name] = torch.zeros_like(conv.weight)

        def penalty():
            return sum(rho / 2 * ((c.weight - Z[n] + U[n]) ** 2).sum()
                       for n, c in self.convs.items())

        def update():
            for n, c in self.convs.items():
                w = c.weight.detach()
                Z[n] = project(w + U[n], self.masks, self.layers[n])[0]
                U[n] = U[n] + w - Z[n]

        self._epochs(data, epochs, lr, penalty, update)

    def prune(self) -> dict:
        """Hard pruning: project every layer's weights; returns the masks."""
        out = {}
        with torch.no_grad():
            for name, conv in self.convs.items():
                w, mask = project(conv.weight, self.masks, self.layers[name])
                conv.weight.copy_(w)
                out[name] = mask
        return out

    def finetune(self, data: dict, masks: dict, epochs: int = 10, lr: float = 1e-3,
                 weight_bits: Optional[int] = None) -> None:
        """Train with the masks held (and the weights fake-quantized to ``weight_bits``);
        leaves the masked (quantized) weights in the layers."""
        for name, conv in self.convs.items():
            parametrize.register_parametrization(conv, "weight", _Masked(masks[name], weight_bits))
        try:
            self._epochs(data, epochs, lr)
        finally:
            for conv in self.convs.values():
                parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)

    def sparsity(self) -> dict:
        """Per layer: kept kernels, kept weights and their fractions."""
        out = {}
        for name, conv in self.convs.items():
            w = conv.weight.detach()
            kernels = (w != 0).flatten(2).any(-1)
            out[name] = {"kernels_kept": int(kernels.sum()), "kernels": kernels.numel(),
                         "weights_kept": int((w != 0).sum()), "weights": w.numel()}
        return out
