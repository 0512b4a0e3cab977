"""One policy resolver (SPEC §4, issue 15): which profile judges which zone, and why.

The precedence under test: the zone's own 政策口径 cell > its region's built-in profile >
the command line > the 「参数」 sheet > the general profile (通用口径). Regions are matched as
officials write them, through administrative division codes.
"""

from __future__ import annotations

import pandas as pd
import pytest

from xltools.engine import assess
from xltools.engine.quota import check_quota
from xltools.engine.salary import compute_salary
from xltools.profiles import ProfileError, builtin_ids, load_profile, rule_params_text
from xltools.profiles.regions import locate_one
from xltools.profiles.resolve import BY_CLI, BY_COLUMN, BY_DEFAULT, BY_PARAMS, BY_REGION, region_profiles, resolve
from xltools.engine.quota import zone_facts

FRONT = {"dept": "招商局", "category": "经济发展类", "frontline": "是", "nature": "内设机构"}


def book(zones: list[dict], depts: dict[str, int] | None = None, params: dict[str, str] | None = None) -> dict:
    t = {"zones": pd.DataFrame(zones)}
    if depts:
        t["departments"] = pd.DataFrame([{**FRONT, "zone": z, "dept": f"机构{i}"} for z, n in depts.items()
                                         for i in range(n)])
    if params:
        t["params"] = pd.DataFrame({"item": list(params), "value": list(params.values())})
    return t


# ---------------------------------------------------------------- regions as officials write them
@pytest.mark.parametrize("written, profile", [
    ("青岛市黄岛区", "qingdao"), ("青岛市", "qingdao"), ("青岛西海岸新区", "qingdao"), ("黄岛区", "qingdao"),
    ("宁夏回族自治区银川市", "ningxia"), ("石嘴山市", "ningxia"), ("宁东", "ningxia"),
    ("辽阳市", "liaoyang"), ("无锡市新吴区", "wuxi"), ("耒阳市", "leiyang"), ("湖南省衡阳市耒阳市", "leiyang"),
])
def test_region_written_by_an_official_selects_its_profile(written, profile):
    """SPEC §4: 「"青岛市黄岛区", "青岛西海岸新区", "宁夏回族自治区银川市", "石嘴山市", "辽阳市",
    "无锡市新吴区", "耒阳市" all select their profile」 — on today's main they select nothing."""
    assert region_profiles(pd.Series([written]))["profile"].iat[0] == profile


@pytest.mark.parametrize("written", ["衡阳市", "山东省", "烟台市", "北京市朝阳区", "江苏省南京市"])
def test_a_place_outside_every_profile_region_selects_none(written):
    """衡阳市 contains 耒阳市 but is not it (prefix 4304 ⊅ 430481); 山东省 is wider than 青岛."""
    assert region_profiles(pd.Series([written]))["profile"].iat[0] is None


def test_same_name_and_contradicting_names_locate_nothing():
    """朝阳区 is in Beijing and in Changchun; 「青岛市新吴区」 names two cities: neither is guessed."""
    assert locate_one("朝阳区", {}).problem == "同名" and locate_one("朝阳区", {}).code is None
    assert locate_one("青岛市新吴区", {}).problem == "不一致"
    assert locate_one("北京市朝阳区", {}).code == "110105"        # the city settles it
    assert locate_one("即墨区", {}).code == "370215"              # current codes (即墨 became a 区 in 2017)


def test_national_zone_in_huangdao_is_judged_by_qd09():
    """「明确国家级开发区内设机构最多为8个」 (QD-09): a 国家级 zone in 「青岛市黄岛区」 with 9
    departments is 不合规 — on today's main it fell to default silently and was not judged."""
    t = book([{"zone": "甲", "level": "国家级", "county": "青岛市黄岛区"}], {"甲": 9})
    d = check_quota(t).details.set_index("规则编号")
    assert d.loc["QD-09", "结论"] == "不合规" and d.loc["QD-09", "政策口径"] == "青岛口径"
    at_cap = check_quota(book([{"zone": "甲", "level": "国家级", "county": "青岛市黄岛区"}], {"甲": 8})).details
    assert at_cap.set_index("规则编号").loc["QD-09", "结论"] == "合规"


