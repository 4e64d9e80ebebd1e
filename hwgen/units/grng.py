"""Gaussian random number generators: a stream of ``lanes`` signed codes per beat.

Four kinds (the ``grng:`` section, :mod:`hwgen.config.grng`), each matching
:mod:`hwgen.models.grng` beat for beat:

* :class:`RlfGrng` -- RAM-based linear feedback (VIBNN's RLF-GRNG): a GFSR in RAM, one
  up/down count per lane;
* :class:`WallaceGrng` -- Wallace's pool method, four banks and one 4x4 orthogonal
  transform per group of four lanes;
* :class:`CltGrng` -- sums of uniforms from a trinomial bit source per lane;
* :class:`IcdfGrng` -- a piecewise-linear inverse normal CDF in a table.

All four offer a beat every cycle from shortly after reset (rlf, wallace: 1 cycle; clt:
1; icdf: 3) and advance only when a beat is taken, so the sequence of beats is the
same under any back-pressure. The generator state (RAMs, sources, counts) is not reset:
its power-up value is the seed, and a reset in mid-stream restarts the output pipeline
only (rlf and wallace lose no beat; clt and icdf drop the beats in flight).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, ResetSignal, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config.grng import TRANSFORM, GrngConfig, GrngKind
from ..lib.checks import check_int, check_type, reject
from ..lib.gfsr import TRINOMIALS, trinomial_advance
from .stochastic import popcount, tree_sum

__all__ = ["BitSource", "RlfGrng", "WallaceGrng", "CltGrng", "IcdfGrng", "grng_unit",
           "grng_top", "out_signature"]


def out_signature(cfg: GrngConfig) -> stream.Signature:
    """The generators' output stream: ``lanes`` signed ``bits``-wide codes per beat."""
    return stream.Signature(data.ArrayLayout(signed(cfg.bits), cfg.lanes))


class BitSource(wiring.Component):
    """Trinomial bit source: a register holding the window a_t .. a_{t+p-1} of
    a_k = a_{k-p} XOR a_{k-q}; ``bits`` shows a_t .. a_{t+B-1} and ``en`` moves the
    window on B terms (the B new ones are XORs of window bits, B <= q).

    Parameters
    ----------
    degree : int
        p, a key of :data:`hwgen.lib.gfsr.TRINOMIALS` (q is its value).
    seed : int
        Initial window (bit i = a_i), nonzero, below 2^p.
    width : int
        B, bits per step, 1 .. q.

    Attributes
    ----------
    en : In(1)
        Step this cycle.
    bits : Out(width)
        The oldest B bits of the window.
    """

    def __init__(self, degree: int, seed: int, width: int):
        if degree not in TRINOMIALS:
            reject(self, ValueError(f"BitSource degree must be one of "
                                    f"{', '.join(map(str, TRINOMIALS))}, got {degree!r}"))
        check_int(self, "seed", seed, 1, (1 << degree) - 1)
        check_int(self, "width", width, 1, TRINOMIALS[degree])
        self.degree, self.seed, self.width = degree, seed, width
        super().__init__({"en": In(1), "bits": Out(width)})

    def elaborate(self, platform):
        m = Module()
        p, q, b = self.degree, TRINOMIALS[self.degree], self.width
        window = Signal(p, init=self.seed, reset_less=True)
        new = Cat(*[window[i] ^ window[p + i - q] for i in range(b)])
        m.d.comb += self.bits.eq(window[:b])
        with m.If(self.en):
            m.d.sync += window.eq(Cat(window[b:], new))
        return m


class _Grng(wiring.Component):
    """The output stream every generator has."""

    def __init__(self, cfg: GrngConfig, kind: GrngKind):
        check_type(self, "cfg", cfg, GrngConfig)
        if cfg.kind != kind:
            reject(self, ValueError(f"{type(self).__name__} needs a {kind} config, got "
                                    f"kind {cfg.kind}"))
        self.cfg = cfg
        super().__init__({"out": Out(out_signature(cfg))})


