"""Generated documentation: the schema reference (docs/数据表结构.md), straight from schema.py."""

from __future__ import annotations

import re
from pathlib import Path

from .engine.ranking import MISSING_POLICIES
from .methods import AGGREGATIONS, NORMALIZATIONS, WEIGHTINGS
from .profiles import builtin_ids, builtin_labels, load_profile, rule_params_text
from .results import ANALYSIS, DOUBTFUL_ITEM, DOUBTFUL_NOTE, RANKING, SHEETS as RESULT_SHEETS, TASK_NAMES
from .schema import AUDITS, ENUMS, HARD, KIND_NAMES, NONE, PARAM_ITEMS, PROFILE_KEYS, SHEETS, YEAR


def schema_markdown() -> str:
    lines = ["# 数据表结构（由 `xltools samples` 根据 xltools/schema.py 自动生成，请勿手改）", "",
             "工作表名和表头按别名匹配，忽略空格、全角/半角差异和末尾括号中的单位；"
             "表头中写明的单位（元/万元/亿元；亩/公顷/平方公里；吨标准煤/万吨标准煤）会自动换算为下表的单位。", ""]
    for sheet in SHEETS:
        lines += [f"## {sheet.name}", "", f"{sheet.description}。别名：{'、'.join(sheet.aliases) or '—'}。"
                  f"唯一键：{'、'.join(sheet.column(k).header for k in sheet.keys)}。", "",
                  "| 表头 | 键 | 类型 | 单位 | 必填 | 取值/说明 | 空白时数据缺失 | 别名 |", "|---|---|---|---|---|---|---|---|"]
        for c in sheet.columns:
            values = "、".join(ENUMS[c.enum].values) if c.enum else c.hint
            lines.append(f"| {c.header} | `{c.key}` | {KIND_NAMES[c.kind]} | {c.unit or '—'} | "
                         f"{'是' if c.required else ''} | {values} | {_needed(sheet, c)} | {'、'.join(c.aliases)} |")
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
    return "\n".join(lines + result_sheet_lines()) + "\n"


def _needed(sheet, c) -> str:
    """What a blank cell of `c` leaves unchecked (Column.needed_for), and the rows that do not need it."""
    if not c.needed_for or c.needed_unless is None:
        return c.needed_for
    other, values = c.needed_unless
    named = "、".join(v for v in values if v is not None) + ("或空白" if None in values else "")
    return f"{c.needed_for}（「{sheet.column(other).header}」为{named}的行除外）"


RIBBON_XML = Path(__file__).resolve().parent / "addin_src" / "ribbon.xml"


def result_sheet_lines() -> list[str]:
    """The result sheets, in workbook order, from their registry (results.py): what each holds,
    which computation writes it, which ribbon button shows it, its fixed columns and its chart."""
    labels = dict(re.findall(r'tag="([^"]+)" label="([^"]+)"', RIBBON_XML.read_text(encoding="utf-8")))
    lines = ["", "## 结果工作表", "", "结果工作簿中各表按下列顺序排列。「数据校验」「计算说明」每次都写出，「文件清单」只在批量汇总时写出，「图表」在有可作图的结果时写出；"
             "「一键全部」按钮和 `xltools run` 写出所有有数据的结果表。", "",
             "| 工作表 | 内容 | 由哪项计算写出 | 功能区按钮 | 固定的前几列 | 图表 |", "|---|---|---|---|---|---|"]
    for s in RESULT_SHEETS:
        lines.append(f"| {s.name} | {s.title} | {TASK_NAMES.get(s.task, '—')} | {labels.get(s.button, '—')} | "
                     f"{'、'.join(s.leading) or '—'} | {s.chart or '—'} |")
    return lines


