"""The result sheets, declared once: the registry every layer reads.

One entry per sheet, in the order the sheets appear in a result workbook: its name, the title
printed in its page header, its columns in the order the engine writes them (the specification fixes the
first `fixed` of them) with each column's kind (→ number format) and unit, the columns coloured
by status, which engine task produces it, which ribbon button shows it and what the 「图表」
sheet charts from it. The engine takes its column lists from here, output lays each sheet out
from its entry, the CLI, ribbon and batch order and recognise result sheets by it, and the
schema reference (docs/数据表结构.md) lists it. A new result sheet is one entry here plus the
engine function that fills it.

Ground floor, like `schema`: imports nothing but the schema, so the engine may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import split_header

# --------------------------------------------------------------------------- names
# Each result sheet's name, written once; every other module refers to it by these constants.
PROBLEMS = "数据校验"
FILES = "文件清单"
CHECKS = "合规检查"
COMPLIANCE = "合规汇总"
PAY = "薪酬测算"
PAY_DETAIL = "薪酬明细"
TAX_RETURN = "税收返还"
RANKING = "考核排名"
ANALYSIS = "得分分析"
SANCTIONS = "奖惩建议"
TRAJECTORY = "排名轨迹"
STAFF = "人员排名"
WEIGHTS = "指标权重"
DERIVED = "派生指标"
CHARTS = "图表"
NOTES = "计算说明"

# kind → Excel number format. Money, scores, shares, counts as the 通报 prints them.
FORMATS: dict[str, str | None] = {
    "money": "#,##0.00",        # 万元 to the cent
    "score": "0.00",            # composite and indicator scores
    "share": "0.0%",            # ratios stored as fractions (0.6 → 60.0%)
    "count": "0",               # counts, ranks
    "year": "0",
    "change": "+0;-0;0",        # rank movement: 进位 +2, 退位 −1
    "coef": "0.0000",           # coefficients, normalised values
    "weight": "0.00%",          # indicator weights
    "number": "#,##0.00",       # other measures (per-mu values, minima, maxima)
    "text": None,
}


@dataclass(frozen=True)
class ResultColumn:
    name: str
    kind: str = "text"
    unit: str = ""

    @property
    def header(self) -> str:
        """The header as written: name plus unit in brackets (unless the name carries it already)."""
        return f"{self.name}({self.unit})" if self.unit and not self.name.endswith(")") else self.name

    @property
    def num_format(self) -> str | None:
        return FORMATS[self.kind]


@dataclass(frozen=True)
class ResultSheet:
    name: str
    title: str                                   # what the sheet is, for the printed page header
    columns: tuple[ResultColumn, ...] = ()       # in the order the engine writes them
    fixed: int = 0                               # the first `fixed` columns are fixed by the specification
    more: tuple[ResultColumn, ...] = ()          # columns that may follow them (declared for their format)
    suffixes: tuple[ResultColumn, ...] = ()      # columns named 「…得分」, 「…增速」 …: kind by the ending
    status: tuple[str, ...] = ("级别", "结论")   # columns whose words (合规, 不合规, 错误 …) are coloured
    assessed: bool = False                       # rows of the 考核年度: the page header names that year,
                                                 # not the span of every 年度 (data sheets keep the span)
    task: str | None = None                      # the engine task (engine.TASKS) that produces it; None:
                                                 # every run (数据校验, 计算说明) or the writer (图表)
    button: str | None = None                    # the ribbon button that shows it (besides 一键全部)
    chart: str = ""                              # what 「图表」 charts from it
    conflicts: bool = False                      # a zone left uncomputed (数据冲突) gets a row saying so
    doubtful: bool = False                       # a row that used a value 核实性审核 questions says so in 说明

    @property
    def names(self) -> list[str]:
        """The engine's column list (a list: pandas selects columns by it)."""
        return [c.name for c in self.columns]

    @property
    def leading(self) -> tuple[str, ...]:
        """The columns the specification fixes, in order."""
        return tuple(self.names[:self.fixed])

    def column(self, name: str, whole: bool | None = None) -> ResultColumn:
        """Declaration of column `name` (a header with its unit matches too); an undeclared
        numeric column is a count when `whole` (all values whole numbers), else a number."""
        base, unit = split_header(name)
        for c in (*self.columns, *self.more):
            if c.name == name:
                return c
            if c.name == base:                   # written with its own bracket: kept as it is
                return ResultColumn(name, c.kind)
        for c in self.suffixes:
            if base.endswith(c.name):
                return ResultColumn(name, c.kind, "" if unit else c.unit)
        if whole is None:
            return ResultColumn(name)
        return ResultColumn(name, "count" if whole else "number")


def _cols(kind: str, *names: str, unit: str = "") -> tuple[ResultColumn, ...]:
    return tuple(ResultColumn(n, kind, unit) for n in names)


_ZONE_YEAR = (ResultColumn("开发区名称"), ResultColumn("年度", "year"))
_PROFILE = ResultColumn("政策口径")
_MONEY = "万元"

