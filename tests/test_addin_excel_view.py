"""The built add-in as 64-bit Excel on Windows would compile and configure it.

Every VBA module of both artifacts goes through a conditional-compilation evaluator
(tests/vba_cc.py: per-module #Const, #If/#ElseIf/#Else/#End If, VBA7/Win64 true, Mac false);
the checks read only the lines that compile. A second set of tests breaks a module on purpose
to show each check can fail.
"""

from __future__ import annotations

import inspect
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import python_calamine as pc
import xlwings as xw

from vba_cc import CCError, compile_module, constant, procedures, vba_modules
from xltools import addin

NS = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return addin.build(tmp_path_factory.mktemp("dist"))


def conf_sheet(path: Path, name: str) -> dict[str, object] | None:
    """xlwings' GetConfigFromSheet: keys from A1 down to the first blank A cell, upper-cased."""
    wb = pc.CalamineWorkbook.from_path(str(path))
    if name not in wb.sheet_names:
        return None
    out = {}
    for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False):
        if not row or row[0] in ("", None):
            break
        out[str(row[0]).upper()] = row[1] if len(row) > 1 else ""
    return out


def read_vba_config_file(path: Path) -> dict[str, str]:
    """xlwings' GetConfigFromFile: `Input #f, name, value` pairs ("KEY","value" lines written by Write #)."""
    fields = re.findall(r'"((?:[^"])*)"|([^,\r\n]+)', path.read_text(encoding=addin.VBA_FILE_ENCODING))
    values = [a or b for a, b in fields]
    return {values[i].upper(): values[i + 1] for i in range(0, len(values) - 1, 2)}


def problems(path: Path, mods: dict[str, str], ribbon_xml: bytes, home: Path) -> list[str]:
    """What would go wrong in Excel with these modules (empty list: nothing found)."""
    found: list[str] = []
    compiled: dict[str, list[str]] = {}
    for name, code in mods.items():
        try:
            compiled[name] = compile_module(code)[0]
        except CCError as exc:
            found.append(f"{name}: {exc}")
    procs = {mod: procedures(lines) for mod, lines in compiled.items()}
    everywhere = {p: v for table in procs.values() for p, v in table.items()}

    # UDFs: the branch that compiles calls CallUDF with the workbook and the caller
    from xltools import udfs
    book = "ActiveWorkbook" if path.suffix == ".xlam" else "ThisWorkbook"
    udf_procs = procs.get(addin.UDF_MODULE, {})
    for fname in sorted(n for n in dir(udfs) if n.startswith("XT_")):
        params = inspect.signature(getattr(udfs, fname)).parameters.values()
        if fname not in udf_procs:
            found.append(f"{fname}: not compiled")
            continue
        sig, body = udf_procs[fname]
        want = ", ".join(("Optional " if p.default is not inspect.Parameter.empty else "") + p.name for p in params)
        if sig != f"Function {fname}({want})":
            found.append(f"{fname}: signature {sig!r} != Python ({want})")
        call = (f'{fname} = XLPy.CallUDF("xltools.udfs", "{fname}", Array({", ".join(p.name for p in params)}), '
                f"{book}, Application.Caller)")
        if not any(call in line for line in body):
            found.append(f"{fname}: compiled body does not call CallUDF with workbook and caller")

    # buttons: every onAction is a compiled Sub(control As IRibbonControl) that runs RunPython
    root = ET.fromstring(ribbon_xml)
    for button in root.findall(".//ui:button", NS):
        action = button.get("onAction")
        if action not in everywhere:
            found.append(f"button {button.get('tag')}: callback {action} not compiled")
            continue
        sig, body = everywhere[action]
        if not re.search(rf"Sub {action}\(control As IRibbonControl\)", sig):
            found.append(f"{action}: signature {sig!r}")
        guarded = [i for i, st in enumerate(body) if st.startswith("If ActiveWorkbook Is Nothing Then")]
        runs = [i for i, st in enumerate(body) if st.startswith("RunPython")]
        if not guarded or not runs or guarded[0] > runs[0]:
            found.append(f"{action}: RunPython without a workbook open would stop with error 91")
        if not any(re.match(r"RunPython \"import xltools\.ribbon; xltools\.ribbon\.dispatch\('\" & control\.Tag & \"'\)\"", s)
                   for s in body):
            found.append(f"{action}: does not RunPython xltools.ribbon.dispatch(tag)")
    if "RunPython" not in everywhere:
        found.append("RunPython is not compiled in any module")

    # config: the sheet / user file that the compiled xlwings module actually reads
    xlwings_lines = compiled.get("xlwings", [])
    project = constant(xlwings_lines, "PROJECT_NAME")
    dll = constant(xlwings_lines, "XLPyDLLName")
    if dll != f"xlwings64-{xw.__version__}.dll":
        found.append(f"64-bit DLL name {dll!r} is not the installed xlwings {xw.__version__}")
    if project is None:
        found.append("PROJECT_NAME not compiled")
        return found
    sheet = conf_sheet(path, f"{project}.conf")
    user_file = home / f".{project}" / f"{project}.conf"
    user = read_vba_config_file(user_file) if user_file.exists() else {}
    merged = {**user, **(sheet or {})}                       # the sheet wins over the user file (GetConfig)
    if sheet is None:
        found.append(f"no sheet {project}.conf in {path.name}")
    if merged.get("UDF MODULES") != "xltools.udfs":
        found.append(f"UDF MODULES read by VBA: {merged.get('UDF MODULES')!r}")
    interpreter = merged.get("INTERPRETER_WIN") or merged.get("INTERPRETER")
    if not interpreter or interpreter in ("python", "pythonw"):
        found.append("no INTERPRETER_WIN in what the VBA reads: Python would be looked up on PATH")

    # opening the workbook registers the function-wizard help
    this = procs.get("ThisWorkbook", {})
    if "Workbook_Open" not in this or "XltoolsRegisterHelp" not in this["Workbook_Open"][1]:
        found.append("Workbook_Open does not call XltoolsRegisterHelp")
    return found


