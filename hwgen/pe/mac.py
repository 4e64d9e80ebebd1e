"""Processing elements: one signed multiply-accumulate each.

Two flavours, one per dataflow, so a design carries no hardware for the dataflow it does
not use.
"""
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..lib.checks import check_int, reject

#: Widest operand and accumulator the PEs take (the config allows 16 and 64).
IN_BITS_MAX, ACC_BITS_MAX = 32, 128


#: Register stages a PE may put after its multiplier (``pipeline.pe``).
PE_STAGES_MAX = 2


def _product(m, a, b, stages: int, name: str):
    """``a * b`` (both signed) through ``stages`` registers.

    0: combinational. 1: the product registered. 2: ``b`` split into its low half
    (unsigned) and its high half (signed), the two partial products ``a * b_lo`` and
    ``a * b_hi`` registered, and their sum ``a * b_lo + (a * b_hi << h)`` -- the exact
    signed product -- registered in the next stage; each multiplier is then about half
    as deep as the whole one."""
    width = len(a) + len(b)
    if stages == 0:
        return a * b
    if stages == 1:
        q = Signal(signed(width), name=f"{name}_q")
        m.d.sync += q.eq(a * b)
        return q
    h = len(b) // 2
    lo_e, hi_e = a * b[:h], a * b[h:].as_signed()
    lo = Signal(lo_e.shape(), name=f"{name}_lo")
    hi = Signal(hi_e.shape(), name=f"{name}_hi")
    q = Signal(signed(width), name=f"{name}_q")
    m.d.sync += [lo.eq(lo_e), hi.eq(hi_e), q.eq(lo + (hi << h))]
    return q


def check_widths(component, in_bits: int, acc_bits: int) -> tuple[int, int]:
    """The operand and accumulator widths of a PE or mesh, checked: the accumulator must
    hold at least one product (2 in_bits - 1 bits)."""
    check_int(component, "in_bits", in_bits, 2, IN_BITS_MAX)
    check_int(component, "acc_bits", acc_bits, 2, ACC_BITS_MAX)
    if acc_bits < 2 * in_bits - 1:
        reject(component, ValueError(f"{type(component).__name__} acc_bits={acc_bits} cannot "
                                     f"hold one product of two {in_bits}-bit operands "
                                     f"(needs at least {2 * in_bits - 1})"))
    return in_bits, acc_bits


def _row_ports(in_bits: int, right: bool) -> dict:
    """The ports every PE has: the activation and the tile switch flag, in from the left
    and, unless the PE is the last of its row (``right=False``), registered out to the
    right."""
    ports = {"a_in": In(signed(in_bits)), "sw_in": In(1)}
    if right:
        ports.update({"a_out": Out(signed(in_bits)), "sw_out": Out(1)})
    return ports


def _pass_right(m, pe) -> None:
    """Register the activation and the tile switch flag out to the right, where a PE
    follows in the row."""
    if pe.right:
        m.d.sync += [pe.a_out.eq(pe.a_in), pe.sw_out.eq(pe.sw_in)]


