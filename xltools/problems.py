"""One validation problem = one row of the 数据校验 sheet (ground floor, no dependencies)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "错误"
WARNING = "警告"
# What problems mean for a run's exit code (every front end): 0 clean, 1 problems found, 2 unusable.
EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """A problem found in a submitted workbook, located to the original cell."""

    file: str
    sheet: str
    cell: str
    level: str
    message: str
    suggestion: str = ""

    def as_row(self) -> dict[str, str]:
        row = asdict(self)
        return {
            "文件": row["file"],
            "工作表": row["sheet"],
            "单元格": row["cell"],
            "级别": row["level"],
            "问题": row["message"],
            "建议": row["suggestion"],
        }


@dataclass(frozen=True)
class Doubt:
    """A value a 核实性审核 questions (its 警告 is in 数据校验) and that is kept and used: results
    that use it say so (pipeline.mark_doubtful), so a value typed 1,000× too large never moves a
    ranking unseen. `zone`/`year` name its row, `column` its schema key, `cell` the 数据校验 row."""

    sheet: str                 # schema sheet key (indicators, salary, …)
    zone: str | None
    year: float | None
    column: str
    rule: str                  # HS-01, HS-02
    cell: str                  # where 数据校验 shows the 警告 (指标!D5)


def col_letter(col: int) -> str:
    """0-based column index → Excel column letters (0 → A, 26 → AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
