"""FPGA flow: board tops (the accelerator behind a UART bridge), Yosys + nextpnr runs
and their reports. ``build`` is what ``hwgen fpga`` calls."""
from .boards import BOARDS, UnknownBoard, board_names, get_board
from .flow import DoesNotFit, FlowError, ToolMissing, build
from .pll import ClockOutOfRange
from .report import format_table

__all__ = ["BOARDS", "UnknownBoard", "board_names", "get_board", "ClockOutOfRange", "DoesNotFit",
           "FlowError", "ToolMissing", "build", "format_table"]
