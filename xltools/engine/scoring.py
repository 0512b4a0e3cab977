"""Scoring kernels (the standard formulas): normalisation, weights, aggregation, ranks, grades.

Pure numpy, vectorised over objects (rows) and indicators (columns). Each method declared in
xltools/methods.py (id, Chinese label, what it needs) has one kernel here, registered with
@kernel; NORMALIZERS, WEIGHERS and AGGREGATORS are the dispatch tables the ranking and the UDFs
use. `directions` is an array of +1 (正向, benefit) / −1 (负向, cost).
Conventions (documented, and recorded in 计算说明 by the pipeline):
- a constant column normalises to 1 (minmax), 100 (efficacy), 0 (zscore);
- entropy uses 0·ln0 = 0; a constant or all-zero column gets weight 0; n < 2 is an error;
- TOPSIS uses v = w·r (weights outside the square) and an all-constant matrix gives 0.5;
- ranks are Excel RANK.EQ competition ranks on values rounded to 12 significant digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..methods import AGGREGATE, METHODS, NORMALIZE, NORMALIZATIONS, WEIGHTS
from ..methods import AGGREGATIONS, WEIGHTINGS  # noqa: F401  (re-exported: the ids of each kind)

# Saaty's random index, n = 1…15 (n ≤ 2 → CR defined as 0); accept a matrix with CR < 0.10.
SAATY_RI = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
            11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59}


class ScoringError(ValueError):
    """A method cannot be applied to these data (message in Chinese)."""


def _matrix(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a.reshape(-1, 1) if a.ndim == 1 else a


def _dirs(directions, m: int) -> np.ndarray:
    if directions is None:
        return np.ones(m)
    d = np.asarray(directions, dtype=float).reshape(-1)
    if d.size == 1:
        d = np.full(m, d[0])
    if d.size != m or not np.isin(d, (1, -1)).all():
        raise ScoringError("方向应为 1（正向）或 -1（负向），个数与指标数相同")
    return d


def _col_range(x: np.ndarray):
    lo = np.nanmin(x, axis=0)
    hi = np.nanmax(x, axis=0)
    return lo, hi, hi - lo


# --------------------------------------------------------------------------- the registry's kernels
# method id (methods.METHODS) → its kernel, one table per kind; filled by @kernel below
NORMALIZERS: dict[str, Callable[..., np.ndarray]] = {}
WEIGHERS: dict[str, Callable[["WeightInputs"], tuple[np.ndarray, dict[str, str]]]] = {}
AGGREGATORS: dict[str, Callable[..., np.ndarray]] = {}
_KERNELS = {NORMALIZE: NORMALIZERS, WEIGHTS: WEIGHERS, AGGREGATE: AGGREGATORS}


def kernel(method_id: str):
    """Register the decorated function as the kernel of a method declared in methods.METHODS."""
    def register(fn):
        _KERNELS[METHODS[method_id].kind][method_id] = fn
        return fn
    return register


# --------------------------------------------------------------------------- normalisation
def normalize(x, directions=None, method: str = "minmax", *, benchmark=None, cap=None,
              satisfactory=None, impermissible=None) -> np.ndarray:
    """Direction-aware normalisation of each column (NaN stays NaN), by the method's kernel."""
    x = _matrix(x)
    d = _dirs(directions, x.shape[1])
    norm = NORMALIZERS.get(method)
    if norm is None:
        raise ScoringError(f"未知的标准化方法「{method}」，可用：{'、'.join(NORMALIZATIONS)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return norm(x, d < 0, benchmark=benchmark, cap=cap, satisfactory=satisfactory, impermissible=impermissible)


# Each kernel: (matrix, cost columns, keyword parameters it may ignore) → normalised matrix.
@kernel("minmax")
def minmax_norm(x: np.ndarray, cost: np.ndarray, **_) -> np.ndarray:
    lo, hi, span = _col_range(x)
    y = np.where(cost, hi - x, x - lo) / span
    y = np.where(span > 0, y, 1.0)
    return np.where(np.isnan(x), np.nan, y)


@kernel("efficacy")
def efficacy_norm(x: np.ndarray, cost: np.ndarray, *, satisfactory=None, impermissible=None, **_) -> np.ndarray:
    """60 + 40 × minmax, or against 满意值/不允许值 where given (a missing one: the column's best/worst)."""
    if satisfactory is None and impermissible is None:
        return 60.0 + 40.0 * minmax_norm(x, cost)
    lo, hi, _ = _col_range(x)
    sat = np.asarray(satisfactory if satisfactory is not None else np.where(cost, lo, hi), dtype=float)
    imp = np.asarray(impermissible if impermissible is not None else np.where(cost, hi, lo), dtype=float)
    sat = np.where(np.isnan(sat), np.where(cost, lo, hi), sat)
    imp = np.where(np.isnan(imp), np.where(cost, hi, lo), imp)
    denom = sat - imp
    y = np.where(denom != 0, (x - imp) / denom, 1.0)          # not clamped: a value past 满意值 scores above 100 here
    y = np.where(np.isnan(x), np.nan, y)
    return 60.0 + 40.0 * y


@kernel("benchmark")
def benchmark_norm(x: np.ndarray, cost: np.ndarray, *, benchmark=None, cap=None, **_) -> np.ndarray:
    if benchmark is None:
        raise ScoringError("对标法需要每个指标的标杆值")
    b = np.asarray(benchmark, dtype=float)
    if np.any(~np.isfinite(b) | (b <= 0)):
        raise ScoringError("标杆值应为正数")
    y = np.where(cost, b / x, x / b)
    y = np.where(cost & (x <= 0), np.nan, y)
    y = np.maximum(y, 0.0)
    if cap is not None:
        y = np.minimum(y, cap)
    return y


@kernel("vector")
def vector_norm(x: np.ndarray, cost: np.ndarray, **_) -> np.ndarray:
    r = x / np.sqrt(np.nansum(x * x, axis=0))
    return np.where(cost, 1.0 - r, r)


@kernel("sum")
def sum_norm(x: np.ndarray, cost: np.ndarray, **_) -> np.ndarray:
    r = np.where(cost, 1.0 / x, x)
    return r / np.nansum(r, axis=0)


@kernel("max")
def max_norm(x: np.ndarray, cost: np.ndarray, **_) -> np.ndarray:
    return np.where(cost, np.nanmin(x, axis=0) / x, x / np.nanmax(x, axis=0))


@kernel("zscore")
def zscore_norm(x: np.ndarray, cost: np.ndarray, **_) -> np.ndarray:
    mean = np.nanmean(x, axis=0)
    std = np.nanstd(x, axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1])
    z = np.where(std > 0, (x - mean) / std, 0.0)
    z = np.where(np.isnan(x), np.nan, z)
    return np.where(cost, -z, z)


