"""得分分析: why a zone ranks where it does (pure; from a ranking result, vectorised).

For a weighted sum the composite score is Σ 权重ⱼ × 标准化值ᵢⱼ × scale (+ 加分 − 扣分), so each
indicator's points are additive: for every zone and indicator the sheet shows the value, the
normalised value, the weight, the most the indicator can give (满分), the points gained (得分),
the points of the group's first-ranked zone on it and how many fewer this zone got
(较组内第一少得). Summed over a zone's indicators — with a 加分/扣分 row where there is one — the
points lost are exactly the gap between its composite score and the group's first (the 合计 row).

TOPSIS scores are not sums: closeness = D⁻/(D⁺+D⁻), the distances of a zone's weighted values to
the group's ideal (best on every indicator) and anti-ideal (worst on every indicator) points. So
for TOPSIS each indicator's share of the squared distances is shown instead: a large share of D⁺
means that indicator keeps the zone far from the best; a large share of D⁻ that it lifts it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..methods import AGGREGATE, DEFAULTS, METHODS, normalization_for
from ..results import ANALYSIS, DECLARED, TRAJECTORY
from . import scoring as sc

ANALYSIS_COLUMNS = DECLARED[ANALYSIS].names
TOTAL = "合计"
ADJUST = "加分/扣分"


def _scale(notes: dict) -> float:
    m = re.match(r"\s*([\d.]+)\s*×", str(notes.get("综合得分", "")))
    return float(m.group(1)) if m else 100.0


def _values(tables: dict, names: list[str], zones: pd.Series, year: int) -> pd.DataFrame:
    """Raw indicator values (zone × indicator) of the assessment year, as the ranking read them."""
    from .ranking import indicator_table

    data = indicator_table(tables["indicators"], keep=[*names, "加分", "扣分"])
    cur = data[pd.to_numeric(data["year"], errors="coerce") == year].drop_duplicates("zone").set_index("zone")
    out = pd.DataFrame(index=pd.Index(zones, name="zone"))
    for col in [*names, "加分", "扣分"]:
        out[col] = pd.to_numeric(cur[col], errors="coerce").reindex(zones).to_numpy() if col in cur else np.nan
    return out


def _filled(x: np.ndarray, valid: np.ndarray, gcodes: np.ndarray) -> np.ndarray:
    """Missing values at the mean of the zone's group (the default policy), as ranked; rows not ranked NaN."""
    out = np.full(x.shape, np.nan)
    for g in np.unique(gcodes):                    # one numpy pass per group, not per zone
        idx = np.flatnonzero((gcodes == g) & valid)
        if len(idx):
            xg = x[idx]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[idx] = np.where(np.isnan(xg), np.nanmean(xg, axis=0), xg)
    return out


def _normalised(x: np.ndarray, valid: np.ndarray, ncodes: np.ndarray, system: pd.DataFrame, method: str) -> np.ndarray:
    """Normalised values recomputed from the (filled) raw ones over the zones normalised together
    (`ncodes`: all zones assessed together, or each group where the profile asks); NaN where the
    method is not one recomputed here. The caller keeps them only where they reproduce the
    ranking's points, else falls back to points ÷ 满分."""
    out = np.full(x.shape, np.nan)
    if not METHODS[method].group_aware:        # a method with parameters of its own (对标法's benchmarks)
        return out
    dirs = np.where(system["方向"].to_numpy() == "负向", -1.0, 1.0)
    for g in np.unique(ncodes):
        idx = np.flatnonzero((ncodes == g) & valid)
        if len(idx):
            out[idx] = sc.normalize(x[idx], dirs, method)
    return out


POINT_DECIMALS = 6      # 「考核排名」 stores each indicator's points (…得分) to 6 decimals, 权重 to 6 decimals


