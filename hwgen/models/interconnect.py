"""Golden model of the interconnects' routing (:mod:`hwgen.lib.scaleout`), written from
the networks' definitions, not from the RTL.

Butterfly (indirect binary n-cube, n = log2 P, destination-tag routing): the ports are
numbered by n-bit positions; stage s joins the two positions that differ only in bit
``b = n-1-s`` in one 2x2 switch, and a word leaves that switch on the output whose bit b
equals bit b of its destination. After stage s a word with source x and destination d
sits at position ``(d's bits n-1 .. b) | (x's bits b-1 .. 0)``, and after the last stage
at d. Two words sent in the same cycle collide when they sit at the same position after
some stage; a set of words in which no two collide passes in one cycle per stage without
stalling. A permutation with no collision is *admissible*: each of the (P/2)·n switches
either passes straight or crosses, and every setting gives a different permutation, so
exactly 2^((P/2)·n) of the P! permutations are admissible (4096 of 40320 for P = 8).
Among them are all ``d = x XOR c`` (the model proves it below for every c), which the
scale-out compiler uses.

A crossbar admits every permutation; a bus (one word per cycle in all) none: being
time-multiplexed, it gives each source one slot every P cycles.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from ..lib.scaleout import interconnect_latency, interconnect_problem, log2

__all__ = ["positions", "collisions", "admissible", "admissible_permutations",
           "count_admissible", "switch_permutation", "xor_permutation", "latency",
           "expected_outputs", "check_delivery"]


def positions(ports: int, src: int, dest: int) -> list[int]:
    """The position of a word from ``src`` to ``dest`` after each butterfly stage."""
    n = log2(ports)
    out = []
    for s in range(n):
        b = n - 1 - s
        keep_low = src & ((1 << b) - 1)
        high = (dest >> b) << b
        out.append(high | keep_low)
    return out


def collisions(ports: int, dests: dict[int, int]) -> list[tuple[int, int, tuple]]:
    """(stage, position, sources) of every butterfly collision among the words
    ``{source: destination}`` sent in one cycle."""
    n = log2(ports)
    paths = {x: positions(ports, x, d) for x, d in dests.items()}
    out = []
    for s in range(n):
        seen: dict[int, list[int]] = {}
        for x, p in paths.items():
            seen.setdefault(p[s], []).append(x)
        out += [(s, pos, tuple(sorted(xs))) for pos, xs in sorted(seen.items()) if len(xs) > 1]
    return out


def admissible(kind: str, ports: int, perm: Sequence[int]) -> bool:
    """Whether ``kind`` passes the words of every source x to ``perm[x]`` in one cycle
    without a stall (``perm`` a permutation of the ports)."""
    why = interconnect_problem(kind, ports)
    if why is not None:
        raise ValueError(why)
    if sorted(perm) != list(range(ports)):
        raise ValueError(f"not a permutation of {ports} ports: {list(perm)}")
    if kind == "crossbar":
        return True
    if kind == "bus":
        return False
    return not collisions(ports, dict(enumerate(perm)))


def admissible_permutations(kind: str, ports: int) -> Iterator[tuple[int, ...]]:
    """Every admissible permutation, by trying all P! (for small P)."""
    if ports > 10:
        raise ValueError("enumerating permutations is for at most 10 ports")
    for perm in itertools.permutations(range(ports)):
        if admissible(kind, ports, perm):
            yield perm


def count_admissible(kind: str, ports: int) -> int:
    """How many permutations ``kind`` admits, from the structure (not by search)."""
    if kind == "crossbar":
        out = 1
        for i in range(2, ports + 1):
            out *= i
        return out
    if kind == "bus":
        return 0
    return 2 ** ((ports // 2) * log2(ports))


def switch_permutation(ports: int, settings: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The permutation a butterfly realises when switch j of stage s is straight
    (``settings[s][j] == 0``) or crossed (1). Switch j of stage s joins the two
    positions with bit b = n-1-s clear and set whose other bits are j's bits with a 0
    inserted at b."""
    n = log2(ports)
    where = list(range(ports))   # where[x] = position of the word from x
    for s in range(n):
        b = n - 1 - s
        nxt = list(where)
        for x, p in enumerate(where):
            low, high = p & ((1 << b) - 1), p >> (b + 1)
            j = (high << b) | low
            if settings[s][j]:
                nxt[x] = p ^ (1 << b)
        where = nxt
    return tuple(where)


def xor_permutation(ports: int, c: int) -> tuple[int, ...]:
    """x -> x XOR c."""
    return tuple(x ^ c for x in range(ports))


def latency(kind: str, ports: int) -> int:
    return interconnect_latency(kind, ports)


def expected_outputs(kind: str, ports: int, perms: Sequence[Sequence[int]],
                     words: Sequence[Sequence[int]]) -> dict[int, list[tuple[int, int]]]:
    """With admissible ``perms[t]`` sent in cycle t (word ``words[t][x]`` from source x)
    and every sink always ready: per sink, the (cycle, word) it receives."""
    lat = latency(kind, ports)
    out: dict[int, list[tuple[int, int]]] = {o: [] for o in range(ports)}
    for t, perm in enumerate(perms):
        for x, d in enumerate(perm):
            out[d].append((t + lat, words[t][x]))
    return out


def check_delivery(ports: int, sent: dict[int, list[tuple[int, int]]],
                   got: dict[int, list[int]]) -> list[str]:
    """Problems with a run of arbitrary traffic: ``sent[x]`` is the (destination, word)
    sequence source x sent, ``got[o]`` the words sink o received in order. Every word
    must arrive exactly once at its destination, and the words of one source to one
    sink in the order sent (words are unique). Empty when all is well."""
    problems = []
    want: dict[int, dict[int, list[int]]] = {o: {} for o in range(ports)}
    owner = {}
    for x, seq in sent.items():
        for d, w in seq:
            want[d].setdefault(x, []).append(w)
            owner[w] = x
    for o in range(ports):
        words = got.get(o, [])
        per_src: dict[int, list[int]] = {}
        for w in words:
            if w not in owner:
                problems.append(f"sink {o} received {w:#x}, which nobody sent")
                continue
            per_src.setdefault(owner[w], []).append(w)
        for x in sorted(set(want[o]) | set(per_src)):
            if per_src.get(x, []) != want[o].get(x, []):
                problems.append(f"sink {o}: words of source {x} are "
                                f"{[hex(w) for w in per_src.get(x, [])][:6]}..., sent "
                                f"{[hex(w) for w in want[o].get(x, [])][:6]}...")
    return problems
