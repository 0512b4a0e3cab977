"""Excel worksheet functions (=XT_…), thin wrappers over the engine (SPEC §6.1).

Each function takes what Excel passes (numbers as floats, blanks as None, text) and returns
Excel-shaped values; errors come back as a short Chinese message in the cell, never a
traceback. On Windows/macOS xlwings registers them from these decorators; on Linux the
decorators are no-ops and the functions are plain Python (tests call them both ways).
"""

from __future__ import annotations

import xlwings as xw

from .engine import quota_one
from .intake.coerce import parse_number_text
from .profiles import ProfileError
from .schema import ENUMS, normalize_text


def _number(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}应为数字")
    if isinstance(value, (int, float)):
        return float(value)
    num, err, _ = parse_number_text(str(value), None, "", False)
    if err:
        raise ValueError(f"{name}应为数字")
    return num


def _level(value: object) -> str | None:
    if value is None or value == "":
        return None
    level = ENUMS["级别"].lookup().get(normalize_text(value))
    if level is None:
        raise ValueError(f"级别「{value}」无法识别（国家级/省级/市级）")
    return level


@xw.func
@xw.arg("level", doc="开发区级别：国家级、省级（自治区级）或市级")
@xw.arg("departments", doc="内设机构个数")
@xw.arg("principals", doc="正职领导职数")
@xw.arg("deputies", doc="副职领导职数")
@xw.arg("profile", doc="政策口径编号，如 qingdao、ningxia；省略为 default")
@xw.ret(expand="table")
def XT_QUOTA(level=None, departments=None, principals=None, deputies=None, profile="default"):
    """编制合规检查：按政策口径检查内设机构数与领导职数，返回一行两格：结论、说明。"""
    try:
        verdict, note = quota_one(_level(level), _number(departments, "内设机构数"),
                                  _number(principals, "正职职数"), _number(deputies, "副职职数"),
                                  str(profile or "default"))
    except (ValueError, ProfileError) as exc:
        return [["错误", str(exc)]]
    return [[verdict, note]]


def _row(values: object) -> list:
    """An Excel range argument (scalar, 1-D or 2-D list) flattened to one list."""
    if values is None:
        return []
    if not isinstance(values, list):
        return [values]
    flat = []
    for v in values:
        flat.extend(v if isinstance(v, list) else [v])
    return flat


@xw.func
@xw.arg("headcount", doc="核定人数")
@xw.arg("base", doc="人均基础薪酬标准（万元/人·年）")
@xw.arg("ratio", doc="绩效薪酬系数，如 0.5")
@xw.arg("actuals", doc="挂钩指标实际值：税收、固定资产投资、规上工业总产值（一行或一列）")
@xw.arg("targets", doc="挂钩指标目标值，顺序同上")
@xw.arg("weights", doc="可选：各指标权重，省略为 0.4、0.3、0.3")
@xw.arg("rewards", doc="可选：项目奖励（万元）")
@xw.ret(expand="table")
def XT_SALARY_POOL(headcount, base, ratio, actuals, targets, weights=None, rewards=None):
    """薪酬总额测算（辽阳模式）：返回一行四格——基础薪酬、绩效薪酬、项目奖励、薪酬总额（万元）。

    挂钩系数 = Σ 权重 × 完成率（限制在 0.8–1.3 之间）；绩效薪酬 = 基础薪酬 × 绩效薪酬系数 × 挂钩系数。
    """
    from .engine.salary import link_coefficient, pool_arrays
    from .profiles import LINKED_INDICATORS, load_profile

    try:
        rule = next(r for r in load_profile("default").rules if r["kind"] == "salary_pool")
        act = [_number(v, "实际值") for v in _row(actuals)]
        tgt = [_number(v, "目标值") for v in _row(targets)]
        w = [_number(v, "权重") for v in _row(weights)] or [rule["weights"][k] for k in LINKED_INDICATORS]
        if not (len(act) == len(tgt) == len(w)) or not act:
            raise ValueError("实际值、目标值、权重的个数应相同")
        if any(x is None or x < 0 for x in w) or sum(w) <= 0:
            raise ValueError("权重应为非负数且不全为 0")
        act = [float("nan") if v is None else v for v in act]
        tgt = [float("nan") if v is None else v for v in tgt]
        coef, _, ok = link_coefficient([act], [tgt], w, rule["lo"], rule["hi"])
        if not ok.all():
            return [["数据缺失", "缺少挂钩指标的实际值或目标值", "", ""]]
        h, b, r = _number(headcount, "核定人数"), _number(base, "基础薪酬标准"), _number(ratio, "绩效薪酬系数")
        if h is None or b is None or r is None:
            return [["数据缺失", "缺少核定人数、基础薪酬标准或绩效薪酬系数", "", ""]]
        reward = sum(_number(v, "项目奖励") or 0.0 for v in _row(rewards))
        base_pay, perf, rew, total, _ = pool_arrays([h], [b], [r], coef, [reward])
    except (ValueError, ProfileError) as exc:
        return [["错误", str(exc), "", ""]]
    return [[float(base_pay[0]), float(perf[0]), float(rew[0]), float(total[0])]]


@xw.func
@xw.arg("tax", doc="当年税收收入")
@xw.arg("base", doc="税收基数（基数年或上年税收）")
@xw.arg("fees", doc="可选：行政事业性收费")
@xw.arg("rate", doc="可选：返还比例，省略为 60%")
def XT_TAX_RETURN(tax, base, fees=None, rate=None):
    """税收返还金额（青岛模式）= 返还比例 ×（max(0, 税收 − 基数) + 行政事业性收费）。"""
    from .engine import tax_return_one

    try:
        t, b = _number(tax, "税收收入"), _number(base, "税收基数")
        if t is None or b is None:
            return "数据缺失：需要税收收入和税收基数"
        r = 0.6 if rate in (None, "") else _rate(rate)
        return tax_return_one(t, b, _number(fees, "行政事业性收费") or 0.0, r)
    except ValueError as exc:
        return f"错误：{exc}"


def _rate(value: object) -> float:
    if isinstance(value, str):
        num, err, _ = parse_number_text(value, None, "", True)
        if err or num is None:
            raise ValueError("返还比例应为 0–1 的小数或百分数")
        value = num
    value = float(value)
    if not 0 <= value <= 1:
        raise ValueError("返还比例应在 0 到 1 之间")
    return value
