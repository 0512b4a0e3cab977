"""Input workbooks generated from the schema: the blank template and filled workbooks.

Each input sheet gets a merged title row, a header row (required columns marked *, units
in brackets), drop-down lists for every enumeration, input hints, frozen headers and
sensible widths. The same writer produces the bundled sample workbooks, so samples and
template can never drift from the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .output.xlsxfile import FIXED_DATE, SheetWriter, atomic_xlsx
from .schema import ENUM, ENUMS, KIND_NAMES, SHEETS, SHEETS_BY_KEY, Column, Sheet

if TYPE_CHECKING:                 # annotations only: a template is written from the schema, not from frames
    import pandas as pd
    import xlsxwriter

TEMPLATE_ROWS = 500  # rows that carry drop-downs and hints in a blank template


def header_text(col: Column, unit: str | None = None) -> str:
    unit = col.unit if unit is None else unit
    star = "*" if col.required else ""
    return f"{star}{col.header}({unit})" if unit else f"{star}{col.header}"


def _hint(col: Column) -> str:
    parts = [KIND_NAMES[col.kind]]
    if col.unit:
        parts.append(f"单位：{col.unit}")
    if col.enum:
        parts.append("可选：" + "、".join(ENUMS[col.enum].values))
    if col.hint:
        parts.append(col.hint)
    return "；".join(parts)[:255]


def write_input_sheet(wb: xlsxwriter.Workbook, writer: SheetWriter, sheet: Sheet,
                      frame: pd.DataFrame | None, units: Mapping[str, str] | None = None,
                      title: str | None = None) -> None:
    """One input sheet: title row, header row, data (if any), validation and hints."""
    ws = wb.add_worksheet(sheet.name)
    cols = [c for c in sheet.columns if frame is None or c.key in frame.columns or c.required]
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    text = title or f"{sheet.name}（{sheet.description}；带 * 为必填，单位见表头）"
    if len(cols) > 1:
        ws.merge_range(0, 0, 0, len(cols) - 1, text, title_fmt)
    else:
        ws.write_string(0, 0, text, title_fmt)
    ws.set_row(0, 24)
    n = 0 if frame is None else len(frame)
    last = max(n, TEMPLATE_ROWS if frame is None else n) + 1
    for c, col in enumerate(cols):
        unit = (units or {}).get(col.key)
        ws.write_string(1, c, header_text(col, unit), writer.header)
        ws.set_column(c, c, max(12, min(40, len(col.header) * 2 + 6)))
        if frame is not None and col.key in frame.columns:
            for r, value in enumerate(frame[col.key].tolist(), start=2):
                writer.write_cell(ws, r, c, value)
        if col.kind == ENUM:
            ws.data_validation(2, c, last, c, {"validate": "list", "source": list(ENUMS[col.enum].values),
                                               "input_title": col.header[:32], "input_message": _hint(col),
                                               "error_type": "warning",
                                               "error_message": "请从下拉列表中选择"})
        else:
            ws.data_validation(2, c, last, c, {"validate": "any", "input_title": col.header[:32],
                                               "input_message": _hint(col)})
        ws.write_comment(1, c, _hint(col), {"author": "xltools"})
    ws.freeze_panes(2, 1 if sheet.keys[0] in ("zone", "name") else 0)


def write_input_workbook(path: str | Path, frames: Mapping[str, pd.DataFrame | None],
                         units: Mapping[str, Mapping[str, str]] | None = None,
                         titles: Mapping[str, str] | None = None, calc: bool = False) -> Path:
    """Write input sheets (schema key → table keyed by column key, or None for blank), reproducibly.

    With `calc=True` a 计算 sheet of native formulas is added (the layer that works without Python).
    """
    with atomic_xlsx(path, {"created": FIXED_DATE, "author": "xltools", "title": "开发区考核"}) as (wb, writer):
        for key, frame in frames.items():
            write_input_sheet(wb, writer, SHEETS_BY_KEY[key], frame, (units or {}).get(key),
                              (titles or {}).get(key))
        if calc:
            write_calc_sheet(wb, writer)
    return Path(path)


# --------------------------------------------------------------------------- native formula layer
CALC_ROWS = 200          # zones the 计算 sheet covers (rows 4…203)
FIRST = 3                # first data row of an input sheet (row 1 title, row 2 header)
def _internal(*criteria: str) -> str:
    """COUNTIFS of the zone's 内设机构 rows (事业单位 and 派驻机构 left out) meeting `criteria`."""
    extra = "".join("," + c for c in criteria)
    return (f"COUNTIFS({{d_zone}},$A{{r}}{extra})-COUNTIFS({{d_zone}},$A{{r}}{extra},{{d_nature}},\"事业单位\")"
            f"-COUNTIFS({{d_zone}},$A{{r}}{extra},{{d_nature}},\"派驻机构\")")


def _classified(column: str, values: tuple[str, ...]) -> str:
    """内设机构 rows whose `column` holds one of `values` (a row left blank makes the count unknown)."""
    return "+".join(_internal(f'{{{column}}},"{v}"') for v in values)


