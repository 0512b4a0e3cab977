"""The pure engine: typed tables in, result tables out. No files, no Excel, no printing.

`assess()` is the one entry the CLI, the ribbon and batch call; each task is also available
on its own (`check_quota`, `derive`, …) for the UDFs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .analysis import rank_trajectory, score_analysis
from .indicators import derive
from ..profiles.resolve import PRECEDENCE, resolve
from .params import Settings, read_params
from .quota import DETAIL_COLUMNS, SUMMARY_COLUMNS, SUMMARY_NOTE, check_quota, missing_inputs, quota_one
from .zones import unlisted_zones, zone_facts
from .salary import DETAIL_COLUMNS as PAY_COLUMNS
from .salary import HEADCOUNT_STAND_IN, POOL_COLUMNS, RETURN_COLUMNS, compute_salary, missing_returns, tax_return_one
from ..profiles import inferred_note
from ..results import (ANALYSIS, CHECKS, COMPLIANCE, DERIVED, PAY, PAY_DETAIL, RANKING, SANCTIONS, STAFF,
                       TASKS, TAX_RETURN, TRAJECTORY, WEIGHTS)
from .ranking import RankOptions, explicit_request, rank_zones
from .sanctions import SANCTION_COLUMNS
from .sanctions import evaluate as evaluate_sanctions
from .sanctions import nothing_triggered, panel
from .scoring import ScoringError
from .staff import rank_staff

__all__ = ["assess", "Assessment", "derive", "check_quota", "quota_one", "read_params", "TASKS",
           "compute_salary", "tax_return_one"]

ANALYSIS_MAX_ZONES = 5_000     # 得分分析 has one row per zone and indicator: enterprise-level runs skip it


@dataclass
class Assessment:
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # computations the user asked for explicitly (a flag or a 参数 entry) that could not run:
    # the front ends exit 2 (「Failure is loud」); nothing half-computed is written for them
    failed: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)     # 数据校验 rows (工作表, 单元格, 级别, 问题, 建议)
    # the inputs behind each 数据缺失 verdict (quota.MISSING_INPUTS): 数据校验 names their blank cells
    missing: list[pd.DataFrame] = field(default_factory=list)


def assess(tables: dict[str, pd.DataFrame], *, profile: str | None = None,
           tasks: tuple[str, ...] = TASKS, rank_options: RankOptions | None = None) -> Assessment:
    """Everything the tables have data for (restricted to `tasks`), as result sheets."""
    out = Assessment()
    settings: Settings = read_params(tables)
    facts = _Facts(tables)
    res = resolve(facts.get(), explicit=profile, param=settings.profile, overrides=settings.overrides)
    out.problems += res.warnings
    out.notes["口径选择"] = PRECEDENCE
    if settings.overrides:
        out.notes["参数覆盖"] = "；".join(f"{k} = {v}" for k, v in settings.overrides.items()
                                      if k not in res.unused_overrides) or "无"
    if res.unused_overrides:
        out.notes["未使用的参数覆盖"] = "；".join(res.unused_overrides) + "（所用政策口径中没有这些规则）"
        out.problems.append({"工作表": "参数", "单元格": "", "级别": "警告",
                             "问题": f"参数「{'、'.join(res.unused_overrides)}」所指的规则不在所用的政策口径中，未起作用",
                             "建议": "核对规则编号（见 xltools profiles show 口径），或删除该行"})
    if "quota" in tasks:
        if any(k in tables for k in ("zones", "departments", "posts")):
            result = check_quota(tables, res, facts=facts.get())
            out.sheets[CHECKS] = result.details[DETAIL_COLUMNS]
            out.sheets[COMPLIANCE] = result.summary[SUMMARY_COLUMNS + [SUMMARY_NOTE] * (SUMMARY_NOTE in result.summary)]
            out.missing.append(missing_inputs(result))
            out.notes["政策口径"] = res.explain(unlisted=unlisted_zones(tables))
        else:
            out.skipped.append("编制合规检查（缺少「开发区」「机构设置」「职数编制」表）")
    if "salary" in tasks:
        if "salary" in tables or "indicators" in tables:
            pay = compute_salary(tables, res, facts=facts.get())
            if len(pay.pools):
                out.sheets[PAY] = pay.pools[POOL_COLUMNS]
                out.problems += _headcount_warnings(pay.pools)
            if len(pay.people):
                out.sheets[PAY_DETAIL] = pay.people[PAY_COLUMNS]
            if len(pay.returns):
                out.sheets[TAX_RETURN] = pay.returns[RETURN_COLUMNS]
                out.missing.append(missing_returns(pay.returns, res))
            out.notes.update({k: v for k, v in pay.notes.items() if v})
            if "salary" not in tables:
                out.skipped.append("薪酬测算（缺少「薪酬」表）")
            elif "staff" not in tables:
                out.skipped.append("薪酬明细（缺少「人员」表）")
        else:
            out.skipped.append("薪酬测算与税收返还（缺少「薪酬」「指标」表）")
    if "rank" in tasks:
        _rank(tables, res, settings, rank_options, out, facts, alone=tasks == ("rank",))
    if "indicators" in tasks:
        ind = tables.get("indicators")
        if ind is not None and len(ind):
            derived, blanks = derive(ind)
            out.sheets[DERIVED] = derived.rename(columns={"zone": "开发区名称", "year": "年度"})
            if len(blanks):
                counts = blanks["note"].value_counts()
                out.notes["派生指标留空"] = "；".join(f"{k}（{v} 个开发区·年度）" for k, v in counts.items())
        else:
            out.skipped.append("派生指标（缺少「指标」表）")
    inferred = res.inferred(res.used())
    if inferred:
        out.notes["推断口径（报告未给出的参数，可在「参数」表以「规则编号.参数」覆盖）"] = inferred
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


def _sanction_notes(rules: list[dict], absolute_basis: str) -> dict[str, str]:
    """计算说明 of the sanction rules of one profile: the absolute standard, the inferred parameters."""
    why: dict[str, str] = {}
    absolute = sorted({r["id"] for r in rules if r.get("trigger") == "absolute"})
    if absolute:
        why["绝对标准"] = (f"{'、'.join(absolute)}：综合得分为{absolute_basis}，低于分数线即为考核不合格"
                         if absolute_basis else
                         f"{'、'.join(absolute)}：本次综合得分是相对评价（取决于其他开发区的数据），不作为"
                         "“考核不合格”的依据；只有一票否决（及「历年排名」中已认定的不合格）可以触发")
    merged: dict[str, dict] = {}          # the steps of a ladder share an ID: one line per ID
    for r in rules:
        keys = r.get("inferred") or []
        m = merged.setdefault(r["id"], {"id": r["id"], "inferred": []})
        m["inferred"] = True if keys is True or m["inferred"] is True else \
            list(dict.fromkeys([*m["inferred"], *keys]))
    inferred = "；".join(t for t in map(inferred_note, merged.values()) if t)
    if inferred:
        why["推断口径"] = inferred
    return why


class _Facts:
    """zone_facts(tables), computed on first use and shared by every task of one assessment."""

    def __init__(self, tables):
        self.tables, self.value = tables, None

    def get(self) -> pd.DataFrame:
        if self.value is None:
            self.value = zone_facts(self.tables)
        return self.value


def _headcount_warnings(pools: pd.DataFrame) -> list[dict]:
    """A blank 核定人数 replaced by 实有人数 (salary.salary_pools says so in 说明) is a 警告 in 数据校验 too."""
    said = pools[pools["说明"].astype(str).str.startswith(HEADCOUNT_STAND_IN)]
    return [{"工作表": "薪酬", "单元格": "", "级别": "警告",
             "问题": f"开发区「{z}」{y:g} 年" + str(text).split("；")[0] + "，基础薪酬按此人数测算",
             "建议": "在「薪酬」表填写核定人数（核定编制内的人数）"}
            for z, y, text in zip(said["开发区名称"], said["年度"], said["说明"])]


def _rank(tables, res, settings: Settings, options: RankOptions | None, out: Assessment, facts: _Facts,
          alone: bool = False) -> None:
    """考核排名, 奖惩建议 and 人员排名 — each when its inputs exist; each zone by its own profile.
    `alone`: the ranking was the only thing asked for, so missing 指标 is a failure, not a skip."""
    ind = tables.get("indicators")
    if ind is not None and len(ind):
        result = _ranked(tables, res, settings, options, out, facts)
        if result is not None:
            _ranking_sheets(tables, res, result, out, facts)
    elif alone:                    # the ranking alone was asked for (xltools rank, the 排名 button): cannot run
        out.failed.append("考核排名：缺少「指标」表（或表中没有数据），无法排名；请在「指标」表填报各开发区的考核指标"
                          "（所要求的计算：考核排名）")
    else:                          # a default that does not apply: skipped with a note
        out.skipped.append("考核排名（缺少「指标」表）")
    _rank_people(tables, res, out)


def _ranked(tables, res, settings: Settings, options: RankOptions | None, out: Assessment, facts: _Facts):
    """The ranking, or None when it cannot be computed: a failure if asked for explicitly, else a skip."""
    try:
        return rank_zones(tables, res, options, settings.values, facts=facts.get())
    except ScoringError as exc:
        asked = explicit_request(options, settings.values)
        if asked:
            out.failed.append(f"考核排名：{exc}（所要求的计算：{asked}）")
        else:
            out.skipped.append(f"考核排名：{exc}")
        return None


def _ranking_sheets(tables, res, result, out: Assessment, facts: _Facts) -> None:
    """考核排名 and what follows from it: 指标权重, 得分分析, 奖惩建议, 排名轨迹 and their notes."""
    out.sheets[RANKING] = result.ranking
    out.problems += result.filled
    out.sheets[WEIGHTS] = result.system
    out.notes.update({f"排名·{k}": v for k, v in result.notes.items()})
    out.notes["排名·政策口径选择"] = res.explain(result.ranking["开发区名称"], unlisted_zones(tables))
    suggestions, all_rules, why = _sanctions(tables, res, result, facts)
    if len(result.ranking) <= ANALYSIS_MAX_ZONES:
        out.sheets[ANALYSIS] = score_analysis(tables, result)
    else:
        out.notes[ANALYSIS] = (f"评价对象 {len(result.ranking)} 个，超过 {ANALYSIS_MAX_ZONES} 个，未生成"
                               f"「{ANALYSIS}」（每个对象每项指标一行，表太大）；各指标得分见「{RANKING}」")
    out.sheets[SANCTIONS] = suggestions[SANCTION_COLUMNS]
    trail = rank_trajectory(tables.get("history"), result.ranking, suggestions)
    if len(trail):
        out.sheets[TRAJECTORY] = trail
    if not all_rules:
        out.notes["奖惩规则"] = "所用政策口径未规定奖惩规则"
    out.notes.update({f"奖惩·{k}": v for k, v in why.items()})


def _sanctions(tables, res, result, facts: _Facts) -> tuple[pd.DataFrame, list[dict], dict[str, str]]:
    """奖惩建议 of every part of the ranking (zones of different profiles are ranked apart), the
    sanction rules they were judged by, and their notes."""
    ind, history = tables["indicators"], tables.get("history")
    many = len(result.parts) > 1
    found, all_rules, why = [], [], {}
    for key, part in result.parts.items():
        rules = res.rules(key, "bottom_streak", "top_incentive")
        all_rules += rules
        if not rules:
            continue
        mine = history[res.key_of(history["zone"]) == key] if history is not None and "zone" in history \
            else history
        year = int(part.notes["考核年度"])
        own: dict[str, str] = {}
        found.append(evaluate_sanctions(panel(mine, part.ranking, part.absolute), rules, year, None,
                                        facts.get(), part.absolute_basis, own, _changes(ind, rules, year)))
        own.update(_sanction_notes(rules, part.absolute_basis))
        why.update({(f"{res.label(key)}·" if many else "") + k: v for k, v in own.items()})
    found = [f for f in found if len(f)]
    year = int(next(iter(result.parts.values())).notes["考核年度"])
    suggestions = pd.concat(found, ignore_index=True) if found else nothing_triggered(year, all_rules)
    return suggestions, all_rules, why


def _rank_people(tables, res, out: Assessment) -> None:
    """人员排名, each zone's staff by its own profile's rule (when it has one)."""
    staff = tables.get("staff")
    if staff is not None and len(staff):
        zones = staff["zone"] if "zone" in staff else pd.Series(None, index=staff.index, dtype=object)
        keys = res.key_of(zones)
        ranked, texts = [], []
        for key in dict.fromkeys(keys.tolist()):
            rule = res.rule(key, "staff_cutoffs")
            if rule is None:
                out.skipped.append(f"人员排名（{res.label(key)}未规定人员排名办法）")
                continue
            ranked.append(rank_staff(staff[keys == key], rule))
            texts.append(f"{res.label(key)} {rule['id']}：{rule['text']}")
        if ranked:
            out.sheets[STAFF] = pd.concat(ranked, ignore_index=True)
            out.notes[STAFF] = "；".join(texts)
