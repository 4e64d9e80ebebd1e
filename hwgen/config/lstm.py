"""Configuration of the block-circulant LSTM cell: the ``lstm:`` section.

The keys shared with the ``gru:`` section are
:class:`CellConfig`'s (hwgen.config.gru). One LSTM step, ``z = Wx x + Wh h + b`` followed by the piecewise-linear gates, with the
four gate matrices ``Wx`` (4H x D) and ``Wh`` (4H x H) block-circulant: k x k blocks,
each stored as its defining vector of k weights (E-RNN). The cell's arithmetic is
:func:`hwgen.models.circulant_lstm.lstm_fixed`; the hardware is
:class:`hwgen.units.circulant_lstm.CirculantLstm` (docs/circulant.md).

Word lengths (the model's :class:`~hwgen.models.circulant_lstm.LstmFixed`, plus the
widths of the ports):

``frac``
    Fraction bits of inputs, hidden state, cell state and pre-activations (1.0 is
    ``2^frac``); a hidden value lies within +-2^frac, so the results are ``frac + 2``
    bits wide.
``w_frac``, ``w_bits``
    Fraction bits and signed width of a weight code.
``state_bits``
    Signed width the pre-activations and the cell state saturate to.
``in_bits``
    Signed width of an input code.
``bias_bits``
    Signed width of a bias code (at ``frac + w_frac`` fraction bits, the scale of the
    products).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .check import Checker, parse_section

SIZE_MAX = 1024
BLOCK_MAX = 64


@dataclass(frozen=True)
class CellConfig:
    """The keys and checks the recurrent cells share (``lstm:``, ``gru:``): sizes, block
    size and word lengths (see the module docstring). A subclass names its section in
    ``ROOT`` and its pre-activation rows per hidden unit in ``ROWS_PER_UNIT``.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H, multiples of ``block_size``.
    block_size : int
        k, the side of a circulant block (1: a dense cell).
    frac, w_frac, w_bits, state_bits, in_bits, bias_bits : int
        Word lengths.
    """
    input_size: int = 8
    hidden_size: int = 16
    block_size: int = 4
    frac: int = 8
    w_frac: int = 6
    w_bits: int = 8
    state_bits: int = 16
    in_bits: int = 12
    bias_bits: int = 24

    ROOT = "cell"
    ROWS_PER_UNIT = 4

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        d = ck.int_("input_size", 1, SIZE_MAX)
        h = ck.int_("hidden_size", 1, SIZE_MAX)
        k = ck.int_("block_size", 1, BLOCK_MAX)
        if k is not None:
            for key, v in (("input_size", d), ("hidden_size", h)):
                if v is not None and v % k:
                    ck.fail(key, f"must be a multiple of block_size={k}, got {v}")
        ck.int_("state_bits", 3, 32)
        frac = ck.int_("frac", 1, 24)
        if frac is not None and ck.ok("state_bits") and frac > self.state_bits - 2:
            ck.fail("frac", f"must be at most state_bits - 2 = {self.state_bits - 2} (the "
                    f"state holds +-1.0), got {frac}")
        ck.int_("w_bits", 2, 16)
        ck.int_("w_frac", 0, 32)
        ck.int_("in_bits", 2, 32)
        ck.int_("bias_bits", 2, 48)
        # within these limits acc_bits is at most 59, under the model's int64
        ck.done()

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def gate_rows(self) -> int:
        """The pre-activation rows, ``ROWS_PER_UNIT`` H (also the bias codes)."""
        return self.ROWS_PER_UNIT * self.hidden_size

    @property
    def blocks_out(self) -> int:
        """Block rows of the pre-activations, gate_rows / k."""
        return self.gate_rows // self.block_size

    @property
    def blocks_in(self) -> int:
        """Block columns of ``[Wx Wh]``, (D + H) / k."""
        return (self.input_size + self.hidden_size) // self.block_size

    @property
    def block_columns(self) -> tuple:
        """Per group of H pre-activation rows, the range ``(first, last)`` of block
        columns of ``[Wx Wh]`` it reads (all of them for every LSTM gate)."""
        return ((0, self.blocks_in - 1),) * self.ROWS_PER_UNIT

    @property
    def weight_codes(self) -> int:
        """Weight codes the cell stores: k per block of every group's block columns."""
        per_group = sum(hi - lo + 1 for lo, hi in self.block_columns)
        return self.hidden_size // self.block_size * per_group * self.block_size

    @property
    def h_bits(self) -> int:
        """Signed width of a hidden value (within +-2^frac)."""
        return self.frac + 2

    @property
    def operand_bits(self) -> int:
        """Signed width of a multiplier's vector operand (an input or a hidden value)."""
        return max(self.in_bits, self.h_bits)

    @property
    def word_bits(self) -> int:
        """Width of a word on the weight port (a weight or a bias code)."""
        return max(self.w_bits, self.bias_bits)

    @property
    def acc_bits(self) -> int:
        """Width of a gate row's exact sum: D + H products of ``operand_bits`` x
        ``w_bits`` codes, at most 2^(o + w - 2) each, and a bias code."""
        n = self.input_size + self.hidden_size
        return max(self.operand_bits + self.w_bits - 2 + (n - 1).bit_length(),
                   self.bias_bits - 1) + 2

    @property
    def cycles_per_step(self) -> int:
        """Cycles from the one that takes a step's last input code to the one that
        hands over its last result, with the results always taken: one weight code per
        cycle (:attr:`weight_codes`), three pipeline stages (products, sums, rounding),
        one cycle to turn to the gates, one hidden unit per cycle (H) and the output
        register."""
        return self.weight_codes + 3 + 1 + self.hidden_size + 1


@dataclass(frozen=True)
class LstmConfig(CellConfig):
    """The ``lstm:`` section (see the module docstring); checks itself on construction.
    The pre-activations are the four gates i, f, g, o, each over ``[Wx Wh]``: 4H
    rows, (4H/k) (D + H) weight codes.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H, multiples of ``block_size``.
    block_size : int
        k, the side of a circulant block (1: a dense cell).
    frac, w_frac, w_bits, state_bits, in_bits, bias_bits : int
        Word lengths.
    """

    ROOT = "lstm"


KEYS = tuple(f.name for f in dataclasses.fields(LstmConfig))


def parse_lstm(data: Any, source: str = "<config>") -> LstmConfig:
    """Validate the ``lstm:`` section (a mapping) into a :class:`LstmConfig`.

    Raises :class:`hwgen.config.ConfigError` with one line per problem.
    """
    return parse_section(LstmConfig, data, "lstm", source)