def _weights_ranked_on(stated: np.ndarray, points: np.ndarray, normalised: np.ndarray, scale: float) -> np.ndarray:
    """The weights the ranking used. 「指标权重」 states them to 6 decimals; a stated weight is the one
    used when it reproduces every zone's points (stored to 6 decimals) from the recomputed normalised
    values. Otherwise (weights with more digits: entropy, AHP) the weight is read back from the zone
    with the largest normalised value — the most precise estimate — and kept only to the digits the
    points carry (a read-back from a small normalised value would turn the points' rounding into
    noise: 0.2500003071 for 0.25)."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        known = np.isfinite(points) & np.isfinite(normalised)
        off = np.abs(stated * normalised * scale - points)
        reproduces = np.all(~known | (off <= 10.0 ** -POINT_DECIMALS), axis=0)
        top = np.where(known, normalised, -np.inf)
        at = np.argmax(top, axis=0)
        cols = np.arange(len(stated))
        biggest = top[at, cols]
        estimate = points[at, cols] / (biggest * scale)
        digits = POINT_DECIMALS + int(np.ceil(np.log10(max(scale, 1.0))))
        estimate = np.round(estimate, digits)
    usable = np.isfinite(estimate) & (biggest > 0.01) & np.isclose(estimate, stated, atol=1e-6)
    return np.where(reproduces | ~usable, stated, estimate)


@dataclass
class _Basis:
    """What every row of 得分分析 is built from: the ranking's zones, values, scores and groups."""
    names: list
    w: np.ndarray
    scale: float
    zones: pd.Series
    year: np.ndarray
    x: np.ndarray                   # raw values of the assessment year
    filled: np.ndarray              # missing values at the group mean, as ranked
    adjust: np.ndarray              # 加分 − 扣分
    score: np.ndarray
    group: np.ndarray
    ncodes: np.ndarray              # the zones normalised together
    valid: np.ndarray               # ranked
    best: np.ndarray                # each zone's group's first-ranked zone
    best_valid: np.ndarray
    method: str
    normalize: str


@dataclass
class _Parts:
    """Per zone and indicator: what the method explains (points, or shares of the distances)."""
    w: np.ndarray
    points: np.ndarray
    normalised: np.ndarray
    best_points: np.ndarray
    lost: np.ndarray
    plus_share: np.ndarray
    minus_share: np.ndarray
    item_note: np.ndarray
    total_note: np.ndarray


def score_analysis(tables: dict, result) -> pd.DataFrame:
    """The 得分分析 table of a ranking result (ranking.RankResult): one row per zone and indicator,
    then a 合计 row per zone, zones in the order of 考核排名. Values are normalised as the ranking
    did (over all the zones assessed together, or per group where the profile asks);
    points lost are always against the first of the zone's group. Zones of different profiles
    were ranked apart: each part is analysed on its own."""
    parts = getattr(result, "parts", None) or {}
    if len(parts) > 1:
        frames = [score_analysis(tables, part) for part in parts.values()]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ANALYSIS_COLUMNS)
    ranking, system = result.ranking, result.system
    if ranking is None or system is None or not len(ranking) or not len(system) or \
            ranking["综合得分"].isna().all():          # every zone 数据缺失 (not in 开发区): nothing to analyse
        return pd.DataFrame(columns=ANALYSIS_COLUMNS)
    b = _basis(tables, result)
    additive = METHODS[b.method].additive
    explained = _points(b, ranking, system) if additive else _distance_shares(b, system)
    return _rows(b, explained, additive)


def _basis(tables: dict, result) -> _Basis:
    """The ranking's zones, raw values, scores and groups, and each group's first-ranked zone."""
    ranking, system, notes = result.ranking, result.system, result.notes
    names = list(system["指标"])
    n = len(ranking)
    zones = ranking["开发区名称"]
    raw = _values(tables, names, zones, int(notes["考核年度"]))
    x = raw[names].to_numpy(dtype=float)
    score = ranking["综合得分"].to_numpy(dtype=float)
    group = ranking["分组"].astype(str).to_numpy()
    gcodes = pd.factorize(group)[0]
    # the zones normalised together: all of them, unless the profile normalises per group (总排名 empty)
    ncodes = gcodes if getattr(result, "within_groups", False) else np.zeros(n, dtype=np.int64)
    adjust = np.nan_to_num(raw["加分"].to_numpy(dtype=float)) - np.nan_to_num(raw["扣分"].to_numpy(dtype=float))

    # the first-ranked zone of each group (highest score; the first listed on a tie)
    valid = np.isfinite(score)
    key = np.where(valid, score, -np.inf)
    order = np.lexsort((np.arange(n), -key, gcodes))
    first_of_group = np.full(gcodes.max() + 1, -1)
    starts = np.r_[True, gcodes[order][1:] != gcodes[order][:-1]]
    first_of_group[gcodes[order][starts]] = order[starts]
    best = first_of_group[gcodes]
    # the method codes (RankResult.method/normalize); 计算说明's 评价方法/标准化方法 are Chinese sentences
    method = getattr(result, "method", "") or DEFAULTS[AGGREGATE]
    return _Basis(names, system["权重"].to_numpy(dtype=float), _scale(notes), zones, ranking["年度"].to_numpy(), x,
                  _filled(x, valid, gcodes),
                  adjust, score, group, ncodes, valid, best, valid[best],
                  method, getattr(result, "normalize", "") or METHODS[DEFAULTS[AGGREGATE]].default_normalize)


