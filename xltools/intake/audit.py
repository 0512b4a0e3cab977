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

from ..problems import Problem
from ..schema import AUDITS_BY_ID, MEDIAN_FACTOR, MEDIAN_MIN_VALUES, SHEETS, YEAR_FACTOR, Column
from .coerce import show
from .table import SheetTable, cell_ref

if TYPE_CHECKING:                       # annotations only: the package imports this module
    from . import Book


def audit_books(books: list[Book]) -> None:
    """Append the 核实性审核 警告 of `books`, read together, to each book's problems."""
    for sheet in SHEETS:
        parts = [(b, b.tables[sheet.key]) for b in books if b.usable and sheet.key in b.tables]
        parts = [(b, t) for b, t in parts if len(t)]
        if not parts:
            continue
        sizes = np.array([len(t) for _, t in parts])
        owner = np.repeat(np.arange(len(parts)), sizes)
        pos = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        yearly = {"zone", "year"} <= set(sheet.keys) and all("zone" in t.values and "year" in t.values for _, t in parts)
        if yearly:
            zones = np.array([z for _, t in parts for z in t.values["zone"]], dtype=object)
            years = np.concatenate([t.values["year"] for _, t in parts])
        for col in sheet.columns:
            if not (col.dim and col.is_number) or not any(col.key in t.values for _, t in parts):
                continue
            values = np.concatenate([t.values[col.key] if col.key in t.values else np.full(len(t), np.nan)
                                     for _, t in parts])
            found = _against_median(values, col)
            if yearly:
                found += _against_previous_year(values, zones, years, col, parts, owner, pos)
            for i, message, rule_id in found:
                book, table = parts[owner[i]]
                rule = AUDITS_BY_ID[rule_id]
                book.problems.append(Problem(book.name, table.title, _where(table, pos[i], col.key), rule.level,
                                             message + rule.tag(), rule.hint))


def _where(table: SheetTable, pos: int, key: str) -> str:
    return cell_ref(table.title, *table.cell(int(pos), key))


def _against_median(values: np.ndarray, col: Column) -> list[tuple[int, str, str]]:
    """HS-01: values ≥ MEDIAN_FACTOR × or ≤ 1/MEDIAN_FACTOR of the median of the positive values."""
    positive = values > 0
    if positive.sum() < MEDIAN_MIN_VALUES:
        return []
    median = float(np.median(values[positive]))
    ratio = np.where(positive, values / median, 1.0)
    far = (ratio >= MEDIAN_FACTOR) | (ratio <= 1 / MEDIAN_FACTOR)
    out = []
    for i in np.flatnonzero(far):
        r = ratio[i]
        times = f"的 {r:,.0f} 倍" if r >= 1 else f"的 1/{1 / r:,.0f}"
        out.append((int(i), f"「{col.header}」{show(values[i])} {col.unit}是本列中位数 {show(round(median, 4))} "
                            f"{col.unit}{times}", "HS-01"))
    return out


def _against_previous_year(values: np.ndarray, zones: np.ndarray, years: np.ndarray, col: Column, parts: list,
                           owner: np.ndarray, pos: np.ndarray) -> list[tuple[int, str, str]]:
    """HS-02: more than YEAR_FACTOR × or less than 1/YEAR_FACTOR of the same zone's previous year."""
    frame = pd.DataFrame({"zone": zones, "year": years, "at": np.arange(len(values))})
    first = frame.dropna().drop_duplicates(["zone", "year"]).set_index(["zone", "year"])["at"]
    before = first.reindex(pd.MultiIndex.from_arrays([zones, years - 1])).to_numpy()
    has = ~np.isnan(before)
    prev = np.full(len(values), np.nan)
    prev[has] = values[before[has].astype(int)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = values / prev
    changed = (prev > 0) & (values >= 0) & ((ratio > YEAR_FACTOR) | (ratio < 1 / YEAR_FACTOR))
    out = []
    for i in np.flatnonzero(changed):
        j = int(before[i])
        book, table = parts[owner[j]]
        where = _where(table, pos[j], col.key)
        if owner[j] != owner[i] and parts[owner[i]][0].name != book.name:
            where = f"「{book.name}」{where}"
        r = ratio[i]
        times = f"的 {r:,.1f} 倍" if r >= 1 else f"的 {r:.1%}"
        out.append((int(i), f"「{col.header}」{show(values[i])} {col.unit}是上年（{years[j]:.0f} 年，{where}）"
                            f"{show(prev[i])} {col.unit}{times}", "HS-02"))
    return out
