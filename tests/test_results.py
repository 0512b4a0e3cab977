"""The result-sheet registry (xltools/results.py): every sheet xltools writes is declared there, once,
and everything that names, orders, recognises or shows a result sheet reads it."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from xltools.engine import TASKS, assess
from xltools.intake import read_book, tables_of
from xltools.results import (CHARTS, DECLARED, FILES, NOTES, PROBLEMS, RESULT_SHEET_NAMES, SHEETS, declaration,
                             in_order, result_sheet_name, shown_by, tasks_of)

PACKAGE = Path(__file__).resolve().parent.parent / "xltools"
SAMPLE_NAMES = ["青岛开发区.xlsx", "宁夏开发区.xlsx", "耒阳经开区.xlsx", "问题样例.xlsx"]


@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory):
    """The samples, plus what they lack: 历年排名 for a sanctioned zone (排名轨迹), 人员 with 薪酬 (薪酬明细)."""
    import xlsxwriter
    from conftest import SAMPLES

    out = {name: tables_of(read_book(SAMPLES / name)) for name in SAMPLE_NAMES}
    tables = dict(out["宁夏开发区.xlsx"])
    hit = assess(tables, tasks=("rank",)).sheets["奖惩建议"]
    zone = hit.loc[hit["类别"] == "约束", "开发区名称"].iloc[0]
    tables["history"] = pd.DataFrame({"zone": [zone, zone], "year": [2021, 2022], "group": [None, None],
                                      "rank": [20, 22], "group_rank": [15, 17], "grade": [None, None]})
    out["宁夏开发区（含历年排名）"] = tables
    path = tmp_path_factory.mktemp("pay") / "薪酬.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    targets = ["税收目标(万元)", "固定资产投资目标(万元)", "规上工业总产值目标(万元)"]
    for sheet, rows in {"开发区": [["开发区名称", "级别", "政策口径"], ["甲区", "国家级", "liaoyang"]],     # LY-11 distributes
                        "指标": [["开发区名称", "年度", "税收收入(万元)", "固定资产投资(万元)", "规上工业总产值(万元)"],
                                 ["甲区", 2023, 100, 200, 300]],
                        "薪酬": [["开发区名称", "年度", "核定人数", "基础薪酬标准(万元)", "绩效薪酬系数", *targets],
                                 ["甲区", 2023, 2, 10, 0.5, 100, 200, 300]],
                        "人员": [["姓名", "开发区名称", "岗位系数", "考核等次"], ["李一", "甲区", 1.0, "合格"]]}.items():
        ws = wb.add_worksheet(sheet)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    wb.close()
    out["薪酬明细"] = tables_of(read_book(path))
    return out


def _declares(sheet, column: str) -> bool:
    return (column in {c.name for c in (*sheet.columns, *sheet.more)}
            or any(column.endswith(s.name) for s in sheet.suffixes))


@pytest.mark.parametrize("task", TASKS)
def test_every_sheet_the_engine_produces_is_declared_with_its_task(sample_tables, task):
    """A sheet the engine writes but the registry does not know would be written unformatted, left
    unordered, and make `-o` refuse to replace the result workbook: none may exist."""
    produced = set()
    for name, tables in sample_tables.items():
        for sheet, frame in assess(tables, tasks=(task,)).sheets.items():
            assert sheet in DECLARED, f"{name}: 「{sheet}」 is not in results.SHEETS"
            decl = DECLARED[sheet]
            assert decl.task == task, sheet
            # SPEC §3's fixed columns, in order (人员排名 writes 人员编号 after 姓名, as it always has)
            assert [c for c in frame.columns if c in decl.leading] == list(decl.leading), sheet
            undeclared = [c for c in frame.columns if not _declares(decl, str(c))]
            assert not undeclared, f"{sheet}: columns not declared in results.py: {undeclared}"
            produced.add(sheet)
    assert produced == {s.name for s in SHEETS if s.task == task}


def test_the_engine_tasks_are_the_registry_s():
    assert TASKS == ("quota", "salary", "rank", "indicators")
    assert {s.task for s in SHEETS if s.task} == set(TASKS)
    assert tasks_of(shown_by("sanctions")) == ("rank",) and tasks_of(shown_by("validate")) == ()


def test_every_run_writes_only_registry_sheets_in_registry_order(samples):
    from xltools.batch import run_batch
    from xltools.jobs import run_books

    for result in (run_books(sorted(samples.glob("*.xlsx"))), run_batch(sorted(samples.glob("*.xlsx")), jobs=1)):
        names = list(result.sheets)
        assert set(names) <= RESULT_SHEET_NAMES and names == in_order(names)
        assert names[-1] == NOTES and PROBLEMS in names


def test_a_workbook_of_every_result_sheet_may_be_replaced_by_a_new_result(tmp_path):
    """`-o` replaces an earlier result only if every sheet in it is a result sheet: one written with
    every sheet of the registry (and a continuation) is recognised as xltools' own."""
    from xltools.jobs import may_overwrite
    from xltools.output.workbook import write_results

    path = tmp_path / "结果.xlsx"
    frames = {s.name: pd.DataFrame({c.name: ["x"] for c in s.columns[:2]} or {"项目": ["x"]}) for s in SHEETS}
    write_results(path, frames)
    assert may_overwrite(path)
    assert result_sheet_name("考核排名（续2）") and declaration("考核排名（续2）") is DECLARED["考核排名"]
    assert not result_sheet_name("开发区")


def test_every_button_the_registry_names_is_a_ribbon_handler():
    from xltools.reference import RIBBON_XML
    from xltools.ribbon import HANDLERS

    buttons = {s.button for s in SHEETS if s.button}
    assert buttons <= set(HANDLERS)
    assert all(f'tag="{b}"' in RIBBON_XML.read_text(encoding="utf-8") for b in buttons)


def test_the_batch_and_writer_sheets_are_declared_too():
    assert [s.name for s in SHEETS][:2] == [FILES, PROBLEMS] and SHEETS[-1].name == NOTES
    assert CHARTS in DECLARED and DECLARED[CHARTS].task is None


# Words that are result-sheet names but label something else: rule kinds and rule parameters
# (profiles/display.py), the 通报's method item 「指标权重」 (report.py).
OTHER_MEANINGS = {("profiles/display.py", "指标权重"), ("profiles/display.py", "税收返还"),
                  ("profiles/display.py", "考核排名"), ("report.py", "指标权重")}


def test_each_result_sheet_name_is_written_once():
    """Modules refer to a result sheet by its constant in results.py, never by a literal of its name."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in RESULT_SHEET_NAMES and (rel, node.value) not in OTHER_MEANINGS:
                found.append((rel, node.value))
    assert sorted(found) == sorted(("results.py", s.name) for s in SHEETS)


def test_a_sheet_the_registry_does_not_know_stops_the_run(monkeypatch):
    """A new engine sheet without its entry fails at once, never as a workbook -o later refuses."""
    from xltools import pipeline
    from xltools.engine import Assessment

    monkeypatch.setattr(pipeline, "assess", lambda tables, **kw: Assessment(sheets={"新结果表": pd.DataFrame({"a": [1]})}))
    with pytest.raises(LookupError, match="新结果表"):
        pipeline.run(pipeline.RunResult([]), [pipeline.Unit("x", {})], pipeline.Reading([pd.DataFrame()]),
                     pipeline.Request())
