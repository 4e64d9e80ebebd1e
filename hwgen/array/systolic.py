"""The systolic array as the controller sees it: unskewed vectors in, deskewed vectors
out, with a fixed latency.

Weight-stationary: a row vector ``a`` (one element per array row, i.e. along K) presented
in cycle X gives the column sums ``out`` (one per array column, along N) in cycle
X + ``latency``. Output-stationary: an ``a`` column (along M) and a ``b`` row (along N)
presented together in each step; the step that carries ``sw`` in cycle X flushes the
previous tile, whose row r appears on ``out`` in cycle X + ``drain_offset`` + 2r.
Input-stationary: the weight-stationary array; the engine shifts tiles of A^T in at the
top and streams columns of B (along K) in at the left, so ``out`` carries a row of C^T.

Every operand is registered where it enters the array (:data:`EDGE_LATENCY`), so the
first PE's multiplier starts from a flip-flop, not from the buffer's read path. On a
weight-stationary array the tile switch and the weight shift skip that register: they
reach each PE a cycle before the activation they belong to, which lets the PE copy its
next weight into a register ahead of time (:class:`~hwgen.pe.WsPE`).
"""
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig, Dataflow
from ..lib.checks import check_int, check_type
from ..lib.schedule import EDGE_LATENCY
from ..pe.mac import PE_STAGES_MAX, check_widths
from .mesh import OsMesh, WsMesh


def _delay(m, sig, n, name):
    """``sig`` delayed by ``n`` register stages."""
    for i in range(n):
        nxt = Signal.like(sig, name=f"{name}_d{i + 1}")
        m.d.sync += nxt.eq(sig)
        sig = nxt
    return sig


class SystolicArray(wiring.Component):
    """R x C systolic array with input skew and output deskew registers.

    Parameters
    ----------
    cfg : ArrayConfig
        Shape and dataflow.
    in_bits, acc_bits : int
        Operand and accumulator widths.
    stages : int
        Registers after each PE's multiplier (``pipeline.pe``).

    Attributes
    ----------
    a : In, R elements
        Left-edge vector.
    b : In, C elements
        Top-edge vector: next weights (weight-stationary, shifted in while ``w_shift``)
        or the B row of this step (output-stationary).
    w_shift : In
        Weight-stationary only: shift the shadow-weight chain.
    sw : In
        First vector of a new tile.
    out : Out, C elements
        Deskewed column results.
    """

    def __init__(self, cfg: ArrayConfig, in_bits: int, acc_bits: int, *, stages: int = 0):
        check_type(self, "cfg", cfg, ArrayConfig)
        check_widths(self, in_bits, acc_bits)
        self.stages = check_int(self, "stages", stages, 0, PE_STAGES_MAX)
        self.cfg = cfg
        self.in_bits, self.acc_bits = in_bits, acc_bits
        R, C = cfg.rows, cfg.cols
        super().__init__({
            "a": In(data.ArrayLayout(signed(in_bits), R)),
            "b": In(data.ArrayLayout(signed(in_bits), C)),
            "w_shift": In(1),
            "sw": In(1),
            "out": Out(data.ArrayLayout(signed(acc_bits), C)),
        })

    @property
    def latency(self) -> int:
        """Weight-stationary: cycles from ``a`` to the matching ``out``."""
        return EDGE_LATENCY + self.cfg.rows + self.cfg.cols - 1 + self.stages

    @property
    def drain_offset(self) -> int:
        """Output-stationary: cycles from the ``sw`` step to row 0 of the previous tile."""
        return EDGE_LATENCY + self.cfg.cols + self.stages

    def elaborate(self, platform):
        m = Module()
        R, C = self.cfg.rows, self.cfg.cols
        os = self.cfg.dataflow is Dataflow.OS
        mesh = (OsMesh if os else WsMesh)(R, C, self.in_bits, self.acc_bits, self.stages)
        m.submodules.mesh = mesh
        e = EDGE_LATENCY
        # one delay chain, tapped once per row (WS: without the edge register)
        sw = _delay(m, self.sw, e, "sw_edge") if os else self.sw
        for r in range(R):
            m.d.comb += [
                mesh.a[r].eq(_delay(m, self.a[r], e + r, f"a_skew{r}")),
                mesh.sw[r].eq(sw),
            ]
            if r < R - 1:
                sw = _delay(m, sw, 1, f"sw_skew{r}")
        for c in range(C):
            if os:
                m.d.comb += mesh.b[c].eq(_delay(m, self.b[c], e + c, f"b_skew{c}"))
                res = mesh.d[c]
            else:
                m.d.comb += mesh.w[c].eq(self.b[c])
                res = mesh.ps[c]
            m.d.comb += self.out[c].eq(_delay(m, res, C - 1 - c, f"deskew{c}"))
        if not os:
            m.d.comb += mesh.w_shift.eq(self.w_shift)
        return m
