"""Open a workbook file safely and return each worksheet as a grid of raw cell values.

Reading uses python-calamine (Rust; no formula evaluation, no entity expansion). Before
handing a file to it we check what the file really is, so that a renamed PDF, a corrupt
zip, a zip bomb or a password-protected workbook gives a clear Chinese message instead of
a crash — and what calamine would allocate: it reserves memory for the shared strings a
file declares and for the rectangle from A1 to a sheet's farthest cell, and aborts the whole
process when it cannot. Such sheets go to the piecewise reader (xlsxstream) instead.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import python_calamine as pc

from .. import ooxml
from . import webtable, xlsxstream

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb")
MAX_UNPACKED_BYTES = 2 * 1024**3  # refuse zip bombs: more than 2 GiB unpacked
MAX_RATIO = 200                   # or a compression ratio no spreadsheet has


class UnusableInput(Exception):
    """The file cannot be read as a workbook at all (exit code 2)."""


@dataclass
class RawSheet:
    name: str
    grid: list[list[object]]  # rows × cols from A1 (the first rows only for a streamed sheet), merged filled
    rest: object = ()         # iterator over the remaining rows (streamed sheets), each padded from column A
    web: str = ""             # "html" / "xml2003": a table exported as ".xls" but not a workbook (webtable)


STREAM_ABOVE = 5_000   # sheets taller than this reach Python row by row instead of as one grid
STREAM_XML_BYTES = 24 * 1024**2   # sheet XML larger than this is parsed piece by piece (xlsxstream)
DENSE_CELLS_MAX = 10_000_000      # so is a sheet spanning more cells than this (A1 to its farthest cell)
HEAD_ROWS = 100
IN_MEMORY_BYTES = 8 * 1024**2     # a package smaller than this is read into memory once
BINARY_SUFFIXES = (".xls", ".xlsb")
# Binary workbooks are parsed in a forked child where the system can fork (not Windows). The
# environment variable reproduces the Windows path on Linux (tests; inherited by spawned workers).
CAN_FORK = hasattr(os, "fork") and not os.environ.get("XLTOOLS_NO_FORK")


class InMemoryFile:
    """A submitted file's bytes, sent from another computer (a Dask worker reading for a client):
    stands in for its Path here. Only the name and the content are known; nothing about it
    touches this computer's disk (no __fspath__, so it can never be opened as a local path)."""

    def __init__(self, path: str, name: str, data: bytes):
        self.path, self.name, self.data = path, name, data     # path: the client's, shown as is
        self.suffix = os.path.splitext(name)[1]
        self.stem = name[:len(name) - len(self.suffix)]

    def __str__(self) -> str:
        return self.path

    def exists(self) -> bool:
        return True

    def is_dir(self) -> bool:
        return False

    def stat(self) -> os.stat_result:
        return os.stat_result((0, 0, 0, 0, 0, 0, len(self.data), 0, 0, 0))

    def open(self, mode: str = "rb") -> io.BytesIO:
        if mode != "rb":
            raise ValueError(f"a file sent in memory is read only (mode {mode!r})")
        return io.BytesIO(self.data)            # shares the bytes (no copy until written)

    def read_bytes(self) -> bytes:
        return self.data


