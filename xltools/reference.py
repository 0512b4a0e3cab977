"""Generated documentation: the schema reference (docs/数据表结构.md), straight from schema.py."""

from __future__ import annotations

from pathlib import Path

from .engine.ranking import MISSING_POLICIES
from .engine.scoring import AGGREGATIONS, NORMALIZATIONS, WEIGHTINGS
from .profiles import builtin_ids, builtin_labels, load_profile, rule_params_text
from .schema import ENUMS, KIND_NAMES, PARAM_ITEMS, PROFILE_KEYS, RESULT_SHEETS, SHEETS


def schema_markdown() -> str:
    lines = ["# 数据表结构（由 `xltools samples` 根据 xltools/schema.py 自动生成，请勿手改）", "",
             "工作表名和表头按别名匹配，忽略空格、全角/半角差异和末尾括号中的单位；"
             "表头中写明的单位（元/万元/亿元；亩/公顷/平方公里；吨标准煤/万吨标准煤）会自动换算为下表的单位。", ""]
    for sheet in SHEETS:
        lines += [f"## {sheet.name}", "", f"{sheet.description}。别名：{'、'.join(sheet.aliases) or '—'}。"
                  f"唯一键：{'、'.join(sheet.column(k).header for k in sheet.keys)}。", "",
                  "| 表头 | 键 | 类型 | 单位 | 必填 | 取值/说明 | 别名 |", "|---|---|---|---|---|---|---|"]
        for c in sheet.columns:
            values = "、".join(ENUMS[c.enum].values) if c.enum else c.hint
            lines.append(f"| {c.header} | `{c.key}` | {KIND_NAMES[c.kind]} | {c.unit or '—'} | "
                         f"{'是' if c.required else ''} | {values} | {'、'.join(c.aliases)} |")
        lines.append("")
    lines += ["## 枚举别名", "", "| 枚举 | 输入 | 归一为 |", "|---|---|---|"]
    for e in ENUMS.values():
        for k, v in e.aliases.items():
            lines.append(f"| {e.name} | {k} | {v} |")
        for k, msg in e.ambiguous.items():
            lines.append(f"| {e.name} | {k} | （报错：{msg}） |")
    lines += ["", "## 「参数」表的项目", "", "| 项目 | 作用 |", "|---|---|",
              f"| {'、'.join(PROFILE_KEYS)} | 政策口径（{builtin_labels()}，也可写 青岛、宁夏 等）：判断所属地区不属于任何内置口径的开发区；"
              "批量汇总时只作用于本文件的开发区 |"]
    choices = {"评价方法": AGGREGATIONS, "标准化方法": NORMALIZATIONS, "赋权方法": WEIGHTINGS,   # what the engine accepts
               "缺失值处理": [f"{k}（{v}）" for k, v in MISSING_POLICIES.items()]}
    lines += [f"| {item} | {what}" + (f"：{'、'.join(choices[item])}" if item in choices else "") + " |"
              for item, what in PARAM_ITEMS.items()]
    lines += ["| 规则编号.参数（如 `QD-09.max`） | 覆盖该条规则的一个参数 |", "",
              "其他项目只作说明、不参与计算。批量汇总时，这些项目按多数文件的取值统一计算，取值不同的文件会收到警告。"]
    lines += ["", "## 结果工作表", "", "| 工作表 | 固定的前几列 |", "|---|---|"]
    lines += [f"| {name} | {'、'.join(cols)} |" for name, cols in RESULT_SHEETS.items()]
    return "\n".join(lines) + "\n"


# docs/政策口径.md is built from sections, each a function returning Markdown lines, in this order.
# A new part (e.g. a rule-by-rule fidelity table) is one more function appended here.
PROFILE_DOC_INTRO = [
    "# 政策口径与规则（由 `xltools samples` 根据 xltools/profiles/*.toml 自动生成，请勿手改）", "",
    "每条规则：编号（对应 RULES.md）、内容、规则类型与参数、性质（刚性 → 不合规；弹性 → 预警）、依据（报告标题与原文）。",
    "参数后注明「推断口径」的，是报告没有给出、由本工具推断的数值或方法（如容差带、等次比例、等次系数、处置年数），"
    "计算说明和 `xltools profiles show` 同样标注；可在「参数」表用「规则编号.参数」（如 `QD-15.band`）改为本地规定。", "",
    "**哪个口径判断哪个开发区**：依次按「开发区」表的「政策口径」列 > 「地区」「所属地区」匹配的内置口径"
    "（按行政区划代码，如 青岛市黄岛区、宁夏回族自治区银川市、耒阳市；非正式地名见各口径的别名）> 命令行 `--profile` > "
    "「参数」表的「政策口径」> 通用口径。因此指定的口径只判断所属地区不属于任何内置口径的开发区，"
    "不会用青岛的规则判断宁夏的开发区；未匹配到地区的开发区在「数据校验」中有一条警告，写明所用口径。"
    "通用口径只含各地报告共同的做法，不含某一地区的限额和数值。", "",
    "口径文件的写法（TOML）：`label` 为结果中显示的口径名（如 青岛口径）；`[region]` 的 `adcodes` 为所辖行政区划代码前缀"
    "（如 3702 为青岛市、64 为宁夏），`aliases` 为行政区划表中没有的地名（如 西海岸新区 = 370211）；"
    "每条规则的 `inferred` 列出报告未给出的参数（如 `inferred = [\"band\"]`，表的一部分写作 `\"grades.shares\"`）。", "",
]


def profile_sections() -> list[str]:
    """One section per built-in profile: region, source, and its rules with parameters."""
    from .engine.quota import FACT_NAMES
    from .profiles.display import KIND_NAMES, SEVERITY_NAMES

    lines: list[str] = []
    for pid in builtin_ids():
        p = load_profile(pid)
        regions = "、".join(f"{n}（代码 {c}）" for n, c in zip(p.regions, p.adcodes)) or "所属地区不属于任何内置口径的开发区"
        aliases = "、".join(f"{k} → {v}" for k, v in p.aliases.items())
        lines += [f"## {p.label}：{p.name}", "", f"口径编号 `{p.id}`。来源：{p.source}。适用地区：{regions}。"
                  + (f"地名别名：{aliases}。" if aliases else ""), "",
                  "| 编号 | 规则 | 类型 | 参数 | 性质 | 依据 |", "|---|---|---|---|---|---|"]
        for r in p.rules:
            lines.append(f"| {r['id']} | {r['text']} | {KIND_NAMES.get(r['kind'], r['kind'])} | "
                         f"{rule_params_text(r, FACT_NAMES).replace('|', '｜')} | {SEVERITY_NAMES[r['severity']]} | "
                         f"{r['source'].replace('|', '｜')} |")
        lines.append("")
    return lines


PROFILE_DOC_SECTIONS = [lambda: PROFILE_DOC_INTRO, profile_sections]


def profiles_markdown() -> str:
    return "\n".join(line for make in PROFILE_DOC_SECTIONS for line in make()) + "\n"


DOCS = {"数据表结构.md": schema_markdown, "政策口径.md": profiles_markdown}


def write_reference(docs_dir: str | Path) -> list[Path]:
    out = []
    for name, make in DOCS.items():
        path = Path(docs_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        out.append(path)
    return out
