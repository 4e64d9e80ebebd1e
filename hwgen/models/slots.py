"""A pod's command FSM timed against a time-multiplexed port (the ``bus`` interconnect,
:mod:`hwgen.lib.scaleout`): the same commands as :mod:`hwgen.models.maxplus`, the same
constructors (so :func:`hwgen.models.perf.nest_block` builds either), but a stream beat
moves only in the cycles its port owns.

The bus of P ports gives cycle u to source u mod P. A pod sits on port s of the operand
bus (its bank) and of the result bus; a word crosses into the sink's one register in a
cycle the source owns, when the register is empty or its word leaves in that cycle, and
is valid there from the next cycle. With ``next(x)`` the first cycle at or after x that
the pod's port owns (on the operand bus its bank's, on the result bus its own), the
pod's timing is:

* operand words: a job's sources offer their first word from the job's first cycle T,
  so it crosses at ``next(T)``; every later word crosses once the one before it has been
  taken by a LOAD (at ``next(c)``, c the cycle that took it), so the register holds the
  next word while the pod does other things. A LOAD whose FSM reaches its LOAD state in
  cycle s0 takes its first beat at ``max(s0, next(c) + 1)``, every further one at
  ``next(previous) + 1`` (P cycles apart), and is back in IDLE the cycle after its last;
* results: a READ issues its first word in the cycle after EXEC, which reaches the pod's
  output ``read_latency`` cycles later (as on a free port); its beats leave in the
  port's cycles from then on, one per P cycles (the read path's FIFO holds more words
  than are in flight in P cycles, so it never runs dry), and the FSM is IDLE two cycles
  after the last;
* everything else (COMPUTE, SYNC, waits for the engine, the commands that only set a
  register) as on a free port (:mod:`hwgen.models.maxplus`);
* the job is done in the first cycle in which the FSM is IDLE, the engine idle and the
  last result beat has reached its result port and been counted (two cycles after it
  left the pod).

With P = 1 this is a free port behind one register. Unlike the max-plus matrices the
rounding to the port's cycles is not linear, so a block is evaluated from a state, not
multiplied out: a repeated block is run until the state relative to its own clock (the
cycles to the ports' next owned cycles and the other times' offsets, clipped where their
exact values no longer matter) repeats, and the rest of the repetitions skipped whole
periods at a time. Every block remembers what it did from each relative state, for
every port alike, so a program is timed in time that grows with its structure, not
with its length.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Block", "Port", "State", "seq", "other", "sync", "compute", "load", "read",
           "start", "run", "done"]

#: Far below any cycle.
NEVER = -(1 << 60)


@dataclass(frozen=True)
class Port:
    """The buses a pod's streams cross: ``period`` P ports each, its operands from port
    ``din`` of one (its bank's), its results into port ``dout`` of the other."""
    period: int
    din: int
    dout: int

    def next_in(self, x: int) -> int:
        """The first cycle at or after ``x`` that the operand port owns."""
        return x + (self.din - x) % self.period

    def next_out(self, x: int) -> int:
        """The first cycle at or after ``x`` that the result port owns."""
        return x + (self.dout - x) % self.period


@dataclass(frozen=True)
class State:
    """``t``: the FSM is IDLE (takes its next command); ``f``: the engine is free;
    ``y``: the last result beat left the pod; ``c``: the next operand word may cross."""
    t: int
    f: int
    y: int
    c: int

    def shift(self, d: int) -> "State":
        return State(self.t + d, self.f + d, self.y + d, self.c + d)


def start(cycle: int) -> State:
    """A job's first cycle: the FSM idle, the engine idle, its first word offered."""
    return State(cycle, cycle, NEVER, cycle)


def done(s: State) -> int:
    """The cycle the job is seen done (:class:`sim_tb.pods.PodsDriver`)."""
    return max(s.t, s.f, s.y + 2)


def _key(port: Port, s: State) -> tuple:
    """``s`` relative to its own clock: the cycles to the ports' next owned cycles (so
    pods on different ports share what their blocks remember), and the other times'
    offsets, clipped where their exact values can no longer change anything: an engine
    free before t, a beat out more than two cycles before t, an operand word that could
    have crossed P cycles before t."""
    t, P = s.t, port.period
    return (P, (port.din - t) % P, (port.dout - t) % P, max(s.f - t, 0), max(s.y - t, -2),
            max(s.c - t, 1 - P))


class Block:
    """A run of commands: a leaf (one command), a sequence, or a repetition."""

    __slots__ = ("kind", "arg", "memo")

    def __init__(self, kind: str = "seq", arg=()):
        self.kind, self.arg, self.memo = kind, arg, {}

    def then(self, other: "Block") -> "Block":
        return seq(self, other)

    def times(self, n: int) -> "Block":
        if n == 1:
            return self
        if n <= 0:
            return Block()
        return Block("rep", (self, n))


def seq(*blocks: Block) -> Block:
    parts = []
    for b in blocks:
        if b.kind == "seq":
            parts.extend(b.arg)
        else:
            parts.append(b)
    return parts[0] if len(parts) == 1 else Block("seq", tuple(parts))


def other() -> Block:
    return Block("other")


def sync() -> Block:
    return Block("sync")


def compute(busy: int, macs: int = 0) -> Block:
    return Block("compute", busy)


def load(beats: int, waits: bool, weights: bool = False, acc: bool = False) -> Block:
    return Block("load", (beats, waits))


def read(latency: int, count: int, beats_per_word: int, waits: bool) -> Block:
    return Block("read", (latency, count * beats_per_word, waits))


def _leaf(port: Port, b: Block, s: State) -> State:
    t, f, y, c = s.t, s.f, s.y, s.c
    kind = b.kind
    if kind == "other":
        return State(t + 2, f, y, c)
    if kind == "sync":
        return State(max(t + 1, f) + 1, f, y, c)
    if kind == "compute":
        e = max(t + 1, f)
        return State(e + 1, e + b.arg + 1, y, c)
    if kind == "load":
        beats, waits = b.arg
        e = max(t + 1, f) if waits else t + 1
        if beats == 0:
            return State(e + 2, f, y, c)
        last = max(e + 1, port.next_in(c) + 1)
        if beats >= 2:
            last = port.next_in(last) + 1 + (beats - 2) * port.period
        return State(last + 1, f, y, last)
    lat, beats, waits = b.arg   # read
    e = max(t + 1, f) if waits else t + 1
    if beats == 0:
        return State(e + 2, f, y, c)
    last = port.next_out(e + 1 + lat) + (beats - 1) * port.period
    return State(last + 2, f, last, c)


def run(port: Port, b: Block, s: State) -> State:
    """The state after ``b`` from ``s`` with the pod's streams on ``port``."""
    kind = b.kind
    if kind not in ("seq", "rep"):
        return _leaf(port, b, s)
    key = _key(port, s)
    hit = b.memo.get(key)
    if hit is not None:
        return hit.shift(s.t)
    if kind == "seq":
        out = s
        for part in b.arg:
            out = run(port, part, out)
    else:
        body, n = b.arg
        out, seen, i = s, {}, 0
        while i < n:
            k = _key(port, out)
            if k in seen:   # periodic from here: skip whole periods
                j, tj = seen[k]
                q, dt = i - j, out.t - tj
                skip = (n - i) // q
                out = out.shift(skip * dt)
                i += skip * q
                seen = {}
                if i >= n:
                    break
            seen[k] = (i, out.t)
            out = run(port, body, out)
            i += 1
    b.memo[key] = out.shift(-s.t)
    return out