# ---------------------------------------------------------------- precedence
def test_precedence_column_region_cli_params_default():
    zones = [{"zone": "列", "level": "省级", "county": "黄岛区", "profile": "宁夏"},   # column beats region
             {"zone": "区", "level": "省级", "region": "宁夏", "county": "银川市"},     # region beats cli/参数
             {"zone": "无", "level": "省级", "county": "烟台市"}]                      # no built-in region
    facts = zone_facts(book(zones))
    res = resolve(facts, explicit="qingdao", param="wuxi")
    assert res.profile_of.to_dict() == {"列": "ningxia", "区": "ningxia", "无": "qingdao"}
    assert res.why["列"] == BY_COLUMN and res.why["区"].startswith(BY_REGION) and res.why["无"] == BY_CLI
    res = resolve(facts, param="无锡")
    assert res.profile_of["无"] == "wuxi" and res.why["无"] == BY_PARAMS
    res = resolve(facts)
    assert res.profile_of["无"] == "default" and res.why["无"] == BY_DEFAULT


def test_explicit_profile_never_judges_a_zone_of_another_region():
    """`--profile qingdao` judges only zones whose region matches no built-in one."""
    t = book([{"zone": "宁", "level": "国家级", "region": "宁夏回族自治区", "county": "银川市"},
              {"zone": "外", "level": "国家级", "county": "烟台市"}], {"宁": 9, "外": 9})
    d = check_quota(t, "qingdao").details
    assert not d.loc[d["开发区名称"] == "宁", "规则编号"].str.startswith("QD-").any()
    assert (d.loc[d["开发区名称"] == "外", "规则编号"] == "QD-09").any()


def test_unknown_profile_name_is_loud():
    with pytest.raises(ProfileError, match="找不到政策口径「上海」"):
        resolve(zone_facts(book([{"zone": "甲", "level": "省级", "profile": "上海"}])))


def test_zone_matching_no_region_gets_a_warning_naming_the_profile():
    t = book([{"zone": "外", "level": "省级", "county": "烟台市"}, {"zone": "空", "level": "省级"},
              {"zone": "青", "level": "省级", "county": "青岛市"}])
    out = assess(t, tasks=("quota",))
    msgs = [p["问题"] for p in out.problems if p["级别"] == "警告"]
    assert any("「外」" in m and "烟台市" in m and "通用口径" in m for m in msgs)
    assert any("「空」" in m and "未填写" in m for m in msgs)
    assert not any("「青」" in m for m in msgs)


def test_calc_notes_say_per_group_which_profile_and_why():
    t = book([{"zone": "甲", "level": "省级", "county": "青岛市黄岛区"},
              {"zone": "乙", "level": "省级", "county": "石嘴山市"},
              {"zone": "丙", "level": "省级", "profile": "liaoyang"},
              {"zone": "丁", "level": "省级"}], params={"政策口径": "wuxi"})
    note = assess(t, tasks=("quota",)).notes["政策口径"]
    assert "青岛口径：1 个开发区（地区匹配「青岛市黄岛区」）" in note
    assert "宁夏口径：1 个开发区（地区匹配「石嘴山市」）" in note
    assert "辽阳口径：1 个开发区（政策口径列）" in note
    assert "无锡口径：1 个开发区（「参数」表指定）" in note
    assert "默认" in assess(book([{"zone": "丁", "level": "省级"}]), tasks=("quota",)).notes["政策口径"]
    assert "命令行" in assess(book([{"zone": "丁", "level": "省级"}]), profile="qingdao",
                            tasks=("quota",)).notes["政策口径"]


# ---------------------------------------------------------------- nothing leaks through default
def test_ningxia_zone_gets_no_qingdao_rows_and_no_qingdao_tax_floor():
    """On today's main a Ningxia zone got QD-12/16/19/25 rows and Qingdao's 60% floor
    (「default（ningxia 无此规则）」 → 不合规)."""
    zones = [{"zone": "宁", "level": "自治区级", "county": "宁夏回族自治区银川市", "admin_rank": "正处级"}]
    t = book(zones, {"宁": 5})
    t["posts"] = pd.DataFrame({"zone": ["宁"], "approved_staff": [10], "actual_staff": [12]})
    d = check_quota(t).details
    assert set(d["规则编号"]) and all(i.startswith("NX-") for i in d["规则编号"])
    t["indicators"] = pd.DataFrame({"zone": ["宁", "宁"], "year": [2022.0, 2023.0], "tax": [100.0, 150.0],
                                    "actual_return": [0.0, 1.0]})
    returns = compute_salary(t).returns
    assert returns.empty or not (returns["结论"] == "不合规").any()


def test_general_profile_holds_no_regions_numbers():
    """default ⊂ rules general by nature: none of its rules is a region's own (QD-, NX-, LY-, WX-, LE-)."""
    general = load_profile("default")
    assert general.rules and not any(r["id"][:2] in ("QD", "NX", "LY", "WX", "LE") for r in general.rules)
    assert not general.of_kind("salary_pool", "tax_return", "staff_cutoffs", "bottom_streak")


