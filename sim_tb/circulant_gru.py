"""The block-circulant GRU cell (``hwgen_gru``), as ``hwgen generate`` writes it, on the
Amaranth simulator and on Icarus or Verilator through cocotb
(``sim_tb/test_circulant_gru.py``), with the recurrent cells' shared runners."""
from __future__ import annotations

from pathlib import Path

from hwgen.emit import component_verilog
from hwgen.models.circulant_gru import pack_gru_words
from hwgen.units import GRU_TOP_NAME
from hwgen.units.circulant_gru import CirculantGru, gru_top

from .circulant_lstm import run_cell_amaranth, run_cell_rtl


def gru_verilog(cfg, name: str = GRU_TOP_NAME) -> str:
    """The cell's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(gru_top(cfg), name)


def run_gru_amaranth(cfg, wx, wh, bias, seqs, *, p_valid: float = 1.0,
                     p_ready: float = 1.0, seed: int = 0, max_cycles: int = 2_000_000):
    """Load the weights, then send the sequences ``seqs`` (N, T, D) of input codes
    through :class:`CirculantGru` on the Amaranth simulator with random gaps on both
    input streams and back-pressure on the results. Returns the hidden states (N, T, H)
    and, per step, the cycles from its last input code to its last result."""
    return run_cell_amaranth(CirculantGru(cfg), pack_gru_words(cfg, wx, wh, bias), seqs,
                             p_valid=p_valid, p_ready=p_ready, seed=seed,
                             max_cycles=max_cycles)


def run_gru_rtl(cfg, wx, wh, bias, seqs, sim: str, work: Path, seed: int,
                stall: float = 0.25):
    """The same on the generated Verilog; returns the hidden states (N, T, H) and each
    step's cycles from its last input code to its last result."""
    return run_cell_rtl(cfg, gru_verilog(cfg), GRU_TOP_NAME, "sim_tb.test_circulant_gru",
                        pack_gru_words(cfg, wx, wh, bias), seqs, sim, work, seed, stall)
