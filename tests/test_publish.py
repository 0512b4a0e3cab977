"""Results officials can publish (issue 20): formatted result sheets, print setup, charts,
得分分析, multi-source scopes and the 考核结果通报 — checked by opening the files written."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from xltools.cli import app
from xltools.output.sheets import FORMATS
from xltools.output.workbook import write_results

SHEETS_WITH_YEAR = ("薪酬测算", "税收返还", "考核排名", "得分分析", "派生指标")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def frames(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, engine="calamine")


@pytest.mark.slow
def test_every_numeric_column_has_one_number_format_and_its_unit(demo):
    """「one number format per column (万元 #,##0.00, scores 0.00, shares and growth 0.0%, counts 0)」"""
    wb = openpyxl.load_workbook(demo / "演示结果.xlsx")
    for ws in wb.worksheets:
        for col in ws.iter_cols(min_row=1):
            numbers = {c.number_format for c in col[1:] if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)}
            assert len(numbers) <= 1, (ws.title, col[0].value, numbers)
    tax = wb["税收返还"]
    header = [c.value for c in tax[1]]
    assert header[:8] == ["开发区名称", "年度", "税收收入(万元)", "税收基数(万元)", "税收增量(万元)", "返还比例(%)",
                          "返还金额(万元)", "说明"]
    row = {h: c for h, c in zip(header, tax[3])}
    assert row["税收收入(万元)"].number_format == FORMATS["money"] == "#,##0.00"
    assert row["返还比例(%)"].number_format == "0.0%" and row["年度"].number_format == "0"
    rank = wb["考核排名"]
    rh = [c.value for c in rank[1]]
    assert rh[:8] == ["开发区名称", "年度", "分组", "综合得分", "总排名", "组内排名", "等次", "排名变化"]
    assert rank.cell(2, rh.index("综合得分") + 1).number_format == "0.00"
    assert rank.cell(2, rh.index("总排名") + 1).number_format == "0"
    derived = [c.value for c in wb["派生指标"][1]]
    assert "亩均税收(万元/亩)" in derived and "税收增速(%)" in derived
    growth = wb["派生指标"].cell(3, derived.index("税收增速(%)") + 1)
    assert growth.number_format == "0.0%"


def test_print_setup_and_page_header(demo):
    """A4 landscape, header row repeated, fit to one page wide; page header says what, year, 口径."""
    wb = openpyxl.load_workbook(demo / "演示结果.xlsx")
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert ws.page_setup.fitToWidth in (None, 1)
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        if ws.title != "图表":
            assert ws.print_title_rows == "$1:$1"
        assert "第 &P 页" in ws.oddFooter.center.text
    colours = {}
    for rng in wb["合规汇总"].conditional_formatting:
        for rule in rng.rules:
            colours[rule.formula[0].strip('"')] = (str(rng.sqref), rule.dxf.fill.bgColor.rgb)
    verdict = [c.value for c in wb["合规汇总"][1]].index("结论")
    column = openpyxl.utils.get_column_letter(verdict + 1)
    assert colours["不合规"][0].startswith(f"{column}2:") and colours["不合规"][1].endswith("F8CBAD")
    assert colours["合规"][1].endswith("C6EFCE")
    header = wb["考核排名"].oddHeader
    assert header.left.text.startswith("综合考核排名") and "2023年度" in header.left.text
    assert header.right.text.startswith("口径：") and "qingdao" not in header.right.text
    assert "青岛市开发区体制机制改革口径" in header.right.text


