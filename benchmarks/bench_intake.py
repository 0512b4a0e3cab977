"""Intake speed: xltools.read_books vs pandas.read_excel(engine="openpyxl") on many small workbooks.

Usage:  python benchmarks/bench_intake.py [--files 1000]

Generates one workbook per zone (开发区, 机构设置, 职数编制, 指标 × 5 years, 薪酬), then reads
all of them (a) with xltools intake (calamine + header location + coercion + validation) and
(b) with the obvious pandas loop, in the same run, and prints the ratio.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from xltools.intake import consolidate, read_books
from xltools.samples import departments_frame, indicators_frame, posts_frame, salary_frame, zones_frame
from xltools.templates import write_input_workbook


def make_files(folder: Path, n: int) -> list[Path]:
    zones, depts, posts = zones_frame("青岛"), departments_frame("青岛"), posts_frame("青岛")
    ind, units = indicators_frame("青岛")
    sal = salary_frame("青岛")
    paths = []
    for i in range(n):
        z = zones.iloc[[i % len(zones)]].copy()
        name = z["zone"].iat[0]
        new = f"{name}{i:04d}"
        frames = {k: f[f["zone"] == name].assign(zone=new) for k, f in
                  {"zones": z, "departments": depts, "posts": posts, "indicators": ind, "salary": sal}.items()}
        paths.append(write_input_workbook(folder / f"zone_{i:04d}.xlsx", frames, units={"indicators": units}))
    return paths


def timed(fn, paths) -> tuple[float, int]:
    t0 = time.perf_counter()
    rows = fn(paths)
    return time.perf_counter() - t0, rows


def xltools_read(paths: list[Path]) -> int:
    """Validated, typed, unit-converted tables; one DataFrame per sheet kind for all files."""
    tables = consolidate(read_books(paths))
    return sum(len(df) for df in tables.values())


def pandas_read(paths: list[Path]) -> int:
    """The obvious loop: read every sheet of every file with openpyxl, concatenate per sheet."""
    per_sheet: dict[str, list[pd.DataFrame]] = {}
    for p in paths:
        for name, df in pd.read_excel(p, sheet_name=None, engine="openpyxl", header=1).items():
            per_sheet.setdefault(name, []).append(df.assign(_file=p.name))
    return sum(len(pd.concat(dfs, ignore_index=True)) for dfs in per_sheet.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xltools_bench_"))
    try:
        t0 = time.perf_counter()
        paths = make_files(work, args.files)
        print(f"generated {len(paths)} workbooks in {time.perf_counter() - t0:.1f} s")
        t_x, rows_x = timed(xltools_read, paths)
        t_p, rows_p = timed(pandas_read, paths)
        print(f"machine: {platform.machine()} {platform.processor() or ''} python {sys.version.split()[0]}")
        print(f"xltools intake : {t_x:7.2f} s  ({len(paths) / t_x:6.1f} files/s, {rows_x} typed rows)")
        print(f"pandas+openpyxl: {t_p:7.2f} s  ({len(paths) / t_p:6.1f} files/s, {rows_p} raw rows)")
        print(f"ratio: xltools is {t_p / t_x:.1f}x faster than pandas.read_excel(engine='openpyxl')")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
