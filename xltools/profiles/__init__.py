"""Policy profiles: rules as data (TOML), validated on load (ground floor).

A profile names its rules by the RULES.md ID, a rule *kind* implemented in the engine, the
kind's parameters, the Chinese text shown in results, its source (seed file + quote) and a
severity: `hard` (最多/不超过/不低于/以内 → 不合规) or `soft` (一般/原则上/左右 → 预警).
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from fractions import Fraction
from importlib import resources
from pathlib import Path

SEVERITIES = ("hard", "soft", "info")
# How a severity reads to an official; `info` is a fact a report states (LE-15), shown without a verdict.
SEVERITY_NAMES = {"hard": "刚性（不合规）", "soft": "弹性（预警）", "info": "事实（仅作对照）"}

# kind → (required parameters, optional parameters). Engine functions implement each kind.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "count_range": (("field",), ("min", "max")),
    "share": (("numerator", "denominator", "op", "ratio"), ("band",)),
    "posts": (("principals", "deputies"), ("others",)),
    "compare": (("left", "op", "right"), ("fallback",)),
    "forbidden_value": (("field", "value"), ()),
    "allowed_values": (("field", "values"), ("only_for",)),
    "unique_per_group": (("group", "max"), ("exempt", "exempt_types")),
    # per zone: growth → verdict; one 全市合计 line: the city-wide cut against `city_cut`
    "reduction": (("before", "after"), ("city_cut",)),
    # city-level only (one 全市合计 line): share of zones with min ≤ field ≤ max above `ratio`;
    # the same list item (e.g. a leading industry) in more than `k` zones
    "distribution": (("field", "min", "max", "ratio"), ()),
    "spread": (("field", "k"), ()),
    # information, no verdict: the count and the named items present / absent
    "named_set": (("field", "names"), ()),
    # computation rules (salary pool, fiscal returns): parameters only, no per-zone verdict kind
    "salary_pool": (("weights", "lo", "hi"), ("mode", "grade_multipliers", "person_grades", "fail_coefficient",
                                               "exclude_concurrent")),
    "tax_return": (("rate",), ("base", "base_year", "from_year")),
    "land_return": (("share",), ()),
    # assessment rules: the ranking method, sanctions/incentives, staff cut-offs
    "ranking": (("indicators",), ("weights", "method", "normalize", "group_by", "grades", "missing", "scale",
                                  "normalize_within")),
    "bottom_streak": (("n", "k", "m", "action"), ("consecutive", "trigger", "grades", "ladder", "order", "scope",
                                                  "score_below", "veto", "decline")),
    "top_incentive": (("n", "k", "m", "action"), ("consecutive", "rise_years", "ladder", "order", "scope")),
    "staff_cutoffs": (("parts", "cutoffs", "outcomes"), ("ties",)),
}
QUOTA_KINDS = ("count_range", "share", "posts", "compare", "forbidden_value", "allowed_values",
               "unique_per_group", "reduction", "distribution", "spread", "named_set")
LINKED_INDICATORS = {"tax": "税收收入", "fixed_investment": "固定资产投资", "industrial_output": "规上工业总产值"}
# `order`: the part of a rule that runs as several checks (NX-18) or the step of a ladder.
COMMON = ("id", "kind", "text", "source", "severity", "where", "inferred", "order")
# `inferred = ["weights", …]` (or `true`) names the parameters a rule's source does not give:
# results, `profiles show` and docs say 推断口径 for them. What each parameter is called there:
PARAM_LABELS = {"indicators": "考核指标", "weights": "指标权重", "grades": "等次划分（比例或分数线）",
                "group_by": "分组", "n": "名次范围", "k": "触发年数", "m": "统计年数", "consecutive": "是否要求连续",
                "score_below": "不合格分数线", "decline": "重点指标下降", "rise_years": "连续进位年数", "lo": "挂钩系数下限",
                "hi": "挂钩系数上限", "grade_multipliers": "开发区等次系数", "person_grades": "人员等次系数",
                "base_year": "基数年", "band": "容差带", "order": "处置阶梯", "action": "处置措施"}
INT_PARAMS = {"min", "max", "principals", "deputies", "n", "k", "m", "rise_years", "order"}
RATIONAL_PARAMS = {"ratio", "city_cut"}
OPS = {"share": ("<=", ">=", "about"), "compare": ("<=", ">=", "<", ">", "==")}


class ProfileError(ValueError):
    """A profile file or override that cannot be used; the message names the file and key."""


@dataclass
class Profile:
    id: str
    name: str
    source: str
    regions: list[str]
    rules: list[dict]
    origin: str = ""
    overrides: dict[str, object] = field(default_factory=dict)

    def rule(self, rule_id: str) -> dict:
        return next(r for r in self.rules if r["id"] == rule_id)


def parse_rational(value: object, where: str) -> Fraction:
    """'1/3', 0.6, 60% → Fraction; ratios compare exactly (2 of 6 passes ≤ 1/3)."""
    try:
        if isinstance(value, str):
            v = value.strip()
            if v.endswith("%"):
                return Fraction(v[:-1]) / 100
            return Fraction(v)
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return Fraction(value)
        if isinstance(value, float):
            return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        pass
    raise ProfileError(f"{where}：「{value}」不是有效的比例（可写 1/3、0.6 或 60%）")


def _check_rule(rule: dict, where: str) -> dict:
    for key in ("id", "kind", "text", "source", "severity"):
        if key not in rule:
            raise ProfileError(f"{where}：缺少参数「{key}」")
    rid = rule["id"]
    here = f"{where}（规则 {rid}）"
    kind = rule["kind"]
    if kind not in KINDS:
        raise ProfileError(f"{here}：未知的规则类型「{kind}」，可用：{'、'.join(KINDS)}")
    required, optional = KINDS[kind]
    for key in required:
        if key not in rule:
            raise ProfileError(f"{here}：规则类型 {kind} 缺少参数「{key}」")
    unknown = set(rule) - set(required) - set(optional) - set(COMMON)
    if unknown:
        raise ProfileError(f"{here}：未知参数「{'、'.join(sorted(unknown))}」")
    inferred = rule.get("inferred", [])
    if not (isinstance(inferred, list) and set(inferred) <= set(required) | set(optional) | {"where"}):
        raise ProfileError(f"{here}：「inferred」应列出本条中为推断口径的参数名，如 [\"band\"]")
    for key in ("severity",):
        if key in rule and rule[key] not in SEVERITIES:
            raise ProfileError(f"{here}：「{key}」应为 hard、soft 或 info，实为「{rule[key]}」")
    if (rule["severity"] == "info") != (kind == "named_set"):
        raise ProfileError(f"{here}：severity = \"info\"（仅作对照）只用于 named_set 规则，named_set 规则也只能是 info")
    for key in INT_PARAMS & set(rule):
        v = rule[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ProfileError(f"{here}：「{key}」应为非负整数，实为「{v}」")
    if kind == "count_range" and "min" not in rule and "max" not in rule:
        raise ProfileError(f"{here}：count_range 至少需要 min 或 max")
    if "min" in rule and "max" in rule and rule["min"] > rule["max"]:
        raise ProfileError(f"{here}：min({rule['min']}) 大于 max({rule['max']})")
    for key in RATIONAL_PARAMS & set(rule):
        q = parse_rational(rule[key], f"{here} 参数「{key}」")
        if not 0 <= q <= 1:
            raise ProfileError(f"{here}：「{key}」应在 0 到 1 之间，实为「{rule[key]}」")
    if kind in OPS and rule["op"] not in OPS[kind]:
        raise ProfileError(f"{here}：「op」应为 {' / '.join(OPS[kind])}，实为「{rule['op']}」")
    if kind == "share" and rule["op"] == "about":
        band = rule.get("band")
        if not (isinstance(band, list) and len(band) == 2):
            raise ProfileError(f"{here}：op = \"about\" 需要 band = [下限, 上限]")
        lo, hi = (parse_rational(b, f"{here} 参数「band」") for b in band)
        if lo > hi:
            raise ProfileError(f"{here}：band 下限大于上限")
    if kind == "posts":
        for k, v in (rule.get("others") or {}).items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ProfileError(f"{here}：「others.{k}」应为非负整数，实为「{v}」")
    if kind == "salary_pool":
        _check_salary(rule, here)
    if kind in ("bottom_streak", "top_incentive"):
        if rule["k"] > rule["m"] or rule["k"] < 1:
            raise ProfileError(f"{here}：应满足 1 ≤ k({rule['k']}) ≤ m({rule['m']})")
        if rule.get("trigger", "rank") not in ("rank", "grade", "absolute"):
            raise ProfileError(f"{here}：「trigger」应为 rank（末位名次）、grade（等次）或 absolute（绝对标准：一票否决、"
                               "不依赖其他开发区的得分线）")
        if rule.get("trigger") == "absolute" and "score_below" in rule and (
                isinstance(rule["score_below"], bool) or not isinstance(rule["score_below"], (int, float))):
            raise ProfileError(f"{here}：「score_below」应为分数，实为「{rule['score_below']}」")
        if "decline" in rule and not (isinstance(rule["decline"], list) and rule["decline"]
                                      and all(isinstance(x, str) for x in rule["decline"])):
            raise ProfileError(f"{here}：「decline」应为重点指标名称的列表，如 [\"税收收入\"]（全部较上年下降即为不合格）")
        if rule.get("trigger") == "grade" and not rule.get("grades"):
            raise ProfileError(f"{here}：trigger = \"grade\" 需要「grades」（触发的等次列表）")
    if kind == "staff_cutoffs":
        _number_table(rule["parts"], "parts", here)
        cut = rule["cutoffs"]
        if not (isinstance(cut, list) and all(isinstance(c, int) and c > 0 for c in cut) and cut == sorted(cut)):
            raise ProfileError(f"{here}：「cutoffs」应为递增的正整数名次，如 [70, 130]")
        if len(rule["outcomes"]) != len(cut) + 1:
            raise ProfileError(f"{here}：「outcomes」应比「cutoffs」多一项（最后一项为其余人员）")
    if kind == "ranking" and not (isinstance(rule["indicators"], list) and rule["indicators"]):
        raise ProfileError(f"{here}：「indicators」应为指标列表")
    if kind in ("tax_return", "land_return"):
        key = "rate" if kind == "tax_return" else "share"
        v = rule[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ProfileError(f"{here}：「{key}」应在 0 到 1 之间，实为「{v}」")
        if rule.get("base", "year") not in ("year", "previous"):
            raise ProfileError(f"{here}：「base」应为 year（固定基数年）或 previous（上年），实为「{rule['base']}」")
        if rule.get("base", "year") == "year" and kind == "tax_return" and not isinstance(rule.get("base_year"), int):
            raise ProfileError(f"{here}：base = \"year\" 需要整数「base_year」")
    inferred = rule.get("inferred")
    if inferred is not None and inferred is not True and not (
            isinstance(inferred, list) and all(isinstance(k, str) and k in rule for k in inferred)):
        raise ProfileError(f"{here}：「inferred」应为 true 或本规则参数名的列表（如 [\"weights\"]），实为「{inferred}」")
    if "where" in rule and not (isinstance(rule["where"], dict)
                                and all(isinstance(v, list) for v in rule["where"].values())):
        raise ProfileError(f"{here}：「where」应写成 {{ 字段 = [\"取值\", …] }}")
    return rule


def _number_table(value: object, key: str, here: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise ProfileError(f"{here}：「{key}」应写成 {{ 名称 = 数值, … }}")
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ProfileError(f"{here}：「{key}.{k}」应为非负数，实为「{v}」")
    return value


def _check_salary(rule: dict, here: str) -> None:
    weights = _number_table(rule["weights"], "weights", here)
    unknown = set(weights) - set(LINKED_INDICATORS)
    if unknown:
        raise ProfileError(f"{here}：「weights」中的指标「{'、'.join(sorted(unknown))}」不可用，可用："
                           + "、".join(f"{k}（{v}）" for k, v in LINKED_INDICATORS.items()))
    if sum(weights.values()) <= 0:
        raise ProfileError(f"{here}：「weights」之和应大于 0")
    for key in ("lo", "hi"):
        v = rule[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ProfileError(f"{here}：「{key}」应为非负数，实为「{v}」")
    if rule["lo"] > rule["hi"]:
        raise ProfileError(f"{here}：挂钩系数下限 lo({rule['lo']}) 大于上限 hi({rule['hi']})")
    if rule.get("mode", "target") not in ("target", "growth"):
        raise ProfileError(f"{here}：「mode」应为 target（对目标值）或 growth（对上年），实为「{rule['mode']}」")
    for key in ("grade_multipliers", "person_grades"):
        if key in rule:
            _number_table(rule[key], key, here)
    v = rule.get("fail_coefficient", 0)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ProfileError(f"{here}：「fail_coefficient」应为非负数，实为「{v}」")


def load_profile_text(text: str, origin: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        at = f"第 {where.group(1)} 行第 {where.group(2)} 列" if where else "某处"
        raise ProfileError(f"{origin}：TOML 格式错误（{at}：{str(exc).split(' (at ')[0]}），"
                           "请检查引号、等号和方括号是否成对，中文文字须放在英文双引号内") from exc
    for key in ("id", "name", "rules"):
        if key not in data:
            raise ProfileError(f"{origin}：缺少「{key}」")
    rules = data["rules"]
    if not isinstance(rules, list):
        raise ProfileError(f"{origin}：「rules」应写成 [[rules]] 表数组")
    checked = [_check_rule(dict(r), f"{origin} rules[{i}]") for i, r in enumerate(rules)]
    ids = [(r["id"], r.get("order")) for r in checked]   # a ladder may repeat an ID with distinct `order`
    if len(set(ids)) != len(ids):
        raise ProfileError(f"{origin}：规则编号重复：{sorted({i for i, _ in ids if ids.count((i, _)) > 1})}")
    return Profile(data["id"], data["name"], data.get("source", ""), list(data.get("regions", [])),
                   checked, origin)


@lru_cache(maxsize=1)
def _builtin_ids() -> tuple[str, ...]:
    files = resources.files("xltools") / "profiles"
    return tuple(sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml") and p.name != "presets.toml"))


def builtin_ids() -> list[str]:
    return list(_builtin_ids())


def presets() -> dict[str, dict]:
    """Named indicator systems (浙江亩均六项, MOFCOM2021, 安徽亩均)."""
    res = resources.files("xltools") / "profiles" / "presets.toml"
    return tomllib.loads(res.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _builtin(name: str) -> Profile:
    res = resources.files("xltools") / "profiles" / f"{name}.toml"
    return load_profile_text(res.read_text(encoding="utf-8"), f"{name}.toml")


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by id (parsed once, handed out as a copy), or a user's TOML file by path."""
    name = str(name_or_path)
    if name in builtin_ids():
        return copy.deepcopy(_builtin(name))
    path = Path(name)
    if path.suffix.lower() == ".toml" and path.exists():
        return load_profile_text(path.read_text(encoding="utf-8"), str(path))
    raise ProfileError(f"找不到政策口径「{name}」：内置口径有 {'、'.join(builtin_ids())}，或给出 .toml 文件路径")


