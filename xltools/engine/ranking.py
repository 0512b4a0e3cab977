"""Assessment ranking pipeline: indicators → groups → normalise → weigh → score →
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

from ..profiles import Profile, inferred_note, inferred_params, presets
from ..methods import (AGGREGATE, AGGREGATIONS, DEFAULTS, FLAGS, KIND_NAMES, METHODS, NORMALIZE, WEIGHTS, choices,
                       normalization_for, of_kind, score_formula)
from ..profiles.display import METHOD_NAMES, MISSING_NAMES as MISSING_POLICIES, ROUNDING_NAMES, TIE_NAMES
from ..results import DECLARED, RANKING
from ..schema import SHEETS_BY_KEY
from . import scoring as sc
from .indicators import derive
from .zones import listed, zone_facts

MISSING = "数据缺失"
# 参数 items that ask for a ranking computation explicitly: when it cannot run, the run fails (exit 2).
EXPLICIT_PARAMS = ("考核年度", "评价方法", "标准化方法", "赋权方法", "缺失值处理", "分组依据", "AHP判断矩阵", "组合系数")
RANK_COLUMNS = DECLARED[RANKING].names   # then item scores, 说明
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
    # zone → whether its score meets a standard that does not depend on the other zones (fixed
    # weights with 满意值/不允许值 or 标杆值 stated, no filled-in values), and that standard in words
    absolute: pd.Series | None = None
    absolute_basis: str = ""
    method: str = ""                  # the codes behind 计算说明's Chinese names (wsum/topsis, minmax…, fixed…)
    normalize: str = ""
    weighting: str = ""
    within_groups: bool = False       # normalised per group (the profile asks; 总排名 empty) instead of all together
    parts: dict = field(default_factory=dict)    # profile key → its RankResult (zones ranked apart)
    filled: list = field(default_factory=list)   # 数据校验 rows: a blank value filled in for the ranking
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


def _group_normalize(x, dirs, method, group_codes, bench, sat, imp):
    """Normalised within each code of `group_codes` where the method depends on the zones
    normalised together (methods.Method.group_aware), else all rows at once."""
    if METHODS[method].group_aware and len(np.unique(group_codes)) > 1:
        out = np.empty_like(x)
        order = np.argsort(group_codes, kind="stable")
        codes_sorted = group_codes[order]
        bounds = np.flatnonzero(np.diff(codes_sorted)) + 1
        for idx in np.split(order, bounds):        # one numpy call per group, not per row
            out[idx] = sc.normalize(x[idx], dirs, method, satisfactory=sat, impermissible=imp)
        return out
    return sc.normalize(x, dirs, method, benchmark=bench, satisfactory=sat, impermissible=imp)


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


def _choose(option, param, profile_value, fallback, rule_label: str, preset_keys=(), key: str = ""):
    """(value, why) of one method choice: flag or button > 参数 > preset > profile > built-in default."""
    if option is not None:
        return option, "命令行或按钮指定"
    if param:
        return str(param).strip(), "「参数」表指定"
    if profile_value is not None:
        return profile_value, ("所选预设指标体系规定" if key in preset_keys else f"{rule_label}规定")
    return fallback, "默认"


def explicit_request(options: RankOptions | None, params: dict[str, str] | None) -> str:
    """What the user asked of the ranking explicitly (a flag or a 参数 entry), '' for none.

    A computation asked for explicitly that cannot run is a failure (exit 2); a default that
    does not apply is only skipped with a note."""
    asked = []
    if options is not None:
        flags = {FLAGS[AGGREGATE]: options.method, FLAGS[WEIGHTS]: options.weights, FLAGS[NORMALIZE]: options.normalize,
                 "--by": options.by, "--preset": options.preset, "--year": options.year,
                 "--missing": options.missing, "判断矩阵": options.pairwise}
        asked += [k for k, v in flags.items() if v is not None]
    asked += [f"「参数」{k}" for k in EXPLICIT_PARAMS if (params or {}).get(k) not in (None, "")]
    return "、".join(asked)


def rank_zones(tables: dict[str, pd.DataFrame], profile=None,
               options: RankOptions | None = None, params: dict[str, str] | None = None,
               facts: pd.DataFrame | None = None) -> RankResult:
    """Score and rank every zone of the assessment year; the single engine entry for 考核排名.

    `profile`: a Resolution (profiles/resolve.py), or the explicit choice it is resolved with.
    Zones following different profiles are ranked apart (each region assesses its own zones).
    Within one profile: one composite per zone, normalised over all the zones assessed together;
    总排名 and 组内排名 both rank it. Only a profile that asks for group-wise
    normalisation (`normalize_within = "group"`) normalises per group, and then 总排名 stays empty.
    """
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
    one = lambda attr: "、".join(dict.fromkeys(getattr(p, attr) for p in parts.values() if getattr(p, attr)))
    return RankResult(pd.concat([p.ranking for p in parts.values()], ignore_index=True), notes, system,
                      pd.concat([p.absolute for p in parts.values()]), one("absolute_basis"),
                      one("method"), one("normalize"), one("weighting"), False, parts, resolution=res,
                      filled=[row for p in parts.values() for row in p.filled])


@dataclass
class _Plan:
    """Stage 1 of a profile's ranking: the rule, the indicator system and the methods chosen."""
    year: int
    rule: dict
    label: str                      # 政策口径 XX-00 (how a choice's source is named)
    items: pd.DataFrame             # the indicator system (stage 2 keeps those with data)
    cfg: dict                       # the rule's parameters, a preset's over them
    preset_keys: tuple
    method: str
    normalize: str
    weighting: str
    why: dict                       # method kind → where its choice came from
    has_weights: bool               # the system states weights
    missing: str
    scale: float
    within_groups: bool
    notes: dict


