"""Intake: submitted workbook → clean typed tables + 数据校验 problems.

`read_book(path)` never raises for bad content: an unusable file (not a workbook,
corrupt, encrypted) comes back with `usable=False` and one 错误 problem; cell-level
problems are listed and the offending values left missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ..problems import ERROR, WARNING, Doubt, Problem
from ..results import RESULT_SHEET_NAMES, result_sheet_name
from ..schema import SHEETS, SHEETS_BY_KEY, UNNAMED_SHEET, find_sheet
from .reader import OTHER_FORMATS, InMemoryFile, RawSheet, UnusableInput, iter_sheets, sheet_names
from .table import ColumnTyper, PendingTable, SheetTable, cell_ref, guess_sheet, stage_table, unknown_blanks

__all__ = ["Book", "read_book", "read_books", "audit_books", "read_grids", "InMemoryFile", "UnusableInput", "tables_of", "consolidate",
           "is_result_workbook", "only_results_written", "sheets_to_read", "blank_cells", "BLANK_COLUMNS"]

from .consolidate import consolidate  # noqa: E402  (many books → one table per sheet kind)
from .audit import audit_books  # noqa: E402  (核实性审核 over books read together)


@dataclass
class Book:
    """Everything read from one workbook."""

    path: Path
    name: str
    tables: dict[str, SheetTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    usable: bool = True
    result_workbook: bool = False     # a workbook xltools wrote (results, no submitted data): skipped in a batch
    doubtful: list[Doubt] = field(default_factory=list)   # values 核实性审核 questions (kept, used: results say so)

    def rename(self, name: str) -> None:
        """Show this book as `name`, in its problems too (two inputs may share a file name)."""
        if name != self.name:
            self.problems = [replace(p, file=name) if p.file == self.name else p for p in self.problems]
            self.name = name

    def frame(self, key: str) -> pd.DataFrame | None:
        """The typed table of a schema sheet (without the helper `_row` column), or None."""
        t = self.tables.get(key)
        return None if t is None else pd.DataFrame({k: v for k, v in t.values.items() if k != "_row"}, copy=False)

    @property
    def errors(self) -> int:
        return sum(p.level == ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.level == WARNING for p in self.problems)

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.tables.values())


def read_book(path: str | Path, display_name: str | None = None, audit: bool = True) -> Book:
    return read_books([path], [display_name], audit)[0]


def read_books(paths: list[str | Path | InMemoryFile], display_names: list[str | None] | None = None,
               audit: bool = True) -> list[Book]:
    """`read_book` of each path (or file sent in memory); the data columns of all of them are typed
    together (faster for a batch of small workbooks from one template: one coercion per column kind).
    The 核实性审核 (HS-01, HS-02) compare the books read together; a caller that reads in pieces
    (batch workers) passes audit=False and runs `audit_books` over all of them at the end."""
    typer = ColumnTyper()
    staged = [_stage_book(p if isinstance(p, InMemoryFile) else Path(p), name, typer)
              for p, name in zip(paths, display_names or [None] * len(paths))]
    typer.flush()
    books = [_finish_book(book, pending) for book, pending in staged]
    if audit:
        audit_books(books)
    return books


def read_grids(name: str, sheets: Iterable[tuple[str, list[list[object]]]], all_names: list[str]) -> Book:
    """A Book from worksheets already in memory as grids (the ribbon reads them through xlwings):
    those `sheets_to_read(all_names)` chose, taken as a file's are."""
    book = Book(Path(name), name)
    typer = ColumnTyper()
    pending: list[tuple[int, PendingTable]] = []
    named_kinds = _named_kinds(all_names)
    for title, grid in sheets:
        width = max((len(r) for r in grid), default=0)     # rectangular, as the file readers give them
        grid = [list(r) + [""] * (width - len(r)) if len(r) < width else r for r in grid]
        _take_any(book, RawSheet(title, grid), typer, pending, named_kinds)
    typer.flush()
    book = _finish_book(book, pending)
    audit_books([book])
    return book


