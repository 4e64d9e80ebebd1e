"""The pooling unit: max pooling from the input buffer into the accumulator buffer, beside
the compute engine (which is idle while a POOL runs; the top multiplexes the buffer
ports between the two).

A POOL walks ``rows x cols`` output pixels in row-major order and, for each, the
``kh x kw`` taps of its window, one tap per cycle. Each tap is one input-buffer word (a
channel tile of one input pixel); the address generator keeps the tap's input row,
column and word address in registers and moves them only by additions of the registers
the host precomputed (:class:`hwgen.lib.protocol.PoolReg`). A tap outside the band's
rows or columns is padding: it reads nothing and never wins. Each lane keeps a running
maximum (one compare per lane per cycle): the pixel's first tap loads it, later taps
take the larger; after the pixel's last tap it is written to the accumulator word of
the output pixel (sign-extended), words 0, 1, ... in pixel order. The unit is busy for
:func:`hwgen.lib.schedule.pool_cycles` cycles.
"""
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig, Dataflow
from ..lib.checks import check_type
from ..lib.protocol import CONV_REG_BITS, DIM_BITS, POOL_K_BITS, PoolReg, conv_reg_count
from ..lib.schedule import BUFFER_READ_LATENCY
from ..mem import ReadPortSignature, WritePortSignature, acc_word, input_word


