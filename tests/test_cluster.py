"""xltools batch on a real Dask cluster whose workers do not see the client's disk.

The scheduler and the workers are separate `dask scheduler` / `dask worker` processes, each in its
own mount namespace (`unshare -m`) where a tmpfs is mounted over the folder holding the inputs:
there the folder is empty, as the 报送 folder of another office PC would be. Root is needed for
that; in CI (root) these tests must run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import python_calamine as pc

from xltools.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = ("青岛开发区.xlsx", "宁夏开发区.xlsx", "耒阳经开区.xlsx", "问题样例.xlsx")

needs_root = pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true",
                                reason="mount namespaces (unshare -m) need root; CI runs these as root")


def _env(pythonpath: Path = ROOT) -> dict[str, str]:
    """Workers import the xltools under test (or the one at `pythonpath`), not the client's copy."""
    return {**os.environ, "PYTHONPATH": str(pythonpath)}


def _hidden(hide: Path, *argv: str) -> list[str]:
    """`argv` run in a new mount namespace where `hide` is an empty tmpfs."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs tmpfs "$0" && exec "$@"', str(hide), *argv]


# A worker preload for these tests: reading a file named 致命.xlsx ends the worker process, as a
# reader that aborts (or a file too large for that PC's memory) would. Nothing else changes.
FATAL_PRELOAD = """
import os

import xltools.intake as intake
from xltools.intake.reader import iter_sheets as _iter_sheets     # the original (dask may load this twice)


def iter_sheets(path, choose=None):
    if str(path).endswith("致命.xlsx"):
        os._exit(70)
    return _iter_sheets(path, choose)


intake.iter_sheets = iter_sheets
"""


class Cluster:
    """A scheduler and workers started as separate processes (as on office PCs), stopped at the end."""

    def __init__(self, work: Path, hide: Path | None, workers: int = 2, pythonpath: Path = ROOT):
        (work / "fatal_preload.py").write_text(FATAL_PRELOAD, encoding="utf-8")
        self.work, self.hide, self.procs = work, hide, []
        file = work / "scheduler.json"
        self._start("scheduler", "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file))
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline and self.procs[0].poll() is None:
            time.sleep(0.1)
        if not file.exists():
            self._fail("the scheduler did not start")
        self.address = json.loads(file.read_text())["address"]
        for i in range(workers):
            self._start(f"worker{i}", "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                        "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard",
                        "--local-directory", str(work / f"w{i}"), "--preload", str(work / "fatal_preload.py"),
                        env=_env(pythonpath))
        from distributed import Client

        self.client = Client(self.address, timeout="30s")
        try:
            self.client.wait_for_workers(workers, timeout=60)
        except TimeoutError:
            self._fail("the workers did not start")

    def _fail(self, what: str) -> None:
        logs = "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}" for f in sorted(self.work.glob("*.log")))
        for p in self.procs:
            p.kill()
        pytest.fail(f"{what} (unshare -m and mount need root with CAP_SYS_ADMIN):\n{logs}")

    def _start(self, name: str, *argv: str, env=None) -> None:
        cmd = [sys.executable, *argv]
        log = open(self.work / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen(_hidden(self.hide, *cmd) if self.hide else cmd, cwd=self.work,
                                           env=env or _env(), stdout=log, stderr=subprocess.STDOUT))

    def close(self) -> None:
        self.client.shutdown()                          # the scheduler closes its workers
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def hidden_inputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hidden")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, hidden_inputs):
    """Two workers (one thread each) that cannot see `hidden_inputs`."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), hidden_inputs)
    yield c
    c.close()


def _submissions(folder: Path) -> Path:
    folder.mkdir()
    for f in SAMPLE_FILES:
        shutil.copy(ROOT / "sample_workbooks" / f, folder / f)
    shutil.copy(ROOT / "sample_workbooks" / "宁夏开发区.xlsx", folder / "宁夏开发区（重复报送）.xlsx")
    (folder / "坏文件.xlsx").write_bytes(b"%PDF-1.4 this is not a workbook")
    (folder / "导出.xls").write_text("<html><body><table><tr><td>开发区名称</td></tr></table></body></html>",
                                   encoding="utf-8")
    return folder


def test_a_file_sent_in_memory_reads_as_from_disk(tmp_path):
    """What a worker parses from the bytes it was sent is what the client would read from the file."""
    from xltools.batch import read_chunk
    from xltools.intake import InMemoryFile

    folder = _submissions(tmp_path / "报送")
    paths = sorted(folder.iterdir())
    disk = read_chunk([str(p) for p in paths])
    sent = read_chunk([InMemoryFile(str(p), p.name, p.read_bytes()) for p in paths])
    assert [str(b.path) for b in sent] == [str(p) for p in paths]
    for a, b in zip(disk, sent):
        assert (a.name, a.usable, a.problems, list(a.tables)) == (b.name, b.usable, b.problems, list(b.tables))
        for key in a.tables:
            pd.testing.assert_frame_equal(a.frame(key), b.frame(key))
    assert sum(b.usable for b in sent) == 5 and sent[0].problems          # not trivially empty


