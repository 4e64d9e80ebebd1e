"""The stand-alone SC layer (``hwgen_sc_layer``, as ``hwgen generate`` writes it) on
Icarus or Verilator through cocotb (``sim_tb/test_stochastic.py``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.units import SC_TOP_NAME
from hwgen.units.stochastic import sc_top

from .runner import run_unit


def sc_verilog(cfg, name: str = SC_TOP_NAME) -> str:
    """The layer's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(sc_top(cfg), name)


def run_sc_layer_rtl(cfg, weights, cases, sim, work: Path, seed: int, stall: float = 0.25):
    """Run ``cases`` (lists of input codes) through the generated layer; return the
    results of sim_tb/test_stochastic.py."""
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({"neurons": cfg.neurons, "stall": stall,
                                   "weights": [int(v) for v in np.ravel(weights)],
                                   "cases": [[int(v) for v in c] for c in cases]}))
    result = work / "result.json"
    run_unit(sc_verilog(cfg), SC_TOP_NAME, "sim_tb.test_stochastic", work, sim=sim, seed=seed,
             plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                       f"+stall_seed={seed}"])
    return json.loads(result.read_text())
