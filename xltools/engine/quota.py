"""Quota compliance: rule kinds over the zone facts (zones.py), results.

Pure and vectorised over zones: every rule kind computes a whole column of verdicts with
numpy/pandas. Ratios compare exactly on integers (2 of 6 passes "≤ 1/3"). A check whose
inputs are missing yields 数据缺失, never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from ..facts import DEPT_FACTS, FACT_COLUMNS, FACT_NAMES
from ..profiles import QUOTA_KINDS, Profile, load_profile, parse_rational
from ..results import CHECKS, COMPLIANCE, DECLARED
from ..schema import ENUMS, normalize_text
from .zones import UNLISTED, unlisted_zones, zone_facts

OK, FAIL, WARN, MISSING, INFO = "合规", "不合规", "预警", "数据缺失", "信息"
INCOMPLETE = "数据不全"           # a summary with checks that could not run (and no 不合规)
NO_RULES = "无适用规则"
DETAIL_COLUMNS = DECLARED[CHECKS].names
SUMMARY_COLUMNS = DECLARED[COMPLIANCE].names
SUMMARY_NOTE = DECLARED[COMPLIANCE].more[0].name     # 说明 of a zone the summary could not count
CITY_LEVEL = "全市"               # 级别 of the 全市合计 line in 合规汇总


def city_label(profile: Profile) -> str:
    """The 合规汇总 line of a city-wide figure: the zones one profile judges in one workbook."""
    return f"全市合计（{profile.name}）"


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
    note_missing: pd.Series | None = None   # per-zone reason a check could not run (else a generic one)


def _series(values, n: int) -> pd.Series:
    return pd.Series(values if not isinstance(values, str) else [values] * n, dtype=object).reset_index(drop=True)


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
    """Posts are ceilings: more than the standard breaks it; fewer (a vacancy) is no breach."""
    limits = {"principals": r["principals"], "deputies": r["deputies"], **(r.get("others") or {})}
    values = {k: f[k].to_numpy(dtype=float) for k in limits}
    missing = np.logical_or.reduce([np.isnan(v) for v in values.values()])
    over = {k: values[k] > limits[k] for k in limits}
    ok = ~np.logical_or.reduce(list(over.values()))
    fewer = np.logical_or.reduce([values[k] < limits[k] for k in limits])
    unit = {"principals": "正", "deputies": "副"}
    actual = _fmt(values["principals"]) + "正" + _fmt(values["deputies"]) + "副"
    limit = f"{r['principals']}正{r['deputies']}副"
    for k, lim in (r.get("others") or {}).items():
        actual = actual + "，" + FACT_NAMES.get(k, k) + " " + _fmt(values[k])
        limit += f"，{FACT_NAMES.get(k, k)} {lim}"
    word = "超过一般配备" if r["severity"] == "soft" else "超过核定"
    note_bad = pd.Series([""] * len(f), dtype=object)
    for k, lim in limits.items():
        name = (unit[k] + "职") if k in unit else FACT_NAMES.get(k, k)
        part = name + " " + _fmt(values[k]) + f" 名，{word} {lim} 名"
        note_bad = note_bad.where(~over[k], np.where(note_bad == "", part, note_bad + "；" + part))
    note_ok = pd.Series(np.where(fewer, "领导职数 " + actual + f"，少于{'一般' if r['severity'] == 'soft' else '核定'}配备 "
                                 + limit + "（职数为上限，空缺不属违规）", "领导职数 " + actual), dtype=object)
    return Verdicts(f.index, actual.where(~missing, ""), limit, ok, missing, note_bad, note_ok)


_CMP = {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater, "==": np.equal}


def kind_compare(f: pd.DataFrame, r: dict) -> Verdicts:
    """left op right; with `fallback` (QD-19: 实有人数 for an unknown 在编人数), only a warning can follow."""
    a = f[r["left"]].to_numpy(dtype=float)
    b = f[r["right"]].to_numpy(dtype=float)
    la, lb = FACT_NAMES.get(r["left"], r["left"]), FACT_NAMES.get(r["right"], r["right"])
    with np.errstate(invalid="ignore"):
        ok = _CMP[r["op"]](a, b)
    missing = np.isnan(a) | np.isnan(b)
    gap = _fmt(np.abs(b - a))
    note_ok = la + " " + _fmt(a) + "，" + lb + " " + _fmt(b)
    symbol = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "="}[r["op"]]
    if r["op"] in ("<=", "<"):
        note_ok = note_ok + ("，可统筹空编 " if r["right"] == "approved_staff" else "，空余 ") + gap
        note_bad = la + " " + _fmt(a) + " 超出" + lb + " " + _fmt(b) + "（超 " + gap + "）"
    elif r["op"] == "==":
        note_ok = note_ok + "（" + _pct_arr(a, b) + "）"
        note_bad = la + " " + _fmt(a) + "，" + lb + " " + _fmt(b) + "（" + _pct_arr(a, b) + "），应相等"
    else:
        note_bad = la + " " + _fmt(a) + " 低于" + lb + " " + _fmt(b) + "（差 " + gap + "）"
    severity = None
    note_missing = None
    actual = _fmt(a)
    if r.get("fallback"):
        fb = f[r["fallback"]].to_numpy(dtype=float)
        lf = FACT_NAMES.get(r["fallback"], r["fallback"])
        with np.errstate(invalid="ignore"):
            hint = np.isnan(a) & ~np.isnan(b) & ~_CMP[r["op"]](fb, b) & ~np.isnan(fb)
        missing = missing & ~hint
        ok = ok & ~hint
        severity = np.where(hint, "soft", r["severity"])
        note_bad = pd.Series(np.where(hint, la + "未填；" + lf + " " + _fmt(fb) + " 超出" + lb + " " + _fmt(b)
                                      + f"，但{lf}含聘用人员，请填写{la}后复核", note_bad), dtype=object)
        actual = pd.Series(np.where(hint, lf + " " + _fmt(fb), actual), dtype=object)
        note_missing = pd.Series(np.where(np.isnan(a) & ~np.isnan(fb) & ~np.isnan(b),
                                          f"缺少「{la}」（" + lf + " " + _fmt(fb) + f" 含聘用人员，不能代替{la}），无法检查",
                                          f"缺少「{la}、{lb}」数据，无法检查"), dtype=object)
    return Verdicts(f.index, actual, f"{symbol} {lb}", ok, missing, _series(note_bad, len(f)),
                    _series(note_ok, len(f)), severity, note_missing)


def kind_forbidden_value(f: pd.DataFrame, r: dict) -> Verdicts:
    v = f[r["field"]].reset_index(drop=True)
    missing = v.isna().to_numpy()
    ok = (v != r["value"]).to_numpy() | missing
    text = FACT_NAMES.get(r["field"], r["field"]) + "为「" + v.fillna("").astype(str) + "」"
    return Verdicts(f.index, v.fillna("").astype(str), f"不得为「{r['value']}」", ok, missing, text, text)


def kind_allowed_values(f: pd.DataFrame, r: dict) -> Verdicts:
    v = f[r["field"]]
    blank = v.isna().to_numpy()          # a blank cell is unknown, never a pass
    ok = v.isin(r["values"]).to_numpy().copy()
    for value, allowed in (r.get("only_for") or {}).items():
        ok &= ~((v == value).to_numpy() & ~f.index.isin(allowed))
    name = FACT_NAMES.get(r["field"], r["field"])
    shown = v.fillna("（空）").astype(str).reset_index(drop=True)
    note_bad = name + "为「" + shown + "」"
    for value, allowed in (r.get("only_for") or {}).items():
        note_bad = note_bad.where(~((v == value).to_numpy() & ~f.index.isin(allowed)),
                                  note_bad + f"，「{value}」仅限 " + "、".join(allowed))
    return Verdicts(f.index, v.fillna("").astype(str).reset_index(drop=True), "、".join(r["values"]), ok, blank,
                    note_bad.where(v.isin(r["values"]).to_numpy() | blank, note_bad + "，应为 " + "、".join(r["values"])),
                    name + "为「" + shown + "」")


def kind_unique_per_group(f: pd.DataFrame, r: dict) -> Verdicts:
    g = f[r["group"]]
    flag = f[r["exempt"]] if r.get("exempt") in f else pd.Series(None, index=f.index, dtype=object)
    by_type = f["zone_type"].isin(r.get("exempt_types") or []).to_numpy() & flag.isna().to_numpy()
    exempt = (flag == "是").to_numpy() | by_type
    missing = g.isna().to_numpy()
    counted = pd.Series(~exempt & ~missing, index=f.index)
    per_group = counted.groupby(g.fillna("")).transform("sum").to_numpy(dtype=float)
    ok = exempt | (per_group <= r["max"])
    name = FACT_NAMES.get(r["group"], r["group"])
    others = g.fillna("").astype(str).reset_index(drop=True)
    kind = f["zone_type"].fillna("").astype(str).reset_index(drop=True)
    note_ok = np.where(by_type, "类型为「" + kind + "」，按豁免处理", "「" + others + "」内 " + _fmt(per_group) + " 个")
    return Verdicts(f.index, _fmt(per_group), f"每个{name}≤{r['max']}个", ok, missing,
                    "「" + others + "」内有 " + _fmt(per_group) + " 个未豁免的开发区",
                    pd.Series(np.where((flag == "是").to_numpy(), "列为豁免", note_ok)))


def kind_reduction(f: pd.DataFrame, r: dict) -> Verdicts:
    """Per zone: the zone's own change; a count that grew breaks the reform's direction (QD-13/14)."""
    before = f[r["before"]].to_numpy(dtype=float)
    after = f[r["after"]].to_numpy(dtype=float)
    missing = np.isnan(before) | np.isnan(after)
    ok = ~(after > before)
    shown = _change(before, after)
    text = "由 " + _fmt(before) + _verb(before, after) + _fmt(after) + "，" + shown
    return Verdicts(f.index, shown, "不增加", ok, missing, text + "，与精减方向不符", text)


def _verb(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.where(after > before, " 增至 ", np.where(after < before, " 减至 ", " 保持 "))


def _change(before: np.ndarray, after: np.ndarray) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = (before - after) / before * 100
    finite = np.isfinite(cut)
    pct = np.char.mod("%.2f%%", np.abs(np.where(finite, cut, 0)))
    return pd.Series(np.where(~finite, "", np.where(cut >= 0, np.char.add("精减 ", pct), np.char.add("增加 ", pct))),
                     dtype=object)


def city_reduction(f: pd.DataFrame, r: dict) -> Verdicts | None:
    """The city-wide figure (全市共精减43%): Σ before and Σ after over the zones judged together."""
    if "city_cut" not in r:
        return None
    before = f[r["before"]].to_numpy(dtype=float)
    after = f[r["after"]].to_numpy(dtype=float)
    gaps = int((np.isnan(before) | np.isnan(after)).sum())
    b, a = np.nansum(before), np.nansum(after)
    q = parse_rational(r["city_cut"], r["id"])
    ok = gaps == 0 and b > 0 and (int(b) - int(a)) * q.denominator >= q.numerator * int(b)
    shown = _change(np.array([b]), np.array([a]))
    text = (f"全市 {len(f)} 个开发区由 {_fmt(np.array([b]))[0]}{_verb(np.array([b]), np.array([a]))[0]}"
            f"{_fmt(np.array([a]))[0]}，{shown[0]}")
    return Verdicts(pd.Index(["city"]), shown, f"精减≥{_pct(q)}", np.array([ok]), np.array([gaps > 0 or b == 0]),
                    pd.Series([text + f"，未达 {_pct(q)}"]), pd.Series([text]),
                    note_missing=pd.Series([f"{gaps} 个开发区缺少「{FACT_NAMES.get(r['before'], r['before'])}」或"
                                            f"「{FACT_NAMES.get(r['after'], r['after'])}」，无法汇总全市"
                                            if gaps else "改革前合计为 0，无法计算精减比例"]))


def city_distribution(f: pd.DataFrame, r: dict) -> Verdicts:
    """「大部分为5~6个」: more than `ratio` of the zones with min ≤ n ≤ max; unknown counts decide only if they could."""
    v = f[r["field"]].to_numpy(dtype=float)
    lo, hi = r["min"], r["max"]
    q = parse_rational(r["ratio"], r["id"])
    n, unknown = len(v), int(np.isnan(v).sum())
    inside = int(((v >= lo) & (v <= hi)).sum())
    ok_surely = inside * q.denominator > q.numerator * n           # even if every unknown falls outside
    bad_surely = (inside + unknown) * q.denominator <= q.numerator * n
    known = v[~np.isnan(v)].astype(int)
    values, counts = np.unique(known, return_counts=True)
    spread = "、".join(f"{x} 个 {c} 家" for x, c in zip(values, counts)) or "无"
    name = FACT_NAMES.get(r["field"], r["field"])
    text = f"{n} 个开发区中 {inside} 个为 {lo}~{hi} 个（{name}分布：{spread}）"
    return Verdicts(pd.Index(["city"]), pd.Series([f"{inside}/{n}"]), f"{lo}~{hi} 个的占多数（>{_pct(q)}）",
                    np.array([ok_surely]), np.array([not ok_surely and not bad_surely]),
                    pd.Series([text + "，未占多数"]), pd.Series([text]),
                    note_missing=pd.Series([text + f"；另有 {unknown} 个开发区缺少机构设置，无法判断是否占多数"]))


def city_spread(f: pd.DataFrame, r: dict) -> Verdicts:
    """「主导产业差异化分布」: an item listed by more than `k` zones; zones with no list could tip it."""
    items = f[r["field"]]
    unknown = int(items.isna().sum())
    listed = items.dropna().astype(str).str.split("；").explode().str.strip()
    listed = listed[listed != ""]
    pairs = pd.DataFrame({"zone": listed.index, "item": listed.to_numpy()}).drop_duplicates()
    per_item = pairs.groupby("item", sort=False)["zone"].agg(list)
    counts = per_item.map(len).sort_values(ascending=False, kind="stable")
    k = r["k"]
    over = counts[counts > k]
    top = int(counts.iat[0]) if len(counts) else 0
    shown = "；".join(f"{i} {c} 个" for i, c in counts.head(3).items())
    bad = "；".join(f"「{i}」为 {c} 个开发区的主导产业（{'、'.join(per_item[i])}）" for i, c in over.items())
    missing = not len(over) and unknown > 0 and (top + unknown > k or unknown == len(f))   # nothing known: no pass
    text = f"{len(f)} 个开发区，同一主导产业最多见于 {top} 个（{shown or '无'}）"
    return Verdicts(pd.Index(["city"]), pd.Series([str(top)]), f"同一主导产业不超过 {k} 个开发区",
                    np.array([len(over) == 0]), np.array([missing]), pd.Series([bad]), pd.Series([text]),
                    note_missing=pd.Series([text + f"；另有 {unknown} 个开发区未填主导产业，无法判断"]))


def kind_named_set(f: pd.DataFrame, r: dict) -> Verdicts:
    """Information (LE-15: the 9 bodies a report names): the count and which named bodies are present."""
    listed = f[r["field"]]
    count = f["departments"].to_numpy(dtype=float) if "departments" in f else np.full(len(f), np.nan)
    names = pd.Series(r["names"])
    items = listed.dropna().astype(str).str.split("；").explode().map(normalize_text)
    have = pd.DataFrame({"zone": items.index, "name": items.to_numpy()}).drop_duplicates()
    hits = pd.crosstab(have["zone"], have["name"]).reindex(index=f.index, columns=names.map(normalize_text),
                                                               fill_value=0) > 0
    got = hits.sum(axis=1).to_numpy(dtype=float)
    absent = pd.Series(np.where(~hits.to_numpy(), names.to_numpy() + "、", "").sum(axis=1), dtype=object).str.rstrip("、")
    text = ("内设机构 " + _fmt(count) + " 个；报告所列 " + str(len(names)) + " 个机构中有 " + _fmt(got) + " 个"
            + pd.Series(np.where(absent.to_numpy() == "", "", "，未见：" + absent.to_numpy()), dtype=object))
    return Verdicts(f.index, _fmt(count), f"报告所述 {len(names)} 个（仅作对照）", np.ones(len(f), bool),
                    listed.isna().to_numpy(), text, text)


KIND_FUNCS = {
    "count_range": kind_count_range, "share": kind_share, "posts": kind_posts, "compare": kind_compare,
    "forbidden_value": kind_forbidden_value, "allowed_values": kind_allowed_values,
    "unique_per_group": kind_unique_per_group, "reduction": kind_reduction, "named_set": kind_named_set,
}
# Kinds with one 全市合计 line (over the zones a profile judges): city-only kinds have no per-zone rows.
CITY_FUNCS = {"reduction": city_reduction, "distribution": city_distribution, "spread": city_spread}

RULE_FIELDS = ("field", "numerator", "denominator", "left", "right", "group", "before", "after", "fallback")


def rule_fields(rule: dict) -> list[str]:
    fields = [rule[k] for k in RULE_FIELDS if k in rule]
    if rule["kind"] == "posts":
        fields += ["principals", "deputies", *(rule.get("others") or {})]
    return fields


# --------------------------------------------------------------------------- evaluation
def _canonical_zone(name: object) -> str:
    """A zone name with its type abbreviation spelt out: 银川综保区 → 银川综合保税区 (reports use short names)."""
    text = normalize_text(name)
    for short, full in ENUMS["类型"].aliases.items():
        if text.endswith(short) and not text.endswith(full) and not full.endswith(short) and full[0] == short[0]:
            return text[: -len(short)] + full
    return text


NO_DEPT_ROWS = "「机构设置」表中没有本开发区的行：机构数未知（不按 0 计），无法检查"
UNNAMED_DEPT_ROWS = "「机构设置」表中本开发区有未填机构名称的行（见数据校验）：机构数未知，无法检查"


def _missing_note(rule: dict) -> str:
    names = "、".join(FACT_NAMES.get(x, x) for x in rule_fields(rule))
    return f"缺少「{names}」数据" + ("（或分母为 0）" if rule["kind"] == "share" else "") + "，无法检查"


def _rows(v: Verdicts, rule: dict, profile_id: str, scope_gap: np.ndarray, names: np.ndarray) -> pd.DataFrame:
    missing = v.missing | scope_gap
    n = len(names)
    severity = v.severity if v.severity is not None else np.full(n, rule["severity"])
    bad_status = np.where(severity == "hard", FAIL, WARN)
    info = rule["severity"] == "info"
    status = np.where(missing, MISSING, np.where(info, INFO, np.where(v.ok, OK, bad_status)))
    note_ok = v.note_ok if isinstance(v.note_ok, pd.Series) else pd.Series([v.note_ok] * n)
    scope_names = "、".join(FACT_NAMES.get(x, x) for x in (rule.get("where") or {}))
    generic = (v.note_missing.to_numpy(dtype=object) if v.note_missing is not None
               else np.full(n, _missing_note(rule), dtype=object))
    note_missing = np.where(scope_gap, f"缺少「{scope_names}」，无法判断是否适用本条", generic)
    note = np.where(missing, note_missing, np.where(v.ok | info, note_ok.to_numpy(dtype=object),
                                                    v.note_bad.to_numpy(dtype=object)))
    limit = v.limit if isinstance(v.limit, str) else v.limit.to_numpy(dtype=object)
    return pd.DataFrame({
        "开发区名称": names, "规则编号": rule["id"], "规则": rule["text"],
        "实际值": np.where(missing, "", v.actual.to_numpy(dtype=object)), "限值": limit,
        "结论": status, "说明": note, "依据": rule["source"], "政策口径": profile_id,
    })


def evaluate_rule(facts: pd.DataFrame, rule: dict, profile_id: str, city: str | None = None) -> pd.DataFrame:
    """Rows of 合规检查 for one rule over the zones of `facts` (scope by `where`), plus its 全市合计 line."""
    in_scope = np.ones(len(facts), bool)
    scope_missing = np.zeros(len(facts), bool)
    for key, values in (rule.get("where") or {}).items():
        if key == "zone":
            col = pd.Series(facts.index.map(_canonical_zone), index=facts.index)
            values = [_canonical_zone(x) for x in values]
        else:
            col = facts[key]
        scope_missing |= col.isna().to_numpy()
        in_scope &= col.isin(values).to_numpy() | col.isna().to_numpy()
    f = facts[in_scope]
    if f.empty:
        return pd.DataFrame(columns=DETAIL_COLUMNS)
    parts = []
    if rule["kind"] in KIND_FUNCS:
        v = KIND_FUNCS[rule["kind"]](f, rule)
        if v.note_missing is None and set(rule_fields(rule)) & set(DEPT_FACTS):
            unnamed = (f["unnamed_depts"].to_numpy(dtype=float) > 0 if "unnamed_depts" in f
                       else np.zeros(len(f), dtype=bool))
            v.note_missing = pd.Series(np.where(unnamed, UNNAMED_DEPT_ROWS,
                                                np.where(f["institutions"].isna().to_numpy(), NO_DEPT_ROWS,
                                                         _missing_note(rule))), dtype=object)
        parts.append(_rows(v, rule, profile_id, scope_missing[in_scope], f.index.to_numpy()))
    if rule["kind"] in CITY_FUNCS:
        sure = f[~scope_missing[in_scope]]
        c = CITY_FUNCS[rule["kind"]](sure, rule) if len(sure) else None
        if c is not None:
            uncertain = np.array([bool(scope_missing[in_scope].any())])
            parts.append(_rows(c, rule, profile_id, uncertain, np.array([city or "全市合计"])))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DETAIL_COLUMNS)


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
    unlisted = unlisted_zones(tables)              # no profile, no level: no rule judges them
    known = ~facts.index.isin(unlisted)
    parts = [not_checked(unlisted)] if len(unlisted) else []
    used = {key: res.profiles[key] for key in res.used(facts.index[known])}
    for key, prof in used.items():
        sub = facts[(res.profile_of == key).to_numpy() & known]
        for rule in res.rules(key, *QUOTA_KINDS):
            parts.append(evaluate_rule(sub, rule, res.label(key), city_label(prof)))
    details = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DETAIL_COLUMNS)
    if len(unlisted):
        details = _cities_incomplete(details, [city_label(p) for p in used.values()], unlisted)
    zones = facts.index.append(unlisted[~unlisted.isin(facts.index)])
    order = {z: i for i, z in enumerate(zones)}
    order.update({city_label(p): len(order) + i for i, p in enumerate(used.values())})   # city lines last
    details = details.sort_values("开发区名称", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    labels = res.profile_of.map({k: res.label(k) for k in used}).reindex(zones).where(~zones.isin(unlisted), "")
    summary = summarize(details, facts.reindex(zones), labels, used, unlisted)
    return QuotaResult(details, summary, res.profiles, labels, res)


# 说明 of a 全市合计 line while zones of the workbook are missing from 开发区 (which city is theirs is unknown)
CITY_WITHOUT_UNLISTED = "{n} 个开发区不在「开发区」表中（{names}），不知是否应计入全市合计（数据缺失）"


def _cities_incomplete(details: pd.DataFrame, cities: list[str], unlisted: pd.Index) -> pd.DataFrame:
    """全市合计 lines cannot be judged while some zones' profile (their city) is unknown: 数据缺失, the
    figure over the zones known kept in 说明."""
    line = details["开发区名称"].isin(cities).to_numpy()
    if not line.any():
        return details
    details = details.copy()
    text = CITY_WITHOUT_UNLISTED.format(n=len(unlisted), names="、".join(map(str, unlisted[:5])) +
                                        ("等" if len(unlisted) > 5 else ""))
    details.loc[line, "说明"] = text + "；已知开发区：" + details.loc[line, "说明"].astype(str)
    details.loc[line, "结论"] = MISSING
    details.loc[line, "实际值"] = ""
    return details


def not_checked(zones: pd.Index) -> pd.DataFrame:
    """One 合规检查 row per zone the 开发区 sheet does not list: which rules apply to it is unknown."""
    return pd.DataFrame({"开发区名称": zones.to_numpy(dtype=object), "规则编号": "", "规则": "", "实际值": "",
                         "限值": "", "结论": MISSING, "说明": UNLISTED, "依据": "", "政策口径": ""},
                        index=range(len(zones)), columns=DETAIL_COLUMNS)


MISSING_INPUTS = ["zone", "year", "sheet", "column", "rule"]


def missing_inputs(result: QuotaResult) -> pd.DataFrame:
    """(zone, —, input sheet, input column, rule) behind each 数据缺失 verdict: the columns the rule reads
    (its fields and its `where` scope). A 全市合计 line that could not run lacks its zones' inputs."""
    res, details = result.resolution, result.details
    gone = details[details["结论"] == MISSING]
    rows: list[tuple] = []
    for key in (res.used() if res is not None and len(gone) else []):
        label = res.label(key)
        mine = gone[gone["政策口径"] == label]
        members = set(result.assignment.index[(result.assignment == label).to_numpy()])
        for rule in res.rules(key, *QUOTA_KINDS):
            columns = {FACT_COLUMNS[f] for f in [*rule_fields(rule), *(rule.get("where") or {})] if f in FACT_COLUMNS}
            zones = set(mine.loc[mine["规则编号"] == rule["id"], "开发区名称"])
            if city_label(res.profiles[key]) in zones:
                zones |= members
            rows += [(z, np.nan, sheet, column, rule["id"]) for z in zones for sheet, column in columns]
    return pd.DataFrame(rows, columns=MISSING_INPUTS)