@dataclass
class _Zones:
    """Stage 2: the assessment year's rows, their indicator matrix, groups and who is ranked."""
    cur: pd.DataFrame
    x: np.ndarray                   # missing values filled by the policy
    lacking: np.ndarray             # missing before filling
    dirs: np.ndarray
    known: np.ndarray               # listed in the 开发区 sheet (or there is none)
    no_data: np.ndarray
    by: list
    group: np.ndarray
    group_codes: np.ndarray
    veto: np.ndarray
    excluded: np.ndarray
    active: np.ndarray              # ranked


def _rank_profile(tables: dict[str, pd.DataFrame], prof: Profile, options: RankOptions | None,
                  params: dict[str, str] | None, facts: pd.DataFrame) -> RankResult:
    """考核排名 of the zones of one profile, by that profile's ranking rule (or the general one):
    resolve options → matrix → weights → scores → grades → assemble."""
    options = options or RankOptions()
    params = params or {}
    plan = _resolve(tables, prof, options, params)
    zones = _zones(tables, plan, facts, options, params)
    if isinstance(zones, RankResult):                 # no zone of 指标 is listed in 开发区
        return zones
    w = _weights(plan, zones, options, params)
    scores = _scores(plan, zones, w)
    grading = _grades(plan, zones, scores.score)
    return _assemble(tables, plan, zones, w, scores, grading)


