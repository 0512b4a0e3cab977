"""The numpy decoding of sheet XML pieces (intake/xlsxcells.py) against independent readers.

- Numbers: every decimal text decodes to the double Python's float() gives (a correctly rounded
  parser), bit for bit — the SWAR path and numpy's string conversion alike.
- Pieces: for generated cells of every kind and layout, the numpy reading gives the cells the
  regular-expression/ElementTree reader gives, or refuses the piece (never a different value).
- Workbooks: sheets written by XlsxWriter (shared and inline strings), openpyxl and LibreOffice
  read exactly as python-calamine reads them, and through the numpy path (not a fallback).
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from html import escape
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools import ooxml
from xltools.problems import col_letter
from xltools.intake import xlsxcells, xlsxstream as xs
from test_xlsxstream import calamine, streamed

NUMBER_TEXT = st.from_regex(r"\A-?[0-9]{0,9}(\.[0-9]{0,9})?([eE][+-]?[0-9]{1,3})?\Z").filter(
    lambda s: any(c.isdigit() for c in s.split("e")[0].split("E")[0]))


def _decode(texts: list[str]) -> np.ndarray:
    piece = "".join(f"<v>{t}</v>" for t in texts).encode()
    starts, at = [], 0
    for t in texts:
        starts.append(at + 3)
        at += len(t) + 7
    starts = np.array(starts, dtype=np.int64)
    ends = starts + np.array([len(t) for t in texts], dtype=np.int64)
    return xlsxcells.numbers(piece, xlsxcells.words_of(piece), starts, ends)


def _same(a: float, b: float) -> bool:
    return a == b and math.copysign(1, a) == math.copysign(1, b) or (math.isnan(a) and math.isnan(b))


@settings(max_examples=400, deadline=None)
@given(st.lists(NUMBER_TEXT, min_size=1, max_size=30))
def test_decimal_texts_decode_as_python_float(texts):
    got = _decode(texts)
    for text, value in zip(texts, got.tolist()):
        assert _same(value, float(text)), (text, value, float(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30))
def test_numbers_as_writers_write_them(values):
    """repr (openpyxl, LibreOffice) and "%.16G" (XlsxWriter) of any double."""
    for texts in ([repr(v) for v in values], ["%.16G" % v for v in values]):
        got = _decode(texts)
        assert all(_same(g, float(t)) for g, t in zip(got.tolist(), texts)), texts


def test_short_decimals_take_the_integer_path():
    """Plain decimals of up to 8 characters never reach numpy's string conversion (the fast path)."""
    texts = ["0", "-0", "7", "-12.5", "2023", "0.35", ".5", "5.", "12345678", "-1234567", "9999.999"]
    real = xlsxcells._parse_texts
    xlsxcells._parse_texts = lambda *a: pytest.fail("string conversion used")
    try:
        got = _decode(texts)
    finally:
        xlsxcells._parse_texts = real
    assert all(_same(g, float(t)) for g, t in zip(got.tolist(), texts))


def test_a_text_that_is_no_number_is_refused():
    with pytest.raises(ValueError):
        _decode(["12", "abc"])


# --- pieces: numpy reading against the thorough reader -------------------------------------------

STRINGS = np.array(["共享", "第二条 & <x>"], dtype=object)
DATE_STYLE = 1

TEXT = st.text(st.sampled_from(list("ab 中文&<>\"'，,.-1") + ["\u3000"]), max_size=8)


# kind → (attributes, body): {v} the value as written, {x} the value escaped as XML text
CELL_FORMS = {
    "number": ({}, "<v>{v}</v>"),
    "date": ({"s": str(DATE_STYLE)}, "<v>{v}</v>"),
    "shared": ({"t": "s"}, "<v>{v}</v>"),
    "inline": ({"t": "inlineStr"}, "<is><t{space}>{x}</t></is>"),
    "str": ({"t": "str"}, '<f>A1&amp;"x"</f><v>{x}</v>'),
    "bool": ({"t": "b"}, "<v>{v}</v>"),
    "error": ({"t": "e"}, "<f>1/0</f><v>#DIV/0!</v>"),
    "formula": ({}, '<f t="shared" ref="A1:A9" si="0"/><v>{v}</v>'),
    "formula-only": ({}, "<f>SUM(A1:A2)</f>"),
    "v-empty": ({}, "<v/>"),
    "styled-blank": ({"s": "0"}, ""),
}


