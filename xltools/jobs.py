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

import numpy as np
import pandas as pd

from . import __version__, memory
from .engine import TASKS, assess
from .intake import Book, audit_books, consolidate, only_results_written, read_book, tables_of
from .intake import reader
from .intake.consolidate import Conflict, find_duplicates, unknown_preferences
from .intake.units import units_note
from .problems import ERROR, EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE, WARNING
from .schema import RESULT_ORDER, RESULT_SHEETS

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")   # in any letter case: 青岛.XLSX counts on Linux too
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


def exit_code(books: list[Book], failed: Iterable[str] = ()) -> int:
    """0 clean, 1 done with data problems, 2 unusable input — or a computation asked for explicitly
    (a flag or a 参数 entry) that could not run (`failed`)."""
    if any(not b.usable for b in books) or any(True for _ in failed):
        return EXIT_UNUSABLE
    return EXIT_PROBLEMS if any(b.problems for b in books) else EXIT_CLEAN


@dataclass
class RunResult:
    books: list[Book]
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)       # asked for explicitly, could not run: exit 2
    conflicts: list[Conflict] = field(default_factory=list)     # zones / zone-years files give differently

    def levels(self) -> tuple[int, int]:
        """错误 and 警告 as 数据校验 shows them (cross-file and engine rows included), else the books'."""
        checks = self.sheets.get("数据校验")
        if checks is not None and "级别" in checks:
            return int((checks["级别"] == ERROR).sum()), int((checks["级别"] == WARNING).sum())
        return sum(b.errors for b in self.books), sum(b.warnings for b in self.books)

    def summary(self) -> dict:
        errors, warnings = self.levels()
        return {
            "版本": __version__,
            "文件数": len(self.books),
            "读入行数": sum(b.rows for b in self.books),
            "错误": errors,
            "警告": warnings,
            "结果工作表": list(self.sheets),
            "未执行": self.skipped,
            "未能执行": self.failed,
            "退出码": exit_code(self.books, self.failed),
        }


def calc_notes(result: RunResult, extra: dict[str, str] | None = None) -> pd.DataFrame:
    items = {
        "工具": f"xltools {__version__}",
        "输入文件": "；".join(b.name for b in result.books),
        "读入情况": "；".join(f"{b.name}：{len(b.tables)} 个工作表，{b.rows} 行" for b in result.books),
        "未执行的计算": "；".join(result.skipped) or "无",
    }
    if result.failed:
        items["未能执行的计算"] = "；".join(result.failed) + "（所要求的计算无法进行，未写出其结果）"
    if units := units_note(b for b in result.books if b.usable):
        items["读入单位"] = units
    items.update(extra or {})
    return pd.DataFrame({"项目": list(items), "内容": list(items.values())})


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


CONFLICT_MARKED = ("合规检查", "合规汇总", "薪酬测算", "税收返还", "考核排名")   # result sheets that list the zones left out