class PoolUnit(wiring.Component):
    """Max-pooling sequencer.

    Parameters
    ----------
    cfg : AcceleratorConfig
        The design (buffer shapes, operand width).

    Attributes
    ----------
    start : In
        Begin a POOL with the parameters below (ignored while ``busy``).
    rows, cols, kh, kw : In
        Output pixels (rows x cols) and window size of the POOL.
    in_bank, acc_bank : In
        Bank to read the input band from and to write the results to.
    regs : In
        The CONV_SET registers, read as :class:`hwgen.lib.protocol.PoolReg`; latched
        at ``start`` with the other parameters.
    busy : Out
        A POOL is running; ``cur_in_bank`` and ``cur_acc_bank`` name its banks.
    in_rd : Out(ReadPortSignature)
        Input buffer read client.
    acc_wr : Out(WritePortSignature)
        Accumulator write client.
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        self.cfg = cfg
        self.lanes = cfg.pool_lanes
        bufs = cfg.buffers
        # the design's whole CONV_SET register file (the unit reads the first few)
        n_regs = conv_reg_count(cfg.dataflow is Dataflow.OS)
        super().__init__({
            "start": In(1),
            "rows": In(DIM_BITS), "cols": In(DIM_BITS),
            "kh": In(POOL_K_BITS), "kw": In(POOL_K_BITS),
            "in_bank": In(1), "acc_bank": In(1),
            "regs": In(data.ArrayLayout(signed(CONV_REG_BITS), n_regs)),
            "busy": Out(1), "cur_in_bank": Out(1), "cur_acc_bank": Out(1),
            "in_rd": Out(ReadPortSignature(bufs.input, input_word(cfg))),
            "acc_wr": Out(WritePortSignature(bufs.acc, acc_word(cfg))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        ib = cfg.precision.in_bits
        w = CONV_REG_BITS
        go = self.start & ~self.busy

        # Parameters and registers latched at start (the host may set the next band's
        # registers while this POOL runs).
        rows_q, cols_q = Signal(DIM_BITS), Signal(DIM_BITS)
        kh_q, kw_q = Signal(POOL_K_BITS), Signal(POOL_K_BITS)
        names = ("ROWS_IN", "W_IN", "COL0", "SY", "SX", "SY_W", "DY", "DX", "DY_W")
        r = {n: Signal(signed(w), name=f"pool_{n.lower()}") for n in names}
        with m.If(go):
            m.d.sync += [rows_q.eq(self.rows), cols_q.eq(self.cols), kh_q.eq(self.kh),
                         kw_q.eq(self.kw), self.cur_in_bank.eq(self.in_bank),
                         self.cur_acc_bank.eq(self.acc_bank)]
            m.d.sync += [r[n].eq(self.regs[getattr(PoolReg, n)]) for n in names]
        m.d.comb += [self.in_rd.bank.eq(self.cur_in_bank),
                     self.acc_wr.bank.eq(self.cur_acc_bank)]

        # Address generator: counters of the tap (kx, ky) and the output pixel (ox, oy);
        # the tap's input row and column (iy, ix) and word address; the pixel's first
        # tap (px_*), the first tap of the tap row (tr_addr) and of the output row
        # (row_*).
        run = Signal()
        kx, ky = Signal(POOL_K_BITS), Signal(POOL_K_BITS)
        ox, oy = Signal(DIM_BITS), Signal(DIM_BITS)
        iy, ix, addr = Signal(signed(w)), Signal(signed(w)), Signal(signed(w))
        px_ix, px_iy, px_addr = Signal(signed(w)), Signal(signed(w)), Signal(signed(w))
        tr_addr, row_addr = Signal(signed(w)), Signal(signed(w))
        with m.If(go):
            row0, col0 = self.regs[PoolReg.ROW0], self.regs[PoolReg.COL0]
            base0 = self.regs[PoolReg.BASE0]
            m.d.sync += [run.eq(1), kx.eq(0), ky.eq(0), ox.eq(0), oy.eq(0),
                         iy.eq(row0), ix.eq(col0), addr.eq(base0), px_iy.eq(row0),
                         px_ix.eq(col0), px_addr.eq(base0), tr_addr.eq(base0),
                         row_addr.eq(base0)]
        last_kx = kx == kw_q - 1
        last_ky = ky == kh_q - 1
        last_ox = ox == cols_q - 1
        last_oy = oy == rows_q - 1
        first_tap = (kx == 0) & (ky == 0)
        last_tap = last_kx & last_ky
        with m.If(run):
            with m.If(~last_kx):
                m.d.sync += [kx.eq(kx + 1), ix.eq(ix + r["DX"]), addr.eq(addr + r["DX"])]
            with m.Elif(~last_ky):
                nxt = tr_addr + r["DY_W"]
                m.d.sync += [kx.eq(0), ky.eq(ky + 1), ix.eq(px_ix), iy.eq(iy + r["DY"]),
                             addr.eq(nxt), tr_addr.eq(nxt)]
            with m.Else():
                m.d.sync += [kx.eq(0), ky.eq(0)]
                with m.If(~last_ox):
                    nx, na = px_ix + r["SX"], px_addr + r["SX"]
                    m.d.sync += [ox.eq(ox + 1), px_ix.eq(nx), ix.eq(nx), px_addr.eq(na),
                                 addr.eq(na), tr_addr.eq(na), iy.eq(px_iy)]
                with m.Else():
                    ny, na = px_iy + r["SY"], row_addr + r["SY_W"]
                    m.d.sync += [ox.eq(0), oy.eq(oy + 1), px_iy.eq(ny), iy.eq(ny),
                                 px_ix.eq(r["COL0"]), ix.eq(r["COL0"]), row_addr.eq(na),
                                 px_addr.eq(na), tr_addr.eq(na), addr.eq(na)]
                    with m.If(last_oy):
                        m.d.sync += run.eq(0)

        # A tap inside the band reads its word; padding reads nothing.
        inside = Signal()
        m.d.comb += inside.eq((iy >= 0) & (iy < r["ROWS_IN"]) & (ix >= 0) & (ix < r["W_IN"]))
        m.d.comb += [self.in_rd.en.eq(run & inside),
                     self.in_rd.addr.eq(addr[:len(self.in_rd.addr)])]

        # The tap's flags travel with its read; the data arrives BUFFER_READ_LATENCY
        # cycles later and is combined into the running maximum.
        flags = Signal(data.StructLayout({"valid": 1, "first": 1, "last": 1, "final": 1}))
        m.d.comb += [flags.valid.eq(run & inside), flags.first.eq(run & first_tap),
                     flags.last.eq(run & last_tap),
                     flags.final.eq(run & last_tap & last_ox & last_oy)]
        d = flags
        for i in range(BUFFER_READ_LATENCY):
            nxt = Signal.like(flags, name=f"pool_flags_d{i + 1}")
            m.d.sync += nxt.eq(d)
            d = nxt
        P = self.lanes
        most = [Signal(signed(ib), name=f"pool_max{c}") for c in range(P)]
        for c in range(P):
            x = self.in_rd.data[c]
            with m.If(d.valid & (d.first | (x > most[c]))):
                m.d.sync += most[c].eq(x)
            with m.Elif(d.first):   # a window of padding only (the protocol avoids it)
                m.d.sync += most[c].eq(-(1 << (ib - 1)))
        # The running maximum after a pixel's last tap goes to the next accumulator word.
        wr, wr_final = Signal(), Signal()
        wr_addr = Signal(unsigned(len(self.acc_wr.addr)))
        m.d.sync += [wr.eq(d.last), wr_final.eq(d.final)]
        with m.If(go):
            m.d.sync += wr_addr.eq(0)
        with m.Elif(wr):
            m.d.sync += wr_addr.eq(wr_addr + 1)
        m.d.comb += [self.acc_wr.en.eq(wr), self.acc_wr.addr.eq(wr_addr)]
        for c in range(P):
            m.d.comb += self.acc_wr.data[c].eq(most[c])

        # Busy from start until the last write (the pipeline drains after the last tap).
        with m.If(go):
            m.d.sync += self.busy.eq(1)
        with m.Elif(wr_final):
            m.d.sync += self.busy.eq(0)
        return m
