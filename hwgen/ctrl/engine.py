"""The compute engine: runs one ``COMPUTE`` (C = A.B over operands resident in the
buffers) by walking the array tiles, feeding the systolic array and writing the
accumulator buffer.

The schedule is fixed by M, K, N and the array shape alone, so the cycle count is exact
and :mod:`hwgen.models.perf` computes it without simulating, from the formulas of
:mod:`hwgen.lib.schedule` that the engine also uses. The per-dataflow schedules
are described in docs/gemm_accelerator.md.
"""
from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig, Dataflow
from ..lib.checks import check_type
from ..lib.protocol import CONV_REG_BITS, DIM_BITS, OS_PACKED, ConvReg, OsConvReg, conv_reg_count
from ..lib.schedule import (ACC_RMW_LATENCY, BUFFER_READ_LATENCY, EDGE_LATENCY,
                            OS_ISSUE_LATENCY, os_min_period, os_tail, writeback_latency,
                            ws_min_period)
from ..mem import (PairReadPortSignature, ReadPortSignature, WritePortSignature, acc_word,
                   input_word, weight_word)


def _delay(m, sig, n, name):
    """``sig`` delayed by ``n`` registers."""
    for i in range(n):
        nxt = Signal.like(sig, name=f"{name}_d{i + 1}")
        m.d.sync += nxt.eq(sig)
        sig = nxt
    return sig


