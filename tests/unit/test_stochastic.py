"""Stochastic-computing units on the Amaranth simulator, bit-exact against
hwgen.models.stochastic, plus the LFSR table and the ``sc:`` config checks."""
import dataclasses

import numpy as np
import pytest
from amaranth.hdl import Module

from sim_tb.amaranth_sim import simulate

from hwgen.config import ConfigError
from hwgen.config.sc import ScConfig, parse_sc
from hwgen.lib.lfsr import lfsr_jump
from hwgen.models import stochastic as model
from hwgen.units.stochastic import (LFSR_TAPS, Lfsr, ParallelCounter, ScLayer, ScLayerHost,
                                    ScMultiplier, ScMuxAdder, ScNeuron, Sng, StreamCounter,
                                    VdcSource, sc_top)


def run(dut, bench):
    simulate(dut, bench)


# ----------------------------------------------------------------------------- LFSR table


def test_lfsr_taps_primitive_for_every_width():
    assert sorted(LFSR_TAPS) == list(range(3, 33))
    for w in LFSR_TAPS:
        assert model.is_primitive(w), w


@pytest.mark.parametrize("width", range(3, 17))
def test_lfsr_maximal_length_by_running(width):
    seq = model.lfsr_sequence(width, 1, (1 << width) - 1)
    assert len(set(seq.tolist())) == (1 << width) - 1
    assert model.lfsr_step(int(seq[-1]), width) == 1


def test_primitivity_check_rejects_a_short_lfsr(monkeypatch):
    # x^4 + x^2 + 1 = (x^2 + x + 1)^2: period 6, not 15
    monkeypatch.setitem(model.LFSR_TAPS, 4, (4, 2))
    assert not model.is_primitive(4)
    assert model.lfsr_period(4) != 15


# ----------------------------------------------------------------------------- small units


@pytest.mark.parametrize("width,seed", [(3, 5), (8, 1), (11, 0x5A3), (16, 0xACE1), (32, 0xDEADBEEF)])
def test_lfsr_rtl_matches_model(width, seed):
    dut = Lfsr(width, seed)
    want = model.lfsr_sequence(width, seed, 300).tolist()

    async def bench(ctx):
        got = []
        for i in range(300):
            got.append(ctx.get(dut.state))
            ctx.set(dut.en, 1)
            await ctx.tick()
        assert got == want
        ctx.set(dut.load, 1)
        await ctx.tick()
        assert ctx.get(dut.state) == seed
    run(dut, bench)


@pytest.mark.parametrize("lanes", [2, 3, 8])
def test_lfsr_lanes_are_consecutive_states(lanes):
    width, seed = 10, 0x2C7
    dut = Lfsr(width, seed, lanes)
    want = model.lfsr_sequence(width, seed, 40 * lanes).tolist()

    async def bench(ctx):
        ctx.set(dut.en, 1)
        got = []
        for _ in range(40):
            got += unpack(ctx.get(dut.states), width, lanes)
            await ctx.tick()
        assert got == want
    run(dut, bench)


def test_vdc_lanes_are_consecutive_values():
    dut = VdcSource(5, 4)

    async def bench(ctx):
        ctx.set(dut.en, 1)
        vals, counts = [], []
        for _ in range(12):
            vals += unpack(ctx.get(dut.values), 5, 4)
            counts += unpack(ctx.get(dut.counts), 5, 4)
            await ctx.tick()
        assert vals == model.vdc_sequence(5, 48).tolist()
        assert counts == [t % 32 for t in range(48)]
    run(dut, bench)


def test_vdc_source_matches_model():
    dut = VdcSource(6)

    async def bench(ctx):
        ctx.set(dut.en, 1)
        vals, counts = [], []
        for _ in range(130):
            vals.append(ctx.get(dut.value))
            counts.append(ctx.get(dut.count))
            await ctx.tick()
        assert vals == model.vdc_sequence(6, 130).tolist()
        assert counts == [t % 64 for t in range(130)]
        assert sorted(vals[:64]) == list(range(64))
    run(dut, bench)


