"""The command line as a newcomer uses it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import python_calamine as pc

from xltools import __version__


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_version():
    proc = cli("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_help_is_chinese():
    proc = cli("--help")
    assert proc.returncode == 0 and "数据校验" in proc.stdout and "演示" in proc.stdout


def _command_paths(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _command_paths(command, (*prefix, name))


@pytest.mark.slow
def test_every_help_screen_is_chinese_aligned_and_fits(monkeypatch):
    """click's frame (Usage, Options, Show this message and exit., [required], <path>) is English
    and aligned by character count; every -h screen is Chinese, aligned and wrapped by display width."""
    import os
    import re

    import typer
    from rich.cells import cell_len

    from xltools.cli import app

    english = re.compile(r"Usage|Options|Arguments|Commands|Show this|required|default|<path>|<int>|<str>|list\[")
    for path in [(), *_command_paths(typer.main.get_command(app))]:
        proc = subprocess.run([sys.executable, "-m", "xltools.cli", *path, "-h"], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "60"})
        text = proc.stdout
        assert proc.returncode == 0 and text.startswith("用法："), (path, text)
        assert not english.search(text), (path, english.search(text).group(), text)
        assert "选项：" in text and "显示本帮助并退出" in text, (path, text)
        assert all(cell_len(line) <= 60 for line in text.splitlines()), (path, text)
        for block in re.findall(r"(?:输入|选项|命令)：\n((?:  .*\n?)+)", text):
            starts = set()
            for line in block.rstrip("\n").split("\n"):
                m = re.match(r"( +\S+(?: \S+)*  +)\S", line) if not line.startswith("    ") else re.match(r"( +)\S", line)
                starts.add(cell_len(m.group(1)))
            assert len(starts) == 1, (path, block)


@pytest.mark.slow
def test_demo_writes_results_with_validation_sheet(tmp_path):
    proc = cli("demo", tmp_path / "演示", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["文件数"] == 4 and summary["错误"] > 0
    out = tmp_path / "演示" / "演示结果.xlsx"
    names = pc.CalamineWorkbook.from_path(str(out)).sheet_names
    assert "数据校验" in names and "计算说明" in names


@pytest.mark.slow
def test_validate_clean_sample_exits_0(samples):
    proc = cli("validate", samples / "青岛开发区.xlsx", samples / "宁夏开发区.xlsx")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_computing_commands_exit_as_validate_does(samples, tmp_path):
    """run/check/salary/rank write their results and exit 0 clean, 1 when 数据校验 found problems,
    2 when an input is unusable (SPEC §7); --json tells the same code."""
    bad = tmp_path / "坏文件.xlsx"
    bad.write_text("not a workbook")
    cases = {("run", samples / "青岛开发区.xlsx"): 0, ("check", samples / "问题样例.xlsx"): 1,
             ("rank", samples / "问题样例.xlsx"): 1, ("salary", samples / "青岛开发区.xlsx", bad): 2}
    for n, (args, code) in enumerate(cases.items()):
        out = tmp_path / f"结果{n}.xlsx"
        proc = cli(*args, "-o", out, "--json")
        assert proc.returncode == code and json.loads(proc.stdout)["退出码"] == code, (args, proc.stderr)
        assert out.exists()


@pytest.mark.slow
def test_validate_folder_and_glob_and_output(samples, tmp_path):
    out = tmp_path / "校验.xlsx"
    proc = cli("validate", str(samples / "*.xlsx"), "-o", out, "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["文件数"] == 4 and len(data["问题"]) == data["错误"] + data["警告"]
    rows = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("数据校验").to_python()
    assert rows[0] == ["文件", "工作表", "单元格", "级别", "问题", "建议"] and len(rows) == 1 + len(data["问题"])
    assert cli("validate", samples, "--json").returncode == 1


def test_a_folder_yields_its_workbooks_in_any_letter_case_and_skips_lock_files(samples, tmp_path):
    import shutil

    from xltools.jobs import expand_inputs

    (tmp_path / "下级").mkdir()
    shutil.copy(samples / "青岛开发区.xlsx", tmp_path / "青岛开发区.XLSX")       # as some systems name them
    shutil.copy(samples / "宁夏开发区.xlsx", tmp_path / "下级" / "宁夏开发区.xlsx")
    (tmp_path / "~$青岛开发区.XLSX").write_bytes(b"owner file of an open workbook")
    (tmp_path / "说明.docx").write_bytes(b"not a workbook")
    (tmp_path / "目录.xls").mkdir()                                             # a folder, whatever its name
    assert [p.relative_to(tmp_path).as_posix() for p in expand_inputs([str(tmp_path)])] == [
        "下级/宁夏开发区.xlsx", "青岛开发区.XLSX"]


def test_patterns_expand_matched_folders_keep_bracketed_names_and_skip_other_files(samples, tmp_path):
    import shutil

    from xltools.jobs import expand_inputs

    (tmp_path / "报送" / "青岛").mkdir(parents=True)
    shutil.copy(samples / "青岛开发区.xlsx", tmp_path / "报送" / "青岛" / "开发区.xlsx")
    shutil.copy(samples / "宁夏开发区.xlsx", tmp_path / "报送" / "宁夏开发区[2023].xlsx")   # [2023] is glob syntax
    (tmp_path / "报送" / "报送通知.docx").write_bytes(b"a cover letter")
    (tmp_path / "报送" / "~$宁夏开发区[2023].xlsx").write_bytes(b"owner file")
    found = lambda *items: [p.relative_to(tmp_path).as_posix() for p in expand_inputs([str(tmp_path / i) for i in items])]
    assert found("报送/*") == ["报送/宁夏开发区[2023].xlsx", "报送/青岛/开发区.xlsx"]
    assert found("报送/宁夏开发区[2023].xlsx") == ["报送/宁夏开发区[2023].xlsx"]
    assert found("报送/*/*.xlsx", "报送/青岛") == ["报送/青岛/开发区.xlsx"]


@pytest.mark.slow
def test_template_command_refuses_to_overwrite(tmp_path):
    target = tmp_path / "模板.xlsx"
    assert cli("template", target).returncode == 0 and target.exists()
    before = target.read_bytes()
    assert cli("template", target).returncode == 2
    assert target.read_bytes() == before


@pytest.mark.slow
def test_run_writes_results(samples, tmp_path):
    out = tmp_path / "青岛结果.xlsx"
    proc = cli("run", samples / "青岛开发区.xlsx", "-o", out)
    assert proc.returncode == 0, proc.stderr
    names = pc.CalamineWorkbook.from_path(str(out)).sheet_names
    assert names[0] == "数据校验"


@pytest.mark.slow
def test_command_line_mistakes_are_explained_in_chinese(tmp_path):
    """click's own usage errors are English; an official sees what is wrong in Chinese, exit code 2."""
    cases = {
        ("batch", tmp_path): ["缺少参数 -o / --output（汇总结果工作簿）", "查看用法：xltools batch -h"],
        ("validat", tmp_path): ["没有命令「validat」，您是否想用 validate？"],
        ("batch", tmp_path, "-o", "a.xlsx", "--jobz", "3"): ["没有选项 --jobz，您是否想用 --jobs"],
        ("batch", tmp_path, "-o", "a.xlsx", "--jobs", "两个"): ["参数 --jobs / -j 的值无效：应为整数"],
        ("batch", tmp_path, "-o"): ["选项 -o 后面需要填写一个值"],
        ("batch", tmp_path, "-o", "a.xlsx", "-j", "0"): ["参数 --jobs / -j 的值无效：应不小于 1"],
        ("validate",): ["缺少输入：工作簿、文件夹或通配符（可多个）", "查看用法：xltools validate -h"],
    }
    for args, expected in cases.items():
        proc = cli(*args)
        assert proc.returncode == 2, args
        shown = " ".join(proc.stderr.split())                 # the console may wrap long lines
        assert all(e in shown for e in expected), (args, proc.stderr)
        assert "Error" not in proc.stderr and "Usage" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_an_output_that_cannot_be_written_is_explained(samples, tmp_path):
    (tmp_path / "结果").write_text("a file, not a folder")
    proc = cli("run", samples / "青岛开发区.xlsx", "-o", tmp_path / "结果" / "x.xlsx")
    assert proc.returncode == 2 and "路径中有一段是文件而不是文件夹" in "".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr and "内部错误" not in proc.stderr


@pytest.mark.slow
def test_a_written_result_is_announced(samples, tmp_path):
    out = tmp_path / "结果.xlsx"
    proc = cli("run", samples / "青岛开发区.xlsx", "-o", out)
    assert out.exists() and "已写入结果工作簿" in "".join(proc.stderr.split())
