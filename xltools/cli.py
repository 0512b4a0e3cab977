"""Command line `xltools` (Chinese help). A thin front end over jobs/intake/engine/output."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# Only light modules at the top: -h, --version and profiles start without pandas, numpy or the
# engine (tests/test_startup.py); each command imports the heavy ones it needs.
from . import __version__
from .helpformat import ChineseCommand, ChineseGroup
from .problems import EXIT_UNUSABLE
from .profiles import ProfileError, builtin_ids, load_profile

if TYPE_CHECKING:
    from rich.table import Table

    from .jobs import RunResult

app = typer.Typer(cls=ChineseGroup, help="xltools — 开发区考核工具箱：数据校验、编制合规、薪酬测算、考核排名。",
                  add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


class LazyConsole:
    """A rich Console made on first use (its attributes are the console's): importing rich.console
    and rich.table is start-up time that --version and -h do not need."""

    def __init__(self, **options) -> None:
        self.options = options
        self.made = None

    @property
    def rich(self):
        if self.made is None:
            from rich.console import Console
            self.made = Console(**self.options)
        return self.made

    def __getattr__(self, name: str):
        return getattr(self.rich, name)


console = LazyConsole(stderr=True)
out = LazyConsole()

JsonOpt = Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 摘要（供其他程序使用）")]
PreferOpt = Annotated[list[str] | None, typer.Option(
    "--prefer", metavar="文件|newest",
    help="同一开发区（年度）在几个文件中内容不同时采用哪一份：文件名，或 newest（工作簿修改时间较新的）；可多次")]


def _version(value: bool) -> None:
    if value:
        print(f"xltools {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                               help="显示版本号并退出")] = False) -> None:
    """xltools — 开发区考核工具箱。"""


def _problem_table(result_books, limit: int = 200) -> Table:
    from .jobs import problems_frame

    frame = problems_frame(result_books)
    return _table(f"数据校验：{len(frame)} 条问题", frame, frame["级别"] == "错误", limit,
                  f"仅显示前 {limit} 条，其余请用 -o 输出到工作簿查看")


def _table(title: str, frame, red, limit: int, more: str) -> Table:
    """The first `limit` rows of `frame` as a console table (rows where `red` in red, the rest yellow)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row, is_red in zip(frame.head(limit).itertuples(index=False), red):
        table.add_row(*["" if v is None else str(v) for v in row], style="red" if is_red else "yellow")
    if len(frame) > limit:
        table.caption = more
    return table


def _files_to_chase(result, output: Path, limit: int = 20) -> Table | None:
    """After a batch: the files that could not be read or have errors, so the office knows whom to call."""
    from .batch import UNREADABLE

    bad = result.files_to_chase()
    if bad.empty:
        return None
    return _table(f"需要处理的文件：{len(bad)} 个（详见 {output.name} 的「文件清单」「数据校验」）", bad,
                  bad["状态"] == UNREADABLE, limit, f"仅显示前 {limit} 个")


@contextmanager
def _progress(total: int):
    """A progress bar (files/s, ETA) on stderr for multi-file work; a spinner for one file
    (a 200,000-row sheet takes seconds). Both vanish when done and stay silent off a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if total < 2:
        with console.status("正在读入、校验并计算…"):
            yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=console.rich, transient=True) as bar:
        task = bar.add_task("读入工作簿", total=total, rate="")

        def tick(name: str) -> None:
            speed = bar.tasks[0].speed
            bar.update(task, advance=1, description=f"读入 {name[:20]}",
                       rate=f"{speed:.1f} 份/秒" if speed else "")
        yield tick


def _files_or_exit(books: list[str]) -> list[Path]:
    from .jobs import expand_inputs

    paths = expand_inputs(books)
    if not paths:
        _no_workbooks()
    if not any(p.exists() for p in paths):         # nothing to read: no result file for nothing
        shown = "、".join(str(p) for p in paths[:5]) + ("等" if len(paths) > 5 else "")
        console.print(f"找不到文件：{shown}\n请检查路径（含空格的路径请加引号）", style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    return paths


def _no_workbooks() -> None:
    console.print("[red]没有找到任何工作簿：请检查路径或通配符（如 \"提交/*.xlsx\"）[/red]")
    raise typer.Exit(EXIT_UNUSABLE)


def _guard_output(output: Path, inputs: list[Path]) -> None:
    from .jobs import may_overwrite, same_file

    if any(same_file(output, p) for p in inputs):
        console.print(f"[red]输出文件 {output} 与输入文件相同：xltools 不会改写您的原始工作簿，请换一个输出文件名[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    if output.suffix.lower() != ".xlsx":
        console.print(f"[red]输出文件应以 .xlsx 结尾：{output}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    if not may_overwrite(output):
        console.print(f"{output} 已存在，且不是 xltools 写出的结果工作簿：为避免覆盖您的文件，请换一个输出文件名",
                      style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)


def _write(result: RunResult, output: Path) -> None:
    from .output.workbook import write_results

    try:
        with console.status(f"正在写出 {output.name}…"):
            write_results(output, result.sheets)
    except PermissionError:
        console.print(f"无法写入 {output}：文件可能正在 Excel 中打开（请关闭后重试），或没有该文件夹的写入权限",
                      style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    except OSError as exc:                        # disk full, a file where a folder should be, a name too long …
        console.print(f"无法写入 {output}：{_why_not_written(exc)}（请换一个位置或文件名）",
                      style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    console.print(f"[green]已写入结果工作簿：{output}[/green]（工作表：{'、'.join(result.sheets)}）")


def _why_not_written(exc: OSError) -> str:
    import errno

    return {errno.ENOSPC: "磁盘空间不足", errno.EEXIST: "路径中有一段是文件而不是文件夹",
            errno.ENOTDIR: "路径中有一段是文件而不是文件夹", errno.ENAMETOOLONG: "文件名或路径过长",
            errno.EROFS: "所在位置只读"}.get(exc.errno, exc.strerror or str(exc))


@app.command("validate", cls=ChineseCommand)
def validate(books: Annotated[list[str], typer.Argument(help="工作簿、文件夹或通配符（可多个）", metavar="工作簿")],
             output: Annotated[Path | None, typer.Option("-o", "--output", help="把「数据校验」写入此工作簿")] = None,
             prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """数据校验：逐个单元格检查填报数据。退出码 0=无问题，1=发现问题，2=文件无法使用。"""
    from .jobs import exit_code, problems_frame, run_books
    from .output.workbook import write_results

    paths = _files_or_exit(books)
    if output:
        _guard_output(output, paths)
    # a data check only: no compliance, salary or ranking
    result = _compute(paths, lambda tick: run_books(paths, tasks=(), prefer=tuple(prefer or ())))
    code = exit_code(result.books)
    if as_json:
        print(json.dumps({**result.summary(), "问题": problems_frame(result.books).to_dict("records")},
                         ensure_ascii=False, indent=1))
    else:
        if any(b.problems for b in result.books):
            out.print(_problem_table(result.books))
        for b in result.books:
            state = ("无法使用：" + b.problems[0].message) if not b.usable else f"{b.errors} 个错误，{b.warnings} 个警告，读入 {b.rows} 行"
            console.print(f"{b.name}：{state}")
    if output:
        from .results import PROBLEMS
        write_results(output, {PROBLEMS: result.sheets[PROBLEMS]})
    raise typer.Exit(code)


BooksArg = Annotated[list[str], typer.Argument(help="工作簿（可多个，或文件夹/通配符）", metavar="工作簿")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="政策口径（如 青岛、宁夏口径，见 xltools profiles）或自定义 .toml 文件；只判断所属地区不属于任何内置口径的开发区")]
OutOpt = Annotated[Path | None, typer.Option("-o", "--output", help="结果工作簿（默认：<输入名>_结果.xlsx）")]


def _run(book: list[str], output: Path | None, as_json: bool, profile: str | None, tasks: tuple[str, ...],
         rank_options=None, prefer: list[str] | None = None) -> None:
    from .jobs import default_output, exit_code, run_books

    paths = _files_or_exit(book)
    output = output or default_output(paths[0])
    _guard_output(output, paths)
    result = _compute(paths, lambda tick: run_books(paths, profile=profile, tasks=tasks, progress=tick,
                                                    rank_options=rank_options, prefer=tuple(prefer or ())))
    _write(result, output)
    _finish(result, as_json, exit_code(result.books, result.failed))   # 0 clean, 1 problems, 2 unusable or failed


def _compute(paths: list[Path], job):
    """Run `job(progress)` with a progress bar; configuration errors become a message and exit 2."""
    try:
        with _progress(len(paths)) as tick:
            return job(tick)
    except ProfileError as exc:
        console.print(f"[red]政策口径错误：{exc}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)


@app.command("run", cls=ChineseCommand)
def run(book: BooksArg,
        output: OutOpt = None, profile: ProfileOpt = None, prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """一键计算：对工作簿中已有数据的部分全部计算，结果写入一个新工作簿。"""
    from .engine import TASKS

    _run(book, output, as_json, profile, TASKS, prefer=prefer)


@app.command("check", cls=ChineseCommand)
def check(book: BooksArg,
          output: OutOpt = None, profile: ProfileOpt = None, prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """编制合规检查：内设机构、领导职数、编制等逐条对照政策口径，写出「合规检查」「合规汇总」。"""
    _run(book, output, as_json, profile, ("quota",), prefer=prefer)


@app.command("salary", cls=ChineseCommand)
def salary(book: BooksArg,
           output: OutOpt = None, profile: ProfileOpt = None, prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """薪酬测算与税收返还：薪酬总额（挂钩系数）、人员绩效薪酬分配、税收增量返还。"""
    _run(book, output, as_json, profile, ("salary",), prefer=prefer)


from .methods import AGGREGATE, FLAGS, KIND_NAMES, NORMALIZE, WEIGHTS, choices, of_kind  # noqa: E402  (light: no numpy)


def _method_option(kind: str, more: str = ""):
    """A rank option choosing a method of one kind; its help lists the registry's methods."""
    return typer.Option(FLAGS[kind], help=f"{KIND_NAMES[kind]}：{choices(kind)}{more}")


@app.command("rank", cls=ChineseCommand)
def rank(book: BooksArg,
         output: OutOpt = None, profile: ProfileOpt = None,
         method: Annotated[str | None, _method_option(AGGREGATE)] = None,
         weights: Annotated[str | None, _method_option(WEIGHTS)] = None,
         normalize: Annotated[str | None, _method_option(NORMALIZE, "；算法见 docs/评价方法.md")] = None,
         by: Annotated[list[str] | None, typer.Option("--by", help="分组依据（可多次）：级别、类型、所属地区、地区、管理机构规格")] = None,
         preset: Annotated[str | None, typer.Option("--preset", help="预设指标体系：浙江亩均六项、MOFCOM2021、安徽亩均")] = None,
         year: Annotated[int | None, typer.Option("--year", help="考核年度（默认为数据中最新年度）")] = None,
         prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """考核排名：亩均指标、标准化、赋权（熵权/AHP/组合）、加权求和或 TOPSIS、分组排名、等次、奖惩建议、人员排名。"""
    from .engine.ranking import RankOptions
    from .profiles import presets

    for label, value, allowed in ((FLAGS[AGGREGATE], method, of_kind(AGGREGATE)), (FLAGS[WEIGHTS], weights, of_kind(WEIGHTS)),
                                  (FLAGS[NORMALIZE], normalize, of_kind(NORMALIZE)), ("--preset", preset, tuple(presets()))):
        if value is not None and value not in allowed:
            console.print(f"[red]{label}「{value}」无效，可用：{'、'.join(allowed)}[/red]")
            raise typer.Exit(EXIT_UNUSABLE)
    options = RankOptions(method=method, weights=weights, normalize=normalize, by=by or None, preset=preset, year=year)
    _run(book, output, as_json, profile, ("rank",), options, prefer=prefer)


@app.command("batch", cls=ChineseCommand)
def batch(patterns: Annotated[list[str], typer.Argument(help="工作簿、文件夹或带引号的通配符，如 \"报送/*.xlsx\"", metavar="工作簿")],
          output: Annotated[Path, typer.Option("-o", "--output", help="汇总结果工作簿")],
          jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="并行进程数（默认为 CPU 核数）")] = None,
          scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask 集群地址 tcp://主机:端口，或 local")] = None,
          shared_storage: Annotated[bool, typer.Option("--shared-storage", help="集群各电脑在同一路径看到同一批文件（共享文件夹）："
                                                       "只发送路径，不发送文件内容（默认自动检测）")] = False,
          profile: ProfileOpt = None,
          in_place: Annotated[bool, typer.Option("--in-place", help="同时把各自的结果写回每个输入工作簿（无损、原子写入、保留 .bak）")] = False,
          prefer: PreferOpt = None, as_json: JsonOpt = False) -> None:
    """批量汇总：逐个校验数百份报送工作簿（坏文件不影响其他文件），合并后统一计算，写出一个汇总工作簿。"""
    from .batch import batch_exit_code, run_batch
    from .intake import is_result_workbook
    from .jobs import same_file

    paths = _files_or_exit(patterns)
    previous = [p for p in paths if same_file(output, p) and is_result_workbook(p)]
    if previous:      # rerun with the output inside the input folder: last run's result, not a submission
        console.print(f"[yellow]{output} 是上次的汇总结果，不作为报送读入，将被新结果替换[/yellow]")
        paths = [p for p in paths if p not in previous]
        if not paths:
            _no_workbooks()
    _guard_output(output, paths)
    result = _compute(paths, lambda tick: run_batch(paths, jobs=jobs, scheduler=scheduler, profile=profile,
                                                    shared_storage=shared_storage or None, progress=tick,
                                                    notify=lambda text: console.print(text, markup=False, highlight=False),
                                                    prefer=tuple(prefer or ())))
    import gc
    gc.freeze()      # what was read lives until the process ends: no collector pass over it again (~0.2 s)
    _write(result, output)
    if in_place:
        _write_back(result, paths)
    summary = result.summary()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        chase = _files_to_chase(result, output)
        if chase is not None:
            console.print(chase)
        states = "，".join(f"{k} {v} 个" for k, v in summary["文件状态"].items())
        console.print(f"文件：{states}；读入 {summary['读入行数']} 行；数据校验：{summary['错误']} 个错误，"
                      f"{summary['警告']} 个警告；跨文件问题 {summary['跨文件问题']} 条")
        for item in result.failed:
            console.print(f"[red]未能执行：{item}[/red]")
        if summary["数据冲突"]:
            console.print(f"[yellow]数据冲突 {summary['数据冲突']} 处未计算（各文件报送不同，见「数据校验」；"
                          "可用 --prefer 文件名 或 --prefer newest 指定采用哪一份）[/yellow]")
    raise typer.Exit(batch_exit_code(result))


