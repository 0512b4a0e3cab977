"""Sanctions and incentives: one generic rule kind for every 末位/连续 rule of the profiles.

"In the bottom N of its group (or with a given grade, or failing an absolute standard) in k of
the last m years, optionally consecutive" → action; "top N …, or consecutive 进位" → incentive.
Years are calendar years: a year in which a zone was not ranked breaks a consecutive streak,
and a streak never carries across groups (a zone that changed level starts again). A rule
fires only when the assessed year itself is one of the counted years. Rules sharing a
`ladder` keep only the most severe step (highest `order`).

Whom a rank is counted among is the rule's `scope`: `group` (the ranking's 分组, e.g. Ningxia's
categories), `all` (the zones assessed together — Wuxi's 区域) or a column of 开发区 such as
所属地区. `trigger = "absolute"` (Qingdao's 考核不合格) fires only on a standard that does not
depend on the other zones: a 一票否决, or a score below `score_below` where the score itself is
absolute (fixed weights with stated 满意值/不允许值 or 标杆值); earlier years count the
不合格 recorded in 历年排名. A forced-distribution slot or a last place never is one.
Punitive suggestions say 建议，须经复核 and list what triggered them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import DECLARED, SANCTIONS
from .scoring import competition_rank

SANCTION_COLUMNS = DECLARED[SANCTIONS].names
REVIEW = "（建议，须经复核）"
ALL = "全部参评开发区"
RECORDED_FAILS = ("一票否决",)            # 历年排名 等次 that are failures whatever the rule lists
PANEL_COLUMNS = ["zone", "year", "group", "group_rank", "rank", "score", "grade", "veto", "absolute"]


def panel(history: pd.DataFrame | None, current: pd.DataFrame | None,
          absolute: pd.Series | None = None) -> pd.DataFrame:
    """zone, year, group, group_rank, rank (总排名), score, grade, veto, absolute for every zone-year.

    `absolute` (zone → bool, the current year) says whose score meets an absolute standard."""
    parts = []
    if history is not None and len(history):
        h = history
        nan = pd.Series(np.nan, index=h.index)
        num = lambda c: pd.to_numeric(h[c], errors="coerce") if c in h else nan
        group_rank = num("group_rank") if "group_rank" in h else num("rank")
        # without 分组 the zones were ranked all together: their 组内排名 is the 总排名
        rank = num("rank") if "group" in h else num("rank").fillna(group_rank)
        parts.append(pd.DataFrame({"zone": h["zone"], "year": pd.to_numeric(h["year"], errors="coerce"),
                                   "group": h["group"] if "group" in h else "全部",
                                   "group_rank": group_rank, "rank": rank, "score": num("score"),
                                   "grade": h["grade"] if "grade" in h else None, "veto": False, "absolute": False}))
    if current is not None and len(current):
        zones = current["开发区名称"]
        parts.append(pd.DataFrame({
            "zone": zones, "year": pd.to_numeric(current["年度"]), "group": current["分组"],
            "group_rank": current["组内排名"], "rank": current["总排名"], "score": current["综合得分"],
            "grade": current["等次"], "veto": current["等次"] == "一票否决",
            "absolute": (absolute.reindex(zones).fillna(False).to_numpy(dtype=bool) if absolute is not None
                         else False)}))
    if not parts:
        return pd.DataFrame(columns=PANEL_COLUMNS)
    p = pd.concat(parts, ignore_index=True)
    p["group"] = p["group"].fillna("全部").astype(str)
    p["veto"] = p["veto"].fillna(False).astype(bool)
    p["absolute"] = p["absolute"].fillna(False).astype(bool)
    return p.drop_duplicates(["zone", "year"], keep="last").reset_index(drop=True)


def _scoped(p: pd.DataFrame, scope: str, zone_columns: pd.DataFrame | None) -> pd.DataFrame:
    """The panel with `group`/`group_rank` of one scope, plus rank_from_bottom and size."""
    q = p.copy()
    if scope == "all":
        q["group"] = np.where(q["rank"].notna(), ALL, None)
        q["group_rank"] = q["rank"]
    elif scope != "group":
        from .ranking import GROUP_KEYS
        key = GROUP_KEYS.get(scope, scope)
        labels = (zone_columns[key].reindex(q["zone"]).to_numpy(dtype=object)
                  if zone_columns is not None and key in zone_columns else np.full(len(q), None, dtype=object))
        q["group"] = labels
        ok = q["score"].notna() & pd.notna(labels)
        q["group_rank"] = np.nan
        if ok.any():
            sub = q[ok]
            q.loc[ok, "group_rank"] = competition_rank(sub["score"].to_numpy(dtype=float),
                                                       [sub["year"].to_numpy(), sub["group"].to_numpy(dtype=object)])
    ranked = q["group_rank"].notna() & q["group"].notna()
    size = q[ranked].groupby(["year", "group"])["zone"].transform("size")
    ties = q[ranked].groupby(["year", "group", "group_rank"])["zone"].transform("size")
    q["size"] = np.nan
    q.loc[ranked, "size"] = size
    q["rank_from_bottom"] = np.nan
    q.loc[ranked, "rank_from_bottom"] = size - q.loc[ranked, "group_rank"] - ties + 2
    return q


def _pivot(p: pd.DataFrame, value: str, zones, years):
    return p.pivot(index="zone", columns="year", values=value).reindex(index=zones, columns=years)


def _scope_label(scope: str, group: str) -> str:
    if scope == "all":
        return f"{ALL}："
    if scope == "group":
        return f"「{group}」组："
    return f"{scope}「{group}」："


def evaluate(p: pd.DataFrame, rules: list[dict], year: int, zone_rules: dict[str, list[dict]] | None = None,
             zone_columns: pd.DataFrame | None = None, absolute_basis: str = "",
             notes: dict[str, str] | None = None, changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of 奖惩建议 for `year`. `zone_rules` maps zone → rules (per-zone profiles); else `rules` for all.

    `zone_columns`: the 开发区 facts (for a rule scoped by a column); `absolute_basis`: the absolute
    standard the current scores meet, in words; `notes` collects why a rule could not be judged;
    `changes`: zone → each key indicator this year and the year before (columns 名称, 名称·上年),
    for a rule whose absolute standard is a decline of its `decline` indicators."""
    notes = notes if notes is not None else {}
    if p.empty:
        return pd.DataFrame(columns=SANCTION_COLUMNS)
    zones = pd.Index(sorted(p["zone"].unique()))
    governed = None
    if zone_rules is not None:      # which zones each rule governs (per-zone profiles)
        p, zones, governed = _governed(p, zones, rules, zone_rules)
        if p.empty:
            return pd.DataFrame(columns=SANCTION_COLUMNS)
    all_years = np.arange(int(p["year"].min()), int(max(p["year"].max(), year)) + 1)
    t = int(np.searchsorted(all_years, year))
    layouts: dict[str, dict[str, np.ndarray]] = {}

    rows = []
    for i_rule, rule in enumerate(rules):
        applies = governed[i_rule] if governed is not None else np.ones(len(zones), bool)
        if not applies.any():
            continue
        trigger = rule.get("trigger", "rank")
        scope = "absolute" if trigger == "absolute" else rule.get("scope", "group")
        if scope not in layouts:
            layouts[scope] = _layout(p, scope, zones, all_years, zone_columns)
        L = layouts[scope]
        rank = L["group_rank"]
        if scope == "all" and t < rank.shape[1] and not np.isfinite(rank[:, t].astype(float)).any():
            notes[rule["id"]] = f"{rule['id']}：本年度没有全部参评开发区的总排名（各组分别标准化），无法按区域判定"
            continue
        flag = _flags(rule, trigger, L, t, zones, changes)
        hit, used = _window(flag, L["group"], t, rule["k"], rule["m"], rule.get("consecutive", False))
        if rule["kind"] == "top_incentive" and rule.get("rise_years"):
            rise, rise_used = _rising(rank, L["group"], t, rule["rise_years"])
            used = np.where((rise & ~hit)[:, None], rise_used, used)
            hit = hit | rise
        hit &= applies
        rows += [_suggestion(rule, trigger, scope, L, i, [int(all_years[j]) for j in np.flatnonzero(used[i])],
                             all_years, year, t, zones[i], absolute_basis, changes) for i in np.flatnonzero(hit)]
    if not rows:
        return pd.DataFrame(columns=SANCTION_COLUMNS)
    out = pd.DataFrame(rows).sort_values(["开发区名称", "_ladder", "_order"])
    out = out.drop_duplicates(["开发区名称", "_ladder"], keep="last")       # most severe step of each ladder
    return out[SANCTION_COLUMNS].reset_index(drop=True)


