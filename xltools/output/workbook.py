"""Write result tables into a new, formatted workbook — atomically.

Each value becomes a cell by the one cell policy (output/cells.py): every text is a string cell
(never a formula); text that starts with =, +, - or @ also gets Excel's quote prefix so that
editing the cell later cannot turn it into one. The file is written atomically (output/xlsxfile.py:
a temporary name beside the target, moved into place only when complete).
"""

from __future__ import annotations

import math
import os
import re
from itertools import chain, repeat
from xml.sax.saxutils import escape
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ooxml
from ..problems import col_letter
from ..results import CHARTS, FORMATS, NOTES, ResultColumn, continued_name, declaration
from .cells import FORMULA_START, fit_cell, to_cell
from .sheets import round_stored
from .xlsxfile import FIXED_DATE, SheetWriter, atomic_xlsx, display_width

STATUS_COLOURS = {
    "错误": "#F8CBAD", "不合规": "#F8CBAD", "警告": "#FFE699", "预警": "#FFE699",
    "合规": "#C6EFCE", "数据缺失": "#D9D9D9", "数据不全": "#D9D9D9",
    "不合格": "#F8CBAD", "一票否决": "#F8CBAD", "不参与排名": "#D9D9D9",          # 等次
    "约束": "#F8CBAD", "激励": "#C6EFCE",                                          # 奖惩建议 类别
    "无法读取": "#F8CBAD", "有错误": "#F8CBAD", "有警告": "#FFE699", "正常": "#C6EFCE",   # 文件清单 状态
}
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHART_MAX_ROWS = 300