def _write_back(result, paths: list[Path]) -> None:
    """--in-place: each usable input gets its own rows of every result sheet, losslessly."""
    from .output.inject import FileLocked, inject

    by_path = {b.path: b for b in result.books}
    for p in paths:
        book = by_path.get(p)
        if book is not None and book.result_workbook:
            continue                                   # listed as 已跳过: not a submission
        if book is None or not book.usable or p.suffix.lower() not in (".xlsx", ".xlsm"):
            console.print(f"[yellow]{p.name}：未写回（文件无法使用或为 .xls 旧格式）[/yellow]")
            continue
        try:
            inject(p, result.own_rows(book.name))
            console.print(f"已写回 {p.name}（原文件备份为 {p.name}.bak）")
        except FileLocked as exc:
            console.print(f"[red]{exc}[/red]")


addin_app = typer.Typer(cls=ChineseGroup, help="Excel 加载项：构建（build）、安装（install）或卸载（uninstall）。",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(addin_app, name="addin")


def _addin_step(step, *args) -> list:
    from .addin import AddinError
    try:
        return step(*args)
    except AddinError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)


@addin_app.command("build", cls=ChineseCommand)
def addin_build(out_dir: Annotated[Path, typer.Option("--out", help="输出文件夹")] = Path("dist")) -> None:
    """构建 xltools.xlam（加载项）与 xltools.xlsm（独立工作簿）：功能区「开发区考核」与 =XT_… 函数。"""
    from .addin import build
    for p in _addin_step(build, out_dir):
        console.print(f"已生成 {p}")