def summarize(details: pd.DataFrame, facts: pd.DataFrame, assignment: pd.Series,
              profiles: dict[str, Profile] | None = None, unlisted: pd.Index | None = None) -> pd.DataFrame:
    """合规汇总: 合规 only when every applicable check is 合规; else 不合规 > 数据不全（n 项无法检查）> 预警.

    Zones first, then one 全市合计 line per profile that has city-wide checks (级别 全市). A zone
    in `unlisted` (absent from the 开发区 sheet) is 数据缺失: its counts are unknown, its 说明 says why.
    """
    checks = details[details["结论"] != INFO]
    status, zone = checks["结论"], checks["开发区名称"]
    cities = [(city_label(p), p.label) for p in (profiles or {}).values() if city_label(p) in set(zone)]
    index = list(facts.index) + [c for c, _ in cities]
    counts = pd.DataFrame({
        "检查项数": zone.value_counts(),
        "不合规项数": (status == FAIL).groupby(zone).sum(),
        "预警项数": (status == WARN).groupby(zone).sum(),
        "数据缺失项数": (status == MISSING).groupby(zone).sum(),
    }).reindex(index, fill_value=0).fillna(0).astype(int)
    gaps = counts["数据缺失项数"].to_numpy()
    verdict = np.select(
        [counts["不合规项数"].to_numpy() > 0, gaps > 0, counts["预警项数"].to_numpy() > 0,
         counts["检查项数"].to_numpy() == 0],
        [FAIL, INCOMPLETE + "（" + gaps.astype(str).astype(object) + " 项无法检查）", WARN, NO_RULES], OK)
    level = list(facts["level"].fillna("")) + [CITY_LEVEL] * len(cities)
    profile_of = list(assignment.to_numpy()) + [label for _, label in cities]
    out = pd.DataFrame({
        "开发区名称": index, "级别": level,
        "检查项数": counts["检查项数"].to_numpy(), "不合规项数": counts["不合规项数"].to_numpy(),
        "预警项数": counts["预警项数"].to_numpy(), "结论": verdict,
        "数据缺失项数": gaps, "政策口径": profile_of,
    })
    gone = pd.Index(index).isin(unlisted if unlisted is not None else [])
    if gone.any():                                 # 0 would read as "nothing wrong": unknown instead
        for count in ("检查项数", "不合规项数", "预警项数", "数据缺失项数"):
            out[count] = out[count].where(~gone)
        out["结论"] = np.where(gone, MISSING, verdict)
        out[SUMMARY_NOTE] = np.where(gone, UNLISTED, None)
    return out