SHEETS: tuple[ResultSheet, ...] = (
    ResultSheet(FILES, "报送文件清单",
                (*_cols("text", "文件", "状态"), *_cols("count", "读入行数", "错误", "警告"), *_cols("text", "工作表", "说明")),
                status=("状态",)),
    ResultSheet(PROBLEMS, "数据校验（填报问题清单）", _cols("text", "文件", "工作表", "单元格", "级别", "问题", "建议"), 6,
                button="validate"),
    ResultSheet(CHECKS, "机构编制合规检查",
                (*_cols("text", "开发区名称", "规则编号", "规则", "实际值", "限值", "结论", "说明", "依据"), _PROFILE), 8,
                task="quota", button="check", conflicts=True),
    ResultSheet(COMPLIANCE, "机构编制合规汇总",
                (ResultColumn("开发区名称"), ResultColumn("级别"), *_cols("count", "检查项数", "不合规项数", "预警项数"), ResultColumn("结论"),
                 ResultColumn("数据缺失项数", "count"), _PROFILE), 6,
                more=(ResultColumn("说明"),),          # a zone not in the 开发区 sheet: why it was not checked
                task="quota", button="check", chart="不合规项数（条形图）", conflicts=True),
    ResultSheet(PAY, "薪酬总额测算",
                (*_ZONE_YEAR, *_cols("money", "基础薪酬", "绩效薪酬", "项目奖励", "薪酬总额", unit=_MONEY),
                 ResultColumn("挂钩系数", "coef"), ResultColumn("说明"), ResultColumn("核定人数", "count", "人"),
                 ResultColumn("基础薪酬标准", "money", _MONEY), *_cols("coef", "绩效薪酬系数", "等次系数"),
                 ResultColumn("上限", "money", _MONEY), ResultColumn("约束"), _PROFILE, ResultColumn("依据")), 8,
                status=("结论", "约束"), assessed=True, task="salary", button="salary", conflicts=True),
    ResultSheet(PAY_DETAIL, "绩效薪酬分配明细",
                (*_cols("text", "姓名", "人员编号", "开发区名称"), ResultColumn("年度", "year"), ResultColumn("岗位"),
                 ResultColumn("岗位系数", "coef"), ResultColumn("考核等次"), *_cols("coef", "等次系数", "分配权重"),
                 ResultColumn("绩效薪酬(元)", "money"), ResultColumn("说明")),
                assessed=True, task="salary", button="salary"),
    ResultSheet(TAX_RETURN, "税收增量返还测算",
                (*_ZONE_YEAR, *_cols("money", "税收收入", "税收基数", "税收增量", unit=_MONEY),
                 ResultColumn("返还比例", "share", "%"), ResultColumn("返还金额", "money", _MONEY), ResultColumn("说明"),
                 *_cols("money", "行政事业性收费", "应返还下限", "实际返还金额", unit=_MONEY), ResultColumn("结论"),
                 *_cols("money", "土地出让收益", "土地收益应返还", "土地收益返还", unit=_MONEY), _PROFILE, ResultColumn("依据")), 8,
                task="salary", button="salary", conflicts=True),
    ResultSheet(RANKING, "综合考核排名",
                (*_ZONE_YEAR, ResultColumn("分组"), ResultColumn("综合得分", "score"), *_cols("count", "总排名", "组内排名"),
                 ResultColumn("等次"), ResultColumn("排名变化", "change")), 8,
                more=(ResultColumn("说明"), _PROFILE),                 # after each indicator's 「…得分」
                suffixes=(ResultColumn("得分", "score"),), status=("等次",), assessed=True,
                task="rank", button="rank", chart="综合得分（条形图，按考核范围）；等次分布（柱形图）", conflicts=True,
                doubtful=True),
    ResultSheet(ANALYSIS, "得分分析（各指标得分及与组内第一的差距）",
                (*_ZONE_YEAR, ResultColumn("分组"), ResultColumn("指标"), ResultColumn("指标值", "number"),
                 ResultColumn("标准化值", "coef"), ResultColumn("权重", "weight", "%"),
                 *_cols("score", "满分", "得分", "组内第一得分", "较组内第一少得"),
                 *_cols("share", "距正理想点贡献", "距负理想点贡献", unit="%"), ResultColumn("说明")),
                assessed=True, task="rank", button="rank", doubtful=True,
                chart="受奖惩（或排名第一）开发区各指标标准化值与组平均（雷达图）"),
    ResultSheet(SANCTIONS, "奖惩建议（建议，须经复核）",
                (*_ZONE_YEAR, *_cols("text", "触发条件", "建议措施", "依据", "规则编号", "类别")), 5,
                status=("类别",), assessed=True, task="rank", button="sanctions"),
    ResultSheet(TRAJECTORY, "受奖惩开发区历年排名",
                (*_ZONE_YEAR, ResultColumn("分组"), *_cols("count", "总排名", "组内排名"), ResultColumn("来源")),
                task="rank", button="rank", chart="受奖惩开发区历年组内排名（折线图）"),
    ResultSheet(STAFF, "人员竞聘排名",
                (*_cols("text", "姓名", "开发区名称"), ResultColumn("综合得分", "score"), ResultColumn("排名", "count"),
                 ResultColumn("结果")), 5,
                more=(ResultColumn("人员编号"), *_cols("score", "知识测试", "竞聘演讲", "联合考察")),
                status=("结果",), task="rank", button="rank"),
    ResultSheet(WEIGHTS, "考核指标与权重",
                (ResultColumn("指标"), ResultColumn("方向"), ResultColumn("权重", "weight", "%"),
                 *_cols("number", "最小值", "最大值", "标杆值"), _PROFILE),
                task="rank", button="rank"),
    ResultSheet(DERIVED, "派生指标（亩均效益等）",
                (*_ZONE_YEAR, *_cols("number", "亩均税收", "亩均产值", "亩均增加值", "亩均营业收入", unit="万元/亩"),
                 ResultColumn("单位排放增加值", "number", "万元/吨"), ResultColumn("单位能耗增加值", "number", "万元/吨标准煤"),
                 ResultColumn("研发投入强度", "share", "%"), ResultColumn("全员劳动生产率", "number", "万元/人")),
                suffixes=(ResultColumn("增速", "share", "%"),), task="indicators"),
    ResultSheet(CHARTS, "考核结果图表（图表数据）", (), status=(),
                suffixes=(ResultColumn("综合得分", "score"), ResultColumn("个数", "count"), ResultColumn("项数", "count"),
                          ResultColumn("排名", "count"), ResultColumn("标准化值", "coef"), ResultColumn("平均", "coef"))),
    ResultSheet(NOTES, "计算说明（方法、参数与口径）", _cols("text", "项目", "内容"), 2, status=()),
)
DECLARED: dict[str, ResultSheet] = {s.name: s for s in SHEETS}
# What a `doubtful` sheet's 说明 says of a row that used a value a 核实性审核 (HS-01, HS-02) questions:
# the value is kept (警告: confirm and keep), so the row says which indicator and where to look.
DOUBTFUL_ITEM = "{indicator}（{inputs}{cells}，{rules}）"
DOUBTFUL_INPUTS = "所用{headers}："              # an indicator computed from the questioned column (亩均税收)
DOUBTFUL_NOTE = "所用数据待核实：{items}，见「" + PROBLEMS + "」"
# …and 计算说明 (this item), since such a value enters every zone's normalisation, not only its own score.
DOUBTFUL_NOTES_ITEM = "排名·所用数据待核实"
DOUBTFUL_CALC = ("所用数据中有待核实的值（核实性审核警告，照常使用）：{items}；标准化按参评开发区一起计算时，"
                 "这些值也影响其他开发区的得分与排名，核实后请重新计算")
