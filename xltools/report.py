"""考核结果通报: the result workbook as the document an office publishes (.docx, optionally PDF).

Built from the result sheets (a result workbook xltools wrote, or the results of an input
workbook computed on the spot), in the usual order of a 通报: title; 考核依据 (口径 and the
reports they rest on); 考核方法 (from 计算说明); 考核结果 (one ranking table per 考核范围 and
group); 等次分布; 编制合规情况; 奖惩建议 with their triggers (each marked 建议，须经复核); 附件
(indicator values). Set in 仿宋_GB2312 with 黑体 headings on A4 with the margins of GB/T
9704-2012 (党政机关公文格式: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm). A PDF is made by
LibreOffice headless when it is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .methods import AGGREGATIONS, NORMALIZATIONS, WEIGHTINGS
from .output.sheets import plain_header, shown
from .results import ANALYSIS, CHECKS, COMPLIANCE, DERIVED, NOTES, RANKING, SANCTIONS, TAX_RETURN, declaration
from .profiles.display import METHOD_NAMES, cite, report_titles
from .output.workbook import run_basis
from .output.xlsxfile import atomic_target

BODY_FONT, HEADING_FONT, TITLE_FONT = "仿宋_GB2312", "黑体", "方正小标宋简体"
BODY_PT, TABLE_PT, TITLE_PT = 16, 10.5, 22          # 三号 body, 五号 tables, 二号 title
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
REVIEW = "建议，须经复核"
# Method ids the notes may still carry → the one table of Chinese method names (profiles/display.py).
METHOD_IDS = {k: METHOD_NAMES[k] for k in (*AGGREGATIONS, *WEIGHTINGS, *NORMALIZATIONS)}
METHOD_ITEMS = (("排名·评价方法", "评价方法"), ("排名·标准化方法", "标准化方法"), ("排名·赋权方法", "赋权方法"),
                ("排名·权重", "指标权重"), ("排名·综合得分", "综合得分"), ("排名·分组依据", "分组依据"),
                ("排名·等次", "等次划分"), ("排名·缺失值处理", "缺失值处理"), ("排名·排名规则", "排名规则"),
                ("排名·指标体系", "指标体系"))


class ReportError(RuntimeError):
    """The report cannot be made (no ranking to report, LibreOffice missing for --pdf …)."""


def official_text(text: object) -> str:
    """Text as an official reads it: seed file names → report titles, method ids → Chinese names."""
    s = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    s = cite(s)                                  # seed file names → report titles
    pattern = "|".join(sorted(METHOD_IDS, key=len, reverse=True))
    return re.sub(rf"(?<![A-Za-z_])({pattern})(?![A-Za-z_])", lambda m: METHOD_IDS[m.group(1)], s)


def read_results(path: Path) -> dict[str, pd.DataFrame]:
    """The result sheets of a workbook xltools wrote, headers back to their plain names."""
    import python_calamine as pc

    wb = pc.CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        if not rows:
            continue
        header = [plain_header(str(h)) for h in rows[0]]
        frame = pd.DataFrame(rows[1:], columns=header)
        out[name] = frame.replace("", None)
    return out


def results_of(book: Path) -> dict[str, pd.DataFrame]:
    """Result sheets of `book`: read from a result workbook, or computed from an input workbook."""
    from .intake import is_result_workbook

    if is_result_workbook(book):
        return read_results(book)
    from .jobs import run_books

    return run_books([book]).sheets


# --------------------------------------------------------------------------- document
def _fonts(target, name: str, size: float | None = None, bold: bool | None = None) -> None:
    """Latin and East-Asian font of a style or run (Word takes Chinese text from w:eastAsia)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = target.font
    font.name = name
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    element = target.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attr), name)