def excel_view(path: Path, home: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        ribbon = z.read("customUI/customUI.xml")
    return problems(path, vba_modules(path), ribbon, home)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A user profile after `xltools addin install` wrote its config."""
    home = tmp_path_factory.mktemp("home")
    addin.write_user_config(home, Path(r"C:\Users\test\xltools\venv\Scripts\pythonw.exe"))
    return home


def test_excel_compiles_what_the_addin_needs(built, home):
    for path in built:
        assert excel_view(path, home) == [], path.name


def test_user_config_is_what_xlwings_reads(home):
    values = read_vba_config_file(home / ".xltools" / "xltools.conf")
    assert values["INTERPRETER_WIN"].endswith("pythonw.exe")
    assert values["UDF MODULES"] == "xltools.udfs"


# --------------------------------------------------------------------------- breaking on purpose
def _broken(built, home, edit) -> list[str]:
    path = built[0]
    mods = vba_modules(path)
    with zipfile.ZipFile(path) as z:
        ribbon = z.read("customUI/customUI.xml")
    edit(mods)
    return problems(path, mods, ribbon, home)


def test_missing_const_app_is_found(built, home):
    """Today's bug: without `#Const App` in the UDF module the #Else branch (no caller) compiles."""
    def drop(mods):
        mods[addin.UDF_MODULE] = re.sub(r"(?m)^#Const App.*$", "", mods[addin.UDF_MODULE])
    found = _broken(built, home, drop)
    assert found and all("does not call CallUDF" in f for f in found) and len(found) == len(
        [n for n in dir(__import__("xltools.udfs").udfs) if n.startswith("XT_")])


def test_unbalanced_if_and_wrong_project_name_are_found(built, home):
    def unbalance(mods):
        mods[addin.UDF_MODULE] = mods[addin.UDF_MODULE].replace("#End If", "", 1)
        mods["xlwings"] = mods["xlwings"].replace('PROJECT_NAME As String = "xltools"', 'PROJECT_NAME As String = "myaddin"')
    found = _broken(built, home, unbalance)
    assert any("#If without #End If" in f for f in found)
    assert any("no sheet myaddin.conf" in f for f in found)


def test_signature_drift_and_dead_button_are_found(built, home):
    def drift(mods):
        mods[addin.UDF_MODULE] = mods[addin.UDF_MODULE].replace("Optional profile)", "profile)")
        mods["XltoolsRibbon"] = mods["XltoolsRibbon"].replace("RunPython", "' RunPython")
    found = _broken(built, home, drift)
    assert any(f.startswith("XT_QUOTA: signature") for f in found)
    assert any("does not RunPython" in f for f in found)


# --------------------------------------------------------------------------- what xlwings itself writes
def _decode_u(statement: str) -> str:
    """Emulate the module's U(): UTF-16 hex → text."""
    return "".join(bytes.fromhex(h).decode("utf-16-be") for h in re.findall(r'U\("([0-9A-F]*)"\)', statement))


def _interpret_help(lines: list[str]) -> list[dict]:
    """Run the assignments and MacroOptions calls of XltoolsRegisterHelp (the only statements it has)."""
    env: dict[str, str] = {}
    calls = []
    for line in lines:
        st = line.strip()
        m = re.match(r"(\w+(?:\(\d+\))?) = (\1 & )?U\(", st)
        if m:
            env[m.group(1)] = (env.get(m.group(1), "") if m.group(2) else "") + _decode_u(st)
        elif st.startswith("ReDim a("):
            env = {k: v for k, v in env.items() if not k.startswith("a(")}
        elif st.startswith("Application.MacroOptions"):
            fname = re.search(r"'!(\w+)\"", st).group(1)
            args = [env[k] for k in sorted((k for k in env if k.startswith("a(")), key=lambda k: int(k[2:-1]))]
            calls.append({"name": fname, "Description": env["d"], "Category": env["c"], "ArgumentDescriptions": args})
    return calls


def test_udf_module_is_what_xlwings_import_udfs_writes(built):
    """Same text as xlwings' generator, behind the two header lines import_udfs writes (#Const App first)."""
    import xlwings.udfs as xu
    text = vba_modules(built[0])[addin.UDF_MODULE].replace("\r\n", "\n")
    buf = __import__("io").StringIO()
    xu.generate_vba_wrapper("xltools.udfs", addin.real_udf_module(), buf, type("B", (), {"Name": "xltools.xlam"}))
    header = ('Attribute VB_Name = "XltoolsUDFs"\n'
              "'Autogenerated code by xlwings - changes will be lost with next import!\n"
              '#Const App = "Microsoft Excel" \'Adjust when using outside of Excel\n')
    assert text.rstrip("\n") == (header + buf.getvalue().replace("\r\n", "\n")).rstrip("\n")


def test_function_wizard_help_is_what_xlwings_registers(built):
    """XltoolsHelp, decoded as VBA would, makes the MacroOptions calls xlwings' import_udfs makes."""
    from xltools import udfs
    mods = vba_modules(built[0])
    assert all(ord(c) < 128 for c in mods[addin.HELP_MODULE])
    lines = compile_module(mods[addin.HELP_MODULE])[0]
    ours = _interpret_help(procedures(lines)["XltoolsRegisterHelp"][1])
    theirs = [{"name": c["Macro"].rsplit("!", 1)[1], "Description": c["Description"], "Category": c["Category"],
               "ArgumentDescriptions": list(c["ArgumentDescriptions"] or [])} for c in addin.xlwings_import().macro_options]
    assert ours == theirs and len(ours) == len([n for n in dir(udfs) if n.startswith("XT_")])
    quota = next(c for c in ours if c["name"] == "XT_QUOTA")
    assert quota["Category"] == "开发区考核" and quota["ArgumentDescriptions"][0].startswith("开发区级别")
    assert quota["Description"].startswith("编制合规检查")


def test_standalone_workbook_shows_instructions_and_hides_its_config(built):
    with zipfile.ZipFile(built[1]) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
    assert re.search(r'<sheet name="xltools.conf"[^>]*state="hidden"', wb)
    rows = pc.CalamineWorkbook.from_path(str(built[1])).get_sheet_by_name("使用说明").to_python()
    text = "\n".join(str(c) for r in rows for c in r)
    assert "新建模板" in text and "Ctrl+Shift+Enter" in text and "XT_RANK" in text
