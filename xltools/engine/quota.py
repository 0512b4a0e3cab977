"""Quota compliance (SPEC §4): zone facts from the typed tables, rule kinds, results.

Pure and vectorised over zones: every rule kind computes a whole column of verdicts with
numpy/pandas. Ratios compare exactly on integers (2 of 6 passes "≤ 1/3"). A check whose
inputs are missing yields 数据缺失, never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from ..profiles import QUOTA_KINDS, Profile, load_profile, parse_rational
from ..schema import SHEETS_BY_KEY

OK, FAIL, WARN, MISSING = "合规", "不合规", "预警", "数据缺失"
STATUS_OF = {"hard": FAIL, "soft": WARN}
DETAIL_COLUMNS = ["开发区名称", "规则编号", "规则", "实际值", "限值", "结论", "说明", "依据", "政策口径"]
SUMMARY_COLUMNS = ["开发区名称", "级别", "检查项数", "不合规项数", "预警项数", "结论", "数据缺失项数", "政策口径"]

POSTS_COLUMNS = {"principals": "principals", "deputies": "deputies", "approved_staff": "approved_staff",
                 "actual_staff": "actual_staff", "headcount_cap": "headcount_cap",
                 "contract_staff": "contract_staff", "section_principals": "section_principals",
                 "section_deputies": "section_deputies", "depts_before": "departments_before",
                 "staff_before": "staff_before"}
ZONE_FACTS = ("zone", "level", "zone_type", "county", "admin_rank", "governance", "blocks", "hosts_subdistrict",
              "one_county_exempt", "region")
TEXT_FACTS = ("hosts_subdistrict", "one_county_exempt", "governance", "level", "admin_rank", "county", "zone",
              "zone_type", "region")
# Facts counted by the engine; every other fact is a schema column and takes its Chinese header from there.
COUNTED_FACTS = {
    "departments": "内设机构数", "support_departments": "综合保障类机构数",
    "frontline_departments": "一线机构数", "economic_departments": "经济发展类机构数",
    "social_departments": "社会事务类机构数", "support_institutions": "支持保障类事业单位数",
    "industries": "主导产业个数",
}
# Chinese names of the facts a rule may refer to (used in 说明 and error messages).
FACT_NAMES = {
    **{POSTS_COLUMNS[c.key]: c.header for c in SHEETS_BY_KEY["posts"].columns if c.key in POSTS_COLUMNS},
    **{c.key: c.header for c in SHEETS_BY_KEY["zones"].columns if c.key in ZONE_FACTS},
    **COUNTED_FACTS,
}
NUMERIC_FACTS = [k for k in FACT_NAMES if k not in TEXT_FACTS]


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def zone_facts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per zone with every countable fact the rule kinds use (NaN = not provided)."""
    zones = tables.get("zones")
    depts = tables.get("departments")
    posts = tables.get("posts")
    names: list[str] = []
    for t in (zones, posts, depts):
        if t is not None and "zone" in t:
            names += [z for z in t["zone"].tolist() if isinstance(z, str)]
    facts = pd.DataFrame(index=pd.Index(list(dict.fromkeys(names)), name="zone"))
    for key in NUMERIC_FACTS:
        facts[key] = np.nan
    for key in ("hosts_subdistrict", "one_county_exempt", "governance", "level", "admin_rank",
                "county", "zone_type", "region", "profile"):
        facts[key] = None
    if zones is not None:
        z = zones.drop_duplicates("zone").set_index("zone")
        for key in ("level", "admin_rank", "governance", "county", "zone_type", "region", "profile",
                    "hosts_subdistrict", "one_county_exempt", "params_profile"):
            if key in z:
                facts[key] = z[key].reindex(facts.index).astype(object).where(lambda s: s.notna(), None)
        if "blocks" in z:
            facts["blocks"] = _num(z["blocks"].reindex(facts.index))
        if "industries" in z:
            items = z["industries"].reindex(facts.index)
            facts["industries"] = np.where(items.isna(), np.nan,
                                           items.fillna("").astype(str).str.count("；") + 1.0)
    if depts is not None and "zone" in depts:
        d = depts[depts["zone"].isin(facts.index)]
        nature = d["nature"] if "nature" in d else pd.Series(None, index=d.index, dtype=object)
        internal = nature.isna() | (nature == "内设机构")
        codes = facts.index.get_indexer(d["zone"])  # factorise once, count with bincount

        def by_zone(mask: pd.Series) -> pd.Series:
            counts = np.bincount(codes, weights=np.asarray(mask, dtype=float), minlength=len(facts))
            return pd.Series(counts, index=facts.index)
        facts["departments"] = by_zone(internal)  # sheet present: a zone without rows has 0
        if "category" in d:
            cat = d["category"]
            facts["support_departments"] = by_zone(internal & (cat == "综合保障类"))
            facts["economic_departments"] = by_zone(internal & (cat == "经济发展类"))
            facts["social_departments"] = by_zone(internal & (cat == "社会事务类"))
            unknown = by_zone(internal & cat.isna()).to_numpy() > 0
            for k in ("support_departments", "economic_departments", "social_departments"):
                facts.loc[unknown, k] = np.nan
        if "frontline" in d:
            front = d["frontline"]
            facts["frontline_departments"] = by_zone(internal & (front == "是"))
            unknown = by_zone(internal & front.isna()).to_numpy() > 0
            facts.loc[unknown, "frontline_departments"] = np.nan
        institutions = by_zone(nature == "事业单位")
        if "unit_type" in d:
            facts["support_institutions"] = by_zone((nature == "事业单位") & (d["unit_type"] == "支持保障类"))
        else:  # institutions of unknown type cannot be judged
            facts["support_institutions"] = institutions.where(institutions == 0)
    if posts is not None and "zone" in posts:
        p = posts.drop_duplicates("zone").set_index("zone").reindex(facts.index)
        for src, key in POSTS_COLUMNS.items():
            if src in p:
                facts[key] = _num(p[src])
    return facts


