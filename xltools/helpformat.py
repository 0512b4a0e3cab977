"""Chinese -h screens for the command line.

click writes the frame of every help screen in English (Usage, Options, Show this message and
exit., [required], <path> …) whatever our help texts say, and aligns columns by character count,
which breaks with Chinese. A formatter of our own, reached through typer's documented `cls=`
hook, gives the frame in Chinese and aligns and wraps by display width.
"""

from __future__ import annotations

import re

import typer
from rich.cells import cell_len
from typer.core import TyperCommand, TyperGroup

HELP_HEADINGS = {"Arguments": "输入", "Options": "选项", "Commands": "命令"}
HELP_WORDS = [(r"\[OPTIONS\]", "[选项]"), (r"COMMAND \[ARGS\]\.\.\.", "命令 [参数]..."),
              (r"\{([^{}\s]+)\}", r"\1"),                                 # typer's {name}... of a list input
              (r"Show this message and exit\.", "显示本帮助并退出"), (r"\[required\]", "[必填]"),
              (r"; required\]", "；必填]"), (r"\[default: ", "[默认："),
              (r"^(-\S*) <list\[str\]>", r"\1 <文本>"), (r"^(\S+?)(?:\.\.\.)? <list\[str\]>", r"\1..."),
              (r"<path>", "<路径>"), (r"<int>", "<整数>"), (r"<str>", "<文本>")]
_HELP_WORDS = [(re.compile(english), chinese) for english, chinese in HELP_WORDS]
# a line may break before any token: a run of ASCII (a word, a path, .xlsx), spaces, or one other
# character — closing punctuation stays with what it closes
_WRAP_TOKEN = re.compile(r"[!-~]+[，、；：。）」』]*|\s+|.[，、；：。）」』]*")


def _chinese_frame(text: str) -> str:
    for english, chinese in _HELP_WORDS:
        text = english.sub(chinese, text)
    return text


def _wrap_cells(text: str, width: int) -> list[str]:
    """Lines of at most `width` display cells (a Chinese character takes two); ASCII words and
    closing punctuation are never split from what they belong to."""
    lines, line = [], ""
    for token in _WRAP_TOKEN.findall(text):
        if line.strip() and cell_len(line + token.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        if line or not token.isspace():
            line += token
    return lines + [line.rstrip()] if line.strip() else lines


class ChineseHelpFormatter(typer.Context.formatter_class):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, _chinese_frame(args), "用法：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HELP_HEADINGS.get(heading, heading)}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for line in text.splitlines():
            self.write("".join(f"{indent}{part}\n" for part in _wrap_cells(line, max(self.width - len(indent), 20)))
                       if line.strip() else "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(_chinese_frame(term), _chinese_frame(text or "")) for term, text in rows]
        first = min(max((cell_len(term) for term, _ in rows), default=0), col_max)
        hang = self.current_indent + first + col_spacing
        for term, text in rows:
            self.write(" " * self.current_indent + term)
            if not text:
                self.write("\n")
                continue
            if cell_len(term) <= first:
                self.write(" " * (first - cell_len(term) + col_spacing))
            else:
                self.write("\n" + " " * hang)
            self.write(("\n" + " " * hang).join(_wrap_cells(text, max(self.width - hang, 20))) + "\n")


class ChineseContext(typer.Context):
    formatter_class = ChineseHelpFormatter


class ChineseCommand(TyperCommand):
    context_class = ChineseContext


class ChineseGroup(TyperGroup):
    context_class = ChineseContext
