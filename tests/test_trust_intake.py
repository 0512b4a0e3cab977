"""Never silently wrong at intake (issue 14, SPEC §3.1): units, blanks, 审核规则, refused files.

Each test starts from a workbook as an official sends it — a title row, a unit row, Chinese
headers — and asserts the value read and the 数据校验 row (文件, 工作表, 单元格, 级别, 问题).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from xltools.intake import read_book
from xltools.jobs import problems_frame, run_books

TITLE = "2024年度全市开发区考核指标表"
HEAD = ["开发区名称", "年度", "税收收入", "行政事业性收费", "用地面积"]


def rows(book, cell=None):
    """数据校验 rows of `book` as (文件, 工作表, 单元格, 级别, 问题) — of one cell, when given."""
    frame = problems_frame([book])
    out = [tuple(r) for r in frame[["文件", "工作表", "单元格", "级别", "问题"]].itertuples(index=False)]
    return [r for r in out if cell is None or r[2] == cell]


def value(book, key, zone="甲区", sheet="indicators", year=None):
    df = book.frame(sheet)
    df = df[df["zone"] == zone]
    if year is not None:
        df = df[df["year"] == year]
    return df[key].iat[0]


# --------------------------------------------------------------------------- units
def test_unit_row_right_above_a_one_row_header_is_read(make_book):
    """SPEC §3.1: a unit is taken from 「a unit row … also when it stands … in the row right above a
    one-row header」. Issue 14: 1.5 亿元 of tax was read as 1.5 万元."""
    book = read_book(make_book({"指标": [[TITLE], ["单位：亿元"], HEAD + ["综合能耗(吨标准煤)"],
                                        ["甲区", 2023, 1.5, 0.2, 100, 5]]}))
    assert value(book, "tax") == pytest.approx(15000.0)          # 1.5 亿元 = 15 000 万元
    assert value(book, "fees") == pytest.approx(2000.0)
    assert book.tables["indicators"].header_row == 2
    # the area column states no unit: one 警告 at its header, the schema unit 亩 assumed
    assert rows(book) == [("book.xlsx", "指标", "指标!E3", "警告", "「用地面积」未注明单位，按亩读入")]


def test_unit_note_inside_the_title_row(make_book):
    """「单位：元」 inside the title just above the header: 8,000,000 元 is 800 万元 (not 8,000,000 万元)."""
    book = read_book(make_book({"指标": [[TITLE + "（单位：元）"], ["开发区名称", "年度", "税收收入"],
                                        ["甲区", 2023, 8_000_000]]}))
    assert value(book, "tax") == pytest.approx(800.0)
    assert rows(book) == []


@pytest.mark.parametrize("note, tax, area", [
    ("金额单位：元", 0.5, 30.0),            # 5000 元 = 0.5 万元; 亩 not stated → schema 亩, warned
    ("单位:万元、亩", 5000.0, 30.0),
    ("单位：亿元、公顷", 5e7, 450.0),        # 30 公顷 = 450 亩
])
def test_unit_notes_naming_one_or_several_units(make_book, note, tax, area):
    book = read_book(make_book({"指标": [[TITLE], ["", "", note], ["开发区名称", "年度", "税收收入", "用地面积"],
                                        ["甲区", 2023, 5000, 30]]}))
    assert value(book, "tax") == pytest.approx(tax)
    assert value(book, "land_area") == pytest.approx(area)
    expected = [("book.xlsx", "指标", "指标!D3", "警告", "「用地面积」未注明单位，按亩读入")] if "亩" not in note and "公顷" not in note else []
    assert rows(book) == expected


def test_no_unit_anywhere_one_warning_per_column_not_per_cell(make_book):
    book = read_book(make_book({"指标": [[TITLE], HEAD, ["甲区", 2023, 10, 1, 5], ["乙区", 2023, 20, 2, 6],
                                        ["丙区", 2023, 30, 3, 7]]}))
    assert value(book, "tax", "丙区") == 30.0                     # read in the schema unit 万元
    assert rows(book) == [
        ("book.xlsx", "指标", "指标!C2", "警告", "「税收收入」未注明单位，按万元读入"),
        ("book.xlsx", "指标", "指标!D2", "警告", "「行政事业性收费」未注明单位，按万元读入"),
        ("book.xlsx", "指标", "指标!E2", "警告", "「用地面积」未注明单位，按亩读入"),
    ]


@pytest.mark.parametrize("cell, expected, warned", [
    ("31万", 31.0, "「税收收入」单元格自带单位：「31万」按 31 万元 读入（本列单位为万元）"),
    ("3亿元", 30000.0, "「税收收入」单元格自带单位：「3亿元」按 30000 万元 读入（本列单位为万元）"),
    ("5万元", 5.0, None),                                          # its own unit is the column's: quiet
])
def test_a_cell_with_its_own_unit_is_converted_and_named(make_book, cell, expected, warned):
    book = read_book(make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"],
                                        ["甲区", 2023, cell]]}))
    assert value(book, "tax") == pytest.approx(expected)
    assert rows(book) == ([("book.xlsx", "指标", "指标!C4", "警告", warned)] if warned else [])


def test_calc_notes_list_units_once_and_name_only_the_files_that_differ(make_book):
    a = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"], ["甲区", 2023, 5]]}, "甲.xlsx")
    b = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"], ["乙区", 2023, 6]]}, "乙.xlsx")
    c = make_book({"指标": [[TITLE], ["单位：亿元"], ["开发区名称", "年度", "税收收入"], ["丙区", 2023, 7]]}, "丙.xlsx")
    notes = run_books([a, b, c], tasks=()).sheets["计算说明"].set_index("项目")["内容"]
    assert notes["读入单位"] == "指标：税收收入 万元。以下文件不同——「指标」税收收入 亿元（换算为万元）：丙.xlsx"


def test_units_note_of_a_400_file_batch_fits_one_cell():
    from xltools.intake.table import ASSUMED, FROM_NOTE
    from xltools.intake.units import units_note

    def book(i):
        unit = ("亿元", FROM_NOTE) if i % 3 == 0 else ("万元", ASSUMED) if i % 3 == 1 else ("万元", FROM_NOTE)
        return SimpleNamespace(name=f"第{i:03d}号开发区2023年报送.xlsx",
                               tables={"indicators": SimpleNamespace(units={"tax": unit, "land_area": ("亩", FROM_NOTE)})})
    note = units_note([book(i) for i in range(400)])
    assert len(note) < 1000                                   # an Excel cell holds 32 767; a reader, far less
    assert note.startswith("指标：税收收入 亿元（换算为万元）、用地面积 亩。以下文件不同——")
    assert "等 133 个文件" in note and "第001号开发区2023年报送.xlsx" in note


# --------------------------------------------------------------------------- blanks
def test_blank_none_and_dash_mean_what_the_schema_declares(make_book):
    """SPEC §3.1: a blank cell (or 无, —) is unknown unless the schema declares that column's blank
    as none (0 or 否, e.g. 行政事业性收费, 加分); a blank 实际返还金额 cannot be 合规."""
    book = read_book(make_book({"指标": [
        [TITLE], ["单位：万元"],
        ["开发区名称", "年度", "税收收入", "行政事业性收费", "实际返还金额", "加分", "一票否决"],
        ["甲区", 2023, 10, None, None, None, None],
        ["乙区", 2023, 10, "无", "无", "—", "无"],
        ["丙区", 2023, 10, "—", "—", 2, "是"],
    ]}))
    for zone in ("甲区", "乙区", "丙区"):
        assert value(book, "fees", zone) == 0.0                   # none: 0
        assert np.isnan(value(book, "actual_return", zone))       # unknown: 数据缺失
    assert [value(book, "bonus", z) for z in ("甲区", "乙区", "丙区")] == [0.0, 0.0, 2.0]
    assert [value(book, "veto", z) for z in ("甲区", "乙区", "丙区")] == ["否", "否", "是"]
    assert rows(book) == []


def test_blank_admin_rank_stays_unknown(make_book):
    book = read_book(make_book({"开发区": [["开发区基本情况"], ["开发区名称", "级别", "管理机构规格"],
                                         ["甲区", "省级", "无"], ["乙区", "省级", None]]}))
    assert list(book.frame("zones")["admin_rank"]) == [None, None]


# --------------------------------------------------------------------------- 强制性审核
def _indicators(make_book, *data, head=("开发区名称", "年度", "税收收入", "规上工业总产值", "工业增加值"), name="book.xlsx"):
    return read_book(make_book({"指标": [[TITLE], ["单位：万元"], list(head), *map(list, data)]}, name))


def test_negative_amount_is_an_error_at_the_cell(make_book):
    book = _indicators(make_book, ["甲区", 2023, -5, 10, 1], ["乙区", 2023, 0, 10, 1])
    assert np.isnan(value(book, "tax")) and value(book, "tax", "乙区") == 0.0
    assert rows(book) == [("book.xlsx", "指标", "指标!C4", "错误",
                           "「税收收入」不能为负数：-5（审核规则 QZ-01：不能为负数）")]


def test_value_added_above_gross_output_is_an_error(make_book):
    """工业增加值 > 规上工业总产值 is impossible (增加值 is part of 总产值): at, one above."""
    book = _indicators(make_book, ["甲区", 2023, 5, 100, 100], ["乙区", 2023, 5, 100, 100.5])
    assert value(book, "value_added") == 100.0
    assert np.isnan(value(book, "value_added", "乙区"))
    assert rows(book) == [("book.xlsx", "指标", "指标!E5", "错误",
                           "「工业增加值」100.5 万元 大于「规上工业总产值」100 万元，未读入"
                           "（审核规则 QZ-07：工业增加值不能大于规上工业总产值）")]
    assert problems_frame([book])["建议"].iat[0].startswith("核对两项数据")


def test_more_deputies_than_staff_is_an_error(make_book):
    book = read_book(make_book({"职数编制": [["各开发区领导职数及编制情况"], ["单位：人"],
                                           ["开发区名称", "副职职数", "实有人数"], ["甲区", 4, 4], ["乙区", 5, 4]]}))
    assert value(book, "deputies", sheet="posts") == 4
    assert np.isnan(value(book, "deputies", "乙区", sheet="posts"))
    assert rows(book) == [("book.xlsx", "职数编制", "职数编制!B5", "错误",
                           "「副职职数」5 大于「实有人数」4，未读入（审核规则 QZ-08：副职职数不能大于实有人数）")]


def test_year_outside_1990_2100_is_an_error(make_book):
    book = _indicators(make_book, ["甲区", 1989, 1, 2, 1], ["乙区", 1990, 1, 2, 1], ["丙区", 2100, 1, 2, 1],
                       ["丁区", 2101, 1, 2, 1])
    assert sorted(book.frame("indicators")["year"].dropna()) == [1990, 2100]
    assert [r[2:4] for r in rows(book)] == [("指标!B4", "错误"), ("指标!B7", "错误")]
    assert rows(book)[0][4] == "「年度」1989 不是合理的年份（应在 1990–2100 之间）（审核规则 QZ-03：年份须在合理范围内）"


def test_per_column_bound_refuses_1e300_and_nothing_non_finite_reaches_the_results(make_book, tmp_path):
    """Issue 14: 1e300 万元 of tax yielded a 300-digit percentage in 薪酬测算「说明」."""
    path = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"],
                               ["甲区", 2023, 1e9], ["乙区", 2023, 1.0000001e9], ["丙区", 2023, "1e300"],
                               ["丁区", 2023, "1e400"]]})
    book = read_book(path)
    assert value(book, "tax") == 1e9                                         # at the bound: read
    assert [np.isnan(value(book, "tax", z)) for z in ("乙区", "丙区", "丁区")] == [True, True, True]
    assert rows(book, "指标!C6") == [("book.xlsx", "指标", "指标!C6", "错误",
                                      "「税收收入」1e300 万元 超出本列上限 1,000,000,000 万元，未读入"
                                      "（审核规则 QZ-04：数值超出本列上限）")]
    assert [r[3] for r in rows(book)] == ["错误", "错误", "错误"]
    result = run_books([path])
    for name, frame in result.sheets.items():
        for col in frame.columns:
            data = frame[col]
            if data.dtype.kind == "f":
                assert np.isfinite(data.dropna()).all(), (name, col)
            else:
                assert not data.astype(str).str.contains(r"\d{30}|inf", regex=True).any(), (name, col)


@pytest.mark.parametrize("text, ok", [("1.23456789012345", True), ("1.234567890123456", False),
                                      ("0.000123456789012345", True), ("1234567.8901234567", False),
                                      ("10000000000000000000000000000000000000000", False)])
def test_text_numbers_over_15_significant_digits_are_refused(make_book, text, ok):
    book = _indicators(make_book, ["甲区", 2023, text, None, None])
    assert np.isnan(value(book, "tax")) != ok
    expected = [] if ok else [("book.xlsx", "指标", "指标!C4", "错误",
                               f"「税收收入」的数字「{text}」超过 15 位有效数字，未读入（审核规则 QZ-05：数字超过 15 位有效数字）")]
    assert rows(book) == expected


# --------------------------------------------------------------------------- 核实性审核
@pytest.mark.parametrize("odd, warned", [(1000.0, True), (999.0, False), (0.001, True), (0.0011, False)])
def test_value_far_from_its_column_median_asks_for_confirmation(make_book, odd, warned):
    """≥ 1,000× or ≤ 1/1,000 of the median of its group: 警告, the value is kept."""
    book = _indicators(make_book, ["甲区", 2023, odd, None, None], ["乙区", 2023, 1, None, None],
                       ["丙区", 2023, 1, None, None], ["丁区", 2023, 1, None, None])
    assert value(book, "tax") == odd
    got = rows(book)
    assert [r[:4] for r in got] == ([("book.xlsx", "指标", "指标!C4", "警告")] if warned else [])
    if warned:
        assert got[0][4].startswith(f"「税收收入」{odd:g} 万元是本列中位数 1 万元的 ")
        assert got[0][4].endswith("（审核规则 HS-01：与同列中位数相差悬殊，界限：≥ 中位数的 1,000 倍，"
                                  "或 ≤ 其 1/1,000（至少 3 个非零值时））")


def test_the_sample_data_stays_quiet(samples):
    """The sample data's 67× spread in 综合能耗 is real data, not a typo."""
    for path in sorted(samples.glob("*.xlsx")):
        if path.name == "问题样例.xlsx":
            continue
        book = read_book(path)
        assert not [p for p in book.problems if "审核规则 HS-" in p.message], path.name