def test_salary_follows_no_other_regions_formula():
    """Zones everywhere got Liaoyang's salary formula on today's main."""
    sal = pd.DataFrame({"zone": ["宁"], "year": [2023.0], "headcount": [10], "base_standard": [10.0],
                        "performance_ratio": [0.5], "target_tax": [100.0]})
    t = book([{"zone": "宁", "level": "省级", "region": "宁夏"}])
    t.update(salary=sal, indicators=pd.DataFrame({"zone": ["宁"], "year": [2023.0], "tax": [100.0]}))
    pools = compute_salary(t).pools
    assert pools["薪酬总额"].isna().all() and pools["政策口径"].iat[0] == "宁夏口径"
    assert "未规定" in pools["说明"].iat[0]


# ---------------------------------------------------------------- overrides reach every kind
def _ranking_book(params: dict[str, str]) -> dict:
    zones = [{"zone": z, "level": "国家级", "region": "青岛"} for z in "甲乙丙丁"]
    ind = pd.DataFrame({"zone": list("甲乙丙丁"), "year": 2023.0, "tax": [10.0, 20.0, 30.0, 40.0],
                        "land_area": [10.0, 10.0, 10.0, 10.0]})
    t = book(zones, params=params)
    t["indicators"] = ind
    return t


def test_override_reaches_the_ranking_method():
    """`QD-41.method = topsis` in 参数 was listed under 参数覆盖 yet the ranking stayed wsum."""
    out = assess(_ranking_book({"QD-41.method": "topsis"}), tasks=("rank",))
    assert "TOPSIS" in out.notes["排名·评价方法"] and "贴近度" in out.notes["排名·综合得分"]
    plain = assess(_ranking_book({}), tasks=("rank",))
    assert plain.notes["排名·评价方法"].startswith("加权求和（")


def test_override_reaches_grades_and_sanctions():
    res = resolve(zone_facts(_ranking_book({})), overrides={"QD-41.missing": "zero", "QD-44.grades": ["合格"]})
    assert res.rule("qingdao", "ranking")["missing"] == "zero"
    assert all(r["grades"] == ["合格"] for r in res.rules("qingdao", "bottom_streak"))   # every step of the ladder
    assert "QD-44.grades" not in [k for k in res.unused_overrides]


def test_override_of_a_rule_no_profile_has_is_reported():
    out = assess(book([{"zone": "宁", "level": "省级", "region": "宁夏"}], params={"QD-09.max": "9"}),
                 tasks=("quota",))
    assert "QD-09.max" in out.notes["未使用的参数覆盖"]
    assert any("QD-09.max" in p["问题"] for p in out.problems)


# ---------------------------------------------------------------- Chinese for officials
@pytest.mark.parametrize("name", ["qingdao", "青岛", "青岛口径", "青岛市开发区体制机制改革口径"])
def test_profile_named_as_an_official_names_it(name):
    assert load_profile(name).id == "qingdao"


def test_profile_parameters_read_as_chinese():
    texts = [rule_params_text(r) for pid in builtin_ids() for r in load_profile(pid).rules]
    assert not any(c in t for t in texts for c in "[]{}'") and not any("True" in t or "False" in t for t in texts)
    assert "适用范围 级别 国家级" in rule_params_text(load_profile("qingdao").rule("QD-09"))
    assert "容差带 3/5、4/5（推断口径）" in rule_params_text(load_profile("qingdao").rule("QD-15"))


def test_sources_cite_report_titles_and_keep_the_seed_file_as_id():
    r = load_profile("qingdao").rule("QD-09")
    assert r["source"].startswith("《聚焦关键节点统筹推进开发区体制机制改革创新》（青岛市委编办")
    assert "000_772b24d4fb950dc7.txt" in r["source_id"] and ".txt" not in r["source"]


