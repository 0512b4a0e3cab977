"""The same zone and year in two submitted files (SPEC §3.1 「Duplicates」), from workbooks as an
official sends them: a title row, a unit row, Chinese headers.

「The same (zone, year) in two files: identical content → one 警告, one copy used; different
content → 错误 in both files naming the other and the differing cells; the zone's computations
for that year stay empty (数据冲突) unless the user chooses with `--prefer newest` (the workbook's
own 修改时间) or `--prefer FILE`. File-name order never decides.」
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import python_calamine as pc
import xlsxwriter

from xltools.output.sheets import plain_header

from xltools.batch import run_batch

ORIGINAL, COPY = "甲开发区2023.xlsx", "甲开发区2023 - 副本.xlsx"     # the copy's name sorts first (space < dot)
EARLY, LATE = dt.datetime(2024, 3, 1, 9, 30), dt.datetime(2024, 3, 5, 9, 30)   # 修改时间 as saved (UTC)
SHOWN = {EARLY: "2024-03-01 17:30:00（北京时间）", LATE: "2024-03-05 17:30:00（北京时间）"}   # as 数据校验 shows it


def submission(path: Path, tax: float, saved: dt.datetime) -> Path:
    """An official's workbook: 开发区 and 指标 sheets with a title row, a unit row, Chinese headers;
    甲开发区's 税收收入 at 指标!C5 is `tax`, everything else the same in every copy."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": saved, "author": "甲开发区管委会"})     # xlsxwriter saves it as dcterms:modified too
    ws = wb.add_worksheet("开发区")
    ws.write_row(0, 0, ["2023年开发区基本情况表"])
    ws.write_row(1, 0, ["开发区名称", "级别", "类型", "所属地区"])          # 青岛口径 computes 税收返还 (QD-35)
    ws.write_row(2, 0, ["甲开发区", "省级", "经济技术开发区", "青岛市黄岛区"])
    ws.write_row(3, 0, ["乙开发区", "省级", "经济技术开发区", "青岛市城阳区"])
    ws = wb.add_worksheet("指标")
    ws.write_row(0, 0, ["2023年开发区主要经济指标"])
    ws.write_row(1, 0, ["单位：万元、亩"])
    ws.write_row(2, 0, ["开发区名称", "年度", "税收收入", "税收基数", "用地面积"])
    ws.write_row(3, 0, ["乙开发区", 2023, 800, 700, 5000])
    ws.write_row(4, 0, ["甲开发区", 2023, tax, 1000, 6000])
    wb.close()
    return path


@pytest.fixture
def two_copies(tmp_path) -> Path:
    """甲开发区2023.xlsx (税收收入 1,234.5, saved 5 March) and its copy (1,300, saved 1 March) — whose
    file-system date is the newer one, as after copying it onto a USB stick."""
    folder = tmp_path / "报送"
    folder.mkdir()
    submission(folder / ORIGINAL, 1234.5, LATE)
    submission(folder / COPY, 1300, EARLY)
    os.utime(folder / ORIGINAL, (1_600_000_000, 1_600_000_000))
    os.utime(folder / COPY, (1_700_000_000, 1_700_000_000))
    return folder


def cli(*args):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True)


def sheet(path: Path, name: str) -> list[dict]:
    rows = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    head = [plain_header(str(h)) for h in rows[0]]       # 「返还金额(万元)」 → 「返还金额」
    return [dict(zip(head, r)) for r in rows[1:]]


def told(out: Path) -> list[tuple]:
    """The duplicate rows of 数据校验: (文件, 工作表, 单元格, 级别, 问题)."""
    return sorted((r["文件"], r["工作表"], r["单元格"], r["级别"], r["问题"])
                  for r in sheet(out, "数据校验") if "重复报送" in r["问题"])


def returns(out: Path) -> dict[str, dict]:
    return {r["开发区名称"]: r for r in sheet(out, "税收返还")}


