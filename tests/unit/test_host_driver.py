"""The board driver (hwgen.host.driver): GEMMs end to end through the board core on the
Amaranth simulator, bit-exact against hwgen.models.gemm, plus its failure paths."""
import sys
import types
from typing import ClassVar

import numpy as np
import pytest

from hwgen.lib import framing as fr
from hwgen.config import WS, MappingConfig, load_config
from hwgen.host import driver as drv
from hwgen.host.driver import BoardError, BoardLink, LinkError, PyserialMissing
from hwgen.compiler import Quant, input_words, weight_words
from hwgen.lib.beats import pack_beats, unpack_beats
from hwgen.models.gemm import gemm, random_operands, requantize

from ..fixtures import variant
from sim_tb.board_sim import SimBoardTransport


def configs():
    return {
        "ice40": load_config("ice40"),
        "tiny": load_config("tiny"),
        "tiny-ws-beat2": variant("tiny", dataflow=WS, beat=2),
    }


def sim_link(cfg, *, window=fr.RX_FIFO_BYTES, timeout=drv.DEFAULT_TIMEOUT, **kw):
    t = SimBoardTransport(cfg, fifo_bytes=window, **kw)
    return BoardLink(cfg, t, window=window, timeout=timeout), t


def expected(cfg, a, b, quant):
    want = gemm(a, b)
    if not quant.raw:
        want = requantize(want, quant.bias, quant.mult, quant.shift, cfg.precision.out_bits,
                          quant.relu)
    return want


def random_quant(rng, cfg, N):
    return Quant(raw=False, mult=int(rng.integers(1, 1 << cfg.precision.mult_bits)),
                 shift=int(rng.integers(4, 12)), relu=bool(rng.integers(0, 2)),
                 bias=tuple(int(x) for x in rng.integers(-3000, 3000, size=N)))


@pytest.mark.parametrize("name,seed,window,requant,mapping,gemms", [
    ("ice40", 1, 24, False, None, 2),
    ("ice40", 2, 512, True, MappingConfig(2, 3, 2), 2),
    ("tiny", 3, 40, True, None, 1),
    ("tiny-ws-beat2", 4, 512, False, MappingConfig(4, 4, 4, ("n", "m", "k")), 1),
])
def test_run_gemm_bit_exact_in_simulation(name, seed, window, requant, mapping, gemms):
    cfg = configs()[name]
    rng = np.random.default_rng(seed)
    link, t = sim_link(cfg, window=window)
    try:
        for _ in range(gemms):  # more than one: the driver's state carries over
            # Shapes that are not multiples of the array (K > R: more than one k step).
            M, N = (int(x) for x in rng.integers(1, cfg.R + 3, size=2))
            K = int(rng.integers(cfg.R + 1, 2 * cfg.R + 2))
            a, b = random_operands(rng, M, K, N, cfg.precision.in_bits)
            quant = random_quant(rng, cfg, N) if requant else Quant()
            got = link.run_gemm(a, b, quant=quant, mapping=mapping)
            want = expected(cfg, a, b, quant)
            assert got.shape == (M, N)
            assert (got == want).all(), f"{name} {M}x{K}x{N}\n{got}\n!=\n{want}"
        st = link.status()
        # No receive overrun: the window held even where the program is larger than it.
        assert st.flags == 0 and st.compute_cycles > 0 and not st.problems
        assert window == fr.RX_FIFO_BYTES or t.bytes_in > 3 * window
        assert not link._inflight
    finally:
        link.close()


