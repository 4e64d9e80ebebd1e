"""The design space of a search: which config keys vary and over what values.

A space is a list of dimensions, each a config key (``array.rows``, ``buffers.input.depth``,
...) with an ordered list of values. A candidate is a tuple of indices, one per dimension
(categorical choices such as the dataflow encoded as numbers, as NAAS encodes its
connectivity choices), and :meth:`Space.config` makes it a checked
:class:`~hwgen.config.AcceleratorConfig`. Neighbouring indices are neighbouring values,
so mutation by +-1 is a small step.

A space file (``--space FILE``, YAML) gives a key a fixed value, a list of values, or a
range ``{min, max}`` (every integer, or with ``pow2: true`` the powers of two, or with
``step: S``)::

    array:
      rows: {min: 4, max: 32, pow2: true}
      cols: [4, 8, 16, 32]
      dataflow: [ws, os, is]
    precision: {in_bits: 8}
    buffers:
      input:  {depth: {min: 256, max: 8192, pow2: true}, banks: [1, 2]}
      weight: {depth: {min: 256, max: 8192, pow2: true}, banks: 2}
      acc:    {depth: {min: 256, max: 8192, pow2: true}, banks: 2}
    host: {beat_elems: [4, 8, 16]}
    memories: [flops, macro]

Keys left out take the default space's values (:data:`DEFAULT`); ``memories`` is not a
config key but how the cost model prices the buffers.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..config import AcceleratorConfig, ConfigError, config_from_dict
from ..config.loader import parse_yaml
from ..lib.errors import BadInput, read_text

#: Dimensions a space file may name: key -> (kind, allowed range), kind "int" or a
#: tuple of choices.
KEYS = {
    "array.rows": ("int", 1, 64),
    "array.cols": ("int", 1, 64),
    "array.dataflow": (("weight_stationary", "output_stationary", "input_stationary"),),
    "precision.in_bits": ("int", 2, 16),
    "buffers.input.depth": ("int", 1, 1 << 20),
    "buffers.weight.depth": ("int", 1, 1 << 20),
    "buffers.acc.depth": ("int", 1, 1 << 20),
    "buffers.input.banks": ("int", 1, 2),
    "buffers.weight.banks": ("int", 1, 2),
    "buffers.acc.banks": ("int", 1, 2),
    "host.beat_elems": ("int", 1, 64),
    "memories": (("flops", "macro"),),
}
ALIASES = {"ws": "weight_stationary", "os": "output_stationary", "is": "input_stationary"}
SHORT = {v: k for k, v in ALIASES.items()}

#: The space searched when no file is given.
DEFAULT = {
    "array.rows": [2, 4, 8, 16, 32],
    "array.cols": [2, 4, 8, 16, 32],
    "array.dataflow": ["weight_stationary", "output_stationary", "input_stationary"],
    "precision.in_bits": [8],
    "buffers.input.depth": [256, 512, 1024, 2048, 4096, 8192],
    "buffers.weight.depth": [256, 512, 1024, 2048, 4096, 8192],
    "buffers.acc.depth": [256, 512, 1024, 2048, 4096, 8192],
    "buffers.input.banks": [2],
    "buffers.weight.banks": [2],
    "buffers.acc.banks": [2],
    "host.beat_elems": [4, 8, 16, 32],
    "memories": ["flops"],
}
#: Candidates an exhaustive search enumerates at most.
MAX_EXHAUSTIVE = 200_000


@dataclass(frozen=True)
class Dim:
    key: str
    values: tuple

    @property
    def size(self) -> int:
        return len(self.values)


class Space:
    """Dimensions (each a key and its ordered values) and how a candidate becomes a
    config. ``max_k`` is the longest reduction the workload needs: every config gets the
    accumulator for it."""

    def __init__(self, dims: list[Dim], max_k: int = 1024, source: str = "<space>"):
        self.dims = list(dims)
        self.max_k = int(max_k)
        self.source = source
        self.index = {d.key: i for i, d in enumerate(self.dims)}

    # ---- shape ---------------------------------------------------------------------------
    @property
    def sizes(self) -> np.ndarray:
        return np.array([d.size for d in self.dims], dtype=np.int64)

    @property
    def count(self) -> int:
        return math.prod(d.size for d in self.dims)

    def varying(self) -> list[Dim]:
        return [d for d in self.dims if d.size > 1]

    def value(self, cand, key: str):
        d = self.dims[self.index[key]]
        return d.values[cand[self.index[key]]]

    def values(self, cand) -> dict:
        return {d.key: d.values[i] for d, i in zip(self.dims, cand)}

    def columns(self, pop: np.ndarray) -> dict:
        """The population's values per key, as arrays (numbers for numeric keys)."""
        out = {}
        for j, d in enumerate(self.dims):
            vals = np.asarray(d.values, dtype=object if isinstance(d.values[0], str) else None)
            out[d.key] = vals[pop[:, j]]
        return out

    # ---- candidates ----------------------------------------------------------------------
    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.stack([rng.integers(0, d.size, n) for d in self.dims], axis=1) \
            if self.dims else np.zeros((n, 0), dtype=np.int64)

    def all(self) -> np.ndarray:
        if self.count > MAX_EXHAUSTIVE:
            raise BadInput(f"{self.source}: {self.count} designs, more than an exhaustive "
                           f"search enumerates ({MAX_EXHAUSTIVE}); narrow the space or use "
                           "--algorithm evolution")
        return np.array(list(itertools.product(*(range(d.size) for d in self.dims))),
                        dtype=np.int64).reshape(-1, len(self.dims))

    def name(self, cand) -> str:
        v = self.values(cand)
        df = SHORT[v["array.dataflow"]]
        return (f"{df}{v['array.rows']}x{v['array.cols']}-i{v['precision.in_bits']}"
                f"-b{v['buffers.input.depth']}_{v['buffers.weight.depth']}_"
                f"{v['buffers.acc.depth']}"
                + "".join(f"-{b[0]}{v[f'buffers.{b}.banks']}" for b in ("input", "weight", "acc")
                          if v[f"buffers.{b}.banks"] != 2)
                + f"-h{v['host.beat_elems']}"
                + ("" if v["memories"] == "flops" else "-macro"))

    def config_dict(self, cand) -> dict:
        v = self.values(cand)
        return {
            "name": self.name(cand),
            "array": {"rows": v["array.rows"], "cols": v["array.cols"],
                      "dataflow": v["array.dataflow"]},
            "precision": {"in_bits": v["precision.in_bits"], "max_k": self.max_k},
            "buffers": {b: {"depth": v[f"buffers.{b}.depth"], "banks": v[f"buffers.{b}.banks"]}
                        for b in ("input", "weight", "acc")},
            "host": {"beat_elems": v["host.beat_elems"]},
            # (an input-stationary design has no on-chip im2col)
            **({"features": {"im2col": False}}
               if v["array.dataflow"] == "input_stationary" else {}),
        }

    def config(self, cand) -> Optional[AcceleratorConfig]:
        """The candidate's config, or None when the values do not make a valid one."""
        try:
            return config_from_dict(self.config_dict(cand), f"{self.name(cand)}.yaml")
        except ConfigError:
            return None

    def encode(self, values: dict) -> tuple:
        """The candidate with these values (each must be one of its dimension's)."""
        out = []
        for d in self.dims:
            v = values[d.key]
            if v not in d.values:
                raise BadInput(f"{d.key}={v} is not in the space ({', '.join(map(str, d.values))})")
            out.append(d.values.index(v))
        return tuple(out)

    def describe(self) -> dict:
        return {d.key: list(d.values) for d in self.dims}


