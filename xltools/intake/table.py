"""Locate the header of one worksheet and turn its data rows into a typed table.

Government sheets carry a merged title row, a "单位：万元" row, one- or two-row headers
(a group label above the column names, or the units below them), blank rows, 合计 rows and
footnotes. We score each candidate header row (and row pair) by how many schema columns
it names and take the best, so none of that needs configuring.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain, zip_longest
from operator import itemgetter

import numpy as np
import pandas as pd

from ..problems import ERROR, WARNING, col_letter
from ..schema import (AUDITS_BY_ID, RELATIONS, SHEETS, SHEETS_BY_KEY, TOTAL_WORDS, UNITS, Column, Sheet, header_lookup,
                      normalize_text, normalize_texts, plain_texts, split_header, unit_dimension)
from .coerce import coerce_column, show

HEADER_SCAN_ROWS = 30
# A unit note: 「单位：万元」「金额单位：元」「单位:万元、亩」, alone or inside a title (…（单位：亿元）).
_SHEET_UNIT = re.compile(r"单位\s*[:：]?\s*[(（]?\s*([^()（）\[\]【】]*)")
_UNIT_LIST = re.compile(r"[\s、,，;；/和及]+")
# How the unit of a column was learnt (SheetTable.units; 计算说明 lists them)
FROM_HEADER, FROM_NOTE, ASSUMED = "表头", "单位行", "未注明"
_FOOTER = ("注", "说明", "备注", "填表人", "填报人", "审核人", "制表", "数据来源", "填报说明")
IGNORED_HEADERS = {"序号", "备注", "说明", "No.", "NO"}
_ALL_UNITS = {u for table in UNITS.values() for u in table if u}


@dataclass
class SheetTable:
    """A typed table read from one worksheet, with enough to point back at its cells.

    Columns are kept as plain arrays (float ndarray for numbers, lists for text); the pandas
    DataFrame is built on first use, so consolidating many small workbooks builds one
    DataFrame per sheet kind instead of one per file.
    """

    sheet: Sheet
    title: str                      # the worksheet's own name
    values: dict[str, np.ndarray | list]  # schema key → typed column; "_row" = 0-based grid row
    columns: dict[str, int]         # schema key → 0-based column in the grid
    header_row: int
    problems: list[tuple[int, int, str, str, str]] = field(default_factory=list)  # row, col, level, msg, hint
    units: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (unit read in, FROM_HEADER/NOTE/ASSUMED)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.values["_row"])

    @property
    def data(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = pd.DataFrame(self.values, copy=False)   # views of the arrays, no second copy
        return self._frame

    def cell(self, pos: int, key: str) -> tuple[int, int]:
        """(grid row, grid col) of the cell holding `key` for table row `pos`."""
        return int(self.values["_row"][pos]), self.columns.get(key, 0)

    def __reduce__(self):
        # Sent between processes (batch workers) by sheet key, not with the whole schema object,
        # and with all numeric columns in one block: pickling one array costs as much as ten rows.
        numeric = [k for k, v in self.values.items() if isinstance(v, np.ndarray)]
        block = np.column_stack([self.values[k].astype(float, copy=False) for k in numeric]) if numeric else None
        packed = (list(self.values), numeric, [self.values[k].dtype.str for k in numeric], block,
                  {k: v for k, v in self.values.items() if not isinstance(v, np.ndarray)})
        return (_rebuild_table, (self.sheet.key, self.title, packed, self.columns, self.header_row, self.problems,
                                 self.units))


def _rebuild_table(key, title, packed, columns, header_row, problems, units=None) -> SheetTable:
    order, numeric, dtypes, block, values = packed
    for i, (k, dtype) in enumerate(zip(numeric, dtypes)):
        values[k] = block[:, i] if dtype == "<f8" else block[:, i].astype(dtype)
    return SheetTable(SHEETS_BY_KEY[key], title, {k: values[k] for k in order}, columns, header_row, problems,
                      units or {})


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _missing(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return np.isnan(values)
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def _key_part(v: object) -> object:
    return normalize_text(v) if isinstance(v, str) else (None if _is_missing(v) else v)


HASHED_ABOVE = 5000   # rows; below this a dict is faster than pandas' per-call overhead


def _first_seen(columns: list) -> np.ndarray:
    """For each row, the first row with the same key (itself when the key is new)."""
    n = len(columns[0])
    if n > HASHED_ABOVE:       # one hashed groupby; a dict of tuples would cost ~200 bytes per row
        group = pd.DataFrame(dict(enumerate(columns))).groupby(list(range(len(columns))), dropna=False,
                                                                 sort=False).ngroup().to_numpy()
        return np.unique(group, return_index=True)[1][group]   # groups are numbered by first appearance
    idents = list(zip(*columns))
    first = dict(zip(reversed(idents), range(n - 1, -1, -1)))     # the earliest row of each key wins
    if len(first) == n:
        return np.arange(n)                                         # no key repeats (the usual case)
    return np.fromiter(map(first.__getitem__, idents), dtype=np.int64, count=n)


def _key_values(values, positions: np.ndarray):
    """Key column at `positions`, compared as people read it (spaces and widths folded, blanks alike)."""
    if isinstance(values, np.ndarray):
        return [None if v != v else v for v in values[positions].tolist()]
    texts = normalize_texts(values if len(positions) == len(values) else [values[i] for i in positions.tolist()])
    if set(map(type, texts)) <= _TEXT_OR_NONE:
        return texts
    return [v if v is None or type(v) is str else _key_part(v) for v in texts]


_TEXT_OR_NONE = frozenset((str, type(None)))


@lru_cache(maxsize=4096)
def _is_unit_text(text: str) -> str | None:
    s = normalize_text(text).strip("()（）[]【】")
    s = s.replace("单位:", "").replace("单位", "")
    return s if s in _ALL_UNITS else None


@lru_cache(maxsize=65536)
def _match(sheet_key: str, text: str) -> tuple[Column | None, str]:
    """Schema column named by one header text of `sheet_key`, and the unit it announces."""
    name, unit = split_header(text)
    return _lookup(sheet_key).get(name), unit


@lru_cache(maxsize=None)
def _lookup(sheet_key: str) -> dict[str, Column]:
    return header_lookup(SHEETS_BY_KEY[sheet_key])


def _label(sheet_key: str, top: object, bottom: object) -> tuple[Column | None, str, str]:
    """Resolve one header cell (or a two-row pair) → (column, announced unit, shown text)."""
    for text in (bottom, top):
        if not text or not isinstance(text, str):
            continue
        col, unit = _match(sheet_key, text)
        if col is not None:
            if not unit and text is top and isinstance(bottom, str):
                unit = _is_unit_text(bottom) or ""
            return col, unit, text
    return None, "", ""


def _score(grid, r: int, two: bool, sheet_key: str) -> tuple[int, dict[int, tuple[Column, str, str]]]:
    bottom = tuple(grid[r + 1]) if two and r + 1 < len(grid) else None
    score, found = _score_rows(sheet_key, tuple(grid[r]), bottom)
    return score, dict(found)                   # the caller may adjust units: never touch the cached one


@lru_cache(maxsize=4096)   # a batch of one template repeats the same header rows in every file
def _score_rows(sheet_key: str, top: tuple, bottom: tuple | None) -> tuple[int, dict[int, tuple[Column, str, str]]]:
    found: dict[int, tuple[Column, str, str]] = {}
    seen: set[str] = set()
    for c, t in enumerate(top):
        col, unit, shown = _label(sheet_key, t, bottom[c] if bottom is not None else "")
        if col is not None and col.key not in seen:
            seen.add(col.key)
            found[c] = (col, unit, shown)
    return len(found), found


_TOTALS = frozenset(normalize_text(w) for w in TOTAL_WORDS)


@lru_cache(maxsize=16384)
def _ends_table(text: str) -> bool:
    """A 合计 row or a footnote (注：…, 填表人…) as the first cell of a row."""
    t = normalize_text(text)
    return t in _TOTALS or (len(t) > 1 and t.startswith(_FOOTER))


@lru_cache(maxsize=16384)
def _names_total(text: str) -> bool:
    t = normalize_text(text)
    return any(w in t for w in TOTAL_WORDS)


def _texts(top, bottom) -> int:
    """Columns with a non-empty text in `top` or `bottom` — an upper bound of their header score."""
    n = sum(1 for v in top if v and type(v) is str)
    if bottom:
        n += sum(1 for a, b in zip(top, bottom) if b and type(b) is str and not (a and type(a) is str))
    return n


def locate_header(grid, sheet: Sheet) -> tuple[int, int, dict[int, tuple[Column, str, str]]] | None:
    """Best (first header row, number of header rows, matched columns), or None."""
    best = None
    n = min(HEADER_SCAN_ROWS, len(grid))
    has_text = [any(isinstance(v, str) and v for v in grid[r]) for r in range(n)]
    for r in range(n):
        if not has_text[r]:
            continue
        if best is not None and sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in grid[r]) >= 2:
            break                                  # data rows have started below a header: stop looking
        for two in (False, True):
            if two and not (r + 1 < n and has_text[r + 1]):
                continue
            if best is not None and _texts(grid[r], grid[r + 1] if two else ()) <= best[0]:
                continue                           # cannot beat the best: each match needs a text cell
            score, found = _score(grid, r, two, sheet.key)
            if score and (best is None or score > best[0]):
                best = (score, r, 2 if two else 1, found)
    if best is None:
        return None
    score, r, n, found = best
    if n == 2 and _only_notes(grid[r], grid[r + 1]):
        below, found_below = _score(grid, r + 1, False, sheet.key)
        if below == score:       # a title or unit row above a one-row header, not the top half of a header
            return r + 1, 1, found_below
    return r, n, found


def _only_notes(top, bottom) -> bool:
    """Does the top row of a two-row header say nothing of single columns — only a title or unit
    note (one text, merged or not, or 「单位：…」 notes) besides cells merged down from it?"""
    texts = {normalize_text(t) for c, t in enumerate(top)
             if isinstance(t, str) and t.strip() and not (c < len(bottom) and t == bottom[c])}
    return len(texts) <= 1 or all(unit_notes(t) for t in texts)


@lru_cache(maxsize=4096)
def unit_notes(text: str) -> tuple[tuple[str, str], ...]:
    """(dimension, unit) of each unit a note names: 「单位:万元、亩」 → money 万元, area 亩."""
    out = []
    for m in _SHEET_UNIT.finditer(unicodedata.normalize("NFKC", text)):
        for token in _UNIT_LIST.split(m.group(1)):
            dim = unit_dimension(token.strip("。.:："))
            if dim is not None:
                out.append((dim, token.strip("。.:：")))
    return tuple(out)


GUESS_MIN_COLUMNS = 3     # a sheet is recognised by its header only when it names this many columns


def guess_sheet(grid) -> Sheet | None:
    """The kind of table a worksheet holds, from its header alone (its name said nothing: Sheet1).

    Every required column of that kind must be named, at least GUESS_MIN_COLUMNS in all, and no
    other kind may match as many columns (指标, 薪酬 and 历年排名 all start 开发区名称, 年度).
    """
    scored = []
    for sheet in SHEETS:
        located = locate_header(grid, sheet)
        if located is None:
            continue
        named = {col.key for col, _, _ in located[2].values()}
        if len(named) >= GUESS_MIN_COLUMNS and all(c.key in named for c in sheet.columns if c.required):
            scored.append((len(named), sheet))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


CHUNK_ROWS = 5_000       # data rows converted per step (bounds memory on 200k-row sheets)


def stage_table(head: list[list[object]], rest, sheet: Sheet, title: str,
                typer: "ColumnTyper") -> "PendingTable | None":
    """Locate the header and hand the data rows, filtered, to `typer`; None when no header is found."""
    grid = head
    located = locate_header(grid, sheet)
    if located is None:
        return None
    hr, nrows, found = located
    problems: list[tuple[int, int, str, str, str]] = []
    data_start = _take_unit_row(grid, hr + nrows, found)
    problems += _unknown_columns(grid, hr, nrows, data_start, found, sheet)
    columns = {col.key: c for c, (col, _, _) in found.items()}
    unusable = _missing_columns(sheet, columns, hr, problems)
    units, sources = _read_units(found, _sheet_units(grid[:hr + nrows - 1]), hr + nrows - 1, problems)
    table = PendingTable(sheet, title, columns, hr, problems, found, units, hr + nrows - 1, sources)
    if unusable:                      # its rows are never read: the sheet's problems say why
        table.usable = False
        problems.sort(key=lambda p: (p[0], p[1]))
        return table
    _feed(table, grid[data_start:], data_start, rest, typer)
    return table


def _sheet_units(rows) -> dict[str, str]:
    """Sheet-wide units ("单位：万元", "金额单位：元", "单位:万元、亩") written anywhere above the
    column names: a unit row, the title, the top row of a two-row header. The nearest one counts."""
    units: dict[str, str] = {}
    for row in rows:
        for v in row:
            if isinstance(v, str) and "单位" in v:
                units.update(unit_notes(v))
    return units


def _take_unit_row(grid, data_start: int, found: dict) -> int:
    """A row of units under the header ("万元", "(亩)") is part of the header: its units go to `found`.
    Returns the first data row."""
    if data_start < len(grid):
        nxt = [v for v in grid[data_start] if v not in ("", None)]
        if nxt and all(isinstance(v, str) and _is_unit_text(v) for v in nxt):
            for c in found:
                unit = _is_unit_text(grid[data_start][c]) if isinstance(grid[data_start][c], str) else None
                if unit:
                    col, _, shown = found[c]
                    found[c] = (col, unit, shown)
            data_start += 1
    return data_start


def _unknown_columns(grid, hr: int, nrows: int, data_start: int, found: dict, sheet: Sheet) -> list:
    """A 警告 for each column with a header no schema column has, and data below it."""
    problems = []
    header_cells = [grid[hr + i] for i in range(nrows)]
    for c in range(len(grid[hr])):
        if c in found:
            continue
        texts = [row[c] for row in header_cells if isinstance(row[c], str) and row[c].strip()]
        # Only the lowest header row names a column; group labels above it are fine.
        text = grid[hr + nrows - 1][c]
        if (texts and isinstance(text, str) and text.strip() and not _is_unit_text(text)
                and normalize_text(text) not in IGNORED_HEADERS):
            if any(c < len(grid[r]) and (isinstance(grid[r][c], (int, float)) or
                                         (isinstance(grid[r][c], str) and grid[r][c].strip()))
                   for r in range(data_start, min(len(grid), data_start + 50))):
                meant = _meant_header(text, sheet, found)
                problems.append((hr + nrows - 1, c, WARNING, f"未识别的列「{text.strip()}」，已忽略" +
                                 (f"（是否应为「{meant}」？该列未读入，用到它的计算将缺少数据）" if meant else ""),
                                 f"如是，请把表头改为「{meant}」" if meant else
                                 "如需使用，请改为标准表头：" + "、".join(x.header for x in sheet.columns[:6]) + "…"))
    return problems


def _meant_header(text: str, sheet: Sheet, found: dict) -> str | None:
    """The standard header an unrecognised one is most likely a typo of (税收收人 → 税收收入), among the
    sheet's columns not found already; None when none is close."""
    import difflib
    name, _ = split_header(text)
    taken = {col.key for col, _, _ in found.values()}
    names = {normalize_text(n): col.header for col in sheet.columns if col.key not in taken
             for n in (col.header, *col.aliases)}
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