def test_load_compute_read_helpers():
    cfg = load_config("ice40")
    rng = np.random.default_rng(7)
    a, b = random_operands(rng, 3, 4, 2, cfg.precision.in_bits)
    link, _ = sim_link(cfg)
    try:
        beat, bits = cfg.host.beat_elems, cfg.precision.in_bits
        link.load(False, 0, pack_beats(input_words(cfg, a), beat, bits))
        link.load(True, 1, pack_beats(weight_words(cfg, b), beat, bits))
        link.compute(3, 4, 2, in_bank=0, w_bank=1, acc_bank=0)
        rows = -(-3 // cfg.R) * cfg.R  # OS: accumulator words of the one column tile
        beats = link.read(0, 0, rows)
        assert len(beats) == rows * cfg.beats_per_word(cfg.C)
    finally:
        link.close()
    got = unpack_beats(beats, cfg.C, beat, cfg.acc_bits)[:3, :2]
    assert (got == gemm(a, b)).all()


def test_dead_link_times_out_naming_what_it_waited_for():
    cfg = load_config("ice40")
    a = np.ones((3, 5), dtype=np.int64)
    b = np.ones((5, 4), dtype=np.int64)
    # Small window: the driver stops for ACKs that never come.
    link, t = sim_link(cfg, window=24, timeout=0.01, connected=False)
    with pytest.raises(LinkError, match=r"timed out after 0.01 s waiting for ACKs") as e:
        link.run_gemm(a, b)
    assert "\n" not in str(e.value)
    assert t.cycles <= 2 * 0.01 * t.cycles_per_s  # simulated time, bounded
    link.close()
    # Whole program fits the window: the wait is for the results.
    link, _ = sim_link(cfg, timeout=0.005, connected=False)
    with pytest.raises(LinkError, match=r"waiting for \d+ result beats"):
        link.run_gemm(a, b)
    link.close()


class Scripted:
    """A fake board: answers each STATUS request with ``status`` bytes, optionally
    preceded by ``junk``; acknowledges nothing."""

    def __init__(self, status=None, junk=b""):
        self.status, self.junk, self.out, self.written = status, junk, b"", b""

    def write(self, data):
        self.written += data
        if data == bytes([fr.T_STATUS]) and self.status is not None:
            self.out += self.junk + self.status

    def read(self, n, timeout):
        data, self.out = self.out[:n], self.out[n:]
        return data


def test_status_flags_and_board_error():
    cfg = load_config("ice40")
    reply = bytes([fr.R_STATUS, fr.FLAG_ERROR | fr.FLAG_RX_OVERRUN]) + (1234).to_bytes(4, "little")
    link = BoardLink(cfg, Scripted(reply))
    st = link.status()
    assert st.error and st.rx_overrun and not st.busy and st.compute_cycles == 1234
    with pytest.raises(BoardError, match="accelerator error, receive overrun"):
        link.check()


def test_silent_board_and_garbage():
    cfg = load_config("ice40")
    with pytest.raises(LinkError, match="waiting for a STATUS reply"):
        BoardLink(cfg, Scripted(None), timeout=0.01).status()
    with pytest.raises(LinkError, match="unexpected byte 0x55"):
        BoardLink(cfg, Scripted(b"", junk=b"\x55")).status()


def test_operand_checks():
    link = BoardLink(load_config("ice40"), Scripted())
    with pytest.raises(ValueError, match="outside the signed 8-bit range"):
        link.run_gemm(np.full((2, 2), 200), np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="cannot multiply"):
        link.run_gemm(np.ones((2, 3)), np.ones((2, 2)))
    link = BoardLink(variant("tiny", beat=2), Scripted())
    with pytest.raises(ValueError, match="whole number of 2-beat words"):
        link.load(False, 0, [0])
    assert link.transport.written == b""


def test_missing_pyserial(monkeypatch):
    monkeypatch.setitem(sys.modules, "serial", None)  # import serial -> ImportError
    with pytest.raises(PyserialMissing) as e:
        BoardLink.open(load_config("ice40"), "/dev/ttyUSB1")
    msg = str(e.value)
    assert "pip install pyserial==3.5" in msg and "\n" not in msg
    assert isinstance(e.value, ImportError) and isinstance(e.value, LinkError)


class FakeSerial:
    """Stands in for serial.Serial: loops STATUS requests back as an idle STATUS."""
    instances: ClassVar[list] = []

    def __init__(self, port, baud, **kw):
        if port == "/dev/missing":
            raise OSError("no such device")
        self.port, self.baud, self.kw = port, baud, kw
        self.timeout, self.buf, self.closed = kw.get("timeout"), b"", False
        FakeSerial.instances.append(self)

    def reset_input_buffer(self):
        self.buf = b""

    def write(self, data):
        if data == bytes([fr.T_STATUS]):
            self.buf += bytes([fr.R_STATUS, 0, 9, 0, 0, 0])

    def flush(self):
        pass

    @property
    def in_waiting(self):
        return len(self.buf)

    def read(self, n):
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def close(self):
        self.closed = True


def test_serial_transport_with_fake_pyserial(monkeypatch):
    fake = types.ModuleType("serial")
    fake.Serial, fake.SerialException = FakeSerial, type("SerialException", (OSError,), {})
    monkeypatch.setitem(sys.modules, "serial", fake)
    with BoardLink.open(load_config("ice40"), "/dev/ttyUSB1", baud=57600) as link:
        st = link.status()
        assert st.compute_cycles == 9 and st.flags == 0
    ser = FakeSerial.instances[-1]
    assert (ser.port, ser.baud) == ("/dev/ttyUSB1", 57600)
    assert (ser.kw["bytesize"], ser.kw["parity"], ser.kw["stopbits"]) == (8, "N", 1)
    assert ser.closed
    with pytest.raises(LinkError, match="cannot open serial port '/dev/missing'"):
        BoardLink.open(load_config("ice40"), "/dev/missing")
