"""Board tops: the accelerator behind a UART bridge, clocked from the board oscillator.

:class:`BoardCore` is everything but the pins (simulated in the tests); :class:`BoardTop`
puts it on a board described in :mod:`fpga.boards`.
"""
from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from hwgen.config.schema import AcceleratorConfig
from hwgen.top import Accelerator

from .bridge import UartBridge
from .framing import RX_FIFO_BYTES

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

    Attributes
    ----------
    rx : In(1), tx : Out(1)
        The serial lines.
    led_busy, led_error, led_heartbeat : Out(1)
        ``led_error`` is the accelerator's sticky error or a link error.
    """

    def __init__(self, cfg: AcceleratorConfig, divisor: int, *, heartbeat_bit: int = 23,
                 fifo_bytes: int = RX_FIFO_BYTES):
        self.cfg = cfg
        self.divisor = divisor
        self.heartbeat_bit = heartbeat_bit
        self.fifo_bytes = fifo_bytes
        super().__init__({
            "rx": In(1, init=1), "tx": Out(1, init=1),
            "led_busy": Out(1), "led_error": Out(1), "led_heartbeat": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        p = cfg.params()
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


class BoardTop(wiring.Component):
    """:class:`BoardCore` on a board: UART pins, reset button, status LEDs.

    The ``sync`` domain comes from the platform (board oscillator, power-on reset); the
    board's reset button, synchronised, resets the core as well.
    """

    def __init__(self, board, cfg: AcceleratorConfig):
        self.board = board
        self.cfg = cfg
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        b = self.board
        clock_hz = platform.default_clk_frequency
        core = BoardCore(self.cfg, baud_divisor(clock_hz))

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