# ---- space files ---------------------------------------------------------------------------
def _flatten(data: Any, prefix: str, out: dict, where: str) -> None:
    if not isinstance(data, dict):
        raise BadInput(f"{where}: the space must be a mapping of config keys")
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if key in KEYS:
            out[key] = v
        elif isinstance(v, dict) and any(kk.startswith(key + ".") for kk in KEYS):
            _flatten(v, key, out, where)
        else:
            raise BadInput(f"{where}: {key}: not a searchable key (one of "
                           f"{', '.join(KEYS)})")


def _values(key: str, spec: Any, where: str) -> tuple:
    kind = KEYS[key]
    if isinstance(kind[0], tuple):          # choices
        raw = spec if isinstance(spec, list) else [spec]
        vals = []
        for v in raw:
            v = ALIASES.get(v, v) if isinstance(v, str) else v
            if v not in kind[0]:
                raise BadInput(f"{where}: {key}: {v!r} is not one of {', '.join(kind[0])}")
            vals.append(v)
    else:
        _, lo, hi = kind
        if isinstance(spec, dict):
            extra = set(spec) - {"min", "max", "pow2", "step"}
            if extra or "min" not in spec or "max" not in spec:
                raise BadInput(f"{where}: {key}: a range is {{min, max}} with pow2: true or "
                               "step: S")
            a, b = spec["min"], spec["max"]
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) or a > b:
                raise BadInput(f"{where}: {key}: min and max must be integers, min <= max; "
                               f"got {a!r}, {b!r}")
            if spec.get("pow2"):
                vals = [1 << e for e in range(max(0, a - 1).bit_length(), b.bit_length() + 1)
                        if a <= 1 << e <= b]
            else:
                step = spec.get("step", 1)
                if not isinstance(step, int) or step < 1:
                    raise BadInput(f"{where}: {key}: step must be a positive integer")
                vals = list(range(a, b + 1, step))
        else:
            vals = spec if isinstance(spec, list) else [spec]
        for v in vals:
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise BadInput(f"{where}: {key}: {v!r} is outside {lo}..{hi}")
    vals = list(dict.fromkeys(vals))
    if not vals:
        raise BadInput(f"{where}: {key}: no values (an empty range excludes every design)")
    if KEYS[key][0] == "int":
        vals.sort()
    return tuple(vals)


def make_space(spec: Optional[dict] = None, *, max_k: int = 1024,
               source: str = "<space>") -> Space:
    """The space of a parsed space file (None: the default), over :data:`DEFAULT`."""
    flat: dict = {}
    if spec is not None:
        _flatten(spec, "", flat, source)
    dims = [Dim(key, _values(key, flat.get(key, DEFAULT[key]), source)) for key in KEYS]
    return Space(dims, max_k=max_k, source=source)


def load_space(path, *, max_k: int = 1024) -> Space:
    text = read_text(path)
    try:
        data = parse_yaml(text, str(path))
    except ConfigError as e:
        raise BadInput(e.problems[0]) from None
    return make_space(data or {}, max_k=max_k, source=str(path))
