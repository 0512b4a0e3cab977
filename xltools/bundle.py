"""Offline installation package (`xltools bundle`): for PCs with no internet and no admin rights.

`pip download --platform win_amd64` evaluates environment markers against the machine it runs
on, so on Linux the Windows-only requirements (pywin32 for xlwings, colorama for click) would be
silently left out. Here the dependency closure is resolved by hand: every Requires-Dist marker
is evaluated for the *target* (packaging.markers with a win32 environment), each wheel is
downloaded explicitly with `--no-deps`, and the result is checked against that closure — every
requirement must have a wheel whose tags the target accepts — before the zip is written.
Versions already installed here (the ones the tests ran with) are preferred.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as md
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from packaging import tags
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from .addin import FIXED, MANUAL, manual_path

PLATFORMS = ("win_amd64", "linux_x86_64")
PYTHONS = ("3.11", "3.12")
ROOT = "xltools-离线安装包"


class BundleError(RuntimeError):
    """The bundle cannot be made (message in Chinese)."""


def target_environment(platform: str, python: str) -> dict[str, str]:
    """Marker variables of the target machine (PEP 508)."""
    if platform == "win_amd64":
        return {"implementation_name": "cpython", "implementation_version": f"{python}.0", "os_name": "nt",
                "platform_machine": "AMD64", "platform_python_implementation": "CPython", "platform_release": "10",
                "platform_system": "Windows", "platform_version": "10.0.19045", "python_full_version": f"{python}.0",
                "python_version": python, "sys_platform": "win32"}
    env = dict(default_environment())
    env.update(python_version=python, python_full_version=f"{python}.0", implementation_version=f"{python}.0",
               os_name="posix", sys_platform="linux", platform_system="Linux", platform_machine="x86_64")
    return env


def platform_tags(platform: str) -> list[str]:
    if platform == "win_amd64":
        return ["win_amd64"]
    here = [t for t in tags.platform_tags() if t.endswith("x86_64")]   # this Linux machine (CI installs here)
    return here or ["manylinux2014_x86_64", "linux_x86_64"]


def supported_tags(platform: str, python: str) -> set[str]:
    version = tuple(int(x) for x in python.split("."))
    plats = platform_tags(platform)
    found = list(tags.cpython_tags(version, platforms=plats)) + list(
        tags.compatible_tags(version, f"cp{version[0]}{version[1]}", plats))
    return {str(t) for t in found}


def _requires(metadata) -> list[str]:
    return metadata.get_all("Requires-Dist") or []


def wanted(requires: list[str], env: dict[str, str], extras: set[str]) -> list[Requirement]:
    """Requirements whose markers hold on the target for the given extras."""
    out = []
    for text in requires:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}) | {""}):
            out.append(req)
    return out


def _wheel_metadata(path: Path):
    from email.parser import Parser
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return Parser().parsestr(z.read(name).decode("utf-8"))


def _installed_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _pip_download(specs: list[str], dest: Path, platform: str, python: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "-q", "-d", str(dest), "--python-version", python, "--implementation", "cp"]
    for p in platform_tags(platform):
        cmd += ["--platform", p]
    return subprocess.run(cmd + specs, capture_output=True, text=True)


def _wheels(dest: Path) -> dict[str, Path]:
    return {canonicalize_name(parse_wheel_filename(p.name)[0]): p for p in dest.glob("*.whl")}


def resolve(root: list[Requirement], dest: Path, platform: str, python: str,
            log: Callable[[str], None] = lambda s: None) -> dict[str, dict]:
    """Download the closure of `root` for the target into `dest`; name → {version, wheel, extras, specifier}."""
    env = target_environment(platform, python)
    chosen: dict[str, dict] = {}
    pending = list(root)
    while pending:
        batch: dict[str, dict] = {}
        for req in pending:
            name = canonicalize_name(req.name)
            entry = chosen.get(name) or batch.get(name) or {"specifier": SpecifierSet(), "extras": set(), "version": None}
            entry["specifier"] &= req.specifier
            grew = not set(req.extras) <= entry["extras"]
            entry["extras"] |= set(req.extras)
            stale = entry["version"] is not None and not entry["specifier"].contains(entry["version"], prereleases=True)
            if entry["version"] is None or stale or grew:
                batch[name] = entry
        pending = []
        for name, entry in sorted(batch.items()):
            if entry["version"] is None or not entry["specifier"].contains(entry["version"], prereleases=True):
                mine = _installed_version(name)
                tries = ([f"{name}=={mine}"] if mine and entry["specifier"].contains(mine, prereleases=True) else [])
                tries.append(f"{name}{entry['specifier']}")
                old = _wheels(dest).get(name)
                for spec in tries:
                    if old is not None:
                        old.unlink()
                    proc = _pip_download([spec], dest, platform, python)
                    if proc.returncode == 0 and name in _wheels(dest):
                        break
                    old = None
                else:
                    raise BundleError(f"下载 {name}（{entry['specifier'] or '任意版本'}）的 {platform} / Python {python} "
                                      f"wheel 失败：\n{proc.stderr.strip()[-800:]}")
                wheel = _wheels(dest)[name]
                entry["version"] = parse_wheel_filename(wheel.name)[1]
                entry["wheel"] = wheel.name
                log(f"  {wheel.name}")
            chosen[name] = entry
            pending += wanted(_requires(_wheel_metadata(dest / entry["wheel"])), env, entry["extras"])
    return chosen


def check_complete(closure: dict[str, dict], dest: Path, platform: str, python: str) -> list[str]:
    """Problems: a requirement of the closure without a wheel the target accepts (empty: complete)."""
    ok_tags = supported_tags(platform, python)
    have = _wheels(dest)
    problems = []
    for name, entry in sorted(closure.items()):
        wheel = have.get(name)
        if wheel is None:
            problems.append(f"缺少 {name} 的 wheel")
            continue
        _, version, _, wheel_tags = parse_wheel_filename(wheel.name)
        if not {str(t) for t in wheel_tags} & ok_tags:
            problems.append(f"{wheel.name} 不能装在 {platform} / Python {python} 上")
        if not entry["specifier"].contains(version, prereleases=True):
            problems.append(f"{wheel.name} 不满足 {name}{entry['specifier']}")
    return problems


# --------------------------------------------------------------------------- xltools' own wheel
def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _repack_installed(dest: Path) -> Path:
    """A wheel of the installed xltools, rebuilt from the files its RECORD lists."""
    dist = md.distribution("xltools")
    name, version = dist.metadata["Name"], dist.version
    site = Path(dist.locate_file("")).resolve()
    info_dir = f"{name}-{version}.dist-info"
    data_dir = f"{name}-{version}.data/data"
    entries: list[tuple[str, bytes]] = []
    for f in dist.files or []:
        path = Path(dist.locate_file(f)).resolve()
        parts = Path(str(f)).parts
        if "__pycache__" in parts or path.suffix == ".pyc" or not path.is_file():
            continue
        if parts[0].endswith(".dist-info"):
            if parts[-1] in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            entries.append((f"{info_dir}/{'/'.join(parts[1:])}", path.read_bytes()))
        elif parts[0] == "..":                  # data files (share/xltools/…); console scripts are regenerated by pip
            rel = Path(os.path.relpath(path, Path(sys.prefix).resolve()))
            if rel.parts and rel.parts[0] == "share":
                entries.append((f"{data_dir}/{rel.as_posix()}", path.read_bytes()))
        else:
            entries.append(("/".join(parts), path.read_bytes()))
    if not any(n.startswith("xltools/") for n, _ in entries) or site != Path(__file__).resolve().parent.parent:
        raise BundleError("找不到已安装的 xltools 文件（请用 pip 安装 xltools 后再运行 xltools bundle）")
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in sorted(entries):
            z.writestr(zipfile.ZipInfo(arc, date_time=FIXED), data)
            writer.writerow([arc, _record_hash(data), len(data)])
        writer.writerow([f"{info_dir}/RECORD", "", ""])
        z.writestr(zipfile.ZipInfo(f"{info_dir}/RECORD", date_time=FIXED), record.getvalue())
    return wheel


def own_wheel(dest: Path) -> Path:
    """xltools' wheel: built from the source tree when running from one, else repacked from the install."""
    source = Path(__file__).resolve().parent.parent
    if (source / "pyproject.toml").exists() and 'name = "xltools"' in (source / "pyproject.toml").read_text("utf-8"):
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                               "-w", str(dest), str(source)], capture_output=True, text=True)
        found = sorted(dest.glob("xltools-*.whl"))
        if proc.returncode != 0 or not found:
            raise BundleError(f"构建 xltools 的 wheel 失败：\n{proc.stderr.strip()[-800:]}")
        return found[-1]
    return _repack_installed(dest)