def _governed(p: pd.DataFrame, zones: pd.Index, rules: list[dict], zone_rules: dict[str, list[dict]]):
    """(panel, zones, per rule the zones it governs): zones no rule governs are dropped, their
    history never laid out."""
    sharing: dict[int, tuple[list, list]] = {}      # zones of one profile share one rule list
    for z, rs in zone_rules.items():
        sharing.setdefault(id(rs), (rs, []))[1].append(z)
    governed = [zones.isin([z for rs, zs in sharing.values() if any(r is rule for r in rs) for z in zs])
                for rule in rules]
    anyone = np.logical_or.reduce(governed) if governed else np.zeros(len(zones), bool)
    if not anyone.all():
        keep = zones[anyone]
        return p[p["zone"].isin(keep)], keep, [g[anyone] for g in governed]
    return p, zones, governed


def _layout(p: pd.DataFrame, scope: str, zones: pd.Index, all_years: np.ndarray,
            zone_columns: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Zone × year arrays of the panel within `scope` (an absolute standard has no ranks)."""
    q = p.assign(group="全部") if scope == "absolute" else _scoped(p, scope, zone_columns)
    if scope == "absolute":
        q["group_rank"] = q["size"] = q["rank_from_bottom"] = np.nan
    return {c: _pivot(q, c, zones, all_years).to_numpy(dtype=object if c in ("group", "grade") else float)
            for c in ("group", "group_rank", "rank_from_bottom", "size", "grade", "score", "veto", "absolute")}


def _flags(rule: dict, trigger: str, L: dict[str, np.ndarray], t: int, zones: pd.Index,
           changes: pd.DataFrame | None) -> np.ndarray:
    """Zone × year: did the zone meet the rule's trigger that year (year index `t` is this year)."""
    grade = L["grade"]
    if trigger == "grade":
        return np.isin(grade, list(rule["grades"]))
    if trigger == "absolute":
        recorded = np.isin(grade, [*rule.get("grades", []), *RECORDED_FAILS])
        now = np.zeros(len(zones), bool)
        if t < grade.shape[1]:
            score = L["score"][:, t]
            now = (L["veto"][:, t] == 1) if rule.get("veto", True) else now
            if "score_below" in rule:
                now = now | ((L["absolute"][:, t] == 1) & (score < rule["score_below"]))
            if rule.get("decline"):
                now = now | _declined(changes, rule["decline"], zones)
        flag = recorded.copy()
        if t < flag.shape[1]:
            flag[:, t] = now                  # this year: only the absolute standard, never the forced grade
        return flag
    if rule["kind"] == "bottom_streak":
        return L["rank_from_bottom"] <= rule["n"]
    return L["group_rank"] <= rule["n"]


def _suggestion(rule: dict, trigger: str, scope: str, L: dict[str, np.ndarray], i: int, yrs: list[int],
                all_years: np.ndarray, year: int, t: int, zone, absolute_basis: str, changes) -> dict:
    """One 奖惩建议 row: zone `i` met `rule` in years `yrs`."""
    col = lambda y: int(y - all_years[0])
    group, rank, bottom, size, grade = L["group"], L["group_rank"], L["rank_from_bottom"], L["size"], L["grade"]
    if trigger == "grade":
        detail = "；".join(f"{y}年等次「{grade[i, col(y)]}」" for y in yrs)
        where = _scope_label("group", group[i, t])
    elif trigger == "absolute":
        detail = "；".join(_absolute_detail(L, rule, i, col(y), y, y == year, absolute_basis, changes, zone)
                          for y in yrs)
        where = ""
    else:
        within = "组内" if scope == "group" else ""
        detail = "；".join(f"{y}年{within}第{_n(rank[i, col(y)])}名/共{_n(size[i, col(y)])}个"
                          + (f"（倒数第{_n(bottom[i, col(y)])}）" if rule["kind"] == "bottom_streak" else "")
                          for y in yrs)
        where = _scope_label(scope, group[i, t])
    punitive = rule["kind"] == "bottom_streak"
    return {"开发区名称": zone, "年度": year, "触发条件": f"{where}{detail}（{rule['text']}）",
            "建议措施": rule["action"] + (REVIEW if punitive and REVIEW not in rule["action"] else ""),
            "依据": rule["source"], "规则编号": rule["id"],
            "类别": "约束" if punitive else "激励",
            "_ladder": rule.get("ladder") or rule["id"] + str(rule.get("order", "")),
            "_order": rule.get("order", 0)}


def _declined(changes: pd.DataFrame | None, names: list[str], zones: pd.Index) -> np.ndarray:
    """Every one of `names` fell against the year before (a missing value is no decline)."""
    if changes is None or any(n not in changes or f"{n}·上年" not in changes for n in names):
        return np.zeros(len(zones), bool)
    c = changes.reindex(zones)
    return np.logical_and.reduce([(c[n] < c[f"{n}·上年"]).to_numpy(dtype=bool) for n in names])


def _absolute_detail(L, rule, i: int, j: int, y: int, current: bool, basis: str, changes, zone) -> str:
    if not current:
        return f"{y}年等次「{L['grade'][i, j]}」（历年排名）"
    if L["veto"][i, j] == 1:
        return f"{y}年一票否决"
    if rule.get("decline") and _declined(changes, rule["decline"], pd.Index([zone]))[0]:
        c = changes.loc[zone]
        return f"{y}年" + "、".join(f"{n}较上年下降（{c[f'{n}·上年']:.2f} → {c[n]:.2f}）" for n in rule["decline"])
    return f"{y}年综合得分 {L['score'][i, j]:.2f} 分，低于绝对标准 {rule['score_below']:g} 分（{basis}）"


def nothing_triggered(year: int, rules: list[dict], reason: str = "") -> pd.DataFrame:
    """The one row of an empty 奖惩建议: it says why (本年度无触发条件, or no rules at all)."""
    ids = "、".join(dict.fromkeys(r["id"] for r in rules))
    text = reason or (f"本年度无触发条件（已检查 {ids}）" if rules else "所用政策口径未规定奖惩规则")
    return pd.DataFrame([{"开发区名称": "（无）", "年度": year, "触发条件": text, "建议措施": "无",
                          "依据": "", "规则编号": ids, "类别": ""}], columns=SANCTION_COLUMNS)


def _n(v) -> str:
    return "" if v != v else str(int(v))


def _window(flag, group, t: int, k: int, m: int, consecutive: bool):
    """(hit per zone, which years counted) for the window ending at column t."""
    nz = flag.shape[0]
    used = np.zeros_like(flag, dtype=bool)
    if t >= flag.shape[1]:
        return np.zeros(nz, bool), used
    same = (group == group[:, [t]]) & pd.notna(group[:, [t]])
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