def summary_line(summary: pd.DataFrame) -> str:
    """The console's 合规汇总 line: zones by verdict (数据不全 with the checks that could not run), city lines."""
    city = (summary["级别"] == CITY_LEVEL).to_numpy()
    zones = summary[~city]
    kind = zones["结论"].str.replace(r"（.*$", "", regex=True)
    parts = []
    for word in (FAIL, INCOMPLETE, MISSING, WARN, OK, NO_RULES):
        n = int((kind == word).sum())
        if n:
            extra = f"（共 {int(zones.loc[(kind == word).to_numpy(), '数据缺失项数'].sum())} 项无法检查）" \
                if word == INCOMPLETE else ""
            parts.append(f"{word} {n} 个开发区{extra}")
    line = "，".join(parts) or "没有开发区"
    for _, row in summary[city].iterrows():
        line += f"；{row['开发区名称']}：{row['结论']}"
    return line


def quota_one(level: str | None, departments: float | None, principals: float | None,
              deputies: float | None, profile: str = "default") -> tuple[str, str]:
    """One zone from four inputs (the XT_QUOTA UDF): rules whose inputs are given are checked."""
    tables = {
        "zones": pd.DataFrame({"zone": ["本开发区"], "level": [level]}),
        "posts": pd.DataFrame({"zone": ["本开发区"], "principals": [principals], "deputies": [deputies]}),
    }
    facts = zone_facts(tables)
    facts["departments"] = np.nan if departments is None else float(departments)   # a stated count, 0 included
    prof = load_profile(profile)
    prof.rules = [r for r in prof.rules if r["kind"] in KIND_FUNCS and r["kind"] not in CITY_FUNCS
                  and set(rule_fields(r)) <= {"departments", "principals", "deputies"}]
    if not prof.rules:
        return MISSING, f"{prof.label}没有内设机构数或领导职数的限额规则，请在最后一个参数指定口径，如 青岛、宁夏"
    result = check_quota(tables, prof, facts=facts)
    d = result.details[result.details["结论"] != MISSING]
    if d.empty:
        return MISSING, "没有可检查的规则（请提供级别、内设机构数或职数）"
    verdict = result.summary["结论"].iat[0]
    bad = d[d["结论"].isin([FAIL, WARN])]
    shown = bad if len(bad) else d
    return verdict, "；".join(shown["规则编号"] + "：" + shown["说明"])
