"""Run host programs on the generated `hwgen_top` Verilog in Icarus Verilog or Verilator.

The design is wrapped in `hdl/hwgen_tb.sv`, which streams a program from files through the
design and writes its output to a file without per-cycle help from Python; cocotb only
supplies the clock and reset (`test_hwgen.py`).

Builds are cached by :mod:`sim_tb.cache`, one directory per (design, wrapper, parameters,
simulator): one build runs programs of any length. Every run gets its own directory for
the program files and results; it is removed after a successful run unless
`HWGEN_SIM_KEEP=1`, and kept (its path is in the error) after a failed one. The
simulators are found by :mod:`sim_tb.simulators`; :mod:`sim_tb.lint` lints Verilog.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


from hwgen.lib import progress
from hwgen.lib.errors import WorkloadError

from .cache import (BUILD_RECIPE, _BuildFailed, _cached_build, _log_tail, clean_stale_runs,
                    default_build_root)
from .lint import lint
from .simulators import (SimError, ToolMissing, _needed_tools, _normalise_sim, _quiet_runner,
                         _tool, _tool_environment, tool_versions)

__all__ = [
    "SimError",
    "SimResult",
    "check_tools",
    "check_workload",
    "ToolMissing",
    "default_build_root",
    "lint",
    "run_program",
    "tool_versions",
]

PACKAGE_DIR = Path(__file__).resolve().parent
WRAPPER = PACKAGE_DIR / "hdl" / "hwgen_tb.sv"
TB_TOP = "hwgen_tb"
DUT_TOP = "hwgen_top"
TEST_MODULE = "sim_tb.test_hwgen"
TIMESCALE = ("1ns", "1ps")
MAX_DEPTH_LOG2 = 22
#: Words of one stream of a GEMM simulation, and elements of its largest matrix (the
#: operands, the program and the result are held in memory as Python integers).
MAX_STREAM_WORDS = 1 << MAX_DEPTH_LOG2
#: Cycles between two looks of the cocotb test at the cycle counter (for progress).
PROGRESS_EVERY_CYCLES = 1 << 15

_BUILD_ARGS = {
    # cocotb's runner makes every signal public, which blocks optimisation; the wrapper
    # marks the few signals the test touches instead. Generated Verilog always trips some
    # of Verilator's default lint warnings (e.g. CASEINCOMPLETE on Yosys case statements):
    # they stay out of simulation builds and are lint()'s business; any other warning is
    # printed to build.log without stopping the build.
    "verilator": ["--no-public-flat-rw", "-Wno-lint", "-Wno-style", "-Wno-fatal"],
    # Overrides the runner's -g2012: Yosys output relies on Verilog-2005 variable
    # initialisation to run its `always @*` blocks at time 0 (in SystemVerilog mode Icarus
    # never runs them and the design sits at X).
    "icarus": ["-g2005"],
}
_PATH_CHARS = 1024  # PATH_CHARS in the wrapper


@dataclasses.dataclass(frozen=True)
class SimResult:
    dout: list[int]
    """Captured `dout` beats, unsigned DOUT_BITS-wide integers, in order."""
    cycles: int
    """Clock cycles from reset release until all streams were done and `busy` was low."""
    compute_cycles: int
    """The design's `compute_cycles` output at the end."""
    timed_out: bool
    """max_cycles passed first; `dout` then holds only the beats captured so far."""
    sim: str
    build_seconds: float
    """Time spent getting the build (close to 0 when it came from the cache)."""
    run_seconds: float
    stats: dict = dataclasses.field(default_factory=dict)
    """Extra observations: cmd_taken, din_taken, dout_taken (beats transferred),
    compute_busy_cycles (cycles `compute_busy` was high) and error_seen (the design's
    optional `error` output was ever high)."""


# ---------------------------------------------------------------------------- tools
















# ---------------------------------------------------------------------------- lint




# ---------------------------------------------------------------------------- helpers




def check_tools(sim: str) -> None:
    """ToolMissing (one line) unless the tools ``sim`` needs are installed."""
    for name in _needed_tools(_normalise_sim(sim)):
        _tool(name)


