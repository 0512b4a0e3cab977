"""The OOXML package module (xltools/ooxml.py) against packages written by other software:
XlsxWriter, openpyxl, LibreOffice, the committed samples, and hand-edited relationships
(attributes reversed, namespace prefixes, absolute targets, escapes). An XML parser
(ElementTree, the OPC rules applied by hand) is the reference for what each part says."""

from __future__ import annotations

import io
import posixpath
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from xltools import ooxml
from xltools.output.inject import inject

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "sample_workbooks").glob("*.xlsx"))
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
TRICKY = ["甲 & 乙", "a<b>c", "引\"号'中", "数据"]         # sheet names that need XML escapes


# --------------------------------------------------------------------------- reference reader
def reference_sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → part by an XML parser and the OPC rules (relative to xl/, or absolute)."""
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
        t = rel.get("Target")
        targets[rel.get("Id")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath("xl/" + t)
    book = ET.fromstring(zf.read("xl/workbook.xml"))
    return {s.get("name"): targets[s.get(f"{{{ooxml.REL_NS}}}id")] for s in book.iter(f"{{{MAIN}}}sheet")}


def members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


# --------------------------------------------------------------------------- workbooks by other software
def xlsxwriter_book(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    for i, name in enumerate(TRICKY):
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, ["名称", "数值"])
        ws.write_row(1, 0, [f"第{i}行", i])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='数据'!$B$2:$B$2"})
    wb.add_chartsheet("图表").set_chart(chart)      # a chartsheet: a sheet, but not a worksheet
    wb.close()
    return path


def openpyxl_book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = TRICKY[0]
    for name in TRICKY[1:]:
        wb.create_sheet(name).append(["名称", 1])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def libreoffice_book(tmp_path_factory) -> Path:
    from libreoffice import convert_to_xlsx
    work = tmp_path_factory.mktemp("lo")
    src = work / "src.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    for name in TRICKY:
        wb.add_worksheet(name).write_row(0, 0, ["名称", 1])
    wb.close()
    return convert_to_xlsx(src, work, "Calc MS Excel 2007 XML")


def written_by(kind: str, tmp_path: Path, libreoffice_book: Path | None = None) -> Path:
    if kind == "xlsxwriter":
        return xlsxwriter_book(tmp_path / "xw.xlsx")
    if kind == "openpyxl":
        return openpyxl_book(tmp_path / "op.xlsx")
    return Path(shutil.copy(libreoffice_book, tmp_path / "lo.xlsx"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_sheets_match_an_xml_parser(path):
    with zipfile.ZipFile(path) as zf:
        parts = ooxml.sheet_parts(zf)
        assert parts == reference_sheet_parts(zf) and list(parts) == CalamineWorkbook.from_path(str(path)).sheet_names
        assert ooxml.worksheet_parts(zf) == list(parts.values())
        types = zf.read(ooxml.CONTENT_TYPES)
        assert all(ooxml.content_type(types, p) == ooxml.WORKSHEET_TYPE for p in parts.values())


@pytest.mark.parametrize("kind", ["xlsxwriter", "openpyxl", "libreoffice"])
def test_sheets_of_workbooks_written_by_other_software(kind, tmp_path, request):
    lo = request.getfixturevalue("libreoffice_book") if kind == "libreoffice" else None
    path = written_by(kind, tmp_path, lo)
    with zipfile.ZipFile(path) as zf:
        parts = ooxml.sheet_parts(zf)
        assert parts == reference_sheet_parts(zf)
        assert list(parts)[:len(TRICKY)] == TRICKY == openpyxl.load_workbook(path).sheetnames[:len(TRICKY)]
        assert all(p in zf.namelist() for p in parts.values())
        worksheets = [parts[n] for n in TRICKY]
        assert ooxml.worksheet_parts(zf) == worksheets                  # the chartsheet is not one
        sheets = ooxml.workbook_sheets(zf.read(ooxml.WORKBOOK))
        assert [s.name for s in sheets] == list(parts) and all(s.rid and s.sheet_id.isdigit() for s in sheets)


@pytest.mark.parametrize("kind", ["xlsxwriter", "openpyxl", "libreoffice"])
def test_inject_into_workbooks_written_by_other_software(kind, tmp_path, request):
    """New result sheets announced the way each writer's own package is laid out; every other part unchanged."""
    lo = request.getfixturevalue("libreoffice_book") if kind == "libreoffice" else None
    path = written_by(kind, tmp_path, lo)
    before = members(path)
    written = inject(path, {"合规检查": pd.DataFrame({"开发区名称": ["甲区"], "得分": [1.5]}),
                            "数据": pd.DataFrame({"问题": ["无"]})}, backup=False)   # 数据 exists: replaced
    after = dict(members(path))
    assert [n for n, _ in members(path)][:len(before)] == [n for n, _ in before]   # same order, new parts last
    for name, data in before:
        if name not in {ooxml.WORKBOOK, "xl/_rels/workbook.xml.rels", ooxml.CONTENT_TYPES, written["数据"]}:
            assert after[name] == data, name
    with zipfile.ZipFile(path) as zf:
        assert ooxml.sheet_parts(zf) == reference_sheet_parts(zf)
        assert ooxml.content_type(zf.read(ooxml.CONTENT_TYPES), written["合规检查"]) == ooxml.WORKSHEET_TYPE
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[-1] == "合规检查" and book.sheetnames.count("数据") == 1
    assert [[c.value for c in r] for r in book["合规检查"].iter_rows()] == [["开发区名称", "得分"], ["甲区", 1.5]]
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("数据").to_python() == [["问题"], ["无"]]