def sheets_to_read(all_names: list[str]) -> list[str]:
    """Of a workbook's worksheet names, those to read: the ones named like a schema table, and the
    ones whose name says nothing, to be recognised by their header — a default name (Sheet1), or
    any name when none is recognised. None of a result workbook's."""
    named = [n for n in all_names if find_sheet(n) is not None]
    if not named and _only_results(all_names):
        return []
    return [n for n in all_names if find_sheet(n) is not None
            or (n not in RESULT_SHEET_NAMES and (not named or UNNAMED_SHEET.match(n)))]


def _named_kinds(all_names: list[str]) -> set[str]:
    return {find_sheet(n).key for n in all_names if find_sheet(n) is not None}


def _take_any(book: Book, raw: RawSheet, typer: ColumnTyper, pending: list, named_kinds: set[str]) -> bool:
    """Stage a chosen worksheet: by its name, or by its header. False when it was not taken."""
    _note_web(book, raw)
    if find_sheet(raw.name) is not None:
        _take_sheet(book, raw, typer, pending)
        return True
    return _take_by_header(book, raw, typer, pending, named_kinds)


def _stage_book(path: Path, display_name: str | None, typer: ColumnTyper) -> tuple[Book, list]:
    book = Book(path, display_name or path.name)
    pending: list[tuple[int, PendingTable]] = []     # (where its problems go in book.problems, table)
    seen = 0
    names: list[str] = []
    named_kinds: set[str] = set()

    def choose(all_names: list[str]) -> list[str]:
        names.extend(all_names)
        named_kinds.update(_named_kinds(all_names))
        return sheets_to_read(all_names)

    try:
        for raw in iter_sheets(path, choose):
            seen += _take_any(book, raw, typer, pending, named_kinds)
    except UnusableInput as exc:
        book.usable = False
        book.problems[:] = [Problem(book.name, "", "", ERROR, f"无法读取：{exc}",
                                    "确认文件是 Excel 工作簿（.xlsx/.xlsm/.xls），能在 Excel 中正常打开且未加密")]
        return book, []

    if not seen and _only_results(names):
        book.usable, book.result_workbook = False, True
        book.problems.append(Problem(book.name, "", "", ERROR,
                                     "这是 xltools 生成的结果工作簿（工作表「" + "」「".join(names[:3]) + "」"
                                     + ("等" if len(names) > 3 else "") + "），不含报送数据",
                                     "请选择填报的报送工作簿；批量汇总时此类文件会自动跳过"))
    elif not seen:
        book.usable = False
        book.problems.append(Problem(book.name, "", "", ERROR,
                                     "工作簿中没有可识别的工作表（如「开发区」「指标」「机构设置」）",
                                     "使用 xltools template 生成的模板，或把工作表改为标准名称：" + "、".join(s.name for s in SHEETS)))
    return book, pending


def _note_web(book: Book, raw: RawSheet) -> None:
    """Once per book: say that it was read as a web page / XML 2003 table, not as a workbook."""
    if raw.web and not any(p.message.startswith("本文件是") for p in book.problems):
        book.problems.insert(0, Problem(book.name, "", "", WARNING,
                                        f"本文件是{OTHER_FORMATS[raw.web][0]}，不是真正的 Excel 工作簿，已按其中的表格读取",
                                        "在 Excel 或 WPS 中打开，「另存为」Excel 工作簿（.xlsx）后再提交，可避免格式差异"))


def _take_by_header(book: Book, raw: RawSheet, typer: ColumnTyper, pending: list, named_kinds: set[str]) -> bool:
    """Take a worksheet whose name says nothing by its header, with a warning — unless its header
    is unclear, or a sheet named for that kind (anywhere in the book) or one taken before gives it."""
    sheet = guess_sheet(raw.grid)
    if sheet is None or sheet.key in named_kinds or any(t.sheet.key == sheet.key for _, t in pending):
        return False
    book.problems.append(Problem(book.name, raw.name, cell_ref(raw.name, 0, 0), WARNING,
                                 f"工作表「{raw.name}」不是标准表名，已按表头识别为「{sheet.name}」表",
                                 f"把工作表改名为「{sheet.name}」"))
    _take_sheet(book, raw, typer, pending, sheet)
    return True


def _only_results(names: list[str]) -> bool:
    """Sheet names of a workbook xltools wrote: sheets named like its results, and neither an input
    sheet nor a default-named one (data pasted into Sheet1 of a workbook the ribbon wrote results to)."""
    return (any(n in RESULT_SHEET_NAMES for n in names)
            and not any(find_sheet(n) or UNNAMED_SHEET.match(n) for n in names))


