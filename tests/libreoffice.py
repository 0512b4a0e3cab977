"""Recalculate a workbook in real LibreOffice (headless) and read back the computed values.

Each call uses its own user profile (with OOXML recalculation forced to "always", so cached
values are never trusted) and a writable HOME. In CI (CI=true) a missing LibreOffice is a
failure, never a skip.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI 中必须安装 LibreOffice（.ci/apt-packages.txt: libreoffice-calc-nogui）")
        pytest.skip("LibreOffice not installed on this machine")
    return exe


def recalc_csv(xlsx: Path, work: Path, sheet: str | None = None) -> list[list[str]]:
    """Open `xlsx` in LibreOffice, recalculate every formula, return one sheet (default: the first) as CSV rows."""
    exe = soffice()
    profile = work / "lo_profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
    out = work / "lo_out"
    env = {**os.environ, "HOME": str(work)}
    # 44 = comma, 34 = quote, 76 = UTF-8, 1 = first line; the 9th token true = "as shown" off → raw values
    flt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false" + (",-1" if sheet else "")
    proc = subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", flt,
                           "--outdir", str(out), str(xlsx)], capture_output=True, text=True, env=env, timeout=180)
    target = out / (xlsx.stem + (f"-{sheet}" if sheet else "") + ".csv")
    assert target.exists(), proc.stdout + proc.stderr
    with target.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def convert_to_xlsx(src: Path, work: Path, infilter: str) -> Path:
    """`src` opened in LibreOffice with import filter `infilter` and saved as .xlsx (an independent
    reader of formats xltools also reads)."""
    exe = soffice()
    profile = work / "lo_profile"
    profile.mkdir(parents=True, exist_ok=True)
    out = work / "lo_out"
    proc = subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", f"--infilter={infilter}",
                           "--convert-to", "xlsx", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env={**os.environ, "HOME": str(work)}, timeout=180)
    target = out / (src.stem + ".xlsx")
    assert target.exists(), proc.stdout + proc.stderr
    return target


def convert_to_pdf(src: Path, work: Path) -> Path:
    """`src` (a workbook or document) printed to PDF by LibreOffice, as an official would print it."""
    exe = soffice()
    profile = work / "lo_pdf_profile"
    profile.mkdir(parents=True, exist_ok=True)
    out = work / "lo_pdf"
    proc = subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env={**os.environ, "HOME": str(work)}, timeout=300)
    target = out / (src.stem + ".pdf")
    assert target.exists(), proc.stdout + proc.stderr
    return target
