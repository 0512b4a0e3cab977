"""Batch: validate and consolidate hundreds of submitted workbooks, then run the engine once.

Reading and validating runs in local processes by default, or on a Dask distributed cluster
(cluster.py), a chunk of files per task (their columns are typed together). Workers send back typed columns packed per sheet kind (`Shipment`), never a pandas
object per sheet; consolidation builds one DataFrame per sheet kind. One bad file never stops
the others.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import TASKS, assess
from .intake import Book, audit_books, read_book, read_books
from .intake.table import SheetTable
from .intake.consolidate import Conflict, consolidate, cross_file_checks
from .jobs import SHEET_ORDER, calc_notes, check_preferences, conflict_notes, display_names, exit_code, mark_conflicts, \
    problems_frame, RunResult
from .problems import ERROR, WARNING, Problem
from .schema import SHEETS_BY_KEY, find_sheet

FILE_COLUMNS = ["文件", "状态", "读入行数", "错误", "警告", "工作表", "说明"]
# 文件清单 状态, most urgent first (重复报送: the file's data conflicts with another file's)
UNREADABLE, DUPLICATE, HAS_ERRORS, HAS_WARNINGS, CLEAN, SKIPPED = "无法读取", "重复报送", "有错误", "有警告", "正常", "已跳过"


def read_chunk(paths: list[str]) -> list[Book]:
    """Worker entry point (must be importable by name for processes and Dask workers).

    A chunk of files is read together (their columns typed together); should that ever fail,
    each file is read on its own so that one bad file never costs the others.
    """
    try:
        books = read_books(paths, audit=False)     # 核实性审核 run over every file, in run_batch
    except Exception:
        books = [_safe_read(p) for p in paths]
    return Shipment(books)


class Shipment(list):
    """The books of one chunk, packed for the trip from a worker to the parent.

    Pickled as one array (or list) per column of each sheet kind, plus a small header per table,
    instead of a handful of small objects per file: less to pack, send and unpack.
    """

    def __reduce__(self):
        heads, pieces = [], {}
        for b in self:
            tables = []
            for key, t in b.tables.items():
                for k, v in t.values.items():
                    pieces.setdefault((key, k), []).append(v)
                tables.append((key, t.title, t.columns, t.header_row, t.problems, len(t), list(t.values), t.units))
            heads.append((str(b.path), b.name, b.usable, b.result_workbook, [tuple(vars(p).values()) for p in b.problems],
                          tables))
        return (_unpack, (heads, {k: _join(v) for k, v in pieces.items()}))


def _join(pieces: list) -> tuple[bool, object]:
    """(joined?, one array or list for all pieces — or the pieces themselves when they differ in type)."""
    if all(isinstance(p, np.ndarray) for p in pieces) and len({p.dtype for p in pieces}) == 1:
        return True, np.concatenate(pieces)
    if all(isinstance(p, list) for p in pieces):
        return True, [v for p in pieces for v in p]
    return False, pieces


def _unpack(heads, blocks) -> list[Book]:
    at = dict.fromkeys(blocks, 0)
    books = []
    for path, name, usable, result_workbook, problems, tables in heads:
        book = Book(Path(path), name, problems=[Problem(*p) for p in problems], usable=usable,
                    result_workbook=result_workbook)
        for key, title, columns, header_row, table_problems, n, keys, units in tables:
            values = {}
            for k in keys:
                joined, data = blocks[(key, k)]
                i = at[(key, k)]
                values[k] = data[i:i + n] if joined else data[i]      # numbers: a view, no copy
                at[(key, k)] = i + n if joined else i + 1
            book.tables[key] = SheetTable(SHEETS_BY_KEY[key], title, values, columns, header_row, table_problems, units)
        books.append(book)
    return books


@contextmanager
def make_executor(jobs: int | None):
    """A concurrent.futures executor of local processes (None: read here, one file after another)."""
    if (jobs or os.cpu_count() or 1) <= 1:
        yield None
    else:
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
            yield pool


def read_all(paths: list[Path], executor: Executor | None, progress: Callable[[str], None] | None = None) -> list[Book]:
    """Read every file (in parallel when an executor is given); results keep the input order."""
    # chunks keep inter-process traffic low and let a worker type many files' columns at once
    workers = 1 if executor is None else (os.cpu_count() or 1)
    size = max(1, min(32, len(paths) // (8 * workers) or 1))
    chunks = [[str(p) for p in paths[i:i + size]] for i in range(0, len(paths), size)]
    results = map(read_chunk, chunks) if executor is None else executor.map(read_chunk, chunks)
    books: list[Book] = []
    try:
        for chunk in results:
            for book in chunk:
                books.append(book)
                if progress:
                    progress(book.name)
    except Exception:
        # read_chunk never raises: a worker died (killed by the system, or a reader that aborts
        # the process). Read the rest in fresh processes, splitting until the culprit is alone.
        if executor is None:
            raise
        for book in _read_isolating(paths[len(books):], workers):
            books.append(book)
            if progress:
                progress(book.name)
    return books


def read_isolated(path: Path) -> Book:
    """One workbook read in a fresh spawned process: if reading kills that process, the file is
    reported as unreadable and the caller lives on (binary workbooks where there is no fork)."""
    import multiprocessing

    return _read_isolating([path], 1, multiprocessing.get_context("spawn"))[0]


def _read_isolating(paths: list[Path], workers: int, context=None) -> list[Book]:
    """Books of `paths` read in fresh process pools; a file that kills its process is halved
    down to itself and reported as unreadable, every other file is read."""
    from concurrent.futures.process import BrokenProcessPool

    out: dict[Path, Book] = {}
    groups = [paths] if paths else []
    while groups:
        group = groups.pop(0)
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(group)), mp_context=context) as pool:
                for path, shipped in zip(group, pool.map(read_chunk, [[str(p)] for p in group])):
                    out[path] = shipped[0]
        except BrokenProcessPool:
            if len(group) == 1:
                out[group[0]] = _died(group[0])
            else:
                half = len(group) // 2
                groups[:0] = [[p for p in group[:half] if p not in out], [p for p in group[half:] if p not in out]]
                groups = [g for g in groups if g]
    return [out[p] for p in paths]


DIED_HINT = "在 Excel 中打开并另存后重新提交；可先用 xltools validate 单独检查该文件"


def _died(path: Path) -> Book:
    return _unreadable(path, "读取此文件时处理进程异常退出（文件可能损坏，或大到超出本机内存）", DIED_HINT)


def _safe_read(path: str) -> Book:
    try:
        return read_book(path, audit=False)
    except Exception as exc:
        return _failed(Path(str(path)), exc)          # str: also a file sent in memory (cluster)


def _failed(path: Path, exc: Exception) -> Book:
    return _unreadable(path, f"读取时出错：{type(exc).__name__}: {exc}"[:300], "确认文件能在 Excel 中正常打开")


def _unreadable(path: Path, message: str, hint: str) -> Book:
    """A book that could not be read at all: one 错误 saying why (listed as 无法读取)."""
    book = Book(path, path.name, usable=False)
    book.problems.append(Problem(path.name, "", "", ERROR, message, hint))
    return book


@dataclass
class BatchResult(RunResult):
    files: pd.DataFrame = field(default_factory=pd.DataFrame)
    cross: list[Problem] = field(default_factory=list)
    zone_files: dict[str, str] = field(default_factory=dict)   # zone → the file whose data was used

    def own_rows(self, name: str) -> dict[str, pd.DataFrame]:
        """The rows of every result sheet that belong to file `name` (what --in-place writes back):
        its own 数据校验 rows, and the rows of the zones whose data was taken from it — not those of
        a zone it repeated from another file."""
        zones = {z for z, f in self.zone_files.items() if f == name}
        out = {}
        for sheet, frame in self.sheets.items():
            if sheet == "数据校验":
                out[sheet] = frame[frame["文件"] == name]
            elif sheet not in ("文件清单", "计算说明") and "开发区名称" in frame:
                out[sheet] = frame[frame["开发区名称"].isin(zones)]
        return out

    def files_to_chase(self) -> pd.DataFrame:
        """The files an office must call back about: unreadable ones first, then those with errors."""
        urgent = [UNREADABLE, DUPLICATE, HAS_ERRORS]
        bad = self.files[self.files["状态"].isin(urgent)]
        return bad.sort_values("状态", key=lambda s: s.map(urgent.index), kind="stable")[["文件", "状态", "错误", "警告", "说明"]]

    def summary(self) -> dict:
        base = super().summary()
        base["退出码"] = batch_exit_code(self)
        base["文件状态"] = self.files["状态"].value_counts().to_dict() if len(self.files) else {}
        base["跨文件问题"] = len(self.cross)
        base["数据冲突"] = sum(c.used is None for c in self.conflicts)
        return base


def file_list(books: list[Book], cross: list[Problem], conflicts: list[Conflict] = ()) -> pd.DataFrame:
    clashes: dict[str, set[str]] = {}              # file → the files its data conflicts with
    for c in conflicts:
        for f in c.files:
            clashes.setdefault(f, set()).update(set(c.files) - {f})
    errors = Counter(p.file for p in cross if p.level == ERROR)
    warnings = Counter(p.file for p in cross if p.level == WARNING)
    rows = []
    for b in books:
        n_err, n_warn = b.errors + errors[b.name], b.warnings + warnings[b.name]
        n_cross = errors[b.name] + warnings[b.name]
        if b.result_workbook:                          # a previous run's output lying among the submissions
            state, n_err = SKIPPED, 0
        else:
            state = UNREADABLE if not b.usable else DUPLICATE if b.name in clashes else (
                HAS_ERRORS if n_err else (HAS_WARNINGS if n_warn else CLEAN))
        note = b.problems[0].message if not b.usable else (f"跨文件问题 {n_cross} 条" if n_cross else "")
        if b.usable and b.name in clashes:
            note = "与" + "、".join(f"「{f}」" for f in sorted(clashes[b.name])) + f"数据冲突（见「数据校验」）；{note}"
        rows.append({"文件": b.name, "状态": state, "读入行数": b.rows, "错误": n_err, "警告": n_warn,
                     "工作表": "、".join(_shown_sheet(t) for t in b.tables.values()), "说明": note})
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def _shown_sheet(table: SheetTable) -> str:
    """A worksheet's name, with the kind of table it was recognised as when its name does not say so."""
    return table.title if find_sheet(table.title) is not None else f"{table.title}（{table.sheet.name}）"


