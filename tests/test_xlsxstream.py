"""The piecewise reader of huge sheets (intake/xlsxstream.py) against python-calamine.

Every committed workbook, an openpyxl workbook with dates/booleans/formulas, and hand-written
sheet XML (error and formula-string cells, a namespace prefix, cells without `r`, rich inline
text) must come out exactly as calamine reads them; `read_book` must give the same tables and
problems whichever reader it uses.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import python_calamine as pc

from xltools import ooxml
from xltools.intake import read_book, reader, xlsxstream as xs

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted((ROOT / "sample_workbooks").glob("*.xlsx")) + sorted((ROOT / "templates").glob("*.xlsx"))


def _trim(grid) -> list[list[object]]:
    """Drop trailing blank rows and columns (the two readers may pad differently)."""
    rows = [list(r) for r in grid]
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(r) if v != ""), default=0) for r in rows), default=0)
    return [(r + [""] * width)[:width] for r in rows]


def streamed(path: Path, name: str, piece: int | None = None) -> list[list[object]]:
    with zipfile.ZipFile(path) as zf:
        stream = xs.Stream(zf, ooxml.sheet_parts(zf)[name], xs.shared_strings(zf), xs.date_styles(zf), xs.uses_1904(zf))
        if piece:
            stream_piece = xs.PIECE_BYTES
            xs.PIECE_BYTES = piece
        try:
            return _trim(row for block in stream.rows() for row in block)
        finally:
            if piece:
                xs.PIECE_BYTES = stream_piece


def calamine(path: Path, name: str) -> list[list[object]]:
    sheet = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name)
    r0, c0 = sheet.start or (0, 0)
    return _trim([[""] * (c0 + sheet.width)] * r0 + [[""] * c0 + list(r) for r in sheet.to_python(skip_empty_area=False)])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_workbooks_read_exactly_as_calamine(path):
    for name in pc.CalamineWorkbook.from_path(str(path)).sheet_names:
        assert streamed(path, name) == calamine(path, name), name
        with zipfile.ZipFile(path) as zf:
            got = xs.merged_ranges(zf, ooxml.sheet_parts(zf)[name])
        assert sorted(got) == sorted(pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).merged_cell_ranges or [])


def test_rows_cut_into_many_pieces_are_the_same(samples):
    path = samples / "青岛开发区.xlsx"
    assert streamed(path, "机构设置", piece=997) == calamine(path, "机构设置")


def test_dates_booleans_formulas_and_escapes(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标"
    ws.append(["名称", "日期", "时间", "布尔", "公式", "文本", "数"])
    ws.append(["a&b", dt.datetime(2023, 5, 1), dt.datetime(2023, 5, 1, 12, 30), True, "=1+1", "<x>", 1.5])
    ws.append(["\"引号\"", dt.date(1900, 2, 1), None, False, None, " 空格 ", -3])
    ws["A5"] = "隔行"
    ws["J5"] = 1e-9
    ws["K5"] = 123456789012
    ws.merge_cells("A7:C8")
    ws["A7"] = "合并"
    path = tmp_path / "edge.xlsx"
    wb.save(path)
    assert streamed(path, "指标") == calamine(path, "指标")
    assert streamed(path, "指标")[1][1] == dt.date(2023, 5, 1)


def test_mac_1904_date_system(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "指标"
    ws.append(["日期", dt.datetime(2023, 5, 1), dt.datetime(2023, 5, 1, 8, 15), 2.5])
    path = tmp_path / "mac.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        assert xs.uses_1904(zf)
    assert streamed(path, "指标") == calamine(path, "指标")
    assert streamed(path, "指标")[0][1] == dt.date(2023, 5, 1)


def _write_sheet_xml(tmp_path: Path, sheet_data: str, root_open: str | None = None, name: str = "raw.xlsx") -> Path:
    """A minimal workbook whose only sheet has the given <sheetData> XML (and one shared string)."""
    from rawxlsx import raw_workbook

    return raw_workbook(tmp_path / name, sheet_data, root_open)


SPECIAL_CELLS = (
    '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="str"><f>A1&amp;"x"</f><v>共享x &amp; y</v></c><c r="D1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    '<c r="E1" t="b"><v>1</v></c><c r="F1"><f>1+1</f><v>2</v></c></row>'
    '<row r="3"><c r="B3" t="inlineStr"><is><r><t>内</t></r><r><t>联</t></r><rPh sb="0" eb="1"><t>ない</t></rPh></is></c><c r="C3" s="0"/>'
    '<c r="D3"><v>-0.5</v></c><c r="E3" t="n"><v>1E+20</v></c></row></sheetData>')


def test_error_formula_text_rich_and_inline_cells(tmp_path):
    path = _write_sheet_xml(tmp_path, SPECIAL_CELLS)
    got = streamed(path, "指标")
    assert got == calamine(path, "指标")
    assert got[0][:3] == ["共享", "富文本", "共享x & y"] and got[0][3] == "" and got[2][1] == "内联"


def test_prefixed_namespace_and_cells_without_r(tmp_path):
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    prefixed = re.sub(r"<(/?)(\w+)([ >/])", r"<\1x:\2\3", SPECIAL_CELLS)
    path = _write_sheet_xml(tmp_path, prefixed, f'<x:worksheet xmlns:x="{main}">', "prefixed.xlsx")
    plain = _write_sheet_xml(tmp_path, SPECIAL_CELLS)
    assert streamed(path, "指标") == streamed(plain, "指标") == calamine(plain, "指标")
    dense = '<sheetData><row r="1"><c t="s"><v>0</v></c><c><v>7</v></c></row><row><c><v>8</v></c></row></sheetData>'
    path = _write_sheet_xml(tmp_path, dense, name="dense.xlsx")
    assert streamed(path, "指标") == [["共享", 7.0], [8.0, ""]]


def _forced_stream(monkeypatch):
    monkeypatch.setattr(reader, "STREAM_XML_BYTES", 0)


@pytest.mark.parametrize("name", ["青岛开发区.xlsx", "宁夏开发区.xlsx", "问题样例.xlsx", "耒阳经开区.xlsx"])
def test_read_book_is_the_same_through_either_reader(samples, monkeypatch, name):
    direct = read_book(samples / name)
    _forced_stream(monkeypatch)
    seen = []
    real = xs.Stream.blocks
    monkeypatch.setattr(xs.Stream, "blocks", lambda self: (seen.append(self.part), real(self))[1])
    piecewise = read_book(samples / name)
    assert seen, "the piecewise reader was not used"
    assert [p.as_row() for p in piecewise.problems] == [p.as_row() for p in direct.problems]
    assert piecewise.tables.keys() == direct.tables.keys()
    for key in direct.tables:
        pd.testing.assert_frame_equal(piecewise.tables[key].data, direct.tables[key].data)


def test_large_sheet_goes_piecewise_and_keeps_memory_bounded(tmp_path, monkeypatch):
    """A sheet above the threshold is never handed to calamine whole."""
    import xlsxwriter
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("指标")
    ws.write_row(0, 0, ["开发区名称", "年度", "税收收入", "用地面积"])
    rng = np.random.default_rng(0)
    for r in range(1, 3001):
        ws.write_row(r, 0, [f"企业{r:05d}", 2023, float(rng.integers(1, 999)), 10.0])
    wb.close()
    monkeypatch.setattr(reader, "STREAM_XML_BYTES", 50_000)
    loaded = []
    real = pc.CalamineWorkbook.get_sheet_by_name
    monkeypatch.setattr(pc.CalamineWorkbook, "get_sheet_by_name", lambda self, n: (loaded.append(n), real(self, n))[1])
    book = read_book(path)
    assert loaded == [] and len(book.tables["indicators"]) == 3000
    assert book.tables["indicators"].data["zone"].iat[-1] == "企业03000"


def test_allocator_tuning_is_available_on_linux():
    """The large-job memory figures in the README rely on it; elsewhere both calls are no-ops."""
    import sys
    from xltools import memory
    if sys.platform.startswith("linux"):
        assert memory.tune() is True
    memory.release()


@pytest.mark.parametrize("cells, more", [
    ('<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>', True),
    ('<row r="1"><c s="0" r="XFD1048576" t="n"><v>2</v></c></row>', True),                   # r not first
    ('<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576" s="1" customFormat="1"/>', False),  # row style only
    ("".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="T{r}"><v>1</v></c></row>' for r in range(1, 400)), False),
])
def test_span_of_a_sheet_is_measured_from_its_cells(cells, more):
    """python-calamine allocates the rectangle from A1 to the farthest cell (calamine #693): that
    rectangle, not the XML size, decides whether a sheet may be handed to it."""
    xml = f'<worksheet><dimension ref="A1"/><sheetData>{cells}</sheetData></worksheet>'.encode()
    assert xs.spans_more_than(xml, reader.DENSE_CELLS_MAX) is more
    prefixed = xml.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")
    assert xs.spans_more_than(prefixed, reader.DENSE_CELLS_MAX) is more


@pytest.mark.slow
def test_sheet_with_a_far_away_cell_is_streamed_sparsely(tmp_path, monkeypatch):
    """One stray value in XFD1048576 of a small workbook: the sheet never reaches calamine, the
    piecewise reader never builds the 17-billion-cell block, and the stray row is reported."""
    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>开发区名称</t></is></c><c r="B1" t="inlineStr"><is><t>年度</t></is></c>'
            '<c r="C1" t="inlineStr"><is><t>税收收入(万元)</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t>甲区</t></is></c><c r="B2"><v>2023</v></c><c r="C2"><v>5</v></c></row>'
            '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>远端</t></is></c></row>')
    path = _write_sheet_xml(tmp_path, f"<sheetData>{data}</sheetData>", name="far.xlsx")
    loaded = []
    real = pc.CalamineWorkbook.get_sheet_by_name
    monkeypatch.setattr(pc.CalamineWorkbook, "get_sheet_by_name", lambda self, n: (loaded.append(n), real(self, n))[1])
    largest = []
    real_full = np.full
    monkeypatch.setattr(xs.np, "full", lambda shape, *a, **k: (largest.append(np.prod(shape)), real_full(shape, *a, **k))[1])
    book = read_book(path)
    assert loaded == [] and max(largest, default=0) <= xs.BLOCK_CELLS
    assert book.frame("indicators")["zone"].tolist() == ["甲区"]
    assert {p.cell for p in book.problems} == {"指标!A1048576", "指标!B1048576"}      # 必填项为空，本行未读入


def test_sparse_rows_equal_the_dense_block(monkeypatch):
    """The row-by-row layout used for far-apart cells gives the same rows as the dense block."""
    path = COMMITTED[0]
    with zipfile.ZipFile(path) as zf:
        names = list(ooxml.sheet_parts(zf))
    dense = {n: streamed(path, n) for n in names}
    monkeypatch.setattr(xs, "BLOCK_CELLS", 0)
    assert {n: streamed(path, n) for n in names} == dense
