"""A new XlsxWriter workbook written atomically, and the formats every sheet xltools writes shares.

Light on purpose (issue 18): no pandas or numpy, so `xltools template` writes the blank template
without loading them. The file is written to a temporary name beside the target and moved into
place only when complete, so an interrupted run never leaves a half-written workbook. Result
tables (pandas frames) are written by output/workbook.py's ResultWriter, built on SheetWriter.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import unicodedata
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import xlsxwriter

from ..results import FORMATS

FIXED_DATE = _dt.datetime(2024, 1, 1)
PARTIAL_PREFIX = ".~xltools-partial-"
HEADER_CHARS = 250        # Excel allows 255 characters in a page header


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


def display_width(text: str) -> int:
    """Character columns a text takes in a spreadsheet's default font: a Chinese character two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def page_header(title: str, year: str, basis: str) -> str:
    """Printed page header: what and which year (left, bold), which 口径 (right)."""
    esc = lambda t: t.replace("&", "&&")
    left = f'&L&"-,Bold"{esc(title)}' + (f"　{esc(year)}" if year else "")
    room = HEADER_CHARS - len(left) - 2
    basis = esc(basis)
    if len(basis) > room:
        basis = basis[:max(room - 1, 0)] + "…"
    return left + (f"&R{basis}" if basis else "")


class SheetWriter:
    """The formats shared by every sheet of a workbook, one value → one cell, the print setup.

    `finish` runs once the workbook is closed, before it is moved into place (ResultWriter
    streams its cells there); here there is nothing left to do.
    """

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                     "valign": "vcenter", "align": "center"})
        self.text = wb.add_format({})
        self.quoted = wb.add_format({"quote_prefix": True})
        self.number = wb.add_format({"num_format": "#,##0.00"})
        self.integer = wb.add_format({"num_format": "0"})
        self.kinds: dict[str, object] = {}

    def kind_format(self, kind: str):
        """The one cell format of a column kind (sheets.FORMATS)."""
        if kind not in self.kinds:
            fmt = FORMATS[kind]
            self.kinds[kind] = self.wb.add_format({"num_format": fmt} if fmt else {})
        return self.kinds[kind]

    def write_cell(self, ws, r: int, c: int, value, fmt=None) -> None:
        """`value` by the one cell policy (output/cells.py: numpy and pandas values too, hence
        imported here, where a cell is written — a blank template writes none)."""
        from .cells import FORMULA_START, to_cell

        v = to_cell(value)
        if v is None:
            return
        if type(v) is str:
            ws.write_string(r, c, v, self.quoted if v.startswith(FORMULA_START) else (fmt or self.text))
        elif type(v) is int:
            ws.write_number(r, c, v, fmt or self.integer)
        else:
            ws.write_number(r, c, v, fmt or (self.integer if v.is_integer() and abs(v) < 1e15 else self.number))

    @staticmethod
    def print_setup(ws, title: str, year: str, basis: str, rows: int, cols: int) -> None:
        """A4 landscape, header row on every page, all columns on one page's width, page header
        saying what/which year/which 口径, page numbers in the footer."""
        ws.set_paper(9)
        ws.set_landscape()
        ws.repeat_rows(0)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        ws.set_header(page_header(title, year, basis), {"margin": 0.3})
        ws.set_footer("&C第 &P 页，共 &N 页", {"margin": 0.3})
        ws.hide_gridlines(0)                             # gridlines on screen and on paper
        if cols:
            ws.print_area(0, 0, max(rows, 1), cols - 1)  # the table only (charts sit on 「图表」)

    def finish(self, path: Path) -> None:
        """Complete the closed workbook at `path` before it is moved into place."""


@contextmanager
def atomic_xlsx(path: str | Path, properties: dict | None = None, constant_memory: bool = False,
                writer: Callable[[xlsxwriter.Workbook], SheetWriter] = SheetWriter):
    """Yield (workbook, writer(workbook)) for a new workbook at `path`; it appears only when complete."""
    path = Path(path)
    tmp = atomic_target(path)
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "nan_inf_to_errors": False, "constant_memory": constant_memory})
        if properties:
            wb.set_properties(properties)
        sheets = writer(wb)
        yield wb, sheets
        wb.close()
        sheets.finish(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
