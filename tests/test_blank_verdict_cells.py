"""A blank cell that makes a compliance verdict 数据缺失 is named in 数据校验 at its cell.

SPEC §3.1 (Trust: never silently wrong), "Missing is never a pass": "A check whose inputs are
absent gives 数据缺失: … a blank cell (or 无, —) is unknown unless the schema declares that
column's blank as *none* (0 or 否, e.g. 行政事业性收费, 加分)". The verdict already said 数据缺失;
the filer must also learn which cell to fill — as a required blank does (「必填项「…」为空」).

The official's situation: 青岛开发区.xlsx comes back with three cells left blank — a 正职职数 in
职数编制, a 是否一线 and a 机构类别 in 机构设置 (two 内设机构 rows). 合规检查 says 数据缺失 for
the 领导职数 rule (QD-05/QD-06 by 级别), the 一线机构占比 (QD-15) and the 综合保障类 share (QD-16);
数据校验 must point at each of the three cells and name the rule. A blank that no rule of the zone's
policy profile reads (青岛 does not check 区块数) is not asked for: the schema says which columns
can make a verdict 数据缺失 (Column.needed_for), the verdicts say which blanks did.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import openpyxl
import pytest

from conftest import ROOT

SAMPLE = ROOT / "sample_workbooks" / "青岛开发区.xlsx"


def _header(ws) -> tuple[int, dict[str, int]]:
    """(1-based header row, header text without the required mark → 1-based column) of a sample sheet."""
    for row in ws.iter_rows(min_row=1, max_row=5):
        texts = {str(c.value).lstrip("*"): c.column for c in row if isinstance(c.value, str)}
        if "开发区名称" in texts:
            return row[0].row, texts
    raise AssertionError(f"no header in {ws.title}")


def _blank(ws, column: str, skip: set[str] = frozenset(), where: tuple[str, str] | None = None):
    """Blank the first data cell of `column` (zone not in `skip`, optionally where another column has
    a value); return (zone, cell reference as 数据校验 writes it)."""
    top, cols = _header(ws)
    for r in range(top + 1, ws.max_row + 1):
        zone = ws.cell(r, cols["开发区名称"]).value
        if zone in skip or ws.cell(r, cols[column]).value in (None, ""):
            continue
        if where is not None and ws.cell(r, cols[where[0]]).value != where[1]:
            continue
        cell = ws.cell(r, cols[column])
        cell.value = None
        return zone, f"{ws.title}!{cell.coordinate}"
    raise AssertionError(f"no {column} to blank in {ws.title}")


def _copy(tmp_path, sheet: str):
    """The sample copied to `tmp_path`, opened: (path, workbook, worksheet `sheet`, header row, columns)."""
    path = tmp_path / "青岛开发区.xlsx"
    shutil.copy(SAMPLE, path)
    wb = openpyxl.load_workbook(path)
    return (path, wb, wb[sheet], *_header(wb[sheet]))


def _results(command: str, path, out) -> dict[str, list[dict]]:
    """`xltools <command> path -o out` as the official runs it; each result sheet as a list of row dicts."""
    done = subprocess.run([sys.executable, "-m", "xltools.cli", command, str(path), "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    wb = openpyxl.load_workbook(out, read_only=True)
    sheets = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        sheets[ws.title] = [dict(zip(rows[0], r)) for r in rows[1:]] if rows else []
    return sheets


@pytest.fixture(scope="module")
def blanked(tmp_path_factory):
    """The sample with three cells blanked; (path, {cell: (zone, rule ids whose verdict it makes 数据缺失)})."""
    path = tmp_path_factory.mktemp("blanks") / "青岛开发区.xlsx"
    shutil.copy(SAMPLE, path)
    wb = openpyxl.load_workbook(path)
    top, cols = _header(wb["开发区"])
    level = {wb["开发区"].cell(r, cols["开发区名称"]).value: wb["开发区"].cell(r, cols["级别"]).value
             for r in range(top + 1, wb["开发区"].max_row + 1)}
    posts_zone, posts_cell = _blank(wb["职数编制"], "正职职数")
    front_zone, front_cell = _blank(wb["机构设置"], "是否一线", where=("机构性质", "内设机构"))
    cat_zone, cat_cell = _blank(wb["机构设置"], "机构类别", skip={front_zone}, where=("机构性质", "内设机构"))
    wb.save(path)
    posts_rule = {"国家级": "QD-05", "省级": "QD-06"}[level[posts_zone]]
    return path, {posts_cell: ("正职职数", posts_zone, posts_rule), front_cell: ("是否一线", front_zone, "QD-15"),
                  cat_cell: ("机构类别", cat_zone, "QD-16")}


def test_read_book_finds_each_blank_cell_with_its_zone(blanked):
    """Intake lists the candidates (the cells whose blank leaves a check unknown), at their cells."""
    from xltools.intake import blank_cells, read_book

    path, cells = blanked
    found = blank_cells([read_book(path)])
    for cell, (header, zone, _) in cells.items():
        at = found[found["单元格"] == cell]
        assert len(at) == 1, (cell, at)
        assert (at["文件"].iat[0], at["工作表"].iat[0], at["zone"].iat[0]) == ("青岛开发区.xlsx", cell.split("!")[0], zone)


def test_result_workbook_names_each_cell_and_the_verdict_is_missing(blanked, tmp_path):
    path, cells = blanked
    sheets = _results("run", path, tmp_path / "结果.xlsx")
    checks = sheets["数据校验"]
    for cell, (header, _, _) in cells.items():
        at = [r for r in checks if r["单元格"] == cell]
        assert len(at) == 1, (cell, at)
        assert at[0]["文件"] == "青岛开发区.xlsx" and at[0]["工作表"] == cell.split("!")[0]
        assert at[0]["级别"] == "警告" and f"「{header}」为空" in at[0]["问题"] and "数据缺失" in at[0]["问题"]
        assert f"填写「{header}」" in at[0]["建议"]

    verdicts = {(r["开发区名称"], r["规则编号"]): r["结论"] for r in sheets["合规检查"]}
    for cell, (_, zone, rule) in cells.items():
        assert verdicts[(zone, rule)] == "数据缺失", (cell, zone, rule)
        assert rule in next(r["问题"] for r in checks if r["单元格"] == cell)      # the rule it made 数据缺失
    # 青岛's own blanks that no 青岛 rule reads (区块数: only 宁夏 NX-05 checks it) are not asked for
    assert not [r for r in checks if "区块数" in (r["问题"] or "")]


def test_original_sample_reaches_these_verdicts():
    """The control: unblanked, the same rules reach a verdict (so the blank is what made them 数据缺失)."""
    from xltools.engine import assess
    from xltools.intake import read_book, tables_of

    book = read_book(SAMPLE)
    details = assess(tables_of(book), tasks=("quota",)).sheets["合规检查"]
    for rule in ("QD-05", "QD-06", "QD-15", "QD-16"):
        assert (details.loc[details["规则编号"] == rule, "结论"] != "数据缺失").all(), rule


def test_a_blank_category_of_an_institution_is_not_a_candidate(tmp_path):
    """机构类别 is counted over 内设机构 only: a 事业单位 row without it leaves no verdict unknown."""
    from xltools.intake import blank_cells, read_book

    path, wb, ws, top, cols = _copy(tmp_path, "机构设置")
    ws.cell(top + 1, cols["机构性质"]).value = "事业单位"
    ws.cell(top + 1, cols["机构类别"]).value = None
    ws.cell(top + 2, cols["机构类别"]).value = None              # a 内设机构 row: a candidate
    wb.save(path)
    found = set(blank_cells([read_book(path)])["单元格"])
    assert f"机构设置!{ws.cell(top + 1, cols['机构类别']).coordinate}" not in found
    assert f"机构设置!{ws.cell(top + 2, cols['机构类别']).coordinate}" in found


def test_no_column_declares_its_blank_both_none_and_unknown():
    from xltools.schema import NONE, SHEETS

    both = [(s.name, c.header) for s in SHEETS for c in s.columns if c.needed_for and c.blank == NONE]
    assert not both


def test_every_column_a_rule_reads_declares_what_its_blank_leaves_unchecked():
    """The declaration follows the rules, both ways: each schema column a built-in profile's rule reads
    (its fields and its `where` scope; 机构设置 through the counts of engine/zones.py) says what its
    blank leaves unchecked, and no column claims it without a rule reading it."""
    from xltools.engine.quota import KIND_FUNCS, rule_fields
    from xltools.facts import POSTS_COLUMNS, ZONE_FACTS
    from xltools.profiles import builtin_ids, load_profile
    from xltools.schema import SHEETS, SHEETS_BY_KEY

    counted = {"support_departments": "category", "economic_departments": "category", "social_departments": "category",
               "frontline_departments": "frontline", "support_institutions": "unit_type"}
    column_of = {**{fact: ("posts", col) for col, fact in POSTS_COLUMNS.items()},
                 **{fact: ("zones", fact) for fact in ZONE_FACTS if fact != "zone"}, "industry_list": ("zones", "industries"),
                 **{fact: ("departments", col) for fact, col in counted.items()}}
    read = {("indicators", "tax"), ("indicators", "actual_return")}      # the tax_return kind (engine/salary.py)
    for pid in builtin_ids():
        for rule in load_profile(pid).rules:
            if rule["kind"] in KIND_FUNCS or rule["kind"] in ("reduction", "distribution", "spread"):
                read |= {column_of[f] for f in [*rule_fields(rule), *(rule.get("where") or {})] if f in column_of}
    declared = {(s.key, c.key) for s in SHEETS for c in s.columns if c.needed_for}
    undeclared = sorted(f"{SHEETS_BY_KEY[s].name}.{SHEETS_BY_KEY[s].column(k).header}" for s, k in read - declared)
    unread = sorted(f"{SHEETS_BY_KEY[s].name}.{SHEETS_BY_KEY[s].column(k).header}" for s, k in declared - read)
    assert not undeclared and not unread, (undeclared, unread)


def test_a_row_not_read_is_not_asked_for_its_cells(tmp_path):
    """A 职数编制 row without its 开发区名称 is not read (必填项 错误): its blank 正职职数 is no candidate."""
    from xltools.intake import blank_cells, read_book

    path, wb, ws, top, cols = _copy(tmp_path, "职数编制")
    ws.cell(top + 1, cols["开发区名称"]).value = None
    ws.cell(top + 1, cols["正职职数"]).value = None
    wb.save(path)
    book = read_book(path)
    zone_cell = f"职数编制!{ws.cell(top + 1, cols['开发区名称']).coordinate}"
    posts_cell = f"职数编制!{ws.cell(top + 1, cols['正职职数']).coordinate}"
    assert [p.level for p in book.problems if p.cell == zone_cell] == ["错误"]
    assert posts_cell not in set(blank_cells([book])["单元格"])


def test_a_blank_tax_cell_is_named_where_the_tax_return_is_missing(tmp_path):
    """税收返还 (QD-35, from 2020): a zone-year whose 税收收入 is blank is 数据缺失, and 数据校验 names that cell."""
    path, wb, ws, top, cols = _copy(tmp_path, "指标")
    tax = next(c for h, c in cols.items() if h.startswith("税收收入"))
    r = next(r for r in range(top + 1, ws.max_row + 1) if ws.cell(r, cols["年度"]).value == 2022)
    zone = ws.cell(r, cols["开发区名称"]).value
    ws.cell(r, tax).value = None
    wb.save(path)
    sheets = _results("salary", path, tmp_path / "结果.xlsx")
    verdict = {(r["开发区名称"], r["年度"]): r["结论"] for r in sheets["税收返还"]}
    assert verdict[(zone, 2022)] == "数据缺失"
    cell = f"指标!{ws.cell(r, tax).coordinate}"
    at = [row for row in sheets["数据校验"] if row["单元格"] == cell]
    assert len(at) == 1 and "「税收收入」为空：QD-35" in at[0]["问题"], at
