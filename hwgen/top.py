"""The accelerator top: host interface, buffers, compute engine and systolic array."""
from amaranth.hdl import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from .array import SystolicArray
from .config import AcceleratorConfig
from .ctrl import ComputeEngine, HostInterface, PoolUnit
from .lib.checks import check_type
from .mem import Scratchpad


class Accelerator(wiring.Component):
    """GEMM accelerator generated from an :class:`AcceleratorConfig`.

    Attributes
    ----------
    cmd, din : In(stream.Signature)
        Command words and operand beats (docs/host_protocol.md).
    dout : Out(stream.Signature)
        Result beats.
    busy, compute_busy, error : Out
        Status.
    compute_cycles : Out(32)
        Cycles the compute engine (or the pooling unit) has been busy since reset.
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        self.cfg = cfg
        self.host = HostInterface(cfg)
        super().__init__({
            "cmd": In(self.host.cmd.signature.flip()),
            "din": In(self.host.din.signature.flip()),
            "dout": Out(self.host.dout.signature),
            "busy": Out(1), "compute_busy": Out(1), "error": Out(1),
            "compute_cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        m.submodules.host = host = self.host
        m.submodules.engine = eng = ComputeEngine(cfg)
        m.submodules.array = arr = SystolicArray(cfg.array, cfg.precision.in_bits, cfg.acc_bits,
                                                 stages=cfg.pe_stages)
        m.submodules.input_buf = ibuf = Scratchpad(cfg.buffers.input, eng.a_shape, pair=eng.pair)
        m.submodules.weight_buf = wbuf = Scratchpad(cfg.buffers.weight, eng.b_shape)
        m.submodules.acc_buf = abuf = Scratchpad(cfg.buffers.acc, eng.acc_shape, n_read=2,
                                                 n_write=2 if cfg.features.preload else 1)

        connect(m, flipped(self.cmd), host.cmd)
        connect(m, flipped(self.din), host.din)
        connect(m, host.dout, flipped(self.dout))

        connect(m, host.in_wr, ibuf.w)
        connect(m, host.w_wr, wbuf.w)
        connect(m, host.acc_rd, abuf.r1)
        pool = PoolUnit(cfg) if cfg.features.maxpool else None
        if pool is None:
            connect(m, eng.in_rd, ibuf.r0)
        connect(m, eng.w_rd, wbuf.r0)
        connect(m, eng.acc_rd, abuf.r0)
        if pool is None:
            connect(m, eng.acc_wr, abuf.w)
        if cfg.features.preload:
            connect(m, host.acc_wr, abuf.w1)

        busy, cur_in, cur_acc = eng.busy, eng.cur_in_bank, eng.cur_acc_bank
        if pool is not None:
            # The pooling unit shares the engine's input read port and accumulator write
            # port: the two never run at once (POOL and COMPUTE wait for both to be idle).
            m.submodules.pool = pool
            for name in ("bank", "addr", "en"):
                m.d.comb += getattr(ibuf.r0, name).eq(
                    Mux(pool.busy, getattr(pool.in_rd, name), getattr(eng.in_rd, name)))
                m.d.comb += getattr(abuf.w, name).eq(
                    Mux(pool.busy, getattr(pool.acc_wr, name), getattr(eng.acc_wr, name)))
            m.d.comb += [abuf.w.data.eq(Mux(pool.busy, pool.acc_wr.data, eng.acc_wr.data)),
                         eng.in_rd.data.eq(ibuf.r0.data), pool.in_rd.data.eq(ibuf.r0.data)]
            if eng.pair:
                m.d.comb += eng.in_rd.data_next.eq(ibuf.r0.data_next)
            m.d.comb += [
                pool.start.eq(host.pool_start), pool.rows.eq(host.eng_m),
                pool.cols.eq(host.eng_n), pool.kh.eq(host.pool_kh), pool.kw.eq(host.pool_kw),
                pool.in_bank.eq(host.eng_in_bank), pool.acc_bank.eq(host.eng_acc_bank),
                pool.regs.eq(host.conv),
            ]
            busy = eng.busy | pool.busy
            cur_in = Mux(pool.busy, pool.cur_in_bank, eng.cur_in_bank)
            cur_acc = Mux(pool.busy, pool.cur_acc_bank, eng.cur_acc_bank)

        m.d.comb += [
            eng.start.eq(host.eng_start), eng.m.eq(host.eng_m), eng.k.eq(host.eng_k),
            eng.n.eq(host.eng_n), eng.accumulate.eq(host.eng_accumulate),
            eng.in_bank.eq(host.eng_in_bank), eng.w_bank.eq(host.eng_w_bank),
            eng.acc_bank.eq(host.eng_acc_bank),
            host.eng_busy.eq(busy), host.eng_cur_in_bank.eq(cur_in),
            host.eng_cur_w_bank.eq(eng.cur_w_bank), host.eng_cur_acc_bank.eq(cur_acc),
            arr.a.eq(eng.arr_a), arr.b.eq(eng.arr_b), arr.w_shift.eq(eng.arr_w_shift),
            arr.sw.eq(eng.arr_sw), eng.arr_out.eq(arr.out),
            self.busy.eq(host.busy), self.compute_busy.eq(eng.busy), self.error.eq(host.error),
        ]
        if eng.im2col:
            m.d.comb += [eng.conv.eq(host.conv), eng.conv_mode.eq(host.eng_conv)]
        with m.If(busy):
            m.d.sync += self.compute_cycles.eq(self.compute_cycles + 1)
        return m