def test_float_noise_is_removed_where_stored_and_scores_keep_their_precision(tmp_path):
    """「round to 10 significant digits, money to the cent; scores keep the precision ranks are computed on」"""
    money = [184200.00000000003, 0.125 + 0.0049999, 1 / 3]
    frame = pd.DataFrame({"开发区名称": ["甲", "乙", "丙"], "年度": [2023] * 3, "税收收入": money,
                          "返还比例": [0.1 + 0.2, 0.6, 2 / 3]})
    ranking = pd.DataFrame({"开发区名称": ["甲", "乙", "丙"], "综合得分": [55.967276123456789, 1 / 3, 2 / 3],
                            "未声明": [0.1 + 0.2, 1e-20 + 1, 123456789012.34567]})
    path = write_results(tmp_path / "r.xlsx", {"税收返还": frame, "考核排名": ranking})
    wb = openpyxl.load_workbook(path)
    tax = wb["税收返还"]
    assert [tax.cell(r, 3).value for r in (2, 3, 4)] == [184200, 0.13, 0.33]
    assert tax.cell(2, 4).value == 0.3 and tax.cell(4, 4).value == float(f"{2 / 3:.10g}")
    rank = wb["考核排名"]
    assert [rank.cell(r, 2).value for r in (2, 3, 4)] == [55.967276123456789, 1 / 3, 2 / 3]
    assert rank.cell(2, 3).value == 0.3 and rank.cell(4, 3).value == 123456789000