def test_sng_and_multipliers_exhaustive():
    sng = Sng(4)
    mu, mb = ScMultiplier("unipolar"), ScMultiplier("bipolar")

    async def bench_sng(ctx):
        for x in range(16):
            for r in range(16):
                ctx.set(sng.x, x)
                ctx.set(sng.r, r)
                await ctx.delay(1e-9)
                assert ctx.get(sng.bit) == int(model.sng([x], [r])[0, 0])

    def bench_mul(dut, enc):
        async def bench(ctx):
            for a in (0, 1):
                for b in (0, 1):
                    ctx.set(dut.a, a)
                    ctx.set(dut.b, b)
                    await ctx.delay(1e-9)
                    want = model.multiply(np.uint8(a), np.uint8(b), enc)
                    assert ctx.get(dut.y) == int(want)
        return bench

    for dut, bench in ((sng, bench_sng), (mu, bench_mul(mu, "unipolar")),
                       (mb, bench_mul(mb, "bipolar"))):
        simulate(dut, bench, period=None)  # combinational: no clock


def test_mux_adder_matches_model():
    n, width, seed = 8, 9, 0x1B3
    dut = ScMuxAdder(n, width, seed)
    rng = np.random.default_rng(4)
    ins = rng.integers(0, 2, size=(200, n))
    sel = model.lfsr_sequence(width, seed, 200) & (n - 1)

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for t in range(200):
            ctx.set(dut.i, int("".join(map(str, ins[t][::-1])), 2))
            await ctx.delay(1e-9)
            assert ctx.get(dut.sel) == sel[t]
            assert ctx.get(dut.y) == ins[t][sel[t]]
            await ctx.tick()
    run(dut, bench)


def test_parallel_and_stream_counters():
    rng = np.random.default_rng(5)
    apc, sc = ParallelCounter(5, 10), StreamCounter(8)

    async def bench(ctx):
        total = ones = 0
        ctx.set(apc.en, 1)
        ctx.set(sc.en, 1)
        for _ in range(100):
            v = int(rng.integers(0, 32))
            en = int(rng.random() < 0.8)
            ctx.set(apc.i, v)
            ctx.set(sc.i, v & 1)
            ctx.set(apc.en, en)
            await ctx.tick()
            total += bin(v).count("1") * en
            ones += 1
            ones -= 0 if v & 1 else 1
            assert ctx.get(apc.count) == total
            assert ctx.get(sc.count) == ones
        ctx.set(apc.clear, 1)
        await ctx.tick()
        assert ctx.get(apc.count) == 0
    top = Module()
    top.submodules.apc = apc
    top.submodules.sc = sc
    simulate(top, bench)


# ----------------------------------------------------------------------------- neurons


def pack(codes, bits):
    v = 0
    for i, c in enumerate(codes):
        v |= int(c) << (i * bits)
    return v


def unpack(v, bits, k):
    return [(v >> (i * bits)) & ((1 << bits) - 1) for i in range(k)]


def run_layer(cfg, x, w, repeat=1):
    """Run ``repeat`` streams through an ScLayer; return [(counts, ys)] per stream and
    the cycles from start to done."""
    dut = ScLayer(cfg)
    out = []

    async def bench(ctx):
        for r in range(repeat):
            ctx.set(dut.x, pack(x, cfg.value_bits))
            ctx.set(dut.w, pack(np.ravel(w), cfg.value_bits))
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cycles = 0
            while not ctx.get(dut.done):
                assert ctx.get(dut.busy)
                await ctx.tick()
                cycles += 1
            out.append((unpack(ctx.get(dut.count), cfg.count_width, cfg.neurons),
                        unpack(ctx.get(dut.y), cfg.count_width, cfg.neurons), cycles))
    run(dut, bench)
    return out


CASES = [
    dict(length=32, encoding="bipolar", generator="lfsr", lfsr_width=5, seed=7,
         adder="counter", fan_in=4, activation="sign"),
    dict(length=64, encoding="unipolar", generator="lfsr", lfsr_width=9, seed=0x155,
         adder="counter", fan_in=5, activation="none", neurons=2),
    dict(length=128, encoding="bipolar", generator="vdc", lfsr_width=8, seed=3,
         adder="counter", fan_in=3, activation="relu"),
    dict(length=64, encoding="unipolar", generator="sobol", lfsr_width=6, seed=9,
         adder="mux", fan_in=4, activation="none"),
    dict(length=256, encoding="bipolar", generator="lfsr", lfsr_width=8, seed=0xB4,
         adder="mux", fan_in=8, activation="relu", neurons=2),
    dict(length=32, encoding="bipolar", generator="lfsr", lfsr_width=12, seed=0xABC,
         adder="counter", fan_in=6, activation="relu", neurons=3),
    # several stream bits per cycle: the same counts in length / parallelism cycles
    dict(length=64, encoding="bipolar", generator="lfsr", lfsr_width=7, seed=0x2B,
         adder="counter", fan_in=5, activation="relu", neurons=2, parallelism=4),
    dict(length=128, encoding="unipolar", generator="vdc", lfsr_width=9, seed=0x1C3,
         adder="mux", fan_in=8, activation="none", parallelism=8),
    dict(length=32, encoding="bipolar", generator="vdc", lfsr_width=5, seed=0x11,
         adder="counter", fan_in=3, activation="sign", parallelism=32),
    dict(length=256, encoding="bipolar", generator="lfsr", lfsr_width=10, seed=0x2A5,
         adder="mux", fan_in=4, activation="sign", neurons=2, parallelism=2),
]


