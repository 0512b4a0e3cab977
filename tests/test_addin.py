"""The add-in as an artifact: modules, ribbon XML ↔ handlers, config, reproducibility, LibreOffice."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest
import python_calamine as pc
from vba_cc import vba_modules

from xltools.addin import MACROS, build
from xltools.ribbon import HANDLERS

NS = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("dist"))


modules = vba_modules


@pytest.mark.slow
def test_modules_are_in_both_artifacts(built):
    for path in built:
        mods = modules(path)
        assert {"XltoolsRibbon", "XltoolsUDFs", "XltoolsHelp", "xlwings"} <= set(mods), path.name
        assert "Sub XltoolsButton(control As IRibbonControl)" in mods["XltoolsRibbon"]
        assert "xltools.ribbon.dispatch(" in mods["XltoolsRibbon"]
        for code in (mods["XltoolsRibbon"], mods["XltoolsUDFs"], mods["XltoolsHelp"]):
            assert all(ord(c) < 128 for c in code)


def test_every_udf_is_declared(built):
    from xltools import udfs
    declared = set(re.findall(r"^Function (XT_\w+)\(", modules(built[0])["XltoolsUDFs"], flags=re.M))
    defined = {n for n in dir(udfs) if n.startswith("XT_")}
    assert declared == defined and len(defined) >= 9
    assert 'XLPy.CallUDF("xltools.udfs", "XT_RANK"' in modules(built[0])["XltoolsUDFs"]


def test_ribbon_xml_is_wellformed_and_tags_map_to_handlers_both_ways(built):
    source = (MACROS / "ribbon.xml").read_bytes()
    with zipfile.ZipFile(built[0]) as z:
        assert z.read("customUI/customUI.xml") == source
    root = ET.fromstring(source)
    tab = root.find(".//ui:tab", NS)
    assert tab.get("label") == "开发区考核"
    groups = {g.get("label"): [b.get("label") for b in g.findall("ui:button", NS)] for g in tab.findall("ui:group", NS)}
    assert groups == {"数据": ["新建模板", "数据校验"], "计算": ["合规检查", "薪酬测算", "考核排名", "奖惩建议", "一键全部"],
                      "输出": ["导出报告"], "帮助": ["环境检查", "使用说明"]}
    buttons = root.findall(".//ui:button", NS)
    tags = [b.get("tag") for b in buttons]
    assert sorted(tags) == sorted(HANDLERS)                       # every button has a handler, every handler a button
    assert all(b.get("onAction") == "XltoolsButton" and b.get("imageMso") and b.get("screentip") for b in buttons)


def test_config_points_at_the_udf_module(built):
    for path, sheet in ((built[0], "xltools.conf"), (built[1], "xltools.conf")):
        wb = pc.CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_name(sheet).to_python()
        assert ["UDF Modules", "xltools.udfs"] in [r[:2] for r in rows], path.name


def test_build_is_reproducible(built, tmp_path):
    again = build(tmp_path)
    assert [p.read_bytes() for p in built] == [p.read_bytes() for p in again]


@pytest.mark.slow
def test_libreoffice_opens_both(built, tmp_path):
    from libreoffice import soffice
    exe = soffice()
    for path, filt in ((built[1], None), (built[0], "Calc MS Excel 2007 VBA XML")):
        out = tmp_path / path.stem
        cmd = [exe, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless"]
        if filt:
            cmd.append(f"--infilter={filt}")
        cmd += ["--convert-to", "csv", "--outdir", str(out), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert list(out.glob("*.csv")), proc.stdout + proc.stderr


@pytest.mark.slow
def test_install_on_linux_explains_why_not(built):
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "addin", "install", str(built[0])],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Linux 上没有 Microsoft Excel" in proc.stderr
