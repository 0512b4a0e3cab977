"""A value the 核实性审核 questions is used by the ranking, and the ranking says so.

The situation (an official-style trial): one zone's 税收收入 in the 指标 sheet was typed 1,000×
too large (元 instead of 万元). Intake warns about it in 数据校验 (HS-01 against the column's
median, HS-02 against the zone's previous year) and — as 警告 do — keeps the value; the zone
jumps to first place and 优秀 in 考核排名. An official who publishes 考核排名 must see, in that
zone's 说明, that its result rests on a value still to be confirmed — in `xltools run`,
`xltools batch` and the ribbon alike. Other zones' 说明 stay as they were.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from test_ribbon import remote_book, values_of
from xltools.ribbon import run_handler

ROOT = Path(__file__).resolve().parents[1]
ZONE = "胶州经济技术开发区"
YEAR = 2023


def typed_too_large(source: Path, target: Path, system: list[tuple] | None = None) -> str:
    """A copy of `source` whose ZONE's YEAR 税收收入 is 1,000× too large (and, given `system`, an
    指标体系 sheet of those rows); returns that cell's address."""
    wb = openpyxl.load_workbook(source)
    ws = wb["指标"]
    header = [c.value for c in ws[2]]
    tax = next(i for i, h in enumerate(header) if str(h).startswith("税收收入"))
    cell = next(row[tax] for row in ws.iter_rows(min_row=3) if row[0].value == ZONE and row[1].value == YEAR)
    cell.value = cell.value * 1000
    if system:
        sheet = wb.create_sheet("指标体系")
        sheet.append(["指标", "方向", "权重"])
        for row in system:
            sheet.append(list(row))
    wb.save(target)
    return cell.coordinate


