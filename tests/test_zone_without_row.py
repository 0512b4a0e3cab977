"""A zone with no row in the 开发区 sheet gets no amount and no verdict as if its facts were known.

SPEC §3.1 (Trust: never silently wrong): "Every number and verdict is either right or visibly
flagged; an assumption is never invisible. … **Missing is never a pass.** A check whose inputs
are absent gives 数据缺失 … **Zones.** Where a `开发区` sheet exists, a zone that appears in a
data sheet but not in it is reported and is not ranked (its group, level and type are unknown)."

The official's situation (found by an official-style trial): the 青岛 workbook's 指标 (and 职数编制,
薪酬) name a zone the 开发区 sheet does not list — a new zone nobody added there, or a zone whose
row was deleted. Its policy profile and level are unknown, so its 税收返还 and 薪酬总额 cannot be
computed, and 合规汇总 must say that it was not checked instead of leaving it out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
QINGDAO = ROOT / "sample_workbooks" / "青岛开发区.xlsx"
NEW = "青岛新设科创园区"           # named in 指标, 职数编制 and 薪酬, not in 开发区
REASON = "开发区」表中没有该开发区，无法确定适用口径和级别"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def result(path: Path) -> dict[str, pd.DataFrame]:
    """The result workbook as an official opens it: every sheet, headers as written."""
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    return {name: frame.rename(columns=lambda c: str(c).split("(")[0]) for name, frame in sheets.items()}


def run(book: Path, out: Path) -> dict[str, pd.DataFrame]:
    proc = cli("run", book, "-o", out)
    assert proc.returncode in (0, 1), proc.stderr
    return result(out)


def header_row(ws) -> dict[str, int]:
    """Column index (1-based) of each header of a sample sheet (row 2, under the title row)."""
    return {str(c.value).lstrip("*").split("(")[0]: c.column for c in ws[2] if c.value is not None}


def append(ws, values: dict[str, object]) -> None:
    cols = header_row(ws)
    row = ws.max_row + 1
    while row > 3 and all(ws.cell(row - 1, c).value is None for c in cols.values()):
        row -= 1                                     # right below the last filled row
    for name, value in values.items():
        ws.cell(row, cols[name], value)


def build(tmp: Path, profile: str | None) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Results of the sample as sent and of the sample with a zone added to 指标/职数编制/薪酬 but not
    to 开发区 (`profile`: the 参数 sheet's 政策口径, which judges zones matched to no region)."""
    plain, book = tmp / "原样.xlsx", tmp / "新增开发区.xlsx"
    wb = openpyxl.load_workbook(QINGDAO)
    if profile:
        wb["参数"].cell(3, 2, profile)
    wb.save(plain)
    for year, tax in ((2019, 10.0), (2023, 20.0)):
        append(wb["指标"], {"开发区名称": NEW, "年度": year, "税收收入": tax, "行政事业性收费": 0.5,
                           "固定资产投资": 30.0, "规上工业总产值": 200.0})
    append(wb["职数编制"], {"开发区名称": NEW, "正职职数": 1, "副职职数": 9, "核定编制": 40, "实有人数": 60})
    append(wb["薪酬"], {"开发区名称": NEW, "年度": 2023, "核定人数": 40, "基础薪酬标准": 12, "绩效薪酬系数": 0.5,
                      "税收目标": 150000, "固定资产投资目标": 250000, "规上工业总产值目标": 1800000, "项目奖励": 0})
    wb.save(book)
    return run(plain, tmp / "原样_结果.xlsx"), run(book, tmp / "新增_结果.xlsx")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The sample's own 参数 (青岛口径, which has the 税收返还 rule QD-35) judges the unlisted zone."""
    return build(tmp_path_factory.mktemp("unlisted"), None)


@pytest.fixture(scope="module")
def pay_outputs(tmp_path_factory):
    """参数 names 辽阳口径 (which has a 薪酬挂钩 rule): the listed zones stay 青岛 by their region."""
    return build(tmp_path_factory.mktemp("unlisted_pay"), "liaoyang")


def test_unlisted_zone_gets_no_tax_return_amount(outputs):
    _, got = outputs
    rows = got["税收返还"][got["税收返还"]["开发区名称"] == NEW]
    assert len(rows) == 2                                    # both years are listed, not left out
    for col in ("税收增量", "返还比例", "返还金额", "应返还下限"):
        assert rows[col].isna().all(), col                   # no amount under a guessed profile
    assert (rows["结论"] == "数据缺失").all()
    assert rows["说明"].str.contains(REASON, regex=False).all()
    assert rows["说明"].str.contains("数据缺失", regex=False).all()
    assert rows["税收收入"].notna().all()                   # what was reported is still shown


