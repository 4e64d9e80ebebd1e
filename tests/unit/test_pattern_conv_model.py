"""The pattern-pruned convolution's golden model: the convolution against torch's (in
float64, exact for these magnitudes), the compressed format (every kernel word fits its
pattern, filters reordered by length, decompression gives the weights back), the result
order, and the refusals."""
import numpy as np
import pytest
import torch

from hwgen.config.pattern_conv import PatternConvConfig
from hwgen.models import pattern_conv as pm

from ..fixtures import PCONV_CASES, pconv_case


@pytest.mark.parametrize("case", sorted(PCONV_CASES))
def test_conv_equals_torch(case):
    cfg, w, xs = pconv_case(case, images=3, seed=4)
    for x in xs:
        want = torch.nn.functional.conv2d(
            torch.tensor(x[None], dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
            stride=cfg.stride, padding=cfg.pad)[0].numpy()
        got = pm.conv(cfg, w, x)
        assert got.shape == (cfg.out_channels, cfg.out_height, cfg.out_width)
        assert np.array_equal(got, want.astype(np.int64)), case


@pytest.mark.parametrize("case", sorted(PCONV_CASES))
def test_compressed_words(case):
    cfg, w, _ = pconv_case(case, seed=7)
    words = pm.compress(cfg, w)
    order = pm.filter_order(cfg, w)
    assert sorted(order) == list(range(cfg.out_channels))
    # decompressed in the stored order, the weights come back
    assert np.array_equal(pm.dense_weights(cfg, words), w[order])
    kept = [int((w[f] != 0).any(axis=(1, 2)).sum()) for f in order]
    assert kept == sorted(kept, reverse=True)
    assert len(words) == sum(max(k, 1) for k in kept)
    assert sum(wd.last for wd in words) == cfg.out_channels
    # within a filter, kernels run by pattern, then channel
    f, run = 0, []
    for wd in words:
        run.append((wd.pattern, wd.channel))
        if wd.last:
            assert run == sorted(run)
            f, run = f + 1, []
    packed = pm.pack(cfg, words)
    assert all(0 <= v < 1 << cfg.word_bits for v in packed)
    wd = words[0]
    assert packed[0] & 1 == wd.last
    assert (packed[0] >> 1) & ((1 << cfg.channel_bits) - 1) == wd.channel
    low = packed[0] >> (1 + cfg.channel_bits + cfg.pattern_bits)
    assert low & ((1 << cfg.weight_bits) - 1) == wd.weights[0] % (1 << cfg.weight_bits)


def test_result_order_position_major():
    cfg, w, xs = pconv_case("lib8", images=1, seed=2)
    y = pm.conv(cfg, w, xs[0])
    order = pm.filter_order(cfg, w)
    r = pm.results(cfg, w, xs[0])
    F = cfg.out_channels
    assert r[:F].tolist() == [y[f, 0, 0] for f in order]
    assert r[F:2 * F].tolist() == [y[f, 0, 1] for f in order]


def test_refusals():
    cfg = PatternConvConfig(in_channels=2, out_channels=2, height=3, width=3, patterns=2,
                            connectivity=50, weight_bits=4)
    w = np.zeros((2, 2, 3, 3), dtype=np.int64)
    w[0, 0, 0, 0] = 1                                     # a corner: in neither T pattern
    with pytest.raises(ValueError, match=r"kernel \(filter 0, channel 0\) fits none of the 2"):
        pm.compress(cfg, w)
    w[0, 0, 0, 0], w[0, 0, 1, 1], w[0, 1, 1, 1], w[1, 0, 1, 1] = 0, 1, 1, 1
    with pytest.raises(ValueError, match="3 kernel words, more than the 2 the unit holds"):
        pm.compress(cfg, w)
    w[1, 0, 1, 1] = 8
    with pytest.raises(ValueError, match="must fit 4 signed bits"):
        pm.compress(cfg, w)
    with pytest.raises(ValueError, match="must have shape"):
        pm.compress(cfg, w[:1])


def test_every_kernel_stores_the_zero_kernels_too():
    cfg, w, _ = pconv_case("dense", seed=3)
    words = pm.compress(cfg, w, every_kernel=True)
    assert len(words) == cfg.out_channels * cfg.in_channels
    assert np.array_equal(pm.dense_weights(cfg, words), w[pm.filter_order(cfg, w)])
