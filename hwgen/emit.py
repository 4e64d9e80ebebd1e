"""Verilog output. The same config always gives byte-identical Verilog."""
from contextlib import contextmanager

from amaranth.back import rtlil, verilog

from .config import AcceleratorConfig
from .top import Accelerator
from .units import unit_designs

TOP_NAME = "hwgen_top"


@contextmanager
def sram_semantics():
    """Emit all-zero memories without initial contents.

    Amaranth writes every bit of a memory's initial value into the netlist, which for
    the buffers of a large array costs most of the conversion time and most of the
    Verilog text. The buffers behave like SRAM macros instead: their contents are
    undefined until written (the host protocol never reads a word it has not written;
    FPGA block RAMs still power up as zero). Memories with non-zero contents, such as
    ROMs, keep them.
    """
    emitter = getattr(rtlil, "ModuleEmitter", None)
    orig = getattr(emitter, "emit_memory", None)
    if orig is None:  # a different Amaranth: keep its behaviour
        yield
        return

    def emit_memory(self, cell_idx, cell):
        if any(cell.init):
            orig(self, cell_idx, cell)

    emitter.emit_memory = emit_memory
    try:
        yield
    finally:
        emitter.emit_memory = orig


def component_verilog(component, name: str) -> str:
    """Verilog of an elaboratable as module ``name``: memories as SRAMs
    (:func:`sram_semantics`), no source paths (``emit_src=False``), so the text is the
    same wherever it is generated."""
    with sram_semantics():
        return verilog.convert(component, name=name, emit_src=False, strip_internal_attrs=True)


def generate_verilog(cfg: AcceleratorConfig) -> str:
    return component_verilog(Accelerator(cfg), TOP_NAME)


def generate_unit_verilog(cfg: AcceleratorConfig) -> dict[str, str]:
    """Verilog of the stand-alone special units (``sc:``, ``circulant:`` sections),
    keyed by module name; empty when the config has none."""
    out = {}
    for name, top in unit_designs(cfg).items():
        out[name] = component_verilog(top, name)
    return out
