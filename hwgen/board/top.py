"""Board tops: the accelerator behind a UART bridge, clocked from the board oscillator or
from a PLL.

:class:`BoardCore` is everything but the pins (simulated in the tests); :class:`BoardTop`
puts it on a board (an object with ``reset_button`` and ``leds``, as :mod:`fpga.boards`
describes them) and a PLL setting (as :mod:`fpga.pll` solves them).
"""
from amaranth.hdl import (C, ClockDomain, ClockSignal, Instance, Module, Mux, ResetInserter,
                          ResetSignal, Signal)
from amaranth.lib import io, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig
from ..lib.framing import RX_FIFO_BYTES
from ..top import Accelerator
from .bridge import UartBridge

DEFAULT_BAUD = 115_200


def baud_divisor(clock_hz: float, baud: int = DEFAULT_BAUD) -> int:
    """Clock cycles per UART bit; refuses a rate more than 2 % off the asked one."""
    div = round(clock_hz / baud)
    if div < 4 or abs(clock_hz / div - baud) / baud > 0.02:
        raise ValueError(f"cannot make {baud} baud from a {clock_hz / 1e6:g} MHz clock")
    return div


class BoardCore(wiring.Component):
    """The accelerator, its UART bridge and the status lights.

    Parameters
    ----------
    cfg : AcceleratorConfig
    divisor : int
        Clock cycles per UART bit.
    heartbeat_bit : int
        The heartbeat light toggles every ``2**heartbeat_bit`` cycles.
    top : wiring.Component, optional
        The design's top when it is not one array: the pods or engines of a multi-pod
        or heterogeneous design (``hwgen.emit.design_top``; ``cmd``, ``din`` and
        ``dout`` one stream per port). The bridge then takes PORT frames and connects
        the port they choose; busy, compute-busy and error are those of any port, the
        compute cycles count the cycles in which any port computes, and the pods'
        ``phase`` is 0 (bank p feeds pod p).

    Attributes
    ----------
    rx : In(1), tx : Out(1)
        The serial lines.
    led_busy, led_error, led_heartbeat : Out(1)
        ``led_error`` is the accelerator's sticky error or a link error.
    """

    def __init__(self, cfg: AcceleratorConfig, divisor: int, *, heartbeat_bit: int = 23,
                 fifo_bytes: int = RX_FIFO_BYTES, top=None):
        self.cfg = cfg
        self.top = top
        self.divisor = divisor
        self.heartbeat_bit = heartbeat_bit
        self.fifo_bytes = fifo_bytes
        super().__init__({
            "rx": In(1, init=1), "tx": Out(1, init=1),
            "led_busy": Out(1), "led_error": Out(1), "led_heartbeat": Out(1),
        })

    def _ports(self, m, br):
        """The bridge on the port of ``top`` that ``br.port`` chooses."""
        top, P = self.top, len(self.top.cmd.valid)
        m.submodules.accel = top
        port = br.port
        m.d.comb += [br.rx.eq(self.rx), self.tx.eq(br.tx)]
        if hasattr(top, "phase"):
            m.d.comb += top.phase.eq(0)
        for name, w, into in (("cmd", 64, True), ("din", br.din_bits, True),
                              ("dout", br.dout_bits, False)):
            src, dst = (getattr(br, name), getattr(top, name))
            if into:
                m.d.comb += [dst.valid.eq(Mux(src.valid, C(1, P) << port, 0)),
                             src.ready.eq(dst.ready.bit_select(port, 1))]
                m.d.comb += [dst.data.as_value().word_select(p, w).eq(src.payload)
                             for p in range(P)]
            else:
                m.d.comb += [src.valid.eq(dst.valid.bit_select(port, 1)),
                             src.payload.eq(dst.data.as_value().word_select(port, w)),
                             dst.ready.eq(Mux(src.ready, C(1, P) << port, 0))]
        cycles = Signal(32)
        with m.If(top.compute_busy.any()):
            m.d.sync += cycles.eq(cycles + 1)
        m.d.comb += [br.busy.eq(top.busy.any()), br.compute_busy.eq(top.compute_busy.any()),
                     br.error.eq(top.error.any()), br.compute_cycles.eq(cycles)]
        return top.busy.any(), top.error.any()

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        p = cfg.params()
        if self.top is not None:
            ports = len(self.top.cmd.valid)
            m.submodules.bridge = br = UartBridge(self.top.din_bits, self.top.dout_bits,
                                                  self.divisor, self.fifo_bytes, ports=ports)
            busy, error = self._ports(m, br)
            beat = Signal(self.heartbeat_bit + 1)
            m.d.sync += beat.eq(beat + 1)
            m.d.comb += [self.led_busy.eq(busy), self.led_error.eq(error | br.link_error),
                         self.led_heartbeat.eq(beat[-1])]
            return m
        m.submodules.accel = acc = Accelerator(cfg)
        m.submodules.bridge = br = UartBridge(p["DIN_BITS"], p["DOUT_BITS"], self.divisor,
                                              self.fifo_bytes)
        m.d.comb += [
            br.rx.eq(self.rx), self.tx.eq(br.tx),
            acc.cmd.valid.eq(br.cmd.valid), acc.cmd.payload.eq(br.cmd.payload),
            br.cmd.ready.eq(acc.cmd.ready),
            acc.din.valid.eq(br.din.valid), acc.din.payload.eq(br.din.payload),
            br.din.ready.eq(acc.din.ready),
            br.dout.valid.eq(acc.dout.valid), br.dout.payload.eq(acc.dout.payload),
            acc.dout.ready.eq(br.dout.ready),
            br.busy.eq(acc.busy), br.compute_busy.eq(acc.compute_busy),
            br.error.eq(acc.error), br.compute_cycles.eq(acc.compute_cycles),
        ]
        beat = Signal(self.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += [self.led_busy.eq(acc.busy), self.led_error.eq(acc.error | br.link_error),
                     self.led_heartbeat.eq(beat[-1])]
        return m


#: Cycles of the PLL clock the design stays in reset after the PLL reports lock.
LOCK_SETTLE_CYCLES = 1024


class LockReset(wiring.Component):
    """A reset held until a PLL has reported lock for ``cycles`` clock cycles, and raised
    again as soon as the lock is lost.

    Runs on the PLL's own clock (``sync``) with reset-less flip-flops, so that it can
    drive that domain's reset; their initial values assert the reset at power-on.

    Attributes
    ----------
    locked : In(1)
        The PLL's lock output (asynchronous; synchronised inside).
    rst : Out(1)
        High while the design must stay in reset.
    """

    def __init__(self, cycles: int = LOCK_SETTLE_CYCLES):
        if not isinstance(cycles, int) or cycles < 1:
            self._MustUse__silence = True  # refused: no "never elaborated" warning
            raise ValueError(f"cycles must be a positive integer, got {cycles!r}")
        self.cycles = cycles
        super().__init__({"locked": In(1), "rst": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        lock_s = Signal()
        m.submodules.lock_sync = FFSynchronizer(self.locked, lock_s)  # reset-less
        settle = Signal(range(self.cycles + 1), reset_less=True)
        m.d.comb += self.rst.eq(settle != self.cycles)
        with m.If(~lock_s):
            m.d.sync += settle.eq(0)
        with m.Elif(self.rst):
            m.d.sync += settle.eq(settle + 1)
        return m


def pll_instance(setting, clk_in, clk_out, locked):
    """The family's PLL primitive for a :class:`fpga.pll.PllSetting`: ``clk_in`` is the
    oscillator (the pad itself on iCE40, whose PLL input is the pad), ``clk_out`` the
    generated clock, ``locked`` the lock output."""
    p = setting.params
    if setting.family == "ice40":
        return Instance("SB_PLL40_PAD",
                        p_FEEDBACK_PATH=p["FEEDBACK_PATH"], p_DIVR=C(p["DIVR"], 4),
                        p_DIVF=C(p["DIVF"], 7), p_DIVQ=C(p["DIVQ"], 3),
                        p_FILTER_RANGE=C(p["FILTER_RANGE"], 3),
                        i_PACKAGEPIN=clk_in, i_RESETB=C(1, 1), i_BYPASS=C(0, 1),
                        o_PLLOUTGLOBAL=clk_out, o_LOCK=locked)
    if setting.family == "ecp5":
        # The loop-filter attributes are the values Lattice's tools use for every setting.
        return Instance("EHXPLLL",
                        a_FREQUENCY_PIN_CLKI=f"{float(setting.f_in):g}",
                        a_FREQUENCY_PIN_CLKOP=f"{float(setting.f_out):.6f}",
                        a_ICP_CURRENT="12", a_LPF_RESISTOR="8",
                        a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
                        p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED",
                        p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
                        p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
                        p_CLKI_DIV=p["CLKI_DIV"], p_CLKFB_DIV=p["CLKFB_DIV"],
                        p_CLKOP_DIV=p["CLKOP_DIV"], p_CLKOP_CPHASE=p["CLKOP_CPHASE"],
                        p_CLKOP_FPHASE=0, p_FEEDBK_PATH=p["FEEDBK_PATH"],
                        i_CLKI=clk_in, i_CLKFB=clk_out, i_RST=C(0, 1), i_STDBY=C(0, 1),
                        i_PHASESEL0=C(0, 1), i_PHASESEL1=C(0, 1), i_PHASEDIR=C(1, 1),
                        i_PHASESTEP=C(1, 1), i_PHASELOADREG=C(1, 1), i_PLLWAKESYNC=C(0, 1),
                        i_ENCLKOP=C(0, 1),
                        o_CLKOP=clk_out, o_LOCK=locked)
    if setting.family == "gowin":
        return Instance("rPLL",
                        p_FCLKIN=f"{float(setting.f_in):g}", p_DEVICE="GW1NR-9C",
                        p_IDIV_SEL=p["IDIV_SEL"], p_FBDIV_SEL=p["FBDIV_SEL"],
                        p_ODIV_SEL=p["ODIV_SEL"],
                        i_CLKIN=clk_in, i_CLKFB=C(0, 1), i_RESET=C(0, 1), i_RESET_P=C(0, 1),
                        i_FBDSEL=C(0, 6), i_IDSEL=C(0, 6), i_ODSEL=C(0, 6), i_PSDA=C(0, 4),
                        i_DUTYDA=C(0, 4), i_FDLY=C(0, 4),
                        o_CLKOUT=clk_out, o_LOCK=locked)
    raise ValueError(f"no PLL for the {setting.family} family")


class BoardTop(wiring.Component):
    """:class:`BoardCore` on a board: UART pins, reset button, status LEDs.

    Without ``pll`` the ``sync`` domain comes from the platform (board oscillator,
    power-on reset). With ``pll`` (a :class:`fpga.pll.PllSetting`) the oscillator feeds
    that PLL and ``sync`` runs from its output; ``sync`` is held in reset until the PLL
    has reported lock for :data:`LOCK_SETTLE_CYCLES` cycles, and again if it loses lock.
    The UART divisor follows the clock the design actually runs at. Either way the
    board's reset button, synchronised, resets the core as well.
    """

    def __init__(self, board, cfg: AcceleratorConfig, *, pll=None, top=None):
        self.board = board
        self.cfg = cfg
        self.pll = pll
        self.top = top  #: the pods or engines of a scale-out design (see BoardCore)
        super().__init__({})

    def clock_hz(self, platform) -> float:
        """The frequency ``sync`` runs at."""
        if self.pll is None:
            return platform.default_clk_frequency
        return float(self.pll.f_out) * 1e6

    def _pll_domain(self, m, platform):
        clk_port = platform.request(platform.default_clk, dir="-")
        if self.pll.family == "ice40":
            clk_in = clk_port.io  # SB_PLL40_PAD takes the pad itself
        else:
            m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_port)
            clk_in = clk_buf.i
        m.domains.sync = ClockDomain("sync")
        m.submodules.lock_reset = lock_reset = LockReset()
        m.submodules.pll = pll_instance(self.pll, clk_in, ClockSignal("sync"), lock_reset.locked)
        m.d.comb += ResetSignal("sync").eq(lock_reset.rst)

    def elaborate(self, platform):
        m = Module()
        b = self.board
        clock_hz = self.clock_hz(platform)
        if self.pll is not None:
            self._pll_domain(m, platform)
        if self.pll is None:
            core = BoardCore(self.cfg, baud_divisor(clock_hz), top=self.top)
        else:  # the heartbeat toggles about once a second whatever the clock
            core = BoardCore(self.cfg, baud_divisor(clock_hz),
                             heartbeat_bit=max(1, round(clock_hz).bit_length() - 1),
                             top=self.top)

        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buf = rx_buf = io.Buffer("i", uart.rx)
        m.submodules.tx_buf = tx_buf = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(rx_buf.i), tx_buf.o.eq(core.tx)]

        m.submodules.btn_buf = btn_buf = io.Buffer("i", platform.request(*b.reset_button, dir="-"))
        pressed = Signal()
        m.submodules.btn_sync = FFSynchronizer(btn_buf.i, pressed)
        m.submodules.core = ResetInserter(pressed)(core)

        pins = {}
        for role, res in b.leds.items():
            name, number, *sub = res
            if (name, number) not in pins:
                pins[name, number] = platform.request(name, number, dir="-")
            port = pins[name, number]
            if sub:  # one colour of an RGB LED
                port = getattr(port, sub[0])
            m.submodules[f"led_{role}_buf"] = buf = io.Buffer("o", port)
            m.d.comb += buf.o.eq(getattr(core, f"led_{role}"))
        return m
