"""Read the ".xls" files that are not workbooks: web pages (HTML) and XML Spreadsheet 2003.

Many government information systems export tables as an HTML page or an XML 2003 file named
`.xls`; Excel and WPS open them (after a warning), so officials submit them as they are. Each
table becomes one grid, as Excel lays it out when it opens the file: the table from A1, a cell
spanning rows or columns (rowspan/colspan, MergeAcross/MergeDown) giving its value to every cell
it covers, like a merged area of a workbook. Values are the texts shown (numbers from Excel's own
`x:num` attribute or XML `Number` cells), typed later like any text cell.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import xml.etree.ElementTree as ET

MAX_CELLS = 2_000_000       # a grid larger than this (spans or indices gone wild) is refused; a 100 MB
                            # page holds fewer cells, and each costs ~150 bytes while laid out
MAX_SPAN_CELLS = 10_000     # a cell spanning more than this (rowspan × colspan) is taken as one cell
SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_SHEET_NAME = re.compile(r"<x:Name>([^<]+)</x:Name>")       # Excel's own HTML export names its sheets
_SPACE = re.compile(r"[ \t\r\n\f\xa0\u3000]+")
_ODD_SPACE = re.compile(r"[\t\r\n\f\xa0\u3000]| {2}")     # anything more than .strip() to fold


class WebTableError(ValueError):
    """The file is an HTML or XML 2003 table but cannot be laid out (the message is Chinese)."""


def decode(data: bytes) -> str:
    """Text of an exported page: its BOM, else its declared charset (GB2312 pages are common), else
    UTF-8, else GB18030."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, "replace")
    declared = _CHARSET.search(data[:4096])
    codecs = [declared.group(1).decode("ascii").lower()] if declared else []
    for codec in [*codecs, "utf-8", "gb18030"]:
        try:
            return data.decode("gb18030" if codec in ("gb2312", "gbk") else codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


class _Layout:
    """Cells placed one by one into a grid, skipping the places a rowspan from above covers.

    Placements are kept as rectangles and laid out once at the end, each row of a span by one
    slice assignment: memory is the grid itself, whatever the spans.
    """

    def __init__(self):
        self.placed: list[tuple[int, int, int, int, object]] = []    # row, col, rows, cols, value
        self.covered: dict[int, int] = {}     # column → last row a span from above covers
        self.row, self.col = -1, 0
        self.height = self.width = self.area = 0

    def next_row(self, index: int | None = None) -> None:
        self.row = self.row + 1 if index is None else index
        self.col = 0

    def place(self, value: object, rows: int = 1, cols: int = 1, index: int | None = None) -> None:
        if index is not None:
            self.col = index
        if self.covered:
            while self.covered.get(self.col, -1) >= self.row:
                self.col += 1
        if not (rows >= 1 and cols >= 1 and rows * cols <= MAX_SPAN_CELLS):
            rows = cols = 1
        self.height, self.width = max(self.height, self.row + rows), max(self.width, self.col + cols)
        self.area += rows * cols
        if self.height * self.width > MAX_CELLS or self.area > 2 * MAX_CELLS:   # far indices, or spans piled up
            raise WebTableError(f"表格范围过大（超过 {MAX_CELLS:,} 个单元格），请在 Excel 中另存为 .xlsx 后再提交")
        if rows > 1:
            for c in range(self.col, self.col + cols):
                self.covered[c] = max(self.covered.get(c, -1), self.row + rows - 1)
        self.placed.append((self.row, self.col, rows, cols, value))
        self.col += cols

    def grid(self) -> list[list[object]]:
        out = [[""] * self.width for _ in range(self.height)]
        for r, c, rows, cols, value in self.placed:
            fill = [value] * cols
            for row in out[r:r + rows]:
                row[c:c + cols] = fill
        return out


def _span(value: str | None) -> int:
    try:
        return int(value or 1)
    except ValueError:
        return 1


class _Table:
    def __init__(self, order: int):
        self.order = order            # tables are listed in the order they start in the page
        self.layout = _Layout()
        self.cell: tuple[list[str], dict] | None = None
        self.wraps = False            # holds another table: a page-layout frame, not data


# One pass of C-level matching finds every tag (comments, scripts and styles skipped whole);
# html.parser does much more per tag and read a 10 MB export 5× slower.
_TOKEN = re.compile(r"""<!--.*?(?:-->|\Z)|<(script|style)\b.*?(?:</\1\s*>|\Z)"""
                    r"""|<(/?)([a-zA-Z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.S | re.I)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")


def _attrs(text: str) -> list[tuple[str, str | None]]:
    return [(k.lower(), v.strip("\"'") if v else None) for k, v in _ATTR.findall(text)]


class _Tables:
    """Every <table> of a page; the ones that hold other tables are layout frames and are dropped
    (their data tables are kept). Tags are taken as browsers take them: case-insensitive, closing
    tags of cells and rows optional."""

    def __init__(self):
        self.done: list[_Table] = []
        self.open: list[_Table] = []

    def feed(self, text: str) -> None:
        pos = 0
        for m in _TOKEN.finditer(text):
            if m.start() > pos:
                self.handle_data(text[pos:m.start()])
            pos = m.end()
            name = m.group(3)
            if name is None:                       # a comment, script or style
                continue
            name = name.lower()
            if m.group(2):
                self.handle_endtag(name)
            else:
                self.handle_starttag(name, _attrs(m.group(4)) if name in ("td", "th") and m.group(4).strip() else [])
        if pos < len(text):
            self.handle_data(text[pos:])

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            if self.open:
                self.open[-1].wraps = True
            self.open.append(_Table(len(self.done) + len(self.open)))
            return
        if not self.open:
            return
        table = self.open[-1]
        if tag == "tr":
            self._end_cell(table)
            table.layout.next_row()
        elif tag in ("td", "th"):
            self._end_cell(table)
            if table.layout.row < 0:
                table.layout.next_row()
            table.cell = ([], dict(attrs))
        elif tag == "br" and table.cell is not None:
            table.cell[0].append("\n")

    def handle_endtag(self, tag):
        if not self.open:
            return
        if tag == "table":
            table = self.open.pop()
            self._end_cell(table)
            self.done.append(table)
        elif tag in ("td", "th", "tr"):
            self._end_cell(self.open[-1])

    def handle_data(self, data):
        if self.open and self.open[-1].cell is not None:
            self.open[-1].cell[0].append(data)

    def close(self):
        while self.open:                          # a page cut short: keep what was read
            self.handle_endtag("table")

    @staticmethod
    def _end_cell(table: _Table):
        if table.cell is None:
            return
        parts, attrs = table.cell
        table.cell = None
        text = "".join(parts)
        if "&" in text:
            text = html.unescape(text)
        if _ODD_SPACE.search(text):
            text = "\n".join(_SPACE.sub(" ", line).strip() for line in text.split("\n")).strip()
        else:
            text = text.strip()
        value: object = text
        if attrs.get("x:num") not in (None, ""):
            try:
                value = float(attrs["x:num"])
            except ValueError:
                pass
        table.layout.place(value, _span(attrs.get("rowspan")), _span(attrs.get("colspan")))

    def data_tables(self) -> list[_Layout]:
        """Layouts of the tables that hold data, in the order they start in the page."""
        return [t.layout for t in sorted(self.done, key=lambda t: t.order) if not t.wraps]


def html_tables(data: bytes, stem: str) -> list[tuple[str, list[list[object]]]]:
    """(name, grid) of each table of a web page: the sheet names Excel wrote into it when they
    match the tables, else the file's own name (「名称（2）」… for further tables)."""
    text = decode(data)
    parser = _Tables()
    parser.feed(text)
    parser.close()
    grids = [layout.grid() for layout in parser.data_tables()]
    grids = [g for g in grids if any(v != "" for row in g for v in row)]
    if not grids:
        raise WebTableError("网页中没有表格数据")
    names = _SHEET_NAME.findall(text)
    if len(names) != len(grids):
        names = [stem] + [f"{stem}（{i}）" for i in range(2, len(grids) + 1)]
    return list(zip(names, grids))


def xml2003_tables(data: bytes) -> list[tuple[str, list[list[object]]]]:
    """(name, grid) of each worksheet of an XML Spreadsheet 2003 file."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise WebTableError("XML 表格文件含有实体声明（DOCTYPE/ENTITY），为安全起见不予读取")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WebTableError(f"XML 表格文件已损坏：{exc}") from exc
    out = []
    for sheet in root.iter(f"{SS}Worksheet"):
        layout = _Layout()
        table = sheet.find(f"{SS}Table")
        for row in table.iter(f"{SS}Row") if table is not None else ():
            layout.next_row(_index(row.get(f"{SS}Index")))
            for cell in row.iter(f"{SS}Cell"):
                layout.place(_xml_value(cell.find(f"{SS}Data")),
                             1 + _span(cell.get(f"{SS}MergeDown") or "0"), 1 + _span(cell.get(f"{SS}MergeAcross") or "0"),
                             _index(cell.get(f"{SS}Index")))
        out.append((sheet.get(f"{SS}Name") or f"Sheet{len(out) + 1}", layout.grid()))
    if not out:
        raise WebTableError("XML 表格文件中没有工作表")
    return out


def _index(value: str | None) -> int | None:
    """0-based position from a 1-based ss:Index; None when absent or not a positive number."""
    return int(value) - 1 if value and value.isdecimal() and int(value) >= 1 else None


def _xml_value(data) -> object:
    if data is None:
        return ""
    text = "".join(data.itertext())
    kind = data.get(f"{SS}Type", "String")
    try:
        if kind == "Number":
            return float(text)
        if kind == "Boolean":
            return text.strip() == "1"
        if kind == "DateTime":
            return _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    return text
