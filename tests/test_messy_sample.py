"""The committed messy submission: every planted error is reported at its exact cell, nothing else.

The expected rows below were written by hand from the planted cells in
xltools/samples.py::messy_workbook (the comments there number them E1…E16).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from xltools.intake import read_book

EXPECTED = {
    # cell, level, fragment of the message
    ("开发区名录!C6", "错误", "「级别」的取值「县级」不在允许范围内"),                 # E1 unknown enumeration value
    ("开发区名录!F7", "错误", "「管理机构规格」取值有歧义"),                         # E2 ambiguous 处级
    ("开发区名录!G8", "错误", "「是否托管街道」的取值「可能」不在允许范围内"),          # E3 bad yes/no
    ("开发区名录!B9", "错误", "重复记录：「青岛经济技术开发区」与第 3 行重复"),         # E4 duplicate zone
    ("经济指标!H4", "警告", "未识别的列「填报人」"),                                   # E5 unknown column
    ("经济指标!C5", "错误", "「税收收入」应为数字：「约190.8」不是数字"),               # E6 number with words
    ("经济指标!G6", "警告", "「从业人员」单元格自带单位：「1.2万」按 12000 人 读入"),   # a cell with its own unit (SPEC §3.1)
    ("经济指标!D7", "警告", "单元格是错误值「#DIV/0!」"),                             # E7 Excel error value
    ("经济指标!F8", "错误", "「用地面积」不能为负数"),                                 # E8 negative
    ("经济指标!D9", "错误", "「12%」是百分数，但本列不是比例"),                        # E9 percent in money column
    ("经济指标!B10", "错误", "「年度」2203 不是合理的年份"),                            # E10 impossible year
    ("经济指标!G11", "错误", "「从业人员」应为整数，实为 18500.5"),                     # E11 fractional count
    ("经济指标!A12", "警告", "开发区「青岛崂山科技园区」不在「开发区名录」表中"),         # E12 unknown zone
    ("经济指标!A13", "错误", "重复记录：「青岛高新技术产业开发区、2023」与第 6 行重复"),  # E13 duplicate zone-year
    ("经济指标!A14", "错误", "必填项「开发区名称」为空"),                             # E14 missing key
    ("职数编制!C4", "错误", "「副职职数」应为数字：「四」不是数字"),                    # E15 Chinese numeral
    ("职数编制!B6", "错误", "「正职职数」应为整数，实为 1.5"),                          # E16 fractional posts
}


def test_every_planted_error_and_nothing_else(samples):
    book = read_book(samples / "问题样例.xlsx")
    got = [(p.cell, p.level, p.message) for p in book.problems]
    assert len(got) == len(EXPECTED)
    for cell, level, fragment in EXPECTED:
        assert any(c == cell and lv == level and fragment in m for c, lv, m in got), (cell, fragment, got)
    assert all(p.suggestion for p in book.problems)
    assert all(p.file == "问题样例.xlsx" for p in book.problems)


def test_realistic_forms_are_read_correctly(samples):
    """The same sample also holds forms that are fine: they must be read, not reported."""
    book = read_book(samples / "问题样例.xlsx")
    zones = book.frame("zones").set_index("zone")
    assert zones.loc["青岛蓝谷", "level"] == "省级"                 # '青岛 蓝谷', '自治区级'
    assert zones.loc["青岛经济技术开发区", "zone_type"] == "经济技术开发区"  # '经开区'
    assert zones.loc["青岛经济技术开发区", "industries"] == "高端装备制造；新一代信息技术"
    assert "合计" not in zones.index
    ind = book.frame("indicators").set_index("zone")
    hi = ind.loc["青岛高新技术产业开发区"]
    assert hi["tax"] == 685000.0                      # '６８.５' 亿元 (full width) → 万元
    assert hi["industrial_output"] == 5904000.0       # '590.4' as text
    assert hi["employees"] == 12000                   # '1.2万'
    assert hi["land_area"] == 1866.7 * 15             # 公顷 → 亩
    assert "小计" not in ind.index
    posts = book.frame("posts").set_index("zone")
    assert posts.loc["青岛蓝谷", "approved_staff"] == 110  # '１１０'


@pytest.mark.slow
def test_validate_cli_exits_1_and_lists_cells(samples):
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "validate", str(samples / "问题样例.xlsx")],
                          capture_output=True, text=True, env={"COLUMNS": "250", "PATH": ""})
    assert proc.returncode == 1, proc.stderr
    for cell, _, _ in EXPECTED:
        assert cell in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
