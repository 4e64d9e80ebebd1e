"""What one FPGA build is asked to do: :class:`FpgaOptions`, checked when made."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .boards import Board, get_board


@dataclass(frozen=True)
class FpgaOptions:
    """The options of one :func:`fpga.build`.

    Parameters
    ----------
    board : str
        A board of :data:`fpga.boards.BOARDS`.
    clock_mhz : float, optional
        With ``pll``: the frequency the board's PLL is to make from the oscillator (the
        design runs at the nearest one it can make, which is also the timing target and
        sets the UART divisor). Without ``pll`` the design runs from the oscillator and
        ``clock_mhz``, if given, only moves the timing target.
    seed : int
        nextpnr's placement seed.
    pll : bool
        Clock the design from the PLL (needs ``clock_mhz``).
    dsp_fallback : bool
        When only the DSP blocks overflow, build every multiplier from logic cells
        instead (``multipliers`` in the report says which); False reports such a design
        as not fitting (DSP).
    auto_clock : bool
        Choose the clock (``hwgen fpga --clock-mhz auto``): build at the oscillator, then
        from the PLL at the highest frequency it makes at or below the Fmax reached, and
        keep the fastest build that meets its timing target (:func:`fpga.flow.build`).
        Excludes ``clock_mhz`` and ``pll``.

    Raises UnknownBoard, or ValueError with one line.
    """

    board: str
    clock_mhz: Optional[float] = None
    seed: int = 1
    pll: bool = False
    dsp_fallback: bool = True
    auto_clock: bool = False

    def __post_init__(self):
        get_board(self.board)
        if self.auto_clock and (self.pll or self.clock_mhz is not None):
            raise ValueError("auto_clock chooses the clock itself: give neither clock_mhz nor pll")
        if self.clock_mhz is not None and not self.clock_mhz > 0:
            raise ValueError(f"clock_mhz must be positive, got {self.clock_mhz}")
        if self.pll and self.clock_mhz is None:
            raise ValueError("pll=True needs clock_mhz")

    @property
    def board_spec(self) -> Board:
        return get_board(self.board)
