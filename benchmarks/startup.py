"""Start-up time of the command line, as processes, against importing typer alone.

Usage:  python benchmarks/startup.py [--runs 10]

Each command is started --runs times with this interpreter from the repository root (so the
checkout is measured, not an installed copy), the commands taking turns so that a busy machine
slows all of them alike; the table gives the median wall time and its ratio to
`python -c "import typer"` (issue 18 target: `xltools --version` ≤ 2×). `xltools` runs what the
console script runs (`from xltools.cli import entry; entry()`), without a launcher in front of it
(a pyenv shim alone adds tens of milliseconds) and, unlike `python -m xltools.cli`, with cli.py's
compiled .pyc. Every process may cache bytecode (in a temporary folder, the repository is left
alone) even where PYTHONDONTWRITEBYTECODE is set: an installed copy has its .pyc files, and
without them each run compiles every xltools module afresh while typer's come precompiled.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("python -c \"import typer\"", ["-c", "import typer"])
ENTRY = ["-c", "import sys; sys.argv[0] = 'xltools'; from xltools.cli import entry; entry()"]
COMMANDS = [BASELINE,
            ("xltools --version", [*ENTRY, "--version"]),
            ("xltools -h", [*ENTRY, "-h"]),
            ("xltools profiles", [*ENTRY, "profiles"])]


def wall_time(args: list[str], env: dict[str, str]) -> float:
    """Seconds from starting the process to its exit (output discarded; it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def medians(runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPYCACHEPREFIX=cache, COLUMNS="120")
        for label, args in COMMANDS:              # one warm-up each: file-system caches, .pyc files
            wall_time(args, env)
        for _ in range(runs):
            for label, args in COMMANDS:
                times[label].append(wall_time(args, env))
    return {label: statistics.median(t) for label, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (median taken)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {sys.version.split()[0]}; "
          f"median of {args.runs} runs")
    result = medians(args.runs)
    base = result[BASELINE[0]]
    width = max(len(label) for label in result)
    print(f"{'command':<{width}}  {'median':>8}  {'× typer':>8}")
    for label, seconds in result.items():
        print(f"{label:<{width}}  {seconds * 1000:>6.0f} ms  {seconds / base:>7.2f}×")


if __name__ == "__main__":
    main()
