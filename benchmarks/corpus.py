"""A realistic batch of submissions: what 400 development zones send in, as the profile of issue 18 saw it.

Usage:  python benchmarks/corpus.py OUT_FOLDER [--files 400] [--seed 18]

Each workbook has five sheets, laid out the way officials fill a template in:
  开发区    one row (级别, 类型, 所属地区, 管理机构规格, 管理体制 …), under a merged title;
  机构设置  6–10 departments (机构类别, 是否一线, 机构性质 repeated);
  指标      five years under a title and a 「单位：万元」 row, one column written as
            thousands-separated text (「12,345.67」), 用地面积 in 亩 in its header;
  职数编制  one row of posts and staffing;
  人员      150–300 staff (岗位, 编制身份, 考核等次, 开发区名称 … a few values repeated thousands
            of times), with the occasional blank, 「—」, alias (称职) or stray space a real roster has.
400 workbooks hold 93,100 data rows in all. Deterministic: the same seed writes the same cells.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

import xlsxwriter

TOTAL_ROWS_400 = 93_100           # data rows of the 400-file corpus (issue 18)
STAFF_MIN, STAFF_MAX = 150, 300
YEARS = (2019, 2020, 2021, 2022, 2023)
CITIES = ("青岛", "济南", "烟台", "潍坊", "临沂", "淄博", "济宁", "威海", "日照", "德州", "聊城", "滨州", "菏泽", "枣庄",
          "东营", "泰安", "银川", "石嘴山", "吴忠", "固原", "中卫", "衡阳", "株洲", "湘潭")
KINDS = (("经济技术开发区", "经开区"), ("高新技术产业开发区", "高新区"), ("经济开发区", "经济开发区"),
         ("工业园区", "工业园"), ("综合保税区", "综保区"))
LEVELS = ("国家级", "省级", "省级", "省级", "市级")
RANKS = ("不定规格", "正处级", "副处级", "正科级", "副厅级")
GOVERNANCE = ("党工委(管委会)+公司", "管委会+公司", "法定机构", "区政合一")
DEPARTMENTS = (("党政办公室", "综合保障类", "否"), ("组织人事部", "综合保障类", "否"), ("纪工委办公室", "综合保障类", "否"),
               ("经济发展局", "经济发展类", "是"), ("招商合作局", "经济发展类", "是"), ("科技创新局", "经济发展类", "是"),
               ("企业服务局", "经济发展类", "是"), ("规划建设局", "经济发展类", "否"), ("自然资源局", "经济发展类", "否"),
               ("应急管理局", "社会事务类", "否"), ("社会事务局", "社会事务类", "否"))
POSTS = ("科员", "科员", "科员", "一级科员", "四级主任科员", "三级主任科员", "副科长", "科长", "副部长", "部长", "办事员")
STATUS = ("行政编", "行政编", "事业编", "事业编", "聘用", "聘用", "聘用", "劳务派遣", "参公")
GRADES = ("合格", "合格", "合格", "合格", "优秀", "良好", "基本合格")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌鹏宇浩凯健俊帆帅旭宁龙林欢阳佳"

STAFF_HEADER = ["序号", "姓名", "人员编号", "开发区名称", "岗位", "岗位系数", "编制身份", "是否兼任", "知识测试", "竞聘演讲",
                "联合考察", "考核等次"]
INDICATOR_HEADER = ["开发区名称", "年度", "税收收入", "行政事业性收费", "固定资产投资", "规上工业总产值", "工业增加值",
                    "营业收入", "用地面积(亩)", "综合能耗(吨标准煤)", "从业人员(人)", "规上工业企业数(家)"]


def staff_counts(n: int, rnd: random.Random) -> list[int]:
    """Staff rows per file, 150–300 each."""
    return [rnd.randint(STAFF_MIN, STAFF_MAX) for _ in range(n)]


def _fit_total(counts: list[int], other_rows: int, total: int) -> list[int]:
    """Nudge the staff counts (within 150–300) until all data rows add up to `total`."""
    gap = total - other_rows - sum(counts)
    i = 0
    while gap:
        step = 1 if gap > 0 else -1
        if STAFF_MIN <= counts[i % len(counts)] + step <= STAFF_MAX:
            counts[i % len(counts)] += step
            gap -= step
        i += 1
    return counts


def zone_name(i: int) -> str:
    city = CITIES[i % len(CITIES)]
    full, _ = KINDS[(i // len(CITIES)) % len(KINDS)]
    return f"{city}第{i + 1}{full}"


class Submission:
    """One zone's workbook, its cells drawn from `rnd` (one generator per file: files are independent)."""

    def __init__(self, index: int, seed: int, staff: int, messy: bool = False):
        self.i, self.rnd, self.staff, self.messy = index, random.Random(seed * 100_003 + index), staff, messy
        self.zone = zone_name(index)
        self.departments = DEPARTMENTS[:3] + tuple(self.rnd.sample(DEPARTMENTS[3:], self.rnd.randint(3, 7)))

    def write(self, path: Path) -> Path:
        wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                            "default_date_format": "yyyy-mm-dd"})
        self.title = wb.add_format({"bold": True, "align": "center", "font_size": 14})
        self.head = wb.add_format({"bold": True, "align": "center", "border": 1, "bg_color": "#DDEBF7"})
        self._zones(wb.add_worksheet("开发区"))
        self._departments(wb.add_worksheet("机构设置"))
        self._indicators(wb.add_worksheet("指标"))
        self._posts(wb.add_worksheet("职数编制"))
        self._staff(wb.add_worksheet("人员"))
        wb.close()
        return path

    def _titled(self, ws, title: str, header: list[str], first: int = 1) -> int:
        ws.merge_range(0, 0, 0, len(header) - 1, f"{self.zone} {title}", self.title)
        ws.write_row(first, 0, header, self.head)
        return first + 1

    def _zones(self, ws) -> None:
        r, i = self.rnd, self.i
        full, short = KINDS[(i // len(CITIES)) % len(KINDS)]
        header = ["开发区名称", "开发区编码", "地区", "级别", "类型", "所属地区", "管理机构规格", "管理体制", "区块数",
                  "主导产业", "规划面积(平方公里)", "是否托管街道"]
        row = self._titled(ws, "基本情况", header)
        ws.write_row(row, 0, [self.zone, f"Z{i + 1:04d}", CITIES[i % len(CITIES)], LEVELS[i % len(LEVELS)],
                              short if r.random() < 0.5 else full, f"{CITIES[i % len(CITIES)]}市{'东西南北'[i % 4]}区",
                              RANKS[i % len(RANKS)], GOVERNANCE[i % len(GOVERNANCE)], r.randint(1, 3),
                              "；".join(r.sample(("高端装备制造", "新一代信息技术", "生物医药", "新材料", "现代物流", "食品加工"), 2)),
                              round(r.uniform(5, 120), 2), "否"])

    def _departments(self, ws) -> None:
        row = self._titled(ws, "内设机构", ["序号", "开发区名称", "机构名称", "机构类别", "是否一线", "机构性质"])
        for n, (dept, category, front) in enumerate(self.departments, start=1):
            ws.write_row(row, 0, [n, self.zone, dept, category, front, "内设机构"])
            row += 1

    def _indicators(self, ws) -> None:
        r = self.rnd
        ws.merge_range(0, 0, 0, len(INDICATOR_HEADER) - 1, f"{self.zone} 主要经济指标（2019—2023年）", self.title)
        ws.write(1, 0, "单位：万元")
        ws.write_row(2, 0, INDICATOR_HEADER, self.head)
        tax, land, energy = r.uniform(2e4, 6e5), r.uniform(3e3, 4e4), r.uniform(1e4, 9e5)
        people, firms = r.randint(5_000, 90_000), r.randint(20, 400)
        for n, year in enumerate(YEARS):
            grow = r.uniform(1.0, 1.15)                                  # a zone grows a little each year
            tax, land, energy = tax * grow, land * r.uniform(1.0, 1.05), energy * grow
            people, firms = round(people * grow), round(firms * r.uniform(1.0, 1.1))
            output = tax * r.uniform(6, 12)
            investment = f"{tax * r.uniform(2, 4):,.2f}"                # thousands-separated text, as pasted from a report
            cells = [self.zone, year, round(tax, 2), round(tax * 0.025, 2), investment, round(output, 2),
                                    round(output * r.uniform(0.2, 0.3), 2), round(output * 1.1, 2), round(land, 1),
                                    round(energy, 1), people, firms]
            if self.messy and r.random() < 0.4:
                cells[r.randrange(1, len(cells))] = r.choice(HAZARDS)
            ws.write_row(3 + n, 0, [_cell(v) for v in cells])

    def _posts(self, ws) -> None:
        cap = self.staff + self.rnd.randint(0, 30)
        header = ["开发区名称", "正职职数", "副职职数", "核定编制", "实有人数", "在编人数", "人员总量控制数", "聘任制人数"]
        row = self._titled(ws, "职数编制", header)
        ws.write_row(row, 0, [self.zone, 1, self.rnd.randint(2, 5), round(cap * 0.9), self.staff,
                              round(self.staff * 0.4), cap, self.staff - round(self.staff * 0.4)])

    def _staff(self, ws) -> None:
        row = self._titled(ws, "竞争性选岗人员名册", STAFF_HEADER)
        for n in range(self.staff):
            person = self._person(n)
            if self.messy and self.rnd.random() < 0.08:
                column = self.rnd.randrange(1, len(person))
                person[column] = self.rnd.choice(HAZARDS)
            ws.write_row(row + n, 0, [_cell(v) for v in person])
        if self.messy:                                      # what ends a real roster
            ws.write_row(row + self.staff + 1, 0, ["合计", "", "", "", "", 25.0])
            ws.write(row + self.staff + 2, 0, "注：本表由组织人事部填报。")

    def _person(self, n: int) -> list:
        r = self.rnd
        name = r.choice(SURNAMES) + r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.6 else "")
        post, status, grade = r.choice(POSTS), r.choice(STATUS), r.choice(GRADES)
        scores: list[object] = [round(r.uniform(55, 98), 1), round(r.uniform(60, 97), 1), round(r.uniform(65, 96), 1)]
        noise = r.random()
        if noise < 0.01:
            scores[r.randrange(3)] = "—"                 # not taken
        elif noise < 0.015:
            scores[r.randrange(3)] = None                # left blank
        elif noise < 0.02:
            post += " "                                  # a stray space
        elif noise < 0.025:
            grade = "称职"                               # the older word (alias of 合格)
        elif noise < 0.027:
            grade = "待定"                               # not an allowed grade: one 错误
        zone = self.zone if r.random() > 0.005 else self.zone.replace("开发区", " 开发区")
        return [n + 1, name, f"{self.i + 1:04d}{n + 1:04d}", zone, post, 1.0 if post.startswith(("科员", "一级", "办事")) else 1.2,
                status, "否" if r.random() > 0.01 else "是", *scores, grade]


# Cells a messy corpus (tests) scatters over its rosters and indicators: every form intake must type
# exactly as cell by cell — placeholders, widths, spaces, units, error values, booleans, dates, aliases.
HAZARDS = ("", "  ", "无", "—", "NA", "n/a", "#N/A", "#DIV/0!", "　科员", "科员　", "ｋｅ ｙｕａｎ", "聘 用", " 聘用", "*001",
           "合计", "小计（人员）", "是", "否", "Y", "TRUE", "可能", "称职", "一般", "A", "ａ", "处级", "85", "８５", "85分",
           "1,234", "12%", "-5", "12.5万", "2.5亿", "3亿元", "2023年", "二〇二三", "1e400", "12345678901234567", "0.5",
           True, False, 0.0, -1.0, 1001.0, 2.5, 1e16, 60.0, 2023.0, dt.datetime(2023, 5, 1), dt.date(2020, 1, 1))


def _cell(value):
    """XlsxWriter writes None as nothing; a date as a date cell."""
    return "" if value is None else value


def make_corpus(folder: str | Path, files: int = 400, seed: int = 18, messy: bool = False) -> list[Path]:
    """Write `files` submissions into `folder` (created); returns their paths, in order. `messy`
    scatters HAZARDS over the cells and ends each roster with a 合计 row and a footnote."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    counts = staff_counts(files, rnd)
    subs = [Submission(i, seed, c, messy) for i, c in enumerate(counts)]
    if files == 400 and not messy:  # the corpus of issue 18: exactly TOTAL_ROWS_400 data rows
        other = sum(1 + len(s.departments) + len(YEARS) + 1 for s in subs)
        counts = _fit_total(counts, other, TOTAL_ROWS_400)
        for s, c in zip(subs, counts):
            s.staff = c
    return [s.write(out / f"{i + 1:03d}_{s.zone}.xlsx") for i, s in enumerate(subs)]


def data_rows(paths: list[Path]) -> int:
    """Data rows of a corpus (below each header), counted with python-calamine."""
    import python_calamine as pc
    header_rows = {"开发区": 2, "机构设置": 2, "指标": 3, "职数编制": 2, "人员": 2}
    n = 0
    for p in paths:
        wb = pc.CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            n += len(wb.get_sheet_by_name(name).to_python(skip_empty_area=False)) - header_rows[name]
        wb.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()
    paths = make_corpus(args.folder, args.files, args.seed)
    print(f"{len(paths)} workbooks, {data_rows(paths):,} data rows in {args.folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