def mark_conflicts(sheets: dict[str, pd.DataFrame], conflicts: list[Conflict]) -> None:
    """A zone (or zone-year) left uncomputed because files disagree gets a row saying so (数据冲突)
    in each per-zone result sheet, so that its absence is never mistaken for nothing to report."""
    left_out = [c for c in conflicts if c.used is None]
    whole = {c.zone for c in left_out if c.year is None}
    for name in CONFLICT_MARKED:
        frame = sheets.get(name)
        if frame is None or "开发区名称" not in frame:
            continue
        by_year = "年度" in frame
        years = set(frame["年度"].dropna()) if by_year else set()
        rows = [{"开发区名称": c.zone, **({"年度": int(c.year)} if c.year is not None else {}),
                 **({"结论": "数据冲突"} if "结论" in frame else {}),
                 "说明": f"数据冲突：{c.shown()}报送的数据不同，未计算（见「数据校验」；可用 --prefer 指定采用哪一份）"}
                for c in left_out
                if (c.year is None) or (by_year and c.zone not in whole and (c.year in years or not years))]
        if rows:
            sheets[name] = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def conflict_notes(conflicts: list[Conflict], limit: int = 20) -> dict[str, str]:
    """计算说明 items: which zones were left out for conflicting copies, and which copy --prefer chose."""
    def listed(items: list[str]) -> str:
        return "；".join(items[:limit]) + (f"；等共 {len(items)} 处（见「数据校验」）" if len(items) > limit else "")

    notes = {}
    whole = {(c.zone, c.used) for c in conflicts if c.year is None}
    told = [c for c in conflicts if c.year is None or (c.zone, c.used) not in whole]   # a zone once, not per year too
    left_out = [c.shown() for c in told if c.used is None]
    chosen = [f"{c.shown()}采用「{c.used}」" for c in told if c.used is not None]
    if left_out:
        notes["数据冲突"] = "以下数据各文件报送不同，未计算：" + listed(left_out)
    if chosen:
        notes["重复报送的取舍"] = "按 --prefer：" + listed(chosen)
    return notes


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
              rank_options=None, prefer: tuple[str, ...] = ()) -> RunResult:
    """Validate each workbook and run the engine on every one that has usable data.

    `progress(name)` is called after each file is read (front ends drive a progress bar with it).
    A zone or zone-year two workbooks both give is judged by content (`settle_duplicates`);
    `prefer` chooses between copies that differ.
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
    check_preferences(prefer, books)
    masks, conflicts = settle_duplicates(books, prefer)
    result = RunResult(books, conflicts=conflicts)
    results: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    notes: dict[str, dict[str, str]] = {}
    engine_problems: list[dict] = []
    for book in books:
        if not book.usable:
            continue
        tables = tables_of(book)
        for key, mask in masks.get(book.name, {}).items():
            tables[key] = tables[key][mask].reset_index(drop=True)
            tables[key].attrs["sheet_present"] = True     # emptied by duplicates, yet the sheet exists
        if masks.get(book.name) and not any(len(t) for k, t in tables.items() if k != "params"):
            continue                        # every row repeats another file's: computed there
        assessment = assess(tables, profile=profile, tasks=tasks, rank_options=rank_options)
        if book.rows > LARGE_BOOK_ROWS:
            memory.release()
        for name, frame in assessment.sheets.items():
            results.setdefault(name, []).append((book.name, frame))
        engine_problems += [{"文件": book.name, **row} for row in assessment.problems]
        for item in assessment.skipped:
            result.skipped.append(f"{book.name}：{item}")
        result.failed += [f"{book.name}：{item}" for item in assessment.failed]
        for key, value in assessment.notes.items():
            notes.setdefault(key, {})[book.name] = value
    checks = problems_frame(books)
    result.sheets["数据校验"] = (pd.concat([checks, pd.DataFrame(engine_problems, columns=checks.columns)],
                                          ignore_index=True) if engine_problems else checks)
    separate = len({b for frames in results.values() for b, _ in frames}) > 1
    for name in sorted(results, key=lambda n: SHEET_ORDER.index(n) if n in SHEET_ORDER else len(SHEET_ORDER)):
        frames = [with_scope(name, frame, b) if separate else frame for b, frame in results[name]]
        result.sheets[name] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    mark_conflicts(result.sheets, conflicts)
    assessed = len({b.name for b in books if b.usable})
    result.sheets["计算说明"] = calc_notes(result, {**conflict_notes(conflicts),
                                                  **{k: _joined(v, assessed) for k, v in notes.items()}})
    return result


SCOPE = "考核范围"


def with_scope(name: str, frame: pd.DataFrame, scope: str) -> pd.DataFrame:
    """`frame` with a 考核范围 column saying which input it was assessed in — when a run assesses
    its inputs separately, ranks of one file never stand beside another's without it. It follows
    the leading columns SPEC §3 fixes (first, on sheets without fixed columns)."""
    fixed = RESULT_SHEETS.get(name, ("开发区名称", "年度"))
    at = sum(1 for c in frame.columns[:len(fixed)] if c in fixed)
    out = frame.copy()
    out.insert(at, SCOPE, scope)
    return out


def _joined(values: dict[str, str], assessed: int) -> str:
    """One 计算说明 entry of a run over several inputs: the value all of them share, or each input's own."""
    distinct = set(values.values())
    if len(distinct) == 1 and (len(values) > 1 or assessed == 1):
        return next(iter(distinct))
    return "；".join(f"{name}：{value}" for name, value in values.items())


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
