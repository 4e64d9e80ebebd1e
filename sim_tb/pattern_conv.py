"""The pattern-pruned sparse convolution unit (``hwgen_pattern_conv``), as ``hwgen
generate`` writes it, on the Amaranth simulator and on Icarus or Verilator through
cocotb (``sim_tb/test_pattern_conv.py``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.models import pattern_conv as pm
from hwgen.units import PATTERN_CONV_TOP_NAME
from hwgen.units.pattern_conv import PatternConv, pattern_conv_top

from .amaranth_sim import run_weights_then_items
from .runner import run_unit


def pattern_conv_verilog(cfg, name: str = PATTERN_CONV_TOP_NAME) -> str:
    """The unit's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(pattern_conv_top(cfg), name)


def run_pattern_conv_amaranth(cfg, weights, images, *, p_valid: float = 1.0,
                              p_ready: float = 1.0, seed: int = 0, max_cycles: int = 2_000_000,
                              every_kernel: bool = False):
    """Load the compressed ``weights`` (F, C, k, k), then send ``images`` (N, C, H, W)
    through :class:`PatternConv` on the Amaranth simulator with random gaps on both
    input streams and back-pressure on the results (``every_kernel``: the all-zero
    kernels stored too). Returns the results (N, Ho Wo F) and, per image, the cycles
    from its last input beat to its last result."""
    dut = PatternConv(cfg)
    words = pm.pack(cfg, pm.compress(cfg, weights, every_kernel))
    per = cfg.out_height * cfg.out_width * cfg.out_channels
    items = [np.asarray(img).reshape(-1) for img in images]
    got, spans = run_weights_then_items(dut, words, items, per, p_valid=p_valid,
                                        p_ready=p_ready, seed=seed, max_cycles=max_cycles,
                                        what="images")
    return np.array(got, dtype=np.int64), spans


def run_pattern_conv_rtl(cfg, weights, images, sim: str, work: Path, seed: int,
                         stall: float = 0.25, every_kernel: bool = False):
    """The same on the generated Verilog; returns the results (N, Ho Wo F) and each
    image's cycles from its last input beat to its last result. ``every_kernel``:
    store the all-zero kernels too (:func:`hwgen.models.pattern_conv.compress`)."""
    work = Path(work)
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({
        "words": pm.pack(cfg, pm.compress(cfg, weights, every_kernel)), "stall": stall,
        "results": cfg.out_height * cfg.out_width * cfg.out_channels,
        "vectors": [[int(v) for v in np.asarray(x).reshape(-1)] for x in images]}))
    result = work / "result.json"
    run_unit(pattern_conv_verilog(cfg), PATTERN_CONV_TOP_NAME, "sim_tb.test_pattern_conv",
             work, sim=sim, seed=seed,
             plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                       f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    return np.array([r["y"] for r in got], dtype=np.int64), [r["cycles"] for r in got]