class RlfGrng(_Grng):
    """RAM-based linear feedback generator (VIBNN's RLF-GRNG; :mod:`hwgen.models.grng`).

    The GFSR words w_k (``lanes`` bits) live in ``shift`` = s RAM banks of
    ceil(p / s) rows: word k at slot (k - p) mod (s rows), bank = slot mod s, row = slot
    div s. A step reads the s words leaving the window (lag p) and the s words at lag q,
    one of each per bank (two read ports), writes the s new words w = w_{-p} XOR w_{-q}
    as one row across the banks, and moves each lane's count by the ones entering minus
    the ones leaving. Beat n shows 2 C - p for the window w_{ns} .. w_{ns+p-1}. The
    reads of step n+1 are issued while step n is written; they never touch its words
    because 2 s <= q < p.
    """

    def __init__(self, cfg: GrngConfig):
        super().__init__(cfg, GrngKind.RLF)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        p, q, s, lanes = cfg.degree, cfg.tap, cfg.shift, cfg.lanes
        rows = cfg.rlf_rows
        span = s * rows
        seed = cfg.rlf_seed()
        init = [[0] * rows for _ in range(s)]
        for k, w in enumerate(seed):
            slot = (k - p) % span
            init[slot % s][slot // s] = w
        counts0 = [sum((w >> j) & 1 for w in seed) for j in range(lanes)]

        primed = Signal()
        adv = Signal()
        m.d.comb += [self.out.valid.eq(primed), adv.eq(primed & self.out.ready)]
        m.d.sync += primed.eq(1)

        def inc(v):
            return Mux(v == rows - 1, 0, v + 1)

        # row pointers: the write row R, and for each lag d the rows R - D1 and
        # R - D1 - 1 that its words come from (d = s D1 + r)
        ptrs, nxt = {}, {}
        for name, back in (("w", 0), ("p0", p // s), ("p1", p // s + 1),
                           ("q0", q // s), ("q1", q // s + 1)):
            ptrs[name] = Signal(range(rows), init=(-back) % rows, reset_less=True,
                                name=f"row_{name}")
            nxt[name] = Signal(range(rows), name=f"row_{name}_next")
            m.d.comb += nxt[name].eq(inc(ptrs[name]))
            with m.If(adv):
                m.d.sync += ptrs[name].eq(nxt[name])

        old = [None] * s       # the word leaving the window for new index i (lag p)
        tap = [None] * s       # the word at lag q for new index i
        new = [Signal(lanes, name=f"new{i}") for i in range(s)]
        for b in range(s):
            mem = Memory(shape=unsigned(lanes), depth=rows, init=init[b])
            m.submodules[f"bank{b}"] = mem
            for lag, d, store in (("p", p, old), ("q", q, tap)):
                r = d % s
                row = "1" if r and b >= s - r else "0"
                rp = mem.read_port()
                cur, ahead = ptrs[lag + row], nxt[lag + row]
                m.d.comb += [rp.en.eq(~primed | adv), rp.addr.eq(Mux(adv, ahead, cur))]
                store[(b + r) % s] = rp.data
            wp = mem.write_port()      # new word i = b goes to bank b, row R
            m.d.comb += [wp.en.eq(adv), wp.addr.eq(ptrs["w"]), wp.data.eq(new[b])]
        for i in range(s):
            m.d.comb += new[i].eq(old[i] ^ tap[i])

        cbits = p.bit_length()
        for j in range(lanes):
            count = Signal(cbits, init=counts0[j], reset_less=True, name=f"count{j}")
            gain = popcount([new[i][j] for i in range(s)])
            loss = popcount([old[i][j] for i in range(s)])
            with m.If(adv):
                m.d.sync += count.eq(count + gain - loss)
            m.d.comb += self.out.payload[j].eq(Cat(count, Const(0, 1)).as_signed() * 2 - p)
        return m


class WallaceGrng(_Grng):
    """Wallace generator (:mod:`hwgen.models.grng`): per group of four lanes, four RAM
    banks of ``pool / 4`` values, one read and one write port each, the read transparent
    so that a step reading the address the previous step writes sees the new value.
    Each cycle reads x_b = bank_b[addr_b], writes back the orthogonal transform y of the
    four in place, and offers y (saturated) as the beat of every ``passes``-th pass;
    ``addr_b`` walks o_b, o_b + a, o_b + 2a, ... (mod pool/4) over a pass, with the
    stride a and starts o_b of the pass from a trinomial bit source.
    """

    def __init__(self, cfg: GrngConfig):
        super().__init__(cfg, GrngKind.WALLACE)

    def _params(self, bits):
        """(stride, starts) of a pass from its parameter bits (a Value or an int)."""
        cfg = self.cfg
        mb, lo = cfg.bank_bits, max(cfg.bank_bits - 1, 0)
        if isinstance(bits, int):
            stride = ((bits & ((1 << lo) - 1)) << 1 | 1) & (cfg.bank_depth - 1)
            starts = [(bits >> (lo + b * mb)) & ((1 << mb) - 1) for b in range(TRANSFORM)]
            return stride, starts
        stride = Cat(Const(1, 1), bits[:lo])[:mb] if lo else Const(1, mb)
        return stride, [bits[lo + b * mb:lo + (b + 1) * mb] for b in range(TRANSFORM)]

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        M, mb, width = cfg.bank_depth, cfg.bank_bits, cfg.pool_bits
        nb = max(cfg.pass_bits, 1)
        lim = (1 << (cfg.bits - 1)) - 1

        primed = Signal()
        m.d.sync += primed.eq(1)
        pc = Signal(range(max(cfg.passes, 2)), reset_less=True)   # pass within passes
        last_pass = pc == cfg.passes - 1
        step = Signal(range(M), reset_less=True)
        end_of_pass = step == M - 1
        adv = Signal()
        m.d.comb += [self.out.valid.eq(primed & last_pass),
                     adv.eq(primed & (self.out.ready | ~last_pass))]
        with m.If(adv):
            m.d.sync += step.eq(Mux(end_of_pass, 0, step + 1))
            with m.If(end_of_pass):
                m.d.sync += pc.eq(Mux(last_pass, 0, pc + 1))

        for g in range(cfg.groups):
            # pass 0 uses block 0 of the source; the register starts at block 1
            seed = cfg.pass_seed(g)
            src = BitSource(cfg.pass_degree, trinomial_advance(seed, cfg.pass_degree, nb), nb)
            m.submodules[f"params{g}"] = src
            m.d.comb += src.en.eq(adv & end_of_pass)
            stride0, starts0 = self._params(seed & ((1 << nb) - 1))
            stride = Signal(mb, init=stride0, reset_less=True, name=f"stride{g}")
            nstride, nstarts = self._params(src.bits)
            with m.If(adv & end_of_pass):
                m.d.sync += stride.eq(nstride)
            pool = cfg.wallace_pool(g)
            xs = []
            writes = []
            for b in range(TRANSFORM):
                mem = Memory(shape=signed(width), depth=M, init=pool[b])
                m.submodules[f"pool{g}_{b}"] = mem
                wp = mem.write_port()
                rp = mem.read_port(transparent_for=(wp,))
                cur = Signal(mb, init=starts0[b], reset_less=True, name=f"addr{g}_{b}")
                ahead = Signal(mb, name=f"addr{g}_{b}_next")
                m.d.comb += ahead.eq(Mux(end_of_pass, nstarts[b], (cur + stride)[:mb]))
                with m.If(adv):
                    m.d.sync += cur.eq(ahead)
                m.d.comb += [rp.en.eq(~primed | adv), rp.addr.eq(Mux(adv, ahead, cur)),
                             wp.en.eq(adv), wp.addr.eq(cur)]
                xs.append(rp.data)
                writes.append(wp.data)
            x0, x1, x2, x3 = xs
            total = Signal(signed(width + 2), name=f"sum{g}")
            m.d.comb += total.eq(x0 + x1 + x2 + x3)
            even = ~total[0]
            h = [total, x0 - x1 + x2 - x3, x0 + x1 - x2 - x3, x0 - x1 - x2 + x3]
            rot = [x1, x2, x3, -x0]
            for b in range(TRANSFORM):
                y = Signal(signed(width), name=f"y{g}_{b}")
                m.d.comb += [y.eq(Mux(even, (h[b] >> 1), rot[b])), writes[b].eq(y)]
                sat = Mux(y > lim, lim, Mux(y < -lim, -lim, y))
                m.d.comb += self.out.payload[TRANSFORM * g + b].eq(sat)
        return m


class CltGrng(_Grng):
    """Central-limit generator: per lane a trinomial bit source gives K w bits a beat;
    the code 2 sum u_k - K (2^w - 1) is registered into the output."""

    def __init__(self, cfg: GrngConfig):
        super().__init__(cfg, GrngKind.CLT)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        k, w = cfg.uniforms, cfg.uniform_width
        valid = Signal()
        adv = Signal()
        # the sources are not reset, so they must not step while reset is held
        m.d.comb += [self.out.valid.eq(valid),
                     adv.eq((~valid | self.out.ready) & ~ResetSignal())]
        with m.If(adv):
            m.d.sync += valid.eq(1)
        payload = Signal(data.ArrayLayout(signed(cfg.bits), cfg.lanes), reset_less=True)
        m.d.comb += self.out.payload.eq(payload)
        for j in range(cfg.lanes):
            src = BitSource(cfg.source_degree, cfg.lane_seed(j), cfg.source_bits)
            m.submodules[f"source{j}"] = src
            m.d.comb += src.en.eq(adv)
            total = tree_sum(src.bits[i * w:(i + 1) * w] for i in range(k))
            with m.If(adv):
                m.d.sync += payload[j].eq(total * 2 - k * ((1 << w) - 1))
        return m


class IcdfGrng(_Grng):
    """Piecewise-linear inverse-CDF generator: per lane a trinomial bit source gives a
    sign and a magnitude M a beat. Stage 1 registers the sign, the octave (from the
    leading one of M), the segment within it and the interpolation fraction; stage 2
    reads the segment's (base, slope) from a table ROM; stage 3 registers
    +-((base 2^t + slope f + 2^(t+g-1)) >> (t+g))."""

    def __init__(self, cfg: GrngConfig):
        super().__init__(cfg, GrngKind.ICDF)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        u, s, t = cfg.uniform_bits, cfg.segment_bits, cfg.interp_bits
        g = cfg.table_frac - cfg.frac_bits
        table = cfg.icdf_table()
        bb = max(v.bit_length() for v, _ in table) + 1
        sb = max(abs(d).bit_length() for _, d in table) + 1
        lim = (1 << (cfg.bits - 1)) - 1
        below_bits = u - 1 - s

        v1, v2, valid = Signal(), Signal(), Signal()
        adv = Signal()
        m.d.comb += [self.out.valid.eq(valid),
                     adv.eq((~valid | self.out.ready) & ~ResetSignal())]
        with m.If(adv):
            m.d.sync += [v1.eq(1), v2.eq(v1), valid.eq(v2)]
        payload = Signal(data.ArrayLayout(signed(cfg.bits), cfg.lanes), reset_less=True)
        m.d.comb += self.out.payload.eq(payload)
        words = [(b & ((1 << bb) - 1)) | ((d & ((1 << sb) - 1)) << bb) for b, d in table]

        for j in range(cfg.lanes):
            src = BitSource(cfg.source_degree, cfg.lane_seed(j), cfg.source_bits)
            m.submodules[f"source{j}"] = src
            m.d.comb += src.en.eq(adv)
            sign, mag = src.bits[0], src.bits[1:]
            # stage 1: octave = u - bitlength(M), the bits below the leading one
            octave = Signal(range(u + 1), name=f"octave{j}")
            m.d.comb += octave.eq(u)
            for i in range(u):
                with m.If(mag[i]):
                    m.d.comb += octave.eq(u - 1 - i)
            norm = Signal(u, name=f"norm{j}")
            m.d.comb += norm.eq((mag << octave)[:u])
            below = norm[:below_bits]
            frac = (below[below_bits - t:] if below_bits >= t
                    else Cat(Const(0, t - below_bits), below))
            sign1 = Signal(reset_less=True, name=f"sign1_{j}")
            index1 = Signal(range(len(table)), reset_less=True, name=f"index1_{j}")
            frac1 = Signal(t, reset_less=True, name=f"frac1_{j}")
            with m.If(adv):
                m.d.sync += [sign1.eq(sign), frac1.eq(frac),
                             index1.eq(octave * cfg.segments + norm[below_bits:u - 1])]
            # stage 2: the table
            rom = Memory(shape=unsigned(bb + sb), depth=len(table), init=words)
            m.submodules[f"table{j}"] = rom
            rp = rom.read_port()
            m.d.comb += [rp.en.eq(adv), rp.addr.eq(index1)]
            sign2 = Signal(reset_less=True, name=f"sign2_{j}")
            frac2 = Signal(t, reset_less=True, name=f"frac2_{j}")
            with m.If(adv):
                m.d.sync += [sign2.eq(sign1), frac2.eq(frac1)]
            base, slope = rp.data[:bb].as_signed(), rp.data[bb:].as_signed()
            # stage 3: interpolate, round, sign
            value = Signal(signed(bb + t + 2), name=f"value{j}")
            m.d.comb += value.eq(((base << t) + slope * frac2 + (1 << (t + g - 1))) >> (t + g))
            sat = Mux(value > lim, lim, Mux(value < 0, 0, value))
            with m.If(adv):
                m.d.sync += payload[j].eq(Mux(sign2, -sat, sat))
        return m


_UNITS = {GrngKind.RLF: RlfGrng, GrngKind.WALLACE: WallaceGrng, GrngKind.CLT: CltGrng,
          GrngKind.ICDF: IcdfGrng}

#: Cycles from reset to the first valid beat, per kind.
LATENCY = {GrngKind.RLF: 1, GrngKind.WALLACE: 1, GrngKind.CLT: 1, GrngKind.ICDF: 3}


def grng_unit(cfg: GrngConfig) -> _Grng:
    """The generator component of ``cfg.kind``."""
    return _UNITS[cfg.kind](cfg)


def grng_top(cfg: GrngConfig) -> wiring.Component:
    """The stand-alone module ``hwgen generate`` writes for a config's ``grng:`` section."""
    return grng_unit(cfg)