def _page_number(paragraph) -> None:
    """「— 页码 —」 in the footer (a PAGE field)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.add_run("— ")
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)
    paragraph.add_run(" —")


def new_document():
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    normal = doc.styles["Normal"]
    _fonts(normal, BODY_FONT, BODY_PT)
    normal.paragraph_format.line_spacing = Pt(28)
    for level in (1, 2):
        style = doc.styles[f"Heading {level}"]
        _fonts(style, HEADING_FONT if level == 1 else "楷体_GB2312", BODY_PT, bold=False)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(6), Pt(3)
    title = doc.styles["Title"]
    _fonts(title, TITLE_FONT, TITLE_PT, bold=False)
    title.font.color.rgb = RGBColor(0, 0, 0)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)
    return doc


def _para(doc, text: str, indent: bool = True, bold_lead: str | None = None):
    from docx.shared import Pt

    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    if bold_lead:
        run = p.add_run(bold_lead)
        _fonts(run, HEADING_FONT)
    p.add_run(text)
    return p


TEXT_WIDTH_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]


def _table(doc, header: list[str], rows: list[list[object]], widths: list[float] | None = None):
    """A table in 五号 仿宋 with a 黑体 header row; `widths` are shares of the text width."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = str(text)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = _shown(value)
    for r, row in enumerate(table.rows):
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.line_spacing = 1.0
                p.paragraph_format.first_line_indent = Pt(0)
                if r == 0:
                    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                for run in p.runs:
                    _fonts(run, HEADING_FONT if r == 0 else BODY_FONT, TABLE_PT)
    if widths:
        total = sum(widths)
        table.autofit = False
        for c, share in enumerate(widths):
            width = Mm(TEXT_WIDTH_MM * share / total)
            table.columns[c].width = width                  # the grid (LibreOffice, WPS)
            for cell in table.columns[c].cells:
                cell.width = width                          # and each cell (Word)
    doc.add_paragraph()
    return table


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}" if not value.is_integer() else str(int(value))
    return official_text(value)


def _notes(sheets) -> dict[str, str]:
    notes = sheets.get(NOTES)
    if notes is None or not {"项目", "内容"} <= set(notes.columns):
        return {}
    return {str(k): official_text(v) for k, v in zip(notes["项目"], notes["内容"])}


SOURCE_ENDINGS = (".xlsx", ".xlsm", ".xls", ".csv")
CITY_LEVEL = "全市"          # 级别 of the 全市合计 line the compliance engine adds to 合规汇总


