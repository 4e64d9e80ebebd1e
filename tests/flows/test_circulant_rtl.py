"""The FFT unit's generated Verilog on Icarus Verilog and Verilator through cocotb, bit for
bit against the golden model (the same stimulus as the Amaranth-simulator tests)."""
import json
import time

import pytest
from amaranth.back import verilog
from cocotb_tools.check_results import get_results

from hwgen.config.circulant import CirculantConfig
from hwgen.models.fft_fixed import fft_fixed
from hwgen.units.circulant_fft import CirculantFft
from sim_tb.runner import _BUILD_ARGS, _quiet_runner, _tool_environment

from ..unit.test_circulant_fft import vectors

TOP = "circulant_fft"


def pack(rows, bits):
    mask = (1 << bits) - 1
    return [sum((int(v) & mask) << (bits * p) for p, v in enumerate(row)) for row in rows]


def unpack(word, bits, k):
    vals = [(word >> (bits * p)) & ((1 << bits) - 1) for p in range(k)]
    return [v - (1 << bits) if v >> (bits - 1) else v for v in vals]


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_fft8_bit_exact(sim, tmp_path):
    start = time.perf_counter()
    cfg = CirculantConfig(k=8, in_bits=10, out_bits=14, tw_bits=12, real_input=False)
    text = verilog.convert(CirculantFft(cfg), name=TOP)
    src = tmp_path / f"{TOP}.v"
    src.write_text(text)
    re, im = vectors(cfg, 77, n_random=20)
    (tmp_path / "vectors.json").write_text(json.dumps(
        {"re": pack(re, cfg.in_bits), "im": pack(im, cfg.in_bits)}))
    result = tmp_path / "result.json"
    # No wrapper marks the ports public here, so keep the runner's public access to them.
    build_args = [a for a in _BUILD_ARGS[sim] if a != "--no-public-flat-rw"]
    with _tool_environment(sim, tmp_path / "tools"):
        runner = _quiet_runner(sim)
        runner.build(sources=[src], hdl_toplevel=TOP, build_dir=tmp_path / "build",
                     timescale=("1ns", "1ps"), build_args=build_args,
                     log_file=tmp_path / "build.log")
        runner.test(test_module="sim_tb.test_circulant_fft", hdl_toplevel=TOP,
                    hdl_toplevel_lang="verilog", build_dir=tmp_path / "build",
                    test_dir=tmp_path, log_file=tmp_path / "sim.log",
                    results_xml=str(tmp_path / "results.xml"),
                    extra_env={"HWGEN_CIRC_VECTORS": str(tmp_path / "vectors.json"),
                               "HWGEN_CIRC_RESULT": str(result)})
    _, failed = get_results(tmp_path / "results.xml")
    assert not failed and result.is_file(), f"{sim}: the cocotb test failed; see {tmp_path}"
    got = json.loads(result.read_text())
    wr, wi, _ = fft_fixed(cfg, re, im)
    assert len(got) == len(re), f"{sim}: {len(got)} of {len(re)} transforms came out"
    for n, (r, i) in enumerate(got):
        assert unpack(r, cfg.out_bits, cfg.k) == list(wr[n]), f"{sim}: transform {n} (re)"
        assert unpack(i, cfg.out_bits, cfg.k) == list(wi[n]), f"{sim}: transform {n} (im)"
    print(f"{sim}: {time.perf_counter() - start:.1f} s")