# --------------------------------------------------------------------------- hand-edited packages
REVERSED_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f"<pr:Relationships xmlns:pr='{PKG_REL}'>"
    f"<pr:Relationship Target='/xl/worksheets/sheet2.xml' Type='{ooxml.WORKSHEET_REL}' Id='rId7'/>"
    f'<pr:Relationship Target="worksheets/sheet1.xml" Type="{ooxml.WORKSHEET_REL}"\n  Id="rId3" />'
    f'<!-- <pr:Relationship Id="rId9" Type="{ooxml.WORKSHEET_REL}" Target="gone.xml"/> -->'
    f'<pr:Relationship Id="rId4" Type="{ooxml.REL_NS}/hyperlink" Target="http://x.cn/?a=1&amp;b=&gt;2" TargetMode="External"/>'
    f'<pr:Relationship Type="{ooxml.REL_NS}/styles" Id="rId5" Target="styles.xml"></pr:Relationship>'
    f'<pr:Relationship Type="{ooxml.SHARED_STRINGS_REL}" Id="rId6" Target="sharedStrings.xml"/>'
    "</pr:Relationships>")
PREFIXED_BOOK = (
    f'<?xml version="1.0"?><x:workbook xmlns:x="{MAIN}" xmlns:rel="{ooxml.REL_NS}"><x:sheets>'
    '<x:sheet rel:id="rId3" sheetId="4" name="甲 &amp; 乙 &gt; &#x4E19;"/>'
    "<x:sheet name='第二' state='hidden' rel:id='rId7' sheetId='2'/>"
    "</x:sheets></x:workbook>")


def hand_edited(tmp_path: Path) -> Path:
    """An XlsxWriter workbook whose workbook.xml and relationships are rewritten by hand as other
    writers might: prefixes everywhere, attributes reversed, single quotes, absolute targets."""
    src = tmp_path / "src.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("one").write(0, 0, "一")
    wb.add_worksheet("two").write(0, 0, "二")
    wb.close()
    path = tmp_path / "edited.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = {"xl/workbook.xml": PREFIXED_BOOK.encode(),
                    "xl/_rels/workbook.xml.rels": REVERSED_RELS.encode()}.get(info.filename) or zin.read(info)
            zout.writestr(info.filename, data)
    return path


