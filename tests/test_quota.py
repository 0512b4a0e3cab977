"""Compliance rule kinds at and around their boundaries, with hand-made cases."""

from __future__ import annotations

import pandas as pd
import pytest

from xltools.engine.quota import CITY_FUNCS, FAIL, KIND_FUNCS, MISSING, OK, WARN, check_quota
from xltools.profiles import KINDS, ProfileError, apply_overrides, load_profile


def zone_tables(rows: list[dict], depts: dict[str, list[tuple[str, str]]] | None = None) -> dict:
    """zones + posts from `rows`; departments as {zone: [(category, frontline), …]}."""
    zones = pd.DataFrame([{k: v for k, v in r.items() if k in ("zone", "level", "admin_rank", "governance",
                                                                  "county", "blocks", "industries",
                                                                  "hosts_subdistrict", "one_county_exempt",
                                                                  "profile", "region")} for r in rows])
    posts = pd.DataFrame([{k: v for k, v in r.items() if k in ("zone", "principals", "deputies", "approved_staff",
                                                                  "actual_staff", "in_post_staff", "headcount_cap",
                                                                  "contract_staff", "depts_before", "staff_before",
                                                                  "discipline_secretaries", "bureau_posts")}
                          for r in rows])
    tables = {"zones": zones, "posts": posts}
    if depts is not None:
        tables["departments"] = pd.DataFrame([{"zone": z, "dept": f"部门{i}", "category": c, "frontline": f,
                                               "nature": "内设机构"}
                                              for z, items in depts.items() for i, (c, f) in enumerate(items)])
    return tables


def verdict(tables, rule_id, zone, profile="qingdao", overrides=None):
    d = check_quota(tables, profile, overrides).details
    row = d[(d["规则编号"] == rule_id) & (d["开发区名称"] == zone)]
    assert len(row) == 1, d
    return row["结论"].iat[0], row.iloc[0]


FRONT = ("经济发展类", "是")
SUPPORT = ("综合保障类", "否")
OTHER = ("经济发展类", "否")


def test_every_kind_is_implemented():
    from xltools.profiles import QUOTA_KINDS
    assert set(QUOTA_KINDS) == set(KIND_FUNCS) | set(CITY_FUNCS) and set(QUOTA_KINDS) <= set(KINDS)


@pytest.mark.parametrize("n, expected", [(7, OK), (8, OK), (9, FAIL)])
def test_qd09_national_department_cap(n, expected):
    t = zone_tables([{"zone": "甲", "level": "国家级"}], {"甲": [FRONT] * n})
    status, row = verdict(t, "QD-09", "甲")
    assert status == expected and row["实际值"] == str(n) and row["限值"] == "≤8"


def test_qd09_does_not_judge_provincial_zones():
    t = zone_tables([{"zone": "乙", "level": "省级"}], {"乙": [FRONT] * 9})
    d = check_quota(t, "qingdao").details
    assert "QD-09" not in set(d.loc[d["开发区名称"] == "乙", "规则编号"])


@pytest.mark.parametrize("support, total, expected", [(2, 6, OK), (1, 3, OK), (3, 8, FAIL), (3, 9, OK), (2, 5, FAIL)])
def test_qd16_support_share_exact(support, total, expected):
    t = zone_tables([{"zone": "甲", "level": "国家级"}], {"甲": [SUPPORT] * support + [FRONT] * (total - support)})
    status, row = verdict(t, "QD-16", "甲")
    assert status == expected and row["实际值"].startswith(f"{support}/{total}")


@pytest.mark.parametrize("front, total, expected", [(4, 6, OK), (4, 5, OK), (3, 5, OK), (3, 6, WARN), (5, 6, WARN)])
def test_qd15_frontline_about_70_percent(front, total, expected):
    t = zone_tables([{"zone": "甲", "level": "省级"}], {"甲": [FRONT] * front + [SUPPORT] * (total - front)})
    status, row = verdict(t, "QD-15", "甲")
    assert status == expected, row["说明"]


