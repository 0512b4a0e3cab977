"""Zone facts: one row per zone with every countable fact the rule kinds use (pure).

Every engine task (quota, salary, ranking, the policy resolution) reads them from here; they are
computed once per assessment from the typed tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..facts import DEPT_FACTS, NUMERIC_FACTS, POSTS_COLUMNS, TEXT_FACTS
from ..schema import STAFFING_STATUS

# 说明 of a zone named in a data sheet but absent from the 开发区 sheet: its profile (hence the
# rules and formulas that apply) and its level are unknown, so nothing is computed or judged for it
UNLISTED = "「开发区」表中没有该开发区，无法确定适用口径和级别（数据缺失）"
NAMING_SHEETS = ("posts", "departments", "indicators", "salary", "staff")   # data sheets that name zones


def listing(tables: dict[str, pd.DataFrame]) -> pd.Series | None:
    """The zone names of the 开发区 sheet, or None where the input has none (then the profile given
    for the whole input judges every zone). A sheet emptied because all its rows repeat another
    file's still exists (jobs.units_of)."""
    sheet = tables.get("zones")
    if sheet is None or "zone" not in sheet or not (len(sheet) or sheet.attrs.get("sheet_present")):
        return None
    return sheet["zone"]


def listed(tables: dict[str, pd.DataFrame], zones) -> np.ndarray:
    """Per name in `zones`: whether the 开发区 sheet lists it (True for all without such a sheet)."""
    names = listing(tables)
    return np.ones(len(zones), bool) if names is None else pd.Index(zones, dtype=object).isin(names)


def unlisted_zones(tables: dict[str, pd.DataFrame]) -> pd.Index:
    """Zones a data sheet names that the 开发区 sheet does not list (first-seen order)."""
    names = listing(tables)
    if names is None:
        return pd.Index([], dtype=object)
    parts = [pd.Series(pd.unique(tables[k]["zone"].dropna()), dtype=object)
             for k in NAMING_SHEETS if k in tables and "zone" in tables[k]]
    named = pd.Index(pd.unique(pd.concat(parts)) if parts else [], dtype=object)
    named = named[[isinstance(z, str) for z in named]]
    return named[~named.isin(names)]