def only_results_written(path: str | Path) -> bool:
    """Does `path` hold nothing but sheets xltools writes? (Then a new result may replace it; a sheet
    the user added — notes beside the results — makes it theirs.)"""
    names = sheet_names(Path(path))
    return bool(names) and all(result_sheet_name(n) for n in names)


def is_result_workbook(path: str | Path) -> bool:
    """Is `path` a result workbook xltools wrote (a rerun's previous output), not a submission?"""
    return _only_results(sheet_names(Path(path)))


def _finish_book(book: Book, pending: list[tuple[int, PendingTable]]) -> Book:
    finished = [(at, staged.finish()) for at, staged in pending]
    for at, table in reversed(finished):           # back to front: earlier insertion points stay valid
        book.problems[at:at] = [Problem(book.name, table.title, cell_ref(table.title, row, col), level, msg, hint)
                                for row, col, level, msg, hint in table.problems]
    book.tables = {table.sheet.key: table for _, table in finished}
    if book.usable:
        _cross_check_zones(book)
    return book


def _take_sheet(book: Book, raw, typer: ColumnTyper, pending: list, sheet=None) -> None:
    """Stage one recognised worksheet of `book` (its rows are consumed here)."""
    sheet = sheet or find_sheet(raw.name)
    taken = {t.sheet.key: t.title for _, t in pending}
    if sheet.key in taken:
        book.problems.append(Problem(book.name, raw.name, "", WARNING,
                                     f"工作表「{raw.name}」与「{taken[sheet.key]}」同为「{sheet.name}」表，已忽略后者",
                                     "每类数据只保留一个工作表"))
        return
    table = stage_table(raw.grid, raw.rest, sheet, raw.name, typer)
    if table is None:
        book.problems.append(Problem(book.name, raw.name, cell_ref(raw.name, 0, 0), ERROR,
                                     f"工作表「{raw.name}」中找不到「{sheet.name}」表的表头",
                                     "表头应包含：" + "、".join(c.header for c in sheet.columns
                                                            if c.required or c in sheet.key_columns)))
        return
    if not table.usable:
        book.problems.extend(Problem(book.name, raw.name, cell_ref(raw.name, row, col), level, msg, hint)
                             for row, col, level, msg, hint in table.problems)
        return
    pending.append((len(book.problems), table))


def _cross_check_zones(book: Book) -> None:
    zones = book.tables.get("zones")
    if zones is None:
        return
    known = {z for z in zones.values.get("zone", []) if isinstance(z, str)}
    for key, table in book.tables.items():
        if key == "zones" or "zone" not in table.values or "zone" not in table.columns:
            continue
        for pos, name in enumerate(table.values["zone"]):
            if isinstance(name, str) and name not in known:
                row, col = table.cell(pos, "zone")
                book.problems.append(Problem(book.name, table.title, cell_ref(table.title, row, col), WARNING,
                                             f"开发区「{name}」不在「{zones.title}」表中",
                                             "核对名称是否与「开发区」表完全一致，或在「开发区」表中补充该开发区"))


BLANK_COLUMNS = ["文件", "工作表", "单元格", "sheet", "column", "zone", "year"]


def blank_cells(books: Iterable[Book]) -> pd.DataFrame:
    """Every blank cell read whose blank leaves a check unknown (schema Column.needed_for), with its
    zone (and year): the pipeline names those a 数据缺失 verdict came from. A cell already in 数据校验
    (a required blank, a value that could not be read) is not a candidate."""
    rows = []
    for book in books:
        reported = {p.cell for p in book.problems}
        for table in book.tables.values():
            for row, col, key, zone, year in unknown_blanks(table):
                cell = cell_ref(table.title, row, col)
                if cell not in reported:
                    rows.append((book.name, table.title, cell, table.sheet.key, key, zone, year))
    return pd.DataFrame(rows, columns=BLANK_COLUMNS)


def tables_of(book: Book) -> dict[str, pd.DataFrame]:
    """All typed tables of a book keyed by schema sheet key (engine input)."""
    return {key: book.frame(key) for key in SHEETS_BY_KEY if key in book.tables}