def _missing_columns(sheet: Sheet, columns: dict[str, int], hr: int, problems: list) -> bool:
    """An 错误 for each required column not found; True when a key column is missing (without it no
    row can be told apart, so the sheet is not read)."""
    unusable = False
    for col in sheet.columns:
        if col.required and col.key not in columns:
            is_key = col.key in sheet.keys
            unusable |= is_key
            problems.append((hr, 0, ERROR, f"工作表缺少必填列「{col.header}」" + ("，本表未读入" if is_key else ""),
                             f"在表头行添加一列「{col.header}」"))
    return unusable


def _read_units(found: dict, sheet_units: dict[str, str], names_row: int,
                  problems: list) -> tuple[dict[int, str], dict[int, str]]:
    """(grid column → unit its values are read in, → how that unit was learnt)."""
    units: dict[int, str] = {}
    sources: dict[int, str] = {}
    for c, (col, unit, _) in found.items():
        sources[c] = FROM_HEADER if unit else ""
        if not unit and col.dim in sheet_units:
            unit, sources[c] = sheet_units[col.dim], FROM_NOTE
        if unit and col.dim and unit not in UNITS[col.dim]:
            problems.append((names_row, c, WARNING, f"表头单位「{unit}」无法换算为「{col.unit}」，按{col.unit}读取",
                             f"把表头改为「{col.label()}」"))
            unit, sources[c] = "", FROM_HEADER      # reported already: no second warning that none is stated
        units[c] = unit
    return units, sources


