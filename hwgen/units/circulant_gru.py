"""Block-circulant GRU cell (``gru:``): the r, z and n matrices are block-circulant and
the products run on the datapath the recurrent cells share
(:class:`hwgen.units.circulant_cell.CirculantCell`).

:class:`CirculantGru` computes :func:`hwgen.models.circulant_gru.gru_fixed` bit for bit,
one step per input vector. The pre-activations are four groups of H rows, r and z over
``[Wx Wh]``, the candidate's input part n_x over Wx only and its hidden part n_h over
Wh only (kept apart because r multiplies n_h): ``weight_codes = 3H (D + H) / k`` cycles
of products, three quarters of the LSTM's. Then one hidden unit per cycle, with two
multipliers:

    n = tanh(n_x + round(sigma(r) n_h / 2^frac)),   h' = n + round(sigma(z) (h - n) / 2^frac)

where the second line is the model's ``round(((2^frac - sigma(z)) n + sigma(z) h) /
2^frac)`` with the exact multiple ``n 2^frac`` taken out of the rounding (one multiplier
fewer, the same bits).
"""
from __future__ import annotations

from amaranth.hdl import Signal, signed

from ..config.gru import GruConfig
from .circulant_cell import CirculantCell, sigmoid_pwl, tanh_pwl
from .rtl_arith import round_shift

__all__ = ["CirculantGru", "gru_top"]


class CirculantGru(CirculantCell):
    """Block-circulant GRU cell with piecewise-linear gates (PyTorch's convention).

    Parameters
    ----------
    cfg : GruConfig

    Attributes
    ----------
    w_in : In(stream.Signature(unsigned(word_bits)))
        After reset, the :func:`hwgen.models.circulant_gru.pack_gru_words` words: the
        weight codes block row by block row (r, z, n_x, n_h), then the 4H bias codes.
        Accepted until the last bias code; inputs are accepted after that.
    x_in : In(stream.Signature(input_layout(cfg)))
        The D input codes of a step, in order; ``first`` on a step's first code starts
        a sequence (h = 0 before the step).
    y_out : Out(stream.Signature(signed(h_bits)))
        The H hidden values of the step, in order.
    busy : Out(1)
        From a step's last input code until its last result is taken.
    """

    CONFIG = GruConfig

    def _unit(self, m, z, h, state):
        F = self.cfg.frac
        zr, zz, znx, znh = z
        n = Signal(signed(F + 2))
        h_new = Signal(signed(self.cfg.h_bits))
        m.d.comb += [
            n.eq(tanh_pwl(znx + round_shift(sigmoid_pwl(zr, F) * znh, F), F)),
            h_new.eq(n + round_shift(sigmoid_pwl(zz, F) * (h - n), F)),
        ]
        return h_new, []


def gru_top(cfg: GruConfig) -> CirculantGru:
    """The stand-alone module ``hwgen generate`` writes for a config's ``gru:``
    section."""
    return CirculantGru(cfg)
