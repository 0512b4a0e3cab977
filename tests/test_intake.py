"""Intake of whole worksheets: header location, skipped rows, cross-sheet checks, formats."""

from __future__ import annotations

import pandas as pd
import pytest
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.intake import read_book
from xltools.templates import write_input_workbook


def msgs(book):
    return [(p.cell, p.level, p.message) for p in book.problems]


def test_title_unit_row_and_merged_two_row_header(make_book):
    path = make_book({"指标": [
        ["2024年度全市开发区考核指标表"],
        ["单位：亿元"],
        ["开发区名称", "年度", "财税", None, "用地"],
        [None, None, "税收收入", "行政事业性收费", "用地面积(公顷)"],
        ["甲区", 2023, 1.5, "0.2", 100],
        [None, None, None, None, None],
        ["合计", None, 1.5, 0.2, 100],
        ["注：数据来源于统计局"],
    ]}, merges={"指标": [("A3:A4", "开发区名称"), ("B3:B4", "年度"), ("C3:D3", "财税")]})
    book = read_book(path)
    assert msgs(book) == []
    df = book.frame("indicators")
    assert list(df["zone"]) == ["甲区"]
    assert df["tax"].iat[0] == pytest.approx(15000.0)      # 1.5 亿元 → 万元
    assert df["fees"].iat[0] == pytest.approx(2000.0)
    assert df["land_area"].iat[0] == pytest.approx(1500.0)  # 100 公顷 → 亩
    assert book.tables["indicators"].header_row == 2


def test_unit_row_below_header(make_book):
    path = make_book({"指标": [
        ["开发区名称", "年度", "税收收入", "用地面积"],
        [None, None, "(亿元)", "（平方公里）"],
        ["甲区", 2023, 2, 1],
    ]})
    df = read_book(path).frame("indicators")
    assert df["tax"].iat[0] == pytest.approx(20000.0)
    assert df["land_area"].iat[0] == pytest.approx(1500.0)


def test_remembered_header_rows_do_not_carry_units_to_the_next_workbook(make_book):
    """Header scoring is memoised per row contents (batches of one template); a unit row found
    under the header of one workbook must not change how an identical header reads elsewhere."""
    header = ["开发区名称", "年度", "税收收入", "用地面积"]
    with_units = make_book({"指标": [header, [None, None, "(亿元)", "（平方公里）"], ["甲区", 2023, 2, 1]]}, "a.xlsx")
    plain = make_book({"指标": [header, ["甲区", 2023, 2, 1]]}, "b.xlsx")
    assert read_book(with_units).frame("indicators")["tax"].iat[0] == pytest.approx(20000.0)
    df = read_book(plain).frame("indicators")
    assert df["tax"].iat[0] == pytest.approx(2.0) and df["land_area"].iat[0] == pytest.approx(1.0)
    assert read_book(with_units).frame("indicators")["land_area"].iat[0] == pytest.approx(1500.0)


def test_duplicate_keys_found_alike_in_small_and_large_tables(monkeypatch):
    """Small tables use a dict, tables above HASHED_ABOVE one hashed groupby: same answers."""
    import numpy as np
    from xltools.intake import table

    rng = np.random.default_rng(7)
    names = [rng.choice(["甲区", "乙区", "丙区", None]) for _ in range(400)]
    years = rng.choice([2022.0, 2023.0, np.nan], size=400)
    columns = [table._key_values(names, np.arange(400)), table._key_values(years, np.arange(400))]
    small = table._first_seen(columns)
    monkeypatch.setattr(table, "HASHED_ABOVE", 10)
    large = table._first_seen(columns)
    assert (small == large).all()
    assert small[0] == 0 and len(set(small)) == len({(n, None if y != y else y) for n, y in zip(names, years)})


def test_sheet_found_by_alias_and_headers_by_alias(make_book):
    path = make_book({"经济指标 ": [["园区名称", "年份", "税收(万元)", "规模以上工业总产值(万元)"], ["甲区", 2022, 5, 6]]})
    df = read_book(path).frame("indicators")
    assert df[["tax", "industrial_output"]].iloc[0].tolist() == [5.0, 6.0]


