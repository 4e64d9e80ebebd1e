"""The FFT unit's generated Verilog on Icarus Verilog and Verilator through cocotb, bit for
bit against the golden model (the same stimulus as the Amaranth-simulator tests)."""
import json
import time

import pytest
from amaranth.back import verilog

from hwgen.config.circulant import CirculantConfig
from hwgen.models.fft_fixed import fft_fixed
from hwgen.units.circulant_fft import CirculantFft
from sim_tb.runner import run_unit

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
    re, im = vectors(cfg, 77, n_random=20)
    (tmp_path / "vectors.json").write_text(json.dumps(
        {"re": pack(re, cfg.in_bits), "im": pack(im, cfg.in_bits)}))
    result = tmp_path / "result.json"
    run_unit(verilog.convert(CirculantFft(cfg), name=TOP), TOP, "sim_tb.test_circulant_fft",
             tmp_path, sim=sim,
             extra_env={"HWGEN_CIRC_VECTORS": str(tmp_path / "vectors.json"),
                        "HWGEN_CIRC_RESULT": str(result)})
    assert result.is_file(), f"{sim}: no result; see {tmp_path}"
    got = json.loads(result.read_text())
    wr, wi, _ = fft_fixed(cfg, re, im)
    assert len(got) == len(re), f"{sim}: {len(got)} of {len(re)} transforms came out"
    for n, (r, i) in enumerate(got):
        assert unpack(r, cfg.out_bits, cfg.k) == list(wr[n]), f"{sim}: transform {n} (re)"
        assert unpack(i, cfg.out_bits, cfg.k) == list(wi[n]), f"{sim}: transform {n} (im)"
    print(f"{sim}: {time.perf_counter() - start:.1f} s")