@pytest.mark.parametrize("this_year, warned", [(400, False), (401, True), (25, False), (24.9, True)])
def test_change_from_the_previous_year_beyond_4x(make_book, this_year, warned):
    book = _indicators(make_book, ["甲区", 2022, 100, None, None], ["甲区", 2023, this_year, None, None])
    assert value(book, "tax", year=2023) == this_year
    got = rows(book)
    assert [r[:4] for r in got] == ([("book.xlsx", "指标", "指标!C5", "警告")] if warned else [])
    if warned:
        assert got[0][4].startswith(f"「税收收入」{this_year:g} 万元是上年（2022 年，指标!C4）100 万元的 ")


def test_cross_row_checks_after_batch_consolidation_point_at_each_file(make_book):
    from xltools.batch import run_batch

    a = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"], ["甲区", 2022, 100],
                            ["乙区", 2022, 100], ["丙区", 2022, 100]]}, "a.xlsx")
    b = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"], ["甲区", 2023, 100000]]}, "b.xlsx")
    checks = run_batch([a, b], jobs=1, tasks=()).sheets["数据校验"]
    checks = checks[checks["问题"].str.contains("审核规则")]
    got = [tuple(r) for r in checks[["文件", "工作表", "单元格", "级别", "问题"]].itertuples(index=False)]
    # 100000 is 1000× the median 100 of all four values (HS-01) and 1000× 甲区's 2022 in a.xlsx (HS-02)
    assert got == [
        ("b.xlsx", "指标", "指标!C4", "警告",
         "「税收收入」100000 万元是本列中位数 100 万元的 1,000 倍（审核规则 HS-01：与同列中位数相差悬殊，"
         "界限：≥ 中位数的 1,000 倍，或 ≤ 其 1/1,000（至少 3 个非零值时））"),
        ("b.xlsx", "指标", "指标!C4", "警告",
         "「税收收入」100000 万元是上年（2022 年，「a.xlsx」指标!C4）100 万元的 1,000.0 倍"
         "（审核规则 HS-02：与本开发区上年相比变化过大，界限：> 上年的 4 倍，或 < 上年的 1/4）")]
    # each file alone: b.xlsx has no previous year and too few values for a median
    assert [p for p in read_book(b).problems if "审核规则" in p.message] == []


