"""Verilog output. The same config always gives byte-identical Verilog."""
import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from amaranth.back import rtlil, verilog

from .config import AcceleratorConfig, config_dict
from .scaleout.hetero import Heterogeneous
from .scaleout.pods import MultiPod
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


def design_top(cfg: AcceleratorConfig):
    """The top of a design: one array (:class:`hwgen.top.Accelerator`), P pods behind
    their interconnects (``pods:``, :class:`hwgen.scaleout.pods.MultiPod`) or the engines
    of a heterogeneous design side by side (``subaccelerators:``,
    :class:`hwgen.scaleout.hetero.Heterogeneous`)."""
    if cfg.subaccelerators:
        return Heterogeneous(cfg)
    if cfg.pods is not None and cfg.pods.count > 1:
        return MultiPod(cfg)
    return Accelerator(cfg.pod if cfg.pods is not None else cfg)


def generate_verilog(cfg: AcceleratorConfig) -> str:
    return component_verilog(design_top(cfg), TOP_NAME)


def generate_unit_verilog(cfg: AcceleratorConfig) -> dict[str, str]:
    """Verilog of the stand-alone special units (``sc:``, ``circulant:`` sections),
    keyed by module name; empty when the config has none."""
    out = {}
    for name, top in unit_designs(cfg).items():
        out[name] = component_verilog(top, name)
    return out


# ---- the Verilog cache ------------------------------------------------------------------
def cache_dir() -> Path:
    """Where generated Verilog is kept between runs (``HWGEN_CACHE``, else
    ``~/.cache/hwgen``)."""
    env = os.environ.get("HWGEN_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "hwgen") / "verilog"


@functools.lru_cache(maxsize=1)
def generator_digest() -> str:
    """A digest of everything that decides the Verilog: hwgen's source files and the
    Amaranth version (which also pins the Yosys it converts with)."""
    h = hashlib.sha256(importlib.metadata.version("amaranth").encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cached_verilog(cfg: AcceleratorConfig) -> str:
    """:func:`generate_verilog`, kept on disk by config and generator digest, so a
    design is elaborated once (simulations of many programs, networks, repeated runs).
    A cache that cannot be written is skipped."""
    key = hashlib.sha256(json.dumps([config_dict(cfg), generator_digest()],
                                    sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"{cfg.name}-{key}.v"
    try:
        return path.read_text()
    except OSError:
        pass
    text = generate_verilog(cfg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".v")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
    return text