# --------------------------------------------------------------------------- weights
def fixed_weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=float).reshape(-1)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ScoringError("权重应为非负数")
    if w.sum() <= 0:
        raise ScoringError("权重之和应大于 0")
    return w / w.sum()


def _entropy_of(p: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)                      # 0·ln0 = 0
    return -plogp.sum(axis=0) / math.log(n)


def _entropy_from(y: np.ndarray) -> np.ndarray:
    n = y.shape[0]
    if n < 2:
        raise ScoringError("熵权法至少需要 2 个评价对象")
    total = y.sum(axis=0)
    p = np.divide(y, total, out=np.zeros_like(y), where=total > 0)
    e = np.where(total > 0, _entropy_of(p, n), 1.0)                       # constant / all-zero → e = 1
    div = 1.0 - e
    div = np.where(div < 1e-12, 0.0, div)
    if div.sum() <= 0:
        raise ScoringError("所有指标都没有差异（每列取值相同），熵权法无法赋权")
    return div / div.sum()


def entropy_weights(x, directions=None) -> np.ndarray:
    """熵权法 on direction-aware min–max data (rows with missing values are ignored)."""
    x = _matrix(x)
    x = x[~np.isnan(x).any(axis=1)]
    y = normalize(x, directions, "minmax")
    lo, hi, span = _col_range(x) if len(x) else (None, None, np.zeros(x.shape[1]))
    y = np.where(span > 0, y, 0.0)                                      # a constant column carries no information
    return _entropy_from(y)