def test_inferred_parameters_are_declared_and_checked(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('id = "mine"\nname = "自定义"\n[[rules]]\nid = "QD-09"\nkind = "count_range"\n'
                    'field = "departments"\nmax = 6\ninferred = ["maximum"]\ntext = "t"\nsource = "s"\n'
                    'severity = "hard"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="inferred.*maximum"):
        load_profile(path)
    assert load_profile("qingdao").rule("QD-15")["inferred"] == ["band"]


def test_a_files_own_params_choice_stays_below_the_zones_region():
    """Batch: a file's 「参数」 政策口径 applies to its zones as a 参数 choice, not as their own cell."""
    from xltools.intake.consolidate import file_params
    zones = pd.DataFrame({"zone": ["银", "外"], "level": "省级", "county": ["银川市", "烟台市"], "_file": "a.xlsx"})
    params = pd.DataFrame({"item": ["政策口径"], "value": ["qingdao"], "_file": ["a.xlsx"]})
    tables, _ = file_params({"zones": zones, "params": params}, [])
    res = resolve(zone_facts({"zones": tables["zones"].drop(columns="_file")}))
    assert res.profile_of.to_dict() == {"银": "ningxia", "外": "qingdao"}
    assert res.why["外"] == BY_PARAMS


def test_zones_of_two_profiles_are_ranked_apart_not_by_majority():
    """On today's main the majority profile ranked every zone (Ningxia zones graded by QD-41)."""
    zones = [{"zone": z, "level": "国家级", "region": "青岛"} for z in "甲乙丙"] + \
            [{"zone": z, "level": "国家级", "region": "宁夏"} for z in "丁戊"]
    t = book(zones)
    t["indicators"] = pd.DataFrame({"zone": list("甲乙丙丁戊"), "year": 2023.0, "tax": [1.0, 2.0, 3.0, 4.0, 5.0],
                                    "land_area": 1.0})
    out = assess(t, tasks=("rank",))
    assert "青岛口径 3 个开发区" in out.notes["排名·排名范围"] and "宁夏口径 2 个开发区" in out.notes["排名·排名范围"]
    ranks = out.sheets["考核排名"].set_index("开发区名称")["总排名"]
    assert ranks["戊"] == 1 and ranks["丙"] == 1                      # each region's best is its own first


def test_staff_ranking_only_where_the_profile_states_cut_offs():
    """LE-28's 70/130 cut-offs are Leiyang's: staff of a Qingdao zone are not ranked by them."""
    staff = pd.DataFrame({"name": ["甲", "乙"], "zone": ["耒", "青"], "score_test": 80.0, "score_speech": 80.0,
                          "score_inspection": 80.0})
    t = book([{"zone": "耒", "level": "省级", "county": "耒阳市"}, {"zone": "青", "level": "省级", "region": "青岛"}])
    t["staff"] = staff
    out = assess(t, tasks=("rank",))
    assert list(out.sheets["人员排名"]["姓名"]) == ["甲"]
    assert any("青岛口径未规定人员排名办法" in s for s in out.skipped)


def test_no_region_warning_reaches_the_data_check_sheet_with_the_file(make_book):
    from xltools.jobs import run_books
    path = make_book({"开发区": [["开发区名称", "级别", "所属地区"], ["烟台经开区", "国家级", "山东省烟台市"],
                                ["黄岛经开区", "国家级", "青岛市黄岛区"]]}, name="报送.xlsx")
    result = run_books([path], profile="青岛")
    checks = result.sheets["数据校验"]
    row = checks[checks["问题"].str.contains("烟台经开区")]
    assert list(row["文件"]) == ["报送.xlsx"] and list(row["级别"]) == ["警告"]
    assert "山东省烟台市" in row["问题"].iat[0] and "按青岛口径判断（命令行或按钮指定）" in row["问题"].iat[0]
    assert not checks["问题"].str.contains("黄岛经开区").any()
    notes = dict(zip(result.sheets["计算说明"]["项目"], result.sheets["计算说明"]["内容"]))
    assert "青岛口径：1 个开发区（地区匹配「青岛市黄岛区」）" in notes["政策口径"]
    assert "青岛口径：1 个开发区（命令行或按钮指定）" in notes["政策口径"]


def test_batch_warning_names_the_file_of_the_zones(make_book):
    from xltools.batch import run_batch
    a = make_book({"开发区": [["开发区名称", "级别", "所属地区"], ["烟台经开区", "国家级", "烟台市"]]}, name="烟台.xlsx")
    b = make_book({"开发区": [["开发区名称", "级别", "所属地区"], ["黄岛经开区", "国家级", "黄岛区"]]}, name="青岛.xlsx")
    checks = run_batch([a, b], jobs=1).sheets["数据校验"]
    row = checks[checks["问题"].str.contains("烟台经开区")]
    assert list(row["文件"]) == ["烟台.xlsx"] and "通用口径" in row["问题"].iat[0]


def test_every_rule_kind_and_parameter_has_a_chinese_name():
    """profiles show, docs and 计算说明's 推断口径 list name parameters in Chinese (no `city_cut`)."""
    from xltools.profiles import KINDS
    from xltools.profiles.display import KIND_NAMES, PARAM_NAMES

    assert set(KINDS) <= set(KIND_NAMES)
    params = {k for req, opt in KINDS.values() for k in (*req, *opt)}
    assert params - set(PARAM_NAMES) == set()
