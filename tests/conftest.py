"""Shared fixtures: paths to the committed samples and a helper to write raw test workbooks."""

from __future__ import annotations

import os
from pathlib import Path

# xlwings' remote Book (the object model xlwings Server uses) drives the ribbon handlers in tests.
# The licence key "noncommercial" (PolyForm Noncommercial) is used in tests only; no user-facing
# path needs xlwings PRO. It must be set before xlwings is imported.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pytest
import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_workbooks"
TEMPLATES = ROOT / "templates"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def make_book(tmp_path):
    """Write a workbook from {sheet: [[row values…], …]} exactly as given (strings stay strings)."""

    def make(sheets: dict[str, list[list[object]]], name: str = "book.xlsx", merges=None) -> Path:
        path = tmp_path / name
        wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
        for sheet, rows in sheets.items():
            ws = wb.add_worksheet(sheet)
            for rng, text in (merges or {}).get(sheet, []):
                ws.merge_range(rng, text)
            for r, row in enumerate(rows):
                for c, v in enumerate(row):
                    if v is None:
                        continue
                    if isinstance(v, str):
                        ws.write_string(r, c, v)
                    else:
                        ws.write(r, c, v)
        wb.close()
        return path

    return make
