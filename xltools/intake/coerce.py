"""Turn the raw cells of one column into typed values, the way officials write them.

Numbers arrive as numbers, or as text: "1,234.5", full-width "１２３", "12.5万", "3亿元",
"15%", "—", "无", "#DIV/0!". Each text form is parsed once per distinct string (cached), so
a column of 200,000 cells costs one pass of pandas plus a parse per distinct text.
Every cell that cannot be used yields a (row, level, message, suggestion) problem; the
value itself becomes missing, so only computations that need it are blocked.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from ..problems import ERROR, WARNING
from ..schema import (ENUM, ENUMS, ERROR_VALUES, FLOAT, INT, LIST, MAGNITUDES, PLACEHOLDERS,
                      RATIO, TEXT, UNITS, YEAR, Column, normalize_text)

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(.*)$")
_PLACEHOLDERS = {normalize_text(p) for p in PLACEHOLDERS}
_ERRORS = {normalize_text(e) for e in ERROR_VALUES}
_LIST_SPLIT = re.compile(r"[；;、,，/]+")

# A problem found in one cell: (position in the column, level, message, suggestion).
CellProblem = tuple[int, str, str, str]


def unit_factor(col: Column, announced: str) -> tuple[float, str | None]:
    """Factor from the unit announced in a header to the schema unit; (1, warning) if unknown."""
    if not announced or not col.dim:
        return 1.0, None
    table = UNITS[col.dim]
    if announced in table:
        return table[announced] / table[col.unit or next(iter(table))], None
    return 1.0, f"表头单位「{announced}」无法换算为「{col.unit}」"


@lru_cache(maxsize=65536)
def parse_number_text(text: str, dim: str | None, schema_unit: str, percent_ok: bool) -> tuple[float | None, str | None, bool]:
    """Parse a number written as text.

    Returns (value, error, explicit_unit). `value` is None for a blank/placeholder;
    `explicit_unit` tells the caller the text carried its own unit, so the header's unit
    must not be applied again.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    s = re.sub(r"\s+", "", s).replace(",", "")
    if s in _PLACEHOLDERS:
        return None, None, False
    if s.upper() in _ERRORS:
        return None, "error-value", False
    if s.endswith("%"):
        m = _NUMBER.match(s[:-1])
        if m and not m.group(2):
            if not percent_ok:
                return None, f"「{text}」是百分数，但本列不是比例", False
            return float(m.group(1)) / 100.0, None, True
        return None, f"「{text}」不是有效的百分数", False
    m = _NUMBER.match(s)
    if not m:
        return None, f"「{text}」不是数字", False
    value, suffix = float(m.group(1)), m.group(2)
    if not suffix:
        return value, None, False
    table = UNITS.get(dim or "", {})
    base = table.get(schema_unit, 1.0) if table else 1.0
    if suffix in table:
        return value * table[suffix] / base, None, True
    if suffix in MAGNITUDES:
        return value * MAGNITUDES[suffix] / base, None, True
    if suffix[0] in MAGNITUDES and suffix[1:] in table:
        return value * MAGNITUDES[suffix[0]] * table[suffix[1:]] / base, None, True
    if suffix == "年" and dim is None:
        return value, None, True
    return None, f"「{text}」的单位「{suffix}」无法识别", False


def _numbers(raw: pd.Series, col: Column, factor: float) -> tuple[np.ndarray, list[CellProblem]]:
    problems: list[CellProblem] = []
    out = np.full(len(raw), np.nan)
    kinds = raw.map(type)
    is_num = kinds.isin([float, int]).to_numpy()
    out[is_num] = raw[is_num].astype(float).to_numpy() * factor
    percent_ok = col.kind == RATIO or (col.kind == FLOAT and not col.dim)
    for pos in np.flatnonzero(~is_num):
        value = raw.iat[pos]
        if value is None or value == "":
            continue
        if isinstance(value, str):
            num, err, explicit = parse_number_text(value, col.dim, col.unit, percent_ok)
            if err == "error-value":
                problems.append((pos, WARNING, f"单元格是错误值「{value.strip()}」，按空值处理",
                                 "检查源公式，或填写实际数值"))
            elif err:
                problems.append((pos, ERROR, f"「{col.header}」应为数字：{err}",
                                 _number_hint(col)))
            elif num is not None:
                out[pos] = num if explicit else num * factor
        elif isinstance(value, bool):
            problems.append((pos, ERROR, f"「{col.header}」应为数字，实为逻辑值 {value}", _number_hint(col)))
        elif isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
            problems.append((pos, ERROR, f"「{col.header}」应为数字，实为日期/时间", "把单元格格式改为“常规”或“数值”后重填"))
        else:
            problems.append((pos, ERROR, f"「{col.header}」无法识别：{value!r}", _number_hint(col)))
    return out, problems