def _cell_xml(ref: str, kind: str, value, order: int, extra: bool) -> str:
    more, body = CELL_FORMS[kind]
    attrs = {"r": ref, **more, **({"cm": "1"} if extra else {})}
    space = ' xml:space="preserve"' if isinstance(value, str) and value != value.strip() else ""
    body = body.format(v=value, x=escape(str(value), quote=False), space=space)
    names = list(attrs)
    if order and len(names) > 2:
        names = [names[0]] + names[1:][::-1]               # t before s, as some writers order them
    text = " ".join(f'{k}="{attrs[k]}"' for k in names)
    return f"<c {text}/>" if not body else f"<c {text}>{body}</c>"


KINDS = tuple(CELL_FORMS)


@st.composite
def pieces(draw):
    rows = []
    r = 0
    for _ in range(draw(st.integers(1, 6))):
        r += draw(st.integers(1, 3))
        cols = sorted(draw(st.sets(st.integers(0, 30), min_size=1, max_size=6)))
        cells = []
        for c in cols:
            kind = draw(st.sampled_from(KINDS))
            value = {"number": draw(NUMBER_TEXT) if draw(st.booleans()) else repr(draw(st.floats(-1e9, 1e9))),
                     "date": repr(draw(st.floats(0, 80000).map(lambda v: round(v, 4)))),
                     "shared": draw(st.integers(0, 1)), "inline": draw(TEXT), "str": draw(TEXT),
                     "bool": draw(st.sampled_from("01")), "formula": draw(st.integers(0, 99))}.get(kind, "")
            cells.append(_cell_xml(f"{col_letter(c)}{r}", kind, value, draw(st.integers(0, 1)), draw(st.booleans())))
        spans = ' spans="1:31"' if draw(st.booleans()) else ""
        rows.append(f'<row r="{r}"{spans}>{"".join(cells)}</row>')
    return "".join(rows)


def _stream() -> xs.Stream:
    return xs.Stream(None, "", STRINGS, {DATE_STYLE})


def _thorough(piece: bytes):
    stream = _stream()
    stream._cells_fast = lambda piece: None
    return stream._cells(piece)


def _typed(values) -> list:
    objects = values.objects() if isinstance(values, xs.Values) else values
    return [(type(v).__name__, v) for v in objects.tolist()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces())
def test_numpy_reading_gives_the_thorough_readers_cells(xml):
    piece = xml.encode()
    try:
        expected = _thorough(piece)
    except ValueError:                    # a number text float() refuses: the fast path must refuse it too
        assert _stream()._cells_fast(piece) is None
        return
    fast = _stream()._cells_fast(piece)
    assert fast is not None, xml          # every layout generated here is one the numpy path takes
    assert fast[0].tolist() == expected[0].tolist() and fast[1].tolist() == expected[1].tolist()
    assert _typed(fast[2]) == _typed(expected[2]), xml


@pytest.mark.parametrize("xml", [
    '<row r="1"><c r="A1" t="inlineStr"><is><r><t>富</t></r><r><t>文本</t></r></is></c></row>',   # rich inline
    '<row r="1"><c t="s"><v>0</v></c></row>',                                                   # no reference
    '<row r="1"><c r="A1">\n  <v>1</v>\n</c></row>',                                            # indented
    '<row r="1"><c r="A1"><v>1</v><extLst/></c></row>',                                          # unknown markup
    '<row r="1"><c r="AAAA1"><v>1</v></c></row>',                                                # not a column
    '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',                                            # no such string
])
def test_unusual_pieces_are_left_to_the_thorough_reader(xml):
    assert _stream()._cells_fast(xml.encode()) is None


@pytest.mark.parametrize("xml", [
    '<row r="1"><c r="A2"><v>1</v></c><c r="B3"><v>2</v></c></row>',       # a cell's own row counts, as in calamine
    '<row><c r="A1"><v>1</v></c></row><row><c r="C12"><v>2</v></c></row>',  # rows without r
    '<row spans="1:2" r="4"><c r="A4"><v>1</v></c></row>',                 # r not first
    '<row r="9"><c r="A9"><v>1</v></c></row><row r="10"><c r="A10"><v>2</v></c></row>',
])
def test_cell_references_decide_the_row(xml):
    fast, expected = _stream()._cells_fast(xml.encode()), _thorough(xml.encode())
    assert fast[0].tolist() == expected[0].tolist() and fast[1].tolist() == expected[1].tolist()


