"""A compiled network on disk (``hwgen compile``): what a board driver replays.

The directory holds

* ``manifest.json``: the design (config and its hash), the network (name, digest,
  input tensor and scale, outputs), and per layer where it runs, its cycles, command,
  beat counts and output-path parameters, with the files that belong to it; written last;
* ``config.yaml``: the design's config, ``network.npz``: the quantized network
  (:meth:`QNet.save`: every weight, bias, multiplier, shift and clamp, exactly);
* ``programs/NN_LAYER.cmd.hex``: each array layer's command words (one 64-bit word per
  line, hex). Commands do not depend on the activations, so these are final; the
  ``din`` beats interleave the layer's input (laid out by the host at run time) with its
  weights, and are rebuilt per image by :func:`layer_program`;
* ``vectors/``: a test image through every layer: ``input.npy`` (quantized),
  ``NN_LAYER.din.hex`` (the beats that go with the commands) and ``NN_LAYER.out.npy``
  (the integer reference's output of the layer), for bringing a board up layer by layer.

:func:`load_package` reads it back and :func:`run_package` runs an image through it with
any program executor (a board link, a simulator).
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import yaml

from ..config import AcceleratorConfig, config_dict, config_from_dict, config_hash
from ..lib import outdir
from ..lib.errors import BadInput
from ..models.network import QNet
from .network import NetworkPlan, layer_program, plan_layer, plan_network
from .scaleout import plan_pods, pod_layer_program, schedule_layers

FORMAT = "hwgen-network-1"


def _file_name(index: int, layer: str) -> str:
    return f"{index:02d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', layer)[:80]}"


def _hex(words, bits: int) -> str:
    digits = (bits + 3) // 4
    return "".join(f"{int(w):0{digits}x}\n" for w in words)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def write_package(plan: NetworkPlan, xq: np.ndarray, out, *, force: bool = False,
                  source: str = "", log: Optional[Callable[[str], None]] = None) -> list[Path]:
    """Write the compiled network of ``plan`` (one image) to directory ``out`` with test
    vectors for the quantized image ``xq`` (1, C, H, W); the paths written."""
    if plan.n_images != 1:
        raise ValueError("a package holds the one-image plan")
    target = outdir.target(out, force=force, command="compile", last=("manifest.json",))
    say = log or (lambda msg: None)
    cfg, q = plan.cfg, plan.qnet
    say("running the integer reference on the test image")
    env = q.run(xq)
    din_bits = cfg.params()["DIN_BITS"]
    files = _common_files(cfg, q, xq)
    layers = []
    array_layers = [lp for lp in plan.layers if lp.where != "host"]
    for index, lp in enumerate(plan.layers):
        layer = lp.layer
        d = {"index": index, "name": layer.name, "op": layer.op, "where": lp.where,
             "how": lp.how, "inputs": list(layer.inputs), "output": layer.output,
             "output_shape": list(q.tensor(layer.output).shape)}
        if lp.where != "host":   # the array or the pooling unit
            say(f"layer {array_layers.index(lp) + 1}/{len(array_layers)}: {layer.name}")
            lprog = layer_program(cfg, lp, [env[t] for t in layer.inputs])
            prog = lprog.program
            stem = _file_name(index, layer.name)
            files[f"programs/{stem}.cmd.hex"] = _hex(prog.cmds, 64).encode()
            files[f"vectors/{stem}.din.hex"] = _hex(prog.din, din_bits).encode()
            files[f"vectors/{stem}.out.npy"] = _npy(env[layer.output])
            t = lp.timing
            d.update(cycles=t.cycles, commands=len(prog.cmds), din_beats=len(prog.din),
                     dout_beats=prog.n_dout, output_path=lp.output_path(cfg.precision.in_bits),
                     program=f"programs/{stem}.cmd.hex", test_din=f"vectors/{stem}.din.hex",
                     test_output=f"vectors/{stem}.out.npy")
        layers.append(d)
    return _write(target, out, cfg, q, source, plan.totals()["cycles"], layers, files, say)


def _common_files(cfg: AcceleratorConfig, q: QNet, xq: np.ndarray) -> dict[str, bytes]:
    files = {"config.yaml": yaml.safe_dump(config_dict(cfg), sort_keys=False).encode(),
             "vectors/input.npy": _npy(xq)}
    with tempfile.TemporaryDirectory() as tmp:
        files["network.npz"] = q.save(Path(tmp) / "network.npz").read_bytes()
    return files


def _write(target, out, cfg: AcceleratorConfig, q: QNet, source: str, cycles: int,
           layers: list, files: dict, say, **more) -> list[Path]:
    """Write ``files`` and the manifest (``more``: what a scale-out design adds to it)
    through ``target``; the paths written."""
    man = {
        "format": FORMAT, "config": cfg.name, "config_hash": config_hash(cfg),
        "model": q.name, "network_digest": q.digest(), "weights": q.meta.get("weights", ""),
        "input": {"tensor": q.input.name, "shape": list(q.input.shape),
                  "scale": float(q.input.scale), "bits": q.input.bits},
        "outputs": list(q.outputs), "test_input": source, **more,
        "cycles": cycles, "layers": layers,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    say(f"writing {len(files) + 1} files")
    with target.staged(keep_failed=False) as work:
        for name, data in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(data)
        (work / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
        target.publish(work)
    out = Path(out)
    return [out / n for n in sorted(files)] + [out / "manifest.json"]


def _port_files(files: dict, stem: str, port: int, cmds, din, n_dout: int,
                din_bits: int) -> dict:
    """One port's program of a layer into ``files``; its manifest entry."""
    files[f"programs/{stem}.port{port}.cmd.hex"] = _hex(cmds, 64).encode()
    files[f"vectors/{stem}.port{port}.din.hex"] = _hex(din, din_bits).encode()
    return {"port": port, "program": f"programs/{stem}.port{port}.cmd.hex",
            "test_din": f"vectors/{stem}.port{port}.din.hex", "commands": len(cmds),
            "din_beats": len(din), "dout_beats": n_dout}


