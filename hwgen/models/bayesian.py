"""Golden model of the Bayesian linear layer (``bayesian:``), written from the
mathematics; :class:`hwgen.units.bayesian.BayesianLayer` gives the same results, taking
the same generator beats in the same order.

For input vector x, outputs j = 0 .. m-1 and draws s = 0 .. N-1 (the integer formulas of
:mod:`hwgen.config.bayesian`, sh = eps_shift, half = 2^(sh-1) or 0 when sh = 0,
``>>`` the arithmetic shift, i.e. floor division by 2^sh):

* plain: y_sj = sum_i (mu_ji + ((sigma_ji eps_sji + half) >> sh)) x_i, so each weight
  is mu + sigma eps rounded to the weight grid, exactly as w ~ N(mu, sigma^2) in the
  limit of fine grids;
* local_reparam: y_sj = A_j + ((S_j eps_sj + half) >> sh), A_j = sum_i mu_ji x_i,
  S_j = isqrt(sum_i (sigma_ji x_i)^2): sum_i w_ji x_i with independent Gaussian weights
  is N(A_j, sum_i sigma_ji^2 x_i^2), drawn directly (isqrt rounds the standard deviation
  down to an integer).

Outputs are taken ``lanes`` at a time (group g holds outputs g L .. g L + L - 1; lanes
beyond m compute and are dropped). The generator beats are taken in the order

* plain: for g, for s, for i: one beat, lane l -> eps_{s, gL+l, i};
* local_reparam: for g, for s: one beat, lane l -> eps_{s, gL+l};

and the results leave in the order: ``average`` -- for j: sum_s act(y_sj); otherwise
for g, for s, for l (gL + l < m): act(y_s,gL+l). ``act`` is the identity or max(., 0).
"""
from __future__ import annotations

import numpy as np

from ..config.bayesian import BayesianConfig


def isqrt(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) of non-negative int64 values, exactly."""
    v = np.asarray(v, dtype=np.int64)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    for _ in range(2):
        r = np.where(r * r > v, r - 1, r)
        r = np.where((r + 1) * (r + 1) <= v, r + 1, r)
    return r


def _round_shift(v: np.ndarray, sh: int) -> np.ndarray:
    return (v + ((1 << sh) >> 1)) >> sh


def _padded(cfg: BayesianConfig, w) -> np.ndarray:
    """(m, n) weights padded with zero rows to (groups * lanes, n)."""
    w = np.asarray(w, dtype=np.int64)
    out = np.zeros((cfg.groups * cfg.lanes, cfg.inputs), dtype=np.int64)
    out[:cfg.outputs] = w
    return out


def check_operands(cfg: BayesianConfig, mu, sigma, xs) -> None:
    """ValueError (one line) for operands of the wrong shape or range."""
    m, n = cfg.outputs, cfg.inputs
    mu, sigma, xs = (np.asarray(a) for a in (mu, sigma, xs))
    if mu.shape != (m, n) or sigma.shape != (m, n):
        raise ValueError(f"mu and sigma must be ({m}, {n}), got {mu.shape} and {sigma.shape}")
    if xs.ndim != 2 or xs.shape[1] != n:
        raise ValueError(f"inputs must be (vectors, {n}), got {xs.shape}")
    lo, hi = -cfg.mu_max, cfg.mu_max - 1
    if mu.min(initial=0) < lo or mu.max(initial=0) > hi:
        raise ValueError(f"mu codes must lie in {lo} .. {hi}")
    if sigma.min(initial=0) < 0 or sigma.max(initial=0) > cfg.sigma_max:
        raise ValueError(f"sigma codes must lie in 0 .. {cfg.sigma_max}")
    if xs.min(initial=0) < -cfg.x_max or xs.max(initial=0) > cfg.x_max - 1:
        raise ValueError(f"input codes must lie in {-cfg.x_max} .. {cfg.x_max - 1}")


def draws(cfg: BayesianConfig, mu, sigma, xs, eps) -> np.ndarray:
    """Every draw's pre-activation y, (vectors, samples, outputs), for input vectors
    ``xs`` (vectors, n) with generator beats ``eps`` (vectors * eps_per_vector, lanes),
    taken in the layer's order."""
    check_operands(cfg, mu, sigma, xs)
    xs = np.asarray(xs, dtype=np.int64)
    V, G, N, L, n = len(xs), cfg.groups, cfg.samples, cfg.lanes, cfg.inputs
    eps = np.asarray(eps, dtype=np.int64)
    if eps.shape != (V * cfg.eps_per_vector, L):
        raise ValueError(f"eps must be ({V * cfg.eps_per_vector}, {L}) beats, got {eps.shape}")
    mu_p = _padded(cfg, mu).reshape(G, L, n)
    sg_p = _padded(cfg, sigma).reshape(G, L, n)
    sh = cfg.eps_shift
    if cfg.local_reparam:
        e = eps.reshape(V, G, N, L)
        a = np.einsum("gln,vn->vgl", mu_p, xs)
        sx = sg_p[None] * xs[:, None, None, :]                     # (V, G, L, n)
        s = isqrt((sx * sx).sum(-1))                               # (V, G, L)
        y = a[:, :, None, :] + _round_shift(s[:, :, None, :] * e, sh)   # (V, G, N, L)
    else:
        e = eps.reshape(V, G, N, n, L)
        noise = _round_shift(sg_p.transpose(0, 2, 1)[None, :, None] * e, sh)   # (V,G,N,n,L)
        w = mu_p.transpose(0, 2, 1)[None, :, None] + noise
        y = np.einsum("vgsnl,vn->vgsl", w, xs)
    return y.transpose(0, 2, 1, 3).reshape(V, N, G * L)[:, :, :cfg.outputs]


def activate(cfg: BayesianConfig, y: np.ndarray) -> np.ndarray:
    return np.maximum(y, 0) if cfg.activation == "relu" else y


def results(cfg: BayesianConfig, y: np.ndarray) -> np.ndarray:
    """The layer's output stream for draws ``y`` (vectors, samples, outputs), in the
    order the layer sends it, (vectors, results_per_vector)."""
    a = activate(cfg, np.asarray(y, dtype=np.int64))
    if cfg.average:
        return a.sum(1)
    V, N, m, L = a.shape[0], cfg.samples, cfg.outputs, cfg.lanes
    out = []
    for g in range(cfg.groups):
        lo, hi = g * L, min((g + 1) * L, m)
        out.append(a[:, :, lo:hi].reshape(V, N * (hi - lo)))
    return np.concatenate(out, axis=1)


def layer(cfg: BayesianConfig, mu, sigma, xs, eps) -> np.ndarray:
    """The results the layer sends for input vectors ``xs`` and generator beats ``eps``
    (see :func:`draws`)."""
    return results(cfg, draws(cfg, mu, sigma, xs, eps))