@pytest.mark.slow
def test_copies_that_differ_are_an_error_in_both_files_and_the_zone_year_is_not_computed(two_copies, tmp_path):
    out = tmp_path / "汇总.xlsx"
    proc = cli("batch", two_copies, "-o", out, "--json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["数据冲突"] == 1
    rows = told(out)
    conflict = [r for r in rows if r[3] == "错误"]
    assert [r[:4] for r in conflict] == [(COPY, "指标", "指标!C5", "错误"), (ORIGINAL, "指标", "指标!C5", "错误")]
    mine = dict((r[0], r[4]) for r in conflict)
    assert f"「税收收入」指标!C5 与「{ORIGINAL}」指标!C5 不同：1,300 ≠ 1,234.5（万元）" in mine[COPY]
    assert f"「税收收入」指标!C5 与「{COPY}」指标!C5 不同：1,234.5 ≠ 1,300（万元）" in mine[ORIGINAL]
    for text in mine.values():
        assert text.startswith("开发区「甲开发区」2023 年的「指标」数据与「")
        assert "数据冲突：该开发区 2023 年的数据未计算" in text
    assert f"修改时间：本文件 {SHOWN[EARLY]}，「{ORIGINAL}」{SHOWN[LATE]}" in mine[COPY]
    # 乙开发区 and 甲开发区's 开发区 row are the same in both: one 警告, used once
    [same] = [r for r in rows if r[3] == "警告"]
    assert same[:4] == (ORIGINAL, "开发区", "开发区!A3", "警告") and f"与「{COPY}」重复报送，内容完全相同" in same[4]
    files = {r["文件"]: r for r in sheet(out, "文件清单")}
    assert files[ORIGINAL]["状态"] == files[COPY]["状态"] == "重复报送"
    assert f"与「{ORIGINAL}」数据冲突" in files[COPY]["说明"]
    result = returns(out)
    assert result["乙开发区"]["返还金额"] == pytest.approx(100 * 0.6)       # (800 − 700) × 60 %: computed once
    assert result["甲开发区"]["返还金额"] in (None, "") and result["甲开发区"]["税收收入"] in (None, "")
    assert "数据冲突" in result["甲开发区"]["说明"] and ORIGINAL in result["甲开发区"]["说明"]
    notes = {r["项目"]: r["内容"] for r in sheet(out, "计算说明")}
    assert f"开发区「甲开发区」2023 年（「{COPY}」「{ORIGINAL}」）" in notes["数据冲突"]
    assert "数据冲突" in proc.stderr or "数据冲突" in cli("batch", two_copies, "-o", out).stderr


@pytest.mark.slow
@pytest.mark.parametrize("newer", [ORIGINAL, COPY])
def test_prefer_newest_uses_the_copy_saved_last_by_its_own_modification_time(tmp_path, newer):
    """The workbook's own 修改时间 decides — not its name, not the file system's date."""
    folder = tmp_path / "报送"
    folder.mkdir()
    taxes = {ORIGINAL: 1234.5, COPY: 1300}
    for name, tax in taxes.items():
        submission(folder / name, tax, LATE if name == newer else EARLY)
        os.utime(folder / name, (1_700_000_000 if name != newer else 1_600_000_000,) * 2)
    older = COPY if newer == ORIGINAL else ORIGINAL
    out = tmp_path / "汇总.xlsx"
    proc = cli("batch", folder, "-o", out, "--prefer", "newest")
    assert proc.returncode == 1, proc.stderr
    assert returns(out)["甲开发区"]["税收收入"] == pytest.approx(taxes[newer])
    conflict = {r[0]: r for r in told(out) if "不同" in r[4]}
    assert conflict[newer][1:4] == ("指标", "指标!C5", "警告")
    assert "已按 --prefer newest（修改时间较新）采用本文件的数据" in conflict[newer][4]
    assert conflict[older][1:4] == ("指标", "指标!C5", "错误")
    assert f"采用「{newer}」的数据，本文件的这些数据未采用" in conflict[older][4]
    assert f"修改时间：本文件 {SHOWN[EARLY]}，「{newer}」{SHOWN[LATE]}" in conflict[older][4]
    files = {r["文件"]: r["状态"] for r in sheet(out, "文件清单")}
    assert files == {ORIGINAL: "重复报送", COPY: "重复报送"}
    notes = {r["项目"]: r["内容"] for r in sheet(out, "计算说明")}
    assert "数据冲突" not in notes and f"采用「{newer}」" in notes["重复报送的取舍"]


def test_prefer_newest_cannot_decide_between_equal_times(tmp_path):
    folder = tmp_path / "报送"
    folder.mkdir()
    submission(folder / ORIGINAL, 1234.5, LATE)
    submission(folder / COPY, 1300, LATE)
    res = run_batch(sorted(folder.iterdir()), jobs=1, prefer=("newest",))
    assert [c.used for c in res.conflicts] == [None]
    assert all("--prefer newest 无法判断：修改时间相同" in p.message for p in res.cross if p.level == "错误")


@pytest.mark.slow
def test_prefer_file_uses_that_copy_and_an_unknown_file_is_refused(two_copies, tmp_path):
    out = tmp_path / "汇总.xlsx"
    proc = cli("batch", two_copies, "-o", out, "--prefer", COPY)
    assert proc.returncode == 1, proc.stderr
    assert returns(out)["甲开发区"]["税收收入"] == pytest.approx(1300)
    levels = {r[0]: r[3] for r in told(out) if "不同" in r[4]}
    assert levels == {COPY: "警告", ORIGINAL: "错误"}
    wrong = tmp_path / "另一个.xlsx"
    proc = cli("batch", two_copies, "-o", wrong, "--prefer", "丙开发区.xlsx")
    assert proc.returncode == 2 and "--prefer 「丙开发区.xlsx」 不是输入文件之一" in proc.stderr
    assert not wrong.exists()


@pytest.mark.slow
def test_an_identical_copy_is_one_warning_and_counted_once(tmp_path):
    folder = tmp_path / "报送"
    folder.mkdir()
    submission(folder / ORIGINAL, 1234.5, LATE)
    submission(folder / COPY, 1234.5, EARLY)                 # same content, saved at another time
    out = tmp_path / "汇总.xlsx"
    assert cli("batch", folder, "-o", out).returncode == 1
    [row] = told(out)
    assert row[:4] == (ORIGINAL, "开发区", "开发区!A3", "警告")
    assert row[4] == (f"与「{COPY}」重复报送，内容完全相同（开发区「甲开发区」等 2 个开发区，开发区、指标 表）："
                      "只采用一份，计算结果不受影响")
    files = {r["文件"]: r["状态"] for r in sheet(out, "文件清单")}
    assert files == {ORIGINAL: "有警告", COPY: "正常"}
    alone = tmp_path / "单份.xlsx"
    cli("batch", folder / ORIGINAL, "-o", alone)
    assert sheet(out, "税收返还") == sheet(alone, "税收返还")
    assert len(sheet(out, "税收返还")) == 2


def test_a_zone_split_over_files_by_sheet_is_no_duplicate(tmp_path):
    """编办 sends 开发区, 统计局 sends 指标 for the same zones: nothing repeated, nothing flagged."""
    folder = tmp_path / "报送"
    folder.mkdir()
    submission(tmp_path / "全部.xlsx", 1234.5, LATE)
    for name, keep in (("编办.xlsx", "开发区"), ("统计局.xlsx", "指标")):
        rows = pc.CalamineWorkbook.from_path(str(tmp_path / "全部.xlsx")).get_sheet_by_name(keep).to_python()
        wb = xlsxwriter.Workbook(str(folder / name))
        ws = wb.add_worksheet(keep)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, [v for v in row])
        wb.close()
    split = run_batch(sorted(folder.iterdir()), jobs=1)
    whole = run_batch([tmp_path / "全部.xlsx"], jobs=1)
    assert not split.conflicts and not [p for p in split.cross if "重复报送" in p.message]
    assert set(split.files["状态"]) <= {"正常", "有警告"}
    assert split.sheets["税收返还"].equals(whole.sheets["税收返还"])