# --------------------------------------------------------------------------- scripts
def install_bat(python: str) -> str:
    return rf"""@echo off
setlocal EnableExtensions
rem xltools offline installer (made by `xltools bundle`): per user, no admin rights, no network.
set "HERE=%~dp0"
set "DEST=%LOCALAPPDATA%\xltools"
set "PYVER={python}"
set "PY="
where py >nul 2>nul && py -%PYVER% -c "import sys" >nul 2>nul && set "PY=py -%PYVER%"
if not defined PY python -c "import sys; sys.exit(0 if sys.version.startswith('%PYVER%.') else 1)" >nul 2>nul && set "PY=python"
if not defined PY goto nopython
echo 正在创建 Python 环境：%DEST%\venv
%PY% -m venv "%DEST%\venv" || goto failed
echo 正在安装 xltools（离线，不连网）……
"%DEST%\venv\Scripts\python.exe" -m pip install --no-index --find-links "%HERE%wheels" --disable-pip-version-check -q --upgrade xltools || goto failed
"%DEST%\venv\Scripts\xltools.exe" addin install "%HERE%addin\xltools.xlam" || goto failed
echo.
echo 安装完成。请重新启动 Excel，功能区会出现「开发区考核」选项卡。
echo 第一次使用请按 用户手册.md 第 7 节检查：解除锁定、信任中心、「环境检查」按钮。
echo 卸载：运行 卸载.bat。
pause
exit /b 0
:nopython
echo 没有找到 Python %PYVER%。请先安装 Python %PYVER% 64 位版（python.org 的安装包，选择“仅为我安装”，不需要管理员权限），
echo 然后重新运行 安装.bat。
pause
exit /b 1
:failed
echo 安装没有完成，请把上面的信息发给技术支持。
pause
exit /b 1
"""


