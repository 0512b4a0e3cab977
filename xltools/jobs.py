"""The command line's inputs and outputs: which files, read one by one, and where results go.

`run_books` reads each workbook (judging a zone two of them give), and hands them to the one run
pipeline (pipeline.py) that the ribbon and batch use too; the rest names files: inputs from paths,
folders and patterns, outputs that never replace a user's own workbook.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from . import memory
from .engine import TASKS
from .intake import Book, audit_books, consolidate, only_results_written, read_book, tables_of
from .intake import reader
from .intake.consolidate import Conflict, find_duplicates, unknown_preferences
from .intake.workers import read_isolated
from .pipeline import (EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE, Reading, Request, RunResult, Unit, conflict_notes,
                       doubts_in, exit_code, problems_frame, run)
from .problems import ERROR, WARNING

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")   # in any letter case: 青岛.XLSX counts on Linux too


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


def check_preferences(prefer: Iterable[str], books: list[Book]) -> None:
    """A --prefer that names no input cannot be followed: said, and nothing is computed (exit 2)."""
    unknown = unknown_preferences(prefer, books)
    if unknown:
        raise RuntimeError("--prefer " + "、".join(f"「{u}」" for u in unknown) + " 不是输入文件之一："
                           "请写输入文件的文件名（如 --prefer 甲开发区2023.xlsx），或写 --prefer newest")


def settle_duplicates(books: list[Book], prefer: Iterable[str] = ()
                      ) -> tuple[dict[str, dict[str, np.ndarray]], list[Conflict]]:
    """Several workbooks computed one by one (run, validate): the same zone or zone-year in two of
    them is judged as in a batch (consolidate.find_duplicates). Its problems join each book's own;
    returns, per book and sheet kind, which of its rows to compute, and the conflicts."""
    usable = [b for b in books if b.usable]
    if len(usable) < 2:
        return {}, []
    tables = consolidate(usable)
    keep, problems, conflicts = find_duplicates(usable, tables, prefer)
    by_name = {b.name: b for b in usable}
    for p in problems:
        by_name[p.file].problems.append(p)
    masks: dict[str, dict[str, np.ndarray]] = {}
    for key, mask in keep.items():
        start = 0
        for b in usable:
            if key in b.tables:
                n = len(b.tables[key])
                if not mask[start:start + n].all():
                    masks.setdefault(b.name, {})[key] = mask[start:start + n]
                start += n
    return masks, conflicts


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
        book = read_isolated(path)      # read like a batch's files: its 核实性审核 run here
        audit_books([book])
        return book
    return read_book(path)


def run_books(paths: Iterable[str | Path], *, profile: str | None = None,
              tasks: tuple[str, ...] = TASKS, progress: Callable[[str], None] | None = None,
              rank_options=None, prefer: tuple[str, ...] = ()) -> RunResult:
    """Validate each workbook and run the engine on every one that has usable data.

    `progress(name)` is called after each file is read (front ends drive a progress bar with it).
    A zone or zone-year two workbooks both give is judged by content (`settle_duplicates`);
    `prefer` chooses between copies that differ.
    """
    memory.tune()
    books = read_each(paths, progress)
    check_preferences(prefer, books)
    masks, conflicts = settle_duplicates(books, prefer)
    result = RunResult(books, conflicts=conflicts)
    reading = Reading([problems_frame(books)], inputs=len({b.name for b in books if b.usable}),
                      notes_first=conflict_notes(conflicts))
    return run(result, units_of(books, masks), reading, Request(profile, tasks, rank_options))


def read_each(paths: Iterable[str | Path], progress: Callable[[str], None] | None = None) -> list[Book]:
    """Each workbook read on its own, named as results call it (`display_names`)."""
    paths = [Path(p) for p in paths]
    shown = display_names(paths)
    books = []
    for p in paths:
        books.append(read_guarded(p))
        books[-1].rename(shown[p])
        if books[-1].rows > LARGE_BOOK_ROWS:
            memory.release()          # the parsing garbage of a huge sheet, before the engine starts
        if progress:
            progress(p.name)
    return books


def units_of(books: list[Book], masks: dict[str, dict[str, np.ndarray]]):
    """One engine unit per usable book, without the rows another file's copy stands for (built one
    at a time, as the pipeline assesses them); a book all of whose rows repeat others' is skipped."""
    for book in books:
        if not book.usable:
            continue
        tables = tables_of(book)
        for key, mask in masks.get(book.name, {}).items():
            tables[key] = tables[key][mask].reset_index(drop=True)
            tables[key].attrs["sheet_present"] = True     # emptied by duplicates, yet the sheet exists
        if masks.get(book.name) and not any(len(t) for k, t in tables.items() if k != "params"):
            continue                        # every row repeats another file's: computed there
        yield Unit(book.name, tables, large=book.rows > LARGE_BOOK_ROWS, doubtful=doubts_in([book], tables))


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


__all__ = ["expand_inputs", "run_books", "problems_frame", "exit_code", "RunResult", "read_each",
           "EXIT_CLEAN", "EXIT_PROBLEMS", "EXIT_UNUSABLE", "ERROR", "WARNING", "same_file", "may_overwrite",
           "free_name"]
