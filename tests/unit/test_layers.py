"""The layering of docs/architecture.md, checked on the source: every import (at the top
of a module or inside a function) goes down the table below or stays inside its own
package, the models and the software never import the hardware they check or drive,
and no two modules import each other, directly or through others."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hwgen", "sim_tb", "fpga", "asic_flow", "rtl_templates")

#: (module prefix, rank, side). A module may import another of lower rank, or one of its
#: own prefix; never one of equal or higher rank elsewhere, and never across sides at
#: the same rank. "hw" and "model" modules are independent of each other: the golden
#: models and the cycle model are written from the mathematics, not from the RTL, and
#: the software above the models ("sw") programs the hardware without importing it.
RULES = [
    ("hwgen.lib", 0, ""),
    ("hwgen.tools", 0, ""),
    ("rtl_templates", 0, ""),
    ("hwgen.config", 1, ""),
    ("hwgen.pe", 2, "hw"),
    ("hwgen.mem", 2, "hw"),
    ("hwgen.array", 3, "hw"),
    ("hwgen.units", 3, "hw"),
    ("hwgen.ctrl", 3, "hw"),
    ("hwgen.top", 4, "hw"),
    ("hwgen.board", 5, "hw"),
    ("hwgen.scaleout", 5, "hw"),
    ("hwgen.emit", 6, "hw"),
    ("hwgen.models", 2, "model"),
    ("hwgen.compiler", 6, "sw"),
    ("hwgen.nn", 6, "sw"),
    ("hwgen.frontend", 6, "sw"),
    ("hwgen.host", 7, "sw"),
    ("hwgen.search", 7, "sw"),
    ("hwgen.cosearch", 8, "sw"),     # networks and accelerators searched together
    ("sim_tb", 8, "flow"),
    ("fpga", 9, "flow"),
    ("asic_flow", 9, "flow"),
    ("hwgen.outputs", 9, "flow"),
    ("hwgen.calibration", 10, "flow"),   # runs the flows to fit the cost model
    ("hwgen.search.verify", 10, "flow"),   # runs the simulators and flows on a search's best
    ("hwgen.cosearch.verify", 11, "flow"),  # the co-search's winner; uses search.verify's flow
    ("hwgen.cli", 12, ""),
    ("hwgen", 13, ""),      # the package itself
]


def rule_of(module: str):
    best = None
    for prefix, rank, side in RULES:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank, side)
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            yield path


def imports_of(path: Path):
    """(imported module, line) for every import in the file, resolved to a module name
    of ours (``from a import b`` counts as ``a.b`` when that is a module)."""
    mod = module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    ours = {module_name(p) for p in sources()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".")
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            names = []
            for a in node.names:
                full = f"{prefix}.{a.name}"
                names.append(full if full in ours else prefix)
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                yield name, node.lineno


def graph():
    edges = {}
    for path in sources():
        edges[module_name(path)] = sorted(set(imports_of(path)))
    return edges


def test_every_module_has_a_rule():
    missing = [m for m in graph() if rule_of(m) is None]
    assert not missing, f"modules outside the layer table: {missing}"


def test_imports_go_down():
    bad = []
    for mod, targets in graph().items():
        src = rule_of(mod)
        for target, line in targets:
            dst = rule_of(target)
            if dst is None or dst[0] == src[0]:
                continue  # inside one package: the cycle test below covers it
            if dst[1] >= src[1]:
                bad.append(f"{mod}:{line} imports {target} (rank {dst[1]} >= {src[1]})")
            elif {src[2], dst[2]} == {"hw", "model"} or (src[2] in ("model", "sw")
                                                         and dst[2] == "hw"):
                bad.append(f"{mod}:{line} imports {target} ({src[2]} -> {dst[2]})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    edges = {m: {t for t, _ in ts} for m, ts in graph().items()}
    # a module importing a package also runs the package's __init__; an __init__ that
    # imports its own submodules is not a cycle of the submodule with its package
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w == v or (v.startswith(w + ".")):
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    assert not sccs, f"import cycles: {sccs}"


@pytest.mark.parametrize("bad", [
    ("hwgen.models.perf", "hwgen.ctrl.engine"),
    ("hwgen.config.schema", "hwgen.models.perf"),
    ("hwgen.lib.protocol", "hwgen.config"),
    ("hwgen.compiler.program", "hwgen.top"),
    ("hwgen.units.fft", "hwgen.models.fft_fixed"),
])
def test_the_rule_catches(bad):
    src, dst = rule_of(bad[0]), rule_of(bad[1])
    assert dst[1] >= src[1] or {src[2], dst[2]} == {"hw", "model"} or (
        src[2] in ("model", "sw") and dst[2] == "hw")