def _calamine(path: Path | InMemoryFile) -> pc.CalamineWorkbook:
    if isinstance(path, InMemoryFile):
        return pc.CalamineWorkbook.from_filelike(path.open())
    return pc.CalamineWorkbook.from_path(str(path))


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The package of an .xlsx/.xlsm, refused when it is not a workbook or unpacks absurdly.

    A small package is read once and opened from memory (its parts are then sliced, not re-read).
    """
    try:
        size = path.stat().st_size
        zf = zipfile.ZipFile(io.BytesIO(path.read_bytes()) if size < IN_MEMORY_BYTES or not isinstance(path, Path)
                             else path)
    except OSError as exc:
        raise UnusableInput(f"无法打开文件：{_short(exc)}") from exc
    except Exception as exc:          # BadZipFile, or a damaged header zipfile cannot even parse
        raise UnusableInput("文件已损坏：不是完整的 xlsx/xlsm 压缩包") from exc
    infos = zf.infolist()
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    kind = _package_kind(zf, infos)
    problem = (_not_a_workbook(kind, path) if kind else
               "文件是 zip 压缩包但不是 Excel 工作簿（缺少 [Content_Types].xml）"
               if not any(i.filename == "[Content_Types].xml" for i in infos) else
               "文件解压后体积异常（疑似压缩炸弹），已拒绝读取"
               if unpacked > MAX_UNPACKED_BYTES or (unpacked > 50 * 1024**2 and unpacked / packed > MAX_RATIO) else "")
    try:
        dtd = None if problem else ooxml.declares_dtd(zf)
        bad = None if problem or dtd else xlsxstream.declared_strings(zf)
    except Exception as exc:          # a damaged part: say so like any other damage
        zf.close()
        raise UnusableInput(f"文件已损坏：{_short(exc)}") from exc
    if dtd:
        problem = (f"工作簿内部的「{dtd}」含有 DOCTYPE/ENTITY 声明，不是真正的 Excel 文件"
                   "（Excel 和 WPS 从不写入此类声明），为安全起见已拒绝读取：请在 Excel 中打开后另存为 .xlsx 再提交")
    if bad:
        problem = (f"工作簿内部的共享字符串表已损坏（声明 {bad[0]:,} 条，实际只有 {bad[1]:,} 字节），"
                   "请在 Excel 中打开后另存再提交")
    if problem:
        zf.close()
        raise UnusableInput(problem)
    return zf


def _parts_to_stream(zf: zipfile.ZipFile) -> set[str]:
    """Worksheet parts python-calamine must not load whole: XML too large, or cells so far apart
    that the rectangle it allocates (A1 to the farthest cell) would not fit in memory."""
    sheets = ooxml.worksheet_parts(zf)
    infos = {i.filename: i for i in zf.infolist()}
    if sheets is None:                     # relationships unreadable here: look at every XML part
        sheets = [n for n in infos if n.endswith(".xml")]
    out = set()
    for name in sheets:
        info = infos.get(name)
        if info is not None and (info.file_size > STREAM_XML_BYTES
                                 or _spans_more_than(ooxml.read_part(zf, info), DENSE_CELLS_MAX)):
            out.add(name)
    return out


# A cell reference with two letters (column AA or further) or four digits (row 1000 or further down):
# until one appears, a sheet spans at most 999 × 26 cells — one search settles most submitted sheets.
_WIDE_CELL = re.compile(rb' r="(?:[A-Z]{2}|[A-Z]\d{4})')
_SMALL_SPAN = 999 * 26


def _spans_more_than(xml: bytes, limit: int) -> bool:
    """xlsxstream.spans_more_than, answered by one search when no cell lies beyond Z999."""
    if limit >= _SMALL_SPAN and not _WIDE_CELL.search(xml):
        return False
    return xlsxstream.spans_more_than(xml, limit)


ZIP, OLE = "zip", "ole"
WEB_FORMATS = ("html", "xml2003")   # read as tables (webtable), not refused
MAX_WEB_BYTES = 100 * 1024**2


def check_file(path: Path) -> str:
    """Raise UnusableInput with a Chinese reason when `path` is not a readable workbook.

    Returns ZIP for a zip package (.xlsx/.xlsm), OLE for the legacy binary format (.xls), or one of
    WEB_FORMATS for a web page or XML 2003 table exported as ".xls".
    """
    if not path.exists():
        raise UnusableInput("文件不存在")
    if path.is_dir():
        raise UnusableInput("这是一个文件夹，不是工作簿")
    if path.stat().st_size == 0:
        raise UnusableInput("文件为空（0 字节）")
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.startswith(ZIP_MAGIC):
        return ZIP
    if head.startswith(OLE_MAGIC):
        data = path.read_bytes()
        if "EncryptionInfo".encode("utf-16-le") in data or b"EncryptionInfo" in data:
            raise UnusableInput("工作簿设有打开密码（已加密），请去除密码后另存再提交")
        return OLE
    kind = _content_kind(head)
    if kind in WEB_FORMATS:
        if path.stat().st_size > MAX_WEB_BYTES:
            raise UnusableInput(_not_a_workbook(kind, path).replace("，不是 Excel 工作簿", "，且文件过大"))
        return kind
    if kind:
        raise UnusableInput(_not_a_workbook(kind, path))
    if path.suffix.lower() in EXCEL_SUFFIXES:
        raise UnusableInput("文件扩展名是 Excel，但内容不是 Excel 工作簿（可能已损坏或被改名）")
    raise UnusableInput("不是 Excel 工作簿（支持 .xlsx、.xlsm、.xls）")


# Files submitted instead of a workbook, recognised so that the message says what the file is and
# how to turn it into one (many government systems export a web page or an XML 2003 file as ".xls").
SAVE_AS = "请在 Excel 或 WPS 中打开，「另存为」Excel 工作簿（.xlsx）后再提交"
FILL_IN = "请把数据填入 Excel 工作簿（可用 xltools template 生成模板）后再提交"
OTHER_FORMATS = {   # kind → (what the file is, what to do)
    "pdf": ("PDF 文件", "请提交填报的 Excel 工作簿，而不是打印件或扫描件"),
    "html": ("网页格式的表格（不少系统导出的「.xls」其实是网页）", SAVE_AS),
    "xml2003": ("「XML 表格 2003」格式的文件", SAVE_AS),
    "text": ("文本文件（如 .csv）", SAVE_AS),
    "ods": ("OpenDocument 表格（.ods，WPS/LibreOffice 格式）", SAVE_AS),
    "odf": ("OpenDocument 文档（WPS/LibreOffice 格式）", FILL_IN),
    "word": ("Word 文档", FILL_IN),
    "powerpoint": ("PowerPoint 演示文稿", FILL_IN),
}
_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 12, 13})


def _content_kind(head: bytes) -> str | None:
    """What a file that is neither a zip nor an OLE package is, from its first bytes (None: unknown)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):       # UTF-16 (Excel's 「Unicode 文本」, some exported pages)
        head = head.decode("utf-16", "ignore").encode("utf-8")
    if head.startswith(b"%PDF"):
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "html"
    if b"urn:schemas-microsoft-com:office:spreadsheet" in text:
        return "xml2003"
    if b"<table" in text or b"<html" in text:      # a table or page after a long preamble (<?xml …?>)
        return "html"
    if head and not any(b in _CONTROL_BYTES for b in head):
        return "text"
    return None


