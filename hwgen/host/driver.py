"""Runs GEMMs on a board over its UART bridge (docs/fpga.md, "UART byte framing").

:class:`BoardLink` speaks the byte framing of :mod:`hwgen.lib.framing` over a *transport*:
any object with ``write(data: bytes)`` and ``read(n: int, timeout: float) -> bytes``
(return at most ``n`` bytes, as soon as at least one is there; ``b""`` after ``timeout``
seconds without any). :class:`SerialTransport` is the pyserial one for a real board; the
tests use one that drives the board top on the Amaranth simulator, so the same driver
code runs in both places.

    link = BoardLink.open(load_config("ice40"), "/dev/ttyUSB1")
    c = link.run_gemm(a, b)
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..compiler import Program, Quant, build_gemm_program
from ..config import AcceleratorConfig, MappingConfig
from ..lib import framing as fr
from ..lib.protocol import cmd_compute, cmd_load, cmd_read

DEFAULT_BAUD = 115_200
DEFAULT_TIMEOUT = 2.0
PYSERIAL_HINT = "pip install pyserial==3.5"


class LinkError(RuntimeError):
    """The board did not answer as expected (one-line message naming what was awaited)."""


class PyserialMissing(LinkError, ImportError):
    """pyserial is not installed."""


class BoardError(LinkError):
    """The board's STATUS reports an accelerator error or a link error."""


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, n: int, timeout: float) -> bytes: ...


class SerialTransport:
    """A serial port through pyserial (8N1, no flow control)."""

    def __init__(self, port: str, baud: int = DEFAULT_BAUD):
        try:
            import serial
        except ImportError:
            raise PyserialMissing(f"talking to a board needs pyserial: {PYSERIAL_HINT}") from None
        try:
            self.ser = serial.Serial(port, baud, bytesize=8, parity="N", stopbits=1,
                                     timeout=DEFAULT_TIMEOUT)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkError(f"cannot open serial port {port!r}: {e}") from None
        self.ser.reset_input_buffer()

    def write(self, data: bytes) -> None:
        self.ser.write(data)
        self.ser.flush()

    def read(self, n: int, timeout: float) -> bytes:
        self.ser.timeout = timeout
        first = self.ser.read(1)
        if not first or n <= 1:
            return first
        more = min(n - 1, self.ser.in_waiting)
        return first + (self.ser.read(more) if more else b"")

    def close(self) -> None:
        self.ser.close()


@dataclass(frozen=True)
class Status:
    flags: int
    compute_cycles: int

    busy = property(lambda s: bool(s.flags & fr.FLAG_BUSY))
    compute_busy = property(lambda s: bool(s.flags & fr.FLAG_COMPUTE_BUSY))
    error = property(lambda s: bool(s.flags & fr.FLAG_ERROR))
    rx_overrun = property(lambda s: bool(s.flags & fr.FLAG_RX_OVERRUN))
    framing_error = property(lambda s: bool(s.flags & fr.FLAG_RX_FRAMING))
    bad_type = property(lambda s: bool(s.flags & fr.FLAG_BAD_TYPE))

    @property
    def problems(self) -> list[str]:
        names = [(self.error, "accelerator error"), (self.rx_overrun, "receive overrun"),
                 (self.framing_error, "framing error"), (self.bad_type, "bad frame type")]
        return [n for bad, n in names if bad]