def holds_bianzhi(status: pd.Series) -> pd.Series:
    """人员.编制身份 → 1.0 (holds 编制), 0.0 (聘用 etc.) or NaN (blank or not recognisable).
    Each distinct status is looked at once (a roster repeats a few of them thousands of times)."""
    codes, distinct = pd.factorize(status.astype("string").fillna(""))
    text = pd.Series(distinct, dtype="string")
    out = np.full(len(text), np.nan)
    decided = np.zeros(len(text), dtype=bool)
    for token, holds in STAFFING_STATUS:
        hit = ~decided & text.str.contains(token, regex=False).to_numpy(dtype=bool)
        out[hit] = 1.0 if holds else 0.0
        decided |= hit
    return pd.Series(out[codes], index=status.index)


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def zone_facts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per zone with every countable fact the rule kinds use (NaN / None = unknown).

    A count from 机构设置 is known only for a zone with rows there: no rows is unknown, not 0.
    """
    zones = tables.get("zones")
    depts = tables.get("departments")
    posts = tables.get("posts")
    facts = _blank_facts(zones, posts, depts)
    if zones is not None:
        _zone_columns(facts, zones)
    if depts is not None and "zone" in depts:
        _department_counts(facts, depts)
    if posts is not None and "zone" in posts:
        p = posts.drop_duplicates("zone").set_index("zone").reindex(facts.index)
        for src, key in POSTS_COLUMNS.items():
            if src in p:
                facts[key] = _num(p[src])
    staff = tables.get("staff")
    if staff is not None and {"zone", "status"} <= set(staff.columns):
        _staff_in_post(facts, staff)
    return facts


def _blank_facts(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """Every zone named in 开发区, 职数编制 or 机构设置 (first-seen order), every fact unknown."""
    names: list[str] = []
    for t in tables:
        if t is not None and "zone" in t:
            names += [z for z in t["zone"].tolist() if isinstance(z, str)]
    facts = pd.DataFrame(index=pd.Index(list(dict.fromkeys(names)), name="zone"))
    for key in NUMERIC_FACTS:
        facts[key] = np.nan
    for key in (*TEXT_FACTS, "profile"):
        if key != "zone":
            facts[key] = None
    return facts


def _zone_columns(facts: pd.DataFrame, zones: pd.DataFrame) -> None:
    """The facts the 开发区 sheet states for each zone, as given (its leading industries counted)."""
    z = zones.drop_duplicates("zone").set_index("zone")
    for key in ("level", "admin_rank", "governance", "county", "zone_type", "region", "profile",
                "hosts_subdistrict", "one_county_exempt", "secretary_concurrent", "params_profile"):
        if key in z:
            facts[key] = z[key].reindex(facts.index).astype(object).where(lambda s: s.notna(), None)
    if "blocks" in z:
        facts["blocks"] = _num(z["blocks"].reindex(facts.index))
    if "industries" in z:
        items = z["industries"].reindex(facts.index)
        facts["industries"] = np.where(items.isna(), np.nan,
                                       items.fillna("").astype(str).str.count("；") + 1.0)
        facts["industry_list"] = items.astype(object).where(items.notna(), None)


def _department_counts(facts: pd.DataFrame, depts: pd.DataFrame) -> None:
    """Counts from 机构设置; a count is unknown where a row it needs leaves its category blank."""
    d = depts[depts["zone"].isin(facts.index)]
    nature = d["nature"] if "nature" in d else pd.Series(None, index=d.index, dtype=object)
    internal = nature.isna() | (nature == "内设机构")
    codes = facts.index.get_indexer(d["zone"])  # factorise once, count with bincount

    def by_zone(mask: pd.Series) -> pd.Series:
        counts = np.bincount(codes, weights=np.asarray(mask, dtype=float), minlength=len(facts))
        return pd.Series(counts, index=facts.index)
    facts["departments"] = by_zone(internal)
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
    is_institution = nature == "事业单位"
    institutions = by_zone(is_institution)
    if "unit_type" in d:
        facts["support_institutions"] = by_zone(is_institution & (d["unit_type"] == "支持保障类"))
        unknown = by_zone(is_institution & d["unit_type"].isna()).to_numpy() > 0   # may be one: unknown
        facts.loc[unknown, "support_institutions"] = np.nan
    else:  # institutions of unknown type cannot be judged
        facts["support_institutions"] = institutions.where(institutions == 0)
    if "dept" in d:
        listed = d.loc[internal.to_numpy() & d["dept"].notna().to_numpy()]
        facts["dept_names"] = listed.groupby("zone", sort=False)["dept"].agg("；".join).reindex(facts.index)
    facts["institutions"] = by_zone(np.ones(len(d)))      # 内设机构、事业单位、派驻机构 together (QD-13)
    no_rows = facts["institutions"].to_numpy() == 0
    facts.loc[no_rows, list(DEPT_FACTS)] = np.nan      # no rows in 机构设置: unknown, never 0
    if "dept" in d:                                    # a row without its 机构名称 (kept by intake, reported
        facts["unnamed_depts"] = by_zone(d["dept"].isna())   # there): what it is is unknown, so are the counts
        facts.loc[facts["unnamed_depts"].to_numpy() > 0, list(DEPT_FACTS)] = np.nan


def _staff_in_post(facts: pd.DataFrame, staff: pd.DataFrame) -> None:
    """在编人数 counted from 人员 where 职数编制 does not state it (one unknown status: unknown)."""
    s = staff[staff["zone"].isin(facts.index)]
    holds = holds_bianzhi(s["status"])
    by = s["zone"].to_numpy()
    counted = holds.groupby(by).sum().where(~holds.isna().groupby(by).any())   # one unknown status: unknown
    fill = counted.reindex(facts.index).to_numpy(dtype=float)
    facts["in_post_staff"] = np.where(np.isnan(facts["in_post_staff"].to_numpy(dtype=float)), fill,
                                      facts["in_post_staff"].to_numpy(dtype=float))
