"""YAML -> validated :class:`AcceleratorConfig`.

Every problem is collected and reported as one line naming the file, the YAML path and
the rule (``cfg.yaml: array.rows: must be between 1 and 64, got 0``); nothing is
elaborated from a config with problems.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import yaml

from .circulant import parse_circulant
from .sc import parse_sc
from .schema import (DATAFLOWS, DIM_BITS, ADDR_BITS_MAX, AcceleratorConfig, ArrayConfig,
                     BufferConfig, BuffersConfig, HostConfig, MappingConfig,
                     PrecisionConfig, acc_bits_needed)

PRESET_DIR = Path(__file__).parent / "presets"


class ConfigError(Exception):
    """A config with one or more problems; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


class _Checker:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def fail(self, path: str, rule: str):
        self.problems.append(f"{self.source}: {path}: {rule}")

    def section(self, data: Any, path: str, keys: set[str]) -> dict:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail(path or "<top>", f"must be a mapping, got {_kind(data)}")
            return {}
        for k in data:
            if k not in keys:
                self.fail(f"{path}.{k}" if path else str(k),
                          f"unknown key (known: {', '.join(sorted(keys))})")
        return data

    def int_(self, d: dict, path: str, key: str, default, lo: int, hi: int,
             optional: bool = False) -> Optional[int]:
        full = f"{path}.{key}" if path else key
        if key not in d or (optional and d[key] is None):
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(full, f"must be an integer, got {_kind(v)} {v!r}")
            return default
        if not lo <= v <= hi:
            self.fail(full, f"must be between {lo} and {hi}, got {v}")
            return default
        return v

    def choice(self, d: dict, path: str, key: str, default, choices, aliases=None):
        full = f"{path}.{key}" if path else key
        if key not in d:
            return default
        v = d[key]
        if aliases and v in aliases:
            v = aliases[v]
        if v not in choices:
            self.fail(full, f"must be one of {', '.join(map(str, choices))}, got {d[key]!r}")
            return default
        return v


def _kind(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            float: "a number", type(None): "nothing"}.get(type(v), type(v).__name__)