COMBOS = [(g, e, a, act) for g in ("lfsr", "vdc") for e in ("unipolar", "bipolar")
          for a in ("counter", "mux") for act in ("none", "sign", "relu")
          if e == "bipolar" or act == "none"]


@pytest.mark.parametrize("gen,enc,adder,act", COMBOS)
def test_every_combination_bit_exact(gen, enc, adder, act):
    seed = 500 + COMBOS.index((gen, enc, adder, act))
    rng = np.random.default_rng(seed)
    length = int(rng.choice([32, 64, 128]))
    cfg = parse_sc(dict(length=length, encoding=enc, generator=gen, adder=adder,
                        activation=act, fan_in=4, seed=int(rng.integers(1, 32)),
                        lfsr_width=length.bit_length() - 1 + int(rng.integers(0, 3))),
                  "combo.yaml")
    hi = 1 << cfg.value_bits
    x = rng.integers(0, hi, size=cfg.fan_in)
    w = rng.integers(0, hi, size=(1, cfg.fan_in))
    (counts, ys, _), = run_layer(cfg, x, w)
    want = model.layer(cfg, x, w)
    assert (counts, ys) == ([want[0]["count"]], [want[0]["y"]]), f"seed {seed}, L {length}"


def test_neuron_extremes_and_restart():
    cfg = parse_sc(dict(length=64, encoding="bipolar", lfsr_width=6, fan_in=4,
                        adder="counter", activation="sign"), "n.yaml")
    top = (1 << 6) - 1
    # every product +1 (x = w = near +1) then every product near -1
    x = [top] * 4
    w = [top] * 4
    res = run_layer(dataclasses.replace(cfg, neurons=1), x, w, repeat=2)
    want = model.neuron(cfg, x, w)
    assert [r[0][0] for r in res] == [want["count"]] * 2
    assert res[0][1] == [1]
    dut = ScNeuron(dataclasses.replace(cfg, neurons=4))
    assert len(dut.y) == cfg.count_width
    dut._MustUse__silence = True


def test_model_estimate_tracks_exact():
    # A long stream with the low-discrepancy source should land close to the real value.
    cfg = ScConfig(length=4096, encoding="unipolar", generator="vdc", lfsr_width=12,
                   adder="counter", fan_in=1, activation="none")
    for x, w in [(1000, 3000), (4095, 4095), (0, 77), (2048, 2048)]:
        r = model.neuron(cfg, [x], [w])
        assert abs(r["estimate"] - r["exact"]) < 4e-3, (x, w, r["estimate"], r["exact"])


# ----------------------------------------------------------------------------- sharing, stanh


SHARED_CASES = [
    dict(length=64, generator="lfsr", lfsr_width=7, seed=0x2B, fan_in=5, activation="relu",
         neurons=2, parallelism=2, sharing="per_operand"),
    dict(length=128, generator="vdc", fan_in=8, adder="mux", activation="stanh",
         sharing="per_operand", parallelism=4, fsm_states=6),
    dict(length=32, generator="vdc", fan_in=3, activation="sign", sharing="per_operand"),
    dict(length=64, generator="lfsr", lfsr_width=6, adder="mux", fan_in=4, activation="stanh",
         sharing="per_operand", seed=0x21),
    dict(length=64, generator="lfsr", lfsr_width=7, seed=0x2B, fan_in=5, activation="stanh",
         neurons=2, parallelism=4, fsm_states=8),
    dict(length=256, generator="lfsr", lfsr_width=9, seed=0x0F3, fan_in=7, activation="stanh",
         fsm_states=32, neurons=2, encoding="bipolar"),
    dict(length=64, encoding="unipolar", generator="lfsr", lfsr_width=8, fan_in=6,
         activation="none", sharing="per_operand", parallelism=8),
]