def test_relationships_in_any_attribute_order_prefix_and_quoting():
    rels = ooxml.relationships(REVERSED_RELS.encode())
    assert [(r.id, r.target, r.external) for r in rels] == [
        ("rId7", "/xl/worksheets/sheet2.xml", False), ("rId3", "worksheets/sheet1.xml", False),
        ("rId4", "http://x.cn/?a=1&b=>2", True), ("rId5", "styles.xml", False), ("rId6", "sharedStrings.xml", False)]       # the commented one is not there
    assert ooxml.targets(REVERSED_RELS, ooxml.WORKBOOK) == {
        "rId7": "xl/worksheets/sheet2.xml", "rId3": "xl/worksheets/sheet1.xml", "rId5": "xl/styles.xml",
        "rId6": "xl/sharedStrings.xml"}
    assert [r.id for r in ooxml.relationships(REVERSED_RELS, "/worksheet")] == ["rId7", "rId3"]


def test_a_literal_gt_or_line_break_in_a_value_reads_as_an_xml_parser_reads_it():
    rels = f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="t" Target="a>b.xml"/>' \
           '<Relationship Id="rId2" Type="t" Target="c&#x3E;d.xml"/></Relationships>'
    assert [r.target for r in ooxml.relationships(rels)] == [r.get("Target") for r in ET.fromstring(rels)] \
        == ["a>b.xml", "c>d.xml"]
    book = f'<workbook xmlns="{MAIN}" xmlns:r="{ooxml.REL_NS}"><sheets><sheet name="x>y\r\nz\t" sheetId="1" ' \
           'r:id="rId1"/><sheet name="二&#10;行" sheetId="2" r:id="rId2"/></sheets></workbook>'
    assert [s.name for s in ooxml.workbook_sheets(book)] == [s.get("name") for s in ET.fromstring(book)[0]] \
        == ["x>y z ", "二\n行"]


def test_sheets_of_a_prefixed_workbook():
    assert ooxml.workbook_sheets(PREFIXED_BOOK) == [ooxml.Sheet("甲 & 乙 > 丙", "4", "rId3", "visible"),
                                                    ooxml.Sheet("第二", "2", "rId7", "hidden")]
    assert ooxml.sheet_paths(PREFIXED_BOOK, REVERSED_RELS) == {"甲 & 乙 > 丙": "xl/worksheets/sheet1.xml",
                                                               "第二": "xl/worksheets/sheet2.xml"}


def test_a_hand_edited_package_reads_and_takes_result_sheets(tmp_path):
    path = hand_edited(tmp_path)
    assert CalamineWorkbook.from_path(str(path)).sheet_names == ["甲 & 乙 > 丙", "第二"]   # a valid package
    with zipfile.ZipFile(path) as zf:
        assert ooxml.sheet_parts(zf) == {"甲 & 乙 > 丙": "xl/worksheets/sheet1.xml", "第二": "xl/worksheets/sheet2.xml"}
        assert ooxml.worksheet_parts(zf) == ["xl/worksheets/sheet2.xml", "xl/worksheets/sheet1.xml"]
    written = inject(path, {"第二": pd.DataFrame({"替换": [1]}), "新表": pd.DataFrame({"新": ["是"]})}, backup=False)
    assert written == {"第二": "xl/worksheets/sheet2.xml", "新表": "xl/worksheets/sheet3.xml"}
    with zipfile.ZipFile(path) as zf:
        book = zf.read(ooxml.WORKBOOK).decode()
        assert '<x:sheet name="新表" sheetId="5" rel:id="rId8"/></x:sheets>' in book          # the file's own prefixes
        ET.fromstring(book), ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))            # still well-formed
        assert "<pr:Relationship Id=\"rId8\"" in zf.read("xl/_rels/workbook.xml.rels").decode()
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["甲 & 乙 > 丙", "第二", "新表"]
    assert wb.get_sheet_by_name("第二").to_python() == [["替换"], [1.0]]
    assert wb.get_sheet_by_name("甲 & 乙 > 丙").to_python() == [["一"]]
    from libreoffice import recalc_csv                         # openpyxl cannot read prefixed relationships
    assert recalc_csv(path, tmp_path, "新表") == [["新"], ["是"]]