class ComputeEngine(wiring.Component):
    """Sequencer for one GEMM chunk on the systolic array.

    Attributes
    ----------
    start : In
        Begin a computation with the parameters below (ignored while ``busy``).
    m, k, n : In
        GEMM dimensions.
    accumulate : In
        Add to the accumulator words instead of overwriting them.
    in_bank, w_bank, acc_bank : In
        Banks to read operands from and write results to.
    busy : Out
        A computation is running; the ``cur_*_bank`` outputs name its banks.
    in_rd, w_rd, acc_rd : Out(ReadPortSignature)
        Buffer read clients (``in_rd`` reads two consecutive words at once on an
        output-stationary design with im2col on chip: :class:`PairReadPortSignature`).
    acc_wr : Out(WritePortSignature)
        Accumulator write client.
    arr_a, arr_b, arr_w_shift, arr_sw : Out
        Systolic array inputs.
    arr_out : In
        Systolic array outputs.
    conv, conv_mode : In
        The convolution address generator's registers (:class:`hwgen.lib.protocol.ConvReg`)
        and whether this COMPUTE reads its input operand through it (im2col on chip;
        :class:`ConvAddress` on a weight-stationary design, :class:`OsConvAddress` on an
        output-stationary one); both are latched at ``start``.
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        self.cfg = cfg
        self.im2col = cfg.features.im2col
        self.pair = self.im2col and cfg.dataflow is Dataflow.OS
        self.n_regs = conv_reg_count(cfg.dataflow is Dataflow.OS)
        bufs = cfg.buffers
        self.a_shape, self.b_shape, self.acc_shape = input_word(cfg), weight_word(cfg), acc_word(cfg)
        # The array's edges: R operands at the left, C at the top (the buffer words'
        # shapes, except input-stationary, where the buffers' roles are exchanged).
        ib = cfg.precision.in_bits
        edge_a, edge_b = self.a_shape, self.b_shape
        if cfg.dataflow is Dataflow.IS:
            edge_a, edge_b = data.ArrayLayout(signed(ib), cfg.R), data.ArrayLayout(signed(ib), cfg.C)
        super().__init__({
            "start": In(1),
            "m": In(DIM_BITS), "k": In(DIM_BITS), "n": In(DIM_BITS),
            "accumulate": In(1), "in_bank": In(1), "w_bank": In(1), "acc_bank": In(1),
            "busy": Out(1),
            "cur_in_bank": Out(1), "cur_w_bank": Out(1), "cur_acc_bank": Out(1),
            "in_rd": Out((PairReadPortSignature if self.pair else ReadPortSignature)(
                bufs.input, self.a_shape)),
            "w_rd": Out(ReadPortSignature(bufs.weight, self.b_shape)),
            "acc_rd": Out(ReadPortSignature(bufs.acc, self.acc_shape)),
            "acc_wr": Out(WritePortSignature(bufs.acc, self.acc_shape)),
            "arr_a": Out(edge_a), "arr_b": Out(edge_b),
            "arr_w_shift": Out(1), "arr_sw": Out(1),
            "arr_out": In(self.acc_shape),
            **({"conv": In(data.ArrayLayout(signed(CONV_REG_BITS), self.n_regs)),
                "conv_mode": In(1)} if self.im2col else {}),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        C = cfg.C
        os = cfg.array.dataflow is Dataflow.OS
        is_ = cfg.array.dataflow is Dataflow.IS
        # The operand streamed along the array's rows (the activations, input-stationary:
        # the weights) and the one shifted into the PEs (WS: weights, IS: activations).
        strm_rd, stat_rd = (self.w_rd, self.in_rd) if is_ else (self.in_rd, self.w_rd)
        acc_aw = cfg.buffers.acc.addr_bits

        # Parameters latched at start.
        M = Signal(DIM_BITS); K = Signal(DIM_BITS); N = Signal(DIM_BITS)
        accumulate = Signal()
        self._conv_en = Signal(name="conv_en")
        if self.im2col:
            self._conv = Signal(data.ArrayLayout(signed(CONV_REG_BITS), self.n_regs),
                                name="conv_q")
            with m.If(self.start & ~self.busy):
                m.d.sync += [self._conv.eq(self.conv), self._conv_en.eq(self.conv_mode)]
        with m.If(self.start & ~self.busy):
            m.d.sync += [M.eq(self.m), K.eq(self.k), N.eq(self.n),
                         accumulate.eq(self.accumulate),
                         self.cur_in_bank.eq(self.in_bank), self.cur_w_bank.eq(self.w_bank),
                         self.cur_acc_bank.eq(self.acc_bank)]
        m.d.comb += [
            self.in_rd.bank.eq(self.cur_in_bank), self.w_rd.bank.eq(self.cur_w_bank),
            self.acc_rd.bank.eq(self.cur_acc_bank), self.acc_wr.bank.eq(self.cur_acc_bank),
        ]

        # Operand valid, aligned with the read data: bubbles feed zeros to the array.
        RL = BUFFER_READ_LATENCY
        a_issue = Signal(); sw_issue = Signal()
        m.d.comb += [self.arr_sw.eq(_delay(m, sw_issue, RL, "sw_issue")),
                     strm_rd.en.eq(a_issue)]
        if not self.pair:   # (the pair read's operand path is the OS schedule's)
            a_valid = _delay(m, a_issue, RL, "a_issue")
            m.d.comb += self.arr_a.eq(Mux(a_valid, strm_rd.data, 0))

        # Result descriptor: the accumulator read of the read-add-write is issued
        # RL - 1 cycles before the array's result arrives, so that the old word and the
        # (registered) result meet a cycle after it.
        wb_valid = Signal(); wb_addr = Signal(acc_aw); wb_over = Signal()

        # Writeback: read the old accumulator word, add, register the sum, write it
        # ACC_RMW_LATENCY (RL + 1) cycles after the read.
        vec_q = Signal(self.acc_shape)
        m.d.sync += vec_q.eq(self.arr_out)
        wv_q = _delay(m, wb_valid, ACC_RMW_LATENCY, "wb_valid")
        wa_q = _delay(m, wb_addr, ACC_RMW_LATENCY, "wb_addr")
        wo_q = _delay(m, wb_over, RL, "wb_over")
        m.d.comb += [self.acc_rd.addr.eq(wb_addr), self.acc_rd.en.eq(wb_valid)]
        m.d.comb += [self.acc_wr.addr.eq(wa_q), self.acc_wr.en.eq(wv_q)]
        for c in range(C):
            m.d.sync += self.acc_wr.data[c].eq(
                Mux(wo_q, 0, self.acc_rd.data[c]) + vec_q[c])

        # Weights: with their own valid (output-stationary) or through the shift chain.
        if os:
            b_issue = Signal()
            b_valid = _delay(m, b_issue, RL, "b_issue")
            m.d.comb += [self.arr_b.eq(Mux(b_valid, self.w_rd.data, 0)),
                         self.arr_w_shift.eq(0), self.w_rd.en.eq(b_issue)]
            self._os_schedule(m, M, K, N, accumulate, a_issue, b_issue, sw_issue,
                              wb_valid, wb_addr, wb_over)
        else:
            w_issue = Signal()
            shift_q = _delay(m, w_issue, RL, "w_issue")
            self._ws_schedule(m, M, K, N, accumulate, a_issue, sw_issue, w_issue,
                              wb_valid, wb_addr, wb_over)
            m.d.comb += [self.arr_b.eq(stat_rd.data), self.arr_w_shift.eq(shift_q),
                         stat_rd.en.eq(w_issue)]
        return m

    # ---------------------------------------------------------------------------------
    def _ws_schedule(self, m, M, K, N, accumulate, a_issue, sw_issue, w_issue,
                     wb_valid, wb_addr, wb_over):
        """The weight-stationary schedule, and the input-stationary one: the same with
        A and B exchanged (C^T = B^T . A^T). Below, in weight-stationary terms, ``M``
        counts the streamed vectors of a tile, ``N`` is tiled along the columns, the
        input buffer streams and the weight buffer holds the stationary tiles;
        input-stationary, N's columns of B stream from the weight buffer, M is tiled
        along the columns and A^T's tiles come from the input buffer."""
        cfg = self.cfg
        R, C = cfg.R, cfg.C
        is_ = cfg.dataflow is Dataflow.IS
        G = R + C - 2            # first cycle of a tile at which the next weights may shift
        # array latency (SystolicArray.latency): edge register, skew, PE registers
        L = EDGE_LATENCY + R + C - 1 + cfg.pe_stages
        in_aw, w_aw, acc_aw = (cfg.buffers.input.addr_bits, cfg.buffers.weight.addr_bits,
                               cfg.buffers.acc.addr_bits)
        strm_rd, stat_rd = self.in_rd, self.w_rd
        if is_:
            M, N = N, M
            in_aw, w_aw = w_aw, in_aw
            strm_rd, stat_rd = self.w_rd, self.in_rd

        k_base = Signal(DIM_BITS + 1)
        n_base = Signal(DIM_BITS + 1, name="m_base" if is_ else "n_base")
        in_base = Signal(in_aw + 1, name="w_base" if is_ else "in_base")
        w_base = Signal(w_aw + 1, name="in_base" if is_ else "w_base")
        acc_base = Signal(acc_aw + 1)
        first_k = Signal()
        t = Signal(DIM_BITS + 1); j = Signal(range(R + 1))
        # The tile period less one, registered: M is latched at start, and the first
        # comparison with it is in STREAM, after at least one PRELOAD cycle.
        period_m1 = Signal(DIM_BITS + 1)
        pmin = ws_min_period(R, C)
        m.d.sync += period_m1.eq(Mux(M > pmin, M, pmin) - 1)
        last_k = Signal(); last_n = Signal(name="last_m" if is_ else "last_n")
        # Registered a cycle after k_base and n_base change (at a tile's start, and tiles
        # are at least 3 cycles long) where the first use, at t >= G, is later than that.
        dom = m.d.sync if G >= 1 else m.d.comb
        dom += [last_k.eq(k_base + R >= K), last_n.eq(n_base + C >= N)]
        tail = R + C - 1 + writeback_latency(cfg.pe_stages)   # cycles after the last period
        drain = Signal(range(tail + 1))
        conv_en = self._conv_en
        gen = ConvAddress(self._conv) if self.im2col else None
        if gen is not None:
            gen.prepare(m)

        # Descriptor pipeline: issue cycle -> the writeback's read, RL - 1 cycles before
        # the array's output (RL read + L array - (RL - 1)).
        meta_v = Signal(); meta_a = Signal(acc_aw); meta_o = Signal()
        v, a, o = meta_v, meta_a, meta_o
        for i in range(1 + L):
            nv, na, no = Signal(name=f"mv{i}"), Signal(acc_aw, name=f"ma{i}"), Signal(name=f"mo{i}")
            m.d.sync += [nv.eq(v), na.eq(a), no.eq(o)]
            v, a, o = nv, na, no
        m.d.comb += [wb_valid.eq(v), wb_addr.eq(a), wb_over.eq(o)]

        with m.FSM(name="ws_fsm"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [k_base.eq(0), n_base.eq(0), in_base.eq(0), w_base.eq(0),
                                 acc_base.eq(0), first_k.eq(1), j.eq(0), t.eq(0)]
                    if gen is not None:
                        gen.reset(m, self.conv)
                    m.next = "PRELOAD"
            with m.State("PRELOAD"):
                m.d.comb += self.busy.eq(1)
                m.d.comb += [w_issue.eq(1), stat_rd.addr.eq(w_base + (R - 1) - j)]
                m.d.sync += j.eq(j + 1)
                with m.If(j == R - 1):
                    m.d.sync += w_base.eq(w_base + R)
                    m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += self.busy.eq(1)
                with m.If(t < M):
                    m.d.comb += [sw_issue.eq(t == 0), meta_v.eq(1), meta_a.eq(acc_base + t),
                                 meta_o.eq(first_k & ~accumulate)]
                    if gen is None:
                        m.d.comb += [a_issue.eq(1), strm_rd.addr.eq(in_base + t)]
                    else:
                        m.d.comb += [a_issue.eq(~conv_en | gen.inside),
                                     self.in_rd.addr.eq(Mux(conv_en, gen.addr, in_base + t))]
                        gen.next_pixel(m)
                with m.If(~(last_k & last_n) & (t >= G) & (t < G + R)):
                    m.d.comb += [w_issue.eq(1),
                                 stat_rd.addr.eq(w_base + (R - 1) - (t - G))]
                m.d.sync += t.eq(t + 1)
                with m.If(t == period_m1):
                    m.d.sync += t.eq(0)
                    with m.If(last_k & last_n):
                        m.d.sync += drain.eq(0)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.sync += w_base.eq(w_base + R)
                        if gen is not None:
                            gen.next_tile(m, restart=last_k)
                        with m.If(last_k):
                            m.d.sync += [k_base.eq(0), in_base.eq(0), first_k.eq(1),
                                         n_base.eq(n_base + C), acc_base.eq(acc_base + M)]
                        with m.Else():
                            m.d.sync += [k_base.eq(k_base + R), in_base.eq(in_base + M),
                                         first_k.eq(0)]
            with m.State("DRAIN"):
                # The rows already issued pass the array and the writeback.
                m.d.comb += self.busy.eq(1)
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == tail - 1):
                    m.next = "IDLE"

    # ---------------------------------------------------------------------------------
    def _os_schedule(self, m, M, K, N, accumulate, a_issue, b_issue, sw_issue,
                     wb_valid, wb_addr, wb_over):
        cfg = self.cfg
        R, C = cfg.R, cfg.C
        in_aw, w_aw, acc_aw = (cfg.buffers.input.addr_bits, cfg.buffers.weight.addr_bits,
                               cfg.buffers.acc.addr_bits)

        m_base = Signal(DIM_BITS + 1); n_base = Signal(DIM_BITS + 1)
        in_base = Signal(in_aw + 1); w_base = Signal(w_aw + 1)
        cur_acc = Signal(acc_aw + 1); has_prev = Signal()
        s = Signal(DIM_BITS + 1)
        # The tile period less one and the last-tile flags are registers: the period is
        # set at start from the incoming K, the flags with the tile bases they test.
        period_m1 = Signal(DIM_BITS + 1)
        pmin = os_min_period(R)
        last_m = Signal(); last_n = Signal()

        # The issue register (OS_ISSUE_LATENCY): the schedule below decides each cycle's
        # reads combinationally (``*_c``), and the buffer ports take them a cycle later,
        # so the address generator's sums and compares end in a register.
        a_c, b_c, sw_c = Signal(name="a_issue_c"), Signal(name="b_issue_c"), Signal(name="sw_issue_c")
        in_addr_c = Signal.like(self.in_rd.addr, name="in_addr_c")
        w_addr_c = Signal.like(self.w_rd.addr, name="w_addr_c")
        m.d.sync += [a_issue.eq(a_c), b_issue.eq(b_c), sw_issue.eq(sw_c),
                     self.in_rd.addr.eq(in_addr_c), self.w_rd.addr.eq(w_addr_c)]

        # Drain descriptor: starts with the sw step, reaches the deskewed output the
        # issue register + RL (read) + drain_offset (SystolicArray.drain_offset) cycles
        # later, then one row every two cycles; the writeback's reads go RL - 1 cycles
        # ahead of the rows.
        d_start = Signal(); d_base = Signal(acc_aw)
        v, a = d_start, d_base
        for i in range(OS_ISSUE_LATENCY + 1 + EDGE_LATENCY + C + cfg.pe_stages):
            nv, na = Signal(name=f"dv{i}"), Signal(acc_aw, name=f"da{i}")
            m.d.sync += [nv.eq(v), na.eq(a)]
            v, a = nv, na
        dcnt = Signal(range(2 * R + 1)); dact = Signal(); dbase = Signal(acc_aw)
        with m.If(v):
            m.d.sync += [dact.eq(1), dcnt.eq(0), dbase.eq(a)]
        with m.Elif(dact):
            m.d.sync += dcnt.eq(dcnt + 1)
            with m.If(dcnt == 2 * R - 2):
                m.d.sync += dact.eq(0)
        emit = Signal()
        m.d.comb += [emit.eq(v | (dact & (dcnt[0] == 1))),
                     wb_valid.eq(emit), wb_over.eq(~accumulate),
                     wb_addr.eq(Mux(v, a, dbase + ((dcnt + 1) >> 1)))]
        tail = os_tail(R, C, cfg.pe_stages)   # cycles after FLUSH
        drain = Signal(range(tail + 1))
        conv_en = self._conv_en
        gen = OsConvAddress(self._conv, R) if self.im2col else None
        if gen is not None:
            # The two words read, shifted by the lane offset and masked where they lie
            # outside the row (the host stores each row padded to whole words).
            sh = Signal.like(gen.qs, name="os_shift")
            m.d.comb += sh.eq(Mux(conv_en, gen.qs, 0))
            RL = BUFFER_READ_LATENCY
            sh_q, v0_q, v1_q = (
                _delay(m, sig, OS_ISSUE_LATENCY + RL, f"os_{n}") for sig, n in
                ((sh, "shift"), (gen.v0, "v0"), (gen.v1, "v1")))
            cv_q, av_q = (_delay(m, sig, RL, f"os_{n}")
                          for sig, n in ((conv_en, "conv"), (a_issue, "a")))
            ib = cfg.precision.in_bits
            w0 = Mux(v0_q | ~cv_q, self.in_rd.data.as_value(), 0)
            w1 = Mux(v1_q & cv_q, self.in_rd.data_next.as_value(), 0)
            shifted = (Cat(w0, w1) >> (sh_q * ib))[:R * ib]
            m.d.comb += self.arr_a.eq(Mux(av_q, shifted, 0))

        with m.FSM(name="os_fsm"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [m_base.eq(0), n_base.eq(0), in_base.eq(0), w_base.eq(0),
                                 cur_acc.eq(0), has_prev.eq(0), s.eq(0),
                                 period_m1.eq(Mux(self.k > pmin, self.k, pmin) - 1),
                                 last_m.eq(self.m <= R), last_n.eq(self.n <= C)]
                    if gen is not None:
                        gen.reset(m, self.conv)
                    m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += self.busy.eq(1)
                with m.If(s < K):
                    m.d.comb += [b_c.eq(1), w_addr_c.eq(w_base + s)]
                    if gen is None:
                        m.d.comb += [a_c.eq(1), in_addr_c.eq(in_base + s)]
                    else:
                        m.d.comb += [a_c.eq(~conv_en | gen.inside),
                                     in_addr_c.eq(Mux(conv_en, gen.addr, in_base + s))]
                        gen.next_k(m)
                m.d.comb += sw_c.eq(s == 0)
                with m.If((s == 0) & has_prev):
                    m.d.comb += [d_start.eq(1), d_base.eq(cur_acc - R)]
                m.d.sync += s.eq(s + 1)
                with m.If(s == period_m1):
                    m.d.sync += [s.eq(0), cur_acc.eq(cur_acc + R), has_prev.eq(1)]
                    if gen is not None:
                        gen.next_tile(m, restart=last_m)
                    with m.If(last_m & last_n):
                        m.next = "FLUSH"
                    with m.Elif(last_m):
                        m.d.sync += [m_base.eq(0), in_base.eq(0), last_m.eq(M <= R),
                                     n_base.eq(n_base + C), w_base.eq(w_base + K),
                                     last_n.eq(n_base + 2 * C >= N)]
                    with m.Else():
                        m.d.sync += [m_base.eq(m_base + R), in_base.eq(in_base + K),
                                     last_m.eq(m_base + 2 * R >= M)]
            with m.State("FLUSH"):
                # A zero step carrying sw pushes the last tile into the drain chain.
                m.d.comb += [self.busy.eq(1), sw_c.eq(1),
                             d_start.eq(1), d_base.eq(cur_acc - R)]
                m.d.sync += drain.eq(0)
                m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == tail - 1):
                    m.next = "IDLE"


