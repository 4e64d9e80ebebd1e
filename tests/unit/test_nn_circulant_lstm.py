"""The block-circulant LSTM in torch (hwgen.nn.circulant_lstm): with exact activations it
is torch's nn.LSTM with the block-circulant matrices as weights; the piecewise-linear
activations; what it stores."""
import pytest
import torch
from torch import nn

from hwgen.nn.circulant import block_circulant_dense
from hwgen.nn.circulant_lstm import BlockCirculantLSTM, pwl_sigmoid, pwl_tanh


def lstm(seed=0, d=8, h=16):
    torch.manual_seed(seed)
    return nn.LSTM(d, h, batch_first=True)


@pytest.mark.parametrize("k", [1, 4, 8])
def test_equals_torch_lstm_with_the_projected_weights(k):
    ref = lstm()
    cell = BlockCirculantLSTM.from_lstm(ref, k, pwl=False)
    if k > 1:
        # the nn.LSTM that holds the block-circulant matrices
        with torch.no_grad():
            ref.weight_ih_l0.copy_(block_circulant_dense(cell.wx.weight))
            ref.weight_hh_l0.copy_(block_circulant_dense(cell.wh.weight))
    x = torch.randn(5, 7, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, (hw, cw) = ref(x)
        got, (h, c) = cell(x)
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(h, hw[0], atol=1e-5) and torch.allclose(c, cw[0], atol=1e-5)


def test_projection_changes_the_dense_weights():
    ref = lstm()
    cell = BlockCirculantLSTM.from_lstm(ref, 4, pwl=False)
    assert not torch.allclose(block_circulant_dense(cell.wh.weight), ref.weight_hh_l0)


def test_piecewise_linear_activations():
    x = torch.tensor([-5.0, -2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 5.0])
    assert pwl_sigmoid(x).tolist() == [0.0, 0.0, 0.25, 0.5, 0.625, 0.75, 1.0, 1.0]
    assert pwl_tanh(x).tolist() == [-1.0, -1.0, -1.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    ref = lstm()
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = BlockCirculantLSTM.from_lstm(ref, 4, pwl=True)(x)[0]
        b = BlockCirculantLSTM.from_lstm(ref, 4, pwl=False)(x)[0]
    assert not torch.allclose(a, b) and (a - b).abs().max() < 0.2


def test_parameters_stored():
    # W_x 64x8 and W_h 64x16 as 8x8 circulant blocks, plus 64 biases
    assert BlockCirculantLSTM(8, 16, 8).parameters_stored() == 8 * 1 * 8 + 8 * 2 * 8 + 64
    assert BlockCirculantLSTM(8, 16, 1).parameters_stored() == 64 * 8 + 64 * 16 + 64
