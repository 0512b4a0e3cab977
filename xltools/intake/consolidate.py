"""Many books → one typed table per sheet kind, with the checks only a set of files can fail.

The same zone or zone-year submitted twice (judged by content: identical copies are used once,
different ones are a 数据冲突 left uncomputed unless --prefer chooses), different data years
mixed, and each file's 参数 applied to its own zones. Pure over the typed tables; problems come back as rows.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, repeat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..problems import ERROR, WARNING, Problem
from ..schema import PARAM_ITEMS, PROFILE_KEYS, RULE_OVERRIDE, SHEETS, SHEETS_BY_KEY
from .coerce import show
from .table import cell_ref

if TYPE_CHECKING:                       # annotations only: the package imports this module
    from . import Book


def consolidate(books: list[Book]) -> dict[str, pd.DataFrame]:
    """One DataFrame per sheet kind over many books (column `_file` names the source)."""
    out: dict[str, pd.DataFrame] = {}
    for sheet in SHEETS:
        parts = [(b.name, b.tables[sheet.key]) for b in books if sheet.key in b.tables]
        if not parts:
            continue
        keys = list(dict.fromkeys(k for _, t in parts for k in t.values if k != "_row"))
        cols: dict[str, object] = {"_file": list(chain.from_iterable(repeat(name, len(t)) for name, t in parts))}
        for k in keys:
            chunks = [t.values.get(k) for _, t in parts]
            if all(isinstance(c, np.ndarray) for c in chunks if c is not None):
                cols[k] = np.concatenate([c if c is not None else np.full(len(t), np.nan)
                                          for (_, t), c in zip(parts, chunks)])
            else:                                # one C-level join, not a Python step per cell
                cols[k] = list(chain.from_iterable(c if c is not None else repeat(None, len(t))
                                                   for (_, t), c in zip(parts, chunks)))
        out[sheet.key] = pd.DataFrame(cols)
    return out



def file_params(tables: dict[str, pd.DataFrame], books: list[Book]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Each file's 参数 apply to its own zones: its 政策口径 becomes the zones' 「参数」 choice
    (params_profile — below their own 政策口径 cell and their region, as in a single file); other
    parameters (考核年度, 评价方法, rule overrides, …) are combined by taking the value most files
    give — a file that says otherwise gets a warning at that cell."""
    params = tables.get("params")
    if params is None or not len(params):
        return tables, []
    out = dict(tables)
    is_profile = params["item"].isin(PROFILE_KEYS)
    chosen = params[is_profile].drop_duplicates("_file").set_index("_file")["value"]
    zones = tables.get("zones")
    if zones is not None and len(chosen):
        zones = zones.copy()
        zones["params_profile"] = zones["_file"].map(chosen)
        out["zones"] = zones
    rest = params[~is_profile]
    problems: list[Problem] = []
    if len(rest):
        mode = rest.groupby("item")["value"].agg(lambda v: v.mode().iat[0] if v.notna().any() else None)
        chosen_value = rest["item"].map(mode)
        read = rest["item"].isin(list(PARAM_ITEMS)) | rest["item"].astype(str).str.fullmatch(RULE_OVERRIDE)
        differs = read & rest["value"].notna() & (rest["value"].astype(str) != chosen_value.astype(str))
        tables_of = {b.name: b.tables.get("params") for b in books}
        for file, item, value, used in zip(rest.loc[differs, "_file"], rest.loc[differs, "item"],
                                           rest.loc[differs, "value"], chosen_value[differs]):
            t = tables_of.get(file)
            pos = list(t.values["item"]).index(item) if t is not None and item in list(t.values["item"]) else None
            title = t.title if t is not None else "参数"
            cell = cell_ref(title, *t.cell(pos, "value")) if pos is not None and "value" in t.columns else ""
            problems.append(Problem(file, title, cell, WARNING,
                                    f"参数「{item}」为「{show(value)}」，与多数文件（「{show(used)}」）不一致；"
                                    f"汇总对全部开发区按「{show(used)}」计算",
                                    "统一各文件的参数；确需不同的，分开汇总"))
        rest = rest.drop_duplicates("item").assign(value=lambda d: d["item"].map(mode))
    out["params"] = rest.reset_index(drop=True)
    return out, problems


