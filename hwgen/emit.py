"""Verilog output. The same config always gives byte-identical Verilog."""
from amaranth.back import verilog

from .config.schema import AcceleratorConfig
from .top import Accelerator

TOP_NAME = "hwgen_top"


def generate_verilog(cfg: AcceleratorConfig) -> str:
    top = Accelerator(cfg)
    # strip_internal_attrs keeps source paths out of the output.
    return verilog.convert(top, name=TOP_NAME, emit_src=False, strip_internal_attrs=True)