def test_a_target_written_from_the_package_root_is_found_where_it_is():
    names = {"xl/workbook.xml", "xl/worksheets/sheet1.xml"}
    assert ooxml.resolve(ooxml.WORKBOOK, "xl/worksheets/sheet1.xml") == "xl/xl/worksheets/sheet1.xml"   # the rule
    assert ooxml.resolve(ooxml.WORKBOOK, "xl/worksheets/sheet1.xml", names) == "xl/worksheets/sheet1.xml"
    assert ooxml.resolve(ooxml.WORKBOOK, "/xl/worksheets/sheet1.xml", names) == "xl/worksheets/sheet1.xml"
    assert ooxml.resolve("xl/worksheets/sheet1.xml", "../drawings/drawing1.xml") == "xl/drawings/drawing1.xml"
    assert ooxml.resolve("", "xl/workbook.xml") == "xl/workbook.xml"
    assert ooxml.rels_part(ooxml.WORKBOOK) == "xl/_rels/workbook.xml.rels" and ooxml.rels_part("") == "_rels/.rels"
    assert ooxml.relative_target(ooxml.WORKBOOK, "xl/worksheets/sheet9.xml") == "worksheets/sheet9.xml"


# --------------------------------------------------------------------------- patching
def test_add_relationship_takes_a_fresh_id_and_the_roots_prefix():
    rels, rid = ooxml.add_relationship(REVERSED_RELS.encode(), ooxml.SHARED_STRINGS_REL, "sharedStrings.xml")
    assert rid == "rId8"
    root = ET.fromstring(rels)
    assert [(r.get("Id"), r.get("Target")) for r in root][-1] == ("rId8", "sharedStrings.xml")
    empty = f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}"/>'.encode()
    rels, rid = ooxml.add_relationship(empty, ooxml.WORKSHEET_REL, 'a&b"c.xml')
    assert rid == "rId1" and ET.fromstring(rels)[0].get("Target") == 'a&b"c.xml'
    odd = f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId2" Type="t" Target="x"/>' \
          f'<Relationship Id="rId3x" Type="t" Target="y"/><Relationship Id="R1" Type="t" Target="z"/></Relationships>'
    assert ooxml.add_relationship(odd.encode(), "t", "w")[1] == "rId3"


def test_content_types_are_declared_once():
    with zipfile.ZipFile(SAMPLES[0]) as zf:
        types = zf.read(ooxml.CONTENT_TYPES)
    once = ooxml.add_override(types, "xl/sharedStrings.xml", ooxml.SHARED_STRINGS_TYPE)
    assert ooxml.add_override(once, "/xl/sharedStrings.xml", ooxml.SHARED_STRINGS_TYPE).count(b"sharedStrings.xml") == 1
    assert ooxml.content_type(once, "xl/sharedStrings.xml") == ooxml.SHARED_STRINGS_TYPE
    changed = ooxml.add_override(once, "xl/SharedStrings.xml", "text/plain")      # part names ignore case
    assert changed.count(b"haredStrings.xml") == 1 and ooxml.content_type(changed, "xl/sharedStrings.xml") == "text/plain"
    with_png = ooxml.add_default(ooxml.add_default(types, "png", "image/png"), ".PNG", "image/png")
    defaults, overrides = ooxml.content_types(with_png)
    assert defaults["png"] == "image/png" and with_png.count(b'Extension="png"') + with_png.count(b'Extension="PNG"') == 1
    assert ooxml.content_type(with_png, "xl/media/image1.png") == "image/png"
    assert len(ET.fromstring(with_png)) == len(ET.fromstring(types)) + 1 and overrides["/xl/workbook.xml"]