@addin_app.command("install", cls=ChineseCommand)
def addin_install(addin: Annotated[Path | None, typer.Argument(help="加载项文件；省略时按本机 xlwings 现场构建",
                                                                  metavar="加载项")] = None) -> None:
    """安装加载项：复制到 Excel 启动文件夹（XLSTART），并写入 %USERPROFILE%\\.xltools\\xltools.conf（用哪个 Python）。"""
    from .addin import install
    for line in _addin_step(install, addin):
        console.print(line)


@addin_app.command("uninstall", cls=ChineseCommand)
def addin_uninstall() -> None:
    """撤销 xltools addin install：删除启动文件夹中的 xltools.xlam 和它写的配置文件。"""
    from .addin import uninstall
    for line in _addin_step(uninstall):
        console.print(line)


@app.command("bundle", cls=ChineseCommand)
def bundle_cmd(platform: Annotated[str, typer.Option("--platform", help="目标平台：win_amd64（默认）或 linux_x86_64")] = "win_amd64",
               python: Annotated[str, typer.Option("--python", help="目标电脑的 Python 版本：3.11 或 3.12")] = "3.11",
               target: Annotated[Path, typer.Option("-o", "--out", help="输出的 zip 文件")] = Path("xltools-离线安装包.zip")) -> None:
    """离线安装包：xltools 及全部依赖的 wheel、加载项、模板、样例、用户手册和 安装.bat / 卸载.bat（无网络、无管理员权限可装）。"""
    from .bundle import BundleError, bundle
    try:
        path, lines = bundle(platform, python, target, log=console.print)
    except BundleError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    for line in lines:
        console.print(line)
    console.print(f"已生成 {path}")


