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


def test_conv_variant_equals_dense_conv():
    from hwgen.nn.circulant import BlockCirculantConv2d
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(2, 8, 2, stride=1, padding=1).double()
    layer = BlockCirculantConv2d.from_conv(conv, 4).double()
    x = torch.randn(3, 2, 5, 6, dtype=torch.float64)
    y = layer(x)
    want = torch.nn.functional.conv2d(x, layer.dense_weight(), conv.bias, padding=1)
    assert y.shape == (3, 8, 6, 7)
    assert torch.allclose(y, want)
    # the projection of a conv weight that is already block-circulant is exact
    conv2 = torch.nn.Conv2d(2, 8, 2, bias=False).double()
    with torch.no_grad():
        conv2.weight.copy_(layer.dense_weight())
    again = BlockCirculantConv2d.from_conv(conv2, 4).double()
    assert torch.allclose(again(x[:, :, :4, :4]), conv2(x[:, :, :4, :4]))
    with pytest.raises(ValueError, match=r"^in_channels \* kernel height \* kernel width = 9 "
                                         r"must be a multiple of block_size=4$"):
        BlockCirculantConv2d(1, 8, 3, 4)


def test_export_matches_the_fixed_point_layer():
    from hwgen.config.circulant import CirculantConfig
    from hwgen.models.circulant_layer import choose_shift, layer_fixed, layer_gain
    from hwgen.nn.circulant import export_frequency_weights, load_block_vectors
    torch.manual_seed(4)
    layer = BlockCirculantLinear(32, 16, 8, bias=False).double()
    cfg = CirculantConfig(k=8, in_bits=8, out_bits=16, tw_bits=14, w_bits=12, m=16, n=32)
    words, frac = export_frequency_weights(layer, cfg)
    assert words.shape == (2, 4, 8) and words.dtype == np.int64
    assert np.abs(words).max() < 2 ** 11 and np.abs(words).max() >= 2 ** 10   # fills w_bits
    cfg = cfg.replace(shift=choose_shift(cfg, words))
    x = torch.randint(-128, 128, (20, 32), dtype=torch.float64)
    y = layer_fixed(cfg, x.numpy().astype(np.int64), words) / layer_gain(cfg, frac)
    ref = layer(x).detach().numpy()
    assert np.abs(y - ref).max() < 0.01 * np.abs(ref).max()
    with pytest.raises(ValueError, match=r"^weight: shape \(2, 4, 8\) does not match the "
                                         r"circulant config \(m/k, n/k, k\) = \(4, 4, 8\)$"):
        export_frequency_weights(layer, cfg.replace(m=32))
    with pytest.raises(ValueError, match=r"^weight: shape \(2, 4\) does not match the "
                                         r"layer's \(2, 4, 8\) \(m/k, n/k, k\)$"):
        load_block_vectors(layer, np.zeros((2, 4)))
    load_block_vectors(layer, np.ones((2, 4, 8)))
    assert float(layer.weight.detach().sum()) == 64.0
