"""The ranking pipeline, movement, sanctions and staff ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xltools.engine import assess
from xltools.engine import scoring as sc
from xltools.engine.ranking import RankOptions, rank_zones
from xltools.engine.sanctions import evaluate, panel
from xltools.engine.staff import rank_staff
from xltools.intake import read_book, tables_of
from xltools.profiles import load_profile


def book(levels=("国家级", "国家级", "省级", "省级"), tax=(10.0, 20.0, 30.0, 40.0), land=(1.0, 1.0, 1.0, 1.0),
         va=(4.0, 3.0, 2.0, 1.0), system=True, weights=(1.0, 1.0)):
    zones = [f"区{i}" for i in range(len(levels))]
    t = {"zones": pd.DataFrame({"zone": zones, "level": list(levels)}),
         "indicators": pd.DataFrame({"zone": zones, "year": 2023.0, "tax": list(tax), "land_area": list(land),
                                     "value_added": list(va)})}
    if system:
        t["indicator_system"] = pd.DataFrame({"indicator": ["亩均税收", "亩均增加值"], "direction": ["正向", "正向"],
                                              "weight": list(weights)})
    return t


def test_wsum_minmax_by_hand():
    # 亩均税收 10..40 → 0, 1/3, 2/3, 1; 亩均增加值 4..1 → 1, 2/3, 1/3, 0; equal weights → every score 50
    r = rank_zones(book(weights=(3.0, 1.0)), "default", RankOptions(by=[])).ranking.set_index("开发区名称")
    assert r.loc["区0", "综合得分"] == pytest.approx(100 * (0.75 * 0 + 0.25 * 1))
    assert r.loc["区3", "综合得分"] == pytest.approx(100 * 0.75)
    assert r["总排名"].to_dict() == {"区3": 1.0, "区2": 2.0, "区1": 3.0, "区0": 4.0}
    assert r.loc["区3", "亩均税收得分"] == pytest.approx(75.0)


def test_group_ranks_and_overall():
    """SPEC §5.4: one composite normalised over all the zones assessed together; 总排名 and 组内排名 both rank it."""
    r = rank_zones(book(weights=(1.0, 0.0)), "default", RankOptions(by=["级别"])).ranking.set_index("开发区名称")
    # 亩均税收 10, 20, 30, 40 min–max over all four zones → 0, 33.3, 66.7, 100
    assert r["综合得分"].to_dict() == pytest.approx({"区0": 0.0, "区1": 100 / 3, "区2": 200 / 3, "区3": 100.0})
    assert r["总排名"].to_dict() == {"区3": 1.0, "区2": 2.0, "区1": 3.0, "区0": 4.0}
    assert r["组内排名"].to_dict() == {"区1": 1.0, "区0": 2.0, "区3": 1.0, "区2": 2.0}
    assert set(r["分组"]) == {"国家级", "省级"}


def test_group_wise_normalisation_only_when_the_profile_asks_and_then_no_overall_rank():
    from xltools.profiles import apply_overrides
    prof = apply_overrides(load_profile("default"), {"TY-01.normalize_within": "group"})
    res = rank_zones(book(weights=(1.0, 0.0)), prof, RankOptions(by=["级别"]))
    r = res.ranking.set_index("开发区名称")
    assert r.loc["区1", "综合得分"] == r.loc["区3", "综合得分"] == 100.0      # each group's best
    assert r["总排名"].isna().all() and "总排名留空" in res.notes["标准化方法"]


def test_topsis_pipeline_matches_kernel():
    t = book()
    r = rank_zones(t, "default", RankOptions(method="topsis", by=[])).ranking.set_index("开发区名称")
    x = np.column_stack([[10, 20, 30, 40.0], [4, 3, 2, 1.0]])
    expected = sc.topsis(x, [0.5, 0.5], [1, 1]) * 100
    assert r.loc[[f"区{i}" for i in range(4)], "综合得分"].to_numpy() == pytest.approx(expected)


def test_missing_value_policies():
    t = book(tax=(10.0, np.nan, 30.0, 40.0))
    mean = rank_zones(t, "default", RankOptions(by=[], missing="mean"))
    assert "1 个缺失值" in mean.notes["缺失值处理"]
    excl = rank_zones(t, "default", RankOptions(by=[], missing="exclude")).ranking.set_index("开发区名称")
    assert np.isnan(excl.loc["区1", "总排名"]) and excl.loc["区1", "等次"] == "不参与排名"
    zero = rank_zones(t, "default", RankOptions(by=[], missing="zero")).ranking.set_index("开发区名称")
    assert zero.loc["区1", "亩均税收得分"] == 0.0


def test_bonus_deduction_and_veto():
    t = book(weights=(1.0, 0.0))
    t["indicators"]["bonus"] = [5.0, 0, 0, 0]
    t["indicators"]["deduction"] = [0, 0, 0, 2.0]
    t["indicators"]["veto"] = [None, "是", None, None]
    r = rank_zones(t, "default", RankOptions(by=[])).ranking.set_index("开发区名称")
    assert r.loc["区0", "综合得分"] == pytest.approx(5.0)          # 0 + 5 bonus
    assert r.loc["区3", "综合得分"] == pytest.approx(98.0)         # 100 − 2
    assert r.loc["区1", "等次"] == "一票否决" and np.isnan(r.loc["区1", "总排名"])


def test_rank_change_against_history():
    t = book(weights=(1.0, 0.0))
    t["history"] = pd.DataFrame({"zone": ["区0", "区3"], "year": [2022.0, 2022.0], "rank": [1.0, 2.0]})
    r = rank_zones(t, "default", RankOptions(by=[])).ranking.set_index("开发区名称")
    assert r.loc["区0", "排名变化"] == 1 - 4 and r.loc["区3", "排名变化"] == 2 - 1 and np.isnan(r.loc["区1", "排名变化"])


def test_default_system_when_no_indicator_sheet(samples):
    t = tables_of(read_book(samples / "青岛开发区.xlsx"))
    res = rank_zones(t)
    # SPEC §5.4: a profile's default is fixed weights published in advance, not entropy weights
    assert "未提供「指标体系」表" in res.notes["指标体系"] and res.notes["赋权方法"].startswith("固定权重（政策口径 QD-41")
    assert res.weighting == "fixed" and "推断口径" in res.notes["赋权方法"]
    assert len(res.ranking) == 20 and res.ranking["总排名"].notna().all()
    assert res.system["权重"].tolist() == pytest.approx([0.25] * 4)


def test_preset_uses_the_columns_that_exist(samples):
    t = tables_of(read_book(samples / "青岛开发区.xlsx"))
    res = rank_zones(t, None, RankOptions(preset="安徽亩均"))
    assert "亩均营业收入" in res.notes["未使用的指标"]
    assert res.notes["赋权方法"] == "固定权重（预设「安徽亩均」公布的权重）"
    w = dict(zip(res.system["指标"], res.system["权重"]))
    assert w["亩均税收"] == pytest.approx(45 / 60) and w["单位能耗增加值"] == pytest.approx(15 / 60)
    assert set(res.ranking["等次"]) <= {"A", "B", "C", "D"}


def test_ahp_from_param_sheet_and_bad_cr():
    t = book()
    r = rank_zones(t, "default", RankOptions(by=[], weights="ahp"), {"AHP判断矩阵": "1,3;1/3,1"})
    assert r.system["权重"].tolist() == pytest.approx([0.75, 0.25])
    t3 = book()
    t3["indicator_system"] = pd.DataFrame({"indicator": ["亩均税收", "亩均增加值", "税收收入"]})
    with pytest.raises(sc.ScoringError, match="CR = "):
        rank_zones(t3, "default", RankOptions(by=[], weights="ahp"), {"AHP判断矩阵": "1,9,1/9;1/9,1,9;9,1/9,1"})


def test_run_always_ranks_and_reports(samples):
    a = assess(tables_of(read_book(samples / "宁夏开发区.xlsx")))
    assert {"考核排名", "奖惩建议", "指标权重"} <= set(a.sheets)
    assert a.notes["排名·分组依据"] == "级别"
    last = a.sheets["考核排名"].groupby("分组")["组内排名"].max()
    sanctions = a.sheets["奖惩建议"]
    assert set(sanctions.loc[sanctions["规则编号"] == "NX-28", "开发区名称"]) == set(
        a.sheets["考核排名"].loc[a.sheets["考核排名"]["组内排名"] == a.sheets["考核排名"]["分组"].map(last), "开发区名称"])


# ---------------------------------------------------------------- sanctions: a 5-year Ningxia scenario
NATIONAL = ["NX01", "NX02", "NX03", "NX04", "NX05", "NX06"]
REGIONAL = ["NX07", "NX20", "NX21", "NX22", "NXX"]


def year_rows(year, group, order, ties=()):
    """`order` best → worst; `ties` = zones that share the rank of the zone before them."""
    rows, rank = [], 0
    for i, z in enumerate(order):
        if z not in ties:
            rank = i + 1
        rows.append({"zone": z, "year": float(year), "group": group, "group_rank": float(rank)})
    return rows


def scenario() -> pd.DataFrame:
    rows = []
    rows += year_rows(2019, "国家级", ["NX01", "NX02", "NX03", "NX04", "NX06", "NX05"])
    rows += year_rows(2019, "自治区级", ["NX07", "NX20", "NX21", "NXX", "NX22"][:3] + ["NX22", "NXX"])
    rows += year_rows(2020, "国家级", ["NX01", "NX02", "NX03", "NX04", "NX06", "NX05"])
    rows += year_rows(2020, "自治区级", ["NX07", "NX22", "NX21", "NX20"])                    # NXX not ranked
    rows += year_rows(2021, "国家级", ["NX01", "NX02", "NX03", "NX06", "NX04"])               # NX05 left the group
    rows += year_rows(2021, "自治区级", ["NX07", "NX22", "NX21", "NXX", "NX20", "NX05"], ties=("NX05",))
    rows += year_rows(2022, "国家级", ["NX01", "NX02", "NX06", "NX04", "NX03"])
    rows += year_rows(2022, "自治区级", ["NX07", "NX22", "NX21", "NX05", "NXX", "NX20"])
    rows += year_rows(2023, "国家级", ["NX01", "NX02", "NX06", "NX03", "NX04"])
    rows += year_rows(2023, "自治区级", ["NX07", "NX20", "NX05", "NXX", "NX21", "NX22"], ties=("NX22",))
    return pd.DataFrame(rows)


def actions(year):
    rules = [r for r in load_profile("ningxia").rules if r["kind"] in ("bottom_streak", "top_incentive")]
    out = evaluate(panel(scenario(), None), rules, year)
    assert out.loc[out["类别"] == "约束", "建议措施"].str.endswith("（建议，须经复核）").all()
    return {(z, a.removesuffix("（建议，须经复核）")) for z, a, c in zip(out["开发区名称"], out["建议措施"], out["类别"])
            if c == "约束"}


YELLOW, DOWN, ABOLISH = "黄牌警告并约谈主要负责人", "降低管理机构规格", "撤销管理机构"


def test_scenario_2019_and_2020():
    assert actions(2019) == {("NX05", YELLOW), ("NXX", YELLOW)}
    assert actions(2020) == {("NX05", DOWN), ("NX20", YELLOW)}


def test_scenario_2021_group_change_and_tie_for_last():
    # NX05 moved to the regional group: its national streak does not carry over (yellow only);
    # NX05 and NX20 tie for last → both are last; NX20's streak is 2; NXX's 2019 last is broken by 2020's gap.
    assert actions(2021) == {("NX04", YELLOW), ("NX20", DOWN), ("NX05", YELLOW)}


def test_scenario_2022_and_2023():
    assert actions(2022) == {("NX03", YELLOW), ("NX20", ABOLISH)}
    # NX04 was last in 2021 and 2023 but not 2022: not consecutive → yellow card only
    assert actions(2023) == {("NX04", YELLOW), ("NX21", YELLOW), ("NX22", YELLOW)}


def test_trigger_text_names_years_and_ranks():
    rules = [r for r in load_profile("ningxia").rules if r["kind"] == "bottom_streak"]
    out = evaluate(panel(scenario(), None), rules, 2022).set_index("开发区名称")
    text = out.loc["NX20", "触发条件"]
    assert "2020年组内第4名/共4个" in text and "2022年组内第6名/共6个" in text
    assert out.loc["NX20", "规则编号"] == "NX-30" and out.loc["NX20", "依据"].startswith("《推进开发区管理体制机制创新")


def test_wuxi_bottom_two_and_consecutive_rise():
    rows = []
    rows += year_rows(2021, "无锡市", ["甲", "乙", "丙", "丁", "戊"])
    rows += year_rows(2022, "无锡市", ["乙", "甲", "戊", "丙", "丁"])
    rows += year_rows(2023, "无锡市", ["乙", "戊", "甲", "丁", "丙"])
    history = pd.DataFrame(rows).rename(columns={"group_rank": "rank"})       # 历年排名: 总排名 of the region
    rules = [r for r in load_profile("wuxi").rules if r["kind"] in ("bottom_streak", "top_incentive")]
    out = evaluate(panel(history, None), rules, 2023)
    got = {(z, r) for z, r in zip(out["开发区名称"], out["规则编号"])}
    # bottom 2 in 2023: 丁, 丙; 乙 first in 2022 and 2023 (sustained lead); 戊 rose 5 → 3 → 2 (two consecutive rises)
    assert got == {("丁", "WX-24"), ("丙", "WX-24"), ("乙", "WX-23"), ("戊", "WX-23")}


# ---------------------------------------------------------------- staff ranking (Leiyang)
def test_staff_cutoffs_with_a_tie_at_70():
    n = 150
    scores = np.linspace(100, 50, n)
    scores[70] = scores[69]                       # positions 70 and 71 tie for rank 70
    staff = pd.DataFrame({"name": [f"人{i:03d}" for i in range(n)], "zone": "耒阳",
                          "score_test": scores, "score_speech": scores, "score_inspection": scores})
    rule = load_profile("leiyang").rules[-1]
    out = rank_staff(staff, rule)
    assert (out["结果"] == "可竞聘股长").sum() == 71            # both tied at 70 may compete (inclusive)
    assert (out["结果"] == "留在机关").sum() == 130 - 71
    assert (out["结果"] == "调整岗位").sum() == 20
    exclusive = rank_staff(staff, {**rule, "ties": "exclude"})
    assert (exclusive["结果"] == "可竞聘股长").sum() == 69


def test_staff_weighted_score_by_hand():
    staff = pd.DataFrame({"name": ["甲", "乙"], "score_test": [90.0, 80.0], "score_speech": [80.0, None],
                          "score_inspection": [70.0, 90.0]})
    out = rank_staff(staff, load_profile("leiyang").rules[-1]).set_index("姓名")
    assert out.loc["甲", "综合得分"] == pytest.approx(0.4 * 90 + 0.3 * 80 + 0.3 * 70)
    assert out.loc["乙", "结果"].startswith("数据缺失")
