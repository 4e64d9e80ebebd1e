"""Banked scratchpad on ``amaranth.lib.memory``.

Each bank is its own memory with one write port and one synchronous read port, the shape
Yosys maps to a simple dual-port block RAM. With two banks the host fills one while the
array reads the other (double buffering). Several clients may read, each from the bank it
names; the protocol never lets two clients read the same bank at once, and where they
would, the lower-numbered client wins.

A read is pipelined in three registers (:data:`~hwgen.lib.schedule.BUFFER_READ_LATENCY`):
the request (bank, address, enable) is registered, so the client's address arithmetic
and the memory's address decoding are on separate paths; the memory reads
synchronously (a block RAM's own output latch); the bank multiplexer's output is
registered, so the client's logic starts from a flip-flop rather than from a block RAM's
slow clock-to-output.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config import BufferConfig
from ..lib.checks import check_int, check_type
from ..lib.schedule import BUFFER_READ_LATENCY


def _bank_bits(cfg: BufferConfig) -> int:
    return max(1, (cfg.banks - 1).bit_length())


class ReadPortSignature(wiring.Signature):
    """A read client of a buffer: bank, address and enable out, data back
    :data:`~hwgen.lib.schedule.BUFFER_READ_LATENCY` cycles later."""

    def __init__(self, cfg: BufferConfig, shape):
        super().__init__({
            "bank": Out(_bank_bits(cfg)), "addr": Out(cfg.addr_bits), "en": Out(1),
            "data": In(shape),
        })


class PairReadPortSignature(wiring.Signature):
    """A read client that gets two consecutive words at once: ``data`` holds the word at
    ``addr`` and ``data_next`` the one at ``addr + 1`` (modulo the depth), both
    :data:`~hwgen.lib.schedule.BUFFER_READ_LATENCY` cycles after ``en``."""

    def __init__(self, cfg: BufferConfig, shape):
        super().__init__({
            "bank": Out(_bank_bits(cfg)), "addr": Out(cfg.addr_bits), "en": Out(1),
            "data": In(shape), "data_next": In(shape),
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
    pair : bool
        The first read client reads two consecutive words per cycle
        (:class:`PairReadPortSignature`): each bank is then two memories of half the
        depth, one for the even and one for the odd addresses.

    Attributes
    ----------
    w, w1 : In(WritePortSignature)
        Write clients (``w1`` with ``n_write=2``). Each bank has one write port; a
        client writing a bank takes it, the first client first (the protocol never lets
        two clients write the same bank at once).
    r0, r1, ... : In(ReadPortSignature)
        Read clients; ``data`` is valid :attr:`read_latency` cycles after ``en`` and
        holds until the next read's data arrives.
    """

    #: Cycles from a read request to its data.
    read_latency = BUFFER_READ_LATENCY

    def __init__(self, cfg: BufferConfig, shape, *, n_read: int = 1, n_write: int = 1,
                 pair: bool = False):
        check_type(self, "cfg", cfg, BufferConfig)
        check_int(self, "n_read", n_read, 1, 8)
        check_int(self, "n_write", n_write, 1, 2)
        self.cfg = cfg
        self.shape = shape
        self.n_read = n_read
        self.n_write = n_write
        self.pair = bool(pair)
        members = {"w": In(WritePortSignature(cfg, shape))}
        if n_write == 2:
            members["w1"] = In(WritePortSignature(cfg, shape))
        for i in range(n_read):
            sig = PairReadPortSignature if i == 0 and self.pair else ReadPortSignature
            members[f"r{i}"] = In(sig(cfg, shape))
        super().__init__(members)

    def _is(self, bank, b):
        # With one bank the bank bit is ignored.
        return 1 if self.cfg.banks == 1 else bank == b

    def elaborate(self, platform):
        m = Module()
        readers = [getattr(self, f"r{i}") for i in range(self.n_read)]
        # The requests as registered (stage 1): per client its enable and bank (where
        # its data comes from, two cycles on); with one bank there is nothing to select.
        req = [(Signal(name=f"r{i}_en_q"), Signal(range(self.cfg.banks), name=f"r{i}_bank_q"))
               for i in range(self.n_read)] if self.cfg.banks > 1 else [None] * self.n_read
        for rd, q in zip(readers, req):
            if q is not None:
                m.d.sync += q[0].eq(rd.en)
                with m.If(rd.en):
                    m.d.sync += q[1].eq(rd.bank)
        bank_data, bank_next = [], []
        for b in range(self.cfg.banks):
            if self.pair:
                data, nxt = self._pair_bank(m, b, readers)
                bank_next.append(nxt)
            else:
                mem = Memory(shape=self.shape, depth=self.cfg.depth, init=[])
                m.submodules[f"bank{b}"] = mem
                wp, rp = mem.write_port(), mem.read_port()
                self._write(m, wp, b, self.w.addr, 1)
                # The read port's address and enable are the request register.
                m.d.sync += rp.en.eq(0)
                # Priority: the first client that names this bank drives its read port.
                for rd in reversed(readers):
                    with m.If(rd.en & self._is(rd.bank, b)):
                        m.d.sync += [rp.addr.eq(rd.addr), rp.en.eq(1)]
                data = rp.data
            bank_data.append(data)
        for i, (rd, q) in enumerate(zip(readers, req)):
            outs = [(rd.data, bank_data)] + ([(rd.data_next, bank_next)] if i == 0 and self.pair
                                             else [])
            if self.cfg.banks == 1:
                m.d.sync += [port.eq(src[0]) for port, src in outs]
                continue
            en_q, bank_q = q
            sel = Signal(range(self.cfg.banks), name=f"r{i}_sel")  # bank of the data now out
            with m.If(en_q):
                m.d.sync += sel.eq(bank_q)
            with m.Switch(sel):
                for b in range(self.cfg.banks):
                    with m.Case(b):
                        m.d.sync += [port.eq(src[b]) for port, src in outs]
        return m

    def _write(self, m, wp, b, addr_of, keep):
        """Drive write port ``wp`` of bank ``b``: address ``addr_of(client address)``,
        enabled where ``keep(client address)`` holds."""
        addr = (lambda a: a) if not callable(addr_of) else addr_of
        ok = (lambda a: 1) if not callable(keep) else keep
        if self.n_write == 1:
            m.d.comb += [wp.addr.eq(addr(self.w.addr)), wp.data.eq(self.w.data),
                         wp.en.eq(self.w.en & self._is(self.w.bank, b) & ok(self.w.addr))]
        else:   # the first client wins (plain multiplexers: Yosys 0.70's ABC9 has
                # crashed on this port written from nested conditions)
            first = Signal(name=f"w_first{b}")
            m.d.comb += [first.eq(self.w.en & self._is(self.w.bank, b) & ok(self.w.addr)),
                         wp.addr.eq(Mux(first, addr(self.w.addr), addr(self.w1.addr))),
                         wp.data.eq(Mux(first, self.w.data.as_value(),
                                        self.w1.data.as_value())),
                         wp.en.eq(first | (self.w1.en & self._is(self.w1.bank, b)
                                           & ok(self.w1.addr)))]

    def _pair_bank(self, m, b, readers):
        """Bank b as an even and an odd memory; the first reader gets the words at addr
        and addr + 1, the others the word at addr."""
        depth = self.cfg.depth
        halves = []
        for parity, d in ((0, (depth + 1) // 2), (1, depth // 2)):
            mem = Memory(shape=self.shape, depth=max(1, d), init=[])
            m.submodules[f"bank{b}_{'odd' if parity else 'even'}"] = mem
            wp, rp = mem.write_port(), mem.read_port()
            self._write(m, wp, b, lambda a: a[1:], lambda a, p=parity: a[0] == p)
            halves.append(rp)
        # Reader r addresses: even memory ((a + 1) >> 1), odd memory (a >> 1); the
        # half-addresses are computed before the request register.
        en_q = Signal(name=f"ren{b}_q")
        odd_q = Signal(name=f"odd_q{b}")    # the address requested was odd
        m.d.sync += en_q.eq(0)
        for rd in reversed(readers):
            with m.If(rd.en & self._is(rd.bank, b)):
                m.d.sync += [halves[0].addr.eq((rd.addr + 1) >> 1),
                             halves[1].addr.eq(rd.addr[1:]), en_q.eq(1), odd_q.eq(rd.addr[0])]
        m.d.comb += [h.en.eq(en_q) for h in halves]
        odd = Signal(name=f"odd_{b}")   # the address read last was odd
        with m.If(en_q):
            m.d.sync += odd.eq(odd_q)
        data, nxt = Signal(self.shape, name=f"pd{b}"), Signal(self.shape, name=f"pn{b}")
        m.d.comb += [data.eq(Mux(odd, halves[1].data.as_value(), halves[0].data.as_value())),
                     nxt.eq(Mux(odd, halves[0].data.as_value(), halves[1].data.as_value()))]
        return data, nxt
