"""The block schedule shared by the blocked stream layers.

An m x n layer cut into k x k blocks (p = m/k output blocks, q = n/k input blocks) reads
one weight block ``W_ij`` and one stored input block ``X_j`` per cycle, for every output
block i and input block j (j fastest), and emits one output block per i.
:class:`BlockScheduler` is everything of such a layer except its arithmetic:

* the **input banks**: two banks of q stored blocks, so a vector enters while the previous
  one is being used. A bank is taken when a vector's first block is accepted and released
  after the issue of its last (i, j) pair;
* the **weight buffer**, written through a plain write port;
* the **issue** of one (i, j) pair per cycle, as soon as ``X_j`` is stored;
* the **output FIFO** and a credit counter: an output block starts only when its result
  has a FIFO place, so the output stream may stall at any time without losing data.

The arithmetic between a pair's buffer words and the output block is the layer's own
(:class:`hwgen.units.circulant_layer.CirculantStreamLayer`,
:class:`hwgen.units.dense_stream.DenseStreamLayer`); :class:`BlockSchedule` holds the
numbers that fix the timing, so that a layer knows its latency and throughput without
elaborating anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Module, Mux, Shape, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..lib.checks import reject

FIFO_CYCLES = 2
"""Cycles from a result entering the output FIFO to it being valid at the output."""


@dataclass(frozen=True)
class BlockSchedule:
    """Shape and pipeline depths of a blocked stream layer.

    Parameters
    ----------
    p, q : int
        Output blocks and input blocks of a vector.
    store_delay : int
        Cycles from an input block's transfer to the cycle its stored form (e.g. its
        spectrum) is written into a bank: 0 when the block is stored as it arrives.
    result_delay : int
        Cycles from the issue of an output block's last (i, j) pair to its result entering
        the output FIFO.
    """

    p: int
    q: int
    store_delay: int = 0
    result_delay: int = 0

    def __post_init__(self):
        for name in ("p", "q"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"BlockSchedule {name} must be an integer >= 1, got {v!r}")
        for name in ("store_delay", "result_delay"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"BlockSchedule {name} must be an integer >= 0, got {v!r}")

    @property
    def pairs(self) -> int:
        """(i, j) pairs, weight words and issue cycles of one vector."""
        return self.p * self.q

    @property
    def fifo_depth(self) -> int:
        """Output FIFO places (and credits): enough to keep issuing every cycle while the
        results of earlier output blocks travel through the pipeline and the FIFO."""
        return -(-(self.result_delay + FIFO_CYCLES + 1) // self.q) + 1

    @property
    def latency(self) -> int:
        """Cycles from accepting a vector's first input block to its first output block
        being valid, with back-to-back input and an idle layer: the last of the q blocks
        is accepted q - 1 cycles after the first, stored ``store_delay`` cycles later and
        its last pair issued the cycle after (the issue keeps pace with the stores), then
        the result pipeline and the FIFO."""
        return self.q + self.store_delay + self.result_delay + FIFO_CYCLES

    @property
    def cycles_per_vector(self) -> float:
        """Steady-state cycles per vector with the input always valid and the output always
        ready: one pair per cycle, ``p * q``, unless the two input banks limit it. A bank
        is taken when a vector's first block is accepted and can take the next vector
        ``store_delay + 1 + p * q`` cycles later, so two vectors need at least that
        long."""
        return max(float(self.pairs), (self.pairs + self.store_delay + 1) / 2)


def track_banks(m, busy, filled, *, take, take_bank, release, store, store_bank) -> None:
    """The bookkeeping of two input banks: bank b is taken (``busy[b]``) when ``take``
    names it, emptied and freed by ``release[b]``, and counts one more stored word
    (``filled[b]``) whenever ``store`` writes to it."""
    for b in range(2):
        with m.If(take & (take_bank == b)):
            m.d.sync += busy[b].eq(1)
        with m.Elif(release[b]):
            m.d.sync += busy[b].eq(0)
        with m.If(release[b]):
            m.d.sync += filled[b].eq(0)
        with m.Elif(store & (store_bank == b)):
            m.d.sync += filled[b].eq(filled[b] + 1)


class BlockScheduler(wiring.Component):
    """Input banks, weight buffer, (i, j) issue and credit-checked output FIFO of a
    blocked stream layer (see the module documentation).

    Parameters
    ----------
    schedule : BlockSchedule
    store_shape, weight_shape, result_shape : shape-castable
        A stored input block, a weight word (one ``W_ij``), an output block.

    Attributes
    ----------
    x_valid : In(1)
        The layer's input stream offers a block.
    x_ready : Out(1)
        The block is accepted (a transfer happens when both are high). Depends on
        registers only.
    store_data : In(store_shape)
        The stored form of the block accepted ``schedule.store_delay`` cycles earlier;
        sampled in that cycle.
    w_we, w_addr, w_data : In
        Write ``w_data`` to weight word ``w_addr`` (``i * q + j``) at the next clock edge.
        Load the weights while no vector is in the layer.
    rd_valid : Out(1)
        The buffer words of an issued (i, j) pair are on ``rd_x`` and ``rd_w`` (the cycle
        after the issue).
    rd_first, rd_last : Out(1)
        That pair has ``j == 0`` / ``j == q - 1``.
    rd_x : Out(store_shape)
        ``X_j``, the stored block j of the vector being used.
    rd_w : Out(weight_shape)
        ``W_ij``.
    res_valid : In(1)
        An output block's result enters the FIFO (``result_delay`` cycles after the issue
        of its last pair for the schedule's timing; any later cycle is still correct).
    res_data : In(result_shape)
    y : Out(stream.Signature(result_shape))
        Output blocks in order.
    """

    def __init__(self, schedule: BlockSchedule, *, store_shape, weight_shape, result_shape):
        if not isinstance(schedule, BlockSchedule):
            reject(self, TypeError(f"schedule must be a BlockSchedule, not {schedule!r}"))
        self.schedule = schedule
        self.store_shape = store_shape
        self.weight_shape = weight_shape
        self.result_shape = result_shape
        super().__init__({
            "x_valid": In(1),
            "x_ready": Out(1),
            "store_data": In(store_shape),
            "w_we": In(1),
            "w_addr": In(range(max(schedule.pairs, 2))),
            "w_data": In(weight_shape),
            "rd_valid": Out(1),
            "rd_first": Out(1),
            "rd_last": Out(1),
            "rd_x": Out(store_shape),
            "rd_w": Out(weight_shape),
            "res_valid": In(1),
            "res_data": In(result_shape),
            "y": Out(stream.Signature(result_shape)),
        })

    def elaborate(self, platform):
        sch = self.schedule
        p, q = sch.p, sch.q
        m = Module()

        # ---- buffers: weight words i*q + j; input bank b holds blocks b*q .. b*q + q-1
        m.submodules.wmem = wmem = Memory(shape=self.weight_shape,
                                          depth=max(sch.pairs, 2), init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        m.d.comb += [w_wr.en.eq(self.w_we), w_wr.addr.eq(self.w_addr),
                     w_wr.data.eq(self.w_data)]
        m.submodules.xmem = xmem = Memory(shape=self.store_shape, depth=2 * q,
                                          init=[])
        x_wr, x_rd = xmem.write_port(), xmem.read_port()

        # ---- input side: blocks of a vector go to the bank after the previous vector's
        wbank = Signal()
        in_j = Signal(range(max(q, 2)))
        busy = Signal(2)          # bank taken (its first block accepted) until released
        nfill = [Signal(range(q + 1), name=f"bank{b}_filled") for b in range(2)]
        m.d.comb += self.x_ready.eq((in_j != 0) | ~busy.bit_select(wbank, 1))
        take = self.x_valid & self.x_ready
        with m.If(take):
            with m.If(in_j == q - 1):
                m.d.sync += [in_j.eq(0), wbank.eq(~wbank)]
            with m.Else():
                m.d.sync += in_j.eq(in_j + 1)
        # where each accepted block is stored, store_delay cycles later
        tag = Cat(in_j, wbank, take)
        for s in range(sch.store_delay):
            t = Signal.like(tag, name=f"store_tag{s}")
            m.d.sync += t.eq(tag)
            tag = t
        st_j, st_bank, st_en = tag[:len(in_j)], tag[len(in_j)], tag[len(in_j) + 1]
        m.d.comb += [x_wr.en.eq(st_en), x_wr.addr.eq(st_bank * q + st_j),
                     x_wr.data.eq(self.store_data)]

        # ---- issue one (i, j) per cycle: X_j stored, and a credit for a new output block
        rbank = Signal()
        mi = Signal(range(max(p, 2)))
        mj = Signal(range(max(q, 2)))
        depth = sch.fifo_depth
        credit = Signal(range(depth + 1))
        issue = Signal()
        m.d.comb += issue.eq((mj < Array(nfill)[rbank]) & ((mj != 0) | (credit < depth)))
        m.d.comb += [x_rd.addr.eq(rbank * q + mj), w_rd.addr.eq(mi * q + mj)]
        with m.If(issue):
            with m.If(mj == q - 1):
                m.d.sync += mj.eq(0)
                with m.If(mi == p - 1):
                    m.d.sync += [mi.eq(0), rbank.eq(~rbank)]
                with m.Else():
                    m.d.sync += mi.eq(mi + 1)
            with m.Else():
                m.d.sync += mj.eq(mj + 1)
        # the issue of a vector's last pair releases its bank
        release = Signal(2)
        m.d.comb += release.eq(Mux(issue & (mi == p - 1) & (mj == q - 1), 1 << rbank, 0))
        track_banks(m, busy, nfill, take=take & (in_j == 0), take_bank=wbank,
                    release=release, store=st_en, store_bank=st_bank)
        # the read ports' words belong to the pair issued one cycle earlier
        m.d.sync += [self.rd_valid.eq(issue), self.rd_first.eq(mj == 0),
                     self.rd_last.eq(mj == q - 1)]
        m.d.comb += [self.rd_x.eq(x_rd.data), self.rd_w.eq(w_rd.data)]

        # ---- output FIFO, and the credits that keep it from overflowing
        m.submodules.fifo = fifo = SyncFIFOBuffered(
            width=Shape.cast(self.result_shape).width, depth=depth)
        m.d.comb += [fifo.w_stream.valid.eq(self.res_valid),
                     fifo.w_stream.payload.eq(Value.cast(self.res_data)),
                     self.y.valid.eq(fifo.r_stream.valid),
                     self.y.payload.eq(fifo.r_stream.payload),
                     fifo.r_stream.ready.eq(self.y.ready)]
        start = issue & (mj == 0)
        done = self.y.valid & self.y.ready
        m.d.sync += credit.eq(credit + start - done)
        return m