UNINSTALL_BAT = r"""@echo off
setlocal EnableExtensions
rem xltools offline uninstaller (made by `xltools bundle`)
set "DEST=%LOCALAPPDATA%\xltools"
if exist "%DEST%\venv\Scripts\xltools.exe" "%DEST%\venv\Scripts\xltools.exe" addin uninstall
if exist "%DEST%\venv" rmdir /s /q "%DEST%\venv"
echo 已卸载 xltools（加载项、配置文件和 %DEST%\venv）。您的工作簿不受影响。
pause
"""

INSTALL_SH = """#!/bin/sh
# xltools offline installer (made by `xltools bundle`): a venv under $XLTOOLS_HOME, no network.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${XLTOOLS_HOME:-$HOME/.local/share/xltools}
"${PYTHON:-python3}" -m venv "$DEST/venv"
"$DEST/venv/bin/python" -m pip install --no-index --find-links "$HERE/wheels" --disable-pip-version-check -q --upgrade xltools
echo "已安装：$DEST/venv/bin/xltools（卸载：删除 $DEST/venv）"
"""


def _readme(platform: str, python: str, closure: dict[str, dict]) -> str:
    steps = ("1. 解压整个文件夹（不要在压缩包里直接运行）；\n2. 双击 安装.bat（需要已安装 Python {p} 64 位，不需要管理员权限）；\n"
             "3. 重新启动 Excel，按 用户手册.md 第 7 节做首次检查。\n卸载：双击 卸载.bat。\n").format(p=python) \
        if platform == "win_amd64" else "运行 sh install.sh（XLTOOLS_HOME 指定安装位置）。\n"
    return (f"xltools 离线安装包（{platform}，Python {python}）\n\n{steps}\n"
            "内容：wheels/（xltools 与全部依赖，共 {n} 个）、addin/（Excel 加载项 xltools.xlam 与独立工作簿 xltools.xlsm）、"
            "模板/、样例/、用户手册.md。\n").replace("{n}", str(len(closure)))


