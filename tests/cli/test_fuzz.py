"""Bad input fuzzing: malformed configs and option sets must each end in one-line
messages and exit code 2 (or, for a mutation that happens to be valid, exit 0), never a
traceback, a hang or a memory blow-up.

A seeded generator (``HWGEN_FUZZ_SEED``, default below; ``HWGEN_FUZZ_CASES`` sets the
number of config mutations) builds the inputs: YAML trees from the presets with type
swaps, containers for scalars, huge and negative numbers, unicode, unknown and
non-string keys, then text-level damage (duplicate keys, alias bombs, deep nesting,
tags, truncation, control bytes); and option sets for every command with one or more
options out of range. They run in-process through ``hwgen.cli.main`` (each under a time
cap, the process's peak memory watched), and a few in subprocesses under a memory limit.
Run with ``-s`` to see the counts (BENCHMARKS.md, "Bad input fuzzing").
"""
from __future__ import annotations

import copy
import io
import math
import os
import random
import re
import resource
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from hwgen.cli import main
from hwgen.config import preset_names

SEED = int(os.environ.get("HWGEN_FUZZ_SEED", "20240607"))
CASES = int(os.environ.get("HWGEN_FUZZ_CASES", "600"))
OPTION_SETS = int(os.environ.get("HWGEN_FUZZ_OPTIONS", "400"))
#: CPU seconds one bad input may take in-process (refusing it must be immediate). The
#: process's CPU time is what counts, so that other work on a loaded machine does not
#: make a refusal look slow; a run whose wall time passes HANG_CAP counts that instead.
TIME_CAP = 1.0
HANG_CAP = 10.0
#: Growth of the process's peak memory allowed over a whole fuzz run.
MEMORY_CAP_MB = 300

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "hwgen" / "config" / "presets"

WEIRD = [None, True, False, -1, 0, 1 << 64, -(1 << 63), 10 ** 30, -10 ** 30, 1.5, -0.0,
         float("nan"), float("inf"), float("-inf"), "", " ", "x" * 5000, "٤", "１６",
         "ｔｉｎｙ", "🙂", "\u202e", "0x10", "1_000", "1e3", "yes", "null", [], {}, [1, 2],
         {"a": 1}, [[["deep"]]], [None], {"": ""}, "weight_stationary\u0000"]
WEIRD_KEYS = ["", "🙂", "x" * 300, 123, None, True, "rows ", "ROWS", "ｒｏｗｓ", 1.5]
TAGS = ["!!python/object/apply:os.system ['echo hi']", "!!binary aGk=", "!!set {a, b}",
        "!!timestamp 2001-12-14", "!!float nan", "!!int 0x7fffffffffffffffffff",
        "!custom 1", "!!str", "!!map {}", "!!omap [a: 1]"]


