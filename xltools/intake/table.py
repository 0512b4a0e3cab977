"""Locate the header of one worksheet and turn its data rows into a typed table.

Government sheets carry a merged title row, a "单位：万元" row, one- or two-row headers
(a group label above the column names, or the units below them), blank rows, 合计 rows and
footnotes. We score each candidate header row (and row pair) by how many schema columns
it names and take the best, so none of that needs configuring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..problems import ERROR, WARNING, col_letter
from ..schema import TOTAL_WORDS, UNITS, Column, Sheet, header_lookup, normalize_text, split_header
from .coerce import coerce_column, show

HEADER_SCAN_ROWS = 30
_SHEET_UNIT = re.compile(r"单位[:：]\s*([^\s,，;；)）]+)")
_FOOTER = ("注", "说明", "备注", "填表人", "填报人", "审核人", "制表", "数据来源", "填报说明")
IGNORED_HEADERS = {"序号", "备注", "说明", "No.", "NO"}
_ALL_UNITS = {u for table in UNITS.values() for u in table if u}


@dataclass
class SheetTable:
    """A typed table read from one worksheet, with enough to point back at its cells."""

    sheet: Sheet
    title: str                      # the worksheet's own name
    data: pd.DataFrame              # schema keys + "_row" (0-based row in the grid)
    columns: dict[str, int]         # schema key → 0-based column in the grid
    header_row: int
    problems: list[tuple[int, int, str, str, str]] = field(default_factory=list)  # row, col, level, msg, hint

    def cell(self, pos: int, key: str) -> tuple[int, int]:
        """(grid row, grid col) of the cell holding `key` for table row `pos`."""
        return int(self.data["_row"].iat[pos]), self.columns.get(key, 0)


def _is_unit_text(text: str) -> str | None:
    s = normalize_text(text).strip("()（）[]【】")
    s = s.replace("单位:", "").replace("单位", "")
    return s if s in _ALL_UNITS else None


def _label(top: object, bottom: object, lookup: dict[str, Column]) -> tuple[Column | None, str, str]:
    """Resolve one header cell (or a two-row pair) → (column, announced unit, shown text)."""
    for text in (bottom, top):
        if text in ("", None) or not isinstance(text, str):
            continue
        name, unit = split_header(text)
        col = lookup.get(name)
        if col is not None:
            if not unit and text is top and isinstance(bottom, str):
                unit = _is_unit_text(bottom) or ""
            return col, unit, str(text)
    shown = bottom if isinstance(bottom, str) and bottom else top
    return None, "", str(shown) if shown not in ("", None) else ""


def _score(grid, r: int, two: bool, lookup) -> tuple[int, dict[int, tuple[Column, str, str]]]:
    top = grid[r]
    bottom = grid[r + 1] if two and r + 1 < len(grid) else [""] * len(top)
    found: dict[int, tuple[Column, str, str]] = {}
    seen: set[str] = set()
    for c in range(len(top)):
        col, unit, shown = _label(top[c] if not two else top[c], bottom[c] if two else "", lookup)
        if col is not None and col.key not in seen:
            seen.add(col.key)
            found[c] = (col, unit, shown)
    return len(found), found


def locate_header(grid, sheet: Sheet) -> tuple[int, int, dict[int, tuple[Column, str, str]]] | None:
    """Best (first header row, number of header rows, matched columns), or None."""
    lookup = header_lookup(sheet)
    best = None
    for r in range(min(HEADER_SCAN_ROWS, len(grid))):
        for two in (False, True):
            score, found = _score(grid, r, two, lookup)
            if score and (best is None or score > best[0]):
                best = (score, r, 2 if two else 1, found)
    if best is None:
        return None
    _, r, n, found = best
    return r, n, found


def read_table(grid: list[list[object]], sheet: Sheet, title: str) -> SheetTable | None:
    """Typed table of one worksheet, or None when no header of this sheet kind is found."""
    located = locate_header(grid, sheet)
    if located is None:
        return None
    hr, nrows, found = located
    problems: list[tuple[int, int, str, str, str]] = []
    lookup = header_lookup(sheet)

    # Sheet-wide unit ("单位：万元") written above the header.
    sheet_unit = ""
    for row in grid[:hr]:
        for v in row:
            if isinstance(v, str) and (m := _SHEET_UNIT.search(normalize_text(v))):
                sheet_unit = m.group(1)
    data_start = hr + nrows
    # A row of units under the header ("万元", "(亩)") is part of the header.
    if data_start < len(grid):
        nxt = [v for v in grid[data_start] if v not in ("", None)]
        if nxt and all(isinstance(v, str) and _is_unit_text(v) for v in nxt):
            for c in found:
                unit = _is_unit_text(grid[data_start][c]) if isinstance(grid[data_start][c], str) else None
                if unit:
                    col, _, shown = found[c]
                    found[c] = (col, unit, shown)
            data_start += 1

    header_cells = [grid[hr + i] for i in range(nrows)]
    for c in range(len(grid[hr])):
        if c in found:
            continue
        texts = [row[c] for row in header_cells if isinstance(row[c], str) and row[c].strip()]
        # Only the lowest header row names a column; group labels above it are fine.
        text = grid[hr + nrows - 1][c]
        if (texts and isinstance(text, str) and text.strip() and not _is_unit_text(text)
                and normalize_text(text) not in IGNORED_HEADERS):
            if any(isinstance(grid[r][c], (int, float)) or (isinstance(grid[r][c], str) and grid[r][c].strip())
                   for r in range(data_start, min(len(grid), data_start + 50))):
                problems.append((hr + nrows - 1, c, WARNING, f"未识别的列「{text.strip()}」，已忽略",
                                 "如需使用，请改为标准表头：" + "、".join(x.header for x in sheet.columns[:6]) + "…"))

    columns = {col.key: c for c, (col, _, _) in found.items()}
    for col in sheet.columns:
        if col.required and col.key not in columns:
            problems.append((hr, 0, ERROR, f"工作表缺少必填列「{col.header}」",
                             f"在表头行添加一列「{col.header}」"))

    body = grid[data_start:]
    rows_idx = np.arange(data_start, data_start + len(body))
    raw = pd.DataFrame(body, dtype=object) if body else pd.DataFrame(columns=range(len(grid[hr])), dtype=object)
    keep = np.ones(len(raw), dtype=bool)
    if len(raw):
        blank = raw.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).to_numpy()
        keep &= ~blank.all(axis=1)
        first = raw.apply(lambda row: next((v for v in row if not (v is None or (isinstance(v, str) and not v.strip()))), ""), axis=1)
        first_txt = first.map(lambda v: normalize_text(v) if isinstance(v, str) else "")
        keep &= ~first_txt.map(lambda t: t.startswith(_FOOTER) and len(t) > 1).to_numpy()
        keep &= ~first_txt.isin([normalize_text(w) for w in TOTAL_WORDS]).to_numpy()
        key_cols = [columns[k] for k in sheet.keys if k in columns] or [min(found)]
        for kc in key_cols:
            if kc < raw.shape[1]:
                txt = raw[kc].map(lambda v: normalize_text(v) if isinstance(v, str) else "")
                keep &= ~txt.map(lambda t: any(w in t for w in TOTAL_WORDS)).to_numpy()
    raw = raw[keep].reset_index(drop=True)
    rows_idx = rows_idx[keep]

    out = pd.DataFrame({"_row": rows_idx})
    for c, (col, unit, _) in found.items():
        if not unit and sheet_unit and col.dim and sheet_unit in UNITS[col.dim]:
            unit = sheet_unit
        if unit and col.dim and unit not in UNITS[col.dim]:
            problems.append((hr + nrows - 1, c, WARNING, f"表头单位「{unit}」无法换算为「{col.unit}」，按{col.unit}读取",
                             f"把表头改为「{col.label()}」"))
            unit = ""
        series = raw[c] if c < raw.shape[1] else pd.Series([""] * len(raw), dtype=object)
        values, cell_problems = coerce_column(series, col, unit)
        out[col.key] = values.array
        for pos, level, msg, hint in cell_problems:
            problems.append((int(rows_idx[pos]), c, level, msg, hint))

    # Required cells: a row without a key cannot be used; other required blanks are reported.
    flagged = {(r, c) for r, c, *_ in problems}
    drop = np.zeros(len(out), dtype=bool)
    for col in sheet.columns:
        if col.required and col.key in out:
            missing = out[col.key].isna().to_numpy()
            is_key = col.key in sheet.keys
            for pos in np.flatnonzero(missing):
                where = (int(rows_idx[pos]), columns[col.key])
                if where not in flagged:
                    tail = "，本行未读入" if is_key else ""
                    problems.append((*where, ERROR, f"必填项「{col.header}」为空{tail}", f"填写「{col.header}」"))
            if is_key:
                drop |= missing
    out = out[~drop].reset_index(drop=True)

    # Duplicate keys: the later row is reported and left out.
    keys = [k for k in sheet.keys if k in out]
    if keys and len(out):
        norm = out[keys].apply(lambda s: s.map(lambda v: normalize_text(v) if isinstance(v, str) else v))
        dup = norm.duplicated(keep="first").to_numpy()
        for pos in np.flatnonzero(dup):
            label = "、".join(show(out[k].iat[pos]) for k in keys)
            first_row = int(out["_row"].iat[int(np.flatnonzero((norm == norm.iloc[pos]).all(axis=1))[0])])
            problems.append((int(out["_row"].iat[pos]), columns[keys[0]], ERROR,
                             f"重复记录：「{label}」与第 {first_row + 1} 行重复，本行未读入",
                             "删除重复行，或核对名称/年度是否填错"))
        out = out[~dup].reset_index(drop=True)

    problems.sort(key=lambda p: (p[0], p[1]))
    return SheetTable(sheet, title, out, columns, hr, problems)


def cell_ref(title: str, row: int, col: int) -> str:
    return f"{title}!{col_letter(col)}{row + 1}"
