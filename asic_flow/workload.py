"""A GEMM in Icarus, on the generated RTL or on the mapped netlist, dumped to a VCD for
activity-based power; its result is always checked against the golden model."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from hwgen.compiler import WorkloadError, build_gemm_program
from hwgen.models.gemm import gemm, random_operands
from sim_tb.runner import SimError, run_program, tool_versions
from sim_tb.runner import ToolMissing as SimToolMissing

from .activity import Activity, read_vcd
from .errors import BadWorkload, ToolFailed, ToolMissing

VCD = "workload.vcd"
SIM = "icarus"  # the simulator that writes the VCD (the Verilator build has no tracing)


def parse_workload(spec: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"gemm:(\d+)x(\d+)x(\d+)", spec or "")
    if not m or min(int(g) for g in m.groups()) < 1:
        raise BadWorkload(f"bad workload {spec!r}: expected gemm:MxKxN with positive integers, "
                          "e.g. gemm:8x8x8")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def check_simulator() -> None:
    """ToolMissing unless the simulator that writes the VCD is installed."""
    if tool_versions().get("iverilog") is None:
        raise ToolMissing("iverilog not found (needed to simulate --workload for activity); "
                          "apt-get install -y iverilog (or set IVERILOG)")


def _run_gemm(cfg, verilog: str, spec: str, seed: int, vcd: Path, what: str):
    """Run ``spec`` on ``verilog`` in Icarus with a dump to ``vcd``; the result checked
    against the golden model (ToolFailed when it differs: activity from a run that
    computed the wrong thing would mean nothing). Returns (SimResult, seconds)."""
    M, K, N = parse_workload(spec)
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, M, K, N, cfg.precision.in_bits)
    try:
        prog = build_gemm_program(cfg, M, K, N, a, b)
    except WorkloadError as e:
        raise BadWorkload(f"{spec}: {e}") from None
    t0 = time.monotonic()
    try:
        res = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout, sim=SIM,
                          seed=seed, vcd=vcd)
    except SimToolMissing as e:
        raise ToolMissing(f"{e} (needed for --workload)") from None
    except SimError as e:
        raise ToolFailed(f"workload simulation of the {what} failed: {e}") from None
    sim_s = time.monotonic() - t0
    if res.timed_out:
        raise ToolFailed(f"workload {spec} (seed {seed}) did not finish on the {what} in "
                         f"{SIM}; activity from it would be meaningless")
    if not bool((prog.decode(cfg, res.dout) == gemm(a, b)).all()):
        raise ToolFailed(f"workload {spec} (seed {seed}) gave wrong results on the {what} in "
                         f"{SIM}; activity from it would be meaningless")
    return res, sim_s


def simulate(cfg, verilog: str, spec: str, seed: int, work: Path) -> tuple[Activity, dict]:
    """Run ``spec`` on the RTL with random operands from ``seed`` and read the dump's
    activity (the per-block method)."""
    vcd = work / VCD
    res, sim_s = _run_gemm(cfg, verilog, spec, seed, vcd, "RTL")
    t0 = time.monotonic()
    act = read_vcd(vcd)
    info = {
        "workload": spec,
        "seed": seed,
        "simulator": SIM,
        "cycles": res.cycles,
        "dump_cycles": act.cycles,
        "vcd": VCD,
        "vcd_bytes": vcd.stat().st_size,
        "sim_seconds": round(sim_s, 2),
        "vcd_read_seconds": round(time.monotonic() - t0, 2),
    }
    return act, info


GATE_VCD = "workload_gates.vcd"


def simulate_netlist(cfg, netlist: str, models: Path, spec: str, seed: int,
                     work: Path, extra_models: str = "") -> tuple[Path, dict]:
    """Run ``spec`` on the mapped netlist with the library's cell models (zero delay:
    Icarus ignores the models' specify blocks without ``-gspecify``), check the result
    bit for bit against the golden GEMM (a gate-level equivalence check on this
    workload) and return the dump's path with facts about the run. ``extra_models``:
    Verilog of further cells (the SRAM macros' behavioural models)."""
    vcd = work / GATE_VCD
    text = f"{netlist}\n// cell models: {models.name}\n{Path(models).read_text()}\n{extra_models}"
    res, sim_s = _run_gemm(cfg, text, spec, seed, vcd, "gate-level netlist")
    return vcd, {
        "workload": spec,
        "seed": seed,
        "simulator": SIM,
        "netlist": "gate level (mapped netlist + " + Path(models).name + ", zero delay)",
        "cycles": res.cycles,
        "vcd": GATE_VCD,
        "vcd_bytes": vcd.stat().st_size,
        "sim_seconds": round(sim_s, 2),
        "gate_level_check": "bit-exact with the golden GEMM",
    }
