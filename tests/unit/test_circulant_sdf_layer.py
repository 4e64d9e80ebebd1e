"""The block-circulant layer on streaming FFTs (`CirculantSdfLayer`) on the Amaranth
simulator: bit for bit against `layer_fixed` with random gaps and back-pressure, impulses
and full-scale vectors, the weight loader, the cycle formulas, and the constructor's
messages."""
import numpy as np
import pytest

from hwgen.config import ConfigError
from hwgen.config.circulant import CirculantConfig
from hwgen.models.circulant_layer import layer_fixed
from hwgen.units.circulant_sdf_layer import CirculantSdfLayer

from sim_tb.amaranth_sim import simulate, stream_beats
from ..fixtures import make_sdf_layer, sdf_layer_vectors


def sdf_layer(cfg):
    dut = CirculantSdfLayer(cfg)
    dut._MustUse__silence = True
    return dut


def load_weights_cycles(cfg):
    return cfg.blocks_out * cfg.blocks_in * cfg.bins


def run_sdf_layer(cfg, words, x, *, p_valid=1.0, p_ready=1.0, seed=0, w_gaps=False,
                  stray_addr=None):
    """Load the weight words through the loader (honouring ``w_ready``; first a word of
    full-scale garbage for ``stray_addr``, if given, which must be dropped), stream the
    vectors sample by sample, return (outputs (vectors, m), input transfer cycles, output transfer
    cycles); cycle 0 is the first cycle after the loader has finished."""
    dut = sdf_layer(cfg)
    p, q = cfg.blocks_out, cfg.blocks_in
    rng = np.random.default_rng(seed)
    flat = np.asarray(x, dtype=np.int64).reshape(-1)
    n_out = len(x) * cfg.m
    got, t_in, t_out = [], [], []

    async def bench(ctx):
        if stray_addr is not None:
            ctx.set(dut.w_we, 1)
            ctx.set(dut.w_addr, stray_addr)
            for t in range(cfg.spectrum_words):
                ctx.set(dut.w_data[t], -(1 << (cfg.w_bits - 1)))
            await ctx.tick()
        for a in range(p * q):
            while w_gaps and rng.random() < 0.3:
                ctx.set(dut.w_we, 0)
                await ctx.tick()
            ctx.set(dut.w_we, 1)
            ctx.set(dut.w_addr, a)
            for t in range(cfg.spectrum_words):
                ctx.set(dut.w_data[t], int(words[a // q, a % q, t]))
            while not ctx.get(dut.w_ready):
                await ctx.tick()
            await ctx.tick()
        ctx.set(dut.w_we, 0)
        while not ctx.get(dut.w_ready):
            await ctx.tick()
        limit = 40 * (len(flat) + n_out + p * q * cfg.bins * len(x)) + 2000
        out = await stream_beats(
            ctx, dut, flat, n_out, rng, p_valid=p_valid, p_ready=p_ready, max_cycles=limit,
            put=lambda ctx, v: ctx.set(dut.x.payload, int(v)),
            take=lambda ctx: ctx.get(dut.y.payload), what="outputs", seed=seed)
        for mine, theirs in zip((got, t_in, t_out), out):
            mine.extend(theirs)
        # nothing more leaves once every output has been taken
        ctx.set(dut.y.ready, 1)
        for _ in range(4 * cfg.k + 2 * load_weights_cycles(cfg)):
            assert not ctx.get(dut.y.valid), "an extra output beat"
            await ctx.tick()

    simulate(dut, bench)
    return np.array(got, dtype=np.int64).reshape(len(x), cfg.m), t_in, t_out


@pytest.mark.parametrize("k,m,n,real_input,scaling", [
    (4, 8, 12, True, "per_stage"), (4, 12, 4, False, "per_stage"),
    (8, 16, 24, True, "none"), (8, 8, 16, False, "per_stage"),
    (16, 32, 16, True, "per_stage"), (16, 16, 32, False, "none"),
    (4, 12, 32, False, "per_stage")])   # release_pair 2: the X bank is handed over early
def test_bit_exact_with_gaps_and_back_pressure(k, m, n, real_input, scaling):
    rng = np.random.default_rng(k * 100 + m + n)
    out_bits = 12 if scaling == "per_stage" else 8 + k.bit_length()
    cfg, words = make_sdf_layer(rng, tighten=3, k=k, in_bits=8, out_bits=out_bits, tw_bits=10,
                            w_bits=8, m=m, n=n, real_input=real_input, scaling=scaling)
    p, q = cfg.blocks_out, cfg.blocks_in
    x = sdf_layer_vectors(cfg, rng)
    stats = {}
    want = layer_fixed(cfg, x, words, stats)
    # the tight shift makes the full-scale vectors saturate some frequency samples
    assert stats["saturated"] > 0
    seed = 7 * k + m
    # a stray word beyond the p*q weight words (where the address port has room) is dropped
    stray = p * q if (p * q) & (p * q - 1) else None
    got, _, _ = run_sdf_layer(cfg, words, x, p_valid=0.6, p_ready=0.5, seed=seed,
                              w_gaps=True, stray_addr=stray)
    for v in range(len(x)):
        assert (got[v] == want[v]).all(), \
            f"k={k} m={m} n={n} real_input={real_input}: vector {v} (seed {seed})"


@pytest.mark.parametrize("p_valid,p_ready", [(1.0, 0.2), (0.15, 1.0), (0.9, 0.9)])
def test_stream_patterns(p_valid, p_ready):
    """Long stalls on either side, and both nearly free: nothing lost or duplicated."""
    rng = np.random.default_rng(5)
    cfg, words = make_sdf_layer(rng, k=8, in_bits=10, out_bits=14, tw_bits=12, w_bits=10,
                            m=16, n=16)
    x = rng.integers(-512, 512, size=(5, cfg.n))
    seed = int(p_valid * 10 + p_ready * 100)
    got, _, _ = run_sdf_layer(cfg, words, x, p_valid=p_valid, p_ready=p_ready, seed=seed)
    assert (got == layer_fixed(cfg, x, words)).all(), f"seed {seed}"


def test_one_vector_leaves_without_more_input():
    """A single vector is pushed out of both FFTs by padding: no further x beat needed."""
    rng = np.random.default_rng(6)
    cfg, words = make_sdf_layer(rng, k=16, in_bits=8, out_bits=12, tw_bits=10, w_bits=8,
                            m=32, n=32)
    x = rng.integers(-128, 128, size=(1, cfg.n))
    got, _, _ = run_sdf_layer(cfg, words, x)
    assert (got == layer_fixed(cfg, x, words)).all()


def test_constructor_messages():
    with pytest.raises(ConfigError, match=r"^circulant\.scaling: block_float gives every input block its own exponent"):
        CirculantConfig(scaling="block_float", architecture="streaming")  # no such layer
    with pytest.raises(ValueError, match=r"^architecture 'parallel': CirculantSdfLayer is "
                                         r"the 'streaming' layer; CirculantStreamLayer "
                                         r"builds 'parallel'$"):
        CirculantSdfLayer(CirculantConfig(architecture="parallel"))
    with pytest.raises(TypeError, match=r"^cfg must be a CirculantConfig, not None$"):
        CirculantSdfLayer(None)
    dut = sdf_layer(CirculantConfig(k=8, m=16, n=24, architecture="streaming"))
    assert set(dut.signature.members) == {"x", "y", "w_we", "w_ready", "w_addr", "w_data"}
    assert dut.signature.members["w_data"].shape.length == dut.cfg.spectrum_words


@pytest.mark.parametrize("k,m,n,real_input", [
    (4, 4, 4, True),      # one block: the forward FFT pads a frame every two vectors
    (8, 8, 8, True),      # one block: one cycle short of the 2k window
    (16, 16, 16, True),   # one block, no cost
    (8, 8, 8, False),
    (8, 8, 32, True),     # input-bound: n
    (4, 24, 8, False),    # output-bound: m
    (16, 32, 32, True),   # multiply-bound: p*q*B = 36
    (8, 16, 24, False),   # multiply-bound, q*B > k: the inverse FFT waits for a block
    (4, 8, 24, True),     # multiply-bound, the X bank handed over at pair 3 (exact bound)
    (8, 16, 64, True)])   # the same at pair 16
def test_latency_and_throughput_formulas(k, m, n, real_input):
    rng = np.random.default_rng(k + m + n)
    cfg, words = make_sdf_layer(rng, k=k, in_bits=8, out_bits=12, tw_bits=10, w_bits=8, m=m,
                            n=n, real_input=real_input)
    dut = sdf_layer(cfg)
    # latency: one vector into an idle layer
    x = rng.integers(-128, 128, size=(1, n))
    got, t_in, t_out = run_sdf_layer(cfg, words, x)
    assert (got == layer_fixed(cfg, x, words)).all()
    assert t_in == list(range(n)), "an idle layer takes a vector back to back"
    assert t_out[0] - t_in[0] == dut.latency
    # the first block leaves back to back (the inverse FFT never starves within a block)
    assert t_out[:k] == list(range(t_out[0], t_out[0] + k))
    # throughput: the spacing of the vectors' first outputs in steady state, over an
    # even number of vectors (the one-block layers alternate)
    x = rng.integers(-128, 128, size=(10, n))
    got, t_in, t_out = run_sdf_layer(cfg, words, x)
    assert (got == layer_fixed(cfg, x, words)).all()
    first = t_out[::m]
    assert (first[7] - first[3]) / 4 == dut.cycles_per_vector, \
        (np.diff(first).tolist(), dut.cycles_per_vector)


def test_streaming_top_is_the_sdf_layer():
    """``hwgen generate`` writes this layer for ``architecture: streaming``."""
    from hwgen.units.circulant_layer import circulant_top
    top = circulant_top(CirculantConfig(k=4, m=4, n=8, architecture="streaming"))
    top._MustUse__silence = True
    assert isinstance(top, CirculantSdfLayer)
