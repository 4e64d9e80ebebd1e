"""Block-circulant LSTM cell (``lstm:``), after E-RNN: the four gate matrices are
block-circulant, stored as one defining vector of k weights per k x k block, and the
products are computed exactly in the time domain on the datapath the recurrent cells
share (:class:`hwgen.units.circulant_cell.CirculantCell`).

:class:`CirculantLstm` computes :func:`hwgen.models.circulant_lstm.lstm_fixed` bit for
bit, one step per input vector. A step is ``weight_codes = (4H/k) (D + H)`` cycles of
products, then the gates one hidden unit per cycle: three multipliers update c and h of
that unit, and h leaves on the result stream (docs/circulant.md).
"""
from __future__ import annotations

from amaranth.hdl import Signal, signed

from ..config.lstm import LstmConfig
from .circulant_cell import CirculantCell, input_layout, sigmoid_pwl, tanh_pwl
from .rtl_arith import round_shift, saturate

__all__ = ["CirculantLstm", "lstm_top", "input_layout"]


class CirculantLstm(CirculantCell):
    """Block-circulant LSTM cell with piecewise-linear gates.

    Parameters
    ----------
    cfg : LstmConfig

    Attributes
    ----------
    w_in : In(stream.Signature(unsigned(word_bits)))
        After reset, the :func:`hwgen.models.circulant_lstm.pack_words` words: the
        weight codes block row by block row, then the 4H bias codes. Accepted until the
        last bias code; inputs are accepted after that.
    x_in : In(stream.Signature(input_layout(cfg)))
        The D input codes of a step, in order; ``first`` on a step's first code starts
        a sequence (h = c = 0 before the step).
    y_out : Out(stream.Signature(signed(h_bits)))
        The H hidden values of the step, in order.
    busy : Out(1)
        From a step's last input code until its last result is taken.
    """

    CONFIG = LstmConfig

    def _state_signals(self) -> list:
        cfg = self.cfg
        return [[Signal(signed(cfg.state_bits), name=f"c{j}") for j in range(cfg.hidden_size)]]

    def _unit(self, m, z, h, state):
        F, SB = self.cfg.frac, self.cfg.state_bits
        zi, zf, zg, zo = z
        c_new = Signal(signed(SB))
        h_new = Signal(signed(self.cfg.h_bits))
        m.d.comb += [
            c_new.eq(saturate(round_shift(sigmoid_pwl(zf, F) * state[0]
                                          + sigmoid_pwl(zi, F) * tanh_pwl(zg, F), F), SB)),
            h_new.eq(round_shift(sigmoid_pwl(zo, F) * tanh_pwl(c_new, F), F)),
        ]
        return h_new, [c_new]


def lstm_top(cfg: LstmConfig) -> CirculantLstm:
    """The stand-alone module ``hwgen generate`` writes for a config's ``lstm:``
    section."""
    return CirculantLstm(cfg)
