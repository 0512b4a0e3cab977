"""xltools batch: many files, bad and duplicate submissions, Dask, lossless --in-place, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import python_calamine as pc
import xlsxwriter

from xltools.batch import run_batch
from xltools.output.inject import FileLocked, inject


def grids(path):
    wb = pc.CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


@pytest.fixture
def submissions(samples, tmp_path) -> Path:
    folder = tmp_path / "报送"
    folder.mkdir()
    for f in ("青岛开发区.xlsx", "宁夏开发区.xlsx", "耒阳经开区.xlsx"):
        shutil.copy(samples / f, folder / f)
    (folder / "坏文件.xlsx").write_bytes(b"%PDF-1.4 this is not a workbook")
    shutil.copy(samples / "宁夏开发区.xlsx", folder / "宁夏开发区（重复报送）.xlsx")
    return folder


def cli(*args):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_batch_lists_problems_and_still_ranks_everyone(submissions, tmp_path):
    out = tmp_path / "汇总.xlsx"
    proc = cli("batch", str(submissions / "*.xlsx"), "-o", out, "--json")
    assert proc.returncode == 2, proc.stderr          # one file is unusable (as validate)
    summary = json.loads(proc.stdout)
    assert summary["文件数"] == 5 and summary["跨文件问题"] == 1 + 1 + 1   # the identical copy, mixed years, 考核年度
    g = grids(out)
    files = {r[0]: r[1] for r in g["文件清单"][1:]}
    assert files["坏文件.xlsx"] == "无法读取" and files["宁夏开发区（重复报送）.xlsx"] == "有警告"
    assert files["青岛开发区.xlsx"] == "正常" and files["宁夏开发区.xlsx"] == "正常"
    problems = [r for r in g["数据校验"][1:]]
    assert any(r[0] == "坏文件.xlsx" and "不是 Excel 工作簿" in r[4] for r in problems)
    # an identical copy is one 警告 (SPEC §3.1 「identical content → one 警告, one copy used」), not 23 错误
    [dup] = [r for r in problems if "重复报送" in r[4]]
    assert dup[:4] == ["宁夏开发区（重复报送）.xlsx", "开发区", "开发区!A3", "警告"]
    assert "与「宁夏开发区.xlsx」重复报送，内容完全相同" in dup[4] and "等 23 个开发区" in dup[4]
    mixed = [r for r in problems if "不同年度混合" in r[4]]
    assert mixed and all(r[2].startswith(f"{r[1]}!") for r in mixed)     # the file's own 年度 header cell
    ranked = {r[0] for r in g["考核排名"][1:]}
    assert len(ranked) == 20 + 23 and "宁夏苏银产业园" in ranked and "青岛蓝谷" in ranked
    checks = [r for r in g["合规检查"][1:] if r[0] == "贺兰工业园区" and r[1] == "NX-20"]
    assert len(checks) == 1                           # the duplicate submission was not counted twice
    assert any("不同年度混合" in r[4] for r in problems if r[0] == "耒阳经开区.xlsx")
    told = " ".join(subprocess.run([sys.executable, "-m", "xltools.cli", "batch", str(submissions / "*.xlsx"), "-o", out],
                                   capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}).stderr.split())
    assert "需要处理的文件：1 个" in told and "坏文件.xlsx" in told
    assert "青岛开发区.xlsx" not in told.split("需要处理的文件")[1].split("文件：正常")[0]


@pytest.mark.slow
def test_a_zone_submitted_twice_with_other_numbers_is_a_conflict_in_both_files(samples, tmp_path):
    """问题样例.xlsx (planted errors) repeats six zones of 青岛开发区.xlsx with other numbers. SPEC §3.1:
    「different content → 错误 in both files naming the other and the differing cells; the zone's
    computations for that year stay empty (数据冲突) unless the user chooses with --prefer」 —
    neither the error count nor the file name decides."""
    res = run_batch([samples / "问题样例.xlsx", samples / "青岛开发区.xlsx"], jobs=1)
    by_name = {b.name: b for b in res.books}
    repeated = set(by_name["问题样例.xlsx"].tables["zones"].values["zone"])
    qingdao = set(by_name["青岛开发区.xlsx"].tables["zones"].values["zone"])
    assert len(repeated) == 6 and repeated <= qingdao
    clash = [p for p in res.cross if "重复报送" in p.message]
    for mine, other in (("问题样例.xlsx", "青岛开发区.xlsx"), ("青岛开发区.xlsx", "问题样例.xlsx")):
        told = [p for p in clash if p.file == mine]
        assert told and all(p.level == "错误" and f"与「{other}」不同" in p.message and "数据冲突" in p.message
                            for p in told)
        assert {p.message.split("「")[1].split("」")[0] for p in told} == repeated
    files = res.files.set_index("文件")["状态"]
    assert files["问题样例.xlsx"] == files["青岛开发区.xlsx"] == "重复报送"
    summary = res.sheets["合规汇总"]
    summary = summary[summary["级别"] != "全市"].set_index("开发区名称")          # not the 全市合计 line (QD-13/14)
    assert (summary.loc[sorted(repeated), "结论"] == "数据冲突").all()        # listed, not computed
    # a zone of 问题样例's 指标 that no 开发区 sheet lists is listed too, as 数据缺失 (not computed)
    unlisted = {z for t in ("indicators", "posts", "departments") if t in by_name["问题样例.xlsx"].tables
                for z in by_name["问题样例.xlsx"].tables[t].values["zone"] if z} - qingdao - repeated
    assert unlisted and set(summary.index) == qingdao | unlisted
    assert (summary.loc[sorted(unlisted), "结论"] == "数据缺失").all()
    assert (summary.drop(sorted(repeated))["结论"] != "数据冲突").all()
    assert not res.sheets["合规检查"].query("结论 != '数据冲突'")["开发区名称"].isin(repeated).any()

    chosen = run_batch([samples / "问题样例.xlsx", samples / "青岛开发区.xlsx"], jobs=1, prefer=("青岛开发区.xlsx",))
    levels = {(p.file, p.level) for p in chosen.cross if "重复报送" in p.message}
    assert levels == {("问题样例.xlsx", "错误"), ("青岛开发区.xlsx", "警告")}
    salary = chosen.sheets["薪酬测算"].set_index("开发区名称")
    alone = run_batch([samples / "青岛开发区.xlsx"], jobs=1).sheets["薪酬测算"].set_index("开发区名称")
    pd.testing.assert_frame_equal(salary.loc[sorted(repeated)], alone.loc[sorted(repeated)])


@pytest.mark.slow
def test_files_with_the_same_name_in_different_folders_stay_apart(samples, tmp_path):
    """Every city's folder holds a 报送表.xlsx: results name them by folder, and each file's own
    参数 (青岛 / 宁夏 policy profiles) applies to its own zones — as with distinct file names."""
    for city, sample in (("青岛", "青岛开发区.xlsx"), ("宁夏", "宁夏开发区.xlsx")):
        (tmp_path / "报送" / city).mkdir(parents=True)
        shutil.copy(samples / sample, tmp_path / "报送" / city / "报送表.xlsx")
    out = tmp_path / "汇总.xlsx"
    proc = cli("batch", tmp_path / "报送", "-o", out, "--in-place")
    assert proc.returncode == 0, proc.stderr
    files = [r[0] for r in grids(out)["文件清单"][1:]]
    assert files == ["宁夏/报送表.xlsx", "青岛/报送表.xlsx"]
    apart = run_batch([samples / "青岛开发区.xlsx", samples / "宁夏开发区.xlsx"], jobs=1).sheets["合规检查"]
    together = pd.read_excel(out, sheet_name="合规检查", engine="calamine")
    assert dict(zip(together["开发区名称"], together["政策口径"])) == dict(zip(apart["开发区名称"], apart["政策口径"]))
    assert set(together["政策口径"]) == {"青岛口径", "宁夏口径"}
    back = grids(tmp_path / "报送" / "青岛" / "报送表.xlsx")["合规检查"]          # --in-place: its own zones only
    own = apart["政策口径"].eq("青岛口径") & ~apart["开发区名称"].str.startswith("全市合计")   # the city line is the batch's
    assert {r[0] for r in back[1:]} == set(apart.loc[own, "开发区名称"])


def _sheets_only(src, dst, keep):
    import openpyxl

    wb = openpyxl.load_workbook(src)
    for name in wb.sheetnames:
        if name not in keep:
            wb.remove(wb[name])
    wb.save(dst)
    return wb


@pytest.mark.slow
def test_a_submission_split_by_topic_gives_the_same_results(samples, tmp_path):
    """编办 sends 开发区/机构设置/职数编制, 统计局 sends 指标/薪酬 for the same zones: the batch
    joins them exactly as if one file had held everything; a third file repeating the 指标 rows
    is reported once, and only one copy of each row is used."""
    folder = tmp_path / "报送"
    folder.mkdir()
    src = samples / "青岛开发区.xlsx"
    _sheets_only(src, folder / "编办.xlsx", {"参数", "开发区", "机构设置", "职数编制"})
    _sheets_only(src, folder / "统计局.xlsx", {"参数", "指标", "薪酬"})
    whole = run_batch([src], jobs=1)
    split = run_batch(sorted(folder.glob("*.xlsx")), jobs=1)
    assert not split.cross
    for name in ("合规汇总", "薪酬测算", "税收返还", "考核排名"):
        pd.testing.assert_frame_equal(split.sheets[name], whole.sheets[name])

    wb = _sheets_only(src, folder / "A补充.xlsx", {"指标"})          # sorts first
    ws = wb["指标"]
    tax_col = next(c for c in range(1, ws.max_column + 1) if str(ws.cell(2, c).value).startswith("税收收入"))
    zone, year, old = ws.cell(3, 1).value, ws.cell(3, 2).value, ws.cell(3, tax_col).value
    ws.cell(3, tax_col).value = old * 2                            # its first data row differs
    wb.save(folder / "A补充.xlsx")
    again = run_batch(sorted(folder.glob("*.xlsx")), jobs=1)
    cell = f"指标!{'ABCDEFGHIJKLMNOP'[tax_col - 1]}3"
    conflict = sorted((p.file, p.sheet, p.cell, p.level) for p in again.cross if p.level == "错误")
    assert conflict == [("A补充.xlsx", "指标", cell, "错误"), ("统计局.xlsx", "指标", cell, "错误")]
    told = {p.file: p.message for p in again.cross if p.level == "错误"}
    wan = round(old * 10_000)                                     # the header says 亿元: compared in 万元
    assert f"「税收收入」{cell} 与「统计局.xlsx」{cell} 不同：{wan * 2:,} ≠ {wan:,}（万元）" in told["A补充.xlsx"]
    assert f"「税收收入」{cell} 与「A补充.xlsx」{cell} 不同：{wan:,} ≠ {wan * 2:,}（万元）" in told["统计局.xlsx"]
    assert all(f"开发区「{zone}」{year} 年" in m and f"数据冲突：该开发区 {year} 年的数据未计算" in m for m in told.values())
    [same] = [p for p in again.cross if p.level == "警告"]                 # the other rows: identical, used once
    assert same.file == "统计局.xlsx" and "与「A补充.xlsx」重复报送，内容完全相同" in same.message
    files = again.files.set_index("文件")["状态"]
    assert files["A补充.xlsx"] == files["统计局.xlsx"] == "重复报送" and files["编办.xlsx"] == "正常"
    rows = len(whole.sheets["派生指标"])
    derived = again.sheets["派生指标"].set_index(["开发区名称", "年度"])
    assert len(derived) == rows - 1 and (zone, year) not in derived.index    # the zone-year left uncomputed
    notes = dict(zip(again.sheets["计算说明"]["项目"], again.sheets["计算说明"]["内容"]))
    assert f"开发区「{zone}」{year} 年（「A补充.xlsx」「统计局.xlsx」）" in notes["数据冲突"]

    chosen = run_batch(sorted(folder.glob("*.xlsx")), jobs=1, prefer=("A补充.xlsx",))
    assert {(p.file, p.level) for p in chosen.cross if "不同" in p.message} == {("A补充.xlsx", "警告"), ("统计局.xlsx", "错误")}
    ratio = (chosen.sheets["派生指标"].set_index(["开发区名称", "年度"])["亩均税收"]
             / whole.sheets["派生指标"].set_index(["开发区名称", "年度"])["亩均税收"])
    assert ratio[(zone, year)] == pytest.approx(2) and (ratio.drop((zone, year)) == 1).all()


def test_files_that_disagree_on_a_parameter_are_warned(samples):
    """考核年度 is one setting for the whole batch (the value most files give): 耒阳's 2019 is
    overruled and 耒阳 is told so at its cell; 地区, which no computation reads, raises nothing."""
    res = run_batch([samples / f for f in ("青岛开发区.xlsx", "宁夏开发区.xlsx", "耒阳经开区.xlsx")], jobs=1)
    notes = [p for p in res.cross if p.message.startswith("参数")]
    assert [(p.file, p.cell, p.level) for p in notes] == [("耒阳经开区.xlsx", "参数!B4", "警告")]
    assert "「考核年度」为「2019」" in notes[0].message and "按「2023」计算" in notes[0].message
    assert set(res.sheets["考核排名"]["年度"]) == {2023}


def test_every_parameter_the_engine_reads_is_declared():
    """The 参数 items the engine looks up are the ones schema.PARAM_ITEMS declares (and documents)."""
    import re

    from xltools.schema import PARAM_ITEMS

    source = "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "xltools" / "engine").glob("*.py"))
    looked_up = re.findall(r'params(?:\.get\(|\[)"([^"]+)"', source) + re.findall(r'"([^"]+)" in params\b', source)
    read = {item for item in looked_up if not item.isascii()}        # not the sheet's own columns (item, value)
    assert read and read <= set(PARAM_ITEMS), read - set(PARAM_ITEMS)


def test_folder_input_and_jobs_give_identical_results(submissions):
    one = run_batch(sorted(submissions.glob("*.xlsx")), jobs=1)
    two = run_batch(sorted(submissions.glob("*.xlsx")), jobs=2)
    assert list(one.sheets) == list(two.sheets)
    for name in one.sheets:
        if name != "计算说明":                       # which records the number of processes
            pd.testing.assert_frame_equal(one.sheets[name], two.sheets[name])


def test_an_unexpected_failure_in_a_chunk_costs_only_its_own_file(submissions, monkeypatch):
    """Workers read files in chunks (columns typed together); should reading one file fail in a
    way intake does not foresee, the chunk is read again file by file and only that file is lost."""
    import xltools.intake as intake
    from xltools.batch import read_chunk

    real = intake.stage_table

    def flaky(head, rest, sheet, title, typer):
        if any("贺兰" in str(v) for row in head for v in row):      # a zone of 宁夏开发区.xlsx only
            raise RuntimeError("意外错误")
        return real(head, rest, sheet, title, typer)

    monkeypatch.setattr(intake, "stage_table", flaky)
    paths = [str(p) for p in sorted(submissions.glob("*.xlsx"))]
    books = read_chunk(paths)
    assert [b.name for b in books] == [Path(p).name for p in paths]
    lost = {b.name for b in books if not b.usable}
    assert lost == {"坏文件.xlsx", "宁夏开发区.xlsx", "宁夏开发区（重复报送）.xlsx"}
    assert "意外错误" in next(b for b in books if b.name == "宁夏开发区.xlsx").problems[0].message
    assert all(b.rows > 0 for b in books if b.usable)


def test_books_arrive_from_workers_as_they_were_read(submissions, samples):
    """A chunk's books travel packed (one array per column of each sheet kind): unpacked, every
    table, value and problem is what the worker read — including an unusable file's."""
    import pickle

    from books import assert_same_books
    from xltools.batch import read_chunk

    paths = [str(p) for p in [*sorted(submissions.glob("*.xlsx")), samples / "问题样例.xlsx"]]
    shipped = read_chunk(paths)
    arrived = pickle.loads(pickle.dumps(shipped))
    assert any(not b.usable for b in arrived) and any(b.problems for b in arrived if b.usable)
    assert_same_books(arrived, list(shipped))