# ---- the generator --------------------------------------------------------------------------
def base_trees() -> list[dict]:
    trees = [yaml.safe_load((PRESETS / f"{n}.yaml").read_text()) for n in preset_names()]
    trees += [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples").glob("*.yaml"))]
    return [t for t in trees if isinstance(t, dict)]


def paths(node, prefix=()):
    """Every (path, value) in a tree."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


def set_at(tree, path, value):
    if not path:
        return value
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return tree


def mutate_tree(rng: random.Random, tree: dict) -> object:
    tree = copy.deepcopy(tree)
    for _ in range(rng.randint(1, 3)):
        spots = list(paths(tree))
        path, value = rng.choice(spots)
        op = rng.randrange(6)
        if op == 0 or not path:  # a scalar swapped for something else
            tree = set_at(tree, path, copy.deepcopy(rng.choice(WEIRD)))
        elif op == 1:  # a container where a scalar was, or the other way round
            tree = set_at(tree, path, [value] if rng.random() < 0.5 else {"value": value})
        elif op == 2 and isinstance(value, dict):  # an unknown or odd key
            value[rng.choice(WEIRD_KEYS)] = copy.deepcopy(rng.choice(WEIRD))
        elif op == 3 and isinstance(value, (int, float)) and not isinstance(value, bool):
            tree = set_at(tree, path, rng.choice([-value, value * 10 ** rng.randint(3, 30),
                                                  -(1 << 70), 0, value + 0.5]))
        elif op == 4 and isinstance(value, dict) and value:  # a section made a scalar
            key = rng.choice(list(value))
            value[key] = rng.choice(["", 0, [], "on", -5])
        else:
            tree = set_at(tree, path, rng.choice(["🙂" * rng.randint(1, 50), -1, 1 << 40]))
    return tree


def dump(tree) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=1 << 20)


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines)


def damage_text(rng: random.Random, text: str) -> str | bytes:
    lines = text.splitlines() or [""]
    op = rng.randrange(14)
    if op == 0:  # a key written twice in one mapping
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return "\n".join(lines) + "\n"
    if op == 1:  # an alias bomb inside a value
        return f"name: tiny\narray:\n  rows: 4\n  bomb:\n    " + alias_bomb().replace(
            "\n", "\n    ") + "\n"
    if op == 2:  # deep nesting
        n = rng.choice([40, 200, 5000])
        key = rng.choice(["array", "name", "mapping", "buffers"])
        return f"{key}: " + "[" * n + "]" * n + "\n"
    if op == 3:
        n = rng.choice([40, 1000])
        return "array: " + "{a: " * n + "1" + "}" * n + "\n"
    if op == 4:  # truncated
        return text[:rng.randrange(len(text) + 1)]
    if op == 5:  # control characters, tabs, NUL, invalid UTF-8
        raw = text.encode()
        i = rng.randrange(len(raw) + 1)
        return raw[:i] + rng.choice([b"\x00", b"\t", b"\xff\xfe", b"\x1b[31m", b"\r", b"\x85"]) + raw[i:]
    if op == 6:  # a tag
        return re.sub(r"(rows|name|depth|dataflow): .*", lambda m: f"{m.group(1)}: {rng.choice(TAGS)}",
                      text, count=1)
    if op == 7:  # a recursive alias
        return "array: &a {rows: 4, cols: *a}\n"
    if op == 8:
        return rng.choice(["", "# only a comment\n", "42\n", "- a\n- b\n", "---\n---\n",
                           "name: a\n---\nname: b\n", "~\n", "[\n", "{\n", ": :\n", "&a\n"])
    if op == 9:  # mapping with complex keys
        return "? [array]\n: {rows: 4}\n"
    if op == 10:  # the same key at top level, differently spelled by YAML
        return text + "\n" + rng.choice(["array: {rows: 2}", '"array": {}', "? array\n: {}"]) + "\n"
    if op == 11:  # anchors and aliases within limits, used where the schema wants scalars
        return "x: &v 4\narray: {rows: *v, cols: *v, dataflow: *v}\n"
    if op == 12:  # a long line
        return "name: " + "a" * rng.choice([65, 5000, 200000]) + "\n"
    return dump(mutate_tree(rng, yaml.safe_load(text) or {}))


def yaml_cases(n: int, seed: int) -> list[tuple[str, str | bytes]]:
    rng = random.Random(seed)
    trees = base_trees()
    out = []
    for i in range(n):
        tree = rng.choice(trees)
        if rng.random() < 0.55:
            text = dump(mutate_tree(rng, tree))
            kind = "tree"
        else:
            text = damage_text(rng, dump(tree))
            kind = "text"
        out.append((f"{kind}{i}", text))
    out.append(("oversize", "name: tiny\n" + "# pad\n" * 200_000))
    return out


BAD_NUMBERS = ["-1", "", " ", "abc", "٤", "１", "1_000", "0x10", "1e999", "-1e999", "nan",
               "inf", "-inf", "9" * 5000, "18446744073709551616", "--", "1.5.5", "1,000",
               "+-1", "\u00a0" + "1"]
BAD_WORKLOADS = ["gemm:0x1x1", "gemm:1x1", "gemm:٤x٤x٤", "gemm:99999999999999999999x1x1",
                 "gemm:-1x2x2", "conv:1x1x1", "", "gemm:1x1x1x1", "GEMM:1x1x1",
                 "gemm:1 x1x1", "gemm:" + "9" * 5000 + "x1x1", "gemm:1x1x1\n", "gemm:1e3x1x1",
                 "gemm:3037000500x3037000500x3"]


def option_sets(n: int, seed: int, tmp: Path) -> list[list[str]]:
    """Option sets that are each wrong in at least one place (so none starts real work);
    ``estimate`` may also get valid huge workloads (answered in milliseconds)."""
    rng = random.Random(seed + 1)
    a_file = tmp / "a-file"
    a_file.write_text("the user's file\n")
    mine = tmp / "users-dir"
    mine.mkdir(exist_ok=True)
    (mine / "thesis.tex").write_text("the user's thesis\n")
    bad_dirs = [str(a_file), str(a_file / "below"), "/proc/hwgen-fuzz", "/", "x" * 300,
                str(mine), "/dev/null", str(tmp / ("y" * 5000))]
    out = []
    for _ in range(n):
        cmd = rng.choice(["estimate", "sim", "generate", "fpga", "asic", "check", "top"])
        if cmd == "estimate":
            opts = {"--workload": rng.choice(BAD_WORKLOADS + ["gemm:1000000000x1x1",
                                                             "gemm:100000x1000x100000"])}
            argv = ["estimate", rng.choice(["tiny", "ws16", "os16", "asic2"])]
        elif cmd == "sim":
            opts = {"--workload": "gemm:4x4x4", "--seed": "1", "--stall": "0",
                    "--max-cycles": "1000", "--sim": "amaranth"}
            bad = {"--workload": BAD_WORKLOADS + ["gemm:1000000000x1x1", "gemm:5000x1x5000",
                                                  "gemm:64x1024x64"],
                   "--seed": BAD_NUMBERS + ["4294967296", "2" * 30],
                   "--stall": BAD_NUMBERS + ["96", "100", "1000"],
                   "--max-cycles": BAD_NUMBERS + ["0", "4294967296", "10"],
                   "--sim": ["modelsim", "", "VERILATOR", "icarus\x00"]}
            for k in rng.sample(sorted(bad), rng.randint(1, 3)):
                opts[k] = rng.choice(bad[k])
            argv = ["sim", "tiny"]
        elif cmd == "generate":
            opts = {"-o": rng.choice(bad_dirs)}
            argv = ["generate", rng.choice(["tiny", "asic2", "no-such-preset"])]
        elif cmd == "fpga":
            opts = {"--board": "icebreaker", "-o": str(tmp / "fpga-out")}
            bad = {"--board": ["", "de0nano", "icebreaker ", "🙂", "x" * 5000],
                   "--clock-mhz": BAD_NUMBERS + ["0", "20000", "1e-300"],
                   "--seed": BAD_NUMBERS + ["2147483648", "4294967295"],
                   "-o": bad_dirs}
            for k in rng.sample(sorted(bad), rng.randint(1, 3)):
                opts[k] = rng.choice(bad[k])
            if opts["-o"] == str(tmp / "fpga-out") and opts["--board"] == "icebreaker" \
                    and "--clock-mhz" not in opts and "--seed" not in opts:
                opts["-o"] = str(a_file)
            argv = ["fpga", "ice40"]
        elif cmd == "asic":
            opts = {"--pdk": "osu018", "--clock-ns": "10", "-o": str(tmp / "asic-out")}
            bad = {"--pdk": ["", "osu999", "sky130", "🙂"],
                   "--clock-ns": BAD_NUMBERS + ["0", "1e7", "-10"],
                   "--workload": BAD_WORKLOADS + ["gemm:1000000000x1x1"],
                   "--seed": BAD_NUMBERS,
                   "--activity-window": ["x:1", "5:0", "5", "٤:٤", "-1:2", "1:" + "9" * 40, ""],
                   "--synth-timeout": BAD_NUMBERS + ["0", "1e7"],
                   "--pnr-timeout": BAD_NUMBERS + ["0"],
                   "--memories": ["sram", ""], "--orfs-platform": ["nope", "🙂"],
                   "-o": bad_dirs}
            for k in rng.sample(sorted(bad), rng.randint(1, 3)):
                opts[k] = rng.choice(bad[k])
            argv = ["asic", "asic2"]
        elif cmd == "check":
            argv, opts = ["check", rng.choice(["", "no-such", "/proc/self/mem", "/dev/zero",
                                               str(tmp), "x" * 5000, "🙂", "../" * 100])], {}
        else:
            argv, opts = rng.choice([["--bogus"], [], ["frobnicate"], ["sim"], ["estimate"],
                                     ["fpga", "tiny"], ["asic", "tiny", "--pdk", "osu018"],
                                     ["sim", "tiny", "--workload"], ["-q"]]), {}
        for k, v in opts.items():
            argv += [k, v] if rng.random() < 0.8 else [f"{k}={v}"]
        out.append(argv)
    return out


# ---- running ---------------------------------------------------------------------------------
def run_main(argv) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, seconds): the CPU time the run took, or its wall time
    when that shows a hang (:data:`HANG_CAP`)."""
    out, err = io.StringIO(), io.StringIO()
    t0, c0 = time.monotonic(), time.process_time()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except BaseException:  # recorded as a traceback, so one run shows every problem
            import traceback
            code = -1
            err.write("Traceback (escaped main):\n" + traceback.format_exc()[-1500:])
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return code, out.getvalue(), err.getvalue(), wall if wall > HANG_CAP else cpu


def judge(argv, code, out, err, seconds, source=None) -> str | None:
    """What is wrong with one run (None: nothing)."""
    lines = err.splitlines()
    if "Traceback" in err:
        return "traceback"
    if seconds > TIME_CAP:
        return f"took {seconds:.2f} s"
    if code == 0:
        return None
    if code != 2:
        return f"exit {code}"
    if not lines:
        return "no message"
    prefixes = ("hwgen: ",) + ((f"{source}: ",) if source else ())
    for line in lines:
        if not line.startswith(prefixes) or len(line) > 1100:
            return f"not a one-line message: {line[:120]!r}"
    if len(lines) != 1 and not all(line.startswith(f"{source}: ") for line in lines):
        return f"{len(lines)} lines"  # only a config's problems get a line each
    return None


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_fuzz_bad_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HWGEN_SIM_CACHE", str(tmp_path / "simcache"))
    run_main(["check", "tiny"])  # imports and caches out of the time cap
    run_main(["asic", "asic2", "--pdk", "osu018", "--clock-ns", "1", "-o", "/dev/null"])
    run_main(["fpga", "ice40", "--board", "icebreaker", "-o", "/dev/null"])
    start_mb = peak_mb()
    problems: list[str] = []
    counts = {"configs": 0, "config_refused": 0, "config_valid": 0, "config_commands": 0,
              "option_sets": 0, "option_refused": 0, "option_valid": 0}
    t_start = time.monotonic()

    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    for name, text in yaml_cases(CASES, SEED):
        path = cfg_dir / f"{name}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        counts["configs"] += 1
        code, out, err, secs = run_main(["check", str(path)])
        bad = judge(["check", path], code, out, err, secs, source=str(path))
        if bad:
            problems.append(f"check {name}: {bad}: {err[-300:]!r}")
            continue
        if code == 0:
            counts["config_valid"] += 1
            continue
        counts["config_refused"] += 1
        # Every command refuses the same config the same way, before any work.
        for argv in (["estimate", str(path), "--workload", "gemm:8x8x8"],
                     ["generate", str(path), "-o", str(tmp_path / "gen" / name)]):
            counts["config_commands"] += 1
            code2, out2, err2, secs2 = run_main(argv)
            bad = judge(argv, code2, out2, err2, secs2, source=str(path))
            if bad or code2 != 2:
                problems.append(f"{argv[0]} {name}: {bad or f'exit {code2}'}: {err2[-300:]!r}")
    assert not (tmp_path / "gen").exists() or not any((tmp_path / "gen").iterdir())

    for argv in option_sets(OPTION_SETS, SEED, tmp_path):
        counts["option_sets"] += 1
        code, out, err, secs = run_main(argv)
        # A config that cannot be read is named at the start of its line.
        bad = judge(argv, code, out, err, secs, source=argv[1] if len(argv) > 1 else None)
        if bad is None and code == 0 and argv[:1] != ["estimate"]:
            bad = "accepted"
        if bad:
            problems.append(f"{argv!r:.200}: {bad}: {err[-300:]!r}")
        counts["option_refused" if code == 2 else "option_valid"] += 1
    # The user's files the option sets pointed at are untouched.
    assert (tmp_path / "a-file").read_text() == "the user's file\n"
    assert sorted(p.name for p in (tmp_path / "users-dir").iterdir()) == ["thesis.tex"]
    assert not [p for p in tmp_path.iterdir() if ".hwgen-" in p.name]

    grown = peak_mb() - start_mb
    tried = counts["configs"] + counts["config_commands"] + counts["option_sets"]
    print(f"\nbad input fuzzing (seed {SEED}): {tried} inputs tried in "
          f"{time.monotonic() - t_start:.1f} s: {counts['configs']} malformed configs "
          f"({counts['config_refused']} refused, {counts['config_valid']} still valid), "
          f"{counts['config_commands']} runs of estimate/generate on the refused ones, "
          f"{counts['option_sets']} option sets ({counts['option_refused']} refused, "
          f"{counts['option_valid']} valid estimates); {len(problems)} with a traceback, "
          f"a hang or a wrong exit; peak memory grew {grown:.0f} MB")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])
    assert counts["config_refused"] + counts["option_refused"] >= 500
    assert grown < MEMORY_CAP_MB


