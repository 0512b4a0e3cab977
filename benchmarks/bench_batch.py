"""Batch speed and memory.

Usage:  python benchmarks/bench_batch.py [--files 1000] [--rows 200000] [--repeat 3]

Part 1 — 1,000 zone workbooks (开发区, 机构设置, 职数编制, 指标 × 5 years, 薪酬), in one run:
  xltools : run_batch (parallel intake + validation + consolidation + compliance, salary,
            ranking) and writing the result workbook — what `xltools batch` does;
  (a)     : the obvious loop: pandas.read_excel(engine="openpyxl") of every sheet of every
            file, concatenated per sheet (consolidation only — no validation, no engine);
  (b)     : the bare python-calamine read of every sheet of every file.
Part 2 — one workbook of --rows rows × 20 columns (enterprise-level 亩均 evaluation): read,
  scored, ranked and written, in a fresh process; time and peak RSS against the in-memory size
  of its cell data (the numeric block plus the name strings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import python_calamine as pc

sys.path.insert(0, str(Path(__file__).parent))
from bench_intake import make_files  # noqa: E402

from xltools.batch import run_batch  # noqa: E402
from xltools.output.workbook import write_results  # noqa: E402


def pandas_loop(paths):
    per_sheet = {}
    for p in paths:
        for name, df in pd.read_excel(p, sheet_name=None, engine="openpyxl", header=1).items():
            per_sheet.setdefault(name, []).append(df.assign(_file=p.name))
    return {k: pd.concat(v, ignore_index=True) for k, v in per_sheet.items()}


def calamine_loop(paths):
    n = 0
    for p in paths:
        wb = pc.CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            n += len(wb.get_sheet_by_name(name).to_python())
        wb.close()
    return n


BIG_JOB = r"""
import json, sys, time
from xltools.jobs import run_books
from xltools.output.workbook import write_results


def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(key))


# reset the peak-RSS counter (Linux clear_refs 5): a forked child would otherwise inherit the
# parent's peak; then measure the job's own peak above its starting size
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
start = status("VmRSS:")
t0 = time.perf_counter()
res = run_books([sys.argv[1]], tasks=("rank",))
t1 = time.perf_counter()
write_results(sys.argv[2], res.sheets)
t2 = time.perf_counter()
print(json.dumps({"read_score_rank": t1 - t0, "write": t2 - t1,
                  "peak_rss_mb": status("VmHWM:"), "start_rss_mb": start,
                  "ranked": int(res.sheets["考核排名"]["总排名"].notna().sum()) if "考核排名" in res.sheets else 0,
                  "skipped": res.skipped}))
"""


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def big_workbook(path: Path, rows: int, title: bool = False) -> int:
    """指标 sheet: 企业名称 + 年度 + 18 numeric columns (under a merged title row when `title`, as
    officials' sheets often have); returns the in-memory size of the cell data."""
    import xlsxwriter
    rng = np.random.default_rng(1)
    cols = ["税收收入", "行政事业性收费", "土地出让收益", "固定资产投资", "规上工业总产值", "工业增加值", "营业收入",
            "用地面积", "综合能耗", "主要污染物排放量", "研发经费", "从业人员", "规上工业企业数", "实际使用外资",
            "进出口总额", "加分", "扣分", "税收基数"]
    data = rng.lognormal(3, 1, size=(rows, len(cols))).round(2)
    for name in ("从业人员", "规上工业企业数"):                 # counts are whole numbers
        data[:, cols.index(name)] = np.round(data[:, cols.index(name)])
    # 工业增加值 is part of 规上工业总产值 (15–45 % of it), as in every real submission: independent
    # draws would exceed it in half the rows and plant ~120,000 QZ-07 errors no workbook has
    output = data[:, cols.index("规上工业总产值")]
    data[:, cols.index("工业增加值")] = np.floor(output * rng.uniform(0.15, 0.45, size=rows) * 100) / 100
    for name in ("加分", "扣分"):                               # points, at most 100 (QZ-04 otherwise)
        data[:, cols.index(name)] = rng.uniform(0, 20, size=rows).round(1)
    names = [f"企业{i:06d}" for i in range(rows)]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("指标")
    top = 1 if title else 0
    if title:
        ws.merge_range(0, 0, 0, len(cols) + 1, "2023 年度企业亩均效益数据（单位：万元）")
    ws.write_row(top, 0, ["开发区名称", "年度"] + cols)
    for r in range(rows):
        ws.write_string(top + r + 1, 0, names[r])
        ws.write_number(top + r + 1, 1, 2023)
        ws.write_row(top + r + 1, 2, data[r].tolist())
    wb.close()
    return data.nbytes + 8 * rows + sum(sys.getsizeof(n) for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--skip-batch", action="store_true", help="only the large-workbook part")
    ap.add_argument("--repeat", type=int, default=3, help="runs of xltools and of (b); the best is reported")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xltools_batch_bench_"))
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {sys.version.split()[0]}")
        paths = [] if args.skip_batch else make_files(work, args.files)
        if paths:
            runs = [timed(lambda: write_results(work / "汇总.xlsx", run_batch(paths).sheets)) for _ in range(args.repeat)]
            t_x, first = min(runs), runs[0]
            t_a = timed(lambda: pandas_loop(paths))                     # 13 s: once is enough
            t_b = min(timed(lambda: calamine_loop(paths)) for _ in range(args.repeat))
            print(f"{args.files} workbooks: xltools batch {t_x:.2f} s best of {args.repeat} (first run {first:.2f} s; "
                  f"all results written) | pandas+openpyxl loop {t_a:.2f} s | bare calamine read {t_b:.2f} s")
            print(f"ratios: {t_a / t_x:.1f}x faster than (a) (first run {t_a / first:.1f}x); "
                  f"{t_x / t_b:.2f}x the bare calamine read (b)")

        big = work / "企业亩均.xlsx"
        cells = big_workbook(big, args.rows)
        proc = subprocess.run([sys.executable, "-c", BIG_JOB, str(big), str(work / "企业结果.xlsx")],
                              capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr)
            raise SystemExit(1)
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        extra = m["peak_rss_mb"] - m["start_rss_mb"]
        print(f"{args.rows:,} rows × 20 columns: read+score+rank {m['read_score_rank']:.1f} s, write {m['write']:.1f} s; "
              f"ranked {m['ranked']:,}; peak RSS {m['peak_rss_mb']:.0f} MiB = {extra:.0f} MiB above the process's "
              f"{m['start_rss_mb']:.0f} MiB at start (xltools imported); cell data {cells / 2**20:.0f} MiB "
              f"→ {extra * 2**20 / cells:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
