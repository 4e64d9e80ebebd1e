"""Constructor checks for hardware components: a component refuses bad parameters with
one-line messages (``WsPE in_bits must be an integer between 1 and 32, got 0``), as
Amaranth's own library classes do, before anything is elaborated."""
from __future__ import annotations

from typing import Any


def reject(component, exc: Exception):
    """Raise ``exc`` from a constructor; the half-built component is never elaborated, so
    Amaranth need not warn about it."""
    component._MustUse__silence = True
    raise exc


def check_int(component, name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` if it is an integer within ``lo..hi``; else the constructor is refused
    with a ValueError (TypeError for a non-integer) naming the class and the parameter."""
    cls = type(component).__name__
    if not isinstance(value, int) or isinstance(value, bool):
        reject(component, TypeError(f"{cls} {name} must be an integer between {lo} and "
                                    f"{hi}, got {value!r}"))
    if not lo <= value <= hi:
        reject(component, ValueError(f"{cls} {name} must be an integer between {lo} and "
                                     f"{hi}, got {value!r}"))
    return value


def check_type(component, name: str, value: Any, cls: type) -> Any:
    """``value`` if it is a ``cls``; else a TypeError naming the parameter."""
    if not isinstance(value, cls):
        reject(component, TypeError(f"{type(component).__name__} {name} must be a "
                                    f"{cls.__name__}, got {value!r}"))
    return value
