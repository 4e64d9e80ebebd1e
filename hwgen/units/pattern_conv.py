"""Pattern-pruned sparse convolution (``pattern_conv:``), after PatDNN: only the kept
kernels are stored and computed, each as one word of E weights in a pattern.

:class:`PatternConv` holds the compressed weights in a RAM of ``kernel_capacity`` words
(:mod:`hwgen.models.pattern_conv` defines the word and its order) and one input image
in a RAM of C H W codes with E read ports. For every output position it runs through
the kernel words: a word's pattern id selects E offsets from a table of constants, the
E input codes at those offsets in the word's channel are read at once (zero outside
the plane) and multiplied by the word's weights, and the sum adds to the accumulator;
a filter's last word sends the accumulated value out. One kernel word per cycle, so an
image takes ``out_height * out_width * words`` cycles whatever the patterns are: the
pruned positions and kernels cost nothing. The pipeline (weight read, input read,
multiply and accumulate) stalls as a whole while a result waits to be taken.
"""
from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config.pattern_conv import PatternConvConfig
from ..lib.checks import check_type

__all__ = ["PatternConv", "pattern_conv_top", "word_layout"]


def word_layout(cfg: PatternConvConfig) -> data.StructLayout:
    """One kernel word: last flag, channel, pattern id and E weights (LSB first)."""
    return data.StructLayout({
        "last": unsigned(1), "channel": unsigned(cfg.channel_bits),
        "pattern": unsigned(cfg.pattern_bits),
        "w": data.ArrayLayout(signed(cfg.weight_bits), cfg.entries)})


def _bits(n: int) -> int:
    return max((n - 1).bit_length(), 1)