def test_white_space_between_cells_is_read_alike():
    xml = '<row r="1">\n  <c r="A1"><v>1</v></c>\n  <c r="B1" t="s"><v>1</v></c>\n</row>\n'
    fast, expected = _stream()._cells_fast(xml.encode()), _thorough(xml.encode())
    assert _typed(fast[2]) == _typed(expected[2]) == [("float", 1.0), ("str", STRINGS[1])]


# --- whole workbooks: against python-calamine, through the numpy path ------------------------------

def _fast_pieces(monkeypatch) -> dict[str, int]:
    counts = {"fast": 0, "refused": 0}
    real = xs.Stream._cells_fast

    def spy(self, piece):
        out = real(self, piece)
        counts["fast" if out is not None else "refused"] += 1
        return out

    monkeypatch.setattr(xs.Stream, "_cells_fast", spy)
    return counts


def _grid_rows(rng: np.random.Generator, n: int) -> list[list]:
    names = ["企业 & <甲>", "乙\"公司\"", " 前后空格 ", "１２３", "=1+1", "1,234.5"]
    out = []
    for i in range(n):
        out.append([names[i % len(names)] + str(i), float(rng.lognormal(3, 2)), -float(rng.integers(0, 10**6)),
                    float(rng.random()) * 10 ** int(rng.integers(-12, 20)), bool(i % 2), dt.datetime(2023, 1, 1) +
                    dt.timedelta(days=int(i), minutes=int(i) * 7), 0.1 + 0.2, 2023, None if i % 3 else "", 1e-300])
    return out


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared-strings", "inline-strings"])
def test_xlsxwriter_sheets_read_as_calamine_reads_them(tmp_path, monkeypatch, constant_memory):
    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    ws = wb.add_worksheet("指标")
    date = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for r, row in enumerate(_grid_rows(np.random.default_rng(7), 400)):
        for c, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, date)
            elif v is not None:
                ws.write(r, c, v)
    ws.write_formula(400, 0, "=B1*2", None, 12.5)
    wb.close()
    counts = _fast_pieces(monkeypatch)
    assert streamed(path, "指标", piece=4000) == calamine(path, "指标")
    assert counts["fast"] > 5 and counts["refused"] == 0


def test_openpyxl_sheet_reads_as_calamine_reads_it(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标"
    for row in _grid_rows(np.random.default_rng(8), 300):
        ws.append(row)
    ws["L5"] = "=SUM(B1:B3)"
    path = tmp_path / "o.xlsx"
    wb.save(path)
    counts = _fast_pieces(monkeypatch)
    assert streamed(path, "指标", piece=3000) == calamine(path, "指标")
    assert counts["fast"] > 5 and counts["refused"] == 0


def test_libreoffice_sheet_reads_as_calamine_reads_it(tmp_path, monkeypatch):
    from libreoffice import convert_to_xlsx
    src = tmp_path / "src.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("指标")
    for r, row in enumerate(_grid_rows(np.random.default_rng(9), 200)):
        ws.write_row(r, 0, [v for v in row if not isinstance(v, dt.datetime) and v is not None])
    wb.close()
    path = convert_to_xlsx(src, tmp_path, "Calc MS Excel 2007 XML")
    with zipfile.ZipFile(path) as zf:
        name = next(iter(ooxml.sheet_parts(zf)))
    counts = _fast_pieces(monkeypatch)
    assert streamed(path, name, piece=3000) == calamine(path, name)
    assert counts["fast"] > 3 and counts["refused"] == 0


def test_big_sheet_numbers_reach_typing_as_float_arrays(tmp_path, monkeypatch):
    """A streamed sheet's number columns are typed from float arrays, not one Python float per cell."""
    from xltools.intake import coerce, read_book, reader
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("指标")
    ws.write_row(0, 0, ["开发区名称", "年度", "税收收入（万元）"])
    for r in range(1, 6001):
        ws.write_row(r, 0, [f"企业{r:05d}", 2023, r * 1.25])
    wb.close()
    monkeypatch.setattr(reader, "STREAM_XML_BYTES", 10_000)
    monkeypatch.setattr(xs, "PIECE_BYTES", 20_000)
    seen = []
    real = coerce.coerce_column
    monkeypatch.setattr("xltools.intake.table.coerce_column",
                        lambda raw, col, unit="": (seen.append((col.key, type(raw).__name__)), real(raw, col, unit))[1])
    book = read_book(path)
    assert book.tables["indicators"].data["tax"].sum() == pytest.approx(1.25 * 6000 * 6001 / 2)
    assert ("tax", "ndarray") in seen