def _package_kind(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """A zip package that is another kind of document (None: may be a workbook)."""
    names = {i.filename.lower() for i in infos}
    mimetype = next((i for i in infos if i.filename.lower() == "mimetype"), None)
    if mimetype is not None:
        try:
            mime = zf.read(mimetype)[:100] if mimetype.file_size < 200 else b""
        except Exception:                 # a damaged entry: still not a workbook
            mime = b""
        return "ods" if b"opendocument.spreadsheet" in mime else "odf"
    if not any(n.startswith("xl/") for n in names):
        return "word" if any(n.startswith("word/") for n in names) else (
            "powerpoint" if any(n.startswith("ppt/") for n in names) else None)
    return None


def _not_a_workbook(kind: str, path: Path) -> str:
    what, fix = OTHER_FORMATS[kind]
    suffix = path.suffix.lower()
    told = f"扩展名是 {path.suffix}，但" if suffix in EXCEL_SUFFIXES else ""
    return f"{told}内容是{' ' if what[0].isascii() else ''}{what}，不是 Excel 工作簿：{fix}"


def _fill_merged(grid: list[list[object]], merged: list) -> None:
    """Give every cell of a merged area the value of its top-left cell."""
    for (r0, c0), (r1, c1) in merged or ():
        if r0 >= len(grid):
            continue
        value = grid[r0][c0] if c0 < len(grid[r0]) else ""
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                if row[c] == "" or row[c] is None:
                    row[c] = value


def _failed(exc: BaseException) -> bool:
    """Reading failed: any Exception, or a Rust panic inside python-calamine — pyo3's
    PanicException derives from BaseException, so `except Exception` would let it through
    as a traceback (Ctrl-C, exit and generator close still pass)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def iter_sheets(path: Path, choose=None):
    """Yield worksheets as RawSheets, in workbook order; tall sheets stream their rows (consume before
    the next). `choose(names)`, given every worksheet's name at once, returns the names to read."""
    kind = check_file(path)
    if kind in WEB_FORMATS:
        yield from _web_sheets(path, kind, choose)
        return
    is_zip = kind == ZIP
    if is_zip and path.suffix.lower() != ".xlsb":
        yield from _sheets(path, _open_zip(path), choose)
    elif CAN_FORK:
        yield from _in_child(path, choose, is_zip)
    else:
        yield from _sheets(path, _open_zip(path) if is_zip else None, choose)   # no fork: see jobs.read_guarded


def _in_child(path: Path, choose, is_zip: bool) -> list[RawSheet]:
    """The sheets of a binary workbook (.xls, .xlsb), read in a forked child process.

    python-calamine trusts the record lengths inside binary formats: a damaged .xls can make it
    allocate hundreds of GB and abort the whole process (found by fuzzing). In a child that
    death is only this file's 无法读取. (.xlsx XML is checked beforehand instead.) `choose` runs in
    the child; the worksheet names it was given come back and it is called again here, so that
    whatever it noted about them (the caller's state) is noted in this process too.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # child: read, send, leave without cleanup
        try:
            os.close(read_end)
            quiet = os.open(os.devnull, os.O_WRONLY)   # a dying reader's Rust backtrace is no news for an official
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            try:
                zf = _open_zip(path) if is_zip else None
                names: list[str] = []

                def noting(all_names):
                    names.extend(all_names)
                    return choose(all_names) if choose else all_names

                sheets = [RawSheet(s.name, s.grid + [list(r) for r in s.rest]) for s in _sheets(path, zf, noting)]
                payload = pickle.dumps(("ok", (names, sheets)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:
                payload = pickle.dumps(("unusable" if isinstance(exc, UnusableInput) else "error", str(exc)))
            with os.fdopen(write_end, "wb") as fh:
                fh.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    if not data:
        raise UnusableInput("文件已损坏：解析时读取程序异常终止（请在 Excel 中打开后另存为 .xlsx 再提交）")
    kind, value = pickle.loads(data)
    if kind == "ok":
        names, sheets = value
        if choose:
            choose(names)
        return sheets
    raise UnusableInput(value if kind == "unusable" else f"读取工作表时出错：{value[:200]}")


def _sheets(path: Path, zf: zipfile.ZipFile | None, choose):
    """iter_sheets' reading proper: python-calamine, or the piecewise reader for the parts it must not load."""
    wb = None
    try:
        stream = _parts_to_stream(zf) if zf is not None else set()
        try:
            wb = _calamine(path)
        except BaseException as exc:  # calamine raises several error types for broken files
            if not _failed(exc):
                raise
            raise UnusableInput(f"无法读取工作簿：{_short(exc)}") from exc
        parts = {n: p for n, p in ooxml.sheet_parts(zf).items() if p in stream} if stream else {}
        strings = None
        worksheets = [m.name for m in wb.sheets_metadata if str(m.typ) == "SheetTypeEnum.WorkSheet"]
        chosen = set(choose(worksheets) if choose else worksheets)
        for meta in wb.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet" or meta.name not in chosen:
                continue
            if meta.name in parts:
                if strings is None:
                    strings = xlsxstream.shared_strings(zf), xlsxstream.date_styles(zf), xlsxstream.uses_1904(zf)
                yield _streamed(zf, meta.name, parts[meta.name], *strings)
                continue
            try:
                sheet = wb.get_sheet_by_name(meta.name)
                merged = sheet.merged_cell_ranges
            except BaseException as exc:
                if not _failed(exc):
                    raise
                raise UnusableInput(f"读取工作表「{meta.name}」时出错：{_short(exc)}") from exc
            if sheet.height <= STREAM_ABOVE:
                grid = sheet.to_python(skip_empty_area=False)
                width = max((len(r) for r in grid), default=0)
                if any(len(r) != width for r in grid):
                    grid = [list(r) + [""] * (width - len(r)) for r in grid]
                _fill_merged(grid, merged)
                yield RawSheet(meta.name, grid)
                continue
            row0, col0 = sheet.start or (0, 0)
            pad = [""] * col0
            rows = sheet.iter_rows()
            head = [[""] * (col0 + sheet.width) for _ in range(row0)]
            for row in rows:
                head.append(pad + list(row))
                if len(head) >= HEAD_ROWS:
                    break
            _fill_merged(head, merged)
            yield RawSheet(meta.name, head, (pad + list(r) for r in rows))
    except UnusableInput:
        raise
    except BaseException as exc:
        if not _failed(exc):
            raise
        raise UnusableInput(f"读取工作表时出错：{_short(exc)}") from exc
    finally:
        if wb is not None:
            wb.close()
        if zf is not None:
            zf.close()


def _web_sheets(path: Path, kind: str, choose) -> list[RawSheet]:
    """The tables of a web page or XML 2003 file exported as ".xls", as Excel would show them."""
    try:
        data = path.read_bytes()
        tables = webtable.html_tables(data, path.stem) if kind == "html" else webtable.xml2003_tables(data)
    except webtable.WebTableError as exc:
        raise UnusableInput(str(exc)) from exc
    except Exception as exc:                     # a page too broken to parse: say so like any damage
        raise UnusableInput(f"文件已损坏：{_short(exc)}") from exc
    chosen = set(choose([name for name, _ in tables]) if choose else (name for name, _ in tables))
    return [RawSheet(name, grid, web=kind) for name, grid in tables if name in chosen]


READ_AHEAD = 8      # pieces decoded while the merged areas are looked for (a few MB at most)


def _streamed(zf: zipfile.ZipFile, name: str, part: str, strings, dates, date1904: bool) -> RawSheet:
    """A huge worksheet read piece by piece from its XML (never whole in memory).

    Merged areas fill the blank cells of the first rows (the header); they are listed after all
    cells, so finding them means decompressing the part once more. That is skipped when the first
    rows hold no blank cell (no fill could change them), and otherwise runs in a second thread (zlib
    works without the interpreter lock) while this one decodes the next pieces."""
    blocks = xlsxstream.Stream(zf, part, strings, dates, date1904).blocks()
    head, rest = xlsxstream.head_and_rest(blocks, HEAD_ROWS)
    width = max((len(r) for r in head), default=0)
    head = [r + [""] * (width - len(r)) for r in head]
    if any(v == "" or v is None for row in head for v in row):
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(1) as pool:
            merged = pool.submit(xlsxstream.merged_ranges, zf, part)
            ahead = []
            for block in rest.blocks:
                ahead.append(block)
                if merged.done() or len(ahead) >= READ_AHEAD:
                    break
            _fill_merged(head, merged.result())
        rest = xlsxstream.Rows(chain(ahead, rest.blocks))
    return RawSheet(name, head, rest)


def sheet_names(path: Path) -> list[str]:
    """Worksheet names of an .xlsx/.xlsm, read from its workbook part only (after the same safety
    checks as a full read); [] for anything else or an unreadable file."""
    try:
        if check_file(path) != ZIP or path.suffix.lower() == ".xlsb":
            return []
        with _open_zip(path) as zf:
            return list(ooxml.sheet_parts(zf))
    except Exception:
        return []


def read_sheets(path: Path, choose=None) -> list[RawSheet]:
    """The chosen worksheets (default: all) as whole grids (small sheets; tests and tools)."""
    out = []
    for raw in iter_sheets(path, choose):
        out.append(RawSheet(raw.name, raw.grid + [list(r) for r in raw.rest]))
    return out


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