def test_a_new_sheet_declares_the_relationship_namespace_unless_in_scope():
    """openpyxl declares xmlns:r on each <sheet>: a new sibling must declare it too (xltools 0.x
    wrote an unbound r:id there, a workbook openpyxl and Excel refuse)."""
    bare = f'<workbook xmlns="{MAIN}"><sheets><sheet xmlns:r="{ooxml.REL_NS}" name="a" sheetId="1" r:id="rId1"/>' \
           '</sheets></workbook>'
    book = ooxml.add_sheet(bare.encode(), "b", 2, "rId2")
    assert f'<sheet xmlns:r="{ooxml.REL_NS}" name="b" sheetId="2" r:id="rId2"/></sheets>'.encode() in book
    assert [s.get(f"{{{ooxml.REL_NS}}}id") for s in ET.fromstring(book).iter(f"{{{MAIN}}}sheet")] == ["rId1", "rId2"]
    scoped = f'<workbook xmlns="{MAIN}"><sheets xmlns:q="{ooxml.REL_NS}"></sheets></workbook>'.encode()
    assert b'<sheet name="b" sheetId="2" q:id="rId2"/></sheets>' in ooxml.add_sheet(scoped, "b", 2, "rId2")


def test_rewrite_keeps_every_other_member_and_its_place(tmp_path):
    src = xlsxwriter_book(tmp_path / "src.xlsx")
    before = members(src)
    out = tmp_path / "out.xlsx"
    with zipfile.ZipFile(src) as zin:
        ooxml.rewrite(zin, out, {"xl/styles.xml": b"<styleSheet/>", "extra/new.xml": b"<new/>", "extra/b.xml": b"<b/>"})
    after = members(out)
    assert [n for n, _ in after] == [n for n, _ in before] + ["extra/new.xml", "extra/b.xml"]
    assert dict(after)["xl/styles.xml"] == b"<styleSheet/>"
    assert all(dict(after)[n] == d for n, d in before if n != "xl/styles.xml")
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        assert [i.date_time for i in a.infolist()] == [i.date_time for i in b.infolist()][:len(before)]
    stamped = []
    for name in ("s1.xlsx", "s2.xlsx"):                       # a fixed stamp: the same bytes every time
        with zipfile.ZipFile(src) as zin:
            ooxml.rewrite(zin, tmp_path / name, {"extra/new.xml": b"<new/>"}, stamp=(1980, 1, 1, 0, 0, 0))
        stamped.append((tmp_path / name).read_bytes())
    assert stamped[0] == stamped[1]
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin:
        ooxml.rewrite(zin, buf, {})
    assert members(io.BytesIO(buf.getvalue())) == before


# --------------------------------------------------------------------------- hardened reading
DOCTYPES = ['<!DOCTYPE r [<!ENTITY a "aaaa">]>', '<!-- note --><!doctype r>', '<!ENTITY a "b">']


@pytest.mark.parametrize("declaration", DOCTYPES)
def test_a_part_declaring_a_dtd_is_refused(declaration, tmp_path):
    rels = REVERSED_RELS.replace("?>\n", "?>" + declaration, 1)
    for parse in (ooxml.relationships, ooxml.workbook_sheets, ooxml.content_types):
        with pytest.raises(ooxml.UnsafePart):
            parse(rels.encode())
    with pytest.raises(ooxml.UnsafePart):
        ooxml.add_relationship(rels.encode(), "t", "x")
    path = hand_edited(tmp_path)
    with zipfile.ZipFile(path) as zf:
        assert ooxml.declares_dtd(zf) is None
    unsafe = tmp_path / "unsafe.xlsx"
    with zipfile.ZipFile(path) as zin:
        ooxml.rewrite(zin, unsafe, {"xl/_rels/workbook.xml.rels": rels.encode()})
    with zipfile.ZipFile(io.BytesIO(unsafe.read_bytes())) as zf:       # in memory, as the reader holds it
        assert ooxml.declares_dtd(zf) == "xl/_rels/workbook.xml.rels"
        with pytest.raises(ooxml.UnsafePart):
            ooxml.sheet_parts(zf)


def test_a_doctype_mentioned_in_a_comment_or_utf16_is_judged_by_the_prolog():
    assert not ooxml.prolog_declares_dtd(b'<?xml version="1.0"?><r a="<!DOCTYPE"/>')
    assert ooxml.prolog_declares_dtd('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"))
    assert not ooxml.prolog_declares_dtd('<?xml version="1.0" encoding="UTF-16"?><r/>'.encode("utf-16"))
    assert ooxml.prolog_declares_dtd(b"<?xml?>" + b" " * ooxml.PROLOG_BYTES)          # a prolog that never ends