def _distance_shares(b: _Basis, system: pd.DataFrame) -> _Parts:
    """TOPSIS: each indicator's share of the squared distances to the ideal and anti-ideal points."""
    n, m = len(b.score), len(b.names)
    points, normalised, lost, best_points = (np.full((n, m), np.nan) for _ in range(4))
    plus_share, minus_share = np.full((n, m), np.nan), np.full((n, m), np.nan)
    closeness = np.full(n, np.nan)
    tnorm = normalization_for(b.method, b.normalize)
    dirs = np.where(system["方向"].to_numpy() == "负向", -1.0, 1.0)
    for g in np.unique(b.ncodes):                      # one numpy pass per normalisation scope, not per zone
        idx = np.flatnonzero((b.ncodes == g) & b.valid)
        if not len(idx):
            continue
        r, v, hi, lo = sc.topsis_ideals(b.filled[idx], b.w, dirs, tnorm)
        dp, dm = (v - hi) ** 2, (v - lo) ** 2
        sp, sm = dp.sum(axis=1, keepdims=True), dm.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            plus_share[idx] = np.where(sp > 0, dp / sp, 0.0)
            minus_share[idx] = np.where(sm > 0, dm / sm, 0.0)
            total = np.sqrt(sp[:, 0]) + np.sqrt(sm[:, 0])
            closeness[idx] = np.where(total > 0, np.sqrt(sm[:, 0]) / total, 0.5)
        normalised[idx] = r
    agrees = np.isclose(closeness * b.scale + b.adjust, b.score, atol=1e-5)
    total_note = np.where(b.valid, np.where(agrees, "TOPSIS：综合得分 = " + f"{b.scale:g}" + " × 贴近度 D⁻/(D⁺+D⁻)；"
                                            "各指标一行给出其占到正理想点距离平方（D⁺²）和到负理想点距离平方（D⁻²）的比例："
                                            "占 D⁺² 多的指标拉低得分，占 D⁻² 多的指标抬高得分",
                                            "按本表重算的贴近度与「考核排名」不一致（缺失值处理不同），请以「考核排名」为准"),
                          "未参与排名")
    return _Parts(b.w, points, normalised, best_points, lost, plus_share, minus_share,
                  np.full((n, m), "", dtype=object), total_note)


def _points(b: _Basis, ranking: pd.DataFrame, system: pd.DataFrame) -> _Parts:
    """An additive composite: each indicator's points, and how many fewer than the group's first."""
    n, m = len(b.score), len(b.names)
    points = np.column_stack([pd.to_numeric(ranking.get(f"{name}得分"), errors="coerce").to_numpy(dtype=float)
                              if f"{name}得分" in ranking else np.full(n, np.nan) for name in b.names])
    full = b.w * b.scale
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.where(full > 0, np.round(points / full, 6), np.nan)
    direct = _normalised(b.filled, b.valid, b.ncodes, system, b.normalize)
    agrees = np.isclose(direct * full, points, atol=1e-5)
    normalised = np.where(agrees | (full == 0), direct, normalised)
    w = _weights_ranked_on(b.w, points, np.where(agrees, direct, np.nan), b.scale)
    best, valid = b.best, b.valid
    best_points = np.where(b.best_valid[:, None], points[best], np.nan)
    lost = np.round(best_points - points, POINT_DECIMALS)     # differences of 6-decimal points, no float noise
    gap = np.where(valid & b.best_valid, b.score[best] - b.score, np.nan)
    lost_rows = np.where(np.isnan(lost), -np.inf, lost)
    worst = np.argmax(lost_rows, axis=1)
    worst_lost = lost_rows[np.arange(n), worst]
    best_name = b.zones.to_numpy(dtype=object)[best]
    first = best == np.arange(n)
    item_note = np.where(lost < -1e-9, "高于组内第一", "").astype(object)
    item_note = np.where(np.isfinite(lost), item_note, "")
    total_note = np.select(
        [~valid, first, worst_lost > 0],
        ["未参与排名", "组内第一",
         "比组内第一（" + best_name.astype(str) + "）少 " + pd.Series(gap).map("{:.2f}".format).to_numpy()
         + " 分，其中「" + np.array(b.names, dtype=object)[worst] + "」少得最多（"
         + pd.Series(worst_lost).map("{:.2f}".format).to_numpy() + " 分）"],
        "与组内第一得分相同")
    nan = np.full((n, m), np.nan)
    return _Parts(w, points, normalised, best_points, lost, nan, nan.copy(), item_note, total_note)


