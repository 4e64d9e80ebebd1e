"""Binary int8 fully connected layers: the baselines the stochastic-computing layer is
measured against (benchmarks/sc_area.py, docs/stochastic.md).

All are datapaths of an n-input, m-neuron layer with ReLU and registered results,
operands on ports (8-bit codes):

* :class:`Int8Layer`: multipliers and a balanced adder tree in one cycle (or, with
  ``pipelined``, products registered first: :func:`Int8PipelinedLayer`);
* :class:`Int8SerialLayer`: one multiplier and accumulator per neuron, one input
  position per cycle; :class:`Int8SerialHeldLayer` takes all operands held on ports.

Each neuron is a module of its own, so a standard-cell synthesis keeps it as a block.
The result of neuron q is ``max(0, sum_i x_i w_qi)`` (:func:`hwgen.models.int8_layer.int8_layer`).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .stochastic import tree_sum


def acc_bits(n: int) -> int:
    """Signed width of a sum of n products of two int8 values (each within 2^14)."""
    return 16 + (n - 1).bit_length() + 1


def relu(s):
    return Mux(s > 0, s, 0)


class Int8Neuron(wiring.Component):
    """y = max(0, sum_i x_i w_i) over n signed 8-bit pairs, a balanced adder tree after
    the multipliers. ``pipelined``: products registered, then tree, ReLU and the result
    register (latency 2); otherwise all in one cycle (latency 1)."""

    def __init__(self, n: int, pipelined: bool):
        self.n, self.pipelined = n, pipelined
        super().__init__({"x": In(8 * n), "w": In(8 * n), "y": Out(acc_bits(n))})

    def elaborate(self, platform):
        mod = Module()
        n = self.n
        prods = [self.x[8 * i:8 * (i + 1)].as_signed() * self.w[8 * i:8 * (i + 1)].as_signed()
                 for i in range(n)]
        if self.pipelined:
            regs = [Signal(signed(16), name=f"p{i}") for i in range(n)]
            mod.d.sync += [r.eq(p) for r, p in zip(regs, prods)]
            prods = regs
        s = Signal(signed(acc_bits(n)))
        mod.d.comb += s.eq(tree_sum(prods))
        mod.d.sync += self.y.eq(relu(s))
        return mod


class Int8Layer(wiring.Component):
    """m :class:`Int8Neuron` s sharing the inputs ``x``; weight i of neuron q at byte
    q n + i of ``w``; result q at bits [q a, (q + 1) a) of ``y``, a = :func:`acc_bits`.
    One vector per cycle; ``latency`` cycles from operands to result."""

    def __init__(self, n: int, m: int, pipelined: bool = False):
        self.n, self.m, self.pipelined = n, m, pipelined
        self.latency = 2 if pipelined else 1
        self.cycles_per_vector = 1
        super().__init__({"x": In(8 * n), "w": In(8 * n * m), "y": Out(acc_bits(n) * m)})

    def elaborate(self, platform):
        mod = Module()
        n, a = self.n, acc_bits(self.n)
        for q in range(self.m):
            mod.submodules[f"n{q}"] = nr = Int8Neuron(n, self.pipelined)
            mod.d.comb += [nr.x.eq(self.x), nr.w.eq(self.w[8 * n * q:8 * n * (q + 1)]),
                           self.y[a * q:a * (q + 1)].eq(nr.y)]
        return mod


def Int8PipelinedLayer(n: int, m: int) -> Int8Layer:
    return Int8Layer(n, m, pipelined=True)


class Int8MacNeuron(wiring.Component):
    """One 8x8 multiplier with a product register and an accumulator. ``v``, ``first``
    and ``last`` belong to the registered product: add it (to 0 when ``first``) and, when
    ``last``, register max(0, sum) in ``y``."""

    def __init__(self, n: int):
        self.n = n
        super().__init__({"x": In(8), "w": In(8), "v": In(1), "first": In(1), "last": In(1),
                          "y": Out(acc_bits(n))})

    def elaborate(self, platform):
        mod = Module()
        a = acc_bits(self.n)
        p = Signal(signed(16))
        acc = Signal(signed(a))
        s = Signal(signed(a))
        mod.d.sync += p.eq(self.x.as_signed() * self.w.as_signed())
        mod.d.comb += s.eq(Mux(self.first, 0, acc) + p)
        with mod.If(self.v):
            mod.d.sync += acc.eq(s)
            with mod.If(self.last):
                mod.d.sync += self.y.eq(relu(s))
        return mod


class Int8SerialLayer(wiring.Component):
    """m :class:`Int8MacNeuron` s fed one input position per cycle: ``start`` with x_0
    and column 0 of the weights (w_q0 at byte q of ``w``), then x_i and column i in the
    n - 1 following cycles. ``done`` is high for one cycle, n + 1 cycles after the
    ``start`` cycle (two after the last column), with ``y`` valid (held until the next
    result); ``start`` may come again in the cycle after the last column, so a vector
    takes n cycles."""

    def __init__(self, n: int, m: int):
        self.n, self.m = n, m
        self.latency = n + 1
        self.cycles_per_vector = n
        super().__init__({"start": In(1), **self.operand_ports(), "busy": Out(1),
                          "done": Out(1), "y": Out(acc_bits(n) * m)})

    def operand_ports(self):
        return {"x": In(8), "w": In(8 * self.m)}

    def elaborate(self, platform):
        mod = Module()
        n, a = self.n, acc_bits(self.n)
        i = Signal(range(max(2, n)))
        run = Signal()
        go = Signal()
        v, first, last = Signal(), Signal(), Signal()
        mod.d.comb += [go.eq(self.start | run), self.busy.eq(go | v)]
        with mod.If(go):
            with mod.If(i == n - 1):
                mod.d.sync += [i.eq(0), run.eq(0)]
            with mod.Else():
                mod.d.sync += [i.eq(i + 1), run.eq(1)]
        # control of the product registered this cycle
        mod.d.sync += [v.eq(go), first.eq(go & (i == 0)), last.eq(go & (i == n - 1)),
                       self.done.eq(v & last)]
        x, ws = self.columns(i)
        for q in range(self.m):
            mod.submodules[f"n{q}"] = nr = Int8MacNeuron(n)
            mod.d.comb += [nr.x.eq(x), nr.w.eq(ws[q]), nr.v.eq(v),
                           nr.first.eq(first), nr.last.eq(last),
                           self.y[a * q:a * (q + 1)].eq(nr.y)]
        return mod

    def columns(self, i):
        """x_i and the m weights of column i, given the column counter ``i``."""
        return self.x, [self.w[8 * q:8 * (q + 1)] for q in range(self.m)]


class Int8SerialHeldLayer(Int8SerialLayer):
    """:class:`Int8SerialLayer` with the operands held on ports for the whole vector, as
    the SC layer takes them: ``x`` holds the n inputs and ``w`` the m n weights (byte
    q n + i: weight i of neuron q) from the ``start`` cycle until the last column's
    cycle, and n:1 multiplexers pick column i. Same cycles as the streaming version."""

    def operand_ports(self):
        return {"x": In(8 * self.n), "w": In(8 * self.n * self.m)}

    def columns(self, i):
        n = self.n
        return (self.x.word_select(i, 8),
                [self.w[8 * n * q:8 * n * (q + 1)].word_select(i, 8) for q in range(self.m)])