def _is_blank(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


MAX_WIDTH = 48            # a long text column (依据, 说明) is cut on screen, not the page


def column_specs(name: str, frame: pd.DataFrame) -> list[ResultColumn]:
    """Each column's declaration (results.py); undeclared numeric ones by what they hold."""
    decl = declaration(name)
    specs = []
    for c, col in enumerate(frame.columns):
        values = frame.iloc[:, c]
        whole = None
        if values.dtype.kind in "iuf":
            v = values.to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            whole = bool(np.all(v == np.floor(v)))
        specs.append(decl.column(str(col), whole))
    return specs


def stored(frame: pd.DataFrame, specs: list[ResultColumn]) -> pd.DataFrame:
    """`frame` as written: headers with their units, floats rounded as their kind is stored."""
    columns = []
    for c, spec in enumerate(specs):
        values = frame.iloc[:, c]
        if values.dtype.kind == "f" and spec.kind not in ("score", "text"):
            values = pd.Series(round_stored(values.to_numpy(), spec.kind), index=frame.index)
        columns.append(values)
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = [s.header for s in specs]
    return out


def _year_text(frame: pd.DataFrame, assessed: bool = False) -> str:
    """The year a sheet's page header names: the span of its 年度 column (2019—2023年度 for data
    over several years) or, for a sheet of the 考核年度 (`assessed`: rankings, analysis, salaries),
    that year — with the 考核范围 assessed on another year named, never as a span."""
    if "年度" not in frame or not len(frame):
        return ""
    years = pd.to_numeric(frame["年度"], errors="coerce")
    valid = years.notna()
    if not valid.any():
        return ""
    if assessed:
        scopes = frame["考核范围"] if "考核范围" in frame else pd.Series("", index=frame.index)
        per_scope = years[valid].groupby(scopes[valid].astype(str), sort=False).max().astype(int)
        main = int(per_scope.max())
        others = [f"{s}：{y}年度" for s, y in per_scope.items() if y != main]
        return f"{main}年度" + (f"（{'；'.join(others)}）" if others else "")
    years = years[valid].astype(int)
    lo, hi = int(years.min()), int(years.max())
    return f"{lo}年度" if lo == hi else f"{lo}—{hi}年度"


class ResultWriter(SheetWriter):
    """Formats shared by every result sheet, each sheet laid out from its declaration (results.py).

    With `fast=True` (result workbooks) XlsxWriter lays out each sheet — widths, frozen header,
    filter, conditional colours, print setup — but the cells themselves are streamed into the
    sheet XML afterwards (`fill_sheets`), about ten times faster than writing them cell by cell.
    `basis` names the 口径 for page headers; `profile_names` turns a 政策口径 column's ids into names.
    """

    def __init__(self, wb, fast: bool = False, basis: str = "",
                 profile_names: Mapping[str, str] | None = None):
        super().__init__(wb)
        self.fast = fast
        self.basis = basis
        self.profile_names = dict(profile_names or {})
        self.pending: dict[int, tuple[pd.DataFrame, list]] = {}
        self.status = {k: wb.add_format({"bg_color": v}) for k, v in STATUS_COLOURS.items()}

    def basis_of(self, frame: pd.DataFrame) -> str:
        """口径 of the rows of `frame`: its 政策口径 column (names, not ids), else the run's."""
        if "政策口径" in frame and len(frame):
            ids = [str(v) for v in pd.unique(frame["政策口径"].dropna())]
            names = list(dict.fromkeys(self.profile_label(i) for i in ids))
            if names:
                return "口径：" + "、".join(names)
        return f"口径：{self.basis}" if self.basis else ""

    def profile_label(self, label: str) -> str:
        """「default（ningxia 无此规则）」 → the profiles' names in place of their ids."""
        if not self.profile_names:
            return label
        pattern = "|".join(sorted(map(re.escape, self.profile_names), key=len, reverse=True))
        return re.sub(rf"(?<![A-Za-z_])({pattern})(?![A-Za-z_])", lambda m: self.profile_names[m.group(1)], label)

    def finish(self, path: Path) -> None:
        """Stream the deferred cells (`fast`) into the closed workbook at `path`."""
        if self.pending:
            fill_sheets(path, self.pending, {"header": self.header.xf_index, "int": self.integer.xf_index,
                                             "num": self.number.xf_index, "quoted": self.quoted.xf_index})

    def write_frame(self, name: str, frame: pd.DataFrame, widths: Mapping[str, int] | None = None):
        """Add sheet `name` holding `frame`; returns the worksheet."""
        ws = self.wb.add_worksheet(name)
        decl = declaration(name)
        specs = column_specs(name, frame)
        formats = [self.kind_format(s.kind) for s in specs]
        shown = stored(frame, specs)
        cols = list(shown.columns)
        values = shown.head(200).to_numpy(dtype=object)          # widths need a sample only
        if self.fast:
            self.pending[len(self.wb.worksheets())] = (shown, formats)
            for fmt in (self.header, self.quoted, *formats):
                fmt._get_xf_index()                      # make sure styles.xml carries them
        else:
            for c, col in enumerate(cols):
                ws.write_string(0, c, str(col), self.header)
            for r, row in enumerate(shown.to_numpy(dtype=object), start=1):
                for c, value in enumerate(row):
                    self.write_cell(ws, r, c, value, formats[c])
        n = len(shown)
        ws.freeze_panes(1, 0)
        if cols:
            ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
        for c, col in enumerate(cols):
            width = (widths or {}).get(col)
            if width is None:
                sample = [self._shown_width(v, specs[c].kind) for v in values[:, c] if not _is_blank(v)] if n else []
                width = min(MAX_WIDTH, max([min(display_width(str(col)), 24) + 2] + [x + 2 for x in sample]))
            ws.set_column(c, c, width, formats[c])
        for c, spec in enumerate(specs):
            if spec.name in decl.status and n:
                for word, fmt in self.status.items():
                    ws.conditional_format(1, c, n, c, {"type": "cell", "criteria": "==",
                                                         "value": f'"{word}"', "format": fmt})
                ws.conditional_format(1, c, n, c, {"type": "text", "criteria": "begins with",   # 数据不全（3 项…）
                                                     "value": "数据不全", "format": self.status["数据缺失"]})
        self.print_setup(ws, decl.title, _year_text(frame, decl.assessed), self.basis_of(frame), n, len(cols))
        return ws

    @staticmethod
    def _shown_width(value, kind: str) -> int:
        if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_)):
            fmt = FORMATS.get(kind)
            v = float(value)
            if not math.isfinite(v):
                return 0
            if fmt and "%" in fmt:
                return len(f"{v:.2%}")
            digits = 2 if fmt in ("#,##0.00", "0.00") else 4 if fmt == "0.0000" else 0
            return len(f"{v:,.{digits}f}")
        return display_width(str(value))