# docs/政策口径.md is built from sections, each a function returning Markdown lines, in this order.
# A new part (e.g. a rule-by-rule fidelity table) is one more function appended here.
PROFILE_DOC_INTRO = [
    "# 政策口径与规则（由 `xltools samples` 根据 xltools/profiles/*.toml 自动生成，请勿手改）", "",
    "每条规则：编号（如 QD-09：口径简称与条目序号）、内容、规则类型与参数、性质（刚性 → 不合规；弹性 → 预警）、依据（报告标题与原文）。",
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


# The fidelity tables live beside the tests that run them (tests/fidelity/*.toml, format documented there).
FIDELITY_DIR = Path(__file__).resolve().parent.parent / "tests" / "fidelity"
POINTS = {"at": "边界", "above": "上方", "below": "下方", "blank": "空白", "none": "无数据", "other": "其他"}
STRENGTH = {"hard": "刚性：违反为不合规", "soft": "弹性：偏离为预警", "info": "事实：仅作对照，不下结论"}


def fidelity_markdown() -> str:
    """规则与原文对照: each executed rule's sentence, the strength its wording implies and its test cases."""
    import tomllib

    files = sorted(FIDELITY_DIR.glob("*.toml")) if FIDELITY_DIR.is_dir() else []
    lines = ["", "# 规则与原文对照（由 `xltools samples` 根据 tests/fidelity/*.toml 生成；每一行都由测试按原样输入引擎核对）", "",
             "每条执行的规则：报告原文、决定结论强弱的措辞、由措辞得出的性质，以及在边界、边界上方、边界下方"
             "（和空白、无数据）各情形下应得的结论。", ""]
    if not files:
        return "\n".join(lines + ["（本安装不含对照表；见源代码仓库 tests/fidelity/。）"]) + "\n"
    names: dict[str, str] = {}
    for path in files:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        lines += [f"## {data.get('title', path.stem)}", ""]
        if "rule" not in data:                      # the flat [[case]] format (salary_ranking.toml)
            lines += _flat_cases(data.get("case", []), names)
            continue
        for block in data["rule"]:
            pid = block["profile"]
            names.setdefault(pid, load_profile(pid).name)
            lines += [f"### {block['id']}（{names[pid]}）", "",
                      f"> {block['sentence']}", ">", f"> —— {block['source']}", "",
                      f"措辞：「{block['wording']}」 → {STRENGTH[block['severity']]}。"
                      + (f" 推断口径：{block['inferred']}。" if block.get("inferred") else ""), "",
                      "| 情形 | 输入 | 应得结论 |", "|---|---|---|"]
            lines += [f"| {POINTS.get(c['point'], c['point'])} | {c['given']} | {c['expect']} |" for c in block["case"]]
            lines.append("")
    return "\n".join(lines)


def _flat_cases(cases: list[dict], names: dict[str, str]) -> list[str]:
    """One table per rule of a flat fidelity file: the sentence, the strength, and the verdict at the
    boundary and one step on each side of the varied input."""
    strength = {**STRENGTH, "formula": "计算规则：结果为数值"}
    lines: list[str] = []
    for c in cases:
        pid = c["profile"]
        names.setdefault(pid, load_profile(pid).name)
        lines += [f"### {c['rule']}（{names[pid]}）", "", f"> {c['quote']}", "",
                  f"性质：{strength.get(c['severity'], c['severity'])}。" + ("边界为推断口径。" if c.get("inferred") else ""),
                  "", f"| 情形（变动「{c['vary']}」） | 取值 | 应得结果 |", "|---|---|---|"]
        lines += [f"| {POINTS[k]} | {c[k]['value']} | {c[k]['expect']} |" for k in ("below", "at", "above") if k in c]
        lines.append("")
    return lines


def policy_markdown() -> str:
    return profiles_markdown() + fidelity_markdown()


def _doubtful_example() -> str:
    """What 说明 says of a ranking row that used a questioned value (results.DOUBTFUL_NOTE), for the docs."""
    item = DOUBTFUL_ITEM.format(indicator="税收收入", inputs="", cells="指标!C5", rules="HS-01")
    return DOUBTFUL_NOTE.format(items=item)


def audits_markdown() -> str:
    """Every 审核规则 with its bound and level, the per-column bounds, and what a blank means."""
    lines = ["# 审核规则（由 `xltools samples` 根据 xltools/schema.py 自动生成，请勿手改）", "",
             "读入时逐个单元格审核，问题写入「数据校验」（文件、工作表、单元格、级别、问题、建议）。"
             f"{HARD}不通过为「错误」，该数值不参与计算；核实性审核不通过为「警告」，请报送单位确认，数值照常使用，"
             f"「{RANKING}」「{ANALYSIS}」中用到它的开发区在「说明」中写明，如「{_doubtful_example()}」。", "",
             "| 编号 | 审核规则 | 适用 | 界限 | 级别 | 如何确认或更正 |", "|---|---|---|---|---|---|"]
    lines += [f"| {a.id} | {a.name} | {a.applies} | {a.bound} | {a.kind}（{a.level}） | {a.hint} |" for a in AUDITS]
    lines += ["", "## 各列上限（QZ-04，按本列单位；绝对值超过即为错误）", "", "| 上限 | 列 |", "|---|---|"]
    groups: dict[str, dict[str, list[str]]] = {}
    for sheet in SHEETS:
        for c in sheet.columns:
            if c.is_number and c.kind != YEAR and c.maximum is None:
                bound = f"{c.limit:,.0f} {c.unit}".strip()
                groups.setdefault(bound, {}).setdefault(sheet.name, []).append(c.header)
    lines += [f"| {bound} | {'；'.join(f'{name}：' + '、'.join(cols) for name, cols in by_sheet.items())} |"
              for bound, by_sheet in groups.items()]
    lines += ["", "## 单位与空白", "",
              "单位依次取自：表头（如「税收收入(亿元)」）；表头上方的单位行或标题中的说明（「单位：亿元」「金额单位：元」"
              "「单位:万元、亩」）；都没有时按 docs/数据表结构.md 所列单位读入，并对每列给出一条警告「未注明单位」"
              f"（金额、面积、能耗、排放量列）。单元格自带单位（如「31万」「3亿元」）时按其自带单位换算，"
              "与本列单位不同时在该单元格给出警告。", "",
              "空白、「无」「—」等：下列各列表示「没有」（数值按 0、是否按“否”），其他各列表示「不知道」（数据缺失）。"
              "docs/数据表结构.md「空白时数据缺失」一栏列出的列，空白单元格使读取它的规则判为数据缺失；"
              "有规则因此判为数据缺失时，「数据校验」在该单元格给出警告，写明规则编号和无法检查的内容。", "",
              "| 工作表 | 列 | 空白表示 |", "|---|---|---|"]
    for sheet in SHEETS:
        lines += [f"| {sheet.name} | {c.header} | {'否' if c.enum == '是否' else '0'} |"
                  for c in sheet.columns if c.blank == NONE]
    return "\n".join(lines) + "\n"


def method_tables(level: str = "##") -> list[str]:
    """One table per kind of ranking method, straight from the registry (xltools/methods.py)."""
    from .methods import FLAGS, KIND_NAMES, METHODS, UDF_OF, absolute_rule, traits

    lines: list[str] = []
    for kind, name in KIND_NAMES.items():
        lines += [f"{level} {name}（命令行 `{FLAGS[kind]}`，「参数」表「{name}」）", "",
                  "| 标识 | 名称 | 计算 | 需要的数据 | 性质 | Excel 函数 |", "|---|---|---|---|---|---|"]
        lines += [f"| `{m.id}` | {m.label} | {m.formula} | {'；'.join(m.needs()) or '—'} | {'；'.join(traits(m))} | "
                  f"{UDF_OF[kind] if m.in_udf else '—'} |" for m in METHODS.values() if m.kind == kind]
        lines.append("")
    return lines + [absolute_rule()]


def methods_markdown() -> str:
    from .methods import DEFAULTS, METHODS

    defaults = "、".join(METHODS[m].label for m in DEFAULTS.values())
    lines = ["# 评价方法（由 `xltools samples` 根据 xltools/methods.py 自动生成，请勿手改）", "",
             "综合得分分三步：标准化（把各指标换成可比的数，负向指标自动反向）→ 赋权 → 评价方法（合成综合得分）。"
             "每一步的方法依次取自：命令行或按钮 > 「参数」表 > 预设指标体系 > 政策口径 > 默认"
             f"（{defaults}，标准化方法随评价方法）；「计算说明」写明所用方法的中文名称及其来由。", ""]
    return "\n".join(lines + method_tables()) + "\n"


DOCS = {"数据表结构.md": schema_markdown, "政策口径.md": policy_markdown, "审核规则.md": audits_markdown,
        "评价方法.md": methods_markdown}
# Hand-written documents with a generated part between two markers (refreshed with the DOCS)
MANUAL = "用户手册.md"
BEGIN, END = "<!-- 以下由 xltools samples 根据 xltools/methods.py 生成，请勿手改 -->", "<!-- 生成部分结束 -->"


def manual_with_methods(text: str) -> str:
    """The manual with its method tables (between BEGIN and END) regenerated."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + BEGIN + "\n\n" + "\n".join(method_tables("####")) + "\n\n" + END + tail if rest else text


def write_reference(docs_dir: str | Path) -> list[Path]:
    out = []
    for name, make in DOCS.items():
        path = Path(docs_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        out.append(path)
    manual = Path(docs_dir) / MANUAL
    if manual.is_file():
        text = manual.read_text(encoding="utf-8")
        if manual_with_methods(text) != text:
            manual.write_text(manual_with_methods(text), encoding="utf-8")
            out.append(manual)
    return out