profiles_app = typer.Typer(cls=ChineseGroup, help="政策口径：列出内置口径，或查看某一口径的全部规则。", no_args_is_help=False,
                           rich_markup_mode=None)
app.add_typer(profiles_app, name="profiles")


@profiles_app.callback(invoke_without_command=True)
def profiles(ctx: typer.Context) -> None:
    """列出内置政策口径。"""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    table = Table(title="内置政策口径（查看规则：xltools profiles show 青岛）")
    for col in ("口径", "名称", "适用地区", "规则数", "来源", "编号"):
        table.add_column(col, overflow="fold")
    for pid in builtin_ids():
        p = load_profile(pid)
        table.add_row(p.label, p.name, _regions_text(p), str(len(p.rules)), p.source, p.id)
    out.print(table)


def _regions_text(p) -> str:
    return "、".join(f"{name}（{code}）" for name, code in zip(p.regions, p.adcodes)) or "未匹配到内置地区的开发区"


@profiles_app.command("show", cls=ChineseCommand)
def profiles_show(profile_id: Annotated[str, typer.Argument(help="口径名称（青岛、宁夏口径…）、编号或 .toml 文件",
                                                            metavar="口径")]) -> None:
    """查看一个政策口径的全部规则（内容、类型、刚性/弹性、依据）和参数（报告原文或推断口径）。"""
    from rich.table import Table

    from .facts import FACT_NAMES
    from .profiles import rule_params
    from .profiles.display import KIND_NAMES, SEVERITY_NAMES

    try:
        p = load_profile(profile_id)
    except ProfileError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    rules = Table(title=f"{p.label}：{p.name}", caption=f"来源：{p.source}；适用地区：{_regions_text(p)}")
    for col in ("规则编号", "规则", "类型", "性质", "依据"):
        rules.add_column(col, overflow="fold")
    for r in p.rules:
        rules.add_row(r["id"], r["text"], KIND_NAMES.get(r["kind"], r["kind"]), SEVERITY_NAMES[r["severity"]], r["source"])
    out.print(rules)
    params = Table(title=f"{p.label}的参数（推断口径 = 报告未给出的数值，可在「参数」表以「规则编号.参数」覆盖）")
    for col in ("规则编号", "参数", "取值", "出处"):
        params.add_column(col, overflow="fold")
    for r in p.rules:
        for name, value, inferred in rule_params(r, FACT_NAMES):
            params.add_row(r["id"], name, value, "推断口径" if inferred else ("部分为推断口径" if "推断口径" in value else "报告给出"))
    out.print(params)


