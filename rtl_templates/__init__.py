"""Hand-written text that ends up in hwgen's outputs, installed as package data: Verilog
(SRAM macro black boxes and simulation models), constraint files (SDC), tool scripts
(Yosys for FPGA and standard cells, OpenSTA, OpenROAD-flow-scripts) and the Verilator
lint waivers.

Templates use ``string.Template``: ``${name}`` is substituted, ``$$`` is a literal ``$``.
Files are found with :mod:`importlib.resources`, so an installed wheel works as well as
a source checkout.
"""
from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path
from string import Template
from typing import Iterator

__all__ = ["names", "read", "render", "as_file"]


def _root():
    return resources.files(__name__)


def names(folder: str) -> list[str]:
    """The files of ``folder`` (``asic``, ``fpga``, ``lint``, ``verilog``)."""
    return sorted(p.name for p in (_root() / folder).iterdir() if p.is_file())


def read(name: str) -> str:
    """The text of ``name`` (a path below this package, e.g. ``lint/hwgen_top.vlt``)."""
    return (_root() / name).read_text()


def render(_template: str, **values) -> str:
    """Template ``_template`` with every placeholder substituted (KeyError if one is not
    given)."""
    return Template(read(_template)).substitute({k: str(v) for k, v in values.items()})


@contextlib.contextmanager
def as_file(name: str) -> Iterator[Path]:
    """A real file system path of ``name`` for tools that read files themselves."""
    with resources.as_file(_root() / name) as path:
        yield Path(path)
