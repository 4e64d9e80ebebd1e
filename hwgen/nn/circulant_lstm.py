"""Block-circulant LSTM in torch (E-RNN, Wang et al., HPCA 2019): the gate matrices of an
LSTM cell are block-circulant (:class:`hwgen.nn.circulant.BlockCirculantLinear`), and the
gate nonlinearities may be the piecewise-linear ones a hardware cell uses.

One step, with ``z = W_x x_t + W_h h_{t-1} + b`` split into the input, forget, cell and
output parts (torch's ``nn.LSTM`` order i, f, g, o):

    c_t = sigma(f) c_{t-1} + sigma(i) tanh(g),    h_t = sigma(o) tanh(c_t)

With ``pwl`` the nonlinearities are the two-breakpoint lines ``sigma(x) = clamp(x/4 +
1/2, 0, 1)`` and ``tanh(x) = clamp(x, -1, 1)`` (slopes that are shifts, no table). A
``block_size`` of 1 is the dense cell (then the weights are those of nn.LSTM).

:func:`digits_rows` is the small sequence task: scikit-learn's 8x8 digits read row by
row, eight steps of eight pixels.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .circulant import BlockCirculantLinear

__all__ = ["pwl_sigmoid", "pwl_tanh", "BlockCirculantLSTM", "RowClassifier", "digits_rows",
           "train_rows", "rows_accuracy", "quantize_cell", "quantize_weights",
           "fixed_accuracy"]


def pwl_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x * 0.25 + 0.5, 0.0, 1.0)


def pwl_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, -1.0, 1.0)


def projections(input_size: int, hidden_size: int, gates: int, block_size: int) -> tuple:
    """A recurrent cell's input projection (with the bias) and hidden projection (without)
    onto ``gates`` x H rows: plain matrix products when ``block_size`` is 1, else
    block-circulant."""
    rows = gates * hidden_size
    if block_size == 1:
        return nn.Linear(input_size, rows), nn.Linear(hidden_size, rows, bias=False)
    return (BlockCirculantLinear(input_size, rows, block_size),
            BlockCirculantLinear(hidden_size, rows, block_size, bias=False))


def projected(lin: nn.Linear, hid: nn.Linear, block_size: int) -> tuple:
    """Dense projections ``lin`` and ``hid`` as a cell's: themselves when ``block_size``
    is 1, else their block-circulant projections."""
    if block_size == 1:
        return lin, hid
    return (BlockCirculantLinear.from_dense(lin, block_size),
            BlockCirculantLinear.from_dense(hid, block_size))


class BlockCirculantLSTM(nn.Module):
    """A one-layer LSTM over (batch, time, input_size) whose ``W_x`` (4H x D) and ``W_h``
    (4H x H) are block-circulant with ``block_size`` k (D and H multiples of k).

    Returns the outputs (batch, time, H) and the final (h, c)."""

    def __init__(self, input_size: int, hidden_size: int, block_size: int, pwl: bool = True):
        super().__init__()
        self.input_size, self.hidden_size, self.block_size, self.pwl = (
            input_size, hidden_size, block_size, pwl)
        self.wx, self.wh = projections(input_size, hidden_size, 4, block_size)

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM, block_size: int, pwl: bool = True) -> "BlockCirculantLSTM":
        """The block-circulant projection of a one-layer, batch-first ``nn.LSTM``."""
        cell = cls(lstm.input_size, lstm.hidden_size, block_size, pwl)
        with torch.no_grad():
            lin = nn.Linear(lstm.input_size, 4 * lstm.hidden_size)
            lin.weight.copy_(lstm.weight_ih_l0)
            lin.bias.copy_(lstm.bias_ih_l0 + lstm.bias_hh_l0)
            hid = nn.Linear(lstm.hidden_size, 4 * lstm.hidden_size, bias=False)
            hid.weight.copy_(lstm.weight_hh_l0)
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
        c = x.new_zeros(B, H)
        zx = self.wx(x)                                # every step's input part at once
        outs = []
        for t in range(T):
            z = zx[:, t] + self.wh(h)
            i, f, g, o = z.split(H, dim=-1)
            c = sig(f) * c + sig(i) * tanh(g)
            h = sig(o) * tanh(c)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


class RowClassifier(nn.Module):
    """A sequence of rows through an LSTM, the last hidden state through a linear layer."""

    def __init__(self, rnn: nn.Module, hidden_size: int, classes: int = 10):
        super().__init__()
        self.rnn, self.fc = rnn, nn.Linear(hidden_size, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def digits_rows(seed: int = 0) -> dict:
    """scikit-learn's digits as (N, 8, 8) sequences of rows in [0, 1], split 80/20
    (stratified, ``random_state=seed``)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data.astype(np.float32) / 16.0).reshape(-1, 8, 8)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed,
                                          stratify=d.target)
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def train_rows(model: nn.Module, data: dict, epochs: int = 40, lr: float = 1e-2,
               seed: int = 0) -> nn.Module:
    """Adam on minibatches of 64, seeded, on one thread."""
    torch.manual_seed(seed)
    x = torch.as_tensor(data["x_train"])
    y = torch.as_tensor(data["y_train"], dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(x.shape[0], generator=gen)
            for i in range(0, x.shape[0], 64):
                idx = perm[i:i + 64]
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def rows_accuracy(model: nn.Module, x, y) -> float:
    with torch.no_grad():
        pred = model(torch.as_tensor(x)).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())