def run_batch(paths: Iterable[Path], *, jobs: int | None = None, scheduler: str | None = None,
              shared_storage: bool | None = None, profile: str | None = None,
              progress: Callable[[str], None] | None = None, notify: Callable[[str], None] | None = None,
              tasks: tuple[str, ...] = TASKS, prefer: tuple[str, ...] = ()) -> BatchResult:
    """`scheduler`: read on a Dask cluster (cluster.read_on_cluster; `notify` hears what it is).
    `prefer`: which copy to use where files give a zone (or zone-year) differently — file names,
    or `newest` (the workbook's own 修改时间); without it such data is left uncomputed (数据冲突)."""
    paths = sorted(Path(p) for p in paths)
    cluster = None
    if scheduler:
        from .cluster import read_on_cluster

        books, cluster = read_on_cluster(paths, scheduler, jobs=jobs, shared_storage=shared_storage,
                                         progress=progress, notify=notify)
    else:
        with make_executor(jobs) as executor:
            books = read_all(paths, executor, progress)
    shown = display_names(paths)
    for book in books:
        book.rename(shown[book.path])
    usable = [b for b in books if b.usable]
    check_preferences(prefer, books)
    audit_books(usable)               # medians and previous years over every file, at each file's own cells
    tables = consolidate(usable)
    tables, cross, conflicts = cross_file_checks(usable, tables, prefer)
    engine_tables = {k: v.drop(columns="_file") for k, v in tables.items()}
    result = BatchResult(books, files=file_list(books, cross, conflicts), cross=cross, conflicts=conflicts)
    if "zones" in tables:
        result.zone_files = dict(zip(tables["zones"]["zone"], tables["zones"]["_file"]))
    assessment = assess(engine_tables, profile=profile, tasks=tasks) if engine_tables else None
    problems = pd.concat([problems_frame(submitted(books)),
                          pd.DataFrame([p.as_row() for p in cross], columns=problems_frame([]).columns),
                          pd.DataFrame([{"文件": _files_of(result, row), **row}
                                        for row in (assessment.problems if assessment else [])],
                                       columns=problems_frame([]).columns)],
                         ignore_index=True)
    result.sheets["文件清单"] = result.files
    result.sheets["数据校验"] = problems
    if assessment is not None:
        for name in sorted(assessment.sheets, key=lambda n: SHEET_ORDER.index(n) if n in SHEET_ORDER else 99):
            result.sheets[name] = assessment.sheets[name]
        result.skipped += assessment.skipped
        result.failed += assessment.failed
    mark_conflicts(result.sheets, conflicts)
    notes = dict(assessment.notes) if assessment is not None else {}
    notes.update(conflict_notes(conflicts))
    notes["输入文件"] = f"{len(paths)} 个文件，逐个列在「文件清单」"       # not one name after another:
    notes["读入情况"] = f"{len(usable)} 个可用，共 {sum(b.rows for b in usable)} 行，见「文件清单」"   # 1,000 would overflow a cell
    notes["汇总方式"] = (f"{len(paths)} 个文件，{len(usable)} 个可用；" +
                     (cluster.method if cluster else f"本地 {jobs or os.cpu_count()} 个进程"))
    if cluster:
        notes["集群"] = cluster.details
    result.sheets["计算说明"] = calc_notes(result, notes)
    return result


def _files_of(result: BatchResult, row: dict) -> str:
    """The files an engine 警告 is about: those whose data the zones it names came from."""
    return "、".join(dict.fromkeys(f for f in map(result.zone_files.get, row.get("_zones", [])) if f))


def submitted(books: list[Book]) -> list[Book]:
    """The books that are submissions: not result workbooks of an earlier run (those are only listed)."""
    return [b for b in books if not b.result_workbook]


def batch_exit_code(result: BatchResult) -> int:
    code = exit_code(submitted(result.books), result.failed)
    return max(code, 1) if result.cross else code
