"""The host protocol's command words (docs/host_protocol.md), in one place.

A command is one 64-bit word: the opcode in bits 0..3, then fields whose positions depend
on the opcode. The host interface RTL slices the word with the same constants, the
program builder encodes with :func:`cmd_load` and friends, and the cycle model decodes
with :func:`decode`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import WorkloadError

CMD_BITS = 64

(OP_NOP, OP_LOAD_IN, OP_LOAD_W, OP_COMPUTE, OP_READ, OP_SET_QUANT, OP_SET_BIAS,
 OP_SET_CLAMP, OP_CONV_SET, OP_LOAD_ACC, OP_SET_PRELOAD, OP_SYNC, OP_POOL) = range(13)
OPCODES = {"NOP": OP_NOP, "LOAD_IN": OP_LOAD_IN, "LOAD_W": OP_LOAD_W,
           "COMPUTE": OP_COMPUTE, "READ": OP_READ, "SET_QUANT": OP_SET_QUANT,
           "SET_BIAS": OP_SET_BIAS, "SET_CLAMP": OP_SET_CLAMP, "CONV_SET": OP_CONV_SET,
           "LOAD_ACC": OP_LOAD_ACC, "SET_PRELOAD": OP_SET_PRELOAD, "SYNC": OP_SYNC,
           "POOL": OP_POOL}
OP_BITS = 4

#: Width of the M, K and N fields of a COMPUTE command.
DIM_BITS = 18
#: Width of the address and count fields of LOAD / READ commands.
ADDR_BITS = 20
COUNT_BITS = 20
#: Widths of the SET_QUANT and SET_BIAS fields.
SHIFT_BITS = 6
MULT_FIELD_BITS = 32
LANE_BITS = 6
BIAS_BITS_MAX = 48
#: Width of a clamp bound (SET_CLAMP) and of a convolution register (CONV_SET).
CLAMP_BITS = 32
CONV_REG_BITS = 24
#: Width of a residual preload factor (SET_PRELOAD), unsigned.
PRELOAD_BITS = 16

# Field positions (low bit, width).
F_BANK = (4, 1)         # LOAD, READ: bank
F_ACCUMULATE = (4, 1)   # COMPUTE
F_IN_BANK = (5, 1)      # COMPUTE
F_RAW = (5, 1)          # READ
F_W_BANK = (6, 1)       # COMPUTE
F_RELU = (6, 1)         # READ
F_ACC_BANK = (7, 1)     # COMPUTE
F_ADDR = (8, ADDR_BITS)
F_COUNT = (8 + ADDR_BITS, COUNT_BITS)
F_M = (8, DIM_BITS)
F_K = (8 + DIM_BITS, DIM_BITS)
F_N = (8 + 2 * DIM_BITS, DIM_BITS)
F_SHIFT = (8, SHIFT_BITS)
F_MULT = (16, MULT_FIELD_BITS)
F_LANE = (8, LANE_BITS)
F_BIAS = (16, BIAS_BITS_MAX)
F_ONE_LANE = (4, 1)       # SET_QUANT: 1 = only lane F_QLANE, 0 = every lane
F_QLANE = (56, LANE_BITS)
F_CLAMP_HI = (4, 1)       # SET_CLAMP: 0 = lower bound, 1 = upper bound
F_CLAMP = (8, CLAMP_BITS)
F_CONV_REG = (8, 5)       # CONV_SET: register index (ConvReg, OsConvReg)
F_CONV_VALUE = (16, CONV_REG_BITS)
F_CONV = (62, 1)          # COMPUTE: the input operand comes from the convolution's
                          # address generator (im2col on chip)
F_PRELOAD = (16, PRELOAD_BITS)   # SET_PRELOAD: factor of lane F_LANE
#: Width of a POOL command's kernel height and width fields.
POOL_K_BITS = 9
F_POOL_KH = (8 + DIM_BITS, POOL_K_BITS)                 # POOL: kernel rows
F_POOL_KW = (8 + DIM_BITS + POOL_K_BITS, POOL_K_BITS)   # POOL: kernel columns


class ConvReg:
    """Registers of the convolution address generator (CONV_SET), all signed
    ``CONV_REG_BITS`` wide; docs/host_protocol.md says what each holds."""
    W_IN, ROWS_IN, W_OUT, ROW0, COL0, SY, SX, DY, DX, KW, CT, PX_STEP, ROW_JUMP, \
        KX_STEP, KY_STEP, BASE0 = range(16)


CONV_REGS = 16


class PoolReg:
    """The pooling unit's view of the CONV_SET registers (docs/host_protocol.md, POOL):
    the input rows and columns of the band in the input buffer, the row and column of
    the first output pixel's first tap relative to the band (negative in the padding),
    its word address ``ROW0 * W_IN + COL0``, and the steps in rows, columns and words
    between output pixels (stride) and between taps (dilation)."""
    ROWS_IN, W_IN, ROW0, COL0, BASE0, SY, SX, SY_W, DY, DX, DY_W = range(11)


class OsConvReg:
    """The registers of the output-stationary engine's address generator
    (docs/host_protocol.md): the first 16 at the weight-stationary registers' indices,
    then the kernel-row step through row phases (``YSTEP``, ``YS``, ``YWRAP``). Five
    registers hold small fields side by side (:data:`OS_PACKED`)."""
    ROWS_IN, WQW_XT, DXP_W, ROW_STRIDE, CH_STRIDE, OY_JUMP, SY, ROW0, TB0, KW_KH, \
        DY_STRIDE, DY, A0, X0, XSTEP, DXW, YSTEP, YS, YWRAP = range(19)


#: Registers of the output-stationary address generator (:class:`OsConvReg`).
OS_CONV_REGS = 19


def conv_reg_count(os: bool) -> int:
    """CONV_SET registers of the address generator of an output-stationary (``os``) or
    weight-stationary design."""
    return OS_CONV_REGS if os else CONV_REGS


#: Fields of the packed output-stationary registers: register -> ((name, lsb, width,
#: signed), ...).
OS_PACKED = {
    OsConvReg.WQW_XT: (("WQW", 0, 12, False), ("XT", 12, 12, False)),
    OsConvReg.KW_KH: (("KW", 0, 12, False), ("KH", 12, 12, False)),
    OsConvReg.X0: (("P0", 0, 8, False), ("QS0", 8, 8, False), ("QW0", 16, 8, True)),
    OsConvReg.XSTEP: (("SX", 0, 8, False), ("DXP", 8, 8, False), ("DXS", 16, 8, False)),
    OsConvReg.YSTEP: (("SYP", 0, 8, False), ("DYP", 8, 8, False)),
    OsConvReg.YS: (("YS0", 0, 8, False), ("YS1", 8, 8, False)),
}


def pack_fields(reg: int, **values: int) -> int:
    """The signed register value holding ``values`` in the fields of packed register
    ``reg`` (:data:`OS_PACKED`)."""
    word = 0
    for name, lsb, width, signed_ in OS_PACKED[reg]:
        v = values[name]
        lo, hi = (-(1 << (width - 1)), 1 << (width - 1)) if signed_ else (0, 1 << width)
        if not lo <= v < hi:
            raise WorkloadError(f"{name}={v} does not fit its {width}-bit field")
        word |= (v & ((1 << width) - 1)) << lsb
    return word - (1 << CONV_REG_BITS) if word >> (CONV_REG_BITS - 1) else word


def field_slice(f: tuple[int, int]) -> slice:
    """The bit slice of field ``f`` (for slicing an Amaranth value)."""
    return slice(f[0], f[0] + f[1])


def _put(value: int, f: tuple[int, int]) -> int:
    lo, width = f
    if not 0 <= value < (1 << width):
        raise WorkloadError(f"command field value {value} does not fit {width} bits")
    return value << lo


def get(cmd: int, f: tuple[int, int]) -> int:
    lo, width = f
    return (cmd >> lo) & ((1 << width) - 1)


def cmd_load(weights: bool, bank: int, addr: int, count: int) -> int:
    return ((OP_LOAD_W if weights else OP_LOAD_IN) | _put(bank, F_BANK)
            | _put(addr, F_ADDR) | _put(count, F_COUNT))


def cmd_compute(m: int, k: int, n: int, accumulate: bool, in_bank: int, w_bank: int,
                acc_bank: int, conv: bool = False) -> int:
    return (OP_COMPUTE | _put(int(accumulate), F_ACCUMULATE) | _put(in_bank, F_IN_BANK)
            | _put(w_bank, F_W_BANK) | _put(acc_bank, F_ACC_BANK)
            | _put(m, F_M) | _put(k, F_K) | _put(n, F_N) | _put(int(conv), F_CONV))


def cmd_read(bank: int, addr: int, count: int, raw: bool, relu: bool) -> int:
    return (OP_READ | _put(bank, F_BANK) | _put(int(raw), F_RAW) | _put(int(relu), F_RELU)
            | _put(addr, F_ADDR) | _put(count, F_COUNT))


def cmd_set_quant(mult: int, shift: int, lane: int | None = None) -> int:
    """Requantization multiplier and shift of every lane, or of one lane."""
    one = 0 if lane is None else _put(1, F_ONE_LANE) | _put(lane, F_QLANE)
    return OP_SET_QUANT | _put(shift, F_SHIFT) | _put(mult, F_MULT) | one


def cmd_set_clamp(upper: bool, value: int) -> int:
    """The lower or upper bound the requantized outputs are clamped to (before ReLU)."""
    if not -(1 << (CLAMP_BITS - 1)) <= value < (1 << (CLAMP_BITS - 1)):
        raise WorkloadError(f"clamp bound {value} does not fit {CLAMP_BITS} signed bits")
    return (OP_SET_CLAMP | _put(int(upper), F_CLAMP_HI)
            | _put(value & ((1 << CLAMP_BITS) - 1), F_CLAMP))


def cmd_conv_set(reg: int, value: int) -> int:
    if not -(1 << (CONV_REG_BITS - 1)) <= value < (1 << (CONV_REG_BITS - 1)):
        raise WorkloadError(f"convolution register {reg} value {value} does not fit "
                            f"{CONV_REG_BITS} signed bits")
    return (OP_CONV_SET | _put(reg, F_CONV_REG)
            | _put(value & ((1 << CONV_REG_BITS) - 1), F_CONV_VALUE))


def cmd_load_acc(bank: int, addr: int, count: int) -> int:
    """Preload ``count`` accumulator words: each element of the ``din`` words (COLS
    elements, IN_BITS each) times its lane's preload factor."""
    return OP_LOAD_ACC | _put(bank, F_BANK) | _put(addr, F_ADDR) | _put(count, F_COUNT)


