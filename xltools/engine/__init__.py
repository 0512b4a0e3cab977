"""The pure engine: typed tables in, result tables out. No files, no Excel, no printing."""

from __future__ import annotations

import pandas as pd

from .indicators import derive

__all__ = ["assess", "derive"]


def assess(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Everything the tables have data for, as result tables keyed by result-sheet name."""
    results: dict[str, pd.DataFrame] = {}
    ind = tables.get("indicators")
    if ind is not None and len(ind):
        derived, _ = derive(ind)
        results["派生指标"] = derived.rename(columns={"zone": "开发区名称", "year": "年度"})
    return results