def scaleout_cycles(cfg: AcceleratorConfig, q: QNet) -> int:
    """The cycles ``hwgen estimate`` gives a one-image network on a multi-pod or
    heterogeneous design."""
    if cfg.pods is not None:
        return plan_pods(cfg, q, 1).report()["cycles"]
    return schedule_layers(cfg, [(q.name, q)], 1).makespan


def scaleout_layers(cfg: AcceleratorConfig, q: QNet, env: dict) -> Iterator[dict]:
    """The programs of a one-image network on a multi-pod or heterogeneous design, layer
    by layer, each made when it is reached from its inputs in ``env`` (which may grow
    meanwhile): per layer a dict with ``where`` and, for a layer on the pods or an
    engine, ``ports``: [(port, commands, din beats, result beats)], ``after``: the layers
    it waits for, ``decode``: the ports' results -> the layer's output, and what the
    manifest says of it."""
    if cfg.pods is not None:
        prev, start = [], 0   # each layer from the cycle the previous one ends (the bus)
        for layer in q.layers:
            lprog = pod_layer_program(cfg, q, layer, [env[t] for t in layer.inputs], 1,
                                      start=start)
            plan = lprog.plan
            start += plan.cycles
            d = {"layer": layer, "where": plan.where, "how": plan.how}
            if plan.where == "pods":
                ports = [(p, *lprog.job(p)) for p in range(cfg.pods.count)]
                ports = [pt for pt in ports if pt[1]]
                d.update(ports=ports, after=list(prev), cycles=plan.cycles,
                         info={"grid": f"{plan.grid[0]}x{plan.grid[1]}",
                               "parts": plan.parts, "pods_used": plan.pods_used},
                         decode=lambda douts, shape, lprog=lprog, ports=ports: lprog.decode(
                             cfg.pod, _per_port(douts, ports, cfg.pods.count), shape))
                prev = [layer.name]
            yield d
        return
    sched = schedule_layers(cfg, [(q.name, q)], 1)
    by_name = {sl.name: sl for sl in sched.layers}
    engines = dict(cfg.engines)
    port = {name: e for e, (name, _) in enumerate(cfg.engines)}
    waits = {}   # tensor -> the engine layers that make it
    for layer in q.layers:
        sl = by_name[layer.name]
        reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
        need = sorted({n for t in reads for n in waits.get(t, ())})
        d = {"layer": layer, "where": "host" if sl.engine == "host" else "engine",
             "how": "on the host"}
        if sl.engine == "host":
            waits[layer.output] = need
        else:
            ecfg = engines[sl.engine]
            lprog = layer_program(ecfg, plan_layer(ecfg, q, layer, 1),
                                  [env[t] for t in layer.inputs])
            prog = lprog.program
            d.update(how=lprog.plan.how, ports=[(port[sl.engine], prog.cmds, prog.din,
                                                 prog.n_dout)],
                     after=need, cycles=sl.end - sl.start,
                     info={"engine": sl.engine, "start": sl.start, "end": sl.end},
                     decode=lambda douts, shape, lprog=lprog, ecfg=ecfg: lprog.decode(
                         ecfg, douts[0], shape))
            waits[layer.output] = [layer.name]
        yield d


