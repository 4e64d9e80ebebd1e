"""The dense stream layer's generated Verilog on Icarus Verilog through cocotb, bit for bit
against :func:`hwgen.models.dense_layer.dense_fixed` with random gaps and back-pressure,
its cycle formulas on the RTL, byte-identical output, and Verilator's -Wall lint.

The layer has the block-circulant layer's ports, so it runs under the same cocotb test
(`sim_tb.test_circulant_layer`) and the same lint waivers."""
from pathlib import Path

import numpy as np
import pytest

from hwgen.emit import component_verilog
from hwgen.models.dense_layer import dense_fixed, pack_blocks
from hwgen.units.dense_stream import DenseStreamLayer
from sim_tb.circulant import pack, run_block_stream_rtl
from sim_tb.runner import ToolMissing, lint

from ..fixtures import dense_vectors

WAIVERS = "hwgen_int8.vlt"  # rtl_templates/lint


def dense_verilog(dut: DenseStreamLayer, name: str) -> str:
    return component_verilog(dut, name)


def run_dense_rtl(dut, w, x, work_dir: Path, *, sim="icarus", p_valid=1.0, p_ready=1.0,
                  seed=0):
    top = "dense_layer"
    y, t_in, t_out = run_block_stream_rtl(
        dense_verilog(dut, top), top, pack(pack_blocks(w, dut.k), dut.w_bits),
        pack(x.reshape(-1, dut.k), dut.in_bits), len(x) * dut.p, dut.out_bits, dut.k,
        work_dir, sim=sim, p_valid=p_valid, p_ready=p_ready, seed=seed)
    return y.reshape(len(x), dut.m), t_in, t_out


def test_dense_icarus_bit_exact_and_cycles(tmp_path):
    rng = np.random.default_rng(31)
    k, m, n = 4, 8, 12
    w = rng.integers(-128, 128, size=(m, n))
    w[0] = -128
    x = dense_vectors(n, 8, rng)
    want = dense_fixed(x, w, shift=7)
    dut = DenseStreamLayer(k, m, n)
    y, _, _ = run_dense_rtl(dut, w, x, tmp_path / "pressure", p_valid=0.7, p_ready=0.4,
                            seed=31)
    for v in range(len(x)):
        assert (y[v] == want[v]).all(), f"icarus: vector {v} (seed 31)"
    dut = DenseStreamLayer(k, m, n)
    y, t_in, t_out = run_dense_rtl(dut, w, x, tmp_path / "free")
    assert (y == want).all()
    first_out = t_out[::dut.p]
    assert first_out[0] - t_in[0] == dut.latency
    assert (first_out[-1] - first_out[1]) / (len(first_out) - 2) == dut.cycles_per_vector


def test_dense_verilog_deterministic_and_lint_clean():
    text = dense_verilog(DenseStreamLayer(4, 8, 16), "dense")
    assert text == dense_verilog(DenseStreamLayer(4, 8, 16), "dense")
    try:
        findings = lint(text, WAIVERS, file_name="dense.v")
    except ToolMissing as e:
        pytest.skip(str(e))
    assert findings == [], "\n".join(findings[:10])
