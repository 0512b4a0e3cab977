"""The template's native formula layer (sheet 计算), recalculated in LibreOffice, equals the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import TEMPLATES

from xltools.engine.indicators import derive
from xltools.engine.quota import check_quota, zone_facts
from xltools.engine.ranking import RankOptions, rank_zones
from xltools.engine.scoring import competition_rank
from xltools.intake import read_book, tables_of

EXAMPLE = TEMPLATES / "开发区考核模板（示例）.xlsx"
ERRORS = ("#VALUE!", "#N/A", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "Err:", "#NULL!")


def recalc(path, work) -> pd.DataFrame:
    from libreoffice import recalc_csv
    rows = recalc_csv(path, work, "计算")
    for r in rows:
        for v in r:
            assert not any(v.startswith(e) for e in ERRORS), (r[0], v)
    header = rows[2]
    body = [r for r in rows[3:] if r[0]]
    return pd.DataFrame(body, columns=header).set_index("开发区名称")


@pytest.fixture(scope="module")
def calc(tmp_path_factory):
    return recalc(EXAMPLE, tmp_path_factory.mktemp("lo"))


@pytest.fixture(scope="module")
def tables():
    book = read_book(EXAMPLE)
    assert book.problems == []
    return tables_of(book)


NO_ROWS = "青岛经济技术开发区"          # 国家级 with 9 departments (QD-09 不合规) — its rows deleted
UNSORTED = "胶州经济技术开发区"         # one department without 机构类别 / 是否一线
TWO_PRINCIPALS, VACANT, NO_DEPUTIES = "青岛高新技术产业开发区", "中德生态园", "青岛蓝谷"


def plant_edge_cases(frames):
    d = frames["departments"] = frames["departments"][frames["departments"]["zone"] != NO_ROWS].copy()
    first = d.index[d["zone"] == UNSORTED][0]
    d.loc[first, ["category", "frontline"]] = None
    p = frames["posts"]
    p.loc[p["zone"] == TWO_PRINCIPALS, "principals"] = 2          # 2正4副 → 预警 (「一般」), never 不合规
    p.loc[p["zone"] == VACANT, "principals"] = 0                  # a vacancy → 合规 (posts are ceilings)
    p.loc[p["zone"] == NO_DEPUTIES, "deputies"] = None            # blank → 数据缺失


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    from xltools.samples import build_example
    work = tmp_path_factory.mktemp("edge")
    path = build_example(work / "边界.xlsx", plant_edge_cases)
    return recalc(path, work), tables_of(read_book(path))


def num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.str.rstrip("%"), errors="coerce").to_numpy() / np.where(s.str.endswith("%"), 100, 1)


@pytest.mark.slow
def test_every_zone_and_no_error_values(calc, tables):
    assert list(calc.index) == tables["zones"]["zone"].tolist()


def assert_counts_match(calc, tables):
    facts = zone_facts(tables).reindex(calc.index)
    for column, fact in (("内设机构数", "departments"), ("综合保障类机构数", "support_departments"),
                         ("一线机构数", "frontline_departments")):
        assert np.array_equal(num(calc[column]), facts[fact].to_numpy(dtype=float), equal_nan=True), column


def assert_verdicts_match(calc, tables):
    d = check_quota(tables, "qingdao").details.set_index(["开发区名称", "规则编号"])["结论"]
    for zone, row in calc.iterrows():
        assert row["QD-09 内设机构（国家级≤8）"] == d.get((zone, "QD-09"), "不适用"), zone
        assert row["QD-16 综合保障≤1/3"] == d[(zone, "QD-16")], zone
        assert row["QD-15 一线约70%（60%–80%）"] == d[(zone, "QD-15")], zone
        posts = d.get((zone, "QD-05"), d.get((zone, "QD-06"), "不适用"))
        assert row["QD-05/06 领导职数"] == posts, zone


@pytest.mark.slow
def test_counts_match_zone_facts(calc, tables):
    assert_counts_match(calc, tables)


@pytest.mark.slow
def test_compliance_verdicts_match_the_engine(calc, tables):
    assert_verdicts_match(calc, tables)
    assert (calc["QD-09 内设机构（国家级≤8）"] == "不合规").sum() == 1         # the planted 9th department


@pytest.mark.slow
def test_edge_cases_match_the_engine(edge):
    """Issue 14/15 in the native formulas: no 机构设置 rows and blanks are 数据缺失; posts are soft ceilings."""
    calc, tables = edge
    assert_counts_match(calc, tables)
    assert_verdicts_match(calc, tables)
    assert calc.loc[NO_ROWS, "内设机构数"] == "" and calc.loc[NO_ROWS, "QD-09 内设机构（国家级≤8）"] == "数据缺失"
    assert calc.loc[UNSORTED, "QD-16 综合保障≤1/3"] == "数据缺失" and calc.loc[UNSORTED, "QD-15 一线约70%（60%–80%）"] == "数据缺失"
    posts = calc["QD-05/06 领导职数"]
    assert (posts[TWO_PRINCIPALS], posts[VACANT], posts[NO_DEPUTIES]) == ("预警", "合规", "数据缺失")


@pytest.mark.slow
def test_per_mu_indicators_match(calc, tables):
    derived, _ = derive(tables["indicators"])
    d = derived[derived["year"] == 2023].set_index("zone").reindex(calc.index)
    assert num(calc["亩均税收"]) == pytest.approx(d["亩均税收"].to_numpy(), rel=1e-12)
    assert num(calc["亩均增加值"]) == pytest.approx(d["亩均增加值"].to_numpy(), rel=1e-12)


@pytest.mark.slow
def test_weighted_score_and_ranks_match(calc, tables):
    t = dict(tables)
    t["indicator_system"] = pd.DataFrame({"indicator": ["亩均税收", "亩均增加值"], "direction": ["正向", "正向"],
                                          "weight": [0.5, 0.5]})
    res = rank_zones(t, "qingdao", RankOptions(by=[], normalize="minmax", method="wsum", weights="fixed"))
    r = res.ranking.set_index("开发区名称").reindex(calc.index)
    assert num(calc["综合得分"]) == pytest.approx(r["综合得分"].to_numpy(), abs=1e-6)
    assert num(calc["总排名"]).tolist() == r["总排名"].tolist()
    level = tables["zones"].set_index("zone")["level"].reindex(calc.index).to_numpy()
    within = competition_rank(r["综合得分"].to_numpy(), level)
    assert num(calc["组内排名（按级别）"]).tolist() == within.tolist()


def test_blank_template_has_the_formula_sheet():
    import python_calamine as pc
    names = pc.CalamineWorkbook.from_path(str(TEMPLATES / "开发区考核模板.xlsx")).sheet_names
    assert names[-1] == "计算"


@pytest.mark.slow
def test_group_rank_compares_scores_as_numbers_like_rank_eq(tmp_path):
    """Issue 16: `COUNTIFS(…,">"&$U4)` compared a 15-digit text rendering of the score. The group rank
    must treat scores exactly as RANK.EQ does in the same spreadsheet: here RANK.EQ over the scores
    of the 国家级 group only (column Y) is the reference, with ties, scores that differ beyond the
    15th digit (0.1+0.2 and 0.3, 1/3), a blank score and a zone of another group mixed in."""
    import xlsxwriter

    from libreoffice import recalc_csv
    from xltools.templates import CALC_COLUMNS

    group_rank = dict((c[0], c[1]) for c in CALC_COLUMNS)["组内排名（按级别）"]
    path = tmp_path / "rank.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("计算")
    rows = [("甲", "国家级", 0.1 + 0.2), ("乙", "国家级", 0.3), ("丙", "国家级", 1 / 3), ("丁", "省级", 0.9),
            ("戊", "国家级", None), ("己", "国家级", 1 / 3), ("庚", "国家级", 2 / 3)]
    last = 3 + len(rows)
    for i, (zone, level, score) in enumerate(rows):
        r = 4 + i
        sheet.write(f"A{r}", zone)
        sheet.write(f"B{r}", level)
        sheet.write(f"U{r}", "" if score is None else score)
        sheet.write_formula(f"W{r}", group_rank.format(r=r))
        sheet.write_formula(f"Y{r}", f'=IF(AND($B{r}="国家级",$U{r}<>""),$U{r},"")')
        sheet.write_formula(f"Z{r}", f'=IF($Y{r}="","",_xlfn.RANK.EQ($Y{r},$Y$4:$Y${last},0))')
    book.close()
    out = recalc_csv(path, tmp_path)[3:last]
    by_zone = {row[0]: (row[22], row[25]) for row in out}
    for zone, (got, reference) in by_zone.items():
        if zone not in ("丁", "戊"):
            assert got == reference and got != "", zone
    assert by_zone["丁"][0] == "1" and by_zone["戊"][0] == ""
    assert by_zone["庚"][0] == "1" and by_zone["丙"][0] == by_zone["己"][0]     # ties share the better rank
