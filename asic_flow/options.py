"""What one run of the ASIC flow is asked to do: :class:`AsicOptions`, checked when made.

Everything that can be checked without the tools or the PDK files (positive times, the
choices, the workload's syntax, the activity window, the ORFS platform) is checked in
``__post_init__``, so a bad option fails before any work with the same one-line message
:func:`asic_flow.run` gave when it took these as keyword arguments. What needs the
environment (the PDK's files, the tools, the cells' Verilog models) is checked by
:func:`asic_flow.run` itself, still before any work.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.config.check import Choice

from . import orfs as orfs_mod
from . import workload as workload_mod
from .errors import BadWorkload
from .sta import DEFAULT_ACTIVITY


class Memories(Choice):
    """How the design's memories are built."""
    FLOPS = "flops"   #: from flip-flops and multiplexers, by logic synthesis
    MACRO = "macro"   #: the buffers' memories as modelled black-box SRAM macros


class ActivityMethod(Choice):
    """Where the switching activity of ``workload`` comes from."""
    NET = "net"       #: gate-level simulation, every cell pin gets its net's activity
    BLOCK = "block"   #: RTL simulation, every block gets its flip-flops' mean activity


class PnrScope(Choice):
    """What qflow places and routes."""
    NONE = "none"       #: nothing (no place and route)
    ARRAY = "array"     #: the PE array block alone
    DESIGN = "design"   #: the whole design


@dataclass(frozen=True)
class AsicOptions:
    """The options of one run of :func:`asic_flow.run`.

    Parameters
    ----------
    clock_ns : float
        Target clock period; also the delay target given to ABC.
    pdk : str, optional
        One of :data:`asic_flow.pdks.KNOWN_PDKS`; may be None when ``liberty`` is given.
    liberty : Path, optional
        Any Liberty file instead of a known PDK (with ``pdk`` too, the library is named
        ``pdk``).
    activity : float
        Toggle rate assumed on every net for the first power figure (``power``).
    memories : Memories or str
        ``flops``: every memory is built from flip-flops. ``macro``: the buffers'
        memories become black-box SRAM macros with a modelled area, timing and power
        (:mod:`asic_flow.macros`), reported apart from the logic under ``memories``.
    workload : str, optional
        ``gemm:MxKxN`` with operands from ``seed``: report a second power figure
        (``power_simulated``) from the switching activity of that GEMM, measured as
        ``activity_method`` says.
    seed : int
        Operand seed for ``workload``.
    activity_method : ActivityMethod or str
        ``net`` (default): the mapped netlist runs the workload in Icarus with the
        cells' Verilog models, the result is checked bit for bit against the golden
        GEMM (a gate-level equivalence check) and every cell pin gets its net's
        measured activity (:mod:`asic_flow.netact`). ``block``: the RTL runs it and each
        block gets the mean activity of its flip-flops (:mod:`asic_flow.activity`).
    activity_window : (int, int or None)
        Per-net method: count activity from this rising clock edge (0: the start of
        the dump) for at most this many cycles (None: to the end of the run).
    orfs_platform : str, optional
        Also write an OpenROAD-flow-scripts design directory for this platform
        (:data:`asic_flow.orfs.PLATFORMS`) and, when ORFS and OpenROAD are found, run
        it for up to ``orfs_timeout`` seconds.
    pnr : PnrScope or str
        Also place and route with qflow (OSU PDKs only): nothing (``none``, default),
        the PE array block alone (``array``) or the whole design (``design``), capped at
        ``pnr_timeout`` seconds.
    synth_timeout : float
        Give up synthesis (Yosys and ABC, killed with their children) after this many
        seconds.

    Choices may be given as their enum member or its value (``"macro"``); they are
    stored as the member. Raises ValueError (BadWorkload or UnknownPlatform, both
    ValueErrors, for the workload and the ORFS platform) with one line.
    """

    clock_ns: float
    pdk: Optional[str] = None
    liberty: Optional[Path] = None
    activity: float = DEFAULT_ACTIVITY
    memories: Memories = Memories.FLOPS
    workload: Optional[str] = None
    seed: int = 1
    activity_method: ActivityMethod = ActivityMethod.NET
    activity_window: tuple[int, Optional[int]] = (0, None)
    orfs_platform: Optional[str] = None
    orfs_timeout: float = 4 * 3600
    pnr: PnrScope = PnrScope.NONE
    pnr_timeout: float = 900
    synth_timeout: float = 3600

    def __post_init__(self):
        if not self.clock_ns > 0:
            raise ValueError(f"clock period must be positive, got {self.clock_ns} ns")
        if not self.synth_timeout > 0:
            raise ValueError(f"synthesis time limit must be positive, got {self.synth_timeout} s")
        if not self.pnr_timeout > 0:
            raise ValueError(f"place and route time limit must be positive, got "
                             f"{self.pnr_timeout} s")
        if not self.orfs_timeout > 0:
            raise ValueError(f"ORFS time limit must be positive, got {self.orfs_timeout} s")
        if self.liberty is not None and not isinstance(self.liberty, Path):
            object.__setattr__(self, "liberty", Path(self.liberty))
        memories = Memories.parse(self.memories)
        if memories is None:
            raise ValueError(f"memories must be one of {Memories.names()}, "
                             f"not {self.memories!r}")
        pnr = PnrScope.parse(self.pnr)
        if pnr is None:
            raise ValueError(f"pnr must be one of {PnrScope.names()}, not {self.pnr!r}")
        method = ActivityMethod.parse(self.activity_method)
        if method is None:
            raise BadWorkload(f"unknown activity method {self.activity_method!r} "
                              f"(known: {ActivityMethod.names()})")
        object.__setattr__(self, "memories", memories)
        object.__setattr__(self, "pnr", pnr)
        object.__setattr__(self, "activity_method", method)
        first, count = self.activity_window
        if first < 0 or (count is not None and count < 1):
            raise BadWorkload(f"bad activity window {first}:{count}: expected a first "
                              "cycle >= 0 and a count >= 1")
        object.__setattr__(self, "activity_window", (first, count))
        if self.workload is not None:
            workload_mod.parse_workload(self.workload)
        if self.orfs_platform is not None:
            orfs_mod.platform(self.orfs_platform)

    @property
    def macro_memories(self) -> bool:
        return self.memories is Memories.MACRO

    @property
    def block_activity(self) -> bool:
        """A workload whose activity comes from the RTL, per block."""
        return self.workload is not None and self.activity_method is ActivityMethod.BLOCK

    @property
    def net_activity(self) -> bool:
        """A workload whose activity comes from the mapped netlist, per net."""
        return self.workload is not None and self.activity_method is ActivityMethod.NET