ZONES = [["开发区名称", "级别", "类型"], ["甲区", "国家级", "经济技术开发区"]]
INDICATORS = [["开发区名称", "年度", "税收收入(亿元)", "用地面积(亩)"], ["甲区", 2023, 12.5, 3000]]


def test_a_sheet_whose_name_says_nothing_is_taken_by_its_header(make_book):
    """Data pasted into Sheet1 of a new workbook: recognised by its header, with a warning that says
    how to name it. Only a clear header counts: two columns shared by 指标/薪酬/历年排名 do not."""
    book = read_book(make_book({"Sheet1": ZONES, "Sheet2": INDICATORS, "Sheet3": [["开发区名称", "年度"], ["甲区", 2023]]}))
    assert book.usable and set(book.tables) == {"zones", "indicators"}
    assert book.frame("indicators")["tax"].tolist() == [125_000.0]          # 12.5 亿元 in 万元
    assert [(p.cell, p.level, p.suggestion) for p in book.problems] == [
        ("Sheet1!A1", "警告", "把工作表改名为「开发区」"), ("Sheet2!A1", "警告", "把工作表改名为「指标」")]


def test_beside_named_sheets_only_a_default_named_sheet_is_taken_by_its_header(make_book):
    book = read_book(make_book({"开发区": ZONES, "Sheet1": INDICATORS, "汇总表": INDICATORS,
                                "工作表2": ZONES}))           # 开发区 is already given by its name
    assert set(book.tables) == {"zones", "indicators"} and book.tables["indicators"].title == "Sheet1"
    assert [p.sheet for p in book.problems] == ["Sheet1"]
    book = read_book(make_book({"开发区": ZONES, "附表2 主要经济指标": INDICATORS}, name="表.xlsx"))
    assert book.tables["indicators"].title == "附表2 主要经济指标"       # a form's number says nothing either


def test_the_file_list_shows_what_a_sheet_was_recognised_as(make_book):
    from xltools.batch import run_batch

    result = run_batch([make_book({"Sheet1": ZONES, "Sheet2": INDICATORS}, name="新建.xlsx")], jobs=1)
    assert result.files["工作表"].tolist() == ["Sheet1（开发区）、Sheet2（指标）"]


def test_a_sheet_with_too_few_known_columns_is_not_guessed(make_book):
    book = read_book(make_book({"Sheet1": [["开发区名称", "年度"], ["甲区", 2023]]}))
    assert not book.usable and "没有可识别的工作表" in book.problems[0].message


def test_merged_key_cells_fill_down(make_book):
    path = make_book({"机构设置": [
        ["开发区名称", "机构名称", "机构类别"],
        ["甲区", "综合办公室", "综合保障"],
        [None, "产业发展部", "经济发展类"],
    ]}, merges={"机构设置": [("A2:A3", "甲区")]})
    df = read_book(path).frame("departments")
    assert df["zone"].tolist() == ["甲区", "甲区"]
    assert df["category"].tolist() == ["综合保障类", "经济发展类"]


def test_duplicates_and_unknown_zones_across_sheets(make_book):
    path = make_book({
        "开发区": [["开发区名称", "级别"], ["甲区", "国家级"], ["乙区", "省级"], ["甲 区", "省级"]],
        "指标": [["开发区名称", "年度", "税收收入"], ["甲区", 2023, 1], ["丙区", 2023, 2], ["甲区", 2023, 3]],
    })
    book = read_book(path)
    assert msgs(book) == [
        ("开发区!A4", "错误", "重复记录：「甲区」与第 2 行重复，本行未读入"),
        ("指标!C1", "警告", "「税收收入」未注明单位，按万元读入"),      # SPEC §3.1: no unit stated
        ("指标!A4", "错误", "重复记录：「甲区、2023」与第 2 行重复，本行未读入"),
        ("指标!A3", "警告", "开发区「丙区」不在「开发区」表中"),
    ]
    assert book.frame("indicators")["tax"].tolist() == [1.0, 2.0]


