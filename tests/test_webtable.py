"""".xls" files that are web pages or XML 2003 tables (as many government systems export them)
are read as Excel shows them; LibreOffice, opening the same files, is the independent reference."""

from __future__ import annotations

import pandas as pd
import pytest

from libreoffice import convert_to_xlsx
from xltools.intake import read_book
from xltools.intake.reader import read_sheets

# An Excel-style web page in GB2312: a merged title, a unit row, a two-row header with rowspan/colspan,
# <br> in a header, &nbsp; in a name, Excel's x:num numbers, thousands separators, a 合计 row.
EXPORTED_PAGE = """<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>指标</x:Name>
</x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]--></head><body>
<table border="1">
<tr><td colspan="5" align="center">2023年开发区主要经济指标</td></tr>
<tr><td colspan="5">单位：万元、亩</td></tr>
<tr><th rowspan="2">开发区名称</th><th rowspan="2">年度</th><th colspan="2">财政</th><th rowspan="2">用地面积<br>(亩)</th></tr>
<tr><th>税收收入</th><th>一般公共预算收入</th></tr>
<tr><td>青岛&nbsp;西海岸新区</td><td x:num="2023">2023</td><td x:num="1234.5">1,234.50</td><td>2,000</td><td>3000</td></tr>
<tr><td>胶州经济技术开发区</td><td>2023</td><td>987.6</td><td>1500</td><td>2,500</td></tr>
<tr><td>合计</td><td></td><td>2222.1</td><td>3500</td><td>5500</td></tr>
</table></body></html>"""

XML_2003 = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="开发区名录"><Table>
  <Row><Cell ss:MergeAcross="3"><Data ss:Type="String">开发区基本情况</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">开发区名称</Data></Cell><Cell><Data ss:Type="String">级别</Data></Cell>
       <Cell><Data ss:Type="String">类型</Data></Cell><Cell><Data ss:Type="String">批准面积(平方公里)</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">青岛西海岸新区</Data></Cell><Cell ss:MergeDown="1"><Data ss:Type="String">国家级</Data></Cell>
       <Cell><Data ss:Type="String">经济技术开发区</Data></Cell><Cell><Data ss:Type="Number">27.4</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">胶州经济技术开发区</Data></Cell>
       <Cell ss:Index="3"><Data ss:Type="String">经济技术开发区</Data></Cell><Cell><Data ss:Type="Number">12</Data></Cell></Row>
 </Table></Worksheet>
 <Worksheet ss:Name="说明"><Table><Row><Cell><Data ss:Type="String">本表由系统导出</Data></Cell></Row></Table></Worksheet>
