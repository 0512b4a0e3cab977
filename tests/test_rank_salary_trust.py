"""Issues 14, 15 and 20 for the salary, tax-return, ranking, grade and sanction engine: no
verdict from absent inputs, ranking guard rails, capped pools, absolute standards before any
punitive suggestion, Wuxi's 区域, Chinese method names, loud failure (SPEC §3.1, §5.2–§5.5)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from xltools.engine import assess
from xltools.engine.ranking import RankOptions, rank_zones
from xltools.engine.salary import compute_salary
from xltools.intake import read_book, tables_of

YEAR = 2023


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def sheets_of(path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, engine="calamine")


# ---------------------------------------------------------------- 税收返还 (QD-35)
def test_a_blank_actual_return_is_data_missing_not_compliant(make_book):
    """QD-35 「按照不低于60%的比例予以返还」: without the amount actually returned nothing says it was enough."""
    path = make_book({
        "开发区": [["开发区名称", "级别", "政策口径"], ["甲开发区", "国家级", "qingdao"], ["乙开发区", "国家级", "qingdao"]],
        "指标": [["2022年开发区税收返还情况表"], ["开发区名称", "年度", "税收收入(万元)", "行政事业性收费(万元)", "实际返还金额(万元)"],
                 ["甲开发区", 2019, 100, 0, None], ["甲开发区", 2022, 200, 10, None],
                 ["乙开发区", 2019, 100, 0, None], ["乙开发区", 2022, 200, 10, 66]]})
    out = assess(tables_of(read_book(path)), tasks=("salary",)).sheets["税收返还"]
    row = out[(out["开发区名称"] == "甲开发区") & (out["年度"] == 2022)].iloc[0]
    assert row["结论"] == "数据缺失" and "未填报实际返还金额" in row["说明"]
    assert row["应返还下限"] == pytest.approx(0.6 * (100 + 10))          # still computed and shown
    paid = out[(out["开发区名称"] == "乙开发区") & (out["年度"] == 2022)].iloc[0]
    assert paid["结论"] == "合规"                                         # 66 = the floor exactly


def test_a_blank_fee_is_unknown_but_a_missing_fee_column_is_none():
    zones = pd.DataFrame({"zone": ["甲"], "level": "国家级", "profile": "qingdao"})
    rows = {"zone": ["甲", "甲"], "year": [2019.0, 2022.0], "tax": [100.0, 200.0], "actual_return": [np.nan, 70.0]}
    blank = compute_salary({"zones": zones, "indicators": pd.DataFrame({**rows, "fees": [0.0, np.nan]})}).returns
    row = blank[blank["年度"] == 2022].iloc[0]
    assert row["结论"] == "数据缺失" and "行政事业性收费" in row["说明"]
    none = compute_salary({"zones": zones, "indicators": pd.DataFrame(rows)}).returns
    assert none.loc[none["年度"] == 2022, "结论"].iat[0] == "合规"     # 70 ≥ 60% × 100
    assert "没有「行政事业性收费」列，收费按 0 计入应返还下限" in none.loc[none["年度"] == 2022, "说明"].iat[0]
    with_column = compute_salary({"zones": zones, "indicators": pd.DataFrame({**rows, "fees": [0.0, 0.0]})}).returns
    assert "行政事业性收费" not in with_column.loc[with_column["年度"] == 2022, "说明"].iat[0]


def test_demo_samples_have_no_compliant_return_without_an_actual_amount(samples):
    for name in ("青岛开发区.xlsx", "宁夏开发区.xlsx", "问题样例.xlsx"):
        out = assess(tables_of(read_book(samples / name)), tasks=("salary",)).sheets.get("税收返还")
        if out is not None:
            assert not ((out["结论"] == "合规") & out["实际返还金额"].isna()).any(), name


# ---------------------------------------------------------------- salary (LY-11, LY-12, SPEC §5.2)
def _pay_tables(cap=None, staff=None):
    targets = (100.0, 200.0, 300.0)
    ind = pd.DataFrame({"zone": ["甲"], "year": [2023.0], "tax": [106.0], "fixed_investment": [212.0],
                        "industrial_output": [318.0]})
    sal = pd.DataFrame({"zone": ["甲"], "year": [2023.0], "headcount": [10], "base_standard": [10.0],
                        "performance_ratio": [0.5], "target_tax": [targets[0]], "target_investment": [targets[1]],
                        "target_output": [targets[2]], "project_reward": [5.0], "cap": [cap]})
    t = {"zones": pd.DataFrame({"zone": ["甲"], "level": ["省级"], "profile": ["liaoyang"]}), "indicators": ind,
         "salary": sal}
    if staff is not None:
        t["staff"] = staff
    return t


def test_a_binding_cap_shrinks_the_pool_that_people_share():
    """LY-12 「薪酬实行总额控制」: 100 + 53 + 5 = 158 capped at 150 → 45 万元 of performance pay, not 53."""
    staff = pd.DataFrame({"name": ["甲", "乙", "丙"], "zone": "甲", "post_coef": [1.0, 1.2, 1.5], "grade": "合格"})
    res = compute_salary(_pay_tables(150.0, staff))
    pool = res.pools.iloc[0]
    assert pool["绩效薪酬"] == pytest.approx(45.0) and pool["薪酬总额"] == pytest.approx(150.0)
    assert "53.00" in pool["说明"] and "45.00" in pool["说明"] and pool["约束"] == "上限"
    assert res.people["绩效薪酬(元)"].sum() == pytest.approx(450000.0, abs=0.001)
    uncapped = compute_salary(_pay_tables(None, staff))
    assert uncapped.pools["绩效薪酬"].iat[0] == pytest.approx(53.0)


def test_a_blank_cap_next_to_filled_ones_is_said_not_silently_uncapped():
    """LY-12 「薪酬实行总额控制」: where the 薪酬 sheet has a 薪酬总额上限 column, a zone whose cell is
    blank is computed without a cap — possibly a forgotten one — so its 说明 says so (SPEC §3.1: a blank
    cell never passes quietly). A sheet without the column says nothing of caps."""
    tables = _pay_tables(150.0)
    tables["salary"] = pd.concat([tables["salary"], tables["salary"].assign(zone="乙", cap=np.nan)], ignore_index=True)
    tables["indicators"] = pd.concat([tables["indicators"], tables["indicators"].assign(zone="乙")], ignore_index=True)
    tables["zones"] = pd.concat([tables["zones"], tables["zones"].assign(zone="乙")], ignore_index=True)
    pools = compute_salary(tables).pools.set_index("开发区名称")
    assert pools.loc["乙", "薪酬总额"] == pytest.approx(158.0)           # computed, as the rules give it
    assert "未填「薪酬总额上限」" in pools.loc["乙", "说明"]
    assert "未填「薪酬总额上限」" not in pools.loc["甲", "说明"]
    without = _pay_tables()
    without["salary"] = without["salary"].drop(columns="cap")
    assert "上限" not in compute_salary(without).pools["说明"].iat[0]


def test_a_cap_below_base_and_awards_leaves_no_performance_pay_and_says_so():
    pool = compute_salary(_pay_tables(100.0)).pools.iloc[0]
    assert pool["绩效薪酬"] == 0.0 and pool["薪酬总额"] == pytest.approx(105.0)
    assert "上限低于基础薪酬与项目奖励之和" in pool["说明"]


def test_a_concurrent_city_leader_takes_no_share(make_book):
    """LY-11 「除由市领导或地方领导班子成员兼任的」: listed with 0 and the reason (header 兼任, an alias)."""
    path = make_book({
        "开发区": [["开发区名称", "级别", "政策口径"], ["辽阳经济技术开发区", "国家级", "liaoyang"]],
        "指标": [["开发区名称", "年度", "税收收入(万元)", "固定资产投资(万元)", "规上工业总产值(万元)"],
                 ["辽阳经济技术开发区", 2023, 100, 200, 300]],
        "薪酬": [["开发区名称", "年度", "核定人数", "基础薪酬标准(万元)", "绩效薪酬系数", "税收目标(万元)",
                  "固定资产投资目标(万元)", "规上工业总产值目标(万元)", "项目奖励(万元)"],
                 ["辽阳经济技术开发区", 2023, 10, 10, 0.5, 100, 200, 300, 0]],
        "人员": [["姓名", "开发区名称", "岗位", "岗位系数", "考核等次", "兼任"],
                 ["王市长", "辽阳经济技术开发区", "党工委书记", 3.5, "优秀", "是"],
                 ["李一", "辽阳经济技术开发区", "科员", 1.0, "合格", "否"],
                 ["张二", "辽阳经济技术开发区", "科员", 1.0, "合格", None]]})
    book = read_book(path)
    people = assess(tables_of(book), tasks=("salary",)).sheets["薪酬明细"].set_index("姓名")
    assert people.loc["王市长", "绩效薪酬(元)"] == 0.0 and "兼任" in people.loc["王市长", "说明"]
    assert "LY-11" in people.loc["王市长", "说明"]
    assert people.loc["李一", "绩效薪酬(元)"] == people.loc["张二", "绩效薪酬(元)"] == pytest.approx(250000.0)


def test_an_unknown_grade_coefficient_is_said_not_assumed_silently():
    from xltools.profiles import apply_overrides, load_profile
    # the general profile states no salary formula (a region's own numbers): a profile that ties the
    # pool to last year's 等次 is one with grade coefficients, here Liaoyang's with QD-43-style ones
    prof = apply_overrides(load_profile("liaoyang"), {"LY-13.grade_multipliers": {"优秀": 1.2, "合格": 1.0}})
    t = _pay_tables()
    t["zones"] = t["zones"].drop(columns="profile")
    pool = compute_salary(t, prof).pools.iloc[0]
    assert pool["等次系数"] == 1.0 and "等次系数按 1 计" in pool["说明"]
    assert "推断口径" in compute_salary(t, prof).notes["薪酬挂钩办法"]


# ---------------------------------------------------------------- ranking guard rails (SPEC §3.1, §5.4)
def _zones(levels, profile="default", region=None):
    names = [f"区{i}" for i in range(len(levels))]
    z = pd.DataFrame({"zone": names, "level": list(levels), "profile": profile})
    if region:
        z["region"] = region
    return z


def _indicators(names, tax, land=100.0, year=YEAR):
    return pd.DataFrame({"zone": list(names), "year": float(year), "tax": np.asarray(tax, dtype=float),
                         "land_area": land})


SYSTEM = pd.DataFrame({"indicator": ["亩均税收"], "direction": ["正向"], "weight": [1.0]})


def test_a_zone_missing_from_the_zone_sheet_is_listed_as_data_missing_and_not_ranked():
    zones = _zones(["国家级", "国家级"])
    ind = _indicators(["区0", "区1", "外来区"], [10, 20, 30])
    r = rank_zones({"zones": zones, "indicators": ind, "indicator_system": SYSTEM}, "default").ranking
    row = r.set_index("开发区名称").loc["外来区"]
    assert row["等次"] == "数据缺失" and np.isnan(row["总排名"]) and np.isnan(row["综合得分"])
    assert "「开发区」表中没有该开发区" in row["说明"]
    assert r.set_index("开发区名称").loc["区1", "总排名"] == 1       # normalised without the outsider


def test_a_workbook_with_only_indicators_ranks_every_row():
    """The enterprise 亩均 evaluation: a 指标 sheet alone, no 开发区 sheet."""
    ind = _indicators([f"企业{i}" for i in range(5)], [10, 20, 30, 40, 50])
    r = rank_zones({"indicators": ind, "indicator_system": SYSTEM}, "default", RankOptions(by=[])).ranking
    assert r["总排名"].notna().all() and sorted(r["总排名"]) == [1, 2, 3, 4, 5]


def test_a_one_member_group_is_marked_and_not_graded_by_shares():
    zones = _zones(["国家级", "国家级", "国家级", "省级"])
    r = rank_zones({"zones": zones, "indicators": _indicators(zones["zone"], [10, 20, 30, 5]), "indicator_system": SYSTEM},
                   "default", RankOptions(by=["级别"])).ranking.set_index("开发区名称")
    assert "组内仅 1 个开发区" in r.loc["区3", "说明"] and r.loc["区3", "组内排名"] == 1
    assert r.loc["区3", "综合得分"] == 0.0 and r.loc["区3", "总排名"] == 4      # not 100 for being alone
    assert pd.isna(r.loc["区3", "等次"])


def test_a_provincial_zone_is_not_ranked_above_better_national_ones():
    """Issue 15: 崂山科技园区 (省级, 91.95) was 总排名 1 above every 国家级 zone (best 55.97)."""
    zones = _zones(["国家级", "国家级", "国家级", "省级", "省级"])
    ind = _indicators(zones["zone"], [100, 90, 80, 50, 10])
    r = rank_zones({"zones": zones, "indicators": ind, "indicator_system": SYSTEM}, "default",
                   RankOptions(by=["级别"])).ranking.set_index("开发区名称")
    assert r.loc["区3", "组内排名"] == 1 and r.loc["区3", "总排名"] == 4
    assert r.loc["区0", "总排名"] == 1 and r.loc["区3", "综合得分"] < r.loc["区2", "综合得分"]


@pytest.mark.parametrize("normalize", ["minmax", "efficacy", "max", "vector"])
def test_every_composite_stays_on_the_hundred_point_scale(samples, normalize):
    t = tables_of(read_book(samples / "青岛开发区.xlsx"))
    r = rank_zones(t, None, RankOptions(normalize=normalize)).ranking
    assert r["综合得分"].max() <= 100.0 + 1e-9 and r["综合得分"].min() >= 0.0
    if normalize == "efficacy":
        assert r["综合得分"].min() >= 60.0 - 1e-9


def test_efficacy_beyond_the_satisfactory_value_earns_full_marks_only():
    system = SYSTEM.assign(satisfactory=40.0, impermissible=0.0)
    zones = _zones(["国家级"] * 3)
    r = rank_zones({"zones": zones, "indicators": _indicators(zones["zone"], [1000, 2000, 8000]), "indicator_system": system},
                   "default", RankOptions(normalize="efficacy", by=[])).ranking
    assert r["综合得分"].max() == pytest.approx(100.0)


def test_a_zone_with_no_indicator_data_gets_no_grade_and_no_sanction():
    zones = _zones(["省级"] * 4, profile="ningxia")
    ind = _indicators(zones["zone"], [np.nan, 20, 30, 40])
    a = assess({"zones": zones, "indicators": ind, "indicator_system": SYSTEM}, tasks=("rank",))
    r = a.sheets["考核排名"].set_index("开发区名称")
    assert r.loc["区0", "等次"] == "数据缺失" and np.isnan(r.loc["区0", "总排名"])
    yellow = a.sheets["奖惩建议"]
    assert set(yellow.loc[yellow["规则编号"] == "NX-28", "开发区名称"]) == {"区1"}


@pytest.mark.slow
def test_method_names_in_the_calculation_notes_are_chinese(tmp_path):
    proc = cli("demo", tmp_path / "演示")
    assert proc.returncode == 0, proc.stderr
    out = sheets_of(tmp_path / "演示" / "演示结果.xlsx")
    notes = " ".join(out["计算说明"]["内容"].astype(str))
    for internal in ("wsum", "minmax", "entropy", "topsis", "['floor'", "ANCHORS", "efficacy"):
        assert internal not in notes, internal
    for name in ("加权求和", "极差标准化", "固定权重", "推断口径"):
        assert name in notes
    # 奖惩建议: every punitive suggestion says it needs review and what triggered it
    s = out["奖惩建议"]
    punitive = s[s["类别"] == "约束"]
    assert punitive["建议措施"].str.endswith("（建议，须经复核）").all()
    assert punitive["触发条件"].str.contains(r"20\d\d年").all()
    # QD-44 never fires in the demo: its scores are relative (min–max), and no zone is vetoed
    assert not (s["规则编号"] == "QD-44").any() or (s.loc[s["规则编号"] == "QD-44", "开发区名称"] == "（无）").all()


# ---------------------------------------------------------------- failure is loud (SPEC §3.1)
@pytest.mark.slow
@pytest.mark.parametrize("flags, reason", [
    (["--weights", "ahp"], "判断矩阵"),
    (["--by", "不存在的列"], "分组依据「不存在的列」不可用"),
    (["--year", "2030"], "没有2030年的数据"),
])
def test_an_explicit_request_that_cannot_run_exits_2_and_writes_no_ranking(samples, tmp_path, flags, reason):
    out = tmp_path / "结果.xlsx"
    proc = cli("rank", samples / "青岛开发区.xlsx", "-o", out, *flags)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert reason in re.sub(r"\s+", "", proc.stdout + proc.stderr)
    if out.exists():
        written = sheets_of(out)
        assert "考核排名" not in written and "奖惩建议" not in written
        assert reason in re.sub(r"\s+", "", "".join(written["计算说明"]["内容"].astype(str)))


@pytest.mark.slow
def test_a_param_sheet_request_that_cannot_run_exits_2(make_book, tmp_path):
    path = make_book({
        "开发区": [["开发区名称", "级别"], ["甲", "国家级"], ["乙", "国家级"]],
        "指标": [["开发区名称", "年度", "税收收入(万元)", "用地面积(亩)"], ["甲", 2023, 10, 1], ["乙", 2023, 20, 1]],
        "参数": [["项目", "值"], ["赋权方法", "ahp"]]})
    proc = cli("run", path, "-o", tmp_path / "结果.xlsx")
    assert proc.returncode == 2 and "判断矩阵" in re.sub(r"\s+", "", proc.stdout + proc.stderr)


@pytest.mark.slow
def test_a_default_that_does_not_apply_is_skipped_with_a_note(make_book, tmp_path):
    path = make_book({"开发区": [["开发区名称", "级别"], ["甲", "国家级"]],
                      "职数编制": [["开发区名称", "正职职数", "副职职数"], ["甲", 1, 4]]})
    proc = cli("run", path, "-o", tmp_path / "结果.xlsx")
    assert proc.returncode in (0, 1) and "考核排名（缺少「指标」表）" in re.sub(r"\s+", "", proc.stdout + proc.stderr)


@pytest.mark.slow
def test_rank_asked_for_on_a_workbook_without_indicators_exits_2(make_book, tmp_path):
    """SPEC §3.1: 「a computation the user asked for explicitly … that cannot run exits 2 and writes
    nothing misleading」 — `xltools rank` on a workbook with no 指标 sheet."""
    path = make_book({"开发区": [["开发区名录"], ["开发区名称", "级别", "类型"], ["甲开发区", "国家级", "经开区"]],
                      "职数编制": [["职数编制表"], ["单位：人"], ["开发区名称", "正职职数", "副职职数"], ["甲开发区", 1, 4]]})
    out = tmp_path / "结果.xlsx"
    proc = cli("rank", path, "-o", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "缺少「指标」表" in re.sub(r"\s+", "", proc.stdout + proc.stderr)
    if out.exists():
        assert "考核排名" not in sheets_of(out)


# ---------------------------------------------------------------- sanctions (SPEC §5.5)
def _wuxi_tables():
    levels = ["国家级", "国家级", "国家级", "省级", "省级", "省级"]
    zones = _zones(levels, profile="wuxi", region="无锡")
    ind = _indicators(zones["zone"], [60, 50, 10, 55, 40, 20])
    return {"zones": zones, "indicators": ind, "indicator_system": SYSTEM}


def test_wuxi_bottom_two_are_counted_among_all_the_zones_assessed_together():
    """WX-24 「排名居于区域最后2位」: six zones of one city (two 级别) give two sanctions, not four."""
    a = assess(_wuxi_tables(), tasks=("rank",))
    r = a.sheets["考核排名"].set_index("开发区名称")
    s = a.sheets["奖惩建议"]
    hit = s[s["规则编号"] == "WX-24"]
    assert set(hit["开发区名称"]) == {"区2", "区5"}                       # 总排名 6 and 5
    assert set(r.loc[list(hit["开发区名称"]), "总排名"]) == {5.0, 6.0}
    assert "区4" not in set(hit["开发区名称"])                              # second of 省级, 4th overall
    assert hit["触发条件"].str.contains("全部参评开发区：2023年第").all()
    assert hit["建议措施"].str.endswith("（建议，须经复核）").all()


def test_wuxi_region_may_be_a_column_when_the_profile_says_so():
    from xltools.engine.sanctions import evaluate, panel
    from xltools.profiles import load_profile

    t = _wuxi_tables()
    t["zones"]["county"] = ["新吴区", "新吴区", "新吴区", "锡山区", "锡山区", "锡山区"]
    ranking = rank_zones(t, "wuxi").ranking
    rule = {**next(r for r in load_profile("wuxi").rules if r["id"] == "WX-24"), "scope": "所属地区", "n": 1}
    from xltools.engine.quota import zone_facts
    out = evaluate(panel(None, ranking), [rule], YEAR, zone_columns=zone_facts(t))
    assert set(out["开发区名称"]) == {"区2", "区5"}                        # last of each 所属地区
    assert out["触发条件"].str.startswith("所属地区「").all()


def _qingdao(n=12, growth=0.2, veto_zone=None, fails_before=0):
    names = [f"区{i:02d}" for i in range(n)]
    zones = pd.DataFrame({"zone": names, "level": "省级", "profile": "qingdao"})
    base = np.linspace(100.0, 300.0, n)
    frames = [pd.DataFrame({"zone": names, "year": float(y), "tax": base * f, "land_area": 100.0,
                            "value_added": base * 2 * f, "energy": 50.0})
              for y, f in ((YEAR - 1, 1.0), (YEAR, 1.0 + growth))]
    ind = pd.concat(frames, ignore_index=True)
    if veto_zone:
        ind["veto"] = np.where((ind["zone"] == veto_zone) & (ind["year"] == YEAR), "是", None)
    t = {"zones": zones, "indicators": ind}
    if fails_before:
        years = [float(YEAR - k) for k in range(fails_before, 0, -1)]
        t["history"] = pd.DataFrame({"zone": names[0], "year": years, "group": "省级", "group_rank": float(n),
                                     "grade": "不合格"})
    return t


def test_twelve_zones_that_all_grew_get_no_fail_and_no_custody():
    """QD-44 「考核不合格的实行被托管、降级,直至撤并退出」: the last of 12 zones that all grew 20% did
    not fail; even with two 不合格 years recorded before, nothing is suggested this year."""
    a = assess(_qingdao(fails_before=2), tasks=("rank",))
    r = a.sheets["考核排名"]
    assert "不合格" not in set(r["等次"].dropna())
    s = a.sheets["奖惩建议"]
    assert s["开发区名称"].tolist() == ["（无）"] and "本年度无触发条件" in s["触发条件"].iat[0]
    assert "相对评价" in a.notes["奖惩·绝对标准"]


def test_a_veto_is_an_absolute_fail_and_escalates_with_recorded_fails():
    a = assess(_qingdao(veto_zone="区00", fails_before=2), tasks=("rank",))
    s = a.sheets["奖惩建议"].set_index("开发区名称")
    row = s.loc["区00"]
    assert row["建议措施"] == "撤并退出（建议，须经复核）" and row["规则编号"] == "QD-44"
    assert "2021年等次「不合格」（历年排名）" in row["触发条件"] and "2023年一票否决" in row["触发条件"]
    first = assess(_qingdao(veto_zone="区05"), tasks=("rank",)).sheets["奖惩建议"].set_index("开发区名称")
    assert first.loc["区05", "建议措施"] == "托管（建议，须经复核）"


def test_inferred_numbers_are_marked_in_the_notes():
    a = assess(_qingdao(), tasks=("rank",))
    assert "QD-41：考核指标、指标权重、等次划分" in a.notes["排名·推断口径"]
    assert "不合格分数线、触发年数" in a.notes["奖惩·推断口径"]
    assert "等次划分为推断口径" in a.notes["排名·等次"]


# ---------------------------------------------------------------- movement and empty suggestions (issue 20)
def test_rank_change_from_the_previous_years_group_rank_when_no_overall_rank_was_kept():
    zones = _zones(["国家级"] * 3)
    t = {"zones": zones, "indicators": _indicators(zones["zone"], [10, 20, 30]), "indicator_system": SYSTEM,
         "history": pd.DataFrame({"zone": ["区0", "区1", "区2"], "year": float(YEAR - 1), "group": "国家级",
                                  "group_rank": [1.0, 3.0, 2.0]})}
    r = rank_zones(t, "default", RankOptions(by=["级别"])).ranking.set_index("开发区名称")
    assert r["排名变化"].to_dict() == {"区0": 1 - 3, "区1": 3 - 2, "区2": 2 - 1}


def test_an_empty_suggestion_sheet_says_why():
    a = assess(_wuxi_tables() | {"zones": _zones(["国家级"] * 6, profile="qingdao")}, tasks=("rank",))
    s = a.sheets["奖惩建议"]
    assert len(s) == 1 and s["触发条件"].iat[0].startswith("本年度无触发条件") and s["建议措施"].iat[0] == "无"


def test_a_concurrent_leader_is_listed_but_takes_no_place_in_the_staff_ranking():
    """LY-11 「除由市领导或地方领导班子成员兼任的」: filtered out before ranking, not ranked first."""
    from xltools.engine.staff import rank_staff
    from xltools.profiles import load_profile

    staff = pd.DataFrame({"name": ["书记", "甲", "乙"], "score_test": [99.0, 80.0, 70.0], "score_speech": [99.0, 80.0, 70.0],
                          "score_inspection": [99.0, 80.0, 70.0], "concurrent": ["是", "否", None]})
    out = rank_staff(staff, load_profile("leiyang").rule("LE-28")).set_index("姓名")
    assert np.isnan(out.loc["书记", "排名"]) and "LY-11" in out.loc["书记", "结果"]
    assert out.loc["甲", "排名"] == 1 and out.loc["乙", "排名"] == 2


def test_a_decline_of_the_key_indicators_is_an_absolute_fail_when_the_profile_names_them():
    """QD-44 with `decline = ["税收收入"]`: the zone whose tax fell fails whatever the others did."""
    from xltools.engine.sanctions import evaluate, panel
    from xltools.engine import _changes
    from xltools.profiles import load_profile

    t = _qingdao(n=4)
    ind = t["indicators"]
    ind.loc[(ind["zone"] == "区03") & (ind["year"] == YEAR), "tax"] = 250.0      # 300 → 250
    rules = [{**r, "decline": ["税收收入"]} for r in load_profile("qingdao").rules if r["id"] == "QD-44"]
    ranking = rank_zones(t, "qingdao").ranking
    out = evaluate(panel(None, ranking), rules, YEAR, changes=_changes(ind, rules, YEAR)).set_index("开发区名称")
    assert list(out.index) == ["区03"] and out.loc["区03", "建议措施"] == "托管（建议，须经复核）"
    assert "税收收入较上年下降（300.00 → 250.00）" in out.loc["区03", "触发条件"]


def test_a_zone_with_a_blank_level_is_ranked_overall_and_says_why_its_group_is_unknown():
    zones = _zones(["国家级", "国家级", None])
    r = rank_zones({"zones": zones, "indicators": _indicators(zones["zone"], [10, 20, 30]), "indicator_system": SYSTEM},
                   "default", RankOptions(by=["级别"])).ranking.set_index("开发区名称")
    assert r.loc["区2", "总排名"] == 1 and r.loc["区2", "分组"] == "未分组"
    assert "级别未填" in r.loc["区2", "说明"]


def test_land_income_without_the_amount_returned_is_said():
    """QD-37 「土地出让收益原则上全额返还开发区」: a blank 土地收益返还 is not a silent pass."""
    zones = pd.DataFrame({"zone": ["甲"], "level": "国家级", "profile": "qingdao"})
    ind = pd.DataFrame({"zone": ["甲", "甲"], "year": [2019.0, 2021.0], "tax": [1.0, 2.0], "land_income": [np.nan, 50.0]})
    row = compute_salary({"zones": zones, "indicators": ind}).returns.iloc[-1]
    assert "未填报土地收益返还" in row["说明"]


# ---------------------------------------------------------------- a 开发区 sheet emptied by duplicates
def _official(zones, rows):
    """A workbook as an official sends it: title row, unit row, Chinese headers."""
    return {"开发区": [["开发区名录"], ["开发区名称", "级别", "类型"], *zones],
            "指标": [["2023年度开发区考核指标表"], ["单位：万元、亩"], ["开发区名称", "年度", "税收收入", "用地面积"], *rows]}


@pytest.mark.slow
def test_a_zone_missing_from_a_zone_sheet_that_duplicates_took_over_is_not_ranked(make_book, tmp_path):
    """SPEC §3.1: 「where a 开发区 sheet exists, a zone missing from it is listed with 数据缺失 and not
    ranked」 — also when every row of that sheet repeats another file's and is computed there."""
    main = make_book(_official([["甲开发区", "国家级", "经开区"], ["乙开发区", "国家级", "经开区"]],
                               [["甲开发区", 2023, 100, 10], ["乙开发区", 2023, 200, 10]]), name="主表.xlsx")
    other = make_book(_official([["甲开发区", "国家级", "经开区"]],
                                [["甲开发区", 2023, 100, 10], ["丙园区", 2023, 900, 10]]), name="样例.xlsx")
    out = tmp_path / "结果.xlsx"
    proc = cli("run", main, other, "-o", out, "--prefer", "主表.xlsx")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    written = sheets_of(out)
    rank = written["考核排名"]
    row = rank[rank["开发区名称"] == "丙园区"].iloc[0]
    assert pd.isna(row["综合得分"]) and pd.isna(row["总排名"])
    assert "「开发区」表中没有该开发区" in row["说明"]
    checks = written["数据校验"]
    hit = checks[checks["问题"].str.contains("「丙园区」不在「开发区」表中", regex=False)]
    assert (hit["文件"] == "样例.xlsx").any() and (hit["级别"] == "警告").all()