# --------------------------------------------------------------------------- formatting helpers
def _fmt(values: np.ndarray) -> pd.Series:
    """Numbers as an official writes them: 8 not 8.0, blank for missing (vectorised)."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    integral = finite & (v == np.round(v))
    text = np.where(integral, v, 0).astype(np.int64).astype(str).astype(object)
    if not integral[finite].all():
        text = np.where(integral, text, v.astype(str))
    return pd.Series(np.where(finite, text, ""), dtype=object)


def _pct(q: Fraction) -> str:
    return f"{float(q) * 100:.1f}%".replace(".0%", "%")


def _pct_arr(num: np.ndarray, den: np.ndarray) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den * 100
    finite = np.isfinite(r)
    return pd.Series(np.where(finite, np.char.mod("%.1f%%", np.where(finite, r, 0)), ""), dtype=object)


@dataclass
class Verdicts:
    """One rule evaluated for a set of zones (all arrays aligned with `zones`)."""

    zones: pd.Index
    actual: pd.Series
    limit: str | pd.Series
    ok: np.ndarray          # bool
    missing: np.ndarray     # bool
    note_bad: pd.Series
    note_ok: pd.Series | str = ""
    severity: np.ndarray | None = None  # per-zone "hard"/"soft" override


# --------------------------------------------------------------------------- rule kinds
def kind_count_range(f: pd.DataFrame, r: dict) -> Verdicts:
    v = f[r["field"]].to_numpy(dtype=float)
    lo, hi = r.get("min"), r.get("max")
    ok = np.ones(len(v), bool)
    if lo is not None:
        ok &= v >= lo
    if hi is not None:
        ok &= v <= hi
    limit = f"{lo}–{hi}" if lo is not None and hi is not None else (f"≤{hi}" if hi is not None else f"≥{lo}")
    name = FACT_NAMES.get(r["field"], r["field"])
    shown = _fmt(v)
    bad = np.where((hi is not None) & (v > (hi if hi is not None else np.inf)),
                   name + " " + shown + "，超过上限 " + str(hi),
                   name + " " + shown + "，低于下限 " + str(lo))
    return Verdicts(f.index, shown, limit, ok, np.isnan(v), pd.Series(bad), name + " " + shown + "，符合 " + limit)


def kind_share(f: pd.DataFrame, r: dict) -> Verdicts:
    num = f[r["numerator"]].to_numpy(dtype=float)
    den = f[r["denominator"]].to_numpy(dtype=float)
    missing = np.isnan(num) | np.isnan(den) | (den == 0)
    n, d = np.nan_to_num(num).astype(np.int64), np.nan_to_num(den).astype(np.int64)
    q = parse_rational(r["ratio"], r["id"])
    if r["op"] == "<=":
        ok = n * q.denominator <= q.numerator * d
        limit = f"≤ {q.numerator}/{q.denominator}（{_pct(q)}）"
    elif r["op"] == ">=":
        ok = n * q.denominator >= q.numerator * d
        limit = f"≥ {q.numerator}/{q.denominator}（{_pct(q)}）"
    else:  # about: inside the tolerance band, exactly
        lo, hi = (parse_rational(b, r["id"]) for b in r["band"])
        ok = (n * lo.denominator >= lo.numerator * d) & (n * hi.denominator <= hi.numerator * d)
        limit = f"{_pct(q)}左右（{_pct(lo)}–{_pct(hi)}）"
    actual = _fmt(num) + "/" + _fmt(den) + "（" + _pct_arr(num, den) + "）"
    name = FACT_NAMES.get(r["numerator"], r["numerator"]) + "占" + FACT_NAMES.get(r["denominator"], r["denominator"])
    return Verdicts(f.index, actual.where(~missing, ""), limit, ok, missing,
                    name + " " + _pct_arr(num, den) + "，不符合 " + limit,
                    name + " " + _pct_arr(num, den))


def kind_posts(f: pd.DataFrame, r: dict) -> Verdicts:
    p = f["principals"].to_numpy(dtype=float)
    d = f["deputies"].to_numpy(dtype=float)
    p_ok, d_ok = p == r["principals"], d == r["deputies"]
    missing = np.isnan(p) | np.isnan(d)
    severity = np.where(~p_ok, r.get("principal_severity", r["severity"]), r["severity"])
    actual = _fmt(p) + "正" + _fmt(d) + "副"
    limit = f"{r['principals']}正{r['deputies']}副"
    note = np.where(~p_ok, "正职 " + _fmt(p) + " 名，应为 " + str(r["principals"]) + " 名",
                    "副职 " + _fmt(d) + " 名，标准为 " + str(r["deputies"]) + " 名")
    return Verdicts(f.index, actual.where(~missing, ""), limit, p_ok & d_ok, missing, pd.Series(note),
                    "领导职数 " + actual, severity)


_CMP = {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater, "==": np.equal}


def kind_compare(f: pd.DataFrame, r: dict) -> Verdicts:
    a = f[r["left"]].to_numpy(dtype=float)
    b = f[r["right"]].to_numpy(dtype=float)
    missing = np.isnan(a) | np.isnan(b)
    with np.errstate(invalid="ignore"):
        ok = _CMP[r["op"]](a, b)
    la, lb = FACT_NAMES.get(r["left"], r["left"]), FACT_NAMES.get(r["right"], r["right"])
    gap = _fmt(np.abs(b - a))
    note_ok = la + " " + _fmt(a) + "，" + lb + " " + _fmt(b)
    if r["op"] in ("<=", "<"):
        note_ok = note_ok + "，空余 " + gap
    symbol = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "="}[r["op"]]
    return Verdicts(f.index, _fmt(a), f"{symbol} {lb}", ok, missing, la + " " + _fmt(a) + " 超出" + lb + " " + _fmt(b) + "（超 " + gap + "）",
                    note_ok)


def kind_forbidden_value(f: pd.DataFrame, r: dict) -> Verdicts:
    v = f[r["field"]].reset_index(drop=True)
    missing = v.isna().to_numpy()
    ok = (v != r["value"]).to_numpy() | missing
    text = FACT_NAMES.get(r["field"], r["field"]) + "为「" + v.fillna("").astype(str) + "」"
    return Verdicts(f.index, v.fillna("").astype(str), f"不得为「{r['value']}」", ok, missing, text, text)


def kind_allowed_values(f: pd.DataFrame, r: dict) -> Verdicts:
    v = f[r["field"]]
    blank = v.isna().to_numpy()
    ok = v.isin(r["values"]).to_numpy().copy()
    for value, allowed in (r.get("only_for") or {}).items():
        ok &= ~((v == value).to_numpy() & ~f.index.isin(allowed))
    if r.get("blank_ok"):
        ok |= blank
        missing = np.zeros(len(v), bool)
    else:
        missing = blank
    name = FACT_NAMES.get(r["field"], r["field"])
    shown = v.fillna("（空）").astype(str).reset_index(drop=True)
    note_bad = name + "为「" + shown + "」"
    for value, allowed in (r.get("only_for") or {}).items():
        note_bad = note_bad.where(~((v == value).to_numpy() & ~f.index.isin(allowed)),
                                  note_bad + f"，「{value}」仅限 " + "、".join(allowed))
    return Verdicts(f.index, v.fillna("").astype(str).reset_index(drop=True), "、".join(r["values"]), ok, missing,
                    note_bad.where(v.isin(r["values"]).to_numpy() | blank, note_bad + "，应为 " + "、".join(r["values"])),
                    name + "为「" + shown + "」")


def kind_unique_per_group(f: pd.DataFrame, r: dict) -> Verdicts:
    g = f[r["group"]]
    exempt = (f[r["exempt"]] == "是").to_numpy() if r.get("exempt") in f else np.zeros(len(f), bool)
    missing = g.isna().to_numpy()
    counted = pd.Series(~exempt & ~missing, index=f.index)
    per_group = counted.groupby(g.fillna("")).transform("sum").to_numpy(dtype=float)
    ok = exempt | (per_group <= r["max"])
    name = FACT_NAMES.get(r["group"], r["group"])
    others = g.fillna("").astype(str).reset_index(drop=True)
    return Verdicts(f.index, _fmt(per_group), f"每个{name}≤{r['max']}个", ok, missing,
                    "「" + others + "」内有 " + _fmt(per_group) + " 个未豁免的开发区",
                    pd.Series(np.where(exempt, "列为豁免", "「" + others + "」内 " + _fmt(per_group) + " 个")))


def kind_reduction(f: pd.DataFrame, r: dict) -> Verdicts:
    before = f[r["before"]].to_numpy(dtype=float)
    after = f[r["after"]].to_numpy(dtype=float)
    missing = np.isnan(before) | np.isnan(after) | (before == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = (before - after) / before
    ok = np.ones(len(f), bool)
    limit = "—"
    if r.get("min_cut") is not None:
        q = parse_rational(r["min_cut"], r["id"])
        b, a = np.nan_to_num(before).astype(np.int64), np.nan_to_num(after).astype(np.int64)
        ok = (b - a) * q.denominator >= q.numerator * b
        limit = f"≥{_pct(q)}"
    finite = np.isfinite(cut)
    shown = pd.Series(np.where(finite, np.char.mod("%.2f%%", np.where(finite, cut * 100, 0)), ""), dtype=object)
    text = "由 " + _fmt(before) + " 减至 " + _fmt(after) + "，精减 " + shown
    return Verdicts(f.index, shown, limit, ok, missing, text + "，未达 " + limit, text)


KIND_FUNCS = {
    "count_range": kind_count_range, "share": kind_share, "posts": kind_posts, "compare": kind_compare,
    "forbidden_value": kind_forbidden_value, "allowed_values": kind_allowed_values,
    "unique_per_group": kind_unique_per_group, "reduction": kind_reduction,
}

RULE_FIELDS = ("field", "numerator", "denominator", "left", "right", "group", "before", "after")


def rule_fields(rule: dict) -> list[str]:
    fields = [rule[k] for k in RULE_FIELDS if k in rule]
    if rule["kind"] == "posts":
        fields += ["principals", "deputies"]
    return fields


# --------------------------------------------------------------------------- evaluation
def evaluate_rule(facts: pd.DataFrame, rule: dict, profile_id: str) -> pd.DataFrame:
    """Rows of 合规检查 for one rule over the zones of `facts` (scope by `where`)."""
    in_scope = np.ones(len(facts), bool)
    scope_missing = np.zeros(len(facts), bool)
    for key, values in (rule.get("where") or {}).items():
        col = pd.Series(facts.index, index=facts.index) if key == "zone" else facts[key]
        scope_missing |= col.isna().to_numpy()
        in_scope &= col.isin(values).to_numpy() | col.isna().to_numpy()
    keep = in_scope
    f = facts[keep]
    if f.empty:
        return pd.DataFrame(columns=DETAIL_COLUMNS)
    v = KIND_FUNCS[rule["kind"]](f, rule)
    scope_gap = scope_missing[keep]
    missing = v.missing | scope_gap
    severity = v.severity if v.severity is not None else np.full(len(f), rule["severity"])
    bad_status = np.where(severity == "hard", FAIL, WARN)
    status = np.where(missing, MISSING, np.where(v.ok, OK, bad_status))
    note_ok = v.note_ok if isinstance(v.note_ok, pd.Series) else pd.Series([v.note_ok] * len(f))
    missing_names = "、".join(FACT_NAMES.get(x, x) for x in rule_fields(rule))
    scope_names = "、".join(FACT_NAMES.get(x, x) for x in (rule.get("where") or {}))
    note_missing = np.where(scope_gap, f"缺少「{scope_names}」，无法判断是否适用本条",
                            f"缺少「{missing_names}」数据（或分母为 0），无法检查")
    note = np.where(missing, note_missing, np.where(v.ok, note_ok.to_numpy(dtype=object),
                                                    v.note_bad.to_numpy(dtype=object)))
    limit = v.limit if isinstance(v.limit, str) else v.limit.to_numpy(dtype=object)
    return pd.DataFrame({
        "开发区名称": f.index.to_numpy(), "规则编号": rule["id"], "规则": rule["text"],
        "实际值": np.where(missing, "", v.actual.to_numpy(dtype=object)), "限值": limit,
        "结论": status, "说明": note, "依据": rule["source"], "政策口径": profile_id,
    })


@dataclass
class QuotaResult:
    details: pd.DataFrame
    summary: pd.DataFrame
    profiles: dict[str, Profile] = field(default_factory=dict)
    assignment: pd.Series | None = None          # zone → the Chinese label of its profile
    resolution: object = None                    # the profiles.resolve.Resolution used


def check_quota(tables: dict[str, pd.DataFrame], profile=None,
                overrides: dict[str, object] | None = None, facts: pd.DataFrame | None = None) -> QuotaResult:
    """Evaluate every applicable rule for every zone; the single engine entry for compliance.
    `profile`: a Resolution (profiles/resolve.py), or the explicit choice it is resolved with."""
    from .params import resolution

    facts = zone_facts(tables) if facts is None else facts   # assess computes them once
    res = resolution(tables, profile, overrides, facts)
    parts = []
    for key in res.used():
        sub = facts[(res.profile_of == key).to_numpy()]
        for rule in res.rules(key, *QUOTA_KINDS):
            parts.append(evaluate_rule(sub, rule, res.label(key)))
    details = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DETAIL_COLUMNS)
    order = {z: i for i, z in enumerate(facts.index)}
    details = details.sort_values("开发区名称", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    labels = res.profile_of.map({k: res.label(k) for k in res.used()})
    return QuotaResult(details, summarize(details, facts, labels), res.profiles, labels, res)


def summarize(details: pd.DataFrame, facts: pd.DataFrame, assignment: pd.Series) -> pd.DataFrame:
    status = details["结论"]
    g = details.groupby("开发区名称", sort=False)
    counts = pd.DataFrame({
        "检查项数": g.size(),
        "不合规项数": (status == FAIL).groupby(details["开发区名称"]).sum(),
        "预警项数": (status == WARN).groupby(details["开发区名称"]).sum(),
        "数据缺失项数": (status == MISSING).groupby(details["开发区名称"]).sum(),
    }).reindex(facts.index, fill_value=0)
    verdict = np.where(counts["不合规项数"] > 0, FAIL, np.where(counts["预警项数"] > 0, WARN,
                       np.where(counts["检查项数"] == counts["数据缺失项数"], MISSING, OK)))
    return pd.DataFrame({
        "开发区名称": facts.index.to_numpy(), "级别": facts["level"].fillna("").to_numpy(),
        "检查项数": counts["检查项数"].to_numpy(), "不合规项数": counts["不合规项数"].to_numpy(),
        "预警项数": counts["预警项数"].to_numpy(), "结论": verdict,
        "数据缺失项数": counts["数据缺失项数"].to_numpy(), "政策口径": assignment.to_numpy(),
    })


def quota_one(level: str | None, departments: float | None, principals: float | None,
              deputies: float | None, profile: str = "default") -> tuple[str, str]:
    """One zone from four inputs (the XT_QUOTA UDF): rules whose inputs are given are checked."""
    tables = {
        "zones": pd.DataFrame({"zone": ["本开发区"], "level": [level]}),
        "departments": pd.DataFrame({"zone": ["本开发区"] * int(departments or 0)}),
        "posts": pd.DataFrame({"zone": ["本开发区"], "principals": [principals], "deputies": [deputies]}),
    }
    if departments is None:
        tables.pop("departments")
    prof = load_profile(profile)
    prof.rules = [r for r in prof.rules if r["kind"] in QUOTA_KINDS
                  and set(rule_fields(r)) <= {"departments", "principals", "deputies"}]
    if not prof.rules:
        return MISSING, f"{prof.label}没有内设机构数或领导职数的限额规则，请在最后一个参数指定口径，如 青岛、宁夏"
    result = check_quota(tables, prof)
    d = result.details[result.details["结论"] != MISSING]
    if d.empty:
        return MISSING, "没有可检查的规则（请提供级别、内设机构数或职数）"
    verdict = result.summary["结论"].iat[0]
    bad = d[d["结论"].isin([FAIL, WARN])]
    shown = bad if len(bad) else d
    return verdict, "；".join(shown["规则编号"] + "：" + shown["说明"])
