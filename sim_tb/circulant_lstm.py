"""The block-circulant LSTM cell (``hwgen_lstm``), as ``hwgen generate`` writes it, on
the Amaranth simulator and on Icarus or Verilator through cocotb
(``sim_tb/test_circulant_lstm.py``); :func:`run_cell_amaranth` and :func:`run_cell_rtl`
run any recurrent cell (the GRU's: sim_tb/circulant_gru.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.models.circulant_lstm import pack_words, step_codes
from hwgen.units import LSTM_TOP_NAME
from hwgen.units.circulant_lstm import CirculantLstm, lstm_top

from .amaranth_sim import run_weights_then_items
from .runner import run_unit


def lstm_verilog(cfg, name: str = LSTM_TOP_NAME) -> str:
    """The cell's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(lstm_top(cfg), name)


def _steps(cfg, seqs) -> list[list[int]]:
    return [step for x in seqs for step in step_codes(cfg, x)]


def run_lstm_amaranth(cfg, wx, wh, bias, seqs, *, p_valid: float = 1.0,
                      p_ready: float = 1.0, seed: int = 0, max_cycles: int = 2_000_000):
    """Load the weights, then send the sequences ``seqs`` (N, T, D) of input codes
    through :class:`CirculantLstm` on the Amaranth simulator with random gaps on both
    input streams and back-pressure on the results. Returns the hidden states (N, T, H)
    and, per step, the cycles from its last input code to its last result."""
    return run_cell_amaranth(CirculantLstm(cfg), pack_words(cfg, wx, wh, bias), seqs,
                             p_valid=p_valid, p_ready=p_ready, seed=seed,
                             max_cycles=max_cycles)


def run_cell_amaranth(dut, words, seqs, *, p_valid: float = 1.0, p_ready: float = 1.0,
                      seed: int = 0, max_cycles: int = 2_000_000):
    """:func:`run_lstm_amaranth` for any recurrent cell ``dut`` and its packed
    ``words``."""
    cfg = dut.cfg
    got, spans = run_weights_then_items(dut, words, _steps(cfg, seqs), cfg.hidden_size,
                                        p_valid=p_valid, p_ready=p_ready, seed=seed,
                                        max_cycles=max_cycles, what="steps")
    n, t = len(seqs), (len(seqs[0]) if len(seqs) else 0)
    return np.array(got, dtype=np.int64).reshape(n, t, cfg.hidden_size), spans


def run_lstm_rtl(cfg, wx, wh, bias, seqs, sim: str, work: Path, seed: int,
                 stall: float = 0.25):
    """The same on the generated Verilog; returns the hidden states (N, T, H) and each
    step's cycles from its last input code to its last result."""
    return run_cell_rtl(cfg, lstm_verilog(cfg), LSTM_TOP_NAME, "sim_tb.test_circulant_lstm",
                        pack_words(cfg, wx, wh, bias), seqs, sim, work, seed, stall)


def run_cell_rtl(cfg, verilog: str, top: str, test_module: str, words, seqs, sim: str,
                 work: Path, seed: int, stall: float = 0.25):
    """:func:`run_lstm_rtl` for any recurrent cell's Verilog ``verilog`` (module
    ``top``), its cocotb ``test_module`` and its packed ``words``."""
    work = Path(work)
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({
        "words": list(words), "stall": stall,
        "results": cfg.hidden_size, "vectors": _steps(cfg, seqs)}))
    result = work / "result.json"
    run_unit(verilog, top, test_module, work, sim=sim,
             seed=seed, plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                                  f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    n, t = len(seqs), (len(seqs[0]) if len(seqs) else 0)
    return (np.array([r["y"] for r in got], dtype=np.int64).reshape(n, t, cfg.hidden_size),
            [r["cycles"] for r in got])