# (config, random seed of its operands): CASES cover encodings, generators, adders and
# parallelism; SHARED_CASES per-operand sources and the stanh activation.
LAYER_CASES = ([pytest.param(c, 100 + i, id=f"basic{i}") for i, c in enumerate(CASES)]
               + [pytest.param(c, 700 + i, id=f"shared{i}")
                  for i, c in enumerate(SHARED_CASES)])


@pytest.mark.parametrize("case,seed", LAYER_CASES)
def test_layer_bit_exact_against_model(case, seed):
    cfg = parse_sc(case, "case.yaml")
    rng = np.random.default_rng(seed)
    hi = 1 << cfg.value_bits
    x = rng.integers(0, hi, size=cfg.fan_in)
    w = rng.integers(0, hi, size=(cfg.neurons, cfg.fan_in))
    (counts, ys, cycles), = run_layer(cfg, x, w)
    want = model.layer(cfg, x, w)
    assert cycles == cfg.cycles
    assert counts == [r["count"] for r in want], f"seed {seed}"
    assert ys == [r["y"] for r in want], f"seed {seed}"


def test_lfsr_jump_and_operand_phases():
    for width, seed, steps in [(5, 3, 0), (8, 0x5A, 77), (12, 1, 4000), (16, 0xACE1, 12345)]:
        s = seed
        for _ in range(steps):
            s = model.lfsr_step(s, width)
        assert lfsr_jump(seed, width, steps) == s
    # a full period comes back, half a period does not
    assert lfsr_jump(0x1234, 20, (1 << 20) - 1) == 0x1234
    assert lfsr_jump(0x1234, 20, (1 << 19)) != 0x1234
    cfg = parse_sc(dict(fan_in=10, lfsr_width=8, seed=0x35, sharing="per_operand"), "s")
    seeds = cfg.operand_seeds()
    seq = model.lfsr_sequence(8, 0x35, 255).tolist()
    assert cfg.phase_step == 25
    assert seeds == [seq[25 * i] for i in range(10)]
    ra, rb, _ = model.operand_randoms(cfg)
    assert ra.shape == (10, cfg.length)
    assert (rb == model.bit_reverse(ra, 8)).all()


def test_vdc_digital_shift_keeps_exact_counts():
    # Every aligned block of 2^k values of rev(t) ^ h is a permutation: a stream of code x
    # has exactly x ones per 2^k bits, whatever the shift.
    cfg = parse_sc(dict(length=64, generator="vdc", fan_in=16, sharing="per_operand"), "s")
    ra, rb, _ = model.operand_randoms(cfg)
    for i in range(16):
        assert sorted(ra[i].tolist()) == list(range(64)) == sorted(rb[i].tolist())
    h, g = cfg.vdc_shifts()
    assert len(set(h)) > 8 and len(set(g)) > 8  # the shifts differ between positions
    x = np.arange(64)
    assert (model.sng(x, ra[3]).sum(axis=1) == x).all()


def test_per_operand_lowers_dot_product_error():
    # With one shared source the n products' errors move together; per-position sources
    # let them cancel. RMS error of a bipolar 32-term dot product over random codes.
    def rms(sharing, generator):
        cfg = parse_sc(dict(length=128, generator=generator, lfsr_width=12, fan_in=32,
                            activation="none", sharing=sharing, seed=0x2C1), "s")
        rng = np.random.default_rng(3)
        errs = []
        for _ in range(60):
            x = rng.integers(0, 1 << cfg.value_bits, size=32)
            w = rng.integers(0, 1 << cfg.value_bits, size=32)
            r = model.neuron(cfg, x, w)
            errs.append(r["estimate"] - r["exact"])
        return float(np.sqrt(np.mean(np.square(errs))))
    assert rms("per_operand", "lfsr") < 0.8 * rms("layer", "lfsr")
    assert rms("per_operand", "vdc") < 0.8 * rms("layer", "vdc")


def test_stanh_fsm_from_its_definition():
    # A hand-stepped trace: 4 states, start at 2, output = state >= 2 before the step.
    d = [1, 1, 1, -1, -1, -1, -1, 3, -5]
    states, s, want = [], 2, []
    for v in d:
        want.append(int(s >= 2))
        states.append(s)
        s = min(max(s + v, 0), 3)
    assert states == [2, 3, 3, 3, 2, 1, 0, 0, 3]
    assert model.stanh(np.array(d), 4).tolist() == want
    # rows run in parallel
    assert model.stanh(np.array([d, [-v for v in d]]), 4).shape == (2, len(d))


