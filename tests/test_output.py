"""Result workbooks: text never becomes a formula, and writes are atomic."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xltools.output.workbook import write_results


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    frame = pd.DataFrame({"问题": ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "普通文字"], "值": [1, 2.5, None, 4, 5]})
    path = write_results(tmp_path / "out.xlsx", {"数据校验": frame})
    ws = openpyxl.load_workbook(path)["数据校验"]
    for r in range(2, 7):
        cell = ws.cell(r, 1)
        assert cell.data_type == "s"
        assert cell.value == frame["问题"][r - 2]
    assert ws.cell(2, 1).quotePrefix and not ws.cell(6, 1).quotePrefix
    assert ws.cell(4, 2).value is None


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "结果.xlsx"
    target.write_bytes(b"old")

    def boom(self, *a, **k):
        raise RuntimeError("interrupted")

    monkeypatch.setattr("xltools.output.workbook.ResultWriter.write_frame", boom)
    with pytest.raises(RuntimeError):
        write_results(target, {"x": pd.DataFrame({"a": [1]})})
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["结果.xlsx"]


def test_stale_partial_files_are_cleared(tmp_path):
    stale = tmp_path / ".~xltools-partial-结果.abc123.xlsx"
    stale.write_bytes(b"half")
    write_results(tmp_path / "结果.xlsx", {"x": pd.DataFrame({"a": [1]})})
    assert not stale.exists() and (tmp_path / "结果.xlsx").exists()


def test_column_fast_paths_write_the_same_xml_as_the_cell_by_cell_path():
    """Typed columns take shortcuts (`_number_cells`, `_text_cells`); the XML must not change."""
    import numpy as np
    from xltools.output.workbook import SharedStrings, _cells_xml, _number_cells, _text_cells, row_numbers

    xf = {"header": 1, "int": 2, "num": 3, "quoted": 4}
    floats = np.array([1.0, 2.5, np.nan, -0.0, 1e15, 123456789.0, np.inf, -3.25, 1e-7])
    rows = row_numbers(5, len(floats))
    assert _number_cells(floats, 2, rows, xf) == _cells_xml(floats.tolist(), 2, rows, xf, SharedStrings())
    ints = np.array([0, -7, 2**40])
    assert _number_cells(ints, 0, rows[:3], xf) == _cells_xml(ints.tolist(), 0, rows[:3], xf, SharedStrings())
    texts = pd.array(["合规", None, "=SUM(A1)", "a<b&c", "合规", "-1", "\x01控制"], dtype="string")
    values = pd.Series(texts).to_numpy(dtype=object).tolist()
    rows = row_numbers(2, len(values))
    by_cell, by_column = SharedStrings(), SharedStrings()
    expected = _cells_xml([v if isinstance(v, str) else None for v in values], 27, rows, xf, by_cell)
    assert _text_cells(values, 27, rows, xf, by_column) == expected and by_column == by_cell
    assert expected[0] == '<c r="AB2" t="s"><v>0</v></c>' and expected[1] == "" and expected[4] == expected[0].replace("AB2", "AB6")
    assert expected[2] == '<c r="AB4" s="4" t="s"><v>1</v></c>' and list(by_cell) == ["合规", "=SUM(A1)", "a<b&c", "-1", "\x01控制"]


@pytest.mark.slow
def test_repeated_texts_are_shared_strings_and_read_back_exactly(tmp_path):
    """Texts that repeat go to one shared-string table, mostly distinct ones (names) stay inline;
    openpyxl, python-calamine and LibreOffice read both back as written."""
    import zipfile

    from python_calamine import CalamineWorkbook

    texts = ["合规", " 前后空格 ", "a<b&c>\"引号\"", "合规", "多行\n文字", "=1+1", "控制\x01符"] * 3
    names = [f"企业{i}<{i}>" for i in range(len(texts))]
    path = write_results(tmp_path / "out.xlsx", {"甲": pd.DataFrame({"文字": texts, "名称": names}),
                                                 "乙": pd.DataFrame({"文字": ["合规", True, False, True, False, "合规"]})})
    with zipfile.ZipFile(path) as zf:
        sst = zf.read("xl/sharedStrings.xml").decode()
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        assert 'PartName="/xl/sharedStrings.xml"' in zf.read("[Content_Types].xml").decode()
        assert 'Target="sharedStrings.xml"' in zf.read("xl/_rels/workbook.xml.rels").decode()
    assert sst.count("<si>") == len(set(texts)) + 4             # + headers 文字, 名称 and 是, 否: each once
    assert "企业" not in sst and sheet.count('t="inlineStr"') == len(names)
    shown = [t.replace("\x01", "") for t in texts]               # a control character cannot live in XML
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb["甲"]["A"]] == ["文字", *shown]
    assert [c.value for c in wb["甲"]["B"]] == ["名称", *names]
    assert [c.value for c in wb["乙"]["A"]] == ["文字", "合规", "是", "否", "是", "否", "合规"]
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("甲").to_python()
    assert [row[:2] for row in grid] == [["文字", "名称"], *map(list, zip(shown, names))]
    from libreoffice import recalc_csv                           # and the real spreadsheet engine
    assert [row[:2] for row in recalc_csv(path, tmp_path, "甲")] == [["文字", "名称"], *map(list, zip(shown, names))]


def test_text_longer_than_an_excel_cell_is_cut_with_a_note(tmp_path):
    """Excel holds at most 32,767 characters per cell and repairs a file with longer text."""
    from xltools.output.cells import CUT_MARK, EXCEL_CELL_CHARS

    long = "长" * 40_000
    path = write_results(tmp_path / "out.xlsx", {"说明": pd.DataFrame({"内容": [long, long, "短"]})})
    cells = [c.value for c in openpyxl.load_workbook(path)["说明"]["A"]][1:]
    assert [len(v) for v in cells] == [EXCEL_CELL_CHARS, EXCEL_CELL_CHARS, 1] and cells[0].endswith(CUT_MARK)
    from xltools.output.inject import sheet_xml                   # and in sheets written back (--in-place)
    import re
    written = re.findall(r"<t[^>]*>([^<]*)</t>", sheet_xml(pd.DataFrame({"内容": [long]})).decode())
    assert written[0] == "内容" and len(written[1]) == EXCEL_CELL_CHARS and written[1].endswith(CUT_MARK)


def test_a_table_taller_than_a_sheet_continues_on_the_next(tmp_path, monkeypatch):
    """Excel sheets end at row 1,048,576: the rest of a taller result goes to 「名称（续2）」…
    (shown here with sheets of 10 rows; 1,048,575 data rows in real use)."""
    from xltools.output import workbook

    assert workbook.EXCEL_DATA_ROWS == 1_048_576 - 1
    monkeypatch.setattr(workbook, "EXCEL_DATA_ROWS", 10)
    frame = pd.DataFrame({"序号": range(25)})
    path = write_results(tmp_path / "out.xlsx", {"派生指标": frame, "空表": frame.iloc[:0]})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["派生指标", "派生指标（续2）", "派生指标（续3）", "空表"]
    values = [c.value for name in wb.sheetnames[:3] for c in wb[name]["A"][1:]]
    assert values == list(range(25)) and [c.value for c in wb["派生指标（续2）"]["A"]][0] == "序号"


def test_every_writer_turns_a_value_into_the_same_cell(tmp_path):
    """One cell policy: result workbooks (both XlsxWriter paths) and the lossless write-back write
    是/否 for booleans, numbers as numbers, nothing for blanks and infinities, text as text."""
    import zipfile

    import numpy as np
    import python_calamine as pc

    from xltools.output.cells import to_cell
    from xltools.output.inject import sheet_xml
    from xltools.output.workbook import atomic_workbook, write_results

    values = [True, np.bool_(False), 3, np.int64(4), 2.5, np.float64(6.0), None, np.nan, np.inf, pd.NA, "=1+1", "文本"]
    expected = ["是", "否", 3, 4, 2.5, 6, None, None, None, None, "=1+1", "文本"]
    assert [to_cell(v) for v in values] == expected
    frame = pd.DataFrame({"值": pd.Series(values, dtype=object)})
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    write_results(fast, {"数据校验": frame})
    with atomic_workbook(slow) as (wb, writer):          # XlsxWriter cell by cell
        writer.write_frame("数据校验", frame)
    for path in (fast, slow):
        rows = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("数据校验").to_python(skip_empty_area=False)
        got = [r[0] if r[0] != "" else None for r in rows[1:]]
        assert got == [float(v) if isinstance(v, int) else v for v in expected], path.name
    xml = sheet_xml(frame).decode()
    assert ">是<" in xml and ">否<" in xml and "<v>3</v>" in xml and "<v>2.5</v>" in xml and "inf" not in xml
    assert "<f>" not in xml and zipfile.is_zipfile(fast)
