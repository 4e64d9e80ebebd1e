"""The interconnects' Verilog (hwgen_interconnect) on Icarus and Verilator through cocotb,
driven by the same driver as the Amaranth simulator: every permutation a butterfly admits
at one word per source per cycle with the model's latency, every permutation delivered
under back-pressure, random traffic with back-pressure (8 ports by default, up to 64 as
slow tests), the same cycles as the Amaranth simulator for the same seed; lint-clean with
the scoped waivers of rtl_templates/lint/hwgen_interconnect.vlt."""
import itertools
import random

import pytest

from hwgen.emit import component_verilog
from hwgen.models import interconnect as gm
from hwgen.scaleout import interconnect
from sim_tb.interconnect import TOP, run_traffic_amaranth, run_traffic_rtl
from sim_tb.runner import lint

W = 16
WAIVERS = "hwgen_interconnect.vlt"


def verilog(kind, ports, width=W):
    return component_verilog(interconnect(kind, ports, width), TOP)


def words_for(perms, ports):
    return [[(t << 6) | x for x in range(ports)] for t in range(len(perms))]


def queues_of(perms, words):
    return {x: [(perm[x], words[t][x]) for t, perm in enumerate(perms)]
            for x in range(len(perms[0]))}


def delivered(res, queues, ports):
    got = {o: [w for _, w in res.got[o]] for o in range(ports)}
    return gm.check_delivery(ports, queues, got)


@pytest.mark.parametrize("kind", ["butterfly", "crossbar", "bus"])
def test_icarus_4_ports_same_cycles_as_amaranth(kind, tmp_path):
    """Every permutation of 4 ports under back-pressure on Icarus: all delivered, and
    cycle for cycle what the Amaranth simulator does with the same seed."""
    perms = list(itertools.permutations(range(4)))
    queues = queues_of(perms, words_for(perms, 4))
    kw = {"p_valid": 0.7, "p_ready": 0.6, "seed": 21, "max_cycles": 2000}
    rtl = run_traffic_rtl(verilog(kind, 4), 4, W, queues, tmp_path, sim="icarus", **kw)
    assert delivered(rtl, queues, 4) == []
    ref = run_traffic_amaranth(interconnect(kind, 4, W), queues, **kw)
    assert rtl.got == ref.got and rtl.taken == ref.taken


def test_verilator_butterfly_8_every_admissible_permutation(tmp_path):
    """All 4096 admissible permutations of an 8-port butterfly at full rate, each word at
    its sink exactly the model's latency after it was sent."""
    v = verilog("butterfly", 8, 20)   # words of 18 bits: 4096 cycles, 8 sources
    perms = list(gm.admissible_permutations("butterfly", 8))
    words = words_for(perms, 8)
    res = run_traffic_rtl(v, 8, 20, queues_of(perms, words), tmp_path,
                          max_cycles=len(perms) + 20)
    assert res.got == gm.expected_outputs("butterfly", 8, perms, words)


@pytest.mark.slow
def test_verilator_butterfly_8_every_permutation(tmp_path):
    """All 40320 permutations of 8 ports, one after another, under back-pressure: the
    collisions stall and nothing is lost, duplicated or reordered."""
    allp = list(itertools.permutations(range(8)))
    queues = queues_of(allp, [[(t << 3) | x for x in range(8)] for t in range(len(allp))])
    res = run_traffic_rtl(verilog("butterfly", 8, 22), 8, 22, queues, tmp_path,
                          p_valid=0.9, p_ready=0.8, seed=2, max_cycles=400_000)
    assert not res.timed_out
    assert delivered(res, queues, 8) == []


def _random(ports, n, seed):
    rng = random.Random(seed)
    return {x: [(rng.randrange(ports), (i << 6) | x) for i in range(n)] for x in range(ports)}


@pytest.mark.parametrize("kind,ports", [
    ("butterfly", 8),   # the build of the test above, from the cache
    pytest.param("butterfly", 16, marks=pytest.mark.slow),
    pytest.param("butterfly", 64, marks=pytest.mark.slow),
    pytest.param("butterfly", 32, marks=pytest.mark.slow),
    pytest.param("crossbar", 64, marks=pytest.mark.slow),
    pytest.param("bus", 64, marks=pytest.mark.slow),
    pytest.param("crossbar", 8, marks=pytest.mark.slow),
    pytest.param("bus", 8, marks=pytest.mark.slow),
])
def test_verilator_random_traffic(kind, ports, tmp_path):
    """Random destinations (collisions included) with gaps and back-pressure, and then
    XOR permutations (admissible everywhere) at full rate with the model's latency."""
    queues = _random(ports, 60, seed=ports)
    v = verilog(kind, ports, 20)
    res = run_traffic_rtl(v, ports, 20, queues, tmp_path / "rand", p_valid=0.8,
                          p_ready=0.7, seed=9, max_cycles=200_000)
    assert not res.timed_out
    assert delivered(res, queues, ports) == []
    if kind == "bus":
        return
    perms = [gm.xor_permutation(ports, c) for c in range(ports)] * 2
    words = words_for(perms, ports)
    res = run_traffic_rtl(v, ports, 20, queues_of(perms, words), tmp_path / "xor",
                          max_cycles=len(perms) + 20)
    assert res.got == gm.expected_outputs(kind, ports, perms, words)


@pytest.mark.parametrize("kind,ports", [("butterfly", 8), ("crossbar", 8), ("bus", 8),
                                        ("butterfly", 16), ("crossbar", 2), ("bus", 2)])
def test_lint_clean_with_scoped_waivers(kind, ports):
    v = verilog(kind, ports)
    assert lint(v, WAIVERS, file_name=f"{TOP}.v") == []
    assert lint(v, None, file_name=f"{TOP}.v") != []   # the waivers do something