def _feed(table: "PendingTable", chunk: list, row_no: int, rest, typer: "ColumnTyper") -> None:
    """Hand the data rows to `typer`, CHUNK_ROWS at a time (or as the blocks a streamed sheet comes
    in), as columns, blank/合计/footnote rows left out."""
    key_cols = [table.columns[k] for k in table.sheet.keys if k in table.columns] or [min(table.found)]
    column_blocks = getattr(rest, "column_blocks", None)
    if column_blocks is not None:                 # a streamed sheet: its rows arrive as columns already
        typer.add(table, *data_columns(chunk, row_no, key_cols))
        row_no += len(chunk)
        for cols, n in column_blocks():
            typer.add(table, *kept_columns(cols, n, row_no, key_cols))
            row_no += n
        return
    for row in rest:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            typer.add(table, *data_columns(chunk, row_no, key_cols))
            row_no += len(chunk)
            chunk = []
    typer.add(table, *data_columns(chunk, row_no, key_cols))


def data_columns(rows: list, first_row: int, key_cols: list[int]) -> tuple[list[tuple], np.ndarray]:
    """The columns of `rows` without blank rows, 合计 rows and footnotes, and the grid row of each
    kept row."""
    n = len(rows)
    cols = list(zip_longest(*rows, fillvalue="")) if n else []    # short streamed rows: "" beyond their end
    return kept_columns(cols, n, first_row, key_cols)


