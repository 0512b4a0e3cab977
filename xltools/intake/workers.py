"""Reading workbooks in worker processes, so that a file that crashes its reader costs only itself.

`read_chunk` is what a worker runs (local process pool, spawned process or Dask worker): a chunk
of files read together, sent back packed (`shipment.Shipment`). A file that cannot be read comes
back as an unusable Book with one 错误 saying why (`unreadable`), never as an exception; a file
that kills its process is isolated by `read_isolating` and reported the same way.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..problems import ERROR, Problem
from . import Book, read_book, read_books
from .shipment import Shipment

DIED_HINT = "在 Excel 中打开并另存后重新提交；可先用 xltools validate 单独检查该文件"


def read_chunk(paths: list) -> Shipment:
    """Worker entry point (must be importable by name for processes and Dask workers).

    A chunk of files is read together (their columns typed together); should that ever fail,
    each file is read on its own so that one bad file never costs the others.
    """
    try:
        books = read_books(paths, audit=False)     # 核实性审核 run over every file, by the caller
    except Exception:
        books = [safe_read(p) for p in paths]
    return Shipment(books)


def read_isolated(path: Path) -> Book:
    """One workbook read in a fresh spawned process: if reading kills that process, the file is
    reported as unreadable and the caller lives on (binary workbooks where there is no fork)."""
    import multiprocessing

    return read_isolating([path], 1, multiprocessing.get_context("spawn"))[0]


def read_isolating(paths: list[Path], workers: int, context=None) -> list[Book]:
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
                out[group[0]] = died(group[0])
            else:
                half = len(group) // 2
                groups[:0] = [[p for p in group[:half] if p not in out], [p for p in group[half:] if p not in out]]
                groups = [g for g in groups if g]
    return [out[p] for p in paths]


def died(path: Path) -> Book:
    return unreadable(path, "读取此文件时处理进程异常退出（文件可能损坏，或大到超出本机内存）", DIED_HINT)


def safe_read(path: str) -> Book:
    """`read_book` (its 核实性审核 left to the caller), a failure of any kind reported as unreadable."""
    try:
        return read_book(path, audit=False)
    except Exception as exc:
        return _failed(Path(str(path)), exc)          # str: also a file sent in memory (cluster)


def _failed(path: Path, exc: Exception) -> Book:
    return unreadable(path, f"读取时出错：{type(exc).__name__}: {exc}"[:300], "确认文件能在 Excel 中正常打开")


def unreadable(path: Path, message: str, hint: str) -> Book:
    """A book that could not be read at all: one 错误 saying why (listed as 无法读取)."""
    book = Book(path, path.name, usable=False)
    book.problems.append(Problem(path.name, "", "", ERROR, message, hint))
    return book
