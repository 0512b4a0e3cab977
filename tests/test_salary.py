"""Salary pools, person-level distribution and fiscal returns, checked against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xltools.engine.salary import compute_salary, largest_remainder, link_coefficient
from xltools.profiles import ProfileError, apply_overrides, load_profile, load_profile_text


def tables(actual=(100.0, 200.0, 300.0), target=(100.0, 200.0, 300.0), headcount=10, base=10.0, ratio=0.5,
           reward=0.0, cap=None, profile="liaoyang"):
    ind = pd.DataFrame({"zone": ["甲"], "year": [2023.0], "tax": [actual[0]], "fixed_investment": [actual[1]],
                        "industrial_output": [actual[2]]})
    sal = pd.DataFrame({"zone": ["甲"], "year": [2023.0], "headcount": [headcount], "base_standard": [base],
                        "performance_ratio": [ratio], "target_tax": [target[0]], "target_investment": [target[1]],
                        "target_output": [target[2]], "project_reward": [reward], "cap": [cap]})
    zones = pd.DataFrame({"zone": ["甲"], "level": ["省级"], "profile": [profile]})
    return {"zones": zones, "indicators": ind, "salary": sal}


def pool(t, **kw):
    return compute_salary(t, **kw).pools.iloc[0]


def test_pool_at_lower_clamp():
    # every completion rate 50% → clamped to 0.8; base 10 × 10 = 100 万元; performance 100 × 0.5 × 0.8 = 40
    row = pool(tables(actual=(50, 100, 150)))
    assert row["挂钩系数"] == pytest.approx(0.8)
    assert (row["基础薪酬"], row["绩效薪酬"], row["薪酬总额"]) == pytest.approx((100.0, 40.0, 140.0))


def test_pool_at_upper_clamp_with_reward():
    # rates 200% → 1.3; performance 100 × 0.5 × 1.3 = 65; + reward 5 → 170
    row = pool(tables(actual=(200, 400, 600), reward=5.0))
    assert row["挂钩系数"] == pytest.approx(1.3)
    assert row["薪酬总额"] == pytest.approx(170.0) and row["约束"] == ""


def test_pool_hitting_the_cap():
    row = pool(tables(actual=(200, 400, 600), reward=5.0, cap=150.0))
    assert row["薪酬总额"] == pytest.approx(150.0) and row["约束"] == "上限" and "按上限核定" in row["说明"]


def test_mixed_rates_weighted():
    # tax 110% (0.4), investment 90% (0.3), output 100% (0.3) → 0.44 + 0.27 + 0.30 = 1.01
    row = pool(tables(actual=(110, 180, 300)))
    assert row["挂钩系数"] == pytest.approx(1.01)
    assert row["绩效薪酬"] == pytest.approx(50.5)


def test_liaoyang_growth_example_from_sample_data():
    """A synthetic Liaoyang example: 税收 +8%, 固定资产投资 −5%, 规上产值 +12% with 0.4/0.3/0.3 → 1.053."""
    coef, _, ok = link_coefficient([[108.0, 95.0, 112.0]], [[100.0, 100.0, 100.0]], [0.4, 0.3, 0.3], 0.8, 1.3)
    assert ok.all() and coef[0] == pytest.approx(1.053)
    assert 2400 * coef[0] == pytest.approx(2527.2)


def test_growth_mode_uses_previous_year():
    t = tables(actual=(108.0, 95.0, 112.0), target=(None, None, None))
    prev = pd.DataFrame({"zone": ["甲"], "year": [2022.0], "tax": [100.0], "fixed_investment": [100.0],
                         "industrial_output": [100.0]})
    t["indicators"] = pd.concat([prev, t["indicators"]], ignore_index=True)
    row = pool(t, overrides={"LY-13.mode": "growth"})
    assert row["挂钩系数"] == pytest.approx(1.053)


@pytest.mark.parametrize("change, lacking", [
    ({"target": (None, 200.0, 300.0)}, "税收收入目标值"),
    ({"headcount": None}, "核定人数"),
    ({"actual": (100.0, None, 300.0)}, "固定资产投资实际值"),
])
def test_missing_inputs_are_reported_not_zero(change, lacking):
    row = pool(tables(**change))
    assert np.isnan(row["薪酬总额"]) and np.isnan(row["绩效薪酬"])
    assert lacking in row["说明"] and "无法测算" in row["说明"]


def test_largest_remainder_awkward_amount_over_seven():
    cents = largest_remainder(np.array([100_000_001]), np.ones(7), np.zeros(7, dtype=int))
    assert cents.sum() == 100_000_001
    assert cents.tolist() == [14285715] * 3 + [14285714] * 4     # 3 leftover cents to the first three


def test_largest_remainder_by_fraction_and_groups():
    # group 0: 100 cents over weights 1:2:3 → 16.67, 33.33, 50 → 17, 33, 50; group 1: 10 cents over 1:1 → 5, 5
    out = largest_remainder(np.array([100, 10]), np.array([1.0, 2.0, 3.0, 1.0, 1.0]), np.array([0, 0, 0, 1, 1]))
    assert out.tolist() == [17, 33, 50, 5, 5]


def test_distribution_to_people_sums_to_the_pool_to_the_cent():
    t = tables(headcount=7, base=1_000_000.01 / 1e4 / 7 / 0.5, ratio=0.5)  # performance pool = 100.0000001 万元
    t["staff"] = pd.DataFrame({"name": [f"人{i}" for i in range(7)], "zone": ["甲"] * 7,
                               "post_coef": [1.0] * 7, "grade": ["合格"] * 7})
    res = compute_salary(t)
    pay = res.people["绩效薪酬(元)"]
    assert round(pay.sum() * 100) == round(res.pools["绩效薪酬"].iat[0] * 1e6)
    assert round(pay.sum(), 2) == 1_000_000.01


def test_distribution_weights_post_and_grade_and_fail_gets_zero():
    t = tables()
    t["staff"] = pd.DataFrame({"name": ["甲", "乙", "丙"], "zone": ["甲"] * 3, "post_coef": [1.5, 1.0, 1.0],
                               "grade": ["优秀", "合格", "不合格"]})
    people = compute_salary(t).people.set_index("姓名")
    # pool 50 万元 = 500,000 元; weights 1.5×1.2 = 1.8 and 1.0 → 500000 × 1.8/2.8, × 1/2.8
    assert people.loc["丙", "绩效薪酬(元)"] == 0.0
    assert people.loc["甲", "绩效薪酬(元)"] == pytest.approx(500000 * 1.8 / 2.8, abs=0.01)
    assert people["绩效薪酬(元)"].sum() == pytest.approx(500000.0, abs=1e-6)


def test_grade_multiplier_from_last_years_grade():
    t = tables()
    t["history"] = pd.DataFrame({"zone": ["甲"], "year": [2022.0], "grade": ["优秀"]})
    row = pool(t, overrides={"LY-13.grade_multipliers": {"优秀": 1.2, "合格": 1.0}})
    assert row["等次系数"] == pytest.approx(1.2) and row["绩效薪酬"] == pytest.approx(100 * 0.5 * 1.0 * 1.2)


# ---------------------------------------------------------------- fiscal returns
def returns(rows, profile="qingdao", overrides=None):
    ind = pd.DataFrame(rows)
    zones = pd.DataFrame({"zone": sorted(set(ind["zone"])), "level": "国家级", "profile": profile})
    return compute_salary({"zones": zones, "indicators": ind}, overrides=overrides).returns.set_index(["开发区名称", "年度"])


PREVIOUS_YEAR_BASE = {"QD-35.base": "previous"}


def test_qd35_example_from_sample_data():
    """上合示范区: base 2019 tax 18.42 亿, 2022 tax 28.00 亿, fees 0.80 亿 → minimum 6.228 亿; 5.90 亿 is too little."""
    r = returns([{"zone": "上合", "year": 2019.0, "tax": 184200.0},
                 {"zone": "上合", "year": 2022.0, "tax": 280000.0, "fees": 8000.0, "actual_return": 59000.0}])
    row = r.loc[("上合", 2022.0)]
    assert row["税收增量"] == pytest.approx(95800.0) and row["应返还下限"] == pytest.approx(62280.0)
    assert row["结论"] == "不合规" and "低于应返还下限" in row["说明"]
    assert r.loc[("上合", 2019.0), "结论"] == ""          # policy starts in 2020


def test_tax_fell_increment_is_zero():
    r = returns([{"zone": "甲", "year": 2022.0, "tax": 120.0}, {"zone": "甲", "year": 2023.0, "tax": 100.0, "fees": 10.0}],
                overrides=PREVIOUS_YEAR_BASE)
    row = r.loc[("甲", 2023.0)]
    assert row["税收增量"] == 0.0 and row["返还金额"] == pytest.approx(6.0) and "增量按 0 计" in row["说明"]


def test_missing_base_is_reported():
    r = returns([{"zone": "甲", "year": 2023.0, "tax": 100.0}], overrides=PREVIOUS_YEAR_BASE)
    assert r.loc[("甲", 2023.0), "结论"] == "数据缺失"


def test_land_income_returned_in_full_or_warned():
    r = returns([{"zone": "甲", "year": 2019.0, "tax": 1.0},
                 {"zone": "甲", "year": 2021.0, "tax": 2.0, "land_income": 50.0, "land_return": 40.0}])
    row = r.loc[("甲", 2021.0)]
    assert row["土地收益应返还"] == 50.0 and "未足额返还" in row["说明"]


def test_each_row_follows_its_own_zones_profile():
    """Rules are looked up per profile, not per zone: a zone named in 开发区 follows its 政策口径
    or 地区; a zone whose profile states no tax return gets no row — another region's rule never
    stands in. A zone absent from 开发区 has no known profile: neither the chosen nor the general
    one computes it; its row says 数据缺失 (SPEC §3.1)."""
    ind = pd.DataFrame({"zone": ["甲", "乙", "丙", "甲"], "year": [2021.0, 2021.0, 2021.0, 2020.0],
                        "tax": [120.0, 50.0, 80.0, 100.0]})
    zones = pd.DataFrame({"zone": ["甲", "乙"], "level": "国家级", "profile": ["qingdao", None],
                          "region": [None, "宁夏"]})
    res = compute_salary({"zones": zones, "indicators": ind})
    label = res.returns.drop_duplicates("开发区名称").set_index("开发区名称")["政策口径"]
    assert label.to_dict() == {"甲": "青岛口径", "丙": ""}            # 宁夏口径 states no tax return
    unknown = res.returns[res.returns["开发区名称"] == "丙"]
    assert unknown["结论"].tolist() == ["数据缺失"] and unknown["返还金额"].isna().all()
    assert [n.split("：")[0] for n in res.notes["税收返还办法"].split("；")] == ["青岛口径"]
    chosen = compute_salary({"zones": zones, "indicators": ind}, "qingdao").returns
    assert set(chosen["开发区名称"]) == {"甲", "丙"}                   # 乙 stays with its region's 宁夏口径
    assert chosen.loc[chosen["开发区名称"] == "丙", "返还金额"].isna().all()     # qingdao does not judge 丙


def test_same_zone_lookup_agrees_with_a_pandas_merge():
    """税收基数 comes from the same zone's row of another year; the packed-key lookup must agree with a merge."""
    from xltools.engine.salary import _same_zone_at

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"zone": rng.choice(["甲", "乙", "丙", "丁"], 60), "year": rng.integers(2015, 2025, 60).astype(float)})
    df = df.drop_duplicates(["zone", "year"]).reset_index(drop=True)
    df["tax"] = rng.random(len(df))
    wanted = np.where(rng.random(len(df)) < 0.2, np.nan, df["year"] - rng.integers(0, 3, len(df)))
    expected = df.assign(want=wanted).merge(df.rename(columns={"year": "want", "tax": "hit"}),
                                            on=["zone", "want"], how="left")["hit"].to_numpy()
    got = _same_zone_at(df["zone"], df["year"].to_numpy(), df["tax"].to_numpy(), wanted)
    assert np.array_equal(got, expected, equal_nan=True) and np.isfinite(got).sum() > 10