PREFER_NEWEST = "newest"        # --prefer newest: the copy whose workbook was saved last


@dataclass(frozen=True)
class Conflict:
    """A zone (year None: its own sheets — 开发区, 机构设置, 职数编制, 人员) or zone-year (指标, 薪酬,
    历年排名) that files give with different content."""

    zone: str
    year: float | None
    files: tuple[str, ...]
    used: str | None            # the file --prefer chose; None: left uncomputed (数据冲突)

    def when(self) -> str:
        return f"{self.year:.0f} 年" if self.year is not None else ""

    def shown(self) -> str:
        files = "「" + "」「".join(self.files) + "」"
        return f"开发区「{self.zone}」{self.when()}（{files}）"


def unknown_preferences(prefer: Iterable[str], books: list[Book]) -> list[str]:
    """The --prefer entries that name none of the inputs (neither `newest` nor a file's name or path)."""
    return [p for p in prefer if p != PREFER_NEWEST and not any(_names(p, b) for b in books)]


def _names(entry: str, book: Book) -> bool:
    if entry in (book.name, book.path.name, str(book.path)):
        return True
    try:
        return Path(entry).resolve() == book.path.resolve()
    except OSError:
        return False


def workbook_modified(path: Path) -> datetime | None:
    """The workbook's own 修改时间 (docProps/core.xml dcterms:modified), not the file system's date,
    which copying and mailing reset. None when the file does not record it (.xls, some writers)."""
    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("docProps/core.xml")[:100_000].decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return None
    found = re.search(r"<dcterms:modified[^>]*>\s*([^<]+?)\s*</dcterms:modified>", xml)   # no XML parser: no entities
    try:
        when = datetime.fromisoformat(found.group(1).replace("Z", "+00:00")) if found else None
    except ValueError:
        return None
    return when if when is None or when.tzinfo else when.replace(tzinfo=timezone.utc)


def _shown_time(when: datetime | None) -> str:
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S（北京时间）") if when else "未记录"


BEIJING = timezone(timedelta(hours=8))


def _number(value: object) -> str:
    """A cell value as the message shows it: 1,234.5 — blank as 空."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "空"
    if isinstance(value, (float, np.floating)):
        return format(float(value), ",.15g")
    return str(value)


def _unit_columns(key: str) -> list[str]:
    return ["zone", "year"] if "year" in SHEETS_BY_KEY[key].keys else ["zone"]


# Columns added per file, not read from a sheet: not part of a copy's content (params_profile is
# the file's own 「参数」 choice of profile, file_params).
NOT_CONTENT = ("_file", "params_profile")


def _content_hash(rows: pd.DataFrame) -> np.ndarray:
    """One hash per row over every column read from the sheet (equal rows hash equal)."""
    data = rows.drop(columns=[c for c in NOT_CONTENT if c in rows])
    for c in data.columns:
        if data[c].dtype == object:
            data[c] = data[c].map(lambda v: v if v is None or isinstance(v, (str, float)) else repr(v))
    return pd.util.hash_pandas_object(data, index=False).to_numpy()


class _Chooser:
    """Which file's copy to use where copies differ: the first --prefer entry that decides."""

    def __init__(self, books: list[Book], prefer: Iterable[str]):
        self.prefer = list(prefer)
        self.books = {b.name: b for b in books}
        self._modified: dict[str, datetime | None] = {}

    def modified(self, name: str) -> datetime | None:
        if name not in self._modified:
            self._modified[name] = workbook_modified(self.books[name].path)
        return self._modified[name]

    def choose(self, files: tuple[str, ...]) -> tuple[str | None, str]:
        """(the file to use or None, how it was chosen or why not)."""
        why = []
        for entry in self.prefer:
            if entry == PREFER_NEWEST:
                times = {f: self.modified(f) for f in files}
                if None in times.values():
                    why.append("--prefer newest 无法判断：" + "、".join(f"「{f}」" for f, t in times.items() if t is None)
                               + "未记录修改时间")
                    continue
                latest = max(times.values())
                if sum(t == latest for t in times.values()) > 1:
                    why.append("--prefer newest 无法判断：修改时间相同")
                    continue
                return next(f for f, t in times.items() if t == latest), "--prefer newest（修改时间较新）"
            chosen = [f for f in files if _names(entry, self.books[f])]
            if chosen:
                return chosen[0], f"--prefer {entry}"
        return None, "；".join(why)

    def times(self, mine: str, others: Iterable[str]) -> str:
        return "（修改时间：本文件 " + _shown_time(self.modified(mine)) + "，" + "，".join(
            f"「{o}」{_shown_time(self.modified(o))}" for o in others) + "）"


