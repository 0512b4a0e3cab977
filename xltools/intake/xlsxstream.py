"""Stream the rows of one very large .xlsx worksheet with bounded memory.

python-calamine builds the whole cell grid in Rust before the first row reaches Python: for a
200,000 × 20 sheet that is ~300 MB, six times the cells' own size. For worksheets whose XML
is larger than `reader.STREAM_XML_BYTES` we decompress the sheet part in pieces of complete
`<row>` elements and decode each piece at once with numpy (xlsxcells: no Python step per cell
but a slice per text). The rows reach typing as columns, a column of numbers as one float
array (`Rows.column_blocks`). A piece laid out otherwise (a namespace prefix, cells without
`r`, rich inline text, unexpected markup) is parsed with a regular expression, or ElementTree,
so unusual writers are read correctly too. Values follow python-calamine's conventions
(numbers as float, text, bool, dates as datetime, error cells blank) — tests compare the
readers cell by cell.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from html import unescape
from itertools import chain, zip_longest

import numpy as np

from ..ooxml import read_part
from . import xlsxcells
from .xlsxcells import BOOL, DATE, ERROR, INLINE, ISODATE, NUMBER, SHARED, TEXT

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_M = "{%s}" % MAIN_NS
PIECE_BYTES = 1024 * 1024       # decompressed bytes handled per step (~30k cells)

# One cell as written by Excel, WPS, LibreOffice, XlsxWriter and openpyxl:
# <c r="B7" s="3" t="s"><f>…</f><v>12</v></c>  or  <c r="B7" t="inlineStr"><is><t>text</t></is></c>
_CELL = re.compile(
    r'<c r="([A-Z]{1,3})(\d+)"((?: (?!r=)[\w:]+="[^"]*")*) ?(?:/>|>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
    r'(?:<v>([^<]*)</v>|<v/>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
_SHEETDATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_MERGE = re.compile(r'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')

_KINDS = {"n": NUMBER, "s": SHARED, "inlineStr": INLINE, "b": BOOL, "e": ERROR, "str": TEXT, "d": ISODATE}
# built-in number formats that show dates or times (ECMA-376 §18.8.30, plus the CJK ones)
_DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_EPOCH = _dt.datetime(1899, 12, 30)
_EPOCH_1904 = _dt.datetime(1904, 1, 1)


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


class _Columns(dict):
    def __missing__(self, letters: str) -> int:
        self[letters] = col_index(letters)
        return self[letters]


_COLUMNS = _Columns()


class _Kinds(dict):
    def __init__(self, dates: set[int]):
        super().__init__()
        self.dates = dates

    def __missing__(self, attrs: str) -> int:
        a = dict(_ATTR.findall(attrs))
        kind = _KINDS.get(a.get("t", "n"), NUMBER)
        if kind == NUMBER and a.get("s", "").isdigit() and int(a["s"]) in self.dates:
            kind = DATE
        self[attrs] = kind
        return kind


# In worksheet XML only a cell's own reference is written ` r="B7"` (rows: r="7"; ranges: ref=, sqref=).
# A cell in row 100 or further down; until one appears, a sheet spans at most 99 × 16,384 cells.
_FAR_CELL = re.compile(rb' r="[A-Z]{1,3}\d{3,}"')
_NEAR_SPAN = 99 * 16_384
_CELL_ROW = re.compile(rb' r="[A-Z]{1,3}(\d+)"')
_CELL_COL = re.compile(rb' r="([A-Z]{1,3})\d')
_UNIQUE_COUNT = re.compile(rb'<(?:\w+:)?sst\b[^>]*?\suniqueCount="(\d+)"')


def declared_strings(zf: zipfile.ZipFile) -> tuple[int, int] | None:
    """(entries the shared-string table declares, bytes it really has) when the declaration is
    impossible — python-calamine reserves memory for the declared count up front and aborts the
    process when it cannot (2e9 entries ask for 48 GB); None when plausible or absent."""
    try:
        info = zf.getinfo("xl/sharedStrings.xml")
    except KeyError:
        return None
    if isinstance(zf.fp, io.BytesIO):
        head = read_part(zf, info)[:4096]
    else:
        with zf.open(info) as fh:
            head = fh.read(4096)
    m = _UNIQUE_COUNT.search(head)
    declared = int(m.group(1)) if m else 0
    return (declared, info.file_size) if declared > info.file_size // 8 + 64 else None   # an entry takes ≥ 13 bytes


def spans_more_than(xml: bytes, limit: int) -> bool:
    """Does the rectangle from A1 to the farthest cell of this worksheet XML hold over `limit` cells?

    python-calamine (and a dense block) allocates that whole rectangle: one value typed into
    XFD1048576 of a 5 KB workbook would ask for 17 billion cells (calamine #693 aborts the
    process). Cheap for ordinary sheets: one search unless some cell lies below row 99.
    """
    if limit >= _NEAR_SPAN and not _FAR_CELL.search(xml):
        return False
    rows = max(map(int, _CELL_ROW.findall(xml)), default=0)
    cols = max(map(col_index, (c.decode() for c in set(_CELL_COL.findall(xml)))), default=-1) + 1
    return rows * cols > limit


def shared_strings(zf: zipfile.ZipFile) -> np.ndarray:
    """The shared-string table as an object array (rich-text runs joined, phonetic runs left out)."""
    names = set(zf.namelist())
    part = next((p for p in ("xl/sharedStrings.xml", "xl/sharedstrings.xml") if p in names), None)
    out: list[str] = []
    if part is None:
        return np.array(out, dtype=object)
    with zf.open(part) as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag == _M + "si":
                out.append(_si_text(elem))
                elem.clear()
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return arr


def _si_text(si) -> str:
    t = si.find(_M + "t")
    if t is not None:
        return t.text or ""
    return "".join(r.findtext(_M + "t") or "" for r in si.findall(_M + "r"))


def date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indices of cell formats (`s="…"`) whose number format shows a date or time."""
    try:
        styles = ET.fromstring(zf.read("xl/styles.xml"))
    except KeyError:
        return set()
    custom = {}
    for fmt in styles.iter(_M + "numFmt"):
        code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt.get("formatCode", "")).lower()
        custom[int(fmt.get("numFmtId", "0"))] = any(ch in code for ch in "ymdhs")
    xfs = styles.find(_M + "cellXfs")
    out = set()
    for i, xf in enumerate(xfs if xfs is not None else []):
        fid = int(xf.get("numFmtId", "0"))
        if custom.get(fid, fid in _DATE_FORMAT_IDS):
            out.add(i)
    return out