class PatternConv(wiring.Component):
    """Pattern-pruned sparse convolution engine.

    Parameters
    ----------
    cfg : PatternConvConfig

    Attributes
    ----------
    w_in : In(stream.Signature(word_layout(cfg)))
        Kernel words in the compressed order; accepted after reset until the last word
        of the ``out_channels``-th filter (at most ``kernel_capacity`` words).
    x_in : In(stream.Signature(signed(in_bits)))
        An image, C H W codes (channel, row, column); the last one starts the
        convolution. Accepted once the weights are in and while the unit is idle.
    y_out : Out(stream.Signature(signed(acc_bits)))
        Results in the order of :func:`hwgen.models.pattern_conv.results`.
    busy : Out(1)
        From the last input of an image until its last result is taken.
    """

    def __init__(self, cfg: PatternConvConfig):
        check_type(self, "cfg", cfg, PatternConvConfig)
        self.cfg = cfg
        super().__init__({
            "w_in": In(stream.Signature(word_layout(cfg))),
            "x_in": In(stream.Signature(signed(cfg.in_bits))),
            "y_out": Out(stream.Signature(signed(cfg.acc_bits))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        C, F, H, W = cfg.in_channels, cfg.out_channels, cfg.height, cfg.width
        Ho, Wo, E, s, pad = cfg.out_height, cfg.out_width, cfg.entries, cfg.stride, cfg.pad
        depth, plane, n_in = cfg.kernel_capacity, H * W, cfg.input_words

        m.submodules.wmem = wmem = Memory(shape=word_layout(cfg), depth=max(depth, 2), init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        m.submodules.xmem = xmem = Memory(shape=signed(cfg.in_bits), depth=max(n_in, 2), init=[])
        x_wr = xmem.write_port()
        x_rd = [xmem.read_port() for _ in range(E)]

        # ---- loading ---------------------------------------------------------------
        waddr = Signal(_bits(depth))
        n_words = Signal(_bits(depth + 1))
        filters = Signal(_bits(F))
        xaddr = Signal(_bits(n_in))
        start = Signal()

        m.d.comb += [w_wr.addr.eq(waddr), w_wr.data.eq(self.w_in.payload),
                     x_wr.addr.eq(xaddr), x_wr.data.eq(self.x_in.payload)]

        # ---- the pipeline ----------------------------------------------------------
        o_valid = Signal()
        o_data = Signal(signed(cfg.acc_bits))
        adv = Signal()
        m.d.comb += [adv.eq(~o_valid | self.y_out.ready),
                     self.y_out.valid.eq(o_valid), self.y_out.payload.eq(o_data)]

        # stage A: the word and position counters issue the weight read
        issuing = Signal()
        e = Signal(_bits(depth))
        oy, ox = Signal(_bits(Ho)), Signal(_bits(Wo))
        m.d.comb += [w_rd.addr.eq(e), w_rd.en.eq(adv)]
        with m.If(adv & issuing):
            with m.If(e == n_words - 1):
                m.d.sync += e.eq(0)
                with m.If(ox == Wo - 1):
                    m.d.sync += ox.eq(0)
                    with m.If(oy == Ho - 1):
                        m.d.sync += [oy.eq(0), issuing.eq(0)]
                    with m.Else():
                        m.d.sync += oy.eq(oy + 1)
                with m.Else():
                    m.d.sync += ox.eq(ox + 1)
            with m.Else():
                m.d.sync += e.eq(e + 1)
        with m.If(start):
            m.d.sync += [e.eq(0), ox.eq(0), oy.eq(0), issuing.eq(1)]

        # stage B: the pattern's offsets give the E input addresses
        b_valid = Signal()
        b_oy, b_ox = Signal.like(oy), Signal.like(ox)
        with m.If(adv):
            m.d.sync += [b_valid.eq(issuing), b_oy.eq(oy), b_ox.eq(ox)]
        word = w_rd.data
        n_pat = 1 << cfg.pattern_bits
        pats = [cfg.offsets(min(p, len(cfg.patterns) - 1)) for p in range(n_pat)]
        coord = signed(max(H, W).bit_length() + 2 + (cfg.kernel - 1).bit_length())
        c_valid, c_last = Signal(), Signal()
        c_w = Signal(data.ArrayLayout(signed(cfg.weight_bits), E))
        c_in = Signal(E)
        base = Signal(_bits(n_in))
        m.d.comb += base.eq(word.channel * plane)
        for k in range(E):
            dy = Array(Const(pats[p][k][0] - pad, coord) for p in range(n_pat))[word.pattern]
            dx = Array(Const(pats[p][k][1] - pad, coord) for p in range(n_pat))[word.pattern]
            yy, xx = Signal(coord, name=f"yy{k}"), Signal(coord, name=f"xx{k}")
            inside = Signal(name=f"inside{k}")
            m.d.comb += [yy.eq(b_oy * s + dy), xx.eq(b_ox * s + dx),
                         inside.eq((yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)),
                         x_rd[k].addr.eq(Mux(inside, base + yy.as_unsigned() * W
                                             + xx.as_unsigned(), 0)),
                         x_rd[k].en.eq(adv)]
            with m.If(adv):
                m.d.sync += c_in[k].eq(inside)
        with m.If(adv):
            m.d.sync += [c_valid.eq(b_valid), c_last.eq(word.last), c_w.eq(word.w)]

        # stage C: E products, their sum and the accumulator
        acc = Signal(signed(cfg.acc_bits))
        products = [Signal(signed(cfg.in_bits + cfg.weight_bits), name=f"product{k}")
                    for k in range(E)]
        total = Signal(signed(cfg.acc_bits))
        m.d.comb += [p.eq(c_w[k] * Mux(c_in[k], x_rd[k].data, 0))
                     for k, p in enumerate(products)]
        m.d.comb += total.eq(acc + sum(products))
        with m.If(self.y_out.ready):
            m.d.sync += o_valid.eq(0)
        with m.If(adv & c_valid):
            with m.If(c_last):
                m.d.sync += [o_data.eq(total), o_valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)

        # ---- control ---------------------------------------------------------------
        with m.FSM(name="phase"):
            with m.State("LOAD_W"):
                m.d.comb += [self.w_in.ready.eq(1), w_wr.en.eq(self.w_in.valid)]
                with m.If(self.w_in.valid):
                    m.d.sync += waddr.eq(Mux(waddr == depth - 1, 0, waddr + 1))
                    with m.If(self.w_in.payload.last):
                        m.d.sync += filters.eq(filters + 1)
                        with m.If(filters == F - 1):
                            m.d.sync += n_words.eq(waddr + 1)
                            m.next = "LOAD_X"
            with m.State("LOAD_X"):
                m.d.comb += [self.x_in.ready.eq(1), x_wr.en.eq(self.x_in.valid)]
                with m.If(self.x_in.valid):
                    with m.If(xaddr == n_in - 1):
                        m.d.sync += xaddr.eq(0)
                        m.d.comb += start.eq(1)
                        m.next = "RUN"
                    with m.Else():
                        m.d.sync += xaddr.eq(xaddr + 1)
            with m.State("RUN"):
                m.d.comb += self.busy.eq(1)
                with m.If(~issuing & ~b_valid & ~c_valid & ~o_valid):
                    m.next = "LOAD_X"
        return m


def pattern_conv_top(cfg: PatternConvConfig) -> wiring.Component:
    """The stand-alone module ``hwgen generate`` writes for a config's ``pattern_conv:``
    section."""
    return PatternConv(cfg)
