"""The Gaussian random number generator (``hwgen_grng``) and the Bayesian layer
(``hwgen_bayesian_layer``), as ``hwgen generate`` writes them, on Icarus or Verilator
through cocotb (``sim_tb/test_grng.py``, ``sim_tb/test_bayesian.py``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.units import GRNG_TOP_NAME
from hwgen.units.grng import grng_top

from .runner import run_unit


def grng_verilog(cfg, name: str = GRNG_TOP_NAME) -> str:
    """The generator's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(grng_top(cfg), name)


def split_codes(words, lanes: int, bits: int) -> np.ndarray:
    """Flat payloads (lane j in bits [j bits, (j+1) bits)) -> (beats, lanes) signed codes."""
    out = np.empty((len(words), lanes), dtype=np.int64)
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    for i, w in enumerate(words):
        for j in range(lanes):
            v = (int(w) >> (j * bits)) & mask
            out[i, j] = v - (1 << bits) if v & sign else v
    return out


def run_grng_rtl(cfg, beats: int, sim: str, work: Path, seed: int, stall: float = 0.3,
                 reset_after: int | None = None):
    """Take ``beats`` beats from the generated generator with ``out__ready`` low at random
    (and a reset after ``reset_after`` beats); returns the codes (beats, lanes) and the
    cycle each beat was taken."""
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({"beats": beats, "stall": stall, "reset_after": reset_after}))
    result = work / "result.json"
    run_unit(grng_verilog(cfg), GRNG_TOP_NAME, "sim_tb.test_grng", work, sim=sim, seed=seed,
             plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                       f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    return split_codes(got["beats"], cfg.lanes, cfg.bits), got["cycles"]