def _posts(column: str) -> str:
    """A 职数编制 cell of the zone: blank when the zone or the cell is missing (unknown, never 0)."""
    cell = f"INDEX({{{column}}},MATCH($A{{r}},{{p_zone}},0))"
    return f'=IF($A{{r}}="","",IFERROR(IF({cell}="","",{cell}),""))'


# Counts from 机构设置 are unknown ("") for a zone with no rows there, and a share is unknown when a
# department's 机构类别 / 是否一线 is blank: the verdict is then 数据缺失, as in the engine.
CALC_COLUMNS = [
    # header, formula for row {r} (zone in column A), number format
    ("开发区名称", '=IF(开发区!{zone}{i}="","",开发区!{zone}{i})', None),
    ("级别", '=IF($A{r}="","",IF(开发区!{level}{i}="","",开发区!{level}{i}))', None),
    ("内设机构数", '=IF($A{r}="","",IF(COUNTIFS({d_zone},$A{r})=0,"",' + _internal() + '))', "0"),
    ("综合保障类机构数", '=IF(OR($A{r}="",$C{r}=""),"",IF(' + _classified("d_cat", ("经济发展类", "综合保障类", "社会事务类"))
     + '<>$C{r},"",' + _internal('{d_cat},"综合保障类"') + '))', "0"),
    ("一线机构数", '=IF(OR($A{r}="",$C{r}=""),"",IF(' + _classified("d_front", ("是", "否"))
     + '<>$C{r},"",' + _internal('{d_front},"是"') + '))', "0"),
    ("QD-09 内设机构（国家级≤{qd09_max}）", '=IF($A{r}="","",IF($B{r}="","数据缺失",IF($B{r}<>"国家级","不适用",'
     'IF($C{r}="","数据缺失",IF($C{r}<={qd09_max},"合规","不合规")))))', None),
    ("综合保障类占比", '=IF($A{r}="","",IF(OR($C{r}="",$D{r}=""),"",IF($C{r}=0,"",$D{r}/$C{r})))', "0.0%"),
    ("QD-16 综合保障≤{qd16_p}/{qd16_q}", '=IF($A{r}="","",IF(OR($C{r}="",$D{r}=""),"数据缺失",IF($C{r}=0,"数据缺失",'
     'IF({qd16_q}*$D{r}<={qd16_p}*$C{r},"合规","不合规"))))', None),
    ("一线机构占比", '=IF($A{r}="","",IF(OR($C{r}="",$E{r}=""),"",IF($C{r}=0,"",$E{r}/$C{r})))', "0.0%"),
    ("QD-15 一线约{qd15_target}（{qd15_lo_pct}–{qd15_hi_pct}）", '=IF($A{r}="","",IF(OR($C{r}="",$E{r}=""),"数据缺失",'
     'IF($C{r}=0,"数据缺失",IF(AND({qd15_lo_q}*$E{r}>={qd15_lo_p}*$C{r},{qd15_hi_q}*$E{r}<={qd15_hi_p}*$C{r}),"合规","预警"))))',
     None),
    ("正职职数", _posts("p_prin"), "0"),
    ("副职职数", _posts("p_dep"), "0"),
    # posts are ceilings (「一般按1正4副」): more → 预警, fewer (a vacancy) → 合规
    ("QD-05/06 领导职数", '=IF($A{r}="","",IF($B{r}="","数据缺失",IF(AND($B{r}<>"国家级",$B{r}<>"省级"),"不适用",'
     'IF(OR($K{r}="",$L{r}=""),"数据缺失",IF(OR($K{r}>IF($B{r}="国家级",{qd05_p},{qd06_p}),'
     '$L{r}>IF($B{r}="国家级",{qd05_d},{qd06_d})),"预警","合规")))))', None),
    ("税收收入", '=IF($A{r}="","",SUMIFS({i_tax},{i_zone},$A{r},{i_year},$B$1))', "#,##0.00"),
    ("工业增加值", '=IF($A{r}="","",SUMIFS({i_va},{i_zone},$A{r},{i_year},$B$1))', "#,##0.00"),
    ("用地面积", '=IF($A{r}="","",SUMIFS({i_land},{i_zone},$A{r},{i_year},$B$1))', "#,##0.00"),
    ("亩均税收", '=IF($A{r}="","",IF($P{r}>0,$N{r}/$P{r},""))', "0.0000"),
    ("亩均增加值", '=IF($A{r}="","",IF($P{r}>0,$O{r}/$P{r},""))', "0.0000"),
    ("亩均税收（标准化）", '=IF(OR($A{r}="",$Q{r}=""),"",IF(MAX($Q$4:$Q$203)=MIN($Q$4:$Q$203),1,'
                        '($Q{r}-MIN($Q$4:$Q$203))/(MAX($Q$4:$Q$203)-MIN($Q$4:$Q$203))))', "0.0000"),
    ("亩均增加值（标准化）", '=IF(OR($A{r}="",$R{r}=""),"",IF(MAX($R$4:$R$203)=MIN($R$4:$R$203),1,'
                         '($R{r}-MIN($R$4:$R$203))/(MAX($R$4:$R$203)-MIN($R$4:$R$203))))', "0.0000"),
    ("综合得分", '=IF(OR($S{r}="",$T{r}=""),"",100*($D$1*$S{r}+$F$1*$T{r})/($D$1+$F$1))', "0.00"),
    ("总排名", '=IF($U{r}="","",_xlfn.RANK.EQ($U{r},$U$4:$U$203,0))', "0"),
    # SUMPRODUCT compares the scores as numbers, like RANK.EQ; COUNTIFS(…,">"&$U4) would compare a 15-digit
    # text rendering of the score and could split or merge ties
    ("组内排名（按级别）", '=IF($U{r}="","",SUMPRODUCT(($B$4:$B$203=$B{r})*ISNUMBER($U$4:$U$203)*($U$4:$U$203>$U{r}))+1)', "0"),
]