def test_stanh_squashes_like_tanh():
    # MUX-fed stanh with N states on a bipolar stream of value v approximates
    # tanh(N v / 2) (the classic saturating-counter result); check the shape on long
    # Bernoulli streams.
    rng = np.random.default_rng(8)
    N, L = 8, 1 << 15
    for v in (-0.6, -0.2, 0.0, 0.15, 0.5):
        bits = (rng.random(L) < (v + 1) / 2).astype(np.int64)
        out = model.stanh(2 * bits - 1, N)
        assert abs(2 * out.mean() - 1 - np.tanh(N * v / 2)) < 0.1, v


# ----------------------------------------------------------------------------- host wrapper


def run_host(cfg, weights, vectors, seed=0, stall=0.3):
    """Drive ScLayerHost: weights on w_in, each vector on x_in, results from y_out, all
    with random valid / ready gaps. Returns the list of result lists and the cycles."""
    dut = ScLayerHost(cfg)
    rng = np.random.default_rng(seed)
    k = cfg.neurons
    got = []

    async def producer(ctx, port, codes):
        for c in codes:
            while rng.random() < stall:
                ctx.set(port.valid, 0)
                await ctx.tick()
            ctx.set(port.valid, 1)
            ctx.set(port.payload, int(c))
            await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)

    async def bench(ctx):
        await producer(ctx, dut.w_in, np.ravel(weights))
        for x in vectors:
            assert not ctx.get(dut.busy)
            await producer(ctx, dut.x_in, x)
            out = []
            while len(out) < k:
                rdy = int(rng.random() >= stall)
                ctx.set(dut.y_out.ready, rdy)
                await ctx.delay(1e-9)
                if rdy and ctx.get(dut.y_out.valid):
                    out.append(ctx.get(dut.y_out.payload))
                await ctx.tick()
            ctx.set(dut.y_out.ready, 0)
            await ctx.tick()
            got.append(out)
    run(dut, bench)
    return got


@pytest.mark.parametrize("kw", [
    dict(length=64, generator="lfsr", lfsr_width=7, seed=0x2B, fan_in=5, neurons=3,
         activation="relu", parallelism=4),
    dict(length=32, generator="vdc", fan_in=4, neurons=1, adder="mux", activation="stanh",
         fsm_states=4, sharing="per_operand"),
    dict(length=32, generator="lfsr", lfsr_width=5, fan_in=1, neurons=2, activation="none",
         encoding="unipolar"),
])
def test_host_wrapper_streams_match_model(kw):
    cfg = parse_sc(kw, "host.yaml")
    rng = np.random.default_rng(31)
    hi = 1 << cfg.value_bits
    w = rng.integers(0, hi, size=(cfg.neurons, cfg.fan_in))
    xs = [rng.integers(0, hi, size=cfg.fan_in) for _ in range(3)]
    got = run_host(cfg, w, xs, seed=5)
    for x, g in zip(xs, got):
        assert g == [r["y"] for r in model.layer(cfg, x, w)], "seed 31/5"


def test_host_wrapper_reloads_weights_and_keeps_the_last_set():
    cfg = parse_sc(dict(length=32, lfsr_width=5, fan_in=3, neurons=2, activation="none"), "h")
    rng = np.random.default_rng(9)
    junk = rng.integers(0, 32, size=5)           # a partial set, then a full one
    w = rng.integers(0, 32, size=(2, 3))
    x = rng.integers(0, 32, size=3)
    got = run_host(cfg, np.concatenate([junk, w.ravel()]), [x], seed=2)
    assert got == [[r["y"] for r in model.layer(cfg, x, w)]]


def test_sc_top_is_the_host_wrapper():
    cfg = parse_sc({}, "s")
    top = sc_top(cfg)
    assert isinstance(top, ScLayerHost)
    assert set(top.signature.members) == {"w_in", "x_in", "y_out", "busy"}
    top._MustUse__silence = True


# ----------------------------------------------------------------------------- config


def problems(data):
    with pytest.raises(ConfigError) as e:
        parse_sc(data, "sc.yaml")
    return e.value.problems


def test_config_defaults_and_derived():
    cfg = parse_sc({}, "sc.yaml")
    assert cfg == ScConfig()
    assert (cfg.value_bits, cfg.count_width, cfg.cycles) == (8, 13, 256)
    v = parse_sc({"generator": "sobol", "length": 1024, "adder": "apc", "fan_in": 100,
                  "lfsr_width": 4, "seed": 3}, "sc.yaml")
    assert (v.generator, v.adder, v.value_bits, v.count_width) == ("vdc", "counter", 10, 17)
    assert parse_sc({"lfsr_width": 8, "seed": 0x0F}, "s").select_seed == 0xF0


