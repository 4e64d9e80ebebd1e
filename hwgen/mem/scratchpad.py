"""Banked scratchpad on ``amaranth.lib.memory``.

Each bank is its own memory with one write port and one synchronous read port, the shape
Yosys maps to a simple dual-port block RAM. With two banks the host fills one while the
array reads the other (double buffering). Several clients may read, each from the bank it
names; the protocol never lets two clients read the same bank at once, and where they
would, the lower-numbered client wins.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config import BufferConfig
from ..lib.checks import check_int, check_type


def _bank_bits(cfg: BufferConfig) -> int:
    return max(1, (cfg.banks - 1).bit_length())


class ReadPortSignature(wiring.Signature):
    """A read client of a buffer: bank, address and enable out, data back a cycle later."""

    def __init__(self, cfg: BufferConfig, shape):
        super().__init__({
            "bank": Out(_bank_bits(cfg)), "addr": Out(cfg.addr_bits), "en": Out(1),
            "data": In(shape),
        })


class WritePortSignature(wiring.Signature):
    """A write client of a buffer."""

    def __init__(self, cfg: BufferConfig, shape):
        super().__init__({
            "bank": Out(_bank_bits(cfg)), "addr": Out(cfg.addr_bits), "en": Out(1),
            "data": Out(shape),
        })


class Scratchpad(wiring.Component):
    """Banked buffer of ``cfg.banks`` x ``cfg.depth`` words of ``shape``.

    Parameters
    ----------
    cfg : BufferConfig
        Depth (words per bank) and number of banks.
    shape : ShapeLike
        One word, e.g. an ``ArrayLayout`` of the array's edge.
    n_read : int
        Number of read clients.
    n_write : int
        Number of write clients (1 or 2).

    Attributes
    ----------
    w, w1 : In(WritePortSignature)
        Write clients (``w1`` with ``n_write=2``). Each bank has one write port; a
        client writing a bank takes it, the first client first (the protocol never lets
        two clients write the same bank at once).
    r0, r1, ... : In(ReadPortSignature)
        Read clients; ``data`` is valid the cycle after ``en``.
    """

    def __init__(self, cfg: BufferConfig, shape, *, n_read: int = 1, n_write: int = 1):
        check_type(self, "cfg", cfg, BufferConfig)
        check_int(self, "n_read", n_read, 1, 8)
        check_int(self, "n_write", n_write, 1, 2)
        self.cfg = cfg
        self.shape = shape
        self.n_read = n_read
        self.n_write = n_write
        members = {"w": In(WritePortSignature(cfg, shape))}
        if n_write == 2:
            members["w1"] = In(WritePortSignature(cfg, shape))
        for i in range(n_read):
            members[f"r{i}"] = In(ReadPortSignature(cfg, shape))
        super().__init__(members)

    def _is(self, bank, b):
        # With one bank the bank bit is ignored.
        return 1 if self.cfg.banks == 1 else bank == b

    def elaborate(self, platform):
        m = Module()
        readers = [getattr(self, f"r{i}") for i in range(self.n_read)]
        bank_data = []
        for b in range(self.cfg.banks):
            mem = Memory(shape=self.shape, depth=self.cfg.depth, init=[])
            m.submodules[f"bank{b}"] = mem
            wp = mem.write_port()
            rp = mem.read_port()
            m.d.comb += rp.en.eq(0)
            if self.n_write == 1:
                m.d.comb += [wp.addr.eq(self.w.addr), wp.data.eq(self.w.data),
                             wp.en.eq(self.w.en & self._is(self.w.bank, b))]
            else:   # the first client wins (plain multiplexers: Yosys 0.70's ABC9 has
                    # crashed on this port written from nested conditions)
                first = Signal(name=f"w_first{b}")
                m.d.comb += [first.eq(self.w.en & self._is(self.w.bank, b)),
                             wp.addr.eq(Mux(first, self.w.addr, self.w1.addr)),
                             wp.data.eq(Mux(first, self.w.data.as_value(),
                                            self.w1.data.as_value())),
                             wp.en.eq(first | (self.w1.en & self._is(self.w1.bank, b)))]
            # Priority: the first client that names this bank drives its read port.
            for rd in reversed(readers):
                with m.If(rd.en & self._is(rd.bank, b)):
                    m.d.comb += [rp.addr.eq(rd.addr), rp.en.eq(1)]
            bank_data.append(rp.data)
        for rd in readers:
            if self.cfg.banks == 1:
                m.d.comb += rd.data.eq(bank_data[0])
                continue
            sel = Signal(range(self.cfg.banks), name="sel")  # bank of the data now out
            with m.If(rd.en):
                m.d.sync += sel.eq(rd.bank)
            with m.Switch(sel):
                for b in range(self.cfg.banks):
                    with m.Case(b):
                        m.d.comb += rd.data.eq(bank_data[b])
        return m