def xltools(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def rows_of(path: Path, sheet: str) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def notes_by_zone(path: Path) -> dict[str, str]:
    return {r["开发区名称"]: r["说明"] or "" for r in rows_of(path, "考核排名")}


def test_run_names_the_doubtful_value_in_the_zones_note(samples, tmp_path):
    book = tmp_path / "青岛.xlsx"
    cell = typed_too_large(samples / "青岛开发区.xlsx", book)
    out = tmp_path / "结果.xlsx"
    proc = xltools("run", book, "-o", out)
    assert proc.returncode == 1, proc.stderr                   # 警告 only: done, with problems

    checks = [r for r in rows_of(out, "数据校验") if r["单元格"] == f"指标!{cell}"]
    assert {r["级别"] for r in checks} == {"警告"} and any("HS-01" in r["问题"] for r in checks)

    ranking = rows_of(out, "考核排名")
    mine = next(r for r in ranking if r["开发区名称"] == ZONE)
    assert mine["总排名"] == 1 and mine["等次"] == "优秀"      # the value is kept: the ranking as computed
    note = mine["说明"]
    assert "待核实" in note and "税收收入" in note and f"指标!{cell}" in note and "HS-01" in note
    assert "数据校验" in note
    others = {r["开发区名称"]: r["说明"] or "" for r in ranking if r["开发区名称"] != ZONE}
    assert others and not [z for z, n in others.items() if "待核实" in n]

    analysis = [r for r in rows_of(out, "得分分析") if "待核实" in (r["说明"] or "")]
    assert analysis and {r["开发区名称"] for r in analysis} == {ZONE}
    assert {r["指标"] for r in analysis} == {"亩均税收", "税收增速"}     # the indicators computed from 税收收入

    notes = {r["项目"]: r["内容"] for r in rows_of(out, "计算说明")}
    assert any(ZONE in text and "待核实" in text for text in notes.values())


def test_an_indicator_that_is_the_column_itself_is_named(samples, tmp_path):
    book = tmp_path / "青岛.xlsx"
    cell = typed_too_large(samples / "青岛开发区.xlsx", book, [("税收收入", "正向", 0.5), ("固定资产投资", "正向", 0.5)])
    out = tmp_path / "结果.xlsx"
    xltools("rank", book, "-o", out)
    notes = notes_by_zone(out)
    assert f"税收收入（指标!{cell}" in notes[ZONE] and "固定资产投资" not in notes[ZONE]
    assert not [z for z, n in notes.items() if z != ZONE and "待核实" in n]


def test_batch_marks_the_zone_only_when_the_doubtful_copy_is_used(samples, tmp_path):
    """Two files give the zone: the clean one and the mistyped one. --prefer chooses which is used;
    only the mistyped copy's ranking row says 待核实."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copy(samples / "青岛开发区.xlsx", folder / "甲.xlsx")
    typed_too_large(samples / "青岛开发区.xlsx", folder / "乙.xlsx")
    for prefer, doubtful in (("甲.xlsx", False), ("乙.xlsx", True)):
        out = tmp_path / f"汇总_{prefer}"
        proc = xltools("batch", folder, "-o", out, "--jobs", "1", "--prefer", prefer)
        assert out.exists(), proc.stderr
        notes = notes_by_zone(out)
        assert ("待核实" in notes[ZONE]) is doubtful, (prefer, notes[ZONE])
        assert not [z for z, n in notes.items() if z != ZONE and "待核实" in n]


def test_ribbon_rank_button_says_so_too(samples, tmp_path):
    book = tmp_path / "青岛.xlsx"
    typed_too_large(samples / "青岛开发区.xlsx", book)
    opened = remote_book(book)
    run_handler("rank", opened)
    rows = values_of(opened, "考核排名")
    at = rows[0].index("说明")
    notes = {r[0]: r[at] or "" for r in rows[1:]}
    assert "待核实" in notes[ZONE] and "税收收入" in notes[ZONE]
    assert not [z for z, n in notes.items() if z != ZONE and "待核实" in n]


@pytest.fixture(autouse=True)
def _untouched_samples(samples):
    """The committed samples are read, never written."""
    before = {p: p.stat().st_mtime_ns for p in samples.glob("*.xlsx")}
    yield
    assert {p: p.stat().st_mtime_ns for p in samples.glob("*.xlsx")} == before


def test_a_zone_whose_every_year_is_in_the_wrong_unit_is_questioned(samples, tmp_path):
    """The trial's harder case: 青岛蓝谷's 税收收入 ×1000 in every year. Its own values raise the column's
    median and no year differs from the one before, so HS-01 and HS-02 stay silent (0 警告), while the
    zone climbed to 优秀 and 税收返还 paid ~1,700 亿. Per 亩 of 用地面积 it is ~1,000× the others (HS-03):
    数据校验 names each cell, and its 考核排名 说明 says the ranking used a value to be confirmed."""
    zone = "青岛蓝谷"
    wb = openpyxl.load_workbook(samples / "青岛开发区.xlsx")
    ws = wb["指标"]
    header = [c.value for c in ws[2]]
    tax = next(i for i, h in enumerate(header) if str(h).startswith("税收收入"))
    cells = []
    for row in ws.iter_rows(min_row=3):
        if row[0].value and str(row[0].value).startswith(zone) and isinstance(row[tax].value, (int, float)):
            row[tax].value *= 1000
            cells.append(f"指标!{row[tax].coordinate}")
    assert len(cells) >= 2
    path = tmp_path / "全部年份单位错.xlsx"
    wb.save(path)
    out = tmp_path / "r.xlsx"
    proc = xltools("run", path, "-o", out)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    told = {r["单元格"] for r in rows_of(out, "数据校验") if "HS-03" in (r["问题"] or "")}
    assert set(cells) <= told
    notes = notes_by_zone(out)
    mine = [z for z in notes if z.startswith(zone)]
    assert mine and all("待核实" in notes[z] for z in mine)
    assert not any("待核实" in n for z, n in notes.items() if not z.startswith(zone))
