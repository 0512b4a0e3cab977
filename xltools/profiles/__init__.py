"""Policy profiles: rules as data (TOML), validated on load (ground floor).

A profile names its rules by their rule ID (QD-09; docs/政策口径.md lists them), a rule *kind*
implemented in the engine, the kind's parameters, the Chinese text shown in results, its source
(seed file + quote) and a severity: `hard` (最多/不超过/不低于/以内 → 不合规) or `soft` (一般/原则上/左右 → 预警).
A rule lists in `inferred` the parameters the report does not give (e.g. `inferred = ["band"]`,
or `"grades.shares"` for part of a table): every display of the rule marks them 推断口径.

A profile has an id, a Chinese `label` shown in results (青岛口径), a `name`, a `source` and a
`[region]`: the administrative division codes it governs by prefix (`adcodes = ["3702"]`) and an
alias table for informal names (`aliases = { "西海岸新区" = "370211" }`). Which profile judges
which zone is decided in `resolve.py`, nowhere else.
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

from .display import PARAM_NAMES, SEVERITY_NAMES, cite, say

SEVERITIES = ("hard", "soft", "info")     # `info`: a fact a report states (LE-15), shown without a verdict

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
COMMON = ("id", "kind", "text", "source", "severity", "where", "inferred", "order", "source_id")
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
    rules: list[dict]
    origin: str = ""
    overrides: dict[str, object] = field(default_factory=dict)
    label: str = ""                                        # 青岛口径: what results show
    adcodes: list[str] = field(default_factory=list)       # division code prefixes it governs
    aliases: dict[str, str] = field(default_factory=dict)  # informal name → division code

    def __post_init__(self) -> None:
        self.label = self.label or self.name

    def rule(self, rule_id: str) -> dict:
        return next(r for r in self.rules if r["id"] == rule_id)

    def of_kind(self, *kinds: str) -> list[dict]:
        return [r for r in self.rules if r["kind"] in kinds]

    @property
    def regions(self) -> list[str]:
        """The divisions it governs, by name (山东省青岛市)."""
        from .regions import full_name
        return [full_name(c) for c in self.adcodes]


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
    """A rule as written in a profile, checked stage by stage; the message names file and rule."""
    for key in ("id", "kind", "text", "source", "severity"):
        if key not in rule:
            raise ProfileError(f"{where}：缺少参数「{key}」")
    here = f"{where}（规则 {rule['id']}）"
    required, optional = _check_parameters(rule, here)
    _check_values(rule, here)
    _check_kind(rule, here)
    _check_scope(rule, here, required, optional)
    return rule


def _check_parameters(rule: dict, here: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A known kind with its required parameters, no unknown ones and a severity fit for it."""
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
    for key in ("severity",):
        if key in rule and rule[key] not in SEVERITIES:
            raise ProfileError(f"{here}：「{key}」应为 hard、soft 或 info，实为「{rule[key]}」")
    if (rule["severity"] == "info") != (kind == "named_set"):
        raise ProfileError(f"{here}：severity = \"info\"（仅作对照）只用于 named_set 规则，named_set 规则也只能是 info")
    return required, optional


def _check_values(rule: dict, here: str) -> None:
    """Counts are non-negative integers, ratios 0–1, comparison operators the kind knows."""
    kind = rule["kind"]
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


def _check_kind(rule: dict, here: str) -> None:
    """The parameters particular to the computation and assessment kinds."""
    kind = rule["kind"]
    if kind == "salary_pool":
        _check_salary(rule, here)
    if kind in ("bottom_streak", "top_incentive"):
        _check_streak(rule, here)
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


def _check_streak(rule: dict, here: str) -> None:
    """bottom_streak / top_incentive: k of m years, a known trigger and its own parameters."""
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


