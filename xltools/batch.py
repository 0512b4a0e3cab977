"""Batch: validate and consolidate hundreds of submitted workbooks, then run the engine once.

Per-file work (reading + validating one workbook) runs in local processes by default, or on a
Dask distributed cluster through its `concurrent.futures` executor. Workers return the typed
columns of their file (small), never a pandas object per sheet; consolidation builds one
DataFrame per sheet kind. One bad file never stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import TASKS, assess
from .engine.params import PROFILE_KEYS
from .intake import Book, consolidate, read_book
from .jobs import SHEET_ORDER, calc_notes, exit_code, problems_frame, RunResult
from .problems import ERROR, WARNING, Problem

FILE_COLUMNS = ["文件", "状态", "读入行数", "错误", "警告", "工作表", "说明"]


def read_one(path: str) -> Book:
    """Worker entry point (must be importable by name for processes and Dask workers)."""
    book = read_book(path)
    for table in book.tables.values():   # ship plain arrays, not cached DataFrames
        table._frame = None
    return book


@contextmanager
def make_executor(jobs: int | None, scheduler: str | None):
    """A concurrent.futures executor: local processes, or a Dask cluster (`local` or tcp://host:port)."""
    if scheduler:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise RuntimeError("使用 --scheduler 需要安装 Dask：pip install \"xltools[cluster]\"") from exc
        if scheduler == "local":
            cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        else:
            cluster = None
            client = Client(scheduler, timeout="20s")
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif (jobs or os.cpu_count() or 1) <= 1:
        yield None
    else:
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
            yield pool


def read_all(paths: list[Path], executor: Executor | None, progress: Callable[[str], None] | None = None) -> list[Book]:
    """Read every file (in parallel when an executor is given); results keep the input order."""
    books: list[Book | None] = [None] * len(paths)
    if executor is None:
        for i, p in enumerate(paths):
            books[i] = _safe_read(str(p))
            if progress:
                progress(p.name)
        return books  # type: ignore[return-value]
    # chunks keep inter-process traffic low; _safe_read never raises, so one bad file stops nothing
    chunk = max(1, min(32, len(paths) // (8 * (os.cpu_count() or 1)) or 1))
    for i, book in enumerate(executor.map(_safe_read, [str(p) for p in paths], chunksize=chunk)):
        books[i] = book
        if progress:
            progress(paths[i].name)
    return books  # type: ignore[return-value]


def _safe_read(path: str) -> Book:
    try:
        return read_one(path)
    except Exception as exc:
        return _failed(Path(path), exc)


def _failed(path: Path, exc: Exception) -> Book:
    book = Book(path, path.name, usable=False)
    book.problems.append(Problem(path.name, "", "", ERROR, f"读取时出错：{type(exc).__name__}: {exc}"[:300],
                                 "确认文件能在 Excel 中正常打开"))
    return book


def file_params(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each file's 参数 apply to its own zones: its 政策口径 becomes the zones' profile; other
    parameters (考核年度, 评价方法, …) are combined by taking the value most files give."""
    params = tables.get("params")
    if params is None or not len(params):
        return tables
    out = dict(tables)
    is_profile = params["item"].isin(PROFILE_KEYS)
    chosen = params[is_profile].drop_duplicates("_file").set_index("_file")["value"]
    zones = tables.get("zones")
    if zones is not None and len(chosen):
        zones = zones.copy()
        current = zones["profile"] if "profile" in zones else pd.Series(None, index=zones.index, dtype=object)
        zones["profile"] = current.where(current.notna(), zones["_file"].map(chosen))
        out["zones"] = zones
    rest = params[~is_profile]
    if len(rest):
        mode = rest.groupby("item")["value"].agg(lambda v: v.mode().iat[0] if v.notna().any() else None)
        rest = rest.drop_duplicates("item").assign(value=lambda d: d["item"].map(mode))
    out["params"] = rest.reset_index(drop=True)
    return out


def cross_file_checks(books: list[Book], tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Same zone submitted twice (kept once: the first file), and different years mixed."""
    problems: list[Problem] = []
    tables = file_params(tables)
    out = dict(tables)
    zones = tables.get("zones")
    if zones is not None and len(zones):
        first = zones.drop_duplicates("zone")[["zone", "_file"]].set_index("zone")["_file"]
        dup = zones.duplicated("zone", keep="first")
        for zone, file in zip(zones.loc[dup, "zone"], zones.loc[dup, "_file"]):
            problems.append(Problem(file, "开发区", "", ERROR,
                                    f"开发区「{zone}」在「{first[zone]}」中已报送，重复报送的数据未采用",
                                    "确认哪一份是正式报送，删除或更正另一份"))
        dup_files = {(z, f) for z, f in zip(zones.loc[dup, "zone"], zones.loc[dup, "_file"])}
        for key, t in tables.items():
            if "zone" in t and "_file" in t and len(t):
                drop = np.array([(z, f) in dup_files for z, f in zip(t["zone"], t["_file"])], dtype=bool)
                keys = [k for k in ("zone", "year") if k in t] if key not in ("departments", "staff") else []
                keep = ~drop
                if keys:
                    keep &= ~t.duplicated(keys, keep="first").to_numpy()
                out[key] = t[keep].reset_index(drop=True)
    ind = tables.get("indicators")
    if ind is not None and len(ind):
        latest = ind.groupby("_file")["year"].max()
        if latest.nunique() > 1:
            common = latest.mode().iat[0]
            for file, year in latest.items():
                if year != common:
                    problems.append(Problem(file, "指标", "", WARNING,
                                            f"本文件最新数据年度为 {year:.0f}，多数文件为 {common:.0f}：不同年度混合",
                                            "确认报送的是同一考核年度的数据"))
    return out, problems


@dataclass
class BatchResult(RunResult):
    files: pd.DataFrame = field(default_factory=pd.DataFrame)
    cross: list[Problem] = field(default_factory=list)

    def summary(self) -> dict:
        base = super().summary()
        base["文件状态"] = self.files["状态"].value_counts().to_dict() if len(self.files) else {}
        base["跨文件问题"] = len(self.cross)
        return base


def file_list(books: list[Book], cross: list[Problem]) -> pd.DataFrame:
    errors = pd.Series([p.file for p in cross if p.level == ERROR], dtype=object).value_counts()
    warnings = pd.Series([p.file for p in cross if p.level == WARNING], dtype=object).value_counts()
    rows = []
    for b in books:
        n_err, n_warn = b.errors + int(errors.get(b.name, 0)), b.warnings + int(warnings.get(b.name, 0))
        n_cross = int(errors.get(b.name, 0) + warnings.get(b.name, 0))
        state = "无法读取" if not b.usable else ("有错误" if n_err else ("有警告" if n_warn else "正常"))
        rows.append({"文件": b.name, "状态": state, "读入行数": b.rows, "错误": n_err, "警告": n_warn,
                     "工作表": "、".join(t.title for t in b.tables.values()),
                     "说明": (b.problems[0].message if not b.usable else (f"跨文件问题 {n_cross} 条" if n_cross else ""))})
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def run_batch(paths: Iterable[Path], *, jobs: int | None = None, scheduler: str | None = None,
              profile: str | None = None, progress: Callable[[str], None] | None = None,
              tasks: tuple[str, ...] = TASKS) -> BatchResult:
    paths = sorted(Path(p) for p in paths)
    with make_executor(jobs, scheduler) as executor:
        books = read_all(paths, executor, progress)
    usable = [b for b in books if b.usable]
    tables = consolidate(usable)
    tables, cross = cross_file_checks(usable, tables)
    engine_tables = {k: v.drop(columns="_file") for k, v in tables.items()}
    result = BatchResult(books, files=file_list(books, cross), cross=cross)
    assessment = assess(engine_tables, profile=profile, tasks=tasks) if engine_tables else None
    problems = pd.concat([problems_frame(books),
                          pd.DataFrame([p.as_row() for p in cross], columns=problems_frame([]).columns)],
                         ignore_index=True)
    result.sheets["文件清单"] = result.files
    result.sheets["数据校验"] = problems
    if assessment is not None:
        for name in sorted(assessment.sheets, key=lambda n: SHEET_ORDER.index(n) if n in SHEET_ORDER else 99):
            result.sheets[name] = assessment.sheets[name]
        result.skipped += assessment.skipped
    notes = dict(assessment.notes) if assessment is not None else {}
    notes["汇总方式"] = (f"{len(paths)} 个文件，{len(usable)} 个可用；" +
                     ("Dask 集群 " + scheduler if scheduler else f"本地 {jobs or os.cpu_count()} 个进程"))
    result.sheets["计算说明"] = calc_notes(result, notes)
    return result


def batch_exit_code(result: BatchResult) -> int:
    code = exit_code(result.books)
    return max(code, 1) if result.cross else code
