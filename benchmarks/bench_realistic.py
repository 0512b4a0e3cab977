"""Batch intake at the speed of the Rust read (issue 18): one run, ratios from that run.

Usage:  python benchmarks/bench_realistic.py [--files 400] [--corpus DIR] [--before DIR] [--rows 200000]
                                             [--skip-batch] [--skip-big]

Part 1 — the realistic corpus of benchmarks/corpus.py (400 submissions, 5 sheets, 93,100 rows),
each contender a process of its own, start-up included, wall and CPU time (children's rusage):
  bare calamine   : python-calamine reads every sheet of every file (to_python), nothing else;
  xltools batch   : `python -m xltools.cli batch DIR -o 汇总.xlsx` from this checkout (all cores), its
                    bytecode cached as an installed copy's is (bytecode_env; one untimed warm-up run);
  before          : the same command from another checkout (--before, e.g. a worktree of 6acab77);
  pandas+openpyxl : pandas.read_excel(engine="openpyxl") of every sheet, concatenated per sheet.
  CPU per 1,000 cells = CPU seconds × 1000 / non-empty cells of the corpus.
Part 2 — one workbook of --rows rows × 20 columns (bench_batch.big_workbook): xltools read+validate
  (read_books: header, typing, units, 强制性/核实性审核) against fastexcel loading the same sheet, each in
  a fresh process (time inside the process), --repeat times alternating, best of each; and xltools'
  highest peak memory above its start against the in-memory size of the cell data.
The machine load (uptime) is printed first: on a shared machine compare ratios of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CALAMINE = r"""
import glob, sys
import python_calamine as pc
for p in sorted(glob.glob(sys.argv[1] + "/*.xlsx")):
    wb = pc.CalamineWorkbook.from_path(p)
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python()
    wb.close()
"""

CELLS = r"""
import glob, sys
import python_calamine as pc
n = 0
for p in sorted(glob.glob(sys.argv[1] + "/*.xlsx")):
    wb = pc.CalamineWorkbook.from_path(p)
    for name in wb.sheet_names:
        n += sum(v != "" for row in wb.get_sheet_by_name(name).to_python() for v in row)
    wb.close()
print(n)
"""

PANDAS = r"""
import glob, sys
import pandas as pd
per_sheet = {}
for p in sorted(glob.glob(sys.argv[1] + "/*.xlsx")):
    for name, df in pd.read_excel(p, sheet_name=None, engine="openpyxl", header=1).items():
        per_sheet.setdefault(name, []).append(df.assign(_file=p))
tables = {k: pd.concat(v, ignore_index=True) for k, v in per_sheet.items()}
"""

PEAK = r"""
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(key))
with open("/proc/self/clear_refs", "w") as fh:      # reset the peak-RSS counter (Linux)
    fh.write("5")
"""

BIG_XLTOOLS = PEAK + r"""
import json, sys, time
from xltools import memory
from xltools.intake import read_books
memory.tune()                                       # as every xltools command does (jobs.run_books)
start = status("VmRSS:")
t0 = time.perf_counter()
book = read_books([sys.argv[1]])[0]
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "peak": status("VmHWM:"), "start": start, "rows": book.rows,
                  "problems": len(book.problems)}))
"""

BIG_FASTEXCEL = PEAK + r"""
import json, sys, time
import fastexcel
start = status("VmRSS:")
t0 = time.perf_counter()
sheet = fastexcel.read_excel(sys.argv[1]).load_sheet(0)
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "peak": status("VmHWM:"), "start": start, "rows": sheet.height}))
"""


def run(args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process and its children, stdout) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):                  # 1: done, with data problems (the corpus has some)
        raise SystemExit(f"{' '.join(args[:4])} … failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def bytecode_env(work: Path) -> dict[str, str]:
    """The environment of an xltools process: it may cache bytecode (in `work`, the checkout is left
    alone) even where PYTHONDONTWRITEBYTECODE is set — an installed copy has its .pyc files, and
    without them every run compiles each xltools module afresh (~0.15 s) while python-calamine's and
    pandas' come precompiled (as benchmarks/startup.py does)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def warm_up(folder: Path, work: Path, env: dict[str, str], cwd: Path) -> None:
    """One untimed batch of a few files: writes the bytecode cache of every module a batch imports."""
    few = work / "warm"
    few.mkdir(exist_ok=True)
    for p in sorted(folder.glob("*.xlsx"))[:8]:
        if not (few / p.name).exists():
            (few / p.name).symlink_to(p.resolve())
    run([sys.executable, "-m", "xltools.cli", "batch", str(few), "-o", str(work / "warm.xlsx")], cwd, env)