def test_share_with_zero_departments_is_missing_not_pass():
    t = zone_tables([{"zone": "甲", "level": "国家级"}], {"乙": [FRONT]})
    assert verdict(t, "QD-16", "甲")[0] == MISSING


@pytest.mark.parametrize("p, d, expected", [(1, 4, OK), (1, 3, OK), (1, 5, WARN), (2, 4, WARN), (0, 4, OK)])
def test_qd05_posts_are_soft_ceilings(p, d, expected):
    """「国家级开发区领导职数一般按1正4副」: 一般 → 预警 above the standard; a vacancy is no breach (RULES QD-05)."""
    t = zone_tables([{"zone": "甲", "level": "国家级", "principals": p, "deputies": d}])
    status, row = verdict(t, "QD-05", "甲")
    assert status == expected and row["实际值"] == f"{p}正{d}副"
    if (p, d) in ((1, 3), (0, 4)):
        assert "少于一般配备" in row["说明"] and "空缺不属违规" in row["说明"]


def test_staffing_compare_and_vacancy():
    """QD-19 compares 在编人数 with 核定编制 and reports 可统筹空编 (「空余编制由地方党委统筹使用」)."""
    t = zone_tables([{"zone": "甲", "level": "省级", "approved_staff": 45, "in_post_staff": 43},
                     {"zone": "乙", "level": "省级", "approved_staff": 45, "in_post_staff": 45},
                     {"zone": "丙", "level": "省级", "approved_staff": 45, "in_post_staff": 46},
                     {"zone": "丁", "level": "省级", "approved_staff": 45}])
    assert verdict(t, "QD-19", "甲")[1]["说明"].endswith("可统筹空编 2")
    assert verdict(t, "QD-19", "乙")[0] == OK
    assert verdict(t, "QD-19", "丙")[0] == FAIL
    assert verdict(t, "QD-19", "丁")[0] == MISSING


@pytest.mark.parametrize("industries, expected", [("甲", OK), ("甲；乙；丙", OK), ("甲；乙；丙；丁", FAIL), (None, MISSING)])
def test_qd25_leading_industries(industries, expected):
    t = zone_tables([{"zone": "甲", "level": "省级", "industries": industries}])
    assert verdict(t, "QD-25", "甲")[0] == expected


@pytest.mark.slow
def test_qd20_subdistrict_and_qd03_statutory_bodies():
    t = zone_tables([{"zone": "青岛蓝谷", "level": "省级", "governance": "法定机构", "hosts_subdistrict": "否"},
                     {"zone": "某区", "level": "省级", "governance": "法定机构", "hosts_subdistrict": "是"},
                     {"zone": "另区", "level": "省级", "governance": "管委会+公司"}])
    assert verdict(t, "QD-03", "青岛蓝谷")[0] == OK
    assert verdict(t, "QD-03", "某区")[0] == FAIL
    assert verdict(t, "QD-03", "另区")[0] == FAIL
    assert verdict(t, "QD-20", "某区")[0] == FAIL
    assert verdict(t, "QD-20", "青岛蓝谷")[0] == OK
    assert verdict(t, "QD-20", "另区")[0] == MISSING


def test_reduction_reports_the_seed_percentage():
    """QD-13: 228 → 130 institutions is a 42.98% cut (the Qingdao report: 152 + 56 + 20 → 111 + 4 + 15); the report rounds it to 43%, so it agrees."""
    t = zone_tables([{"zone": "甲", "level": "省级", "depts_before": 228}], {"甲": [FRONT] * 130})
    status, row = verdict(t, "QD-13", "甲")
    assert status == OK and row["实际值"] == "精减 42.98%"
    d = check_quota(t, "qingdao").details
    city = d[(d["规则编号"] == "QD-13") & d["开发区名称"].str.startswith("全市合计")]
    assert city["结论"].tolist() == [OK] and city["实际值"].tolist() == ["精减 42.98%"]
    status, row = verdict(t, "QD-13", city["开发区名称"].iat[0], overrides={"QD-13.city_cut": "43%"})
    assert status == WARN and "未达 43%" in row["说明"]