def quantize_cell(cell: BlockCirculantLSTM, cfg=None):
    """The cell's weights as codes for :func:`hwgen.models.circulant_lstm.lstm_fixed`:
    (cfg, wx, wh, bias), with ``w_frac`` the largest that keeps every weight within
    ``w_bits`` (default word lengths: :class:`LstmFixed`). A dense cell (k = 1) gives
    1 x 1 blocks."""
    return quantize_weights(cell.wx, cell.wh, cell.wx.bias, cfg)


def quantize_weights(wx: nn.Module, wh: nn.Module, bias: torch.Tensor, cfg=None):
    """(cfg, wx, wh, bias) codes of two block-circulant (or dense) layers and a bias
    vector: ``w_frac`` the largest that keeps every weight within ``w_bits``, weights
    rounded to it, the bias rounded at ``frac + w_frac`` fraction bits."""
    import math

    from ..models.circulant_lstm import LstmFixed
    cfg = cfg or LstmFixed()

    def vectors(lin):
        w = lin.weight.detach().double()
        return w if w.dim() == 3 else w[:, :, None]           # nn.Linear: 1x1 blocks

    wx, wh = vectors(wx), vectors(wh)
    peak = float(max(wx.abs().max(), wh.abs().max()))
    top = (1 << (cfg.w_bits - 1)) - 1
    w_frac = int(math.floor(math.log2(top / peak)))
    cfg = cfg._replace(w_frac=w_frac)

    def codes(w, f):
        return torch.clamp(torch.round(w * 2.0 ** f), -top - 1, top).to(torch.int64).numpy()

    # the bias adds to the products' sum at its full width: not clamped to w_bits
    bias = torch.round(bias.detach().double() * 2.0 ** (cfg.frac + w_frac))
    return cfg, codes(wx, w_frac), codes(wh, w_frac), bias.to(torch.int64).numpy()


def fixed_accuracy(model: RowClassifier, x, y, cfg=None) -> float:
    """Accuracy with the LSTM cell in fixed point (inputs rounded to ``frac`` bits, the
    last hidden state back to float for the classifier)."""
    from ..models.circulant_lstm import lstm_fixed
    return classify_fixed(model, lstm_fixed, quantize_cell(model.rnn, cfg), x, y)


def classify_fixed(model: RowClassifier, cell_fixed, quantized, x, y) -> float:
    """Accuracy of ``model``'s classifier on the last hidden states of
    ``cell_fixed(*quantized, codes of x)`` (inputs rounded to ``frac`` bits)."""
    qcfg, wx, wh, b = quantized
    xq = np.round(np.asarray(x, dtype=np.float64) * (1 << qcfg.frac)).astype(np.int64)
    h = cell_fixed(qcfg, wx, wh, b, xq)[:, -1] / float(1 << qcfg.frac)
    with torch.no_grad():
        pred = model.fc(torch.as_tensor(h, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())