def _resolve(tables, prof: Profile, options: RankOptions, params: dict) -> _Plan:
    """The year, the rule (the profile's or the general one), the indicator system and each method."""
    from ..profiles.resolve import general_rule

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
    label = f"政策口径 {rule['id']} "
    items, cfg = _system(tables, rule, options, notes)
    preset_keys = tuple(presets().get(options.preset, {})) if options.preset else ()
    method, why_method = _choose(options.method, params.get(KIND_NAMES[AGGREGATE]), cfg.get("method"),
                                 DEFAULTS[AGGREGATE], label, preset_keys, "method")
    normalize, why_normalize = _choose(options.normalize, params.get(KIND_NAMES[NORMALIZE]), cfg.get("normalize"),
                                       METHODS[method if method in AGGREGATIONS else DEFAULTS[AGGREGATE]].default_normalize,
                                       label, preset_keys, "normalize")
    has_weights = bool(items["weight"].notna().any())
    fixed = DEFAULTS[WEIGHTS]
    weighting, why_weights = _choose(options.weights, params.get(KIND_NAMES[WEIGHTS]),
                                     fixed if has_weights else cfg.get("weights"), fixed, label)
    if weighting == fixed and why_weights.endswith(("规定", "默认")):
        why_weights = _why_fixed(tables, rule, options, label, has_weights)
    missing, _ = _choose(options.missing, params.get("缺失值处理"), cfg.get("missing"), "mean", label)
    scale = float(cfg.get("scale", 100))
    for kind, value in ((AGGREGATE, method), (WEIGHTS, weighting), (NORMALIZE, normalize)):
        if value not in of_kind(kind):
            raise sc.ScoringError(f"{KIND_NAMES[kind]}「{value}」无效，可用：{choices(kind, form='{id}（{label}）')}")
    return _Plan(year, rule, label, items, cfg, preset_keys, method, normalize, weighting,
                 {AGGREGATE: why_method, NORMALIZE: why_normalize, WEIGHTS: why_weights}, has_weights,
                 missing, scale, cfg.get("normalize_within") == "group", notes)


def _why_fixed(tables, rule: dict, options: RankOptions, label: str, has_weights: bool) -> str:
    """Where fixed weights come from when no one chose them: equal, the preset, 指标体系 or the rule."""
    if not has_weights:
        return "各指标等权"
    if options.preset:
        return f"预设「{options.preset}」公布的权重"
    if tables.get("indicator_system") is not None and len(tables["indicator_system"]):
        return "工作簿「指标体系」表给出的权重"
    return f"{label}公布的权重" + ("，权重为推断口径" if _inferred(rule, "weights") else "")


def _current(tables, plan: _Plan) -> tuple[pd.DataFrame, np.ndarray]:
    """The assessment year's rows and their indicator matrix; indicators without data are dropped
    from `plan.items` (and named in 计算说明)."""
    items = plan.items
    data = indicator_table(tables["indicators"], keep=[*items["name"], "加分", "扣分", "一票否决"])
    cur = data[data["year"].astype(float) == plan.year].drop_duplicates("zone").reset_index(drop=True)
    del data
    if cur.empty:
        raise sc.ScoringError(f"「指标」表中没有 {plan.year} 年的数据")
    available = [n for n in items["name"] if n in cur.columns and cur[n].notna().any()]
    dropped = [n for n in items["name"] if n not in available]
    if dropped:
        plan.notes["未使用的指标"] = "、".join(dropped) + "（数据中没有或全部为空）"
    plan.items = items = items[items["name"].isin(available)].reset_index(drop=True)
    if items.empty:
        raise sc.ScoringError("指标体系中的指标在数据中都不存在，无法排名")
    block = cur[list(items["name"])]
    if not all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
        block = block.apply(pd.to_numeric, errors="coerce")
    return cur, block.to_numpy(dtype=float)


GROUP_NAMES = {key: header for header, key in GROUP_KEYS.items()}     # fact key → Chinese header


def _groups(cur: pd.DataFrame, known: np.ndarray, facts: pd.DataFrame, plan: _Plan, options: RankOptions,
            params: dict) -> tuple[list, np.ndarray]:
    """(group columns asked for, each row's group label): a flag > 参数 分组依据 > the rule's group_by."""
    if options.by is not None:                       # an explicit empty list means "no groups"
        by = list(options.by)
    else:
        by = _split(params.get("分组依据")) or list(plan.cfg.get("group_by", []))
    keys = [GROUP_KEYS.get(b, b) for b in by]
    bad = [b for b, k in zip(by, keys) if k not in facts.columns]
    if bad:
        raise sc.ScoringError(f"分组依据「{'、'.join(bad)}」不可用，可用：{'、'.join(GROUP_KEYS)}")
    if keys:
        group = _group_labels(facts[keys].reindex(cur["zone"]), keys)
    else:
        group = np.full(len(cur), "全部", dtype=object)
    group = np.where(known, group, "")                  # a zone not in 开发区 has no known group
    plan.notes["分组依据"] = "、".join(GROUP_NAMES.get(b, b) for b in by) if by else "不分组（全部开发区一起排名）"
    return by, group


