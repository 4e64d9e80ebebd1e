"""UART bridge: the byte framing of :mod:`hwgen.lib.framing` on one side, the accelerator's
``cmd`` / ``din`` / ``dout`` streams and status on the other."""
from amaranth.hdl import C, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ..lib import framing as fr
from .uart import UartRx, UartTx


class UartBridge(wiring.Component):
    """Receives host frames over ``rx``, hands commands and operand beats to the
    accelerator, and sends acknowledgements, result beats and status over ``tx``.

    Parameters
    ----------
    din_bits, dout_bits : int
        Widths of a ``din`` and a ``dout`` beat.
    divisor : int
        Clock cycles per UART bit.
    fifo_bytes : int
        Depth of the receive FIFO (the host's flow-control window).
    ports : int
        Pods or engines behind the bridge; above 1 it takes PORT frames and drives
        ``port`` (with 1 a PORT frame is an unknown type).

    Attributes
    ----------
    rx : In(1), tx : Out(1)
        The serial lines.
    cmd, din : Out(stream.Signature)
        To the accelerator.
    dout : In(stream.Signature)
        From the accelerator.
    busy, compute_busy, error : In(1), compute_cycles : In(32)
        Accelerator status, reported in STATUS replies.
    link_error : Out(1)
        Sticky: a receive overrun, a framing error or an unknown frame type (or a PORT
        frame naming a port that does not exist).
    port : Out(range(ports))
        With ``ports`` > 1: the port the last PORT frame chose (0 after reset).
    """

    def __init__(self, din_bits: int, dout_bits: int, divisor: int,
                 fifo_bytes: int = fr.RX_FIFO_BYTES, ports: int = 1):
        self.din_bits, self.dout_bits = din_bits, dout_bits
        self.divisor, self.fifo_bytes, self.ports = divisor, fifo_bytes, ports
        self.din_bytes = -(-din_bits // 8)
        self.dout_bytes = -(-dout_bits // 8)
        super().__init__({
            "rx": In(1, init=1), "tx": Out(1, init=1),
            "cmd": Out(stream.Signature(64)),
            "din": Out(stream.Signature(din_bits)),
            "dout": In(stream.Signature(dout_bits)),
            "busy": In(1), "compute_busy": In(1), "error": In(1), "compute_cycles": In(32),
            "link_error": Out(1),
            **({"port": Out(range(ports))} if ports > 1 else {}),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8, depth=self.fifo_bytes)
        m.d.comb += [
            urx.rx.eq(self.rx), self.tx.eq(utx.tx),
            fifo.w_data.eq(urx.data.payload), fifo.w_en.eq(urx.data.valid),
            urx.data.ready.eq(fifo.w_rdy),
        ]

        bad_type = Signal()
        m.d.comb += self.link_error.eq(urx.overrun | urx.framing_error | bad_type)

        # ---- receive: parse frames --------------------------------------------------
        in_bytes = max(fr.CMD_BYTES, self.din_bytes)
        frame = Signal(8 * in_bytes)
        is_cmd = Signal()
        left = Signal(range(in_bytes + 1))
        idx = Signal(range(in_bytes))
        status_req = Signal()
        status_taken = Signal()
        acks = Signal(16)
        ack_sent = Signal()
        handed = Signal()

        m.d.comb += [self.cmd.payload.eq(frame[:64]), self.din.payload.eq(frame[:self.din_bits])]
        with m.If(status_taken):
            m.d.sync += status_req.eq(0)

        with m.FSM(name="rx_fsm"):
            with m.State("TYPE"):
                m.d.comb += fifo.r_en.eq(1)
                with m.If(fifo.r_rdy):
                    m.d.sync += [frame.eq(0), idx.eq(0)]
                    with m.Switch(fifo.r_data):
                        with m.Case(fr.T_SYNC):
                            pass
                        with m.Case(fr.T_CMD):
                            m.d.sync += [is_cmd.eq(1), left.eq(fr.CMD_BYTES)]
                            m.next = "PAYLOAD"
                        with m.Case(fr.T_DIN):
                            m.d.sync += [is_cmd.eq(0), left.eq(self.din_bytes)]
                            m.next = "PAYLOAD"
                        with m.Case(fr.T_STATUS):
                            m.d.sync += status_req.eq(1)
                        if self.ports > 1:
                            with m.Case(fr.T_PORT):
                                m.next = "PORT"
                        with m.Default():
                            m.d.sync += bad_type.eq(1)
            with m.State("PAYLOAD"):
                m.d.comb += fifo.r_en.eq(1)
                with m.If(fifo.r_rdy):
                    m.d.sync += [frame.word_select(idx, 8).eq(fifo.r_data), idx.eq(idx + 1),
                                 left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "HAND"
            if self.ports > 1:
                with m.State("PORT"):
                    m.d.comb += fifo.r_en.eq(1)
                    with m.If(fifo.r_rdy):
                        with m.If(fifo.r_data < self.ports):
                            m.d.sync += self.port.eq(fifo.r_data)
                        with m.Else():
                            m.d.sync += bad_type.eq(1)
                        m.d.comb += handed.eq(1)
                        m.next = "TYPE"
            with m.State("HAND"):
                m.d.comb += [self.cmd.valid.eq(is_cmd), self.din.valid.eq(~is_cmd)]
                with m.If(Mux(is_cmd, self.cmd.ready, self.din.ready)):
                    m.d.comb += handed.eq(1)
                    m.next = "TYPE"

        m.d.sync += acks.eq(acks + handed - ack_sent)

        # ---- transmit: ACK first, then STATUS, then DOUT ----------------------------
        out_bytes = 1 + max(fr.STATUS_BYTES, self.dout_bytes)
        txbuf = Signal(8 * out_bytes)
        tx_left = Signal(range(out_bytes + 1))
        flags = Cat(self.busy, self.compute_busy, self.error, urx.overrun, urx.framing_error,
                    bad_type)

        with m.FSM(name="tx_fsm"):
            with m.State("IDLE"):
                with m.If(acks != 0):
                    m.d.comb += ack_sent.eq(1)
                    m.d.sync += [txbuf.eq(fr.R_ACK), tx_left.eq(1)]
                    m.next = "SEND"
                with m.Elif(status_req):
                    m.d.comb += status_taken.eq(1)
                    m.d.sync += [txbuf.eq(Cat(C(fr.R_STATUS, 8), flags, C(0, 2), self.compute_cycles)),
                                 tx_left.eq(1 + fr.STATUS_BYTES)]
                    m.next = "SEND"
                with m.Elif(self.dout.valid):
                    m.d.comb += self.dout.ready.eq(1)
                    m.d.sync += [txbuf.eq(Cat(C(fr.R_DOUT, 8), self.dout.payload)),
                                 tx_left.eq(1 + self.dout_bytes)]
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [utx.data.valid.eq(1), utx.data.payload.eq(txbuf[:8])]
                with m.If(utx.data.ready):
                    m.d.sync += [txbuf.eq(txbuf >> 8), tx_left.eq(tx_left - 1)]
                    with m.If(tx_left == 1):
                        m.next = "IDLE"
        return m