class BoardLink:
    """The accelerator on a board, behind the UART bridge of ``hwgen.board.BoardTop``.

    Parameters
    ----------
    cfg : AcceleratorConfig
        The configuration the bitstream was built from (frame sizes and programs follow it).
    transport : Transport
        Where the bytes go (:class:`SerialTransport` for a board).
    timeout : float
        Seconds without progress before a wait gives up with :class:`LinkError`.
    window : int
        Bytes of CMD/DIN frames that may be sent but not yet acknowledged: the bridge's
        receive FIFO (``hwgen.lib.framing.RX_FIFO_BYTES`` on the board tops).
    """

    def __init__(self, cfg: AcceleratorConfig, transport: Transport, *,
                 timeout: float = DEFAULT_TIMEOUT, window: int = fr.RX_FIFO_BYTES):
        self.cfg = cfg
        self.transport = transport
        self.timeout = timeout
        self.window = window
        self.links = [d.link for d in cfg.port_designs]   # frame sizes per port
        self.dec = fr.ReplyDecoder(max(link.dout_bytes for link in self.links))
        self._inflight: deque[int] = deque()  # sizes of unacknowledged frames, in order
        self._acked = 0                         # ACKs consumed from the decoder
        self._sent = 0                          # CMD/DIN/PORT frames sent
        # (frames sent before it, port) of every PORT frame whose results may still come
        self._port_marks: list[tuple[int, int]] = [(0, 0)]

    @classmethod
    def open(cls, cfg: AcceleratorConfig, port: str, baud: int = DEFAULT_BAUD,
             **kwargs) -> BoardLink:
        """Open the board's serial port (needs pyserial)."""
        return cls(cfg, SerialTransport(port, baud), **kwargs)

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- receiving -----------------------------------------------------------------------
    @property
    def inflight_bytes(self) -> int:
        return sum(self._inflight)

    def _take_acks(self) -> None:
        new = self.dec.reply.acks - self._acked
        if new > len(self._inflight):
            raise LinkError(f"board sent {new} ACKs for {len(self._inflight)} frames in flight")
        for _ in range(new):
            self._inflight.popleft()
        self._acked = self.dec.reply.acks

    def _poll(self, timeout: float) -> bool:
        """Read what the board sent (waiting up to ``timeout`` for the first byte)."""
        data = self.transport.read(4096, timeout)
        if data:
            try:
                self.dec.feed(data)
            except ValueError as e:
                raise LinkError(str(e)) from None
            self._take_acks()
        return bool(data)

    def _wait(self, done, what: str) -> None:
        """Read until ``done()``; a gap of ``timeout`` seconds without a byte fails."""
        while not done():
            if not self._poll(self.timeout):
                raise LinkError(f"timed out after {self.timeout:g} s waiting for {what()}")

    # ---- sending -------------------------------------------------------------------------
    def send_frames(self, frames: list[bytes]) -> None:
        """Send CMD/DIN frames, keeping at most ``window`` bytes unacknowledged. Frames are
        written in batches that fit the free window."""
        for f in frames:
            if len(f) > self.window:
                raise ValueError(f"frame of {len(f)} bytes exceeds the {self.window}-byte window")
        i = 0
        while i < len(frames):
            free = self.window - self.inflight_bytes
            batch = []
            while i < len(frames) and len(frames[i]) <= free:
                batch.append(frames[i])
                free -= len(frames[i])
                i += 1
            if batch:
                self._inflight.extend(len(f) for f in batch)
                self._sent += len(batch)
                self.transport.write(b"".join(batch))
                self._poll(0)
            else:
                need, at = len(frames[i]), f"frame {i + 1} of {len(frames)}"
                self._wait(lambda need=need: self.window - self.inflight_bytes >= need,
                           lambda need=need, at=at: f"ACKs ({self.inflight_bytes} bytes "
                                                    f"unacknowledged, {at} needs {need} free)")

    def send(self, cmds: list[int], din: list[int] = (), port: int = 0) -> None:
        """Send commands, each LOAD followed by the ``din`` beats it takes (to pod or
        engine ``port`` of a multi-pod or heterogeneous design: choose it first with
        :meth:`choose_port`)."""
        self.send_frames(fr.frames_for_program(self.links[port], list(cmds), list(din)))

    def choose_port(self, port: int) -> None:
        """Send a PORT frame: the pod or engine the next CMD and DIN frames go to and
        whose DOUT beats come back (a multi-pod or heterogeneous design)."""
        if not 0 <= port < len(self.links) or len(self.links) == 1:
            raise ValueError(f"port {port}: {self.cfg.name} has "
                             f"{len(self.links) if len(self.links) > 1 else 'no'} ports")
        self._port_marks.append((self._sent, port))
        self.send_frames([bytes([fr.T_PORT, port])])

    def _port_of(self, acks: int) -> int:
        """The port in force for a DOUT beat received after ``acks`` ACKs: that of the
        last PORT frame among the first ``acks`` frames sent (the bridge sends every
        pending ACK before a DOUT, and a DOUT taken before a PORT frame is handed
        before that frame's ACK)."""
        port = self._port_marks[0][1]
        for before, p in self._port_marks:
            if before < acks:
                port = p
        return port

    def collect(self, n: int) -> list[int]:
        """Wait for all frames to be acknowledged and ``n`` result beats; returns them."""
        self._wait(lambda: not self._inflight and len(self.dec.reply.dout) >= n,
                   lambda: f"{n} result beats and {len(self._inflight)} ACKs "
                           f"(got {len(self.dec.reply.dout)} beats)")
        return self._take_dout(n)

    def _take_dout(self, n: int) -> list[int]:
        r = self.dec.reply
        beats, r.dout, r.dout_acks = r.dout[:n], r.dout[n:], r.dout_acks[n:]
        return beats

    # ---- commands --------------------------------------------------------------------------
    def status(self) -> Status:
        """Ask for STATUS once every frame sent so far is acknowledged."""
        self._wait(lambda: not self._inflight,
                   lambda: f"ACKs before STATUS ({self.inflight_bytes} bytes unacknowledged)")
        before = len(self.dec.reply.status)
        self.transport.write(bytes([fr.T_STATUS]))
        self._wait(lambda: len(self.dec.reply.status) > before, lambda: "a STATUS reply")
        flags, cycles = self.dec.reply.status[-1]
        del self.dec.reply.status[:]
        return Status(flags, cycles)

    def check(self) -> Status:
        """:meth:`status`, raising :class:`BoardError` if it reports a problem."""
        st = self.status()
        if st.problems:
            raise BoardError(f"board reports {', '.join(st.problems)} "
                             f"(flags 0x{st.flags:02x}); press reset")
        return st

    def load(self, weights: bool, bank: int, beats: list[int], addr: int = 0) -> None:
        """LOAD_IN / LOAD_W of whole words given as ``din`` beats."""
        elems = self.cfg.w_word_elems if weights else self.cfg.in_word_elems
        bpw = self.cfg.beats_per_word(elems)
        if len(beats) % bpw:
            raise ValueError(f"{len(beats)} beats is not a whole number of {bpw}-beat words")
        self.send([cmd_load(weights, bank, addr, len(beats) // bpw)], beats)

    def compute(self, m: int, k: int, n: int, *, accumulate: bool = False, in_bank: int = 0,
                w_bank: int = 0, acc_bank: int = 0) -> None:
        self.send([cmd_compute(m, k, n, accumulate, in_bank, w_bank, acc_bank)])

    def read(self, bank: int, addr: int, count: int, *, raw: bool = True,
             relu: bool = False) -> list[int]:
        """READ ``count`` accumulator words; returns their ``dout`` beats."""
        self.send([cmd_read(bank, addr, count, raw, relu)])
        return self.collect(count * self.cfg.beats_per_word(self.cfg.C))

    def execute(self, prog: Program) -> list[int]:
        """Send a program with its operand beats; returns its result beats."""
        self.send(prog.cmds, prog.din)
        return self.collect(prog.n_dout)

    def execute_ports(self, ports) -> list[list[int]]:
        """Programs on several pods or engines of a multi-pod or heterogeneous design:
        ``ports`` is [(port, commands, din beats, result beats)], as
        :func:`hwgen.compiler.package.scaleout_layers` gives them. Each program goes
        after a PORT frame choosing its port, and its results are collected before the
        next port is chosen: a port sends results only while it is chosen, and a pod
        holding results back also holds the interconnect they leave through, so the
        ports run one after another here (the results are those of running them
        together; the time is not). Every result beat is checked to come from the port
        in force when the board sent it (the ACKs received before it say which).
        Returns each program's result beats, in the order of ``ports``."""
        ports = [(int(p), list(c), list(d), int(n)) for p, c, d, n in ports]
        out = []
        for p, cmds, din, n in ports:
            self.choose_port(p)
            self.send(cmds, din, port=p)
            r = self.dec.reply
            self._wait(lambda n=n: not self._inflight and len(r.dout) >= n,
                       lambda n=n, p=p: f"{n} result beats from port {p} "
                                        f"(got {len(r.dout)})")
            wrong = {self._port_of(a) for a in r.dout_acks} - {p}
            if wrong or len(r.dout) > n:
                raise LinkError(f"board sent {len(r.dout)} result beats while port {p} "
                                f"owed {n}" + (f" (some from port {min(wrong)})" if wrong
                                               else ""))
            out.append(self._take_dout(n))
            self._port_marks = self._port_marks[-1:]
        return out

    def run_package(self, pkg, xq: np.ndarray, *, check: bool = True) -> dict:
        """Run a network compiled by ``hwgen compile`` (:func:`hwgen.compiler.package.load_package`)
        on the board: the quantized image ``xq`` (1, C, H, W), layer by layer, the
        host's layers here; every tensor's values (``env[tensor name]``). ``check``
        asks for STATUS after each layer and raises :class:`BoardError` on a problem."""
        from ..compiler.package import run_package, run_scaleout_package

        def checked(run):
            def execute(arg):
                out = run(arg)
                if check:
                    self.check()
                return out
            return execute
        if pkg.organisation:
            return run_scaleout_package(pkg, xq, checked(self.execute_ports))
        return run_package(pkg, xq, checked(self.execute))

    def run_gemm(self, a: np.ndarray, b: np.ndarray, *, quant: Quant = Quant(),  # noqa: B008
                 mapping: MappingConfig | None = None, check: bool = True) -> np.ndarray:
        """``a @ b`` on the board (M x K times K x N, integers within ``in_bits``); with
        ``quant`` not raw, requantized as the READ command does. ``check`` asks for STATUS
        afterwards and raises :class:`BoardError` on a reported problem."""
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"cannot multiply shapes {a.shape} and {b.shape}")
        bits = self.cfg.precision.in_bits
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        for name, x in (("a", a), ("b", b)):
            if x.size and (x.min() < lo or x.max() > hi):
                raise ValueError(f"{name} has values outside the signed {bits}-bit range "
                                 f"{lo}..{hi}")
        M, K = a.shape
        prog = build_gemm_program(self.cfg, M, K, b.shape[1], a, b, mapping=mapping,
                                  quant=quant)
        out = prog.decode(self.cfg, self.execute(prog))
        if check:
            self.check()
        return out