def _zones(tables, plan: _Plan, facts: pd.DataFrame, options: RankOptions, params: dict) -> _Zones | RankResult:
    """Stage 2: the matrix, who is listed, the groups, vetoes and the missing-value policy."""
    cur, x = _current(tables, plan)
    n_rows = len(cur)
    lacking = np.isnan(x)
    n_missing = int(lacking.sum())
    dirs = plan.items["dir"].to_numpy(dtype=float)
    known = listed(tables, cur["zone"])          # a zone missing from the 开发区 sheet is listed but not ranked
    no_data = lacking.all(axis=1)
    by, group = _groups(cur, known, facts, plan, options, params)
    group_codes = pd.factorize(group)[0]
    veto = (cur["一票否决"] == "是").to_numpy() if "一票否决" in cur else np.zeros(n_rows, bool)
    x, excluded = _fill_missing(x, group_codes, plan.missing)
    plan.notes["缺失值处理"] = MISSING_POLICIES[plan.missing] + f"（共 {n_missing} 个缺失值）"
    active = known & ~no_data & ~veto & ~excluded & ~np.isnan(x).any(axis=1)
    if not known.any() and not no_data.all():
        return _unlisted_only(cur["zone"], plan.year, plan.items, dirs, plan.notes, _row_notes(
            plan.items["name"].tolist(), lacking, np.zeros_like(lacking), known, no_data, veto, excluded,
            np.zeros(n_rows, bool), False, MISSING_POLICIES[plan.missing]))
    if not active.any():
        raise sc.ScoringError(f"{plan.year} 年没有可参与排名的开发区（" +
                              ("「指标」表中的开发区都不在「开发区」表中" if not known.any() else "考核指标缺失或一票否决") + "）")
    return _Zones(cur, x, lacking, dirs, known, no_data, by, group, group_codes, veto, excluded, active)


def _weights(plan: _Plan, z: _Zones, options: RankOptions, params: dict) -> np.ndarray:
    """Stage 3: the weighting's kernel over all ranked zones; only the inputs it declares are read."""
    spec = METHODS[plan.weighting]
    xa = z.x if z.active.all() else z.x[z.active]          # no copy in the usual case (everyone ranked)
    subjective = plan.items["weight"].to_numpy(dtype=float)
    stated = np.where(np.isnan(subjective), 0, subjective) if plan.has_weights else np.ones(len(plan.items))
    matrix = None
    if spec.needs_pairwise:
        matrix = options.pairwise or (parse_pairwise(params["AHP判断矩阵"]) if params.get("AHP判断矩阵") else None)
    alpha = float(params.get("组合系数", options.alpha)) if spec.needs_alpha else options.alpha
    w, said = sc.WEIGHERS[plan.weighting](sc.WeightInputs(xa, z.dirs, stated, matrix, alpha))
    plan.notes.update(said)
    return w


@dataclass
class _Scores:
    """Stage 4: composite scores (with 加分/扣分), per-indicator points and the benchmarks used."""
    score: np.ndarray | None
    items: np.ndarray | None
    bench: np.ndarray


