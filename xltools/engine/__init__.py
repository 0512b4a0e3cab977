"""The pure engine: typed tables in, result tables out. No files, no Excel, no printing.

`assess()` is the one entry the CLI, the ribbon and batch call; each task is also available
on its own (`check_quota`, `derive`, …) for the UDFs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .analysis import rank_trajectory, score_analysis
from .indicators import derive
from .params import Settings, read_params
from .quota import DETAIL_COLUMNS, SUMMARY_COLUMNS, check_quota, quota_one, zone_facts
from .salary import DETAIL_COLUMNS as PAY_COLUMNS
from .salary import POOL_COLUMNS, RETURN_COLUMNS, compute_salary, tax_return_one
from ..profiles import inferred_text
from .ranking import RankOptions, explicit_request, rank_zones
from .sanctions import SANCTION_COLUMNS
from .sanctions import evaluate as evaluate_sanctions
from .sanctions import nothing_triggered, panel
from .scoring import ScoringError
from .staff import rank_staff

__all__ = ["assess", "Assessment", "derive", "check_quota", "quota_one", "read_params", "TASKS",
           "compute_salary", "tax_return_one"]

TASKS = ("quota", "salary", "rank", "indicators")
ANALYSIS_MAX_ZONES = 5_000     # 得分分析 has one row per zone and indicator: enterprise-level runs skip it


@dataclass
class Assessment:
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # computations the user asked for explicitly (a flag or a 参数 entry) that could not run:
    # the front ends exit 2 (SPEC §3.1 「Failure is loud」); nothing half-computed is written for them
    failed: list[str] = field(default_factory=list)


def assess(tables: dict[str, pd.DataFrame], *, profile: str | None = None,
           tasks: tuple[str, ...] = TASKS, rank_options: RankOptions | None = None) -> Assessment:
    """Everything the tables have data for (restricted to `tasks`), as result sheets."""
    out = Assessment()
    settings: Settings = read_params(tables)
    chosen = profile or settings.profile
    facts = _Facts(tables)
    if "quota" in tasks:
        if any(k in tables for k in ("zones", "departments", "posts")):
            result = check_quota(tables, chosen, settings.overrides, facts=facts.get())
            out.sheets["合规检查"] = result.details[DETAIL_COLUMNS]
            out.sheets["合规汇总"] = result.summary[SUMMARY_COLUMNS]
            used = "；".join(f"{p.id}（{p.name}）" for p in result.profiles.values())
            out.notes["政策口径"] = used
            out.notes["口径选择"] = ("命令行/按钮指定" if profile else
                                  "「参数」表指定" if settings.profile else "按「开发区」表的政策口径列或地区自动选择")
            if settings.overrides:
                out.notes["参数覆盖"] = "；".join(f"{k} = {v}" for k, v in settings.overrides.items())
        else:
            out.skipped.append("编制合规检查（缺少「开发区」「机构设置」「职数编制」表）")
    if "salary" in tasks:
        if "salary" in tables or "indicators" in tables:
            pay = compute_salary(tables, chosen, settings.overrides, facts=facts.get())
            if len(pay.pools):
                out.sheets["薪酬测算"] = pay.pools[POOL_COLUMNS]
            if len(pay.people):
                out.sheets["薪酬明细"] = pay.people[PAY_COLUMNS]
            if len(pay.returns):
                out.sheets["税收返还"] = pay.returns[RETURN_COLUMNS]
            out.notes.update({k: v for k, v in pay.notes.items() if v})
            if "salary" not in tables:
                out.skipped.append("薪酬测算（缺少「薪酬」表）")
            elif "staff" not in tables:
                out.skipped.append("薪酬明细（缺少「人员」表）")
        else:
            out.skipped.append("薪酬测算与税收返还（缺少「薪酬」「指标」表）")
    if "rank" in tasks:
        _rank(tables, chosen, settings, rank_options, out, facts)
    if "indicators" in tasks:
        ind = tables.get("indicators")
        if ind is not None and len(ind):
            derived, blanks = derive(ind)
            out.sheets["派生指标"] = derived.rename(columns={"zone": "开发区名称", "year": "年度"})
            if len(blanks):
                counts = blanks["note"].value_counts()
                out.notes["派生指标留空"] = "；".join(f"{k}（{v} 个开发区·年度）" for k, v in counts.items())
        else:
            out.skipped.append("派生指标（缺少「指标」表）")
    return out


def _changes(ind: pd.DataFrame, rules: list[dict], year: int) -> pd.DataFrame | None:
    """zone → each key indicator a sanction rule watches for a decline, this year and the year before."""
    from .ranking import indicator_table

    names = list(dict.fromkeys(n for r in rules for n in r.get("decline") or []))
    if not names:
        return None
    data = indicator_table(ind, keep=names)
    names = [n for n in names if n in data]
    at = lambda y: data[data["year"].astype(float) == y].drop_duplicates("zone").set_index("zone")[names]
    return at(year).join(at(year - 1).add_suffix("·上年"), how="left")


class _Facts:
    """zone_facts(tables), computed on first use and shared by every task of one assessment."""

    def __init__(self, tables):
        self.tables, self.value = tables, None

    def get(self) -> pd.DataFrame:
        if self.value is None:
            self.value = zone_facts(self.tables)
        return self.value


def _rank(tables, profile, settings: Settings, options: RankOptions | None, out: Assessment, facts: _Facts) -> None:
    """考核排名, 奖惩建议 and 人员排名 — each when its inputs exist."""
    from ..profiles import load_profile
    from .quota import assign_profiles

    ind = tables.get("indicators")
    if ind is not None and len(ind):
        try:
            result = rank_zones(tables, profile, options, settings.values, facts=facts.get())
        except ScoringError as exc:
            asked = explicit_request(options, settings.values)
            if asked:
                out.failed.append(f"考核排名：{exc}（所要求的计算：{asked}）")
            else:
                out.skipped.append(f"考核排名：{exc}")
            result = None
        if result is not None:
            out.sheets["考核排名"] = result.ranking
            out.sheets["指标权重"] = result.system
            out.notes.update({f"排名·{k}": v for k, v in result.notes.items()})
            assignment = assign_profiles(facts.get(), profile)
            loaded = {pid: load_profile(pid) for pid in dict.fromkeys(assignment)}
            kinds = ("bottom_streak", "top_incentive")
            of_profile = {pid: [r for r in prof.rules if r["kind"] in kinds] for pid, prof in loaded.items()}
            zone_rules = {z: of_profile[pid] for z, pid in assignment.items()}
            rules = [r for pid in loaded for r in of_profile[pid]]
            year = int(result.notes["考核年度"])
            why: dict[str, str] = {}
            suggestions = evaluate_sanctions(panel(tables.get("history"), result.ranking, result.absolute), rules,
                                             year, zone_rules, facts.get(), result.absolute_basis, why,
                                             _changes(ind, rules, year))
            if suggestions.empty:
                suggestions = nothing_triggered(year, rules)
            if len(result.ranking) <= ANALYSIS_MAX_ZONES:
                out.sheets["得分分析"] = score_analysis(tables, result)
            else:
                out.notes["得分分析"] = (f"评价对象 {len(result.ranking)} 个，超过 {ANALYSIS_MAX_ZONES} 个，未生成"
                                     "「得分分析」（每个对象每项指标一行，表太大）；各指标得分见「考核排名」")
            out.sheets["奖惩建议"] = suggestions[SANCTION_COLUMNS]
            trail = rank_trajectory(tables.get("history"), result.ranking, suggestions)
            if len(trail):
                out.sheets["排名轨迹"] = trail
            if not rules:
                out.notes["奖惩规则"] = "所用政策口径未规定奖惩规则"
            absolute = sorted({r["id"] for r in rules if r.get("trigger") == "absolute"})
            if absolute:
                why["绝对标准"] = (f"{'、'.join(absolute)}：综合得分为{result.absolute_basis}，低于分数线即为考核不合格"
                                 if result.absolute_basis else
                                 f"{'、'.join(absolute)}：本次综合得分是相对评价（取决于其他开发区的数据），不作为"
                                 "“考核不合格”的依据；只有一票否决（及「历年排名」中已认定的不合格）可以触发")
            merged: dict[str, dict] = {}          # the steps of a ladder share an ID: one line per ID
            for r in rules:
                keys = r.get("inferred") or []
                m = merged.setdefault(r["id"], {"id": r["id"], "inferred": []})
                m["inferred"] = True if keys is True or m["inferred"] is True else \
                    list(dict.fromkeys([*m["inferred"], *keys]))
            inferred = "；".join(t for t in map(inferred_text, merged.values()) if t)
            if inferred:
                why["推断口径"] = inferred
            out.notes.update({f"奖惩·{k}": v for k, v in why.items()})
    else:
        out.skipped.append("考核排名（缺少「指标」表）")
    staff = tables.get("staff")
    if staff is not None and len(staff):
        pid = profile or "default"
        if profile is None and "zone" in staff and staff["zone"].notna().any():
            assignment = assign_profiles(facts.get(), None)
            zone = staff["zone"].dropna().iat[0]
            pid = assignment.get(zone, "default")
        rule = next((r for r in load_profile(pid).rules if r["kind"] == "staff_cutoffs"), None) or \
            next(r for r in load_profile("default").rules if r["kind"] == "staff_cutoffs")
        out.sheets["人员排名"] = rank_staff(staff, rule)
        out.notes["人员排名"] = f"{rule['id']}：{rule['text']}"
