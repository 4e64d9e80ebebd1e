"""Dense integer layer with the block-circulant stream layer's interface and schedule.

:class:`DenseStreamLayer` computes ``y = saturate(round_half_up(W x / 2^shift), out_bits)``
(:func:`hwgen.models.dense_layer.dense_fixed`) for an m x n weight matrix held in a
weight buffer as k x k blocks. It is the baseline the block-circulant layer
(:class:`hwgen.units.circulant_layer.CirculantStreamLayer`) is measured against: the same
``x`` / ``y`` streams of k-sample blocks, the same weight write port, the same
:class:`hwgen.units.block_schedule.BlockScheduler` (input banks, one weight block per
cycle, credit-checked output FIFO), hence the same ``p * q`` cycles per vector, with k^2
multipliers where the circulant layer has two FFTs and k (or 2k - 2) of them.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..lib.arith import dot_acc_bits
from ..lib.checks import reject
from .block_schedule import BlockSchedule, BlockScheduler
from .rtl_arith import round_shift, saturate


class DenseStreamLayer(wiring.Component):
    """Dense m x n layer, one k x k weight block per cycle.

    For every output block i and input block j (j fastest) one cycle reads ``W_ij`` and
    the stored input block ``x_j``; the next forms the k^2 products ``W_ij[r, c] x_j[c]``
    (registers, one multiplier each, as the circulant layer registers its complex
    products), the next adds each row's k products into its exact accumulator. After
    the q input blocks the accumulators are rounded half up, shifted by ``shift`` and
    saturated to ``out_bits`` (a register), and the output block enters the FIFO.

    Timing with ``y`` always ready and ``x`` always valid (p = m/k, q = n/k): one vector
    every :attr:`cycles_per_vector` = ``p * q`` cycles; the first ``y`` beat of a vector is
    valid :attr:`latency` = ``q + 6`` cycles after its first ``x`` beat is accepted.

    Parameters
    ----------
    k : int
        Block size: samples per stream beat, weight block k x k.
    m, n : int
        Outputs and inputs, multiples of k.
    in_bits, w_bits, out_bits : int
        Signed input, weight and output widths.
    shift : int
        Rounding right shift after the accumulation.

    Attributes
    ----------
    x : In(stream.Signature(ArrayLayout(signed(in_bits), k)))
        Input blocks, the n/k blocks of a vector in order.
    y : Out(stream.Signature(ArrayLayout(signed(out_bits), k)))
        Output blocks, ``y_i[r] = y[i * k + r]``.
    w_we : In(1)
        Write ``w_data`` to weight word ``w_addr`` at the next clock edge. Load the
        weights while no vector is in the layer.
    w_addr : In(range(p * q))
        ``i * q + j`` for block ``W_ij``.
    w_data : In(ArrayLayout(signed(w_bits), k * k))
        ``W_ij`` row by row (:func:`hwgen.models.dense_layer.pack_blocks`).
    """

    MAC_STAGES = 4   # weight/x read, product registers, accumulator, requantized register

    def __init__(self, k: int, m: int, n: int, *, in_bits: int = 8, w_bits: int = 8,
                 out_bits: int = 8, shift: int = 7):
        ints = {"k": k, "m": m, "n": n, "in_bits": in_bits, "w_bits": w_bits,
                "out_bits": out_bits, "shift": shift}
        for name, v in ints.items():
            if not isinstance(v, int) or isinstance(v, bool):
                reject(self, TypeError(f"DenseStreamLayer {name} must be an integer, "
                                       f"not {v!r}"))
        if k < 1:
            reject(self, ValueError(f"DenseStreamLayer k must be >= 1, got {k}"))
        for name, v in (("m", m), ("n", n)):
            if v < k or v % k:
                reject(self, ValueError(f"DenseStreamLayer {name} must be a positive "
                                        f"multiple of k={k}, got {v}"))
        for name in ("in_bits", "w_bits", "out_bits"):
            if not 2 <= ints[name] <= 32:
                reject(self, ValueError(f"DenseStreamLayer {name} must be within 2..32, "
                                        f"got {ints[name]}"))
        self.acc_bits = dot_acc_bits(in_bits, w_bits, n)
        if not 0 <= shift < self.acc_bits:
            reject(self, ValueError(f"DenseStreamLayer shift must be within "
                                    f"0..{self.acc_bits - 1} (acc_bits - 1), got {shift}"))
        self.k, self.m, self.n = k, m, n
        self.p, self.q = m // k, n // k
        self.in_bits, self.w_bits, self.out_bits, self.shift = in_bits, w_bits, out_bits, shift
        # blocks are stored as they arrive; a result leaves the requantization register
        self.schedule = BlockSchedule(self.p, self.q, store_delay=0,
                                      result_delay=self.MAC_STAGES)
        super().__init__({
            "x": In(stream.Signature(data.ArrayLayout(signed(in_bits), k))),
            "y": Out(stream.Signature(data.ArrayLayout(signed(out_bits), k))),
            "w_we": In(1),
            "w_addr": In(range(max(self.p * self.q, 2))),
            "w_data": In(data.ArrayLayout(signed(w_bits), k * k)),
        })

    @property
    def weight_bits(self) -> int:
        return self.m * self.n * self.w_bits

    @property
    def fifo_depth(self) -> int:
        """Output FIFO places (:attr:`BlockSchedule.fifo_depth`)."""
        return self.schedule.fifo_depth

    @property
    def latency(self) -> int:
        """Cycles from accepting a vector's first ``x`` beat to its first ``y`` beat being
        valid, with back-to-back input and an idle layer: ``q + 6`` -- the q blocks enter,
        the last pair is issued the cycle after the last block, then the four
        multiply-accumulate stages and the FIFO's two registers
        (:attr:`BlockSchedule.latency`)."""
        return self.schedule.latency

    @property
    def cycles_per_vector(self) -> float:
        """Steady-state cycles per vector: one weight block per cycle, ``p * q``
        (:attr:`BlockSchedule.cycles_per_vector`; blocks are stored as they arrive, so the
        two input banks never limit it)."""
        return self.schedule.cycles_per_vector

    def elaborate(self, platform):
        k, ob = self.k, self.out_bits
        m = Module()

        m.submodules.sched = sched = BlockScheduler(
            self.schedule, store_shape=self.x.payload.shape(),
            weight_shape=self.w_data.shape(), result_shape=self.y.payload.shape())
        m.d.comb += [sched.x_valid.eq(self.x.valid), self.x.ready.eq(sched.x_ready),
                     sched.store_data.eq(self.x.payload),
                     sched.w_we.eq(self.w_we), sched.w_addr.eq(self.w_addr),
                     sched.w_data.eq(self.w_data)]
        wiring.connect(m, wiring.flipped(self.y), sched.y)

        # stage 1: buffer words of a pair (sched.rd_*); stage 2: k*k products;
        # stage 3: accumulators (row sums); stage 4: rounded, shifted, saturated
        xw, ww = sched.rd_x, sched.rd_w
        v2, first2, last2 = Signal(), Signal(), Signal()
        m.d.sync += [v2.eq(sched.rd_valid), first2.eq(sched.rd_first),
                     last2.eq(sched.rd_last)]
        v3, v4 = Signal(), Signal()
        m.d.sync += [v3.eq(v2 & last2), v4.eq(v3)]
        result = Signal(self.y.payload.shape())
        for r in range(k):
            prods = [Signal(signed(self.in_bits + self.w_bits), name=f"prod{r}_{c}")
                     for c in range(k)]
            m.d.sync += [pr.eq(xw[c] * ww[r * k + c]) for c, pr in enumerate(prods)]
            dot = Signal(signed(self.in_bits + self.w_bits + (k - 1).bit_length()),
                         name=f"dot{r}")
            m.d.comb += dot.eq(sum(prods))
            acc = Signal(signed(self.acc_bits), name=f"acc{r}")
            with m.If(v2):
                m.d.sync += acc.eq(Mux(first2, dot, acc + dot))
            with m.If(v3):
                m.d.sync += result[r].eq(saturate(round_shift(acc, self.shift), ob))
        m.d.comb += [sched.res_valid.eq(v4), sched.res_data.eq(result)]
        return m
