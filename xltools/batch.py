"""Batch: validate and consolidate hundreds of submitted workbooks, then run the engine once.

Reading and validating runs in local processes by default, or on a Dask distributed cluster
(cluster.py), a chunk of files per task (their columns are typed together; intake.workers).
Workers send back typed columns packed per sheet kind (intake.shipment), never a pandas object
per sheet; consolidation builds one DataFrame per sheet kind, and the one run pipeline
(pipeline.py) assesses it. One bad file never stops the others.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .engine import TASKS
from .intake import Book, audit_books
from .intake.table import SheetTable
from .intake.consolidate import Conflict, consolidate, cross_file_checks
from .intake.workers import read_chunk, read_isolating
from .jobs import check_preferences, display_names
from .pipeline import Reading, Request, RunResult, Unit, conflict_notes, doubts_in, exit_code, problems_frame, run
from .problems import ERROR, WARNING, Doubt, Problem
from .results import DECLARED, FILES, NOTES, PROBLEMS
from .schema import find_sheet

FILE_COLUMNS = DECLARED[FILES].names
# 文件清单 状态, most urgent first (重复报送: the file's data conflicts with another file's)
UNREADABLE, DUPLICATE, HAS_ERRORS, HAS_WARNINGS, CLEAN, SKIPPED = "无法读取", "重复报送", "有错误", "有警告", "正常", "已跳过"

__all__ = ["run_batch", "read_chunk", "read_all", "BatchResult", "batch_exit_code", "file_list", "submitted"]


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
    workers = 1 if executor is None else (os.cpu_count() or 1)
    chunks = chunked([str(p) for p in paths], workers)
    results = map(read_chunk, chunks) if executor is None else executor.map(read_chunk, chunks)
    if executor is not None:
        prepare_meanwhile()                    # every chunk is submitted: the workers read meanwhile
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
        for book in read_isolating(paths[len(books):], workers):
            books.append(book)
            if progress:
                progress(book.name)
    return books


def chunked(paths: list[str], workers: int) -> list[list[str]]:
    """The files in chunks: large ones keep inter-process traffic low and let a worker type many
    files' columns at once; the last files go in quarter-size chunks, so that no worker is left
    reading a whole chunk alone at the end while the others idle."""
    size = max(1, min(32, len(paths) // (8 * workers) or 1))
    last = min(len(paths), size * workers) if workers > 1 else 0
    small = max(1, size // 4)
    head, tail = paths[:len(paths) - last], paths[len(paths) - last:]
    return ([head[i:i + size] for i in range(0, len(head), size)]
            + [tail[i:i + small] for i in range(0, len(tail), small)])


def prepare_meanwhile() -> None:
    """Load what the serial part after reading loads once — the result writer (xlsxwriter), the
    built-in profiles and the table of divisions 所属地区 is matched against — while the workers
    read, instead of on one core after them (~0.2 s). Optional: a failure here shows up where the
    thing is used."""
    try:
        from .output import workbook  # noqa: F401
        from .profiles import builtin_ids, load_profile
        from .profiles.regions import divisions

        for pid in builtin_ids():
            load_profile(pid)
        divisions()
    except Exception:
        pass


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
            if sheet == PROBLEMS:
                out[sheet] = frame[frame["文件"] == name]
            elif sheet not in (FILES, NOTES) and "开发区名称" in frame:
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
            note = "与" + "、".join(f"「{f}」" for f in sorted(clashes[b.name])) + f"数据冲突（见「{PROBLEMS}」）；{note}"
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
    books, cluster = read_submissions(paths, jobs, scheduler, shared_storage, progress, notify)
    check_preferences(prefer, books)
    usable = [b for b in books if b.usable]
    result, tables, doubtful = consolidated(books, prefer)
    result.sheets[FILES] = result.files
    how = cluster.method if cluster else f"本地 {jobs or os.cpu_count()} 个进程"
    notes = {**conflict_notes(result.conflicts),
             "输入文件": f"{len(paths)} 个文件，逐个列在「{FILES}」",       # not one name after another:
             "读入情况": f"{len(usable)} 个可用，共 {sum(b.rows for b in usable)} 行，见「{FILES}」",   # 1,000 would overflow a cell
             "汇总方式": f"{len(paths)} 个文件，{len(usable)} 个可用；{how}",
             **({"集群": cluster.details} if cluster else {})}
    cross = pd.DataFrame([p.as_row() for p in result.cross], columns=DECLARED[PROBLEMS].names)
    reading = Reading([problems_frame(submitted(books)), cross], labelled=False,
                      file_of=lambda unit, row: _files_of(result, row), notes_last=notes)
    units = [Unit("", tables, doubtful=doubtful)] if tables else []
    return run(result, units, reading, Request(profile, tasks))


def read_submissions(paths: list[Path], jobs: int | None, scheduler: str | None, shared_storage: bool | None,
                     progress: Callable[[str], None] | None, notify: Callable[[str], None] | None):
    """Every file read — on a Dask cluster, or in local processes — and named as results call it;
    returns the books and the cluster's report (None when read locally)."""
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
    return books, cluster


def consolidated(books: list[Book], prefer: tuple[str, ...]
                 ) -> tuple[BatchResult, dict[str, pd.DataFrame], list[Doubt]]:
    """The usable books audited together and consolidated into one table per sheet kind, checked
    across files: the result to fill (文件清单, cross-file problems, conflicts), the engine's tables
    and the questioned values among them (not those of a copy left out)."""
    usable = [b for b in books if b.usable]
    audit_books(usable)               # medians and previous years over every file, at each file's own cells
    tables = consolidate(usable)
    tables, cross, conflicts = cross_file_checks(usable, tables, prefer)
    result = BatchResult(books, files=file_list(books, cross, conflicts), cross=cross, conflicts=conflicts)
    if "zones" in tables:
        result.zone_files = dict(zip(tables["zones"]["zone"], tables["zones"]["_file"]))
    return result, {k: v.drop(columns="_file") for k, v in tables.items()}, doubts_in(usable, tables)


def _files_of(result: BatchResult, row: dict) -> str:
    """The files an engine 警告 is about: those whose data the zones it names came from."""
    return "、".join(dict.fromkeys(f for f in map(result.zone_files.get, row.get("_zones", [])) if f))


def submitted(books: list[Book]) -> list[Book]:
    """The books that are submissions: not result workbooks of an earlier run (those are only listed)."""
    return [b for b in books if not b.result_workbook]


def batch_exit_code(result: BatchResult) -> int:
    code = exit_code(submitted(result.books), result.failed)
    return max(code, 1) if result.cross else code
