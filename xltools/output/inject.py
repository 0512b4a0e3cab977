"""Lossless write-back: add or replace xltools result sheets inside a user's .xlsx/.xlsm.

The workbook is never re-saved through a spreadsheet library. We copy every zip part
unchanged and touch only what adding a worksheet needs: the new worksheet parts,
`xl/workbook.xml` (one <sheet> element each), `xl/_rels/workbook.xml.rels` (one relationship
each) and `[Content_Types].xml` (one Override each). Earlier xltools result sheets (fixed
names) are replaced in place. Text is written as inline strings, so `sharedStrings.xml` and
`styles.xml` stay byte-identical. The write is atomic, with a `.bak` copy of the original.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .. import ooxml
from ..problems import col_letter
from .cells import to_cell
from .workbook import text_xml
from .xlsxfile import atomic_target

class FileLocked(Exception):
    """The workbook is open in Excel (or otherwise locked): it is reported, never overwritten."""


def is_locked(path: Path) -> bool:
    """Excel keeps an owner file `~$name.xlsx` beside an open workbook."""
    owner = path.with_name("~$" + path.name[2:] if len(path.name) > 2 else "~$" + path.name)
    return owner.exists() or path.with_name("~$" + path.name).exists()


def sheet_xml(frame: pd.DataFrame) -> bytes:
    """A minimal worksheet: header row + values; text as inline strings (never formulas)."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
           'state="frozen"/></sheetView></sheetViews><sheetData>']
    rows = [list(frame.columns)] + frame.to_numpy(dtype=object).tolist()
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{col_letter(c)}{r}"
            v = to_cell(v)                            # the one cell policy (output/cells.py)
            if v is None:
                continue
            if isinstance(v, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text_xml(v)}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out).encode("utf-8")


def inject(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, backup: bool = True) -> dict[str, str]:
    """Write `sheets` into the workbook at `path`; returns {sheet: part} of what was written."""
    path = Path(path)
    if is_locked(path):
        raise FileLocked(f"{path.name} 正在 Excel 中打开（存在 ~$ 锁定文件），未写入；请关闭后重试")
    with zipfile.ZipFile(path) as zin:
        parts, written = _result_parts(zin, sheets)
        tmp = atomic_target(path)
        try:
            ooxml.rewrite(zin, tmp, parts)                # every other part: same bytes, same order
            if backup:
                shutil.copy2(path, path.with_name(path.name + ".bak"))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return written


def _result_parts(zin: zipfile.ZipFile, sheets: Mapping[str, pd.DataFrame]) -> tuple[dict[str, bytes], dict[str, str]]:
    """(zip parts to write, {sheet: its part}): an earlier xltools result sheet is replaced in its
    own part; a new one gets a new part, announced in workbook.xml, its relationships and content types."""
    rels_name = ooxml.rels_part(ooxml.WORKBOOK)
    wb_xml, rels_xml, ct_xml = (zin.read(n) for n in (ooxml.WORKBOOK, rels_name, ooxml.CONTENT_TYPES))
    names = set(zin.namelist())
    listed = ooxml.workbook_sheets(wb_xml)
    existing = {s.name: s for s in reversed(listed)}     # the first of a repeated name
    targets = ooxml.targets(rels_xml, ooxml.WORKBOOK, names)
    sheet_id = max([int(s.sheet_id) for s in listed] + [0])
    parts: dict[str, bytes] = {}
    written: dict[str, str] = {}
    for name, frame in sheets.items():
        if name in existing:                              # replace an earlier xltools result sheet
            part = targets.get(existing[name].rid)
            if not part:
                raise ValueError(f"工作表「{name}」的部件在工作簿关系中找不到，无法安全写入")
        else:
            part = ooxml.fresh_part(names | parts.keys(), "xl/worksheets/sheet")
            target = ooxml.relative_target(ooxml.WORKBOOK, part)
            rels_xml, rid = ooxml.add_relationship(rels_xml, ooxml.WORKSHEET_REL, target)
            sheet_id += 1
            wb_xml = ooxml.add_sheet(wb_xml, name, sheet_id, rid)
            ct_xml = ooxml.add_override(ct_xml, part, ooxml.WORKSHEET_TYPE)
        parts[part] = sheet_xml(frame)
        written[name] = part
    if any(name not in existing for name in sheets):
        parts |= {ooxml.WORKBOOK: wb_xml, rels_name: rels_xml, ooxml.CONTENT_TYPES: ct_xml}
    return parts, written