def _scores(plan: _Plan, z: _Zones, w: np.ndarray) -> _Scores:
    """Stage 4: the aggregation over all the zones assessed together (or per group where the
    profile says so); a benchmark not stated is the peer mean."""
    items, active, x = plan.items, z.active, z.x
    bench = items["benchmark"].to_numpy(dtype=float)
    if METHODS[plan.normalize].needs_benchmark and not np.isfinite(bench).all():
        # 黄岩 convention: benchmarks are peer averages when not given
        means = np.nanmean(np.where(active[:, None], x, np.nan), axis=0)
        bench = np.where(np.isnan(bench), means, bench)
        plan.notes["标杆值"] = "未给出的标杆值取参评开发区平均值"
    sat = items["satisfactory"].to_numpy(dtype=float)
    imp = items["impermissible"].to_numpy(dtype=float)
    sat = None if np.isnan(sat).all() else sat
    imp = None if np.isnan(imp).all() else imp
    n_rows = len(x)
    norm_codes = z.group_codes if plan.within_groups else np.zeros(n_rows, dtype=np.int64)
    score = np.full(n_rows, np.nan)
    item_scores = np.full(x.shape, np.nan)
    score[active], item_scores[active] = aggregate(x[active], norm_codes[active], w, z.dirs, plan.method,
                                                   plan.normalize, bench, sat, imp, plan.scale)
    score = score + np.nan_to_num(_col(z.cur, "加分")) - np.nan_to_num(_col(z.cur, "扣分"))
    return _Scores(np.round(score, 6), item_scores, bench)


@dataclass
class _Grading:
    """Stage 5: ranks, one-member groups and grades."""
    overall: np.ndarray
    within: np.ndarray
    lone: np.ndarray
    grade: np.ndarray
    by_shares: bool


def _grades(plan: _Plan, z: _Zones, score: np.ndarray) -> _Grading:
    """Stage 5: 总排名 and 组内排名 of the ranked zones, grades by cut-offs or shares, and the rows not graded."""
    n_rows = len(score)
    ranked = np.where(z.active, score, np.nan)
    within = sc.competition_rank(ranked, z.group)
    overall = np.full(n_rows, np.nan) if plan.within_groups else sc.competition_rank(ranked)
    size = pd.Series(z.active).groupby(z.group_codes).transform("sum").to_numpy()
    lone = z.active & (size == 1)
    grades_cfg = plan.cfg.get("grades") or {}
    inferred = ("；等次划分为推断口径" if _inferred(plan.rule, "grades") and "grades" not in plan.preset_keys else "")
    if grades_cfg.get("cutoffs") is not None:
        grade = sc.grade_by_cutoffs(ranked, grades_cfg["cutoffs"], grades_cfg["labels"])
        plan.notes["等次"] = grade_text(grades_cfg) + inferred
    elif grades_cfg.get("shares") is not None:
        grade = sc.grade_by_shares(ranked, grades_cfg["shares"], grades_cfg["labels"], z.group,
                                   grades_cfg.get("rounding", "round"), grades_cfg.get("ties", "include"))
        grade = np.where(lone, None, grade)           # a share of a one-member group says nothing
        plan.notes["等次"] = grade_text(grades_cfg) + inferred
    else:
        grade = np.full(n_rows, None, dtype=object)
    grade = np.where(z.veto, "一票否决", grade)
    grade = np.where(z.excluded & ~z.veto, "不参与排名", grade)
    grade = np.where(~z.known | z.no_data, MISSING, grade)
    return _Grading(overall, within, lone, grade, bool(grades_cfg.get("shares")))


