"""Committed samples and template: fresh, clean, and driven by the schema."""

from __future__ import annotations

import openpyxl
import pytest
import python_calamine as pc

from xltools.intake import read_book
from xltools.samples import SAMPLE_FILES, TEMPLATE_FILES, build_samples, build_templates
from xltools.schema import ENUM, SHEETS

from conftest import SAMPLES, TEMPLATES


def grids(path):
    wb = pc.CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SAMPLE_FILES) + list(TEMPLATE_FILES))
def test_committed_artifacts_are_fresh(tmp_path, name):
    """Fails when a committed workbook differs from a rebuild: run `xltools samples`."""
    fresh = build_samples(tmp_path / "s") + build_templates(tmp_path / "t")
    fresh = {p.name: p for p in fresh}
    committed = (SAMPLES if name in SAMPLE_FILES else TEMPLATES) / name
    assert committed.exists(), f"{committed} 缺失：请运行 xltools samples"
    assert grids(committed) == grids(fresh[name]), f"{committed} 已过期：请运行 xltools samples"


@pytest.mark.slow
def test_builds_are_reproducible(tmp_path):
    a = build_samples(tmp_path / "a")
    b = build_samples(tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


@pytest.mark.parametrize("name, zones, years", [("青岛开发区.xlsx", 20, 5), ("宁夏开发区.xlsx", 23, 5)])
def test_region_samples_are_clean_and_complete(name, zones, years):
    book = read_book(SAMPLES / name)
    assert book.problems == []
    assert set(book.tables) >= {"zones", "departments", "posts", "indicators", "salary", "params"}
    assert len(book.frame("zones")) == zones
    ind = book.frame("indicators")
    assert ind.groupby("zone")["year"].nunique().eq(years).all()
    assert set(ind["zone"]) == set(book.frame("zones")["zone"])


def test_sample_units_are_converted():
    """The Qingdao sheet states 亿元 in its headers; the schema stores 万元 (QD01 2022 tax = 180 亿)."""
    ind = read_book(SAMPLES / "青岛开发区.xlsx").frame("indicators").set_index(["zone", "year"])
    assert ind.loc[("青岛经济技术开发区", 2022), "tax"] == pytest.approx(1_800_000.0)
    assert ind.loc[("青岛经济技术开发区", 2022), "energy"] == pytest.approx(520 * 1e4)  # 万吨 → 吨标准煤


def test_leiyang_staff_sheet():
    book = read_book(SAMPLES / "耒阳经开区.xlsx")
    assert book.problems == []
    staff = book.frame("staff")
    assert len(staff) == 150 and staff["person_id"].is_unique
    assert len(book.frame("departments")) == 10


def test_template_has_every_sheet_dropdowns_and_reads_back_empty(tmp_path):
    path = TEMPLATES / "开发区考核模板.xlsx"
    book = read_book(path)
    assert book.problems == [] and set(book.tables) == {s.key for s in SHEETS}
    assert all(len(t.data) == 0 for t in book.tables.values())
    wb = openpyxl.load_workbook(path)
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert ws.freeze_panes is not None
        lists = {next(iter(dv.sqref.ranges)).min_col - 1: dv.formula1 for dv in ws.data_validations.dataValidation
                 if dv.type == "list"}
        headers = [c.value for c in ws[2]]
        for i, h in enumerate(headers):
            col = next(c for c in sheet.columns if h.lstrip("*").startswith(c.header))
            if col.kind == ENUM:
                assert i in lists, (sheet.name, h)


@pytest.mark.parametrize("name", ["数据表结构.md", "政策口径.md", "审核规则.md"])
def test_generated_docs_are_fresh(name):
    from conftest import ROOT

    from xltools.reference import DOCS
    doc = ROOT / "docs" / name
    assert doc.read_text(encoding="utf-8") == DOCS[name](), f"docs/{name} 已过期：请运行 xltools samples"
