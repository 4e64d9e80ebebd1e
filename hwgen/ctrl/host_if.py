"""Host interface: decodes the command stream, fills the operand buffers from ``din``,
starts the compute engine, and streams (optionally requantized) results on ``dout``.

The protocol is specified in docs/host_protocol.md; the command fields are those of
:mod:`hwgen.lib.protocol`, which :mod:`hwgen.compiler.program` encodes with.
"""
from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig, Dataflow
from ..config.schema import requant_product_bits
from ..lib.arith import ceil_div
from ..lib.checks import check_int, check_type
from ..lib.protocol import (ADDR_BITS, BIAS_BITS_MAX, CMD_BITS, CONV_REG_BITS, conv_reg_count,
                            COUNT_BITS,
                            DIM_BITS, F_ACC_BANK, F_CLAMP, F_CLAMP_HI, F_CONV, F_CONV_REG,
                            F_CONV_VALUE, F_ONE_LANE, F_POOL_KH, F_POOL_KW, F_PRELOAD,
                            F_QLANE, OP_CONV_SET, OP_POOL,
                            OP_LOAD_ACC, OP_SET_CLAMP, OP_SET_PRELOAD, OP_SYNC, PRELOAD_BITS,
                            F_ACCUMULATE, F_ADDR, F_BANK, F_BIAS, F_COUNT, F_IN_BANK, F_K, F_LANE,
                            F_M, F_MULT, F_N, F_RAW, F_RELU, F_SHIFT, F_W_BANK, OP_BITS,
                            OP_COMPUTE, OP_LOAD_IN, OP_LOAD_W, OP_NOP, OP_READ, OP_SET_BIAS,
                            OP_SET_QUANT, SHIFT_BITS, field_slice)
from ..lib.schedule import ACC_LOAD_LATENCY, BUFFER_READ_LATENCY, read_fifo_depth
from ..mem import ReadPortSignature, WritePortSignature, acc_word, input_word, weight_word