def test_config_errors_are_one_line_each():
    assert problems({"length": 48}) == ["sc.yaml: sc.length: must be a power of two, got 48"]
    assert problems({"length": 8192}) == ["sc.yaml: sc.length: must be between 32 and 4096, got 8192"]
    assert problems({"lfsr_width": 40}) == [
        "sc.yaml: sc.lfsr_width: no maximal-length taps for width 40 (the table covers 3 to 32)"]
    assert problems({"length": 1024, "lfsr_width": 8}) == [
        "sc.yaml: sc.lfsr_width: a 8-bit LFSR repeats after 255 bits, shorter than "
        "sc.length=1024; needs at least 10 bits"]
    assert problems({"seed": 0}) == [
        "sc.yaml: sc.seed: must not be 0 (an all-zero LFSR never leaves zero)"]
    assert problems({"seed": 256}) == [
        "sc.yaml: sc.seed: must fit the 8-bit LFSR (at most 255), got 256"]
    assert problems({"seed": 5, "sel_seed": 5}) == [
        "sc.yaml: sc.sel_seed: must differ from sc.seed, or the MUX select follows the operand streams"]
    assert problems({"adder": "mux", "fan_in": 12}) == [
        "sc.yaml: sc.fan_in: the mux adder selects with log2(fan_in) random bits, so fan_in "
        "must be a power of two, got 12"]
    assert problems({"encoding": "unipolar"}) == [
        "sc.yaml: sc.activation: sign needs bipolar encoding (a unipolar value is never negative)"]
    assert problems({"fan_in": 300, "counter_bits": 16}) == [
        "sc.yaml: sc.fan_in: 300 inputs x 256 bits = 76800 ones need a 17-bit counter, "
        "sc.counter_bits is 16"]
    assert problems({"encoding": "ternary", "adder": "or", "bogus": 1, "fan_in": "8"}) == [
        "sc.yaml: sc.bogus: unknown key (known: activation, adder, counter_bits, encoding, "
        "fan_in, fsm_states, generator, length, lfsr_width, neurons, parallelism, seed, "
        "sel_seed, sharing)",
        "sc.yaml: sc.encoding: must be one of unipolar, bipolar, got 'ternary'",
        "sc.yaml: sc.adder: must be one of mux, counter, got 'or'",
        "sc.yaml: sc.fan_in: must be an integer, got a string '8'",
    ]
    assert problems([1]) == ["sc.yaml: sc: must be a mapping, got a list"]
    assert problems({"sharing": "global"}) == [
        "sc.yaml: sc.sharing: must be one of layer, per_operand, got 'global'"]
    assert problems({"sharing": "per_operand", "lfsr_width": 5, "length": 32, "seed": 3,
                     "fan_in": 40}) == [
        "sc.yaml: sc.sharing: per_operand needs 40 distinct phases of the 5-bit LFSR "
        "(period 31); raise sc.lfsr_width or use sharing: layer"]
    assert problems({"activation": "stanh", "fsm_states": 7}) == [
        "sc.yaml: sc.fsm_states: must be even (the output is 1 in the upper half), got 7"]
    assert problems({"activation": "stanh", "encoding": "unipolar"}) == [
        "sc.yaml: sc.activation: stanh needs bipolar encoding (a unipolar value is never negative)"]
    assert problems({"parallelism": 3}) == ["sc.yaml: sc.parallelism: must be a power of two, got 3"]
    for p in problems({"length": 33, "generator": "x", "seed": -1, "neurons": 0}):
        assert "\n" not in p and p.startswith("sc.yaml: sc.")


def test_component_parameter_errors():
    with pytest.raises(ValueError, match=r"^Lfsr width must be between 3 and 32, got 2$"):
        Lfsr(2)
    with pytest.raises(ValueError, match=r"^Lfsr seed must be between 1 and 15, got 0$"):
        Lfsr(4, 0)
    with pytest.raises(ValueError, match=r"^ScMuxAdder n must be a power of two, got 6$"):
        ScMuxAdder(6, 8, 1)
    with pytest.raises(ValueError, match=r"^ScMultiplier encoding must be unipolar or bipolar"):
        ScMultiplier("sm")
    with pytest.raises(ValueError, match=r"^VdcSource lanes must be a power of two up to 2\^bits, got 3$"):
        VdcSource(4, 3)
