"""The interconnects (hwgen.scaleout.interconnect) on the Amaranth simulator against the
golden routing model (hwgen.models.interconnect): every admissible permutation of small
butterflies at one word per source per cycle and the model's latency, every permutation
delivered (collisions stall, nothing is lost or reordered) under back-pressure, random
traffic on larger ones, the time-multiplexed bus's slots; and the model itself checked
against the butterfly's structure."""
import itertools
import random

import pytest

from hwgen.lib.scaleout import interconnect_problem
from hwgen.models import interconnect as gm
from hwgen.scaleout import Bus, Butterfly, Crossbar, interconnect
from sim_tb.amaranth_sim import simulate
from sim_tb.interconnect import Traffic, run_traffic_amaranth

W = 16


def words_for(perms, ports):
    """Unique words: cycle t, source x."""
    return [[(t << 6) | x for x in range(ports)] for t in range(len(perms))]


def queues_of(perms, words):
    ports = len(perms[0])
    return {x: [(perm[x], words[t][x]) for t, perm in enumerate(perms)] for x in range(ports)}


# ---- the model --------------------------------------------------------------------------
@pytest.mark.parametrize("ports", [2, 4, 8])
def test_admissible_set_is_what_the_switch_settings_make(ports):
    """Searching all P! permutations for collision-free ones finds exactly the
    2^((P/2) log2 P) permutations the switch settings realise."""
    found = set(gm.admissible_permutations("butterfly", ports))
    n = ports.bit_length() - 1
    made = set()
    for bits in range(2 ** ((ports // 2) * n)):
        settings = [[(bits >> (s * ports // 2 + j)) & 1 for j in range(ports // 2)]
                    for s in range(n)]
        made.add(gm.switch_permutation(ports, settings))
    assert found == made
    assert len(found) == gm.count_admissible("butterfly", ports)


@pytest.mark.parametrize("ports", [2, 4, 8, 16, 32, 64])
def test_xor_permutations_pass_the_butterfly(ports):
    for c in range(ports):
        assert gm.admissible("butterfly", ports, gm.xor_permutation(ports, c))


def test_a_collision_is_named():
    # 0 -> 0 and 1 -> 2 meet after stage 0 of a 4-port butterfly (position 0)... and
    # the identity with two sources swapped in their high bit collides.
    perm = (0, 2, 1, 3)
    assert not gm.admissible("butterfly", 4, perm)
    stage, _, srcs = gm.collisions(4, dict(enumerate(perm)))[0]
    assert stage == 0 and len(srcs) == 2
    assert gm.admissible("crossbar", 4, perm)
    assert not gm.admissible("bus", 4, perm)


def test_ports_the_interconnects_refuse():
    assert "power of two" in interconnect_problem("butterfly", 12)
    assert interconnect_problem("crossbar", 12) is None
    with pytest.raises(ValueError, match="Butterfly: a butterfly of 2x2 switches needs a "
                       "power of two of at least 2 ports, got 12"):
        Butterfly(12, W)
    with pytest.raises(ValueError, match="Crossbar ports must be an integer between 2 and 64"):
        Crossbar(65, W)
    with pytest.raises(TypeError, match="Bus width must be an integer"):
        Bus(4, 1.5)
    with pytest.raises(ValueError, match="unknown interconnect 'mesh'"):
        interconnect("mesh", 4, W)


# ---- the hardware --------------------------------------------------------------------------
@pytest.mark.parametrize("kind,ports", [("butterfly", 2), ("butterfly", 4), ("butterfly", 8),
                                        ("crossbar", 2), ("crossbar", 4)])
def test_every_admissible_permutation_at_full_rate(kind, ports):
    """One admissible permutation a cycle, every sink always ready: each word reaches its
    sink exactly the model's latency after it was sent, no source ever waits."""
    perms = list(gm.admissible_permutations(kind, ports))
    if ports == 8:
        perms = perms[::4]  # a quarter here; all 4096 on Verilator (tests/flows)
    words = words_for(perms, ports)
    res = run_traffic_amaranth(interconnect(kind, ports, W), queues_of(perms, words),
                               max_cycles=len(perms) + 20)
    assert not res.timed_out
    assert res.got == gm.expected_outputs(kind, ports, perms, words)
    assert all(res.taken[x] == list(range(len(perms))) for x in range(ports))


@pytest.mark.parametrize("kind", ["butterfly", "crossbar", "bus"])
def test_every_permutation_delivered_under_back_pressure(kind):
    """All 24 permutations of 4 ports, one after another, with random gaps and
    back-pressure: collisions and stalls lose, duplicate and reorder nothing."""
    perms = list(itertools.permutations(range(4)))
    words = words_for(perms, 4)
    queues = queues_of(perms, words)
    res = run_traffic_amaranth(interconnect(kind, 4, W), queues, p_valid=0.7, p_ready=0.6,
                               seed=11, max_cycles=2000)
    assert not res.timed_out
    got = {o: [w for _, w in res.got[o]] for o in range(4)}
    assert gm.check_delivery(4, queues, got) == []


def test_collisions_cost_cycles_admissible_traffic_does_not():
    """A butterfly under a permutation it does not admit takes longer than the same
    number of words under one it admits."""
    bad, good = (0, 2, 1, 3), gm.xor_permutation(4, 1)
    times = {}
    for perm in (bad, good):
        perms = [perm] * 64
        res = run_traffic_amaranth(Butterfly(4, W), queues_of(perms, words_for(perms, 4)),
                                   max_cycles=1000)
        times[perm] = max(c for o in res.got for c, _ in res.got[o])
    assert times[good] == 63 + gm.latency("butterfly", 4)
    assert times[bad] > times[good] + 32


@pytest.mark.parametrize("kind", ["butterfly", "crossbar", "bus"])
def test_random_traffic_16_ports(kind):
    rng = random.Random(5)
    queues = {x: [(rng.randrange(16), (i << 5) | x) for i in range(40)] for x in range(16)}
    res = run_traffic_amaranth(interconnect(kind, 16, W), queues, p_valid=0.8, p_ready=0.7,
                               seed=3, max_cycles=4000)
    assert not res.timed_out
    got = {o: [w for _, w in res.got[o]] for o in range(16)}
    assert gm.check_delivery(16, queues, got) == []


def test_bus_gives_each_source_its_slot():
    """Time-multiplexed: source x sends only in cycles x, x + P, x + 2P, ... and its
    word is at the sink the next cycle, whatever the others do."""
    P = 4
    perm = gm.xor_permutation(P, 3)
    perms = [perm] * 10
    words = words_for(perms, P)
    res = run_traffic_amaranth(Bus(P, W), queues_of(perms, words), max_cycles=200)
    for x in range(P):
        assert res.taken[x] == [x + k * P for k in range(10)]
        assert [c for c, _ in res.got[perm[x]]] == [x + k * P + 1 for k in range(10)]


def test_a_stalled_sink_holds_up_only_its_own_flow():
    """Admissible traffic with one sink never ready: the other flows run at full rate."""
    P = 8
    perm = gm.xor_permutation(P, 5)
    perms = [perm] * 30
    words = words_for(perms, P)
    dut = Butterfly(P, W)
    tr = Traffic(P, W, queues_of(perms, words), max_cycles=60)
    stalled = perm[2]

    async def bench(ctx):
        while tr.cycle < 40:
            valid, data, dest, ready = tr.inputs()
            ready &= ~(1 << stalled)
            tr.ready[stalled] = False
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.data.as_value(), data)
            ctx.set(dut.i.dest.as_value(), dest)
            ctx.set(dut.o.ready, ready)
            tr.step(ctx.get(dut.i.ready), ctx.get(dut.o.valid), ctx.get(dut.o.data.as_value()))
            await ctx.tick()

    simulate(dut, bench)
    for x in range(P):
        if x == 2:
            assert len(tr.res.taken[x]) <= 3 + 1   # the registers along its path fill
        else:
            assert tr.res.taken[x] == list(range(30))
