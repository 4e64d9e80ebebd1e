"""The block-circulant LSTM cell's fixed-point model (hwgen.models.circulant_lstm): with
wide words it follows the float cell with piecewise-linear gates; one step by hand at
narrow words (rounding, clamps); the time-domain circulant matrix; the refusals."""
import numpy as np
import pytest
import torch

from hwgen.models.circulant_lstm import (LstmFixed, circulant_matrix, lstm_fixed,
                                         sigmoid_fixed, tanh_fixed)
from hwgen.nn.circulant import block_circulant_dense
from hwgen.nn.circulant_lstm import BlockCirculantLSTM, quantize_cell


def test_circulant_matrix_is_the_torch_layers():
    w = np.random.default_rng(0).integers(-50, 50, size=(3, 2, 4))
    assert np.array_equal(circulant_matrix(w),
                          block_circulant_dense(torch.tensor(w)).numpy())


@pytest.mark.parametrize("k", [1, 4])
def test_wide_words_follow_the_float_cell(k):
    torch.manual_seed(1)
    cell = BlockCirculantLSTM(8, 8, k, pwl=True)
    cfg, wx, wh, b = quantize_cell(cell, LstmFixed(frac=20, w_bits=20, state_bits=40))
    # the float cell with exactly the quantized weights
    with torch.no_grad():
        for lin, codes in ((cell.wx, wx), (cell.wh, wh)):
            lin.weight.copy_(torch.tensor(codes, dtype=torch.float64).reshape(lin.weight.shape)
                             / 2.0 ** cfg.w_frac)
        cell.wx.bias.copy_(torch.tensor(b, dtype=torch.float64) / 2.0 ** (cfg.frac + cfg.w_frac))
    x = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        want = cell(x)[0].double().numpy()
    xq = np.round(x.double().numpy() * (1 << cfg.frac)).astype(np.int64)
    got = lstm_fixed(cfg, wx, wh, b, xq) / float(1 << cfg.frac)
    assert np.abs(got - want).max() < 1e-4


def test_one_step_by_hand():
    cfg = LstmFixed(frac=4, w_frac=2, w_bits=6, state_bits=8)
    # H = D = 1, k = 1: gate rows i, f, g, o
    wx = np.array([6, -3, 31, 5]).reshape(4, 1, 1)
    wh = np.zeros((4, 1, 1), dtype=np.int64)
    b = np.array([0, 0, 2, -1])
    x = np.array([[[12]]])                       # 0.75
    # a = 72, -36, 374, 59 -> z = round(a / 4): 18, -9, 94, 15 (half up: -36/4 = -9)
    # sigma: floor(z/4) + 8 clamped to 0..16 -> i 12, f 5, o 11; tanh(g): 94 -> 16
    # c = round((5*0 + 12*16) / 16) = 12; h = round(11 * 12 / 16) = round(8.25) = 8
    assert lstm_fixed(cfg, wx, wh, b, x).tolist() == [[[8]]]
    assert sigmoid_fixed(np.array([-100, -5, 0, 3, 100]), 4).tolist() == [0, 6, 8, 8, 16]
    assert tanh_fixed(np.array([-100, 5, 100]), 4).tolist() == [-16, 5, 16]
    # pre-activations saturate at state_bits: z = 127 or 100 becomes 31, so every sigma
    # is floor(31/4) + 8 = 15 (16 unsaturated) and h = round(15 * 16 / 16) = 15
    big = LstmFixed(frac=4, w_frac=0, w_bits=8, state_bits=6)
    h = lstm_fixed(big, np.array([0, 0, 100, 100]).reshape(4, 1, 1), np.zeros((4, 1, 1)),
                   np.array([127, 127, 0, 127]), np.array([[[1]] * 3]).reshape(1, 3, 1))
    assert h[0, -1, 0] == 15


def test_refusals():
    cfg = LstmFixed(w_bits=4)
    with pytest.raises(ValueError, match="wx: weight codes must fit 4 signed bits"):
        lstm_fixed(cfg, np.full((4, 1, 1), 8), np.zeros((4, 1, 1)), np.zeros(4), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="wx and wh must have 4H = 4 rows"):
        lstm_fixed(cfg, np.zeros((8, 1, 1)), np.zeros((4, 1, 1)), np.zeros(4), np.zeros((1, 1, 1)))
