"""Excel worksheet functions (=XT_…), thin wrappers over the engine.

Each function takes what Excel passes (numbers as floats, blanks as None, text) and returns
Excel-shaped values; errors come back as a short Chinese message in the cell, never a
traceback. On Windows/macOS xlwings registers them from these decorators; on Linux the
decorators are no-ops and the functions are plain Python (tests call them both ways).
"""

from __future__ import annotations

import numpy as np
import xlwings as xw

from .engine import quota_one
from .intake.coerce import parse_number_text
from .methods import AGGREGATE, DEFAULTS, METHODS, NORMALIZE, WEIGHTS, choices
from .profiles import ProfileError
from .schema import ENUMS, normalize_text

# the function wizard's category; results are plain lists: Excel 365/2021+ spills them natively,
# Excel 2016/2019 takes them as an array formula over a selected range (no `expand`, which writes
# outside the formula's cells without warning)
CATEGORY = "开发区考核"


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


@xw.func(category=CATEGORY)
@xw.arg("level", doc="开发区级别：国家级、省级（自治区级）或市级")
@xw.arg("departments", doc="内设机构个数")
@xw.arg("principals", doc="正职领导职数")
@xw.arg("deputies", doc="副职领导职数")
@xw.arg("profile", doc="政策口径，如 青岛、宁夏（或 qingdao、ningxia）；省略为通用口径")
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


@xw.func(category=CATEGORY)
@xw.arg("headcount", doc="核定人数")
@xw.arg("base", doc="人均基础薪酬标准（万元/人·年）")
@xw.arg("ratio", doc="绩效薪酬系数，如 0.5")
@xw.arg("actuals", doc="挂钩指标实际值：税收、固定资产投资、规上工业总产值（一行或一列）")
@xw.arg("targets", doc="挂钩指标目标值，顺序同上")
@xw.arg("weights", doc="可选：各指标权重，省略为 0.4、0.3、0.3")
@xw.arg("rewards", doc="可选：项目奖励（万元）")
def XT_SALARY_POOL(headcount, base, ratio, actuals, targets, weights=None, rewards=None):
    """薪酬总额测算（辽阳模式）：返回一行四格——基础薪酬、绩效薪酬、项目奖励、薪酬总额（万元）。

    挂钩系数 = Σ 权重 × 完成率（限制在 0.8–1.3 之间）；绩效薪酬 = 基础薪酬 × 绩效薪酬系数 × 挂钩系数。
    """
    from .engine.salary import link_coefficient, pool_arrays
    from .profiles import LINKED_INDICATORS, load_profile

    try:
        rule = load_profile("liaoyang").of_kind("salary_pool")[0]      # 辽阳模式 (LY-13)
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


@xw.func(category=CATEGORY)
@xw.arg("tax", doc="当年税收收入")
@xw.arg("base", doc="税收基数（基数年或上年税收）")
@xw.arg("fees", doc="可选：行政事业性收费")
@xw.arg("rate", doc="可选：返还比例，省略为青岛口径规定的比例")
def XT_TAX_RETURN(tax, base, fees=None, rate=None):
    """税收返还金额（青岛模式）= 返还比例 ×（max(0, 税收 − 基数) + 行政事业性收费）。"""
    from .engine import tax_return_one
    from .profiles import load_profile

    try:
        t, b = _number(tax, "税收收入"), _number(base, "税收基数")
        if t is None or b is None:
            return "数据缺失：需要税收收入和税收基数"
        r = (load_profile("qingdao").of_kind("tax_return")[0]["rate"]      # the model's own rate
             if rate in (None, "") else _rate(rate))
        return tax_return_one(t, b, _number(fees, "行政事业性收费") or 0.0, r)
    except ValueError as exc:                                          # ProfileError is one
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


# --------------------------------------------------------------------------- scoring UDFs
def _cells(values) -> list[list]:
    """Excel range → list of rows (a scalar becomes [[x]], a 1-D list one column)."""
    if not isinstance(values, list):
        return [[values]]
    if values and not isinstance(values[0], list):
        return [[v] for v in values]
    return values


def _num_or_nan(v) -> float:
    if v is None or v == "" or isinstance(v, bool):
        return float("nan")
    if isinstance(v, (int, float)):
        return float(v)
    num, err, _ = parse_number_text(str(v), None, "", True)
    return float("nan") if err or num is None else num