def kept_columns(cols: list, n: int, first_row: int, key_cols: list[int]) -> tuple[list, np.ndarray]:
    """`cols` (n rows each) without blank rows, 合计 rows and footnotes, and the grid row of each kept
    row. Each test looks at a column at a time (a distinct text once), not at a row."""
    first = _first_cells(cols, n)
    ends = _table_ends(list({v for v in first if type(v) is str}))
    drop = ([v is None or (type(v) is str and v in ends) for v in first] if ends else
            [v is None for v in first] if None in first else None)     # None: no row to drop (so far)
    for kc in key_cols:
        if kc < len(cols) and _may_name_totals(cols[kc]):
            drop = [d or (type(v) is str and _names_total(v)) for d, v in zip(drop or [False] * n, cols[kc])]
    if drop is None:                                                   # the usual case: every row kept
        return cols, np.arange(first_row, first_row + n)
    kept = [i for i, d in enumerate(drop) if not d]
    if len(kept) < n:
        take = itemgetter(*kept) if len(kept) > 1 else (lambda col: tuple(col[i] for i in kept))
        at = np.asarray(kept, dtype=int)
        cols = [col[at] if isinstance(col, np.ndarray) else take(col) for col in cols]
    return cols, np.asarray(kept, dtype=int) + first_row