def _per_port(douts: list, ports: list, P: int) -> list:
    full = [[] for _ in range(P)]
    for (p, *_), d in zip(ports, douts):
        full[p] = d
    return full


def write_scaleout_package(cfg: AcceleratorConfig, q: QNet, xq: np.ndarray, out, *,
                           force: bool = False, source: str = "",
                           log: Optional[Callable[[str], None]] = None) -> list[Path]:
    """:func:`write_package` for a multi-pod or heterogeneous design: every layer on the
    pods or an engine has one program per port it uses
    (``programs/NN_LAYER.portP.cmd.hex``, the port a pod or an engine), the layers it
    waits for (``after``) and, on the engines, its scheduled engine, start and end."""
    target = outdir.target(out, force=force, command="compile", last=("manifest.json",))
    say = log or (lambda msg: None)
    say("running the integer reference on the test image")
    env = q.run(xq)
    kind = "pods" if cfg.pods is not None else "engines"
    din_bits = (cfg.pod if kind == "pods" else cfg.engines[0][1]).params()["DIN_BITS"]
    files = _common_files(cfg, q, xq)
    layers = []
    for index, d in enumerate(scaleout_layers(cfg, q, env)):
        layer = d["layer"]
        m = {"index": index, "name": layer.name, "op": layer.op, "where": d["where"],
             "how": d["how"], "inputs": list(layer.inputs), "output": layer.output,
             "output_shape": list(q.tensor(layer.output).shape)}
        if "ports" in d:
            stem = _file_name(index, layer.name)
            files[f"vectors/{stem}.out.npy"] = _npy(env[layer.output])
            m.update(cycles=d["cycles"], **d["info"], after=d["after"],
                     ports=[_port_files(files, stem, *pt, din_bits) for pt in d["ports"]],
                     test_output=f"vectors/{stem}.out.npy")
        layers.append(m)
    return _write(target, out, cfg, q, source, scaleout_cycles(cfg, q), layers, files, say,
                  organisation=kind)


@dataclass
class Package:
    """A compiled network read back: its design, network and plan."""
    path: Path
    manifest: dict
    cfg: AcceleratorConfig
    qnet: QNet
    plan: Optional[NetworkPlan]    # None for a multi-pod or heterogeneous design

    @property
    def organisation(self) -> str:
        """"pods", "engines" or "" (one array)."""
        return self.manifest.get("organisation", "")