def text_xml(text: str) -> str:
    """Cell text as XML character data: escaped, control characters XML cannot hold dropped."""
    if not text.isprintable() or "<" in text or ">" in text or "&" in text:   # rare: escape properly
        text = escape(_ILLEGAL_XML.sub("", text))
    return text


class SharedStrings(dict):
    """The workbook's shared-string table: text → index, assigned in order of first use.

    Result sheets repeat the same texts thousands of times (rule names, conclusions, sources);
    a cell then holds only an index, so the sheet XML is several times smaller and quicker to
    write, compress and open — as Excel itself stores text.
    """

    def __missing__(self, text: str) -> int:
        self[text] = index = len(self)
        return index

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{text_xml(t)}</t></si>' for t in self)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<sst xmlns="{MAIN_NS}" uniqueCount="{len(self)}">{items}</sst>')


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _text_tail(text: str, quoted_xf: int, sst: SharedStrings | None) -> str:
    """The part of a text cell after its reference: quote-prefixed style if it looks like a formula;
    an index into `sst`, or the text itself (inline) when there is no table to share."""
    text = fit_cell(text)
    style = f' s="{quoted_xf}"' if text.startswith(FORMULA_START) else ""
    if sst is None:
        return f'{style} t="inlineStr"><is><t xml:space="preserve">{text_xml(text)}</t></is></c>'
    return f'{style} t="s"><v>{sst[text]}</v></c>'


def _sharing(values: list, sst: SharedStrings) -> SharedStrings | None:
    """`sst` for a column whose texts repeat; None (inline) for one of mostly distinct texts, such
    as 200,000 enterprise names: sharing them saves nothing and would hold them all in a table."""
    try:
        return sst if 2 * len(set(values)) <= len(values) else None
    except TypeError:                    # an unhashable cell value (written as its text)
        return sst


def row_numbers(first_row: int, n: int) -> list[str]:
    """Row numbers as text, made once per chunk and shared by all its columns."""
    return [str(r) for r in range(first_row, first_row + n)]


def _cells_xml(values: list, col: int, rows: list[str], xf: dict[str, int], sst: SharedStrings | None) -> list[str]:
    """XML of one column's cells in `rows` (see row_numbers); empty string for a blank cell."""
    letter = col_letter(col)
    i_xf, n_xf, q_xf = xf["int"], xf["num"], xf["quoted"]
    out = []
    append = out.append
    for r, v in zip(rows, values):
        if type(v) is not str:
            v = to_cell(v)                     # the one cell policy (output/cells.py)
        if v is None:
            append("")
        elif type(v) is str:
            append(f'<c r="{letter}{r}"{_text_tail(v, q_xf, sst)}')
        elif type(v) is int or (v.is_integer() and abs(v) < 1e15):
            append(f'<c r="{letter}{r}" s="{i_xf}"><v>{int(v)}</v></c>')
        else:
            append(f'<c r="{letter}{r}" s="{n_xf}"><v>{v!r}</v></c>')
    return out


def _number_cells(values: np.ndarray, col: int, rows: list[str], xf: dict[str, int]) -> list[str]:
    """`_cells_xml` for a float or integer column, its type tests done once for the whole column."""
    ref = f'<c r="{col_letter(col)}'
    as_int, as_num = f'" s="{xf["int"]}"><v>', f'" s="{xf["num"]}"><v>'
    if values.dtype.kind in "iu":
        return [f"{ref}{r}{as_int}{v}</v></c>" for r, v in zip(rows, values.tolist())]
    shown = np.isfinite(values)
    whole = shown & (np.abs(values) < 1e15) & (np.floor(values) == values)
    kind = (shown.astype(np.int8) + whole).tolist()              # 0 blank, 1 decimal, 2 whole
    ints = np.where(whole, values, 0).astype(np.int64).tolist()
    return ["" if k == 0 else (f"{ref}{r}{as_int}{i}</v></c>" if k == 2 else f"{ref}{r}{as_num}{v!r}</v></c>")
            for r, k, i, v in zip(rows, kind, ints, values.tolist())]