def entropy_raw_weights(x) -> np.ndarray:
    """The textbook form on raw non-negative data: pᵢⱼ = xᵢⱼ/Σᵢxᵢⱼ, directions ignored."""
    x = _matrix(x)
    x = x[~np.isnan(x).any(axis=1)]
    if np.any(x < 0):
        raise ScoringError("entropy_raw 要求原始数据非负；含负数请改用 entropy")
    return _entropy_from(x)


def ahp_weights(pairwise, ri: dict[int, float] | None = None) -> tuple[np.ndarray, float, float]:
    """Principal-eigenvector weights of a reciprocal pairwise matrix; returns (w, λmax, CR)."""
    a = np.asarray(pairwise, dtype=float)
    n = a.shape[0]
    if a.ndim != 2 or a.shape != (n, n) or n == 0:
        raise ScoringError("判断矩阵应为方阵")
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise ScoringError("判断矩阵的元素应为正数")
    if not np.allclose(a * a.T, 1.0, rtol=1e-3, atol=1e-3):
        raise ScoringError("判断矩阵不是互反矩阵（应满足 aᵢⱼ × aⱼᵢ = 1）")
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    table = ri or SAATY_RI
    if n <= 2:
        cr = 0.0
    else:
        if n not in table or table[n] == 0:
            raise ScoringError(f"随机一致性指标 RI 表中没有 n = {n}")
        cr = ((lam - n) / (n - 1)) / table[n]
    if cr >= 0.1:
        raise ScoringError(f"判断矩阵一致性检验未通过：CR = {cr:.4f} ≥ 0.10，请调整判断矩阵")
    return w, lam, cr


def combined_weights(subjective, objective, alpha: float) -> np.ndarray:
    if not 0 <= alpha <= 1:
        raise ScoringError("组合赋权系数 α 应在 0 到 1 之间")
    w = alpha * fixed_weights(subjective) + (1 - alpha) * fixed_weights(objective)
    return w / w.sum()


@dataclass
class WeightInputs:
    """What a weighting may use (each method takes what it declares in methods.METHODS): the
    complete rows, their directions, the stated weights (NaN → 0; all ones when none are stated),
    the AHP pairwise matrix and the combination coefficient α."""
    x: np.ndarray | None = None
    directions: np.ndarray | None = None
    stated: np.ndarray | None = None
    pairwise: object = None
    alpha: float = 0.5


# Each kernel: WeightInputs → (weights summing to 1, 计算说明 lines it adds).
@kernel("fixed")
def fixed_kernel(inp: WeightInputs) -> tuple[np.ndarray, dict[str, str]]:
    return fixed_weights(inp.stated), {}


@kernel("entropy")
def entropy_kernel(inp: WeightInputs) -> tuple[np.ndarray, dict[str, str]]:
    return entropy_weights(inp.x, inp.directions), {}


@kernel("entropy_raw")
def entropy_raw_kernel(inp: WeightInputs) -> tuple[np.ndarray, dict[str, str]]:
    return entropy_raw_weights(inp.x), {}


@kernel("ahp")
def ahp_kernel(inp: WeightInputs) -> tuple[np.ndarray, dict[str, str]]:
    if inp.pairwise is None:
        raise ScoringError("层次分析法（AHP）赋权需要判断矩阵（「参数」表的「AHP判断矩阵」）")
    w, lam, cr = ahp_weights(inp.pairwise)
    if inp.x is not None and len(w) != inp.x.shape[1]:
        raise ScoringError(f"判断矩阵为 {len(w)} 阶，但有 {inp.x.shape[1]} 个指标")
    return w, {"AHP一致性": f"λmax = {lam:.4f}，CR = {cr:.4f}（< 0.10，通过）"}


