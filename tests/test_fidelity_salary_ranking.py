"""The fidelity table tests/fidelity/salary_ranking.toml, run through the real engine.

Each case names a rule, quotes its source sentence and sets a boundary the wording gives: the
verdict at the boundary and one step on each side. The adapters below turn a case's inputs
into the tables an official's workbook becomes and read the verdict from the result sheet.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xltools.engine import assess
from xltools.engine.salary import compute_salary
from xltools.engine.sanctions import evaluate, panel
from xltools.engine.staff import rank_staff
from xltools.profiles import load_profile

TABLE = Path(__file__).parent / "fidelity" / "salary_ranking.toml"
CASES = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]
SIDES = ("at", "above", "below")
YEAR = 2023


def _zone(profile, zone="甲", level="省级"):
    return pd.DataFrame({"zone": [zone], "level": [level], "profile": [profile]})


def tax_return(case, value):
    i = case["inputs"]
    actual = np.nan if value == "blank" else value
    ind = pd.DataFrame({"zone": ["甲", "甲"], "year": [2019.0, 2022.0], "tax": [i["tax_base_year"], i["tax"]],
                        "fees": [0.0, i["fees"]], "actual_return": [np.nan, actual]})
    out = compute_salary({"zones": _zone(case["profile"]), "indicators": ind}).returns
    return out.loc[out["年度"] == 2022, "结论"].iat[0]


def _salary_tables(case, rate=1.0, cap=None, reward=0.0, headcount=10, base=10.0, ratio=0.5):
    targets = (100.0, 200.0, 300.0)
    ind = pd.DataFrame({"zone": ["甲"], "year": [float(YEAR)], "tax": [rate * targets[0]],
                        "fixed_investment": [rate * targets[1]], "industrial_output": [rate * targets[2]]})
    sal = pd.DataFrame({"zone": ["甲"], "year": [float(YEAR)], "headcount": [headcount], "base_standard": [base],
                        "performance_ratio": [ratio], "target_tax": [targets[0]], "target_investment": [targets[1]],
                        "target_output": [targets[2]], "project_reward": [reward], "cap": [cap]})
    return {"zones": _zone(case["profile"]), "indicators": ind, "salary": sal}


def salary_cap(case, value):
    i = case["inputs"]
    t = _salary_tables(case, i["rate"], value, i["reward"], i["headcount"], i["base"], i["ratio"])
    t["staff"] = pd.DataFrame({"name": ["子", "丑", "寅"], "zone": "甲", "post_coef": [1.0, 1.5, 2.0],
                               "grade": ["合格"] * 3})
    res = compute_salary(t)
    perf = res.pools["绩效薪酬"].iat[0]
    # what 薪酬明细 distributes is the capped pool, to the cent
    assert round(res.people["绩效薪酬(元)"].sum() * 100) == round(perf * 1e6)
    assert res.pools["薪酬总额"].iat[0] == pytest.approx(100.0 + perf + i["reward"])
    return round(perf, 6)


def salary_link(case, value):
    return round(compute_salary(_salary_tables(case, value)).pools["挂钩系数"].iat[0], 6)


def concurrent(case, value):
    t = _salary_tables(case)                         # 基础 100, 绩效 100 × 0.5 × 1.0 = 50 万元
    t["staff"] = pd.DataFrame({"name": ["市领导", "职员"], "zone": "甲", "post_coef": [1.0, 1.0],
                               "grade": ["合格", "合格"], "concurrent": [value, "否"]})
    people = compute_salary(t).people.set_index("姓名")
    assert people["绩效薪酬(元)"].sum() == pytest.approx(500000.0)
    if value == "是":
        assert "兼任" in people.loc["市领导", "说明"] and "LY-11" in people.loc["市领导", "说明"]
    return people.loc["市领导", "绩效薪酬(元)"]


def _ranks(n, position, from_top):
    """Ranks 1..n with the target zone 「目标」 at `position` (from the top or the bottom)."""
    target = position if from_top else n - position + 1
    others = [r for r in range(1, n + 1) if r != target]
    return ["目标", *[f"区{j}" for j in range(1, n)]], [target, *others]


def _rank_rows(case, value, from_top):
    i = case["inputs"]
    n = i["zones"]
    before = i["years_before"]
    hist = []
    for k, pos in enumerate(before):
        zones, ranks = _ranks(n, pos, from_top)
        y = YEAR - len(before) + k
        hist += [{"zone": z, "year": float(y), "group": "全部", "rank": float(r), "group_rank": float(r)}
                 for z, r in zip(zones, ranks)]
    zones, ranks = _ranks(n, value, from_top)
    # two 级别 alternate: a rule scoped to 「all」 must not count ranks within 级别
    levels = ["国家级" if j % 2 else "省级" for j in range(n)] if i["scope"] == "all" else ["全部"] * n
    current = pd.DataFrame({"开发区名称": zones, "年度": YEAR, "分组": levels, "综合得分": [100.0 - r for r in ranks],
                            "总排名": np.array(ranks, dtype=float), "等次": None})
    current["组内排名"] = current.groupby("分组")["综合得分"].rank(method="min", ascending=False)
    if i["scope"] != "all":
        current["组内排名"] = current["总排名"]
    rules = [r for r in load_profile(case["profile"]).rules if r["kind"] in ("bottom_streak", "top_incentive")]
    out = evaluate(panel(pd.DataFrame(hist) if hist else None, current), rules, YEAR)
    hit = out[(out["开发区名称"] == "目标") & (out["规则编号"] == case["rule"])]
    assert len(hit) <= 1
    if len(hit):
        assert f"{YEAR}年" in hit["触发条件"].iat[0] and case["quote"][:10] in hit["依据"].iat[0]
    return hit["建议措施"].iat[0] if len(hit) else ""


def bottom_rank(case, value):
    return _rank_rows(case, value, from_top=False)


def top_rank(case, value):
    return _rank_rows(case, value, from_top=True)


def absolute(case, value):
    i = case["inputs"]
    zones = pd.DataFrame({"zone": ["目标", "乙", "丙"], "level": "国家级", "profile": case["profile"]})
    ind = pd.DataFrame({"zone": ["目标", "乙", "丙"], "year": float(YEAR), "tax": [value, 90.0, 95.0]})
    system = pd.DataFrame({"indicator": ["税收收入"], "direction": ["正向"], "weight": [1.0],
                           "satisfactory": [i["satisfactory"]], "impermissible": [i["impermissible"]]})
    params = pd.DataFrame({"item": ["标准化方法"], "value": ["efficacy"]})
    a = assess({"zones": zones, "indicators": ind, "indicator_system": system, "params": params}, tasks=("rank",))
    score = a.sheets["考核排名"].set_index("开发区名称").loc["目标", "综合得分"]
    expected = 60 + 40 * (value - i["impermissible"]) / (i["satisfactory"] - i["impermissible"])
    assert score == pytest.approx(min(expected, 100.0), abs=1e-6)
    s = a.sheets["奖惩建议"]
    hit = s[(s["开发区名称"] == "目标") & (s["规则编号"] == case["rule"])]
    if len(hit):
        assert "低于绝对标准 60 分" in hit["触发条件"].iat[0]
    return hit["建议措施"].iat[0] if len(hit) else ""


def forced_slot(case, value):
    i = case["inputs"]
    names = [f"区{j:02d}" for j in range(value)]
    zones = pd.DataFrame({"zone": names, "level": "省级", "profile": case["profile"]})
    base = np.linspace(100.0, 300.0, value)
    rows = []
    for y, factor in ((YEAR - 1, 1.0), (YEAR, 1.0 + i["growth"])):
        rows.append(pd.DataFrame({"zone": names, "year": float(y), "tax": base * factor, "land_area": 100.0,
                                  "value_added": base * 2 * factor, "energy": 50.0}))
    last = names[0]                                  # the lowest on every indicator
    history = pd.DataFrame({"zone": last, "year": [float(YEAR - 2), float(YEAR - 1)], "group": "省级",
                            "group_rank": float(value), "grade": "不合格"}).iloc[:i["earlier_fails"]]
    a = assess({"zones": zones, "indicators": pd.concat(rows, ignore_index=True), "history": history}, tasks=("rank",))
    ranking = a.sheets["考核排名"].set_index("开发区名称")
    assert ranking.loc[last, "组内排名"] == value and ranking.loc[last, "等次"] != "不合格"
    s = a.sheets["奖惩建议"]
    hit = s[s["规则编号"] == case["rule"]]
    hit = hit[hit["开发区名称"] != "（无）"]
    return hit["建议措施"].iat[0] if len(hit) else ""


def staff_cutoff(case, value):
    n = case["inputs"]["people"]
    scores = np.linspace(100.0, 50.0, n)
    names = [f"人{j:03d}" for j in range(n)]
    staff = pd.DataFrame({"name": names, "zone": "耒阳", "score_test": scores, "score_speech": scores,
                          "score_inspection": scores})
    rule = next(r for r in load_profile(case["profile"]).rules if r["id"] == case["rule"])
    out = rank_staff(staff, rule).set_index("姓名")
    person = names[value - 1]
    assert out.loc[person, "排名"] == value
    return out.loc[person, "结果"]


ENGINES = {f.__name__: f for f in (tax_return, salary_cap, salary_link, concurrent, bottom_rank, top_rank, absolute,
                                    forced_slot, staff_cutoff)}


def test_the_table_is_complete():
    for c in CASES:
        assert {"rule", "profile", "quote", "severity", "engine", "inputs", "vary", *SIDES} <= set(c), c
        assert c["engine"] in ENGINES and c["severity"] in ("hard", "soft", "formula")
        rule_ids = {r["id"] for r in load_profile(c["profile"]).rules}
        assert c["rule"] in rule_ids or c["rule"] in ("LY-11", "LY-12"), c["rule"]
        # the quote is the rule's own source sentence (LY-11/12 are parameters of the LY-13 pool rule)
        sources = " ".join(str(v) for r in load_profile(c["profile"]).rules for v in r.values())
        assert c["quote"][:10] in sources, c["rule"]


@pytest.mark.parametrize("case, side", [(c, s) for c in CASES for s in SIDES],
                         ids=[f"{c['rule']}-{c['engine']}-{s}" for c in CASES for s in SIDES])
def test_fidelity_case(case, side):
    point = case[side]
    got = ENGINES[case["engine"]](case, point["value"])
    if isinstance(point["expect"], float):
        assert got == pytest.approx(point["expect"], abs=1e-6), (case["quote"], side)
    else:
        assert got == point["expect"], (case["quote"], side)
