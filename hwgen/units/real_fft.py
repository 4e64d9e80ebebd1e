"""Real-input FFT: the spectrum of a real k-point block from one k/2-point complex FFT.

:class:`RealFftParallel` packs the even and odd samples of a real block into one complex
vector of N = k/2 points, transforms it with the project's parallel
:class:`~hwgen.units.fft.CirculantFft` (``per_stage`` scaling, one bit of input
headroom) and splits the result into bins 0..N of the k-point spectrum in one register
stage. The arithmetic is :mod:`hwgen.models.real_fft`, bit for bit; the result has the
units of the k-point ``CirculantFft`` for the same real input (X/k) and its half-spectrum
packing ``re[0..N], im[1..N-1]`` is the layer's (``real_input``), so the unit can take the
place of the layer's forward FFT with the same latency, ``log2 k`` cycles.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import CirculantConfig, FftConfig
from ..lib.checks import reject as _reject
from ..lib.fixed import split_twiddles
from .fft import CirculantFft
from .rtl_arith import round_shift as _round_shift
from .rtl_arith import saturate as _sat


def half_spectrum_ports(cfg: FftConfig) -> dict:
    """The ports of a forward transform of real blocks to half-spectrum words."""
    return {
        "i_valid": In(1),
        "i_re": In(data.ArrayLayout(signed(cfg.in_bits), cfg.k)),
        "o_valid": Out(1),
        "o_spec": Out(data.ArrayLayout(signed(cfg.out_bits), cfg.k)),
    }


class RealFftParallel(wiring.Component):
    """Pipelined real-input FFT of ``cfg.k`` points on a k/2-point complex core.

    A block enters every cycle. The core's ``log2 k - 1`` butterfly stages are followed by
    the split stage: for each bin f in 0..k/2 the sum and difference of core bins f and
    k/2 - f, one constant complex multiplication by ``-i W_k^f`` (bins f and k/2 - f share
    its four products; the trivial twiddles of bins 0, k/4 and k/2 are wiring), one
    rounding and saturation, then the output register.

    The split stage has one adder more on its path than a butterfly stage (the sum or
    difference before the multiplication); ``split_stages=2`` puts a register after the
    products, for one more cycle of latency.

    Parameters
    ----------
    cfg : FftConfig
        Block size k (power of two, 8..64), ``in_bits``, ``out_bits`` (at least
        ``in_bits``), ``tw_bits``; ``per_stage`` scaling only. ``architecture`` and
        ``real_input`` are not consulted.
    split_stages : int
        Register stages of the split: 1 (the default; the latency of the k-point
        ``CirculantFft``) or 2.

    Attributes
    ----------
    i_valid : In(1)
        A block enters this cycle.
    i_re : In(ArrayLayout(signed(in_bits), k))
        Real samples in natural order.
    o_valid : Out(1)
        ``i_valid`` delayed by :attr:`latency` cycles.
    o_spec : Out(ArrayLayout(signed(out_bits), k))
        The spectrum ``re[0..k/2]`` then ``im[1..k/2-1]``
        (:func:`hwgen.models.real_fft.real_fft_fixed`).
    """

    def __init__(self, cfg: FftConfig, *, split_stages: int = 1):
        if not isinstance(cfg, FftConfig):
            _reject(self, TypeError(f"cfg must be an FftConfig, not {cfg!r}"))
        try:
            cfg.check_real_fft()
        except ValueError as e:
            _reject(self, e)
        if split_stages not in (1, 2):
            _reject(self, ValueError(f"split_stages must be 1 or 2, not {split_stages!r}"))
        self.split_stages = split_stages
        self.cfg = cfg
        self.core_cfg = cfg.real_fft_core()
        super().__init__(half_spectrum_ports(cfg))

    @property
    def latency(self) -> int:
        """The core's ``log2(k/2)`` stages and the split's: ``log2 k`` with one split
        stage, the same as the k-point :class:`~hwgen.units.fft.CirculantFft`."""
        return self.core_cfg.stages + self.split_stages

    def elaborate(self, platform):
        cfg = self.cfg
        k, N, F = cfg.k, cfg.k // 2, cfg.tw_frac
        ob = cfg.out_bits
        m = Module()

        m.submodules.core = core = CirculantFft(self.core_cfg)
        m.d.comb += core.i_valid.eq(self.i_valid)
        for t in range(N):
            m.d.comb += [core.i_re[t].eq(self.i_re[2 * t]),
                         core.i_im[t].eq(self.i_re[2 * t + 1])]
        zr = [core.o_re[t] for t in range(N)]
        zi = [core.o_im[t] for t in range(N)]

        # sums and differences of the bins g and N - g, g = 0..N/2; a bin f > N/2 uses
        # those of g = N - f: S_f = (sr, -si), D_f = (-dr, di)
        base = {}
        for g in range(N // 2 + 1):
            a, b = g % N, (N - g) % N
            if a == b:   # bins 0 and N/2: S = 2 Re Z, D = 2i Im Z
                base[g] = (zr[a] << 1, None, None, zi[a] << 1)
                continue
            sig = {}
            for name, v in (("sr", zr[a] + zr[b]), ("si", zi[a] - zi[b]),
                            ("dr", zr[a] - zr[b]), ("di", zi[a] + zi[b])):
                sig[name] = Signal(signed(self.core_cfg.out_bits + 1), name=f"split{g}_{name}")
                m.d.comb += sig[name].eq(v)
            base[g] = (sig["sr"], sig["si"], sig["dr"], sig["di"])

        products, staged = {}, {}

        def stage(v, name):
            """``v`` itself, or with ``split_stages=2`` a register holding it (one per
            operand or product)."""
            if self.split_stages == 1:
                return v
            if name not in staged:
                staged[name] = Signal(v.shape(), name=f"{name}_q")
                m.d.sync += staged[name].eq(v)
            return staged[name]

        def term(coef, name, v):
            """``coef * v`` as (sign, expression), or None for 0; one product signal per
            magnitude and operand, shared by the bins that need it."""
            if coef == 0 or v is None:
                return None
            sign = 1 if coef > 0 else -1
            mag = abs(coef)
            if mag & (mag - 1) == 0:
                return sign, stage(v, name) << (mag.bit_length() - 1)
            key = (mag, name)
            if key not in products:
                p = Signal(signed(len(v) + mag.bit_length()),
                           name=f"prod_{name}_{mag}")
                m.d.comb += p.eq(v * mag)
                products[key] = stage(p, f"prod_{name}_{mag}")
            return sign, products[key]

        def total(terms):
            acc = 0
            for t in terms:
                if t is None:
                    continue
                sign, v = t
                acc = acc + v if sign > 0 else acc - v
            return acc

        tw = split_twiddles(k, cfg.tw_bits)
        s = cfg.real_fft_post_shift()
        out_re, out_im = {}, {}
        for f in range(N + 1):
            g, e = (f, 1) if f <= N // 2 else (N - f, -1)
            sr, si, dr, di = base[g]
            cr, ci = tw[f]
            # num_r = S_r 2^F + c_r D_i + c_i D_r;  num_i = S_i 2^F - c_r D_r + c_i D_i
            num_r = total([term(1 << F, f"sr{g}", sr), term(cr, f"di{g}", di),
                           term(e * ci, f"dr{g}", dr)])
            out_re[f] = _sat(_round_shift(num_r, s), ob)
            if 0 < f < N:
                num_i = total([term(e << F, f"si{g}", si), term(-e * cr, f"dr{g}", dr),
                               term(ci, f"di{g}", di)])
                out_im[f] = _sat(_round_shift(num_i, s), ob)

        words = [out_re[f] for f in range(N + 1)] + [out_im[f] for f in range(1, N)]
        for w, v in enumerate(words):
            r = Signal(signed(ob), name=f"spec{w}")
            m.d.sync += r.eq(v)
            m.d.comb += self.o_spec[w].eq(r)
        valid = core.o_valid
        for t in range(self.split_stages):
            nv = Signal(name=f"split_valid{t}" if t else "split_valid")
            m.d.sync += nv.eq(valid)
            valid = nv
        m.d.comb += self.o_valid.eq(valid)
        return m


class KPointHalfSpectrumFft(wiring.Component):
    """The k-point alternative to :class:`RealFftParallel`, as the circulant layer wires
    it without ``real_fft``: :class:`CirculantFft` of ``cfg.forward_transform()`` with the
    half-spectrum words taken from its outputs, behind the ports of
    :class:`RealFftParallel` (what benchmarks/real_fft_area.py compares)."""

    def __init__(self, cfg: CirculantConfig):
        if not isinstance(cfg, CirculantConfig):
            _reject(self, TypeError(f"cfg must be a CirculantConfig, not {cfg!r}"))
        self.cfg = cfg
        super().__init__(half_spectrum_ports(cfg))

    @property
    def latency(self) -> int:
        return self.cfg.stages      # CirculantFft's

    def elaborate(self, platform):
        h = self.cfg.k // 2
        m = Module()
        m.submodules.fft = fft = CirculantFft(self.cfg.forward_transform())
        m.d.comb += [fft.i_valid.eq(self.i_valid), fft.i_re.eq(self.i_re),
                     self.o_valid.eq(fft.o_valid)]
        for f in range(h + 1):
            m.d.comb += self.o_spec[f].eq(fft.o_re[f])
        for f in range(1, h):
            m.d.comb += self.o_spec[h + f].eq(fft.o_im[f])
        return m