def _check_scope(rule: dict, here: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    """`inferred` names the rule's own parameters; `where` limits it to zones by column values."""
    inferred = rule.get("inferred", [])
    if inferred is not True and not (isinstance(inferred, list) and all(isinstance(x, str) for x in inferred)):
        raise ProfileError(f"{here}：「inferred」应为 true（全部参数）或参数名列表，如 [\"band\"]")
    unknown = {x.partition(".")[0] for x in (inferred if isinstance(inferred, list) else [])} \
        - set(required) - set(optional) - {"where"}
    if unknown:
        raise ProfileError(f"{here}：「inferred」中的「{'、'.join(sorted(unknown))}」不是本条规则的参数")
    if "where" in rule and not (isinstance(rule["where"], dict)
                                and all(isinstance(v, list) for v in rule["where"].values())):
        raise ProfileError(f"{here}：「where」应写成 {{ 字段 = [\"取值\", …] }}")


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
    for r in checked:        # results show the report title; the seed file stays as the source ID
        r.setdefault("source_id", r["source"])
        r["source"] = cite(r["source_id"])
    ids = [(r["id"], r.get("order")) for r in checked]   # a ladder may repeat an ID with distinct `order`
    if len(set(ids)) != len(ids):
        raise ProfileError(f"{origin}：规则编号重复：{sorted({i for i, _ in ids if ids.count((i, _)) > 1})}")
    region = data.get("region", {})
    if not isinstance(region, dict):
        raise ProfileError(f"{origin}：「region」应写成 [region] 表（adcodes、aliases）")
    adcodes, aliases = region.get("adcodes", []), region.get("aliases", {})
    if not (isinstance(adcodes, list) and all(isinstance(c, str) and c.isdigit() and len(c) in (2, 4, 6)
                                              for c in adcodes)):
        raise ProfileError(f"{origin}：「region.adcodes」应为 2、4 或 6 位行政区划代码的列表，如 [\"3702\"]")
    if not (isinstance(aliases, dict) and all(isinstance(v, str) and v.isdigit() for v in aliases.values())):
        raise ProfileError(f"{origin}：「region.aliases」应写成 {{ 地名 = \"行政区划代码\" }}")
    return Profile(data["id"], data["name"], cite(data.get("source", "")), checked, origin,
                   label=data.get("label", ""), adcodes=list(adcodes), aliases=dict(aliases))


@lru_cache(maxsize=1)
def _builtin_ids() -> tuple[str, ...]:
    files = resources.files("xltools") / "profiles"
    return tuple(sorted(p.name[:-5] for p in files.iterdir()
                        if p.name.endswith(".toml") and p.name not in ("presets.toml", "sources.toml")))


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


def builtin_id(name: str) -> str | None:
    """The built-in profile an official means: its id (qingdao), label (青岛口径), label without
    口径 (青岛) or full name; None when no built-in profile has that name."""
    key = "".join(str(name).split())
    for pid in builtin_ids():
        p = _builtin(pid)
        if key in (pid, p.label, p.name) or (p.label.endswith("口径") and key == p.label[:-2]):
            return pid
    return None


def builtin_labels() -> str:
    """青岛口径（qingdao）、宁夏口径（ningxia）… for messages and help."""
    return "、".join(_builtin(pid).label for pid in builtin_ids())


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by id or Chinese name (parsed once, handed out as a copy), or a user's
    TOML file by path."""
    name = str(name_or_path)
    pid = builtin_id(name)
    if pid is not None:
        return copy.deepcopy(_builtin(pid))
    path = Path(name)
    if path.suffix.lower() == ".toml" and path.exists():
        return load_profile_text(path.read_text(encoding="utf-8"), str(path))
    raise ProfileError(f"找不到政策口径「{name}」：内置口径有 {builtin_labels()}（也可写 青岛、宁夏 等），"
                       "或给出 .toml 文件路径")


def apply_overrides(profile: Profile, overrides: dict[str, object], origin: str = "参数") -> Profile:
    """Return a copy with `RULE-ID.param = value` overrides applied and re-validated."""
    if not overrides:
        return profile
    new = copy.deepcopy(profile)
    for key, value in overrides.items():
        rid, _, param = key.partition(".")
        rules = [r for r in new.rules if r["id"] == rid]      # every step of a ladder (QD-44 ×3)
        if not rules:
            raise ProfileError(f"{origin}「{key}」：{profile.label}中没有规则 {rid}")
        if not param:
            raise ProfileError(f"{origin}「{key}」：应写成 规则编号.参数，如 QD-09.max")
        if param in INT_PARAMS and isinstance(value, float) and value.is_integer():
            value = int(value)
        if param in INT_PARAMS and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        for rule in rules:
            rule[param] = value
            rule["inferred"] = [x for x in rule.get("inferred", []) if x.partition(".")[0] != param]
            _check_rule(rule, f"{origin}「{key}」")
        new.overrides[key] = value
    return new


INFERRED = "推断口径"


def _inferred_list(rule: dict) -> list[str]:
    """`inferred` as a list of names: `true` stands for every parameter of the rule."""
    marked = rule.get("inferred") or []
    if marked is True:
        skip = set(COMMON) - {"where"}
        return [k for k in rule if k not in skip]
    return list(marked)


def inferred_params(rule: dict) -> set[str]:
    """The parameters (top-level names) of a rule its source does not give, wholly or in part."""
    return {x.partition(".")[0] for x in _inferred_list(rule)}


def rule_params(rule: dict, names: dict[str, str] | None = None) -> list[tuple[str, str, bool]]:
    """The kind-specific parameters of a rule as (Chinese name, value as an official reads it,
    inferred?) rows — for `profiles show`, docs and 计算说明. `names` gives Chinese names of
    facts (the engine's FACT_NAMES)."""
    marked = _inferred_list(rule)
    inferred = {x.partition(".")[0] for x in marked}
    parts = {x.partition(".")[0]: x.partition(".")[2] for x in marked if "." in x}
    skip = set(COMMON) - {"where"}
    rows = []
    for k, v in rule.items():
        if k in skip:
            continue
        text = say(v, names)
        if k in parts:
            text += f"（其中{PARAM_NAMES.get(parts[k], parts[k])}为{INFERRED}）"
        rows.append((PARAM_NAMES.get(k, k), text, k in inferred and k not in parts))
    return rows


def rule_params_text(rule: dict, names: dict[str, str] | None = None) -> str:
    """The parameters of a rule on one line: 上限 8；适用范围 级别 国家级；容差带 3/5、4/5（推断口径）."""
    return "；".join(f"{k} {v}" + (f"（{INFERRED}）" if inf else "") for k, v, inf in rule_params(rule, names))


def inferred_text(rule: dict) -> str:
    """The rule's inferred parameters in Chinese (容差带、等次比例), '' when the report gives all."""
    if rule.get("inferred") is True:
        return "全部参数"
    out = []
    for x in _inferred_list(rule):
        head, _, part = x.partition(".")
        out.append(PARAM_NAMES.get(head, head) + (PARAM_NAMES.get(part, part) if part else ""))
    return "、".join(dict.fromkeys(out))


def inferred_note(rule: dict) -> str:
    """One line of 计算说明: 「QD-41：考核指标、指标权重、等次划分为推断口径（报告原文未给出）」, '' for none."""
    text = inferred_text(rule)
    return f"{rule['id']}：{text}为{INFERRED}（报告原文未给出）" if text else ""
