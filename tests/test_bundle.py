"""`xltools bundle`: the offline package for a Windows PC, resolved for the target, not for here.

Issue 16: "`pip download --platform win_amd64` evaluates environment markers against the *build*
machine, so Windows-only requirements (`pywin32` for xlwings, `colorama` for typer/click) are
silently left out." The slow test installs the built wheel into a fresh venv outside the
repository (PyPI needed; it runs, not skips, when CI=true) and makes the Windows bundle there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

from xltools import bundle

REPO = Path(__file__).resolve().parent.parent

# the Requires-Dist lines as xlwings 0.37.8 and typer publish them on PyPI
XLWINGS_PYWIN32 = 'pywin32>=224; platform_system == "Windows"'
TYPER_COLORAMA = 'colorama; platform_system == "Windows"'
PANDAS_TZDATA = 'tzdata; sys_platform == "win32"'


def test_markers_are_evaluated_for_the_target_not_for_this_machine():
    lines = [XLWINGS_PYWIN32, TYPER_COLORAMA, PANDAS_TZDATA, 'colorama>=0.4.6; extra == "windows-terminal"']
    win = {r.name for r in bundle.wanted(lines, bundle.target_environment("win_amd64", "3.11"), set())}
    linux = {r.name for r in bundle.wanted(lines, bundle.target_environment("linux_x86_64", "3.11"), set())}
    assert win == {"pywin32", "colorama", "tzdata"}                 # the extra-only line stays out
    assert linux == set()
    assert all(not Marker(line.split(";")[1]).evaluate() for line in lines[:3])   # here (Linux) they are false
    assert {r.name for r in bundle.wanted(lines, bundle.target_environment("win_amd64", "3.11"), {"windows-terminal"})} \
        == {"pywin32", "colorama", "tzdata"} and len(bundle.wanted(lines[3:], {}, {"windows-terminal"})) == 1


def test_python_version_markers_follow_the_target():
    line = 'tomli>=1; python_version < "3.12"'
    assert bundle.wanted([line], bundle.target_environment("win_amd64", "3.11"), set())
    assert not bundle.wanted([line], bundle.target_environment("win_amd64", "3.12"), set())


def _fake_wheel(folder: Path, name: str) -> None:
    with zipfile.ZipFile(folder / name, "w") as z:
        z.writestr("x", "")


def test_completeness_check_names_missing_and_foreign_wheels(tmp_path):
    for name in ("numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", "six-1.17.0-py2.py3-none-any.whl",
                 "pandas-3.1.1-cp312-cp312-win_amd64.whl", "xlwings-0.37.8-cp311-cp311-win_amd64.whl"):
        _fake_wheel(tmp_path, name)
    entry = lambda spec="": {"specifier": SpecifierSet(spec)}                         # noqa: E731
    closure = {"numpy": entry(), "six": entry(), "pandas": entry(), "xlwings": entry("==0.37.7"), "pywin32": entry()}
    problems = bundle.check_complete(closure, tmp_path, "win_amd64", "3.11")
    assert problems == ["numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl 不能装在 win_amd64 / Python 3.11 上",
                        "pandas-3.1.1-cp312-cp312-win_amd64.whl 不能装在 win_amd64 / Python 3.11 上",
                        "缺少 pywin32 的 wheel",
                        "xlwings-0.37.8-cp311-cp311-win_amd64.whl 不满足 xlwings==0.37.7"]
    del closure["numpy"], closure["pandas"], closure["pywin32"]
    closure["xlwings"] = entry("==0.37.8")
    assert bundle.check_complete(closure, tmp_path, "win_amd64", "3.11") == []


def test_unknown_platform_is_refused():
    with pytest.raises(bundle.BundleError, match="不支持的平台"):
        bundle.bundle("macosx_arm64", "3.11", "x.zip")


# --------------------------------------------------------------------------- from an installed wheel
def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
        return True
    except OSError:
        return False


def _run(cmd, cwd, **kw):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    if os.environ.get("CI") != "true" and not _pypi_reachable():
        pytest.skip("PyPI not reachable (runs in CI)")
    base = tmp_path_factory.mktemp("fresh")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "wheel", REPO], cwd=base)
    wheel = next((base / "wheel").glob("xltools-*.whl"))
    _run([sys.executable, "-m", "venv", base / "venv"], cwd=base)
    py = base / "venv" / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel], cwd=base)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return base / "venv" / "bin" / "xltools", elsewhere


@pytest.mark.slow
def test_installed_wheel_builds_the_addin_outside_the_repository(fresh_venv):
    exe, cwd = fresh_venv
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([exe, "addin", "build", "--out", "dist"], cwd=cwd, env=env)
    assert (cwd / "dist" / "xltools.xlam").stat().st_size > 10_000 and (cwd / "dist" / "xltools.xlsm").exists()
    # what `addin install` checks, with only the runtime dependencies (no test extras such as oletools)
    check = "from xltools import addin; print(addin.addin_xlwings_version('dist/xltools.xlam'))"
    proc = _run([exe.with_name("python"), "-c", check], cwd=cwd, env=env)
    assert proc.stdout.strip() == __import__("xlwings").__version__


@pytest.mark.slow
def test_installed_wheel_makes_a_complete_windows_bundle(fresh_venv):
    exe, cwd = fresh_venv
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([exe, "bundle", "--platform", "win_amd64", "-o", "xltools-离线安装包.zip"], cwd=cwd, env=env)
    with zipfile.ZipFile(cwd / "xltools-离线安装包.zip") as z:
        names = [n.split("/", 1)[1] for n in z.namelist()]
        wheels = {n.split("/", 1)[1]: z.read(f"{bundle.ROOT}/{n}") for n in names if n.startswith("wheels/")}
        manifest = json.loads(z.read(f"{bundle.ROOT}/manifest.json"))
        bat = z.read(f"{bundle.ROOT}/安装.bat").decode("gbk")
    assert {"addin/xltools.xlam", "addin/xltools.xlsm", "用户手册.md", "安装.bat", "卸载.bat"} <= set(names)
    assert any(n.startswith("模板/") for n in names) and any(n.startswith("样例/") for n in names)
    assert "\r\n" in bat and "--no-index" in bat and "addin install" in bat and "-m venv" in bat

    # every wheel installs on 64-bit Windows / CPython 3.11
    by_name = {}
    for fname in wheels:
        name, _, _, tags = parse_wheel_filename(fname)
        assert any(t.platform in ("win_amd64", "any") and t.interpreter in ("cp311", "py3", "py2", "py311")
                   for t in tags), fname
        by_name[canonicalize_name(name)] = fname
    assert {"pywin32", "colorama", "xlwings", "xltools"} <= set(by_name)
    assert set(manifest["requirements"]) == set(by_name)

    # closed under Requires-Dist evaluated for Windows, read from the wheels themselves
    env_win = bundle.target_environment("win_amd64", "3.11")
    for fname, data in wheels.items():
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as w:
            meta = Parser().parsestr(w.read(next(n for n in w.namelist() if n.endswith(".dist-info/METADATA"))).decode())
        for line in meta.get_all("Requires-Dist") or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({**env_win, "extra": ""}):
                assert canonicalize_name(req.name) in by_name, f"{fname} needs {line}"
                version = parse_wheel_filename(by_name[canonicalize_name(req.name)])[1]
                assert req.specifier.contains(version, prereleases=True), f"{fname} needs {line}"
    xltools_wheel = by_name["xltools"]
    with zipfile.ZipFile(__import__("io").BytesIO(wheels[xltools_wheel])) as w:
        assert any(re.search(r"\.data/data/share/xltools/用户手册\.md$", n) for n in w.namelist())
        assert "xltools/addin_src/ribbon.xml" in w.namelist()
