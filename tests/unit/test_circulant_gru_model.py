"""The block-circulant GRU cell's fixed-point model (hwgen.models.circulant_gru): with
wide words it follows the float cell with piecewise-linear gates; at the default words
it stays within the stated quantization error of it; two steps by hand at narrow words
(rounding, the reset gate on the candidate's hidden part, the clamps); the refusals."""
import numpy as np
import pytest
import torch

from hwgen.models.circulant_gru import gru_fixed, pack_gru_words
from hwgen.models.circulant_lstm import LstmFixed
from hwgen.nn.circulant_gru import BlockCirculantGRU, quantize_gru

from ..fixtures import gru_case


def float_cell_with_codes(cell, cfg, wx, wh, b):
    """``cell`` holding exactly the quantized weights and biases."""
    with torch.no_grad():
        for lin, codes in ((cell.wx, wx), (cell.wh, wh)):
            lin.weight.copy_(torch.tensor(codes, dtype=torch.float64).reshape(lin.weight.shape)
                             / 2.0 ** cfg.w_frac)
        bias = torch.tensor(b, dtype=torch.float64) / 2.0 ** (cfg.frac + cfg.w_frac)
        H = cell.hidden_size
        cell.wx.bias.copy_(bias[:3 * H])
        cell.bn_h.copy_(bias[3 * H:])
    return cell


def float_and_fixed(k, fx, seed=1):
    torch.manual_seed(seed)
    cell = BlockCirculantGRU(8, 8, k, pwl=True)
    with torch.no_grad():
        cell.bn_h.uniform_(-0.5, 0.5)
    cfg, wx, wh, b = quantize_gru(cell, fx)
    cell = float_cell_with_codes(cell, cfg, wx, wh, b)
    x = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(seed + 1)) * 2 - 1
    with torch.no_grad():
        want = cell(x)[0].double().numpy()
    xq = np.round(x.double().numpy() * (1 << cfg.frac)).astype(np.int64)
    return gru_fixed(cfg, wx, wh, b, xq) / float(1 << cfg.frac), want, cfg


@pytest.mark.parametrize("k", [1, 4])
def test_wide_words_follow_the_float_cell(k):
    got, want, _ = float_and_fixed(k, LstmFixed(frac=20, w_bits=20, state_bits=40))
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("k", [1, 4])
def test_default_words_within_the_quantization_error(k):
    # each step rounds the inputs, the pre-activations, r n_h and h by at most half an
    # LSB (2^-9) each, and sigma halves what it passes on: over 6 steps the error stays
    # within a few LSBs of frac = 8 (measured: 1.2 LSB for k = 1, 1.3 for k = 4)
    got, want, cfg = float_and_fixed(k, LstmFixed())
    err = np.abs(got - want).max()
    assert 0 < err <= 3 / (1 << cfg.frac)


def test_two_steps_by_hand():
    cfg = LstmFixed(frac=4, w_frac=2, w_bits=6, state_bits=8)
    # H = D = 1, k = 1: rows r, z, n; the hidden weights only on n
    wx = np.array([6, -3, 3]).reshape(3, 1, 1)
    wh = np.array([0, 0, 5]).reshape(3, 1, 1)
    b = np.array([0, 0, 2, -8])                    # b_r, b_z, bn_x, bn_h
    x = np.array([[[12], [12]]])                   # 0.75, twice
    # step 1 (h = 0): r = round(72/4) = 18 -> sigma 4 + 8 = 12; z = round(-36/4) = -9 ->
    # sigma -3 + 8 = 5; n_x = round(38/4) = 10; n_h = round(-8/4) = -2;
    # n = 10 + round(12 * -2 / 16) = 10 - 1 = 9; h = round((11 * 9 + 5 * 0) / 16) = 6
    # step 2 (h = 6): n_h = round(22/4) = 6; n = 10 + round(72/16) = 15;
    # h = round((11 * 15 + 5 * 6) / 16) = round(12.19) = 12
    assert gru_fixed(cfg, wx, wh, b, x).tolist() == [[[6], [12]]]
    # the candidate clamps at 1.0 (n_x = round(374/4) = 94 -> 16): h = round(11*16/16)
    assert gru_fixed(cfg, np.array([6, -3, 31]).reshape(3, 1, 1), wh, b, x)[0, 0, 0] == 11


def test_refusals():
    cfg = LstmFixed(w_bits=4)
    z = np.zeros
    with pytest.raises(ValueError, match="wh: weight codes must fit 4 signed bits"):
        gru_fixed(cfg, z((3, 1, 1)), np.full((3, 1, 1), -9), z(4), z((1, 1, 1)))
    with pytest.raises(ValueError, match="wx and wh must have 3H = 3 rows"):
        gru_fixed(cfg, z((4, 1, 1)), z((3, 1, 1)), z(4), z((1, 1, 1)))
    with pytest.raises(ValueError, match=r"bias: shape must be \(4,\)"):
        gru_fixed(cfg, z((3, 1, 1)), z((3, 1, 1)), z(3), z((1, 1, 1)))
    gcfg, wx, wh, b, _ = gru_case("k4")
    with pytest.raises(ValueError, match=r"wx: shape must be \(6, 2, 4\)"):
        pack_gru_words(gcfg, wx[:, :1], wh, b)
    b[0] = 1 << (gcfg.bias_bits - 1)
    with pytest.raises(ValueError, match="bias: codes must fit 24 signed bits"):
        pack_gru_words(gcfg, wx, wh, b)