def _table_ends(texts: list[str]) -> set[str]:
    """Those of `texts` that end a table as a row's first cell (合计, 注：…); a column of plain texts
    (names) is told apart without normalising each."""
    if plain_texts(texts):                  # normalize_text would leave each as it is
        return {t for t in texts if t in _TOTALS or (len(t) > 1 and t.startswith(_FOOTER))}
    return {t for t in texts if _ends_table(t)}


def _blank(v: object) -> bool:
    return v is None or v == "" or (isinstance(v, str) and not v.strip())


def _first_cells(cols: list[tuple], n: int) -> list:
    """The first non-blank cell of each row (None: a blank row); most rows are settled by column A."""
    first: list = [None] * n
    todo = range(n)
    for col in cols:
        if isinstance(col, np.ndarray):       # a column of numbers (streamed): no cell of it is blank
            values = col.tolist()
            for i in todo:
                first[i] = values[i]
            return first
        values = col if len(todo) == n else [col[i] for i in todo]
        try:
            blank = {v for v in set(values) if _blank(v)}
            is_blank = blank.__contains__
        except TypeError:                    # a cell that cannot be hashed (never from a file): cell by cell
            blank, is_blank = None, _blank
        if not blank and blank is not None and len(todo) == n:
            return list(col)
        left = []
        for i, v in zip(todo, values):
            if is_blank(v):
                left.append(i)
            else:
                first[i] = v
        todo = left
        if not todo:
            break
    return first