def _pieces(zf: zipfile.ZipFile, part: str):
    """Decompressed bytes of a sheet part cut into pieces that end after a complete `</row>`
    (UTF-8: a `<` byte is never part of another character, so a cut never splits one)."""
    rest = b""
    with zf.open(part) as fh:
        while True:
            data = fh.read(PIECE_BYTES)
            buf = rest + data
            if not data:
                if buf:
                    yield buf
                return
            cut = buf.rfind(b"</row>")
            if cut < 0:
                rest = buf
                continue
            cut += len("</row>")
            yield buf[:cut]
            rest = buf[cut:]


def merged_ranges(zf: zipfile.ZipFile, part: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Merged areas ((r0, c0), (r1, c1)), 0-based — listed after the cells, so one extra pass."""
    found, tail = b"", b""
    with zf.open(part) as fh:
        while data := fh.read(PIECE_BYTES):
            buf = tail + data
            at = buf.find(b"mergeCell")
            if found or at >= 0:
                found += buf if found else buf[max(0, at - 20):]
                tail = b""
            else:
                tail = buf[-64:]
    out = []
    for m in _MERGE.finditer(found.decode("utf-8", "replace")):
        c0, r0 = col_index(m.group(1)), int(m.group(2)) - 1
        c1, r1 = (col_index(m.group(3)), int(m.group(4)) - 1) if m.group(3) else (c0, r0)
        out.append(((r0, c0), (r1, c1)))
    return out


def _no_cells():
    return np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([], dtype=object)


BLOCK_CELLS = 4_000_000          # a piece whose rows span more cells than this is laid out row by row


def _sparse_rows(r_idx: np.ndarray, c_idx: np.ndarray, values: np.ndarray, height: int, batch: int = 5_000):
    """Blocks of rows for cells scattered over a huge area: each row only as wide as its last cell,
    gap rows empty, at most `batch` rows in memory at a time."""
    order = np.lexsort((c_idx, r_idx))
    r_idx, c_idx, values = r_idx[order], c_idx[order], values[order]
    starts = np.flatnonzero(np.r_[True, r_idx[1:] != r_idx[:-1]])
    ends = np.r_[starts[1:], len(r_idx)]
    filled = dict(zip(r_idx[starts].tolist(), zip(starts.tolist(), ends.tolist())))
    for first in range(0, height, batch):
        block = []
        for r in range(first, min(first + batch, height)):
            span = filled.get(r)
            if span is None:
                block.append([])
                continue
            a, b = span
            row = [""] * (int(c_idx[b - 1]) + 1)
            for c, v in zip(c_idx[a:b].tolist(), values[a:b].tolist()):
                row[c] = v
            block.append(row)
        yield block


class Values:
    """The values of a piece's cells as the numpy reader decodes them: number cells as one float
    array (no Python object each), the others as objects."""

    def __init__(self, objects: np.ndarray, numbers: np.ndarray, is_number: np.ndarray):
        self._objects, self.numbers, self.is_number = objects, numbers, is_number

    def __len__(self) -> int:
        return len(self._objects)

    def objects(self, sel=slice(None)) -> np.ndarray:
        """The values of the selected cells as Python objects (numbers as float)."""
        out = self._objects[sel].copy()
        num = self.is_number[sel]
        if num.any():
            out[num] = self.numbers[sel][num]
        return out

    def take(self, sel) -> "Values":
        return Values(self._objects[sel], self.numbers[sel], self.is_number[sel])


class Block:
    """Rows of one piece: `height` rows × `width` columns; its cells at (rows, cols), 0-based within."""

    def __init__(self, height: int, width: int, rows: np.ndarray, cols: np.ndarray, values):
        self.height, self.width, self.rows, self.cols, self.values = height, width, rows, cols, values

    def __len__(self) -> int:
        return self.height

    def grid(self) -> np.ndarray:
        out = np.full((self.height, self.width), "", dtype=object)
        out[self.rows, self.cols] = self.values.objects() if isinstance(self.values, Values) else self.values
        return out

    def tolist(self) -> list[list[object]]:
        return self.grid().tolist()

    def split(self, k: int) -> tuple["Block", "Block"]:
        """(its first k rows, the rest)."""
        top = self.rows < k
        take = (lambda sel: self.values.take(sel)) if isinstance(self.values, Values) else self.values.__getitem__
        return (Block(k, self.width, self.rows[top], self.cols[top], take(top)),
                Block(self.height - k, self.width, self.rows[~top] - k, self.cols[~top], take(~top)))

    def columns(self) -> list:
        """Each column top to bottom: a float array where every cell of it is a number, else a list."""
        order = np.argsort(self.cols, kind="stable")          # cells by column, rows ascending within
        bounds = np.searchsorted(self.cols[order], np.arange(self.width + 1)).tolist()
        typed = isinstance(self.values, Values)
        out = []
        for c in range(self.width):
            idx = order[bounds[c]:bounds[c + 1]]
            if typed and len(idx) == self.height and self.values.is_number[idx].all() \
                    and (len(idx) < 2 or bool(np.all(np.diff(self.rows[idx]) > 0))):
                out.append(self.values.numbers[idx])
                continue
            col = np.full(self.height, "", dtype=object)
            col[self.rows[idx]] = self.values.objects(idx) if typed else self.values[idx]
            out.append(col.tolist())
        return out


class Rows:
    """The rows of a streamed sheet after its first ones: iterated, one row (a list) at a time; or,
    by a reader that types whole columns, `column_blocks()`: the same rows as (columns, row count),
    a column of numbers as one float array — the rows are then never built as lists of their own."""

    def __init__(self, blocks):
        self.blocks = iter(blocks)           # Blocks, or lists of rows (Stream.blocks)

    def __iter__(self):
        for block in self.blocks:
            yield from (block.tolist() if isinstance(block, Block) else block)

    def column_blocks(self):
        for block in self.blocks:
            if isinstance(block, Block):
                yield block.columns(), len(block)
            elif block:
                yield [list(col) for col in zip_longest(*block, fillvalue="")], len(block)


def head_and_rest(blocks, count: int) -> tuple[list[list[object]], Rows]:
    """The first `count` rows as lists, and the rows after them."""
    head: list[list[object]] = []
    blocks = iter(blocks)
    for block in blocks:
        need = count - len(head)
        if len(block) > need:
            if isinstance(block, Block):
                top, block = block.split(need)
                head.extend(top.tolist())
            else:
                head.extend(block[:need])
                block = block[need:]
            return head, Rows(chain([block], blocks))
        head.extend(block.tolist() if isinstance(block, Block) else block)
    return head, Rows(blocks)


class Stream:
    """Rows of one worksheet part, from row 1 and column A, produced piece by piece."""

    def __init__(self, zf: zipfile.ZipFile, part: str, strings: np.ndarray, dates: set[int], date1904: bool = False):
        self.zf, self.part, self.strings, self.dates, self.date1904 = zf, part, strings, dates, date1904
        self.width = 0
        self.prefix = ""                  # namespace prefix of the sheet's elements ("x:"), usually none
        self._kinds = _Kinds(dates)      # cell attributes (` s="3" t="s"`) → kind, learnt as met
        self._date_styles = np.array(sorted(dates), dtype=np.int64)

    def rows(self):
        """Yield lists of rows (each a list of values); blank rows in gaps are filled in."""
        for block in self.blocks():
            yield block.tolist() if isinstance(block, Block) else block

    def blocks(self):
        """Yield the rows piece by piece: a Block (rows × the width so far) for cells close together,
        lists of rows (each as wide as its last cell) for cells scattered over a huge area."""
        next_row = 0
        started = False
        for piece in _pieces(self.zf, self.part):
            if not started:
                m = _SHEETDATA.search(piece)
                if m is None:
                    continue
                if m.group(2):
                    return                                   # <sheetData/>: no cells
                started, self.prefix = True, (m.group(1) or b"").decode()
                piece = piece[m.end():]
            end = piece.find(f"</{self.prefix}sheetData>".encode())
            if end >= 0:
                piece = piece[:end]
            r_idx, c_idx, values = self._cells(piece)
            if len(r_idx):
                last = int(r_idx.max())
                self.width = max(self.width, int(c_idx.max()) + 1)
                height = last + 1 - next_row
                if height * self.width <= BLOCK_CELLS:
                    yield Block(height, self.width, r_idx - next_row, c_idx, values)
                else:                                    # far-apart cells: never a dense block
                    objects = values.objects() if isinstance(values, Values) else values
                    yield from _sparse_rows(r_idx - next_row, c_idx, objects, height)
                next_row = last + 1
            if end >= 0:
                return

    def _cells(self, piece: bytes):
        """(rows, columns, values) of the cells of one piece: numpy's way when the piece is laid out
        as the common writers write it, else a regular expression, else ElementTree."""
        if not self.prefix:
            fast = self._cells_fast(piece)
            if fast is not None:
                return fast
        text = piece.decode("utf-8")
        if self.prefix:
            return self._cells_slow(text)
        found = _CELL.findall(text)
        if len(found) != text.count("<c ") + text.count("<c>") + text.count("<c/>"):
            return self._cells_slow(text)
        if not found:
            return _no_cells()
        n = len(found)
        r_idx = np.array([f[1] for f in found], dtype=np.int64) - 1
        c_idx = np.fromiter(map(_COLUMNS.__getitem__, [f[0] for f in found]), dtype=np.int64, count=n)
        kinds = np.fromiter(map(self._kinds.__getitem__, [f[2] for f in found]), dtype=np.int8, count=n)
        raw = np.array([f[3] for f in found], dtype=object)
        inline = kinds == INLINE
        if inline.any():
            raw[inline] = [f[4] for f, keep in zip(found, inline) if keep]
        return r_idx, c_idx, self._values(kinds, raw)

    def _cells_fast(self, piece: bytes):
        """xlsxcells' numpy reading of a piece, typed as _values types; None: read it another way."""
        words = xlsxcells.words_of(piece)
        cells = xlsxcells.locate(piece, words, self._date_styles)
        if cells is None:
            return None
        kinds, starts, ends = cells.kinds, cells.starts, cells.ends
        out = np.full(len(kinds), "", dtype=object)
        has = ends > starts
        numbers = np.zeros(len(kinds))
        is_number = has & (kinds == NUMBER)
        for kind, sel in ((NUMBER, is_number), (DATE, has & (kinds == DATE))):
            if sel.any():
                try:
                    found = xlsxcells.numbers(piece, words, starts[sel], ends[sel])
                except ValueError:               # not a number: let the thorough path say what it is
                    return None
                if kind == NUMBER:
                    numbers[sel] = found
                else:
                    out[sel] = [_from_serial(v, self.date1904) for v in found.tolist()]
        sel = has & (kinds == SHARED)
        if sel.any():
            index = xlsxcells.integers(words, starts[sel], ends[sel])
            if index is None or index.max() >= len(self.strings):
                return None
            out[sel] = self.strings[index]
        sel = has & ((kinds == INLINE) | (kinds == TEXT) | (kinds == ISODATE))
        if sel.any():
            texts = [piece[a:b].decode("utf-8") for a, b in zip(starts[sel].tolist(), ends[sel].tolist())]
            texts = [unescape(t) if "&" in t else t for t in texts]
            iso = kinds[sel] == ISODATE
            if iso.any():
                texts = [_dt.datetime.fromisoformat(t) if d else t for t, d in zip(texts, iso.tolist())]
            out[sel] = texts
        sel = has & (kinds == BOOL)
        if sel.any():
            one = (ends[sel] - starts[sel] == 1) & (np.frombuffer(piece, np.uint8)[starts[sel]] == ord("1"))
            out[sel] = one.astype(object)
        return cells.rows, cells.cols, Values(out, numbers, is_number)   # ERROR cells stay blank

    def _values(self, kinds: np.ndarray, raw: np.ndarray, escaped: bool = True) -> np.ndarray:
        """Typed values (calamine's conventions) from the raw `<v>`/`<t>` texts, kind by kind."""
        out = np.full(len(raw), "", dtype=object)
        has = raw != ""
        num = (kinds == NUMBER) & has
        if num.any():
            out[num] = raw[num].astype(float).astype(object)
        sel = (kinds == SHARED) & has
        if sel.any():
            out[sel] = self.strings[raw[sel].astype(np.int64)]
        for kind in (INLINE, TEXT):
            sel = kinds == kind
            if sel.any():
                out[sel] = [unescape(t) if "&" in t else t for t in raw[sel]] if escaped else raw[sel]
        sel = (kinds == BOOL) & has
        if sel.any():
            out[sel] = (raw[sel] == "1").astype(object)
        sel = (kinds == DATE) & has
        if sel.any():
            out[sel] = [_from_serial(float(v), self.date1904) for v in raw[sel]]
        sel = (kinds == ISODATE) & has
        if sel.any():
            out[sel] = [_dt.datetime.fromisoformat(v) for v in raw[sel]]
        return out                                                   # ERROR cells stay blank

    def _cells_slow(self, text: str):
        """ElementTree parse of one piece (any prefix, cells without `r`, rich inline text)."""
        ns = f' xmlns:{self.prefix[:-1]}="{MAIN_NS}"' if self.prefix else ""
        root = ET.fromstring(f'<sheetData xmlns="{MAIN_NS}"{ns}>{text}</sheetData>')
        rows, cols, attrs, raw = [], [], [], []
        r = -1
        for row in root.iter(_M + "row"):
            r = int(row.get("r")) - 1 if row.get("r") else r + 1
            c = -1
            for cell in row.iter(_M + "c"):
                ref = cell.get("r")
                if ref:
                    m = re.match(r"([A-Z]+)(\d+)", ref)
                    c = col_index(m.group(1))
                else:
                    c += 1
                kind = " ".join(f'{k}="{v}"' for k, v in cell.attrib.items() if k in ("t", "s"))
                if cell.get("t") == "inlineStr":
                    inline = cell.find(_M + "is")
                    value = "" if inline is None else _si_text(inline)   # rich runs joined, phonetic left out
                else:
                    value = cell.findtext(_M + "v") or ""
                rows.append(r)
                cols.append(c)
                attrs.append(" " + kind)
                raw.append(value)
        if not rows:
            return _no_cells()
        kinds = np.fromiter(map(self._kinds.__getitem__, attrs), dtype=np.int8, count=len(attrs))
        return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), self._values(kinds, np.array(raw, dtype=object), escaped=False)


def uses_1904(zf: zipfile.ZipFile) -> bool:
    """Workbooks from old Mac Excel count dates from 1904 (`<workbookPr date1904="1"/>`)."""
    pr = ET.fromstring(zf.read("xl/workbook.xml")).find(_M + "workbookPr")
    return pr is not None and pr.get("date1904", "0").lower() in ("1", "true")


def _from_serial(serial: float, date1904: bool = False):
    """Excel serial → date, time or datetime to the millisecond, as calamine gives it."""
    if date1904:
        epoch = _EPOCH_1904
    else:
        epoch = _EPOCH
        if serial < 60:
            serial += 1                   # Excel counts a 29 Feb 1900 that never was
    value = epoch + _dt.timedelta(milliseconds=round(serial * 86_400_000))
    if serial < 1:
        return value.time()
    return value.date() if serial.is_integer() else value
