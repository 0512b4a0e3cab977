"""The one run pipeline: engine tables → result sheets in order, with 数据校验 and 计算说明.

Every front end reads in its own way and then hands over the same things: the tables to assess
(`Unit`s — one per workbook for `xltools run`/`check`/…, one for the ribbon's open workbook, one
for a whole consolidated batch) and what it found while reading (`Reading`: 数据校验 rows, how its
inputs are named). `run` does the rest, once for all of them: the engine on each unit, the result
sheets in the registry's order (results.py; with 考核范围 when several inputs are assessed apart),
数据冲突 rows, 数据校验 (reading and engine rows) and 计算说明.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import __version__, memory
from .engine import TASKS, Assessment, assess
from .engine.indicators import inputs_of
from .intake import Book, blank_cells
from .intake.consolidate import Conflict
from .intake.units import units_note
from .problems import ERROR, EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE, WARNING, Doubt
from .results import (DECLARED, DOUBTFUL_CALC, DOUBTFUL_INPUTS, DOUBTFUL_ITEM, DOUBTFUL_NOTE, DOUBTFUL_NOTES_ITEM,
                      NOTES, PROBLEMS, RANKING, SHEETS, in_order)
from .schema import SHEETS_BY_KEY

SCOPE = "考核范围"
HEADERS = {c.key: c.header for c in SHEETS_BY_KEY["indicators"].columns}    # a questioned column, as 说明 names it


def problems_frame(books: Iterable[Book]) -> pd.DataFrame:
    rows = [p.as_row() for b in books for p in b.problems]
    return pd.DataFrame(rows, columns=DECLARED[PROBLEMS].names)


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
        checks = self.sheets.get(PROBLEMS)
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


@dataclass(frozen=True)
class Request:
    """What to compute: the same whichever front end asks."""
    profile: str | None = None
    tasks: tuple[str, ...] = TASKS
    rank_options: object = None                  # engine.ranking.RankOptions
    sheets: tuple[str, ...] | None = None        # the result sheets wanted (a ribbon button shows some); None: all


@dataclass
class Unit:
    """One engine call: the tables of one workbook, or of a whole consolidated batch."""
    name: str                                    # the input it is: 考核范围, 数据校验's 文件, notes
    tables: dict[str, pd.DataFrame]
    large: bool = False                          # a huge workbook: freed memory is returned after it
    doubtful: list[Doubt] = field(default_factory=list)   # its values 核实性审核 questions (`doubts_in`)


@dataclass
class Reading:
    """What a front end found while reading, for 数据校验 and 计算说明."""
    checks: list[pd.DataFrame]                   # 数据校验 rows (each book's, cross-file ones)
    inputs: int = 1                              # inputs that could be assessed: with one, notes are plain
    labelled: bool = True                        # 未执行/未能执行 items name the unit they are about
    file_of: Callable[[Unit, dict], str] | None = None     # 文件 of an engine 数据校验 row (default: the unit)
    notes_first: dict[str, str] = field(default_factory=dict)    # 计算说明 items before the engine's …
    notes_last: dict[str, str] = field(default_factory=dict)     # … and after them


def run(result: RunResult, units: Iterable[Unit], reading: Reading, request: Request) -> RunResult:
    """Assess each unit (one at a time: a generator's tables are built as they are needed) and
    write every sheet of `result` after those the front end put there (文件清单)."""
    assessed: list[tuple[Unit, Assessment]] = []
    for unit in units:
        found = assess(unit.tables, profile=request.profile, tasks=request.tasks, rank_options=request.rank_options)
        unit.tables = {}                          # the tables are not needed any more
        if marked := mark_doubtful(found.sheets, unit.doubtful):
            found.notes[DOUBTFUL_NOTES_ITEM] = DOUBTFUL_CALC.format(items=_listed(marked))
        if unit.large:
            memory.release()
        assessed.append((unit, found))
        label = f"{unit.name}：" if reading.labelled else ""
        result.skipped += [label + item for item in found.skipped]
        result.failed += [label + item for item in found.failed]
    result.sheets[PROBLEMS] = _problems(reading, assessed, blank_rows(result.books, assessed))
    result.sheets.update(_results(assessed, request.sheets))
    mark_conflicts(result.sheets, result.conflicts)
    notes = {**reading.notes_first, **_notes(assessed, reading.inputs), **reading.notes_last}
    result.sheets[NOTES] = calc_notes(result, notes)
    return result


def _problems(reading: Reading, assessed: list[tuple[Unit, Assessment]], blanks: pd.DataFrame) -> pd.DataFrame:
    """数据校验: what reading found, the blank cells behind 数据缺失 verdicts, then the engine's rows,
    each with the file it is about."""
    columns = DECLARED[PROBLEMS].names
    file_of = reading.file_of or (lambda unit, row: unit.name)
    engine = [{"文件": file_of(unit, row), **row} for unit, found in assessed for row in found.problems]
    frames = [*reading.checks, blanks, pd.DataFrame(engine, columns=columns)]
    filled = [f for f in frames if len(f)]
    if not filled:
        return frames[0]
    return filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)


def blank_rows(books: list[Book], assessed: list[tuple[Unit, Assessment]]) -> pd.DataFrame:
    """A 警告 at each blank cell a 数据缺失 verdict came from (its column declares `needed_for` in the
    schema), naming the rules: the verdict says what could not be checked, this says which cell to fill.
    A unit named after a book judged that book's cells; any other unit (a batch) all of them."""
    columns = DECLARED[PROBLEMS].names
    if not any(len(m) for _, result in assessed for m in result.missing):
        return pd.DataFrame(columns=columns)                 # no 数据缺失 verdict: no cell to look for
    usable = [b for b in books if b.usable]
    candidates = blank_cells(usable)
    names = {b.name for b in usable}
    found = []
    for unit, result in assessed:
        missing = [m for m in result.missing if len(m)]
        if not missing or not len(candidates):
            continue
        mine = candidates[candidates["文件"] == unit.name] if unit.name in names else candidates
        hit = mine.merge(pd.concat(missing), on=["zone", "sheet", "column"], suffixes=("", "_verdict"))
        found.append(hit[hit["year_verdict"].isna() | (hit["year"] == hit["year_verdict"])])
    if not found or not sum(map(len, found)):
        return pd.DataFrame(columns=columns)
    hits = pd.concat(found).drop_duplicates(["文件", "单元格", "rule"])
    cells = hits.groupby(["文件", "工作表", "单元格", "sheet", "column"], sort=False)["rule"].agg(
        lambda rules: "、".join(sorted(r for r in set(rules) if isinstance(r, str)))).reset_index()
    texts = [SHEETS_BY_KEY[s].column(c).unknown_blank(rules or "相关规则")
             for s, c, rules in zip(cells["sheet"], cells["column"], cells["rule"])]
    return pd.DataFrame({"文件": cells["文件"], "工作表": cells["工作表"], "单元格": cells["单元格"], "级别": WARNING,
                         "问题": [t[0] for t in texts], "建议": [t[1] for t in texts]}, columns=columns)


def _results(assessed: list[tuple[Unit, Assessment]], wanted: tuple[str, ...] | None) -> dict[str, pd.DataFrame]:
    """Each result sheet once, in workbook order: the units' tables one below the other, each row
    with its 考核范围 when several units gave any."""
    parts: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for unit, found in assessed:
        for name, frame in found.sheets.items():
            if wanted is None or name in wanted:
                parts.setdefault(name, []).append((unit.name, frame))
    separate = len({scope for frames in parts.values() for scope, _ in frames}) > 1
    undeclared = set(parts) - set(DECLARED)
    if undeclared:                # written unformatted, unordered, and refused by -o later: never silently
        raise LookupError(f"result sheets not declared in xltools/results.py: {sorted(undeclared)}")
    out = {}
    for name in in_order(parts):
        frames = [with_scope(name, frame, scope) if separate else frame for scope, frame in parts[name]]
        out[name] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return out


def _notes(assessed: list[tuple[Unit, Assessment]], inputs: int) -> dict[str, str]:
    """The engine's 计算说明 items over every unit (see `_joined`)."""
    notes: dict[str, dict[str, str]] = {}
    for unit, found in assessed:
        for key, value in found.notes.items():
            notes.setdefault(key, {})[unit.name] = value
    return {k: _joined(v, inputs) for k, v in notes.items()}


def _joined(values: dict[str, str], inputs: int) -> str:
    """One 计算说明 entry of a run over several inputs: the value all of them share, or each input's own."""
    distinct = set(values.values())
    if len(distinct) == 1 and (len(values) > 1 or inputs == 1):
        return next(iter(distinct))
    return "；".join(f"{name}：{value}" for name, value in values.items())


def with_scope(name: str, frame: pd.DataFrame, scope: str) -> pd.DataFrame:
    """`frame` with a 考核范围 column saying which input it was assessed in — when a run assesses
    its inputs separately, ranks of one file never stand beside another's without it. It follows
    the leading columns the specification fixes (first, on sheets without fixed columns)."""
    decl = DECLARED.get(name)
    fixed = decl.leading if decl is not None and decl.fixed else ("开发区名称", "年度")
    at = sum(1 for c in frame.columns[:len(fixed)] if c in fixed)
    out = frame.copy()
    out.insert(at, SCOPE, scope)
    return out


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


def mark_conflicts(sheets: dict[str, pd.DataFrame], conflicts: list[Conflict]) -> None:
    """A zone (or zone-year) left uncomputed because files disagree gets a row saying so (数据冲突)
    in each per-zone result sheet, so that its absence is never mistaken for nothing to report."""
    left_out = [c for c in conflicts if c.used is None]
    whole = {c.zone for c in left_out if c.year is None}
    for name in (s.name for s in SHEETS if s.conflicts):
        frame = sheets.get(name)
        if frame is None or "开发区名称" not in frame:
            continue
        by_year = "年度" in frame
        years = set(frame["年度"].dropna()) if by_year else set()
        rows = [{"开发区名称": c.zone, **({"年度": int(c.year)} if c.year is not None else {}),
                 **({"结论": "数据冲突"} if "结论" in frame else {}),
                 "说明": f"数据冲突：{c.shown()}报送的数据不同，未计算（见「{PROBLEMS}」；可用 --prefer 指定采用哪一份）"}
                for c in left_out
                if (c.year is None) or (by_year and c.zone not in whole and (c.year in years or not years))]
        if rows:
            sheets[name] = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def _listed(items: list[str], limit: int = 20) -> str:
    """A 计算说明 list: the first `limit` items, and how many there are in all (the rest: 数据校验)."""
    return "；".join(items[:limit]) + (f"；等共 {len(items)} 处（见「{PROBLEMS}」）" if len(items) > limit else "")


def doubts_in(books: Iterable[Book], tables: dict[str, pd.DataFrame]) -> list[Doubt]:
    """The questioned values of `books` whose rows are among `tables`: a row left out because
    another file's copy stands for it (duplicates, --prefer) was not used. Rows are matched by
    开发区名称 and 年度, and by file (`_file`) when the tables hold several books' rows."""
    kept: dict[str, set] = {}
    out = []
    for book in books:
        for d in book.doubtful:
            table = tables.get(d.sheet)
            if table is None:
                continue
            if d.sheet not in kept:
                kept[d.sheet] = set(zip(*(_row_key(table, c) for c in ("_file", "zone", "year"))))
            key = (book.name if "_file" in table else None, d.zone if "zone" in table else None,
                   d.year if "year" in table else None)
            if key in kept[d.sheet]:
                out.append(d)
    return out


def _row_key(table: pd.DataFrame, column: str) -> list:
    """One part of each row's (file, zone, year) key; None where the table has no such column."""
    if column not in table:
        return [None] * len(table)
    if column == "year":
        years = pd.to_numeric(table["year"], errors="coerce").astype(float)
        return [None if y != y else y for y in years.tolist()]
    return table[column].tolist()


def mark_doubtful(sheets: dict[str, pd.DataFrame], doubts: list[Doubt]) -> list[str]:
    """Each row of a `doubtful` result sheet (考核排名, 得分分析) that used a value a 核实性审核
    questions says so in 说明, naming the indicator and the 数据校验 cell. The value itself is
    kept (a 警告 asks to confirm, not to drop it), so the numbers stay as computed. Returns
    「开发区（指标）」 of each 考核排名 row marked, for 计算说明."""
    by_row: dict[tuple, list[Doubt]] = {}
    for d in doubts:
        if d.sheet == "indicators" and d.zone is not None and d.year is not None:
            by_row.setdefault((d.zone, d.year), []).append(d)
    marked: list[str] = []
    for name in (s.name for s in SHEETS if s.doubtful):
        frame = sheets.get(name)
        if not by_row or frame is None or "说明" not in frame or "开发区名称" not in frame or "年度" not in frame:
            continue
        declared = set(DECLARED[name].names)
        items = [c[:-2] for c in frame.columns if c.endswith("得分") and c not in declared]   # 考核排名's 「…得分」
        notes = frame["说明"].to_numpy(dtype=object).copy()
        for r in np.flatnonzero(frame["开发区名称"].isin({z for z, _ in by_row}).to_numpy()):
            row = frame.iloc[r]
            used = ([row["指标"]] if "指标" in frame and pd.notna(row.get("得分")) else
                    [n for n in items if pd.notna(row[f"{n}得分"])])
            said = _doubtful_items(used, row["开发区名称"], float(row["年度"]), by_row)
            if said:
                text = DOUBTFUL_NOTE.format(items="、".join(said.values()))
                notes[r] = text if pd.isna(notes[r]) or notes[r] == "" else f"{notes[r]}；{text}"
                if name == RANKING:
                    marked.append(f"{row['开发区名称']}（{'、'.join(said)}）")
        sheets[name] = frame.assign(说明=notes)
    return marked


def _doubtful_items(used: list[str], zone: str, year: float, by_row: dict[tuple, list[Doubt]]) -> dict[str, str]:
    """Of the indicators a row used, those computed from a questioned value: name → its 说明 words."""
    out = {}
    for name in used:
        found = [d for col, offset in inputs_of(name) for d in by_row.get((zone, year + offset), ())
                 if d.column == col]
        if not found:
            continue
        headers = "、".join(dict.fromkeys(HEADERS[d.column] for d in found if HEADERS[d.column] != name))
        out[name] = DOUBTFUL_ITEM.format(indicator=name, inputs=DOUBTFUL_INPUTS.format(headers=headers) if headers else "",
                                         cells="、".join(dict.fromkeys(d.cell for d in found)),
                                         rules="、".join(sorted({d.rule for d in found})))
    return out


def conflict_notes(conflicts: list[Conflict], limit: int = 20) -> dict[str, str]:
    """计算说明 items: which zones were left out for conflicting copies, and which copy --prefer chose."""
    notes = {}
    whole = {(c.zone, c.used) for c in conflicts if c.year is None}
    told = [c for c in conflicts if c.year is None or (c.zone, c.used) not in whole]   # a zone once, not per year too
    left_out = [c.shown() for c in told if c.used is None]
    chosen = [f"{c.shown()}采用「{c.used}」" for c in told if c.used is not None]
    if left_out:
        notes["数据冲突"] = "以下数据各文件报送不同，未计算：" + _listed(left_out, limit)
    if chosen:
        notes["重复报送的取舍"] = "按 --prefer：" + _listed(chosen, limit)
    return notes