</Workbook>"""


def _typed(book, key):
    return book.frame(key).reset_index(drop=True)


def _cells(book):
    """Problems by cell (without the sheet name, which LibreOffice does not keep) and message."""
    return sorted((p.cell.split("!")[-1], p.message) for p in book.problems if p.cell and "表名" not in p.message)


@pytest.mark.slow
@pytest.mark.parametrize("name, text, encoding, infilter, key", [
    ("指标导出.xls", EXPORTED_PAGE, "gb18030", "HTML (StarCalc)", "indicators"),
    ("开发区导出.xls", XML_2003, "utf-8", "MS Excel 2003 XML", "zones"),
])
def test_an_exported_table_reads_as_libreoffice_reads_it(tmp_path, name, text, encoding, infilter, key):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    ours = read_book(path)
    theirs = read_book(convert_to_xlsx(path, tmp_path, infilter))
    assert ours.usable and len(ours.tables[key]) == 2
    pd.testing.assert_frame_equal(_typed(ours, key), _typed(theirs, key))
    assert _cells(ours) == _cells(theirs) and _cells(ours)                  # the unknown column, at the same cell
    note = ours.problems[0]
    assert note.level == "警告" and note.message.startswith("本文件是") and "另存为" in note.suggestion


def test_a_utf16_page_is_read(tmp_path):
    path = tmp_path / "导出.xls"
    path.write_bytes(EXPORTED_PAGE.replace("charset=gb2312", "charset=unicode").encode("utf-16"))
    assert read_book(path).frame("indicators")["zone"].tolist() == ["青岛西海岸新区", "胶州经济技术开发区"]


def test_the_sheet_names_a_page_or_xml_file_carries_are_used(tmp_path):
    page, xml = tmp_path / "a.xls", tmp_path / "b.xls"
    page.write_bytes(EXPORTED_PAGE.encode("gb18030"))
    xml.write_text(XML_2003, encoding="utf-8")
    assert [s.name for s in read_sheets(page)] == ["指标"]
    assert [s.name for s in read_sheets(xml)] == ["开发区名录", "说明"]
    assert read_book(page).tables["indicators"].title == "指标"


def test_a_page_layout_frame_around_the_data_table_is_looked_through(tmp_path):
    """Some systems wrap the data table in a layout table (title cell, then a cell holding the table)."""
    path = tmp_path / "开发区.xls"
    path.write_text('<html><body><table><tr><td><b>开发区名录</b></td></tr><tr><td><TABLE border=1>'
                    '<TR><TH>开发区名称<TH>级别<TH>类型'               # unclosed cells, as old pages write them
                    '<TR><TD><font>甲区</font><TD>国家级<TD>经济技术开发区</TABLE></td></tr></table></body></html>',
                    encoding="utf-8")
    assert [(s.name, s.grid) for s in read_sheets(path)] == [
        ("开发区", [["开发区名称", "级别", "类型"], ["甲区", "国家级", "经济技术开发区"]])]
    assert read_book(path).frame("zones")["level"].tolist() == ["国家级"]


def test_page_markup_is_taken_as_browsers_take_it(tmp_path):
    """Comments and scripts never add cells, a quoted '>' does not end a tag, entities are decoded,
    tags in any case, spaces folded, <br> kept as a line break."""
    path = tmp_path / "x.xls"
    path.write_text('<HTML><script>var s = "<td>not a cell</td>";</script><!-- <td>old</td> -->'
                    '<Table><TR><TD title="a>b">R&amp;D&nbsp;&lt;研发&gt;</TD><td x:num=\'12.5\'>12.50</td></TR>'
                    '<tr><td>第一行<BR/>  第二行 </td><td   rowspan = "2" >跨两行</td></tr><tr><td>下</td></tr>'
                    '</table></HTML>', encoding="utf-8")
    assert read_sheets(path)[0].grid == [["R&D <研发>", 12.5], ["第一行\n第二行", "跨两行"], ["下", "跨两行"]]


def test_xml_row_and_cell_indices_and_merges_lay_out_as_excel_does(tmp_path):
    """ss:Index skips rows and cells (1-based); MergeAcross/MergeDown cover cells, which take the value."""
    path = tmp_path / "x.xls"
    path.write_text('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
                    'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
                    '<Row ss:Index="2"><Cell ss:Index="2" ss:MergeAcross="1" ss:MergeDown="1"><Data ss:Type="Number">1'
                    '</Data></Cell><Cell><Data ss:Type="Boolean">1</Data></Cell></Row>'
                    '<Row><Cell><Data ss:Type="String">a</Data></Cell><Cell ss:Index="4"><Data ss:Type="DateTime">'
                    '2023-05-01T00:00:00.000</Data></Cell></Row></Table></Worksheet></Workbook>', encoding="utf-8")
    import datetime as dt
    assert read_sheets(path)[0].grid == [["", "", "", ""], ["", 1.0, 1.0, True], ["a", 1.0, 1.0, dt.datetime(2023, 5, 1)]]


def test_xml_indices_that_are_not_positive_numbers_are_ignored(tmp_path):
    path = tmp_path / "x.xls"
    path.write_text('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
                    'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
                    '<Row><Cell><Data ss:Type="String">a</Data></Cell><Cell><Data ss:Type="String">b</Data></Cell></Row>'
                    '<Row><Cell ss:Index="0"><Data ss:Type="String">x</Data></Cell></Row>'
                    '<Row ss:Index="0"><Cell><Data ss:Type="String">y</Data></Cell><Cell ss:Index="²">'
                    '<Data ss:Type="String">z</Data></Cell></Row></Table></Worksheet></Workbook>', encoding="utf-8")
    assert read_sheets(path)[0].grid == [["a", "b"], ["x", ""], ["y", "z"]]


@pytest.mark.parametrize("text, told", [
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Workbook xmlns="urn:schemas-microsoft-com:office:'
     'spreadsheet"><Worksheet><Table><Row><Cell><Data>&a;</Data></Cell></Row></Table></Worksheet></Workbook>',
     "实体声明"),
    ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-'
     'microsoft-com:office:spreadsheet"><Worksheet><Table><Row><Cell><Data ss:Type="String">a</Data></Cell></Row>'
     '<Row ss:Index="1048576"><Cell ss:Index="16384"><Data ss:Type="String">b</Data></Cell></Row></Table>'
     '</Worksheet></Workbook>', "表格范围过大"),
    ('<html><body><table><tr><td colspan="99999999" rowspan="99999999">x</td></tr><tr><td>y</td></tr></table>'
     '</body></html>', "没有可识别的工作表"),                # absurd spans count as 1: read, nothing recognised
    ('<html><body><table>' + '<tr><td colspan="100" rowspan="100">x</td></tr>' * 400 + '</table></body></html>',
     "表格范围过大"),                                         # 40,000 × 500 cells: refused before laid out
    ('<html><body><p>没有表格</p></body></html>', "网页中没有表格数据"),
])
def test_hostile_or_empty_exports_are_refused_quickly(tmp_path, text, told):
    path = tmp_path / "导出.xls"
    path.write_text(text, encoding="utf-8")
    book = read_book(path)
    assert not book.usable and any(told in p.message for p in book.problems), book.problems


def test_a_batch_reads_an_exported_page_among_workbooks(samples, tmp_path):
    from xltools.batch import run_batch

    page = tmp_path / "系统导出.xls"
    page.write_bytes(EXPORTED_PAGE.replace("青岛&nbsp;西海岸新区", "测试新区").replace("胶州经济技术开发区", "测试二区")
                     .encode("gb18030"))
    result = run_batch([samples / "宁夏开发区.xlsx", page], jobs=2)
    files = result.files.set_index("文件")
    assert files.loc["系统导出.xls", "状态"] == "有警告" and files.loc["系统导出.xls", "读入行数"] == 2
    assert files.loc["系统导出.xls", "工作表"] == "指标" and files.loc["宁夏开发区.xlsx", "工作表"].startswith("参数、开发区")
    assert {"测试新区", "测试二区"} <= set(result.sheets["派生指标"]["开发区名称"])


def test_scrambled_exports_never_escape_the_reader(tmp_path):
    """Random damage (bytes changed, cut, or markup and absurd spans/indices inserted) to both kinds
    of export: always a Book, never an exception, and every grid read is rectangular."""
    import random

    from xltools.intake.reader import UnusableInput

    rng = random.Random(1)
    inserts = [b"<td>", b"</tr>", b"<table>", b'colspan="9999"', b'rowspan="0"', b"&#99999999;", b"<!--",
               b'ss:Index="0"', b'ss:Index="99999999"', b"</Table>", b'ss:MergeDown="-5"', b'ss:Index="\xc2\xb2"']
    for base, encoding in ((EXPORTED_PAGE, "gb18030"), (XML_2003, "utf-8")):
        data = base.encode(encoding)
        for i in range(120):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                at, op = rng.randrange(len(damaged)), rng.random()
                if op < 0.4:
                    damaged[at] = rng.randrange(256)
                elif op < 0.7:
                    del damaged[at:at + rng.randint(1, 40)]
                else:
                    damaged[at:at] = rng.choice(inserts)
            path = tmp_path / f"{encoding}_{i}.xls"
            path.write_bytes(bytes(damaged))
            read_book(path)
            try:
                grids = [s.grid for s in read_sheets(path)]
            except UnusableInput:
                continue
            assert all(len({len(row) for row in grid}) <= 1 for grid in grids), (path, grids)
