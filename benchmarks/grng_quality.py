"""Statistical quality of the Gaussian random number generators at their configured width.

The samples come from the golden model (hwgen.models.grng), which the tests hold equal
to the generated RTL beat for beat, so the figures are those of the hardware. Beats are
flattened beat by beat (lane 0 .. lanes-1 of beat 0, then beat 1, ...), the order a
consumer that takes every lane sees them; values are code / scale (sigma = 1).

Per generator, over 2^24 (1.7e7) samples unless told otherwise:

* mean, variance, skew, excess kurtosis; P(|x| > k sigma) for k = 3, 4, 5 against the
  normal's 2 Phi(-k);
* Kolmogorov-Smirnov against the ideal Gaussian at the same width: the reference puts
  on grid point c (codes step d = 1, or 2 where every code has one parity: rlf, clt)
  the normal's mass of [c - d/2, c + d/2), so a perfect generator rounded to the
  generator's grid passes; D is the largest CDF gap over the grid, its p-value from
  scipy.stats.kstwo (exact for a continuous law, conservative for a discrete one);
* Anderson-Darling against the same reference: A^2 = n sum_c (F_n - F)^2 / (F (1 - F))
  p_c (the discrete form of Choulakian, Lockhart and Stephens), compared with the
  continuous 1 % point 3.857 (close for grids this fine);
* the same two tests from scipy on the samples dithered uniformly within their grid
  cell, against the continuous N(0, 1): scipy.stats.kstest and scipy.stats.anderson
  (the latter fits mean and variance; its p-value interpolated from scipy's tables);
* the fail point: the discrete KS p-value on the first n = 2^10, 2^11, ... samples; the
  generator fails from the smallest n beyond which every p-value is below 0.01, and
  "passes" when the largest n does (the first n with p < 0.01 is recorded too: one
  such n alone can be chance, 1 % at each n);
* autocorrelation of lane 0 at lags 1 .. 16 beats (and the largest |rho| over lanes),
  and at lag 1 of x^2;
* the period: analytic (hwgen.models.grng.period) and, for the same structure at a small
  degree, measured by running the model until the state repeats.

    python benchmarks/grng_quality.py [--log2 24] [--quick] [--only rlf,wallace,...]
                                      [--out NAME]
        writes benchmarks/results/grng_quality.json (or NAME.json) and
        docs/img/grng_quality.png
"""
import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from common import save, save_figure, table  # noqa: E402

from hwgen.config.grng import GrngConfig  # noqa: E402
from hwgen.models import grng as gm  # noqa: E402

#: name -> grng: keys of the generators measured (4 lanes each, about 12-bit outputs).
GENERATORS = {
    "rlf p=127 s=1": dict(kind="rlf", degree=127, shift=1, bits=9),
    "rlf p=127 s=32": dict(kind="rlf", degree=127, shift=32, bits=9),
    "wallace pool=1024": dict(kind="wallace", pool=1024, bits=12),
    "wallace pool=1024 passes=2": dict(kind="wallace", pool=1024, passes=2, bits=12),
    "clt K=12": dict(kind="clt", uniforms=12, bits=12),
    "icdf 16 seg/octave": dict(kind="icdf", segments=16, uniform_bits=32, bits=12),
}
AD_CRIT_1PCT = 3.857
LAGS = 16


def grid_step(cfg: GrngConfig) -> int:
    return 2 if cfg.kind in ("rlf", "clt") else 1


def reference_cdf(cfg: GrngConfig, grid: np.ndarray) -> np.ndarray:
    """The ideal Gaussian rounded to the generator's grid: F(c) = Phi((c + d/2) / scale)."""
    return stats.norm.cdf((grid + grid_step(cfg) / 2) / cfg.scale)