@pytest.mark.slow
def test_run_and_validate_with_several_files_judge_duplicates_as_batch_does(two_copies, tmp_path):
    paths = [two_copies / ORIGINAL, two_copies / COPY]
    proc = cli("validate", *paths, "--json")
    assert proc.returncode == 1
    found = [(p["文件"], p["单元格"], p["级别"]) for p in json.loads(proc.stdout)["问题"] if "不同" in p["问题"]]
    assert sorted(found) == [(COPY, "指标!C5", "错误"), (ORIGINAL, "指标!C5", "错误")]
    out = tmp_path / "结果.xlsx"
    assert cli("run", *paths, "-o", out).returncode == 1
    result = sheet(out, "税收返还")
    assert [r["开发区名称"] for r in result].count("乙开发区") == 1        # the identical zone once, not twice
    [jia] = [r for r in result if r["开发区名称"] == "甲开发区"]
    assert "数据冲突" in jia["说明"] and jia["返还金额"] in (None, "")
    assert [r[3] for r in told(out) if "不同" in r[4]] == ["错误", "错误"]
    chosen = tmp_path / "结果2.xlsx"
    assert cli("run", *paths, "-o", chosen, "--prefer", "newest").returncode == 1
    [jia] = [r for r in sheet(chosen, "税收返还") if r["开发区名称"] == "甲开发区"]
    assert jia["税收收入"] == pytest.approx(1234.5)


