"""Streaming value-change-dump reader shared by both activity methods.

:func:`read_header` gives the declared variables and scopes; :func:`count_bits` walks
the value changes once and counts, per bit of each selected variable, its transitions
and the time it spent at 1 inside a window of clock cycles. Values are compared once
per time step, so zero-delay glitches of an event-driven simulation are not counted;
x and z read as 0. :mod:`asic_flow.activity` (RTL signals, per block) and
:mod:`asic_flow.netact` (gate-level nets, per pin) only choose the variables and turn
the counts into their own records.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, TextIO

from .errors import AsicFlowError


class BadVcd(AsicFlowError):
    """A value-change dump that cannot be used for activity."""


@dataclass(frozen=True)
class Var:
    scope: tuple[str, ...]
    """Enclosing scopes from the dump's root, without VCD escapes."""
    name: str
    ident: str
    width: int
    msb: int
    lsb: int


@dataclass
class Header:
    vars: list[Var]
    scopes: list[tuple[str, ...]]
    """Every ``$scope`` in declaration order, as its full path."""


@dataclass
class Counts:
    """Per selected variable (index as given to :func:`count_bits`), per bit position
    (0 = last character of the VCD vector): transitions and time at 1 in the window."""
    toggles: list[list[int]]
    high: list[list[int]]
    rising: int
    """Rising clock edges from the start of the dump to the end of the window."""
    period: Optional[int]
    """Time between the first two rising edges (None: fewer than two)."""
    start: Optional[int]
    """Dump time the window opened (None: the dump ended before it did)."""
    end: int


def unescape(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


_RANGE = re.compile(r"\[(-?\d+)(?::(-?\d+))?\]")
_XZ = str.maketrans("xXzZ", "0000")


def _tokens(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield from line.split()


def read_header(f: TextIO, path) -> Header:
    """Read declarations up to ``$enddefinitions``; ``f`` is left at the first value
    change. Declarations may span lines."""
    vars_: list[Var] = []
    scopes: list[tuple[str, ...]] = []
    stack: list[str] = []
    words: list[str] = []
    for tok in _tokens(f):
        if tok != "$end":
            words.append(tok)
            continue
        kind, args, words = (words[0] if words else ""), words[1:], []
        if kind == "$scope":
            stack.append(unescape(args[1]))
            scopes.append(tuple(stack))
        elif kind == "$upscope":
            stack.pop()
        elif kind == "$var":
            width = int(args[1])
            msb, lsb = width - 1, 0
            if len(args) > 4:
                r = _RANGE.fullmatch(args[4])
                if r:
                    msb = int(r.group(1))
                    lsb = int(r.group(2)) if r.group(2) is not None else msb
            vars_.append(Var(tuple(stack), unescape(args[3]), args[2], width, msb, lsb))
        elif kind == "$enddefinitions":
            return Header(vars_, scopes)
    raise BadVcd(f"{path}: no $enddefinitions: not a complete VCD")


def count_bits(f: TextIO, index: dict[str, int], widths: list[int], clock: int, *,
               first_cycle: int = 0, max_cycles: Optional[int] = None) -> Counts:
    """Walk the value changes of ``f`` (after :func:`read_header`).

    ``index`` maps VCD identifiers to variable indices (identifiers not in it are
    ignored), ``widths`` gives each index's width, ``clock`` is the clock's index. The
    window opens at the ``first_cycle``-th rising clock edge (0: the start of the dump)
    and closes after ``max_cycles`` rising edges (None: the end of the dump); changes at
    the closing edge belong to the next cycle and are not counted.
    """
    n = len(widths)
    toggles = [[0] * w for w in widths]
    high = [[0] * w for w in widths]
    value: list[Optional[int]] = [None] * n
    since = [0] * n
    pending: dict[int, int] = {}
    start: Optional[int] = None
    edges: list[int] = []
    rising = 0
    now = 0
    started = False

    def commit(t: int) -> bool:
        """Apply the changes of time ``t``; False once the window has closed."""
        nonlocal rising, start
        new_clk = pending.get(clock)
        if new_clk is not None and value[clock] == 0 and new_clk & 1:
            rising += 1
            if len(edges) < 2:
                edges.append(t)
            if start is None and rising == first_cycle:
                start = t
            if max_cycles is not None and start is not None \
                    and rising == first_cycle + max_cycles:
                return False
        for k, new in pending.items():
            old = value[k]
            if old is None:  # first value: no transition
                value[k], since[k] = new, t
                continue
            if new == old:
                continue
            if start is not None:
                span = t - max(since[k], start)
                tg, hi = toggles[k], high[k]
                if widths[k] == 1:
                    tg[0] += 1
                    if old:
                        hi[0] += span
                else:
                    changed, o, pos = old ^ new, old, 0
                    while changed or o:
                        if changed & 1:
                            tg[pos] += 1
                        if o & 1:
                            hi[pos] += span
                        changed >>= 1
                        o >>= 1
                        pos += 1
            value[k], since[k] = new, t
        pending.clear()
        return True

    closed = False
    for line in f:
        c = line[:1]
        if c == "#":
            if not commit(now):
                closed = True
                break
            now = int(line[1:])
            if not started:
                started = True
                if first_cycle == 0:
                    start = now
        elif c in "01xzXZ":
            k = index.get(line[1:].strip())
            if k is not None:
                pending[k] = 1 if c == "1" else 0
        elif c in "bB":
            val, _, ident = line[1:].partition(" ")
            k = index.get(ident.strip())
            if k is not None:
                pending[k] = int(val.translate(_XZ) or "0", 2)
    if not closed:
        commit(now)
    if start is not None:  # time at 1 from the last change to the end of the window
        for k in range(n):
            v = value[k]
            span = now - max(since[k], start)
            if not v or span <= 0:
                continue
            pos = 0
            while v:
                if v & 1:
                    high[k][pos] += span
                v >>= 1
                pos += 1
    period = edges[1] - edges[0] if len(edges) == 2 else None
    return Counts(toggles, high, rising, period, start, now)