def test_missing_required_column_and_blank_required_cell(make_book):
    path = make_book({"开发区": [["开发区名称", "类型"], ["甲区", "经开区"]],
                      "指标": [["年度", "税收收入"], [2023, 1]]})
    book = read_book(path)
    assert ("开发区!A1", "错误", "工作表缺少必填列「级别」") in msgs(book)
    assert ("指标!A1", "错误", "工作表缺少必填列「开发区名称」，本表未读入") in msgs(book)
    assert list(book.tables) == ["zones"]      # a missing 级别 leaves 开发区 usable; no key, no 指标 rows


def test_sheet_without_a_key_column_is_reported_and_never_reaches_the_engine(make_book):
    """Rows without 开发区名称 cannot be told apart: no duplicate noise per row, no crash later."""
    from xltools.jobs import run_books

    rows = [["企业名称", "年度", "税收收入"]] + [[f"企业{i}", 2023, i] for i in range(50)]
    path = make_book({"指标": rows})
    result = run_books([path])
    book = result.books[0]
    assert msgs(book) == [("指标!A1", "警告", "未识别的列「企业名称」，已忽略"),
                          ("指标!A1", "错误", "工作表缺少必填列「开发区名称」，本表未读入")]
    assert book.tables == {} and "考核排名" not in result.sheets


def test_errors_block_only_the_bad_value(make_book):
    path = make_book({"指标": [["开发区名称", "年度", "税收收入(万元)", "用地面积(亩)"], ["甲区", 2023, "待定", 300]]})
    book = read_book(path)
    df = book.frame("indicators")
    assert pd.isna(df["tax"].iat[0]) and df["land_area"].iat[0] == 300
    assert [p.cell for p in book.problems] == ["指标!C2"]


def test_legacy_xls(tmp_path):
    path = tmp_path / "旧格式.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("指标")
    for c, v in enumerate(["开发区名称", "年度", "税收收入(亿元)"]):
        ws.write(0, c, v)
    for c, v in enumerate(["甲区", 2023, "1,2"]):
        ws.write(1, c, v)
    ws.write_merge(2, 2, 0, 0, "乙区")
    ws.write(2, 1, 2023)
    ws.write(2, 2, 0.5)
    wb.save(str(path))
    book = read_book(path)
    assert book.problems == []
    assert book.frame("indicators")["tax"].tolist() == [120000.0, 5000.0]


@pytest.mark.parametrize("fork", [True, False])
def test_in_a_legacy_xls_named_sheets_keep_precedence_over_sheet1(tmp_path, monkeypatch, fork):
    """.xls is parsed in a child process: the sheet choice made there must reach the parent."""
    from xltools.intake import reader

    monkeypatch.setattr(reader, "CAN_FORK", fork)
    path = tmp_path / "旧格式.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    for name, zone in (("Sheet1", "旧区"), ("开发区", "甲区")):
        ws = wb.add_sheet(name)
        for r, row in enumerate([["开发区名称", "级别", "类型"], [zone, "国家级", "经济技术开发区"]]):
            for c, v in enumerate(row):
                ws.write(r, c, v)
    wb.save(str(path))
    book = read_book(path)
    assert book.frame("zones")["zone"].tolist() == ["甲区"] and book.problems == []


def test_xlsm_is_read(make_book, tmp_path):
    path = make_book({"开发区": [["开发区名称", "级别"], ["甲区", "国家级"]]}, name="book.xlsm")
    assert read_book(path).frame("zones")["level"].tolist() == ["国家级"]


names = st.text(alphabet="甲乙丙丁戊己庚辛壬癸区园港", min_size=1, max_size=8)
amounts = st.one_of(st.none(), st.integers(0, 10**9).map(lambda i: i / 100))


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, st.integers(2000, 2030), amounts, amounts, st.one_of(st.none(), st.integers(0, 10**6))),
                min_size=1, max_size=15, unique_by=lambda t: (t[0], t[1])))
