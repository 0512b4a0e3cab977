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


def _numbers(raw: list, col: Column, factor: float, unit: str = "") -> tuple[np.ndarray, list[CellProblem]]:
    problems: list[CellProblem] = []
    if all(type(v) is float for v in raw):  # the common case: every cell already a number
        return np.array(raw, dtype=float) * factor if factor != 1.0 else np.array(raw, dtype=float), problems
    percent_ok = col.kind == RATIO or (col.kind == FLOAT and not col.dim)
    out = np.empty(len(raw))
    for pos, value in enumerate(raw):
        t = type(value)
        if t is float or t is int:
            out[pos] = value * factor
            continue
        out[pos] = np.nan
        if value is None or value == "":
            continue
        if t is str:
            num, err, explicit = parse_number_text(value, col.dim, col.unit, percent_ok)
            if err == "error-value":
                problems.append((pos, WARNING, f"单元格是错误值「{value.strip()}」，按空值处理",
                                 "检查源公式，或填写实际数值"))
            elif err:
                problems.append((pos, ERROR, f"「{col.header}」应为数字：{err}", _number_hint(col, unit)))
            elif num is not None:
                out[pos] = num if explicit else num * factor
        elif t is bool:
            problems.append((pos, ERROR, f"「{col.header}」应为数字，实为逻辑值 {value}", _number_hint(col, unit)))
        elif isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
            problems.append((pos, ERROR, f"「{col.header}」应为数字，实为日期/时间", "把单元格格式改为“常规”或“数值”后重填"))
        else:
            problems.append((pos, ERROR, f"「{col.header}」无法识别：{value!r}", _number_hint(col, unit)))
    return out, problems


def show(value: object) -> str:
    """A cell value as an official would write it (2023, not 2023.0)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _number_hint(col: Column, unit: str = "") -> str:
    unit = unit or col.unit                       # the unit the sheet's header announces, if any
    unit = f"（单位：{unit}）" if unit else ""
    return f"填写阿拉伯数字{unit}，不要夹带文字说明"


def coerce_column(raw, col: Column, announced_unit: str = "") -> tuple[np.ndarray | list, list[CellProblem]]:
    """Coerce one raw column (list or Series) to the schema type.

    Returns the typed values — a float ndarray (NaN = missing) for numbers, a list of str/None
    otherwise — and the cell problems. Integer columns are checked to be integral.
    """
    raw = list(raw)
    problems: list[CellProblem] = []
    if col.is_number:
        factor, _ = unit_factor(col, announced_unit)
        values, problems = _numbers(raw, col, factor, announced_unit)
        if col.kind in (INT, YEAR):
            frac = np.abs(values - np.round(values)) > 1e-9
            if frac.any():
                for pos in np.flatnonzero(frac):
                    problems.append((pos, ERROR, f"「{col.header}」应为整数，实为 {show(raw[pos])}", "填写整数"))
                values[frac] = np.nan
        if col.kind == YEAR:
            bad = (values < 1949) | (values > 2100)
            if bad.any():
                for pos in np.flatnonzero(bad):
                    problems.append((pos, ERROR, f"「{col.header}」{show(raw[pos])} 不是合理的年份", "填写四位年份，如 2023"))
                values[bad] = np.nan
        if not col.signed:
            neg = values < 0
            if neg.any():
                for pos in np.flatnonzero(neg):
                    problems.append((pos, ERROR, f"「{col.header}」不能为负数：{show(raw[pos])}", "核对数据，负数通常是录入错误"))
                values[neg] = np.nan
        if col.maximum is not None:
            over = values > col.maximum
            if over.any():
                for pos in np.flatnonzero(over):
                    problems.append((pos, ERROR, f"「{col.header}」不能大于 {show(col.maximum)}：{show(raw[pos])}",
                                     "比例请填写 0–1 之间的小数或百分数，如 0.6 或 60%"))
                values[over] = np.nan
        return values, problems
    texts = [_as_text(v) for v in raw]
    if col.kind == ENUM:
        return _enum(texts, col)
    if col.kind == LIST:
        texts = ["；".join(p for p in _LIST_SPLIT.split(t) if p) if isinstance(t, str) else t for t in texts]
    return texts, problems


def _as_text(value: object) -> object:
    """Cell → stripped text, or None for blank/placeholder. Integral floats lose '.0'."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        value = int(value) if value.is_integer() else value
    if isinstance(value, bool):
        value = "是" if value else "否"
    return _clean_text(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=16384)
def _clean_text(value: str) -> str | None:
    s = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip()
    return None if normalize_text(s) in _PLACEHOLDERS else s


def _enum(texts: list, col: Column) -> tuple[list, list[CellProblem]]:
    spec = ENUMS[col.enum or col.header]
    table = _enum_table(spec.name)
    ambiguous = {normalize_text(k): v for k, v in spec.ambiguous.items()}
    problems: list[CellProblem] = []
    out: list = []
    for pos, t in enumerate(texts):
        if t is None:
            out.append(None)
            continue
        key = normalize_text(t)
        value = table.get(key)
        out.append(value)
        if value is not None:
            continue
        if key in ambiguous:
            problems.append((pos, ERROR, f"「{col.header}」取值有歧义：{ambiguous[key]}",
                             "从下拉列表选择：" + "、".join(spec.values)))
        elif key.upper() in _ERRORS:
            problems.append((pos, WARNING, f"单元格是错误值「{t}」，按空值处理", "填写实际取值"))
        else:
            problems.append((pos, ERROR, f"「{col.header}」的取值「{t}」不在允许范围内",
                             "可选：" + "、".join(spec.values)))
    return out, problems


@lru_cache(maxsize=None)
def _enum_table(name: str) -> dict[str, str]:
    return ENUMS[name].lookup()


__all__ = ["coerce_column", "parse_number_text", "unit_factor", "TEXT"]
