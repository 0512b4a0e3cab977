"""Many books → one typed table per sheet kind, with the checks only a set of files can fail.

Same zone submitted twice (the copy with fewer errors is kept; on a tie the file whose name sorts
first), different data years mixed, and each
file's 参数 applied to its own zones. Pure over the typed tables; problems come back as rows.
"""

from __future__ import annotations

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
        cols: dict[str, object] = {"_file": [name for name, t in parts for _ in range(len(t))]}
        for k in keys:
            chunks = [t.values.get(k) for _, t in parts]
            if all(isinstance(c, np.ndarray) for c in chunks if c is not None):
                cols[k] = np.concatenate([c if c is not None else np.full(len(t), np.nan)
                                          for (_, t), c in zip(parts, chunks)])
            else:
                cols[k] = [x for (_, t), c in zip(parts, chunks)
                           for x in (c if c is not None else [None] * len(t))]
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


def _zone_cells(books: list[Book]) -> dict[tuple[str, str], tuple[str, str]]:
    """(file, zone) → (worksheet, cell) of the zone's name in that file's 开发区 sheet."""
    out = {}
    for b in books:
        t = b.tables.get("zones")
        if t is not None and "zone" in t.columns:
            for pos, zone in enumerate(t.values["zone"]):
                out.setdefault((b.name, zone), (t.title, cell_ref(t.title, *t.cell(pos, "zone"))))
    return out


def _why(errors: dict[str, int], kept: str, dropped: str) -> str:
    return (f"该文件数据错误较少（{errors[kept]} 个，本文件 {errors[dropped]} 个），已采用该文件"
            if errors[kept] < errors[dropped] else "已按文件名顺序采用该文件")


def _repeated_rows(t: pd.DataFrame, keys: list[str], order: dict[str, int], errors: dict[str, int],
                   books: list[Book], sheet_key: str, starts: dict[str, int]) -> tuple[np.ndarray, list[Problem]]:
    """Rows whose keys (开发区名称, 年度) another file also gives: kept from the preferred file
    (fewer errors, then name order); one problem per file that loses rows, naming the winner and
    pointing at the first row lost. `t`'s index is its row number in the consolidated table, where
    each file's rows lie together and in the file's order."""
    preferred = np.argsort(t["_file"].map(order).to_numpy(), kind="stable")
    ranked = t.iloc[preferred]
    lost = ranked.duplicated(keys, keep="first").to_numpy()
    repeated = np.zeros(len(t), dtype=bool)
    repeated[preferred[lost]] = True
    if not lost.any():
        return repeated, []
    winner = ranked.groupby(keys, dropna=False, sort=False)["_file"].transform("first")[lost]
    losers = pd.DataFrame({"file": ranked["_file"][lost].to_numpy(), "kept": winner.to_numpy(),
                           "at": ranked.index[lost]})
    tables = {b.name: b.tables.get(sheet_key) for b in books}
    sheet = SHEETS_BY_KEY[sheet_key]
    labels = "、".join(c.header for c in sheet.columns if c.key in keys)
    problems = []
    for (file, kept), rows in losers.groupby(["file", "kept"], sort=False):
        table = tables.get(file)
        title = table.title if table is not None else sheet.name
        cell = cell_ref(table.title, *table.cell(rows["at"].min() - starts[file], keys[0])) if table is not None else ""
        problems.append(Problem(file, title, cell, ERROR,
                                f"「{title}」表有 {len(rows)} 行（{labels}相同）在「{kept}」中也有，"
                                f"{_why(errors, kept, file)}，本文件这些行未采用",
                                "确认哪一份是正式报送，删除另一份中的重复数据"))
    return repeated, problems


def cross_file_checks(books: list[Book], tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Same zone submitted twice (kept once: the copy with fewer errors — usually the corrected
    one —, on a tie the file whose name sorts first); the same rows (开发区名称, 年度) given by two
    files when a zone's data is split over several (kept once by the same preference); and
    different years mixed."""
    tables, problems = file_params(tables, books)
    out = dict(tables)
    errors = {b.name: b.errors for b in books}
    order = {b.name: i for i, b in enumerate(sorted(books, key=lambda b: (b.errors, b.name)))}   # preferred first
    dup_files: set[tuple[str, str]] = set()
    zones = tables.get("zones")
    if zones is not None and len(zones):
        kept = zones.iloc[np.argsort(zones["_file"].map(order).to_numpy(), kind="stable")].drop_duplicates("zone")
        first = kept.set_index("zone")["_file"]
        dup = ~zones.index.isin(kept.index)
        cells = _zone_cells(books) if dup.any() else {}
        for zone, file in zip(zones.loc[dup, "zone"], zones.loc[dup, "_file"]):
            title, cell = cells.get((file, zone), ("开发区", ""))
            problems.append(Problem(file, title, cell, ERROR,
                                    f"开发区「{zone}」也在「{first[zone]}」中报送，{_why(errors, first[zone], file)}，"
                                    "本文件的该开发区数据未采用", "确认哪一份是正式报送，删除或更正另一份"))
        dup_files = {(z, f) for z, f in zip(zones.loc[dup, "zone"], zones.loc[dup, "_file"])}
    for key, t in tables.items():
        if "zone" in t and "_file" in t and len(t):
            keep = np.ones(len(t), dtype=bool)
            if dup_files:
                keep &= ~pd.MultiIndex.from_arrays([t["zone"], t["_file"]]).isin(list(dup_files))
            keys = [k for k in ("zone", "year") if k in t] if key not in ("departments", "staff") else []
            if keys and key != "zones":     # the same rows in two files (a zone's data split over files)
                begins = t.drop_duplicates("_file")          # where each file's rows begin
                repeated, notes = _repeated_rows(t[keep], keys, order, errors, books, key,
                                                 dict(zip(begins["_file"], begins.index)))
                keep[np.flatnonzero(keep)[repeated]] = False
                problems += notes
            out[key] = t[keep].reset_index(drop=True)
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
    return out, problems