def _col(sheet_key: str, column_key: str, absolute_range: bool = True) -> str:
    from .problems import col_letter
    sheet = SHEETS_BY_KEY[sheet_key]
    letter = col_letter([c.key for c in sheet.columns].index(column_key))
    last = FIRST + 1999
    return f"{sheet.name}!${letter}${FIRST}:${letter}${last}" if absolute_range else letter


def rule_constants(profile: str = "qingdao") -> dict[str, object]:
    """The numbers the 计算 sheet checks against, taken from the policy profile (rules are data)."""
    from .profiles import load_profile, parse_rational

    prof = load_profile(profile)
    q16 = parse_rational(prof.rule("QD-16")["ratio"], "QD-16")
    q15 = prof.rule("QD-15")
    lo, hi = (parse_rational(b, "QD-15") for b in q15["band"])
    target = parse_rational(q15["ratio"], "QD-15")
    pct = lambda q: f"{float(q) * 100:g}%"
    return {"qd09_max": prof.rule("QD-09")["max"], "qd16_p": q16.numerator, "qd16_q": q16.denominator,
            "qd15_target": pct(target), "qd15_lo_pct": pct(lo), "qd15_hi_pct": pct(hi),
            "qd15_lo_p": lo.numerator, "qd15_lo_q": lo.denominator, "qd15_hi_p": hi.numerator, "qd15_hi_q": hi.denominator,
            "qd05_p": prof.rule("QD-05")["principals"], "qd05_d": prof.rule("QD-05")["deputies"],
            "qd06_p": prof.rule("QD-06")["principals"], "qd06_d": prof.rule("QD-06")["deputies"]}


def calc_formula(template: str, row: int, constants: Mapping[str, object]) -> str:
    """One 计算 cell; `constants` from rule_constants(), read once per sheet (a profile load copies it)."""
    i = row - 4 + FIRST                           # the zone's row on the 开发区 sheet
    refs = {"zone": _col("zones", "zone", False), "level": _col("zones", "level", False),
            "d_zone": _col("departments", "zone"), "d_nature": _col("departments", "nature"),
            "d_cat": _col("departments", "category"), "d_front": _col("departments", "frontline"),
            "p_zone": _col("posts", "zone"), "p_prin": _col("posts", "principals"), "p_dep": _col("posts", "deputies"),
            "i_zone": _col("indicators", "zone"), "i_year": _col("indicators", "year"),
            "i_tax": _col("indicators", "tax"), "i_va": _col("indicators", "value_added"),
            "i_land": _col("indicators", "land_area")}
    return template.format(r=row, i=i, **refs, **constants)


def write_calc_sheet(wb, writer: SheetWriter, year: int = 2023) -> None:
    """计算: compliance checks, per-mu indicators and a min–max weighted score with ranks, as formulas.

    Only functions LibreOffice 7.4 and WPS compute (COUNTIFS, SUMIFS, INDEX/MATCH, IFERROR,
    _xlfn.RANK.EQ). The Python engine gives the same numbers (tests recalculate this sheet in
    LibreOffice and compare).
    """
    ws = wb.add_worksheet("计算")
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, "考核年度", bold)
    ws.write_number(0, 1, year)
    ws.write_string(0, 2, "权重：亩均税收", bold)
    ws.write_number(0, 3, 0.5)
    ws.write_string(0, 4, "权重：亩均增加值", bold)
    ws.write_number(0, 5, 0.5)
    ws.write_string(1, 0, "本表为原生公式（无需 Python，Excel / WPS / LibreOffice 均可计算），规则取青岛口径；修改 B1、D1、F1 即可。")
    formats = {}
    constants = rule_constants()
    for c, (header, template, num) in enumerate(CALC_COLUMNS):
        header = header.format(**constants)
        ws.write_string(2, c, header, writer.header)
        fmt = formats.setdefault(num, wb.add_format({"num_format": num}) if num else None)
        for row in range(4, 4 + CALC_ROWS):
            ws.write_formula(row - 1, c, calc_formula(template, row, constants), fmt, "")
        ws.set_column(c, c, max(10, min(26, len(header) * 2)))
    ws.freeze_panes(3, 1)


def build_template(path: str | Path) -> Path:
    """The blank template: every input sheet of the schema, no data, and the 计算 formula sheet."""
    return write_input_workbook(path, {s.key: None for s in SHEETS}, calc=True)