def load_package(path) -> Package:
    """Read a directory :func:`write_package` wrote, checking every file's digest and
    that the plan made from it now gives the same commands (BadInput otherwise)."""
    path = Path(path)
    try:
        man = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: not a compiled network (manifest.json: {e})") from None
    if man.get("format") != FORMAT:
        raise BadInput(f"{path}: manifest format {man.get('format')!r}, expected {FORMAT}")
    for name, digest in man["files"].items():
        try:
            data = (path / name).read_bytes()
        except OSError as e:
            raise BadInput(f"{path}: {name}: {e.strerror or e}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BadInput(f"{path}: {name} was changed after compiling (digest differs)")
    cfg = config_from_dict(yaml.safe_load((path / "config.yaml").read_text()),
                           str(path / "config.yaml"))
    qnet = QNet.load(path / "network.npz")
    if qnet.digest() != man["network_digest"]:
        raise BadInput(f"{path}: network.npz does not match the manifest")
    plan = None if man.get("organisation") else plan_network(cfg, qnet, n_images=1)
    return Package(path, man, cfg, qnet, plan)


def run_package(pkg: Package, xq: np.ndarray, execute: Callable) -> dict:
    """Run the quantized image ``xq`` (1, C, H, W) through the compiled network:
    array layers as programs through ``execute(program) -> dout beats`` (a board, a
    simulator), host layers here; every tensor's values."""
    q, cfg = pkg.qnet, pkg.cfg
    if pkg.organisation:
        raise ValueError(f"{pkg.path}: a {pkg.organisation} package: run_scaleout_package")
    env = {q.input.name: np.asarray(xq, dtype=np.int64)}
    by_name = {d["name"]: d for d in pkg.manifest["layers"]}
    for lp in pkg.plan.layers:
        layer = lp.layer
        ins = [env[t] for t in layer.inputs]
        if lp.where == "host":
            env[layer.output] = q.run_layer(layer, ins)
            continue
        lprog = layer_program(cfg, lp, ins)
        cmds = [int(w, 16) for w in
                (pkg.path / by_name[layer.name]["program"]).read_text().split()]
        if cmds != list(lprog.program.cmds):
            raise BadInput(f"{pkg.path}: the commands of layer {layer.name} differ from "
                           "what this hwgen compiles; recompile the network")
        dout = execute(lprog.program)
        env[layer.output] = lprog.decode(cfg, dout, (len(xq), *q.tensor(layer.output).shape))
    return env


def run_scaleout_package(pkg: Package, xq: np.ndarray, execute: Callable) -> dict:
    """:func:`run_package` for a multi-pod or heterogeneous package: each layer's
    programs (their commands checked against the files) through ``execute(ports) ->
    result beats per port`` (``ports``: [(port, commands, din beats, result beats)], run
    together), one layer after another; every tensor's values."""
    q = pkg.qnet
    env = {q.input.name: np.asarray(xq, dtype=np.int64)}
    by_name = {d["name"]: d for d in pkg.manifest["layers"]}
    for d in scaleout_layers(pkg.cfg, q, env):
        layer = d["layer"]
        if "ports" not in d:
            env[layer.output] = q.run_layer(layer, [env[t] for t in layer.inputs])
            continue
        files = {pt["port"]: pt["program"] for pt in by_name[layer.name].get("ports", [])}
        for port, cmds, _, _ in d["ports"]:
            words = [] if port not in files else \
                [int(w, 16) for w in (pkg.path / files[port]).read_text().split()]
            if words != list(cmds):
                raise BadInput(f"{pkg.path}: the commands of layer {layer.name} on port "
                               f"{port} differ from what this hwgen compiles; recompile "
                               "the network")
        douts = execute(d["ports"])
        env[layer.output] = d["decode"](douts, (len(xq), *q.tensor(layer.output).shape))
    return env
