"""The datapath the block-circulant recurrent cells share (``lstm:``, ``gru:``), after
E-RNN: the gate matrices are block-circulant, stored as one defining vector of k weights
per k x k block, and the products are computed exactly in the time domain.

:class:`CirculantCell` runs one step per input vector, the hidden state fed back. Block
row r of the pre-activations gives the k rows ``r k + i`` in k multiply-accumulate
lanes:

    a[r k + i] = b[r k + i] + sum_c sum_d w[r, c, d] v[c k + (i - d) mod k]

with v = (x, h) and c over the block columns the row's group reads
(``cfg.block_columns``: all of them for the LSTM's gates, the input or the hidden ones
for the GRU's candidate). One weight code ``w[r, c, d]`` per cycle goes to all k
lanes; lane i takes ``v[c k + (i - d) mod k]`` from a ring of k registers loaded with
block c of v at d = 0 and rotated by one lane per cycle, so no lane ever selects among
k weights. A step is ``weight_codes`` cycles of products (one weight code each, the
k-fold saving of storage and of weight reads; the multiplies per step are those of a
dense cell, on k multipliers), then the pre-activations (rounded and saturated as each
block row completes) go through the cell's piecewise-linear gates
(:meth:`CirculantCell._unit`) one hidden unit per cycle, and h leaves on the result
stream. The time-domain product is chosen over the FFT layer so that the cell equals
the exact model with no rounding of its own (docs/circulant.md).
"""
from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config.lstm import CellConfig
from ..lib.checks import check_type
from .rtl_arith import round_shift, saturate

__all__ = ["CirculantCell", "input_layout", "sigmoid_pwl", "tanh_pwl"]


def input_layout(cfg: CellConfig) -> data.StructLayout:
    """One input beat: a code and the flag that restarts the state at zero (read on a
    step's first code)."""
    return data.StructLayout({"code": signed(cfg.in_bits), "first": unsigned(1)})


def _bits(n: int) -> int:
    return max((n - 1).bit_length(), 1)


def sigmoid_pwl(z, frac: int):
    """clamp(floor(z / 4) + 2^(frac-1), 0, 2^frac)."""
    s = (z >> 2) + (1 << (frac - 1))
    return Mux(s < 0, 0, Mux(s > (1 << frac), 1 << frac, s))


def tanh_pwl(z, frac: int):
    """clamp(z, -2^frac, 2^frac)."""
    one = 1 << frac
    return Mux(z < -one, -one, Mux(z > one, one, z))


class CirculantCell(wiring.Component):
    """Block-circulant recurrent cell: the weight storage, the products and the
    sequencing; a subclass gives its config class (``CONFIG``), its per-unit state
    (:meth:`_state_signals`) and its gates (:meth:`_unit`).

    Parameters
    ----------
    cfg : CellConfig
        Of the subclass's ``CONFIG`` type.

    Attributes
    ----------
    w_in : In(stream.Signature(unsigned(word_bits)))
        After reset, the weight codes block row by block row, then the ``gate_rows``
        bias codes (the cell's ``pack_*words``). Accepted until the last bias code;
        inputs are accepted after that.
    x_in : In(stream.Signature(input_layout(cfg)))
        The D input codes of a step, in order; ``first`` on a step's first code starts
        a sequence (the state is zero before the step).
    y_out : Out(stream.Signature(signed(h_bits)))
        The H hidden values of the step, in order.
    busy : Out(1)
        From a step's last input code until its last result is taken.
    """

    CONFIG = CellConfig

    def __init__(self, cfg: CellConfig):
        check_type(self, "cfg", cfg, self.CONFIG)
        self.cfg = cfg
        super().__init__({
            "w_in": In(stream.Signature(unsigned(cfg.word_bits))),
            "x_in": In(stream.Signature(input_layout(cfg))),
            "y_out": Out(stream.Signature(signed(cfg.h_bits))),
            "busy": Out(1),
        })

    def _state_signals(self) -> list:
        """Per-unit state besides h: a list of H-signal lists (none by default)."""
        return []

    def _unit(self, m: Module, z: list, h, state: list):
        """One hidden unit's gates: from its ``ROWS_PER_UNIT`` pre-activations ``z``,
        its hidden value ``h`` and state, the new h and the new state values."""
        raise NotImplementedError

    def _column_range(self, row):
        """The first and last block column of block row ``row``, and the first of the
        row after it (constants when every group reads the same columns)."""
        groups = self.cfg.block_columns
        if len(set(groups)) == 1:
            return groups[0][0], groups[0][1], groups[0][0]
        per = self.cfg.hidden_size // self.cfg.block_size

        def pick(r, which):
            v = groups[0][which]
            for g in range(1, len(groups)):
                v = Mux(r >= g * per, groups[g][which], v)
            return v
        return pick(row, 0), pick(row, 1), pick(row + 1, 0)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        k, D, H = cfg.block_size, cfg.input_size, cfg.hidden_size
        P, Q, Qx = cfg.blocks_out, cfg.blocks_in, D // k
        R = cfg.gate_rows
        SB = cfg.state_bits
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
        state = self._state_signals()
        zs = [Signal(signed(SB), name=f"z{j}") for j in range(R)]

        # ---- loading the weights and biases ----------------------------------------
        # counts the weight codes and then on through the biases: wide enough for both
        n_load = Signal(_bits(n_w + cfg.gate_rows + 1))
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
        lo, hi, next_lo = self._column_range(row)
        with m.If(issuing):
            m.d.sync += addr.eq(addr + 1)
            with m.If(dd == k - 1):
                m.d.sync += dd.eq(0)
                with m.If(col == hi):
                    m.d.sync += col.eq(next_lo)
                    with m.If(row == P - 1):
                        m.d.sync += [row.eq(0), issuing.eq(0)]
                    with m.Else():
                        m.d.sync += row.eq(row + 1)
                with m.Else():
                    m.d.sync += col.eq(col + 1)
            with m.Else():
                m.d.sync += dd.eq(dd + 1)
        with m.If(start):
            m.d.sync += [addr.eq(0), row.eq(0), col.eq(self.cfg.block_columns[0][0]),
                         dd.eq(0), issuing.eq(1)]

        # ---- stage B: the lanes' operands and products --------------------------------
        b_valid, b_load, b_first, b_last = Signal(), Signal(), Signal(), Signal()
        b_col = Signal.like(col)
        m.d.sync += [b_valid.eq(issuing), b_load.eq(dd == 0), b_col.eq(col),
                     b_first.eq((col == lo) & (dd == 0)),
                     b_last.eq((col == hi) & (dd == k - 1))]
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
            m.d.sync += [zs[j].eq(zs[j + k]) for j in range(R - k)]
            m.d.sync += [zs[R - k + i].eq(saturate(round_shift(a, cfg.w_frac), SB))
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
        h_new, state_new = self._unit(m, [zs[g * H] for g in range(cfg.ROWS_PER_UNIT)],
                                      hs[0], [s[0] for s in state])
        with m.If(gating & adv):
            m.d.sync += [zs[j].eq(zs[j + 1]) for j in range(R - 1)]
            for s in state:
                m.d.sync += [s[j].eq(s[j + 1]) for j in range(H - 1)]
            m.d.sync += [hs[j].eq(hs[j + 1]) for j in range(H - 1)]
            m.d.sync += [*(s[H - 1].eq(v) for s, v in zip(state, state_new)),
                         hs[H - 1].eq(h_new), o_valid.eq(1), o_data.eq(h_new)]
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
                        m.d.sync += [v.eq(0) for v in hs + [v for s in state for v in s]]
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
