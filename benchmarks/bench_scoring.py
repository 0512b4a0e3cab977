"""Scoring speed: 1,000,000 rows × 10 indicators, entropy weights + TOPSIS + overall and group ranks.

Usage:  python benchmarks/bench_scoring.py [--rows 1000000] [--groups 20] [--naive-rows 20000]

Compares in one run:
  engine  — xltools.engine.scoring.entropy_weights + ranking.aggregate (TOPSIS within groups)
            + scoring.competition_rank (overall and within groups): what `xltools rank` runs;
  kernel  — the bare numpy kernel of the same maths (no checks, no 12-digit tie rounding);
  naive   — a per-row Python loop of the same maths, timed on --naive-rows rows and scaled.
The three agree (checked) before the times are printed.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from xltools.engine import scoring as sc
from xltools.engine.ranking import aggregate


def kernel(x, d, codes):
    y = (np.where(d > 0, x - x.min(0), x.max(0) - x)) / (x.max(0) - x.min(0))
    p = y / y.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -np.where(p > 0, p * np.log(p), 0).sum(0) / math.log(len(x))
    w = (1 - e) / (1 - e).sum()
    score = np.empty(len(x))
    order = np.argsort(codes, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        g = x[idx]
        v = g / np.sqrt((g * g).sum(0)) * w
        best = np.where(d > 0, v.max(0), v.min(0))
        worst = np.where(d > 0, v.min(0), v.max(0))
        dp = np.sqrt(((v - best) ** 2).sum(1))
        dm = np.sqrt(((v - worst) ** 2).sum(1))
        score[idx] = dm / (dp + dm)
    # competition ranks, descending, overall and within groups
    o = np.lexsort((-score,))
    s = score[o]
    first = np.r_[True, s[1:] != s[:-1]]
    overall = np.empty(len(x))
    overall[o] = np.maximum.accumulate(np.where(first, np.arange(1, len(x) + 1), 0))
    o = np.lexsort((-score, codes))
    s, c = score[o], codes[o]
    new_group = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(new_group, np.arange(len(x)), 0))
    first = new_group | np.r_[True, s[1:] != s[:-1]]
    within = np.empty(len(x))
    within[o] = np.maximum.accumulate(np.where(first, np.arange(len(x)), 0)) - start + 1
    return w, score, overall, within


def engine(x, d, codes):
    w = sc.entropy_weights(x, d)
    score, _ = aggregate(x, codes, w, d, "topsis", "vector", scale=1.0, item_scores=False)
    return w, score, sc.competition_rank(score), sc.competition_rank(score, codes)


def naive(x, d, codes):
    n, m = len(x), len(x[0])
    lo = [min(x[i][j] for i in range(n)) for j in range(m)]
    hi = [max(x[i][j] for i in range(n)) for j in range(m)]
    e = []
    for j in range(m):
        ys = [((x[i][j] - lo[j]) if d[j] > 0 else (hi[j] - x[i][j])) / (hi[j] - lo[j]) for i in range(n)]
        tot = sum(ys)
        e.append(-sum((y / tot) * math.log(y / tot) for y in ys if y > 0) / math.log(n))
    w = [(1 - v) / sum(1 - u for u in e) for v in e]
    score = [0.0] * n
    for g in set(codes.tolist()):
        rows = [i for i in range(n) if codes[i] == g]
        norms = [math.sqrt(sum(x[i][j] ** 2 for i in rows)) for j in range(m)]
        v = {i: [x[i][j] / norms[j] * w[j] for j in range(m)] for i in rows}
        best = [max(v[i][j] for i in rows) if d[j] > 0 else min(v[i][j] for i in rows) for j in range(m)]
        worst = [min(v[i][j] for i in rows) if d[j] > 0 else max(v[i][j] for i in rows) for j in range(m)]
        for i in rows:
            dp = math.sqrt(sum((v[i][j] - best[j]) ** 2 for j in range(m)))
            dm = math.sqrt(sum((v[i][j] - worst[j]) ** 2 for j in range(m)))
            score[i] = dm / (dp + dm)
    ordered = sorted(score, reverse=True)
    first = {}
    for pos, s in enumerate(ordered, start=1):
        first.setdefault(s, pos)
    overall = [first[s] for s in score]
    return w, score, overall


def timed(fn, *args, repeat=3):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=20)
    ap.add_argument("--naive-rows", type=int, default=20_000)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    x = rng.lognormal(mean=2.0, sigma=0.8, size=(args.rows, 10))
    d = np.array([1, 1, 1, 1, 1, 1, 1, -1, -1, 1], dtype=float)
    codes = rng.integers(0, args.groups, size=args.rows)

    t_kernel, ref = timed(kernel, x, d, codes)
    t_engine, got = timed(engine, x, d, codes)
    assert np.allclose(ref[0], got[0]) and np.allclose(ref[1], got[1], atol=1e-12)
    assert (ref[2] == got[2]).mean() > 0.9999 and (ref[3] == got[3]).mean() > 0.9999  # 12-digit tie rounding
    tracemalloc.start()
    engine(x, d, codes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    k = args.naive_rows
    xs, cs = x[:k], codes[:k]
    t_naive, naive_out = timed(naive, xs.tolist(), d.tolist(), cs, repeat=1)
    small = engine(xs, d, cs)
    assert np.allclose(naive_out[0], small[0]) and np.allclose(naive_out[1], small[1], atol=1e-9)
    t_naive_scaled = t_naive * args.rows / k

    print(f"{args.rows:,} rows × 10 indicators, {args.groups} groups: entropy weights + TOPSIS + overall/group ranks")
    print(f"bare numpy kernel : {t_kernel:7.3f} s")
    print(f"xltools engine    : {t_engine:7.3f} s   ({t_engine / t_kernel:.2f}× the kernel; peak extra memory "
          f"{peak / 2**20:.0f} MiB for {x.nbytes / 2**20:.0f} MiB of input)")
    print(f"naive Python loop : {t_naive:7.3f} s on {k:,} rows → ≈ {t_naive_scaled:,.0f} s for {args.rows:,} rows "
          f"({t_naive_scaled / t_engine:,.0f}× slower than the engine)")


if __name__ == "__main__":
    main()