def cmd_pool(rows: int, cols: int, kh: int, kw: int, in_bank: int, acc_bank: int) -> int:
    """Max pooling of ``rows`` x ``cols`` output pixels over a ``kh`` x ``kw`` window,
    from the input bank into the accumulator bank (window geometry in :class:`PoolReg`)."""
    return (OP_POOL | _put(in_bank, F_IN_BANK) | _put(acc_bank, F_ACC_BANK)
            | _put(rows, F_M) | _put(cols, F_N) | _put(kh, F_POOL_KH) | _put(kw, F_POOL_KW))


def cmd_sync() -> int:
    """Wait until the compute engine is idle (a barrier between independent programs:
    every bank is free after it)."""
    return OP_SYNC


def cmd_set_preload(lane: int, factor: int) -> int:
    return OP_SET_PRELOAD | _put(lane, F_LANE) | _put(factor, F_PRELOAD)


def cmd_set_bias(lane: int, value: int) -> int:
    return OP_SET_BIAS | _put(lane, F_LANE) | _put(value & ((1 << BIAS_BITS_MAX) - 1), F_BIAS)


def opcode(cmd: int) -> int:
    return cmd & ((1 << OP_BITS) - 1)


@dataclass(frozen=True)
class Command:
    """A decoded command word (fields that do not apply to the opcode are 0)."""
    op: int
    bank: int = 0
    addr: int = 0
    count: int = 0
    m: int = 0
    k: int = 0
    n: int = 0
    accumulate: bool = False
    in_bank: int = 0
    w_bank: int = 0
    acc_bank: int = 0
    raw: bool = False
    relu: bool = False
    conv: bool = False