@kernel("combined")
def combined_kernel(inp: WeightInputs) -> tuple[np.ndarray, dict[str, str]]:
    w = combined_weights(inp.stated, entropy_weights(inp.x, inp.directions), inp.alpha)
    return w, {"组合赋权": f"α = {inp.alpha}：α × 主观权重 + (1 − α) × 熵权"}


# --------------------------------------------------------------------------- aggregation
def wsum(normalized, weights) -> np.ndarray:
    """Σ wⱼ·nᵢⱼ with weights summing to 1 (no extra scaling)."""
    return _matrix(normalized) @ fixed_weights(weights)


def topsis_ideals(x: np.ndarray, w: np.ndarray, d: np.ndarray, normalization: str = "vector"):
    """TOPSIS's normalised matrix r, weighted matrix v = w·r and the ideal / anti-ideal points by
    direction (shared by `topsis` and the 得分分析 of a TOPSIS ranking)."""
    if normalization == "vector":
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = np.sqrt((x * x).sum(axis=0))
            r = np.where(norm > 0, x / norm, 0.0)
        v = r * w
        best = np.where(d > 0, v.max(axis=0), v.min(axis=0))
        worst = np.where(d > 0, v.min(axis=0), v.max(axis=0))
    elif normalization == "minmax":
        r = normalize(x, d, "minmax")                                      # already direction-aware
        v = r * w
        best, worst = v.max(axis=0), v.min(axis=0)
    else:
        raise ScoringError("TOPSIS 的标准化方法应为 vector 或 minmax")
    return r, v, best, worst


# Each kernel: (raw matrix, weights, directions, normalisation, its parameters) → one score per row,
# over one normalisation scope.
@kernel("wsum")
def wsum_scores(x, weights, directions=None, normalization: str = "minmax", **anchors) -> np.ndarray:
    """Σ wⱼ·nᵢⱼ of the raw matrix normalised by `normalization` (one normalisation scope)."""
    return wsum(normalize(x, directions, normalization, **anchors), weights)


def topsis(x, weights, directions=None, normalization: str = "vector") -> np.ndarray:
    """Closeness D⁻/(D⁺+D⁻); v = w·r; ideal by direction; all-constant matrix → 0.5."""
    x = _matrix(x)
    d = _dirs(directions, x.shape[1])
    _, v, best, worst = topsis_ideals(x, fixed_weights(weights), d, normalization)
    d_plus = np.sqrt(((v - best) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - worst) ** 2).sum(axis=1))
    total = d_plus + d_minus
    return np.divide(d_minus, total, out=np.full(len(v), 0.5), where=total > 0)


@kernel("topsis")
def topsis_scores(x, weights, directions=None, normalization: str = "vector", **_) -> np.ndarray:
    """TOPSIS closeness (its vector and minmax normalisations take no parameters)."""
    return topsis(x, weights, directions, normalization)


