"""Every ribbon handler, driven against xlwings' real remote Book (no hand-made fake)."""

from __future__ import annotations

import re
from pathlib import Path

import python_calamine as pc
import pytest
import xlwings as xw

from xltools import pipeline, ribbon
from xltools.ribbon import HANDLERS, RESULT_NAMES, run_handler
from xltools.schema import SHEETS


def remote_book(path, name=None):
    wb = pc.CalamineWorkbook.from_path(str(path))
    sheets = [{"name": n, "values": wb.get_sheet_by_name(n).to_python(skip_empty_area=False) or [[]],
               "pictures": [], "tables": []} for n in wb.sheet_names]
    data = {"client": "Microsoft Office Scripts", "version": xw.__version__,
            "book": {"name": name or path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets}
    return xw.Book(json=data)


def actions(book):
    return [(a["func"], a["args"], a["values"]) for a in book.json()["actions"]]


def added(book):
    return [a[1][1] for a in actions(book) if a[0] == "addSheet"]


def values_of(book, sheet):
    """What the handlers wrote to `sheet`, read from the actions the remote Book recorded."""
    position = next((args[0] for func, args, _ in actions(book) if func == "addSheet" and args[1] == sheet), None)
    out, current = None, None
    for a in book.json()["actions"]:
        if a["func"] == "addSheet":
            current = a["args"][1]
        if a["func"] == "setValues" and a["sheet_position"] == position and current == sheet and a["start_row"] == 0:
            out = a["values"]
    return out


@pytest.fixture
def qingdao(samples):
    return remote_book(samples / "青岛开发区.xlsx")


def test_check_writes_compliance_sheets(qingdao):
    inputs = [s.name for s in qingdao.sheets]
    message = run_handler("check", qingdao)
    assert "合规检查" in message and "0 个错误" in message
    assert added(qingdao) == ["数据校验", "合规检查", "合规汇总", "计算说明"]
    rows = values_of(qingdao, "合规检查")
    assert rows[0][:8] == ["开发区名称", "规则编号", "规则", "实际值", "限值", "结论", "说明", "依据"]
    hits = {(r[0], r[1]) for r in rows[1:] if r[5] == "不合规"}
    assert ("青岛经济技术开发区", "QD-09") in hits and ("青岛城阳经济开发区", "QD-20") in hits
    assert [s.name for s in qingdao.sheets][:len(inputs)] == inputs      # input sheets untouched
    assert not [a for a in actions(qingdao) if a[0] == "sheetDelete"]
    assert [a for a in actions(qingdao) if a[0] == "alert"]              # the message box


def test_rerun_replaces_earlier_results_only(qingdao):
    run_handler("check", qingdao)
    run_handler("check", qingdao)
    names = [s.name for s in qingdao.sheets]
    assert names.count("合规检查") == 1
    deleted = [a for a in actions(qingdao) if a[0] == "sheetDelete"]
    assert len(deleted) == 4


@pytest.mark.parametrize("tag, sheets", [
    ("validate", ["数据校验", "计算说明"]),
    ("salary", ["数据校验", "薪酬测算", "计算说明"]),          # 宁夏口径 states no tax return (QD-35 is Qingdao's)
    ("rank", ["数据校验", "考核排名", "得分分析", "指标权重", "计算说明"]),
    ("sanctions", ["数据校验", "奖惩建议", "计算说明"]),
    ("run_all", ["数据校验", "合规检查", "合规汇总", "薪酬测算", "考核排名", "得分分析", "奖惩建议", "指标权重",
                 "派生指标", "计算说明"]),
])
def test_compute_handlers(samples, tag, sheets):
    book = remote_book(samples / "宁夏开发区.xlsx")
    run_handler(tag, book)
    assert added(book) == sheets
    assert set(added(book)) <= RESULT_NAMES


def test_rank_matches_the_cli_engine(samples):
    from xltools.engine import assess
    from xltools.intake import read_book, tables_of
    book = remote_book(samples / "宁夏开发区.xlsx")
    run_handler("rank", book)
    rows = values_of(book, "考核排名")
    via_ribbon = {r[0]: r[3] for r in rows[1:]}
    via_cli = assess(tables_of(read_book(samples / "宁夏开发区.xlsx")), tasks=("rank",)).sheets["考核排名"]
    assert via_ribbon == pytest.approx(dict(zip(via_cli["开发区名称"], via_cli["综合得分"])))


def test_validate_lists_planted_errors_with_cells(samples):
    book = remote_book(samples / "问题样例.xlsx")
    run_handler("validate", book)
    rows = values_of(book, "数据校验")
    cells = {r[2] for r in rows[1:]}
    # the 16 planted errors, and the 警告 for 「1.2万」 carrying its own unit (SPEC §3.1)
    assert {"开发区名录!C6", "经济指标!D9", "职数编制!C4", "经济指标!G6"} <= cells and len(rows) - 1 == 17


def test_staff_ranking_via_rank_button(samples):
    book = remote_book(samples / "耒阳经开区.xlsx")
    run_handler("rank", book)
    assert "人员排名" in added(book)
    rows = values_of(book, "人员排名")
    assert rows[0][:5] == ["姓名", "人员编号", "开发区名称", "综合得分", "排名"] and len(rows) == 151


def test_new_template_adds_missing_input_sheets(samples):
    book = remote_book(samples / "耒阳经开区.xlsx")
    message = run_handler("new_template", book)
    present = {"参数", "开发区", "机构设置", "职数编制", "指标", "薪酬", "人员"}
    assert set(added(book)) == {s.name for s in SHEETS} - present and "已添加输入表" in message
    assert values_of(book, "历年排名")[1][:2] == ["*开发区名称", "*年度"]


def test_a_sheet_whose_name_says_nothing_is_read_as_a_file_would_be(make_book):
    """Data pasted into Sheet1, results of an earlier click beside it: the ribbon reads Sheet1 by its
    header, with the same warning as the command line, again and again."""
    zones = [["开发区名称", "级别", "类型", "内设机构数"], ["甲区", "国家级", "经济技术开发区", 12]]
    book = remote_book(make_book({"Sheet1": zones, "合规检查": [["开发区名称"], ["旧结果"]]}, name="新建.xlsx"))
    run_handler("check", book)
    rows = values_of(book, "数据校验")
    assert any("「Sheet1」不是标准表名，已按表头识别为「开发区」表" in str(r) for r in rows), rows
    assert any(r[0] == "甲区" for r in values_of(book, "合规汇总")[1:])
    book = remote_book(make_book({"Sheet1": zones}, name="新建.xlsx"))
    assert "开发区" not in added(book) and "开发区、" not in run_handler("new_template", book)
    assert "机构设置" in added(book)                       # the kinds still missing are added


def test_export_report_writes_a_new_workbook(qingdao, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "请先点击" in run_handler("export_report", qingdao)
    run_handler("check", qingdao)
    message = run_handler("export_report", qingdao)
    target = tmp_path / "青岛开发区_考核报告.xlsx"
    assert "报告已导出" in message and target.exists()
    assert pc.CalamineWorkbook.from_path(str(target)).sheet_names == ["数据校验", "合规检查", "合规汇总", "计算说明"]
    assert "已导出" in run_handler("export_report", qingdao)           # an earlier report is replaced
    assert not (tmp_path / "青岛开发区_考核报告(2).xlsx").exists()
    target.write_bytes(b"the user's own file of that name")
    message = run_handler("export_report", qingdao)                   # is kept: the report gets a new name
    assert target.read_bytes() == b"the user's own file of that name" and "青岛开发区_考核报告(2).xlsx" in message
    assert (tmp_path / "青岛开发区_考核报告(2).xlsx").exists()


def test_env_check_and_help(qingdao):
    env = run_handler("env_check", qingdao)
    assert f"xlwings {xw.__version__}" in env and "Python 3." in env and "xltools" in env
    assert "加载项配置" in env and ".xltools" in env                  # what the add-in's VBA reads (manual §7)
    manual = re.search(r"用户手册 (\S+用户手册\.md)", run_handler("help", qingdao)).group(1)
    assert Path(manual).is_file()                                       # the Help button names a file that exists


def test_errors_become_a_message_not_a_traceback(qingdao, monkeypatch):
    def boom(*a, **k):
        raise ValueError("测试用的错误")
    monkeypatch.setattr(pipeline, "assess", boom)          # the one run pipeline the ribbon runs
    message = run_handler("check", qingdao)
    assert message.startswith("出错了") and "测试用的错误" in message and "Traceback" not in message
    assert "未知的按钮" in run_handler("no_such_button", qingdao)


def test_text_that_looks_like_a_formula_is_escaped(qingdao):
    import pandas as pd
    ribbon.write_sheet(qingdao, "数据校验", pd.DataFrame({"问题": ["=1+1", "普通"]}))
    assert values_of(qingdao, "数据校验") == [["问题"], ["'=1+1"], ["普通"]]
    with pytest.raises(ValueError):
        ribbon.write_sheet(qingdao, "开发区", pd.DataFrame({"a": [1]}))   # never an input sheet


def test_dispatch_uses_the_caller_book(qingdao, monkeypatch):
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: qingdao))
    assert "xltools" in ribbon.dispatch("env_check")
    assert set(HANDLERS) == {"new_template", "validate", "check", "salary", "rank", "sanctions", "run_all",
                             "export_report", "env_check", "help"}