# ---------------------------------------------------------------- 核定人数 (SPEC §5.2)
def _salary_book(make_book, headcount, posts=True):
    sheets = {
        "开发区": [["开发区名录"], ["开发区名称", "级别", "政策口径"], ["辽阳经济技术开发区", "国家级", "liaoyang"]],
        "指标": [["2023年度开发区考核指标表"], ["单位：万元"], ["开发区名称", "年度", "税收收入", "固定资产投资", "规上工业总产值"],
                 ["辽阳经济技术开发区", 2023, 100, 200, 300]],
        "薪酬": [["2023年度薪酬核定表"], ["单位：万元、人"], ["开发区名称", "年度", "核定人数", "基础薪酬标准", "绩效薪酬系数",
                                                   "税收目标", "固定资产投资目标", "规上工业总产值目标", "项目奖励"],
                 ["辽阳经济技术开发区", 2023, headcount, 10, 0.5, 100, 200, 300, 0]]}
    if posts:
        sheets["职数编制"] = [["职数编制表"], ["单位：人"], ["开发区名称", "正职职数", "副职职数", "核定编制", "实有人数"],
                          ["辽阳经济技术开发区", 1, 2, 14, 12]]
    return make_book(sheets)


def test_a_blank_headcount_uses_the_actual_staff_and_says_so(make_book):
    """SPEC §5.2 「基础薪酬 = 核定人数 × 基础薪酬标准」: 「无」 核定人数 replaced by 实有人数 must be said."""
    done = assess(tables_of(read_book(_salary_book(make_book, "无"))), tasks=("salary",))
    out = done.sheets["薪酬测算"].iloc[0]
    assert "核定人数未填，按「职数编制」实有人数 12 人计" in out["说明"]
    said = [p for p in done.problems if p["工作表"] == "薪酬" and "核定人数未填" in p["问题"]]
    assert len(said) == 1 and said[0]["级别"] == "警告" and "辽阳经济技术开发区" in said[0]["问题"]
    base = [c for c in out.index if c.startswith("基础薪酬") and "标准" not in c][0]
    assert out[base] == pytest.approx(12 * 10)


