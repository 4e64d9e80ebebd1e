"""The trainable block-circulant layer and the projection of dense weights onto it."""
import numpy as np
import pytest
import torch

from hwgen.models.fft_fixed import circulant_dense, circulant_float
from hwgen.nn.circulant import (BlockCirculantLinear, block_circulant_dense,
                                project_block_circulant)


def test_forward_equals_dense_matrix_and_numpy_model():
    torch.manual_seed(0)
    layer = BlockCirculantLinear(24, 16, 8).double()
    x = torch.randn(5, 24, dtype=torch.float64)
    y = layer(x)
    assert torch.allclose(y, x @ layer.dense_weight().T + layer.bias)
    w = layer.weight.detach().numpy()
    assert np.allclose(block_circulant_dense(layer.weight).detach().numpy(), circulant_dense(w))
    assert np.allclose((y - layer.bias).detach().numpy(), circulant_float(w, x.numpy()))
    assert layer(torch.randn(2, 3, 24, dtype=torch.float64)).shape == (2, 3, 16)


def test_projection_is_the_nearest_block_circulant_matrix():
    torch.manual_seed(1)
    k = 4
    W = torch.randn(8, 12, dtype=torch.float64)
    w = project_block_circulant(W, k)
    P = block_circulant_dense(w)
    # a block-circulant matrix projects onto itself
    assert torch.allclose(project_block_circulant(P, k), w)
    # the residual is orthogonal to every block-circulant matrix: P is the nearest one
    other = block_circulant_dense(torch.randn(2, 3, k, dtype=torch.float64))
    assert abs(torch.sum((W - P) * other).item()) < 1e-9
    assert abs(torch.sum((W - P) * P).item()) < 1e-9
    # mean along a circulant diagonal, spelled out for one entry
    d = 1
    assert torch.isclose(w[1, 2, d], torch.stack([W[4 + (c + d) % k, 8 + c] for c in range(k)]).mean())


def test_from_dense_and_training():
    torch.manual_seed(2)
    dense = torch.nn.Linear(16, 8)
    layer = BlockCirculantLinear.from_dense(dense, 4)
    assert torch.allclose(layer.dense_weight(), block_circulant_dense(
        project_block_circulant(dense.weight, 4)))
    # learn a block-circulant target map from samples
    target = block_circulant_dense(torch.randn(2, 4, 4))
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    x = torch.randn(256, 16)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = torch.mean((layer(x) - x @ target.T) ** 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert layer.weight.grad.shape == (2, 4, 4)
    assert losses[-1] < 1e-3 * losses[0]


def test_messages():
    with pytest.raises(ValueError, match=r"^in_features must be a positive multiple of "
                                         r"block_size=4, not 10$"):
        BlockCirculantLinear(10, 8, 4)
    with pytest.raises(ValueError, match=r"^out_features must be a positive multiple"):
        project_block_circulant(torch.zeros(6, 8), 4)
    assert "block_size=4" in repr(BlockCirculantLinear(8, 8, 4, bias=False))
