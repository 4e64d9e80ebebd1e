"""The block-circulant GRU in torch (hwgen.nn.circulant_gru): with exact activations it
is torch's nn.GRU with the block-circulant matrices as weights (the biases split as
nn.GRU splits them); the piecewise-linear activations stay close; what it stores."""
import pytest
import torch
from torch import nn

from hwgen.nn.circulant import block_circulant_dense
from hwgen.nn.circulant_gru import BlockCirculantGRU


def gru(seed=0, d=8, h=16):
    torch.manual_seed(seed)
    return nn.GRU(d, h, batch_first=True)


@pytest.mark.parametrize("k", [1, 4, 8])
def test_equals_torch_gru_with_the_projected_weights(k):
    ref = gru()
    cell = BlockCirculantGRU.from_gru(ref, k, pwl=False)
    if k > 1:
        with torch.no_grad():
            ref.weight_ih_l0.copy_(block_circulant_dense(cell.wx.weight))
            ref.weight_hh_l0.copy_(block_circulant_dense(cell.wh.weight))
    x = torch.randn(5, 7, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, hw = ref(x)
        got, h = cell(x)
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(h, hw[0], atol=1e-5)


def test_piecewise_linear_activations_stay_close():
    ref = gru()
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = BlockCirculantGRU.from_gru(ref, 4, pwl=True)(x)[0]
        b = BlockCirculantGRU.from_gru(ref, 4, pwl=False)(x)[0]
    assert not torch.allclose(a, b) and (a - b).abs().max() < 0.2


def test_parameters_stored():
    # W_x 48x8 and W_h 48x16 as 8x8 circulant blocks, 48 + 16 biases
    assert BlockCirculantGRU(8, 16, 8).parameters_stored() == 6 * 1 * 8 + 6 * 2 * 8 + 64
    assert BlockCirculantGRU(8, 16, 1).parameters_stored() == 48 * 8 + 48 * 16 + 64
