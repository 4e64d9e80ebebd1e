"""The one checker every config section uses, and the error it raises.

A config dataclass checks itself in ``__post_init__`` with a :class:`Checker`: every
field is type- and range-checked, choices become their :class:`enum.Enum` member, and
rules that tie fields together run only when the fields they read are valid. Problems
are collected, not raised one at a time, so a user sees all of them at once:

    array.rows: must be between 1 and 64, got 0

The loader puts the file name in front (``cfg.yaml: array.rows: ...``) and, for
sections that sit under another (a buffer under ``buffers.input``), the full YAML path.
Messages never embed an unbounded representation of a value (:func:`brief`).
"""
from __future__ import annotations

import enum
from typing import Any, Iterable, Optional

from ..lib.errors import BadInput

#: Longest representation of a value quoted in a message.
BRIEF_CHARS = 40


class ConfigError(BadInput, ValueError):
    """A config with one or more problems; ``problems`` holds one line each.

    ``root`` is the YAML path the lines start with (``array``, ``sc``, ...), so that a
    section checked on its own can be placed under another path with :meth:`under`.
    """

    def __init__(self, problems: Iterable[str], root: str = ""):
        self.problems = list(problems)
        self.root = root
        super().__init__("\n".join(self.problems))

    def under(self, root: str, source: str = "") -> "ConfigError":
        """The same problems with the leading ``self.root`` replaced by ``root`` and, if
        given, ``source: `` in front (the file the section came from)."""
        out = []
        for line in self.problems:
            if self.root and line.startswith(self.root):
                line = root + line[len(self.root):]
            elif root:
                line = f"{root}.{line}"
            out.append(f"{source}: {line}" if source else line)
        return ConfigError(out, root)

    def located(self, source: str) -> "ConfigError":
        """The problems with ``source: `` in front."""
        return ConfigError([f"{source}: {p}" for p in self.problems], self.root)


def kind(v: Any) -> str:
    """What a YAML value is, in words."""
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            float: "a number", type(None): "nothing"}.get(type(v), type(v).__name__)


def brief(v: Any) -> str:
    """``repr(v)`` cut to :data:`BRIEF_CHARS` characters; containers are summarised by
    their size without walking them (an alias bomb has billions of items)."""
    if isinstance(v, (list, tuple, dict, set)):
        if all(isinstance(x, (str, int)) and not isinstance(x, bool)
               for x in list(v)[:8]) and len(v) <= 8:
            text = repr(list(v) if isinstance(v, tuple) else v)
            if len(text) <= BRIEF_CHARS:
                return text
        return f"{kind(v)} of {len(v)} items"
    if isinstance(v, int) and not isinstance(v, bool):
        text = str(v) if v.bit_length() < 200 else None
        if text is None or len(text) > BRIEF_CHARS:
            return f"an integer of {len(str(abs(v))) if v.bit_length() < 100_000 else 'many'} digits"
        return text
    text = repr(v)
    return text if len(text) <= BRIEF_CHARS else text[:BRIEF_CHARS - 3] + "..."


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class Choice(str, enum.Enum):
    """A choice among named values. Members compare equal to their value, so
    ``dataflow == "weight_stationary"`` holds; ``ALIASES`` maps short spellings."""

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def aliases(cls) -> dict:
        return {}

    @classmethod
    def parse(cls, v: Any) -> Optional["Choice"]:
        """The member ``v`` names (a member, a value or an alias), else None."""
        if isinstance(v, cls):
            return v
        if not isinstance(v, str):
            return None
        v = cls.aliases().get(v, v)
        try:
            return cls(v)
        except ValueError:
            return None

    @classmethod
    def names(cls) -> str:
        return ", ".join(m.value for m in cls)


