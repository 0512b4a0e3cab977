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
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from ..problems import col_letter
from .cells import to_cell
from .workbook import atomic_target, text_xml

WS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


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


def _sheets(workbook_xml: str) -> list[tuple[str, str, str]]:
    """(name, sheetId, r:id) of every sheet, in order."""
    found = []
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/>", workbook_xml):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), "")
        found.append((_unescape(attrs.get("name", "")), attrs.get("sheetId", "0"), rid))
    return found


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def _targets(rels_xml: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in
            re.finditer(r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels_xml)} | \
        {m.group(2): m.group(1) for m in
         re.finditer(r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels_xml)}


def inject(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, backup: bool = True) -> dict[str, str]:
    """Write `sheets` into the workbook at `path`; returns {sheet: part} of what was written."""
    path = Path(path)
    if is_locked(path):
        raise FileLocked(f"{path.name} 正在 Excel 中打开（存在 ~$ 锁定文件），未写入；请关闭后重试")
    with zipfile.ZipFile(path) as zin:
        infos = zin.infolist()
        names = {i.filename for i in infos}
        wb_xml = zin.read("xl/workbook.xml").decode("utf-8")
        rels_xml = zin.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        ct_xml = zin.read("[Content_Types].xml").decode("utf-8")
        existing = _sheets(wb_xml)
        targets = _targets(rels_xml)
        new_parts: dict[str, bytes] = {}
        written: dict[str, str] = {}
        max_id = max([int(s[1]) for s in existing] + [0])
        rid_n = max([int(m) for m in re.findall(r'Id="rId(\d+)"', rels_xml)] + [0])
        part_n = max([int(m) for m in re.findall(r"worksheets/sheet(\d+)\.xml", " ".join(names))] + [0])
        add_sheets, add_rels, add_ct = [], [], []
        for name, frame in sheets.items():
            match = next((s for s in existing if s[0] == name), None)
            if match is not None:                         # replace an earlier xltools result sheet
                target = targets.get(match[2], "")
                part = "xl/" + target.lstrip("/").removeprefix("xl/") if not target.startswith("/") else target.lstrip("/")
                new_parts[part] = sheet_xml(frame)
                written[name] = part
                continue
            part_n += 1
            rid_n += 1
            max_id += 1
            part = f"xl/worksheets/sheet{part_n}.xml"
            new_parts[part] = sheet_xml(frame)
            written[name] = part
            add_sheets.append(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{max_id}" r:id="rId{rid_n}"/>')
            add_rels.append(f'<Relationship Id="rId{rid_n}" Type="{WS_TYPE}" Target="worksheets/sheet{part_n}.xml"/>')
            add_ct.append(f'<Override PartName="/{part}" ContentType="{WS_CT}"/>')
        if add_sheets:
            if 'xmlns:r="' not in wb_xml.split(">", 2)[1] and "xmlns:r=" not in wb_xml:
                raise ValueError("workbook.xml 缺少 r 命名空间，无法安全写入")
            wb_xml = re.sub(r"</(\w+:)?sheets>", lambda m: "".join(add_sheets) + m.group(0), wb_xml, count=1)
            rels_xml = rels_xml.replace("</Relationships>", "".join(add_rels) + "</Relationships>")
            ct_xml = ct_xml.replace("</Types>", "".join(add_ct) + "</Types>")
            new_parts["xl/workbook.xml"] = wb_xml.encode("utf-8")
            new_parts["xl/_rels/workbook.xml.rels"] = rels_xml.encode("utf-8")
            new_parts["[Content_Types].xml"] = ct_xml.encode("utf-8")
        tmp = atomic_target(path)
        try:
            with zipfile.ZipFile(tmp, "w") as zout:
                for info in infos:                        # every other part: same bytes, same order
                    data = new_parts.pop(info.filename, None)
                    if data is None:
                        zout.writestr(info, zin.read(info.filename))
                    else:
                        zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                        zi.compress_type = zipfile.ZIP_DEFLATED
                        zout.writestr(zi, data)
                for part, data in new_parts.items():       # brand-new worksheet parts
                    zi = zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zout.writestr(zi, data)
            if backup:
                shutil.copy2(path, path.with_name(path.name + ".bak"))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return written