def _finish(result: RunResult, as_json: bool, code: int) -> None:
    summary = {**result.summary(), "退出码": code}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        console.print(f"读入 {summary['文件数']} 个文件、{summary['读入行数']} 行；"
                      f"数据校验：{summary['错误']} 个错误，{summary['警告']} 个警告")
        from .results import COMPLIANCE
        if COMPLIANCE in result.sheets:
            from .engine.quota import summary_line
            console.print(f"{COMPLIANCE}：" + summary_line(result.sheets[COMPLIANCE]))
        for item in result.skipped:
            console.print(f"[yellow]未执行：{item}[/yellow]")
        for item in result.failed:
            console.print(f"[red]未能执行：{item}[/red]")
    raise typer.Exit(code)


@app.command("demo", cls=ChineseCommand)
def demo(directory: Annotated[Path, typer.Argument(help="演示输出文件夹", metavar="文件夹")] = Path("xltools_演示"),
         as_json: JsonOpt = False) -> None:
    """演示：生成样例工作簿（青岛、宁夏、耒阳及一份问题样例），完整计算并写出结果工作簿。"""
    from .jobs import run_books
    from .samples import build_samples

    sample_dir = directory / "样例工作簿"
    with console.status("正在生成样例工作簿…"):
        paths = build_samples(sample_dir)
    console.print(f"样例工作簿：{sample_dir}（{len(paths)} 个）")
    with console.status("正在校验与计算…"):
        # 问题样例.xlsx repeats six zones of 青岛开发区.xlsx with other numbers: shown resolved by --prefer
        result = run_books(paths, prefer=("青岛开发区.xlsx",))
    _write(result, directory / "演示结果.xlsx")
    from .report import free_report_name, write_report

    notice, _ = write_report(result.sheets, free_report_name(directory / "考核结果通报.docx"))
    console.print(f"[green]已写出考核结果通报：{notice}[/green]")
    _finish(result, as_json, 0)                   # the demo's problems are planted: not a failure


