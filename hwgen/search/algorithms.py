"""Search algorithms over a :class:`~hwgen.search.space.Space`, all with the same budget
(exact evaluations) and the same record of what they did.

* ``evolution`` (NAAS-style): the hardware choices encoded as integer genes (dataflow and
  other categories as numbers), a population evolved by tournament selection, uniform
  crossover and +-1 mutations; each generation's offspring pool is many times the
  population and is ranked by the vectorised screen, refitted after each generation to
  the exact evaluations so far, and only the best offspring are timed exactly (the inner
  level: every layer's mapping searched with the exact model and cached). Constraints rank feasible designs first (then by how far the others miss).
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


def screen_correction(ev: Evaluator, records: list, min_records: int = 8,
                      alpha: float = 1.0) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """The screen refitted to the exact evaluations so far: a ridge regression of
    log(exact objective / screen score) on the candidates' choices (one indicator per
    value of every dimension that varies), fitted on the feasible records the screen
    scores finite; a function from candidates to the screen's score times exp of the
    predicted correction. None with fewer than ``min_records`` such records (then the
    screen ranks alone)."""
    feas = [r for r in records if r.feasible and math.isfinite(r.objective) and r.objective]
    if len(feas) < min_records:
        return None
    X = np.array([r.cand for r in feas], dtype=np.int64)
    s = ev.screen(X)
    y = np.array([r.objective for r in feas], dtype=np.float64)
    ok = np.isfinite(s) & (s != 0) & (np.sign(s) == np.sign(y))
    if ok.sum() < min_records:
        return None
    dims = [j for j, d in enumerate(ev.space.dims) if d.size > 1]

    def onehot(pop: np.ndarray) -> np.ndarray:
        cols = [pop[:, j:j + 1] == np.arange(ev.space.dims[j].size) for j in dims]
        return np.concatenate(cols, axis=1).astype(np.float64) if cols else \
            np.zeros((len(pop), 0))

    F = onehot(X[ok])
    r = np.log(y[ok] / s[ok])
    mean, fm = r.mean(), F.mean(axis=0)
    Fc = F - fm
    w = np.linalg.solve(Fc.T @ Fc + alpha * np.eye(F.shape[1]), Fc.T @ (r - mean))

    def corrected(pop: np.ndarray) -> np.ndarray:
        score = ev.screen(pop)
        fix = np.exp(mean + (onehot(pop) - fm) @ w)
        return np.where(np.isfinite(score), score * fix, score)
    return corrected


def evolution_search(ev: Evaluator, rng: np.random.Generator, budget: int,
                     population: int = 24, pool_factor: int = 16,
                     mutation: float = 0.25, explore: float = 0.25,
                     first_pool: int = 20_000) -> Iterator[list]:
    """Generation 0: the screen's best of the whole space (of ``first_pool`` random
    designs when the space is larger; the screen prices a population in well under a
    second) and, for diversity, a fraction ``explore`` drawn at random from the rest the
    screen lets through (designs it scores finite). Then each generation: parents by tournament on the exact records, uniform
    crossover, +-1 mutations (now and then a jump anywhere); of the offspring not yet
    evaluated, the best by the screen refitted to every exact evaluation so far
    (:func:`screen_correction`) are timed exactly. Ties in the screen are broken at
    random, not by the candidates' order."""
    sizes = ev.space.sizes
    n = len(sizes)
    if ev.space.count <= first_pool:
        pool = ev.space.all()
    else:
        pool = np.unique(ev.space.random(rng, first_pool), axis=0)
    pool = pool[rng.permutation(len(pool))]
    s = ev.screen(pool)
    order = np.argsort(s, kind="stable")
    n_rand = round(population * explore)
    finite = order[np.isfinite(s[order])]
    top = [int(i) for i in (finite if len(finite) else order)[:population - n_rand]]
    chosen = set(top)
    rest = [int(i) for i in finite if int(i) not in chosen] or \
        [int(i) for i in order if int(i) not in chosen]
    extra = rng.choice(len(rest), min(n_rand, len(rest)), replace=False) if rest else []
    first = [_key(pool[i]) for i in top] + [_key(pool[rest[j]]) for j in extra]
    recs: list[Record] = yield list(dict.fromkeys(first))
    done: list[Record] = list(recs)
    pop = sorted(recs, key=Record.rank_key)[:population]
    def pick(pop: list) -> Record:
        a, b = rng.integers(0, len(pop), 2)
        return min(pop[a], pop[b], key=Record.rank_key)
    while True:
        kids = np.empty((population * pool_factor, n), dtype=np.int64)
        for i in range(len(kids)):
            p, q = np.array(pick(pop).cand), np.array(pick(pop).cand)
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
        fresh = fresh[rng.permutation(len(fresh))]
        rank = screen_correction(ev, done) or ev.screen
        order = np.argsort(rank(fresh), kind="stable")
        take = max(4, population // 2)
        batch = [_key(fresh[i]) for i in order[:take]]
        recs = yield batch
        done.extend(recs)
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
