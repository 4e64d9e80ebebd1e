"""Block-circulant LSTM cell (``lstm:``), after E-RNN: the four gate matrices are
block-circulant, stored as one defining vector of k weights per k x k block, and the
products are computed exactly in the time domain.

:class:`CirculantLstm` computes :func:`hwgen.models.circulant_lstm.lstm_fixed` bit for
bit, one step per input vector, the hidden state fed back. Block row r of ``[Wx Wh]``
gives the k gate rows ``r k + i`` in k multiply-accumulate lanes:

    a[r k + i] = b[r k + i] + sum_c sum_d w[r, c, d] v[c k + (i - d) mod k]

with v = (x, h). One weight code ``w[r, c, d]`` per cycle goes to all k lanes; lane i
takes ``v[c k + (i - d) mod k]`` from a ring of k registers loaded with block c of v
at d = 0 and rotated by one lane per cycle, so no lane ever selects among k weights.
A step is ``weight_codes = (4H/k) (D + H)`` cycles of products (one weight code each,
the k-fold saving of storage and of weight reads; the multiplies per step are those of
a dense cell, 4H (D + H), on k multipliers), then the pre-activations (rounded and
saturated as each block row completes) go through the piecewise-linear gates one hidden
unit per cycle: three multipliers update c and h of that unit, and h leaves on the
result stream. The time-domain product is chosen over the FFT layer so that the cell
equals the exact model with no rounding of its own (docs/circulant.md).
"""
from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config.lstm import LstmConfig
from ..lib.checks import check_type
from .rtl_arith import round_shift, saturate

__all__ = ["CirculantLstm", "lstm_top", "input_layout"]


def input_layout(cfg: LstmConfig) -> data.StructLayout:
    """One input beat: a code and the flag that restarts the state at zero (read on a
    step's first code)."""
    return data.StructLayout({"code": signed(cfg.in_bits), "first": unsigned(1)})


def _bits(n: int) -> int:
    return max((n - 1).bit_length(), 1)


def _sigmoid(z, frac: int):
    """clamp(floor(z / 4) + 2^(frac-1), 0, 2^frac)."""
    s = (z >> 2) + (1 << (frac - 1))
    return Mux(s < 0, 0, Mux(s > (1 << frac), 1 << frac, s))


def _tanh(z, frac: int):
    """clamp(z, -2^frac, 2^frac)."""
    one = 1 << frac
    return Mux(z < -one, -one, Mux(z > one, one, z))