def test_yes_no_is_written_as_the_other_writers_write_it(qingdao):
    """One cell policy (output/cells.py): a boolean is 是/否 in the ribbon's sheets too, as in result
    workbooks and in written-back sheets (it used to reach Excel as TRUE/FALSE); blanks stay blank."""
    import numpy as np
    import pandas as pd
    ribbon.write_sheet(qingdao, "数据校验", pd.DataFrame({"问题": [True, np.bool_(False), None, np.inf]}))
    assert values_of(qingdao, "数据校验") == [["问题"], ["是"], ["否"], [""], [""]]


def test_engine_warnings_reach_the_ribbon_s_data_check_as_the_cli_s(make_book):
    """The ribbon runs the same pipeline as the CLI: a zone whose 地区 names no known place gets the
    engine's 警告 in 数据校验, in the same words, and the message counts it (it used to reach the CLI's
    数据校验 only)."""
    from xltools.jobs import run_books

    path = make_book({"开发区": [["开发区名称", "级别", "类型", "地区"], ["甲区", "国家级", "经济技术开发区", "不存在市"]]},
                     name="新区.xlsx")
    book = remote_book(path)
    message = run_handler("check", book)
    rows = values_of(book, "数据校验")
    cli = run_books([path], tasks=("quota",)).sheets["数据校验"]
    assert rows[1:] == cli.to_numpy(dtype=object).tolist() and "不存在市" in rows[1][4]
    assert "数据校验：0 个错误，1 个警告" in message            # counted as 数据校验 lists them
