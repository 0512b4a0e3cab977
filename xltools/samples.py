"""Build the bundled sample workbooks from the source data in `xltools/data/`.

Run `xltools samples` to regenerate `sample_workbooks/` and `templates/`; a test fails
when the committed files differ from a fresh build. All numbers are synthetic unless the
source CSV marks them 种子 (a figure the policy reports state); the workbooks say so in their
titles.

Workbooks:
- 青岛开发区.xlsx — 20 zones, departments, posts and staffing, 5 years of indicators, salary inputs
- 宁夏开发区.xlsx — 23 zones, the same sheets
- 耒阳经开区.xlsx — the Leiyang zone with its seed facts and a 150-person staff sheet
- 问题样例.xlsx — a messy submission with realistic errors (see tests/test_messy_sample.py)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import xlsxwriter

from .output.xlsxfile import FIXED_DATE
from .schema import SHEETS
from .templates import build_template, write_input_workbook

DATA = resources.files("xltools") / "data"
SYNTHETIC = "（样例数据，数值为合成，仅供演示）"

# Planted compliance violations (asserted in tests/test_quota_samples.py):
#   青岛 QD01 9 内设机构 → QD-09; QD02 4 主导产业 → QD-25; QD09 第三个法定机构 → QD-03;
#   QD11 副职 3 名 → QD-06 预警; QD12 在编人数超核定编制 → QD-19; QD15 托管街道 → QD-20;
#   高端装备制造 is leading in 4 zones → QD-29 预警 on the 全市合计 line (as in the sources: QD-26..28 + 经开区).
#   宁夏 NX07 (正处级) 7 个内设机构 → NX-20; NX16 4 个区块 → NX-05; NX13 与 NX11 同在利通区 → NX-04 ×2.
PLANTED = {"QD01": "9th department", "QD02": "4 industries", "QD09": "statutory body", "QD11": "3 deputies",
           "QD12": "over 编制", "QD15": "hosts subdistrict", "NX07": "7 departments", "NX16": "4 blocks",
           "NX13": "second zone in 利通区"}

QD01_DEPTS = [("综合办公室", "综合保障类", "否"), ("党群工作部", "综合保障类", "否"),
              ("产业发展部", "经济发展类", "是"), ("投资促进一部", "经济发展类", "是"),
              ("投资促进二部", "经济发展类", "是"), ("科技创新部", "经济发展类", "是"),
              ("企业服务部", "经济发展类", "是"), ("开放合作部", "经济发展类", "是"),
              ("投资促进三部", "经济发展类", "是")]
SUPPORT_POOL = ["综合办公室", "党群工作部", "纪检监察室"]
FRONT_POOL = ["产业发展部", "投资促进部", "科技创新部", "企业服务部", "开放合作部", "招商服务部"]
NX01_DEPTS = [("党政办公室", "综合保障类", "否"), ("组织人事部", "综合保障类", "否"),
              ("纪工委办公室", "综合保障类", "否"), ("经济发展局", "经济发展类", "是"),
              ("招商合作局", "经济发展类", "是"), ("科技创新局", "经济发展类", "是"),
              ("规划建设局", "经济发展类", "否"), ("自然资源局", "经济发展类", "否"),
              ("应急管理局", "社会事务类", "否"), ("生态环境局", "经济发展类", "否")]
NX_OTHER_POOL = [("规划建设部", "经济发展类", "否"), ("自然资源局", "经济发展类", "否"),
                 ("行政审批局", "经济发展类", "否"), ("应急管理局", "社会事务类", "否")]
LEIYANG_DEPTS = [("办公室", "综合保障类", "否"), ("招商合作局", "经济发展类", "是"),
                 ("产业发展局", "经济发展类", "是"), ("住房和城乡建设局", "经济发展类", "否"),
                 ("自然资源局", "经济发展类", "否"), ("行政审批服务局", "经济发展类", "否"),
                 ("财政局", "经济发展类", "否"), ("组织人事局", "综合保障类", "否"),
                 ("应急管理局", "社会事务类", "否")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌鹏宇浩凯健俊帆帅旭宁龙林欢阳佳"


def _csv(name: str) -> pd.DataFrame:
    with (DATA / name).open("rb") as fh:
        return pd.read_csv(fh, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _lcg(seed: int):
    """Tiny deterministic generator (same numbers on every platform and numpy version)."""
    state = seed
    while True:
        state = (1103515245 * state + 12345) % 2**31
        yield state / 2**31


def zones_frame(region: str) -> pd.DataFrame:
    z = _csv("sample_zones.csv")
    z = z[z["地区"] == region]
    mode = z["管理体制/派出主体"].where(z["管理体制/派出主体"].isin(["法定机构", "党工委(管委会)+公司"]), "")
    mode = mode.where(z["开发区编码"] != "QD09", "法定机构")
    rank = z["管理机构规格"].where(~z["管理机构规格"].str.startswith("("), "")
    industries = z["主导产业/园区"].where(z["开发区编码"] != "QD02", z["主导产业/园区"] + "；智能制造")
    county = z["所在区县"].where(z["开发区编码"] != "NX13", "利通区")
    blocks = pd.to_numeric(z["区块数"], errors="coerce").where(z["开发区编码"] != "NX16", 4)
    return pd.DataFrame({
        "zone": z["开发区名称"], "zone_id": z["开发区编码"], "region": region,
        "level": z["级别(2022)"], "zone_type": z["类型"], "county": county,
        "admin_rank": rank, "governance": mode, "blocks": blocks,
        "industries": industries if region == "青岛" else "",
        "hosts_subdistrict": (z["开发区编码"] == "QD15").map({True: "是", False: "否"}),
        "one_county_exempt": z["开发区编码"].isin(["NX01", "NX04", "NX23"]).map({True: "是", False: "否"}),
        # NX-22: every Ningxia zone secretary is held concurrently (均由…兼任)
        **({"secretary_concurrent": "是"} if region == "宁夏" else {}),
    }).reset_index(drop=True)


def departments_frame(region: str) -> pd.DataFrame:
    z = _csv("sample_zones.csv")
    z = z[z["地区"] == region]
    rows = []
    for code, name, n in zip(z["开发区编码"], z["开发区名称"], z["内设机构数"].astype(int)):
        n = 7 if code == "NX07" else n  # planted: 7 departments under a 正处级 body
        if code == "QD01":
            depts = QD01_DEPTS
        elif code == "NX01":
            depts = NX01_DEPTS
        elif region == "青岛":
            support = 2 if n >= 6 else 1
            depts = [(d, "综合保障类", "否") for d in SUPPORT_POOL[:support]]
            depts += [(d, "经济发展类", "是") for d in FRONT_POOL[: n - support]]
        else:
            support = 1 if n <= 6 else 2
            front = min(3, n - support)
            depts = [(d, "综合保障类", "否") for d in (["综合办公室", "组织人事部"][:support])]
            depts += [(d, "经济发展类", "是") for d in ["招商服务部", "产业发展部", "科技创新部"][:front]]
            depts += NX_OTHER_POOL[: n - support - front]
        rows += [{"zone": name, "dept": d, "category": cat, "frontline": fl, "nature": "内设机构"}
                 for d, cat, fl in depts]
    return pd.DataFrame(rows)


def posts_frame(region: str) -> pd.DataFrame:
    z = _csv("sample_zones.csv")
    z = z[z["地区"] == region].reset_index(drop=True)
    rows = []
    for i, r in z.iterrows():
        if region == "青岛":
            principals, deputies = (int(x) for x in r["领导职数(正+副)"].split("+"))
            deputies += r["开发区编码"] == "QD11"  # planted: 1+3 at a provincial zone
            cap = int(r["人员总量(人)"])
        else:
            rank = r["管理机构规格"]
            principals, deputies = 1, {"厅级": 4, "正处级": 3}.get(rank, 2)
            cap = {"厅级": 120, "正处级": 60}.get(rank, 40)
        approved = round(cap * 0.9)
        actual = approved - (i % 5) + (5 if r["开发区编码"] == "QD12" else 0)
        in_post = round(actual * 0.8) + (actual - round(actual * 0.8) + 3 if r["开发区编码"] == "QD12" else 0)
        row = {"zone": r["开发区名称"], "principals": principals, "deputies": deputies,
               "approved_staff": approved, "actual_staff": actual, "in_post_staff": in_post,  # planted: QD12 over 编制
               "headcount_cap": cap, "contract_staff": actual}
        if region == "宁夏" and r["开发区编码"] in ("NX04", "NX05", "NX06"):   # NX-18: 厅级职数 核销
            row["bureau_posts"] = 0
        if region == "青岛":  # before the 2019 reform: 228 institutions and 3,560 staff city-wide (QD-13/14)
            row["depts_before"] = round(int(r["内设机构数"]) * 228 / 130)
            row["staff_before"] = round(cap * 3560 / 2563)
        rows.append(row)
    return pd.DataFrame(rows)


INDICATOR_COLUMNS = {  # CSV header → (schema key, unit written in the workbook header)
    "税收收入(亿元)": ("tax", "亿元"), "固定资产投资(亿元)": ("fixed_investment", "亿元"),
    "规上工业总产值(亿元)": ("industrial_output", "亿元"), "工业增加值(亿元)": ("value_added", "亿元"),
    "用地面积(亩)": ("land_area", "亩"), "综合能耗(万吨标准煤)": ("energy", "万吨标准煤"),
    "R&D经费支出(亿元)": ("rd", "亿元"), "规上工业企业数(家)": ("firms", "家"),
}


def indicators_frame(region: str) -> tuple[pd.DataFrame, dict[str, str]]:
    ind = _csv("sample_indicators_2019_2023.csv")
    ind = ind[ind["地区"] == region].reset_index(drop=True)
    out = pd.DataFrame({"zone": ind["开发区名称"], "year": ind["年度"].astype(int)})
    units = {}
    for src, (key, unit) in INDICATOR_COLUMNS.items():
        out[key] = pd.to_numeric(ind[src], errors="coerce")
        units[key] = unit
    # Administrative fees: 2.5% of tax (synthetic); 上合示范区 2022: 0.80, the QD-35 worked example.
    out["fees"] = (out["tax"] * 0.025).round(2)
    out.loc[(ind["开发区编码"] == "QD05") & (out["year"] == 2022), "fees"] = 0.80
    units["fees"] = "亿元"
    cols = ["zone", "year", "tax", "fees", "fixed_investment", "industrial_output", "value_added",
            "land_area", "energy", "rd", "firms"]
    return out[cols], units


def salary_frame(region: str) -> pd.DataFrame:
    ind, _ = indicators_frame(region)
    last = ind[ind["year"] == 2022].set_index("zone")
    posts = posts_frame(region).set_index("zone")
    base = 12.0 if region == "青岛" else 10.0
    rows = []
    for zone in last.index:
        rows.append({"zone": zone, "year": 2023, "headcount": int(posts.loc[zone, "actual_staff"]),
                     "base_standard": base, "performance_ratio": 0.5,
                     "target_tax": round(last.loc[zone, "tax"] * 1.06 * 1e4, 1),
                     "target_investment": round(last.loc[zone, "fixed_investment"] * 1.05 * 1e4, 1),
                     "target_output": round(last.loc[zone, "industrial_output"] * 1.06 * 1e4, 1),
                     "project_reward": 0.0})
    return pd.DataFrame(rows)


def params_frame(profile: str, region: str, year: int = 2023) -> pd.DataFrame:
    return pd.DataFrame({"item": ["政策口径", "考核年度", "地区"], "value": [profile, str(year), region],
                         "note": ["规则集编号，见 xltools profiles", "数据年度", SYNTHETIC]})


def region_workbook(path: Path, region: str, profile: str) -> Path:
    ind, ind_units = indicators_frame(region)
    frames = {"params": params_frame(profile, region), "zones": zones_frame(region),
              "departments": departments_frame(region), "posts": posts_frame(region),
              "indicators": ind, "salary": salary_frame(region)}
    titles = {k: f"{region}开发区 — {v}{SYNTHETIC}" for k, v in
              {"zones": "基本情况", "departments": "内设机构", "posts": "职数编制", "indicators": "经济指标",
               "salary": "薪酬测算参数", "params": "参数"}.items()}
    return write_input_workbook(path, frames, units={"indicators": ind_units}, titles=titles)


def staff_frame(n: int = 150) -> pd.DataFrame:
    rnd = _lcg(20190601)
    rows = []
    for i in range(n):
        name = SURNAMES[int(next(rnd) * len(SURNAMES))] + GIVEN[int(next(rnd) * len(GIVEN))]
        if next(rnd) < 0.5:
            name += GIVEN[int(next(rnd) * len(GIVEN))]
        rows.append({"person_id": f"LE{i + 1:03d}", "name": name, "zone": "耒阳市经济开发区",
                     "post": "科员", "post_coef": 1.0, "status": "行政编" if i < 45 else "聘用",
                     "score_test": round(55 + 40 * next(rnd), 1), "score_speech": round(60 + 35 * next(rnd), 1),
                     "score_inspection": round(65 + 30 * next(rnd), 1),
                     "grade": "优秀" if i % 10 == 0 else ("不合格" if i % 37 == 5 else "合格")})
    return pd.DataFrame(rows)


def leiyang_workbook(path: Path) -> Path:
    zone = "耒阳市经济开发区"
    ind = _csv("sample_indicators_2019_2023.csv")
    ind = ind[ind["地区"] == "耒阳"].reset_index(drop=True)
    indicators = pd.DataFrame({"zone": zone, "year": ind["年度"].astype(int)})
    units = {}
    for src, (key, unit) in INDICATOR_COLUMNS.items():
        indicators[key] = pd.to_numeric(ind[src], errors="coerce")
        units[key] = unit
    frames = {
        "params": params_frame("leiyang", "耒阳", 2019),
        "zones": pd.DataFrame([{"zone": zone, "zone_id": "LE01", "region": "耒阳", "level": "省级",
                                "zone_type": "经济开发区", "county": "耒阳市", "admin_rank": "正处级",
                                "governance": "党工委(管委会)+公司", "planned_area": 11.33,
                                "hosts_subdistrict": "是"}]),
        "departments": pd.DataFrame([{"zone": zone, "dept": d, "category": c, "frontline": f, "nature": "内设机构"}
                                     for d, c, f in LEIYANG_DEPTS]
                                    + [{"zone": zone, "dept": "企业发展服务中心", "category": "经济发展类",
                                        "frontline": "否", "nature": "事业单位", "unit_type": "支持保障类"}]),
        "posts": pd.DataFrame([{"zone": zone, "principals": 2, "deputies": 3, "discipline_secretaries": 1,
                                "approved_staff": 45, "actual_staff": 43, "in_post_staff": 43,
                                "section_principals": 13, "section_deputies": 11}]),
        "indicators": indicators,
        "salary": pd.DataFrame([{"zone": zone, "year": 2019, "headcount": 150, "base_standard": 6.0,
                                 "performance_ratio": 0.4, "target_tax": 38000.0, "target_investment": 120000.0,
                                 "target_output": 720000.0, "project_reward": 30.0}]),
        "staff": staff_frame(),
    }
    titles = {"staff": "耒阳市经济开发区 — 竞争性选岗人员名册（姓名为化名，分数为合成）",
              "zones": "耒阳市经济开发区 — 基本情况（据调研报告，2019–2020）"}
    return write_input_workbook(path, frames, units={"indicators": units}, titles=titles)


def messy_workbook(path: Path) -> Path:
    """A submission the way it really arrives: title rows, units, merged headers, and errors.

    Every planted error is listed (with its cell) in tests/test_messy_sample.py.
    """
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_DATE, "author": "某开发区"})
    bold = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1})

    ws = wb.add_worksheet("开发区名录")           # sheet found by alias
    ws.merge_range("A1:H1", "2023年度 开发区基本情况表", bold)
    ws.write_row("A2", ["序号", "开发区名称", "级别", "类型", "所在区县", "管理机构规格", "是否托管街道", "主导产业"], bold)
    zones = [
        [1, "青岛经济技术开发区", "国家级", "经开区", "黄岛区", "不定规格", "否", "高端装备制造、新一代信息技术"],
        [2, "青岛高新技术产业开发区", "国家级", "高新区", "城阳区", "不定规格", "否", "新一代信息技术；生物医药"],
        [3, "青岛 蓝谷", "自治区级", "创新功能区", "即墨区", "不定规格", "否", "海洋科技"],           # spaces, alias level
        [4, "青岛即墨经济开发区", "县级", "经济开发区", "即墨区", "不定规格", "否", "汽车制造"],        # E1 unknown level
        [5, "青岛平度经济开发区", "省级", "经济开发区", "平度市", "处级", "否", "食品加工"],           # E2 ambiguous rank
        [6, "青岛莱西经济开发区", "省级", "经济开发区", "莱西市", "不定规格", "可能", "新能源汽车"],    # E3 bad yes/no
        [7, "青岛经济技术开发区", "国家级", "经开区", "黄岛区", "不定规格", "否", "现代物流"],         # E4 duplicate zone
        ["", "", "", "", "", "", "", ""],
        ["合计", "", "", "", "", "", "", ""],
    ]
    for r, row in enumerate(zones, start=2):
        for c, v in enumerate(row):
            if v != "":
                ws.write(r, c, v)
    ws.write("A13", "注：本表由各开发区管委会填报。")

    ws = wb.add_worksheet("经济指标")
    ws.merge_range("A1:G1", "2023年度 开发区主要经济指标", bold)
    ws.write("A2", "单位：亿元")
    ws.merge_range("A3:A4", "开发区名称", bold)
    ws.merge_range("B3:B4", "年度", bold)
    ws.merge_range("C3:D3", "财税", bold)
    ws.write_row("C4", ["税收收入", "行政事业性收费"], bold)
    ws.merge_range("E3:G3", "产出与用地", bold)
    ws.write_row("E4", ["规上工业总产值", "用地面积(公顷)", "从业人员"], bold)
    ws.write("H4", "填报人", bold)                                                           # E5 unknown column
    rows = [
        ["青岛经济技术开发区", 2023, "约190.8", 4.5, 2756, 6333.3, 52000, "张三"],                # E6 bad number text
        ["青岛高新技术产业开发区", "2023年", "６８.５", "—", "590.4", 1866.7, "1.2万", "李四"],  # full-width, placeholder, 万
        ["青岛 蓝谷", 2023, 16.96, "#DIV/0!", 95.4, 533.3, 8000, "王五"],                       # E7 error value
        ["青岛即墨经济开发区", 2023, 37.1, 0.9, 848, -2666.7, 31000, ""],                     # E8 negative area
        ["青岛平度经济开发区", 2023, 14.8, "12%", 445.2, 2000, 21000, ""],                    # E9 percent in money
        ["青岛莱西经济开发区", 2203, 12.7, 0.3, 402.8, 1866.7, 18500, ""],                    # E10 bad year
        ["青岛莱西经济开发区", 2023, 12.7, 0.3, 402.8, 1866.7, 18500.5, ""],                  # E11 fractional count
        ["青岛崂山科技园区", 2023, 23.3, 0.6, 137.8, 333.3, 9000, ""],                         # E12 unknown zone
        ["青岛高新技术产业开发区", 2023, 68.5, 1.7, 590.4, 1866.7, 12000, ""],                 # E13 duplicate key
        ["", 2023, 5.0, 0.1, 80, 400, 2000, ""],                                               # E14 missing key
        ["小计", "", 220.0, "", "", "", "", ""],
    ]
    for r, row in enumerate(rows, start=4):
        for c, v in enumerate(row):
            if v != "":
                ws.write(r, c, v)

    ws = wb.add_worksheet("职数编制")
    ws.write_row("A1", ["开发区名称", "正职职数", "副职职数", "核定编制", "实有人数"], bold)
    ws.write_row("A2", ["（人）", "（名）", "（名）", "（名）", "（人）"])                       # unit row
    ws.write_row("A3", ["青岛经济技术开发区", 1, 4, 380, 376])
    ws.write_row("A4", ["青岛高新技术产业开发区", 1, "四", 270, 265])                            # E15 Chinese numeral
    ws.write_row("A5", ["青岛 蓝谷", 1, 2, "１１０", 104])
    ws.write_row("A6", ["青岛即墨经济开发区", 1.5, 2, 115, 113])                                # E16 fractional posts
    wb.close()
    return path


SAMPLE_FILES = {
    "青岛开发区.xlsx": lambda p: region_workbook(p, "青岛", "qingdao"),
    "宁夏开发区.xlsx": lambda p: region_workbook(p, "宁夏", "ningxia"),
    "耒阳经开区.xlsx": leiyang_workbook,
    "问题样例.xlsx": messy_workbook,
}
def build_example(path: Path, edit=None) -> Path:
    """The template filled with the Qingdao sample (all columns, schema units): its 计算 sheet computes.

    `edit(frames)` may change the input tables first (tests plant edge cases for the formulas).
    """
    from .schema import SHEETS_BY_KEY, UNITS

    ind, units = indicators_frame("青岛")
    for key, unit in units.items():                       # store in schema units so formulas need no factors
        col = SHEETS_BY_KEY["indicators"].column(key)
        if col.dim and unit in UNITS[col.dim]:
            ind[key] = ind[key] * UNITS[col.dim][unit] / UNITS[col.dim][col.unit]
    frames = {"params": params_frame("qingdao", "青岛"), "zones": zones_frame("青岛"),
              "departments": departments_frame("青岛"), "posts": posts_frame("青岛"), "indicators": ind,
              "salary": salary_frame("青岛")}
    if edit is not None:
        edit(frames)
    full = {k: f.reindex(columns=[c.key for c in SHEETS_BY_KEY[k].columns]) for k, f in frames.items()}
    for key in ("indicator_system", "staff", "history"):
        full[key] = None
    order = [s.key for s in SHEETS]
    return write_input_workbook(path, {k: full[k] for k in order},
                                titles={"zones": f"开发区（示例：青岛 20 个开发区）{SYNTHETIC}"}, calc=True)


TEMPLATE_FILES = {"开发区考核模板.xlsx": build_template, "开发区考核模板（示例）.xlsx": build_example}


def build_samples(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [make(out / name) for name, make in SAMPLE_FILES.items()]


def build_templates(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [make(out / name) for name, make in TEMPLATE_FILES.items()]
