"""Cell-by-cell snapshot of the result workbooks, taken before the issue-17 refactor.

The refactor (one registry per concept, one run pipeline, one cell policy) must not change a
single result cell. `tests/test_refactor_snapshot.py` reruns the same commands as processes and
compares every sheet's order, every cell's value and number format with the snapshot recorded on
main 2578cd4, before any of the refactor landed.

An intended fix that changes a cell updates the snapshot, named in its commit:

    python tests/snapshot_results.py --update
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "snapshot" / "results.json.gz"
SAMPLES = ROOT / "sample_workbooks"
QINGDAO = SAMPLES / "青岛开发区.xlsx"

NORMALIZE = ("minmax", "efficacy", "benchmark", "vector", "sum", "max", "zscore")
WEIGHTS = ("fixed", "entropy", "entropy_raw", "ahp", "combined")
METHODS = ("wsum", "topsis")
PRESETS = ("浙江亩均六项", "MOFCOM2021", "安徽亩均")


def scenarios() -> dict[str, tuple[list[str], str]]:
    """name → (xltools arguments with {out} for the output folder, result workbook below it)."""
    out: dict[str, tuple[list[str], str]] = {
        "demo": (["demo", "{out}"], "演示结果.xlsx"),
        "batch": (["batch", str(SAMPLES), "-o", "{out}/汇总.xlsx", "--jobs", "1"], "汇总.xlsx"),
        "run-all-samples": (["run", *map(str, sorted(SAMPLES.glob("*.xlsx"))), "-o", "{out}/r.xlsx"], "r.xlsx"),
    }
    for n in NORMALIZE:
        out[f"rank-normalize-{n}"] = (["rank", str(QINGDAO), "--normalize", n, "-o", "{out}/r.xlsx"], "r.xlsx")
    for w in WEIGHTS:
        out[f"rank-weights-{w}"] = (["rank", str(QINGDAO), "--weights", w, "-o", "{out}/r.xlsx"], "r.xlsx")
    for m in METHODS:
        out[f"rank-method-{m}"] = (["rank", str(QINGDAO), "--method", m, "--weights", "entropy", "-o", "{out}/r.xlsx"], "r.xlsx")
    for p in PRESETS:
        out[f"rank-preset-{p}"] = (["rank", str(QINGDAO), "--preset", p, "-o", "{out}/r.xlsx"], "r.xlsx")
    return out


def cells(path: Path) -> dict:
    """Sheet order, then per sheet every non-empty cell → [repr(value), number format]."""
    wb = openpyxl.load_workbook(path)
    return {"sheets": wb.sheetnames,
            "cells": {ws.title: {c.coordinate: [repr(c.value), c.number_format]
                                 for row in ws.iter_rows() for c in row if c.value is not None}
                      for ws in wb.worksheets}}


def produce(name: str, work: Path) -> dict:
    """Run one scenario as a process; its exit code and (when written) its result cells."""
    args, result = scenarios()[name]
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    argv = [a.replace("{out}", str(out)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", *argv], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    path = out / result
    return {"exit": proc.returncode, **(cells(path) if path.exists() else {"sheets": None, "cells": {}})}


def produce_all(work: Path) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        names = list(scenarios())
        return dict(zip(names, pool.map(lambda n: produce(n, work), names)))


def load() -> dict[str, dict]:
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        return json.load(f)


def main() -> None:
    import tempfile
    if "--update" not in sys.argv:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        data = produce_all(Path(tmp))
    SNAPSHOT.parent.mkdir(exist_ok=True)
    with gzip.GzipFile(SNAPSHOT, "wb", mtime=0) as f:
        f.write(json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8"))
    print(f"{SNAPSHOT}: {len(data)} scenarios")


if __name__ == "__main__":
    main()
