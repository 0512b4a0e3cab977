"""No internal identifier in any result sheet of `xltools demo` (SPEC §3.1 「Officials read
Chinese」): no seed file names, profile ids, Python lists/dicts, English method ids or internal
document names — rule IDs such as QD-09 are fine (officials cite them)."""

from __future__ import annotations

import re
import subprocess
import sys

import python_calamine as pc
import pytest

from conftest import ROOT
from xltools.profiles import builtin_ids
from xltools.engine.scoring import AGGREGATIONS, NORMALIZATIONS, WEIGHTINGS

INTERNAL = [
    (re.compile(r"\d{3}_[0-9a-f]{16}\.txt"), "seed file name"),
    (re.compile(r"(?<![A-Za-z])(" + "|".join(builtin_ids()) + r")(?![A-Za-z])"), "profile id"),
    (re.compile(r"[\[\]{}]|\bTrue\b|\bFalse\b|\bNone\b|\bnan\b"), "Python repr"),
    (re.compile(r"(?<![A-Za-z])(" + "|".join(sorted({*AGGREGATIONS, *WEIGHTINGS, *NORMALIZATIONS}, key=len, reverse=True))
                + r")(?![A-Za-z])"), "English method id"),
    (re.compile(r"[A-Z]+\.md\b|\.toml\b"), "internal document"),
]


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "demo", str(out)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out / "演示结果.xlsx"


@pytest.mark.slow
def test_no_internal_identifier_in_any_result_cell(demo_book):
    wb = pc.CalamineWorkbook.from_path(str(demo_book))
    found = []
    for name in wb.sheet_names:
        for r, row in enumerate(wb.get_sheet_by_name(name).to_python()):
            for c, cell in enumerate(row):
                if isinstance(cell, str):
                    for pattern, what in INTERNAL:
                        if pattern.search(cell):
                            found.append(f"{name}!R{r + 1}C{c + 1} {what}: {cell[:80]}")
    assert not found, "\n".join(found[:20])


def test_the_scan_would_catch_each_kind():
    samples = ["依据 000_772b24d4fb950dc7.txt：…", "default（qingdao 无此规则）", "['floor', 'round']",
               "评价方法 wsum", "ANCHORS.md B3"]
    for text, (pattern, _) in zip(samples, INTERNAL):
        assert pattern.search(text), text
    assert not any(p.search("青岛口径（QD-41）：加权求和、熵权法、TOPSIS 逼近理想解法") for p, _ in INTERNAL)
