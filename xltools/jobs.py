"""Jobs shared by every front end (CLI, ribbon, batch): read → engine → result sheets.

Thin glue only: no domain logic lives here, only the order in which intake, engine and
output are called, and the summary a front end shows.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__, memory
from .engine import TASKS, assess
from .intake import Book, audit_books, only_results_written, read_book, tables_of
from .intake import reader
from .intake.units import units_note
from .problems import ERROR, WARNING
from .schema import RESULT_ORDER, RESULT_SHEETS

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")   # in any letter case: 青岛.XLSX counts on Linux too
EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2
SHEET_ORDER = list(RESULT_ORDER)


def expand_inputs(items: Iterable[str]) -> list[Path]:
    """Paths, folders and quoted glob patterns → workbook files (Windows shells do not expand globs).

    A name that exists is taken as it is, even with glob characters in it (青岛[2023].xlsx); a folder,
    named or matched by a pattern, yields the workbooks below it; a pattern yields only workbooks
    (报送/* does not turn a cover letter .docx into an unreadable submission).
    """
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(_workbooks_below(p))
        elif not p.exists() and any(ch in item for ch in "*?["):
            for match in sorted(Path(m) for m in glob.glob(item, recursive=True)):
                out.extend(_workbooks_below(match) if match.is_dir() else [match] if _is_workbook(match) else [])
        else:
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _is_workbook(p: Path) -> bool:
    """A workbook file by its name: Excel suffix in any case, not Excel's owner file of an open
    workbook (~$名称.xlsx) nor a WPS/LibreOffice lock file (.~名称.xlsx)."""
    return p.suffix.lower() in EXCEL_SUFFIXES and not p.name.startswith(("~$", ".~"))


def _workbooks_below(folder: Path) -> list[Path]:
    return sorted(q for q in folder.rglob("*") if _is_workbook(q) and q.is_file())


def problems_frame(books: Iterable[Book]) -> pd.DataFrame:
    rows = [p.as_row() for b in books for p in b.problems]
    return pd.DataFrame(rows, columns=list(RESULT_SHEETS["数据校验"]))


def exit_code(books: list[Book]) -> int:
    if any(not b.usable for b in books):
        return EXIT_UNUSABLE
    return EXIT_PROBLEMS if any(b.problems for b in books) else EXIT_CLEAN


@dataclass
class RunResult:
    books: list[Book]
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "版本": __version__,
            "文件数": len(self.books),
            "读入行数": sum(b.rows for b in self.books),
            "错误": sum(b.errors for b in self.books),
            "警告": sum(b.warnings for b in self.books),
            "结果工作表": list(self.sheets),
            "未执行": self.skipped,
            "退出码": exit_code(self.books),
        }


def calc_notes(result: RunResult, extra: dict[str, str] | None = None) -> pd.DataFrame:
    items = {
        "工具": f"xltools {__version__}",
        "输入文件": "；".join(b.name for b in result.books),
        "读入情况": "；".join(f"{b.name}：{len(b.tables)} 个工作表，{b.rows} 行" for b in result.books),
        "未执行的计算": "；".join(result.skipped) or "无",
    }
    if units := units_note(b for b in result.books if b.usable):
        items["读入单位"] = units
    items.update(extra or {})
    return pd.DataFrame({"项目": list(items), "内容": list(items.values())})


LARGE_BOOK_ROWS = 50_000   # above this, freed heap pages are returned between phases


def display_names(paths: list[Path]) -> dict[Path, str]:
    """What each input is called in results: its file name — or, when inputs share a name
    (报送表.xlsx in every city's folder), its path below their common folder. Results, problems
    and each file's 参数 are matched by this name, so it must tell the files apart."""
    counts = Counter(p.name for p in paths)
    if max(counts.values(), default=0) <= 1:
        return {p: p.name for p in paths}
    full = {p: p.resolve() for p in paths}
    try:
        root = Path(os.path.commonpath([str(f.parent) for f in full.values()]))
    except ValueError:                                  # different drives (Windows)
        root = None
    return {p: (p.name if counts[p.name] == 1 else
                full[p].relative_to(root).as_posix() if root is not None else str(full[p])) for p in paths}


def read_guarded(path: Path) -> Book:
    """`read_book`, except that a binary workbook (.xls, .xlsb) on a system without fork (Windows)
    is read in a spawned process: python-calamine can abort the whole process on a damaged one,
    which would end the command without a word. Costs about a second per such file, so batch
    workers (isolated already) do not take this route."""
    if not reader.CAN_FORK and path.suffix.lower() in reader.BINARY_SUFFIXES:
        from .batch import read_isolated
        book = read_isolated(path)      # read like a batch's files: its 核实性审核 run here
        audit_books([book])
        return book
    return read_book(path)


def run_books(paths: Iterable[str | Path], *, profile: str | None = None,
              tasks: tuple[str, ...] = TASKS, progress: Callable[[str], None] | None = None,
              rank_options=None) -> RunResult:
    """Validate each workbook and run the engine on every one that has usable data.

    `progress(name)` is called after each file is read (front ends drive a progress bar with it).
    """
    memory.tune()
    paths = [Path(p) for p in paths]
    shown = display_names(paths)
    books = []
    for p in paths:
        books.append(read_guarded(p))
        books[-1].rename(shown[p])
        if books[-1].rows > LARGE_BOOK_ROWS:
            memory.release()          # the parsing garbage of a huge sheet, before the engine starts
        if progress:
            progress(Path(p).name)
    result = RunResult(books)
    results: dict[str, list[pd.DataFrame]] = {}
    notes: dict[str, str] = {}
    for book in books:
        if not book.usable:
            continue
        assessment = assess(tables_of(book), profile=profile, tasks=tasks, rank_options=rank_options)
        if book.rows > LARGE_BOOK_ROWS:
            memory.release()
        for name, frame in assessment.sheets.items():
            results.setdefault(name, []).append(frame)
        for item in assessment.skipped:
            result.skipped.append(f"{book.name}：{item}")
        for key, value in assessment.notes.items():
            notes[key] = value if key not in notes or notes[key] == value else f"{notes[key]}；{value}"
    result.sheets["数据校验"] = problems_frame(books)
    for name in sorted(results, key=lambda n: SHEET_ORDER.index(n) if n in SHEET_ORDER else len(SHEET_ORDER)):
        frames = results[name]
        result.sheets[name] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    result.sheets["计算说明"] = calc_notes(result, notes)
    return result


def default_output(book: Path) -> Path:
    return book.with_name(f"{book.stem}_结果.xlsx")


def may_overwrite(path: Path) -> bool:
    """May a result be written to `path`? Only if nothing is there, or an earlier result of xltools
    that holds nothing else (a user's workbook, a result they added a sheet to, or any other file
    is never replaced by a result)."""
    return not os.path.lexists(path) or (path.is_file() and only_results_written(path))


def free_name(path: Path) -> Path:
    """`path`, or 名称(2).xlsx, 名称(3).xlsx … — the first a result may be written to."""
    n = 1
    target = path
    while not may_overwrite(target):
        n += 1
        target = path.with_name(f"{path.stem}({n}){path.suffix}")
    return target


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


__all__ = ["expand_inputs", "run_books", "problems_frame", "exit_code", "RunResult",
           "EXIT_CLEAN", "EXIT_PROBLEMS", "EXIT_UNUSABLE", "ERROR", "WARNING", "same_file", "may_overwrite",
           "free_name"]
