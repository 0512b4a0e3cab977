"""`xltools addin install / uninstall`, with Excel's startup folder and the user profile in tmp.

On Linux there is no Excel, so `xlstart_dir` is pointed at a temporary folder; everything else
(the config file the VBA reads, the DLL-version check and rebuild, the Chinese report, the undo)
runs as on Windows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xlwings as xw
from test_addin_excel_view import read_vba_config_file

from xltools import addin


@pytest.fixture
def places(tmp_path, monkeypatch):
    xlstart = tmp_path / "XLSTART"
    monkeypatch.setattr(addin, "xlstart_dir", lambda: xlstart)
    return xlstart, tmp_path / "home"


def test_install_writes_the_config_and_says_how_to_undo(places):
    xlstart, home = places
    report = addin.install(None, home=home)
    assert (xlstart / "xltools.xlam").is_file()
    conf = read_vba_config_file(home / ".xltools" / "xltools.conf")
    assert conf["INTERPRETER_WIN"] == str(addin.windowless_python()) and conf["UDF MODULES"] == "xltools.udfs"
    text = "\n".join(report)
    assert str(xlstart / "xltools.xlam") in text and "xltools addin uninstall" in text and "xltools.conf" in text
    assert addin.addin_xlwings_version(xlstart / "xltools.xlam") == xw.__version__

    undo = addin.uninstall(home=home)
    assert not (xlstart / "xltools.xlam").exists() and not (home / ".xltools" / "xltools.conf").exists()
    assert len(undo) == 2 and all(line.startswith("已删除") for line in undo)
    assert addin.uninstall(home=home) == ["没有找到已安装的 xltools 加载项，未做修改。"]


def test_an_addin_built_for_another_xlwings_is_rebuilt(places, tmp_path, monkeypatch):
    xlstart, home = places
    old = addin.build(tmp_path / "old")[0]
    real = addin.addin_xlwings_version
    monkeypatch.setattr(addin, "addin_xlwings_version", lambda p: "0.30.0" if Path(p) == old else real(p))
    report = addin.install(old, home=home)
    assert any("原文件为 xlwings 0.30.0 构建" in line for line in report)
    assert real(xlstart / "xltools.xlam") == xw.__version__


def test_uninstall_keeps_a_config_it_did_not_write(places):
    xlstart, home = places
    conf = home / ".xltools" / "xltools.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('"INTERPRETER_WIN","C:\\\\mine\\\\pythonw.exe"\r\n')
    assert addin.uninstall(home=home) == [f"{conf} 不是 xltools addin install 写的，未删除"]
    assert conf.exists()


def test_missing_addin_file_is_explained(places):
    with pytest.raises(addin.AddinError, match="找不到"):
        addin.install(Path("/nonexistent/xltools.xlam"), home=places[1])