def _text_cells(values: list, col: int, rows: list[str], xf: dict[str, int], sst: SharedStrings | None) -> list[str]:
    """`_cells_xml` for a text column: each distinct text is escaped once (results repeat a lot)."""
    ref = f'<c r="{col_letter(col)}'
    tails: dict[str, str] = {}

    def tail(v: str) -> str:
        tails[v] = out = '"' + _text_tail(v, xf["quoted"], sst)
        return out

    return [ref + r + (tails.get(v) or tail(v)) if type(v) is str else "" for r, v in zip(rows, values)]


ROWS_PER_CHUNK = 5000


def sheet_data_chunks(frame: pd.DataFrame, xf: dict[str, int], sst: SharedStrings,
                      column_xf: list[int] | None = None):
    """<sheetData> of a result sheet in chunks: header row plus every value (text never a formula).
    `column_xf` gives each column's one number style (its declared format); without it numbers are
    styled by value (whole numbers "0", others "#,##0.00")."""
    cols = list(frame.columns)
    styles = [xf if column_xf is None else {**xf, "int": column_xf[c], "num": column_xf[c]} for c in range(len(cols))]
    header = "".join(f'<c r="{col_letter(c)}1" s="{xf["header"]}" t="s"><v>{sst[str(name)]}</v></c>'
                     for c, name in enumerate(cols))
    yield f'<sheetData><row r="1">{header}</row>'
    for start in range(0, len(frame), ROWS_PER_CHUNK):     # boxed Python values exist for one chunk only
        part = frame.iloc[start:start + ROWS_PER_CHUNK]
        rows = row_numbers(start + 2, len(part))
        columns = []
        for c in range(len(cols)):
            values = part.iloc[:, c].to_numpy()
            if values.dtype.kind in "fiu":
                columns.append(_number_cells(values, c, rows, styles[c]))
            else:
                cells = part.iloc[:, c].to_numpy(dtype=object).tolist()
                typed = _text_cells if isinstance(part.dtypes.iloc[c], pd.StringDtype) else _cells_xml
                columns.append(typed(cells, c, rows, styles[c], _sharing(cells, sst)))
        opens = [f'<row r="{r}">' for r in rows]
        yield "".join(chain.from_iterable(zip(opens, *columns, repeat("</row>"))))   # one join per chunk
    yield "</sheetData>"


SST_PART = "xl/sharedStrings.xml"


def _declare_shared_strings(name: str, data: bytes) -> bytes:
    """[Content_Types].xml and the workbook's relationships, announcing the shared-string part."""
    if name == ooxml.CONTENT_TYPES:
        return ooxml.add_override(data, SST_PART, ooxml.SHARED_STRINGS_TYPE)
    if name == ooxml.rels_part(ooxml.WORKBOOK):
        return ooxml.add_relationship(data, ooxml.SHARED_STRINGS_REL, ooxml.relative_target(ooxml.WORKBOOK, SST_PART))[0]
    return data


