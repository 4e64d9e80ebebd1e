"""Option types of the command line, shared by every command.

Each is an ``argparse`` type: it takes the option's text, refuses anything outside its
range with one line that says the range (argparse prints it as ``hwgen: argument
--seed: ...``, exit code 2) and returns the value. Numbers are ASCII digits only (Python's
``int()`` would also take ``٤`` or ``1_000``), and their length is capped before they
are converted, so no input is slow to refuse.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import stat
from typing import Callable, NamedTuple

#: Largest value of a signed 64-bit integer: reports (JSON) are read by programs that
#: hold their numbers in one, so no count hwgen reports may exceed it.
INT64_MAX = (1 << 63) - 1
_INT = re.compile(r"[+-]?[0-9]{1,40}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]{1,40}(?:\.[0-9]{0,40})?|\.[0-9]{1,40})(?:[eE][+-]?[0-9]{1,4})?")


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"


def int_range(lo: int, hi: int, what: str = "an integer") -> Callable[[str], int]:
    """An integer within ``lo..hi`` (ASCII digits)."""
    def parse(text: str) -> int:
        if not _INT.fullmatch(text) or not lo <= int(text) <= hi:
            raise argparse.ArgumentTypeError(f"expected {what} from {lo} to {hi}, "
                                             f"got {shown(text)}")
        return int(text)
    parse.__name__ = what
    return parse


def float_range(lo: float, hi: float, what: str = "a number",
                lo_open: bool = True) -> Callable[[str], float]:
    """A finite number within ``lo..hi`` (``lo`` itself excluded when ``lo_open``)."""
    def parse(text: str) -> float:
        v = float(text) if _FLOAT.fullmatch(text) else math.nan
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
        if not ok:
            low = f"above {lo:g}" if lo_open else f"from {lo:g}"
            raise argparse.ArgumentTypeError(f"expected {what} {low} up to {hi:g}, "
                                             f"got {shown(text)}")
        return v
    parse.__name__ = what
    return parse


def config_file(text: str) -> str:
    """A config: a preset name or a YAML file. A path to something that is not a regular
    file (``/dev/zero``, a FIFO) is refused here: reading it would never end."""
    if "\0" in text or not text.strip():
        raise argparse.ArgumentTypeError(f"{shown(text)}: not a file name")
    if len(os.fsencode(text)) > 4095 or any(len(os.fsencode(c)) > 255 for c in text.split("/")):
        raise argparse.ArgumentTypeError(f"{shown(text)}: file name too long (at most 255 bytes "
                                         "a component, 4095 in all)")
    try:
        st = os.stat(text)
    except (OSError, ValueError):
        return text  # no such file: the loader says so (or it is a preset name)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise argparse.ArgumentTypeError(f"{shown(text)}: not a regular file (a device, pipe "
                                         "or socket); a config is a YAML file or a preset name")
    return text


#: Seeds that reach the testbench (a 32-bit register) and NumPy's generator.
seed32 = int_range(0, (1 << 32) - 1, "a seed")
#: nextpnr's placement seed (a C ``int``).
seed31 = int_range(0, (1 << 31) - 1, "a seed")
#: Time limits of external tools, in seconds (up to about eleven days).
seconds = float_range(0, 1e6, "seconds")


class Gemm(NamedTuple):
    """A GEMM workload: an M x K matrix times a K x N one."""
    M: int
    K: int
    N: int

    def __str__(self) -> str:
        return f"gemm:{self.M}x{self.K}x{self.N}"

    @property
    def macs(self) -> int:
        return self.M * self.K * self.N


_GEMM = re.compile(r"gemm:([0-9]{1,40})x([0-9]{1,40})x([0-9]{1,40})")
GEMM_SYNTAX = "gemm:MxKxN with positive integers, e.g. gemm:64x64x64"


def gemm(text: str) -> Gemm:
    """``gemm:MxKxN``: positive dimensions whose product (the multiply-accumulates)
    fits a signed 64-bit integer."""
    m = _GEMM.fullmatch(text or "")
    if not m or min(int(g) for g in m.groups()) < 1:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not {GEMM_SYNTAX}")
    g = Gemm(*(int(x) for x in m.groups()))
    if max(g) > INT64_MAX or g.macs > INT64_MAX:
        raise argparse.ArgumentTypeError(
            f"{g}: {g.macs} multiply-accumulates; at most 2^63-1 ({INT64_MAX}), what a "
            "64-bit count holds")
    return g


def window(text: str) -> tuple[int, int | None]:
    """``FIRST:COUNT`` clock cycles (COUNT may be empty: to the end)."""
    first, sep, count = text.partition(":")
    ok = (sep and re.fullmatch(r"[0-9]{1,19}", first)
          and (count == "" or re.fullmatch(r"[0-9]{1,19}", count)))
    out = (int(first), int(count) if count else None) if ok else (-1, None)
    if not ok or out[0] > INT64_MAX or (out[1] is not None and not 1 <= out[1] <= INT64_MAX):
        raise argparse.ArgumentTypeError(
            f"{shown(text)}: expected FIRST:COUNT (cycles, FIRST >= 0, COUNT >= 1 or empty), "
            "e.g. 20:200")
    return out


#: Largest extent of one dimension of a model's input (``--input-shape``).
MAX_EXTENT = 1 << 16
_SHAPE = re.compile(r"[0-9]{1,6}(?:x[0-9]{1,6}){2,3}")


def input_shape(text: str) -> tuple[int, ...]:
    """``NxCxHxW`` (or ``CxHxW``, one image): positive extents up to 65536."""
    if not _SHAPE.fullmatch(text or ""):
        raise argparse.ArgumentTypeError(f"{shown(text)}: expected NxCxHxW or CxHxW with "
                                         "positive integers, e.g. 1x3x224x224")
    dims = tuple(int(d) for d in text.split("x"))
    if min(dims) < 1 or max(dims) > MAX_EXTENT:
        raise argparse.ArgumentTypeError(f"{shown(text)}: each extent must be from 1 to "
                                         f"{MAX_EXTENT}")
    return dims


def existing_file(what: str) -> Callable[[str], str]:
    """The name of a regular file that exists (``what`` names it in messages)."""
    def parse(text: str) -> str:
        if "\0" in text or not text.strip():
            raise argparse.ArgumentTypeError(f"{shown(text)}: not a file name")
        try:
            st = os.stat(text)
        except (OSError, ValueError) as e:
            raise argparse.ArgumentTypeError(f"{shown(text)}: {getattr(e, 'strerror', None) or e}")
        if not stat.S_ISREG(st.st_mode):
            raise argparse.ArgumentTypeError(f"{shown(text)}: not a regular file; expected {what}")
        return text
    parse.__name__ = what
    return parse
