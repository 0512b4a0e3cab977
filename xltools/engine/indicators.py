"""Derived indicators: per-mu values, energy efficiency, intensities, growth.

Pure and vectorised. A zero or missing denominator gives a blank (NaN) and a note, never inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import SHEETS_BY_KEY

# name → (numerator key, denominator key, multiplier, unit)
RATIOS: dict[str, tuple[str, str, float, str]] = {
    "亩均税收": ("tax", "land_area", 1.0, "万元/亩"),
    "亩均产值": ("industrial_output", "land_area", 1.0, "万元/亩"),
    "亩均增加值": ("value_added", "land_area", 1.0, "万元/亩"),
    "亩均营业收入": ("revenue", "land_area", 1.0, "万元/亩"),
    "单位排放增加值": ("value_added", "emissions", 1.0, "万元/吨"),
    "单位能耗增加值": ("value_added", "energy", 1.0, "万元/吨标准煤"),
    "研发投入强度": ("rd", "revenue", 1.0, "比例"),
    "全员劳动生产率": ("value_added", "employees", 1.0, "万元/人"),
}
GROWTH: dict[str, str] = {"税收增速": "tax", "产值增速": "industrial_output", "固定资产投资增速": "fixed_investment"}
# An indicator named by its 「指标」 header (税收收入) is that column (ranking.indicator_table).
HEADERS: dict[str, str] = {c.header: c.key for c in SHEETS_BY_KEY["indicators"].columns
                           if c.key not in ("zone", "year")}


def inputs_of(name: str) -> tuple[tuple[str, int], ...]:
    """The 「指标」 columns an indicator named `name` is computed from, each with its year offset
    (0 this year, −1 the year before): a column by its header, a ratio's two, a growth's two years.
    What a ranking row used, to say so when one of them is in doubt."""
    if name in RATIOS:
        num, den, *_ = RATIOS[name]
        return (num, 0), (den, 0)
    if name in GROWTH:
        return (GROWTH[name], 0), (GROWTH[name], -1)
    col = HEADERS.get(name)
    return ((col, 0),) if col else ()


def as_float(values) -> np.ndarray:
    """Any numeric column (including nullable Int64 with <NA>) → float ndarray with NaN."""
    if isinstance(values, pd.Series):
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def safe_divide(num, den) -> np.ndarray:
    """num / den with NaN where den is 0 or missing (never ±inf)."""
    num = as_float(num)
    den = as_float(den)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den != 0) & np.isfinite(num)
    np.divide(num, den, out=out, where=ok)
    return out


def in_input_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by zone in the order zones first appear in the input, each zone's years ascending
    (results list zones as the submission does, not by character code)."""
    first = pd.factorize(df["zone"])[0]
    order = np.lexsort((as_float(df["year"]), first))
    return df.iloc[order].reset_index(drop=True)


def derive(indicators: pd.DataFrame, only: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (derived table, notes). Derived has zone, year and one column per indicator
    (those named in `only`, when given)."""
    ratios = {k: v for k, v in RATIOS.items() if only is None or k in only}
    growth = {k: v for k, v in GROWTH.items() if only is None or k in only}
    used = {k for num, den, *_ in ratios.values() for k in (num, den)} | set(growth.values())
    df = indicators[[c for c in indicators.columns if c in ("zone", "year") or c in used]]   # sort only what is used
    df = in_input_order(df)
    out = df[["zone", "year"]].copy()
    notes = []
    for name, (num, den, mult, _unit) in ratios.items():
        if num not in df or den not in df:
            continue
        out[name] = safe_divide(df[num], df[den]) * mult
        bad = df[num].notna().to_numpy() & ~(as_float(df[den]) > 0)
        if bad.any():
            notes.append(pd.DataFrame({"zone": df.loc[bad, "zone"], "year": df.loc[bad, "year"],
                                       "note": f"{name}：分母为 0 或缺失，结果留空"}))
    for name, key in growth.items():
        if key not in df:
            continue
        prev = df.groupby("zone")[key].shift(1)
        prev_year = df.groupby("zone")["year"].shift(1)
        consecutive = (as_float(df["year"]) - as_float(prev_year)) == 1
        out[name] = np.where(consecutive, safe_divide(df[key], prev) - 1.0, np.nan)
    note_frame = pd.concat(notes, ignore_index=True) if notes else pd.DataFrame(columns=["zone", "year", "note"])
    return out, note_frame