class ConvAddress:
    """The im2col address generator of the weight-stationary engine (not a component of
    its own: it steps with the engine's schedule).

    For output pixel (oy, ox) of the chunk and k tile (ky, kx, ct) -- k runs over kernel
    rows, kernel columns and channel tiles of R, channels fastest -- the input word is the
    one holding channel tile ``ct`` of input pixel ``iy = ROW0 + oy*SY + ky*DY``,
    ``ix = COL0 + ox*SX + kx*DX`` of the rows the buffer holds, at address
    ``(iy*W_IN + ix)*CT + ct``; outside ``0 <= iy < ROWS_IN, 0 <= ix < W_IN`` (padding)
    the word is zero. Every product with a run-time register is precomputed by the host
    (``PX_STEP``, ``ROW_JUMP``, ``KX_STEP``, ``KY_STEP``, ``BASE0``), so the generator
    only adds and compares.
    """

    W = CONV_REG_BITS + 2   # address arithmetic with headroom for the sums

    def __init__(self, regs):
        self.r = regs
        w = self.W
        self.ct = Signal(CONV_REG_BITS, name="cg_ct")
        self.kx = Signal(CONV_REG_BITS, name="cg_kx")
        self.off = Signal(signed(w), name="cg_off")      # address offset of the k tile
        self.cx = Signal(signed(w), name="cg_cx")        # kx * DX
        self.ry = Signal(signed(w), name="cg_ry")        # ky * DY
        self.addr = Signal(signed(w), name="cg_addr")    # of the current pixel
        self.ix = Signal(signed(w), name="cg_ix")
        self.iy = Signal(signed(w), name="cg_iy")
        self.ox = Signal(CONV_REG_BITS, name="cg_ox")
        self.inside = Signal(name="cg_inside")

    def reg(self, name):
        return self.r[getattr(ConvReg, name)]

    def reset(self, m, regs):
        """At start: the first k tile, the first pixel (from the registers being
        latched this cycle)."""
        R = lambda name: regs[getattr(ConvReg, name)]  # noqa: E731
        m.d.sync += [self.ct.eq(0), self.kx.eq(0), self.off.eq(0), self.cx.eq(0),
                     self.ry.eq(0), self.addr.eq(R("BASE0")), self.ix.eq(R("COL0")),
                     self.iy.eq(R("ROW0")), self.ox.eq(0)]

    def next_pixel(self, m):
        r = self.reg
        m.d.comb += self.inside.eq((self.iy >= 0) & (self.iy < r("ROWS_IN"))
                                   & (self.ix >= 0) & (self.ix < r("W_IN")))
        with m.If(self.ox == self._wout_m1):
            m.d.sync += [self.ox.eq(0), self.addr.eq(self.addr + r("ROW_JUMP")),
                         self.ix.eq(r("COL0") + self.cx), self.iy.eq(self.iy + r("SY"))]
        with m.Else():
            m.d.sync += [self.ox.eq(self.ox + 1), self.addr.eq(self.addr + r("PX_STEP")),
                         self.ix.eq(self.ix + r("SX"))]

    def prepare(self, m):
        """The registers :meth:`next_tile` steps from, computed every cycle; call once,
        outside any condition."""
        r = self.reg
        w = self.W

        def q(name, value, shape=signed(w)):
            reg = Signal(shape, name=f"cg_{name}_q")
            m.d.sync += reg.eq(value)
            return reg

        # The registers' limits less one: constants of the COMPUTE (latched at start, a
        # cycle before the first pixel step and two before the k-tile flags are read).
        self._wout_m1 = q("wout_m1", r("W_OUT") - 1, CONV_REG_BITS)
        ct_m1 = q("ct_m1", r("CT") - 1, CONV_REG_BITS)
        kw_m1 = q("kw_m1", r("KW") - 1, CONV_REG_BITS)
        ct_last = q("ct_last", self.ct == ct_m1, 1)
        kx_last = q("kx_last", self.kx == kw_m1, 1)
        ct_inc = q("ct_inc", self.ct + 1, CONV_REG_BITS)
        kx_inc = q("kx_inc", self.kx + 1, CONV_REG_BITS)
        # successor A: next channel tile; B: next kernel column; C: next kernel row
        off_a, off_b, off_c = (q("off_a", self.off + 1), q("off_b", self.off + r("KX_STEP")),
                               q("off_c", self.off + r("KY_STEP")))
        cx_b, ry_c = q("cx_b", self.cx + r("DX")), q("ry_c", self.ry + r("DY"))
        # Sums of three terms take two registered additions, from the successors above.
        addr_a = q("addr_a", r("BASE0") + off_a)
        addr_b = q("addr_b", r("BASE0") + off_b)
        addr_c = q("addr_c", r("BASE0") + off_c)
        ix_a = q("ix_a", r("COL0") + self.cx)
        ix_b = q("ix_b", r("COL0") + cx_b)
        iy_a = q("iy_a", r("ROW0") + self.ry)
        iy_c = q("iy_c", r("ROW0") + ry_c)
        self._next = (ct_last, kx_last, ct_inc, kx_inc, off_a, off_b, off_c, cx_b, ry_c,
                      addr_a, addr_b, addr_c, ix_a, ix_b, iy_a, iy_c)

    def next_tile(self, m, restart):
        """At the end of a k tile: the next one (channel tile, then kernel column, then
        kernel row), or the first again when ``restart`` (the next column tile);
        the pixel back to the chunk's first.

        The three successors are computed every cycle into registers, sums of three
        terms in two steps (the k-tile state changes only here and in :meth:`reset`, and
        tiles are at least :func:`~hwgen.lib.schedule.ws_min_period` >= 3 cycles apart,
        so they are current when used): the step itself is a multiplexer, not a
        compare-add-add chain."""
        ct_last, kx_last, ct_inc, kx_inc, off_a, off_b, off_c, cx_b, ry_c, addr_a, addr_b, \
            addr_c, ix_a, ix_b, iy_a, iy_c = self._next
        r = self.reg
        m.d.sync += self.ox.eq(0)
        with m.If(restart):
            m.d.sync += [self.ct.eq(0), self.kx.eq(0), self.off.eq(0), self.cx.eq(0),
                         self.ry.eq(0), self.addr.eq(r("BASE0")), self.ix.eq(r("COL0")),
                         self.iy.eq(r("ROW0"))]
        with m.Elif(~ct_last):
            m.d.sync += [self.ct.eq(ct_inc), self.off.eq(off_a), self.addr.eq(addr_a),
                         self.ix.eq(ix_a), self.iy.eq(iy_a)]
        with m.Elif(~kx_last):
            m.d.sync += [self.ct.eq(0), self.kx.eq(kx_inc), self.off.eq(off_b),
                         self.cx.eq(cx_b), self.addr.eq(addr_b), self.ix.eq(ix_b),
                         self.iy.eq(iy_a)]
        with m.Else():
            m.d.sync += [self.ct.eq(0), self.kx.eq(0), self.off.eq(off_c), self.cx.eq(0),
                         self.ry.eq(ry_c), self.addr.eq(addr_c), self.ix.eq(r("COL0")),
                         self.iy.eq(iy_c)]


