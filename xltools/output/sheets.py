"""Result-sheet declarations: what each result sheet is, and each column's unit and number format.

One place for how results look (the leading columns themselves are fixed by SPEC §3 and declared
in `schema.RESULT_SHEETS`). Every sheet of a result workbook is written from its declaration:
the title printed in the page header, units in the headers (「税收收入(万元)」), one number format
per column, the columns coloured by status, and how stored floats are rounded. A column that is
not declared is formatted by what it holds (a column of whole numbers as a count, other numbers
with two decimals), so a new engine column never breaks the writer — but it should be declared.

Readers match headers ignoring a trailing unit in brackets (`schema.split_header`), as intake does
for input sheets, so 「返还金额(万元)」 is still the SPEC column 返还金额.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schema import RESULT_ORDER, RESULT_SHEETS, split_header

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
SIGNIFICANT = 10                 # stored floats keep 10 significant digits (float noise removed)


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
    columns: tuple[ResultColumn, ...] = ()
    suffixes: tuple[ResultColumn, ...] = ()      # columns named 「…得分」, 「…增速」 …: kind by the ending
    status: tuple[str, ...] = ("级别", "结论")   # columns whose words (合规, 不合规, 错误 …) are coloured
    landscape: bool = True
    assessed: bool = False                       # rows of the 考核年度: the page header names that year,
                                                 # not the span of every 年度 (data sheets keep the span)

    def column(self, name: str, whole: bool | None = None) -> ResultColumn:
        """Declaration of column `name` (a header with its unit matches too); an undeclared
        numeric column is a count when `whole` (all values whole numbers), else a number."""
        base, unit = split_header(name)
        for c in self.columns:
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
_SCOPE = (ResultColumn("考核范围"), ResultColumn("政策口径"))
_MONEY = "万元"

SHEETS: tuple[ResultSheet, ...] = (
    ResultSheet("数据校验", "数据校验（填报问题清单）", _cols("text", *RESULT_SHEETS["数据校验"])),
    ResultSheet("文件清单", "报送文件清单", (*_cols("text", "文件", "状态"), *_cols("count", "读入行数", "错误", "警告")),
                status=("状态",)),
    ResultSheet("合规检查", "机构编制合规检查", _cols("text", *RESULT_SHEETS["合规检查"]) + _SCOPE),
    ResultSheet("合规汇总", "机构编制合规汇总",
                (ResultColumn("开发区名称"), ResultColumn("级别"),
                 *_cols("count", "检查项数", "不合规项数", "预警项数", "数据缺失项数"), ResultColumn("结论"), *_SCOPE)),
    ResultSheet("薪酬测算", "薪酬总额测算",
                (*_ZONE_YEAR, *_cols("money", "基础薪酬", "绩效薪酬", "项目奖励", "薪酬总额", "基础薪酬标准", "上限", unit=_MONEY),
                 *_cols("coef", "挂钩系数", "绩效薪酬系数", "等次系数"), ResultColumn("核定人数", "count", "人"), *_SCOPE),
                status=("结论", "约束"), assessed=True),
    ResultSheet("薪酬明细", "绩效薪酬分配明细",
                (*_cols("text", "姓名", "人员编号", "开发区名称"), ResultColumn("年度", "year"),
                 *_cols("coef", "岗位系数", "等次系数", "分配权重"), ResultColumn("绩效薪酬(元)", "money"), *_SCOPE), assessed=True),
    ResultSheet("税收返还", "税收增量返还测算",
                (*_ZONE_YEAR, *_cols("money", "税收收入", "税收基数", "税收增量", "返还金额", "行政事业性收费", "应返还下限",
                                     "实际返还金额", "土地出让收益", "土地收益应返还", "土地收益返还", unit=_MONEY),
                 ResultColumn("返还比例", "share", "%"), *_SCOPE)),
    ResultSheet("考核排名", "综合考核排名",
                (*_ZONE_YEAR, ResultColumn("分组"), ResultColumn("综合得分", "score"), *_cols("count", "总排名", "组内排名"),
                 ResultColumn("等次"), ResultColumn("排名变化", "change"), *_SCOPE),
                suffixes=(ResultColumn("得分", "score"),), status=("等次",), assessed=True),
    ResultSheet("得分分析", "得分分析（各指标得分及与组内第一的差距）",
                (*_ZONE_YEAR, ResultColumn("分组"), ResultColumn("指标"), ResultColumn("指标值", "number"),
                 ResultColumn("标准化值", "coef"), ResultColumn("权重", "weight", "%"),
                 *_cols("score", "满分", "得分", "组内第一得分", "较组内第一少得"),
                 *_cols("share", "距正理想点贡献", "距负理想点贡献", unit="%"), ResultColumn("说明"), *_SCOPE), assessed=True),
    ResultSheet("奖惩建议", "奖惩建议（建议，须经复核）", (*_ZONE_YEAR, *_SCOPE), status=("类别",), assessed=True),
    ResultSheet("人员排名", "人员竞聘排名",
                (*_cols("text", "姓名", "开发区名称"), ResultColumn("综合得分", "score"), ResultColumn("排名", "count"),
                 *_cols("score", "知识测试", "竞聘演讲", "联合考察"), *_SCOPE), status=("结果",)),
    ResultSheet("指标权重", "考核指标与权重",
                (ResultColumn("指标"), ResultColumn("方向"), ResultColumn("权重", "weight", "%"),
                 *_cols("number", "最小值", "最大值", "标杆值"), *_SCOPE)),
    ResultSheet("派生指标", "派生指标（亩均效益等）",
                (*_ZONE_YEAR, *_cols("number", "亩均税收", "亩均产值", "亩均增加值", "亩均营业收入", unit="万元/亩"),
                 ResultColumn("单位排放增加值", "number", "万元/吨"), ResultColumn("单位能耗增加值", "number", "万元/吨标准煤"),
                 ResultColumn("研发投入强度", "share", "%"), ResultColumn("全员劳动生产率", "number", "万元/人"), *_SCOPE),
                suffixes=(ResultColumn("增速", "share", "%"),)),
    ResultSheet("排名轨迹", "受奖惩开发区历年排名", (*_ZONE_YEAR, ResultColumn("分组"), *_cols("count", "总排名", "组内排名"),
                                                ResultColumn("来源"), *_SCOPE)),
    ResultSheet("图表", "考核结果图表（图表数据）", (), status=(),
                suffixes=(ResultColumn("综合得分", "score"), ResultColumn("个数", "count"), ResultColumn("项数", "count"),
                          ResultColumn("排名", "count"), ResultColumn("标准化值", "coef"), ResultColumn("平均", "coef"))),
    ResultSheet("计算说明", "计算说明（方法、参数与口径）", _cols("text", "项目", "内容"), status=()),
)
DECLARED: dict[str, ResultSheet] = {s.name: s for s in SHEETS}


def declaration(name: str) -> ResultSheet:
    """The declaration of sheet `name` (a continuation 「名称（续2）」 is declared as its first part);
    an undeclared sheet gets a plain one titled by its name."""
    import re

    base = re.sub(r"（续\d+）$", "", name)
    return DECLARED.get(base) or ResultSheet(base, base)


def order_key(name: str) -> int:
    """Position of a result sheet in a workbook (RESULT_ORDER; unknown sheets last)."""
    return RESULT_ORDER.index(name) if name in RESULT_ORDER else len(RESULT_ORDER)


def round_stored(values: np.ndarray, kind: str) -> np.ndarray:
    """Floats as stored: money to the cent, scores as ranked (unchanged), others to 10 significant
    digits — 184200.00000000003 is stored as 184200."""
    if values.dtype.kind != "f" or kind in ("score", "text"):
        return values
    if kind == "money":
        return np.round(values, 2)
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    v = values[finite]
    exp = np.floor(np.log10(np.abs(v))).astype(int) - (SIGNIFICANT - 1)   # digit position of the last kept digit
    small = exp < 0                                            # an integer divided by 10^k: correctly rounded
    r = np.empty_like(v)
    p = 10.0 ** (-exp[small])
    r[small] = np.round(v[small] * p) / p
    q = 10.0 ** exp[~small]
    r[~small] = np.round(v[~small] / q) * q
    out[finite] = r
    return out


def shown(value: object, kind: str) -> str:
    """A number as its column's format shows it, for text (the 通报's tables): 0.06 of a share as
    6.0%, 万元 as 1,234.50, a count as 12; blank as —; text unchanged."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    v = float(value)
    if not np.isfinite(v):
        return "—"
    fmt = FORMATS.get(kind)
    if fmt is None:
        return f"{v:.2f}" if not v.is_integer() else str(int(v))
    if fmt.endswith("%"):
        return f"{v:.{len(fmt) - fmt.index('.') - 2 if '.' in fmt else 0}%}"
    if fmt == "+0;-0;0":
        return f"{v:+.0f}" if round(v) else "0"
    digits = len(fmt) - fmt.index(".") - 1 if "." in fmt else 0
    return f"{v:,.{digits}f}" if fmt.startswith("#,##") else f"{v:.{digits}f}"


UNITS = frozenset(c.unit for s in SHEETS for c in (*s.columns, *s.suffixes) if c.unit)


def plain_header(header: str) -> str:
    """「返还金额(万元)」 → 「返还金额」: the SPEC name of a result column written with the unit
    its declaration adds (a unit that is part of the name, as in 「绩效薪酬(元)」, stays)."""
    for unit in UNITS:
        if header.endswith(f"({unit})"):
            return header[:-len(unit) - 2]
    return header