def check_workload(cfg, M: int, K: int, N: int, timing=None):
    """Refuse, before anything is built, a GEMM too large to simulate: a matrix of more
    than :data:`MAX_STREAM_WORDS` elements, or a program with more words on one stream
    than a simulation takes. One line naming the limit (WorkloadError, exit code 2).
    ``timing`` is the cycle model's :class:`~hwgen.models.perf.GemmTiming` of the
    program when the caller has it; returns it."""
    from hwgen.compiler import check_gemm, default_mapping
    from hwgen.models.perf import gemm_timing

    spec = f"gemm:{M}x{K}x{N}"
    check_gemm(cfg, M, K, N)
    limit = f"at most 2^{MAX_DEPTH_LOG2} ({MAX_STREAM_WORDS})"
    for what, count in (("A (M x K)", M * K), ("B (K x N)", K * N), ("the result (M x N)", M * N)):
        if count > MAX_STREAM_WORDS:
            raise WorkloadError(f"{spec}: {what} has {count} elements; a simulation takes "
                                f"{limit} per matrix")
    if timing is None:
        timing = gemm_timing(cfg, M, K, N, cfg.mapping or default_mapping(cfg, M, K, N))
    for what, count in (("command words", timing.commands),
                        ("din beats", timing.in_beats + timing.w_beats),
                        ("dout beats", timing.out_beats)):
        if count > MAX_STREAM_WORDS:
            raise WorkloadError(f"{spec}: its program has {count} {what} on {cfg.name}; the "
                                f"simulation takes {limit} per stream")
    return timing




def _hex_lines(values: Sequence[int], bits: int, what: str) -> str:
    digits = (bits + 3) // 4
    limit = 1 << bits
    lines = []
    for i, value in enumerate(values):
        value = int(value)
        if not 0 <= value < limit:
            raise ValueError(f"{what}[{i}] = {value} does not fit in {bits} unsigned bits")
        lines.append(f"{value:0{digits}x}")
    return "".join(line + "\n" for line in lines)


def _read_hex(path: Path, count: int) -> list[int]:
    """Words written by $writememh (address markers and comments tolerated)."""
    if count == 0 or not path.exists():
        return []
    words: dict[int, int] = {}
    address = 0
    tokens = [t for line in path.read_text().splitlines() for t in line.split("//", 1)[0].split()]
    for token in tokens:
        if token.startswith("@"):
            address = int(token[1:], 16)
            continue
        if re.search(r"[xXzZ]", token):
            raise SimError(f"dout beat {address} has undefined bits: {token}")
        words[address] = int(token.replace("_", ""), 16)
        address += 1
    return [words[i] for i in sorted(words) if i < count]








def _allow_vcd(runner) -> None:
    """Let the wrapper's `$dumpfile` write a VCD under cocotb's Icarus runner.

    Without its own FST tracing the runner starts vvp with `-none`, which suppresses every
    dump; `-vcd` in its place keeps the build (and its cache entry) unchanged.
    """
    plain = runner._test_command

    def test_command():
        commands = plain()
        if not any("-none" in cmd for cmd in commands):
            raise SimError("cannot enable VCD output: this cocotb's Icarus runner no longer "
                           "passes -none to vvp")
        return [["-vcd" if arg == "-none" else arg for arg in cmd] for cmd in commands]

    runner._test_command = test_command


# ---------------------------------------------------------------------------- build




def _wrapper_params(params: Mapping[str, object]) -> dict[str, int]:
    try:
        din_bits = int(params["DIN_BITS"])
        dout_bits = int(params["DOUT_BITS"])
    except KeyError as e:
        raise ValueError(f"params needs {e.args[0]!r}") from None
    if din_bits < 1 or dout_bits < 1:
        raise ValueError("DIN_BITS and DOUT_BITS must be positive")
    return {"DIN_BITS": din_bits, "DOUT_BITS": dout_bits}


def _top_module_text(verilog: str) -> str:
    found = re.search(rf"^\s*module\s+{DUT_TOP}\b(.*?)^\s*endmodule", verilog, re.S | re.M)
    return found.group(1) if found else ""


def _port_width(verilog: str, direction: str, name: str) -> int | None:
    """Width of a port of `hwgen_top` when it is declared plainly, else None."""
    found = re.search(
        rf"^\s*{direction}\s+(?:wire\s+|reg\s+|logic\s+)?(?:\[\s*(\d+)\s*:\s*(\d+)\s*\]\s*)?"
        rf"{re.escape(name)}\s*[;,)]",
        _top_module_text(verilog), re.M)
    if not found:
        return None
    if found.group(1) is None:
        return 1
    return abs(int(found.group(1)) - int(found.group(2))) + 1