def _column(values) -> np.ndarray:
    return np.array([_num_or_nan(v) for row in _cells(values) for v in row], dtype=float)


def _matrix(values) -> np.ndarray:
    return np.array([[_num_or_nan(v) for v in row] for row in _cells(values)], dtype=float)


def _directions(directions, m: int) -> np.ndarray:
    if directions is None or directions == "":
        return np.ones(m)
    flat = [v for row in _cells(directions) for v in row]
    table = {"正向": 1, "负向": -1, "逆向": -1, "+": 1, "-": -1, "1": 1, "-1": -1}
    out = []
    for v in flat:
        key = v if isinstance(v, str) else (str(int(v)) if isinstance(v, (int, float)) and float(v).is_integer() else str(v))
        if key.strip() not in table:
            raise ValueError(f"方向「{v}」无法识别（1/-1、正向/负向、+/-）")
        out.append(table[key.strip()])
    if len(out) == 1:
        out = out * m
    if len(out) != m:
        raise ValueError("方向的个数应与指标个数相同")
    return np.array(out, dtype=float)


def _as_column(values: np.ndarray) -> list[list]:
    return [[None if (v is None or (isinstance(v, float) and np.isnan(v))) else v] for v in values.tolist()]


def _error(exc: Exception) -> list[list]:
    return [[f"错误：{exc}"]]


@xw.func(category=CATEGORY)
@xw.arg("values", ndim=2, doc="指标值（一列），如税收收入")
@xw.arg("areas", ndim=2, doc="用地面积（亩，一列）")
def XT_PER_MU(values, areas):
    """亩均值：每个单元格 = 指标值 / 用地面积；面积为 0 或空时返回空白。"""
    from .engine.indicators import safe_divide

    try:
        v, a = _column(values), _column(areas)
        if len(v) != len(a):
            raise ValueError("指标值与面积的行数应相同")
        return _as_column(safe_divide(v, a))
    except ValueError as exc:
        return _error(exc)


# the method a scoring function uses when its method argument is left out (fixed weights are not
# a worksheet function's: it is given the weights)
UDF_DEFAULTS = {NORMALIZE: METHODS[DEFAULTS[AGGREGATE]].default_normalize, WEIGHTS: "entropy",
                AGGREGATE: DEFAULTS[AGGREGATE]}


def _method(kind: str, method: str, what: str, sep: str):
    """The registry entry of a method a worksheet function takes (methods.Method.in_udf), else a ValueError."""
    spec = METHODS.get(method)
    if spec is None or spec.kind != kind or not spec.in_udf:
        usable = [m.id for m in METHODS.values() if m.kind == kind and m.in_udf]
        raise ValueError(f"{what}「{method}」无效：{sep.join(usable)}")
    return spec


@xw.func(category=CATEGORY)
@xw.arg("values", ndim=2, doc="一列指标值")
@xw.arg("method", doc=choices(NORMALIZE, udf=True, default=UDF_DEFAULTS[NORMALIZE]))
@xw.arg("direction", doc="1 正向（默认）或 -1 负向")
def XT_NORMALIZE(values, method=UDF_DEFAULTS[NORMALIZE], direction=1):
    """标准化一列指标（方向感知）：minmax 常数列为 1，efficacy = 60 + 40 × minmax。"""
    from .engine.scoring import ScoringError, normalize

    try:
        x = _column(values)
        d = _directions(direction, 1)
        return _as_column(normalize(x, d, str(method or UDF_DEFAULTS[NORMALIZE]))[:, 0])
    except (ValueError, ScoringError) as exc:
        return _error(exc)


@xw.func(category=CATEGORY)
@xw.arg("matrix", ndim=2, doc="指标矩阵：每行一个开发区，每列一个指标")
@xw.arg("directions", ndim=2, doc="各列方向（1/-1 或 正向/负向），省略为全部正向")
@xw.arg("method", doc=choices(WEIGHTS, udf=True, default=UDF_DEFAULTS[WEIGHTS]))
@xw.arg("pairwise", ndim=2, doc="AHP 判断矩阵（method = ahp 时）")
def XT_WEIGHTS(matrix, directions=None, method=UDF_DEFAULTS[WEIGHTS], pairwise=None):
    """客观/主观赋权：返回一行权重，合计为 1。"""
    from .engine.scoring import WEIGHERS, ScoringError, WeightInputs

    try:
        spec = _method(WEIGHTS, str(method or UDF_DEFAULTS[WEIGHTS]), "赋权方法", "、")
        if spec.needs_pairwise:             # the matrix argument is the pairwise matrix when none is given
            inputs = WeightInputs(pairwise=_matrix(pairwise if pairwise is not None else matrix))
        else:
            x = _matrix(matrix)
            inputs = WeightInputs(x, _directions(directions, x.shape[1]) if spec.directional else None)
        w, _ = WEIGHERS[spec.id](inputs)
        return [w.tolist()]
    except (ValueError, ScoringError) as exc:
        return _error(exc)