def test_clean_table_survives_write_then_read(tmp_path, rows):
    frame = pd.DataFrame(rows, columns=["zone", "year", "tax", "land_area", "employees"])
    path = write_input_workbook(tmp_path / "rt.xlsx", {"indicators": frame})
    book = read_book(path)
    # random amounts may lie 1,000× from their median or 4× from the year before: 核实性审核 警告
    # (HS-01, HS-02, SPEC §3.1), nothing else
    assert [p for p in book.problems if not ("（审核规则 HS-0" in p.message and p.level == "警告")] == []
    got = book.frame("indicators")
    assert got["zone"].tolist() == frame["zone"].tolist()
    assert got["year"].tolist() == frame["year"].tolist()
    for col in ("tax", "land_area", "employees"):
        expected = [None if pd.isna(v) else float(v) for v in frame[col]]
        actual = [None if pd.isna(v) else float(v) for v in got[col]]
        assert actual == expected


def test_consolidate_builds_one_table_per_sheet_kind(make_book):
    from xltools.intake import consolidate
    a = read_book(make_book({"指标": [["开发区名称", "年度", "税收收入"], ["甲区", 2023, 1]]}, name="a.xlsx"))
    b = read_book(make_book({"指标": [["开发区名称", "年度", "用地面积"], ["乙区", 2023, 5]]}, name="b.xlsx"))
    ind = consolidate([a, b])["indicators"]
    assert ind["_file"].tolist() == ["a.xlsx", "b.xlsx"]
    assert ind["zone"].tolist() == ["甲区", "乙区"]
    assert ind["tax"].iloc[0] == 1.0 and pd.isna(ind["tax"].iloc[1])
    assert pd.isna(ind["land_area"].iloc[0]) and ind["land_area"].iloc[1] == 5.0


@pytest.mark.parametrize("chunk_rows", [5000, 3])
def test_books_read_together_equal_books_read_alone(samples, make_book, tmp_path, monkeypatch, chunk_rows):
    """Batch intake types many files' columns together (ColumnTyper); every table, value and
    problem — with its cell — must be what reading each file alone gives, whatever the layouts."""
    from books import assert_same_books
    from xltools.intake import audit_books, read_books, table

    monkeypatch.setattr(table, "CHUNK_ROWS", chunk_rows)        # 3: flushes inside and across files
    header = ["开发区名称", "年度", "税收收入", "用地面积"]
    moved = make_book({"指标": [["注：单位见表头"], ["年度", "开发区名称", "用地面积", "税收收入"],
                                [2023, "丁区", "五百", 3], [2022, "丁区", 200, -1], [2023, "丁区", 1, 1]]}, "moved.xlsx")
    units = make_book({"指标": [header, [None, None, "(亿元)", "（平方公里）"], ["甲区", 2023, 2, 1],
                                ["乙区", 2023, "2.5亿", "x"]]}, "units.xlsx")
    plain = make_book({"指标": [header, ["甲区", 2023, 2, 1], ["乙区", "二〇二三", 1, 1]],
                       "开发区": [["开发区名称", "级别"], ["甲区", "国家极"], ["乙区", "省级"]]}, "plain.xlsx")
    again = make_book({"指标": [header, ["丙区", 2023, 1, 1], ["丁区", 2023, "很多", -5]]}, "again.xlsx")  # laid out as plain
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    paths = [*sorted(samples.glob("*.xlsx")), moved, broken, units, plain, again]
    together = read_books(paths, audit=False)      # 核实性审核 compare books read together: run alike below
    table.CHUNK_ROWS = 5000
    alone = [read_book(p, audit=False) for p in paths]
    assert sum(len(b.problems) for b in alone) > 20 and not alone[paths.index(broken)].usable
    assert_same_books(together, alone)
    audit_books(together)
    audit_books(alone)
    assert_same_books(together, alone)
