"""The Bayesian linear layer (``bayesian:``): weights drawn from a Gaussian generator
per inference, N draws per input vector, as in VIBNN.

:class:`BayesianLayer` computes ``lanes`` outputs side by side, one generator lane each,
and matches :mod:`hwgen.models.bayesian` bit for bit, taking the generator's beats in
the order stated there. Weights (mu, sigma) are held in a RAM of ``groups * inputs``
words, one word per (group, input) with a (mu, sigma) pair per lane; the input vector
in a RAM of ``inputs`` words.

Plain draws run as a three-stage pipeline that stalls as a whole: the RAMs are read;
the generator's beat is taken and each lane forms w = mu + ((sigma eps + half) >> sh);
the lanes accumulate w x. One (group, draw, input) step per cycle, so a vector takes
``groups * samples * inputs`` cycles. With ``local_reparam`` the same pipeline
accumulates A = sum mu x and B = sum (sigma x)^2 once per group, a bit-serial integer
square root per lane gives S = isqrt(B) in ceil(b/2) cycles, then each draw takes one
beat: y = A + ((S eps + half) >> sh).

Results leave through an output register of ``lanes`` words that the next group's
work fills while it drains.
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config.bayesian import BayesianConfig
from ..lib.checks import check_type
from .grng import grng_unit

__all__ = ["BayesianLayer", "bayesian_top", "weight_layout"]


def weight_layout(cfg: BayesianConfig) -> data.ArrayLayout:
    """One weight word: a (mu, sigma) pair per lane."""
    pair = data.StructLayout({"mu": signed(cfg.weight_bits), "sigma": unsigned(cfg.weight_bits)})
    return data.ArrayLayout(pair, cfg.lanes)


class BayesianLayer(wiring.Component):
    """Bayesian linear layer with its own Gaussian generator.

    Parameters
    ----------
    cfg : BayesianConfig

    Attributes
    ----------
    w_in : In(stream.Signature(weight_layout(cfg)))
        Weight words, word ``g * inputs + i`` holding lane l's (mu, sigma) of output
        ``g * lanes + l`` and input i (lanes past ``outputs`` are ignored); the address
        wraps after ``groups * inputs`` words. Accepted while the layer is idle.
    x_in : In(stream.Signature(signed(in_bits)))
        Input codes, ``inputs`` per vector; the last one starts the layer.
    y_out : Out(stream.Signature(signed(out_bits)))
        Results in the order of :func:`hwgen.models.bayesian.results`.
    busy : Out(1)
        From the last input of a vector until its last result is taken.
    """

    def __init__(self, cfg: BayesianConfig):
        check_type(self, "cfg", cfg, BayesianConfig)
        self.cfg = cfg
        super().__init__({
            "w_in": In(stream.Signature(weight_layout(cfg))),
            "x_in": In(stream.Signature(signed(cfg.in_bits))),
            "y_out": Out(stream.Signature(signed(cfg.out_bits))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        L, n, G, N = cfg.lanes, cfg.inputs, cfg.groups, cfg.samples
        sh, half = cfg.eps_shift, (1 << cfg.eps_shift) >> 1
        lrt, avg, relu = cfg.local_reparam, cfg.average, cfg.activation == "relu"
        last_lanes = cfg.outputs - (G - 1) * L

        m.submodules.grng = grng = grng_unit(cfg.grng)
        eps = grng.out.payload

        # ---- storage ------------------------------------------------------------------
        # (at least two words: a one-word memory would have an address of no bits)
        m.submodules.wmem = wmem = Memory(shape=weight_layout(cfg), depth=max(G * n, 2),
                                          init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        m.submodules.xmem = xmem = Memory(shape=signed(cfg.in_bits), depth=max(n, 2), init=[])
        x_wr, x_rd = xmem.write_port(), xmem.read_port()

        busy = self.busy
        w_addr = Signal(range(max(G * n, 2)))
        m.d.comb += [self.w_in.ready.eq(~busy), w_wr.addr.eq(w_addr),
                     w_wr.data.eq(self.w_in.payload),
                     w_wr.en.eq(self.w_in.valid & self.w_in.ready)]
        with m.If(w_wr.en):
            m.d.sync += w_addr.eq(Mux(w_addr == G * n - 1, 0, w_addr + 1))
        x_addr = Signal(range(max(n, 2)))
        start = Signal()
        m.d.comb += [self.x_in.ready.eq(~busy), x_wr.addr.eq(x_addr),
                     x_wr.data.eq(self.x_in.payload),
                     x_wr.en.eq(self.x_in.valid & self.x_in.ready)]
        with m.If(x_wr.en):
            m.d.sync += x_addr.eq(Mux(x_addr == n - 1, 0, x_addr + 1))
            with m.If(x_addr == n - 1):
                m.d.sync += busy.eq(1)
                m.d.comb += start.eq(1)

        # ---- output register: lanes results, drained one per beat ---------------------
        obuf = [Signal(signed(cfg.out_bits), name=f"obuf{l}") for l in range(L)]
        ocount = Signal(range(L + 1))
        load = Signal()                           # load obuf from `results` this cycle
        results = [Signal(signed(cfg.out_bits), name=f"result{l}") for l in range(L)]
        group_lanes = Signal(range(L + 1))
        m.d.comb += [self.y_out.valid.eq(ocount != 0), self.y_out.payload.eq(obuf[0])]
        take = self.y_out.valid & self.y_out.ready
        with m.If(load):
            m.d.sync += [ocount.eq(group_lanes)] + [obuf[l].eq(results[l]) for l in range(L)]
        with m.Elif(take):
            m.d.sync += [ocount.eq(ocount - 1)] + [obuf[l].eq(obuf[l + 1]) for l in range(L - 1)]
        obuf_free = (ocount == 0) | ((ocount == 1) & take)

        # ---- loop counters (stage 0): g, s (plain only), i -----------------------------
        # (never zero-width: Verilog has no [-1:0])
        g = Signal(range(max(G, 2)))
        s = Signal(range(max(N, 2)))
        i = Signal(range(max(n, 2)))
        base = Signal(range(max(G * n, 2)))      # g * inputs
        issuing = Signal()                        # stage 0 holds a step

        go = Signal()
        v1, v2 = Signal(), Signal()
        f1, l1, f2, l2 = Signal(), Signal(), Signal(), Signal()   # first / last input of a step
        s1, s2 = Signal(range(max(N, 2))), Signal(range(max(N, 2)))
        m.d.comb += [w_rd.en.eq(go), x_rd.en.eq(go),
                     w_rd.addr.eq(base + i), x_rd.addr.eq(i)]
        with m.If(go):
            m.d.sync += [v1.eq(issuing), f1.eq(i == 0), l1.eq(i == n - 1), s1.eq(s),
                         v2.eq(v1), f2.eq(f1), l2.eq(l1), s2.eq(s1)]

        def act(v):
            return Mux(v < 0, 0, v) if relu else v

        accs = [Signal(signed(cfg.a_bits if lrt else cfg.y_bits), name=f"acc{l}")
                for l in range(L)]
        sums = [Signal(signed(cfg.out_bits), name=f"sum{l}") for l in range(L)]
        wrow = w_rd.data

        if not lrt:
            # stage 0: steps (g, s, i), i innermost
            with m.If(start):
                m.d.sync += [issuing.eq(1), g.eq(0), s.eq(0), i.eq(0), base.eq(0)]
            with m.Elif(go & issuing):
                with m.If(i == n - 1):
                    m.d.sync += i.eq(0)
                    with m.If(s == N - 1):
                        m.d.sync += s.eq(0)
                        with m.If(g == G - 1):
                            m.d.sync += issuing.eq(0)
                        with m.Else():
                            m.d.sync += [g.eq(g + 1), base.eq(base + n)]
                    with m.Else():
                        m.d.sync += s.eq(s + 1)
                with m.Else():
                    m.d.sync += i.eq(i + 1)
            # stage 1: the generator's beat, the drawn weights
            ws = [Signal(signed(cfg.w_bits), name=f"w{l}") for l in range(L)]
            x2 = Signal(signed(cfg.in_bits))
            m.d.comb += grng.out.ready.eq(go & v1)
            with m.If(go):
                m.d.sync += x2.eq(x_rd.data)
                for l in range(L):
                    noise = (wrow[l].sigma * eps[l] + half) >> sh
                    m.d.sync += ws[l].eq(wrow[l].mu + noise)
            # stage 2: accumulate; the last input completes a draw
            out_step = v2 & l2
            needs_obuf = out_step & ((s2 == N - 1) if avg else Const(1))
            # the group of the step in stage 2 (stage 0 may have moved on)
            g2 = Signal(range(max(G, 2)))
            g1 = Signal(range(max(G, 2)))
            with m.If(go):
                m.d.sync += [g1.eq(g), g2.eq(g1)]
            m.d.comb += group_lanes.eq(Mux(g2 == G - 1, last_lanes, L) if G > 1 else last_lanes)
            m.d.comb += go.eq(busy & ~(v1 & ~grng.out.valid) & ~(needs_obuf & ~obuf_free))
            for l in range(L):
                new = Signal(signed(cfg.y_bits), name=f"draw{l}")
                m.d.comb += new.eq(Mux(f2, 0, accs[l]) + ws[l] * x2)
                with m.If(go & v2):
                    m.d.sync += accs[l].eq(new)
                if avg:
                    total = Signal(signed(cfg.out_bits), name=f"total{l}")
                    m.d.comb += [total.eq(Mux(s2 == 0, 0, sums[l]) + act(new)),
                                 results[l].eq(total)]
                    with m.If(go & out_step):
                        m.d.sync += sums[l].eq(total)
                else:
                    m.d.comb += results[l].eq(act(new))
            m.d.comb += load.eq(go & needs_obuf)
            done = ~issuing & ~v1 & ~v2 & ~start
        else:
            K = cfg.sqrt_steps
            phase = Signal(2)                     # 0: accumulate, 1: square root, 2: draws
            # stage 0: steps (g, i) of the accumulation
            with m.If(start):
                m.d.sync += [issuing.eq(1), g.eq(0), i.eq(0), base.eq(0), phase.eq(0)]
            with m.Elif(go & issuing):
                with m.If(i == n - 1):
                    m.d.sync += [i.eq(0), issuing.eq(0)]
                with m.Else():
                    m.d.sync += i.eq(i + 1)
            # stage 1: mu, sigma x; stage 2: A += mu x, B += (sigma x)^2
            mus = [Signal(signed(cfg.weight_bits), name=f"mu{l}") for l in range(L)]
            sxs = [Signal(signed(cfg.weight_bits + cfg.in_bits + 1), name=f"sx{l}")
                   for l in range(L)]
            x2 = Signal(signed(cfg.in_bits))
            with m.If(go):
                m.d.sync += x2.eq(x_rd.data)
                for l in range(L):
                    m.d.sync += [mus[l].eq(wrow[l].mu), sxs[l].eq(wrow[l].sigma * x_rd.data)]
            bsum = [Signal(cfg.b_bits, name=f"bsum{l}") for l in range(L)]
            with m.If(go & v2):
                for l in range(L):
                    m.d.sync += [accs[l].eq(Mux(f2, 0, accs[l]) + mus[l] * x2),
                                 bsum[l].eq(Mux(f2, 0, bsum[l]) + sxs[l] * sxs[l])]
            m.d.comb += go.eq(busy & (phase == 0))
            # square root, one result bit per cycle for every lane
            step = Signal(range(max(K, 2)))
            roots = [Signal(2 * K, name=f"root{l}") for l in range(L)]
            rems = [Signal(cfg.b_bits, name=f"rem{l}") for l in range(L)]
            bit = Signal(2 * K)
            with m.If((phase == 0) & busy & v2 & l2):
                m.d.sync += [phase.eq(1), step.eq(0), bit.eq(1 << (2 * (K - 1)))]
            with m.If(phase == 1):
                m.d.sync += [step.eq(step + 1), bit.eq(bit >> 2)]
                with m.If(step == K - 1):
                    m.d.sync += [phase.eq(2), s.eq(0)]
                for l in range(L):
                    rem = Mux(step == 0, bsum[l], rems[l])
                    root = Mux(step == 0, 0, roots[l])
                    trial = root + bit
                    with m.If(rem >= trial):
                        m.d.sync += [rems[l].eq(rem - trial), roots[l].eq((root >> 1) + bit)]
                    with m.Else():
                        m.d.sync += [rems[l].eq(rem), roots[l].eq(root >> 1)]
            # draws: one generator beat each
            can = obuf_free if not avg else ((s != N - 1) | obuf_free)
            m.d.comb += grng.out.ready.eq((phase == 2) & busy & can)
            draw = grng.out.valid & grng.out.ready
            for l in range(L):
                y = Signal(signed(cfg.y_bits), name=f"draw{l}")
                m.d.comb += y.eq(accs[l] + ((roots[l] * eps[l] + half) >> sh))
                if avg:
                    total = Signal(signed(cfg.out_bits), name=f"total{l}")
                    m.d.comb += [total.eq(Mux(s == 0, 0, sums[l]) + act(y)),
                                 results[l].eq(total)]
                    with m.If(draw):
                        m.d.sync += sums[l].eq(total)
                else:
                    m.d.comb += results[l].eq(act(y))
            m.d.comb += load.eq(draw & ((s == N - 1) if avg else Const(1)))
            with m.If(draw):
                with m.If(s == N - 1):
                    m.d.sync += s.eq(0)
                    with m.If(g == G - 1):
                        m.d.sync += phase.eq(3)
                    with m.Else():
                        m.d.sync += [g.eq(g + 1), base.eq(base + n), i.eq(0),
                                     issuing.eq(1), phase.eq(0)]
                with m.Else():
                    m.d.sync += s.eq(s + 1)
            m.d.comb += group_lanes.eq(Mux(g == G - 1, last_lanes, L) if G > 1 else last_lanes)
            done = (phase == 3) & ~start
        with m.If(busy & done & (ocount == 0) & ~load):
            m.d.sync += busy.eq(0)
        return m


def bayesian_top(cfg: BayesianConfig) -> wiring.Component:
    """The stand-alone module ``hwgen generate`` writes for a ``bayesian:`` section."""
    return BayesianLayer(cfg)
