"""End to end over a serial line, on the generated Verilog: the unmodified host driver
(``BoardLink``) runs GEMMs on the board core (UART bridge + accelerator, the part of the
board top below the FPGA pin buffers) in Icarus Verilog and Verilator through cocotb
(sim_tb/test_board_uart.py), bit-exact against hwgen.models.gemm.

The UART runs at 4 clock cycles per bit and the bridge's receive FIFO (the driver's
flow-control window) is cut to 24 bytes so that the driver has to wait for ACKs."""
import json

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.board import BoardCore
from hwgen.config import WS, load_config
from hwgen.config.loader import config_dict
from hwgen.emit import sram_semantics
from hwgen.models.gemm import gemm, random_operands, requantize
from sim_tb.runner import SimError, run_unit

from ..fixtures import variant

TOP = "board_core"
DIV = 4
WINDOW = 24
SEED = 5


def board_core_verilog(cfg, divisor=DIV, fifo_bytes=WINDOW):
    """Verilog of the board core: what the FPGA top wraps in pin buffers, ``rx`` / ``tx``
    as ports (the heartbeat shortened so that it toggles in simulation)."""
    with sram_semantics():
        return verilog.convert(BoardCore(cfg, divisor, heartbeat_bit=4, fifo_bytes=fifo_bytes),
                               name=TOP, emit_src=False, strip_internal_attrs=True)


def make_cases(cfg, shapes, seed):
    """(spec cases, golden results): random int8 operands; every other case requantized
    with a random bias, scale and shift (the READ command's post-processing)."""
    rng = np.random.default_rng(seed)
    cases, want = [], []
    bits = cfg.precision.in_bits
    for i, (m, k, n) in enumerate(shapes):
        a, b = random_operands(rng, m, k, n, bits, extreme=(i == 0))
        acc = gemm(a, b)
        case = {"a": a.tolist(), "b": b.tolist()}
        if i % 2:
            q = {"raw": False, "mult": int(rng.integers(1, 1 << cfg.precision.mult_bits)),
                 "shift": int(rng.integers(4, 12)), "relu": bool(i % 4 == 1),
                 "bias": [int(x) for x in rng.integers(-5000, 5000, size=n)]}
            case["quant"] = q
            acc = requantize(acc, q["bias"], q["mult"], q["shift"], cfg.precision.out_bits,
                             q["relu"])
        cases.append(case)
        want.append(acc)
    return cases, want


def run_over_uart(cfg, shapes, sim, tmp_path, seed=SEED, line_divisor=DIV):
    """Run the cases; ``line_divisor`` is the bit time of the cocotb line model (the
    design's is ``DIV``)."""
    cases, want = make_cases(cfg, shapes, seed)
    spec = {"config": config_dict(cfg), "divisor": line_divisor, "window": WINDOW,
            "timeout_s": 0.05, "cases": cases}
    spec_file, result_file = tmp_path / "spec.json", tmp_path / "result.json"
    spec_file.write_text(json.dumps(spec))
    run_unit(board_core_verilog(cfg), TOP, "sim_tb.test_board_uart", tmp_path, sim=sim,
             seed=seed, plusargs=[f"+spec_file={spec_file}", f"+result_file={result_file}"])
    out = json.loads(result_file.read_text())
    assert len(out["results"]) == len(cases), f"{sim}: {len(out['results'])} of {len(cases)} ran"
    for i, (got, w) in enumerate(zip(out["results"], want)):
        got = np.array(got)
        assert got.shape == w.shape and (got == w).all(), \
            f"{sim} case {i} {shapes[i]} differs from the golden model (seed {seed}):\n{got}\n!=\n{w}"
    return out


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_driver_gemm_over_uart_rtl(sim, tmp_path):
    cfg = load_config("ice40")
    out = run_over_uart(cfg, [(3, 5, 4), (4, 3, 5)], sim, tmp_path)
    # Idle, no accelerator or link error, the engine ran; more bytes went out than the
    # window holds, so flow control was exercised.
    assert out["status_flags"] == 0 and out["compute_cycles"] > 0
    assert out["bytes_to_board"] > 4 * WINDOW


def test_wrong_baud_is_caught(tmp_path):
    """The line model keeps bit time: 5 cycles per bit against the design's 4 garbles
    the link, and the driver gives up with a one-line error instead of returning data."""
    with pytest.raises(SimError):
        run_over_uart(load_config("ice40"), [(2, 2, 2)], "icarus", tmp_path, line_divisor=5)
    log = (tmp_path / "sim.log").read_text()
    assert "LinkError" in log or "BoardError" in log or "FrameError" in log, log[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_driver_larger_gemm_over_uart_rtl(sim, tmp_path):
    """A 4x4 weight-stationary array, GEMMs larger than the array in every dimension."""
    cfg = variant("tiny", dataflow=WS)
    out = run_over_uart(cfg, [(9, 13, 10), (20, 36, 24)], sim, tmp_path, seed=SEED + 1)
    assert out["status_flags"] == 0 and out["compute_cycles"] > 0