def batch_part(folder: Path, work: Path, before: Path | None) -> None:
    py = sys.executable
    cells = int(run([py, "-c", CELLS, str(folder)])[2])
    env = bytecode_env(work)
    for checkout in (ROOT, before):
        if checkout is not None:
            warm_up(folder, work, env, checkout)
    rows = {}
    rows["bare calamine"] = run([py, "-c", CALAMINE, str(folder)])[:2]
    rows["xltools batch"] = run([py, "-m", "xltools.cli", "batch", str(folder), "-o", str(work / "汇总.xlsx")],
                                env=env)[:2]
    if before is not None:
        rows[f"xltools batch ({before.name})"] = run([py, "-m", "xltools.cli", "batch", str(folder), "-o",
                                                      str(work / "汇总_before.xlsx")], cwd=before, env=env)[:2]
    rows["pandas+openpyxl"] = run([py, "-c", PANDAS, str(folder)])[:2]
    n = len(list(folder.glob("*.xlsx")))
    print(f"\n{n} workbooks, {cells:,} non-empty cells; every contender a process, start-up included")
    print(f"{'':28s} {'wall s':>8s} {'CPU s':>8s} {'CPU ms / 1,000 cells':>22s}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:28s} {wall:8.2f} {cpu:8.2f} {cpu * 1e6 / cells:22.1f}")
    x, bare, pandas = rows["xltools batch"][0], rows["bare calamine"][0], rows["pandas+openpyxl"][0]
    print(f"ratios: xltools batch / bare calamine = {x / bare:.2f}x (target ≤ 3x); "
          f"pandas+openpyxl / xltools batch = {pandas / x:.1f}x (stretch ≥ 10x)")
    if before is not None:
        old = rows[f"xltools batch ({before.name})"]
        print(f"before ({before}): {old[0] / bare:.2f}x the bare read; CPU per 1,000 cells "
              f"{old[1] * 1e6 / cells:.1f} → {rows['xltools batch'][1] * 1e6 / cells:.1f} ms "
              f"({old[1] / rows['xltools batch'][1]:.2f}x less)")


def big_part(work: Path, rows: int, before: Path | None, repeat: int = 3) -> None:
    sys.path.insert(0, str(HERE))
    from bench_batch import big_workbook
    big, titled = work / "企业亩均.xlsx", work / "企业亩均_标题行.xlsx"
    cell_bytes = big_workbook(big, rows)
    big_workbook(titled, rows, title=True)
    contenders = [("fastexcel", BIG_FASTEXCEL, ROOT, big), ("xltools", BIG_XLTOOLS, ROOT, big),
                  ("titled", BIG_XLTOOLS, ROOT, titled), ("before", BIG_XLTOOLS, before, big)]
    runs: dict[str, list[dict]] = {}
    for _ in range(repeat):                     # alternating, so that a slow spell of the machine hits all
        for name, script, cwd, path in contenders:
            if cwd is not None:
                out = json.loads(run([sys.executable, "-c", script, str(path)], cwd)[2].strip().splitlines()[-1])
                runs.setdefault(name, []).append(out)
    best = {name: min(r, key=lambda o: o["seconds"]) for name, r in runs.items()}
    times = {name: " / ".join(f"{o['seconds']:.2f}" for o in r) for name, r in runs.items()}
    x, f = best["xltools"], best["fastexcel"]
    extra = max(o["peak"] - o["start"] for o in runs["xltools"])
    print(f"\n{rows:,} rows × 20 columns, one sheet (time inside a fresh process, best of {repeat}; all runs in brackets):")
    print(f"  fastexcel load_sheet  {f['seconds']:6.2f} s  ({times['fastexcel']})")
    print(f"  xltools read+validate {x['seconds']:6.2f} s  ({times['xltools']}; {x['rows']:,} rows, {x['problems']} problems)"
          f" → {x['seconds'] / f['seconds']:.2f}x fastexcel (target ≤ 2x)")
    print(f"  xltools peak RSS {x['peak']:.0f} MiB; at most {extra:.0f} MiB above its {x['start']:.0f} MiB at start; "
          f"cell data {cell_bytes / 2**20:.0f} MiB → {extra * 2**20 / cell_bytes:.2f}x (target ≤ 3x)")
    t = best["titled"]
    t_extra = max(o["peak"] - o["start"] for o in runs["titled"])
    print(f"  the same under a merged title row (merged areas looked for): {t['seconds']:.2f} s ({times['titled']}) "
          f"→ {t['seconds'] / f['seconds']:.2f}x fastexcel; {t_extra * 2**20 / cell_bytes:.2f}x the cell data")
    if "before" in best:
        b = best["before"]
        b_extra = max(o["peak"] - o["start"] for o in runs["before"])
        print(f"  before ({before}): {b['seconds']:.2f} s ({times['before']}) = {b['seconds'] / f['seconds']:.2f}x fastexcel; "
              f"{b_extra:.0f} MiB above start → {b_extra * 2**20 / cell_bytes:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--corpus", type=Path, help="use (or write, when empty) the corpus in this folder")
    ap.add_argument("--before", type=Path, help="checkout of the code to compare with (e.g. a worktree of 6acab77)")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each contender on the big sheet (best reported)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xltools_realistic_"))
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {sys.version.split()[0]}; load: {load()}")
        if not args.skip_batch:
            folder = args.corpus or work / "报送"
            if not any(folder.glob("*.xlsx")):
                sys.path.insert(0, str(HERE))
                from corpus import make_corpus
                make_corpus(folder, args.files)
            batch_part(folder, work, args.before.resolve() if args.before else None)
        if not args.skip_big:
            big_part(work, args.rows, args.before.resolve() if args.before else None, args.repeat)
        print(f"load after: {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