def test_ningxia_ranges_by_body_rank():
    t = zone_tables([{"zone": "厅", "level": "国家级", "admin_rank": "正厅级"},
                     {"zone": "处", "level": "省级", "admin_rank": "副处级"},
                     {"zone": "空", "level": "省级"}],
                    {"厅": [FRONT] * 6, "处": [FRONT] * 6, "空": [FRONT] * 3})
    assert verdict(t, "NX-19", "厅", "ningxia")[0] == FAIL
    assert verdict(t, "NX-20", "处", "ningxia")[0] == OK
    status, row = verdict(t, "NX-20", "空", "ningxia")
    assert status == MISSING and "管理机构规格" in row["说明"]


def test_wuxi_economic_share_only_for_separate_districts():
    t = zone_tables([{"zone": "分设", "level": "省级", "governance": "区政分设"},
                     {"zone": "分设二", "level": "省级", "governance": "区政分设"},
                     {"zone": "合一", "level": "省级", "governance": "区政合一"}],
                    {"分设": [OTHER] * 3 + [SUPPORT] * 2, "分设二": [OTHER] * 5 + [SUPPORT] * 4,
                     "合一": [SUPPORT] * 5})
    assert verdict(t, "WX-16", "分设", "wuxi")[0] == OK       # 3/5 = 60% exactly
    assert verdict(t, "WX-16", "分设二", "wuxi")[0] == FAIL    # 5/9 = 55.6%
    d = check_quota(t, "wuxi").details
    assert "合一" not in set(d["开发区名称"])


# ---------------------------------------------------------------- contradictions inside the policy reports
def test_c5_one_county_one_zone_needs_exemptions():
    rows = [{"zone": "银川综合保税区", "level": "国家级", "county": "兴庆区", "one_county_exempt": "是"},
            {"zone": "宁夏苏银产业园", "level": "省级", "county": "兴庆区", "one_county_exempt": "否"}]
    t = zone_tables(rows)
    assert verdict(t, "NX-04", "银川综合保税区", "ningxia")[0] == OK
    assert verdict(t, "NX-04", "宁夏苏银产业园", "ningxia")[0] == OK
    for r in rows:
        r.pop("one_county_exempt")
    t = zone_tables(rows)
    assert verdict(t, "NX-04", "宁夏苏银产业园", "ningxia")[0] == WARN      # 「整合方向」, 原则上 (NX-11): soft


def test_c6_parks_are_not_blocks(samples):
    """银川高新区 is 一区四园 but has 3 区块: NX-05 counts blocks only, as the profile states."""
    from xltools.intake import read_book, tables_of
    t = tables_of(read_book(samples / "宁夏开发区.xlsx"))
    status, row = verdict(t, "NX-05", "银川高新技术产业开发区", "ningxia")
    assert status == OK and row["实际值"] == "3"
    assert "园区不计入区块" in load_profile("ningxia").rule("NX-05")["text"]


def test_c11_leiyang_is_judged_by_its_own_profile(samples):
    from xltools.intake import read_book, tables_of
    t = tables_of(read_book(samples / "耒阳经开区.xlsx"))
    own = check_quota(t).details
    assert set(own["政策口径"]) == {"耒阳口径"} and set(own["结论"]) == {OK, "信息"}   # LE-15 is information
    assert set(check_quota(t, "qingdao").details["政策口径"]) == {"耒阳口径"}   # --profile never beats the region
    t["zones"] = t["zones"].assign(profile="qingdao")                             # the zone's own 政策口径 cell does
    qd = check_quota(t).details.set_index("规则编号")
    assert qd.loc["QD-20", "结论"] == FAIL            # hosts 三架街道
    assert qd.loc["QD-12", "结论"] == WARN            # keeps a support-type 事业单位
    assert "QD-09" not in qd.index                    # the national cap does not judge a provincial zone


