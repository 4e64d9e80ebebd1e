"""Trainable block-circulant linear layer and projection of dense weights onto it.

The layer's m x n weight is made of k x k circulant blocks; block (i, j) is defined by a
vector ``w[i, j]`` of length k, with ``C[r, c] = w[i, j, (r - c) mod k]`` (the convention of
:func:`hwgen.models.fft_fixed.circulant_dense`). The forward pass computes
``y_i = sum_j IFFT(FFT(w_ij) * FFT(x_j))`` with real FFTs, so it costs
O(m n log k / k) instead of O(m n) and stores m n / k parameters.
"""
from __future__ import annotations

import math

import torch
from torch import nn


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
    def from_dense(cls, linear: nn.Linear, block_size: int) -> "BlockCirculantLinear":
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
