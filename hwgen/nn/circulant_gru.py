"""Block-circulant GRU in torch: the r, z and n matrices of a GRU cell are
block-circulant (:class:`hwgen.nn.circulant.BlockCirculantLinear`), with the
piecewise-linear nonlinearities of :mod:`hwgen.nn.circulant_lstm` if ``pwl``.

One step in PyTorch's convention (``nn.GRU``, gate order r, z, n):

    r = sigma(W_r x + U_r h + b_r),   z = sigma(W_z x + U_z h + b_z)
    n = tanh(W_n x + bn_x + r * (U_n h + bn_h)),   h' = (1 - z) n + z h

``W_x`` (3H x D) carries the biases b_r, b_z (input and hidden parts of nn.GRU added)
and bn_x; ``W_h`` (3H x H) has none, the candidate's hidden bias bn_h is a vector of
its own because r multiplies it. The digits-rows task, training and the classifier are
those of the LSTM (:func:`~hwgen.nn.circulant_lstm.digits_rows`,
:class:`~hwgen.nn.circulant_lstm.RowClassifier`).
"""
from __future__ import annotations

import torch
from torch import nn

from .circulant_lstm import (RowClassifier, classify_fixed, projected, projections, pwl_sigmoid,
                             pwl_tanh, quantize_weights)

__all__ = ["BlockCirculantGRU", "quantize_gru", "gru_fixed_accuracy"]


class BlockCirculantGRU(nn.Module):
    """A one-layer GRU over (batch, time, input_size) whose ``W_x`` (3H x D) and ``W_h``
    (3H x H) are block-circulant with ``block_size`` k (D and H multiples of k; 1: the
    dense cell, whose weights are then those of nn.GRU).

    Returns the outputs (batch, time, H) and the final h."""

    def __init__(self, input_size: int, hidden_size: int, block_size: int, pwl: bool = True):
        super().__init__()
        self.input_size, self.hidden_size, self.block_size, self.pwl = (
            input_size, hidden_size, block_size, pwl)
        self.wx, self.wh = projections(input_size, hidden_size, 3, block_size)
        self.bn_h = nn.Parameter(torch.zeros(hidden_size))

    @classmethod
    def from_gru(cls, gru: nn.GRU, block_size: int, pwl: bool = True) -> "BlockCirculantGRU":
        """The block-circulant projection of a one-layer, batch-first ``nn.GRU``."""
        H = gru.hidden_size
        cell = cls(gru.input_size, H, block_size, pwl)
        with torch.no_grad():
            lin = nn.Linear(gru.input_size, 3 * H)
            lin.weight.copy_(gru.weight_ih_l0)
            bias = gru.bias_ih_l0.clone()
            bias[:2 * H] += gru.bias_hh_l0[:2 * H]
            lin.bias.copy_(bias)
            hid = nn.Linear(H, 3 * H, bias=False)
            hid.weight.copy_(gru.weight_hh_l0)
            cell.bn_h.copy_(gru.bias_hh_l0[2 * H:])
            cell.wx, cell.wh = projected(lin, hid, block_size)
        return cell

    def parameters_stored(self) -> int:
        """Weights and biases the cell stores."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor):
        sig, tanh = (pwl_sigmoid, pwl_tanh) if self.pwl else (torch.sigmoid, torch.tanh)
        B, T, _ = x.shape
        H = self.hidden_size
        h = x.new_zeros(B, H)
        ax = self.wx(x)
        outs = []
        for t in range(T):
            ah = self.wh(h)
            r = sig(ax[:, t, :H] + ah[:, :H])
            z = sig(ax[:, t, H:2 * H] + ah[:, H:2 * H])
            n = tanh(ax[:, t, 2 * H:] + r * (ah[:, 2 * H:] + self.bn_h))
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1), h


def quantize_gru(cell: BlockCirculantGRU, cfg=None):
    """The cell's weights as codes for :func:`hwgen.models.circulant_gru.gru_fixed`:
    (cfg, wx, wh, bias) with the 4H bias codes b_r, b_z, bn_x, bn_h, ``w_frac`` the
    largest that keeps every weight within ``w_bits`` (default word lengths:
    :class:`~hwgen.models.circulant_lstm.LstmFixed`)."""
    return quantize_weights(cell.wx, cell.wh, torch.cat([cell.wx.bias, cell.bn_h]), cfg)


def gru_fixed_accuracy(model: RowClassifier, x, y, cfg=None) -> float:
    """Accuracy with the GRU cell in fixed point (inputs rounded to ``frac`` bits, the
    last hidden state back to float for the classifier)."""
    from ..models.circulant_gru import gru_fixed
    return classify_fixed(model, gru_fixed, quantize_gru(model.rnn, cfg), x, y)
