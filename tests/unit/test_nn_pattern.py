"""Pattern and connectivity pruning in torch (hwgen.nn.pattern): the projection keeps
the best pattern of every kernel and the strongest kernels, ADMM moves the weights
towards the constraint set, fine-tuning holds the masks and the quantization grid, and
the pruned weights compress into the unit's words."""
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from hwgen.config.pattern_conv import LIBRARY, PatternConvConfig
from hwgen.models import pattern_conv as pm
from hwgen.nn.pattern import PatternPruner, pattern_masks, project, quantize_weight


def test_projection_is_best_pattern_and_strongest_kernels():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(6, 5, 3, 3, generator=g)
    masks = pattern_masks(LIBRARY)
    p, mask = project(w, masks, 40)
    kept = mask.flatten(2).any(-1)
    assert int(kept.sum()) == 12                           # floor(0.4 * 30)
    energy = {}
    for f, c in itertools.product(range(6), range(5)):
        best = max(float((w[f, c] ** 2 * m).sum()) for m in masks)
        energy[f, c] = best
        if kept[f, c]:
            # the kept positions are one pattern, the one with the most energy
            assert any(torch.equal(mask[f, c], m) for m in masks)
            assert float((p[f, c] ** 2).sum()) == pytest.approx(best)
            assert torch.equal(p[f, c], w[f, c] * mask[f, c])
        else:
            assert not p[f, c].any()
    weakest_kept = min(e for k, e in energy.items() if kept[k])
    assert all(e <= weakest_kept for k, e in energy.items() if not kept[k])
    assert int(project(w, masks, 100)[1].flatten(2).any(-1).sum()) == 30


def tiny():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                        nn.ReLU(), nn.Flatten(), nn.Linear(6 * 16, 3))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 1, 4, 4, generator=g)
    y = (x[:, 0, :2].sum((1, 2)) > 0).long() + (x[:, 0, 2:].sum((1, 2)) > 1).long()
    return net, {"x_train": x.numpy(), "y_train": y.numpy()}


def distance(conv, masks, keep):
    w = conv.weight.detach()
    return float((w - project(w, masks, keep)[0]).norm())


def test_admm_approaches_the_set_and_finetune_holds_masks_and_grid():
    net, data = tiny()
    masks = pattern_masks(LIBRARY)
    pr = PatternPruner(net, {"2": 50}, masks, seed=2)
    before = distance(net[2], masks, 50)
    pr.admm(data, epochs=4, rho=1.0, lr=1e-2)
    assert distance(net[2], masks, 50) < 0.5 * before
    mk = pr.prune()
    pr.finetune(data, mk, epochs=2, lr=1e-2, weight_bits=4)
    w = net[2].weight.detach()
    assert not (w * ~mk["2"]).any()
    codes, scale = quantize_weight(w, 4)
    assert torch.allclose(codes.double() * scale, w.double(), atol=1e-6)
    assert int(codes.abs().max()) == 7
    assert pr.sparsity()["2"]["kernels_kept"] <= 12
    # the pruned layer goes into the unit's words
    cfg = PatternConvConfig(in_channels=4, out_channels=6, height=4, width=4, patterns=8,
                            connectivity=50, weight_bits=4)
    words = pm.compress(cfg, codes.numpy())
    assert np.array_equal(pm.dense_weights(cfg, words),
                          codes.numpy()[pm.filter_order(cfg, codes.numpy())])


def test_refuses_a_layer_that_is_not_a_matching_conv():
    net, _ = tiny()
    with pytest.raises(ValueError, match=r"4: not a \(3, 3\) Conv2d of the model"):
        PatternPruner(net, {"4": 50}, pattern_masks(LIBRARY))