@xw.func(category=CATEGORY)
@xw.arg("matrix", ndim=2, doc="指标矩阵：每行一个开发区，每列一个指标")
@xw.arg("weights", ndim=2, doc="一行权重（自动归一）")
@xw.arg("directions", ndim=2, doc="各列方向，省略为全部正向")
@xw.arg("method", doc=choices(AGGREGATE, udf=True, default=UDF_DEFAULTS[AGGREGATE]))
@xw.arg("normalize", doc="标准化方法：" + "，".join(f"{m.id} 默认 {m.default_normalize}" for m in METHODS.values()
                                                    if m.kind == AGGREGATE))
def XT_SCORE(matrix, weights, directions=None, method=UDF_DEFAULTS[AGGREGATE], normalize=None):
    """综合得分（一列）：wsum = Σ 权重 × 标准化值；topsis = 贴近度 D⁻/(D⁺+D⁻)。含空白的行返回空白。"""
    from .engine.scoring import AGGREGATORS, ScoringError

    try:
        x = _matrix(matrix)
        w = _column(weights)
        d = _directions(directions, x.shape[1])
        ok = ~np.isnan(x).any(axis=1)
        out = np.full(len(x), np.nan)
        spec = _method(AGGREGATE, str(method or UDF_DEFAULTS[AGGREGATE]), "评价方法", " 或 ")
        out[ok] = AGGREGATORS[spec.id](x[ok], w, d, str(normalize or spec.default_normalize))
        return _as_column(out)
    except (ValueError, ScoringError) as exc:
        return _error(exc)


@xw.func(category=CATEGORY)
@xw.arg("values", ndim=2, doc="一列得分")
@xw.arg("groups", ndim=2, doc="可选：一列分组（如级别），组内排名")
@xw.arg("order", doc="0 = 降序（默认，得分高排第 1），1 = 升序，同 RANK.EQ")
def XT_RANK(values, groups=None, order=0):
    """竞争排名，与 Excel RANK.EQ 相同（并列取最好名次）；可按组排名；空白返回空白。"""
    from .engine.scoring import competition_rank

    try:
        x = _column(values)
        g = None
        if groups is not None and groups != "":
            g = np.array([v for row in _cells(groups) for v in row], dtype=object)
            if len(g) != len(x):
                raise ValueError("分组与得分的行数应相同")
        descending = not (order not in (None, "") and float(order) == 1)
        return _as_column(competition_rank(x, g, descending))
    except ValueError as exc:
        return _error(exc)


@xw.func(category=CATEGORY)
@xw.arg("scores", ndim=2, doc="一列得分")
@xw.arg("shares_or_cutoffs", ndim=2, doc="等次比例（如 0.25, 0.45, 0.25）或分数线（如 90, 80, 60）")
@xw.arg("labels", ndim=2, doc="等次名称（比比例/分数线多一个），默认 A B C D")
def XT_GRADE(scores, shares_or_cutoffs=None, labels=None):
    """等次：给比例（合计 ≤ 1）则按排名强制分布，给分数线则按分数划档。"""
    from .engine.scoring import ScoringError, grade_by_cutoffs, grade_by_shares

    try:
        s = _column(scores)
        spec = _column(shares_or_cutoffs) if shares_or_cutoffs not in (None, "") else np.array([0.25, 0.45, 0.25])
        names = ([str(v) for row in _cells(labels) for v in row if v not in (None, "")]
                 if labels not in (None, "") else ["A", "B", "C", "D"][: len(spec) + 1])
        if np.all((spec >= 0) & (spec <= 1)) and spec.sum() <= 1 + 1e-9:
            out = grade_by_shares(s, spec, names)
        else:
            out = grade_by_cutoffs(s, spec, names)
        return [[v] for v in out.tolist()]
    except (ValueError, ScoringError) as exc:
        return _error(exc)