def _write_zip(target: Path, files: dict[str, bytes]) -> None:
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{ROOT}/{name}", date_time=FIXED)
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    os.replace(tmp, target)


def bundle(platform: str = "win_amd64", python: str = "3.11", target: str | Path = f"{ROOT}.zip",
           log: Callable[[str], None] = lambda s: None) -> tuple[Path, list[str]]:
    """Write the offline package; returns its path and a Chinese summary."""
    if platform not in PLATFORMS:
        raise BundleError(f"不支持的平台「{platform}」：可选 {'、'.join(PLATFORMS)}")
    if python not in PYTHONS and not (platform != "win_amd64" and re.fullmatch(r"3\.(1[1-9])", python)):
        raise BundleError(f"不支持的 Python 版本「{python}」：可选 {'、'.join(PYTHONS)}")
    from .addin import build
    from .samples import build_samples, build_templates

    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="xltools-bundle-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        wheels.mkdir()
        log(f"xltools 与依赖（{platform}，Python {python}）：")
        mine = own_wheel(wheels)
        log(f"  {mine.name}")
        meta = _wheel_metadata(mine)
        root = wanted(_requires(meta), target_environment(platform, python), set())
        closure = resolve(root, wheels, platform, python, log)
        closure[canonicalize_name("xltools")] = {"version": Version(meta["Version"]), "wheel": mine.name,
                                                 "specifier": SpecifierSet(), "extras": set()}
        problems = check_complete(closure, wheels, platform, python)
        if problems:
            raise BundleError("离线安装包不完整：\n" + "\n".join(problems))
        files = {f"wheels/{p.name}": p.read_bytes() for p in sorted(wheels.glob("*.whl"))}
        for p in build(work / "addin"):
            files[f"addin/{p.name}"] = p.read_bytes()
        for p in build_templates(work / "模板"):
            files[f"模板/{p.name}"] = p.read_bytes()
        for p in build_samples(work / "样例"):
            files[f"样例/{p.name}"] = p.read_bytes()
        manual = manual_path()
        if manual is None:
            raise BundleError(f"找不到 {MANUAL}：xltools 安装不完整，请重新安装")
        files[MANUAL] = manual.read_bytes()
        if platform == "win_amd64":
            files["安装.bat"] = install_bat(python).replace("\n", "\r\n").encode("gbk")   # cmd reads the ANSI code page
            files["卸载.bat"] = UNINSTALL_BAT.replace("\n", "\r\n").encode("gbk")
        else:
            files["install.sh"] = INSTALL_SH.encode("utf-8")
        files["说明.txt"] = _readme(platform, python, closure).replace("\n", "\r\n").encode("utf-8-sig")
        files["manifest.json"] = json.dumps(
            {"platform": platform, "python": python,
             "requirements": {n: {"version": str(e["version"]), "wheel": e["wheel"]} for n, e in sorted(closure.items())}},
            ensure_ascii=False, indent=1).encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_zip(target, files)
    size = target.stat().st_size / 1e6
    return target, [f"依赖闭包（按 {platform} / Python {python} 的环境标记求得）：{len(closure)} 个 wheel，齐全。",
                    f"另含加载项、模板 {sum(k.startswith('模板/') for k in files)} 个、样例 {sum(k.startswith('样例/') for k in files)} 个、"
                    f"用户手册、{'安装.bat / 卸载.bat' if platform == 'win_amd64' else 'install.sh'}；共 {size:.1f} MB。"]