# ---------------------------------------------------------------- invalid parameters
BASE_RULE = ('id="x"\nname="x"\n[[rules]]\nid="LY-13"\nkind="salary_pool"\ntext="t"\nsource="s"\nseverity="hard"\n')


@pytest.mark.parametrize("params, message", [
    ('weights = { tax = -0.4 }\nlo = 0.8\nhi = 1.3', "「weights.tax」应为非负数"),
    ('weights = { tax = 1 }\nlo = 1.5\nhi = 1.3', "下限 lo(1.5) 大于上限 hi(1.3)"),
    ('weights = { profit = 1 }\nlo = 0.8\nhi = 1.3', "「weights」中的指标「profit」不可用"),
])
def test_invalid_salary_parameters(params, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_profile_text(BASE_RULE + params, "本市.toml")
    assert "本市.toml" in str(err.value) and "LY-13" in str(err.value)


def test_a_toml_syntax_error_says_where_in_chinese():
    """Officials edit profiles by hand: 中文 without quotes is the usual slip."""
    with pytest.raises(ProfileError, match="本市.toml：TOML 格式错误（第 2 行第 8 列：.*中文文字须放在英文双引号内"):
        load_profile_text('id = "x"\nname = 本市口径\n', "本市.toml")


def test_invalid_return_rate_in_profile_and_override():
    with pytest.raises(ProfileError, match="「rate」应在 0 到 1 之间"):
        apply_overrides(load_profile("qingdao"), {"QD-35.rate": 1.2})
    with pytest.raises(ProfileError, match="参数「LY-13.lo」"):
        apply_overrides(load_profile("liaoyang"), {"LY-13.lo": 2.0})


def test_return_rate_above_one_in_the_sheet_names_the_cell(make_book):
    from xltools.intake import read_book
    path = make_book({"指标": [["开发区名称", "年度", "税收收入(万元)", "返还比例"], ["甲", 2023, 10, "150%"], ["乙", 2023, 10, 0.7]]})
    book = read_book(path)
    assert [(p.cell, p.level) for p in book.problems] == [("指标!D2", "错误")]
    assert "不能大于 1" in book.problems[0].message


def test_udfs_match_engine():
    from xltools.udfs import XT_SALARY_POOL, XT_TAX_RETURN
    assert XT_SALARY_POOL(10, 10.0, 0.5, [[50.0, 100.0, 150.0]], [[100.0, 200.0, 300.0]]) == [[100.0, 40.0, 0.0, 140.0]]
    assert XT_SALARY_POOL(10, 10.0, 0.5, [[50.0, None, 150.0]], [[100.0, 200.0, 300.0]])[0][0] == "数据缺失"
    assert XT_SALARY_POOL(10, 10.0, 0.5, [[1.0]], [[1.0, 2.0]])[0][0] == "错误"
    assert XT_TAX_RETURN(280000.0, 184200.0, 8000.0) == pytest.approx(62280.0)
    assert XT_TAX_RETURN(10.0, 12.0, 1.0, "60%") == pytest.approx(0.6)
    assert XT_TAX_RETURN(10.0, 12.0, 1.0, 1.2).startswith("错误")


def test_tax_return_udf_takes_its_default_rate_from_the_profile(monkeypatch):
    """The rate is data: XT_TAX_RETURN without a rate uses the Qingdao profile's tax_return rule."""
    import xltools.profiles as profiles
    from xltools.udfs import XT_TAX_RETURN
    real = profiles.load_profile

    def with_rate(name):
        p = real(name)
        p.of_kind("tax_return")[0]["rate"] = 0.5
        return p
    monkeypatch.setattr(profiles, "load_profile", with_rate)
    assert XT_TAX_RETURN(10.0, 8.0, 1.0) == pytest.approx(1.5)


def test_people_listed_in_another_order_than_the_pools_get_their_own_zones_pool():
    """Regression: the split used the order in which zones first appear among people, so a zone
    listed first in 人员 but second in 薪酬 took the other zone's pool."""
    t = tables()
    two = pd.concat([t["salary"], t["salary"].assign(zone="乙", headcount=1)], ignore_index=True)
    ind = pd.concat([t["indicators"], t["indicators"].assign(zone="乙")], ignore_index=True)
    zones = pd.DataFrame({"zone": ["甲", "乙"], "level": "省级", "profile": "liaoyang"})
    staff = pd.DataFrame({"name": ["乙一", "甲一", "甲二"], "zone": ["乙", "甲", "甲"], "post_coef": 1.0, "grade": "合格"})
    res = compute_salary({"zones": zones, "indicators": ind, "salary": two, "staff": staff})
    pools = res.pools.set_index("开发区名称")["绩效薪酬"] * 1e4
    pay = res.people.groupby("开发区名称")["绩效薪酬(元)"].sum()
    assert pay.to_dict() == pytest.approx(pools.to_dict())          # 甲 500,000 元, 乙 50,000 元
