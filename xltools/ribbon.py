"""Ribbon handlers (tab 开发区考核): one dispatcher, one small function per button.

Each handler takes the book as its parameter, like xlwings Server's custom scripts, so it runs
unchanged against Excel (via RunPython) and against xlwings' remote Book in tests. Handlers read
the input sheets through xlwings, call the same engine functions as the CLI, and write the
same result sheets — replacing earlier results, never touching input sheets. Whatever goes
wrong comes back to the user as a Chinese message box text, never a traceback.
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import xlwings as xw

from . import __version__
from .engine import TASKS
from .intake import Book, read_grids, sheets_to_read, tables_of
from .jobs import free_name
from .output.cells import FORMULA_START, to_cell
from .output.workbook import column_specs, stored
from .pipeline import Reading, Request, RunResult, Unit, doubts_in, problems_frame, run
from .results import NOTES, PROBLEMS, RESULT_SHEET_NAMES as RESULT_NAMES, in_order, shown_by, tasks_of
from .schema import SHEETS, find_sheet
from .templates import header_text

TITLE = "开发区考核"


# --------------------------------------------------------------------------- reading
def read_open_book(book) -> Book:
    """The input sheets of an open workbook → intake Book (same header location and coercion)."""
    names = [sheet.name for sheet in book.sheets]
    chosen = set(sheets_to_read(names))          # as for a file: named sheets, and Sheet1 by its header

    def grids():
        for sheet in book.sheets:
            if sheet.name not in chosen:
                continue
            used = sheet.used_range
            values = used.options(ndim=2, err_to_str=True).value or [[]]
            top, left = used.row - 1, used.column - 1
            width = left + max((len(r) for r in values), default=0)
            grid = [[""] * width for _ in range(top)]
            grid += [[""] * left + [("" if v is None else v) for v in row] for row in values]
            yield sheet.name, grid

    return read_grids(book.name, grids(), names)


# --------------------------------------------------------------------------- writing
def _cell(value):
    """A value as xlwings writes it (the cell policy of every writer, output/cells.py); text that
    looks like a formula gets Excel's quote prefix, so it stays text."""
    value = to_cell(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_sheet(book, name: str, frame: pd.DataFrame) -> None:
    """Replace (or add) a result sheet; only sheets with result names are ever deleted."""
    if name not in RESULT_NAMES:
        raise ValueError(f"「{name}」不是 xltools 的结果工作表")
    if name in [s.name for s in book.sheets]:
        book.sheets[name].delete()
    sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
    specs = column_specs(name, frame)
    frame = stored(frame, specs)                 # as the CLI writes it: units in headers, floats rounded
    rows = [list(frame.columns)] + [[_cell(v) for v in row] for row in frame.to_numpy(dtype=object).tolist()]
    sheet["A1"].value = rows
    sheet["A1"].resize(1, len(frame.columns)).font.bold = True
    if len(frame):
        for c, spec in enumerate(specs):         # one number format per column (results.py)
            if spec.num_format:
                sheet.range((2, c + 1), (len(frame) + 1, c + 1)).number_format = spec.num_format


def _run(book, button: str | None) -> str:
    """Compute what `button` shows (None: everything, 一键全部) through the one run pipeline, as the
    CLI does, and write its sheets into the open workbook."""
    data = read_open_book(book)
    sheets = None if button is None else shown_by(button)
    request = Request(tasks=TASKS if button is None else tasks_of(sheets), sheets=sheets)
    tables = tables_of(data)
    units = [Unit(data.name, tables, doubtful=doubts_in([data], tables))] if data.tables else []
    result = run(RunResult([data]), units, Reading([problems_frame([data])], labelled=False), request)
    for name, frame in result.sheets.items():
        write_sheet(book, name, frame)
    errors, warnings = result.levels()           # as 数据校验 lists them, the engine's rows included
    summary = (f"已完成：{'、'.join(n for n in result.sheets if n != NOTES)}。\n"
               f"{PROBLEMS}：{errors} 个错误，{warnings} 个警告。")
    if result.skipped:
        summary += "\n未执行：" + "；".join(result.skipped)
    if result.failed:
        summary += "\n未能执行（所要求的计算无法进行）：" + "；".join(result.failed)
    return summary


# --------------------------------------------------------------------------- handlers
def new_template(book) -> str:
    present = {find_sheet(s.name).key for s in book.sheets if find_sheet(s.name)}
    present |= set(read_open_book(book).tables)     # a Sheet1 recognised by its header: no empty twin to shadow it
    added = []
    for spec in SHEETS:
        if spec.key in present:
            continue
        sheet = book.sheets.add(spec.name, after=book.sheets[len(book.sheets) - 1])
        width = len(spec.columns)
        sheet["A1"].value = [[f"{spec.name}（{spec.description}；带 * 为必填）"] + [None] * (width - 1),
                             [header_text(c) for c in spec.columns]]
        sheet["A2"].resize(1, len(spec.columns)).font.bold = True
        added.append(spec.name)
    return ("已添加输入表：" + "、".join(added)) if added else "所有输入表都已存在，未做修改。"


# Each compute button shows the result sheets whose registry entry names it (results.py).
def validate(book) -> str:
    return _run(book, "validate")


def check(book) -> str:
    return _run(book, "check")


def salary(book) -> str:
    return _run(book, "salary")


def rank(book) -> str:
    return _run(book, "rank")


def sanctions(book) -> str:
    return _run(book, "sanctions")


def run_all(book) -> str:
    return _run(book, None)


def export_report(book) -> str:
    from .output.workbook import write_results

    sheets = {s.name: s for s in book.sheets if s.name in RESULT_NAMES}
    if not sheets:
        return "还没有结果可以导出：请先点击「一键全部」或其他计算按钮。"
    frames = {}
    for name in in_order(sheets):
        values = sheets[name].used_range.options(ndim=2).value
        frames[name] = pd.DataFrame(values[1:], columns=values[0]) if values else pd.DataFrame()
    from .output.sheets import plain_header
    from .report import ReportError, free_report_name, write_report

    frames = {n: f.rename(columns={c: plain_header(str(c)) for c in f.columns}) for n, f in frames.items()}
    folder = Path(book.fullname).parent if Path(book.fullname).parent.is_dir() else Path.home()
    target = free_name(folder / f"{Path(book.name).stem}_考核报告.xlsx")   # never over a user's own file
    write_results(target, frames)
    message = f"报告已导出：{target}"
    notice = free_report_name(folder / f"{Path(book.name).stem}_考核结果通报.docx")   # never over an edited 通报
    try:
        write_report(frames, notice)
        message += f"\n考核结果通报：{notice}"
    except ReportError as exc:
        message += f"\n未生成考核结果通报：{exc}"
    return message


def env_check(book) -> str:
    lines = [f"xltools {__version__}", f"Python {platform.python_version()}（{sys.executable}）",
             f"xlwings {xw.__version__}", f"操作系统 {platform.system()} {platform.release()}"]
    missing = []
    for pkg in ("pandas", "numpy", "python-calamine", "xlsxwriter"):
        try:
            lines.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            missing.append(pkg)
    try:
        lines.append(f"dask {md.version('dask')}（可选：--scheduler 集群）")
    except md.PackageNotFoundError:
        lines.append("dask 未安装（可选，仅批量集群需要）")
    lines.append("缺少：" + "、".join(missing) if missing else "必需组件齐全。")
    lines += _addin_setup_lines()
    return "\n".join(lines)


def _addin_setup_lines() -> list[str]:
    """What the add-in's VBA reads (user config, xlwings DLL): the first-run checks of manual §7."""
    from .addin import dll_name, user_config_path
    conf = user_config_path()
    dll = dll_name()
    found = [p for p in (Path(sys.executable).parent, Path(sys.prefix)) if (p / dll).exists()]
    return [f"加载项配置 {conf}：" + ("已找到" if conf.exists() else "没有找到，请在命令行运行 xltools addin install"),
            f"xlwings 组件 {dll}：" + (f"已找到（{found[0]}）" if found else "没有找到（仅 Windows 需要）")]


def show_help(book) -> str:
    return ("开发区考核工具箱（xltools）\n"
            "1. 「新建模板」补齐输入表，按表头填报；2. 「数据校验」检查填报；3. 「一键全部」得到全部结果表；\n"
            "4. 在任意单元格使用 =XT_RANK、=XT_SCORE、=XT_QUOTA 等函数。\n"
            f"详细说明：{_manual()}；命令行运行 xltools --help 查看全部命令。")


def _manual() -> str:
    from .addin import manual_path
    path = manual_path()
    return f"用户手册 {path}" if path else "用户手册.md（在离线安装包中）"


HANDLERS: dict[str, Callable] = {
    "new_template": new_template, "validate": validate, "check": check, "salary": salary, "rank": rank,
    "sanctions": sanctions, "run_all": run_all, "export_report": export_report, "env_check": env_check,
    "help": show_help,
}


def run_handler(tag: str, book) -> str:
    """Run the handler for a button tag; the return value is what the message box shows."""
    handler = HANDLERS.get(tag)
    if handler is None:
        message = f"未知的按钮「{tag}」：请重新安装 xltools 加载项。"
    else:
        try:
            message = handler(book)
        except Exception as exc:  # shown to the user, never a traceback
            message = f"出错了：{type(exc).__name__}：{exc}\n请检查数据，或把此信息发给技术支持。"
    try:
        book.app.alert(message, title=TITLE)
    except Exception:
        pass
    return message


def dispatch(tag: str) -> str:
    """Entry point called by the VBA callback: the only place that looks up the caller book."""
    return run_handler(tag, xw.Book.caller())
