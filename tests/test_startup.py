"""A quick start (issue 18): -h, --version, profiles and template load no heavy module.

Each command line runs in a fresh interpreter exactly as `xltools …` does (`cli.entry`), and the
modules it leaves in `sys.modules` are checked — not timed (benchmarks/startup.py times them).
The heavy modules load inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from xltools.cli import app

HEAVY = ("pandas", "numpy", "xlwings", "xlsxwriter", "python_calamine", "docx", "dask")
ROOT = Path(__file__).resolve().parent.parent

# Runs each command line given as JSON, in order, and prints {command line: heavy modules it loaded}.
PROBE = """
import json, sys
from xltools.cli import entry

heavy = {HEAVY!r}
loaded = {{}}
for argv in json.loads(sys.argv[1]):
    sys.argv = ["xltools", *argv]
    try:
        entry()
    except SystemExit:
        pass
    loaded[" ".join(argv)] = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
print("\\nLOADED " + json.dumps(loaded, ensure_ascii=False))
"""


def heavy_loaded(*command_lines: tuple[str, ...]) -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(HEAVY=HEAVY), json.dumps(command_lines)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.rsplit("\nLOADED ", 1)[1])


def _help_paths(group, prefix=()):
    yield prefix
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _help_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_version_loads_nothing_heavy():
    assert heavy_loaded(("--version",)) == {"--version": []}


def test_every_help_screen_loads_nothing_heavy():
    screens = [(*path, "-h") for path in _help_paths(typer.main.get_command(app))]
    assert ("rank", "-h") in screens and ("profiles", "show", "-h") in screens
    loaded = heavy_loaded(*screens)
    assert loaded == {" ".join(s): [] for s in screens}


def test_profiles_load_nothing_heavy():
    """Listing the profiles and showing one (its rules, parameters and regions) is policy text only."""
    loaded = heavy_loaded(("profiles",), ("profiles", "show", "青岛"), ("profiles", "show", "宁夏口径"))
    assert loaded == {"profiles": [], "profiles show 青岛": [], "profiles show 宁夏口径": []}


def test_template_loads_nothing_heavy_but_xlsxwriter(tmp_path):
    """The blank template is written from the schema: XlsxWriter writes it (its job), no pandas or numpy."""
    target = tmp_path / "模板.xlsx"
    loaded = heavy_loaded(("template", str(target)))
    assert loaded == {f"template {target}": ["xlsxwriter"]}
    assert target.exists()


def test_a_command_that_computes_loads_the_engine_itself(tmp_path):
    """The probe sees imports: a data check loads pandas (so an empty list above means something)."""
    book = ROOT / "sample_workbooks" / "青岛开发区.xlsx"
    loaded = heavy_loaded(("validate", str(book)))
    assert {"pandas", "numpy", "python_calamine"} <= set(loaded[f"validate {book}"])