def scope_labels(sheets: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """考核范围 → how the 通报 names it: a file name as 「青岛开发区.xlsx 报送的开发区」, with the
    口径 it was assessed by (from a 政策口径 column) when that is one profile; other values as they are."""
    _, names = run_basis(sheets)
    profiles: dict[str, set] = {}
    for frame in sheets.values():
        if {"考核范围", "政策口径"} <= set(frame.columns):
            for scope, pid in zip(frame["考核范围"].astype(str), frame["政策口径"].astype(str)):
                profiles.setdefault(scope, set()).add(pid)
    labels: dict[str, str] = {}
    for frame in sheets.values():
        if "考核范围" not in frame:
            continue
        for scope in pd.unique(frame["考核范围"].dropna().astype(str)):
            if scope in labels:
                continue
            if not scope.lower().endswith(SOURCE_ENDINGS):
                labels[scope] = scope
                continue
            used = sorted({names[p] for p in profiles.get(scope, ()) if p in names})
            labels[scope] = f"{scope} 报送的开发区" + (f"（{used[0]}）" if len(used) == 1 else "")
    return labels


def _scoped(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "考核范围" in frame and frame["考核范围"].notna().any():
        return [(str(k), g) for k, g in frame.groupby("考核范围", sort=False)]
    return [("", frame)]


def build_report(sheets: Mapping[str, pd.DataFrame]):
    """The 通报 as a python-docx Document (sections in the usual order)."""
    ranking = sheets.get(RANKING)
    if ranking is None or not len(ranking):
        raise ReportError(f"结果中没有「{RANKING}」，无法生成考核结果通报：请先计算考核排名")
    notes = _notes(sheets)
    scope_name = scope_labels(sheets)
    years = pd.to_numeric(ranking["年度"], errors="coerce").dropna().astype(int)
    year = f"{years.max()}年度" if len(years) else ""
    doc = new_document()
    doc.add_paragraph(f"关于{year}开发区综合考核结果的通报", style="Title")

    doc.add_heading("一、考核依据", level=1)
    basis, _ = run_basis(sheets)
    _para(doc, f"本次考核按{basis or '所选政策口径'}组织实施" + (
        "，各报送文件分别作为一个考核范围，排名只在同一考核范围内比较。" if len(_scoped(ranking)) > 1 else "。"))
    titles = [t for f, t in report_titles().items() if any(f in str(v) or t in str(v) for v in notes.values())
              or _mentions(sheets, f)]
    if titles:
        _para(doc, "所依据的改革报告：" + "；".join(titles) + "。")

    doc.add_heading("二、考核方法", level=1)
    for key, label in METHOD_ITEMS:
        if notes.get(key):
            _para(doc, notes[key] + "。", bold_lead=f"{label}：")

    doc.add_heading("三、考核结果", level=1)
    ranked_rows = 0
    columns = ["组内排名", "开发区名称", "综合得分", "总排名", "等次"]
    kinds = [declaration(RANKING).column(c).kind for c in columns]
    for scope, part in _scoped(ranking):
        groups = part.groupby("分组", sort=False) if "分组" in part else [("全部", part)]
        for group, rows in groups:
            doc.add_heading(f"{scope_name.get(scope, scope) + ' · ' if scope else ''}{group}（{len(rows)} 个开发区）", level=2)
            rows = rows.assign(_r=pd.to_numeric(rows["组内排名"], errors="coerce")).sort_values("_r", kind="stable")
            body = [[r.get(c) if k == "text" else shown(r.get(c), k) for c, k in zip(columns, kinds)]
                    for r in rows.to_dict("records")]
            _table(doc, columns, body, [1.2, 4.5, 1.5, 1.2, 1.4])
            ranked_rows += len(body)
            if pd.to_numeric(rows["综合得分"], errors="coerce").notna().sum() == 1:
                _para(doc, "注：组内仅 1 个开发区参评，其得分与名次不与其他开发区比较，不宜据此排序或奖惩。")

    doc.add_heading("四、等次分布", level=1)
    if "等次" in ranking and ranking["等次"].notna().any():
        for scope, part in _scoped(ranking):
            counts = part["等次"].dropna().astype(str).value_counts(sort=False)
            text = "，".join(f"{g} {n} 个" for g, n in counts.items()) or "未评定等次"
            _para(doc, f"{scope_name.get(scope, scope) + '：' if scope else ''}{text}。")
        if notes.get("排名·等次"):
            _para(doc, f"等次划分：{notes['排名·等次']}。")
    else:
        _para(doc, "所用政策口径未规定等次划分。")

    doc.add_heading("五、编制合规情况", level=1)
    _compliance(doc, sheets)

    doc.add_heading("六、奖惩建议", level=1)
    _suggestions(doc, sheets, scope_name)

    doc.add_heading("附件：考核指标值", level=1)
    _annex(doc, sheets, scope_name)
    return doc, ranked_rows


def _mentions(sheets, file: str) -> bool:
    for name in (CHECKS, SANCTIONS):
        frame = sheets.get(name)
        if frame is not None and "依据" in frame and frame["依据"].astype(str).str.contains(file, regex=False).any():
            return True
    return False


def _compliance(doc, sheets) -> None:
    summary, details = sheets.get(COMPLIANCE), sheets.get(CHECKS)
    if summary is None or not len(summary):
        _para(doc, "本次未进行机构编制合规检查。")
        return
    city = (summary["级别"].astype(str) == CITY_LEVEL) if "级别" in summary else pd.Series(False, index=summary.index)
    zones = summary[~city]
    verdicts = zones["结论"].astype(str).value_counts()
    _para(doc, f"共检查 {len(zones)} 个开发区：" + "，".join(f"{k} {v} 个" for k, v in verdicts.items()) + "。")
    for line in summary[city].to_dict("records"):        # the 全市合计 line is a line of its own, not a zone
        name = str(line["开发区名称"])
        _para(doc, f"{name if name.startswith('全市合计') else f'全市合计（{name}）'}：{line['结论']}。")
    if details is None or not len(details):
        return
    bad = details[details["结论"].astype(str) == "不合规"]
    if len(bad):
        _table(doc, ["开发区名称", "规则编号", "规则", "实际值", "限值", "说明"],
               bad[["开发区名称", "规则编号", "规则", "实际值", "限值", "说明"]].to_numpy().tolist(), [2.2, 1.1, 3, 1, 1, 2.5])


PLACEHOLDER_ZONES = ("（无）", "无", "")


def _suggestions(doc, sheets, label: Mapping[str, str] | None = None) -> None:
    """Numbered suggestions, each marked 建议，须经复核 once; a placeholder row of 奖惩建议 (zone
    「（无）」: nothing triggered, or no rules) is one sentence, not a numbered suggestion."""
    frame = sheets.get(SANCTIONS)
    if frame is None or not len(frame) or "建议措施" not in frame:
        _para(doc, "本年度无触发奖惩条件的开发区。")
        return
    label = label or {}
    zone = frame["开发区名称"].fillna("").astype(str).str.strip()
    empty = zone.isin(PLACEHOLDER_ZONES) | frame["建议措施"].fillna("").astype(str).str.strip().isin(["", "无"])
    for row in frame[empty].to_dict("records"):
        scope = row.get("考核范围")
        scope = "" if scope is None or pd.isna(scope) else str(scope)
        why = official_text(row.get("触发条件")).strip() or "无触发奖惩条件的开发区"
        _para(doc, f"{label.get(scope, scope) + '：' if scope else ''}{why}。")
    real = frame[~empty]
    if not len(real):
        return
    _para(doc, f"以下措施均为{REVIEW}，由考核主管部门按程序研究决定：")
    for i, row in enumerate(real.to_dict("records"), start=1):
        measure = official_text(row.get("建议措施")).strip()
        if REVIEW not in measure:                          # 「…（建议）」 → 「…（建议，须经复核）」, never both
            measure = measure.removesuffix("（建议）") + f"（{REVIEW}）"
        basis = official_text(row.get("依据")).strip()
        _para(doc, f"{i}. {row.get('开发区名称')}：{measure}。触发条件：{official_text(row.get('触发条件'))}。"
                   + (f"依据：{basis}。" if basis else ""))


# where an indicator's unit and number format are declared: derived indicators, then raw money
INDICATOR_DECLARATIONS = (DERIVED, TAX_RETURN)


def _indicator_column(name: str):
    """The declaration of indicator `name` (kind and unit) as the result sheets write it."""
    for sheet in INDICATOR_DECLARATIONS:
        spec = declaration(sheet).column(name)
        if spec.kind != "text":
            return spec
    return declaration(ANALYSIS).column("指标值")


def _annex(doc, sheets, label: Mapping[str, str] | None = None) -> None:
    analysis = sheets.get(ANALYSIS)
    if analysis is None or not len(analysis) or "指标值" not in analysis:
        _para(doc, "（无）", indent=False)
        return
    label = label or {}
    items = analysis[~analysis["指标"].isin(["合计", "加分/扣分"])]
    for scope, part in _scoped(items):
        wide = part.pivot_table(index="开发区名称", columns="指标", values="指标值", aggfunc="first", sort=False)
        wide = wide.reindex(pd.unique(part["开发区名称"]))
        specs = [_indicator_column(str(c)) for c in wide.columns]
        if scope:
            doc.add_heading(label.get(scope, scope), level=2)
        body = [[z, *(shown(v, spec.kind) for v, spec in zip(vals, specs))]
                for z, vals in zip(wide.index, wide.to_numpy().tolist())]
        _table(doc, ["开发区名称", *(spec.header for spec in specs)], body, [2.5] + [1.0] * len(wide.columns))


# --------------------------------------------------------------------------- files
WRITER = "xltools"


def may_replace(path: Path) -> bool:
    """May a 通报 be written over `path`? Only if nothing is there, or a 通报 xltools wrote that no one
    has saved since (Word and WPS record who saved a document last): an edited 通报 is the user's."""
    if not os.path.lexists(path):
        return True
    try:
        from docx import Document

        return path.is_file() and Document(str(path)).core_properties.last_modified_by == WRITER
    except Exception:                                  # not a Word document at all
        return False


def free_report_name(path: Path) -> Path:
    """`path`, or 名称(2).docx, 名称(3).docx … — the first a 通报 may be written to."""
    n, target = 1, path
    while not may_replace(target):
        n += 1
        target = path.with_name(f"{path.stem}({n}){path.suffix}")
    return target


def write_report(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> tuple[Path, int]:
    """Write the 通报 to `path` (.docx) atomically; returns (path, ranking table rows). A document
    there that xltools did not write (or that someone has edited since) is never replaced."""
    path = Path(path)
    if not may_replace(path):
        raise ReportError(f"{path} 已存在，且不是 xltools 写出的（或已被编辑过）：为避免覆盖您的文件，请换一个文件名")
    doc, rows = build_report(sheets)
    doc.core_properties.author = doc.core_properties.last_modified_by = WRITER
    doc.core_properties.title = next((p.text for p in doc.paragraphs if p.style.name == "Title"), "考核结果通报")
    tmp = atomic_target(path)
    try:
        doc.save(str(tmp))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)               # as any new file (the temporary name was private)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path, rows


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: Path, timeout: int = 180) -> Path:
    """`docx` converted to PDF beside it by LibreOffice headless (its own profile, writable HOME)."""
    exe = soffice()
    if exe is None:
        raise ReportError("未安装 LibreOffice，无法生成 PDF（已写出 Word 文档）；安装 LibreOffice 后重试，或在 Word/WPS 中另存为 PDF")
    with tempfile.TemporaryDirectory(prefix="xltools-lo-") as work:
        profile = Path(work) / "profile"
        proc = subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                               "--outdir", work, str(docx)], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": work})
        made = Path(work) / f"{docx.stem}.pdf"
        if not made.exists():
            raise ReportError(f"LibreOffice 未能生成 PDF：{(proc.stderr or proc.stdout).strip()[:300]}")
        target = docx.with_suffix(".pdf")
        tmp = atomic_target(target)
        shutil.move(str(made), tmp)
        os.replace(tmp, target)
    return target
