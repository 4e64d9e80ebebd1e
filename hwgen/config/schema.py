"""The typed configuration tree.

A YAML file is read into these frozen dataclasses by :mod:`hwgen.config.loader`, which
checks every field before anything is elaborated. Derived facts (accumulator width,
address widths, buffer words a GEMM chunk needs) are properties computed here, in one
place, and exported to Verilog, ``params.json`` and the C header from the same object.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from .circulant import CirculantConfig
from .sc import ScConfig

WS = "weight_stationary"
OS = "output_stationary"
DATAFLOWS = (WS, OS)

#: Width of the M, K and N fields of a COMPUTE command (see docs/host_protocol.md).
DIM_BITS = 18
#: Width of the address and count fields of LOAD / READ commands.
ADDR_BITS_MAX = 20


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def bits_for(n: int) -> int:
    """Unsigned bits needed to hold values 0 .. n (at least 1)."""
    return max(1, int(n).bit_length())


def acc_bits_needed(in_bits: int, max_k: int) -> int:
    """Smallest signed width that holds any sum of ``max_k`` products of two signed
    ``in_bits`` operands. The largest magnitude is K * 2^(2b-2) (both operands at
    -2^(b-1)), which is positive, so it sets the width."""
    peak = max_k * (1 << (2 * in_bits - 2))
    w = 1
    while (1 << (w - 1)) - 1 < peak:
        w += 1
    return w


def requant_product_bits(acc_bits: int, mult_bits: int) -> int:
    """Width of (acc + bias) * mult in the read path: acc + bias needs one bit more than
    the accumulator; the unsigned multiplier adds mult_bits + 1 as a signed operand."""
    return acc_bits + 1 + mult_bits + 1


@dataclass(frozen=True)
class ArrayConfig:
    rows: int = 4
    cols: int = 4
    dataflow: str = OS

    @property
    def pes(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class PrecisionConfig:
    in_bits: int = 8
    out_bits: int = 8
    max_k: int = 1024
    acc_bits: Optional[int] = None  # None: derived from in_bits and max_k
    mult_bits: int = 16  # requantization multiplier (unsigned)

    @property
    def acc_width(self) -> int:
        return self.acc_bits if self.acc_bits is not None else acc_bits_needed(self.in_bits, self.max_k)


@dataclass(frozen=True)
class BufferConfig:
    depth: int = 256  # words per bank
    banks: int = 2    # 2 = double-buffered

    @property
    def addr_bits(self) -> int:
        return bits_for(self.depth - 1)


@dataclass(frozen=True)
class BuffersConfig:
    input: BufferConfig = BufferConfig()
    weight: BufferConfig = BufferConfig()
    acc: BufferConfig = BufferConfig()


@dataclass(frozen=True)
class HostConfig:
    beat_elems: int = 4  # elements per beat on the data streams


@dataclass(frozen=True)
class MappingConfig:
    """A GEMM mapping as a co-search emits it: chunk sizes held on chip and the loop
    order over chunks (outermost first; k must be innermost so partial sums stay in
    the accumulator buffer)."""
    tile_m: int
    tile_k: int
    tile_n: int
    order: tuple = ("m", "n", "k")


@dataclass(frozen=True)
class AcceleratorConfig:
    name: str = "hwgen"
    array: ArrayConfig = ArrayConfig()
    precision: PrecisionConfig = PrecisionConfig()
    buffers: BuffersConfig = BuffersConfig()
    host: HostConfig = HostConfig()
    mapping: Optional[MappingConfig] = None
    sc: Optional[ScConfig] = None  # stochastic-computing layer (hwgen/units/stochastic.py)
    circulant: Optional[CirculantConfig] = None  # block-circulant FFT layer (units/circulant_fft.py)

    def replace(self, **kw) -> "AcceleratorConfig":
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def R(self) -> int:
        return self.array.rows

    @property
    def C(self) -> int:
        return self.array.cols

    @property
    def acc_bits(self) -> int:
        return self.precision.acc_width

    @property
    def in_word_elems(self) -> int:
        """Elements per input-buffer word: a row vector at the array's left edge."""
        return self.array.rows

    @property
    def w_word_elems(self) -> int:
        """Elements per weight-buffer word and accumulator word: one per column."""
        return self.array.cols

    def beats_per_word(self, elems: int) -> int:
        return ceil_div(elems, self.host.beat_elems)

    def chunk_words(self, m: int, k: int, n: int) -> dict:
        """Words of each buffer bank that one COMPUTE of an m x k x n chunk occupies."""
        R, C = self.R, self.C
        if self.array.dataflow == WS:
            return {
                "input": ceil_div(k, R) * m,
                "weight": ceil_div(k, R) * R * ceil_div(n, C),
                "acc": ceil_div(n, C) * m,
            }
        return {
            "input": ceil_div(m, R) * k,
            "weight": ceil_div(n, C) * k,
            "acc": ceil_div(m, R) * R * ceil_div(n, C),
        }

    def chunk_fits(self, m: int, k: int, n: int) -> Optional[str]:
        """None when the chunk fits every buffer bank, else the reason."""
        words = self.chunk_words(m, k, n)
        for buf, need in words.items():
            depth = getattr(self.buffers, buf).depth
            if need > depth:
                return f"{buf} buffer needs {need} words per bank for a {m}x{k}x{n} chunk, has {depth}"
        if max(m, k, n) >= (1 << DIM_BITS):
            return f"chunk dimension above {(1 << DIM_BITS) - 1}"
        return None

    @property
    def max_shift(self) -> int:
        """Largest requantization shift the read path supports."""
        return requant_product_bits(self.acc_bits, self.precision.mult_bits) - 2

    def params(self) -> dict:
        """Every parameter software needs, flat, for params.json and the C header."""
        return {
            "ROWS": self.R,
            "COLS": self.C,
            "DATAFLOW_OS": int(self.array.dataflow == OS),
            "IN_BITS": self.precision.in_bits,
            "OUT_BITS": self.precision.out_bits,
            "ACC_BITS": self.acc_bits,
            "MULT_BITS": self.precision.mult_bits,
            "MAX_K": self.precision.max_k,
            "BEAT_ELEMS": self.host.beat_elems,
            "CMD_BITS": 64,
            "DIN_BITS": self.host.beat_elems * self.precision.in_bits,
            "DOUT_BITS": self.host.beat_elems * self.acc_bits,
            "INPUT_DEPTH": self.buffers.input.depth,
            "INPUT_BANKS": self.buffers.input.banks,
            "WEIGHT_DEPTH": self.buffers.weight.depth,
            "WEIGHT_BANKS": self.buffers.weight.banks,
            "ACC_DEPTH": self.buffers.acc.depth,
            "ACC_BANKS": self.buffers.acc.banks,
            "DIM_BITS": DIM_BITS,
            "MAX_SHIFT": self.max_shift,
        }