def _assemble(tables, plan: _Plan, z: _Zones, w: np.ndarray, s: _Scores, g: _Grading) -> RankResult:
    """Stage 6: the 考核排名 frame, the 指标权重 table, 计算说明's lines and the absolute standard."""
    items, cur, year = plan.items, z.cur, plan.year
    filled = z.lacking & ~z.excluded[:, None] & z.active[:, None]
    why = _row_notes(items["name"].tolist(), z.lacking, filled, z.known, z.no_data, z.veto, z.excluded, g.lone,
                     g.by_shares, MISSING_POLICIES[plan.missing])
    if z.by:
        ungrouped = z.known & pd.Series(z.group).str.contains("未分组", regex=False).to_numpy(dtype=bool)
        by_label = "、".join(GROUP_NAMES.get(b, b) for b in z.by)
        why = np.where(ungrouped, why + np.where(why == "", "", "；") + f"「开发区」表的{by_label}未填，组内排名归入「未分组」",
                       why)
    change = _rank_change(tables.get("history"), cur["zone"], year, g.overall, g.within, z.group)
    zone = cur["zone"].to_numpy(dtype=object)
    n_rows = len(zone)
    # rows in (group, rank within group, name) order — argsort once, then build the frame in that
    # order (sorting a built frame would copy all of it; NaN ranks sort last, ties keep input order)
    order = np.lexsort((pd.factorize(zone, sort=True)[0], g.within, pd.factorize(z.group, sort=True)[0]))
    columns = {"开发区名称": zone, "年度": np.full(n_rows, year), "分组": z.group, "综合得分": s.score,
               "总排名": g.overall, "组内排名": g.within, "等次": g.grade, "排名变化": np.asarray(change)}
    columns.update({f"{name}得分": np.round(s.items[:, j], 6) for j, name in enumerate(items["name"])})
    columns["说明"] = why
    # the frame takes the arrays over, one column copied at a time: no other reference may keep them
    del change
    s.score = s.items = g.overall = g.within = g.grade = None
    ranking = pd.DataFrame({k: columns.pop(k)[order] for k in list(columns)}, copy=False)

    xs = z.x[z.active]
    system = pd.DataFrame({"指标": items["name"], "方向": np.where(z.dirs > 0, "正向", "负向"), "权重": np.round(w, 6),
                           "最小值": np.nanmin(xs, axis=0), "最大值": np.nanmax(xs, axis=0),
                           "标杆值": s.bench if METHODS[plan.normalize].needs_benchmark else np.nan})
    _method_notes(plan, items, w, g, z)
    basis = _absolute_basis(plan)
    absolute = z.active & ~filled.any(axis=1) & bool(basis)
    return RankResult(ranking, plan.notes, system, pd.Series(absolute, index=cur["zone"]), basis, plan.method,
                      plan.normalize, plan.weighting, plan.within_groups,
                      filled=_filled_rows(zone, items["name"].to_numpy(dtype=object), filled, year,
                                          MISSING_POLICIES[plan.missing]))


def _method_notes(plan: _Plan, items: pd.DataFrame, w: np.ndarray, g: _Grading, z: _Zones) -> None:
    """计算说明's lines on the methods used, one-member groups, unlisted zones and inferred parameters."""
    notes = plan.notes
    scope = ("各组分别标准化（政策口径规定），组间得分不可比，总排名留空" if plan.within_groups else
             "全部参评开发区一起标准化，总排名与组内排名按同一综合得分排列")
    notes.update({"评价方法": f"{METHOD_NAMES[plan.method]}（{plan.why[AGGREGATE]}）",
                  "标准化方法": f"{METHOD_NAMES[plan.normalize]}（{plan.why[NORMALIZE]}）；{scope}",
                  "赋权方法": f"{METHOD_NAMES[plan.weighting]}（{plan.why[WEIGHTS]}）",
                  "权重": "；".join(f"{n} {v:.4f}" for n, v in zip(items["name"], w)),
                  "综合得分": score_text(plan.method, plan.normalize, plan.scale),
                  "排名规则": "竞争排名（与 Excel RANK.EQ 相同：并列取最好名次，后续名次顺延），得分按 12 位有效数字比较"})
    if g.lone.any():
        notes["单一开发区分组"] = "、".join(dict.fromkeys(z.group[g.lone])) + "：组内仅 1 个开发区" + \
            ("，不按比例评定等次" if g.by_shares else "")
    if (~z.known).any():
        notes["未列入开发区表"] = f"{int((~z.known).sum())} 个开发区在「指标」表中有数据但不在「开发区」表中，列为数据缺失，不参与排名"
    inferred = inferred_note(plan.rule)
    if inferred:
        notes["推断口径"] = inferred


