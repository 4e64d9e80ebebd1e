"""The FFT units and the small block-circulant layer on the Amaranth simulator, bit for bit
against the golden model."""
import numpy as np
import pytest

from sim_tb.amaranth_sim import simulate

from hwgen.config.circulant import CirculantConfig, FftConfig
from hwgen.lib.fixed import fft_input_order
from hwgen.models.fft_fixed import (circulant_fixed, fft_fixed, ifft_fixed, mac_shift,
                                    quantize_freq_weights)
from hwgen.units.circulant_layer import CirculantLayer
from hwgen.units.fft import CirculantFft, CirculantFftSdf
from ..fixtures import fft_vectors


def run_fft(dut, re, im):
    """Feed one transform per cycle (with a bubble) and collect what leaves."""
    n, k = re.shape
    got = []

    async def bench(ctx):
        sent = 0
        cycle = 0
        while len(got) < n:
            feed = sent < n and cycle % 5 != 3
            ctx.set(dut.i_valid, feed)
            if feed:
                for p in range(k):
                    ctx.set(dut.i_re[p], int(re[sent, p]))
                    if dut.has_im:
                        ctx.set(dut.i_im[p], int(im[sent, p]))
                sent += 1
            await ctx.tick()
            cycle += 1
            assert cycle < n * 2 + dut.latency + 4, "outputs missing"
            if ctx.get(dut.o_valid):
                got.append(([ctx.get(dut.o_re[p]) for p in range(k)],
                            [ctx.get(dut.o_im[p]) for p in range(k)],
                            ctx.get(dut.o_exp) if hasattr(dut, "o_exp") else 0))

    simulate(dut, bench)
    return got


def check(cfg, seed, inverse=False):
    dut = CirculantFft(cfg, inverse=inverse)
    re, im = fft_vectors(cfg, seed)
    if not dut.has_im:
        im = np.zeros_like(im)
    want = (ifft_fixed if inverse else fft_fixed)(cfg, re, im)
    got = run_fft(dut, re, im)
    for n, (r, i, e) in enumerate(got):
        assert r == list(want[0][n]) and i == list(want[1][n]) and e == want[2][n], \
            f"k={cfg.k} {cfg.scaling} inverse={inverse} vector {n} (seed {seed})"


@pytest.mark.parametrize("k", [4, 8, 16, 32, 64])
def test_per_stage_all_sizes(k):
    check(FftConfig(k=k, in_bits=10, out_bits=14, tw_bits=12, real_input=False), k)


@pytest.mark.parametrize("k", [4, 16])
def test_no_scaling(k):
    check(FftConfig(k=k, in_bits=8, out_bits=8 + k.bit_length(), tw_bits=10,
                          scaling="none", real_input=False), 10 + k)


@pytest.mark.parametrize("k", [4, 8, 16])
def test_block_float(k):
    check(FftConfig(k=k, in_bits=10, out_bits=12, tw_bits=12, scaling="block_float",
                          real_input=False), 20 + k)


@pytest.mark.slow
def test_block_float_64():
    check(FftConfig(k=64, in_bits=10, out_bits=12, tw_bits=12, scaling="block_float",
                          real_input=False), 84)


def unused(dut):
    dut._MustUse__silence = True   # built only to look at its ports
    return dut


def test_inverse_and_real_input():
    cfg = FftConfig(k=8, in_bits=9, out_bits=12, tw_bits=10, real_input=True)
    assert "i_im" not in unused(CirculantFft(cfg)).signature.members
    check(cfg, 31)
    check(cfg, 32, inverse=True)
    assert unused(CirculantFft(cfg, inverse=True)).latency == 3


def test_constructor_messages():
    with pytest.raises(ValueError, match=r"^architecture 'streaming' is built by "
                                         r"CirculantFftSdf$"):
        CirculantFft(FftConfig(architecture="streaming"))
    with pytest.raises(ValueError, match=r"^block_float scaling needs the parallel"):
        CirculantFftSdf(FftConfig(scaling="block_float"))
    with pytest.raises(TypeError, match="must be an FftConfig"):
        CirculantFft({"k": 8})
    with pytest.raises(ValueError, match=r"^CirculantLayer needs per_stage scaling"):
        CirculantLayer(CirculantConfig(scaling="none", out_bits=20, m=16, n=16), [], [], 0)
    small = CirculantConfig(k=4, m=4, n=8)
    with pytest.raises(ValueError, match=r"^weights must have shape \(1, 2, 4\)$"):
        CirculantLayer(small, [[[0] * 4]], [[[0] * 4]], 0)
    with pytest.raises(ValueError, match=r"^shift must be within 0..63, not -1$"):
        CirculantLayer(small, [[[0] * 4] * 2], [[[0] * 4] * 2], -1)


def test_layer_bit_exact():
    cfg = CirculantConfig(k=4, in_bits=8, out_bits=12, tw_bits=10, m=8, n=12)
    rng = np.random.default_rng(2)
    w = rng.normal(size=(2, 3, 4))
    wre, wim, _ = quantize_freq_weights(w, 10)
    shift = mac_shift(cfg, wre, wim) - 2   # tight enough that some samples saturate
    x = np.concatenate([rng.integers(-128, 128, size=(8, 12)), np.full((1, 12), -128),
                        np.full((1, 12), 127)])
    want = circulant_fixed(cfg, x, wre, wim, shift)
    dut = CirculantLayer(cfg, wre, wim, shift)
    got = []

    async def bench(ctx):
        for n in range(len(x) + dut.latency):
            ctx.set(dut.i_valid, n < len(x))
            if n < len(x):
                for t in range(12):
                    ctx.set(dut.i_x[t], int(x[n, t]))
            await ctx.tick()
            if ctx.get(dut.o_valid):
                got.append([ctx.get(dut.o_y[t]) for t in range(8)])

    simulate(dut, bench)
    assert (np.array(got) == want).all()


@pytest.mark.parametrize("k,scaling,inverse", [(4, "per_stage", False), (8, "none", True),
                                               (16, "per_stage", True), (32, "none", False),
                                               (64, "per_stage", False)])
def test_streaming_sdf_matches_model(k, scaling, inverse):
    cfg = FftConfig(k=k, in_bits=10, out_bits=14 if scaling == "per_stage" else 17,
                          tw_bits=12, scaling=scaling, architecture="streaming",
                          real_input=False)
    dut = CirculantFftSdf(cfg, inverse=inverse)
    re, im = fft_vectors(cfg, 40 + k, n_random=2)
    want = (ifft_fixed if inverse else fft_fixed)(cfg, re, im)
    rev = fft_input_order(k)
    # bit-reversed order in; two frames of padding push the last results out
    seq = [(int(re[f, rev[p]]), int(im[f, rev[p]])) for f in range(len(re)) for p in range(k)]
    seq += [(0, 0)] * (2 * k)
    got = []
    rng = np.random.default_rng(k)

    async def bench(ctx):
        i = 0
        while len(got) < len(re) * k:
            assert i < len(seq), "outputs missing"
            feed = rng.random() < 0.8        # gaps in the input stream
            ctx.set(dut.i_valid, feed)
            if feed:
                ctx.set(dut.i_re, seq[i][0])
                ctx.set(dut.i_im, seq[i][1])
                i += 1
            await ctx.tick()
            if ctx.get(dut.o_valid):
                got.append((ctx.get(dut.o_re), ctx.get(dut.o_im)))

    simulate(dut, bench)
    g = np.array(got).reshape(len(re), k, 2)
    assert (g[..., 0] == want[0]).all() and (g[..., 1] == want[1]).all(), \
        f"k={k} {scaling} inverse={inverse}"
