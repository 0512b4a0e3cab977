"""Generated documentation: the schema reference (docs/数据表结构.md), straight from schema.py."""

from __future__ import annotations

from pathlib import Path

from .schema import ENUMS, KIND_NAMES, RESULT_SHEETS, SHEETS


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
    lines += ["", "## 结果工作表", "", "| 工作表 | 固定的前几列 |", "|---|---|"]
    lines += [f"| {name} | {'、'.join(cols)} |" for name, cols in RESULT_SHEETS.items()]
    return "\n".join(lines) + "\n"


def write_reference(docs_dir: str | Path) -> Path:
    path = Path(docs_dir) / "数据表结构.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_markdown(), encoding="utf-8")
    return path