def _absolute_basis(plan: _Plan) -> str:
    """The standard a score meets regardless of the other zones' data, '' when it depends on them:
    an aggregation and a weighting that are not relative, and a normalisation with all its
    parameters (满意值/不允许值 or 标杆值) stated in the indicator system."""
    agg, weighting, norm = METHODS[plan.method], METHODS[plan.weighting], METHODS[plan.normalize]
    if agg.relative or weighting.relative or not norm.absolute:
        return ""
    stated = [plan.items[c].to_numpy(dtype=float) for c in
              (("satisfactory", "impermissible") if norm.anchors else ("benchmark",))]
    return norm.absolute if all(np.isfinite(v).all() for v in stated) else ""


def _filled_rows(zones: np.ndarray, names: np.ndarray, filled: np.ndarray, year: int, policy: str) -> list[dict]:
    """One 警告 per zone and indicator a ranking filled in (an assumption is said where it is made)."""
    rows, cols = np.nonzero(filled)
    return [{"工作表": "指标", "单元格": "", "级别": "警告",
             "问题": f"开发区「{z}」{year} 年的「{n}」缺失（未填报或无法计算），考核排名中{policy}",
             "建议": "在「指标」表补填该开发区的数据；或在「参数」表「缺失值处理」选择其他办法"}
            for z, n in zip(zones[rows].tolist(), names[cols].tolist())]


def _unlisted_only(zones: pd.Series, year: int, items: pd.DataFrame, dirs: np.ndarray,
                   notes: dict[str, str], why: np.ndarray) -> RankResult:
    """No zone of 指标 is in the 开发区 sheet: each is listed with 数据缺失, none ranked."""
    n = len(zones)
    blank = np.full(n, np.nan)
    columns = {"开发区名称": zones.to_numpy(dtype=object), "年度": np.full(n, year), "分组": np.full(n, "", dtype=object),
               "综合得分": blank, "总排名": blank, "组内排名": blank, "等次": np.full(n, MISSING, dtype=object),
               "排名变化": blank, **{f"{name}得分": blank for name in items["name"]}, "说明": why}
    notes["未列入开发区表"] = f"{n} 个开发区在「指标」表中有数据但不在「开发区」表中，列为数据缺失，不参与排名"
    system = pd.DataFrame({"指标": items["name"], "方向": np.where(dirs > 0, "正向", "负向"), "权重": np.nan,
                           "最小值": np.nan, "最大值": np.nan, "标杆值": np.nan})
    return RankResult(pd.DataFrame(columns), notes, system, pd.Series(False, index=zones))


def _inferred(rule: dict, key: str) -> bool:
    return key in inferred_params(rule)


def grade_text(grades: dict) -> str:
    """等次 rule in words: labels with cumulative shares or cut-offs, rounding and ties."""
    labels = list(grades["labels"])
    if grades.get("cutoffs") is not None:
        parts = [f"{lab} ≥ {c:g} 分" for lab, c in zip(labels, grades["cutoffs"])]
        return "按分数线：" + "、".join(parts) + f"，其余为{labels[-1]}"
    shares = np.cumsum(np.asarray(grades["shares"], dtype=float))
    parts = [f"{lab} 前 {c * 100:g}%" if i == 0 else f"{lab} 至 {c * 100:g}%"
             for i, (lab, c) in enumerate(zip(labels, shares))]
    rounding = grades.get("rounding", "round")
    modes = rounding if isinstance(rounding, (list, tuple)) else [rounding] * len(shares)
    if len(set(modes)) == 1:
        how = ROUNDING_NAMES[modes[0]]
    else:
        how = "、".join(f"{lab}{ROUNDING_NAMES[m]}" for lab, m in zip(labels, modes))
    return (f"组内按比例划分：{'、'.join(parts)}，其余为{labels[-1]}；名额取整：{how}；"
            f"{TIE_NAMES[grades.get('ties', 'include')]}")


def score_text(method: str, normalize: str, scale: float) -> str:
    """计算说明's 综合得分: the method's formula (methods.score_formula), then 加分/扣分."""
    return score_formula(method, normalize, scale) + "，再加「加分」减「扣分」"


