"""Fixed-point FFT units.

:class:`CirculantFft` is the ``parallel`` architecture: all k samples enter together,
``log2 k`` radix-2 decimation-in-time butterfly stages follow, each behind a register,
and k results leave ``log2 k`` cycles later; a new transform may enter every cycle.
:class:`CirculantFftSdf` is the ``streaming`` architecture: one sample per cycle through
``log2 k`` radix-2 single-path delay-feedback stages. The arithmetic -- twiddle
quantization, rounding, scaling, saturation -- is the one documented in
:mod:`hwgen.models.fft_fixed`, bit for bit; the twiddles and the input order come from
:mod:`hwgen.lib.fixed`, which the model uses too.
"""
from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import FftConfig
from ..lib.checks import reject as _reject
from ..lib.fixed import fft_input_order, twiddles
from .rtl_arith import round_shift as _round_shift
from .rtl_arith import saturate as _sat


def _fits(v, bits: int):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return (v >= lo) & (v <= hi)


def _neg_sat(v, bits: int):
    # -(-2^(b-1)) does not fit b bits; it saturates like the model
    return Mux(v == -(1 << (bits - 1)), (1 << (bits - 1)) - 1, -v)


class CirculantFft(wiring.Component):
    """Pipelined parallel radix-2 FFT (or IFFT) of ``cfg.k`` points.

    Parameters
    ----------
    cfg : CirculantConfig
        Block size, word lengths and scaling; ``architecture`` must be ``parallel``.
    inverse : bool
        Compute ``conj(FFT(conj(X)))`` (the IFFT, including 1/k under ``per_stage``).

    Attributes
    ----------
    i_valid : In(1)
        A transform enters this cycle.
    i_re, i_im : In(ArrayLayout(signed(in_bits), k))
        Samples in natural order. ``i_im`` is absent for a forward transform with
        ``cfg.real_input``.
    o_valid : Out(1)
        ``i_valid`` delayed by :attr:`latency` cycles.
    o_re, o_im : Out(ArrayLayout(signed(out_bits), k))
        Transform in natural order.
    o_exp : Out(unsigned(exp_bits))
        Block exponent (halvings applied); only with ``block_float`` scaling.
    """

    def __init__(self, cfg: FftConfig, *, inverse: bool = False):
        if not isinstance(cfg, FftConfig):
            _reject(self, TypeError(f"cfg must be an FftConfig, not {cfg!r}"))
        if cfg.architecture != "parallel":
            _reject(self, ValueError(f"architecture {cfg.architecture!r} is built by "
                                     "CirculantFftSdf"))
        self.cfg = cfg
        self.inverse = bool(inverse)
        self.has_im = self.inverse or not cfg.real_input
        ports = {
            "i_valid": In(1),
            "i_re": In(data.ArrayLayout(signed(cfg.in_bits), cfg.k)),
            "o_valid": Out(1),
            "o_re": Out(data.ArrayLayout(signed(cfg.out_bits), cfg.k)),
            "o_im": Out(data.ArrayLayout(signed(cfg.out_bits), cfg.k)),
        }
        if self.has_im:
            ports["i_im"] = In(data.ArrayLayout(signed(cfg.in_bits), cfg.k))
        if cfg.scaling == "block_float":
            ports["o_exp"] = Out(unsigned(cfg.exp_bits))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.cfg.stages

    def elaborate(self, platform):
        cfg = self.cfg
        k, F = cfg.k, cfg.tw_frac
        m = Module()
        tw = twiddles(k, cfg.tw_bits)

        b0 = cfg.stage_bits(0)
        vr, vi = [], []
        for p, src in enumerate(fft_input_order(k)):
            r = Signal(signed(b0), name=f"x{p}_re")
            i = Signal(signed(b0), name=f"x{p}_im")
            m.d.comb += r.eq(self.i_re[src] << cfg.guard_bits)
            if self.has_im:
                im = self.i_im[src]
                if self.inverse:
                    im = _neg_sat(im, cfg.in_bits)
                m.d.comb += i.eq(im << cfg.guard_bits)
            vr.append(r)
            vi.append(i)

        valid = self.i_valid
        exp = None
        for s in range(cfg.stages):
            bo = cfg.stage_bits(s + 1)
            half, span = 1 << s, 2 << s
            nr = [Signal(signed(bo), name=f"s{s}_{p}_re") for p in range(k)]
            ni = [Signal(signed(bo), name=f"s{s}_{p}_im") for p in range(k)]
            sums = {}
            for p in range(k):
                if p % span >= half:
                    continue
                q = p + half
                wr, wi = tw[(p % span) * (k // span)]
                ar, ai = vr[p] << F, vi[p] << F
                pr = vr[q] * wr - vi[q] * wi
                pi = vi[q] * wr + vr[q] * wi
                sums[p] = (ar + pr, ai + pi)
                sums[q] = (ar - pr, ai - pi)
            if cfg.scaling == "per_stage":
                for p, (sr, si) in sums.items():
                    m.d.sync += [nr[p].eq(_sat(_round_shift(sr, F + 1), bo)),
                                 ni[p].eq(_sat(_round_shift(si, F + 1), bo))]
            elif cfg.scaling == "none":
                for p, (sr, si) in sums.items():
                    m.d.sync += [nr[p].eq(_sat(_round_shift(sr, F), bo)),
                                 ni[p].eq(_sat(_round_shift(si, F), bo))]
            else:
                full = {}
                checks = []
                for p, (sr, si) in sums.items():
                    fr = Signal.like(_round_shift(sr, F), name=f"s{s}_{p}_full_re")
                    fi = Signal.like(_round_shift(si, F), name=f"s{s}_{p}_full_im")
                    m.d.comb += [fr.eq(_round_shift(sr, F)), fi.eq(_round_shift(si, F))]
                    full[p] = (fr, fi)
                    checks += [_fits(fr, bo - 1), _fits(fi, bo - 1)]
                keep = Signal(name=f"s{s}_keep")
                ok = checks[0]
                for c in checks[1:]:
                    ok = ok & c
                m.d.comb += keep.eq(ok)
                for p, (sr, si) in sums.items():
                    fr, fi = full[p]
                    m.d.sync += [
                        nr[p].eq(Mux(keep, fr, _sat(_round_shift(sr, F + 1), bo))),
                        ni[p].eq(Mux(keep, fi, _sat(_round_shift(si, F + 1), bo))),
                    ]
                nexp = Signal(unsigned(cfg.exp_bits), name=f"s{s}_exp")
                m.d.sync += nexp.eq((0 if exp is None else exp) + ~keep)
                exp = nexp
            nv = Signal(name=f"s{s}_valid")
            m.d.sync += nv.eq(valid)
            valid = nv
            vr, vi = nr, ni

        ob = cfg.out_bits
        m.d.comb += self.o_valid.eq(valid)
        for p in range(k):
            m.d.comb += self.o_re[p].eq(_sat(vr[p], ob))
            im = _sat(vi[p], ob)
            m.d.comb += self.o_im[p].eq(_neg_sat(im, ob) if self.inverse else im)
        if exp is not None:
            m.d.comb += self.o_exp.eq(exp)
        return m


class CirculantFftSdf(wiring.Component):
    """Streaming radix-2 single-path delay-feedback FFT (or IFFT) of ``cfg.k`` points.

    Decimation in time: samples enter one per ``i_valid`` cycle in bit-reversed order
    (position p of a frame carries sample ``fft_input_order(k)[p]``) and results leave in
    natural order. Stage s holds a ``2^s``-deep delay line: during the first half of every
    ``2^(s+1)`` positions it stores the incoming samples and sends out the differences of
    the previous butterflies; during the second half it forms the butterflies, sends out
    the sums and stores the differences. The arithmetic is the one of
    :func:`hwgen.models.fft_fixed.fft_fixed` (``per_stage`` or ``none`` scaling), so every
    output equals the parallel unit's.

    The pipeline only moves when a sample enters, so the last ``k - 1 + log2 k`` results
    of a stream leave while the next frame (or padding) enters.

    Parameters
    ----------
    cfg : CirculantConfig
        ``per_stage`` or ``none`` scaling; the ``architecture`` field is not consulted.
    inverse : bool
        Compute ``conj(FFT(conj(X)))``.

    Attributes
    ----------
    i_valid : In(1)
    i_re, i_im : In(signed(in_bits))
        One sample; ``i_im`` is absent for a forward transform with ``cfg.real_input``.
    o_valid : Out(1)
        A result leaves this cycle (frames back to back, natural order).
    o_re, o_im : Out(signed(out_bits))
    """

    def __init__(self, cfg: FftConfig, *, inverse: bool = False):
        if not isinstance(cfg, FftConfig):
            _reject(self, TypeError(f"cfg must be an FftConfig, not {cfg!r}"))
        if cfg.scaling == "block_float":
            _reject(self, ValueError("block_float scaling needs the parallel architecture"))
        self.cfg = cfg
        self.inverse = bool(inverse)
        self.has_im = self.inverse or not cfg.real_input
        ports = {
            "i_valid": In(1),
            "i_re": In(signed(cfg.in_bits)),
            "o_valid": Out(1),
            "o_re": Out(signed(cfg.out_bits)),
            "o_im": Out(signed(cfg.out_bits)),
        }
        if self.has_im:
            ports["i_im"] = In(signed(cfg.in_bits))
        super().__init__(ports)

    @property
    def latency_samples(self) -> int:
        """Samples that enter between a position's sample and its result leaving."""
        return self.cfg.k - 1 + self.cfg.stages

    def elaborate(self, platform):
        cfg = self.cfg
        k, F = cfg.k, cfg.tw_frac
        m = Module()
        tw = twiddles(k, cfg.tw_bits)
        en = self.i_valid
        sh = F + 1 if cfg.scaling == "per_stage" else F

        xr = Signal(signed(cfg.stage_bits(0)))
        xi = Signal(signed(cfg.stage_bits(0)))
        m.d.comb += xr.eq(self.i_re << cfg.guard_bits)
        if self.has_im:
            im = _neg_sat(self.i_im, cfg.in_bits) if self.inverse else self.i_im
            m.d.comb += xi.eq(im << cfg.guard_bits)
        v = Const(1)
        for s in range(cfg.stages):
            D = 1 << s
            bo = cfg.stage_bits(s + 1)
            ph = Signal(unsigned(s + 1), name=f"s{s}_phase")
            primed = Signal(name=f"s{s}_primed")
            dr = [Signal(signed(bo), name=f"s{s}_dl{t}_re") for t in range(D)]
            di = [Signal(signed(bo), name=f"s{s}_dl{t}_im") for t in range(D)]
            is_b = ph[s]
            j = ph[:s] if s else Const(0)
            step = k // (2 * D)
            wr = Array([Const(tw[t * step][0], signed(cfg.tw_bits)) for t in range(D)])[j]
            wi = Array([Const(tw[t * step][1], signed(cfg.tw_bits)) for t in range(D)])[j]
            ar, ai = dr[D - 1] << F, di[D - 1] << F
            pr = xr * wr - xi * wi
            pi = xi * wr + xr * wi
            sum_r = _sat(_round_shift(ar + pr, sh), bo)
            sum_i = _sat(_round_shift(ai + pi, sh), bo)
            dif_r = _sat(_round_shift(ar - pr, sh), bo)
            dif_i = _sat(_round_shift(ai - pi, sh), bo)
            orr = Signal(signed(bo), name=f"s{s}_out_re")
            ori = Signal(signed(bo), name=f"s{s}_out_im")
            ov = Signal(name=f"s{s}_out_valid")
            with m.If(en):
                with m.If(v):
                    m.d.sync += [
                        dr[0].eq(Mux(is_b, dif_r, xr)), di[0].eq(Mux(is_b, dif_i, xi)),
                        orr.eq(Mux(is_b, sum_r, dr[D - 1])),
                        ori.eq(Mux(is_b, sum_i, di[D - 1])),
                        ov.eq(is_b | primed),
                        ph.eq(ph + 1),
                    ]
                    m.d.sync += [dr[t].eq(dr[t - 1]) for t in range(1, D)]
                    m.d.sync += [di[t].eq(di[t - 1]) for t in range(1, D)]
                    with m.If(is_b):
                        m.d.sync += primed.eq(1)
                with m.Else():
                    m.d.sync += ov.eq(0)
            xr, xi, v = orr, ori, ov

        fresh = Signal()
        m.d.sync += fresh.eq(en)
        ob = cfg.out_bits
        m.d.comb += [
            self.o_valid.eq(fresh & v),
            self.o_re.eq(_sat(xr, ob)),
        ]
        im = _sat(xi, ob)
        m.d.comb += self.o_im.eq(_neg_sat(im, ob) if self.inverse else im)
        return m