def _check_port_widths(verilog: str, wrapper_params: Mapping[str, int]) -> None:
    # Verilator (without lint warnings) and Icarus would silently pad or cut a mismatch.
    for param, direction, port in (("DIN_BITS", "input", "din__payload"),
                                   ("DOUT_BITS", "output", "dout__payload")):
        width = _port_width(verilog, direction, port)
        if width is not None and width != wrapper_params[param]:
            raise ValueError(f"{param}={wrapper_params[param]} but {DUT_TOP}.{port} is "
                             f"{width} bits wide")


def _defines_for(verilog: str) -> dict[str, int]:
    """Defines that adapt the wrapper to optional ports of the design."""
    return {"HWGEN_TOP_HAS_ERROR": 1} if _port_width(verilog, "output", "error") == 1 else {}


def _build_key(verilog: str, params: Mapping[str, object], sim: str) -> str:
    import cocotb_tools.config

    identity = {
        "recipe": BUILD_RECIPE,
        "verilog": hashlib.sha256(verilog.encode()).hexdigest(),
        "wrapper": hashlib.sha256(WRAPPER.read_bytes()).hexdigest(),
        "params": sorted((str(k), str(v)) for k, v in params.items()),
        "sim": sim,
        "build_args": _BUILD_ARGS[sim],
        "tools": tool_versions(),
        # A Verilator executable links against this environment's cocotb libraries.
        "cocotb_libs": str(cocotb_tools.config.libs_dir),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def _ensure_build(verilog: str, params: Mapping[str, object], sim: str,
                  build_root: Path) -> Path:
    """Directory of a complete build of the wrapped design, building it first if needed."""
    return _cached_build(
        build_root, f"{sim}-{_build_key(verilog, params, sim)}", sim,
        lambda tmp: _build_into(tmp, verilog, params, sim, build_root),
        {"sim": sim, "params": {str(k): str(v) for k, v in params.items()}})




def _build_into(build_dir: Path, verilog: str, params: Mapping[str, object], sim: str,
                build_root: Path) -> None:
    src = build_dir / "src"
    src.mkdir()
    dut_file = src / "hwgen_top.v"
    dut_file.write_text(verilog)
    wrapper_file = src / WRAPPER.name
    shutil.copyfile(WRAPPER, wrapper_file)
    log_file = build_dir / "build.log"
    shown = progress.current()
    shown.stage(f"building the {sim} simulation of {DUT_TOP} (once per design; later runs "
                "reuse it)")
    shown.detail("verilator: translating the Verilog to C++" if sim == "verilator"
                 else "iverilog: compiling")
    with _tool_environment(sim, build_root / ".tools"), \
            shown.watch(log_file, progress.verilator_build_log()):
        runner = _quiet_runner(sim)
        try:
            runner.build(
                sources=[dut_file, wrapper_file],
                hdl_toplevel=TB_TOP,
                parameters=_wrapper_params(params),
                build_dir=build_dir,
                timescale=TIMESCALE,
                build_args=_BUILD_ARGS[sim],
                defines=_defines_for(verilog),
                log_file=log_file,
            )
        except (Exception, SystemExit) as e:
            raise _BuildFailed(str(e) or type(e).__name__) from e


# ---------------------------------------------------------------------------- run


def run_program(verilog: str, params: dict, cmd_words: list[int], din_beats: list[int],
                n_dout: int, *, sim: str = "verilator", seed: int = 1, stall_pct: int = 0,
                build_root: Path | None = None, max_cycles: int = 10_000_000,
                vcd: Path | None = None, expected_cycles: int | None = None) -> SimResult:
    """Simulate `hwgen_top` running a host program and return what it sent back.

    `verilog` is the design's Verilog text; `params` holds at least DIN_BITS and DOUT_BITS,
    the payload widths of `din` and `dout` (every entry is part of the build's cache key,
    only those two reach the wrapper). The wrapper sends `cmd_words` (64-bit) and
    `din_beats` (DIN_BITS-wide, unsigned) in order and accepts exactly `n_dout` beats.
    `stall_pct` (0..100) is the share of cycles in which each source withholds valid and
    the sink withholds ready, from generators seeded by `seed`; 0 means full throughput.
    A run that is not done after `max_cycles` cycles returns with `timed_out` set.
    `vcd` (Icarus only) names a file that receives a value-change dump of every signal of
    `hwgen_top` (scope `hwgen_tb.dut`) from time 0 until the run ends; the build is the
    same as without it. `expected_cycles` (the cycle model's count) is the total the
    progress line (:mod:`hwgen.lib.progress`) shows the simulated cycles against.
    """
    sim = _normalise_sim(sim)
    if not 0 <= stall_pct <= 100:
        raise ValueError(f"stall_pct must be within 0..100, not {stall_pct}")
    if not 0 <= seed < 1 << 32:
        raise ValueError(f"seed must fit in 32 unsigned bits, not {seed}")
    if not 0 < max_cycles < 1 << 32:
        raise ValueError(f"max_cycles must be within 1..2^32-1, not {max_cycles}")
    if n_dout < 0:
        raise ValueError(f"n_dout must not be negative, not {n_dout}")
    if vcd is not None:
        if sim != "icarus":
            raise ValueError(f"vcd needs sim='icarus' (the {sim} build has no tracing)")
        vcd = Path(vcd).expanduser().absolute()
        if len(str(vcd).encode()) >= _PATH_CHARS:
            raise ValueError(f"vcd path too long for the testbench: {vcd}")
        vcd.parent.mkdir(parents=True, exist_ok=True)
    wrapper_params = _wrapper_params(params)
    _check_port_widths(verilog, wrapper_params)
    cmd_text = _hex_lines(cmd_words, 64, "cmd_words")
    din_text = _hex_lines(din_beats, wrapper_params["DIN_BITS"], "din_beats")
    for name in _needed_tools(sim):
        _tool(name)

    build_root = Path(build_root).expanduser() if build_root is not None else default_build_root()
    build_root = build_root.absolute()

    start = time.perf_counter()
    build_dir = _ensure_build(verilog, params, sim, build_root)
    build_seconds = time.perf_counter() - start

    runs = build_root / "runs"
    if len(str(runs).encode()) > _PATH_CHARS - 64:
        raise ValueError(f"build_root path too long for the testbench's file names: {build_root}")
    runs.mkdir(parents=True, exist_ok=True)
    clean_stale_runs(runs)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{sim}-{os.getpid()}-", dir=runs))
    try:
        files = {name: run_dir / name for name in ("cmd.hex", "din.hex", "dout.hex",
                                                     "result.json", "results.xml", "sim.log",
                                                     "progress")}
        files["cmd.hex"].write_text(cmd_text)
        files["din.hex"].write_text(din_text)
        plusargs = [
            f"+cmd_file={files['cmd.hex']}", f"+n_cmd={len(cmd_words)}",
            f"+din_file={files['din.hex']}", f"+n_din={len(din_beats)}",
            f"+dout_file={files['dout.hex']}", f"+n_dout={n_dout}",
            f"+seed={seed}", f"+stall_pct={stall_pct}", f"+max_cycles={max_cycles}",
            f"+result_file={files['result.json']}",
            f"+progress_file={files['progress']}", f"+progress_every={PROGRESS_EVERY_CYCLES}",
        ]
        if vcd is not None:
            plusargs.append(f"+vcd_file={vcd}")

        start = time.perf_counter()
        failure = None
        shown = progress.current()
        shown.stage(f"simulating on {sim}" + (f" ({expected_cycles} cycles expected)"
                                              if expected_cycles else ""))
        with _tool_environment(sim, build_root / ".tools"), \
                shown.watch(files["progress"], progress.sim_cycles(expected_cycles), whole=True):
            runner = _quiet_runner(sim)
            if vcd is not None:
                _allow_vcd(runner)
            try:
                runner.test(
                    test_module=TEST_MODULE,
                    hdl_toplevel=TB_TOP,
                    hdl_toplevel_lang="verilog",
                    build_dir=build_dir,
                    test_dir=run_dir,
                    plusargs=plusargs,
                    seed=seed,
                    results_xml=str(files["results.xml"]),
                    log_file=files["sim.log"],
                )
            except (Exception, SystemExit) as e:
                failure = f"simulator failed ({e})"
        shown.done()
        run_seconds = time.perf_counter() - start

        if failure is None:
            from cocotb_tools.check_results import get_results

            try:
                _, failed = get_results(files["results.xml"])
                if failed:
                    failure = "the cocotb test failed"
            except RuntimeError as e:
                failure = str(e)
        if failure is None and not files["result.json"].is_file():
            failure = "the simulation wrote no result"
        if failure is not None:
            raise SimError(f"{sim} run failed: {failure}; files kept in {run_dir}; last log "
                           f"lines:\n{_log_tail(files['sim.log'])}")

        result = json.loads(files["result.json"].read_text())
        try:
            dout = _read_hex(files["dout.hex"], n_dout)
        except SimError as e:
            raise SimError(f"{sim} run: {e}; files kept in {run_dir}") from None
        if not result["timeout"] and len(dout) != n_dout:
            raise SimError(f"{sim} run captured {len(dout)} of {n_dout} dout beats; files "
                           f"kept in {run_dir}")
    except KeyboardInterrupt:  # SIGTERM too: an interrupted run leaves nothing
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except SimError as e:  # kept for its logs, under a name no clean-up matches
        kept = _keep_run(run_dir, ".failed")
        raise SimError(str(e).replace(str(run_dir), str(kept))) from None
    if os.environ.get("HWGEN_SIM_KEEP"):
        _keep_run(run_dir, ".kept")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return SimResult(
        dout=dout,
        cycles=result["cycles"],
        compute_cycles=result["compute_cycles"],
        timed_out=result["timeout"],
        sim=sim,
        build_seconds=build_seconds,
        run_seconds=run_seconds,
        stats={k: result[k] for k in ("cmd_taken", "din_taken", "dout_taken",
                                      "compute_busy_cycles", "error_seen")},
    )


def _keep_run(run_dir: Path, suffix: str) -> Path:
    """Rename a run directory that is to stay (``.failed``, ``.kept``); its new path."""
    kept = run_dir.with_name(run_dir.name + suffix)
    try:
        os.rename(run_dir, kept)
    except OSError:
        return run_dir
    return kept


# ----------------------------------------------------------------- single units


def run_unit(verilog: str, top: str, test_module: str, work_dir: Path, *,
             sim: str = "verilator", plusargs: Sequence[str] = (),
             extra_env: Mapping[str, str] | None = None, public_ports: bool = True,
             seed: int | None = None, build_root: Path | None = None) -> Path:
    """Build ``verilog`` (top module ``top``) and run the cocotb ``test_module`` on it,
    for a unit tested on its own rather than through the accelerator wrapper.

    The build is cached like :func:`run_program`'s (under ``build_root``, default
    :func:`default_build_root`), keyed by the Verilog, the top, the simulator, the build
    options and the tool versions. The test runs in ``work_dir``, which is returned; the
    test module leaves its results there. Raises ToolMissing before any work, SimError
    when the build or the cocotb test fails."""
    import cocotb_tools.config
    from cocotb_tools.runner import get_results

    sim = _normalise_sim(sim)
    for tool in _needed_tools(sim):
        _tool(tool)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    build_root = Path(build_root) if build_root is not None else default_build_root()
    args = list(_BUILD_ARGS[sim])
    if public_ports:  # the cocotb test reads the unit's ports directly
        args = [a for a in args if a != "--no-public-flat-rw"]
    identity = {"recipe": BUILD_RECIPE, "verilog": hashlib.sha256(verilog.encode()).hexdigest(),
                "top": top, "sim": sim, "build_args": args, "tools": tool_versions(),
                "cocotb_libs": str(cocotb_tools.config.libs_dir)}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]

    def build(tmp: Path) -> None:
        src = tmp / "src" / f"{top}.v"
        src.parent.mkdir()
        src.write_text(verilog)
        with _tool_environment(sim, build_root / ".tools"):
            try:
                _quiet_runner(sim).build(
                    sources=[src], hdl_toplevel=top, build_dir=tmp, timescale=TIMESCALE,
                    build_args=args, log_file=tmp / "build.log")
            except (Exception, SystemExit) as e:
                raise _BuildFailed(str(e) or type(e).__name__) from e

    build_dir = _cached_build(build_root, f"unit-{sim}-{key}", sim, build,
                              {"sim": sim, "top": top})
    results = work_dir / "results.xml"
    results.unlink(missing_ok=True)
    log = work_dir / "sim.log"
    with _tool_environment(sim, build_root / ".tools"):
        try:
            _quiet_runner(sim).test(
                test_module=test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                build_dir=build_dir, test_dir=work_dir, seed=seed, log_file=log,
                results_xml=str(results), plusargs=list(plusargs),
                extra_env=dict(extra_env or {}))
        except (Exception, SystemExit) as e:
            raise SimError(f"{sim}: cocotb test {test_module} did not complete "
                           f"({str(e) or type(e).__name__}); log: {log}") from None
    if not results.is_file():
        raise SimError(f"{sim}: cocotb test {test_module} wrote no results; log: {log}")
    _, failed = get_results(results)
    if failed:
        raise SimError(f"{sim}: cocotb test {test_module} failed; log: {log}")
    return work_dir