def departments(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("机构设置")
    ws.write_row(0, 0, ["甲开发区内设机构情况表"])
    ws.write_row(1, 0, ["开发区名称", "机构名称", "机构类别", "是否一线"])
    for i, r in enumerate(rows):
        ws.write_row(2 + i, 0, ["甲开发区", *r])
    wb.close()
    return path


def test_a_zones_departments_that_differ_name_the_rows_in_both_files(tmp_path):
    """A zone's own sheets (机构设置: a row per department, in any order) are compared as a whole:
    a department only one file lists, or listed differently, is named at its cell; the zone is left
    out of the compliance checks (数据冲突) and listed so."""
    one = departments(tmp_path / "编办.xlsx", [("党政办公室", "综合保障类", "否"), ("招商局", "经济发展类", "是"),
                                              ("财政局", "综合保障类", "否")])
    two = departments(tmp_path / "管委会.xlsx", [("招商局", "经济发展类", "否"), ("党政办公室", "综合保障类", "否")])
    res = run_batch([one, two], jobs=1)
    rows = {p.file: p for p in res.cross}
    assert (rows["编办.xlsx"].cell, rows["编办.xlsx"].level) == ("机构设置!D4", "错误")
    assert (rows["管委会.xlsx"].cell, rows["管委会.xlsx"].level) == ("机构设置!D3", "错误")
    assert "「是否一线」机构设置!D4 与「管委会.xlsx」机构设置!D3 不同：是 ≠ 否" in rows["编办.xlsx"].message
    assert "机构设置!B5「财政局」在「管委会.xlsx」中没有" in rows["编办.xlsx"].message
    assert "「编办.xlsx」机构设置!B5「财政局」在本文件中没有" in rows["管委会.xlsx"].message
    assert all("数据冲突：该开发区的全部数据未计算" in p.message for p in rows.values())
    assert [(c.zone, c.year, c.used) for c in res.conflicts] == [("甲开发区", None, None)]
    same_order = departments(tmp_path / "副本.xlsx", [("财政局", "综合保障类", "否"), ("招商局", "经济发展类", "是"),
                                                   ("党政办公室", "综合保障类", "否")])
    again = run_batch([one, same_order], jobs=1)                 # the same departments in another order
    assert not again.conflicts and [p.level for p in again.cross] == ["警告"]


def test_prefer_newest_without_a_recorded_time_leaves_the_conflict(two_copies, tmp_path):
    """A workbook that records no 修改时间 (docProps/core.xml missing) cannot be judged the newer."""
    import zipfile

    src, bare = two_copies / COPY, tmp_path / "无属性.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bare, "w") as zout:
        for item in zin.infolist():
            if item.filename != "docProps/core.xml":
                zout.writestr(item, zin.read(item.filename))
    bare.replace(src)
    res = run_batch(sorted(two_copies.iterdir()), jobs=1, prefer=("newest",))
    assert [c.used for c in res.conflicts] == [None]
    [mine] = [p for p in res.cross if p.file == COPY and p.level == "错误"]
    assert f"--prefer newest 无法判断：「{COPY}」未记录修改时间" in mine.message
    assert "修改时间：本文件 未记录" in mine.message


@pytest.mark.slow
@pytest.mark.parametrize("command", ["batch", "run"])
def test_the_console_counts_every_error_and_warning_that_data_validation_shows(two_copies, tmp_path, command):
    """「数据校验：n 个错误，m 个警告」 on the console is the count of the rows in 数据校验 — the
    conflict's 错误 in both files included (they are cross-file problems)."""
    out = tmp_path / "结果.xlsx"
    files = sorted(two_copies.iterdir())
    proc = cli(command, *([two_copies] if command == "batch" else files), "-o", out, "--json")
    summary = json.loads(proc.stdout)
    levels = [row["级别"] for row in sheet(out, "数据校验")]
    assert levels.count("错误") >= 2
    assert (summary["错误"], summary["警告"]) == (levels.count("错误"), levels.count("警告"))