_TOTAL_ENDS = frozenset(normalize_text(w)[-1] for w in TOTAL_WORDS)


def _may_name_totals(column) -> bool:
    """False when no text of `column` can name a total (a quick test of the whole column before
    _names_total of each cell): none holds the last character of a TOTAL_WORD, and normalising
    would not change their characters."""
    texts = [v for v in column if type(v) is str]
    joined = "".join(texts)
    return any(ch in joined for ch in _TOTAL_ENDS) or not unicodedata.is_normalized("NFKC", "\n".join(texts))


@dataclass
class PendingTable:
    """A located table whose data rows are handed to a ColumnTyper; `finish()` once it has flushed."""

    sheet: Sheet
    title: str
    columns: dict[str, int]
    header_row: int
    problems: list[tuple[int, int, str, str, str]]
    found: dict[int, tuple[Column, str, str]]
    units: dict[int, str]
    names_row: int = 0                # the header row naming the columns (the lowest one)
    sources: dict[int, str] = field(default_factory=dict)   # grid column → how its unit was learnt
    parts: dict[str, list] = field(default_factory=dict)
    usable: bool = True               # False: a required key column is missing (only problems to report)

    @cached_property
    def layout(self) -> tuple[tuple[int, str, str], ...]:
        """(grid column, schema key, announced unit) of each read column: tables alike are typed together."""
        return tuple((c, col.key, self.units[c]) for c, (col, _, _) in self.found.items())

    def finish(self) -> SheetTable:
        """Join the typed pieces, then drop rows without a key and repeated keys (both reported)."""
        sheet, columns, problems = self.sheet, self.columns, self.problems
        data: dict[str, np.ndarray | list] = {}
        for key in ["_row", *columns]:
            pieces = self.parts.pop(key)      # let each column's pieces go as soon as it is joined
            if len(pieces) == 1:
                data[key] = pieces[0]
            elif all(isinstance(p, np.ndarray) for p in pieces):
                data[key] = np.concatenate(pieces) if pieces else np.array([])
            else:
                data[key] = list(chain.from_iterable(pieces))
            del pieces
        rows_idx = data["_row"].astype(int)

        # Required cells: a row without a key cannot be used; other required blanks are reported.
        flagged = None
        keep = np.ones(len(rows_idx), dtype=bool)
        for col in sheet.columns:
            if col.required and col.key in data:
                missing = _missing(data[col.key])
                is_key = col.key in sheet.keys
                kept = is_key and sheet.counted and col.key != "zone"   # counted: the zone's counts unknown
                if missing.any():
                    flagged = flagged if flagged is not None else {(r, c) for r, c, *_ in problems}
                    tail = "，该开发区的机构数按未知处理（数据缺失）" if kept else "，本行未读入" if is_key else ""
                    for pos in np.flatnonzero(missing):
                        where = (int(rows_idx[pos]), columns[col.key])
                        if where not in flagged:
                            problems.append((*where, ERROR, f"必填项「{col.header}」为空{tail}", f"填写「{col.header}」"))
                if is_key and not kept:
                    keep &= ~missing

        # Duplicate keys: the later row is reported and left out.
        keys = [k for k in sheet.keys if k in data]
        if keys and len(rows_idx) > 1:
            cand = np.flatnonzero(keep)
            first = _first_seen([_key_values(data[k], cand) for k in keys])
            for i in np.flatnonzero(first != np.arange(len(cand))):                # the repeats only
                pos, earlier = cand[i], cand[first[i]]
                label = "、".join(show(data[k][pos]) for k in keys if not _is_missing(data[k][pos]))
                problems.append((int(rows_idx[pos]), columns[keys[0]], ERROR,
                                 f"重复记录：「{label}」与第 {int(rows_idx[earlier]) + 1} 行重复，本行未读入",
                                 "删除重复行，或核对名称/年度是否填错"))
                keep[pos] = False

        if not keep.all():
            data = {k: (v[keep] if isinstance(v, np.ndarray) else [x for x, ok in zip(v, keep) if ok])
                    for k, v in data.items()}
        _check_relations(sheet, data, columns, problems)
        units = self._column_units(data)
        problems.sort(key=lambda p: (p[0], p[1]))
        return SheetTable(sheet, self.title, data, columns, self.header_row, problems, units)

    def _column_units(self, data: dict) -> dict[str, tuple[str, str]]:
        """The unit each amount/area/energy/mass column was read in, and how it was learnt; a column with
        values whose unit the workbook does not state gets one 警告 (the schema unit is assumed)."""
        units: dict[str, tuple[str, str]] = {}
        for c, (col, _, _) in self.found.items():
            if not col.needs_unit:
                continue
            unit, source = self.units[c] or col.unit, self.sources.get(c, "")
            if not source:
                source = ASSUMED
                values = data.get(col.key)
                if isinstance(values, np.ndarray) and (values == values).any():
                    self.problems.append((self.names_row, c, WARNING, f"「{col.header}」未注明单位，按{col.unit}读入",
                                          f"在表头写明单位，如「{col.label()}」，或在表头上方加一行「单位：{col.unit}」"))
            units[col.key] = (unit, source or FROM_HEADER)
        return units


