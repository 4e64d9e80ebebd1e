"""The co-search itself: networks of a :class:`NetSpace` and accelerators of a
:class:`hwgen.search.Space` searched together, three ways on one budget.

* ``evolution`` (NAAS-style, the network one more encoded level): NSGA-II over the
  network genes; each network gets its accelerator from an inner search (every design
  of the hardware space screened with hwgen's fast cycle model, the fastest that meets
  the constraints kept), and mappings are chosen inside the exact model later. Two
  objectives: error and latency (or energy). Array utilization as a third objective
  spread the same budget over accurate networks that leave the array idle, and that
  front lost to the sequential baseline's (9 of its 20 points beaten, against 3 of 27
  with two objectives, on digits at a budget of 300); utilization is reported for every
  design and is an objective of the differentiable method.
* ``differentiable`` (DNA-style): architecture logits over every choice — each layer's
  width (every integer of the range), kernel, the depth, the bit-width and the
  accelerator — relaxed with Gumbel-softmax and trained through the weight-sharing
  super-network against ``cross-entropy + lambda log E[latency] - mu log E[utilization]``,
  where ``E[latency]`` is a differentiable surrogate of hwgen's cycle model: a table of
  the fast model's cycles for every (accelerator, layer, input width, output width,
  kernel), contracted with the choice probabilities. A sweep of ``lambda`` gives the
  front.
* ``sequential`` (the baseline the co-search is measured against): the network first
  (error against multiply-accumulates, hardware-blind), then the accelerator for each
  network of that front.

Accuracy during the search is the super-network's (inherited weights, statistics
recomputed, operands fake-quantized at the network's bit-width) on a validation split of
the training images; the final figures are the test split's, after fine-tuning, on
hwgen's quantized network and on the RTL.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..lib.errors import BadInput
from ..search.fast import layer_cycles, population_columns
from ..search.space import Space
from ..search.workload import Layer
from .netspace import Arch, NetSpace
from .supernet import SuperNet, accuracy

#: How the accelerators' buffers are built when priced (the inner level's area limit and
#: energy as well as the reported figures) and when the winner's ASIC flow runs: SRAM
#: macros (flip-flop buffers of a thousand words take the flow hours).
MEMORIES = "macro"

__all__ = ["Point", "HardwareSearch", "CoSearch", "pareto_points", "METHODS"]

METHODS = ("evolution", "differentiable", "sequential")


@dataclass
class Point:
    """One (network, accelerator) pair as a search scored it."""
    arch: Arch
    hw: Optional[tuple]          # candidate of the hardware space (None: nothing fits)
    hw_name: str
    acc: float                   # validation accuracy (super-network, fake-quantized)
    cycles: float                # fast-model cycles of one image
    utilization: float
    method: str
    extra: dict = field(default_factory=dict)
    cost: float = math.inf       # the objective's cost: cycles, or energy (uJ) by the model

    @property
    def err(self) -> float:
        return 1.0 - self.acc

    def as_json(self) -> dict:
        return {"network": self.arch.as_json(), "accelerator": self.hw_name,
                "hw_cand": list(self.hw) if self.hw is not None else None,
                "val_accuracy": round(self.acc, 4),
                "screen_cycles": int(self.cycles) if np.isfinite(self.cycles) else None,
                **({"screen_energy_uj": round(self.cost, 6)} if self.cost != self.cycles else {}),
                "utilization": round(self.utilization, 4), "method": self.method, **self.extra}


def pareto_points(points: list, keys=("err", "cost")) -> list:
    """Points no other point beats in every key (lower is better), sorted by the first."""
    pts = [p for p in points if p.hw is not None]
    front = []
    for p in pts:
        vp = [getattr(p, k) for k in keys]
        dominated = False
        for q in pts:
            vq = [getattr(q, k) for k in keys]
            if all(a <= b for a, b in zip(vq, vp)) and any(a < b for a, b in zip(vq, vp)):
                dominated = True
                break
        if not dominated and all(p.arch != f.arch or p.hw != f.hw for f in front):
            front.append(p)
    return sorted(front, key=lambda p: tuple(getattr(p, k) for k in keys))


class HardwareSearch:
    """The inner level: for a network, the accelerator of the space that meets the
    constraints at the least cost — the fewest cycles, or with ``energy`` the least
    energy by the cost model (``cost``: a :class:`hwgen.search.cost.CostProvider`) — by
    the fast cycle model over every design at once."""

    def __init__(self, space: Space, *, max_pes: Optional[int] = None, cost=None,
                 max_area_um2: Optional[float] = None, energy: bool = False):
        self.space = space
        self.pop = space.all()
        self.col = population_columns(space, self.pop)
        self.cost, self.energy = cost, energy
        if energy and cost is None:
            raise BadInput("an energy objective needs the cost model")
        pes = self.col["R"] * self.col["C"]
        ok = np.ones(len(self.pop), dtype=bool)
        if max_pes is not None:
            ok &= pes <= max_pes
        if max_area_um2 is not None:
            if cost is None:
                raise BadInput("--max-area-um2 needs the cost model")
            self.area = self.price(np.ones(len(self.pop)), 1)["area_um2"]
            ok &= self.area <= max_area_um2
        self.ok = ok
        self.pes = pes
        if not ok.any():
            raise BadInput("no accelerator of the space meets the constraints (raise "
                           "--max-pes / --max-area-um2 or widen the space)")
        self.bits = self.col["in_bits"]
        self.cache: dict = {}
        self.screened = 0
        self.seconds = 0.0

    def price(self, cycles: np.ndarray, macs: int) -> dict:
        t = self.cost.target
        return self.cost.model.search_cost_batch(self.col, cycles, macs, t.kind, t.name,
                                                 t.clock_ns, MEMORIES)

    def costs(self, arch: Arch) -> tuple:
        """(cycles, cost) of ``arch`` on every design: cost is the cycles, or the energy
        of one image in uJ (inf where excluded)."""
        cyc = self.cycles(arch)
        if not self.energy:
            return cyc, cyc
        finite = np.isfinite(cyc)
        e = np.full(len(cyc), np.inf)
        if finite.any():
            e_all = self.price(np.where(finite, cyc, 1.0), arch.macs())["energy_uj"]
            e = np.where(finite, e_all, np.inf)
        return cyc, e

    def cycles(self, arch: Arch) -> np.ndarray:
        """Fast-model cycles of one image of ``arch`` on every design (inf where the
        design is excluded or has another operand width)."""
        t0 = time.perf_counter()
        total = np.zeros(len(self.pop), dtype=np.float64)
        for layer in arch.layers():
            total += layer_cycles(self.col, layer)
        total = np.where(self.ok & (self.bits == arch.bits), total, np.inf)
        self.screened += len(self.pop)
        self.seconds += time.perf_counter() - t0
        return total

    def best(self, arch: Arch) -> tuple:
        """(candidate, cycles, utilization, cost) of the cheapest design for ``arch``
        (fewer PEs on a tie), or (None, inf, 0, inf) when no design has its bit-width."""
        key = arch
        if key not in self.cache:
            cyc, cost = self.costs(arch)
            if not np.isfinite(cost).any():
                self.cache[key] = (None, math.inf, 0.0, math.inf)
            else:
                i = int(np.lexsort((self.pes, cost))[0])
                util = arch.macs() / (float(cyc[i]) * int(self.pes[i]))
                self.cache[key] = (tuple(int(v) for v in self.pop[i]), float(cyc[i]), util,
                                   float(cost[i]))
        return self.cache[key]


# ---- NSGA-II ----------------------------------------------------------------------------
def _nondominated_ranks(F: np.ndarray) -> np.ndarray:
    n = len(F)
    rank = np.full(n, -1)
    le = (F[:, None, :] <= F[None, :, :]).all(-1)
    lt = (F[:, None, :] < F[None, :, :]).any(-1)
    dom = le & lt                       # dom[i, j]: i dominates j
    count = dom.sum(0)
    r = 0
    current = np.where(count == 0)[0]
    while len(current):
        rank[current] = r
        for i in current:
            count[dom[i]] -= 1
        count[current] = -1
        current = np.where(count == 0)[0]
        r += 1
    return rank


def _crowding(F: np.ndarray) -> np.ndarray:
    n, m = F.shape
    d = np.zeros(n)
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        span = F[order[-1], j] - F[order[0], j]
        d[order[0]] = d[order[-1]] = np.inf
        if span > 0 and n > 2:
            d[order[1:-1]] += (F[order[2:], j] - F[order[:-2], j]) / span
    return d


def nsga2(evaluate: Callable, space: NetSpace, rng: np.random.Generator, budget: int,
          pop_size: int = 24, on_eval: Optional[Callable] = None) -> list:
    """NSGA-II over network genes; ``evaluate(genes) -> objectives tuple`` (lower is
    better), called at most ``budget`` times on distinct networks."""
    sizes = space.sizes()
    seen: dict = {}

    def ev(g):
        g = space.canonical(g)
        if g not in seen and len(seen) < budget:
            seen[g] = evaluate(g)
            if on_eval:
                on_eval(len(seen))
        return g

    pop = [ev(g) for g in space.random(rng, min(pop_size, budget))]
    pop = [g for g in pop if g in seen]
    stall = 0
    while len(seen) < budget and stall < 50:
        F = np.array([seen[g] for g in pop])
        rank, crowd = _nondominated_ranks(F), _crowding(F)
        children = []
        while len(children) < pop_size and stall < 50:
            a, b = rng.integers(0, len(pop), 2), rng.integers(0, len(pop), 2)
            pa = pop[min(a, key=lambda i: (rank[i], -crowd[i]))]
            pb = pop[min(b, key=lambda i: (rank[i], -crowd[i]))]
            mask = rng.random(len(sizes)) < 0.5
            child = np.where(mask, pa, pb)
            for j in np.nonzero(rng.random(len(sizes)) < 1.5 / len(sizes))[0]:
                step = rng.choice([-3, -1, 1, 3]) if sizes[j] > 8 else rng.choice([-1, 1])
                child[j] = int(np.clip(child[j] + step, 0, sizes[j] - 1))
            before = len(seen)
            g = ev(child)
            if g in seen:
                children.append(g)
            stall = stall + 1 if len(seen) == before else 0
            if len(seen) >= budget:
                break
        merged = list(dict.fromkeys(pop + children))
        F = np.array([seen[g] for g in merged])
        rank, crowd = _nondominated_ranks(F), _crowding(F)
        order = sorted(range(len(merged)), key=lambda i: (rank[i], -crowd[i]))
        pop = [merged[i] for i in order[:pop_size]]
    return list(seen)


class CoSearch:
    """A task's data, the super-network, the inner hardware search and the three methods.
    ``x_train``/``y_train`` train the super-network; ``x_val``/``y_val`` score networks."""

    def __init__(self, netspace: NetSpace, hw: HardwareSearch, sn: SuperNet, data: dict,
                 seed: int = 0, progress: Optional[Callable[[str], None]] = None):
        self.ns, self.hw, self.sn, self.data, self.seed = netspace, hw, sn, data, seed
        self.say = progress or (lambda msg: None)
        self.acc_cache: dict = {}
        self.evaluations = 0

    def val_accuracy(self, arch: Arch) -> float:
        if arch not in self.acc_cache:
            d = self.data
            self.acc_cache[arch] = accuracy(self.sn, arch, d["x_val"], d["y_val"], d["x_train"])
            self.evaluations += 1
        return self.acc_cache[arch]

    def point(self, arch: Arch, method: str, hw: Optional[tuple] = None, **extra) -> Point:
        if hw is None:
            hw, cyc, util, cost = self.hw.best(arch)
        else:
            idx = np.nonzero((self.hw.pop == np.array(hw)).all(1))[0][0]
            cycs, costs = self.hw.costs(arch)
            cyc, cost = float(cycs[idx]), float(costs[idx])
            util = arch.macs() / (cyc * int(self.hw.pes[idx])) if np.isfinite(cyc) else 0.0
            if not np.isfinite(cost):
                hw = None
        name = self.hw.space.name(hw) if hw is not None else "-"
        return Point(arch, hw, name, self.val_accuracy(arch), cyc, util, method, dict(extra),
                     cost)

    # ---- evolution -----------------------------------------------------------------------
    def evolution(self, budget: int) -> list:
        rng = np.random.default_rng(self.seed)
        points: dict = {}

        def evaluate(g):
            p = self.point(self.ns.decode(g), "evolution")
            points[g] = p
            return (p.err, math.log(p.cost) if np.isfinite(p.cost) else 1e9)

        nsga2(evaluate, self.ns, rng, budget,
              on_eval=lambda n: n % 25 == 0 and self.say(f"evolution: {n}/{budget} networks"))
        return list(points.values())

    # ---- sequential baseline ---------------------------------------------------------------
    def sequential(self, budget: int) -> list:
        """Networks by (error, MACs) with no hardware in view, then each network of that
        front given its accelerator."""
        rng = np.random.default_rng(self.seed)
        archs: dict = {}

        def evaluate(g):
            a = self.ns.decode(g)
            archs[g] = a
            return (1.0 - self.val_accuracy(a), math.log(a.macs()))

        nsga2(evaluate, self.ns, rng, budget,
              on_eval=lambda n: n % 25 == 0 and self.say(f"sequential: {n}/{budget} networks"))
        F = np.array([(1.0 - self.val_accuracy(a), a.macs()) for a in archs.values()])
        ranks = _nondominated_ranks(F)
        front = [a for a, r in zip(archs.values(), ranks) if r == 0]
        return [self.point(a, "sequential") for a in front]

    # ---- differentiable --------------------------------------------------------------------
    def latency_table(self, hw_idx: np.ndarray):
        """Fast-model cycles per (design, layer, input width, output width, kernel), of
        the pooling and the classifier per (design, depth, width): the differentiable
        surrogate's tables."""
        ns = self.ns
        col = {k: v[hw_idx] for k, v in self.hw.col.items()}
        H, D, nw, nk = len(hw_idx), ns.max_depth, ns.n_widths, len(ns.kernels)
        widths = list(range(ns.min_width, ns.max_width + 1))
        conv = np.zeros((H, D, nw, nw, nk))
        tail = np.zeros((H, D, nw))
        cin0 = ns.input[0]
        for d in range(D):
            arch_w = (ns.min_width,) * (d + 1)
            base = Arch(arch_w, (1,) * (d + 1), ns.bits[0], ns.input, ns.classes)
            sizes = base.feature_sizes()
            h_in, w_in = ns.input[1:] if d == 0 else sizes[d - 1]
            ho, wo = sizes[d]
            for a_i, a in enumerate(widths if d else [cin0]):
                for b_i, b in enumerate(widths):
                    for k_i, k in enumerate(ns.kernels):
                        layer = Layer("c", ho * wo, a * k * k, b, conv=True,
                                      in_elems=a * h_in * w_in, cin=a, kernel=k * k, out_w=wo)
                        v = layer_cycles(col, layer)
                        if d == 0:
                            conv[:, d, :, b_i, k_i] = v[:, None]
                        else:
                            conv[:, d, a_i, b_i, k_i] = v
            for b_i, b in enumerate(widths):
                arch = Arch(arch_w[:-1] + (b,), (1,) * (d + 1), ns.bits[0], ns.input,
                            ns.classes)
                tail[:, d, b_i] = sum(layer_cycles(col, L) for L in arch.layers()
                                      if not L.name.startswith("conv"))
        return conv, tail

    def differentiable(self, lambdas=(0.0, 0.01, 0.02, 0.05, 0.1, 0.2), epochs: int = 6,
                       mu: float = 0.1, max_designs: int = 24) -> list:
        import torch
        import torch.nn.functional as F
        ns, d = self.ns, self.data
        torch.manual_seed(self.seed)
        # the accelerators the relaxation chooses among: the feasible designs of the
        # space, thinned to the fastest per (rows, cols, dataflow, bits) on the largest
        # network
        cyc_big = np.full(len(self.hw.pop), np.inf)
        for b in ns.bits:
            big = Arch(ns.largest().widths, ns.largest().kernels, b, ns.input, ns.classes)
            cyc_big = np.minimum(cyc_big, self.hw.cycles(big))
        keyed: dict = {}
        for i in np.argsort(cyc_big, kind="stable"):
            if not np.isfinite(cyc_big[i]):
                continue
            k = (int(self.hw.col["R"][i]), int(self.hw.col["C"][i]), bool(self.hw.col["os"][i]),
                 bool(self.hw.col["is"][i]), int(self.hw.bits[i]))
            keyed.setdefault(k, int(i))
        hw_idx = np.array(sorted(keyed.values())[:max_designs])
        conv_t, tail_t = self.latency_table(hw_idx)
        # energy objective: each design's energy per cycle on the largest network (the
        # cost model's power at that activity), times the expected cycles
        weight = np.ones(len(hw_idx))
        if self.hw.energy:
            big = ns.largest()
            for b in ns.bits:
                a = Arch(big.widths, big.kernels, b, ns.input, ns.classes)
                cyc, e = self.hw.costs(a)
                sel = self.hw.bits[hw_idx] == b
                weight[sel] = (e[hw_idx] / cyc[hw_idx])[sel]
        weight = torch.as_tensor(weight / weight.max(), dtype=torch.float32)
        conv_t = torch.as_tensor(conv_t, dtype=torch.float32)
        tail_t = torch.as_tensor(tail_t, dtype=torch.float32)
        pes = torch.as_tensor(self.hw.pes[hw_idx], dtype=torch.float32)
        hw_bits = torch.as_tensor(self.hw.bits[hw_idx])
        widths = torch.arange(ns.min_width, ns.max_width + 1, dtype=torch.float32)
        kern = torch.as_tensor(ns.kernels, dtype=torch.float32)
        D, nw, nk = ns.max_depth, ns.n_widths, len(ns.kernels)
        x, y = torch.as_tensor(d["x_train"]), torch.as_tensor(d["y_train"])
        feat = [Arch((ns.min_width,) * D, (1,) * D, ns.bits[0], ns.input,
                     ns.classes).feature_sizes()[i] for i in range(D)]
        points = []
        for lam in lambdas:
            logits = {"width": torch.zeros(D, nw, requires_grad=True),
                      "kernel": torch.zeros(D, nk, requires_grad=True),
                      "depth": torch.zeros(D, requires_grad=True),
                      "bits": torch.zeros(len(ns.bits), requires_grad=True),
                      "hw": torch.zeros(len(hw_idx), requires_grad=True)}
            opt = torch.optim.Adam(list(logits.values()), lr=0.05)
            gen = torch.Generator().manual_seed(self.seed)
            # the shared weights stay as trained; batch statistics of each sampled network
            self.sn.net.train()
            for prm in self.sn.net.parameters():
                prm.requires_grad_(False)
            steps = 0
            for ep in range(epochs):
                tau = max(0.3, 2.0 * (0.6 ** ep))
                perm = torch.randperm(len(x), generator=gen)
                for i in range(0, len(x), 128):
                    idx = perm[i:i + 128]
                    # the forward runs the network Gumbel-softmax samples (straight-through,
                    # one choice each); the cost surrogate takes the choice probabilities
                    hard = {k: F.gumbel_softmax(v, tau=tau, hard=True, dim=-1)
                            for k, v in logits.items()}
                    p = {k: F.softmax(v, dim=-1) for k, v in logits.items()}
                    out = self.sn.forward_relaxed(x[idx], hard)
                    loss = F.cross_entropy(out, y[idx])
                    # expected cycles of every design: layer i's table contracted with the
                    # input width (layer i-1's), output width and kernel distributions
                    pw, pk, pd = p["width"], p["kernel"], p["depth"]
                    lat = torch.zeros(len(hw_idx))
                    macs = torch.zeros(())
                    cum_lat = torch.zeros(len(hw_idx))
                    cum_mac = torch.zeros(())
                    for li in range(D):
                        pin = pw[li - 1] if li else None
                        if li == 0:
                            t = torch.einsum("hbk,b,k->h", conv_t[:, 0, 0], pw[0], pk[0])
                            ein = float(ns.input[0])
                        else:
                            t = torch.einsum("habk,a,b,k->h", conv_t[:, li], pin, pw[li], pk[li])
                            ein = (pin * widths).sum()
                        ho, wo = feat[li]
                        cum_lat = cum_lat + t
                        cum_mac = cum_mac + ho * wo * ein * (pw[li] * widths).sum() * (
                            pk[li] * kern * kern).sum()
                        end = torch.einsum("hb,b->h", tail_t[:, li], pw[li])
                        lat = lat + pd[li] * (cum_lat + end)
                        macs = macs + pd[li] * cum_mac
                    # designs of another bit-width than the network's cannot run it
                    pbits = p["bits"]
                    match = sum(pbits[j] * (hw_bits == b).float() for j, b in enumerate(ns.bits))
                    ph = p["hw"] * match
                    ph = ph / ph.sum().clamp_min(1e-6)
                    e_lat = (ph * lat * weight).sum()
                    e_util = (ph * macs / (lat * pes)).sum()
                    loss = loss + lam * torch.log(e_lat) - lam * mu * torch.log(e_util)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    steps += 1
            for prm in self.sn.net.parameters():
                prm.requires_grad_(True)
            self.sn.net.eval()
            with torch.no_grad():
                depth = int(logits["depth"].argmax()) + 1
                ws = tuple(int(ns.min_width + logits["width"][i].argmax()) for i in range(depth))
                ks = tuple(ns.kernels[int(logits["kernel"][i].argmax())] for i in range(depth))
                bits = ns.bits[int(logits["bits"].argmax())]
                hw_logit = logits["hw"].clone()
                hw_logit[hw_bits != bits] = -math.inf
                h = int(hw_idx[int(hw_logit.argmax())])
            arch = Arch(ws, ks, bits, ns.input, ns.classes)
            pt = self.point(arch, "differentiable", tuple(int(v) for v in self.hw.pop[h]),
                            lam=lam)
            points.append(pt)
            self.say(f"differentiable: lambda {lam:g}: {arch.name()} on {pt.hw_name} "
                     f"({pt.acc:.3f}, {pt.cycles:.0f} cycles)")
        return points