class CirculantLstm(wiring.Component):
    """Block-circulant LSTM cell with piecewise-linear gates.

    Parameters
    ----------
    cfg : LstmConfig

    Attributes
    ----------
    w_in : In(stream.Signature(unsigned(word_bits)))
        After reset, the :func:`hwgen.models.circulant_lstm.pack_words` words: the
        weight codes block row by block row, then the 4H bias codes. Accepted until the
        last bias code; inputs are accepted after that.
    x_in : In(stream.Signature(input_layout(cfg)))
        The D input codes of a step, in order; ``first`` on a step's first code starts
        a sequence (h = c = 0 before the step).
    y_out : Out(stream.Signature(signed(h_bits)))
        The H hidden values of the step, in order.
    busy : Out(1)
        From a step's last input code until its last result is taken.
    """

    def __init__(self, cfg: LstmConfig):
        check_type(self, "cfg", cfg, LstmConfig)
        self.cfg = cfg
        super().__init__({
            "w_in": In(stream.Signature(unsigned(cfg.word_bits))),
            "x_in": In(stream.Signature(input_layout(cfg))),
            "y_out": Out(stream.Signature(signed(cfg.h_bits))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
        P, Q, Qx = cfg.blocks_out, cfg.blocks_in, D // k
        F, SB = cfg.frac, cfg.state_bits
        n_w = cfg.weight_codes

        # ---- storage ---------------------------------------------------------------
        m.submodules.wmem = wmem = Memory(shape=signed(cfg.w_bits), depth=max(n_w, 2),
                                          init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        b_wr, b_rd = [], []
        for i in range(k):   # lane i's biases, one per block row
            mem = Memory(shape=signed(cfg.bias_bits), depth=max(P, 2), init=[])
            m.submodules[f"bmem{i}"] = mem
            b_wr.append(mem.write_port())
            b_rd.append(mem.read_port())
        xs = [Signal(signed(cfg.in_bits), name=f"x{j}") for j in range(D)]
        hs = [Signal(signed(cfg.h_bits), name=f"h{j}") for j in range(H)]
        cs = [Signal(signed(SB), name=f"c{j}") for j in range(H)]
        zs = [Signal(signed(SB), name=f"z{j}") for j in range(4 * H)]

        # ---- loading the weights and biases ----------------------------------------
        n_load = Signal(_bits(n_w + 1))
        b_lane, b_row = Signal(_bits(k)), Signal(_bits(P))
        word = self.w_in.payload
        m.d.comb += [w_wr.addr.eq(n_load), w_wr.data.eq(word[:cfg.w_bits].as_signed())]
        for i in range(k):
            m.d.comb += [b_wr[i].addr.eq(b_row), b_wr[i].data.eq(word[:cfg.bias_bits].as_signed())]

        # ---- the step's input codes ------------------------------------------------
        n_x = Signal(_bits(D))
        start = Signal()

        # ---- stage A: one weight code per cycle --------------------------------------
        issuing = Signal()
        addr = Signal(_bits(n_w))
        row = Signal(_bits(P))
        col = Signal(_bits(Q))
        dd = Signal(_bits(k))
        m.d.comb += [w_rd.addr.eq(addr)]
        m.d.comb += [b.addr.eq(row) for b in b_rd]
        with m.If(issuing):
            m.d.sync += addr.eq(addr + 1)
            with m.If(dd == k - 1):
                m.d.sync += dd.eq(0)
                with m.If(col == Q - 1):
                    m.d.sync += col.eq(0)
                    with m.If(row == P - 1):
                        m.d.sync += [row.eq(0), issuing.eq(0)]
                    with m.Else():
                        m.d.sync += row.eq(row + 1)
                with m.Else():
                    m.d.sync += col.eq(col + 1)
            with m.Else():
                m.d.sync += dd.eq(dd + 1)
        with m.If(start):
            m.d.sync += [addr.eq(0), row.eq(0), col.eq(0), dd.eq(0), issuing.eq(1)]

        # ---- stage B: the lanes' operands and products --------------------------------
        b_valid, b_load, b_first, b_last = Signal(), Signal(), Signal(), Signal()
        b_col = Signal.like(col)
        m.d.sync += [b_valid.eq(issuing), b_load.eq(dd == 0), b_col.eq(col),
                     b_first.eq((col == 0) & (dd == 0)),
                     b_last.eq((col == Q - 1) & (dd == k - 1))]
        ob = cfg.operand_bits
        ring = [Signal(signed(ob), name=f"ring{i}") for i in range(k)]
        operand = [Signal(signed(ob), name=f"v{i}") for i in range(k)]
        for i in range(k):
            block = Array([xs[c * k + i] for c in range(Qx)]
                          + [hs[(c - Qx) * k + i] for c in range(Qx, Q)])
            m.d.comb += operand[i].eq(Mux(b_load, block[b_col], ring[i]))
        with m.If(b_valid):
            m.d.sync += [ring[i].eq(operand[(i - 1) % k]) for i in range(k)]
        c_valid, c_first, c_last = Signal(), Signal(), Signal()
        m.d.sync += [c_valid.eq(b_valid), c_first.eq(b_first), c_last.eq(b_last)]
        prods = [Signal(signed(ob + cfg.w_bits), name=f"p{i}") for i in range(k)]
        bias = [Signal(signed(cfg.bias_bits), name=f"bias{i}") for i in range(k)]
        m.d.sync += [p.eq(w_rd.data * operand[i]) for i, p in enumerate(prods)]
        m.d.sync += [b.eq(b_rd[i].data) for i, b in enumerate(bias)]

        # ---- stage C: accumulate; stage D: requantize a finished block row into z ------
        accs = [Signal(signed(cfg.acc_bits), name=f"acc{i}") for i in range(k)]
        with m.If(c_valid):
            m.d.sync += [a.eq(Mux(c_first, bias[i], a) + prods[i]) for i, a in enumerate(accs)]
        d_last = Signal()
        m.d.sync += d_last.eq(c_valid & c_last)
        with m.If(d_last):
            m.d.sync += [zs[j].eq(zs[j + k]) for j in range(4 * H - k)]
            m.d.sync += [zs[4 * H - k + i].eq(saturate(round_shift(a, cfg.w_frac), SB))
                         for i, a in enumerate(accs)]

        # ---- the gates, one hidden unit per cycle ------------------------------------
        o_valid = Signal()
        o_data = Signal(signed(cfg.h_bits))
        adv = Signal()
        m.d.comb += [adv.eq(~o_valid | self.y_out.ready),
                     self.y_out.valid.eq(o_valid), self.y_out.payload.eq(o_data)]
        with m.If(self.y_out.ready):
            m.d.sync += o_valid.eq(0)
        gating = Signal()
        unit = Signal(_bits(H))
        zi, zf, zg, zo = zs[0], zs[H], zs[2 * H], zs[3 * H]
        c_new = Signal(signed(SB))
        h_new = Signal(signed(cfg.h_bits))
        m.d.comb += [
            c_new.eq(saturate(round_shift(_sigmoid(zf, F) * cs[0]
                                          + _sigmoid(zi, F) * _tanh(zg, F), F), SB)),
            h_new.eq(round_shift(_sigmoid(zo, F) * _tanh(c_new, F), F)),
        ]
        with m.If(gating & adv):
            m.d.sync += [zs[j].eq(zs[j + 1]) for j in range(4 * H - 1)]
            m.d.sync += [cs[j].eq(cs[j + 1]) for j in range(H - 1)]
            m.d.sync += [hs[j].eq(hs[j + 1]) for j in range(H - 1)]
            m.d.sync += [cs[H - 1].eq(c_new), hs[H - 1].eq(h_new),
                         o_valid.eq(1), o_data.eq(h_new)]
            m.d.sync += unit.eq(unit + 1)
            with m.If(unit == H - 1):
                m.d.sync += [unit.eq(0), gating.eq(0)]

        # ---- control ---------------------------------------------------------------
        with m.FSM(name="phase"):
            with m.State("LOAD"):
                m.d.comb += self.w_in.ready.eq(1)
                with m.If(self.w_in.valid):
                    m.d.sync += n_load.eq(n_load + 1)
                    with m.If(n_load < n_w):
                        m.d.comb += w_wr.en.eq(1)
                    with m.Else():
                        for i in range(k):
                            m.d.comb += b_wr[i].en.eq(b_lane == i)
                        m.d.sync += b_lane.eq(Mux(b_lane == k - 1, 0, b_lane + 1))
                        with m.If(b_lane == k - 1):
                            m.d.sync += b_row.eq(b_row + 1)
                            with m.If(b_row == P - 1):
                                m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += self.x_in.ready.eq(1)
                with m.If(self.x_in.valid):
                    m.d.sync += [xs[j].eq(xs[j + 1]) for j in range(D - 1)]
                    m.d.sync += xs[D - 1].eq(self.x_in.payload.code)
                    with m.If((n_x == 0) & self.x_in.payload.first):
                        m.d.sync += [v.eq(0) for v in hs + cs]
                    m.d.sync += n_x.eq(n_x + 1)
                    with m.If(n_x == D - 1):
                        m.d.sync += n_x.eq(0)
                        m.d.comb += start.eq(1)
                        m.next = "PRODUCTS"
            with m.State("PRODUCTS"):
                m.d.comb += self.busy.eq(1)
                with m.If(~issuing & ~b_valid & ~c_valid & ~d_last):
                    m.d.sync += gating.eq(1)
                    m.next = "GATES"
            with m.State("GATES"):
                m.d.comb += self.busy.eq(1)
                with m.If(~gating & ~o_valid):
                    m.next = "IDLE"
        return m


def lstm_top(cfg: LstmConfig) -> wiring.Component:
    """The stand-alone module ``hwgen generate`` writes for a config's ``lstm:``
    section."""
    return CirculantLstm(cfg)
