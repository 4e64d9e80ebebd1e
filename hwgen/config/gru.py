"""Configuration of the block-circulant GRU cell: the ``gru:`` section.

The keys, their limits and the word lengths are the ``lstm:`` section's
(:class:`hwgen.config.lstm.CellConfig`); what differs is the set of pre-activation
rows. One GRU step (PyTorch's convention and order) reads four groups of H rows:

    r   = Wr x + Ur h + br              (reset gate, all of [Wx Wh])
    z   = Wz x + Uz h + bz              (update gate, all of [Wx Wh])
    n_x = Wn x + bn_x                   (the candidate's input part, Wx only)
    n_h = Un h + bn_h                   (the candidate's hidden part, Wh only)

so the cell stores (2H/k)(D + H) + (H/k) D + (H/k) H = 3H (D + H) / k weight codes and
4H bias codes. The arithmetic is :func:`hwgen.models.circulant_gru.gru_fixed`; the
hardware :class:`hwgen.units.circulant_gru.CirculantGru` (docs/circulant.md).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .check import parse_section
from .lstm import CellConfig


@dataclass(frozen=True)
class GruConfig(CellConfig):
    """The ``gru:`` section; the keys of :class:`~hwgen.config.lstm.CellConfig`,
    checked on construction with ``gru.`` in front of every message.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H, multiples of ``block_size``.
    block_size : int
        k, the side of a circulant block (1: a dense cell).
    frac, w_frac, w_bits, state_bits, in_bits, bias_bits : int
        Word lengths.
    """

    ROOT = "gru"

    @property
    def block_columns(self) -> tuple:
        """r and z read every block column of ``[Wx Wh]``, n_x the D/k input columns,
        n_h the H/k hidden ones."""
        qx, q = self.input_size // self.block_size, self.blocks_in
        return ((0, q - 1), (0, q - 1), (0, qx - 1), (qx, q - 1))


KEYS = tuple(f.name for f in dataclasses.fields(GruConfig))


def parse_gru(data: Any, source: str = "<config>") -> GruConfig:
    """Validate the ``gru:`` section (a mapping) into a :class:`GruConfig`.

    Raises :class:`hwgen.config.ConfigError` with one line per problem.
    """
    return parse_section(GruConfig, data, "gru", source)
