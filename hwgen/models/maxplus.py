"""The host interface's timing as max-plus algebra, so that a program of any length is
timed in time proportional to its structure, not its length.

The command FSM's timing (:func:`hwgen.models.perf.program_timing`) keeps three times:
``t`` (the FSM is back in IDLE), ``F`` (the compute engine is free) and ``L`` (one past
the last result beat). Every command changes them by maxima and sums of constants only:

* a COMPUTE of d busy cycles:  t' = max(t + 2, F + 1),  F' = max(t + 2 + d, F + 1 + d)
* a LOAD of b beats:           t' = t + 2 + b, or max(t + 2 + b, F + 1 + b) when it
                               must wait for the engine (its bank is the one computing)
* a READ of z = latency + count * beats:  t' = e + z + 2,  L' = e + z + 1, where
                               e = t + 1, or max(t + 1, F) when it must wait
* anything else:               t' = t + 2

so each command is a 3 x 3 matrix over the max-plus semiring (``a (+) b = max(a, b)``,
``a (x) b = a + b``), a sequence of commands is the product of theirs, and a block
repeated n times is its matrix to the power n, computed by repeated squaring. Counters
(busy cycles, MACs, beats) add up along the way. The result is exact: the tests compare
it with the command-by-command replay on the programs the compiler emits.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Minus infinity of the semiring (far below any time; sums of a few stay far below).
NEG = -(1 << 200)

T, F, L = 0, 1, 2   # the state vector's components


def _mat(rows) -> tuple:
    return tuple(tuple(r) for r in rows)


IDENTITY = _mat([[0 if i == j else NEG for j in range(3)] for i in range(3)])


def mul(a: tuple, b: tuple) -> tuple:
    """``a (x) b``: first b, then a (written out: the cycle model spends its time here)."""
    (a0, a1, a2), (a3, a4, a5), (a6, a7, a8) = a
    (b0, b1, b2), (b3, b4, b5), (b6, b7, b8) = b
    return ((max(a0 + b0, a1 + b3, a2 + b6), max(a0 + b1, a1 + b4, a2 + b7),
             max(a0 + b2, a1 + b5, a2 + b8)),
            (max(a3 + b0, a4 + b3, a5 + b6), max(a3 + b1, a4 + b4, a5 + b7),
             max(a3 + b2, a4 + b5, a5 + b8)),
            (max(a6 + b0, a7 + b3, a8 + b6), max(a6 + b1, a7 + b4, a8 + b7),
             max(a6 + b2, a7 + b5, a8 + b8)))


def power(a: tuple, n: int) -> tuple:
    if n == 1:
        return a
    out, base = IDENTITY, a
    while n:
        if n & 1:
            out = mul(base, out)
        base = mul(base, base)
        n >>= 1
    return out


def apply(a: tuple, x: tuple) -> tuple:
    return tuple(max(a[i][k] + x[k] for k in range(3)) for i in range(3))


@dataclass(frozen=True)
class Block:
    """The effect of a run of commands: the matrix and the counters it adds."""
    m: tuple = IDENTITY
    compute: int = 0      # engine busy cycles
    macs: int = 0
    in_beats: int = 0     # din beats of LOAD_IN
    w_beats: int = 0      # din beats of LOAD_W
    out_beats: int = 0    # dout beats
    commands: int = 0

    def then(self, other: "Block") -> "Block":
        """This block followed by ``other``."""
        return Block(mul(other.m, self.m), self.compute + other.compute,
                     self.macs + other.macs, self.in_beats + other.in_beats,
                     self.w_beats + other.w_beats, self.out_beats + other.out_beats,
                     self.commands + other.commands)

    def times(self, n: int) -> "Block":
        """This block repeated n times (n >= 0)."""
        if n == 1:
            return self
        return Block(power(self.m, n), self.compute * n, self.macs * n, self.in_beats * n,
                     self.w_beats * n, self.out_beats * n, self.commands * n)


def seq(*blocks: Block) -> Block:
    out = Block()
    for b in blocks:
        out = out.then(b)
    return out


# ---- one command each --------------------------------------------------------------------
def other() -> Block:
    return Block(_mat([[2, NEG, NEG], [NEG, 0, NEG], [NEG, NEG, 0]]), commands=1)


def sync() -> Block:
    """SYNC: back to IDLE once the engine is free."""
    return Block(_mat([[2, 1, NEG], [NEG, 0, NEG], [NEG, NEG, 0]]), commands=1)


def compute(busy: int, macs: int) -> Block:
    d = busy
    return Block(_mat([[2, 1, NEG], [2 + d, 1 + d, NEG], [NEG, NEG, 0]]), compute=d, macs=macs,
                 commands=1)


def load(beats: int, waits: bool, weights: bool, acc: bool = False) -> Block:
    """LOAD_IN, LOAD_W (``weights``) or LOAD_ACC (``acc``; its beats count with the
    weights' stream, both carry words of COLS elements)."""
    b = max(beats, 1)
    row_t = [2 + b, 1 + b if waits else NEG, NEG]
    to_w = weights or acc
    return Block(_mat([row_t, [NEG, 0, NEG], [NEG, NEG, 0]]), commands=1,
                 in_beats=0 if to_w else beats, w_beats=beats if to_w else 0)


def read(latency: int, count: int, beats_per_word: int, waits: bool) -> Block:
    if count == 0:
        return Block(_mat([[3, 2 if waits else NEG, NEG], [NEG, 0, NEG], [NEG, NEG, 0]]),
                     commands=1)
    z = latency + count * beats_per_word
    return Block(_mat([[3 + z, (2 + z) if waits else NEG, NEG], [NEG, 0, NEG],
                       [2 + z, (1 + z) if waits else NEG, NEG]]),
                 out_beats=count * beats_per_word, commands=1)


def finish(block: Block, start: int = 0) -> int:
    """Cycles from the first command offered until everything is done: the latest of the
    three times after the block, from the state at reset."""
    t, f, last = apply(block.m, (start, 0, 0))
    return max(t, f, last) - start
