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
from typing import Callable, Optional

import numpy as np
import yaml

from ..config import AcceleratorConfig, config_dict, config_from_dict, config_hash
from ..lib import outdir
from ..lib.errors import BadInput
from ..models.network import QNet
from .network import NetworkPlan, layer_program, plan_network

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
    files: dict[str, bytes] = {
        "config.yaml": yaml.safe_dump(config_dict(cfg), sort_keys=False).encode(),
        "vectors/input.npy": _npy(xq),
    }
    with tempfile.TemporaryDirectory() as tmp:
        files["network.npz"] = q.save(Path(tmp) / "network.npz").read_bytes()
    layers = []
    array_layers = [lp for lp in plan.layers if lp.where == "array"]
    for index, lp in enumerate(plan.layers):
        layer = lp.layer
        d = {"index": index, "name": layer.name, "op": layer.op, "where": lp.where,
             "how": lp.how, "inputs": list(layer.inputs), "output": layer.output,
             "output_shape": list(q.tensor(layer.output).shape)}
        if lp.where == "array":
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
    man = {
        "format": FORMAT, "config": cfg.name, "config_hash": config_hash(cfg),
        "model": q.name, "network_digest": q.digest(), "weights": q.meta.get("weights", ""),
        "input": {"tensor": q.input.name, "shape": list(q.input.shape),
                  "scale": float(q.input.scale), "bits": q.input.bits},
        "outputs": list(q.outputs), "test_input": source,
        "cycles": plan.totals()["cycles"], "layers": layers,
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


@dataclass
class Package:
    """A compiled network read back: its design, network and plan."""
    path: Path
    manifest: dict
    cfg: AcceleratorConfig
    qnet: QNet
    plan: NetworkPlan


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
    plan = plan_network(cfg, qnet, n_images=1)
    return Package(path, man, cfg, qnet, plan)


def run_package(pkg: Package, xq: np.ndarray, execute: Callable) -> dict:
    """Run the quantized image ``xq`` (1, C, H, W) through the compiled network:
    array layers as programs through ``execute(program) -> dout beats`` (a board, a
    simulator), host layers here; every tensor's values."""
    q, cfg = pkg.qnet, pkg.cfg
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