@pytest.mark.slow
def test_dask_local_cluster_matches_local_processes(submissions):
    import distributed  # noqa: F401  (test extra: a real LocalCluster)
    paths = sorted(submissions.glob("*.xlsx"))
    local = run_batch(paths, jobs=1)
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = run_batch(paths, scheduler=cluster.scheduler_address)
    for name in local.sheets:
        if name != "计算说明":
            pd.testing.assert_frame_equal(local.sheets[name], remote.sheets[name])
    notes = dict(zip(remote.sheets["计算说明"]["项目"], remote.sheets["计算说明"]["内容"]))
    assert "Dask 集群 tcp://127.0.0.1" in notes["汇总方式"]
    assert "工作进程直接读取共享文件夹中的文件" in notes["集群"]          # same computer: detected, paths only


@pytest.mark.slow
def test_a_wrong_or_unreachable_scheduler_is_told_in_chinese(submissions, monkeypatch):
    import socket

    import xltools.cluster as cluster

    paths = sorted(submissions.glob("*.xlsx"))
    with pytest.raises(RuntimeError, match="地址「http://127.0.0.1:8786」无效：应写成 tcp://主机:端口"):
        run_batch(paths, scheduler="http://127.0.0.1:8786")
    with socket.socket() as s:                      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(RuntimeError, match=f"无法连接 Dask 集群 tcp://127.0.0.1:{port}（2 秒内无响应）"):
        run_batch(paths, scheduler=f"tcp://127.0.0.1:{port}")
    proc = cli("batch", submissions, "-o", submissions.parent / "x.xlsx", "--scheduler", "foo")
    assert proc.returncode == 2 and "无效" in proc.stderr and "内部错误" not in proc.stderr