# ---------------------------------------------------------------- profiles as data
def test_zone_column_picks_profile_per_zone():
    t = zone_tables([{"zone": "甲", "level": "国家级", "profile": "qingdao"},
                     {"zone": "乙", "level": "国家级", "profile": "ningxia", "blocks": 4}], {"甲": [FRONT] * 9})
    d = check_quota(t).details
    assert set(d.loc[d["开发区名称"] == "甲", "规则编号"]) >= {"QD-09"}
    ids = set(d.loc[d["开发区名称"] == "乙", "规则编号"])
    assert ids and all(i.startswith("NX-") for i in ids)
    assert verdict(t, "NX-05", "乙", None)[0] == FAIL


def test_param_sheet_profile_and_override():
    from xltools.engine import assess
    t = zone_tables([{"zone": "甲", "level": "国家级"}], {"甲": [FRONT] * 9})
    t["params"] = pd.DataFrame({"item": ["政策口径", "QD-09.max"], "value": ["qingdao", "9"]})
    out = assess(t, tasks=("quota",))
    d = out.sheets["合规检查"]
    assert d.loc[d["规则编号"] == "QD-09", "结论"].iat[0] == OK
    assert "QD-09.max = 9" in out.notes["参数覆盖"]


@pytest.mark.parametrize("body, message", [
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="nosuch"\ntext="t"\nsource="s"\nseverity="hard"', "未知的规则类型「nosuch」"),
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="count_range"\ntext="t"\nsource="s"\nseverity="hard"', "缺少参数「field」"),
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="count_range"\nfield="departments"\nmax="八"\ntext="t"\nsource="s"\nseverity="hard"', "「max」应为非负整数"),
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="count_range"\nfield="departments"\nmin=5\nmax=3\ntext="t"\nsource="s"\nseverity="hard"', "min(5) 大于 max(3)"),
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="share"\nnumerator="a"\ndenominator="b"\nop="<="\nratio="3/2"\ntext="t"\nsource="s"\nseverity="hard"', "应在 0 到 1 之间"),
    ('id="x"\nname="x"\n[[rules]]\nid="A-1"\nkind="count_range"\nfield="departments"\nmax=3\ntext="t"\nsource="s"\nseverity="strict"', "应为 hard、soft 或 info"),
    ('id="x"\nname="x"\nrules = [', "TOML 格式错误"),
])
def test_profile_validation_names_file_and_key(tmp_path, body, message):
    path = tmp_path / "我的口径.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert message in str(err.value) and "我的口径.toml" in str(err.value)


def test_bad_override_is_a_clear_error():
    with pytest.raises(ProfileError, match="参数「QD-09.max」.*非负整数"):
        apply_overrides(load_profile("qingdao"), {"QD-09.max": "很多"})
    with pytest.raises(ProfileError, match="没有规则 QD-99"):
        apply_overrides(load_profile("qingdao"), {"QD-99.max": 3})


def test_every_builtin_rule_cites_a_seed():
    import re
    from xltools.profiles import builtin_ids
    for pid in builtin_ids():
        for r in load_profile(pid).rules:
            assert re.match(r"^(QD|NX|LY|WX|LE|TY)-\d\d$", r["id"]), r["id"]        # TY: general (default)
            assert re.search(r"00[0-4]_[0-9a-f]{16}\.txt", r["source_id"]), r["id"]


def test_user_profile_file(tmp_path):
    path = tmp_path / "本市口径.toml"
    path.write_text('id = "city"\nname = "本市"\n[[rules]]\nid = "QD-09"\nkind = "count_range"\n'
                    'field = "departments"\nmax = 6\ntext = "不超过6个"\nsource = "000_772b24d4fb950dc7.txt：改"\n'
                    'severity = "hard"\n', encoding="utf-8")
    t = zone_tables([{"zone": "甲", "level": "省级"}], {"甲": [FRONT] * 7})
    prof = load_profile(path)
    assert verdict(t, "QD-09", "甲", prof)[0] == FAIL
