"""ASIC flow: Liberty synthesis (Yosys + ABC), static timing and power (OpenSTA).

``run(cfg, AsicOptions(clock_ns=10, pdk="osu018"), out_dir)`` synthesizes a generated
accelerator to a standard cell library and returns an :class:`AsicReport`;
``format_table(report.as_dict())`` renders it as Markdown.
"""
from .errors import (
    AsicFlowError,
    BadLiberty,
    BadWorkload,
    ToolFailed,
    ToolMissing,
    UnknownPdk,
)
from .flow import run
from .options import ActivityMethod, AsicOptions, Memories, PnrScope
from .orfs import UnknownPlatform
from .pdks import KNOWN_PDKS
from .report import AsicReport, check_rules, format_table, load_rules

__all__ = [
           "KNOWN_PDKS",
           "ActivityMethod",
           "AsicFlowError",
           "AsicOptions",
           "AsicReport",
           "BadLiberty",
           "BadWorkload",
           "Memories",
           "PnrScope",
           "ToolFailed",
           "ToolMissing",
           "UnknownPdk",
           "UnknownPlatform",
           "check_rules",
           "format_table",
           "load_rules",
           "run",
]