def find_duplicates(books: list[Book], tables: dict[str, pd.DataFrame], prefer: Iterable[str] = ()
                    ) -> tuple[dict[str, np.ndarray], list[Problem], list[Conflict]]:
    """The same zone (its own sheets) or zone-year (指标, 薪酬, 历年排名) given by several files,
    judged by content, never by file name: identical copies → one 警告 per pair of files, one copy
    used; different copies → 错误 in each file naming the other file and the differing cells, and
    the zone (or zone-year) left out of every computation (数据冲突) unless `prefer` (file names,
    or `newest`: the workbook's own 修改时间) chooses a copy. Sheets a zone's files split between them
    (编办 sends 机构设置, 统计局 sends 指标) are no duplicates.

    Returns, per sheet kind, which rows of the consolidated table to keep; the problems; the conflicts."""
    chooser = _Chooser(books, prefer)
    order = {b.name: i for i, b in enumerate(books)}
    sources = {b.name: b.tables for b in books}
    keep = {key: np.ones(len(t), dtype=bool) for key, t in tables.items()}
    problems: list[Problem] = []
    conflicts: dict[tuple[str, float | None], Conflict] = {}
    same: dict[tuple[str, str], list[tuple[str, str, int]]] = {}      # (copy, used) → [(sheet key, zone, row)]
    for key, t in tables.items():
        if "zone" not in t or "_file" not in t or key in ("params", "indicator_system") or not len(t):
            continue
        cols = [c for c in _unit_columns(key) if c in t]
        valid = t[cols].notna().all(axis=1).to_numpy()
        sub = t[valid]
        files_per_unit = sub.groupby(cols, sort=False)["_file"].transform("nunique").to_numpy()
        sub = sub[files_per_unit > 1]
        if not len(sub):
            continue
        starts = t.drop_duplicates("_file")
        starts = dict(zip(starts["_file"], starts.index))
        hashes, labels = _content_hash(sub), sub.index.to_numpy()
        at_rows = sub.groupby(cols + ["_file"], sort=False).indices        # (zone[, year], file) → positions
        files_of: dict[tuple, list[str]] = {}
        for k in at_rows:
            files_of.setdefault(k[:-1], []).append(k[-1])
        for unit, given in files_of.items():
            zone, year = unit[0], (float(unit[1]) if len(unit) > 1 else None)
            files = tuple(sorted(given, key=order.__getitem__))
            rows = {f: labels[at_rows[(*unit, f)]] for f in files}
            sigs = {f: tuple(sorted(hashes[at_rows[(*unit, f)]])) for f in files}    # a file's rows, in any order
            if len(set(sigs.values())) == 1:
                used = chooser.choose(files)[0] or files[0]
                for f in files:
                    if f != used:
                        keep[key][rows[f]] = False
                        same.setdefault((f, used), []).append((key, zone, int(rows[f][0]) - starts[f]))
                continue
            used, how = chooser.choose(files)
            if used is not None:
                for f in files:
                    if f != used:
                        keep[key][rows[f]] = False
            else:
                keep[key][np.concatenate([rows[f] for f in files])] = False
            at = (zone, year)
            known = conflicts.get(at)
            conflicts[at] = Conflict(zone, year, tuple(dict.fromkeys((known.files if known else ()) + files)),
                                     used if known is None or known.used == used else None)
            for f in files:
                others = [o for o in files if sigs[o] != sigs[f]]
                for o in others:
                    problems.append(_conflict_problem(key, t, f, o, rows[f], rows[o], starts, sources, unit, cols,
                                                      used, how, chooser))
    _leave_out(tables, keep, [c for c in conflicts.values() if c.used is None])
    problems += [_same_problem(copy, used, hits, sources) for (copy, used), hits in same.items()]
    return keep, problems, list(conflicts.values())