def _rows(b: _Basis, p: _Parts, additive: bool) -> pd.DataFrame:
    """The indicator rows, a 加分/扣分 row where there is one, and the 合计 row of each zone, in zone order."""
    n, m, scale, best, valid, adjust = len(b.score), len(b.names), b.scale, b.best, b.valid, b.adjust
    zone_arr, year, group = b.zones.to_numpy(dtype=object), b.year, b.group
    has_adjust = (adjust != 0) | (np.isfinite(adjust[best]) & (adjust[best] != 0))
    cols = {
        "开发区名称": np.repeat(zone_arr, m), "年度": np.repeat(year, m), "分组": np.repeat(group, m),
        "指标": np.tile(np.array(b.names, dtype=object), n), "指标值": b.x.ravel(), "标准化值": p.normalised.ravel(),
        "权重": np.tile(p.w, n), "满分": np.tile(np.round(p.w * scale, POINT_DECIMALS + 3), n), "得分": p.points.ravel(),
        "组内第一得分": p.best_points.ravel(), "较组内第一少得": p.lost.ravel(),
        "距正理想点贡献": p.plus_share.ravel(), "距负理想点贡献": p.minus_share.ravel(), "说明": p.item_note.ravel(),
    }
    items = pd.DataFrame(cols)
    items["_zone"], items["_part"] = np.repeat(np.arange(n), m), 0
    adj_best = adjust[best]
    extra = pd.DataFrame({
        "开发区名称": zone_arr, "年度": year, "分组": group, "指标": ADJUST, "指标值": np.nan, "标准化值": np.nan,
        "权重": np.nan, "满分": np.nan, "得分": adjust, "组内第一得分": np.where(not additive, np.nan, adj_best),
        "较组内第一少得": np.where(not additive, np.nan, adj_best - adjust), "距正理想点贡献": np.nan,
        "距负理想点贡献": np.nan, "说明": "「指标」表的加分减扣分", "_zone": np.arange(n), "_part": 1})
    extra = extra[has_adjust & valid]
    totals = pd.DataFrame({
        "开发区名称": zone_arr, "年度": year, "分组": group, "指标": TOTAL, "指标值": np.nan, "标准化值": np.nan,
        "权重": np.nan, "满分": np.where(valid, scale, np.nan), "得分": b.score,
        "组内第一得分": np.where(b.best_valid, b.score[best], np.nan),
        "较组内第一少得": np.where(valid & b.best_valid, np.round(b.score[best] - b.score, POINT_DECIMALS), np.nan),
        "距正理想点贡献": np.nan, "距负理想点贡献": np.nan, "说明": p.total_note, "_zone": np.arange(n), "_part": 2})
    out = pd.concat([items, extra, totals], ignore_index=True)
    out = out.sort_values(["_zone", "_part"], kind="stable").drop(columns=["_zone", "_part"]).reset_index(drop=True)
    if not additive:
        return out.drop(columns=["满分", "组内第一得分"]).assign(较组内第一少得=out["较组内第一少得"].where(out["指标"] == TOTAL))
    return out.drop(columns=["距正理想点贡献", "距负理想点贡献"])


TRAJECTORY_COLUMNS = DECLARED[TRAJECTORY].names


def rank_trajectory(history: pd.DataFrame | None, ranking: pd.DataFrame, suggestions: pd.DataFrame) -> pd.DataFrame:
    """Ranks over the years (历年排名, then this year's 考核排名) of the zones 奖惩建议 sanctions
    (类别 约束), for the trajectory chart; empty when there is no earlier year to show."""
    if history is None or not len(history) or suggestions is None or not len(suggestions):
        return pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    kind = suggestions["类别"] if "类别" in suggestions else pd.Series("约束", index=suggestions.index)
    zones = list(pd.unique(suggestions.loc[kind == "约束", "开发区名称"]))
    past = history[history["zone"].isin(zones)]
    if past.empty:
        return pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    before = pd.DataFrame({"开发区名称": past["zone"], "年度": pd.to_numeric(past["year"], errors="coerce"),
                           "分组": past["group"] if "group" in past else None,
                           "总排名": pd.to_numeric(past["rank"], errors="coerce") if "rank" in past else np.nan,
                           "组内排名": pd.to_numeric(past["group_rank"], errors="coerce") if "group_rank" in past else np.nan,
                           "来源": "历年排名"})
    zones = [z for z in zones if z in set(past["zone"])]          # a line needs earlier years
    now = ranking[ranking["开发区名称"].isin(zones)]
    now = pd.DataFrame({"开发区名称": now["开发区名称"], "年度": pd.to_numeric(now["年度"]), "分组": now["分组"],
                        "总排名": now["总排名"], "组内排名": now["组内排名"], "来源": "本年考核排名"})
    out = pd.concat([before, now], ignore_index=True).drop_duplicates(["开发区名称", "年度"], keep="last")
    order = {z: i for i, z in enumerate(zones)}
    out = out.assign(_z=out["开发区名称"].map(order)).sort_values(["_z", "年度"], kind="stable")
    return out.drop(columns="_z").reset_index(drop=True)[TRAJECTORY_COLUMNS]
