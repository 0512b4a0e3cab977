"""Turn the raw cells of one column into typed values, the way officials write them.

Numbers arrive as numbers, or as text: "1,234.5", full-width "１２３", "12.5万", "3亿元",
"15%", "—", "无", "#DIV/0!". A column is typed at a time: its number cells in one numpy conversion,
its texts once per distinct string (a roster repeats a few 岗位 thousands of times), mapped back to
their cells; only the cells of a distinct value that needs it are looked at one by one.
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
from ..schema import (AUDITS_BY_ID, ENUM, ENUMS, ERROR_VALUES, FLOAT, INT, LIST, MAGNITUDES, MAX_DIGITS,
                      PLACEHOLDERS, RATIO, TEXT, UNITS, YEAR, YEAR_RANGE, Column, normalize_text, plain_texts)

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(.*)$")
_PLACEHOLDERS = {normalize_text(p) for p in PLACEHOLDERS}
_ERRORS = {normalize_text(e) for e in ERROR_VALUES}
_LIST_SPLIT = re.compile(r"[；;、,，/]+")
_is_nfkc = unicodedata.is_normalized

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
    `explicit_unit` is the unit the text carried ("万", "亿元", "%"; "" when none), so the header's
    unit must not be applied again. A number of more than MAX_DIGITS significant digits gives the
    error "digits" (审核规则 QZ-05).
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
                return None, f"「{text}」是百分数，但本列不是比例", ""
            if _too_many_digits(m.group(1)):
                return None, "digits", ""
            return float(m.group(1)) / 100.0, None, "%"
        return None, f"「{text}」不是有效的百分数", ""
    m = _NUMBER.match(s)
    if not m:
        return None, f"「{text}」不是数字", ""
    if _too_many_digits(m.group(1)):
        return None, "digits", ""
    value, suffix = float(m.group(1)), m.group(2)
    if not suffix:
        return value, None, ""
    table = UNITS.get(dim or "", {})
    base = table.get(schema_unit, 1.0) if table else 1.0
    if suffix in table:
        return value * table[suffix] / base, None, suffix
    if suffix in MAGNITUDES:
        return value * MAGNITUDES[suffix] / base, None, suffix
    if suffix[0] in MAGNITUDES and suffix[1:] in table:
        return value * MAGNITUDES[suffix[0]] * table[suffix[1:]] / base, None, suffix
    if suffix == "年" and dim is None:
        return value, None, suffix
    return None, f"「{text}」的单位「{suffix}」无法识别", ""


def _too_many_digits(number: str) -> bool:
    """More than MAX_DIGITS significant digits in a number written as text ("1234567890123456")."""
    mantissa = re.split(r"[eE]", number)[0].lstrip("+-")
    digits = mantissa.replace(".", "").lstrip("0")
    if "." in mantissa:
        digits = digits.rstrip("0")
    return len(digits) > MAX_DIGITS


def _numbers(raw, col: Column, factor: float, unit: str = "") -> tuple[np.ndarray, list[CellProblem], list[int]]:
    """Typed values, the cell problems, and the positions of blank cells (blank, 无, —).

    Numbers become floats in one numpy conversion; only the other cells are looked at one by one,
    and a text is parsed once per distinct string.
    """
    problems: list[CellProblem] = []
    blanks: list[int] = []
    if isinstance(raw, np.ndarray):         # a float array: numbers read as numbers (the streamed reader)
        return raw * factor if factor != 1.0 else raw.copy(), problems, blanks
    kinds = set(map(type, raw))
    if kinds <= _NUMERIC:                   # the common case: every cell already a number
        values = np.array(raw, dtype=float)
        return values * factor if factor != 1.0 else values, problems, blanks
    n = len(raw)
    cells = np.empty(n, dtype=object)
    cells[:] = raw
    types = np.fromiter(map(type, raw), dtype=object, count=n)
    numeric = (types == float) | (types == int)
    out = np.full(n, np.nan)
    if numeric.any():
        out[numeric] = cells[numeric].astype(float) * factor
    reading = _CellReading(col, factor, unit)
    for pos in np.flatnonzero(~numeric).tolist():
        value, problem, blank = reading.of(raw[pos])
        if value is not None:
            out[pos] = value
        if problem is not None:
            problems.append((pos, *problem))
        elif blank:
            blanks.append(pos)
    return out, problems, blanks


_NUMERIC = frozenset((float, int))


class _CellReading:
    """What one non-number cell of a number column reads as: (value or None, problem or None, blank?).
    A text gives the same answer wherever it stands, so each distinct text is worked out once."""

    def __init__(self, col: Column, factor: float, unit: str):
        self.col, self.factor, self.unit = col, factor, unit
        self.percent_ok = col.kind == RATIO or (col.kind == FLOAT and not col.dim)
        self.shown_unit = unit or col.unit      # the unit the column is read in, as the official sees it
        self.texts: dict[str, tuple] = {}

    def of(self, value: object) -> tuple[float | None, tuple[str, str, str] | None, bool]:
        if type(value) is str:
            known = self.texts.get(value)
            if known is None:
                known = self.texts[value] = self._text(value)
            return known
        return self._other(value)

    def _text(self, value: str) -> tuple[float | None, tuple[str, str, str] | None, bool]:
        col, unit = self.col, self.unit
        if value == "":
            return None, None, True
        num, err, explicit = parse_number_text(value, col.dim, col.unit, self.percent_ok)
        if err == "error-value":
            return None, (WARNING, f"单元格是错误值「{value.strip()}」，按空值处理", "检查源公式，或填写实际数值"), False
        if err == "digits":
            rule = AUDITS_BY_ID["QZ-05"]
            return None, (ERROR, f"「{col.header}」的数字「{value.strip()}」超过 {MAX_DIGITS} 位有效数字，"
                          f"未读入{rule.tag()}", rule.hint), False
        if err:
            return None, (ERROR, f"「{col.header}」应为数字：{err}", _number_hint(col, unit)), False
        if num is None:
            return None, None, True
        if explicit and col.dim and explicit != self.shown_unit:
            return num, (WARNING, f"「{col.header}」单元格自带单位：「{value.strip()}」按 {show(num)} "
                         f"{col.unit} 读入（本列单位为{self.shown_unit}）",
                         f"确认数值；本列请只填数字，单位统一为{self.shown_unit}"), False
        return (num if explicit else num * self.factor), None, False

    def _other(self, value: object) -> tuple[float | None, tuple[str, str, str] | None, bool]:
        col, unit = self.col, self.unit
        if value is None or value == "":
            return None, None, True
        if isinstance(value, bool):
            return None, (ERROR, f"「{col.header}」应为数字，实为逻辑值 {value}", _number_hint(col, unit)), False
        if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
            return None, (ERROR, f"「{col.header}」应为数字，实为日期/时间", "把单元格格式改为“常规”或“数值”后重填"), False
        return None, (ERROR, f"「{col.header}」无法识别：{value!r}", _number_hint(col, unit)), False


def show(value: object) -> str:
    """A cell value as an official would write it (2023, not 2023.0; 1e+300, not 301 digits)."""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.15g}"
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
    numbers = isinstance(raw, np.ndarray) and raw.dtype.kind == "f" and col.is_number
    raw = raw if numbers or isinstance(raw, (list, tuple)) else raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
    problems: list[CellProblem] = []
    if col.is_number:
        factor, _ = unit_factor(col, announced_unit)
        values, problems, blanks = _numbers(raw, col, factor, announced_unit)
        # 强制性审核 of one cell, whole column at a time; a failing value is not used.
        limit = col.limit
        over = ~(np.abs(values) <= limit) & ~np.isnan(values)      # inf too
        read_in = f" {announced_unit or col.unit}" if announced_unit or col.unit else ""
        _refuse(values, over, problems, "QZ-04", lambda pos: (
            f"「{col.header}」{show(raw[pos]).strip()}{read_in} 超出本列上限 {limit:,.0f} {col.unit}".rstrip() + "，未读入"))
        if col.kind in (INT, YEAR):
            frac = np.abs(values - np.round(values)) > 1e-9
            _refuse(values, frac, problems, "QZ-06", lambda pos: f"「{col.header}」应为整数，实为 {show(raw[pos])}")
        if col.kind == YEAR:
            low, high = YEAR_RANGE
            _refuse(values, (values < low) | (values > high), problems, "QZ-03",
                    lambda pos: f"「{col.header}」{show(raw[pos])} 不是合理的年份（应在 {low}–{high} 之间）")
        if not col.signed:
            _refuse(values, values < 0, problems, "QZ-01", lambda pos: f"「{col.header}」不能为负数：{show(raw[pos])}")
        if col.maximum is not None:
            _refuse(values, values > col.maximum, problems, "QZ-02",
                    lambda pos: f"「{col.header}」不能大于 {show(col.maximum)}：{show(raw[pos])}")
        if blanks and col.blank_value is not None:
            values[blanks] = col.blank_value          # the schema says a blank here means none (0)
        return values, problems
    return _text_column(raw, col)


def _text_column(raw: list, col: Column) -> tuple[list, list[CellProblem]]:
    """Text, enum and list columns: each distinct cell is read once, and mapped back to its cells.

    A column of 人员 repeats a few 岗位 or 考核等次 thousands of times; only its distinct values pay
    for normalising and looking up. Their problems are told at every cell that holds them.
    """
    read = _enum_reader(col) if col.kind == ENUM else _list_text if col.kind == LIST else _as_text_only
    if not distinct_safe(raw):
        results = [read(v) for v in raw]
        return [r[0] for r in results], [(pos, *r[1]) for pos, r in enumerate(results) if r[1] is not None]
    distinct = dict.fromkeys(raw)
    if col.kind == TEXT and _plain(distinct):
        return list(raw), []
    value_of, problem_of = {}, {}
    for v in distinct:
        value_of[v], problem = read(v)
        if problem is not None:
            problem_of[v] = problem
    values = list(map(value_of.__getitem__, raw))
    problems = [(pos, *problem_of[v]) for pos, v in enumerate(raw) if v in problem_of] if problem_of else []
    return values, problems


# Cell types whose values never compare equal across types with different texts (True == 1 == 1.0
# would be one dict key for 是 and 1): a column of only these is read per distinct value.
_DISTINCT_SAFE = (frozenset((str, float, int, type(None), _dt.datetime, _dt.date, _dt.time, _dt.timedelta)),
                  frozenset((str, bool, type(None))))


def _plain(distinct: dict) -> bool:
    """Are these distinct cells all texts that read as themselves (no blank, placeholder, space or width
    to fold)? Then a text column is its cells as they are."""
    texts = [v for v in distinct if type(v) is str]
    return (len(texts) == len(distinct) and "" not in distinct and plain_texts(texts)
            and _PLACEHOLDERS.isdisjoint(distinct))


def distinct_safe(values) -> bool:
    """May `values` be worked out per distinct value (a dict of them is exact)?"""
    kinds = set(map(type, values))
    return any(kinds <= safe for safe in _DISTINCT_SAFE)


def _as_text_only(value: object) -> tuple[object, None]:
    return _as_text(value), None


def _list_text(value: object) -> tuple[object, None]:
    t = _as_text(value)
    return ("；".join(p for p in _LIST_SPLIT.split(t) if p) if isinstance(t, str) else t), None


def _enum_reader(col: Column):
    """cell → (allowed value or None, problem or None) for one enum column; a blank 是否 that the
    schema reads as 否 becomes 否."""
    spec = ENUMS[col.enum or col.header]
    table = _enum_table(spec.name)
    ambiguous = {normalize_text(k): v for k, v in spec.ambiguous.items()}
    blank = col.blank_value

    def read(value: object) -> tuple[object, tuple[str, str, str] | None]:
        t = _as_text(value)
        if t is None:
            return blank, None
        key = normalize_text(t)
        found = table.get(key)
        if found is not None:
            return found, None
        if key in ambiguous:
            return None, (ERROR, f"「{col.header}」取值有歧义：{ambiguous[key]}", "从下拉列表选择：" + "、".join(spec.values))
        if key.upper() in _ERRORS:
            return None, (WARNING, f"单元格是错误值「{t}」，按空值处理", "填写实际取值")
        return None, (ERROR, f"「{col.header}」的取值「{t}」不在允许范围内", "可选：" + "、".join(spec.values))
    return read


def _refuse(values: np.ndarray, bad: np.ndarray, problems: list[CellProblem], rule_id: str, message) -> None:
    """Report each `bad` cell as a 强制性审核 failure of `rule_id` and leave its value missing."""
    if not bad.any():
        return
    rule = AUDITS_BY_ID[rule_id]
    for pos in np.flatnonzero(bad):
        problems.append((int(pos), rule.level, message(pos) + rule.tag(), rule.hint))
    values[bad] = np.nan


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
    if isinstance(value, str) and value.isalnum() and _is_nfkc("NFKC", value):
        return None if value in _PLACEHOLDERS else value      # already clean: no spaces, widths folded
    return _clean_text(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=16384)
def _clean_text(value: str) -> str | None:
    s = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip()
    return None if normalize_text(s) in _PLACEHOLDERS else s


@lru_cache(maxsize=None)
def _enum_table(name: str) -> dict[str, str]:
    return ENUMS[name].lookup()


__all__ = ["coerce_column", "parse_number_text", "unit_factor", "TEXT"]
