"""Salary pools tied to tax and output, distribution to people, and fiscal returns.

Pure and vectorised over zone-years (and people). Parameters come from the zone's policy
profile (rule kinds `salary_pool`, `tax_return`, `land_return`), as profiles/resolve.py decides;
when a zone's profile has no such rule, nothing is computed for it and the result says so
(another region's formula never stands in). Money is in 万元
except the person-level amounts, which are in 元 and add up to the pool to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..profiles import LINKED_INDICATORS, inferred_note
from ..results import DECLARED, PAY, PAY_DETAIL, TAX_RETURN
from .indicators import in_input_order
from .zones import UNLISTED, unlisted_zones, zone_facts

MISSING = "数据缺失"
HEADCOUNT_STAND_IN = "核定人数未填"        # 说明 of a pool whose 核定人数 is taken from 实有人数
# 说明 of a pool computed without a cap while other rows of the 薪酬 sheet have one (it may be forgotten)
NO_CAP = "未填「薪酬总额上限」，未按上限核定（如有上限请填写）"
POOL_COLUMNS = DECLARED[PAY].names
DETAIL_COLUMNS = DECLARED[PAY_DETAIL].names
YES = "是"
RETURN_COLUMNS = DECLARED[TAX_RETURN].names


def _f(s) -> np.ndarray:
    if isinstance(s, pd.Series):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return np.asarray(s, dtype=float)


TARGET_COLUMNS = {"tax": "target_tax", "fixed_investment": "target_investment",
                  "industrial_output": "target_output"}


def link_coefficient(actuals, references, weights, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """挂钩系数 = Σ wₖ·clamp(actualₖ/referenceₖ, lo, hi), weights renormalised to sum 1.

    actuals/references: (n, k); weights (k,) or (n, k); lo/hi scalars or (n,). Only columns
    with a positive weight must be present. Returns (coefficient, ratios, usable) where the
    coefficient is NaN when any weighted column lacks a value or has a non-positive reference.
    """
    actuals, references = np.atleast_2d(_f(actuals)), np.atleast_2d(_f(references))
    weights = np.broadcast_to(np.asarray(weights, dtype=float), actuals.shape)
    lo = np.broadcast_to(np.asarray(lo, dtype=float), actuals.shape[:1])[:, None]
    hi = np.broadcast_to(np.asarray(hi, dtype=float), actuals.shape[:1])[:, None]
    used = weights > 0
    act, ref = np.where(used, actuals, 1.0), np.where(used, references, 1.0)
    ok = np.isfinite(act) & np.isfinite(ref) & (ref > 0)
    ratio = np.divide(act, ref, out=np.full(act.shape, np.nan), where=ok)
    wsum = weights.sum(axis=1, keepdims=True)
    wn = np.divide(weights, wsum, out=np.zeros_like(weights), where=wsum > 0)
    coef = np.where(ok.all(axis=1), (np.clip(ratio, lo, hi) * wn).sum(axis=1), np.nan)
    return coef, ratio, ok


def pool_arrays(headcount, base_standard, performance_ratio, coefficient, reward, cap=None, multiplier=None):
    """Vectorised pool arithmetic: (基础, 绩效, 奖励, 总额, capped) — NaN where inputs are missing.

    A binding cap (the 薪酬 sheet's 上限) shrinks the performance pool to cap − 基础 − 项目奖励, never below 0:
    that capped pool is what is distributed to people, so 总额 = 基础 + 绩效 + 奖励 always holds
    (and exceeds the cap only when the cap is below 基础 + 奖励)."""
    headcount, base_standard = _f(headcount), _f(base_standard)
    performance_ratio, coefficient = _f(performance_ratio), _f(coefficient)
    reward = _f(reward)
    multiplier = np.ones_like(coefficient) if multiplier is None else np.nan_to_num(_f(multiplier), nan=1.0)
    base = headcount * base_standard
    performance = base * performance_ratio * coefficient * multiplier
    total = base + performance + reward
    cap = np.full_like(total, np.nan) if cap is None else _f(cap)
    capped = np.isfinite(cap) & (total > cap)
    performance = np.where(capped, np.maximum(0.0, cap - base - reward), performance)
    return base, performance, reward, base + performance + reward, capped


@dataclass
class SalaryResult:
    pools: pd.DataFrame
    people: pd.DataFrame
    returns: pd.DataFrame
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ZoneRules:
    """The rule of one kind each zone follows: zone → profile id → (rule or None, label).

    Rows are resolved per distinct profile, never per zone in Python: an enterprise-level
    sheet (亩均评价) has 10⁵–10⁶ rows.
    """

    profile_of: pd.Series                               # zone → profile id (zones of the 开发区 sheet)
    by_profile: dict[str, tuple[dict | None, str]]
    other: str                                          # profile id of a zone not in `profile_of`
    unlisted: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))   # not in 开发区: no profile

    def rows(self, zones) -> tuple[np.ndarray, list[tuple[dict | None, str]]]:
        """(codes, choices): row i follows choices[codes[i]]; the last choice is "no rule" (no zone,
        or a zone the 开发区 sheet does not list: which rule applies to it is unknown)."""
        zones = pd.Index(zones, dtype=object)
        pos = self.profile_of.index.get_indexer(zones)
        pids = np.append(self.profile_of.to_numpy(dtype=object), self.other)[pos]     # -1 → other
        codes, uniques = pd.factorize(np.where(zones.isna() | self.unknown(zones), None, pids))
        choices = [self.by_profile[pid] for pid in uniques] + [(None, "")]
        return np.where(codes < 0, len(choices) - 1, codes), choices

    def unknown(self, zones) -> np.ndarray:
        """Per row: its zone is absent from the 开发区 sheet (its amounts are 数据缺失, UNLISTED says why)."""
        return pd.Index(zones, dtype=object).isin(self.unlisted)

    def other_has_rule(self) -> bool:
        """The input's own profile (the one a zone matched to no region follows) has a rule of this kind."""
        return self.by_profile[self.other][0] is not None


def _money(values) -> np.ndarray:
    """万元 amounts as text for a 说明 (two decimals), one per row."""
    return np.char.mod("%.2f", np.asarray(values, dtype=float)).astype(object)


def _same_zone_at(zones: pd.Series, years: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each row, `values` of the row with the same zone and year `wanted` (NaN if none).

    Keys are (zone code, year) packed in one int64: no MultiIndex of 10⁶ tuples.
    """
    code = pd.factorize(zones)[0].astype(np.int64) << 32
    whole = lambda y: np.isfinite(y) & (y == np.floor(y)) & (np.abs(y) < 2**31)
    have, ask = whole(years), whole(wanted)
    pos = pd.Index(code[have] + years[have].astype(np.int64)).get_indexer(code + np.where(ask, wanted, 0).astype(np.int64))
    return np.where(ask & (pos >= 0), values[have][pos], np.nan)


def _take(codes: np.ndarray, values: list, dtype=object) -> np.ndarray:
    """One value per choice → one per row."""
    return np.asarray(values, dtype=dtype)[codes] if len(codes) else np.array([], dtype=dtype)


def salary_pools(tables: dict[str, pd.DataFrame], rules: ZoneRules) -> pd.DataFrame:
    """薪酬测算: one row per row of the 薪酬 sheet. `rules`: each zone's salary_pool rule."""
    sal = tables["salary"].copy()
    n = len(sal)
    keys = list(LINKED_INDICATORS)
    actual, previous = _linked_actuals(sal, tables.get("indicators"), keys)
    targets = np.column_stack([_f(sal[TARGET_COLUMNS[k]]) if TARGET_COLUMNS[k] in sal else np.full(n, np.nan)
                               for k in keys])
    head, substituted = _headcount(sal, tables.get("posts"))

    codes, choices = rules.rows(sal["zone"])
    rule = [r or {} for r, _ in choices]
    has_rule = _take(codes, [r is not None for r, _ in choices], bool)
    weights = np.array([[r.get("weights", {}).get(k, 0.0) for k in keys] for r in rule])[codes].reshape(n, len(keys))
    lo = _take(codes, [r.get("lo", np.nan) for r in rule], float)
    hi = _take(codes, [r.get("hi", np.nan) for r in rule], float)
    growth = _take(codes, [r.get("mode", "target") == "growth" for r in rule], bool)
    reference = np.where(growth[:, None], previous, targets)
    used = weights > 0
    coef, ratio, ok = link_coefficient(actual, reference, weights, lo, hi)
    multiplier, grade_text = _grade_multipliers(sal, tables.get("history"), codes, rule)

    cap = _f(sal["cap"]) if "cap" in sal else None          # a blank cap: no cap
    reward_in = _f(sal["project_reward"]) if "project_reward" in sal else np.zeros(n)   # no column: no awards
    standard, perf_ratio = sal.get("base_standard", np.nan), sal.get("performance_ratio", np.nan)
    uncapped = pool_arrays(head, standard, perf_ratio, coef, reward_in, None, multiplier)[1]
    base, perf, reward, total, capped = pool_arrays(head, standard, perf_ratio, coef, reward_in, cap, multiplier)
    lacking = _lacking(sal, head, reward_in, np.where(used, actual, 1.0), used & ~ok, growth, keys)
    missing = ~has_rule | np.array([bool(x) for x in lacking]) | np.isnan(total)
    ratio_text = ["；".join(f"{LINKED_INDICATORS[k]} {r * 100:.1f}%" for k, r, u in zip(keys, row, urow) if u and np.isfinite(r))
                  for row, urow in zip(ratio, used)]
    note = np.where(~has_rule, "政策口径未规定薪酬挂钩办法",
                    np.where(missing, "缺少" + pd.Series(lacking).to_numpy(dtype=object) + "，无法测算",
                             "完成率：" + pd.Series(ratio_text).to_numpy(dtype=object)))
    note = _cap_notes(note, missing, cap, capped, base, reward, uncapped, perf)
    note = np.where(~missing & (grade_text != ""), note + "；" + grade_text, note)
    # 基础薪酬 = 核定人数 × 标准: a stand-in headcount moves the pool, so it is said
    note = np.where(substituted, HEADCOUNT_STAND_IN + "，按「职数编制」实有人数 " + pd.Series(head).map("{:g}".format).to_numpy(dtype=object)
                    + " 人计；" + note, note)
    note = np.where(rules.unknown(sal["zone"]), UNLISTED, note)
    blank = lambda a: np.where(missing, np.nan, a)
    return pd.DataFrame({
        "开发区名称": sal["zone"].to_numpy(), "年度": _f(sal["year"]),
        "基础薪酬": blank(np.round(base, 6)), "绩效薪酬": blank(np.round(perf, 6)),
        "项目奖励": blank(reward), "薪酬总额": blank(np.round(total, 6)), "挂钩系数": blank(np.round(coef, 6)),
        "说明": note, "核定人数": head, "基础薪酬标准": _f(standard),
        "绩效薪酬系数": _f(perf_ratio), "等次系数": multiplier,
        "上限": cap if cap is not None else np.nan, "约束": np.where(~missing & capped, "上限", ""),
        "政策口径": _take(codes, [label for _, label in choices]),
        "依据": _take(codes, [r.get("source", "") for r in rule]),
    })


def _linked_actuals(sal: pd.DataFrame, ind: pd.DataFrame | None, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(this year's, last year's) value of each linked indicator for each 薪酬 row, from 指标."""
    n = len(sal)
    actual = np.full((n, len(keys)), np.nan)
    previous = np.full((n, len(keys)), np.nan)
    if ind is not None:
        idx = ind.drop_duplicates(["zone", "year"]).set_index(["zone", "year"])
        here = pd.MultiIndex.from_arrays([sal["zone"], _f(sal["year"])])
        before = pd.MultiIndex.from_arrays([sal["zone"], _f(sal["year"]) - 1])
        for j, k in enumerate(keys):
            if k in idx:
                col = pd.Series(_f(idx[k]), index=pd.MultiIndex.from_arrays(
                    [idx.index.get_level_values(0), idx.index.get_level_values(1).astype(float)]))
                actual[:, j] = col.reindex(here).to_numpy()
                previous[:, j] = col.reindex(before).to_numpy()
    return actual, previous


def _headcount(sal: pd.DataFrame, posts: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """核定人数, with 职数编制's 实有人数 standing in where it is blank; (headcount, stood in)."""
    head = _f(sal["headcount"]) if "headcount" in sal else np.full(len(sal), np.nan)
    if posts is not None and "actual_staff" in posts:
        fallback = posts.drop_duplicates("zone").set_index("zone")["actual_staff"].reindex(sal["zone"])
        substituted = np.isnan(head) & ~np.isnan(_f(fallback))
        return np.where(substituted, _f(fallback), head), substituted
    return head, np.zeros(len(sal), bool)


def _grade_multipliers(sal: pd.DataFrame, grades: pd.DataFrame | None, codes: np.ndarray,
                       rule: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """等次系数 from last year's grade in 历年排名 (1 where none applies) and what the 说明 says of it."""
    n = len(sal)
    multiplier = np.ones(n)
    tied = _take(codes, [bool(r.get("grade_multipliers")) for r in rule], bool)
    grade_text = np.where(tied, "无「历年排名」上年考核等次，等次系数按 1 计", "").astype(object)
    if grades is not None and "grade" in grades:
        g = grades.drop_duplicates(["zone", "year"]).set_index(["zone", "year"])["grade"]
        g.index = pd.MultiIndex.from_arrays([g.index.get_level_values(0), g.index.get_level_values(1).astype(float)])
        prev_grade = g.reindex(pd.MultiIndex.from_arrays([sal["zone"], _f(sal["year"]) - 1])).to_numpy()
        table = [rule[c].get("grade_multipliers") or {} for c in codes.tolist()]
        multiplier = np.array([t.get(x, 1.0) if isinstance(x, str) and t else 1.0 for t, x in zip(table, prev_grade)])
        grade_text = np.array([(f"上年等次{x}×{m:g}" if x in t else f"上年等次「{x}」不在等次系数表中，等次系数按 1 计")
                               if isinstance(x, str) and t else ("无上年考核等次，等次系数按 1 计" if t else "")
                               for t, x, m in zip(table, prev_grade, multiplier)], dtype=object)
    return multiplier, grade_text


def _lacking(sal: pd.DataFrame, head: np.ndarray, reward_in: np.ndarray, act: np.ndarray, lack: np.ndarray,
             growth: np.ndarray, keys: list[str]) -> list[str]:
    """Per row, the inputs a pool cannot be computed without (「核定人数、税收收入目标值」), or ""."""
    missing_parts = []
    for label, arr in (("核定人数", head), ("基础薪酬标准", _f(sal.get("base_standard", np.nan))),
                       ("绩效薪酬系数", _f(sal.get("performance_ratio", np.nan))), ("项目奖励（无奖励请填 0）", reward_in)):
        missing_parts.append(np.where(np.isnan(arr), label, ""))
    ref_label = np.where(growth, "上年实际值", "目标值")
    for j, k in enumerate(keys):
        missing_parts.append(np.where(lack[:, j], LINKED_INDICATORS[k] + np.where(np.isnan(act[:, j]), "实际值", ref_label), ""))
    return ["、".join(p for p in parts if p) for parts in zip(*missing_parts)]


def _cap_notes(note: np.ndarray, missing: np.ndarray, cap: np.ndarray | None, capped: np.ndarray, base: np.ndarray,
               reward: np.ndarray, uncapped: np.ndarray, perf: np.ndarray) -> np.ndarray:
    """The 说明 of a pool the 上限 cut: what it would have been, and a cap below its fixed parts."""
    n = len(note)
    over = capped & (cap - base - reward < 0) if cap is not None else np.zeros(n, bool)
    cap_text = ("；按挂钩系数测算绩效薪酬 " + _money(uncapped) + " 万元，薪酬总额超过上限 " + _money(cap) +
                " 万元，按上限核定：绩效薪酬核减为 " + _money(perf) + " 万元（上限 − 基础薪酬 − 项目奖励，薪酬明细按核减后分配）"
                ) if cap is not None else ""
    note = np.where(~missing & capped, note + cap_text, note)
    if cap is not None:                       # the column is there, this zone's cell is blank
        note = np.where(~missing & np.isnan(cap), note + "；" + NO_CAP, note)
    return np.where(~missing & over, note + "；上限低于基础薪酬与项目奖励之和，绩效薪酬为 0，薪酬总额仍超过上限，请核实上限", note)


def largest_remainder(total_cents: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Split integer `total_cents[g]` over the rows whose `groups` is g, ∝ weights; sums are exact.

    `groups[i]` is the position of row i's total in `total_cents` (not a label: people listed in
    another order than the pools still get their own zone's pool). Hamilton's method: floor every
    share, then hand the leftover cents to the largest fractional parts (ties to the earlier row).
    Vectorised over all groups at once.
    """
    weights = np.asarray(weights, dtype=float)
    total_cents = np.asarray(total_cents, dtype=np.int64)
    codes = np.asarray(groups, dtype=np.int64)
    wsum = np.bincount(codes, weights=weights, minlength=len(total_cents))
    share = np.divide(weights, wsum[codes], out=np.zeros_like(weights), where=wsum[codes] > 0)
    exact = share * total_cents[codes]
    base = np.floor(exact + 1e-9)
    left = total_cents - np.bincount(codes, weights=base, minlength=len(total_cents))
    frac = exact - base
    order = np.lexsort((np.arange(len(frac)), -frac, codes))          # by group, then largest remainder
    rank_in_group = np.empty(len(frac), dtype=np.int64)
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, sorted_codes, side="left")
    rank_in_group[order] = np.arange(len(order)) - starts
    extra = (rank_in_group < left[codes]) & (wsum[codes] > 0)
    return (base + extra).astype(np.int64)


def distribute(people: pd.DataFrame, pools: pd.DataFrame, rules: ZoneRules) -> pd.DataFrame:
    """薪酬明细: each zone's latest performance pool split over its staff (元, exact to the cent)."""
    if people is None or "zone" not in people or pools.empty:
        return pd.DataFrame(columns=DETAIL_COLUMNS)
    latest = pools.dropna(subset=["绩效薪酬"]).sort_values("年度").drop_duplicates("开发区名称", keep="last")
    latest = latest.set_index("开发区名称")
    p = people[people["zone"].isin(latest.index)].reset_index(drop=True)
    if p.empty:
        return pd.DataFrame(columns=DETAIL_COLUMNS)
    n = len(p)
    post = _f(p["post_coef"]) if "post_coef" in p else np.ones(n)
    no_post = np.isnan(post)
    post = np.where(no_post, 1.0, post)
    grade = p["grade"] if "grade" in p else pd.Series([None] * n)
    codes, choices = rules.rows(p["zone"])
    rule = [r or {} for r, _ in choices]
    table = [rule[c].get("person_grades") or {} for c in codes.tolist()]
    coef = np.array([t.get(g, 1.0) if isinstance(g, str) else 1.0 for t, g in zip(table, grade)])
    fail = _take(codes, [r.get("fail_coefficient", 0.0) for r in rule], float)
    coef = np.where(grade.to_numpy(dtype=object) == "不合格", fail, coef)
    # LY-11: people holding the post concurrently as city or local leaders take no share
    exclusion = _take(codes, [r.get("exclude_concurrent") or "" for r in rule])
    concurrent = (p["concurrent"].to_numpy(dtype=object) == YES) if "concurrent" in p else np.zeros(n, bool)
    left_out = concurrent & (exclusion != "")
    weight = np.where(left_out, 0.0, post * coef)
    cents = np.round(latest["绩效薪酬"].to_numpy() * 1e4 * 100).astype(np.int64)   # 万元 → 分
    zone_pos = latest.index.get_indexer(p["zone"])
    alloc = largest_remainder(cents, weight, zone_pos)
    graded = np.array([isinstance(g, str) and g in t for t, g in zip(table, grade)], dtype=bool)
    has_table = np.array([bool(t) for t in table], dtype=bool)
    note = np.full(n, "", dtype=object)

    def add(mask, words):
        nonlocal note
        note = np.where(mask, note + np.where(note == "", "", "；") + np.asarray(words, dtype=object), note)

    add(left_out, "由市领导或地方领导班子成员兼任，不参与绩效薪酬分配（" + exclusion + "）")
    nobody = np.bincount(zone_pos, weights=weight, minlength=len(latest))[zone_pos] <= 0
    add(nobody, "本开发区没有可参与分配的人员（分配权重均为 0），绩效薪酬未分配")
    add(~left_out & no_post, "岗位系数缺失，按 1 计")
    add(~left_out & has_table & ~graded & grade.isna().to_numpy(), "考核等次缺失，等次系数按 1 计")
    add(~left_out & has_table & ~graded & grade.notna().to_numpy() & (grade.to_numpy(dtype=object) != "不合格"),
        "考核等次不在等次系数表中，等次系数按 1 计")
    return pd.DataFrame({
        "姓名": p["name"], "人员编号": p.get("person_id"), "开发区名称": p["zone"],
        "年度": latest["年度"].to_numpy()[zone_pos], "岗位": p.get("post"), "岗位系数": post,
        "考核等次": grade, "等次系数": np.where(left_out, 0.0, coef), "分配权重": weight,
        "绩效薪酬(元)": alloc / 100.0, "说明": note,
    })


def tax_returns(ind: pd.DataFrame, rules: ZoneRules, land_rules: ZoneRules) -> pd.DataFrame:
    """税收返还: 增量 = max(0, 税收 − 基数); 返还 = 比例 × (增量 + 行政事业性收费); land at its share."""
    df = in_input_order(ind)
    n = len(df)
    codes, choices = rules.rows(df["zone"])
    rule = [r or {} for r, _ in choices]
    has = _take(codes, [r is not None for r, _ in choices], bool)
    rate = _take(codes, [r.get("rate", np.nan) for r in rule], float)
    from_year = _take(codes, [r.get("from_year", -np.inf) for r in rule], float)
    previous = _take(codes, [r.get("base", "year") == "previous" for r in rule], bool)
    base_year = _take(codes, [r.get("base_year", np.nan) for r in rule], float)
    year = _f(df["year"])
    tax = _f(df["tax"]) if "tax" in df else np.full(n, np.nan)
    prev_tax = _same_zone_at(df["zone"], year, tax, year - 1)
    year_tax = _same_zone_at(df["zone"], year, tax, base_year)
    entered = _f(df["tax_base"]) if "tax_base" in df else np.full(n, np.nan)
    base = np.where(np.isfinite(entered), entered, np.where(previous, prev_tax, year_tax))
    # 行政事业性收费: a sheet without the column has none; a blank cell is unknown (intake gives 0
    # where the schema declares a blank as none, NaN otherwise)
    fees = _f(df["fees"]) if "fees" in df else np.zeros(n)
    applies = has & (year >= from_year)
    increment, returnable = returnable_base(tax, base, fees)
    own_rate = _f(df["return_rate"]) if "return_rate" in df else np.full(n, np.nan)
    used_rate = np.where(np.isfinite(own_rate), own_rate, rate)
    minimum = rate * returnable
    amount = used_rate * returnable
    actual = _f(df["actual_return"]) if "actual_return" in df else np.full(n, np.nan)
    lack = [applies & np.isnan(v) for v in (tax, base, fees)]
    missing = lack[0] | lack[1] | lack[2]
    unpaid = applies & ~missing & np.isnan(actual)      # a blank 实际返还金额 is never 合规: 数据缺失
    below = applies & ~missing & np.isfinite(actual) & (actual < minimum - 1e-9)
    low_rate = applies & np.isfinite(own_rate) & (own_rate < rate)
    unknown = rules.unknown(df["zone"])
    verdict = np.select([unknown, ~applies, below | low_rate, missing | unpaid], [MISSING, "", "不合规", MISSING],
                        "合规").astype(object)
    base_kind = np.where(np.isfinite(entered), 0, np.where(previous, 1, 2))
    land = _f(df["land_income"]) if "land_income" in df else np.full(n, np.nan)
    land_codes, land_choices = land_rules.rows(df["zone"])
    share = _take(land_codes, [(r or {}).get("share", np.nan) for r, _ in land_choices], float)
    land_due = share * land
    land_paid = _f(df["land_return"]) if "land_return" in df else np.full(n, np.nan)
    land_short = np.isfinite(land_paid) & np.isfinite(land_due) & (land_paid < land_due - 1e-9)
    land_unknown = np.isfinite(land_due) & (land_due > 0) & np.isnan(land_paid)
    note = _return_notes(codes, [r.get("from_year", -np.inf) for r in rule], has, applies, *lack,
                         base_kind, tax < base, below, low_rate, land_short, unpaid, land_unknown,
                         np.full(n, "fees" not in df))
    keep = has | np.isfinite(share)
    # an unlisted zone gets its row wherever a listed zone or the input's own profile would have one
    keep |= unknown & (keep.any() | rules.other_has_rule() | land_rules.other_has_rule())
    note = np.where(unknown, UNLISTED, note)
    blank = lambda a: np.where(applies & ~missing, a, np.nan)
    out = pd.DataFrame({
        "开发区名称": df["zone"], "年度": year, "税收收入": tax, "税收基数": base,
        "税收增量": blank(np.round(increment, 6)), "返还比例": np.where(applies, used_rate, np.nan),
        "返还金额": blank(np.round(amount, 6)), "说明": note, "行政事业性收费": fees,
        "应返还下限": blank(np.round(minimum, 6)), "实际返还金额": actual, "结论": verdict,
        "土地出让收益": land, "土地收益应返还": np.round(land_due, 6), "土地收益返还": land_paid,
        "政策口径": _take(codes, [label for _, label in choices]), "依据": _take(codes, [r.get("source", "") for r in rule]),
    })
    return out[keep].reset_index(drop=True)


_BASE_LABELS = ("填报基数", "上年税收", "基数年税收")


def _return_notes(codes, from_years, has, applies, no_tax, no_base, no_fees, base_kind, fell, below, low_rate,
                  land_short, unpaid, land_unknown, no_fee_column) -> np.ndarray:
    """税收返还「说明」: written once per distinct combination of its inputs, then spread to the rows."""
    flags = pd.DataFrame({"code": np.asarray(codes, dtype=np.int64), "kind": np.asarray(base_kind, dtype=np.int64),
                          **{k: np.asarray(v, dtype=bool) for k, v in dict(
                              has=has, applies=applies, no_tax=no_tax, no_base=no_base, no_fees=no_fees, fell=fell,
                              below=below, low=low_rate, land=land_short, unpaid=unpaid,
                              land_unknown=land_unknown, no_fee_column=no_fee_column).items()}})
    combos = flags.drop_duplicates()
    inverse = pd.MultiIndex.from_frame(combos).get_indexer(pd.MultiIndex.from_frame(flags))
    texts = []
    for c in combos.itertuples(index=False):
        label = _BASE_LABELS[c.kind]
        lacking = "、".join(name for name, gone in (("税收收入", c.no_tax), (label, c.no_base),
                                                    ("行政事业性收费（没有收费请填 0）", c.no_fees)) if gone)
        if not c.has:
            text = "政策口径未规定税收返还"
        elif not c.applies:
            text = f"返还政策自 {from_years[c.code]:.0f} 年起执行"
        elif lacking:
            text = f"缺少{lacking}，无法计算"
        else:
            text = f"基数为{label}" + ("；税收下降，增量按 0 计" if c.fell else "")
            text += "；「指标」表没有「行政事业性收费」列，收费按 0 计入应返还下限" if c.no_fee_column else ""
        text += "；未填报实际返还金额，无法判断是否足额返还" if c.unpaid else ""
        text += "；实际返还低于应返还下限" if c.below else ""
        text += "；填报的返还比例低于政策下限" if c.low else ""
        text += "；土地出让收益未足额返还（预警）" if c.land else ""
        text += "；未填报土地收益返还，无法判断土地出让收益是否全额返还" if c.land_unknown else ""
        texts.append(text)
    return np.asarray(texts, dtype=object)[inverse]


def compute_salary(tables: dict[str, pd.DataFrame], profile: str | None = None,
                   overrides: dict[str, object] | None = None, facts: pd.DataFrame | None = None) -> SalaryResult:
    """The single engine entry for 薪酬测算, 薪酬明细 and 税收返还."""
    from .params import resolution

    facts = zone_facts(tables) if facts is None else facts   # assess computes them once
    res = resolution(tables, profile, overrides, facts)
    unlisted = unlisted_zones(tables)
    rows = [tables[t]["zone"] for t in ("salary", "indicators") if t in tables]
    zones = pd.concat(rows).dropna() if rows else pd.Series([], dtype=object)
    used = res.used(zones[~zones.isin(unlisted)]) if rows else []        # the profiles rows follow
    by_kind = {kind: ZoneRules(res.profile_of, {k: (res.rule(k, kind), res.label(k)) for k in res.keys()}, res.other,
                               unlisted) for kind in ("salary_pool", "tax_return", "land_return")}
    pools = (salary_pools(tables, by_kind["salary_pool"]) if "salary" in tables
             else pd.DataFrame(columns=POOL_COLUMNS))
    people = distribute(tables.get("staff"), pools, by_kind["salary_pool"])
    returns = (tax_returns(tables["indicators"], by_kind["tax_return"], by_kind["land_return"])
               if "indicators" in tables else pd.DataFrame(columns=RETURN_COLUMNS))
    texts = lambda kind: "；".join(sorted({f"{lbl}：{r['text']}" for r, lbl in map(by_kind[kind].by_profile.get, used) if r}))
    inferred = "；".join(sorted({inferred_note(r) for kind in by_kind.values() for pid in used
                                 for r in [kind.by_profile[pid][0]] if r and r.get("inferred")}))
    notes = {"薪酬挂钩办法": texts("salary_pool"), "税收返还办法": texts("tax_return"), "推断口径": inferred,
             "金额单位": "薪酬测算、税收返还为万元；薪酬明细为元（按最大余数法分配到分，合计与绩效薪酬总额一致）"}
    return SalaryResult(pools, people, returns, notes)


def missing_returns(returns: pd.DataFrame, res) -> pd.DataFrame:
    """(zone, year, input sheet, input column, rule) behind each 数据缺失 税收返还: that year's 税收收入 and
    实际返还金额, and the year before's 税收收入 (the base when none is entered)."""
    ids = {res.label(k): r["id"] for k in res.keys() for r in [res.rule(k, "tax_return")] if r}
    gone = returns[returns["结论"] == MISSING]
    rule = gone["政策口径"].map(ids)
    year = gone["年度"].to_numpy(dtype=float)
    parts = [pd.DataFrame({"zone": gone["开发区名称"].to_numpy(), "year": y, "sheet": "indicators", "column": c,
                           "rule": rule.to_numpy()}) for y, c in ((year, "tax"), (year - 1, "tax"), (year, "actual_return"))]
    return pd.concat(parts, ignore_index=True)


def returnable_base(tax, base, fees) -> tuple[np.ndarray, np.ndarray]:
    """(税收增量, what the rate applies to): max(0, tax − base) and that plus 行政事业性收费 —
    the one formula of the tax-return rule kind, for whole columns and for one zone-year."""
    increment = np.maximum(0.0, _f(tax) - _f(base))
    return increment, increment + _f(fees)


def tax_return_one(tax: float, base: float, fees: float, rate: float) -> float:
    """One zone-year (the XT_TAX_RETURN UDF): rate × (max(0, tax − base) + fees); the caller takes
    `rate` from a profile's tax_return rule or from the official."""
    _, returnable = returnable_base(tax, base, np.nan_to_num(_f(fees)))
    return float(_f(rate) * returnable)
