"""How a value becomes a cell: the one policy every writer follows (result workbooks, lossless
write-back into a user's workbook, the ribbon's sheets).

- blank (None, pd.NA, NaT, NaN, ±inf) → no cell;
- yes/no (bool, numpy too) → 是 / 否, as the schema's 是否 columns write it;
- whole numbers → int, other numbers → float;
- anything else → its text, cut to what an Excel cell holds (`fit_cell`).

Text never becomes a formula: each writer stores it as text, and text that starts like a formula
(`FORMULA_START`) gets Excel's quote prefix where the format has one (XlsxWriter's quote_prefix
style, the ribbon's leading apostrophe), so editing the cell later cannot turn it into one either.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@")
EXCEL_CELL_CHARS = 32_767            # the most characters an Excel cell holds; longer text makes Excel repair the file
CUT_MARK = "…（超出 Excel 单元格长度上限，以下省略）"
YES, NO = "是", "否"


def fit_cell(text: str) -> str:
    """`text` as long as an Excel cell allows (cut with a note beyond that)."""
    return text if len(text) <= EXCEL_CELL_CHARS else text[:EXCEL_CELL_CHARS - len(CUT_MARK)] + CUT_MARK


def to_cell(value) -> None | int | float | str:
    """What `value` is written as: None (no cell), an int, a finite float or a text."""
    kind = type(value)
    if kind is str:
        return fit_cell(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return YES if value else NO
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return to_cell(float(value))
    return fit_cell(str(value))
