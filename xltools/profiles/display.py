"""How profiles read to an official: Chinese names for method ids, parameters and values, and
sources cited by report title (「Officials read Chinese」). Ground floor: data only."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from ..methods import METHODS

# Method and option ids of the scoring kernels and rule kinds → what 计算说明 and docs say
# (the one table of Chinese method names: ranking, 计算说明, profiles show, docs and the 通报 use it).
ROUNDING_NAMES = {"floor": "向下取整", "ceil": "向上取整", "round": "四舍五入"}
TIE_NAMES = {"include": "分界处并列者均取较高等次（名额可能超出）", "exclude": "分界处并列者均取较低等次"}
MISSING_NAMES = {"mean": "按组内平均值补齐", "zero": "按 0 计", "exclude": "含缺失值的开发区不参与排名"}
METHOD_NAMES: dict[str, str] = {
    **{m.id: m.label for m in METHODS.values()},            # ranking methods: their registry, xltools/methods.py
    **ROUNDING_NAMES, "include": TIE_NAMES["include"], "mean": MISSING_NAMES["mean"], "zero": MISSING_NAMES["zero"],
    "target": "对目标值", "growth": "对上年实际值", "year": "固定基数年",
    "previous": "上年", "rank": "末位名次", "grade": "考核等次", "hard": "刚性（不合规）", "soft": "弹性（预警）",
    "absolute": "绝对标准（分数线、一票否决或重点指标下降）", "group": "组内", "all": "全部参评开发区",
    "tax": "税收收入", "fixed_investment": "固定资产投资", "industrial_output": "规上工业总产值",
    "score_test": "知识测试", "score_speech": "竞聘演讲", "score_inspection": "联合考察",
    "level": "级别", "zone_type": "类型", "county": "所属地区", "region": "地区", "admin_rank": "管理机构规格",
    "governance": "管理体制", "zone": "开发区名称",
    "<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "=", "about": "左右（容差带）",
}

# Rule parameters → Chinese (profiles show, docs, 计算说明's list of inferred parameters).
PARAM_NAMES: dict[str, str] = {
    "field": "指标", "min": "下限", "max": "上限", "numerator": "分子", "denominator": "分母", "op": "比较",
    "ratio": "比例", "band": "容差带", "principals": "正职", "deputies": "副职", "principal_severity": "正职性质",
    "left": "实际", "right": "限额", "value": "不得为", "values": "应为", "only_for": "仅限", "blank_ok": "可空",
    "group": "范围", "exempt": "豁免列", "before": "改革前", "after": "改革后", "min_cut": "最低精减比例",
    "weights": "指标权重", "lo": "挂钩系数下限", "hi": "挂钩系数上限", "mode": "对比基准", "grade_multipliers": "开发区等次系数",
    "person_grades": "人员等次系数", "fail_coefficient": "不合格系数", "rate": "返还比例", "base": "税收基数",
    "base_year": "基数年", "from_year": "起始年", "share": "返还份额", "indicators": "考核指标", "method": "评价方法",
    "normalize": "标准化方法", "group_by": "分组依据", "grades": "等次划分", "missing": "缺失值处理", "scale": "满分",
    "n": "名次（末位/前列 N 名）", "k": "触发年数", "m": "统计年数", "action": "措施", "consecutive": "须连续",
    "trigger": "触发方式", "score_below": "不合格分数线", "decline": "重点指标下降", "veto": "一票否决", "scope": "排名范围",
    "normalize_within": "标准化范围", "exclude_concurrent": "兼任者不参与分配", "ladder": "处置阶梯", "order": "阶梯步次", "rise_years": "连续进位年数",
    "parts": "分项权重", "cutoffs": "名次分界", "outcomes": "结果", "ties": "并列处理", "where": "适用范围",
    "labels": "等次名称", "shares": "比例", "rounding": "名额取整", "cutoff": "分数线",
    "names": "名单", "exempt_types": "豁免类型", "city_cut": "全市精减比例", "fallback": "未填时改用", "others": "其他职数",
}

SEED_FILE = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")


@lru_cache(maxsize=1)
def report_titles() -> dict[str, str]:
    """seed file name → 《title》（by）."""
    data = tomllib.loads((resources.files("xltools") / "profiles" / "sources.toml").read_text(encoding="utf-8"))
    return {f: f"{v['title']}（{v['by']}）" for f, v in data.items()}


def cite(text: str) -> str:
    """A source text with every seed file name replaced by its report title."""
    titles = report_titles()
    return SEED_FILE.sub(lambda m: titles.get(m.group(0), "所引报告"), text or "")


def say(value: object, names: dict[str, str] | None = None) -> str:
    """A parameter value as an official reads it: no Python lists, dicts, True/False or ids."""
    names = {**METHOD_NAMES, **(names or {})}
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        if set(value) == {"name"} or ("name" in value and len(value) <= 3):
            extra = "，".join(f"{PARAM_NAMES.get(k, k)} {say(v, names)}" for k, v in value.items() if k != "name")
            return value["name"] + (f"（{extra}）" if extra else "")
        return "；".join(f"{names.get(k, PARAM_NAMES.get(k, k))} {say(v, names)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(say(v, names) for v in value) if value else "无"
    return str(value)


def percent_list(shares) -> str:
    """[0.2, 0.5, 0.25] → 20%、50%、25%."""
    return "、".join(f"{float(s) * 100:g}%" for s in shares)

# Rule kinds → Chinese (profiles show, docs).
KIND_NAMES: dict[str, str] = {
    "count_range": "数量上下限", "share": "比例", "posts": "领导职数", "compare": "数量比较",
    "forbidden_value": "禁止情形", "allowed_values": "允许取值", "unique_per_group": "每地唯一",
    "reduction": "精减比例", "salary_pool": "薪酬总额挂钩", "tax_return": "税收返还", "land_return": "土地收益返还",
    "ranking": "考核排名", "bottom_streak": "末位/不合格处置", "top_incentive": "激励", "staff_cutoffs": "人员排名分档",
    "distribution": "全市分布", "spread": "全市重复程度", "named_set": "事实对照",
}
SEVERITY_NAMES = {"hard": "刚性（不合规）", "soft": "弹性（预警）", "info": "事实（仅作对照）"}