class Requantizer(wiring.Component):
    """One lane of the output path: ``acc + bias`` -> ``* mult`` -> round half to even
    by ``2^shift`` and saturate to ``out_bits`` -> clamp to ``[lo, hi]`` (activations
    such as ReLU6) and ReLU. In raw mode the accumulator passes unchanged.

    ``out`` is valid ``stages`` cycles after ``acc``. The registers, by ``stages``:

    ======  =====================================================================
    3       ``acc + bias`` | product | shift, round and saturate; clamp and ReLU
            after the last register
    4       ... | clamp and ReLU registered
    5       ... | shift and the rounding decision registered before the increment
            and the saturation
    6       ... | the product as two registered partial products (of the low and
            the high half of ``acc + bias``), added in the next stage
    ======  =====================================================================

    Rounding works on the bits below the shift (the one just below it and whether any
    bit below that is set), so it needs no wide comparison; saturation checks the bits
    above ``out_bits`` and increments only ``out_bits`` wide.

    Parameters
    ----------
    acc_bits, out_bits, mult_bits : int
        Accumulator, output and (unsigned) multiplier widths.
    stages : int
        Register stages, :data:`STAGES_MIN` to :data:`STAGES_MAX`.
    """

    STAGES_MIN, STAGES_MAX = 3, 6

    def __init__(self, acc_bits: int, out_bits: int, mult_bits: int, *, stages: int = 3):
        check_int(self, "acc_bits", acc_bits, 2, 128)
        check_int(self, "out_bits", out_bits, 2, acc_bits)
        check_int(self, "mult_bits", mult_bits, 1, 64)
        check_int(self, "stages", stages, self.STAGES_MIN, self.STAGES_MAX)
        self.acc_bits, self.out_bits, self.mult_bits = acc_bits, out_bits, mult_bits
        self.stages = stages
        self.product_bits = requant_product_bits(acc_bits, mult_bits)
        self.bias_bits = min(acc_bits, BIAS_BITS_MAX)
        super().__init__({
            "acc": In(signed(acc_bits)), "bias": In(signed(self.bias_bits)),
            "mult": In(unsigned(mult_bits)), "shift": In(SHIFT_BITS),
            "raw": In(1), "relu": In(1),
            "lo": In(signed(out_bits)), "hi": In(signed(out_bits)),
            "out": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        S = self.stages
        ab, ob, pw = self.acc_bits, self.out_bits, self.product_bits
        v = Signal(signed(ab + 1))
        m.d.sync += v.eq(Mux(self.raw, self.acc, self.acc + self.bias))
        p = Signal(signed(pw))
        if S >= 6:
            # Two partial products, of the low and the high half of ``acc + bias``
            # (splitting the wide operand, so each carry chain is about half as long),
            # added in the next stage. In raw mode they are the halves themselves.
            h = (ab + 1) // 2
            lo_v, hi_v = v[:h], v[h:].as_signed()
            lo_p = Signal(unsigned(h + self.mult_bits))
            hi_p = Signal(signed(ab + 1 - h + self.mult_bits + 1))
            m.d.sync += [lo_p.eq(Mux(self.raw, lo_v, lo_v * self.mult)),
                         hi_p.eq(Mux(self.raw, hi_v, hi_v * self.mult))]
            m.d.sync += p.eq(lo_p + (hi_p << h))
        else:
            m.d.sync += p.eq(Mux(self.raw, v, v * self.mult))

        # Rounding: q = p >> shift, up when the bit below the cut is set and any bit
        # under it, or q's lowest bit, is set (half to even). Raw mode shifts by 0.
        # shift <= pw - 2 is a protocol rule (max_shift), so these stay in range.
        sh = Signal(SHIFT_BITS)
        m.d.comb += sh.eq(Mux(self.raw, 0, self.shift))
        # The masks compare shift with each bit position rather than build
        # (1 << shift) - 1, whose subtraction is a carry chain as wide as the product
        # (on the iCE40 UP5K it set the clock: 24.8 MHz, 32.8 MHz without it).
        at = Cat(*(sh == i + 1 for i in range(pw)))     # the bit just below the cut
        under = Cat(*(sh > i + 1 for i in range(pw)))   # the bits under it
        q = Signal(signed(pw))
        m.d.comb += q.eq(p >> sh)
        guard = (p.as_unsigned() & at).any()
        sticky = (p.as_unsigned() & under).any()
        up = Signal()
        m.d.comb += up.eq(guard & (sticky | q[0]))
        fits = Signal()
        top = q[ob - 1:]
        m.d.comb += fits.eq((top == 0) | (top == (1 << len(top)) - 1))
        qv, qfits, qneg, qup = Signal(signed(ab)), Signal(), Signal(), Signal()
        stage = m.d.sync if S >= 5 else m.d.comb
        stage += [qv.eq(q[:ab]), qfits.eq(fits), qneg.eq(q[-1]), qup.eq(up)]

        # Saturation: out of range above out_bits, or the largest value rounded up.
        smin, smax = -(1 << (ob - 1)), (1 << (ob - 1)) - 1
        sat = Signal(signed(ob))
        low = qv[:ob].as_signed()
        with m.If(~qfits):
            m.d.comb += sat.eq(Mux(qneg, smin, smax))
        with m.Elif(qup & (low == smax)):
            m.d.comb += sat.eq(smax)
        with m.Else():
            m.d.comb += sat.eq(low + qup)
        # One register holds the saturated value or, in raw mode, the accumulator.
        r = Signal(signed(ab))
        m.d.sync += r.eq(Mux(self.raw, qv, sat))
        clamped = Signal(signed(ob))
        rs = r[:ob].as_signed()
        with m.If(rs > self.hi):
            m.d.comb += clamped.eq(self.hi)
        with m.Elif(rs < self.lo):
            m.d.comb += clamped.eq(self.lo)
        with m.Else():
            m.d.comb += clamped.eq(rs)
        out = Signal(signed(ab))
        with m.If(self.raw):
            m.d.comb += out.eq(r)
        with m.Elif(self.relu & clamped[-1]):
            m.d.comb += out.eq(0)
        with m.Else():
            m.d.comb += out.eq(clamped)
        if S >= 4:
            m.d.sync += self.out.eq(out)
        else:
            m.d.comb += self.out.eq(out)
        return m


def _conv_regs(cfg: AcceleratorConfig) -> int:
    return conv_reg_count(cfg.dataflow is Dataflow.OS)


def has_im2col(cfg: AcceleratorConfig) -> bool:
    """The design has a convolution address generator (either dataflow)."""
    return cfg.features.im2col


class HostInterface(wiring.Component):
    """Command decoder, loader and result streamer.

    Attributes
    ----------
    cmd, din : In(stream.Signature)
        Command words and operand beats from the host.
    dout : Out(stream.Signature)
        Result beats to the host.
    busy : Out
        A command is executing.
    error : Out
        Sticky: an unknown opcode was received.
    eng_* : Out / In
        Compute engine control and status.
    in_wr, w_wr : Out(WritePortSignature)
        Input and weight buffer write clients.
    acc_wr : Out(WritePortSignature)
        Accumulator write client for LOAD_ACC (residual preload; ``features.preload``).
    acc_rd : Out(ReadPortSignature)
        Accumulator read client for READ.
    conv : Out(ArrayLayout(signed(CONV_REG_BITS), n))
        The convolution address generator's registers (CONV_SET, :class:`ConvReg` or
        :class:`OsConvReg` by dataflow, n of them: :func:`conv_reg_count`;
        ``features.im2col``).
    eng_conv : Out(1)
        The COMPUTE takes its input operand through the address generator.
    pool_start, pool_kh, pool_kw : Out
        Start a POOL (``features.maxpool``; its rows, columns and banks are the
        ``eng_m``, ``eng_n``, ``eng_in_bank`` and ``eng_acc_bank`` outputs, and
        ``eng_busy`` covers the pooling unit too).
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        self.cfg = cfg
        ib, ab, beat = cfg.precision.in_bits, cfg.acc_bits, cfg.host.beat_elems
        bufs = cfg.buffers
        self.a_shape, self.b_shape, self.acc_shape = input_word(cfg), weight_word(cfg), acc_word(cfg)
        super().__init__({
            "cmd": In(stream.Signature(CMD_BITS)),
            "din": In(stream.Signature(data.ArrayLayout(signed(ib), beat))),
            "dout": Out(stream.Signature(data.ArrayLayout(signed(ab), beat))),
            "busy": Out(1), "error": Out(1),
            "eng_start": Out(1), "eng_m": Out(DIM_BITS), "eng_k": Out(DIM_BITS),
            "eng_n": Out(DIM_BITS), "eng_accumulate": Out(1),
            "eng_in_bank": Out(1), "eng_w_bank": Out(1), "eng_acc_bank": Out(1),
            "eng_busy": In(1), "eng_cur_in_bank": In(1), "eng_cur_w_bank": In(1),
            "eng_cur_acc_bank": In(1),
            "in_wr": Out(WritePortSignature(bufs.input, self.a_shape)),
            "w_wr": Out(WritePortSignature(bufs.weight, self.b_shape)),
            "acc_rd": Out(ReadPortSignature(bufs.acc, self.acc_shape)),
            **({"eng_conv": Out(1),
                "conv": Out(data.ArrayLayout(signed(CONV_REG_BITS), _conv_regs(cfg)))}
               if has_im2col(cfg) else {}),
            **({"acc_wr": Out(WritePortSignature(bufs.acc, self.acc_shape))}
               if cfg.features.preload else {}),
            **({"pool_start": Out(1), "pool_kh": Out(F_POOL_KH[1]),
                "pool_kw": Out(F_POOL_KW[1])} if cfg.features.maxpool else {}),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        R, C = cfg.R, cfg.C
        beat = cfg.host.beat_elems
        banks = cfg.buffers

        c = Signal(CMD_BITS)  # the command being executed
        f = lambda fld: c[field_slice(fld)]  # a command field, positions from lib.protocol
        op = c[0:OP_BITS]
        f4 = f(F_BANK)  # LOAD / READ bank (COMPUTE: accumulate)
        addr_f, count_f = f(F_ADDR), f(F_COUNT)

        # Quantization state: per lane (column), and the clamp bounds of every lane.
        ob = cfg.precision.out_bits
        lanes_q = C if cfg.features.lane_quant else 1
        mult = [Signal(cfg.precision.mult_bits, init=1, name=f"mult{i}") for i in range(lanes_q)]
        shift = [Signal(SHIFT_BITS, name=f"shift{i}") for i in range(lanes_q)]
        mult, shift = mult * (C // lanes_q), shift * (C // lanes_q)   # one shared register
        bias_bits = min(cfg.acc_bits, BIAS_BITS_MAX)
        bias = [Signal(signed(bias_bits), name=f"bias{i}") for i in range(C)]
        lo = Signal(signed(ob), init=-(1 << (ob - 1)))
        hi = Signal(signed(ob), init=(1 << (ob - 1)) - 1)
        preload = ([Signal(PRELOAD_BITS, name=f"preload{i}") for i in range(C)]
                   if cfg.features.preload else [])

        # Loader state.
        addr = Signal(ADDR_BITS); left = Signal(COUNT_BITS + 1); bi = Signal(range(max(2, ceil_div(max(R, C), beat) + 1)))
        lanes = max(R, C)
        # Elements of an input and a weight word (R and C, or C and R input-stationary).
        in_elems, w_elems = cfg.in_word_elems, cfg.w_word_elems
        word = Signal(data.ArrayLayout(signed(cfg.precision.in_bits), lanes))
        word_next = Signal.like(word)
        to_w = Signal()    # LOAD_W (or LOAD_ACC): words of C elements
        to_acc = Signal()  # LOAD_ACC: into the accumulator buffer, times the preload

        # Engine parameters come straight from the command word.
        m.d.comb += [
            self.eng_m.eq(f(F_M)), self.eng_k.eq(f(F_K)), self.eng_n.eq(f(F_N)),
            self.eng_accumulate.eq(f(F_ACCUMULATE)), self.eng_in_bank.eq(f(F_IN_BANK)),
            self.eng_w_bank.eq(f(F_W_BANK)), self.eng_acc_bank.eq(f(F_ACC_BANK)),
        ]
        if has_im2col(cfg):
            m.d.comb += self.eng_conv.eq(f(F_CONV))
        if cfg.features.maxpool:   # POOL: rows in F_M, columns in F_N
            m.d.comb += [self.pool_kh.eq(f(F_POOL_KH)), self.pool_kw.eq(f(F_POOL_KW))]

        # ---- read path: issue -> buffer read -> requantize -> FIFO -> serializer ------
        depth = read_fifo_depth(cfg.requant_stages)
        fifo = SyncFIFOBuffered(width=C * cfg.acc_bits, depth=depth)
        m.submodules.read_fifo = fifo
        raw = Signal(); relu = Signal()
        rq = []
        for i in range(C):
            q = Requantizer(cfg.acc_bits, cfg.precision.out_bits, cfg.precision.mult_bits,
                            stages=cfg.requant_stages)
            m.submodules[f"requant{i}"] = q
            m.d.comb += [q.acc.eq(self.acc_rd.data[i]), q.bias.eq(bias[i]), q.mult.eq(mult[i]),
                         q.shift.eq(shift[i]), q.raw.eq(raw), q.relu.eq(relu),
                         q.lo.eq(lo), q.hi.eq(hi)]
            rq.append(q)
        # A word issued in cycle X is written into the FIFO in cycle X + latency.
        issue = Signal()
        valid = issue
        for i in range(BUFFER_READ_LATENCY + cfg.requant_stages - 1):
            nxt = Signal(name=f"rv{i + 1}")
            m.d.sync += nxt.eq(valid)
            valid = nxt
        m.d.sync += fifo.w_en.eq(valid)   # the last stage is the FIFO's write enable
        m.d.comb += fifo.w_data.eq(Cat(*[q.out for q in rq]))
        # Credits: FIFO words neither in flight nor queued. A word takes one when it is
        # issued and gives it back when it leaves the FIFO, so the FIFO never overflows
        # and the issue decision reads one register.
        credits = Signal(range(depth + 1), init=depth)
        popped = Signal()
        m.d.sync += credits.eq(credits - issue + popped)
        r_left = Signal(COUNT_BITS + 1); r_addr = Signal(ADDR_BITS)
        m.d.comb += [self.acc_rd.addr.eq(r_addr), self.acc_rd.en.eq(issue),
                     self.acc_rd.bank.eq(f(F_BANK))]

        bpw_out = ceil_div(C, beat)
        obi = Signal(range(max(2, bpw_out)))
        out_word = Signal(self.acc_shape)
        m.d.comb += out_word.as_value().eq(fifo.r_data)
        m.d.comb += self.dout.valid.eq(fifo.r_rdy)
        with m.Switch(obi):
            for b in range(bpw_out):
                with m.Case(b):
                    for l in range(beat):
                        e = b * beat + l
                        if e < C:
                            m.d.comb += self.dout.payload[l].eq(out_word[e])
        for l in range(C, beat):
            # Lanes no beat uses (beat wider than a word): zero, as the protocol says,
            # and driven, so the Verilog does not leave them undefined.
            m.d.comb += self.dout.payload[l].eq(0)
        with m.If(self.dout.valid & self.dout.ready):
            with m.If(obi == bpw_out - 1):
                m.d.comb += [fifo.r_en.eq(1), popped.eq(1)]
                m.d.sync += obi.eq(0)
            with m.Else():
                m.d.sync += obi.eq(obi + 1)

        # ---- loader word assembly ---------------------------------------------------
        m.d.comb += word_next.eq(word)
        bpw_in, bpw_w = ceil_div(in_elems, beat), ceil_div(w_elems, beat)
        with m.Switch(bi):
            for b in range(max(bpw_in, bpw_w)):
                with m.Case(b):
                    for l in range(beat):
                        e = b * beat + l
                        if e < lanes:
                            m.d.comb += word_next[e].eq(self.din.payload[l])
        last_beat = Signal()
        bpw_acc = ceil_div(C, beat)
        if cfg.features.preload and bpw_acc != bpw_w:
            # (input-stationary) LOAD_ACC words have C elements, LOAD_W words R
            m.d.comb += last_beat.eq(Mux(to_acc, bi == bpw_acc - 1,
                                         Mux(to_w, bi == bpw_w - 1, bi == bpw_in - 1)))
        else:
            m.d.comb += last_beat.eq(Mux(to_w, bi == bpw_w - 1, bi == bpw_in - 1))
        m.d.comb += [
            self.in_wr.addr.eq(addr), self.in_wr.bank.eq(f(F_BANK)),
            self.w_wr.addr.eq(addr), self.w_wr.bank.eq(f(F_BANK)),
        ]
        for i in range(in_elems):
            m.d.comb += self.in_wr.data[i].eq(word_next[i])
        for i in range(w_elems):
            m.d.comb += self.w_wr.data[i].eq(word_next[i])
        # LOAD_ACC: each lane times its preload factor, in three registered steps so
        # that no load path is longer than a PE's multiplier: the assembled word (the
        # ``word`` register), the two partial products of the factor's low and high
        # halves, their sum. The write lands ACC_LOAD_LATENCY cycles after the last beat.
        acc_ld = Signal()   # the last beat of a LOAD_ACC word
        if cfg.features.preload:
            # (enable, address, bank) per step; the last step is the write port itself.
            steps = [(Signal(name=f"acc_ld_we{s}"), Signal.like(self.acc_wr.addr,
                                                                name=f"acc_ld_addr{s}"),
                      Signal.like(self.acc_wr.bank, name=f"acc_ld_bank{s}"))
                     for s in range(ACC_LOAD_LATENCY - 1)]
            steps.append((self.acc_wr.en, self.acc_wr.addr, self.acc_wr.bank))
            m.d.sync += [steps[0][0].eq(acc_ld), steps[0][1].eq(addr),
                         steps[0][2].eq(f(F_BANK))]
            for prev, nxt in zip(steps, steps[1:]):
                m.d.sync += [n.eq(p) for n, p in zip(nxt, prev)]
            half = PRELOAD_BITS // 2
            ib = cfg.precision.in_bits
            for i in range(C):
                lo_p = Signal(signed(ib + half + 1), name=f"acc_ld_lo{i}")
                hi_p = Signal(signed(ib + half + 1), name=f"acc_ld_hi{i}")
                m.d.sync += [lo_p.eq(word[i] * preload[i][:half]),
                             hi_p.eq(word[i] * preload[i][half:]),
                             self.acc_wr.data[i].eq(lo_p + (hi_p << half))]

        with m.FSM(name="host_fsm") as fsm:
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += c.eq(self.cmd.payload)
                    m.next = "EXEC"
            with m.State("EXEC"):
                with m.Switch(op):
                    with m.Case(OP_NOP):
                        m.next = "IDLE"
                    with m.Case(OP_SET_QUANT):
                        if cfg.features.lane_quant:
                            for i in range(C):
                                with m.If(~f(F_ONE_LANE) | (f(F_QLANE) == i)):
                                    m.d.sync += [shift[i].eq(f(F_SHIFT)),
                                                 mult[i].eq(f(F_MULT))]
                        else:
                            m.d.sync += [shift[0].eq(f(F_SHIFT)), mult[0].eq(f(F_MULT))]
                        m.next = "IDLE"
                    with m.Case(OP_SET_CLAMP):
                        with m.If(f(F_CLAMP_HI)):
                            m.d.sync += hi.eq(f(F_CLAMP))
                        with m.Else():
                            m.d.sync += lo.eq(f(F_CLAMP))
                        m.next = "IDLE"
                    if cfg.features.preload:
                        with m.Case(OP_SET_PRELOAD):
                            with m.Switch(f(F_LANE)):
                                for i in range(C):
                                    with m.Case(i):
                                        m.d.sync += preload[i].eq(f(F_PRELOAD))
                            m.next = "IDLE"
                    if has_im2col(cfg):
                        with m.Case(OP_CONV_SET):
                            n_regs = _conv_regs(cfg)
                            lo = F_CONV_REG[0]   # the index bits the registers need
                            with m.Switch(c[lo:lo + (n_regs - 1).bit_length()]):
                                for i in range(n_regs):
                                    with m.Case(i):
                                        m.d.sync += self.conv[i].eq(f(F_CONV_VALUE))
                            m.next = "IDLE"
                    with m.Case(OP_SET_BIAS):
                        with m.Switch(f(F_LANE)):
                            for i in range(C):
                                with m.Case(i):
                                    m.d.sync += bias[i].eq(f(F_BIAS))
                        m.next = "IDLE"
                    with m.Case(OP_COMPUTE):
                        with m.If(~self.eng_busy):
                            m.d.comb += self.eng_start.eq(1)
                            m.next = "IDLE"
                    if cfg.features.maxpool:
                        with m.Case(OP_POOL):   # the engine and the pooling unit
                            with m.If(~self.eng_busy):
                                m.d.comb += self.pool_start.eq(1)
                                m.next = "IDLE"
                    with m.Case(OP_SYNC):
                        with m.If(~self.eng_busy):
                            m.next = "IDLE"
                    with m.Case(OP_LOAD_IN, OP_LOAD_W):
                        is_w = op == OP_LOAD_W
                        # A bank the running computation reads is off limits; with
                        # one bank, the whole buffer is.
                        clash_in = (self.eng_cur_in_bank == f4) if banks.input.banks > 1 else 1
                        clash_w = (self.eng_cur_w_bank == f4) if banks.weight.banks > 1 else 1
                        conflict = self.eng_busy & Mux(is_w, clash_w, clash_in)
                        with m.If(~conflict):
                            m.d.sync += [addr.eq(addr_f), left.eq(count_f), bi.eq(0),
                                         to_w.eq(is_w), to_acc.eq(0)]
                            m.next = "LOAD"
                    if cfg.features.preload:
                        with m.Case(OP_LOAD_ACC):
                            conflict = self.eng_busy & (
                                (self.eng_cur_acc_bank == f4) if banks.acc.banks > 1 else 1)
                            with m.If(~conflict):
                                m.d.sync += [addr.eq(addr_f), left.eq(count_f), bi.eq(0),
                                             to_w.eq(1), to_acc.eq(1)]
                                m.next = "LOAD"
                    with m.Case(OP_READ):
                        conflict = self.eng_busy & (
                            (self.eng_cur_acc_bank == f4) if banks.acc.banks > 1 else 1)
                        with m.If(~conflict):
                            m.d.sync += [r_addr.eq(addr_f), r_left.eq(count_f),
                                         raw.eq(f(F_RAW)), relu.eq(f(F_RELU))]
                            m.next = "READ"
                    with m.Default():
                        m.d.sync += self.error.eq(1)
                        m.next = "IDLE"
            with m.State("LOAD"):
                m.d.comb += self.din.ready.eq(left != 0)
                with m.If(left == 0):
                    m.next = "IDLE"
                with m.Elif(self.din.valid):
                    m.d.sync += [word.eq(word_next), bi.eq(bi + 1)]
                    with m.If(last_beat):
                        m.d.comb += [self.in_wr.en.eq(~to_w), self.w_wr.en.eq(to_w & ~to_acc)]
                        if cfg.features.preload:
                            m.d.comb += acc_ld.eq(to_acc)
                        m.d.sync += [bi.eq(0), addr.eq(addr + 1), left.eq(left - 1)]
                        with m.If(left == 1):
                            m.next = "IDLE"
            with m.State("READ"):
                m.d.comb += issue.eq((r_left != 0) & (credits != 0))
                with m.If(issue):
                    m.d.sync += [r_addr.eq(r_addr + 1), r_left.eq(r_left - 1)]
                with m.If((r_left == 0) & (credits == depth)):   # all words sent
                    m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | self.eng_busy)
        return m