# ---- a few in their own process, under a memory limit ----------------------------------------
def _limits():
    gib = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (3 * gib, 3 * gib))


@pytest.mark.parametrize("case", ["alias-bomb", "deep", "estimate-huge", "sim-huge",
                                  "seed", "generate-file", "fpga-users-dir", "asic-users-dir"])
def test_bad_input_in_a_subprocess(tmp_path, case):
    users = tmp_path / "users"
    users.mkdir()
    (users / "notes.txt").write_text("keep me\n")
    a_file = tmp_path / "file"
    a_file.write_text("keep me too\n")
    cfg = tmp_path / "c.yaml"
    if case == "alias-bomb":
        cfg.write_text("name: tiny\narray:\n  rows: 4\n  x:\n    "
                       + alias_bomb().replace("\n", "\n    ") + "\n")
        argv = ["check", str(cfg)]
    elif case == "deep":
        cfg.write_text("array: " + "[" * 5000 + "]" * 5000 + "\n")
        argv = ["generate", str(cfg)]
    else:
        argv = {
            "estimate-huge": ["estimate", "tiny", "--workload", "gemm:99999999999999999999x1x1"],
            "sim-huge": ["sim", "tiny", "--sim", "amaranth", "--workload", "gemm:1000000000x1x1"],
            "seed": ["sim", "tiny", "--workload", "gemm:2x2x2", "--seed", "-1"],
            "generate-file": ["generate", "tiny", "-o", str(a_file)],
            "fpga-users-dir": ["fpga", "ice40", "--board", "icebreaker", "-o", str(users)],
            "asic-users-dir": ["asic", "asic2", "--pdk", "osu018", "--clock-ns", "10", "-o",
                               str(users)],
        }[case]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "hwgen.cli", *argv], capture_output=True,
                          text=True, timeout=60, preexec_fn=_limits, cwd=tmp_path)
    seconds = time.monotonic() - t0
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(("hwgen: ", f"{cfg}: ")), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert seconds < 20  # interpreter start and imports included
    assert (users / "notes.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in users.iterdir()) == ["notes.txt"]
    assert a_file.read_text() == "keep me too\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["users", "file"] + (["c.yaml"] if cfg.exists() else []))
    if case == "deep":
        assert "nested more than" in lines[0]
    if case == "alias-bomb":
        assert "expands to more than" in lines[0]
