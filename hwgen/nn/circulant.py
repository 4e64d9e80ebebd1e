"""Trainable block-circulant linear layer and projection of dense weights onto it.

The layer's m x n weight is made of k x k circulant blocks; block (i, j) is defined by a
vector ``w[i, j]`` of length k, with ``C[r, c] = w[i, j, (r - c) mod k]`` (the convention of
:func:`hwgen.models.fft_fixed.circulant_dense`). The forward pass computes
``y_i = sum_j IFFT(FFT(w_ij) * FFT(x_j))`` with real FFTs, so it costs
O(m n log k / k) instead of O(m n) and stores m n / k parameters.

:class:`BlockCirculantConv2d` is the convolution through im2col: every receptive field
(``in_channels * kh * kw`` values) goes through one :class:`BlockCirculantLinear`.
:func:`export_frequency_weights` turns a trained layer into the spectrum words that the
hardware's weight buffer holds (:mod:`hwgen.models.circulant_layer`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..models.circulant_layer import quantize_layer_weights


def _check(in_features: int, out_features: int, block_size: int) -> None:
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
    for name, v in (("in_features", in_features), ("out_features", out_features)):
        if v < 1 or v % block_size:
            raise ValueError(f"{name} must be a positive multiple of block_size="
                             f"{block_size}, not {v}")


def project_block_circulant(weight: torch.Tensor, block_size: int) -> torch.Tensor:
    """The block-defining vectors (m/k, n/k, k) of the block-circulant matrix nearest to
    ``weight`` (m x n) in Frobenius norm: each ``w[i, j, d]`` is the mean of block (i, j)
    along its d-th circulant diagonal, the entries ``(r, c)`` with ``r - c = d mod k``."""
    m, n = weight.shape
    _check(n, m, block_size)
    k = block_size
    blocks = weight.reshape(m // k, k, n // k, k).permute(0, 2, 1, 3)  # (p, q, r, c)
    r = torch.arange(k, device=weight.device)
    rows = (r[None, :] + r[:, None]) % k          # [d, c] -> row c + d
    return blocks[:, :, rows, r[None, :].expand(k, k)].mean(dim=-1)


def block_circulant_dense(w: torch.Tensor) -> torch.Tensor:
    """The dense (p*k) x (q*k) matrix of block-defining vectors ``w`` (p, q, k)."""
    p, q, k = w.shape
    r = torch.arange(k, device=w.device)
    idx = (r[:, None] - r[None, :]) % k
    return w[:, :, idx].permute(0, 2, 1, 3).reshape(p * k, q * k)


class BlockCirculantLinear(nn.Module):
    """``y = x W^T + b`` with W block-circulant, computed through FFTs.

    Parameters
    ----------
    in_features, out_features : int
        Multiples of ``block_size``.
    block_size : int
        k, the size of each circulant block.
    bias : bool
        Learn an additive bias.

    Attributes
    ----------
    weight : Parameter, shape (out_features/k, in_features/k, k)
        Block-defining vectors.
    bias : Parameter or None, shape (out_features,)
    """

    def __init__(self, in_features: int, out_features: int, block_size: int,
                 bias: bool = True):
        super().__init__()
        _check(in_features, out_features, block_size)
        self.in_features, self.out_features, self.block_size = in_features, out_features, block_size
        k = block_size
        # each output sums in_features products, as in nn.Linear
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features // k, in_features // k, k)
                                   .uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None

    @classmethod
    def from_dense(cls, linear: nn.Linear, block_size: int) -> BlockCirculantLinear:
        """A layer holding the block-circulant projection of ``linear``'s weight."""
        layer = cls(linear.in_features, linear.out_features, block_size,
                    bias=linear.bias is not None)
        with torch.no_grad():
            layer.weight.copy_(project_block_circulant(linear.weight, block_size))
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def dense_weight(self) -> torch.Tensor:
        return block_circulant_dense(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.block_size
        p, q = self.out_features // k, self.in_features // k
        xb = x.reshape(*x.shape[:-1], q, k)
        X = torch.fft.rfft(xb, dim=-1)
        W = torch.fft.rfft(self.weight, dim=-1)
        Y = torch.einsum("ijf,...jf->...if", W, X)
        y = torch.fft.irfft(Y, n=k, dim=-1).reshape(*x.shape[:-1], p * k)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"block_size={self.block_size}, bias={self.bias is not None}")


