"""The units data were read in, told once for 计算说明 (a 400-file batch must fit in one cell)."""

from __future__ import annotations

from collections.abc import Iterable

from ..schema import SHEETS, SHEETS_BY_KEY
from .table import ASSUMED

NAMES_SHOWN = 5          # files named per differing unit; the rest are counted


def units_note(books: Iterable) -> str:
    """「指标：税收收入 万元、用地面积 亩（未注明，按此读入）」 — the unit most files used per sheet
    kind and column, then the files that differ ("", when no amount, area or energy was read)."""
    used: dict[tuple[str, str], dict[str, list[str]]] = {}
    for book in books:
        for key, table in book.tables.items():
            for col_key, (unit, how) in table.units.items():
                stored = SHEETS_BY_KEY[key].column(col_key).unit
                shown = (f"{unit}（未注明，按此读入）" if how == ASSUMED else
                         unit if unit == stored else f"{unit}（换算为{stored}）")
                used.setdefault((key, col_key), {}).setdefault(shown, []).append(book.name)
    parts, others = [], []
    for sheet in SHEETS:
        listed = []
        for col in sheet.columns:
            files = used.get((sheet.key, col.key))
            if not files:
                continue
            ranked = sorted(files.items(), key=lambda kv: -len(kv[1]))     # stable: first seen wins a tie
            listed.append(f"{col.header} {ranked[0][0]}")
            for unit, names in ranked[1:]:
                more = f" 等 {len(names)} 个文件" if len(names) > NAMES_SHOWN else ""
                others.append(f"「{sheet.name}」{col.header} {unit}：{'、'.join(names[:NAMES_SHOWN])}{more}")
        if listed:
            parts.append(f"{sheet.name}：{'、'.join(listed)}")
    if not parts:
        return ""
    return "；".join(parts) + ("。以下文件不同——" + "；".join(others) if others else "")