# --------------------------------------------------------------------------- refused files
@pytest.mark.parametrize("declaration", ['<!DOCTYPE worksheet [<!ENTITY big "x">]>',
                                         '<!-- <a> --><!doctype worksheet SYSTEM "http://example.invalid/x.dtd">'])
def test_a_part_declaring_a_doctype_is_refused(make_book, tmp_path, declaration):
    """Excel and WPS never write a DOCTYPE: a part declaring one (even behind a comment) is refused."""
    good = make_book({"指标": [[TITLE], ["单位：万元"], ["开发区名称", "年度", "税收收入"], ["甲区", 2023, 5]]})
    bad = tmp_path / "报送.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"?>", b"?>" + declaration.encode(), 1)
            dst.writestr(info, data)
    book = read_book(bad)
    assert not book.usable
    assert rows(book)[0][:4] == ("报送.xlsx", "", "", "错误")
    assert "含有 DOCTYPE/ENTITY 声明，不是真正的 Excel 文件" in rows(book)[0][4]
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert read_book(good).usable


def test_a_header_typo_names_the_column_it_probably_is(samples, tmp_path):
    """A typo 「税收收人(亿元)」 for 税收收入 made 考核排名 drop two of its four indicators with only
    「未识别的列…已忽略」 (official-style trial): the 警告 now says which standard column it is likely
    meant to be, that the column was not read, and how to fix the header."""
    import openpyxl
    from xltools.intake import read_book
    wb = openpyxl.load_workbook(samples / "青岛开发区.xlsx")
    ws = wb["指标"]
    cell = next(c for c in ws[2] if str(c.value).startswith("税收收入"))
    cell.value = str(cell.value).replace("税收收入", "税收收人")
    path = tmp_path / "错字.xlsx"
    wb.save(path)
    told = [p for p in read_book(path).problems if p.cell == f"指标!{cell.coordinate}"]
    assert len(told) == 1 and "是否应为「税收收入」" in told[0].message and "未读入" in told[0].message
    assert "「税收收入」" in told[0].suggestion
