"""ASIC flow: Liberty synthesis (Yosys + ABC), static timing and power (OpenSTA).

``run(cfg, pdk, clock_ns, out_dir)`` synthesizes a generated accelerator to a standard
cell library and returns a report; ``format_table(report)`` renders it as Markdown.
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
from .orfs import UnknownPlatform
from .pdks import KNOWN_PDKS
from .report import check_rules, format_table, load_rules

__all__ = [
           "KNOWN_PDKS",
           "AsicFlowError",
           "BadLiberty",
           "BadWorkload",
           "ToolFailed",
           "ToolMissing",
           "UnknownPdk",
           "UnknownPlatform",
           "check_rules",
           "format_table",
           "load_rules",
           "run",
]