def unknown_blanks(table: SheetTable) -> list[tuple[int, int, str, object, object]]:
    """(grid row, grid column, column key, zone, year) of each blank cell read that leaves a check
    unknown (Column.needed_for), whole columns at a time. Rows not read (no key, repeated) are not
    in `table`; a cell whose value could not be read is blank here too (the caller leaves it out)."""
    data, out = table.values, []
    zones, years = data.get("zone"), data.get("year")
    for col in table.sheet.columns:
        if not col.needed_for or col.key not in data or col.key not in table.columns:
            continue
        blank = _missing(data[col.key])
        if col.needed_unless is not None and col.needed_unless[0] in data and blank.any():
            other, values = col.needed_unless
            blank &= ~pd.Series(data[other], dtype=object).isin(values).to_numpy()
        c = table.columns[col.key]
        out += [(int(data["_row"][pos]), c, col.key, zones[pos] if zones is not None else None,
                 float(years[pos]) if years is not None else None) for pos in np.flatnonzero(blank).tolist()]
    return out


def _amount(value: float, unit: str) -> str:
    return f"{show(value)} {unit}" if unit else show(value)


def _check_relations(sheet: Sheet, data: dict, columns: dict[str, int], problems: list) -> None:
    """Cross-column 强制性审核 (工业增加值 ≤ 规上工业总产值 …): the larger-than-allowed value is reported
    at its cell and not used."""
    for rule_id, sheet_key, left, right in RELATIONS:
        if sheet_key != sheet.key or left not in data or right not in data:
            continue
        a, b = data[left], data[right]
        bad = a > b                                      # NaN on either side: nothing to compare
        if not bad.any():
            continue
        rule = AUDITS_BY_ID[rule_id]
        lc, rc = sheet.column(left), sheet.column(right)
        for pos in np.flatnonzero(bad):
            problems.append((int(data["_row"][pos]), columns[left], rule.level,
                             f"「{lc.header}」{_amount(a[pos], lc.unit)} 大于「{rc.header}」{_amount(b[pos], rc.unit)}，"
                             f"未读入{rule.tag()}", rule.hint))
        data[left] = np.where(bad, np.nan, a)


