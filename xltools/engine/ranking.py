"""Assessment ranking pipeline (SPEC §5.4): indicators → groups → normalise → weigh → score →
bonus/deduction/veto → ranks → grades → movement. Sanctions (§5.5) and staff ranking (§5.6)
live in `sanctions.py` and `staff.py`.

Everything here is column-wise numpy/pandas; the method choices come from options (CLI flags,
ribbon, UDF), the 参数 sheet, a named preset, the workbook's 指标体系 or the zones' profile,
in that order. Which profile the zones follow is decided by profiles/resolve.py; zones that
follow different profiles are ranked apart, each by its own. `notes` records what was used so
a published result can be reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..profiles import Profile, presets
from ..profiles.display import METHOD_NAMES, percent_list, say
from ..schema import SHEETS_BY_KEY
from . import scoring as sc
from .indicators import derive
from .quota import zone_facts

# How a missing indicator value is treated (参数「缺失值处理」) → what 计算说明 says.
MISSING_POLICIES = {"mean": "按组内平均值补齐", "zero": "按 0 计", "exclude": "含缺失值的开发区不参与排名"}
RANK_COLUMNS = ["开发区名称", "年度", "分组", "综合得分", "总排名", "组内排名", "等次", "排名变化"]
# Columns of the 开发区 sheet a ranking may be grouped by (Chinese header → fact key), from the schema.
GROUP_KEYS = {c.header: c.key for c in SHEETS_BY_KEY["zones"].columns
              if c.key in ("level", "zone_type", "county", "region", "admin_rank", "governance")}
DIRECTIONS = {"正向": 1.0, "负向": -1.0, "逆向": -1.0, "+": 1.0, "-": -1.0, "1": 1.0, "-1": -1.0,
              1: 1.0, -1: -1.0, 1.0: 1.0, -1.0: -1.0}


@dataclass
class RankOptions:
    method: str | None = None        # wsum | topsis
    weights: str | None = None       # fixed | entropy | entropy_raw | ahp | combined
    normalize: str | None = None
    by: list[str] | None = None      # group columns (Chinese or keys)
    preset: str | None = None
    year: int | None = None
    alpha: float = 0.5               # combined weighting: α·subjective + (1−α)·entropy
    pairwise: list[list[float]] | None = None
    missing: str | None = None       # mean | zero | exclude


@dataclass
class RankResult:
    ranking: pd.DataFrame
    notes: dict[str, str] = field(default_factory=dict)
    system: pd.DataFrame | None = None
    group_of: pd.Series | None = None
    parts: dict = field(default_factory=dict)    # profile key → its RankResult (zones ranked apart)
    resolution: object = None                    # the profiles.resolve.Resolution used


def indicator_table(indicators: pd.DataFrame, keep: list[str] | None = None) -> pd.DataFrame:
    """zone, year and every raw (by Chinese header) and derived indicator, one row per zone-year.

    `keep` limits the table to those columns (besides zone and year) — on an enterprise-level
    sheet of 200,000 rows the unused ones would only cost memory.
    """
    derived, _ = derive(indicators, None if keep is None else set(keep))
    headers = {c.key: c.header for c in SHEETS_BY_KEY["indicators"].columns}
    raw = indicators.rename(columns={k: v for k, v in headers.items() if k not in ("zone", "year")})
    raw = raw.loc[:, ~raw.columns.duplicated()]
    if keep is not None:
        wanted = {"zone", "year", *keep}
        raw = raw[[c for c in raw.columns if c in wanted]]
        derived = derived[[c for c in derived.columns if c in wanted and c not in raw.columns or c in ("zone", "year")]]
    merged = raw.merge(derived, on=["zone", "year"], how="left", suffixes=("", "_派生"))
    return merged


def parse_pairwise(text: str) -> list[list[float]]:
    """'1,3,5;1/3,1,3;1/5,1/3,1' → matrix (the 参数 sheet's AHP判断矩阵)."""
    from fractions import Fraction
    try:
        return [[float(Fraction(x.strip())) for x in row.split(",")] for row in str(text).split(";") if row.strip()]
    except (ValueError, ZeroDivisionError) as exc:
        raise sc.ScoringError(f"AHP判断矩阵「{text}」格式应为 1,3,5;1/3,1,3;1/5,1/3,1") from exc


def _system(tables, rule: dict | None, options: RankOptions, notes: dict) -> tuple[pd.DataFrame, dict]:
    """The indicator system as a table: name, direction, weight, benchmark, satisfactory, impermissible."""
    cfg: dict = dict(rule or {})
    if options.preset:
        all_presets = presets()
        if options.preset not in all_presets:
            raise sc.ScoringError(f"未知的预设「{options.preset}」，可用：{'、'.join(all_presets)}")
        cfg.update(all_presets[options.preset])
        notes["指标体系"] = f"预设「{options.preset}」：{cfg['name']}（{cfg['source']}）"
        items = pd.DataFrame(cfg["indicators"])
    elif tables.get("indicator_system") is not None and len(tables["indicator_system"]):
        s = tables["indicator_system"]
        items = pd.DataFrame({"name": s["indicator"], "direction": s.get("direction"), "weight": s.get("weight"),
                              "benchmark": s.get("benchmark"), "satisfactory": s.get("satisfactory"),
                              "impermissible": s.get("impermissible"), "group": s.get("group")})
        notes["指标体系"] = "工作簿「指标体系」表"
    else:
        items = pd.DataFrame(cfg.get("indicators") or [])
        notes["指标体系"] = f"未提供「指标体系」表，使用 {rule['id'] if rule else ''} 规定的指标：{cfg.get('text', '')}"
    for col in ("direction", "weight", "benchmark", "satisfactory", "impermissible", "group"):
        if col not in items:
            items[col] = np.nan
    items["dir"] = items["direction"].map(lambda d: DIRECTIONS.get(d, 1.0) if d is not None and d == d else 1.0)
    return items, cfg


def _fill_missing(x: np.ndarray, group_codes: np.ndarray, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (filled matrix, rows to exclude)."""
    miss = np.isnan(x)
    if not miss.any() or policy == "mean":
        if miss.any():
            frame = pd.DataFrame(x)
            means = frame.groupby(group_codes).transform("mean").to_numpy()
            x = np.where(miss, means, x)
        return x, np.zeros(len(x), bool)
    if policy == "zero":
        return np.where(miss, 0.0, x), np.zeros(len(x), bool)
    if policy == "exclude":
        return x, miss.any(axis=1)
    allowed = "、".join(f"{k}（{v}）" for k, v in MISSING_POLICIES.items())
    raise sc.ScoringError(f"缺失值处理应为 {allowed}，实为「{policy}」")


def _group_normalize(x, dirs, method, group_codes, bench, sat, imp, cap=None):
    if method in ("minmax", "efficacy", "zscore", "vector", "sum", "max") and len(np.unique(group_codes)) > 1:
        out = np.empty_like(x)
        order = np.argsort(group_codes, kind="stable")
        codes_sorted = group_codes[order]
        bounds = np.flatnonzero(np.diff(codes_sorted)) + 1
        for idx in np.split(order, bounds):        # one numpy call per group, not per row
            out[idx] = sc.normalize(x[idx], dirs, method, satisfactory=sat, impermissible=imp)
        return out
    return sc.normalize(x, dirs, method, benchmark=bench, cap=cap, satisfactory=sat, impermissible=imp)


def _group_labels(f: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """'省级·经开区' per row (blank → 未分组); each distinct label is built once and shared by its rows."""
    codes, texts = [], []
    for k in keys:
        c, uniques = pd.factorize(f[k])                      # missing → −1 → the last text, 未分组
        codes.append(c)
        texts.append([str(u) for u in uniques] + ["未分组"])
    combos, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    labels = np.array(["·".join(texts[j][c] for j, c in enumerate(row)) for row in combos], dtype=object)
    return labels[inverse.ravel()]


def rank_zones(tables: dict[str, pd.DataFrame], profile=None,
               options: RankOptions | None = None, params: dict[str, str] | None = None,
               facts: pd.DataFrame | None = None) -> RankResult:
    """Score and rank every zone of the assessment year; the single engine entry for 考核排名.
    `profile`: a Resolution (profiles/resolve.py), or the explicit choice it is resolved with.
    Zones following different profiles are ranked apart (each region assesses its own zones)."""
    from .params import resolution

    facts = zone_facts(tables) if facts is None else facts   # assess computes them once
    res = resolution(tables, profile, None, facts)
    ind = tables["indicators"]
    keys = res.key_of(ind["zone"])
    order = list(dict.fromkeys(keys.tolist()))
    if len(order) <= 1:
        key = order[0] if order else res.other
        out = _rank_profile(tables, res.profiles[key], options, params, facts)
        out.parts, out.resolution = {key: out}, res
        return out
    parts, failed = {}, {}
    for key in order:
        mine = dict(tables, indicators=ind[keys == key])
        if tables.get("history") is not None and "zone" in tables["history"]:
            h = tables["history"]
            mine["history"] = h[res.key_of(h["zone"]) == key]
        try:
            parts[key] = _rank_profile(mine, res.profiles[key], options, params, facts)
        except sc.ScoringError as exc:      # one profile's zones cannot be ranked: the others still are
            failed[key] = exc
    if not parts:
        raise next(iter(failed.values()))
    labels = {key: res.label(key) for key in order}
    notes = {"排名范围": "按政策口径分别排名：" + "；".join(
        f"{labels[k]} {len(p.ranking)} 个开发区" for k, p in parts.items())}
    notes.update({f"{labels[k]}·未排名": str(exc) for k, exc in failed.items()})
    for key, part in parts.items():
        notes.update({f"{labels[key]}·{k}": v for k, v in part.notes.items()})
    notes["考核年度"] = "、".join(dict.fromkeys(p.notes["考核年度"] for p in parts.values()))
    system = pd.concat([p.system.assign(政策口径=labels[k]) for k, p in parts.items()], ignore_index=True)
    return RankResult(pd.concat([p.ranking for p in parts.values()], ignore_index=True), notes, system,
                      pd.concat([p.group_of for p in parts.values()]), parts, res)


def _rank_profile(tables: dict[str, pd.DataFrame], prof: Profile, options: RankOptions | None,
                  params: dict[str, str] | None, facts: pd.DataFrame) -> RankResult:
    """考核排名 of the zones of one profile, by that profile's ranking rule (or the general one)."""
    from ..profiles.resolve import general_rule

    options = options or RankOptions()
    params = params or {}
    notes: dict[str, str] = {}
    ind = tables["indicators"]
    year = options.year or _int(params.get("考核年度")) or int(np.nanmax(ind["year"].astype(float)))
    notes["考核年度"] = str(year)
    rule = next((r for r in prof.rules if r["kind"] == "ranking"), None)
    if rule is None:
        rule = general_rule("ranking")
        notes["政策口径"] = f"{prof.label}未规定考核方法，采用通用口径（{rule['id']}）"
    else:
        notes["政策口径"] = f"{prof.label}（{rule['id']}）"

    items, cfg = _system(tables, rule, options, notes)
    method = options.method or params.get("评价方法") or cfg.get("method", "wsum")
    normalize = options.normalize or params.get("标准化方法") or cfg.get("normalize") or \
        ("vector" if method == "topsis" else "minmax")
    has_weights = items["weight"].notna().any()
    weighting = options.weights or params.get("赋权方法") or ("fixed" if has_weights and (options.preset or "indicator_system" in tables) else cfg.get("weights", "entropy"))
    missing = options.missing or params.get("缺失值处理") or cfg.get("missing", "mean")
    scale = float(cfg.get("scale", 100))
    for name, allowed in (("评价方法", sc.AGGREGATIONS), ("赋权方法", sc.WEIGHTINGS), ("标准化方法", sc.NORMALIZATIONS)):
        value = {"评价方法": method, "赋权方法": weighting, "标准化方法": normalize}[name]
        if value not in allowed:
            raise sc.ScoringError(f"{name}「{value}」无效，可用：{'、'.join(allowed)}")

    data = indicator_table(ind, keep=[*items["name"], "加分", "扣分", "一票否决"])
    cur = data[data["year"].astype(float) == year].drop_duplicates("zone").reset_index(drop=True)
    del data
    if cur.empty:
        raise sc.ScoringError(f"「指标」表中没有 {year} 年的数据")
    available = [n for n in items["name"] if n in cur.columns and cur[n].notna().any()]
    dropped = [n for n in items["name"] if n not in available]
    if dropped:
        notes["未使用的指标"] = "、".join(dropped) + "（数据中没有或全部为空）"
    items = items[items["name"].isin(available)].reset_index(drop=True)
    if items.empty:
        raise sc.ScoringError("指标体系中的指标在数据中都不存在，无法排名")
    block = cur[list(items["name"])]
    if not all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
        block = block.apply(pd.to_numeric, errors="coerce")
    x = block.to_numpy(dtype=float)
    del block
    n_missing = int(np.isnan(x).sum())
    dirs = items["dir"].to_numpy(dtype=float)

    # groups
    if options.by is not None:                       # an explicit empty list means "no groups"
        by = list(options.by)
    else:
        by = _split(params.get("分组依据")) or list(cfg.get("group_by", []))
    keys = [GROUP_KEYS.get(b, b) for b in by]
    bad = [b for b, k in zip(by, keys) if k not in facts.columns]
    if bad:
        raise sc.ScoringError(f"分组依据「{'、'.join(bad)}」不可用，可用：{'、'.join(GROUP_KEYS)}")
    if keys:
        group = _group_labels(facts[keys].reindex(cur["zone"]), keys)
    else:
        group = np.full(len(cur), "全部", dtype=object)
    names = {v: k for k, v in GROUP_KEYS.items()}
    notes["分组依据"] = "、".join(names.get(b, b) for b in by) if by else "不分组（全部开发区一起排名）"
    group_codes = pd.factorize(group)[0]

    veto = (cur["一票否决"] == "是").to_numpy() if "一票否决" in cur else np.zeros(len(cur), bool)
    x, excluded = _fill_missing(x, group_codes, missing)
    notes["缺失值处理"] = MISSING_POLICIES[missing] + \
        f"（共 {n_missing} 个缺失值）"
    active = ~veto & ~excluded & ~np.isnan(x).any(axis=1)

    # weights (over all active objects)
    xa = x if active.all() else x[active]          # no copy in the usual case (everyone ranked)
    subjective = items["weight"].to_numpy(dtype=float)
    if weighting == "fixed":
        w = sc.fixed_weights(np.where(np.isnan(subjective), 0, subjective) if has_weights else np.ones(len(items)))
    elif weighting == "entropy":
        w = sc.entropy_weights(xa, dirs)
    elif weighting == "entropy_raw":
        w = sc.entropy_raw_weights(xa)
    elif weighting == "ahp":
        matrix = options.pairwise or (parse_pairwise(params["AHP判断矩阵"]) if "AHP判断矩阵" in params else None)
        if matrix is None:
            raise sc.ScoringError("AHP 赋权需要判断矩阵（「参数」表的「AHP判断矩阵」）")
        w, lam, cr = sc.ahp_weights(matrix)
        if len(w) != len(items):
            raise sc.ScoringError(f"判断矩阵为 {len(w)} 阶，但有 {len(items)} 个指标")
        notes["AHP一致性"] = f"λmax = {lam:.4f}，CR = {cr:.4f}（< 0.10，通过）"
    else:  # combined
        alpha = float(params.get("组合系数", options.alpha))
        w = sc.combined_weights(np.where(np.isnan(subjective), 0, subjective) if has_weights else np.ones(len(items)),
                                sc.entropy_weights(xa, dirs), alpha)
        notes["组合赋权"] = f"α = {alpha}：α × 主观权重 + (1 − α) × 熵权"

    # normalise within groups and aggregate
    bench = items["benchmark"].to_numpy(dtype=float)
    if normalize == "benchmark" and np.isnan(bench).any():
        # 黄岩 convention: benchmarks are peer averages when not given
        means = np.nanmean(np.where(active[:, None], x, np.nan), axis=0)
        bench = np.where(np.isnan(bench), means, bench)
        notes["标杆值"] = "未给出的标杆值取参评开发区平均值"
    sat = items["satisfactory"].to_numpy(dtype=float)
    imp = items["impermissible"].to_numpy(dtype=float)
    sat = None if np.isnan(sat).all() else sat
    imp = None if np.isnan(imp).all() else imp
    if active.all():
        score, item_scores = aggregate(x, group_codes, w, dirs, method, normalize, bench, sat, imp, scale)
    else:
        score = np.full(len(cur), np.nan)
        item_scores = np.full(x.shape, np.nan)
        if active.any():
            score[active], item_scores[active] = aggregate(x[active], group_codes[active], w, dirs, method, normalize,
                                                           bench, sat, imp, scale)
    bonus = _col(cur, "加分")
    deduction = _col(cur, "扣分")
    score = score + np.nan_to_num(bonus) - np.nan_to_num(deduction)
    score = np.round(score, 6)

    overall = sc.competition_rank(np.where(active, score, np.nan))
    within = sc.competition_rank(np.where(active, score, np.nan), group)
    grades_cfg = cfg.get("grades") or {}
    if grades_cfg.get("cutoffs") is not None:
        grade = sc.grade_by_cutoffs(np.where(active, score, np.nan), grades_cfg["cutoffs"], grades_cfg["labels"])
        notes["等次"] = f"按分数线 {say(grades_cfg['cutoffs'])} 划分为 {'、'.join(grades_cfg['labels'])}"
    elif grades_cfg.get("shares") is not None:
        grade = sc.grade_by_shares(np.where(active, score, np.nan), grades_cfg["shares"], grades_cfg["labels"],
                                   group, grades_cfg.get("rounding", "round"), grades_cfg.get("ties", "include"))
        notes["等次"] = (f"组内强制分布：{'、'.join(grades_cfg['labels'])}，比例 {percent_list(grades_cfg['shares'])}（其余为最后一档），"
                       f"名额取整 {say(grades_cfg.get('rounding', 'round'))}，{say(grades_cfg.get('ties', 'include'))}")
    else:
        grade = np.full(len(cur), None, dtype=object)
    if "等次" in notes and "grades" in {x.partition(".")[0] for x in cfg.get("inferred", [])}:
        notes["等次"] += "（等次名称、比例与取整为推断口径）"
    grade = np.where(veto, "一票否决", grade)
    grade = np.where(excluded & ~veto, "不参与排名", grade)

    change = _rank_change(tables.get("history"), cur["zone"], year, overall)
    zone = cur["zone"].to_numpy(dtype=object)
    # rows in (group, rank within group, name) order — argsort once, then build the frame in that
    # order (sorting a built frame would copy all of it; NaN ranks sort last, ties keep input order)
    order = np.lexsort((pd.factorize(zone, sort=True)[0], within, pd.factorize(group, sort=True)[0]))
    columns = {"开发区名称": zone, "年度": np.full(len(cur), year), "分组": group, "综合得分": score,
               "总排名": overall, "组内排名": within, "等次": grade, "排名变化": np.asarray(change)}
    columns.update({f"{name}得分": np.round(item_scores[:, j], 6) for j, name in enumerate(items["name"])})
    del score, overall, within, grade, change, item_scores
    ranking = pd.DataFrame({k: columns.pop(k)[order] for k in list(columns)}, copy=False)   # one column copied at a time

    system = pd.DataFrame({"指标": items["name"], "方向": np.where(dirs > 0, "正向", "负向"), "权重": np.round(w, 6),
                           "最小值": np.nanmin(x, axis=0), "最大值": np.nanmax(x, axis=0),
                           "标杆值": bench if normalize == "benchmark" else np.nan})
    notes.update({"评价方法": METHOD_NAMES.get(method, method), "标准化方法": METHOD_NAMES.get(normalize, normalize),
                  "赋权方法": METHOD_NAMES.get(weighting, weighting),
                  "权重": "；".join(f"{n} {v:.4f}" for n, v in zip(items["name"], w)),
                  "综合得分": f"{scale:g} × " + ("Σ 权重 × 标准化值" if method == "wsum" else "TOPSIS 贴近度 D⁻/(D⁺+D⁻)")
                  + "，再加「加分」减「扣分」",
                  "排名规则": "竞争排名（与 Excel RANK.EQ 相同：并列取最好名次，后续名次顺延），得分按 12 位有效数字比较"})
    return RankResult(ranking, notes, system, pd.Series(group, index=cur["zone"]))


def aggregate(x: np.ndarray, group_codes: np.ndarray, w: np.ndarray, dirs: np.ndarray, method: str = "wsum",
              normalize: str = "minmax", bench=None, sat=None, imp=None, scale: float = 100.0,
              item_scores: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Composite score of complete rows, normalised within groups: (score, per-indicator scores).

    wsum: scale · Σ wⱼ·nᵢⱼ; topsis: scale · closeness (computed within each group). The
    per-indicator scores are scale · wⱼ·nᵢⱼ (min–max for TOPSIS), for the result sheet.
    """
    if method == "wsum":
        n = _group_normalize(x, dirs, normalize, group_codes, bench, sat, imp)   # a fresh array: scaled in place
        score = sc.wsum(n, w) * scale
        if not item_scores:
            return score, None
        n *= w * scale
        return score, n
    tnorm = normalize if normalize in ("vector", "minmax") else "vector"
    closeness = np.empty(len(x))
    order = np.argsort(group_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(group_codes[order])) + 1
    for idx in np.split(order, bounds):                   # one kernel call per group
        closeness[idx] = sc.topsis(x[idx], w, dirs, tnorm)
    items = _group_normalize(x, dirs, "minmax", group_codes, None, None, None) * w * scale if item_scores else None
    return closeness * scale, items


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float) if name in frame else np.zeros(len(frame))


def _int(v) -> int | None:
    try:
        return int(float(v)) if v not in (None, "") else None
    except ValueError:
        return None


def _split(v) -> list[str]:
    if not v:
        return []
    return [p for p in str(v).replace("，", ",").replace("、", ",").split(",") if p.strip()]


def _rank_change(history: pd.DataFrame | None, zones: pd.Series, year: int, ranks: np.ndarray) -> np.ndarray:
    """进位为正：上年总排名 − 今年总排名；上年没有排名则为空。"""
    if history is None or "rank" not in history:
        return np.full(len(zones), np.nan)
    prev = history[pd.to_numeric(history["year"], errors="coerce") == year - 1].drop_duplicates("zone")
    before = pd.to_numeric(prev.set_index("zone")["rank"], errors="coerce").reindex(zones).to_numpy(dtype=float)
    return before - ranks
