"""The Gaussian generators on the Amaranth simulator: beat for beat equal to
hwgen.models.grng under random back-pressure, and the constructors' checks."""
import numpy as np
import pytest

from hwgen.config.grng import GrngConfig
from hwgen.lib.gfsr import seed_bits
from hwgen.models import grng as gm
from hwgen.units.grng import LATENCY, BitSource, CltGrng, RlfGrng, grng_unit
from sim_tb.amaranth_sim import simulate, take_beats

from ..fixtures import GRNG_CASES

SEED = 21


@pytest.mark.parametrize("case", sorted(GRNG_CASES))
def test_generator_matches_model_under_back_pressure(case):
    cfg = GrngConfig(**GRNG_CASES[case])
    got, cycles = take_beats(grng_unit(cfg), "out", 400, p_ready=0.6, seed=SEED)
    got = np.array([[int(v) for v in beat] for beat in got])
    want = gm.samples(cfg, 400)
    assert np.array_equal(got, want), f"{case}: first difference at beat " \
        f"{np.argwhere(got != want)[0][0]} (seed {SEED})"
    assert cycles[0] >= LATENCY[cfg.kind]


@pytest.mark.parametrize("case", ["rlf", "clt", "icdf"])
def test_one_beat_per_cycle_per_lane(case):
    cfg = GrngConfig(**GRNG_CASES[case])
    _, cycles = take_beats(grng_unit(cfg), "out", 50, p_ready=1.0)
    assert cycles == list(range(LATENCY[cfg.kind], LATENCY[cfg.kind] + 50))


def test_wallace_beats_every_passes_th_pass():
    cfg = GrngConfig(**GRNG_CASES["wallace"])       # pool 64: 16 steps a pass, passes 2
    _, cycles = take_beats(grng_unit(cfg), "out", 32, p_ready=1.0)
    assert cycles == list(range(17, 33)) + list(range(49, 65))


def test_bit_source_matches_model():
    seed = seed_bits(3, 9, 89)
    dut = BitSource(89, seed, 40)
    got = []

    async def bench(ctx):
        for i in range(30):
            ctx.set(dut.en, i % 3 != 1)
            if i % 3 != 1:
                got.append(ctx.get(dut.bits))
            await ctx.tick()

    simulate(dut, bench)
    want = gm.BitSource(89, [seed], 40).take(20)[0]
    assert got == [int("".join(map(str, b[::-1])), 2) for b in want]


def test_constructor_checks():
    with pytest.raises(ValueError, match="RlfGrng needs a rlf config, got kind clt"):
        RlfGrng(GrngConfig(kind="clt"))
    with pytest.raises(TypeError, match="CltGrng cfg must be"):
        CltGrng({"kind": "clt"})
    with pytest.raises(ValueError, match="BitSource degree must be one of 7, 17"):
        BitSource(8, 1, 1)
    with pytest.raises(ValueError, match="BitSource width must be an integer between 1 and 4"):
        BitSource(7, 1, 5)
