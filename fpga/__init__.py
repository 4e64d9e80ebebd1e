"""FPGA flow: board tops (the accelerator behind a UART bridge), Yosys + nextpnr runs
and their reports. ``build(cfg, FpgaOptions(board=...), out_dir)`` is what ``hwgen fpga``
calls; it returns an :class:`FpgaReport`."""
from .boards import BOARDS, UnknownBoard, board_names, get_board
from .flow import BuffersTooLarge, DoesNotFit, FlowError, ToolMissing, build
from .options import FpgaOptions
from .pll import ClockOutOfRange
from .report import FpgaReport, format_table

__all__ = ["BOARDS", "UnknownBoard", "board_names", "get_board", "BuffersTooLarge",
           "ClockOutOfRange", "DoesNotFit",
           "FlowError", "FpgaOptions", "FpgaReport", "ToolMissing", "build", "format_table"]