def test_no_headcount_at_all_is_data_missing(make_book):
    out = assess(tables_of(read_book(_salary_book(make_book, None, posts=False))),
                 tasks=("salary",)).sheets["薪酬测算"].iloc[0]
    assert out["结论" if "结论" in out.index else "说明"] is not None and "缺少核定人数" in out["说明"]
    base = [c for c in out.index if c.startswith("基础薪酬") and "标准" not in c][0]
    assert pd.isna(out[base])


# ---------------------------------------------------------------- assumptions said in 数据校验
@pytest.mark.slow
def test_a_blank_tax_filled_with_the_group_mean_has_a_warning_row(make_book, tmp_path):
    """SPEC §3.1 「never silently wrong」: a blank 税收收入 filled in for the ranking is a 警告 in 数据校验
    naming the zone, the indicator and the policy, besides the 说明 of 考核排名."""
    book = _official([["甲开发区", "国家级", "经开区"], ["乙开发区", "国家级", "经开区"], ["丙开发区", "国家级", "经开区"]],
                     [["甲开发区", 2023, 100, 10, 50], ["乙开发区", 2023, 300, 10, 70], ["丙开发区", 2023, None, 10, 60]])
    book["指标"][2].append("工业增加值")
    path = make_book(book)
    out = tmp_path / "结果.xlsx"
    assert cli("run", path, "-o", out).returncode in (0, 1)
    written = sheets_of(out)
    row = written["考核排名"].set_index("开发区名称").loc["丙开发区"]
    assert "按组内平均值补齐" in row["说明"]
    checks = written["数据校验"]
    hit = checks[checks["问题"].str.contains("「丙开发区」", regex=False) & checks["问题"].str.contains("按组内平均值补齐")]
    assert len(hit) == 1 and hit["级别"].iat[0] == "警告" and hit["工作表"].iat[0] == "指标"
    assert "亩均税收" in hit["问题"].iat[0] and hit["文件"].iat[0] == "book.xlsx"
