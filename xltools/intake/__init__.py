"""Intake: submitted workbook → clean typed tables + 数据校验 problems.

`read_book(path)` never raises for bad content: an unusable file (not a workbook,
corrupt, encrypted) comes back with `usable=False` and one 错误 problem; cell-level
problems are listed and the offending values left missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..problems import ERROR, WARNING, Problem
from ..schema import SHEETS, SHEETS_BY_KEY, find_sheet, normalize_text
from .reader import UnusableInput, iter_sheets
from .table import SheetTable, cell_ref, read_table_rows

__all__ = ["Book", "read_book", "UnusableInput", "tables_of", "consolidate"]

from .consolidate import consolidate  # noqa: E402  (many books → one table per sheet kind)


@dataclass
class Book:
    """Everything read from one workbook."""

    path: Path
    name: str
    tables: dict[str, SheetTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    usable: bool = True

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


def read_book(path: str | Path, display_name: str | None = None) -> Book:
    path = Path(path)
    book = Book(path, display_name or path.name)
    seen = 0
    try:
        for raw in iter_sheets(path, wanted=lambda n: find_sheet(n) is not None):
            seen += 1
            _take_sheet(book, raw)
    except UnusableInput as exc:
        book.usable = False
        book.tables.clear()
        book.problems[:] = [Problem(book.name, "", "", ERROR, f"无法读取：{exc}",
                                    "确认文件是 Excel 工作簿（.xlsx/.xlsm/.xls），能在 Excel 中正常打开且未加密")]
        return book

    if not seen:
        book.usable = False
        book.problems.append(Problem(book.name, "", "", ERROR,
                                     "工作簿中没有可识别的工作表（如「开发区」「指标」「机构设置」）",
                                     "使用 xltools template 生成的模板，或把工作表改为标准名称：" + "、".join(s.name for s in SHEETS)))
        return book

    _cross_check_zones(book)
    return book


def _take_sheet(book: Book, raw) -> None:
    """Read one recognised worksheet into `book` (its rows are consumed here)."""
    sheet = find_sheet(raw.name)
    if sheet.key in book.tables:
        book.problems.append(Problem(book.name, raw.name, "", WARNING,
                                     f"工作表「{raw.name}」与「{book.tables[sheet.key].title}」同为「{sheet.name}」表，已忽略后者",
                                     "每类数据只保留一个工作表"))
        return
    table = read_table_rows(raw.grid, raw.rest, sheet, raw.name)
    if table is None:
        book.problems.append(Problem(book.name, raw.name, cell_ref(raw.name, 0, 0), ERROR,
                                     f"工作表「{raw.name}」中找不到「{sheet.name}」表的表头",
                                     "表头应包含：" + "、".join(c.header for c in sheet.columns
                                                            if c.required or c in sheet.key_columns)))
        return
    book.tables[sheet.key] = table
    for row, col, level, msg, hint in table.problems:
        book.problems.append(Problem(book.name, raw.name, cell_ref(raw.name, row, col), level, msg, hint))


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


def tables_of(book: Book) -> dict[str, pd.DataFrame]:
    """All typed tables of a book keyed by schema sheet key (engine input)."""
    return {key: book.frame(key) for key in SHEETS_BY_KEY if key in book.tables}