class OsConvAddress:
    """The im2col address generator of the output-stationary engine.

    An array tile is R consecutive positions of the output (``xt`` counts the tiles of
    an output row of ``XT`` tiles, ``tb`` is the tile's word address); the engine steps
    k = (c, ky, kx), kernel columns fastest. The host stores the band's input channel by
    channel, each channel as planes of ``SY`` row phases by ``SX`` column phases (input
    pixel (iy, ix) = (SY*qy + py, SX*qx + px) at position (qy, qx) of plane (py, px)),
    in words of R positions. Two layouts use the same steps (:mod:`hwgen.compiler.conv`):

    * row-tiled: a tile is R pixels of one output row; a plane row is ``WQW`` words
      (``SY`` = 1 plane row per input row), padding is not stored: a word outside
      ``0 .. WQW-1`` reads as zeros (left and right), and so does the whole operand
      when the input row is outside the ``ROWS_IN`` rows of the band (above and below);
    * flat: the padding is stored, each plane's rows back to back with a pitch of
      ``Wq`` positions, and output pixel (oy, ox) is position ``oy*Wq + ox`` of the band,
      so a tile spans output rows (positions with ox >= W_out are computed and
      dropped); the masks are off (``WQW`` = 4095, ``ROWS_IN`` past any row).

    At kernel tap (ky, kx) the R positions a tile needs are R consecutive positions of
    one plane, at an offset ``o`` from the tile's: with ``kx*DX = SX*qxo + px`` and
    ``ky*DY = SY*qyo + py``, ``o = qyo*Wq + qxo`` (row-tiled: ``qyo`` whole rows of
    words, and ``o`` also holds the left padding). ``o = qw*R + qs`` straddles words
    ``qw`` and ``qw + 1`` past the tile's: both are read at once (the even/odd halves
    of the buffer), joined and shifted down by qs lanes. A kernel column steps px by
    ``DXP`` (wrapping at ``SX`` into one more position) and ``o`` by ``DX div SX``; a
    kernel row steps py by ``DYP`` (wrapping at ``SYP`` into one more plane row) and
    ``o`` by ``YS0`` / ``YS1`` lanes plus whole words: each step is an addition of
    precomputed registers (:class:`hwgen.lib.protocol.OsConvReg`) with a carry from the
    lane offset into the word address; the generator does not multiply.
    """

    W = CONV_REG_BITS + 2

    def __init__(self, regs, R: int):
        self.r, self.R = regs, R
        w = self.W
        # the tile
        self.tb = Signal(signed(w), name="og_tb")       # (ROW0 + oy*SY)*ROW_STRIDE + xt
        self.xt = Signal(12, name="og_xt")
        self.iy0 = Signal(signed(w), name="og_iy0")     # ROW0 + oy*SY
        # the k step
        self.kx = Signal(12, name="og_kx")
        self.ky = Signal(12, name="og_ky")
        self.cba = Signal(signed(w), name="og_cba")     # A0 + c*CH_STRIDE
        self.rowk = Signal(signed(w), name="og_rowk")   # word address of kernel row ky
        self.kb = Signal(signed(w), name="og_kb")       # rowk + px plane + x words
        self.ry = Signal(signed(w), name="og_ry")       # ky*DY
        self.p = Signal(8, name="og_p")
        self.qs = Signal(range(2 * R), name="og_qs")
        self.qw = Signal(signed(14), name="og_qw")
        self.py = Signal(8, name="og_py")               # row phase of kernel row ky
        self.rqs = Signal(range(2 * R), name="og_rqs")  # lane offset of kernel row ky
        # constants of the COMPUTE, registered at start: the loop limits less one, the
        # four k-step increments of kb (DXP_W - wrap*ROW_STRIDE + carry) and the four
        # kernel-row increments of rowk (DY_STRIDE + wrap*YWRAP + carry)
        self.kw_m1 = Signal(12, name="og_kw_m1")
        self.kh_m1 = Signal(12, name="og_kh_m1")
        self.xt_m1 = Signal(12, name="og_xt_m1")
        self.dkb = [[Signal(signed(w), name=f"og_dkb{wr}{c}") for c in (0, 1)] for wr in (0, 1)]
        self.dky = [[Signal(signed(w), name=f"og_dky{wr}{c}") for c in (0, 1)] for wr in (0, 1)]
        # outputs
        self.addr = Signal(signed(w), name="og_addr")
        self.inside = Signal(name="og_inside")
        self.v0 = Signal(name="og_v0")
        self.v1 = Signal(name="og_v1")

    def field(self, reg, name, regs=None):
        regs = self.r if regs is None else regs
        for n, lsb, width, signed_ in OS_PACKED[reg]:
            if n == name:
                v = Value.cast(regs[reg])[lsb:lsb + width]
                return v.as_signed() if signed_ else v
        raise KeyError(name)

    def reg(self, name):
        return self.r[getattr(OsConvReg, name)]

    def _x_reset(self, m, regs, qs):
        f = lambda name: self.field(OsConvReg.X0, name, regs)  # noqa: E731
        m.d.sync += [self.kx.eq(0), self.p.eq(f("P0")), self.qs.eq(qs),
                     self.qw.eq(f("QW0"))]

    def _k_reset(self, m, regs):
        qs0 = self.field(OsConvReg.X0, "QS0", regs)
        self._x_reset(m, regs, qs0)
        a0 = regs[OsConvReg.A0]
        m.d.sync += [self.ky.eq(0), self.cba.eq(a0), self.rowk.eq(a0), self.ry.eq(0),
                     self.kb.eq(a0), self.py.eq(0), self.rqs.eq(qs0)]

    def reset(self, m, regs):
        """At start: the first tile and k step, and the constants (from the registers
        latched this cycle)."""
        self._k_reset(m, regs)
        m.d.sync += [self.tb.eq(regs[OsConvReg.TB0]), self.xt.eq(0),
                     self.iy0.eq(regs[OsConvReg.ROW0])]
        f = lambda reg, name: self.field(reg, name, regs)  # noqa: E731
        m.d.sync += [self.kw_m1.eq(f(OsConvReg.KW_KH, "KW") - 1),
                     self.kh_m1.eq(f(OsConvReg.KW_KH, "KH") - 1),
                     self.xt_m1.eq(f(OsConvReg.WQW_XT, "XT") - 1)]
        dxp_w, rs = regs[OsConvReg.DXP_W], regs[OsConvReg.ROW_STRIDE]
        dys, ywrap = regs[OsConvReg.DY_STRIDE], regs[OsConvReg.YWRAP]
        for wr in (0, 1):
            for c in (0, 1):
                m.d.sync += [self.dkb[wr][c].eq(dxp_w - (rs if wr else 0) + c),
                             self.dky[wr][c].eq(dys + (ywrap if wr else 0) + c)]

    @staticmethod
    def _step(m, name, phase, dphase, nphase, lanes, dlanes, R, base, incs, W):
        """One phase-and-offset step: the phase plus ``dphase``, wrapping at ``nphase``;
        the lane offset plus ``dlanes`` (a value of the wrap), carrying at R; the base
        plus the increment of (wrap, carry), the four added in parallel. Returns the
        next phase, lane offset and base, and the wrap."""
        p1 = Signal(9, name=f"og_{name}p1")
        q1 = Signal(range(4 * R + 512), name=f"og_{name}q1")
        wrap = Signal(name=f"og_{name}wrap")
        carry = Signal(name=f"og_{name}carry")
        sums = [[Signal(signed(W), name=f"og_{name}b{wr}{c}") for c in (0, 1)] for wr in (0, 1)]
        m.d.comb += [p1.eq(phase + dphase), wrap.eq(p1 >= nphase),
                     q1.eq(lanes + dlanes(wrap)), carry.eq(q1 >= R)]
        m.d.comb += [sums[wr][c].eq(base + incs[wr][c]) for wr in (0, 1) for c in (0, 1)]
        return (Mux(wrap, p1 - nphase, p1), Mux(carry, q1 - R, q1),
                Mux(wrap, Mux(carry, sums[1][1], sums[1][0]),
                    Mux(carry, sums[0][1], sums[0][0])), carry)

    def next_k(self, m):
        """This cycle's address and masks; then the next k step.

        Each step is one addition after a short select: the four possible increments of
        kb (next kernel column) and of rowk (next kernel row) are constants registered
        at start and added in parallel, the next channel's base is one addition, and
        the limits are registered less one."""
        r, R = self.reg, self.R
        wqw = self.field(OsConvReg.WQW_XT, "WQW")
        iy = Signal(signed(self.W), name="og_iy")
        wq = Signal(signed(16), name="og_wq")
        m.d.comb += [iy.eq(self.iy0 + self.ry), wq.eq(self.xt + self.qw),
                     self.addr.eq(self.tb + self.kb),
                     self.inside.eq((iy >= 0) & (iy < r("ROWS_IN"))),
                     self.v0.eq((wq >= 0) & (wq < wqw)),
                     self.v1.eq((wq + 1 >= 0) & (wq + 1 < wqw))]
        with m.If(self.kx == self.kw_m1):
            with m.If(self.ky == self.kh_m1):
                qs0 = self.field(OsConvReg.X0, "QS0")
                self._x_reset(m, self.r, qs0)
                nxt = Signal(signed(self.W), name="og_cba_next")
                m.d.comb += nxt.eq(self.cba + r("CH_STRIDE"))
                m.d.sync += [self.ky.eq(0), self.ry.eq(0), self.cba.eq(nxt),
                             self.rowk.eq(nxt), self.kb.eq(nxt), self.py.eq(0),
                             self.rqs.eq(qs0)]
            with m.Else():
                ys0, ys1 = self.field(OsConvReg.YS, "YS0"), self.field(OsConvReg.YS, "YS1")
                py, rqs, rowk, _ = self._step(
                    m, "y", self.py, self.field(OsConvReg.YSTEP, "DYP"),
                    self.field(OsConvReg.YSTEP, "SYP"), self.rqs,
                    lambda wrap: Mux(wrap, ys1, ys0), R, self.rowk, self.dky, self.W)
                nxt = Signal(signed(self.W), name="og_rowk_next")
                rqs_n = Signal.like(self.rqs, name="og_rqs_next")
                m.d.comb += [nxt.eq(rowk), rqs_n.eq(rqs)]
                self._x_reset(m, self.r, rqs_n)
                m.d.sync += [self.ky.eq(self.ky + 1), self.ry.eq(self.ry + r("DY")),
                             self.rowk.eq(nxt), self.kb.eq(nxt), self.py.eq(py),
                             self.rqs.eq(rqs_n)]
        with m.Else():
            dxs = self.field(OsConvReg.XSTEP, "DXS")
            p, qs, kb, carry = self._step(
                m, "x", self.p, self.field(OsConvReg.XSTEP, "DXP"),
                self.field(OsConvReg.XSTEP, "SX"), self.qs, lambda wrap: dxs + wrap, R,
                self.kb, self.dkb, self.W)
            m.d.sync += [self.kx.eq(self.kx + 1), self.p.eq(p), self.kb.eq(kb),
                         self.qs.eq(qs), self.qw.eq(self.qw + r("DXW") + carry)]

    def next_tile(self, m, restart):
        """At the end of a tile's K steps: the next tile of the output row, the next
        output row, or the first tile again when ``restart`` (the next column tile); the
        k step back to the first."""
        r = self.reg
        self._k_reset(m, self.r)
        with m.If(restart):
            m.d.sync += [self.tb.eq(r("TB0")), self.xt.eq(0), self.iy0.eq(r("ROW0"))]
        with m.Elif(self.xt == self.xt_m1):
            m.d.sync += [self.tb.eq(self.tb + r("OY_JUMP")), self.xt.eq(0),
                         self.iy0.eq(self.iy0 + r("SY"))]
        with m.Else():
            m.d.sync += [self.tb.eq(self.tb + 1), self.xt.eq(self.xt + 1)]
