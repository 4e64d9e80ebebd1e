"""Facts the scale-out hardware and its models share: the interconnects' kinds and
pipeline latencies.

An interconnect joins P sources to P sinks; every word carries the number of the sink it
goes to. Three kinds:

* ``butterfly``: log2(P) stages of P/2 two-by-two switches with a register on every
  switch output; stage s sets bit log2(P)-1-s of a word's position to that bit of its
  destination (destination-tag routing), so a word reaches its sink after log2(P)
  cycles. P must be a power of two.
* ``crossbar``: every sink chooses among all sources, one register: one cycle.
* ``bus``: one shared medium, time-multiplexed: in cycle t only source t mod P may send
  (to any sink), into a register per sink: one cycle, one word per source every P
  cycles.
"""
from __future__ import annotations

INTERCONNECTS = ("butterfly", "crossbar", "bus")
#: Most ports an interconnect (and a scale-out design) has.
PORTS_MAX = 64


def is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def log2(n: int) -> int:
    """log2 of a power of two."""
    if not is_power_of_two(n):
        raise ValueError(f"{n} is not a power of two")
    return n.bit_length() - 1


def interconnect_problem(kind: str, ports: int) -> str | None:
    """Why ``kind`` cannot be built with ``ports`` ports, or None."""
    if kind not in INTERCONNECTS:
        return f"unknown interconnect {kind!r} (choose {', '.join(INTERCONNECTS)})"
    if not 2 <= ports <= PORTS_MAX:
        return f"{ports} ports; an interconnect joins between 2 and {PORTS_MAX}"
    if kind == "butterfly" and (ports < 2 or not is_power_of_two(ports)):
        return (f"a butterfly of 2x2 switches needs a power of two of at least 2 ports, "
                f"got {ports} (a crossbar or a bus takes any count)")
    return None


def interconnect_latency(kind: str, ports: int) -> int:
    """Cycles from a word's transfer into the interconnect to the first cycle it is
    valid at its sink, when nothing is in its way."""
    if kind == "butterfly":
        return log2(ports)
    return 1


def dest_bits(ports: int) -> int:
    """Bits of a destination field (at least one)."""
    return max(1, (ports - 1).bit_length())
