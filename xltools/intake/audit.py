"""核实性审核 across rows: checks a single cell cannot fail, run over everything read together.

HS-01 compares each value with the median of its column (same sheet kind, every zone and file
read together); HS-02 compares it with the same zone's previous year, which may sit in another
file. Both ask the sender to confirm (警告) and keep the value. Whole columns at a time; only
the flagged cells cost Python. Each 警告 names the original file, worksheet and cell, so the
checks give the same rows for one workbook and after a batch is consolidated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..problems import Doubt, Problem
from ..schema import (AUDITS_BY_ID, INTENSITY_BASE, INTENSITY_FACTOR, MEDIAN_FACTOR, MEDIAN_MIN_VALUES, SHEETS,
                      YEAR_FACTOR, Column)
from .coerce import show
from .table import HASHED_ABOVE, cell_ref

if TYPE_CHECKING:                       # annotations only: the package imports this module
    from . import Book


def audit_books(books: list[Book]) -> None:
    """Append the 核实性审核 警告 of `books`, read together, to each book's problems.

    Per sheet kind, each column with a unit is looked at once over the rows of every book (one
    array end to end; a single table's own column, not a copy): a few numpy operations per column,
    not per book, so a batch of tiny workbooks stays cheap and one huge sheet needs no second copy."""
    for sheet in SHEETS:
        parts = [(b, b.tables[sheet.key]) for b in books if b.usable and sheet.key in b.tables]
        parts = [(b, t) for b, t in parts if len(t)]
        cols = [c for c in sheet.columns if c.dim and c.is_number and any(c.key in t.values for _, t in parts)]
        if not cols:
            continue

        def column(col: Column, parts=parts) -> np.ndarray:
            pieces = [t.values[col.key] if col.key in t.values else np.full(len(t), np.nan) for _, t in parts]
            return np.asarray(pieces[0], dtype=float) if len(pieces) == 1 else np.concatenate(pieces)

        zone_level = np.concatenate([np.full(len(t), "zones" in b.tables) for b, t in parts])
        found = _against_median(column, cols) + _against_intensity(column, cols, sheet, zone_level)
        previous = _previous_rows(sheet, parts)
        if previous is not None:
            found += _against_previous_year(column, previous, cols)
        if not found:
            continue
        sizes = np.array([len(t) for _, t in parts])
        owner = np.repeat(np.arange(len(parts)), sizes)
        pos = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)

        def where(i: int, key: str, seen_from: int | None = None) -> str:
            book, table = parts[owner[i]]
            ref = cell_ref(table.title, *table.cell(int(pos[i]), key))
            other = seen_from is not None and parts[owner[seen_from]][0].name != book.name
            return f"「{book.name}」{ref}" if other else ref

        def doubt(i: int, key: str, rule_id: str, cell: str) -> None:
            """Row `i`'s value noted on its own book as questioned by `rule_id` (its 警告 at `cell`)."""
            book, table = parts[owner[i]]
            at = int(pos[i])
            zone = table.values["zone"][at] if "zone" in table.values else None
            year = float(table.values["year"][at]) if "year" in table.values else np.nan
            book.doubtful.append(Doubt(sheet.key, zone, None if np.isnan(year) else year, key, rule_id, cell))

        for i, col, message, rule_id, other in sorted(found, key=lambda f: (f[0], f[3])):
            book, table = parts[owner[i]]
            rule = AUDITS_BY_ID[rule_id]
            text = message(lambda j: where(j, col.key, i)) if callable(message) else message
            book.problems.append(Problem(book.name, table.title, where(i, col.key), rule.level, text + rule.tag(),
                                         rule.hint))
            doubt(i, col.key, rule_id, where(i, col.key))
            if other is not None:                  # HS-02: either year may be the wrong one
                doubt(other, col.key, rule_id, where(i, col.key, other))


def _outliers(values: np.ndarray, factor: float) -> tuple[float, np.ndarray, np.ndarray]:
    """(median of the positive values, each value's ratio to it, the rows ≥ factor × or ≤ 1/factor of it);
    no rows when fewer than MEDIAN_MIN_VALUES are positive."""
    positive = values > 0
    if positive.sum() < MEDIAN_MIN_VALUES:
        return np.nan, values, np.empty(0, dtype=int)
    # the median lies between min and max: values spread less than the factor hold no such value
    low = values.min(where=positive, initial=np.inf)
    high = values.max(where=positive, initial=-np.inf)
    if not high >= factor * low:
        return np.nan, values, np.empty(0, dtype=int)
    median = float(np.median(values[positive]))
    ratio = np.where(positive, values / median, 1.0)
    return median, ratio, np.flatnonzero((ratio >= factor) | (ratio <= 1 / factor))


def _times(r: float) -> str:
    return f"的 {r:,.0f} 倍" if r >= 1 else f"的 1/{1 / r:,.0f}"


def _against_median(column, cols: list[Column]) -> list:
    """HS-01: values ≥ MEDIAN_FACTOR × or ≤ 1/MEDIAN_FACTOR of the median of their column's positive values."""
    out = []
    for col in cols:
        values = column(col)
        median, ratio, rows = _outliers(values, MEDIAN_FACTOR)
        for i in rows:
            out.append((int(i), col, f"「{col.header}」{show(values[i])} {col.unit}是本列中位数 "
                                     f"{show(round(median, 4))} {col.unit}{_times(ratio[i])}", "HS-01", None))
    return out


def _against_intensity(column, cols: list[Column], sheet, zone_level: np.ndarray) -> list:
    """HS-03: a value per unit of the sheet's INTENSITY_BASE (用地面积) ≥ INTENSITY_FACTOR × or ≤ 1/that of the
    median of the column's positive ratios — what HS-01 misses when zones differ greatly in size. Over the
    rows of workbooks with a 开发区 sheet only: enterprises (a 亩均 sheet of firms) differ far more per 亩."""
    key = INTENSITY_BASE.get(sheet.key)
    if key is None or all(c.key != key for c in cols) or not zone_level.any():
        return []
    base_col = sheet.column(key)
    base = column(base_col)
    out = []
    for col in cols:
        if col.key == key or col.dim == base_col.dim:
            continue
        values = column(col)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(zone_level & (base > 0) & (values > 0), values / base, np.nan)
        median, ratio, rows = _outliers(per, INTENSITY_FACTOR)
        unit = f"{col.unit}/{base_col.unit}"
        for i in rows:
            out.append((int(i), col, f"「{col.header}」{show(values[i])} {col.unit}按「{base_col.header}」"
                                     f"{show(base[i])} {base_col.unit}计为 {show(round(per[i], 4))} {unit}，是本列中位数 "
                                     f"{show(round(median, 4))} {unit}{_times(ratio[i])}", "HS-03", None))
    return out


def _previous_rows(sheet, parts: list) -> tuple[np.ndarray, np.ndarray] | None:
    """For each row of a (开发区名称, 年度) sheet, the row holding the same zone's previous year (-1:
    none), and each row's year; None when the sheet has no such pairs. Pure numpy after one factorize."""
    if not ({"zone", "year"} <= set(sheet.keys) and all("zone" in t.values and "year" in t.values for _, t in parts)):
        return None
    years = np.concatenate([t.values["year"] for _, t in parts])
    known = years[~np.isnan(years)]
    if not len(known) or known.min() == known.max():
        return None                                   # one year only: nothing to compare
    zones = [z for _, t in parts for z in t.values["zone"]]
    if len(zones) > HASHED_ABOVE:
        codes = pd.factorize(pd.Series(zones, dtype=object))[0]
    else:                                             # below this a dict beats pandas' per-call overhead
        seen: dict = {}
        codes = np.fromiter((-1 if z is None else seen.setdefault(z, len(seen)) for z in zones), np.int64, len(zones))
    ok = (codes >= 0) & ~np.isnan(years)
    key = np.where(ok, codes * 100_000 + np.nan_to_num(years).astype(np.int64), -1)
    order = np.argsort(key, kind="stable")           # the first row of a repeated key is found first
    sorted_keys = key[order]
    want = np.where(ok, key - 1, -2)
    at = np.clip(np.searchsorted(sorted_keys, want), 0, len(key) - 1)
    before = np.where(ok & (sorted_keys[at] == want), order[at], -1)
    return before, years


def _against_previous_year(column, previous: tuple[np.ndarray, np.ndarray], cols: list[Column]) -> list:
    """HS-02: more than YEAR_FACTOR × or less than 1/YEAR_FACTOR of the same zone's previous year."""
    before, years = previous
    has = before >= 0
    if not has.any():
        return []
    out = []
    for col in cols:
        values = column(col)
        prev = np.where(has, values[np.where(has, before, 0)], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = values / prev
        changed = (prev > 0) & (values >= 0) & ((ratio > YEAR_FACTOR) | (ratio < 1 / YEAR_FACTOR))
        for i in np.flatnonzero(changed):
            j, r = int(before[i]), ratio[i]
            times = f"的 {r:,.1f} 倍" if r >= 1 else f"的 {r:.1%}"
            head = f"「{col.header}」{show(values[i])} {col.unit}是上年（{years[j]:.0f} 年，"
            tail = f"）{show(prev[i])} {col.unit}{times}"
            out.append((int(i), col, lambda where, j=j, head=head, tail=tail: head + where(j) + tail, "HS-02", j))
    return out