def _leave_out(tables: dict[str, pd.DataFrame], keep: dict[str, np.ndarray], open_conflicts: list[Conflict]) -> None:
    """An unresolved conflict leaves its zone (all its rows, every sheet) or zone-year (the rows of
    that year in every sheet by year) out of the computation."""
    zones = {c.zone for c in open_conflicts if c.year is None}
    years = [(c.zone, c.year) for c in open_conflicts if c.year is not None]
    for key, t in tables.items():
        if "zone" not in t:
            continue
        out = t["zone"].isin(zones).to_numpy().copy()
        if len(years) and "year" in t:
            out |= pd.MultiIndex.from_arrays([t["zone"], t["year"].astype(float)]).isin(years)
        keep[key] &= ~out


def _conflict_problem(key: str, t: pd.DataFrame, mine: str, other: str, my_rows, their_rows, starts, sources,
                      unit: tuple, cols: list[str], used: str | None, how: str, chooser: _Chooser) -> Problem:
    """错误 (or 警告 for the copy --prefer chose) in `mine`: how its copy of `unit` differs from `other`'s."""
    sheet = SHEETS_BY_KEY[key]
    table, theirs = sources[mine][key], sources[other][key]
    align = [k for k in sheet.keys if k in t] or cols

    def side(rows, file):
        part = t.loc[rows].copy()
        part["_pos"] = part.index - starts[file]
        part["_n"] = part.groupby(align, dropna=False).cumcount()
        return part

    both = side(my_rows, mine).merge(side(their_rows, other), on=align + ["_n"], how="outer",
                                     suffixes=("", "_o"), indicator=True)
    values = [c for c in t.columns if c not in (*NOT_CONTENT, *align)]
    named = next((k for k in align if k not in cols), align[0])     # the column naming a row (机构名称)
    diffs: list[tuple[str, str]] = []           # (own cell, text)
    for row in both.to_dict("records"):
        what = "、".join(_number(row[k]) for k in align if k not in cols) or sheet.name
        if row["_merge"] == "left_only":
            at = cell_ref(table.title, *table.cell(int(row["_pos"]), named))
            diffs.append((at, f"{at}「{what}」在「{other}」中没有"))
        elif row["_merge"] == "right_only":
            there = cell_ref(theirs.title, *theirs.cell(int(row["_pos_o"]), named))
            diffs.append(("", f"「{other}」{there}「{what}」在本文件中没有"))
        else:
            for c in values:
                a, b = row[c], row[c + "_o"]
                if _same(a, b):
                    continue
                at, there = _at(table, row["_pos"], c), _at(theirs, row["_pos_o"], c)
                col = sheet.column(c)
                stored = f"（{col.unit}）" if col.unit and col.is_number else ""    # values as read, in the schema unit
                diffs.append((at, f"「{col.header}」{at or '（本文件无此列）'} 与「{other}」"
                                  f"{there or '（无此列）'} 不同：{_number(a)} ≠ {_number(b)}{stored}"))
    cell = next((at for at, _ in diffs if at), cell_ref(table.title, *table.cell(int(my_rows[0]) - starts[mine], "zone")))
    zone, year = unit[0], (f" {float(unit[1]):.0f} 年" if len(unit) > 1 else "")
    shown = "；".join(text for _, text in diffs[:3]) + (f"；等共 {len(diffs)} 处" if len(diffs) > 3 else "")
    gap = "" if how.endswith("）") else " "
    if used is None:
        outcome, level = f"数据冲突：该开发区{year + '的数据' if year else '的全部数据'}未计算" + (f"（{how}）" if how else ""), ERROR
    elif used == mine:
        outcome, level = f"已按 {how}{gap}采用本文件的数据", WARNING
    else:
        outcome, level = f"已按 {how}{gap}采用「{used}」的数据，本文件的这些数据未采用", ERROR
    return Problem(mine, table.title, cell, level,
                   f"开发区「{zone}」{year.strip()}的「{sheet.name}」数据与「{other}」不同（重复报送）：{shown}。{outcome}"
                   + chooser.times(mine, [other]),
                   "确认哪一份是正式报送，删除或更正另一份；或在命令中用 --prefer 文件名 指定采用哪一份，"
                   "或 --prefer newest 采用修改时间较新的一份")


