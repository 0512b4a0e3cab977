"""Build the Excel add-in (xltools.xlam) and a standalone .xlsm on Linux, reproducibly; install it.

Starting point: the ribbon add-in template that ships inside the xlwings wheel (its VBA project
carries no compiled p-code, so Excel compiles our module source on load, and it already
references the Office library `IRibbonControl` needs). We
1. replace its ribbon XML with `addin_src/ribbon.xml` (tab 开发区考核, tags → Python handlers);
2. name the project `xltools` in its xlwings module (PROJECT_NAME): the VBA then reads the sheet
   `xltools.conf` (UDF Modules = xltools.udfs) and the user file
   `%USERPROFILE%\\.xltools\\xltools.conf` that `xltools addin install` writes (INTERPRETER_WIN);
3. add the VBA modules: `addin_src/*.bas` (the ribbon callback), `XltoolsUDFs` — exactly what
   xlwings' own `import_udfs` writes for `xltools.udfs`, `#Const App` included — and
   `XltoolsHelp`, the function-wizard descriptions xlwings would register, applied by
   `Workbook_Open` through Application.MacroOptions (Chinese kept as UTF-16 hex: ASCII source);
4. write every zip entry with a fixed timestamp: the same sources give the same bytes.
What cannot be checked on Linux — Excel loading the add-in — is stated in docs/用户手册.md §7.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import platform
import re
import shutil
import struct
import sys
import tempfile
import types
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import xlwings as xw

from . import ooxml

PACKAGE = Path(__file__).resolve().parent
ADDIN_SRC = PACKAGE / "addin_src"
MACROS = ADDIN_SRC                      # the add-in's text sources (ribbon XML, VBA callback)
XLWINGS_DIR = Path(xw.__file__).parent
FIXED = (1980, 1, 1, 0, 0, 0)
CUSTOM_UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
PROJECT_NAME = "xltools"                # xlwings' PROJECT_NAME: sheet xltools.conf, ~/.xltools/xltools.conf
CONF_SHEET = f"{PROJECT_NAME}.conf"
UDF_MODULE = "XltoolsUDFs"
HELP_MODULE = "XltoolsHelp"
UDF_MODULES = "xltools.udfs"
# VBA's `Open … For Input` reads the ANSI code page (GBK on a Chinese Windows)
VBA_FILE_ENCODING = "mbcs" if sys.platform == "win32" else "utf-8"
CONFIG_MARK = ("XLTOOLS_WRITTEN_BY", "xltools addin install")
# messages the VBA shows itself (Python is not running yet)
VBA_TEXTS = {
    "title": "开发区考核",
    "no_book": "请先打开或新建一个工作簿，再点击「开发区考核」选项卡上的按钮。",
}


MANUAL = "用户手册.md"


def manual_path() -> Path | None:
    """The user manual: the source tree's when running from one, else the wheel's data file."""
    for p in (Path(__file__).resolve().parent.parent / "docs" / MANUAL,
              Path(sys.prefix) / "share" / PROJECT_NAME / MANUAL):
        if p.exists():
            return p
    return None


class AddinError(RuntimeError):
    """The add-in cannot be built or installed here (message in Chinese)."""


def macros_dir() -> Path:
    if not (ADDIN_SRC / "ribbon.xml").exists():
        raise AddinError(f"找不到加载项源文件 {ADDIN_SRC / 'ribbon.xml'}：xltools 安装不完整，请重新安装")
    return ADDIN_SRC


def _windows_stand_ins() -> None:
    """xlwings' udfs module imports Windows-only packages at import time; light stand-ins let the
    pure-Python parts (decorators, VBA generation, import_udfs' text) run here."""
    for name in ("pythoncom", "pywintypes", "win32api", "win32com", "win32com.client"):
        sys.modules.setdefault(name, types.ModuleType(name))
    if not hasattr(sys.modules["pythoncom"], "CoInitialize"):
        sys.modules["pythoncom"].CoInitialize = lambda: None
    if not hasattr(sys.modules["pywintypes"], "com_error"):
        sys.modules["pywintypes"].com_error = type("com_error", (Exception,), {})
    if not hasattr(sys.modules["win32com.client"], "Dispatch"):
        sys.modules["win32com.client"].Dispatch = lambda *a, **k: None
    sys.modules["win32com"].client = sys.modules["win32com.client"]


def real_udf_module() -> types.ModuleType:
    """`xltools.udfs` loaded with xlwings' real @func/@arg/@ret decorators (they are no-ops on Linux)."""
    if sys.platform != "win32":
        _windows_stand_ins()
    import xlwings.udfs as xu

    from . import udfs as plain
    saved = (xw.func, xw.arg, xw.ret)
    xw.func, xw.arg, xw.ret = xu.xlfunc, xu.xlarg, xu.xlret
    try:
        spec = importlib.util.spec_from_file_location("xltools._udfs_declared", plain.__file__)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        xw.func, xw.arg, xw.ret = saved
    return module


class _Recorder:
    """Stands in for the Excel workbook xlwings' import_udfs talks to: keeps the module text it
    imports and the MacroOptions calls it makes."""

    def __init__(self, name: str):
        self.Name = name
        self.module_text = ""
        self.macro_options: list[dict] = []
        components = self

        class _Components:
            def __call__(self, name):
                raise sys.modules["pywintypes"].com_error("no such module")

            def Remove(self, component):
                pass

            def Import(self, filename):
                components.module_text = Path(filename).read_text()

        self.VBProject = types.SimpleNamespace(VBComponents=_Components())
        self.Application = types.SimpleNamespace(Version="16.0", MacroOptions=self._macro_options)

    def _macro_options(self, macro, **kwargs):
        self.macro_options.append({"Macro": macro, **kwargs})


def xlwings_import(workbook_name: str = "xltools.xlam") -> _Recorder:
    """Run xlwings' own `import_udfs("xltools.udfs", workbook)` against a recorder."""
    module = real_udf_module()                 # installs the stand-ins first
    import xlwings.udfs as xu

    saved = xu.udf_modules.get(UDF_MODULES)
    xu.udf_modules[UDF_MODULES] = {"module": module, "filetime": None, "filename": module.__file__}
    book = _Recorder(workbook_name)
    pro, xu.__pro__ = xu.__pro__, False        # the PRO branch only maps embedded-code sheets, which we have none of
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            xu.import_udfs(UDF_MODULES, book)
    finally:
        xu.__pro__ = pro
        if saved is None:
            xu.udf_modules.pop(UDF_MODULES, None)
        else:
            xu.udf_modules[UDF_MODULES] = saved
    return book


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def udf_vba(workbook_name: str = "xltools.xlam") -> str:
    """The VBA module of every =XT_… function: what xlwings' import_udfs writes (ASCII, CRLF)."""
    text = xlwings_import(workbook_name).module_text
    if any(ord(c) > 127 for c in text):
        raise AddinError("生成的 UDF 声明含有非 ASCII 字符（VBA 代码页为 1252）")
    text = text.replace('Attribute VB_Name = "xlwings_udfs"', f'Attribute VB_Name = "{UDF_MODULE}"', 1)
    return _crlf(text)


def _hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()          # 4 hex digits per UTF-16 code unit


def _assign(var: str, text: str, chunk: int = 60) -> list[str]:
    """VBA lines that set `var` to `text` (UTF-16 hex decoded by U(); lines stay short)."""
    parts = [text[i:i + chunk] for i in range(0, len(text), chunk)] or [""]
    return [f'{var} = U("{_hex(parts[0])}")'] + [f'{var} = {var} & U("{_hex(p)}")' for p in parts[1:]]


def help_vba(workbook_name: str = "xltools.xlam") -> str:
    """Module XltoolsHelp: Chinese texts for the VBA and the function-wizard help of every =XT_…
    function — the same Application.MacroOptions calls xlwings' import_udfs makes."""
    calls = xlwings_import(workbook_name).macro_options
    lines = [f'Attribute VB_Name = "{HELP_MODULE}"', "Option Explicit",
             "' Generated by `xltools addin build` from xltools.udfs - do not edit.",
             "' Chinese text is kept as UTF-16 hex (the VBA source stays ASCII) and decoded by U().",
             "", "Private Function U(ByVal hexText As String) As String",
             "    Dim i As Long",
             "    For i = 1 To Len(hexText) Step 4",
             '        U = U & ChrW(CLng("&H" & Mid$(hexText, i, 2)) * 256 + CLng("&H" & Mid$(hexText, i + 2, 2)))',
             "    Next i", "End Function", "",
             "Public Function XltoolsText(ByVal key As String) As String",
             "    Dim t As String", "    Select Case key"]
    for key, text in VBA_TEXTS.items():
        lines.append(f'    Case "{key}"')
        lines += ["        " + s for s in _assign("t", text)]
    lines += ["    End Select", "    XltoolsText = t", "End Function", "",
              "Public Sub XltoolsRegisterHelp()",
              "    ' Function wizard (Insert Function) help for every =XT_ function. Excel refuses",
              "    ' MacroOptions on a hidden workbook (error 1004), so the add-in is shown for the moment.",
              "    Dim d As String, c As String, wasAddin As Boolean",
              "    Dim a() As Variant",
              "    On Error Resume Next",
              "    Application.ScreenUpdating = False",
              "    wasAddin = ThisWorkbook.IsAddin",
              "    ThisWorkbook.IsAddin = False"]
    for call in calls:
        fname = call["Macro"].rsplit("!", 1)[1]
        args = call.get("ArgumentDescriptions") or []
        lines += ["    " + s for s in _assign("d", call["Description"])]
        lines += ["    " + s for s in _assign("c", str(call["Category"]))]
        lines.append(f"    ReDim a(0 To {max(len(args) - 1, 0)})")
        for i, text in enumerate(args):
            lines += ["    " + s for s in _assign(f"a({i})", text)]
        lines.append(f"    Application.MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!{fname}\", Description:=d, "
                     "Category:=c, ArgumentDescriptions:=a")
    lines += ["    ThisWorkbook.IsAddin = wasAddin", "    ThisWorkbook.Saved = True",
              "    Application.ScreenUpdating = True", "End Sub", ""]
    text = "\n".join(lines)
    if any(ord(ch) > 127 for ch in text) or max(map(len, lines)) > 1000:
        raise AddinError("生成的帮助模块含有非 ASCII 字符或过长的行")
    return _crlf(text)


WORKBOOK_OPEN = ("\r\nPrivate Sub Workbook_Open()\r\n"
                 "    ' function-wizard help for the =XT_ functions (module XltoolsHelp)\r\n"
                 "    XltoolsRegisterHelp\r\nEnd Sub\r\n")


def _sheet_rows(sheet_xml: str, rows: list[tuple]) -> str:
    """`sheet_xml` with its cells replaced by `rows` (inline strings and booleans, from A1)."""
    out = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{'AB'[c]}{r}"
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    data = f"<sheetData>{''.join(out)}</sheetData>"
    sheet_xml = re.sub(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", lambda m: data, sheet_xml, flags=re.S)
    width = max((len(r) for r in rows), default=1)
    return re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{"AB"[width - 1]}{max(len(rows), 1)}" />', sheet_xml)


CONF_ROWS = [("UDF Modules", UDF_MODULES)]   # INTERPRETER_WIN lives in the user file: not here, or it would shadow it


def _manual_rows() -> list[tuple]:
    """The 使用说明 sheet of the standalone workbook: steps, the =XT_ functions, where help is."""
    calls = xlwings_import("xltools.xlsm").macro_options
    rows = [("开发区考核工具箱（xltools）使用说明",), ("",),
            ("1. 功能区「开发区考核」→「新建模板」：在本工作簿中补齐输入表（开发区、机构设置、职数编制、指标……）。",),
            ("2. 按表头填报，或把已有数据粘贴进去；然后点击「数据校验」查看问题清单（文件、工作表、单元格、问题、建议）。",),
            ("3. 「一键全部」依次完成合规检查、薪酬测算、考核排名和奖惩建议，结果写入新的结果表，输入表不会被修改。",),
            ("4. 「导出报告」把结果另存为一个新的工作簿。",),
            ("5. 第一次使用前请在命令行运行 xltools addin install（见用户手册第 7 节）：它告诉 Excel 用哪个 Python。",),
            ("",), ("工作表函数（插入函数对话框里有中文说明）：",)]
    rows += [(call["Macro"].rsplit("!", 1)[1], call["Description"].split("\n")[0]) for call in calls]
    rows += [("",), ("Excel 365 / 2021 及以上：返回多格的函数结果自动溢出到右方和下方；"
                     "Excel 2016 / 2019：先选中结果区域，输入公式后按 Ctrl+Shift+Enter。",),
             ("详细说明：用户手册.md（安装包中，或命令行 xltools --help）。",)]
    return rows


def _patch_project(source: str) -> str:
    """The template's xlwings module with PROJECT_NAME = "xltools" (its config sheet and file)."""
    new, n = re.subn(r'(Public Const PROJECT_NAME As String = )"[^"]*"', rf'\1"{PROJECT_NAME}"', source)
    found = re.search(r'Public Const XLWINGS_VERSION As String = "([^"]+)"', source)
    if n != 1 or not found or found.group(1) != xw.__version__:
        raise AddinError(f"xlwings {xw.__version__} 的加载项模板与预期不符（PROJECT_NAME / XLWINGS_VERSION），"
                         "请安装 pyproject.toml 中固定的 xlwings 版本")
    return new


def _rewrite(template: Path, target: Path, edits: dict[str, bytes], extra: dict[str, bytes]) -> None:
    """Copy `template` to `target` with `edits` applied and `extra` parts appended; fixed timestamps."""
    with zipfile.ZipFile(template) as zin:
        ooxml.rewrite(zin, target, {**edits, **extra}, stamp=FIXED)


def _vba_project(path: Path):
    """(workbook, VBA project, module names) of an Office file, via pyOpenVBA."""
    import pyopenvba

    book = pyopenvba.ExcelFile(str(path))
    project = book.vba_project() if callable(book.vba_project) else book.vba_project
    names = project.module_names() if callable(project.module_names) else project.module_names
    return book, project, list(names)


def _add_modules(path: Path, workbook_name: str) -> None:
    book, project, names = _vba_project(path)
    for leftover in ("RibbonMyAddin", "Module1"):          # the templates' sample macros
        if leftover in names:
            project.delete_module(leftover)
    xlwings_module = project.get_module("xlwings")
    xlwings_module.source = _patch_project(xlwings_module.source)
    this = project.get_module("ThisWorkbook")
    this.source = this.source.rstrip("\r\n") + "\r\n" + WORKBOOK_OPEN
    xlwings_module.dirty = this.dirty = True
    for bas in sorted(macros_dir().glob("*.bas")):
        source = bas.read_text(encoding="ascii")
        name = re.search(r'Attribute VB_Name = "([^"]+)"', source).group(1)
        project.add_module(name, _crlf(source))
    project.add_module(UDF_MODULE, udf_vba(workbook_name))
    project.add_module(HELP_MODULE, help_vba(workbook_name))
    book.save(str(path), allow_invalidate_signature=True)


def build(out_dir: str | Path = "dist") -> list[Path]:
    """Build `xltools.xlam` (add-in) and `xltools.xlsm` (standalone workbook) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ribbon = (macros_dir() / "ribbon.xml").read_bytes()

    # the add-in, from xlwings' ribbon add-in template
    tpl = XLWINGS_DIR / "quickstart_addin_ribbon.xlam"
    with zipfile.ZipFile(tpl) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8").replace("_myaddin.conf", CONF_SHEET)
        app = z.read("docProps/app.xml").decode("utf-8").replace("_myaddin.conf", CONF_SHEET)
        part = ooxml.sheet_parts(z)["_myaddin.conf"]
        conf = _sheet_rows(z.read(part).decode("utf-8"), CONF_ROWS)
    xlam = out / "xltools.xlam"
    _rewrite(tpl, xlam, {"customUI/customUI.xml": ribbon, "xl/workbook.xml": wb.encode("utf-8"),
                         "docProps/app.xml": app.encode("utf-8"), part: conf.encode("utf-8")}, {})
    _add_modules(xlam, xlam.name)

    # the standalone workbook, from xlwings' standalone template (xlwings VBA embedded)
    tpl = XLWINGS_DIR / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(tpl) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
        parts = ooxml.sheet_parts(z)
        conf_part, manual_part = parts["_xlwings.conf"], parts["Sheet1"]
        wb = wb.replace('name="_xlwings.conf"', f'name="{CONF_SHEET}" state="hidden"').replace('name="Sheet1"', 'name="使用说明"')
        conf = _sheet_rows(z.read(conf_part).decode("utf-8"), CONF_ROWS)
        manual = _sheet_rows(z.read(manual_part).decode("utf-8"), _manual_rows())
        app = z.read("docProps/app.xml").decode("utf-8").replace("_xlwings.conf", CONF_SHEET).replace(">Sheet1<", ">使用说明<")
        root_rels, _ = ooxml.add_relationship(z.read("_rels/.rels"), CUSTOM_UI_REL, "customUI/customUI.xml")
    xlsm = out / "xltools.xlsm"
    _rewrite(tpl, xlsm, {"xl/workbook.xml": wb.encode("utf-8"), conf_part: conf.encode("utf-8"),
                         manual_part: manual.encode("utf-8"), "docProps/app.xml": app.encode("utf-8"),
                         "_rels/.rels": root_rels}, {"customUI/customUI.xml": ribbon})
    _add_modules(xlsm, xlsm.name)
    return [xlam, xlsm]


# --------------------------------------------------------------------------- install
def xlstart_dir() -> Path:
    """Excel's startup folder: files there open with Excel (add-ins load silently)."""
    system = platform.system()
    if system == "Windows":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Microsoft" / "Excel" / "XLSTART"
    if system == "Darwin":
        return (Path.home() / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content"
                / "Startup" / "Excel")
    raise AddinError("Linux 上没有 Microsoft Excel，无法安装加载项：请在 Windows 上运行 "
                     "xltools addin install，或用离线安装包（xltools bundle）中的 安装.bat。")


def user_config_path(home: Path | None = None) -> Path:
    """Where xlwings' GetConfigFilePath looks: %USERPROFILE%\\.xltools\\xltools.conf."""
    return Path(home or os.environ.get("USERPROFILE") or Path.home()) / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def windowless_python() -> Path:
    """pythonw.exe beside the running interpreter (no console window flashing up for each button)."""
    exe = Path(sys.executable)
    w = exe.with_name("pythonw.exe")
    return w if w.exists() else exe


def write_user_config(home: Path | None = None, interpreter: Path | None = None) -> Path:
    """The user config file the add-in's VBA reads (format of VBA's `Write #`: "KEY","value")."""
    path = user_config_path(home)
    interpreter = interpreter or windowless_python()
    values = [("INTERPRETER_WIN", str(interpreter)), ("UDF MODULES", UDF_MODULES), CONFIG_MARK]
    text = "".join(f'"{k}","{v}"\r\n' for k, v in values)
    try:
        data = text.encode(VBA_FILE_ENCODING)
    except UnicodeEncodeError:
        raise AddinError(f"Python 路径 {interpreter} 含有本机代码页无法表示的字符，Excel 读不到它："
                         "请把 Python 装到只含英文字母的文件夹后重试") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def addin_xlwings_version(path: Path) -> str | None:
    """The xlwings version the VBA of a built add-in was made for (its DLL name)."""
    _, project, names = _vba_project(path)
    if "xlwings" not in names:
        return None
    m = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', project.get_module("xlwings").source)
    return m.group(1) if m else None


def dll_name() -> str:
    return f"xlwings{8 * struct.calcsize('P')}-{xw.__version__}.dll"


def install(addin: str | Path | None = None, home: Path | None = None) -> list[str]:
    """Copy the add-in into XLSTART and write the user config; returns what was done (Chinese)."""
    target_dir = xlstart_dir()
    done = []
    source = Path(addin) if addin else None
    if source is not None and not source.exists():
        raise AddinError(f"找不到 {source}：请先运行 xltools addin build，或省略文件名由本命令构建")
    built_for = addin_xlwings_version(source) if source else None
    if source is None or built_for != xw.__version__:
        fresh = Path(tempfile.mkdtemp(prefix="xltools-addin-"))
        source = build(fresh)[0]
        done.append(f"已按本机 xlwings {xw.__version__} 构建加载项" +
                    (f"（原文件为 xlwings {built_for or '未知版本'} 构建，函数会无法调用）" if built_for != xw.__version__ and addin else ""))
    dll = dll_name()
    places = [Path(sys.executable).parent, Path(sys.prefix)]
    if platform.system() == "Windows" and not any((p / dll).exists() for p in places):
        done.append(f"警告：在 {places[0]} 和 {places[1]} 中都找不到 {dll}，Excel 将无法调用 Python："
                    f"请运行 pip install --force-reinstall xlwings=={xw.__version__}")
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "xltools.xlam"
    shutil.copy2(source, target)
    done.append(f"已把加载项复制到 Excel 启动文件夹：{target}")
    conf = write_user_config(home)
    done.append(f"已写入配置 {conf}：Excel 用 {windowless_python()} 运行 xltools（函数模块 {UDF_MODULES}）")
    done.append("请重新启动 Excel，功能区出现「开发区考核」选项卡；第一次使用请按用户手册第 7 节检查。")
    done.append("撤销：运行 xltools addin uninstall（删除上述两个文件）。")
    return done


def uninstall(home: Path | None = None) -> list[str]:
    """Undo `install`: remove the add-in from XLSTART and the config file it wrote."""
    done = []
    target = xlstart_dir() / "xltools.xlam"
    if target.exists():
        target.unlink()
        done.append(f"已删除 {target}")
    conf = user_config_path(home)
    if conf.exists():
        text = conf.read_bytes().decode(VBA_FILE_ENCODING, errors="replace")
        if f'"{CONFIG_MARK[0]}"' in text:
            conf.unlink()
            done.append(f"已删除 {conf}")
        else:
            done.append(f"{conf} 不是 xltools addin install 写的，未删除")
    return done or ["没有找到已安装的 xltools 加载项，未做修改。"]