@pytest.mark.slow
def test_a_thousand_row_data_check_prints_in_about_25_pages(tmp_path):
    from libreoffice import convert_to_pdf

    n = 1000
    frame = pd.DataFrame({"文件": [f"报送{i % 40}.xlsx" for i in range(n)], "工作表": "指标",
                          "单元格": [f"指标!C{i + 2}" for i in range(n)], "级别": ["错误", "警告"] * (n // 2),
                          "问题": [f"「税收收入」应为数字：「约{i}万」不是数字" for i in range(n)],
                          "建议": "填写阿拉伯数字（单位：万元），不要夹带文字说明"})
    pdf = convert_to_pdf(write_results(tmp_path / "校验.xlsx", {"数据校验": frame}), tmp_path)
    assert 15 <= pdf_pages(pdf) <= 30


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@pytest.mark.slow
def test_demo_workbook_prints_in_fewer_than_40_pages(demo, tmp_path):
    from libreoffice import convert_to_pdf

    assert pdf_pages(convert_to_pdf(demo / "演示结果.xlsx", tmp_path)) < 40


def _charts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return [zf.read(n).decode() for n in sorted(zf.namelist()) if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]


def test_charts_are_native_with_ranges_on_the_chart_sheet(demo):
    results = frames(demo / "演示结果.xlsx")
    charts = _charts(demo / "演示结果.xlsx")
    kinds = [re.search(r"<c:(bar|radar|line|pie)Chart>", c).group(1) for c in charts]
    ranked = results["考核排名"]                     # a scope whose zones are all 数据缺失 has no score chart
    scopes = list(pd.unique(ranked.loc[ranked["综合得分"].notna(), "考核范围"]))
    bars = sum('<c:barDir val="bar"/>' in c for c in charts)
    columns = sum('<c:barDir val="col"/>' in c for c in charts)
    assert kinds.count("radar") == 1 and bars == len(scopes) + 1 and columns == 1   # scores per scope, 不合规项数; grades
    data = openpyxl.load_workbook(demo / "演示结果.xlsx")["图表"]
    header = [c.value for c in data[1]]
    first = charts[0]
    n = int((results["考核排名"]["考核范围"] == scopes[0]).sum())
    assert f"<c:f>图表!$A$2:$A${n + 1}</c:f>" in first and f"<c:f>图表!$B$2:$B${n + 1}</c:f>" in first
    scores = [data.cell(r, 2).value for r in range(2, n + 2)]
    assert scores == sorted(scores, reverse=True) and header[1] == f"综合得分（{scopes[0]}）"
    grades = next(c for c in charts if "等次分布" in c)
    assert "<c:barDir val=\"col\"/>" in grades and '<c:majorUnit val="1"/>' in grades
    bad = next(c for c in charts if "不合规项数" in c and "<c:barDir val=\"bar\"/>" in c)
    assert '<c:majorUnit val="1"/>' in bad and '<c:numFmt formatCode="0"' in bad


def test_multi_file_results_say_their_scope_and_keep_input_order(demo, samples):
    """「each row says which (a 考核范围 column), and ranks are never shown side by side without it」"""
    results = frames(demo / "演示结果.xlsx")
    for name in ("考核排名", "合规汇总", "指标权重", "得分分析", "税收返还", "派生指标"):
        assert results[name]["考核范围"].notna().all(), name
    rank = results["考核排名"]
    firsts = rank[rank["总排名"] == 1].groupby("考核范围").size()
    scored = rank.loc[rank["综合得分"].notna(), "考核范围"]       # a scope of 数据缺失 zones only has no first
    assert (firsts >= 1).all() and len(firsts) == scored.nunique()
    assert not rank.duplicated(["考核范围", "开发区名称"]).any()
    import python_calamine as pc
    rows = pc.CalamineWorkbook.from_path(str(samples / "青岛开发区.xlsx")).get_sheet_by_name("指标").to_python()
    head = next(i for i, r in enumerate(rows) if "*开发区名称" in r)
    zones = list(dict.fromkeys(r[rows[head].index("*开发区名称")] for r in rows[head + 1:] if r[0]))
    for name in ("税收返还", "派生指标"):
        shown = results[name][results[name]["考核范围"] == "青岛开发区.xlsx"]["开发区名称"]
        assert list(dict.fromkeys(shown)) == [z for z in zones if z in set(shown)], name


def test_score_analysis_points_lost_sum_to_the_gap_to_the_group_first(demo):
    """Weighted sum: 得分 = 100 × 权重 × 标准化值, min–max over all the zones assessed together
    (SPEC §5.4: one composite per zone, not normalised within the group; a missing value at its
    group's mean), recomputed here from the values; a zone's points lost sum to the gap between the
    group's first and itself."""
    results = frames(demo / "演示结果.xlsx")
    a = results["得分分析"].rename(columns={"权重(%)": "权重"})
    rank = results["考核排名"]
    items = a[~a["指标"].isin(["合计", "加分/扣分"])]
    assert np.allclose(items["得分"], 100 * items["权重"] * items["标准化值"], atol=1e-4, equal_nan=True)
    assert items["得分"].notna().any()
    for scope, part in items.groupby("考核范围"):
        for ind, rows in part.groupby("指标"):
            rows = rows[rows["标准化值"].notna()]            # zones ranked (not vetoed, not excluded)
            x = rows["指标值"].fillna(rows.groupby("分组")["指标值"].transform("mean"))
            span = x.max() - x.min()
            expect = (x - x.min()) / span if span > 0 else x * 0 + 1
            assert np.allclose(rows["标准化值"], expect, atol=1e-9), (scope, ind)
    totals = a[a["指标"] == "合计"].set_index(["考核范围", "开发区名称"])
    totals = totals[totals["得分"].notna()]                   # zones not ranked (数据缺失) lose no points
    lost = a[a["指标"] != "合计"].groupby(["考核范围", "开发区名称"])["较组内第一少得"].sum()
    assert np.allclose(lost.reindex(totals.index), totals["较组内第一少得"], atol=1e-5)
    scored = rank.set_index(["考核范围", "开发区名称"])
    best = rank.groupby(["考核范围", "分组"])["综合得分"].transform("max")
    gap = pd.Series((best - rank["综合得分"]).to_numpy(), index=scored.index)
    assert np.allclose(totals["较组内第一少得"], gap.reindex(totals.index), atol=1e-6)
    assert (totals["得分"] == scored["综合得分"].reindex(totals.index)).all()


def test_topsis_analysis_gives_each_indicators_share_of_the_distances():
    from xltools.engine import assess

    rng = np.random.default_rng(3)
    n = 7
    tables = {"indicators": pd.DataFrame({"zone": [f"区{i}" for i in range(n)], "year": 2023,
                                          "tax": rng.uniform(10, 100, n), "land_area": rng.uniform(50, 200, n),
                                          "value_added": rng.uniform(10, 300, n), "energy": rng.uniform(5, 50, n)})}
    from xltools.engine.ranking import RankOptions
    out = assess(tables, tasks=("rank",), rank_options=RankOptions(method="topsis", weights="entropy", normalize="vector"))
    a = out.sheets["得分分析"]
    items = a[a["指标"] != "合计"]
    shares = items.groupby("开发区名称")[["距正理想点贡献", "距负理想点贡献"]].sum()
    assert np.allclose(shares.to_numpy(), 1.0) and "满分" not in a
    # independent TOPSIS (vector normalisation) on the same values reproduces the ranking's scores
    x = items.pivot_table(index="开发区名称", columns="指标", values="指标值", sort=False)
    w = items.groupby("指标", sort=False)["权重"].first()[x.columns].to_numpy()
    v = x.to_numpy() / np.sqrt((x.to_numpy() ** 2).sum(axis=0)) * w
    dp = np.sqrt(((v - v.max(axis=0)) ** 2).sum(axis=1))
    dm = np.sqrt(((v - v.min(axis=0)) ** 2).sum(axis=1))
    rank = out.sheets["考核排名"].set_index("开发区名称")
    assert np.allclose(100 * dm / (dp + dm), rank.loc[x.index, "综合得分"], atol=1e-5)
    assert a[a["指标"] == "合计"]["说明"].str.contains("贴近度").all()


def test_rank_trajectory_of_sanctioned_zones_is_a_line_chart(tmp_path, samples):
    """Zones under sanction (奖惩建议 类别 约束) with 历年排名: their ranks over the years (line chart,
    rank 1 at the top, whole-number axis)."""
    from xltools.engine import assess
    from xltools.intake import read_book, tables_of

    tables = tables_of(read_book(samples / "宁夏开发区.xlsx"))
    first = assess(tables, tasks=("rank",))
    hit = first.sheets["奖惩建议"]
    zone = hit.loc[hit["类别"] == "约束", "开发区名称"].iloc[0]
    row = first.sheets["考核排名"].set_index("开发区名称").loc[zone]
    tables["history"] = pd.DataFrame({"zone": [zone, zone], "year": [2021, 2022], "group": [row["分组"]] * 2,
                                      "rank": [20, 22], "group_rank": [15, 17], "grade": [None, None]})
    out = assess(tables, tasks=("rank",))
    trail = out.sheets["排名轨迹"]
    assert set(trail["开发区名称"]) == {zone}
    assert list(trail["年度"]) == [2021, 2022, 2023] and list(trail["组内排名"])[:2] == [15, 17]
    path = write_results(tmp_path / "r.xlsx", out.sheets)
    line = next(c for c in _charts(path) if "<c:lineChart>" in c)
    assert 'orientation val="maxMin"' in line and '<c:majorUnit val="1"/>' in line


def test_report_docx_structure(demo):
    """Headings in the usual order of a 通报, one ranking-table row per zone of 考核排名, GB/T 9704 margins."""
    from docx import Document
    from docx.shared import Mm

    doc = Document(str(demo / "考核结果通报.docx"))
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads == ["一、考核依据", "二、考核方法", "三、考核结果", "四、等次分布", "五、编制合规情况", "六、奖惩建议",
                     "附件：考核指标值"]
    title = next(p for p in doc.paragraphs if p.style.name == "Title")
    assert title.text == "关于2023年度开发区综合考核结果的通报"
    rank = frames(demo / "演示结果.xlsx")["考核排名"]
    tables = [t for t in doc.tables if t.rows[0].cells[0].text == "组内排名"]
    assert sum(len(t.rows) - 1 for t in tables) == len(rank)
    names = [t.rows[r].cells[1].text for t in tables for r in range(1, len(t.rows))]
    assert sorted(names) == sorted(rank["开发区名称"])
    s = doc.sections[0]
    assert (round(s.top_margin / Mm(1)), round(s.bottom_margin / Mm(1)), round(s.left_margin / Mm(1)),
            round(s.right_margin / Mm(1))) == (37, 35, 28, 26)
    assert round(s.page_width / Mm(1)) == 210 and round(s.page_height / Mm(1)) == 297
    body = "\n".join(p.text for p in doc.paragraphs)
    hit = frames(demo / "演示结果.xlsx")["奖惩建议"]
    measures = hit[~hit["开发区名称"].isin(["（无）"])]           # placeholder rows are one sentence, unmarked
    assert body.count("建议，须经复核") == len(measures) + 1 and ".txt" not in body   # + the line introducing them
    assert "qingdao" not in body and "wsum" not in body


def test_report_says_when_a_group_has_one_zone(demo):
    """SPEC §3.1: 「single-member groups are ranked but the row says 组内仅 1 个开发区」 — the 通报 says
    it too, under each such table (the demo's 耒阳 scope is one zone scoring 100), and only there."""
    from docx import Document

    body = "\n".join(p.text for p in Document(str(demo / "考核结果通报.docx")).paragraphs)
    rank = frames(demo / "演示结果.xlsx")["考核排名"]
    scored = rank.assign(s=pd.to_numeric(rank["综合得分"], errors="coerce").notna())
    lone = (scored.groupby(["考核范围", "分组"], sort=False)["s"].sum() == 1).sum()
    assert lone >= 1 and body.count("组内仅 1 个开发区参评") == lone


@pytest.mark.slow
def test_report_renders_to_pdf_with_its_chinese_title(demo, tmp_path):
    """CI renders the PDF: page 1 as PNG is not blank, and pdftotext finds the Chinese title."""
    from libreoffice import soffice

    soffice()                                            # fails in CI when LibreOffice is missing
    out = tmp_path / "通报.docx"
    result = CliRunner().invoke(app, ["report", str(demo / "演示结果.xlsx"), "-o", str(out), "--pdf"])
    assert result.exit_code == 0, result.output
    pdf = out.with_suffix(".pdf")
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "开发区综合考核结果的通报" in re.sub(r"\s+", "", text)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p-*1.png"))
    from PIL import Image
    pixels = np.asarray(Image.open(png).convert("L"))
    assert (pixels < 128).mean() > 0.005                 # ink on the page


def test_report_needs_a_ranking(tmp_path):
    out = tmp_path / "r.xlsx"
    write_results(out, {"数据校验": pd.DataFrame(columns=["文件", "工作表", "单元格", "级别", "问题", "建议"])})
    result = CliRunner().invoke(app, ["report", str(out), "-o", str(tmp_path / "通报.docx")])
    assert result.exit_code == 2 and "考核排名" in result.output and not (tmp_path / "通报.docx").exists()


def test_ribbon_result_sheets_get_the_same_headers_and_number_formats(samples):
    """The ribbon writes the sheets the CLI writes: units in headers, one number format per column."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from test_ribbon import remote_book, values_of
    from xltools.ribbon import run_handler

    book = remote_book(samples / "青岛开发区.xlsx")           # 宁夏口径 states no tax return (QD-35 is Qingdao's)
    run_handler("salary", book)
    header = values_of(book, "税收返还")[0]
    assert header[2] == "税收收入(万元)" and header[5] == "返还比例(%)"
    formats = {(a["start_column"], a["args"][0]) for a in book.json()["actions"]
               if a["func"] == "setNumberFormat" and a["sheet_position"] == len(book.sheets) - 2}
    assert (2, "#,##0.00") in formats and (5, "0.0%") in formats
    assert len({col for col, _ in formats}) == len(formats)          # one format per column


@pytest.mark.slow
def test_report_from_an_input_workbook_and_never_over_a_users_document(tmp_path, samples):
    """An input workbook is computed first; an edited 通报 (saved by someone else) is never replaced."""
    from docx import Document

    out = tmp_path / "通报.docx"
    result = CliRunner().invoke(app, ["report", str(samples / "宁夏开发区.xlsx"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = Document(str(out))
    from xltools.jobs import run_books
    ranked = run_books([samples / "宁夏开发区.xlsx"]).sheets["考核排名"]
    assert sum(len(t.rows) - 1 for t in doc.tables if t.rows[0].cells[0].text == "组内排名") == len(ranked)
    again = CliRunner().invoke(app, ["report", str(samples / "宁夏开发区.xlsx"), "-o", str(out)])
    assert again.exit_code == 0                                    # its own, unedited: replaced
    doc.core_properties.last_modified_by = "张科长"
    doc.add_paragraph("科长的修改")
    doc.save(str(out))
    before = out.read_bytes()
    refused = CliRunner().invoke(app, ["report", str(samples / "宁夏开发区.xlsx"), "-o", str(out)])
    assert refused.exit_code == 2 and "已存在" in refused.output and out.read_bytes() == before


def test_score_analysis_with_fixed_weights_and_a_bonus_sums_to_the_gap():
    """加分 is part of the gap: the 加分/扣分 row carries it, so points lost still sum to the gap."""
    from xltools.engine import assess

    rng = np.random.default_rng(8)
    n = 6
    tables = {"indicators": pd.DataFrame({"zone": [f"园{i}" for i in range(n)], "year": 2023,
                                          "tax": rng.uniform(10, 100, n), "land_area": rng.uniform(50, 200, n),
                                          "value_added": rng.uniform(10, 300, n), "energy": rng.uniform(5, 50, n),
                                          "bonus": [0, 2.5, 0, 0, 1, 0], "deduction": [0, 0, 3, 0, 0, 0]}),
              "indicator_system": pd.DataFrame({"indicator": ["亩均税收", "单位能耗增加值"], "direction": ["正向", "正向"],
                                                "weight": [0.7, 0.3]})}
    out = assess(tables, tasks=("rank",))
    rank = out.sheets["考核排名"].set_index("开发区名称")
    a = out.sheets["得分分析"]
    top = rank["综合得分"].max()
    lost = a[a["指标"] != "合计"].groupby("开发区名称")["较组内第一少得"].sum()
    assert np.allclose(lost.reindex(rank.index), top - rank["综合得分"], atol=1e-5)
    adj = a[a["指标"] == "加分/扣分"].set_index("开发区名称")["得分"]
    assert {z: v for z, v in adj.items() if v != 0} == pytest.approx({"园1": 2.5, "园2": -3.0, "园4": 1.0})
    items = a[~a["指标"].isin(["合计", "加分/扣分"])]
    assert np.allclose(items["权重"].unique(), [0.7, 0.3]) and np.allclose(items.groupby("开发区名称")["满分"].sum(), 100)


# ---------------------------------------------------------------- audit of issue 20: the 通报's wording
def _report_text(sheets) -> tuple[str, object]:
    from xltools.report import build_report

    doc, _ = build_report(sheets)
    return "\n".join(p.text for p in doc.paragraphs), doc


def _ranking(scopes: dict[str, tuple[int, list[object]]]) -> pd.DataFrame:
    """考核排名 rows: scope → (year, grades of its zones)."""
    rows = []
    for scope, (year, grades) in scopes.items():
        for i, grade in enumerate(grades, start=1):
            rows.append({"开发区名称": f"{scope[0]}区{i}", "年度": year, "分组": "省级", "综合得分": 100.0 - 10 * i,
                         "总排名": i, "组内排名": i, "等次": grade, "考核范围": scope})
    return pd.DataFrame(rows)


def test_report_counts_zones_and_gives_the_city_line_on_its_own():
    """The 全市合计 line (级别 全市) of 合规汇总 is not a zone: 「共检查 3 个开发区」, then the city line."""
    summary = pd.DataFrame({"开发区名称": ["甲区", "乙区", "丙区", "全市合计（青岛市开发区体制机制改革口径）"],
                            "级别": ["省级", "省级", "国家级", "全市"], "结论": ["合规", "预警", "合规", "预警"]})
    text, _ = _report_text({"考核排名": _ranking({"A.xlsx": (2023, ["优秀", "良好"])}), "合规汇总": summary})
    assert "共检查 3 个开发区：合规 2 个，预警 1 个。" in text
    assert "全市合计（青岛市开发区体制机制改革口径）：预警。" in text


def test_report_prints_placeholders_as_one_sentence_and_review_once():
    """「（无）」 rows of 奖惩建议 say nothing triggered: one sentence each, never a numbered 「（无）：无」;
    a scope without grades says 「未评定等次」, never 「….xlsx：。」; 建议，须经复核 once per measure."""
    hits = pd.DataFrame({
        "开发区名称": ["（无）", "乙区1", "乙区2", "（无）"], "年度": 2023,
        "触发条件": ["本年度无触发条件（已检查 QD-44）", "组内第1名", "组内末位", "所用政策口径未规定奖惩规则"],
        "建议措施": ["无", "按程序提高管理机构规格（建议）", "黄牌警告并约谈主要负责人（建议，须经复核）", "无"],
        "依据": [np.nan, "001_931d1ae76ef899de.txt：对成绩优异的开发区按程序提高其管理机构规格", "", np.nan],
        "考核范围": ["A.xlsx", "B.xlsx", "B.xlsx", "C.xlsx"]})
    ranking = _ranking({"A.xlsx": (2023, ["优秀", "良好"]), "B.xlsx": (2023, ["优秀", "较差"]), "C.xlsx": (2023, [None])})
    text, _ = _report_text({"考核排名": ranking, "奖惩建议": hits})
    assert "（无）：" not in text and "：无" not in text and "依据：。" not in text and "：。" not in text
    assert "A.xlsx 报送的开发区：本年度无触发条件（已检查 QD-44）。" in text
    assert "C.xlsx 报送的开发区：所用政策口径未规定奖惩规则。" in text
    assert "C.xlsx 报送的开发区：未评定等次。" in text
    numbered = [line for line in text.splitlines() if re.match(r"\d+\. ", line)]
    assert [line.split("：")[0] for line in numbered] == ["1. 乙区1", "2. 乙区2"]
    assert all(line.count("建议，须经复核") == 1 and "（建议）" not in line for line in numbered), numbered
    assert "按程序提高管理机构规格（建议，须经复核）。" in numbered[0]
    assert "依据：《推进开发区管理体制机制创新" in numbered[0] and "依据" not in numbered[1]


def test_report_annex_shows_numbers_as_the_workbook_declares_them():
    """The annex reads like the workbook: 税收增速 0.06 is 6.0% under 「税收增速(%)」, 亩均税收 in 万元/亩,
    and the scope is named as 「A.xlsx 报送的开发区」, not the bare file name."""
    ranking = _ranking({"A.xlsx": (2023, ["优秀", "良好"])})
    analysis = pd.DataFrame({"开发区名称": ["A区1", "A区1", "A区2", "A区2"], "年度": 2023, "分组": "省级",
                             "指标": ["亩均税收", "税收增速"] * 2, "指标值": [47.865353, 0.06, 24.2, -0.0126],
                             "考核范围": "A.xlsx"})
    text, doc = _report_text({"考核排名": ranking, "得分分析": analysis})
    annex = doc.tables[-1]
    assert [c.text for c in annex.rows[0].cells] == ["开发区名称", "亩均税收(万元/亩)", "税收增速(%)"]
    assert [c.text for c in annex.rows[1].cells] == ["A区1", "47.87", "6.0%"]
    assert [c.text for c in annex.rows[2].cells][2] == "-1.3%"
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert heads == ["A.xlsx 报送的开发区 · 省级（2 个开发区）", "A.xlsx 报送的开发区"]


def test_page_header_names_the_assessment_year_not_the_span_of_data_years(tmp_path):
    """A 2023 ranking is headed 「2023年度」 even when another 考核范围 was assessed on 2019 (named
    beside it); a data sheet over several years keeps its span 「2019—2023年度」."""
    ranking = _ranking({"A.xlsx": (2023, ["优秀", "良好"]), "B.xlsx": (2019, ["优秀"])})
    derived = pd.DataFrame({"开发区名称": ["A区1"] * 5, "年度": range(2019, 2024), "亩均税收": 1.0, "考核范围": "A.xlsx"})
    path = write_results(tmp_path / "y.xlsx", {"考核排名": ranking, "派生指标": derived,
                                               "得分分析": ranking[ranking["考核范围"] == "A.xlsx"].assign(指标="合计")})
    wb = openpyxl.load_workbook(path)
    assert wb["考核排名"].oddHeader.left.text.endswith("综合考核排名　2023年度（B.xlsx：2019年度）")
    assert wb["得分分析"].oddHeader.left.text.endswith("　2023年度")
    assert wb["派生指标"].oddHeader.left.text.endswith("　2019—2023年度")


def test_score_analysis_states_the_weights_ranked_on_without_float_noise(demo):
    """「权重 as stated」: the demo's fixed weights (0.25, 0.5, 1) are shown as such, and each 满分 is
    100 × 权重 exactly — not 0.2500003071 / 25.00003 read back from rounded points."""
    a = frames(demo / "演示结果.xlsx")["得分分析"].rename(columns={"权重(%)": "权重"})
    items = a[~a["指标"].isin(["合计", "加分/扣分"])]
    assert set(items["权重"]) <= {0.25, 0.5, 1.0}, sorted(set(items["权重"]))
    assert (items["满分"] == 100 * items["权重"]).all()
    assert np.allclose(items.groupby(["考核范围", "开发区名称"])["满分"].sum(), 100, rtol=0, atol=1e-12)
    lost = a["较组内第一少得"].dropna()
    assert (lost == lost.round(6)).all()                  # differences of 6-decimal points keep 6 decimals


def test_score_analysis_reads_back_weights_with_more_digits_than_stated():
    """Weights 1 : 1 : 1 are ranked on as 1/3 each, which 「指标权重」 states to 6 decimals (0.333333):
    the analysis uses the weight that reproduces the ranked points (得分 = 100 × 权重 × 标准化值 to the
    points' 6 decimals), read back where it is most precise, not 0.333333 (off by 3.3e-5 points)."""
    from xltools.engine import assess

    rng = np.random.default_rng(3)
    n = 12
    tables = {"indicators": pd.DataFrame({"zone": [f"园{i}" for i in range(n)], "year": 2023,
                                          "tax": rng.uniform(10, 100, n), "land_area": rng.uniform(50, 200, n),
                                          "value_added": rng.uniform(10, 300, n), "energy": rng.uniform(5, 50, n)}),
              "indicator_system": pd.DataFrame({"indicator": ["亩均税收", "亩均增加值", "单位能耗增加值"],
                                                "direction": "正向", "weight": [1.0, 1.0, 1.0]})}
    out = assess(tables, tasks=("rank",))
    a = out.sheets["得分分析"]
    items = a[~a["指标"].isin(["合计", "加分/扣分"])]
    assert out.sheets["指标权重"]["权重"].tolist() == [0.333333] * 3
    assert np.allclose(items["得分"], 100 * items["权重"] * items["标准化值"], rtol=0, atol=1e-6)
    assert np.allclose(items["权重"], 1 / 3, rtol=0, atol=1e-8) and np.allclose(items["满分"], 100 / 3, atol=1e-6)
