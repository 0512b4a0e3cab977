"""Batch reading on a Dask distributed cluster (`xltools batch --scheduler …`).

The workers of a real cluster run on other computers and do not see this computer's 报送 folder.
So the client reads each file's bytes once, in order, and sends them to a worker, which parses
them from memory (reader.InMemoryFile); only a bounded amount of file content is on its way at
any time. When every worker sees the same files (same path, size and modification time: a shared
folder, or a cluster on this computer) or the user says so (`--shared-storage`), only paths travel.

Each chunk of files is pinned to one worker together with its data, so a worker that dies or is
lost takes the chunk's data with it and the chunk fails at once (the scheduler, whose own
`allowed-failures` we cannot change, never retries it behind our back); a chunk left pinned to a
worker that retired gracefully is cancelled by the client when it sees the worker gone. The
client counts the lost workers of each chunk itself: the first loss resubmits the chunk to a
worker running nothing else, the second splits it, and a file that has cost two workers on its
own is 无法读取 with the reason, as the local process pool does (intake.workers.read_isolating).
"""

from __future__ import annotations

import os
import queue
from collections import Counter, deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .intake import Book, InMemoryFile
from .intake.workers import DIED_HINT, read_chunk, safe_read, unreadable

CONNECT_TIMEOUT_S = 20
WORKER_WAIT_S = 60                # with every worker gone, how long to wait for one to (re)join
STALL_CHECK_S = 3                 # while waiting, how often to look for chunks pinned to a worker that left
IN_FLIGHT_BYTES = 256 * 1024**2   # file content read and sent but not yet read back (client memory)
CHUNK_BYTES = 16 * 1024**2        # a chunk takes no more files once it holds this many bytes
MAX_CHUNK_FILES = 32
MTIME_SLACK_S = 2                 # FAT and some network shares keep modification times to 2 s
VERSION_MISMATCH = "xltools-version"


class ClusterError(RuntimeError):
    """The cluster cannot be used (address, no worker, another xltools version): told in Chinese, exit 2."""


@dataclass
class ClusterReport:
    """What the run says about the cluster (计算说明)."""

    address: str
    workers: int
    threads: int
    shipped: bool                 # file contents sent from here (False: workers read the shared paths)
    dashboard: str = ""
    lost: int = 0                 # chunks that lost their worker (each read again)

    @property
    def method(self) -> str:
        return f"Dask 集群 {self.address}（{self.workers} 个工作进程）"

    @property
    def details(self) -> str:
        how = "文件内容由本机读出后发送给工作进程" if self.shipped else "工作进程直接读取共享文件夹中的文件"
        lost = (f"；工作进程中途丢失 {self.lost} 次，受影响的文件已重新读取" if self.lost else "")
        return f"调度器 {self.address}，{self.workers} 个工作进程（{self.threads} 个线程）；{how}{lost}"


def read_on_cluster(paths: list[Path], scheduler: str, *, jobs: int | None = None,
                    shared_storage: bool | None = None, progress: Callable[[str], None] | None = None,
                    notify: Callable[[str], None] | None = None) -> tuple[list[Book], ClusterReport]:
    """Books of `paths` (in their order) read on the Dask cluster at `scheduler` (or `local`)."""
    with connect(scheduler, jobs) as client:
        nthreads = check_workers(client, scheduler)
        shared = True if scheduler == "local" else (shared_storage or sees_same_files(client, paths))
        report = ClusterReport(client.scheduler.address, len(nthreads), sum(nthreads.values()), not shared,
                               _dashboard(client))
        if notify:
            notify(f"{report.details}；监控面板：{report.dashboard or '未启用'}")
        books = _Reader(client, paths, shipped=not shared, progress=progress, report=report).run()
        return books, report