def grids(path: Path) -> dict[str, list]:
    wb = pc.CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def cli(*args):
    """The command line; its stderr with the console's line wrapping undone."""
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True,
                          env=_env())
    proc.stderr = proc.stderr.replace("\n", "")
    return proc


def notes(result) -> dict[str, str]:
    return dict(zip(result.sheets["计算说明"]["项目"], result.sheets["计算说明"]["内容"]))


@pytest.mark.slow
@needs_root
def test_workers_that_cannot_see_the_folder_read_what_the_client_sends(cluster, hidden_inputs, tmp_path):
    folder = _submissions(hidden_inputs / "报送")
    files = sorted(folder.iterdir())
    seen = cluster.client.run(os.path.exists, str(files[0]))
    assert files[0].exists() and len(seen) == 2 and not any(seen.values())     # really hidden from the workers
    local, remote = tmp_path / "本机.xlsx", tmp_path / "集群.xlsx"
    proc_local = cli("batch", folder, "-o", local, "--jobs", "1")
    proc = cli("batch", folder, "-o", remote, "--scheduler", cluster.address)
    assert proc.returncode == proc_local.returncode == 2, proc.stderr          # 坏文件.xlsx is unusable
    assert "监控面板：http://127.0.0.1:" in proc.stderr and "文件内容由本机读出后发送给工作进程" in proc.stderr
    a, b = grids(local), grids(remote)
    assert list(a) == list(b)
    for sheet in a:
        if sheet != "计算说明":
            assert a[sheet] == b[sheet], sheet
    states = {r[0]: r[1] for r in b["文件清单"][1:]}
    # 问题样例.xlsx repeats six 青岛 zones with other numbers: both files are 重复报送 (issue 14)
    assert states["青岛开发区.xlsx"] == "重复报送" and states["坏文件.xlsx"] == "无法读取"
    assert len(states) == len(files)
    said = {r[0]: r[1] for r in b["计算说明"][1:]}
    assert f"Dask 集群 {cluster.address}（2 个工作进程）" in said["汇总方式"]
    assert said["集群"] == f"调度器 {cluster.address}，2 个工作进程（2 个线程）；文件内容由本机读出后发送给工作进程"


@pytest.mark.slow
@needs_root
def test_shared_storage_sends_only_paths(cluster, hidden_inputs, tmp_path):
    """--shared-storage trusts that the workers see the folder: here they do not, so every file is
    无法读取 there (文件不存在) — proof that no content was sent."""
    folder = _submissions(hidden_inputs / "共享")
    said = []
    result = run_batch(sorted(folder.iterdir()), scheduler=cluster.address, shared_storage=True, notify=said.append)
    assert len(said) == 1 and "工作进程直接读取共享文件夹中的文件" in said[0]
    assert len(result.files) == 7 and (result.files["状态"] == "无法读取").all()
    assert result.files["说明"].str.contains("文件不存在").all()


@pytest.mark.slow
@needs_root
def test_file_contents_are_sent_in_order_within_the_memory_allowance(cluster, hidden_inputs, monkeypatch):
    """The client holds (read, sent, not yet read back) at most IN_FLIGHT_BYTES of file content —
    or one chunk, however large — and sends the files in their order."""
    import xltools.cluster as xc

    folder = _submissions(hidden_inputs / "限量")
    paths = sorted(folder.iterdir())
    allowance = max(p.stat().st_size for p in paths)
    monkeypatch.setattr(xc, "IN_FLIGHT_BYTES", allowance)
    sent, held = [], []
    submit = xc._Reader._submit

    def watched(self, chunk, worker):
        sent.extend(chunk.at)
        held.append(self.held)
        return submit(self, chunk, worker)

    monkeypatch.setattr(xc._Reader, "_submit", watched)
    result = run_batch(paths, scheduler=cluster.address)
    assert sent == list(range(len(paths))) and max(held) <= allowance
    pd.testing.assert_frame_equal(result.files, run_batch(paths, jobs=1).files)


def _batch_losing_a_worker(cluster, paths, lose, **kw):
    """run_batch on `cluster` while one worker, busy with someone else's long task, has one of our
    chunks pinned to it: `lose(client, worker address, worker pid)` is then done to that worker.
    Returns (the result, what `lose` returned, the worker's pid)."""
    client = cluster.client
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    blocker = client.submit(time.sleep, 120, workers=[victim], allow_other_workers=False, pure=False)
    done = []

    def when_ours_waits_there():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(str(k).startswith("xltools-read") for k in client.processing([victim]).get(victim, ())):
                done.append(lose(client, victim, pids[victim]))
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=when_ours_waits_there)
    watcher.start()
    result = run_batch(paths, scheduler=cluster.address, **kw)
    watcher.join()
    del blocker
    assert done, "the worker was not lost mid-batch"
    return result, done[0], pids[victim]


