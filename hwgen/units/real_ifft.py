"""Real-output IFFT: a real k-point block from its half spectrum with one k/2-point
complex IFFT.

:class:`RealIfftParallel` merges bins 0..k/2 of a conjugate-symmetric spectrum into one
complex vector of N = k/2 points in one register stage, transforms it with the project's
parallel :class:`~hwgen.units.fft.CirculantFft` (inverse, ``per_stage``, one
bit of headroom) and reads the even and odd output samples from its real and imaginary
parts. The arithmetic is :mod:`hwgen.models.real_ifft`, bit for bit; the result has the
units of the real part of the k-point inverse ``CirculantFft`` for the completed spectrum,
and the input is the layer's half-spectrum packing ``re[0..N], im[1..N-1]``, so the unit
can take the place of the layer's IFFT with the same latency, ``log2 k`` cycles.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import FftConfig
from ..lib.checks import reject as _reject
from ..lib.fixed import merge_twiddles
from .fft import CirculantFft
from .rtl_arith import round_shift as _round_shift
from .rtl_arith import saturate as _sat


class RealIfftParallel(wiring.Component):
    """Pipelined real-output IFFT of ``cfg.k`` points on a k/2-point complex core.

    A spectrum enters every cycle. The merge stage forms, for each f in 0..k/2-1, the
    sum and difference of bin f and the conjugate of bin k/2 - f and one constant complex
    multiplication by ``i conj(W_k^f)`` (bins f and k/2 - f share its four products; the
    trivial twiddles of bins 0 and k/4 are wiring), rounds, saturates and registers; the
    core's ``log2 k - 1`` butterfly stages follow.

    Parameters
    ----------
    cfg : FftConfig
        The k-point IFFT this replaces: k (power of two, 8..64), ``in_bits`` (spectrum
        words), ``out_bits`` (results, at least ``in_bits``), ``tw_bits``; ``per_stage``
        scaling only. ``architecture`` and ``real_input`` are not consulted.
    merge_stages : int
        1 (default): the merge is one register stage. 2: a register after its products
        (and the sums they are added to) shortens the path by a multiplier for one more
        cycle of latency.

    Attributes
    ----------
    i_valid : In(1)
        A spectrum enters this cycle.
    i_spec : In(ArrayLayout(signed(in_bits), k))
        Bins 0..k/2: ``re[0..k/2]`` then ``im[1..k/2-1]``.
    o_valid : Out(1)
        ``i_valid`` delayed by :attr:`latency` cycles.
    o_re : Out(ArrayLayout(signed(out_bits), k))
        The real block in natural order (:func:`hwgen.models.real_ifft.real_ifft_fixed`).
    """

    def __init__(self, cfg: FftConfig, *, merge_stages: int = 1):
        if not isinstance(cfg, FftConfig):
            _reject(self, TypeError(f"cfg must be an FftConfig, not {cfg!r}"))
        try:
            cfg.check_real_ifft()
        except ValueError as e:
            _reject(self, e)
        if merge_stages not in (1, 2):
            _reject(self, ValueError(f"merge_stages must be 1 or 2, not {merge_stages!r}"))
        self.merge_stages = merge_stages
        self.cfg = cfg
        self.core_cfg = cfg.real_ifft_core()
        super().__init__({
            "i_valid": In(1),
            "i_spec": In(data.ArrayLayout(signed(cfg.in_bits), cfg.k)),
            "o_valid": Out(1),
            "o_re": Out(data.ArrayLayout(signed(cfg.out_bits), cfg.k)),
        })

    @property
    def latency(self) -> int:
        """The merge stage(s) and the core's ``log2(k/2)`` stages: ``log2 k`` (the same as
        the k-point :class:`~hwgen.units.fft.CirculantFft`) with one merge
        stage."""
        return self.merge_stages + self.core_cfg.stages

    def elaborate(self, platform):
        cfg = self.cfg
        k, N, F = cfg.k, cfg.k // 2, cfg.tw_frac
        wb = cfg.in_bits + 1
        m = Module()

        def yr(f):
            return self.i_spec[f]

        def yi(f):   # bins 0 and N are real
            return self.i_spec[N + f] if 0 < f < N else None

        tw = merge_twiddles(k, cfg.tw_bits)
        m.submodules.core = core = CirculantFft(self.core_cfg, inverse=True)
        valid = self.i_valid
        for t in range(self.merge_stages):
            nv = Signal(name=f"merge_valid{t}")
            m.d.sync += nv.eq(valid)
            valid = nv
        m.d.comb += core.i_valid.eq(valid)

        def stage(v, name):
            """``v`` itself, or with ``merge_stages=2`` a register holding it."""
            if self.merge_stages == 1:
                return v
            r = Signal(signed(len(v)), name=f"{name}_q")
            m.d.sync += r.eq(v)
            return r

        def merged(f, num_r, num_i):
            r = Signal(signed(wb), name=f"merge{f}_re")
            i = Signal(signed(wb), name=f"merge{f}_im")
            m.d.sync += [r.eq(_sat(_round_shift(num_r, F + 1), wb)),
                         i.eq(_sat(_round_shift(num_i, F + 1), wb))]
            m.d.comb += [core.i_re[f].eq(r), core.i_im[f].eq(i)]

        def const_mul(c, v, name):
            """``c * v`` for a twiddle component c: a shift for 0 and +-2^F, else one
            constant product."""
            if c == 0:
                return 0
            mag = abs(c)
            if mag & (mag - 1) == 0:
                p = stage(v, name) << (mag.bit_length() - 1)
            else:
                p = Signal(signed(len(v) + mag.bit_length()), name=name)
                m.d.comb += p.eq(v * mag)
                p = stage(p, name)
            return p if c > 0 else -p

        # f = 0: a = Y[0], b = Y[N], both real; W = 1: Z' = ((a + b)/2, (a - b)/2)
        s0 = Signal(signed(wb), name="merge0_sr")
        d0 = Signal(signed(wb), name="merge0_dr")
        m.d.comb += [s0.eq(yr(0) + yr(N)), d0.eq(yr(0) - yr(N))]
        merged(0, stage(s0, "merge0_sr") << F, stage(d0, "merge0_dr") << F)
        # 0 < g <= N/2 together with N - g: S_{N-g} = conj S_g, D_{N-g} = -conj D_g and
        # W^{N-g} = -conj W^g, so both bins use the products c_r D_i, c_i D_r, c_r D_r,
        # c_i D_i of bin g
        for g in range(1, N // 2 + 1):
            a_r, a_i, b_r, b_i = yr(g), yi(g), yr(N - g), yi(N - g)
            sig = {}
            for name, v in (("sr", a_r + b_r), ("si", a_i - b_i),
                            ("dr", a_r - b_r), ("di", a_i + b_i)):
                sig[name] = Signal(signed(wb), name=f"merge{g}_{name}")
                m.d.comb += sig[name].eq(v)
            sr, si, dr, di = sig["sr"], sig["si"], sig["dr"], sig["di"]
            cr, ci = tw[g]
            assert g == N - g or tw[N - g] == (-cr, ci), "twiddle table not mirrored"
            crdi = const_mul(cr, di, f"p{g}_crdi")
            cidr = const_mul(ci, dr, f"p{g}_cidr")
            crdr = const_mul(cr, dr, f"p{g}_crdr")
            cidi = const_mul(ci, di, f"p{g}_cidi")
            sr, si = stage(sr, f"merge{g}_sr"), stage(si, f"merge{g}_si")
            # num = 2^F S + i conj(W) D
            merged(g, (sr << F) - crdi + cidr, (si << F) + crdr + cidi)
            if g != N - g:
                # bin N - g: S = (sr, -si), D = (-dr, di), W = (-cr, ci)
                merged(N - g, (sr << F) + crdi - cidr, -(si << F) + crdr + cidi)

        for t in range(N):
            m.d.comb += [self.o_re[2 * t].eq(_sat(core.o_re[t], cfg.out_bits)),
                         self.o_re[2 * t + 1].eq(_sat(core.o_im[t], cfg.out_bits))]
        m.d.comb += self.o_valid.eq(core.o_valid)
        return m
