"""YAML -> validated :class:`AcceleratorConfig`.

The YAML is read defensively (duplicate keys, aliases that expand past a small limit and
deep nesting are refused by name and place), then every section is built by its own
dataclass, which checks itself (:mod:`hwgen.config.check`). Every problem is collected
and reported as one line naming the file, the YAML path and the rule
(``cfg.yaml: array.rows: must be between 1 and 64, got 0``); nothing is elaborated from a
config with problems. A section with a bad field is checked further with that field at
its default, so one mistake does not hide the others.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import yaml

from .bayesian import parse_bayesian
from .check import ConfigError, brief, check_mapping, kind, parse_section
from .circulant import CirculantConfig
from .grng import GrngConfig
from .gru import GruConfig
from .lstm import LstmConfig
from .pattern_conv import PatternConvConfig
from .sc import ScConfig
from .scaleout import PodsConfig
from .schema import (SUBACCELERATORS_MAX, AcceleratorConfig, ArrayConfig, BufferConfig,
                     BuffersConfig, FeaturesConfig, HostConfig, MappingConfig, PipelineConfig,
                     PrecisionConfig, SubAcceleratorConfig)

TOP_KEYS = ("name", "array", "precision", "buffers", "host", "features", "pipeline",
            "mapping", "sc", "circulant", "grng", "bayesian", "pattern_conv", "lstm", "gru",
            "pods", "subaccelerators")
#: Limits on what a config file may hold before it is even looked at.
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 10_000        # YAML nodes after expanding every alias
MAX_DEPTH = 32            # nesting of mappings and lists


def _presets():
    return resources.files("hwgen.config") / "presets"


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in _presets().iterdir() if p.name.endswith(".yaml"))


# ---- reading YAML ------------------------------------------------------------------------
class _NodeCheck:
    """Walks a composed YAML node graph once: duplicate keys, nesting depth and the size
    the document would have with every alias expanded (an "alias bomb" is a few lines
    that expand to billions of nodes)."""

    def __init__(self):
        self.sizes: dict[int, int] = {}

    def where(self, node) -> str:
        m = node.start_mark
        return f"line {m.line + 1}, column {m.column + 1}"

    def size(self, node, depth: int = 0, stack: Optional[set] = None) -> int:
        stack = set() if stack is None else stack
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in stack:
            raise ConfigError([f"{self.where(node)}: an alias refers to the node that "
                               "contains it (a recursive structure)"])
        if depth > MAX_DEPTH:
            raise ConfigError([f"{self.where(node)}: nested more than {MAX_DEPTH} levels "
                               "deep"])
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            stack.add(key)
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for k, _ in node.value:
                    if isinstance(k, yaml.ScalarNode):
                        if k.value in seen:
                            raise ConfigError([f"{self.where(k)}: key {brief(k.value)} "
                                               "appears twice in one mapping"])
                        seen.add(k.value)
                children = [c for kv in node.value for c in kv]
            else:
                children = node.value
            for c in children:
                total += self.size(c, depth + 1, stack)
                if total > MAX_NODES:
                    raise ConfigError([f"{self.where(node)}: expands to more than "
                                       f"{MAX_NODES} values (aliases repeat a node each "
                                       "time they are used); write the config out"])
            stack.discard(key)
        self.sizes[key] = total
        return total


_OPEN = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockMappingStartToken,
         yaml.BlockSequenceStartToken)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the token stream, before the (recursive) composer spends
    a second on thousands of levels; malformed YAML is left to the composer to report."""
    depth = 0
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(tok, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    m = tok.start_mark
                    raise ConfigError([f"{source}: line {m.line + 1}, column {m.column + 1}: "
                                       f"nested more than {MAX_DEPTH} levels deep"])
            elif isinstance(tok, _CLOSE):
                depth -= 1
    except (yaml.YAMLError, RecursionError):
        return


def parse_yaml(text: str, source: str) -> Any:
    """The data of a YAML document, or ConfigError naming the problem and its place."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError([f"{source}: larger than {MAX_FILE_BYTES} bytes; not a config"])
    _check_depth(text, source)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError([f"{source}: {where}malformed YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested more than {MAX_DEPTH} levels deep"]) from None
    if node is None:
        return None
    try:
        _NodeCheck().size(node)
    except ConfigError as e:
        raise e.located(source) from None
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError([f"{source}: malformed YAML: {problem}"]) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as e:
        raise ConfigError([f"{source}: cannot read: {brief(str(e))}"]) from None


# ---- sections ------------------------------------------------------------------------------
def _section(cls, data: Any, path: str, problems: list[str], **defaults):
    """``cls`` built from the YAML mapping at ``path``; its problems are appended to
    ``problems`` and the section is rebuilt with the bad fields at their defaults (so
    that later checks still run). ``defaults`` override the dataclass's defaults."""
    if data is not None and not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping, got {kind(data)}")
        data = None
    merged = {**defaults, **(data or {})}
    try:
        return parse_section(cls, merged, path)
    except ConfigError as e:
        problems.extend(e.problems)
        err = e
    vals = {k: v for k, v in merged.items() if k in cls.__dataclass_fields__}
    for _ in range(len(vals) + 1):
        bad = {p.split(": ", 1)[0][len(path) + 1:].split(".")[0] for p in err.problems}
        vals = {k: v for k, v in vals.items() if k not in bad}
        try:
            return cls(**vals)
        except ConfigError as again:
            err = again
    return cls(**{k: v for k, v in defaults.items() if k in cls.__dataclass_fields__})


def _mapping(data: Any, problems: list[str]) -> Optional[MappingConfig]:
    before = len(problems)
    m = check_mapping(data, "mapping", ("tile", "order"), problems)
    if len(problems) > before and not isinstance(data, dict):
        return None
    t = check_mapping(m.get("tile"), "mapping.tile", ("m", "k", "n"), problems)
    if "tile" not in m or not all(x in t for x in "mkn"):
        problems.append("mapping.tile: must give m, k and n (chunk sizes held on chip)")
        return None
    order = m.get("order", ["m", "n", "k"])
    try:
        return MappingConfig(tile_m=t["m"], tile_k=t["k"], tile_n=t["n"], order=order)
    except ConfigError as e:
        problems.extend(e.problems)
        return None


def config_from_dict(data: Any, source: str = "<config>") -> AcceleratorConfig:
    """Validate plain data (as read from YAML) into an :class:`AcceleratorConfig`."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: <top>: must be a mapping, got {kind(data)}"])
    top = check_mapping(data, "", TOP_KEYS, problems)

    stem = Path(source).stem
    default_name = stem if _name_ok(stem) else "hwgen"
    name = top.get("name", default_name)
    if not _name_ok(name):
        try:
            AcceleratorConfig(name=name)
        except ConfigError as e:
            problems.extend(e.problems)
        name = "hwgen"

    array = _section(ArrayConfig, top.get("array"), "array", problems)
    prec = _section(PrecisionConfig, top.get("precision"), "precision", problems)
    bufs = _buffers(top.get("buffers"), "buffers", problems)
    h = top.get("host")
    host_default = {} if isinstance(h, dict) and "beat_elems" in h else {
        "beat_elems": min(4, array.rows)}
    host = _section(HostConfig, h, "host", problems, **host_default)
    features = _section(FeaturesConfig, top.get("features"), "features", problems)
    pipeline = _section(PipelineConfig, top.get("pipeline"), "pipeline", problems)

    units = {}  # optional special-unit sections
    for key, cls in (("sc", ScConfig), ("circulant", CirculantConfig), ("grng", GrngConfig),
                     ("pattern_conv", PatternConvConfig), ("lstm", LstmConfig),
                     ("gru", GruConfig)):
        units[key] = None
        if top.get(key) is not None:
            try:
                units[key] = parse_section(cls, top[key], key)
            except ConfigError as e:
                problems.extend(e.problems)
    units["bayesian"] = None
    if top.get("bayesian") is not None:
        # a layer without its own grng key draws from the top-level grng: section
        try:
            units["bayesian"] = parse_bayesian(top["bayesian"], "", units["grng"])
        except ConfigError as e:
            problems.extend(e.problems)

    if top.get("pods") is not None:
        try:
            units["pods"] = parse_section(PodsConfig, top["pods"], "pods")
        except ConfigError as e:
            problems.extend(e.problems)
    if top.get("subaccelerators") is not None:
        units["subaccelerators"] = _subaccelerators(top["subaccelerators"], problems)

    mapping = None
    if top.get("mapping") is not None:
        mapping = _mapping(top["mapping"], problems)
    try:
        cfg = AcceleratorConfig(name=name, array=array, precision=prec, buffers=bufs,
                                host=host, features=features, pipeline=pipeline,
                                mapping=mapping if not problems else None,
                                **units)
        if mapping is not None and problems:
            cfg = None
    except ConfigError as e:
        problems.extend(e.problems)
        cfg = None
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return cfg


def _buffers(b: Any, path: str, problems: list[str]) -> BuffersConfig:
    if b is not None and not isinstance(b, dict):
        problems.append(f"{path}: must be a mapping, got {kind(b)}")
        b = None
    b = check_mapping(b, path, ("input", "weight", "acc"), problems)
    return BuffersConfig(**{nm: _section(BufferConfig, b.get(nm), f"{path}.{nm}", problems)
                            for nm in ("input", "weight", "acc")})


def _subaccelerators(data: Any, problems: list[str]) -> Optional[tuple]:
    """The ``subaccelerators:`` list; an engine without ``buffers:`` has the design's."""
    if not isinstance(data, list) or not 1 <= len(data) <= SUBACCELERATORS_MAX:
        problems.append(f"subaccelerators: must be a list of 1 to {SUBACCELERATORS_MAX} "
                        f"engines (name, array, buffers), got {kind(data)}"
                        + (f" of {len(data)}" if isinstance(data, list) else ""))
        return None
    before = len(problems)
    out = []
    for i, item in enumerate(data):
        path = f"subaccelerators[{i}]"
        d = check_mapping(item, path, ("name", "array", "buffers"), problems)
        if not isinstance(item, dict):
            continue
        if "name" not in d:
            problems.append(f"{path}.name: every engine needs a name")
            continue
        array = _section(ArrayConfig, d.get("array"), f"{path}.array", problems)
        b = None if d.get("buffers") is None else _buffers(d["buffers"], f"{path}.buffers",
                                                             problems)
        try:
            out.append(SubAcceleratorConfig(name=d["name"], array=array, buffers=b))
        except ConfigError as e:
            problems.extend(f"{path}.{p}" for p in e.problems)
    return tuple(out) if len(problems) == before else None


def _name_ok(name: Any) -> bool:
    try:
        AcceleratorConfig(name=name)
        return True
    except ConfigError:
        return False


def load_config(spec: str) -> AcceleratorConfig:
    """Load a config from a YAML path or a preset name."""
    path = Path(spec)
    preset = _presets() / f"{spec}.yaml"
    try:
        exists = path.exists()
    except (OSError, ValueError):
        exists = False
    if not exists and "/" not in spec and preset.is_file():
        text, source = preset.read_text(), f"{spec}.yaml"
    elif not exists:
        raise ConfigError([f"{brief(spec) if len(spec) > 200 else spec}: no such file, and "
                           f"not a preset (presets: {', '.join(preset_names())})"])
    else:
        source = spec
        try:
            if path.is_dir():
                raise ConfigError([f"{source}: is a directory, not a config file"])
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ConfigError([f"{source}: larger than {MAX_FILE_BYTES} bytes; not a "
                                   "config"])
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError([f"{source}: cannot read: {e}"]) from None
    return config_from_dict(parse_yaml(text, source), source)


def config_dict(cfg: AcceleratorConfig) -> dict:
    """The resolved config as plain data (derived widths filled in)."""
    d = json.loads(json.dumps(asdict(cfg)))  # enums become their values
    d["precision"]["acc_bits"] = cfg.acc_bits
    if cfg.mapping is not None:
        mp = d.pop("mapping")
        d["mapping"] = {"tile": {"m": mp["tile_m"], "k": mp["tile_k"], "n": mp["tile_n"]},
                        "order": list(mp["order"])}
    else:
        d.pop("mapping")
    for unit in ("sc", "circulant", "grng", "bayesian", "pattern_conv", "lstm", "gru",
                 "pods", "subaccelerators"):
        if getattr(cfg, unit) is None:
            d.pop(unit)  # configs without the unit keep their hash
    if cfg.features == FeaturesConfig():
        d.pop("features")  # nor do configs with every feature (the default)
    elif not cfg.features.maxpool:
        d["features"].pop("maxpool")  # nor those without the pooling unit
    if cfg.pipeline == PipelineConfig():
        d.pop("pipeline")  # nor those with the default pipeline
    else:
        d["pipeline"] = {k: v for k, v in d["pipeline"].items() if v is not None}
    return d


def config_hash(cfg: AcceleratorConfig) -> str:
    blob = json.dumps(config_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
