"""Interconnects between P sources and P sinks (:mod:`hwgen.lib.scaleout`): a pipelined
butterfly of 2x2 switches with destination-tag routing, a crossbar and a time-multiplexed
bus, all with the same ports so one can stand in for another.

Every word carries its destination. Each switch output, crossbar output and bus sink has
one register; a register takes a new word when it is empty or its word leaves in the
same cycle, so a stalled sink holds up only the words heading for it. Two words that
want one output in the same cycle are served in turn (round robin); the golden model
(:mod:`hwgen.models.interconnect`) says which traffic never meets such a collision and
so passes at one word per source per cycle.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..lib.checks import check_int, reject
from ..lib.scaleout import (INTERCONNECTS, dest_bits, interconnect_latency,
                             interconnect_problem, log2)

__all__ = ["Bus", "Butterfly", "Crossbar", "Interconnect", "PortsSignature", "interconnect"]


class PortsSignature(wiring.Signature):
    """``ports`` valid/ready streams side by side, each member one vector: ``valid``
    and ``ready`` one bit per port, ``data`` (and with ``with_dest`` the destination
    ``dest``) one element per port."""

    def __init__(self, ports: int, width: int, with_dest: bool = True):
        self.ports, self.width, self.with_dest = ports, width, with_dest
        members = {"valid": Out(ports), "ready": In(ports),
                   "data": Out(data.ArrayLayout(width, ports))}
        if with_dest:
            members["dest"] = Out(data.ArrayLayout(dest_bits(ports), ports))
        super().__init__(members)

    def __eq__(self, other):
        return (isinstance(other, PortsSignature) and (self.ports, self.width, self.with_dest)
                == (other.ports, other.width, other.with_dest))

    def __hash__(self):
        return hash((self.ports, self.width, self.with_dest))


class Interconnect(wiring.Component):
    """P sources to P sinks.

    Parameters
    ----------
    ports : int
        P (2 to 64; a power of two for the butterfly).
    width : int
        Bits of a word (1 to 4096).

    Attributes
    ----------
    i : In(PortsSignature(ports, width))
        Sources: word and destination per port.
    o : Out(PortsSignature(ports, width, with_dest=False))
        Sinks.
    latency : int
        Cycles from a word's transfer in to the first cycle it is valid at its sink,
        when nothing is in its way.
    """

    kind = ""

    def __init__(self, ports: int, width: int):
        check_int(self, "width", width, 1, 4096)
        check_int(self, "ports", ports, 2, 64)
        why = interconnect_problem(self.kind, ports)
        if why is not None:
            reject(self, ValueError(f"{type(self).__name__}: {why}"))
        self.ports, self.width = ports, width
        self.latency = interconnect_latency(self.kind, ports)
        super().__init__({"i": In(PortsSignature(ports, width)),
                          "o": Out(PortsSignature(ports, width, with_dest=False))})


class _Reg:
    """An output register: valid, word, destination, and the ready of what it feeds."""

    def __init__(self, name: str, width: int, dbits: int = 0, ready=None):
        self.valid = Signal(name=f"{name}_valid")
        self.data = Signal(width, name=f"{name}_data")
        # only the destination bits later stages still look at
        self.dest = Signal(dbits, name=f"{name}_dest") if dbits else None
        # driven by the consumer (a sink's ready, or the next stage)
        self.ready = Signal(name=f"{name}_ready") if ready is None else ready

    def can_take(self):
        return ~self.valid | self.ready


class Butterfly(Interconnect):
    """log2(P) stages of P/2 2x2 switches, a register on every switch output (one cycle
    per stage). Stage s joins positions that differ in bit b = log2(P)-1-s and sends a
    word to the output whose bit b is its destination's bit b."""

    kind = "butterfly"

    def elaborate(self, platform):
        m = Module()
        P, W = self.ports, self.width
        n = log2(P)
        # cur[x]: (valid, data, dest, ready-signal-to-drive) at position x
        cur = [(self.i.valid[x], self.i.data[x], self.i.dest[x], None) for x in range(P)]
        in_ready = [Signal(name=f"in{x}_ready") for x in range(P)]
        m.d.comb += self.i.ready.eq(Cat(*in_ready))
        readies = in_ready
        for s in range(n):
            b = n - 1 - s
            last = s == n - 1
            regs = [_Reg(f"s{s}_p{x}", W, b, self.o.ready[x] if last else None)
                    for x in range(P)]
            for j in range(P // 2):
                lo = ((j >> b) << (b + 1)) | (j & ((1 << b) - 1))
                hi = lo | (1 << b)
                ins = [cur[lo], cur[hi]]
                in_rdy = [readies[lo], readies[hi]]
                outs = [regs[lo], regs[hi]]
                pri = [Signal(name=f"s{s}_sw{j}_pri{k}") for k in range(2)]
                req = [[Signal(name=f"s{s}_sw{j}_req{i}{k}") for k in range(2)] for i in range(2)]
                grant = [[Signal(name=f"s{s}_sw{j}_gnt{i}{k}") for k in range(2)] for i in range(2)]
                for i, (v, _, dst, _) in enumerate(ins):
                    m.d.comb += [req[i][0].eq(v & ~dst[b]), req[i][1].eq(v & dst[b])]
                for k in range(2):
                    both = req[0][k] & req[1][k]
                    m.d.comb += [grant[0][k].eq(req[0][k] & (~both | ~pri[k])),
                                 grant[1][k].eq(req[1][k] & (~both | pri[k]))]
                    out = outs[k]
                    with m.If(out.can_take()):
                        m.d.sync += [out.valid.eq(grant[0][k] | grant[1][k]),
                                     out.data.eq(Mux(grant[1][k], ins[1][1], ins[0][1]))]
                        if out.dest is not None:
                            m.d.sync += out.dest.eq(Mux(grant[1][k], ins[1][2],
                                                        ins[0][2])[:b])
                        with m.If(both):
                            m.d.sync += pri[k].eq(~pri[k])
                for i in range(2):
                    m.d.comb += in_rdy[i].eq((grant[i][0] & outs[0].can_take())
                                             | (grant[i][1] & outs[1].can_take()))
            cur = [(r.valid, r.data, r.dest, r) for r in regs]
            readies = [r.ready for r in regs]
        for x in range(P):
            v, d, _, _ = cur[x]
            m.d.comb += [self.o.valid[x].eq(v), self.o.data[x].eq(d)]
        return m


def _lowest(x, width: int):
    """One-hot of the lowest set bit of ``x`` (zero when none is set)."""
    return x & (~x + 1)[:width]


class Crossbar(Interconnect):
    """Every sink picks one requesting source per cycle (round robin from the source
    after the last one served) into its register: one cycle, every permutation at full
    rate."""

    kind = "crossbar"

    def elaborate(self, platform):
        m = Module()
        P, W = self.ports, self.width
        regs = [_Reg(f"o{o}", W, ready=self.o.ready[o]) for o in range(P)]
        grants = []
        for o in range(P):
            req = Cat(*[self.i.valid[x] & (self.i.dest[x] == o) for x in range(P)])
            above = Signal(P, name=f"o{o}_above")   # sources after the last one served
            masked = req & above
            grant = Signal(P, name=f"o{o}_grant")
            m.d.comb += grant.eq(Mux(masked.any(), _lowest(masked, P), _lowest(req, P)))
            reg = regs[o]
            word = _or_all([Mux(grant[x], self.i.data[x], 0) for x in range(P)], W)
            with m.If(reg.can_take()):
                m.d.sync += [reg.valid.eq(req.any()), reg.data.eq(word)]
                with m.If(req.any()):
                    m.d.sync += above.eq(~((grant << 1) - 1)[:P])
            m.d.comb += [self.o.valid[o].eq(reg.valid), self.o.data[o].eq(reg.data)]
            grants.append(grant)
        for x in range(P):
            m.d.comb += self.i.ready[x].eq(_or_bits([grants[o][x] & regs[o].can_take()
                                                     for o in range(P)]))
        return m


def _or_all(values, width):
    acc = Const(0, width)
    for v in values:
        acc = acc | v
    return acc


def _or_bits(bits):
    acc = Const(0, 1)
    for b in bits:
        acc = acc | b
    return acc


class Bus(Interconnect):
    """One shared word per cycle, time-multiplexed: in cycle t source t mod P may send,
    to any sink's register. Contention-free by construction: a source's slot never
    goes to another; each source gets one word every P cycles."""

    kind = "bus"

    def elaborate(self, platform):
        m = Module()
        P, W = self.ports, self.width
        regs = [_Reg(f"o{o}", W, ready=self.o.ready[o]) for o in range(P)]
        slot = Signal(range(max(P, 2)), name="slot")
        m.d.sync += slot.eq(Mux(slot == P - 1, 0, slot + 1))
        valid = Signal(name="bus_valid")
        word = Signal(W, name="bus_word")
        dest = Signal(dest_bits(P), name="bus_dest")
        with m.Switch(slot):
            for x in range(P):
                with m.Case(x):
                    m.d.comb += [valid.eq(self.i.valid[x]), word.eq(self.i.data[x]),
                                 dest.eq(self.i.dest[x])]
        can = Signal(name="bus_can")
        m.d.comb += can.eq(_or_bits([(dest == o) & regs[o].can_take() for o in range(P)]))
        for x in range(P):
            m.d.comb += self.i.ready[x].eq((slot == x) & can)
        for o in range(P):
            reg = regs[o]
            load = valid & (dest == o) & reg.can_take()
            with m.If(load):
                m.d.sync += [reg.valid.eq(1), reg.data.eq(word)]
            with m.Elif(reg.ready):
                m.d.sync += reg.valid.eq(0)
            m.d.comb += [self.o.valid[o].eq(reg.valid), self.o.data[o].eq(reg.data)]
        return m


_KINDS = {"butterfly": Butterfly, "crossbar": Crossbar, "bus": Bus}
assert tuple(_KINDS) == INTERCONNECTS


def interconnect(kind: str, ports: int, width: int) -> Interconnect:
    """The interconnect of ``kind`` (:data:`hwgen.lib.scaleout.INTERCONNECTS`)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown interconnect {kind!r} (choose {', '.join(INTERCONNECTS)})")
    return _KINDS[kind](ports, width)
