"""Every coercion and unit rule of intake, with hand-checked values."""

from __future__ import annotations

import math
import unicodedata

import pandas as pd
import pytest

from xltools.intake.coerce import coerce_column, parse_number_text, unit_factor
from xltools.problems import ERROR, WARNING
from xltools.schema import SHEETS_BY_KEY

IND = SHEETS_BY_KEY["indicators"]
TAX = IND.column("tax")            # money, stored in 万元
AREA = IND.column("land_area")     # area, stored in 亩
EMP = IND.column("employees")      # count (int)
YEAR = IND.column("year")
ZONES = SHEETS_BY_KEY["zones"]
WEIGHT = SHEETS_BY_KEY["indicator_system"].column("weight")


def one(raw, col=TAX, unit=""):
    values, problems = coerce_column(pd.Series([raw], dtype=object), col, unit)
    v = values[0]
    return (None if pd.isna(v) else v), problems


@pytest.mark.parametrize("raw, expected", [
    (1234.5, 1234.5),
    ("1,234.5", 1234.5),            # thousands separator
    ("１２３", 123.0),               # full-width digits
    ("１，２３４．５", 1234.5),        # full-width separator and point
    (" 56.7 ", 56.7),               # stray spaces
    ("12.5万", 12.5),               # 12.5万元 in a 万元 column
    ("12.5万元", 12.5),
    ("3亿", 30000.0),               # 3亿元 = 30000万元
    ("3.2亿元", 32000.0),
    ("8000元", 0.8),                # 8000元 = 0.8万元
    ("1.5e3", 1500.0),
])
def test_money_text_forms(raw, expected):
    """SPEC §3.1: a value written with its own unit is converted from it, "and a 警告 names the
    cell" — when that unit is not the column's own (万元 here): 12.5万元 is quiet, 12.5万 is not."""
    value, problems = one(raw)
    own = unicodedata.normalize("NFKC", str(raw)).strip().lstrip("0123456789.,e ")
    if own in ("", "万元"):
        assert problems == []
    else:
        assert [(p[1], p[2]) for p in problems] == [
            (WARNING, f"「税收收入」单元格自带单位：「{raw}」按 {expected:g} 万元 读入（本列单位为万元）")]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("raw", ["—", "——", "-", "--", "无", "空", "", "／", "暂无", None])
def test_placeholders_are_blank_without_problem(raw):
    value, problems = one(raw)
    assert value is None and problems == []


@pytest.mark.parametrize("raw", ["#N/A", "#DIV/0!", "#VALUE!"])
def test_error_values_are_blank_with_warning(raw):
    value, problems = one(raw)
    assert value is None
    assert [p[1] for p in problems] == [WARNING]
    assert raw in problems[0][2]


@pytest.mark.parametrize("raw", ["待定", "约190.8", "四", "12元5角", "1.2.3"])
def test_non_numbers_are_errors(raw):
    value, problems = one(raw)
    assert value is None
    assert problems[0][1] == ERROR and "应为数字" in problems[0][2]


def test_header_unit_conversion_money():
    # A header announcing 亿元: 1.5 亿元 = 15000 万元; text with its own unit is not converted twice.
    assert one(1.5, TAX, "亿元")[0] == pytest.approx(15000.0)
    assert one("12.5万", TAX, "亿元")[0] == pytest.approx(12.5)
    assert one(20000, TAX, "元")[0] == pytest.approx(2.0)


@pytest.mark.parametrize("unit, raw, expected", [
    ("公顷", 10, 150.0),             # 1 公顷 = 15 亩
    ("平方公里", 2, 3000.0),          # 1 km² = 1500 亩
    ("亩", 7, 7.0),
    ("", "10公顷", 150.0),
    ("", "1.2平方公里", 1800.0),
])
def test_area_units(unit, raw, expected):
    value, problems = one(raw, AREA, unit)
    assert value == pytest.approx(expected)
    # a cell carrying its own unit (公顷, 平方公里 in a 亩 column) is converted and named with a 警告
    assert [p[1] for p in problems] == ([WARNING] if isinstance(raw, str) else [])


def test_unknown_header_unit_is_reported():
    assert unit_factor(TAX, "万美元")[1] is not None
    assert unit_factor(TAX, "亿元") == (1e4, None)


def test_magnitude_in_count_column():
    assert one("1.2万", EMP)[0] == 12000


def test_percent_strings():
    assert one("15%", WEIGHT)[0] == pytest.approx(0.15)
    value, problems = one("12%", TAX)
    assert value is None and problems[0][1] == ERROR and "百分数" in problems[0][2]


def test_integers_and_years():
    assert one(3.0, EMP)[0] == 3
    value, problems = one(18500.5, EMP)
    assert value is None and "整数" in problems[0][2] and "18500.5" in problems[0][2]
    assert one("2023年", YEAR)[0] == 2023
    value, problems = one(2203, YEAR)
    assert value is None and "2203 不是合理的年份" in problems[0][2]


def test_negative_values_rejected_unless_signed():
    value, problems = one(-5, AREA)
    assert value is None and "不能为负数" in problems[0][2]
    sat = SHEETS_BY_KEY["indicator_system"].column("satisfactory")
    assert one(-5, sat)[0] == -5


def test_booleans_and_dates_in_number_columns():
    import datetime as dt
    assert one(True)[1][0][1] == ERROR
    assert one(dt.date(2023, 1, 1))[1][0][1] == ERROR


@pytest.mark.parametrize("col, raw, expected", [
    ("level", "自治区级", "省级"),
    ("level", "国家级", "国家级"),
    ("level", " 省 级 ", "省级"),
    ("zone_type", "经开区", "经济技术开发区"),
    ("zone_type", "高新区", "高新技术产业开发区"),
    ("admin_rank", "厅级", "正厅级"),
    ("admin_rank", "副处", "副处级"),
    ("governance", "党工委（管委会）+公司", "党工委(管委会)+公司"),
    ("hosts_subdistrict", "Y", "是"),
    ("hosts_subdistrict", True, "是"),
    ("hosts_subdistrict", 0, "否"),
])
def test_enum_normalisation(col, raw, expected):
    value, problems = one(raw, ZONES.column(col))
    assert problems == [] and value == expected


def test_enum_errors():
    value, problems = one("县级", ZONES.column("level"))
    assert value is None and "不在允许范围内" in problems[0][2] and "国家级" in problems[0][3]
    value, problems = one("处级", ZONES.column("admin_rank"))
    assert value is None and "歧义" in problems[0][2]


def test_list_column_separators():
    value, problems = one("高端装备、新一代信息技术;现代物流", ZONES.column("industries"))
    assert value == "高端装备；新一代信息技术；现代物流"


def test_parse_cache_is_pure():
    assert parse_number_text("12.5万", "money", "万元", False) == (12.5, None, "万")
    assert math.isclose(parse_number_text("3", "money", "万元", False)[0], 3.0)