@app.command("report", cls=ChineseCommand)
def report(book: Annotated[Path, typer.Argument(help="结果工作簿（xltools 写出的），或填报工作簿（先计算）", metavar="工作簿")],
           output: Annotated[Path | None, typer.Option("-o", "--output", help="通报文件（默认：<输入名>_考核结果通报.docx）")] = None,
           pdf: Annotated[bool, typer.Option("--pdf", help="同时用 LibreOffice 生成 PDF")] = False) -> None:
    """考核结果通报：把考核结果写成 Word 文档（标题、依据、方法、分组排名表、等次、合规问题、奖惩建议、指标附件）。"""
    from .report import ReportError, results_of, to_pdf, write_report

    if not book.exists():
        console.print(f"找不到文件：{book}", style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    output = output or book.with_name(f"{book.stem}_考核结果通报.docx")
    if output.suffix.lower() != ".docx":
        console.print(f"[red]通报文件应以 .docx 结尾：{output}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    try:
        with console.status("正在生成考核结果通报…"):
            path, _ = write_report(results_of(book), output)
        console.print(f"[green]已写出考核结果通报：{path}[/green]")
        if pdf:
            with console.status("正在用 LibreOffice 生成 PDF…"):
                console.print(f"[green]已写出 PDF：{to_pdf(path)}[/green]")
    except ReportError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    except OSError as exc:
        console.print(f"无法写入 {output}：{_why_not_written(exc)}", style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)


@app.command("template", cls=ChineseCommand)
def template(output: Annotated[Path, typer.Argument(help="模板文件名，如 开发区考核模板.xlsx", metavar="模板文件")]) -> None:
    """生成空白填报模板：全部输入表、表头、单位、填写提示和下拉列表。"""
    from .templates import build_template

    if output.exists():
        console.print(f"[red]{output} 已存在：为避免覆盖您的文件，请换一个文件名[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    build_template(output)
    console.print(f"[green]已生成模板：{output}[/green]")


@app.command("samples", cls=ChineseCommand)
def samples(out_dir: Annotated[Path, typer.Option("--out", help="样例工作簿文件夹")] = Path("sample_workbooks"),
            templates_dir: Annotated[Path, typer.Option("--templates", help="模板文件夹")] = Path("templates"),
            docs_dir: Annotated[Path, typer.Option("--docs", help="文档文件夹")] = Path("docs")) -> None:
    """重新生成仓库中的样例工作簿、模板与数据表结构文档（开发者使用）。"""
    from .reference import write_reference
    from .samples import build_samples, build_templates

    for p in build_samples(out_dir) + build_templates(templates_dir) + write_reference(docs_dir):
        console.print(f"已生成 {p}")


def entry() -> None:
    """Console-script entry: never show a traceback to an official."""
    try:
        code = app(standalone_mode=False)
        if code == 130:                      # typer turns Ctrl-C into exit code 130
            _interrupted()
        sys.exit(code if isinstance(code, int) else 0)
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit:
        raise
    except Exception as exc:
        # Abort is Ctrl-C inside click; usage errors are told in Chinese; other click errors show themselves
        if type(exc).__name__ == "Abort":
            _interrupted()
        if "UsageError" in _kinds(exc):
            console.print(usage_error_text(exc), style="red", markup=False, highlight=False)
            sys.exit(exc.exit_code)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        console.print(f"[red]xltools 内部错误：{type(exc).__name__}: {exc}[/red]\n请把此信息和输入文件发给技术支持。")
        sys.exit(EXIT_UNUSABLE)


def _kinds(exc: BaseException) -> set[str]:
    """Class names of `exc` and its bases: click's errors are told apart by name, since typer may
    bring its own copy of click (typer ≥ 0.20 vendors it) or use the installed one."""
    return {c.__name__ for c in type(exc).__mro__}


def usage_error_text(exc) -> str:
    """A command-line mistake (click UsageError) in Chinese — click's own messages are English —
    with where to look."""
    import difflib

    kinds = _kinds(exc)
    ctx = exc.ctx
    names, c = [], ctx
    while c is not None and c.parent is not None:      # the subcommands, whatever the program was called
        names.insert(0, c.info_name)
        c = c.parent
    where = f"查看用法：{' '.join(['xltools', *names])} -h"
    param = getattr(exc, "param", None)
    shown = " / ".join(param.opts) if param is not None and param.param_type_name == "option" else (
        f"「{param.name}」" if param is not None else "")
    if "MissingParameter" in kinds and param is not None:
        helped = getattr(param, "help", None)
        text = (f"缺少参数 {shown}" + (f"（{helped}）" if helped else "") if param.param_type_name == "option"
                else f"缺少输入：{helped or param.name}")
    elif "NoSuchOption" in kinds:
        close = list(exc.possibilities or [])[:3]
        text = f"没有选项 {exc.option_name}" + (f"，您是否想用 {'、'.join(close)}？" if close else "")
    elif "BadOptionUsage" in kinds and "requires an argument" in exc.message:
        text = f"选项 {exc.option_name} 后面需要填写一个值"
    elif "BadParameter" in kinds:
        at_least = re.search(r"greater than or equal to (-?[\d.]+)|x>=(-?[\d.]+?)\.?$", exc.message)  # typer / click
        why = ("应为整数" if "integer" in exc.message else "应为数字" if "number" in exc.message else
               f"应不小于 {at_least.group(1) or at_least.group(2)}" if at_least else exc.message)
        text = f"参数 {shown or exc.param_hint} 的值无效：{why}"
    elif m := re.match(r"No such command '(.+?)'", exc.message):
        commands = list(ctx.command.list_commands(ctx)) if ctx and hasattr(ctx.command, "list_commands") else []
        close = difflib.get_close_matches(m.group(1), commands, n=2)
        text = f"没有命令「{m.group(1)}」" + (f"，您是否想用 {'、'.join(close)}？" if close
                                            else f"；可用命令：{'、'.join(commands)}")
    elif re.match(r"Got unexpected extra arguments? \((.*)\)", exc.message):
        text = f"多余的参数：{exc.message.split('(', 1)[1].rstrip(')')}（含空格的路径请加引号）"
    else:
        text = f"命令行参数有误：{exc.format_message()}"
    return f"{text}\n{where}"


def _interrupted() -> None:
    sys.stderr.write("已中断：未写出不完整的结果文件\n")   # plain write: a progress display may be mid-exit
    sys.stderr.flush()
    sys.exit(130)


if __name__ == "__main__":
    entry()