def apply_overrides(profile: Profile, overrides: dict[str, object], origin: str = "参数") -> Profile:
    """Return a copy with `RULE-ID.param = value` overrides applied and re-validated."""
    if not overrides:
        return profile
    new = copy.deepcopy(profile)
    for key, value in overrides.items():
        rid, _, param = key.partition(".")
        try:
            rule = new.rule(rid)
        except StopIteration:
            raise ProfileError(f"{origin}「{key}」：口径 {profile.id} 中没有规则 {rid}") from None
        if not param:
            raise ProfileError(f"{origin}「{key}」：应写成 规则编号.参数，如 QD-09.max")
        if param in INT_PARAMS and isinstance(value, float) and value.is_integer():
            value = int(value)
        if param in INT_PARAMS and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        rule[param] = value
        _check_rule(rule, f"{origin}「{key}」")
        new.overrides[key] = value
    return new


def inferred_text(rule: dict) -> str:
    """The parameters of a rule the source does not give (TOML `inferred`), in words."""
    keys = rule.get("inferred") or []
    if keys is True:
        return f"{rule['id']} 的全部参数为推断口径"
    if not keys:
        return ""
    return f"{rule['id']}：" + "、".join(PARAM_LABELS.get(k, k) for k in keys) + "为推断口径（报告原文未给出）"


def rule_params_text(rule: dict) -> str:
    """The kind-specific parameters of a rule as `key = value` text (for listings and docs)."""
    skip = set(COMMON) - {"where"}
    text = "；".join(f"{k} = {v}" for k, v in rule.items() if k not in skip)
    inferred = rule.get("inferred")
    if inferred:
        text += "；推断口径：" + ("全部参数" if inferred is True else "、".join(PARAM_LABELS.get(k, k) for k in inferred))
    return text