@contextmanager
def connect(scheduler: str, jobs: int | None = None):
    """A Dask client of `scheduler` (tcp://host:port), or of a cluster started on this computer (`local`)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterError("使用 --scheduler 需要安装 Dask：pip install \"xltools[cluster]\"") from exc
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = _connect(Client, scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(client_class, address: str):
    """A Dask client of the scheduler at `address`; a wrong or unreachable address is told in Chinese."""
    try:
        return client_class(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except ValueError as exc:          # no port, unknown scheme (http://…)
        raise ClusterError(f"Dask 集群地址「{address}」无效：应写成 tcp://主机:端口（如 tcp://192.168.1.10:8786），"
                           "或写 local 在本机启动集群") from exc
    except OSError as exc:             # nothing listening, unknown host, firewall
        raise ClusterError(f"无法连接 Dask 集群 {address}（{CONNECT_TIMEOUT_S} 秒内无响应）：请确认调度器已启动"
                           "（dask scheduler）、地址和端口正确、防火墙允许连接；或去掉 --scheduler 在本机并行处理") from exc


def check_workers(client, address: str) -> dict[str, int]:
    """Threads per worker, once every worker is known to run this xltools version (else ClusterError)."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as exc:
        raise ClusterError(f"Dask 集群 {address} 中没有工作进程：请在参与计算的电脑上运行 dask worker {address}"
                           f"（{CONNECT_TIMEOUT_S} 秒内无工作进程加入）") from exc
    versions = client.run(worker_version, on_error="return")
    differ = {w: v for w, v in versions.items() if v != __version__}
    if differ:
        told = "；".join(f"{w}：{_told_version(v)}" for w, v in sorted(differ.items()))
        raise ClusterError(f"Dask 集群中有工作进程的 xltools 版本与本机（{__version__}）不同，已拒绝使用该集群："
                           f"{told}。请在这些电脑上安装与本机相同的 xltools（同一份源码文件夹中运行 "
                           "pip install \".[cluster]\"，xltools --version 应显示相同版本），重新启动 dask worker 后再运行")
    return client.nthreads()


def worker_version() -> str:
    """On a worker: the version of the xltools it imports (what would read the files)."""
    import xltools

    return xltools.__version__


def _told_version(v) -> str:
    if isinstance(v, BaseException):
        return f"无法确认版本（未安装 xltools 或无法导入：{type(v).__name__}: {str(v)[:120]}）"
    return f"版本 {v}"


def sees_same_files(client, paths: list[Path]) -> bool:
    """Does every worker see every one of `paths` at the same place, with the same size and
    modification time (a shared folder, or workers on this computer)?"""
    files = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue                    # missing here: read (and reported) here either way
        files.append((str(p.absolute()), st.st_size, st.st_mtime))
    if not files:
        return True
    seen = client.run(same_files, files, on_error="return")
    return all(v is True for v in seen.values())


def same_files(files: list[tuple[str, int, float]]) -> bool:
    """On a worker: are all `files` here, with these sizes and modification times?"""
    for path, size, mtime in files:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if st.st_size != size or abs(st.st_mtime - mtime) > MTIME_SLACK_S:
            return False
    return True


def read_shipped(files: list[tuple[str, str, bytes | None]], version: str):
    """On a worker: read a chunk — files sent as (client path, name, bytes), or (shared path, name, None).

    A worker that joined with another xltools version says so instead of reading."""
    if __version__ != version:
        return VERSION_MISMATCH, __version__
    return read_chunk([path if data is None else InMemoryFile(path, name, data) for path, name, data in files])


def _dashboard(client) -> str:
    """The scheduler's dashboard address ("" when it runs without one: Dask would still make up a link)."""
    try:
        return client.dashboard_link or "" if "dashboard" in client.scheduler_info(n_workers=0)["services"] else ""
    except Exception:
        return ""


@dataclass
class _Chunk:
    at: list[int]                         # positions in the input list, in order
    size: int                             # bytes of its files
    files: list | None = None             # what is sent (loaded just before the first submission)
    losses: int = 0
    reason: str = ""