@pytest.mark.slow
def test_rerun_gives_the_same_cell_values(submissions, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    cli("batch", submissions, "-o", a)
    cli("batch", submissions, "-o", b)
    assert grids(a) == grids(b)


@pytest.mark.slow
def test_rerun_into_the_input_folder_skips_earlier_results(submissions, tmp_path):
    """The same command run twice with its output inside the input folder: the first run's output is
    replaced, not read as a submission; another result workbook lying there is listed as 已跳过 only."""
    (submissions / "坏文件.xlsx").unlink()
    out = submissions / "汇总.xlsx"
    first = cli("batch", submissions, "-o", out, "--json")
    assert first.returncode == 1, first.stderr
    shutil.copy(out, submissions / "上月汇总.xlsx")
    again = cli("batch", submissions, "-o", out, "--json")
    assert again.returncode == 1, again.stderr                 # 已跳过 is not 无法读取 (exit 2)
    assert "是上次的汇总结果" in again.stderr
    summary = json.loads(again.stdout)
    assert summary["退出码"] == again.returncode
    assert summary["文件状态"]["已跳过"] == 1 and summary["错误"] == json.loads(first.stdout)["错误"]
    files = {r[0]: r for r in grids(out)["文件清单"][1:]}
    assert "汇总.xlsx" not in files and files["上月汇总.xlsx"][1] == "已跳过"
    assert "xltools 生成的结果工作簿" in files["上月汇总.xlsx"][6]
    assert not any(r[0] == "上月汇总.xlsx" for r in grids(out)["数据校验"][1:])
    alone = cli("validate", submissions / "上月汇总.xlsx")
    assert alone.returncode == 2 and "结果工作簿" in alone.stdout + alone.stderr    # on its own it is no submission


@pytest.mark.slow
def test_killed_run_leaves_no_output(samples, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(150):
        shutil.copy(samples / "青岛开发区.xlsx", folder / f"z{i:03d}.xlsx")
    out = tmp_path / "汇总.xlsx"
    for delay in (0.5, 1.5, 2.5):
        proc = subprocess.Popen([sys.executable, "-m", "xltools.cli", "batch", str(folder), "-o", str(out), "-j", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if out.exists():                              # finished before the kill: it must be complete
            assert "计算说明" in pc.CalamineWorkbook.from_path(str(out)).sheet_names
            out.unlink()
    # Ctrl-C once xltools is running (its modules imported, the command line about to be read): the
    # run stops with exit 130 and 已中断 and leaves no result file, wherever it was interrupted.
    started = ("import sys; import xltools.cli as c; sys.stderr.write('ready\\n'); sys.stderr.flush(); "
               f"sys.argv = ['xltools', 'batch', {str(folder)!r}, '-o', {str(out)!r}, '-j', '1']; c.entry()")
    proc = subprocess.Popen([sys.executable, "-c", started], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline() == "ready\n"
    time.sleep(0.5)                                   # 150 workbooks one by one: far from done
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "已中断" in err and not out.exists()
    # a complete run afterwards writes the output and clears any partial file a killed run left behind
    assert cli("batch", folder, "-o", out, "-j", "1").returncode in (0, 1)
    assert "计算说明" in pc.CalamineWorkbook.from_path(str(out)).sheet_names
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []


# ---------------------------------------------------------------- lossless --in-place
def tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00\xff\x00\x00" * 1
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def rich_workbook(path: Path, tmp: Path) -> Path:
    """A user's .xlsm with a chart, an image, data validation, defined names and a VBA project."""
    import xlwings
    template = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(template) as zf:
        vba = tmp / "vbaProject.bin"
        vba.write_bytes(zf.read("xl/vbaProject.bin"))
    img = tmp / "logo.png"
    img.write_bytes(tiny_png())
    wb = xlsxwriter.Workbook(str(path))
    wb.add_vba_project(str(vba))
    ws = wb.add_worksheet("开发区")
    ws.write_row(0, 0, ["开发区名称", "级别", "区块数"])
    ws.write_row(1, 0, ["甲区", "国家级", 2])
    ws.write_row(2, 0, ["乙区", "省级", 4])
    ws.data_validation("B2:B100", {"validate": "list", "source": ["国家级", "省级", "市级"]})
    wb.define_name("区块合计", "=SUM(开发区!$C$2:$C$3)")
    ws.write_formula("E2", "=区块合计", None, 6)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"categories": "=开发区!$A$2:$A$3", "values": "=开发区!$C$2:$C$3"})
    ws.insert_chart("G2", chart)
    ws.insert_image("G20", str(img))
    wb.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


CHANGED_BY_DESIGN = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


def test_in_place_keeps_every_untouched_part_byte_for_byte(tmp_path):
    path = rich_workbook(tmp_path / "用户.xlsm", tmp_path)
    before = parts(path)
    assert {"xl/vbaProject.bin", "xl/charts/chart1.xml", "xl/media/image1.png"} <= set(before)
    written = inject(path, {"合规检查": pd.DataFrame({"开发区名称": ["甲区"], "结论": ["=不合规"], "实际值": [9.0]}),
                            "数据校验": pd.DataFrame({"问题": ["无"]})})
    after = parts(path)
    new_parts = set(written.values())
    assert set(after) == set(before) | new_parts
    for name, data in before.items():
        if name not in CHANGED_BY_DESIGN:
            assert after[name] == data, name
    assert parts(tmp_path / "用户.xlsm.bak") == before
    g = grids(path)
    assert g["开发区"][1][:3] == ["甲区", "国家级", 2.0]
    assert g["合规检查"] == [["开发区名称", "结论", "实际值"], ["甲区", "=不合规", 9.0]]   # text stays text
    wb_xml = after["xl/workbook.xml"].decode()
    assert "区块合计" in wb_xml and wb_xml.count("<sheet ") == 3
    # a second run replaces the earlier result sheets instead of adding more
    inject(path, {"合规检查": pd.DataFrame({"开发区名称": ["乙区"]})})
    again = parts(path)
    assert again["xl/workbook.xml"].decode().count("<sheet ") == 3
    assert grids(path)["合规检查"] == [["开发区名称"], ["乙区"]]
    for name, data in before.items():
        if name not in CHANGED_BY_DESIGN:
            assert again[name] == data, name


@pytest.mark.slow
def test_in_place_result_opens_in_libreoffice(tmp_path):
    from libreoffice import recalc_csv
    path = rich_workbook(tmp_path / "用户.xlsm", tmp_path)
    inject(path, {"考核排名": pd.DataFrame({"开发区名称": ["甲区"], "综合得分": [88.5]})})
    rows = recalc_csv(path, tmp_path)
    assert rows[0][:3] == ["开发区名称", "级别", "区块数"] and rows[1][4] == "6"   # defined name still computes


def test_locked_file_is_reported_not_overwritten(tmp_path):
    path = rich_workbook(tmp_path / "用户.xlsm", tmp_path)
    (tmp_path / "~$用户.xlsm").write_bytes(b"owner")
    before = path.read_bytes()
    with pytest.raises(FileLocked, match="正在 Excel 中打开"):
        inject(path, {"合规检查": pd.DataFrame({"a": [1]})})
    assert path.read_bytes() == before and not (tmp_path / "用户.xlsm.bak").exists()


@pytest.mark.slow
def test_batch_in_place_writes_each_files_own_rows(submissions, tmp_path):
    target = submissions / "宁夏开发区.xlsx"
    original = parts(target)
    proc = cli("batch", submissions, "-o", tmp_path / "汇总.xlsx", "--in-place")
    assert "已写回 宁夏开发区.xlsx" in proc.stderr
    g = grids(target)
    assert {"合规检查", "考核排名", "数据校验"} <= set(g)
    zones = {r[0] for r in g["合规检查"][1:]}
    assert "贺兰工业园区" in zones and "青岛蓝谷" not in zones
    copy = grids(submissions / "宁夏开发区（重复报送）.xlsx")     # every zone repeated: none of its data used
    assert not any(r[0] for r in copy.get("合规检查", [[]])[1:]) and len(copy["数据校验"]) > 1
    after = parts(target)
    for name, data in original.items():
        if name not in CHANGED_BY_DESIGN:
            assert after[name] == data, name


@pytest.mark.slow
def test_a_file_that_kills_its_worker_costs_only_itself(submissions, monkeypatch):
    """A worker process that dies (the OOM killer, a reader aborting) must not end the batch:
    the rest is read in fresh processes, halving until the culprit is alone; it is listed as
    unreadable and everyone else is ranked. (Workers are forked, so they inherit the patch.)"""
    import os

    import xltools.intake.workers as workers

    real = workers.read_books

    def fatal(paths, *args, **kw):
        if any("耒阳" in str(p) for p in paths):
            os._exit(3)                     # no exception, no cleanup: the process is simply gone
        return real(paths, *args, **kw)

    monkeypatch.setattr(workers, "read_books", fatal)
    result = run_batch(sorted(submissions.glob("*.xlsx")), jobs=2)
    files = result.files.set_index("文件")["状态"].to_dict()
    assert files["耒阳经开区.xlsx"] == "无法读取" and files["坏文件.xlsx"] == "无法读取"
    assert files["青岛开发区.xlsx"] == "正常" and len(files) == 5
    died = [p for p in result.books[[b.name for b in result.books].index("耒阳经开区.xlsx")].problems]
    assert "处理进程异常退出" in died[0].message
    assert len(result.sheets["考核排名"]) > 20                      # the others are still ranked
