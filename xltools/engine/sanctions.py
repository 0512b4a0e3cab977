"""Sanctions and incentives (SPEC §5.5, ANCHORS C9): one generic rule kind.

"In the bottom N of its group (or with a given grade) in k of the last m years, optionally
consecutive" → action; "top N …, or consecutive 进位" → incentive. Years are calendar years:
a year in which a zone was not ranked breaks a consecutive streak, and a streak never carries
across groups (a zone that changed level starts again). A rule fires only when the assessed
year itself is one of the counted years. Rules sharing a `ladder` keep only the most severe
step (highest `order`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SANCTION_COLUMNS = ["开发区名称", "年度", "触发条件", "建议措施", "依据", "规则编号", "类别"]


def panel(history: pd.DataFrame | None, current: pd.DataFrame | None) -> pd.DataFrame:
    """zone, year, group, group_rank, grade, rank_from_bottom for every ranked zone-year."""
    parts = []
    if history is not None and len(history):
        h = history.rename(columns={"group_rank": "group_rank"})
        parts.append(pd.DataFrame({"zone": h["zone"], "year": pd.to_numeric(h["year"], errors="coerce"),
                                   "group": h["group"] if "group" in h else "全部",
                                   "group_rank": pd.to_numeric(h.get("group_rank", h.get("rank")), errors="coerce"),
                                   "grade": h["grade"] if "grade" in h else None}))
    if current is not None and len(current):
        parts.append(pd.DataFrame({"zone": current["开发区名称"], "year": pd.to_numeric(current["年度"]),
                                   "group": current["分组"], "group_rank": current["组内排名"],
                                   "grade": current["等次"]}))
    if not parts:
        return pd.DataFrame(columns=["zone", "year", "group", "group_rank", "grade", "rank_from_bottom", "size"])
    p = pd.concat(parts, ignore_index=True)
    p["group"] = p["group"].fillna("全部").astype(str)
    p = p.drop_duplicates(["zone", "year"], keep="last").reset_index(drop=True)
    ranked = p["group_rank"].notna()
    size = p[ranked].groupby(["year", "group"])["zone"].transform("size")
    ties = p[ranked].groupby(["year", "group", "group_rank"])["zone"].transform("size")
    p["size"] = np.nan
    p.loc[ranked, "size"] = size
    p["rank_from_bottom"] = np.nan
    p.loc[ranked, "rank_from_bottom"] = size - p.loc[ranked, "group_rank"] - ties + 2
    return p


def _pivot(p: pd.DataFrame, value: str, zones, years):
    return p.pivot(index="zone", columns="year", values=value).reindex(index=zones, columns=years)


def evaluate(p: pd.DataFrame, rules: list[dict], year: int, zone_rules: dict[str, list[dict]] | None = None) -> pd.DataFrame:
    """Rows of 奖惩建议 for `year`. `zone_rules` maps zone → rules (per-zone profiles); else `rules` for all."""
    if p.empty:
        return pd.DataFrame(columns=SANCTION_COLUMNS)
    zones = pd.Index(sorted(p["zone"].unique()))
    if zone_rules is not None:      # which zones each rule governs (per-zone profiles)
        sharing: dict[int, tuple[list, list]] = {}      # zones of one profile share one rule list
        for z, rs in zone_rules.items():
            sharing.setdefault(id(rs), (rs, []))[1].append(z)
        governed = [zones.isin([z for rs, zs in sharing.values() if any(r is rule for r in rs) for z in zs])
                    for rule in rules]
        anyone = np.logical_or.reduce(governed) if governed else np.zeros(len(zones), bool)
        if not anyone.all():        # zones no rule governs never need their history laid out
            keep = zones[anyone]
            p = p[p["zone"].isin(keep)]
            governed = [g[anyone] for g in governed]
            zones = keep
        if p.empty:
            return pd.DataFrame(columns=SANCTION_COLUMNS)
    all_years = np.arange(int(p["year"].min()), int(max(p["year"].max(), year)) + 1)
    group = _pivot(p, "group", zones, all_years).to_numpy(dtype=object)
    rank = _pivot(p, "group_rank", zones, all_years).to_numpy(dtype=float)
    bottom = _pivot(p, "rank_from_bottom", zones, all_years).to_numpy(dtype=float)
    size = _pivot(p, "size", zones, all_years).to_numpy(dtype=float)
    grade = _pivot(p, "grade", zones, all_years).to_numpy(dtype=object)
    t = int(np.searchsorted(all_years, year))
    rows = []
    for i_rule, rule in enumerate(rules):
        applies = governed[i_rule] if zone_rules is not None else np.ones(len(zones), bool)
        if not applies.any():
            continue
        if rule["kind"] == "bottom_streak":
            if rule.get("trigger", "rank") == "grade":
                flag = np.isin(grade, list(rule["grades"]))
            else:
                flag = bottom <= rule["n"]
        else:
            flag = rank <= rule["n"]
        hit, used = _window(flag, group, t, rule["k"], rule["m"], rule.get("consecutive", False))
        if rule["kind"] == "top_incentive" and rule.get("rise_years"):
            rise, rise_used = _rising(rank, group, t, rule["rise_years"])
            used = np.where((rise & ~hit)[:, None], rise_used, used)
            hit = hit | rise
        hit &= applies
        for i in np.flatnonzero(hit):
            yrs = [int(all_years[j]) for j in np.flatnonzero(used[i])]
            if rule["kind"] == "bottom_streak" and rule.get("trigger") == "grade":
                detail = "；".join(f"{y}年等次「{grade[i, y - all_years[0]]}」" for y in yrs)
            else:
                detail = "；".join(f"{y}年组内第{_n(rank[i, y - all_years[0]])}名/共{_n(size[i, y - all_years[0]])}个"
                                  for y in yrs)
            rows.append({"开发区名称": zones[i], "年度": year, "触发条件": f"「{group[i, t]}」组：{detail}（{rule['text']}）",
                         "建议措施": rule["action"], "依据": rule["source"], "规则编号": rule["id"],
                         "类别": "约束" if rule["kind"] == "bottom_streak" else "激励",
                         "_ladder": rule.get("ladder") or rule["id"] + str(rule.get("order", "")),
                         "_order": rule.get("order", 0)})
    if not rows:
        return pd.DataFrame(columns=SANCTION_COLUMNS)
    out = pd.DataFrame(rows).sort_values(["开发区名称", "_ladder", "_order"])
    out = out.drop_duplicates(["开发区名称", "_ladder"], keep="last")       # most severe step of each ladder
    return out[SANCTION_COLUMNS].reset_index(drop=True)


def _n(v) -> str:
    return "" if v != v else str(int(v))


def _window(flag, group, t: int, k: int, m: int, consecutive: bool):
    """(hit per zone, which years counted) for the window ending at column t."""
    nz = flag.shape[0]
    used = np.zeros_like(flag, dtype=bool)
    if t >= flag.shape[1]:
        return np.zeros(nz, bool), used
    same = (group == group[:, [t]]) & (group[:, [t]] != None)  # noqa: E711 (object array)
    cols = np.arange(max(0, t - m + 1), t + 1)
    ok = (flag[:, cols] & same[:, cols])
    if consecutive:
        last = np.arange(max(0, t - k + 1), t + 1)
        hit = (len(last) == k) & (flag[:, last] & same[:, last]).all(axis=1)
        used[:, last] = hit[:, None]
    else:
        hit = flag[:, t] & same[:, t] & (ok.sum(axis=1) >= k)
        used[:, cols] = ok & hit[:, None]
    return hit, used


def _rising(rank, group, t: int, years: int):
    """Group rank improved (smaller) in each of the last `years` years, in the same group."""
    nz = rank.shape[0]
    used = np.zeros(rank.shape, dtype=bool)
    if t - years < 0:
        return np.zeros(nz, bool), used
    same = (group == group[:, [t]])
    cols = np.arange(t - years, t + 1)
    better = np.all(np.diff(rank[:, cols], axis=1) < 0, axis=1) & same[:, cols].all(axis=1)
    used[:, cols] = better[:, None]
    return better, used