class Checker:
    """Checks the fields of one frozen dataclass instance in place.

    Parameters
    ----------
    obj : dataclass instance
        The config being checked; choices are replaced by their enum members.
    root : str
        The YAML path of ``obj`` (``array``, ``buffers.input``); problems read
        ``root.field: rule``.
    """

    def __init__(self, obj: Any, root: str):
        self.obj = obj
        self.root = root
        self.problems: list[str] = []
        self.bad: set[str] = set()

    # ---- recording -----------------------------------------------------------------
    def path(self, key: str) -> str:
        if not key:
            return self.root
        return f"{self.root}.{key}" if self.root else key

    def fail(self, key: str, rule: str, *, field: Optional[str] = None) -> None:
        """Record ``rule`` against ``key``; ``field`` (default ``key``) is marked bad so
        that rules reading it are skipped."""
        self.problems.append(f"{self.path(key)}: {rule}")
        self.bad.add(field if field is not None else key)

    def ok(self, *fields: str) -> bool:
        """True when none of ``fields`` has a problem."""
        return not (set(fields) & self.bad)

    def done(self) -> None:
        if self.problems:
            raise ConfigError(self.problems, self.root)

    # ---- field checks ----------------------------------------------------------------
    def _get(self, key):
        return getattr(self.obj, key)

    def _set(self, key, v):
        object.__setattr__(self.obj, key, v)

    def int_(self, key: str, lo: int, hi: int, *, optional: bool = False,
             label: Optional[str] = None) -> Optional[int]:
        """An integer within ``lo..hi`` (None allowed when ``optional``); ``label`` is
        the YAML key when it differs from the field name."""
        v = self._get(key)
        if optional and v is None:
            return None
        if not is_int(v):
            self.fail(label or key, f"must be an integer, got {kind(v)} {brief(v)}", field=key)
            return None
        if not lo <= v <= hi:
            self.fail(label or key, f"must be between {lo} and {hi}, got {brief(v)}", field=key)
            return None
        self._set(key, int(v))  # a bool-free plain int (numpy ints become ints)
        return int(v)

    def pow2(self, key: str) -> None:
        v = self._get(key)
        if self.ok(key) and is_int(v) and v & (v - 1):
            self.fail(key, f"must be a power of two, got {v}")

    def choice(self, key: str, enum_cls: type[Choice]) -> Optional[Choice]:
        v = self._get(key)
        member = enum_cls.parse(v)
        if member is None:
            self.fail(key, f"must be one of {enum_cls.names()}, got {brief(v)}")
            return None
        self._set(key, member)
        return member

    def flag(self, key: str) -> Optional[bool]:
        v = self._get(key)
        if not isinstance(v, bool):
            self.fail(key, f"must be true or false, got {kind(v)} {brief(v)}")
            return None
        return v


def check_mapping(data: Any, path: str, keys: Iterable[str], problems: list[str]) -> dict:
    """``data`` as a dict of known keys (``None`` is an empty section); problems for a
    non-mapping or unknown keys are appended to ``problems`` as ``path.key: rule``."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path or '<top>'}: must be a mapping, got {kind(data)}")
        return {}
    keys = set(keys)
    for k in data:
        if k not in keys:
            name = brief(k) if not isinstance(k, str) else (k if len(k) <= BRIEF_CHARS else brief(k))
            problems.append(f"{path}.{name}: unknown key (known: {', '.join(sorted(keys))})"
                            if path else f"{name}: unknown key (known: {', '.join(sorted(keys))})")
    return {k: v for k, v in data.items() if k in keys}


def parse_section(cls: type, data: Any, path: str, source: str = "", *,
                  keys: Optional[Iterable[str]] = None, rename: Optional[dict] = None):
    """A config dataclass ``cls`` from the YAML mapping ``data`` found at ``path``:
    unknown keys and a non-mapping are problems of their own, every field is checked by
    ``cls`` itself. ``keys`` are the YAML keys (default: the field names); ``rename``
    maps a YAML key to a field name. Raises ConfigError with every problem, each line
    ``source: path.key: rule``."""
    keys = tuple(keys if keys is not None else cls.__dataclass_fields__)
    problems: list[str] = []
    if data is not None and not isinstance(data, dict):
        problems.append(f"{path or '<top>'}: must be a mapping, got {kind(data)}")
        raise ConfigError([f"{source}: {p}" if source else p for p in problems], path)
    d = check_mapping(data, path, keys, problems)
    if rename:
        d = {rename.get(k, k): v for k, v in d.items()}
    obj = None
    try:
        obj = cls(**d)
    except ConfigError as e:
        problems += e.under(path).problems
    if problems:
        raise ConfigError([f"{source}: {p}" if source else p for p in problems], path)
    return obj
