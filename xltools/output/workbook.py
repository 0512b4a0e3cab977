"""Write result tables into a new, formatted workbook — atomically.

XlsxWriter writes every text as a string cell (never a formula); text that starts with
=, +, - or @ also gets Excel's quote prefix so that editing the cell later cannot turn it
into one. The file is written to a temporary name beside the target and moved into place
only when complete, so an interrupted run never leaves a half-written workbook.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

STATUS_COLOURS = {
    "错误": "#F8CBAD", "不合规": "#F8CBAD", "警告": "#FFE699", "预警": "#FFE699",
    "合规": "#C6EFCE", "数据缺失": "#D9D9D9",
}
FORMULA_START = ("=", "+", "-", "@")
FIXED_DATE = _dt.datetime(2024, 1, 1)
# Result sheets that get a bar chart: sheet → (category column, value column, title)
CHARTS = {"考核排名": ("开发区名称", "综合得分", "综合得分"), "合规汇总": ("开发区名称", "不合规项数", "不合规项数")}
CHART_MAX_ROWS = 300


PARTIAL_PREFIX = ".~xltools-partial-"


def atomic_target(path: Path):
    """A temp path in the target's folder; call os.replace(tmp, path) when the file is complete.

    Partial files left by a killed run (same target) are removed first; they are never the
    output itself, whose name only ever points at a complete file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{PARTIAL_PREFIX}{path.stem}.*{path.suffix}"):
        try:
            stale.unlink()
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _chart_height(n: int) -> int:
    return max(300, min(1600, 18 * n + 80))


def _is_blank(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


class ResultWriter:
    """Formats shared by every result sheet."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                     "valign": "vcenter", "align": "center"})
        self.text = wb.add_format({})
        self.quoted = wb.add_format({"quote_prefix": True})
        self.number = wb.add_format({"num_format": "#,##0.00"})
        self.integer = wb.add_format({"num_format": "0"})
        self.status = {k: wb.add_format({"bg_color": v}) for k, v in STATUS_COLOURS.items()}

    def write_cell(self, ws, r: int, c: int, value) -> None:
        if _is_blank(value):
            return
        if isinstance(value, (bool, np.bool_)):
            ws.write_string(r, c, "是" if value else "否")
        elif isinstance(value, (int, np.integer)):
            ws.write_number(r, c, int(value), self.integer)
        elif isinstance(value, (float, np.floating)):
            v = float(value)
            if math.isinf(v):
                return
            ws.write_number(r, c, v, self.integer if v.is_integer() and abs(v) < 1e15 else self.number)
        else:
            s = str(value)
            ws.write_string(r, c, s, self.quoted if s.startswith(FORMULA_START) else self.text)

    def _bar_chart(self, ws, sheet: str, cat: int, val: int, n: int, title: str, ncols: int) -> None:
        chart = self.wb.add_chart({"type": "bar"})
        chart.add_series({"name": title, "categories": [sheet, 1, cat, n, cat], "values": [sheet, 1, val, n, val],
                          "fill": {"color": "#5B9BD5"}, "gap": 60})
        chart.set_title({"name": title, "name_font": {"size": 12}})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True, "num_font": {"size": 8}})
        chart.set_size({"width": 620, "height": _chart_height(n)})
        ws.insert_chart(1, ncols + 1, chart)

    def write_frame(self, name: str, frame: pd.DataFrame, widths: Mapping[str, int] | None = None) -> None:
        ws = self.wb.add_worksheet(name)
        cols = list(frame.columns)
        for c, col in enumerate(cols):
            ws.write_string(0, c, str(col), self.header)
        values = frame.to_numpy(dtype=object)
        for r, row in enumerate(values, start=1):
            for c, value in enumerate(row):
                self.write_cell(ws, r, c, value)
        n = len(frame)
        ws.freeze_panes(1, 0)
        if cols:
            ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
        for c, col in enumerate(cols):
            width = (widths or {}).get(col)
            if width is None:
                sample = [len(str(v)) for v in values[:200, c] if not _is_blank(v)] if n else []
                width = min(60, max([len(str(col)) * 2 + 2] + [int(x * 1.6) + 2 for x in sample]))
            ws.set_column(c, c, width)
        if name in CHARTS and 0 < n <= CHART_MAX_ROWS:
            cat, val, title = CHARTS[name]
            if cat in cols and val in cols:
                self._bar_chart(ws, name, cols.index(cat), cols.index(val), n, title, len(cols))
        for col in ("级别", "结论"):
            if col in cols and n:
                c = cols.index(col)
                for word, fmt in self.status.items():
                    ws.conditional_format(1, c, n, c, {"type": "cell", "criteria": "==",
                                                         "value": f'"{word}"', "format": fmt})


@contextmanager
def atomic_workbook(path: str | Path, properties: dict | None = None):
    """Yield (workbook, writer) for a new workbook at `path`; it appears only when complete."""
    path = Path(path)
    tmp = atomic_target(path)
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "nan_inf_to_errors": False})
        if properties:
            wb.set_properties(properties)
        yield wb, ResultWriter(wb)
        wb.close()
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_results(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, deterministic: bool = False) -> Path:
    """Write `sheets` (name → table) as a new workbook at `path`, atomically."""
    with atomic_workbook(path, {"created": FIXED_DATE} if deterministic else None) as (_, writer):
        for name, frame in sheets.items():
            writer.write_frame(name, frame)
    return Path(path)
