"""R x C meshes of PEs with registers between neighbours (systolic wiring only; the
edge skew lives in :mod:`hwgen.array.systolic`)."""
from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config.schema import ROWS_MAX
from ..lib.checks import check_int
from ..pe import OsPE, WsPE
from ..pe.mac import PE_STAGES_MAX, check_widths


def _check(component, rows, cols, in_bits, acc_bits):
    check_int(component, "rows", rows, 1, ROWS_MAX)
    check_int(component, "cols", cols, 1, ROWS_MAX)
    check_widths(component, in_bits, acc_bits)


def _vec(shape, n):
    return data.ArrayLayout(shape, n)


class _Mesh(wiring.Component):
    """What both meshes share: the R x C grid of PEs, and the activations and tile
    switch flags entering row r at the left and passing right through the row."""

    def __init__(self, rows: int, cols: int, in_bits: int, acc_bits: int, column_ports: dict,
                 stages: int = 0):
        _check(self, rows, cols, in_bits, acc_bits)
        self.stages = check_int(self, "stages", stages, 0, PE_STAGES_MAX)
        self.rows, self.cols, self.in_bits, self.acc_bits = rows, cols, in_bits, acc_bits
        super().__init__({"a": In(_vec(signed(in_bits), rows)), "sw": In(rows),
                          **column_ports})

    def _grid(self, m, make_pe, wire_column):
        """Instantiate the PEs and wire the rows; ``make_pe(r, c)`` builds the PE at row
        r, column c, ``wire_column(m, pe, r, c)`` wires its vertical connections (called
        before its row wiring)."""
        R, C = self.rows, self.cols
        pe = [[make_pe(r, c) for c in range(C)] for r in range(R)]
        for r in range(R):
            for c in range(C):
                p = pe[r][c]
                m.submodules[f"pe_{r}_{c}"] = p
                wire_column(m, pe, r, c, before=True)
                if c == 0:
                    m.d.comb += [p.a_in.eq(self.a[r]), p.sw_in.eq(self.sw[r])]
                else:
                    m.d.comb += [p.a_in.eq(pe[r][c - 1].a_out), p.sw_in.eq(pe[r][c - 1].sw_out)]
                wire_column(m, pe, r, c, before=False)
        return pe


class WsMesh(_Mesh):
    """Weight-stationary mesh. ``a``/``sw`` enter row r at the left (``sw`` a cycle
    before the first activation of a tile, :class:`~hwgen.pe.WsPE`), weights enter
    column c at the top of the shadow chain, partial sums leave column c at the bottom.
    ``stages``: registers after each PE's multiplier."""

    def __init__(self, rows: int, cols: int, in_bits: int, acc_bits: int, stages: int = 0):
        super().__init__(rows, cols, in_bits, acc_bits, {
            "w": In(_vec(signed(in_bits), cols)),
            "w_shift": In(1),
            "ps": Out(_vec(signed(acc_bits), cols)),
        }, stages)

    def _column(self, m, pe, r, c, *, before):
        p = pe[r][c]
        if before:
            m.d.comb += p.w_shift.eq(self.w_shift)
        elif r == 0:
            m.d.comb += [p.w_in.eq(self.w[c]), p.ps_in.eq(0)]
        else:
            m.d.comb += [p.w_in.eq(pe[r - 1][c].w_out), p.ps_in.eq(pe[r - 1][c].ps_out)]

    def elaborate(self, platform):
        m = Module()
        C = self.cols
        pe = self._grid(m, lambda r, c: WsPE(self.in_bits, self.acc_bits, right=c < C - 1,
                                             stages=self.stages), self._column)
        for c in range(self.cols):
            m.d.comb += self.ps[c].eq(pe[self.rows - 1][c].ps_out)
        return m


class OsMesh(_Mesh):
    """Output-stationary mesh. ``a``/``sw`` enter row r at the left, ``b`` enters column
    c at the top, finished sums leave column c at the top through the drain chain.
    ``stages``: registers after each PE's multiplier."""

    def __init__(self, rows: int, cols: int, in_bits: int, acc_bits: int, stages: int = 0):
        super().__init__(rows, cols, in_bits, acc_bits, {
            "b": In(_vec(signed(in_bits), cols)),
            "d": Out(_vec(signed(acc_bits), cols)),
        }, stages)

    def _column(self, m, pe, r, c, *, before):
        if before:
            return
        p = pe[r][c]
        m.d.comb += p.b_in.eq(self.b[c] if r == 0 else pe[r - 1][c].b_out)
        m.d.comb += p.d_in.eq(0 if r == self.rows - 1 else pe[r + 1][c].d_out)

    def elaborate(self, platform):
        m = Module()
        R, C = self.rows, self.cols
        pe = self._grid(m, lambda r, c: OsPE(self.in_bits, self.acc_bits, right=c < C - 1,
                                             down=r < R - 1, stages=self.stages),
                        self._column)
        for c in range(self.cols):
            m.d.comb += self.d[c].eq(pe[0][c].d_out)
        return m
