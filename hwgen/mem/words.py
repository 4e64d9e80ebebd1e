"""Word shapes shared by the buffers, the engine and the host interface, derived from
the config in one place."""
from amaranth.hdl import signed
from amaranth.lib import data

from ..config import AcceleratorConfig


def input_word(cfg: AcceleratorConfig) -> data.ArrayLayout:
    """An input-buffer word: one operand per array row (input-stationary: per column,
    a row of the stationary A^T tile)."""
    return data.ArrayLayout(signed(cfg.precision.in_bits), cfg.in_word_elems)


def weight_word(cfg: AcceleratorConfig) -> data.ArrayLayout:
    """A weight-buffer word: one operand per array column (input-stationary: per row,
    a streamed column of B)."""
    return data.ArrayLayout(signed(cfg.precision.in_bits), cfg.w_word_elems)


def acc_word(cfg: AcceleratorConfig) -> data.ArrayLayout:
    """An accumulator word: one sum per array column."""
    return data.ArrayLayout(signed(cfg.acc_bits), cfg.C)