def discrete_tests(cfg: GrngConfig, codes: np.ndarray) -> dict:
    """KS and AD of ``codes`` against the rounded Gaussian (module docstring)."""
    d = grid_step(cfg)
    lo, hi = int(codes.min()), int(codes.max())
    parity = (cfg.code_max % 2) if d == 2 else 0
    lo -= (lo - parity) % d
    grid = np.arange(lo, hi + 1, d)
    counts = np.bincount((codes - lo) // d, minlength=len(grid))
    n = len(codes)
    f_emp = np.cumsum(counts) / n
    f_ref = reference_cdf(cfg, grid)
    below = stats.norm.cdf((lo - d / 2) / cfg.scale)       # reference mass under the grid
    dks = max(np.abs(f_emp - f_ref).max(), below)
    p = np.diff(np.concatenate([[below], f_ref]))
    inner = (f_ref > 0) & (f_ref < 1)
    a2 = n * np.sum(((f_emp - f_ref) ** 2 / (f_ref * (1 - f_ref)) * p)[inner])
    return {"ks_d": float(dks), "ks_p": float(stats.kstwo.sf(dks, n)), "ad_a2": float(a2)}


def fail_point(cfg: GrngConfig, codes: np.ndarray, alpha: float = 0.01):
    """The discrete KS p-values of the first n = 2^10, 2^11, ... samples, the smallest n
    from which every p-value is below ``alpha`` (None: the largest n passes) and the
    first n with p < alpha at all (a single one can be chance: 1 % each)."""
    ps = {}
    k = 10
    while (1 << k) <= len(codes):
        ps[1 << k] = discrete_tests(cfg, codes[:1 << k])["ks_p"]
        k += 1
    fails_from = None
    for n in sorted(ps, reverse=True):
        if ps[n] >= alpha:
            break
        fails_from = n
    first = next((n for n in sorted(ps) if ps[n] < alpha), None)
    return fails_from, first, ps


def autocorr(x: np.ndarray, lags: int) -> np.ndarray:
    x = x - x.mean()
    v = np.dot(x, x)
    return np.array([np.dot(x[:-k], x[k:]) / v for k in range(1, lags + 1)])


def measured_period(cfg: GrngConfig, limit: int = 1 << 18):
    """Beats until the first ``w`` beats recur, or None within ``limit`` beats."""
    beats = gm.samples(cfg, limit)
    w = 64
    head = beats[:w]
    for start in range(1, limit - w):
        if np.array_equal(beats[start:start + w], head):
            return start
    return None


def small_period_checks() -> list[dict]:
    """The analytic period against a measured one for small versions of the structures."""
    rows = []
    rlf = GrngConfig(kind="rlf", degree=17, shift=4, lanes=3, bits=6)
    rows.append({"structure": "rlf, degree 17, shift 4", "analytic": gm.period(rlf),
                 "measured": measured_period(rlf, 140_000)})
    src = gm.BitSource(17, [12345], 11)
    bits = src.take(140_000)[0]
    first = next(i for i in range(1, 140_000 - 64) if np.array_equal(bits[i:i + 64], bits[:64]))
    rows.append({"structure": "bit source, degree 17, 11 bits a beat (clt, icdf)",
                 "analytic": (2 ** 17 - 1), "measured": int(first)})
    return rows


def period_text(cfg: GrngConfig) -> str:
    """The period in beats, as a formula."""
    per = gm.period(cfg)
    if per is None:
        return "not known in closed form (Wallace: pool state)"
    p = cfg.degree if cfg.kind == "rlf" else cfg.source_degree
    whole = (1 << p) - 1
    return f"2^{p} - 1" if per == whole else f"(2^{p} - 1) / {whole // per}"


def measure(name: str, keys: dict, log2: int) -> tuple[dict, np.ndarray]:
    cfg = GrngConfig(lanes=4, seed=1, **keys)
    t = time.perf_counter()
    beats = gm.samples(cfg, (1 << log2) // cfg.lanes)
    gen_s = time.perf_counter() - t
    codes = beats.ravel()
    x = codes / cfg.scale
    n = len(x)
    r = {"generator": name, "config": {k: v for k, v in vars(cfg).items()
                                       if v is not None and not k.startswith("_")},
         "scale": cfg.scale, "samples": n, "model_seconds": round(gen_s, 1),
         "mean": float(x.mean()), "variance": float(x.var()),
         "skew": float(stats.skew(x)), "excess_kurtosis": float(stats.kurtosis(x))}
    for k in (3, 4, 5):
        ideal = 2 * stats.norm.sf(k)
        got = float(np.mean(np.abs(x) > k))
        r[f"tail_{k}sigma"] = got
        r[f"tail_{k}sigma_ratio"] = got / ideal
    r.update(discrete_tests(cfg, codes))
    r["ks_pass"] = r["ks_p"] >= 0.01
    r["ad_pass"] = r["ad_a2"] < AD_CRIT_1PCT
    rng = np.random.default_rng(0)
    dither = x + (rng.random(n) - 0.5) * grid_step(cfg) / cfg.scale
    ks = stats.kstest(dither, "norm")
    r["scipy_kstest_dithered"] = {"d": float(ks.statistic), "p": float(ks.pvalue)}
    ad = stats.anderson(dither, dist="norm", method="interpolate")
    r["scipy_anderson_dithered"] = {"a2": float(ad.statistic), "p": float(ad.pvalue)}
    fails_from, first, ps = fail_point(cfg, codes)
    r["ks_fails_at"] = fails_from
    r["ks_first_below_alpha"] = first
    r["ks_p_by_n"] = {str(k): round(v, 4) for k, v in ps.items()}
    lanes = beats / cfg.scale
    ac = np.array([autocorr(lanes[:, j], LAGS) for j in range(cfg.lanes)])
    r["autocorr_lane0"] = [round(float(v), 4) for v in ac[0]]
    r["autocorr_max_abs"] = round(float(np.abs(ac).max()), 4)
    r["autocorr_sq_lag1"] = round(float(autocorr(lanes[:, 0] ** 2, 1)[0]), 4)
    r["period_beats"] = period_text(cfg)
    r["samples_per_cycle"] = cfg.samples_per_cycle
    return r, x


def figure(samples: dict) -> None:
    """Histogram (bins on the generator's grid) against the normal density, and QQ."""
    names = list(samples)
    fig, axes = plt.subplots(2, len(names), figsize=(3.1 * len(names), 6))
    grid = np.linspace(-6, 6, 601)
    for col, name in enumerate(names):
        x, cfg = samples[name]
        ax = axes[0, col]
        d = grid_step(cfg)
        k = int(6 * cfg.scale / d) + 1
        edges = (np.arange(-k, k + 2) * d + (cfg.code_max % 2 if d == 2 else 0) - d / 2) / cfg.scale
        ax.hist(x, bins=edges, density=True, histtype="step", color="C0")
        ax.plot(grid, stats.norm.pdf(grid), color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(1e-8, 1)
        ax.set_title(name, fontsize=8)
        ax = axes[1, col]
        q = np.linspace(1e-6, 1 - 1e-6, 2001)
        ax.plot(stats.norm.ppf(q), np.quantile(x, q), color="C1", lw=1)
        ax.plot([-5, 5], [-5, 5], color="k", lw=0.6)
        ax.set_xlim(-5.2, 5.2)
        ax.set_ylim(-5.2, 5.2)
        ax.set_xlabel("normal quantile", fontsize=8)
        if col == 0:
            axes[0, 0].set_ylabel("density (log)")
            ax.set_ylabel("sample quantile")
    save_figure(fig, "grng_quality")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log2", type=int, default=24, help="log2 of the samples per generator")
    ap.add_argument("--quick", action="store_true", help="2^20 samples, no figure")
    ap.add_argument("--only", help="comma-separated kinds (rlf, wallace, clt, icdf)")
    ap.add_argument("--out", default="grng_quality",
                    help="results file name (benchmarks/results/OUT.json); the figure is "
                    "drawn for the default name only")
    args = ap.parse_args()
    log2 = 20 if args.quick else args.log2
    kinds = set(args.only.split(",")) if args.only else None
    rows, samples = [], {}
    for name, keys in GENERATORS.items():
        if kinds and keys["kind"] not in kinds:
            continue
        r, x = measure(name, keys, log2)
        rows.append(r)
        samples[name] = (x[:1 << 22], GrngConfig(lanes=4, seed=1, **keys))
        print({k: r[k] for k in ("generator", "samples", "variance", "excess_kurtosis",
                                 "ks_d", "ks_p", "ad_a2", "ks_fails_at", "autocorr_max_abs")},
              flush=True)
    periods = small_period_checks()
    save(args.out, {"log2_samples": log2, "rows": rows, "period_checks": periods})
    print(table([{"generator": r["generator"], "var": round(r["variance"], 4),
                  "skew": round(r["skew"], 4), "kurt": round(r["excess_kurtosis"], 4),
                  "3s": round(r["tail_3sigma_ratio"], 3), "4s": round(r["tail_4sigma_ratio"], 3),
                  "5s": round(r["tail_5sigma_ratio"], 3), "KS D": f"{r['ks_d']:.2e}",
                  "KS p": round(r["ks_p"], 3), "AD": round(r["ad_a2"], 2),
                  "fails at": r["ks_fails_at"] or "passes",
                  "rho1": r["autocorr_lane0"][0]} for r in rows]))
    print(table(periods))
    if not args.quick and args.out == "grng_quality":
        figure(samples)


if __name__ == "__main__":
    main()
