"""Run the block-circulant units' generated Verilog on Icarus Verilog or Verilator.

:func:`run_layer_rtl` builds :class:`hwgen.units.circulant_layer.CirculantStreamLayer` for a
config, loads the weights through its write port, streams vectors through it with the
cocotb test `sim_tb.test_circulant_layer` and returns the outputs and transfer cycles.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.units.circulant_layer import CirculantStreamLayer

from .runner import run_unit


def pack(rows, bits: int) -> list[int]:
    """Rows of signed integers -> one unsigned word per row, element 0 in the low bits."""
    mask = (1 << bits) - 1
    return [sum((int(v) & mask) << (bits * p) for p, v in enumerate(row)) for row in rows]


def unpack(word: int, bits: int, count: int) -> list[int]:
    vals = [(word >> (bits * p)) & ((1 << bits) - 1) for p in range(count)]
    return [v - (1 << bits) if v >> (bits - 1) else v for v in vals]


def run_block_unit_rtl(dut, in_port: str, out_port: str, blocks, work_dir: Path, *,
                       sim: str = "icarus", seed: int = 0, top: str = "block_unit"):
    """Run a block FFT unit (``i_valid``, ``o_valid`` and one block port on each side,
    fixed latency) as Verilog through `sim_tb/test_block_unit.py`: ``blocks`` (n, k) in,
    with random one-cycle gaps. Returns the output blocks (signed, (m, width)) and the
    cycles from each input block to its output (valid only when m == n)."""
    blocks = np.asarray(blocks)
    shape_in = getattr(dut, in_port).shape()
    shape_out = getattr(dut, out_port).shape()
    rng = np.random.default_rng(seed)
    vectors = work_dir / "vectors.json"
    vectors.write_text(json.dumps({
        "in_port": in_port, "out_port": out_port,
        "blocks": pack(blocks, shape_in.elem_shape.width),
        "gaps": [int(g) for g in rng.random(37) < 0.25]}))
    result = work_dir / "result.json"
    run_unit(component_verilog(dut, top), top, "sim_tb.test_block_unit", work_dir, sim=sim,
             extra_env={"HWGEN_CIRC_VECTORS": str(vectors), "HWGEN_CIRC_RESULT": str(result)})
    got = json.loads(result.read_text())
    width, count = shape_out.elem_shape.width, shape_out.length
    out = np.array([unpack(w, width, count) for w in got["outputs"]], dtype=np.int64)
    delay = np.array(got["out_cycles"][:len(got["in_cycles"])]) - np.array(
        got["in_cycles"][:len(got["out_cycles"])])
    return out.reshape(-1, count), delay


def layer_verilog(cfg, name: str) -> str:
    return component_verilog(CirculantStreamLayer(cfg), name)


def run_block_stream_rtl(verilog_text: str, top: str, weights: list, blocks: list,
                         n_out: int, out_bits: int, k: int, work_dir: Path, *,
                         sim: str = "icarus", p_valid: float = 1.0, p_ready: float = 1.0,
                         seed: int = 0):
    """Run a layer with the blocked stream ports (``x``/``y`` of k samples, ``w_we``/
    ``w_addr``/``w_data``) under ``sim_tb.test_circulant_layer``: ``weights`` and
    ``blocks`` are packed words (:func:`pack`), ``n_out`` output blocks are taken.
    Returns the output blocks (n_out, k) and the cycles of every input and output
    transfer."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    job = {"weights": weights, "blocks": blocks, "outputs": n_out,
           "p_valid": p_valid, "p_ready": p_ready, "seed": seed}
    (work_dir / "layer_in.json").write_text(json.dumps(job))
    result = work_dir / "layer_out.json"
    run_unit(verilog_text, top, "sim_tb.test_circulant_layer", work_dir, sim=sim,
             extra_env={"HWGEN_CIRC_LAYER_IN": str(work_dir / "layer_in.json"),
                        "HWGEN_CIRC_LAYER_OUT": str(result)})
    got = json.loads(result.read_text())
    y = np.array([unpack(w, out_bits, k) for w in got["outputs"]], dtype=np.int64)
    return y.reshape(n_out, k), got["in_cycles"], got["out_cycles"]


def run_layer_rtl(cfg, words, x, work_dir: Path, *, sim: str = "icarus",
                  p_valid: float = 1.0, p_ready: float = 1.0, seed: int = 0) -> dict:
    """Outputs (vectors, m) of the layer's RTL for inputs ``x`` (vectors, n) and weight
    spectrum words (m/k, n/k, spectrum_words); also the cycles of every input and output
    transfer (``in_cycles``, ``out_cycles``)."""
    top = "circulant_layer"
    k, p, q = cfg.k, cfg.blocks_out, cfg.blocks_in
    x = np.asarray(x, dtype=np.int64)
    words = np.asarray(words, dtype=np.int64).reshape(p * q, cfg.spectrum_words)
    y, t_in, t_out = run_block_stream_rtl(
        layer_verilog(cfg, top), top, pack(words, cfg.w_bits),
        pack(x.reshape(-1, k), cfg.in_bits), len(x) * p, cfg.out_bits, k, work_dir,
        sim=sim, p_valid=p_valid, p_ready=p_ready, seed=seed)
    return {"y": y.reshape(len(x), p * k), "in_cycles": t_in, "out_cycles": t_out}