RESULT_SHEET_NAMES = frozenset(DECLARED)          # every sheet name xltools writes into a result workbook
_CONTINUED = re.compile(r"（续\d+）$")


def continued_name(name: str, part: int) -> str:
    """A result taller than a sheet continues on 「名称（续2）」, 「名称（续3）」…"""
    return name if part == 1 else f"{name}（续{part}）"


def first_part(name: str) -> str:
    """「名称（续2）」 → 「名称」: the result sheet a continuation belongs to."""
    return _CONTINUED.sub("", name)


def result_sheet_name(name: str) -> bool:
    """A sheet xltools writes: a result sheet, or the continuation of one."""
    return first_part(name) in RESULT_SHEET_NAMES


def declaration(name: str) -> ResultSheet:
    """The declaration of sheet `name` (a continuation is declared as its first part); an
    undeclared sheet gets a plain one titled by its name."""
    base = first_part(name)
    return DECLARED.get(base) or ResultSheet(base, base)


_POSITION = {s.name: i for i, s in enumerate(SHEETS)}


def order_key(name: str) -> int:
    """Position of a result sheet in a workbook (the order of SHEETS; unknown sheets last)."""
    return _POSITION.get(name, len(_POSITION))


def in_order(names) -> list[str]:
    """`names` sorted as result sheets appear in a workbook (unknown ones last, as given)."""
    return sorted(names, key=order_key)


def shown_by(button: str) -> tuple[str, ...]:
    """The result sheets a ribbon button shows."""
    return tuple(s.name for s in SHEETS if s.button == button)


def tasks_of(names) -> tuple[str, ...]:
    """The engine tasks that produce the sheets `names`, in the engine's order."""
    wanted = set(names)
    return tuple(dict.fromkeys(s.task for s in SHEETS if s.task and s.name in wanted))


TASKS = tuple(dict.fromkeys(s.task for s in SHEETS if s.task))   # quota, salary, rank, indicators
# What each task is called where users read it (docs/数据表结构.md)
TASK_NAMES = {"quota": "编制合规检查（xltools check）", "salary": "薪酬测算与税收返还（xltools salary）",
              "rank": "考核排名（xltools rank）", "indicators": "派生指标（xltools run）"}
UNITS = frozenset(c.unit for s in SHEETS for c in (*s.columns, *s.more, *s.suffixes) if c.unit)