# --------------------------------------------------------------------------- ranks
def round_sig(x, digits: int = 12) -> np.ndarray:
    """Round to `digits` significant digits so floating-point noise never splits a tie."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag = np.where(np.isfinite(mag), mag, 0.0)
    scale = digits - 1 - mag
    # split the power so that neither factor overflows for very large or small numbers
    half = np.floor(scale / 2)
    out = np.round(x * 10.0 ** half * 10.0 ** (scale - half)) / 10.0 ** half / 10.0 ** (scale - half)
    return np.where(np.isfinite(x), out, x)


def competition_rank(values, groups=None, descending: bool = True) -> np.ndarray:
    """Excel RANK.EQ(x, range, 0|1) within each group: ties share the best rank; NaN → NaN."""
    v = round_sig(values)
    s = pd.Series(v)
    if groups is None:
        r = s.rank(method="min", ascending=not descending)
    else:
        r = s.groupby(_group_keys(groups, len(s)), dropna=False).rank(method="min", ascending=not descending)
    return r.to_numpy(dtype=float)


# --------------------------------------------------------------------------- grades
ROUNDING = {"floor": np.floor, "ceil": np.ceil, "round": lambda a: np.floor(a + 0.5)}


def grade_by_cutoffs(scores, cutoffs, labels) -> np.ndarray:
    """Score thresholds, best first: cutoffs [90, 80, 60] with 4 labels → ≥90, ≥80, ≥60, rest."""
    s = np.asarray(scores, dtype=float)
    cut = np.asarray(cutoffs, dtype=float)
    if len(labels) != len(cut) + 1:
        raise ScoringError("等次名称应比分数线多一个")
    if np.any(np.diff(cut) > 0):
        raise ScoringError("分数线应从高到低排列")
    idx = (s[:, None] < cut[None, :]).sum(axis=1)
    out = np.asarray(labels, dtype=object)[idx]
    return np.where(np.isnan(s), None, out)


def grade_by_shares(scores, shares, labels, groups=None, rounding="round", ties: str = "include") -> np.ndarray:
    """Forced distribution: cumulative shares of the ranked list per group (last label = rest).

    shares [0.25, 0.45, 0.25] with labels A/B/C/D: A = top 25 %, B up to 70 %, C up to 95 %,
    D the rest; each quota = rounding(n × cumulative share) ('floor' for caps, 'ceil' for floors,
    'round' = 四舍五入; a list gives one mode per grade). Ties at a cut-off: 'include' gives all
    tied objects the better grade (the quota may be exceeded), 'exclude' moves them all down.
    """
    s = np.asarray(scores, dtype=float)
    shares = np.asarray(shares, dtype=float)
    if len(labels) != len(shares) + 1:
        raise ScoringError("等次名称应比比例多一个（最后一档为其余）")
    if np.any(shares < 0) or shares.sum() > 1 + 1e-9:
        raise ScoringError("等次比例应为非负数且合计不超过 100%")
    modes = rounding if isinstance(rounding, (list, tuple)) else [rounding] * len(shares)
    best = competition_rank(s, groups)                     # best rank of each tie group
    worst = worst_rank(s, groups)                          # last position of each tie group
    n = pd.Series(np.isfinite(s)).groupby(_group_keys(groups, len(s))).transform("sum").to_numpy(dtype=float)
    cum = np.cumsum(shares)
    quotas = np.column_stack([ROUNDING[m](n * c + 1e-9) for m, c in zip(modes, cum)])
    pos = best if ties == "include" else worst
    idx = (pos[:, None] > quotas).sum(axis=1)
    out = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    return np.where(np.isnan(s), None, out)


def _group_keys(groups, n):
    """One or several group columns → pandas groupby keys (a plain list of labels is one column)."""
    if groups is None:
        return [pd.Series(np.zeros(n))]
    several = isinstance(groups, list) and groups and isinstance(groups[0], (list, tuple, np.ndarray, pd.Series))
    return [pd.Series(np.asarray(g, dtype=object)) for g in (groups if several else [groups])]


def worst_rank(values, groups=None) -> np.ndarray:
    """The last position of each tie group (RANK.EQ's rank + ties − 1): where a tie ends."""
    v = pd.Series(round_sig(values))
    return v.groupby(_group_keys(groups, len(v)), dropna=False).rank(method="max", ascending=False).to_numpy(dtype=float)


_UNIMPLEMENTED = [m for m, spec in METHODS.items() if m not in _KERNELS[spec.kind]]
if _UNIMPLEMENTED:                      # a method declared without a kernel: fail at import, not mid-run
    raise ImportError(f"methods.METHODS declares {_UNIMPLEMENTED} without a kernel in engine/scoring.py")
