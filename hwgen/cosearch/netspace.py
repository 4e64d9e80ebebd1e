"""The network half of a co-search: a family of small CNNs for a task, described by a
few integers (depth, each layer's channel width and kernel, the operand bit-width).

An :class:`Arch` is one network of the family::

    input C x H x W -> [conv k_i x k_i, stride s_i, c_i channels, BN, ReLU] x depth
                    -> average pooling to 2 x 2 -> linear -> classes

The channel widths are any integer in ``[min_width, max_width]`` (a flexible channel
space, not a menu of a few widths), so a search can make a layer exactly as wide as an
array's rows or columns. The second layer halves the feature map (stride 2), the others
keep it. The bit-width is the operand width of both the quantized network and the
accelerator that runs it (``precision.in_bits``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..lib.errors import BadInput
from ..search.workload import Layer

__all__ = ["NetSpace", "Arch", "TASKS"]

#: Tasks a co-search knows: input shape (C, H, W) and classes.
TASKS = {"digits": {"input": (1, 8, 8), "classes": 10}}


@dataclass(frozen=True)
class Arch:
    """One network: ``widths`` and ``kernels`` of its ``depth`` conv layers, ``bits``."""
    widths: tuple
    kernels: tuple
    bits: int
    input: tuple = (1, 8, 8)
    classes: int = 10

    def __post_init__(self):
        if not (1 <= len(self.widths) == len(self.kernels)):
            raise BadInput("an architecture needs one kernel per layer and at least one layer")
        if any(w < 1 for w in self.widths) or any(k not in (1, 3, 5) for k in self.kernels):
            raise BadInput(f"bad architecture {self.widths} {self.kernels}")

    @property
    def depth(self) -> int:
        return len(self.widths)

    def strides(self) -> tuple:
        return tuple(2 if i == 1 else 1 for i in range(self.depth))

    def feature_sizes(self) -> list:
        """(H, W) after each conv layer."""
        _, h, w = self.input
        out = []
        for s in self.strides():
            h, w = -(-h // s), -(-w // s)
            out.append((h, w))
        return out

    def pool(self) -> int:
        """Average-pooling window that leaves 2 x 2."""
        h, _ = self.feature_sizes()[-1]
        return max(1, h // 2)

    def macs(self) -> int:
        """Multiply-accumulates of one image (convs and the classifier)."""
        cin = self.input[0]
        total = 0
        for (h, w), c, k in zip(self.feature_sizes(), self.widths, self.kernels):
            total += h * w * c * cin * k * k
            cin = c
        return total + cin * 4 * self.classes

    def layers(self) -> tuple:
        """The layers as the search's screen sees them (:class:`hwgen.search.Layer`):
        each conv as its GEMM (M output pixels, K = cin k k, N = cout), the pooling
        (on the array, as hwgen runs it) and the classifier."""
        cin, (h, w) = self.input[0], self.input[1:]
        out = []
        for i, ((ho, wo), c, k) in enumerate(zip(self.feature_sizes(), self.widths,
                                                  self.kernels)):
            out.append(Layer(f"conv{i + 1}", ho * wo, cin * k * k, c, conv=True,
                             in_elems=cin * h * w, cin=cin, kernel=k * k, out_w=wo))
            cin, h, w = c, ho, wo
        p = self.pool()
        if p > 1:
            out.append(Layer("pool", 4, p * p, 1, groups=cin, conv=True,
                             in_elems=h * w, cin=1, kernel=p * p, out_w=2))
        out.append(Layer("fc", 1, cin * 4, self.classes))
        return tuple(out)

    def name(self) -> str:
        return ("n" + "-".join(f"{c}k{k}" for c, k in zip(self.widths, self.kernels))
                + f"-b{self.bits}")

    def as_json(self) -> dict:
        return {"widths": list(self.widths), "kernels": list(self.kernels), "bits": self.bits,
                "depth": self.depth, "macs": self.macs(), "name": self.name()}


@dataclass(frozen=True)
class NetSpace:
    """The family: depth in ``[1, max_depth]``, widths in ``[min_width, max_width]``,
    kernels from ``kernels``, bit-widths from ``bits``. A network is encoded as integer
    genes ``[depth - 1, w_1 - min_width, ..., k-index_1, ..., bits-index]`` (every layer
    up to ``max_depth`` has genes; those past the depth are ignored)."""
    task: str = "digits"
    max_depth: int = 3
    min_width: int = 4
    max_width: int = 48
    kernels: tuple = (1, 3, 5)
    bits: tuple = (4, 8)

    def __post_init__(self):
        if self.task not in TASKS:
            raise BadInput(f"unknown task {self.task!r} (known: {', '.join(TASKS)})")
        if not 1 <= self.max_depth <= 3:
            raise BadInput("max_depth must be 1 to 3")
        if not 1 <= self.min_width <= self.max_width <= 256:
            raise BadInput("widths need 1 <= min_width <= max_width <= 256")
        if not self.kernels or any(k not in (1, 3, 5) for k in self.kernels):
            raise BadInput("kernels must be among 1, 3 and 5")
        if not self.bits or any(not 2 <= b <= 16 for b in self.bits):
            raise BadInput("bit-widths must be 2 to 16")

    @property
    def input(self) -> tuple:
        return TASKS[self.task]["input"]

    @property
    def classes(self) -> int:
        return TASKS[self.task]["classes"]

    @property
    def n_widths(self) -> int:
        return self.max_width - self.min_width + 1

    def sizes(self) -> np.ndarray:
        """Number of values of each gene."""
        D = self.max_depth
        return np.array([D] + [self.n_widths] * D + [len(self.kernels)] * D + [len(self.bits)])

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.stack([rng.integers(0, s, n) for s in self.sizes()], axis=1)

    def decode(self, genes) -> Arch:
        g = [int(x) for x in genes]
        D = self.max_depth
        depth = g[0] + 1
        widths = tuple(self.min_width + g[1 + i] for i in range(depth))
        kernels = tuple(self.kernels[g[1 + D + i]] for i in range(depth))
        return Arch(widths, kernels, self.bits[g[1 + 2 * D]], self.input, self.classes)

    def encode(self, arch: Arch) -> tuple:
        D = self.max_depth
        w = [a - self.min_width for a in arch.widths] + [0] * (D - arch.depth)
        k = [self.kernels.index(x) for x in arch.kernels] + [0] * (D - arch.depth)
        return tuple([arch.depth - 1] + w + k + [self.bits.index(arch.bits)])

    def largest(self) -> Arch:
        D = self.max_depth
        return Arch((self.max_width,) * D, (max(self.kernels),) * D, max(self.bits),
                    self.input, self.classes)

    def smallest(self) -> Arch:
        return Arch((self.min_width,), (min(self.kernels),), min(self.bits), self.input,
                    self.classes)

    def canonical(self, genes) -> tuple:
        """The genes of the network they decode to (unused genes zeroed)."""
        return self.encode(self.decode(genes))

    def describe(self) -> dict:
        return {"task": self.task, "depth": [1, self.max_depth],
                "widths": [self.min_width, self.max_width], "kernels": list(self.kernels),
                "bits": list(self.bits)}


def parse_netspace(spec: Optional[dict], task: str) -> NetSpace:
    """A ``network:`` section of a co-search space file (keys ``max_depth``, ``widths:
    {min, max}``, ``kernels``, ``bits``)."""
    if spec is None:
        return NetSpace(task=task)
    if not isinstance(spec, dict):
        raise BadInput("network: must be a mapping (max_depth, widths, kernels, bits)")
    unknown = set(spec) - {"max_depth", "widths", "kernels", "bits"}
    if unknown:
        raise BadInput(f"network: unknown key {sorted(unknown)[0]!r} (known: max_depth, "
                       "widths, kernels, bits)")
    kw = {"task": task}
    try:
        if "max_depth" in spec:
            kw["max_depth"] = int(spec["max_depth"])
        if "widths" in spec:
            w = spec["widths"]
            if not isinstance(w, dict) or set(w) != {"min", "max"}:
                raise BadInput("network.widths must be {min: A, max: B}")
            kw["min_width"], kw["max_width"] = int(w["min"]), int(w["max"])
        for key in ("kernels", "bits"):
            if key in spec:
                v = spec[key]
                v = [v] if isinstance(v, int) else v
                if not isinstance(v, list) or not all(isinstance(x, int) for x in v):
                    raise BadInput(f"network.{key} must be an integer or a list of integers")
                kw[key] = tuple(sorted(set(v)))
    except (TypeError, ValueError):
        raise BadInput("network: max_depth and widths must be integers") from None
    return NetSpace(**kw)