def fill_sheets(path: Path, pending: Mapping[int, tuple[pd.DataFrame, list]], xf: dict[str, int]) -> None:
    """Stream the cells of `pending` (1-based sheet number → (table, each column's format)) into the workbook at `path`,
    their texts into a shared-string table (XlsxWriter wrote no cells, hence none of its own)."""
    import zipfile

    tmp = path.with_name(path.stem + "-fill" + path.suffix)   # still matches the partial-file pattern
    try:
        sst = SharedStrings()
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            if SST_PART in zin.namelist():
                raise RuntimeError("fill_sheets: the workbook already has shared strings (cells written by XlsxWriter)")
            for info in zin.infolist():
                data = zin.read(info.filename)
                m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
                if not (m and int(m.group(1)) in pending):
                    zout.writestr(info, _declare_shared_strings(info.filename, data))
                    continue
                frame, formats = pending[int(m.group(1))]
                xml = data.decode("utf-8")
                last = f"{col_letter(max(len(frame.columns) - 1, 0))}{len(frame) + 1}"
                xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>', xml, count=1)
                found = re.search(r"<sheetData>.*?</sheetData>|<sheetData/>", xml, flags=re.S)
                head, tail = xml[:found.start()], xml[found.end():]
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                _fast_deflate(zi)
                with zout.open(zi, "w", force_zip64=True) as fh:   # streamed: a 200k-row sheet never sits in memory
                    fh.write(head.encode("utf-8"))
                    for chunk in sheet_data_chunks(frame, xf, sst, [f._get_xf_index() for f in formats]):
                        fh.write(chunk.encode("utf-8"))
                    fh.write(tail.encode("utf-8"))
            zi = zipfile.ZipInfo(SST_PART, date_time=info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            _fast_deflate(zi)
            zout.writestr(zi, sst.xml().encode("utf-8"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():                  # a fill interrupted half-way
            tmp.unlink()


def _fast_deflate(info) -> None:
    """Deflate level 1 for result sheets: regenerated at will, so speed beats the last few per cent of size."""
    for attr in ("compress_level", "_compresslevel"):   # the name changed in Python 3.13
        try:
            setattr(info, attr, 1)
            return
        except AttributeError:
            continue


def atomic_workbook(path: str | Path, properties: dict | None = None, constant_memory: bool = False,
                    fast: bool = False):
    """Yield (workbook, ResultWriter) for a new workbook at `path`; it appears only when complete."""
    return atomic_xlsx(path, properties, constant_memory, lambda wb: ResultWriter(wb, fast=fast))


BIG_SHEET_ROWS = 20_000   # above this, stream rows to disk (XlsxWriter constant_memory)


EXCEL_DATA_ROWS = 1_048_575     # rows below the header that an Excel sheet holds


def fit_excel(sheets: Mapping[str, pd.DataFrame], rows: int | None = None) -> dict[str, pd.DataFrame]:
    """A table taller than a sheet continues on 「名称（续2）」, 「名称（续3）」…, nothing is dropped."""
    rows = rows or EXCEL_DATA_ROWS
    out: dict[str, pd.DataFrame] = {}
    for name, frame in sheets.items():
        for part, start in enumerate(range(0, max(len(frame), 1), rows), start=1):
            out[continued_name(name, part)] = frame.iloc[start:start + rows]
    return out


def run_basis(sheets: Mapping[str, pd.DataFrame]) -> tuple[str, dict[str, str]]:
    """The run's 口径 for page headers (the names of the profiles 计算说明 says were used, found by
    their labels such as 青岛口径), and profile id → name."""
    from ..profiles import ProfileError, builtin_ids, load_profile

    names, labels = {}, {}
    for pid in builtin_ids():
        try:
            prof = load_profile(pid)
        except ProfileError:
            continue
        names[pid] = re.split("[（(]", prof.name)[0]       # the name without its gloss
        labels[prof.label] = names[pid]
    notes = sheets.get(NOTES)
    used = []
    if notes is not None and {"项目", "内容"} <= set(notes.columns):
        items = notes["项目"].isin(["政策口径", "排名·政策口径", "排名·政策口径选择"])
        text = "；".join(str(v) for v in notes.loc[items, "内容"])
        found = {label: m.start() for label in labels if (m := re.search(re.escape(label), text))}
        used = [labels[label] for label in sorted(found, key=found.get)]
    return "、".join(dict.fromkeys(used)), names


def write_results(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, deterministic: bool = False) -> Path:
    """Write `sheets` (name → table) as a new workbook at `path`, atomically: each sheet laid out
    from its declaration (results.py), plus a 「图表」 sheet of native charts when the
    results have something to chart."""
    from .charts import chart_sheet

    sheets = dict(sheets)
    charts = chart_sheet(sheets)
    if charts is not None:
        notes = sheets.pop(NOTES, None)
        sheets[CHARTS] = charts.data
        if notes is not None:
            sheets[NOTES] = notes
    sheets = fit_excel(sheets)
    big = any(len(f) > BIG_SHEET_ROWS for f in sheets.values())
    with atomic_workbook(path, {"created": FIXED_DATE} if deterministic else None, constant_memory=big,
                         fast=True) as (wb, writer):
        writer.basis, writer.profile_names = run_basis(sheets)
        for name, frame in sheets.items():
            ws = writer.write_frame(name, frame)
            if charts is not None and name == CHARTS:
                charts.draw(wb, ws)
    return Path(path)