def _row_notes(names, lacking, filled, known, no_data, veto, excluded, lone, shares: bool, policy: str) -> np.ndarray:
    """「说明」 of each row: why it is not ranked, which values were filled, a one-member group.
    Built column by column (indicators are few), never row by row."""
    n = len(known)
    text = np.full(n, "", dtype=object)

    def add(mask, words):
        nonlocal text
        words = np.broadcast_to(np.asarray(words, dtype=object), (n,))
        text = np.where(mask, text + np.where(text == "", "", "；") + words, text)

    add(~known, "「开发区」表中没有该开发区（级别、类型未知），列为数据缺失，不参与排名")
    add(known & no_data, "考核指标全部缺失，列为数据缺失，不参与排名")
    add(known & ~no_data & veto, "一票否决，当年不参与排名")
    missing_names = np.full(n, "", dtype=object)
    for j, name in enumerate(names):
        missing_names = np.where(lacking[:, j], missing_names + np.where(missing_names == "", "", "、") + name,
                                 missing_names)
    add(known & ~no_data & excluded & ~veto, "缺少" + missing_names + "，不参与排名")
    add(filled.any(axis=1), missing_names + "缺失，" + policy)
    add(lone, "组内仅 1 个开发区" + ("，不按比例评定等次" if shares else ""))
    return text


def aggregate(x: np.ndarray, group_codes: np.ndarray, w: np.ndarray, dirs: np.ndarray, method: str = "wsum",
              normalize: str = "minmax", bench=None, sat=None, imp=None, scale: float = 100.0,
              item_scores: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Composite score of complete rows, normalised within each code of `group_codes` (one code:
    all rows together): (score, per-indicator scores).

    wsum: scale · Σ wⱼ·nᵢⱼ; topsis: scale · closeness (computed within each group). The
    per-indicator scores are scale · wⱼ·nᵢⱼ (min–max for TOPSIS), for the result sheet.
    功效系数 values are already points (60–100): they count as fractions of 100, so the composite
    stays on the 百分制 like min–max; a value beyond its 满意值 earns the full 100.
    """
    if METHODS[method].additive:
        n = _group_normalize(x, dirs, normalize, group_codes, bench, sat, imp)   # a fresh array: scaled in place
        points = METHODS[normalize].points
        if points:
            n = np.minimum(n, points) / points
        score = sc.wsum(n, w) * scale
        if not item_scores:
            return score, None
        n *= w * scale
        return score, n
    tnorm = normalization_for(method, normalize)
    closeness = np.empty(len(x))
    order = np.argsort(group_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(group_codes[order])) + 1
    for idx in np.split(order, bounds):                   # one kernel call per group
        closeness[idx] = sc.AGGREGATORS[method](x[idx], w, dirs, tnorm)
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


def _rank_change(history: pd.DataFrame | None, zones: pd.Series, year: int, ranks: np.ndarray,
                 group_ranks: np.ndarray | None = None, groups: np.ndarray | None = None) -> np.ndarray:
    """进位为正：上年总排名 − 今年总排名. Where 历年排名 holds no 总排名 for the previous year (or
    this year has none: group-wise normalisation), the 组内排名 of the same group is compared; no
    previous rank → blank."""
    out = np.full(len(zones), np.nan)
    if history is None or "zone" not in history or "year" not in history:
        return out
    prev = history[pd.to_numeric(history["year"], errors="coerce") == year - 1].drop_duplicates("zone").set_index("zone")
    if "rank" in prev:
        before = pd.to_numeric(prev["rank"], errors="coerce").reindex(zones).to_numpy(dtype=float)
        out = before - ranks
    if group_ranks is not None and "group_rank" in prev:
        before = pd.to_numeric(prev["group_rank"], errors="coerce").reindex(zones).to_numpy(dtype=float)
        same = np.ones(len(zones), bool)
        if groups is not None and "group" in prev:
            was = prev["group"].reindex(zones).to_numpy(dtype=object)
            same = pd.isna(was) | (was == np.asarray(groups, dtype=object))
        out = np.where(np.isnan(out) & same, before - group_ranks, out)
    return out