@dataclass
class _Reader:
    """The client's loop: load, pin to a worker, collect, and on a lost worker resubmit or split."""

    client: object
    paths: list[Path]
    shipped: bool
    progress: Callable[[str], None] | None
    report: ClusterReport
    books: dict[int, Book] = field(default_factory=dict)
    running: dict = field(default_factory=dict)        # future → (chunk, worker)
    load: Counter = field(default_factory=Counter)     # worker → chunks pinned to it
    held: int = 0                                      # bytes of loaded, unfinished chunks
    idle_since: float | None = None                    # since when nothing could be sent

    def run(self) -> list[Book]:
        sizes = [_size(p) for p in self.paths]
        self.todo = deque(_plan(sizes, self.report.threads))
        self.suspects: deque[_Chunk] = deque()
        self.finished: queue.Queue = queue.Queue()        # futures as they finish (done callbacks)
        while self.todo or self.suspects or self.running:
            self._dispatch()
            if not self.running:
                self._wait_for_a_worker()
                continue
            self.idle_since = None
            future = self._next_finished()
            if future not in self.running:
                continue
            chunk, worker = self.running.pop(future)
            self.load[worker] -= 1
            try:
                shipped = future.result()
            except Exception as exc:          # the worker died or was lost (read_chunk never raises)
                self._lost(chunk, worker, exc)
                continue
            finally:
                future.release()
            if isinstance(shipped, tuple) and shipped[:1] == (VERSION_MISMATCH,):
                raise ClusterError(f"工作进程 {worker} 的 xltools 版本（{shipped[1]}）与本机（{__version__}）不同，"
                                   "已停止：请在每台电脑上安装同一版本后重新启动 dask worker")
            self.held -= chunk.size
            for i, book in zip(chunk.at, shipped):
                self._done(i, book)
        return [self.books[i] for i in range(len(self.paths))]

    def _next_finished(self):
        """The next future to finish. A worker that left without losing its data (retired gracefully:
        the scheduler moved the data away) leaves the chunks pinned to it waiting for ever: those are
        cancelled, and so count as lost."""
        while True:
            try:
                return self.finished.get(timeout=STALL_CHECK_S)
            except queue.Empty:
                here = set(self.client.nthreads())
                orphans = [f for f, (_, w) in self.running.items() if w not in here]
                if orphans:
                    self.client.cancel(orphans)           # their done callbacks follow

    def _done(self, i: int, book: Book) -> None:
        book.path = self.paths[i]                     # the client's own Path (results are keyed by it)
        self.books[i] = book
        if self.progress:
            self.progress(book.name)

    def _dispatch(self) -> None:
        """Pin chunks to workers with room: suspects (a chunk that lost a worker) one to an idle
        worker, alone; new chunks only when no suspect waits, within the memory allowance."""
        nthreads = self.client.nthreads()
        while self.suspects or self.todo:
            suspect = bool(self.suspects)
            chunk = self.suspects[0] if suspect else self.todo[0]
            free = [w for w, n in nthreads.items() if self.load[w] == 0 or (not suspect and self.load[w] < n
                                                                             and not self._alone(w))]
            if not free or (not suspect and self.held and self.held + chunk.size > IN_FLIGHT_BYTES):
                return
            (self.suspects if suspect else self.todo).popleft()
            if not self._load(chunk):
                continue
            worker = min(free, key=lambda w: self.load[w] / nthreads[w])
            if not self._submit(chunk, worker):
                (self.suspects if suspect else self.todo).appendleft(chunk)
                nthreads.pop(worker)

    def _alone(self, worker: str) -> bool:
        return any(w == worker and c.losses for c, w in self.running.values())

    def _load(self, chunk: _Chunk) -> bool:
        """Read the chunk's files (once); a file that cannot be read here is reported from here."""
        if chunk.files is not None:
            return True
        files, at = [], []
        for i in chunk.at:
            p = self.paths[i]
            try:
                files.append((str(p.absolute()), p.name, None) if not self.shipped else (str(p), p.name, p.read_bytes()))
                at.append(i)
            except OSError:                            # gone or locked: the same message as a local run
                self._done(i, safe_read(str(p)))
        chunk.at, chunk.files = at, files
        chunk.size = sum(len(data or b"") for _, _, data in files)     # bytes held here until read back
        self.held += chunk.size
        return bool(at)

    def _submit(self, chunk: _Chunk, worker: str) -> bool:
        """Send the chunk's data to `worker` and run it there only (False: the worker is gone)."""
        try:
            [data] = self.client.scatter([chunk.files], workers=[worker], hash=False)
        except (OSError, TimeoutError):               # CommClosedError is an OSError
            return False
        future = self.client.submit(read_shipped, data, __version__, workers=[worker], allow_other_workers=False,
                                    pure=False, key=f"xltools-read-{chunk.at[0]}-{os.urandom(4).hex()}")
        self.running[future] = (chunk, worker)
        self.load[worker] += 1
        future.add_done_callback(self.finished.put)
        return True

    def _lost(self, chunk: _Chunk, worker: str, exc: Exception) -> None:
        if self.client.status != "running":
            raise ClusterError(f"与 Dask 集群 {self.report.address} 的连接中断，汇总未完成：请确认调度器仍在运行后重试")
        self.report.lost += 1
        chunk.losses += 1
        chunk.reason = (f"工作进程 {worker} 异常退出或失去联系" if type(exc).__name__.endswith("CancelledError")
                        else f"工作进程 {worker} 出错：{type(exc).__name__}: {exc}"[:200])
        if chunk.losses < 2:
            self.suspects.append(chunk)
            return
        if len(chunk.at) == 1:
            self.held -= chunk.size
            self._done(chunk.at[0], unreadable(
                self.paths[chunk.at[0]], f"读取此文件时集群工作进程两次异常退出（最近一次：{chunk.reason}；"
                "文件可能损坏，或大到超出该电脑的内存）", DIED_HINT))
            return
        half = len(chunk.at) // 2
        self.held -= chunk.size
        parts = [_Chunk(chunk.at[:half], 0, chunk.files[:half], 1, chunk.reason),
                 _Chunk(chunk.at[half:], 0, chunk.files[half:], 1, chunk.reason)]
        for part in parts:
            part.size = sum(len(data or b"") for _, _, data in part.files)
            self.held += part.size
        self.suspects.extendleft(reversed(parts))

    def _wait_for_a_worker(self) -> None:
        """Nothing could be sent (every worker gone): wait a while for one to (re)join."""
        import time

        self.idle_since = self.idle_since or time.monotonic()
        try:
            left = WORKER_WAIT_S - (time.monotonic() - self.idle_since)
            if left <= 0:
                raise TimeoutError
            self.client.wait_for_workers(1, timeout=left)
        except TimeoutError as exc:
            raise ClusterError(f"Dask 集群 {self.report.address} 已没有可用的工作进程（等待 {WORKER_WAIT_S} 秒无工作进程"
                               "加入），汇总未完成：请重新启动 dask worker 后重试") from exc
        time.sleep(0.2)                   # a worker just gone may still be listed: let the scheduler catch up


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _plan(sizes: list[int], threads: int) -> list[_Chunk]:
    """Consecutive chunks: few enough per thread to share the work, small enough in bytes to bound memory."""
    per = max(1, min(MAX_CHUNK_FILES, len(sizes) // (8 * max(threads, 1)) or 1))
    chunks: list[_Chunk] = []
    for i, size in enumerate(sizes):
        if not chunks or len(chunks[-1].at) >= per or chunks[-1].size >= CHUNK_BYTES:
            chunks.append(_Chunk([], 0))
        chunks[-1].at.append(i)
        chunks[-1].size += size
    return chunks
