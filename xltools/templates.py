"""Input workbooks generated from the schema: the blank template and filled workbooks.

Each input sheet gets a merged title row, a header row (required columns marked *, units
in brackets), drop-down lists for every enumeration, input hints, frozen headers and
sensible widths. The same writer produces the bundled sample workbooks, so samples and
template can never drift from the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import xlsxwriter

from .output.workbook import FIXED_DATE, ResultWriter, atomic_workbook
from .schema import ENUM, ENUMS, KIND_NAMES, SHEETS, SHEETS_BY_KEY, Column, Sheet

TEMPLATE_ROWS = 500  # rows that carry drop-downs and hints in a blank template


def header_text(col: Column, unit: str | None = None) -> str:
    unit = col.unit if unit is None else unit
    star = "*" if col.required else ""
    return f"{star}{col.header}({unit})" if unit else f"{star}{col.header}"


def _hint(col: Column) -> str:
    parts = [KIND_NAMES[col.kind]]
    if col.unit:
        parts.append(f"单位：{col.unit}")
    if col.enum:
        parts.append("可选：" + "、".join(ENUMS[col.enum].values))
    if col.hint:
        parts.append(col.hint)
    return "；".join(parts)[:255]


def write_input_sheet(wb: xlsxwriter.Workbook, writer: ResultWriter, sheet: Sheet,
                      frame: pd.DataFrame | None, units: Mapping[str, str] | None = None,
                      title: str | None = None) -> None:
    """One input sheet: title row, header row, data (if any), validation and hints."""
    ws = wb.add_worksheet(sheet.name)
    cols = [c for c in sheet.columns if frame is None or c.key in frame.columns or c.required]
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    text = title or f"{sheet.name}（{sheet.description}；带 * 为必填，单位见表头）"
    if len(cols) > 1:
        ws.merge_range(0, 0, 0, len(cols) - 1, text, title_fmt)
    else:
        ws.write_string(0, 0, text, title_fmt)
    ws.set_row(0, 24)
    n = 0 if frame is None else len(frame)
    last = max(n, TEMPLATE_ROWS if frame is None else n) + 1
    for c, col in enumerate(cols):
        unit = (units or {}).get(col.key)
        ws.write_string(1, c, header_text(col, unit), writer.header)
        ws.set_column(c, c, max(12, min(40, len(col.header) * 2 + 6)))
        if frame is not None and col.key in frame.columns:
            for r, value in enumerate(frame[col.key].tolist(), start=2):
                writer.write_cell(ws, r, c, value)
        if col.kind == ENUM:
            ws.data_validation(2, c, last, c, {"validate": "list", "source": list(ENUMS[col.enum].values),
                                               "input_title": col.header[:32], "input_message": _hint(col),
                                               "error_type": "warning",
                                               "error_message": "请从下拉列表中选择"})
        else:
            ws.data_validation(2, c, last, c, {"validate": "any", "input_title": col.header[:32],
                                               "input_message": _hint(col)})
        ws.write_comment(1, c, _hint(col), {"author": "xltools"})
    ws.freeze_panes(2, 1 if sheet.keys[0] in ("zone", "name") else 0)


def write_input_workbook(path: str | Path, frames: Mapping[str, pd.DataFrame | None],
                         units: Mapping[str, Mapping[str, str]] | None = None,
                         titles: Mapping[str, str] | None = None) -> Path:
    """Write input sheets (schema key → table keyed by column key, or None for blank), reproducibly."""
    with atomic_workbook(path, {"created": FIXED_DATE, "author": "xltools", "title": "开发区考核"}) as (wb, writer):
        for key, frame in frames.items():
            write_input_sheet(wb, writer, SHEETS_BY_KEY[key], frame, (units or {}).get(key),
                              (titles or {}).get(key))
    return Path(path)


def build_template(path: str | Path) -> Path:
    """The blank template: every input sheet of the schema, no data."""
    return write_input_workbook(path, {s.key: None for s in SHEETS})
