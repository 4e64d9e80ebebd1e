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

#: Minus infinity of the semiring (far below any time; sums of a few stay far below).
NEG = -(1 << 200)

T, F, L = 0, 1, 2   # the state vector's components

#: A matrix is kept as its seven entries that can be finite, ``(t0, t1, f0, f1, l0, l1,
#: l2)`` (row t: t' = max(t0 + t, t1 + F), row F likewise, row L: l0, l1 and l2 from L):
#: no command makes t or F depend on L, so those two entries are always NEG and products
#: keep them so (:func:`mul` leaves them out).


def _mat(rows) -> tuple:
    (t0, t1, t2), (f0, f1, f2), (l0, l1, l2) = rows
    if t2 != NEG or f2 != NEG:
        raise ValueError("a command's t and F must not depend on L")
    return (t0, t1, f0, f1, l0, l1, l2)


IDENTITY = (0, NEG, NEG, 0, NEG, NEG, 0)


def mul(a: tuple, b: tuple) -> tuple:
    """``a (x) b``: first b, then a (written out: the cycle model spends its time here).
    Terms through the entries that are always NEG are left out; an entry that is NEG
    plus something stays far below every time (it stands for minus infinity), and L's
    own entry is kept at 0 or NEG."""
    a0, a1, a3, a4, a6, a7, a8 = a
    b0, b1, b3, b4, b6, b7, b8 = b
    # conditional expressions: about twice as fast as max() here
    x, y = a0 + b0, a1 + b3
    t0 = x if x > y else y
    x, y = a0 + b1, a1 + b4
    t1 = x if x > y else y
    x, y = a3 + b0, a4 + b3
    f0 = x if x > y else y
    x, y = a3 + b1, a4 + b4
    f1 = x if x > y else y
    x, y, z = a6 + b0, a7 + b3, a8 + b6
    x = x if x > y else y
    l0 = x if x > z else z
    x, y, z = a6 + b1, a7 + b4, a8 + b7
    x = x if x > y else y
    l1 = x if x > z else z
    x = a8 + b8
    return (t0, t1, f0, f1, l0, l1, x if x > NEG else NEG)


def power(a: tuple, n: int) -> tuple:
    if n == 1:
        return a
    out, base = IDENTITY, a
    while n:
        if n & 1:
            out = mul(base, out)
        n >>= 1
        if n:
            base = mul(base, base)
    return out


def apply(a: tuple, x: tuple) -> tuple:
    t0, t1, f0, f1, l0, l1, l2 = a
    xt, xf, xl = x
    return (max(t0 + xt, t1 + xf, NEG + xl), max(f0 + xt, f1 + xf, NEG + xl),
            max(l0 + xt, l1 + xf, l2 + xl))


class Block:
    """The effect of a run of commands: the matrix and the counters it adds."""
    __slots__ = ("m", "compute", "macs", "in_beats", "w_beats", "out_beats", "commands")

    def __init__(self, m: tuple = IDENTITY, compute: int = 0, macs: int = 0,
                 in_beats: int = 0, w_beats: int = 0, out_beats: int = 0,
                 commands: int = 0):
        self.m = m
        self.compute = compute      # engine busy cycles
        self.macs = macs
        self.in_beats = in_beats    # din beats of LOAD_IN
        self.w_beats = w_beats      # din beats of LOAD_W
        self.out_beats = out_beats  # dout beats
        self.commands = commands

    def _fields(self) -> tuple:
        return (self.m, self.compute, self.macs, self.in_beats, self.w_beats,
                self.out_beats, self.commands)

    def __eq__(self, other) -> bool:
        return isinstance(other, Block) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return ("Block(m={}, compute={}, macs={}, in_beats={}, w_beats={}, out_beats={}, "
                "commands={})".format(*self._fields()))

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
    if not blocks:
        return Block()
    out = blocks[0]
    for b in blocks[1:]:
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