def show(value: object) -> str:
    """A cell value as an official would write it (2023, not 2023.0)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _number_hint(col: Column) -> str:
    unit = f"（单位：{col.unit}）" if col.unit else ""
    return f"填写阿拉伯数字{unit}，不要夹带文字说明"


def coerce_column(raw: pd.Series, col: Column, announced_unit: str = "") -> tuple[pd.Series, list[CellProblem]]:
    """Coerce one raw column to the schema type; return the typed column and cell problems."""
    raw = raw.reset_index(drop=True)
    problems: list[CellProblem] = []
    if col.is_number:
        factor, unit_msg = unit_factor(col, announced_unit)
        values, problems = _numbers(raw, col, factor)
        if col.kind in (INT, YEAR):
            frac = np.abs(values - np.round(values)) > 1e-9
            for pos in np.flatnonzero(frac & ~np.isnan(values)):
                problems.append((pos, ERROR, f"「{col.header}」应为整数，实为 {show(raw.iat[pos])}", "填写整数"))
            values[frac] = np.nan
        if col.kind == YEAR:
            bad = (values < 1949) | (values > 2100)
            for pos in np.flatnonzero(bad):
                problems.append((pos, ERROR, f"「{col.header}」{show(raw.iat[pos])} 不是合理的年份", "填写四位年份，如 2023"))
            values[bad] = np.nan
        if not col.signed:
            neg = values < 0
            for pos in np.flatnonzero(neg):
                problems.append((pos, ERROR, f"「{col.header}」不能为负数：{show(raw.iat[pos])}", "核对数据，负数通常是录入错误"))
            values[neg] = np.nan
        series = pd.Series(values)
        if col.kind in (INT, YEAR):
            series = series.round().astype("Int64")
        return series, problems
    texts = raw.map(_as_text)
    if col.kind == ENUM:
        return _enum(texts, raw, col)
    if col.kind == LIST:
        texts = texts.map(lambda t: "；".join(p for p in _LIST_SPLIT.split(t) if p) if isinstance(t, str) else t)
    return texts, problems


def _as_text(value: object) -> object:
    """Cell → stripped text, or None for blank/placeholder. Integral floats lose '.0'."""
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        value = int(value) if value.is_integer() else value
    if isinstance(value, bool):
        value = "是" if value else "否"
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = re.sub(r"\s+", " ", s)
    return None if normalize_text(s) in _PLACEHOLDERS else s


def _enum(texts: pd.Series, raw: pd.Series, col: Column) -> tuple[pd.Series, list[CellProblem]]:
    spec = ENUMS[col.enum or col.header]
    table = spec.lookup()
    ambiguous = {normalize_text(k): v for k, v in spec.ambiguous.items()}
    problems: list[CellProblem] = []
    keys = texts.map(lambda t: normalize_text(t) if isinstance(t, str) else None)
    out = keys.map(table)
    for pos in np.flatnonzero(out.isna().to_numpy() & keys.notna().to_numpy()):
        key = keys.iat[pos]
        if key in ambiguous:
            problems.append((pos, ERROR, f"「{col.header}」取值有歧义：{ambiguous[key]}",
                             "从下拉列表选择：" + "、".join(spec.values)))
        elif key.upper() in _ERRORS:
            problems.append((pos, WARNING, f"单元格是错误值「{texts.iat[pos]}」，按空值处理", "填写实际取值"))
        else:
            problems.append((pos, ERROR, f"「{col.header}」的取值「{texts.iat[pos]}」不在允许范围内",
                             "可选：" + "、".join(spec.values)))
    return out.astype(object).where(out.notna(), None), problems


__all__ = ["coerce_column", "parse_number_text", "unit_factor", "TEXT"]