def test_unlisted_zone_gets_no_salary_pool(pay_outputs):
    _, got = pay_outputs
    row = got["薪酬测算"][got["薪酬测算"]["开发区名称"] == NEW]
    assert len(row) == 1
    for col in ("基础薪酬", "绩效薪酬", "项目奖励", "薪酬总额", "挂钩系数"):
        assert row[col].isna().all(), col
    assert REASON in row["说明"].iat[0] and "数据缺失" in row["说明"].iat[0]
    detail = got.get("薪酬明细")
    assert detail is None or not (detail["开发区名称"] == NEW).any()


def test_unlisted_zone_is_in_compliance_summary_as_not_checked(outputs):
    _, got = outputs
    summary = got["合规汇总"]
    row = summary[summary["开发区名称"] == NEW]
    assert len(row) == 1, "合规汇总 must show the zone that was not checked"
    assert row["结论"].iat[0] == "数据缺失"
    assert REASON in row["说明"].iat[0]
    for col in ("不合规项数", "预警项数"):           # unknown, not 0 (0 would read as "nothing wrong")
        assert np.isnan(row[col].iat[0]), col
    checks = got["合规检查"][got["合规检查"]["开发区名称"] == NEW]
    assert len(checks) == 1                           # no rule of a guessed profile judged it (副职 9 > 4 …)
    assert checks["结论"].iat[0] == "数据缺失" and REASON in checks["说明"].iat[0]
    notes = got["计算说明"].set_index("项目")["内容"]
    for item in ("政策口径", "排名·政策口径选择"):     # 计算说明 names no profile for it either
        assert "1 个开发区不在「开发区」表中：无法确定适用口径" in notes[item], item
        assert "不在「开发区」表中的开发区（" not in notes[item], item


@pytest.mark.parametrize("which", ["outputs", "pay_outputs"])
def test_other_zones_unchanged(which, request):
    plain, got = request.getfixturevalue(which)
    for sheet in ("税收返还", "合规汇总", "薪酬测算"):
        zones = lambda t: t[~t["开发区名称"].astype(str).str.startswith("全市合计")]   # the city line: own test below
        before = zones(plain[sheet]).reset_index(drop=True)
        after = zones(got[sheet][got[sheet]["开发区名称"] != NEW]).reset_index(drop=True)
        after = after[[c for c in after.columns if c in before.columns]]
        pd.testing.assert_frame_equal(before, after, check_dtype=False, obj=sheet)


def test_zone_whose_row_was_deleted(tmp_path):
    """The same for a zone whose 开发区 row was deleted: its 机构设置 rows exist, but no rule judges them."""
    book = tmp_path / "删行.xlsx"
    wb = openpyxl.load_workbook(QINGDAO)
    ws = wb["开发区"]
    gone = ws.cell(3, 1).value                      # 青岛经济技术开发区
    ws.delete_rows(3)
    wb.save(book)
    got = run(book, tmp_path / "删行_结果.xlsx")
    summary = got["合规汇总"][got["合规汇总"]["开发区名称"] == gone]
    assert summary["结论"].tolist() == ["数据缺失"] and REASON in summary["说明"].iat[0]
    checks = got["合规检查"][got["合规检查"]["开发区名称"] == gone]
    assert checks["结论"].tolist() == ["数据缺失"]
    returns = got["税收返还"][got["税收返还"]["开发区名称"] == gone]
    assert len(returns) and returns["返还金额"].isna().all() and (returns["结论"] == "数据缺失").all()
    assert returns["说明"].str.contains(REASON, regex=False).all()


def test_city_lines_are_not_judged_without_a_zone_missing_from_the_zone_sheet(tmp_path):
    """QD-13 「全市开发区机构总数精减…」 and the other 全市合计 checks add up a city's zones. A zone whose
    开发区 row was deleted (its 机构设置 and 职数编制 rows kept) may be the city's: leaving it out turned
    the city line from 预警 into 合规 with no word (official-style trial). Now: 数据缺失, naming the zone."""
    import openpyxl
    from xltools.engine import assess
    from xltools.intake import read_book, tables_of
    zone = "青岛经济技术开发区"
    wb = openpyxl.load_workbook(ROOT / "sample_workbooks" / "青岛开发区.xlsx")
    ws = wb["开发区"]
    ws.delete_rows(next(r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == zone))
    path = tmp_path / "少一行.xlsx"
    wb.save(path)
    out = assess(tables_of(read_book(path)), tasks=("quota",))
    d = out.sheets["合规检查"]
    city = d[d["开发区名称"].str.startswith("全市合计")]
    assert len(city) and (city["结论"] == "数据缺失").all() and city["说明"].str.contains(zone).all()
    s = out.sheets["合规汇总"]
    assert s.loc[s["级别"] == "全市", "结论"].str.startswith("数据不全").all()