def config_from_dict(data: Any, source: str = "<config>") -> AcceleratorConfig:
    ck = _Checker(source)
    if not isinstance(data, dict):
        ck.fail("<top>", f"must be a mapping, got {_kind(data)}")
        raise ConfigError(ck.problems)
    top = ck.section(data, "", {"name", "array", "precision", "buffers", "host", "mapping", "sc",
                                 "circulant"})

    stem = Path(source).stem
    name = top.get("name", stem if stem.replace("_", "").replace("-", "").isalnum() else "hwgen")
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        ck.fail("name", f"must be a word of letters, digits, '_' or '-', got {name!r}")
        name = "hwgen"

    a = ck.section(top.get("array"), "array", {"rows", "cols", "dataflow"})
    array = ArrayConfig(
        rows=ck.int_(a, "array", "rows", 4, 1, 64),
        cols=ck.int_(a, "array", "cols", 4, 1, 64),
        dataflow=ck.choice(a, "array", "dataflow", ArrayConfig.dataflow, DATAFLOWS,
                           {"ws": DATAFLOWS[0], "os": DATAFLOWS[1]}),
    )

    p = ck.section(top.get("precision"), "precision",
                   {"in_bits", "out_bits", "max_k", "acc_bits", "mult_bits"})
    prec = PrecisionConfig(
        in_bits=ck.int_(p, "precision", "in_bits", 8, 2, 16),
        out_bits=ck.int_(p, "precision", "out_bits", 8, 2, 32),
        max_k=ck.int_(p, "precision", "max_k", 1024, 1, (1 << DIM_BITS) - 1),
        acc_bits=ck.int_(p, "precision", "acc_bits", None, 4, 64, optional=True),
        mult_bits=ck.int_(p, "precision", "mult_bits", 16, 1, 32),
    )
    need = acc_bits_needed(prec.in_bits, prec.max_k)
    if prec.acc_bits is not None and prec.acc_bits < need:
        ck.fail("precision.acc_bits",
                f"{prec.acc_bits} bits overflow for max_k={prec.max_k} with "
                f"{prec.in_bits}-bit operands; needs at least {need} (or leave it out to derive it)")
    if need > 64 and prec.acc_bits is None:
        ck.fail("precision.max_k", f"needs a {need}-bit accumulator, more than 64; lower max_k or in_bits")
    if prec.out_bits > prec.acc_width:
        ck.fail("precision.out_bits",
                f"must not exceed the accumulator width {prec.acc_width}, got {prec.out_bits}")

    b = ck.section(top.get("buffers"), "buffers", {"input", "weight", "acc"})
    bufs = {}
    for nm in ("input", "weight", "acc"):
        path = f"buffers.{nm}"
        s = ck.section(b.get(nm), path, {"depth", "banks"})
        bufs[nm] = BufferConfig(
            depth=ck.int_(s, path, "depth", 256, 1, 1 << ADDR_BITS_MAX),
            banks=ck.int_(s, path, "banks", 2, 1, 2),
        )
    buffers = BuffersConfig(**bufs)

    h = ck.section(top.get("host"), "host", {"beat_elems"})
    host = HostConfig(beat_elems=ck.int_(h, "host", "beat_elems", min(4, array.rows), 1, 64))

    units = {}  # optional special-unit sections, each with its own parser
    for key, parse in (("sc", parse_sc), ("circulant", parse_circulant)):
        units[key] = None
        if top.get(key) is not None:
            try:
                units[key] = parse(top[key], source)
            except ConfigError as e:
                ck.problems.extend(e.problems)

    cfg = AcceleratorConfig(name=name, array=array, precision=prec, buffers=buffers, host=host,
                            **units)

    # The smallest chunk (one array tile, K = 1) must fit every buffer.
    small = cfg.chunk_fits(1, 1, 1)
    if small is not None:
        ck.fail("buffers", f"too small for even one array tile: {small}")

    if "mapping" in top and top["mapping"] is not None:
        m = ck.section(top["mapping"], "mapping", {"tile", "order"})
        t = ck.section(m.get("tile"), "mapping.tile", {"m", "k", "n"})
        if "tile" not in m or not all(x in t for x in "mkn"):
            ck.fail("mapping.tile", "must give m, k and n (chunk sizes held on chip)")
        order = m.get("order", ["m", "n", "k"])
        if (not isinstance(order, list) or sorted(order) != ["k", "m", "n"]):
            ck.fail("mapping.order", f"must be a permutation of [m, n, k], got {order!r}")
            order = ["m", "n", "k"]
        elif order[-1] != "k":
            ck.fail("mapping.order",
                    f"k must be innermost (partial sums stay in the accumulator buffer), got {order!r}")
        lim = (1 << DIM_BITS) - 1
        mp = MappingConfig(tile_m=ck.int_(t, "mapping.tile", "m", 1, 1, lim),
                           tile_k=ck.int_(t, "mapping.tile", "k", 1, 1, lim),
                           tile_n=ck.int_(t, "mapping.tile", "n", 1, 1, lim),
                           order=tuple(order))
        if not ck.problems:
            why = cfg.chunk_fits(mp.tile_m, mp.tile_k, mp.tile_n)
            if why is not None:
                ck.fail("mapping.tile", f"does not fit the buffers: {why}; "
                        "shrink the tile or deepen the buffers")
            elif mp.tile_k > prec.max_k:
                ck.fail("mapping.tile.k", f"exceeds precision.max_k={prec.max_k}")
        cfg = cfg.replace(mapping=mp)

    if ck.problems:
        raise ConfigError(ck.problems)
    return cfg


def load_config(spec: str) -> AcceleratorConfig:
    """Load a config from a YAML path or a preset name."""
    path = Path(spec)
    if not path.exists() and (PRESET_DIR / f"{spec}.yaml").exists():
        path = PRESET_DIR / f"{spec}.yaml"
        source = f"{spec}.yaml"
    else:
        source = spec
    if not path.exists():
        raise ConfigError([f"{spec}: no such file, and not a preset (presets: {', '.join(preset_names())})"])
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{source}: cannot read: {e}"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError([f"{source}: {where}malformed YAML: {problem}"])
    return config_from_dict(data, source)


def config_dict(cfg: AcceleratorConfig) -> dict:
    """The resolved config as plain data (derived widths filled in)."""
    d = asdict(cfg)
    d["precision"]["acc_bits"] = cfg.acc_bits
    if cfg.mapping is not None:
        mp = d.pop("mapping")
        d["mapping"] = {"tile": {"m": mp["tile_m"], "k": mp["tile_k"], "n": mp["tile_n"]},
                        "order": list(mp["order"])}
    else:
        d.pop("mapping")
    for unit in ("sc", "circulant"):
        if getattr(cfg, unit) is None:
            d.pop(unit)  # configs without the unit keep their hash
    return d


def config_hash(cfg: AcceleratorConfig) -> str:
    blob = json.dumps(config_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