def _at(table, pos: float, key: str) -> str:
    """The cell of `key` in table row `pos`, or "" when the worksheet has no such column."""
    return cell_ref(table.title, *table.cell(int(pos), key)) if key in table.columns else ""


def _same(a, b) -> bool:
    missing = [x is None or (isinstance(x, float) and np.isnan(x)) for x in (a, b)]
    return all(missing) or (not any(missing) and a == b)


def _same_problem(copy: str, used: str, hits: list[tuple[str, str, int]], sources) -> Problem:
    """One 警告 per pair of files that repeat each other word for word."""
    zones = list(dict.fromkeys(z for _, z, _ in hits))
    kinds = list(dict.fromkeys(k for k, _, _ in hits))
    key, _, pos = hits[0]
    table = sources[copy][key]
    return Problem(copy, table.title, cell_ref(table.title, *table.cell(pos, "zone")), WARNING,
                   f"与「{used}」重复报送，内容完全相同（开发区「{zones[0]}」" + (f"等 {len(zones)} 个开发区" if len(zones) > 1 else "")
                   + "，" + "、".join(SHEETS_BY_KEY[k].name for k in kinds) + " 表）：只采用一份，计算结果不受影响",
                   "无需处理；如为误发，删除其中一份")


def cross_file_checks(books: list[Book], tables: dict[str, pd.DataFrame], prefer: Iterable[str] = ()
                      ) -> tuple[dict[str, pd.DataFrame], list[Problem], list[Conflict]]:
    """Each file's 参数 applied to its own zones; the same zone or zone-year given by several files
    (`find_duplicates`: by content, never by file name); and different years mixed."""
    tables, problems = file_params(tables, books)
    keep, duplicates, conflicts = find_duplicates(books, tables, prefer)
    problems += duplicates
    out = {key: (t[keep[key]].reset_index(drop=True) if key in keep else t) for key, t in tables.items()}
    ind = tables.get("indicators")
    if ind is not None and len(ind):
        latest = ind.groupby("_file")["year"].max()
        if latest.nunique() > 1:
            common = latest.mode().iat[0]
            headers = {b.name: b.tables["indicators"] for b in books if "indicators" in b.tables}
            for file, year in latest.items():
                if year != common:
                    t = headers.get(file)
                    title = t.title if t is not None else "指标"
                    cell = cell_ref(t.title, t.header_row, t.columns["year"]) if t is not None and "year" in t.columns else ""
                    problems.append(Problem(file, title, cell, WARNING,
                                            f"本文件最新数据年度为 {year:.0f}，多数文件为 {common:.0f}：不同年度混合",
                                            "确认报送的是同一考核年度的数据"))
    return out, problems, conflicts