class WsPE(wiring.Component):
    """Weight-stationary PE.

    The weight in use (``active``) stays put while activations pass left to right and
    partial sums top to bottom. The next tile's weight is shifted into ``shadow`` through
    the column (``w_in`` -> ``w_out``) while the current tile computes. The ``sw`` flag
    travels one cycle ahead of the first activation of a tile and copies the shadow into
    ``active`` just before that activation reaches this PE, so consecutive tiles stream
    with no bubble and the multiplier reads a register, not a multiplexer.

    Parameters
    ----------
    in_bits : int
        Operand width (signed).
    acc_bits : int
        Partial-sum width (signed).
    right : bool
        A PE follows in the row; the last PE of a row has no ``a_out``/``sw_out``.
    stages : int
        Registers after the multiplier (0 to 2). With 1 the product is registered and
        added to ``ps_in`` a cycle later, so the multiplier and the adder are on
        separate paths; with 2 the multiplier itself is split into two registered
        partial products (of the weight's low and high half) summed in the next
        stage. Partial sums then leave the column ``stages`` cycles later, and every
        row adds the same cycles, so the column stays aligned.

    Attributes
    ----------
    a_in : In
        Activation from the left.
    sw_in : In
        The activation of the next cycle is the first of a new tile.
    a_out, sw_out : Out
        Registered copies to the right (when ``right``).
    w_in : In
        Next weight from the PE above (or the column top).
    w_shift : In
        Shift the shadow-weight chain this cycle (column-wide).
    w_out : Out
        This PE's shadow weight, to the PE below.
    ps_in : In
        Partial sum from above.
    ps_out : Out
        ``ps_in + a_in * w``, registered (``stages`` > 0: ``ps_in`` plus the product
        of the operands of ``stages`` cycles before).
    """

    def __init__(self, in_bits: int, acc_bits: int, *, right: bool = True, stages: int = 0):
        self.in_bits, self.acc_bits = check_widths(self, in_bits, acc_bits)
        self.stages = check_int(self, "stages", stages, 0, PE_STAGES_MAX)
        self.right = right
        super().__init__({
            **_row_ports(in_bits, right),
            "w_in": In(signed(in_bits)), "w_out": Out(signed(in_bits)),
            "w_shift": In(1),
            "ps_in": In(signed(acc_bits)), "ps_out": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        active = Signal(signed(self.in_bits))
        shadow = self.w_out   # the shadow register is the port to the PE below
        with m.If(self.sw_in):
            m.d.sync += active.eq(shadow)
        prod = _product(m, self.a_in, active, self.stages, "prod")
        m.d.sync += self.ps_out.eq(self.ps_in + prod)
        _pass_right(m, self)
        with m.If(self.w_shift):
            m.d.sync += shadow.eq(self.w_in)
        return m


class OsPE(wiring.Component):
    """Output-stationary PE.

    Accumulates ``a_in * b_in`` in place. The ``sw`` flag travels with the first operand
    pair of a tile: the finished sum moves into the drain register ``d`` and the
    accumulator restarts with the new product. Drain registers form a chain from the
    bottom of the column to the top (``d_in`` from below, ``d_out`` upwards); because the
    tile switch sweeps down the column while the chain moves up, a finished tile leaves
    the column top one row every two cycles without colliding with the next one.

    Parameters
    ----------
    in_bits : int
        Operand width (signed).
    acc_bits : int
        Accumulator width (signed).
    right, down : bool
        A PE follows in the row (column); the last PE of a row has no ``a_out``/
        ``sw_out``, the last of a column no ``b_out``.
    stages : int
        Registers after the multiplier (0 to 2; 2 splits the multiplier into two
        registered partial products, as in :class:`WsPE`). The switch flag is delayed
        with the product, so every capture into the drain chain happens ``stages``
        cycles later.

    Attributes
    ----------
    a_in, sw_in : In
        Activation and tile-switch flag from the left.
    a_out, sw_out : Out
        Registered copies to the right (when ``right``).
    b_in : In
        Weight from above.
    b_out : Out
        Registered copy downwards (when ``down``).
    d_in : In
        Drain chain from the PE below (zero at the bottom row).
    d_out : Out
        Drain register, to the PE above.
    """

    def __init__(self, in_bits: int, acc_bits: int, *, right: bool = True,
                 down: bool = True, stages: int = 0):
        self.in_bits, self.acc_bits = check_widths(self, in_bits, acc_bits)
        self.stages = check_int(self, "stages", stages, 0, PE_STAGES_MAX)
        self.right, self.down = right, down
        super().__init__({
            **_row_ports(in_bits, right),
            "b_in": In(signed(in_bits)),
            **({"b_out": Out(signed(in_bits))} if down else {}),
            "d_in": In(signed(acc_bits)), "d_out": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        acc = Signal(signed(self.acc_bits))
        prod = _product(m, self.a_in, self.b_in, self.stages, "prod")
        sw = self.sw_in
        for i in range(self.stages):   # the switch flag travels with its product
            nxt = Signal(name=f"sw_d{i + 1}")
            m.d.sync += nxt.eq(sw)
            sw = nxt
        _pass_right(m, self)
        if self.down:
            m.d.sync += self.b_out.eq(self.b_in)
        with m.If(sw):
            m.d.sync += [acc.eq(prod), self.d_out.eq(acc)]
        with m.Else():
            m.d.sync += [acc.eq(acc + prod), self.d_out.eq(self.d_in)]
        return m