class BlockCirculantConv2d(nn.Module):
    """2-D convolution whose (out_channels x in_channels*kh*kw) weight matrix is
    block-circulant, computed as im2col followed by :class:`BlockCirculantLinear`.

    Parameters
    ----------
    in_channels, out_channels : int
        ``in_channels * kh * kw`` and ``out_channels`` must be multiples of
        ``block_size``.
    kernel_size : int or (int, int)
    block_size : int
    stride, padding : int
        As in :class:`torch.nn.Conv2d`.
    bias : bool

    Attributes
    ----------
    linear : BlockCirculantLinear
        The layer applied to every receptive field; its input order is the one of
        :func:`torch.nn.functional.unfold` (channel, then kernel row, then column), the
        order of a ``Conv2d`` weight flattened to ``(out_channels, -1)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, block_size: int,
                 stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        fields = in_channels * kh * kw
        if fields % block_size:
            raise ValueError(f"in_channels * kernel height * kernel width = {fields} must be "
                             f"a multiple of block_size={block_size}")
        self.linear = BlockCirculantLinear(fields, out_channels, block_size, bias=bias)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, block_size: int) -> BlockCirculantConv2d:
        """The block-circulant projection of ``conv``'s weight."""
        if conv.groups != 1 or conv.dilation != (1, 1) or not isinstance(conv.padding, tuple) \
                or conv.stride[0] != conv.stride[1] or conv.padding[0] != conv.padding[1]:
            raise ValueError("only square stride and padding, no groups or dilation")
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, block_size,
                    stride=conv.stride[0], padding=conv.padding[0], bias=conv.bias is not None)
        dense = nn.Linear(layer.linear.in_features, conv.out_channels, bias=conv.bias is not None)
        with torch.no_grad():
            dense.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                dense.bias.copy_(conv.bias)
        layer.linear = BlockCirculantLinear.from_dense(dense, block_size)
        return layer

    def dense_weight(self) -> torch.Tensor:
        """The equivalent ``Conv2d`` weight (out_channels, in_channels, kh, kw)."""
        return self.linear.dense_weight().reshape(self.out_channels, self.in_channels,
                                                  *self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        cols = F.unfold(x, (kh, kw), padding=self.padding, stride=self.stride)  # (N, C*kh*kw, L)
        oh = (h + 2 * self.padding - kh) // self.stride + 1
        ow = (w + 2 * self.padding - kw) // self.stride + 1
        y = self.linear(cols.transpose(1, 2))                                    # (N, L, out)
        return y.transpose(1, 2).reshape(n, self.out_channels, oh, ow)


def export_frequency_weights(layer: BlockCirculantLinear, cfg, frac: int | None = None):
    """The weight buffer contents for ``cfg`` (a :class:`CirculantConfig`) from a trained
    layer: ``(words, frac)``, integer spectrum words (m/k, n/k, spectrum_words) within
    ``w_bits`` and their fraction bits (see
    :func:`hwgen.models.circulant_layer.quantize_layer_weights`). A layer whose shape does
    not match the config is refused with one line naming the tensor."""

    w = layer.weight
    want = (cfg.blocks_out, cfg.blocks_in, cfg.k)
    if tuple(w.shape) != want:
        raise ValueError(f"weight: shape {tuple(w.shape)} does not match the circulant "
                         f"config (m/k, n/k, k) = {want}")
    return quantize_layer_weights(cfg, w.detach().cpu().double().numpy(), frac)


def load_block_vectors(layer: BlockCirculantLinear, w) -> None:
    """Copy block-defining vectors ``w`` (m/k, n/k, k) into ``layer.weight``; a tensor of
    another shape is refused with one line naming it."""
    w = torch.as_tensor(np.asarray(w), dtype=layer.weight.dtype)
    if w.shape != layer.weight.shape:
        raise ValueError(f"weight: shape {tuple(w.shape)} does not match the layer's "
                         f"{tuple(layer.weight.shape)} (m/k, n/k, k)")
    with torch.no_grad():
        layer.weight.copy_(w)
