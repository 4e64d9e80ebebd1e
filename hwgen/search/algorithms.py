"""Search algorithms over a :class:`~hwgen.search.space.Space`, all with the same budget
(exact evaluations) and the same record of what they did.

* ``evolution`` (NAAS-style): the hardware choices encoded as integer genes (dataflow and
  other categories as numbers), a population evolved by tournament selection, uniform
  crossover and +-1 mutations; each generation's offspring pool is many times the
  population and is ranked by the vectorised screen, and only the best offspring are
  timed exactly (the inner level: every layer's mapping searched with the exact model and
  cached). Constraints rank feasible designs first (then by how far the others miss).
* ``random``: uniform samples, each timed exactly.
* ``bayes``: Bayesian optimisation, a Gaussian process (scikit-learn, Matern kernel) on
  the normalised genes and log objective, expected improvement over a random pool.
* ``exhaustive``: every design of a small space.

Each is a generator of candidate batches; :func:`run_search` times them, logs every
record and stops at the budget. Deterministic for a seed; a resumed search replays the
same decisions from its log (records found there are not evaluated again).
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Iterator, Optional

import numpy as np

from .evaluate import Evaluator, Record

ALGORITHMS = ("evolution", "random", "bayes", "exhaustive")


def _key(cand) -> tuple:
    return tuple(int(i) for i in cand)


def random_search(ev: Evaluator, rng: np.random.Generator, budget: int) -> Iterator[list]:
    seen: set = set()
    tries = 0
    while len(seen) < min(budget, ev.space.count) and tries < 100 * budget:
        batch = []
        for c in ev.space.random(rng, 32):
            k = _key(c)
            tries += 1
            if k not in seen:
                seen.add(k)
                batch.append(k)
        if batch:
            yield batch


def exhaustive_search(ev: Evaluator, rng: np.random.Generator, budget: int) -> Iterator[list]:
    pop = ev.space.all()
    for i in range(0, len(pop), 64):
        yield [_key(c) for c in pop[i:i + 64]]


def evolution_search(ev: Evaluator, rng: np.random.Generator, budget: int,
                     population: int = 24, pool_factor: int = 16,
                     mutation: float = 0.25) -> Iterator[list]:
    sizes = ev.space.sizes
    n = len(sizes)
    # generation 0: the best of a large random pool by the screen, plus a few random ones
    pool = ev.space.random(rng, population * pool_factor)
    order = np.argsort(ev.screen(pool), kind="stable")
    first = [_key(pool[i]) for i in order[:population - population // 4]]
    first += [_key(c) for c in ev.space.random(rng, population // 4)]
    recs: list[Record] = yield list(dict.fromkeys(first))
    pop = sorted(recs, key=Record.rank_key)[:population]
    while True:
        def pick() -> Record:
            a, b = rng.integers(0, len(pop), 2)
            return min(pop[a], pop[b], key=Record.rank_key)
        kids = np.empty((population * pool_factor, n), dtype=np.int64)
        for i in range(len(kids)):
            p, q = np.array(pick().cand), np.array(pick().cand)
            child = np.where(rng.random(n) < 0.5, p, q)
            flip = rng.random(n) < mutation
            step = rng.choice((-1, 1), n)
            big = rng.random(n) < 0.1            # now and then a jump anywhere
            child = np.where(flip, child + step, child)
            child = np.where(flip & big, rng.integers(0, sizes), child)
            kids[i] = np.clip(child, 0, sizes - 1)
        kids = np.unique(kids, axis=0)
        fresh = np.array([k for k in kids if _key(k) not in ev.seen], dtype=np.int64)
        if len(fresh) == 0:
            fresh = ev.space.random(rng, population)
        order = np.argsort(ev.screen(fresh), kind="stable")
        take = max(4, population // 2)
        batch = [_key(fresh[i]) for i in order[:take]]
        recs = yield batch
        pop = sorted({r.name: r for r in pop + recs}.values(), key=Record.rank_key)[:population]


def bayes_search(ev: Evaluator, rng: np.random.Generator, budget: int, initial: int = 12,
                 pool: int = 2000) -> Iterator[list]:
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    sizes = np.maximum(ev.space.sizes - 1, 1)
    recs: list[Record] = list((yield [_key(c) for c in ev.space.random(rng, initial)]))
    while True:
        feas = [r for r in recs if r.feasible and math.isfinite(r.objective)]
        cands = ev.space.random(rng, pool)
        cands = np.array([c for c in cands if _key(c) not in ev.seen] or
                         list(ev.space.random(rng, 1)), dtype=np.int64)
        if len(feas) < 3:
            batch = [_key(cands[0])]
        else:
            X = np.array([r.cand for r in feas], dtype=np.float64) / sizes
            y = np.array([r.objective for r in feas], dtype=np.float64)
            sign = -1.0 if np.all(y < 0) else 1.0       # throughput per area is negative
            y = np.log(np.maximum(sign * y, 1e-300))
            mu0, sd0 = y.mean(), y.std() or 1.0
            gp = GaussianProcessRegressor(ConstantKernel() * Matern(nu=2.5) + WhiteKernel(1e-4),
                                          normalize_y=False, random_state=int(rng.integers(1 << 31)))
            with warnings.catch_warnings():   # the optimiser's notes on its bounds
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(X, (y - mu0) / sd0)
            mu, sd = gp.predict(cands / sizes, return_std=True)
            best = ((y.min() if sign > 0 else y.max()) - mu0) / sd0
            z = (best - mu) / np.maximum(sd, 1e-9) if sign > 0 else (mu - best) / np.maximum(sd, 1e-9)
            ei = np.maximum(sd, 1e-9) * (z * norm.cdf(z) + norm.pdf(z))
            batch = [_key(cands[int(np.argmax(ei))])]
        new = yield batch
        recs.extend(new)


def make(name: str) -> Callable:
    return {"evolution": evolution_search, "random": random_search, "bayes": bayes_search,
            "exhaustive": exhaustive_search}[name]


def run_search(ev: Evaluator, algorithm: str, budget: int, seed: int,
               on_record: Optional[Callable[[Record, Record], None]] = None) -> list[Record]:
    """Run ``algorithm`` until ``budget`` exact evaluations (cached ones from a resumed
    log count too); every record in evaluation order. ``on_record(record, best)`` hears
    each one."""
    rng = np.random.default_rng(seed)
    ev.seen = set()         # what this run has evaluated (a resumed run's cache holds more)
    gen = make(algorithm)(ev, rng, budget)
    out: list[Record] = []
    best: Optional[Record] = None
    seen: set = set()
    stale = 0
    try:
        batch = next(gen)
        while True:
            recs = []
            before = len(out)
            for cand in batch:
                if len(out) >= budget:
                    return out
                rec = ev.evaluate(cand)
                ev.seen.add(rec.cand)
                recs.append(rec)
                if rec.name in seen:
                    continue
                seen.add(rec.name)
                out.append(rec)
                if best is None or rec.rank_key() < best.rank_key():
                    best = rec
                if on_record is not None:
                    on_record(rec, best)
            if len(out) >= budget:
                return out
            stale = stale + 1 if len(out) == before else 0
            if stale > 50:          # the algorithm only proposes designs it has seen
                return out
            batch = gen.send(recs)
    except StopIteration:
        return out