class ColumnTyper:
    """Types the data rows of many tables together, one sheet kind at a time.

    A batch of small workbooks from one template repeats the same columns in every file:
    coercing each column once per CHUNK_ROWS rows across files, instead of once per file,
    removes most of the per-file cost. A single huge sheet is still typed CHUNK_ROWS rows at a time.
    """

    def __init__(self) -> None:
        # sheet key → segments waiting: (table, grid rows, columns of the rows, index of the piece in table.parts)
        self.pending: dict[str, list[tuple[PendingTable, np.ndarray, list[tuple], int]]] = {}
        self.count: dict[str, int] = {}

    def add(self, table: PendingTable, columns: list[tuple], idx: np.ndarray) -> None:
        parts = table.parts
        if not parts:
            parts.update({key: [] for key in ("_row", *table.columns)})
        for pieces in parts.values():
            pieces.append(None)                                  # filled in by _flush()
        parts["_row"][-1] = idx
        key = table.sheet.key
        self.pending.setdefault(key, []).append((table, idx, columns, len(parts["_row"]) - 1))
        self.count[key] = self.count.get(key, 0) + len(idx)
        if self.count[key] >= CHUNK_ROWS:
            self._flush(key)

    def flush(self) -> None:
        """Type everything still waiting (before any PendingTable.finish())."""
        for key in list(self.pending):
            self._flush(key)

    def _flush(self, sheet_key: str) -> None:
        segments = self.pending.pop(sheet_key)
        self.count.pop(sheet_key)
        groups: dict[tuple, list] = {}                           # tables laid out alike are typed as one
        for seg in segments:
            groups.setdefault(seg[0].layout, []).append(seg)
        for layout, group in groups.items():
            ends = np.cumsum([len(seg[1]) for seg in group])
            starts = np.concatenate(([0], ends[:-1]))
            found = group[0][0].found
            for c, _, unit in layout:
                col = found[c][0]
                raw = _column(group, c)
                values, cell_problems = coerce_column(raw, col, unit)
                if col.key == "zone":  # zone names compare without spaces and width differences
                    values = normalize_texts(values)
                _hand_back(group, starts, ends, c, col.key, values, cell_problems)


def _column(group: list, c: int) -> list | tuple:
    """Grid column `c` of every segment of `group`, end to end ("" where a segment's rows stop short)."""
    pieces = [seg[2][c] if c < len(seg[2]) else ("",) * len(seg[1]) for seg in group]
    if len(pieces) == 1:
        return pieces[0]
    if all(isinstance(p, np.ndarray) for p in pieces):      # numbers throughout (a streamed sheet)
        return np.concatenate(pieces)
    return list(chain.from_iterable(p.tolist() if isinstance(p, np.ndarray) else p for p in pieces))


def _hand_back(group: list, starts: np.ndarray, ends: np.ndarray, c: int, key: str, values, cell_problems) -> None:
    """Give each table of `group` its slice of one typed column, and the problems of its cells."""
    if len(group) == 1:
        table, idx, _, at = group[0]
        table.parts[key][at] = values
        table.problems.extend((int(idx[pos]), c, lvl, msg, hint) for pos, lvl, msg, hint in cell_problems)
        return
    for (table, _, _, at), a, b in zip(group, starts.tolist(), ends.tolist()):
        table.parts[key][at] = values[a:b]      # a view for numbers: no copy
    if cell_problems:
        owner = np.searchsorted(ends, [pos for pos, *_ in cell_problems], side="right")
        for (pos, lvl, msg, hint), i in zip(cell_problems, owner.tolist()):
            table, idx, _, _ = group[i]
            table.problems.append((int(idx[pos - starts[i]]), c, lvl, msg, hint))


def cell_ref(title: str, row: int, col: int) -> str:
    return f"{title}!{col_letter(col)}{row + 1}"