def _same_results(local, remote) -> None:
    """Cell for cell in every sheet but 计算说明 (which names the cluster)."""
    assert list(local.sheets) == list(remote.sheets)
    for sheet in local.sheets:
        if sheet != "计算说明":
            pd.testing.assert_frame_equal(local.sheets[sheet], remote.sheets[sheet])


@pytest.mark.slow
@needs_root
def test_a_worker_killed_mid_batch_loses_no_file(cluster, hidden_inputs):
    """A worker busy with someone else's long task gets one of our chunks pinned to it, and is killed
    while the chunk waits there: the client notices the loss and reads those files elsewhere."""
    folder = _submissions(hidden_inputs / "中途")
    for i in range(6):                                  # more chunks than workers
        shutil.copy(ROOT / "sample_workbooks" / "问题样例.xlsx", folder / f"问题样例{i}.xlsx")
    paths = sorted(folder.iterdir())
    local = run_batch(paths, jobs=1)

    ticks = []
    remote, _, _ = _batch_losing_a_worker(cluster, paths, lambda client, w, pid: os.kill(pid, signal.SIGKILL),
                                          progress=ticks.append)
    assert sorted(ticks) == sorted(p.name for p in paths)          # progress: each file once, as it arrives
    assert len(remote.books) == len(paths) and all(b.path == p for b, p in zip(remote.books, paths))
    _same_results(local, remote)
    assert "工作进程中途丢失 1 次，受影响的文件已重新读取" in notes(remote)["集群"]
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny restarts it (for the tests after this one)


@pytest.mark.slow
@needs_root
def test_a_file_that_kills_workers_twice_is_unreadable_and_the_rest_is_read(cluster, hidden_inputs):
    folder = hidden_inputs / "致命"
    folder.mkdir()
    for i in range(31):                                 # 32 files: chunks of two, so one is split
        shutil.copy(ROOT / "sample_workbooks" / "问题样例.xlsx", folder / f"问题样例{i:02}.xlsx")
    shutil.copy(ROOT / "sample_workbooks" / "问题样例.xlsx", folder / "致命.xlsx")
    paths = sorted(folder.iterdir())
    result = run_batch(paths, scheduler=cluster.address)
    files = result.files.set_index("文件")
    assert files.loc["致命.xlsx", "状态"] == "无法读取"
    assert files.loc["致命.xlsx", "说明"].startswith("读取此文件时集群工作进程两次异常退出（最近一次：工作进程 tcp://")
    local = run_batch([p for p in paths if p.name != "致命.xlsx"], jobs=1)
    pd.testing.assert_frame_equal(files.drop("致命.xlsx"), local.files.set_index("文件"))
    # its chunk partner lost a worker twice with it, was split off and read alone
    assert "工作进程中途丢失 3 次" in notes(result)["集群"]
    cluster.client.wait_for_workers(2, timeout=60)


@pytest.mark.slow
@needs_root
def test_a_worker_retired_mid_batch_loses_no_file(cluster, hidden_inputs):
    """A worker that leaves gracefully (its data moved away, e.g. `dask worker --lifetime`) would
    leave our chunk pinned to it waiting for ever: the client sees the worker gone and reads the
    chunk elsewhere. (Last of the tests on this cluster: the retired worker does not come back.)"""
    folder = _submissions(hidden_inputs / "退出")
    paths = sorted(folder.iterdir())
    remote, retired, pid = _batch_losing_a_worker(
        cluster, paths, lambda client, w, pid: (w, client.retire_workers([w], close_workers=True)))
    os.kill(pid, signal.SIGKILL)                    # it would sit out the blocker's sleep before exiting
    assert retired[0] in retired[1]
    _same_results(run_batch(paths, jobs=1), remote)
    assert "工作进程中途丢失 1 次" in notes(remote)["集群"]


@pytest.mark.slow
def test_workers_with_another_xltools_version_are_refused(tmp_path):
    """A worker that imports another xltools (a copy whose version says 0.0.1) is refused at connect time."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "xltools", other / "xltools", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "xltools" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace('__version__ = "', '__version__ = "0.0.1-'),
                    encoding="utf-8")
    c = Cluster(tmp_path, None, workers=1, pythonpath=other)
    try:
        [got] = c.client.run(lambda: __import__("xltools").__version__).values()
        assert got.startswith("0.0.1-")
        folder = _submissions(tmp_path / "报送")
        proc = cli("batch", folder, "-o", tmp_path / "汇总.xlsx", "--scheduler", c.address)
    finally:
        c.close()
    from xltools import __version__

    assert proc.returncode == 2, proc.stderr
    assert f"xltools 版本与本机（{__version__}）不同，已拒绝使用该集群" in proc.stderr
    assert f"版本 {got}" in proc.stderr and "内部错误" not in proc.stderr
    assert not (tmp_path / "汇总.xlsx").exists()