def decode(cmd: int) -> Command:
    op = opcode(cmd)
    if op in (OP_LOAD_IN, OP_LOAD_W, OP_LOAD_ACC):
        return Command(op, bank=get(cmd, F_BANK), addr=get(cmd, F_ADDR),
                       count=get(cmd, F_COUNT))
    if op == OP_READ:
        return Command(op, bank=get(cmd, F_BANK), addr=get(cmd, F_ADDR),
                       count=get(cmd, F_COUNT), raw=bool(get(cmd, F_RAW)),
                       relu=bool(get(cmd, F_RELU)))
    if op == OP_COMPUTE:
        return Command(op, m=get(cmd, F_M), k=get(cmd, F_K), n=get(cmd, F_N),
                       accumulate=bool(get(cmd, F_ACCUMULATE)), in_bank=get(cmd, F_IN_BANK),
                       w_bank=get(cmd, F_W_BANK), acc_bank=get(cmd, F_ACC_BANK),
                       conv=bool(get(cmd, F_CONV)))
    if op == OP_POOL:   # m x n output pixels of k taps each
        return Command(op, m=get(cmd, F_M), n=get(cmd, F_N),
                       k=get(cmd, F_POOL_KH) * get(cmd, F_POOL_KW),
                       in_bank=get(cmd, F_IN_BANK), acc_bank=get(cmd, F_ACC_BANK))
    return Command(op)
