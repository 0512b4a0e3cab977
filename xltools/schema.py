"""The workbook schema, declared once.

Every input sheet, its Chinese headers and aliases, English keys, types, units and
enumerations live here. Intake, validation messages, the blank template and the generated
schema reference (`docs/数据表结构.md`) are all driven by these declarations.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from .problems import ERROR, WARNING

# --------------------------------------------------------------------------- units
# Each dimension has a base unit (factor 1); other units are multiples of it.
UNITS: dict[str, dict[str, float]] = {
    "money": {"元": 1.0, "千元": 1e3, "万元": 1e4, "百万元": 1e6, "亿元": 1e8},
    "area": {"亩": 1.0, "公顷": 15.0, "平方公里": 1500.0, "平方千米": 1500.0, "km2": 1500.0,
             "平方米": 0.0015},
    "energy": {"吨标准煤": 1.0, "吨标煤": 1.0, "万吨标准煤": 1e4, "万吨标煤": 1e4},
    "count": {"": 1.0, "人": 1.0, "个": 1.0, "家": 1.0, "项": 1.0, "件": 1.0, "名": 1.0,
              "万人": 1e4},
    "usd": {"美元": 1.0, "万美元": 1e4, "亿美元": 1e8},
    "mass": {"吨": 1.0, "万吨": 1e4, "千克": 0.001, "公斤": 0.001},
}
# Dimensions whose unit must be stated (an amount, area, energy or mass): where a workbook states
# none, the schema unit is assumed and one 警告 per column says so.
STATED_UNIT_DIMS = ("money", "usd", "area", "energy", "mass")
# Multipliers that may trail a number written as text ("12.5万", "3亿").
MAGNITUDES = {"万": 1e4, "亿": 1e8, "千": 1e3}


def unit_dimension(unit: str) -> str | None:
    """The dimension a unit string belongs to, or None when unknown."""
    for dim, table in UNITS.items():
        if unit in table and unit:
            return dim
    return None


# --------------------------------------------------------------------------- enums
@dataclass(frozen=True)
class Enum:
    """An enumeration: allowed values plus aliases that normalise to them."""

    name: str
    values: tuple[str, ...]
    aliases: dict[str, str] = field(default_factory=dict)
    # Values that are recognised but ambiguous: alias → message.
    ambiguous: dict[str, str] = field(default_factory=dict)

    def lookup(self) -> dict[str, str]:
        table = {normalize_text(v): v for v in self.values}
        table.update({normalize_text(k): v for k, v in self.aliases.items()})
        return table


ENUMS: dict[str, Enum] = {
    "级别": Enum("级别", ("国家级", "省级", "市级"),
                 {"自治区级": "省级", "省": "省级", "国家": "国家级", "国家级开发区": "国家级",
                  "省级开发区": "省级", "市": "市级", "地市级": "市级"}),
    "类型": Enum("类型", ("经济技术开发区", "高新技术产业开发区", "海关特殊监管区域", "综合保税区",
                      "保税港区", "自贸片区", "旅游度假区", "经济开发区", "工业园区", "特色产业园区",
                      "功能区", "示范区", "合作园区", "能源化工基地", "其他"),
                 {"经开区": "经济技术开发区", "国家级经开区": "经济技术开发区",
                  "高新区": "高新技术产业开发区", "高新技术开发区": "高新技术产业开发区",
                  "高新技术园区": "高新技术产业开发区", "综保区": "综合保税区", "自贸区": "自贸片区",
                  "自由贸易试验区片区": "自贸片区", "度假区": "旅游度假区", "工业园": "工业园区",
                  "省级开发区": "经济开发区", "海关特殊监管区": "海关特殊监管区域",
                  "创新功能区": "功能区", "现代服务业功能区": "功能区", "文化产业功能区": "功能区",
                  "临港经济区": "功能区", "国家级示范区": "示范区", "临空经济示范区": "示范区",
                  "融合创新示范区": "示范区", "国际合作园区": "合作园区", "合作共建园区": "合作园区",
                  "能源化工园区": "工业园区"}),
    "管理机构规格": Enum("管理机构规格", ("不定规格", "正厅级", "副厅级", "正处级", "副处级", "正科级", "副科级"),
                   {"厅级": "正厅级", "正厅": "正厅级", "副厅": "副厅级", "正处": "正处级",
                    "副处": "副处级", "正科": "正科级", "副科": "副科级", "无规格": "不定规格",
                    "不明确规格": "不定规格"},
                   {"处级": "「处级」无法区分正处级与副处级", "科级": "「科级」无法区分正科级与副科级"}),
    "管理体制": Enum("管理体制", ("党工委(管委会)+公司", "管委会+公司", "法定机构", "区政合一", "区政分设",
                         "统筹协调机制", "其他"),
                 {"党工委+管委会+公司": "党工委(管委会)+公司", "党工委（管委会）+公司": "党工委(管委会)+公司",
                  "法定机构体制": "法定机构", "政区合一": "区政合一"}),
    "机构类别": Enum("机构类别", ("经济发展类", "综合保障类", "社会事务类"),
                 {"经济发展": "经济发展类", "综合保障": "综合保障类", "保障类": "综合保障类",
                  "社会事务": "社会事务类"}),
    "机构性质": Enum("机构性质", ("内设机构", "事业单位", "派驻机构"),
                 {"内设": "内设机构", "工作机构": "内设机构", "事业": "事业单位", "派驻": "派驻机构"}),
    "事业单位类型": Enum("事业单位类型", ("支持保障类", "科研创新类", "其他"),
                   {"保障类": "支持保障类", "科研类": "科研创新类"}),
    "是否": Enum("是否", ("是", "否"),
               {"Y": "是", "N": "否", "YES": "是", "NO": "否", "TRUE": "是", "FALSE": "否",
                "1": "是", "0": "否", "√": "是", "×": "否", "有": "是", "没有": "否"}),
    "方向": Enum("方向", ("正向", "负向"),
               {"逆向": "负向", "+": "正向", "-": "负向", "1": "正向", "-1": "负向",
                "效益型": "正向", "成本型": "负向", "越大越好": "正向", "越小越好": "负向"}),
    "考核等次": Enum("考核等次", ("优秀", "良好", "合格", "基本合格", "不合格", "A", "B", "C", "D"),
                 {"称职": "合格", "基本称职": "基本合格", "不称职": "不合格", "较好": "良好",
                  "一般": "基本合格", "差": "不合格"}),
}

# --------------------------------------------------------------------------- columns
TEXT, INT, FLOAT, RATIO, YEAR, ENUM, LIST = "text", "int", "float", "ratio", "year", "enum", "list"
# What a blank cell (or 无, —) means in a column: nothing there (0 / 否), or not known (数据缺失).
NONE, UNKNOWN = "none", "unknown"
KIND_NAMES = {TEXT: "文本", INT: "整数", FLOAT: "数值", RATIO: "比例", YEAR: "年份", ENUM: "枚举",
              LIST: "列表(；分隔)"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = TEXT
    dim: str | None = None          # money / area / energy / count / usd
    unit: str = ""                  # schema unit the value is stored in
    required: bool = False
    enum: str | None = None
    aliases: tuple[str, ...] = ()
    hint: str = ""
    signed: bool = False            # numbers may be negative (growth rates, changes)
    maximum: float | None = None    # largest allowed value (e.g. a share ≤ 1)
    blank: str = "unknown"          # what a blank, 「无」 or 「—」 means: NONE (0 / 否) or UNKNOWN (数据缺失)
    bound: float | None = None      # largest plausible magnitude (审核规则 QZ-04); default by dimension
    # What a blank (unknown) cell here leaves unchecked (e.g. 「领导职数核定」): a rule reading it gives
    # 数据缺失, and 数据校验 then names the cell with a 警告. Empty: no verdict depends on it.
    needed_for: str = ""
    # (other column, its values): rows whose other column holds one of them do not need this one
    # (机构类别 is counted for 内设机构 only: a 事业单位 row without it leaves nothing unknown).
    needed_unless: tuple[str, tuple[str, ...]] | None = None

    @property
    def limit(self) -> float:
        """The largest magnitude a value of this column may have, in its schema unit (QZ-04)."""
        if self.bound is not None:
            return self.bound
        return DIM_BOUNDS.get(self.dim or "", GENERAL_BOUND)

    @property
    def needs_unit(self) -> bool:
        """An amount, area, energy or mass: the workbook should state its unit."""
        return self.dim in STATED_UNIT_DIMS

    @property
    def blank_value(self) -> float | str | None:
        """The value a blank cell stands for: 0 (numbers) or 否 (yes/no) for NONE columns, else missing."""
        if self.blank != NONE:
            return None
        return "否" if self.enum == "是否" else 0.0

    @property
    def is_number(self) -> bool:
        return self.kind in (INT, FLOAT, RATIO, YEAR)

    def unknown_blank(self, rules: str) -> tuple[str, str]:
        """The 数据校验 警告 of a blank cell that made `rules` (规则编号) 数据缺失, and how to fill it."""
        how = self.hint or ("/".join(ENUMS[self.enum].values) if self.enum else "没有的填 0" if self.is_number else "")
        return (f"「{self.header}」为空：{rules} 判为数据缺失（{self.needed_for}无法检查）",
                f"填写「{self.header}」" + (f"（{how}）" if how else ""))

    def label(self) -> str:
        """Header as written in templates: name plus unit in brackets."""
        return f"{self.header}({self.unit})" if self.unit else self.header


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""
    # Rows are counted (机构设置: 内设机构数 …): a row naming its zone but with another key cell blank
    # is kept, not dropped, so that the zone's counts become unknown (数据缺失) — dropping it would
    # let a zone over its limit pass on the rows that remain.
    counted: bool = False

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        return tuple(self.column(k) for k in self.keys)


ZONE = Column("zone", "开发区名称", TEXT, required=True,
              aliases=("开发区", "园区名称", "开发区(园区)名称", "名称", "单位名称", "开发区全称"),
              hint="与「开发区」表中的名称完全一致")
YEAR_COL = Column("year", "年度", YEAR, required=True, aliases=("年份", "数据年度", "统计年度"),
                  hint="四位年份，如 2023")


def _money(key: str, header: str, *aliases: str, hint: str = "", blank: str = UNKNOWN, needed_for: str = "") -> Column:
    return Column(key, header, FLOAT, "money", "万元", aliases=aliases, hint=hint, blank=blank, needed_for=needed_for)


# What a blank leaves unchecked (Column.needed_for), where several columns share it.
LEADERSHIP, STAFFING = "领导职数核定", "在编人数不超过核定编制"
# 机构设置 counts its categories over 内设机构 only (engine/zones.py: a blank 机构性质 counts as one).
INTERNAL_ONLY = ("nature", tuple(v for v in ENUMS["机构性质"].values if v != "内设机构"))
# 事业单位类型 is read for 事业单位 rows only (a blank 机构性质 counts as 内设机构)
NOT_INSTITUTION = ("nature", (*(v for v in ENUMS["机构性质"].values if v != "事业单位"), None))


SHEETS: tuple[Sheet, ...] = (
    Sheet("zones", "开发区", (
        ZONE,
        Column("zone_id", "开发区编码", TEXT, aliases=("编码", "代码"), hint="可选，稳定编号如 QD01"),
        Column("region", "地区", TEXT, aliases=("所属市州", "地市"), hint="规则适用地区，如 青岛、宁夏"),
        Column("level", "级别", ENUM, enum="级别", required=True, aliases=("开发区级别",),
               hint="国家级 / 省级(含自治区级) / 市级", needed_for="按级别确定的领导职数、内设机构数"),
        Column("zone_type", "类型", ENUM, enum="类型", aliases=("开发区类型", "园区类型")),
        Column("county", "所属地区", TEXT, aliases=("所在区县", "所在区市", "所在县(市、区)", "所在地"),
               hint="所在县(市、区)，用于“一县一区”", needed_for="一县一区"),
        Column("admin_rank", "管理机构规格", ENUM, enum="管理机构规格", aliases=("机构规格", "规格"),
               needed_for="管理机构规格，及按规格确定的内设机构数"),
        Column("governance", "管理体制", ENUM, enum="管理体制", aliases=("体制", "管理模式"),
               needed_for="管理体制，及区政分设开发区的机构设置"),
        Column("blocks", "区块数", INT, "count", aliases=("区块个数",), needed_for="区块数"),
        Column("industries", "主导产业", LIST, aliases=("主导产业名称",), hint="用“；”分隔，1–3个",
               needed_for="主导产业个数与差异化分布"),
        Column("planned_area", "规划面积", FLOAT, "area", "平方公里", aliases=("核准面积",), bound=1e5),
        Column("hosts_subdistrict", "是否托管街道", ENUM, enum="是否", aliases=("托管街道",), needed_for="不托管街道"),
        Column("one_county_exempt", "一县一区豁免", ENUM, enum="是否", aliases=("是否豁免一县一区",),
               hint="空白按“否”", blank=NONE),
        Column("secretary_concurrent", "党工委书记兼任", ENUM, enum="是否",
               aliases=("党工委书记是否兼任", "书记是否兼任"),
               hint="党工委书记由设区市或所在县(市、区)党委、政府领导兼任填“是”", needed_for="党工委书记兼任"),
        Column("profile", "政策口径", TEXT, aliases=("规则口径",), hint="可选：该开发区适用的政策口径编号"),
    ), ("zone",), aliases=("开发区名录", "开发区基本情况", "名录", "基本情况"),
        description="每个开发区一行：级别、类型、体制、规格等基本情况"),
    Sheet("departments", "机构设置", (
        ZONE,
        Column("dept", "机构名称", TEXT, required=True, aliases=("内设机构名称", "部门名称", "机构")),
        Column("category", "机构类别", ENUM, enum="机构类别", aliases=("类别",),
               needed_for="综合保障类、经济发展类、社会事务类机构数", needed_unless=INTERNAL_ONLY),
        Column("frontline", "是否一线", ENUM, enum="是否", aliases=("一线机构", "是否一线机构"),
               hint="产业、招商等一线机构填“是”", needed_for="一线机构占比", needed_unless=INTERNAL_ONLY),
        Column("nature", "机构性质", ENUM, enum="机构性质", aliases=("性质",)),
        Column("unit_type", "事业单位类型", ENUM, enum="事业单位类型", hint="仅事业单位填写",
               needed_for="支持保障类事业单位数", needed_unless=NOT_INSTITUTION),
    ), ("zone", "dept"), aliases=("内设机构", "机构", "部门设置"),
        description="每个机构一行", counted=True),
    Sheet("posts", "职数编制", (
        ZONE,
        Column("principals", "正职职数", INT, "count", aliases=("正职",), needed_for=LEADERSHIP),
        Column("deputies", "副职职数", INT, "count", aliases=("副职",), needed_for=LEADERSHIP),
        Column("approved_staff", "核定编制", INT, "count", aliases=("编制数", "核定编制数"), needed_for=STAFFING),
        Column("actual_staff", "实有人数", INT, "count", aliases=("实有人员",),
               hint="全部在岗人员，含聘用人员", needed_for="人员总量控制、全员聘用、人员精减"),
        Column("in_post_staff", "在编人数", INT, "count", aliases=("在编人员", "现在编人数"),
               hint="占用编制的人员（行政编、事业编）；聘用人员不占编制",
               needed_for=STAFFING + "（未填时按「人员」表的编制身份统计）"),
        Column("headcount_cap", "人员总量控制数", INT, "count", aliases=("人员总量",), needed_for="人员总量控制"),
        Column("contract_staff", "聘任制人数", INT, "count", aliases=("聘任制人员",), needed_for="全员聘用"),
        Column("discipline_secretaries", "纪工委书记职数", INT, "count", aliases=("纪工委书记",),
               needed_for=LEADERSHIP),
        Column("bureau_posts", "厅级领导职数", INT, "count", aliases=("厅级职数",),
               hint="按厅级配备的领导职数；已核销的填 0", needed_for="厅级领导职数核销"),
        Column("section_principals", "科级正职职数", INT, "count", aliases=("正科职数",), needed_for="科级领导职数"),
        Column("section_deputies", "科级副职职数", INT, "count", aliases=("副科职数",), needed_for="科级领导职数"),
        Column("depts_before", "改革前机构数", INT, "count", hint="内设机构、事业单位等全部机构（与「机构设置」表各行对应）",
               needed_for="机构精减"),
        Column("staff_before", "改革前人员数", INT, "count", needed_for="人员精减"),
    ), ("zone",), aliases=("领导职数", "职数", "编制", "职数与编制"),
        description="每个开发区一行：领导职数、编制与人员"),
    Sheet("indicators", "指标", (
        ZONE, YEAR_COL,
        _money("tax", "税收收入", "税收", "实缴税收", "税收总额", needed_for="税收增量返还"),
        _money("tax_base", "税收基数", "基数税收", hint="税收返还的基数；空则用上年税收"),
        _money("fees", "行政事业性收费", "行政性收费", hint="空白或「无」按 0 计", blank=NONE),
        _money("land_income", "土地出让收益", "土地出让收入"),
        _money("actual_return", "实际返还金额", "实际返还", needed_for="是否足额返还"),
        Column("return_rate", "返还比例", RATIO, maximum=1.0, aliases=("税收返还比例",),
               hint="可选：本年实际执行的返还比例，如 60%"),
        _money("land_return", "土地收益返还", "土地出让收益返还"),
        _money("fixed_investment", "固定资产投资", "固定资产投资完成额", "固投"),
        _money("industrial_output", "规上工业总产值", "规模以上工业总产值", "规上工业产值"),
        _money("value_added", "工业增加值", "规上工业增加值"),
        _money("revenue", "营业收入", "技工贸总收入", "主营业务收入"),
        Column("land_area", "用地面积", FLOAT, "area", "亩", aliases=("已开发面积", "建成面积", "用地")),
        Column("energy", "综合能耗", FLOAT, "energy", "吨标准煤", aliases=("能耗", "综合能源消费量")),
        Column("emissions", "主要污染物排放量", FLOAT, "mass", "吨", aliases=("污染物排放量", "排放量")),
        _money("rd", "研发经费", "R&D经费", "R&D经费支出", "研发投入"),
        Column("employees", "从业人员", INT, "count", "人", aliases=("从业人员数", "年平均职工人数")),
        Column("firms", "规上工业企业数", INT, "count", "家", aliases=("规上企业数",)),
        Column("fdi", "实际使用外资", FLOAT, "usd", "万美元", aliases=("实际利用外资",)),
        _money("trade", "进出口总额", "外贸进出口"),
        Column("bonus", "加分", FLOAT, hint="考核加分（综合得分之后加）；空白按 0 计", blank=NONE, bound=100),
        Column("deduction", "扣分", FLOAT, hint="考核扣分；空白按 0 计", blank=NONE, bound=100),
        Column("veto", "一票否决", ENUM, enum="是否", hint="填“是”则当年不参与排名；空白按“否”", blank=NONE),
    ), ("zone", "year"), aliases=("经济指标", "指标数据", "考核指标"),
        description="每个开发区每年一行（长表）"),
    Sheet("indicator_system", "指标体系", (
        Column("indicator", "指标", TEXT, required=True, aliases=("指标名称", "考核指标")),
        Column("direction", "方向", ENUM, enum="方向", aliases=("指标方向", "属性")),
        Column("weight", "权重", FLOAT, aliases=("权数",)),
        Column("benchmark", "标杆值", FLOAT, aliases=("基准值", "标准值")),
        Column("group", "分组", TEXT, aliases=("一级指标", "层级")),
        Column("satisfactory", "满意值", FLOAT, signed=True),
        Column("impermissible", "不允许值", FLOAT, signed=True),
    ), ("indicator",), aliases=("评价指标体系", "权重"), description="每个考核指标一行"),
    Sheet("salary", "薪酬", (
        ZONE, YEAR_COL,
        Column("headcount", "核定人数", INT, "count", "人", aliases=("薪酬核定人数", "人数")),
        Column("base_standard", "基础薪酬标准", FLOAT, "money", "万元", aliases=("人均基础薪酬",),
               hint="每人每年"),
        Column("performance_ratio", "绩效薪酬系数", FLOAT),
        _money("target_tax", "税收目标", "税收目标值"),
        _money("target_investment", "固定资产投资目标", "固投目标"),
        _money("target_output", "规上工业总产值目标", "产值目标"),
        _money("project_reward", "项目奖励", "项目奖励金额", hint="空白或「无」按 0 计", blank=NONE),
        _money("cap", "薪酬总额上限", "上限"),
    ), ("zone", "year"), aliases=("薪酬总额", "薪酬测算参数"), description="每个开发区每年一行"),
    Sheet("staff", "人员", (
        Column("name", "姓名", TEXT, required=True),
        Column("person_id", "人员编号", TEXT, aliases=("编号",)),
        Column("zone", "开发区名称", TEXT, aliases=ZONE.aliases),
        Column("post", "岗位", TEXT, aliases=("岗位名称", "职务")),
        Column("post_coef", "岗位系数", FLOAT),
        Column("status", "编制身份", TEXT, aliases=("身份",)),
        Column("concurrent", "是否兼任", ENUM, enum="是否", aliases=("兼任", "是否兼职领导"),
               hint="由市领导或地方领导班子成员兼任的填“是”：不参与薪酬分配（LY-11）"),
        Column("score_test", "知识测试", FLOAT, aliases=("笔试", "知识测试成绩")),
        Column("score_speech", "竞聘演讲", FLOAT, aliases=("演讲", "竞聘演讲成绩")),
        Column("score_inspection", "联合考察", FLOAT, aliases=("考察评定", "考察")),
        Column("grade", "考核等次", ENUM, enum="考核等次", aliases=("年度考核等次", "等次")),
    ), ("person_id", "name"), aliases=("人员名册", "花名册", "人员信息"), description="每人一行"),
    Sheet("history", "历年排名", (
        ZONE, YEAR_COL,
        Column("group", "分组", TEXT, aliases=("考核分组",)),
        Column("score", "综合得分", FLOAT, signed=True, aliases=("得分",)),
        Column("rank", "总排名", INT, aliases=("排名", "名次")),
        Column("group_rank", "组内排名", INT, aliases=("组内名次",)),
        Column("grade", "等次", ENUM, enum="考核等次", aliases=("考核等次",)),
    ), ("zone", "year"), aliases=("往年排名", "历史排名", "考核结果"), description="往年考核结果"),
    Sheet("params", "参数", (
        Column("item", "项目", TEXT, required=True, aliases=("参数", "参数名称", "参数代码")),
        Column("value", "值", TEXT, aliases=("参数值", "取值")),
        Column("note", "说明", TEXT, aliases=("备注",)),
    ), ("item",), aliases=("参数设置", "设置"), description="政策口径、考核年度、评价方法等"),
)

SHEETS_BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}
# (Result sheets — what xltools writes — are declared in results.py.)

# Sheet names that say nothing of the table: what spreadsheet programs give new sheets (Excel/WPS:
# Sheet1, LibreOffice: 工作表1) and the numbers of government forms (表1, 表二, 附表3-1 …, with or
# without a title). Such sheets are recognised by their header instead.
UNNAMED_SHEET = re.compile(r"^(sheet|工作表|附?表)\s*[\d一二三四五六七八九十]+", re.IGNORECASE)

# 参数 items that pick a policy profile (政策口径).
PROFILE_KEYS = ("政策口径", "profile", "规则口径")
# A 参数 item 「规则编号.参数」 (e.g. QD-09.max) overrides one rule parameter.
RULE_OVERRIDE = re.compile(r"^[A-Z]{2}-\d+\.[a-z_]+$")
# The other 参数 items the engine reads (item → what it sets; the method names each accepts are
# listed in the generated docs from the scoring kernels). Any other item is kept for the reader only.
PARAM_ITEMS: dict[str, str] = {
    "考核年度": "排名所用的年度（默认为数据中最新年度）",
    "评价方法": "综合得分的计算方法",
    "标准化方法": "指标标准化方法",
    "赋权方法": "指标赋权方法",
    "缺失值处理": "指标缺失值的处理",
    "分组依据": "分组排名所依据的「开发区」表列名，多个用顿号分隔",
    "AHP判断矩阵": "如 1,3,5;1/3,1,3;1/5,1/3,1（赋权方法为 ahp 时）",
    "组合系数": "combined 赋权中主观权重所占比例 α（0–1）",
}
# 人员.编制身份 → holds 编制? Checked in order, first match wins (聘用 staff under 全员聘用 hold none;
# QD-19, LE-19). A status matching none of them is unknown.
STAFFING_STATUS: tuple[tuple[str, bool], ...] = (
    ("编外", False), ("无编", False), ("聘", False), ("合同", False), ("派遣", False), ("劳务", False),
    ("编", True), ("公务员", True), ("参公", True),
)
# Rows whose key cell holds one of these words are totals, not zones.
TOTAL_WORDS = ("合计", "小计", "总计", "全市合计", "全区合计", "合  计")
# Text that means "no value".
PLACEHOLDERS = ("", "—", "——", "-", "--", "－", "/", "无", "空", "暂无", "N/A", "NA", "n/a")
ERROR_VALUES = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!")


# --------------------------------------------------------------------------- 审核规则
# Plausibility checks, split as statistical reporting systems split their 审核公式:
# 强制性审核 fail with a 错误 at the cell and the value is not used; 核实性审核 ask the sender to
# confirm with a 警告 and the value is used. docs/审核规则.md is generated from these declarations.
HARD, SOFT = "强制性审核", "核实性审核"

# Largest plausible magnitude per dimension, in the schema unit (QZ-04); Column.bound overrides.
DIM_BOUNDS: dict[str, float] = {"money": 1e9, "usd": 1e8, "area": 1e8, "energy": 1e9, "mass": 1e9, "count": 1e8}
GENERAL_BOUND = 1e9          # any other number (scores, coefficients, ranks)
YEAR_RANGE = (1990, 2100)
MAX_DIGITS = 15              # significant digits a number may have (Excel keeps 15)
MEDIAN_FACTOR = 1000.0       # ≥ this many times (or ≤ 1/this) the median of its column: confirm
MEDIAN_MIN_VALUES = 3        # fewer positive values than this have no meaningful median
YEAR_FACTOR = 4.0            # more than this many times (or less than 1/this) its own previous year
INTENSITY_FACTOR = 100.0     # per unit of land ≥ this many times (or ≤ 1/this) the column's median: confirm
# The column amounts are divided by for HS-03 (亩均: a value in the wrong unit stands out even where
# zones differ a thousandfold in size and all of one zone's years are wrong alike). Zone-level rows only.
INTENSITY_BASE = {"indicators": "land_area"}


@dataclass(frozen=True)
class Audit:
    id: str
    kind: str                 # HARD or SOFT
    name: str                 # what is checked, as the 数据校验 row and the docs say it
    applies: str              # which columns
    bound: str                # the bound, in words
    hint: str                 # how to confirm or fix

    @property
    def level(self) -> str:
        return ERROR if self.kind == HARD else WARNING

    def tag(self) -> str:
        """What closes the 数据校验 message: the rule, and for 核实性审核 its bound (the hard rules'
        messages state theirs)."""
        bound = f"，界限：{self.bound}" if self.kind == SOFT else ""
        return f"（审核规则 {self.id}：{self.name}{bound}）"


AUDITS: tuple[Audit, ...] = (
    Audit("QZ-01", HARD, "不能为负数", "金额、面积、能耗、人数等所有数值列（增长率、得分等标明可为负的列除外）",
          "≥ 0", "核对数据，负数通常是录入错误；减少额请填在说明中"),
    Audit("QZ-02", HARD, "比例不能超过 100%", "比例列（如 返还比例）", "0–1（0%–100%）",
          "比例请填写 0–1 之间的小数或百分数，如 0.6 或 60%"),
    Audit("QZ-03", HARD, "年份须在合理范围内", "年度列", f"{YEAR_RANGE[0]}–{YEAR_RANGE[1]}", "填写四位年份，如 2023"),
    Audit("QZ-04", HARD, "数值超出本列上限", "所有数值列（上限见下表，按本列单位）", "见下表",
          "核对单位和位数：是否多打了 0，或把元当作万元填写"),
    Audit("QZ-05", HARD, f"数字超过 {MAX_DIGITS} 位有效数字", "以文本填写的数字", f"≤ {MAX_DIGITS} 位有效数字",
          "Excel 只能精确保存 15 位有效数字：核对是否误填了编号或多余的数字"),
    Audit("QZ-06", HARD, "整数列须为整数", "人数、个数、年份等整数列", "整数", "填写整数"),
    Audit("QZ-07", HARD, "工业增加值不能大于规上工业总产值", "指标：工业增加值、规上工业总产值", "工业增加值 ≤ 规上工业总产值",
          "核对两项数据及其单位：增加值是总产值的一部分"),
    Audit("QZ-08", HARD, "副职职数不能大于实有人数", "职数编制：副职职数、实有人数", "副职职数 ≤ 实有人数",
          "核对两项数据：副职须在实有人员之中"),
    Audit("HS-01", SOFT, "与同列中位数相差悬殊", "金额、面积、能耗、人数等有单位的列（同一表同一列，一起读入的全部开发区与文件）",
          f"≥ 中位数的 {MEDIAN_FACTOR:,.0f} 倍，或 ≤ 其 1/{MEDIAN_FACTOR:,.0f}（至少 {MEDIAN_MIN_VALUES} 个非零值时）",
          "确认数值和单位（如 元/万元/亿元、亩/公顷）；无误可忽略本警告"),
    Audit("HS-02", SOFT, "与本开发区上年相比变化过大", "「指标」「薪酬」表中有单位的列", f"> 上年的 {YEAR_FACTOR:g} 倍，或 < 上年的 1/{YEAR_FACTOR:g}",
          "确认本年和上年数据及单位；无误可忽略本警告"),
    Audit("HS-03", SOFT, "亩均值与同列中位数相差悬殊", "「指标」表中金额、能耗等有单位的列，除以同一行的用地面积（报送了「开发区」表的工作簿；企业亩均表不适用）",
          f"≥ 中位数的 {INTENSITY_FACTOR:,.0f} 倍，或 ≤ 其 1/{INTENSITY_FACTOR:,.0f}（至少 {MEDIAN_MIN_VALUES} 个非零值时）",
          "确认该数值与用地面积的单位（如 元/万元/亿元、亩/公顷）；无误可忽略本警告"),
)
AUDITS_BY_ID: dict[str, Audit] = {a.id: a for a in AUDITS}
# Cross-column hard checks: (rule, sheet key, column that may not exceed, the column it may not exceed).
RELATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("QZ-07", "indicators", "value_added", "industrial_output"),
    ("QZ-08", "posts", "deputies", "actual_staff"),
)


# --------------------------------------------------------------------------- matching
_BRACKET_UNIT = re.compile(r"[（(\[【]([^()（）\[\]【】]*)[)）\]】]\s*$")


_WS = re.compile(r"\s+")


@lru_cache(maxsize=16384)
def _normalize(text: str) -> str:
    return _WS.sub("", unicodedata.normalize("NFKC", text)).lstrip("*")


def normalize_text(text: object) -> str:
    """Fold full/half-width forms, drop all white space and a leading '*' (required mark)."""
    if isinstance(text, str) and text.isalnum() and unicodedata.is_normalized("NFKC", text):
        return text              # nothing to fold: 人员编号 and names do not crowd the cache
    return _normalize(text if isinstance(text, str) else str(text))


def plain_texts(texts: list[str]) -> bool:
    """Are these texts (non-empty ones) letters and digits only, widths folded — what normalize_text
    leaves alone? One test of the joined texts, not one per text (NFKC never joins across a newline)."""
    return "".join(texts).isalnum() and unicodedata.is_normalized("NFKC", "\n".join(texts))


def normalize_texts(values: list) -> list:
    """normalize_text of each text in `values` (None and other cells kept), once per distinct text;
    `values` itself when no text needs it (names, codes)."""
    distinct = list(dict.fromkeys(v for v in values if isinstance(v, str)))
    if plain_texts(distinct) or not distinct:
        return values
    table = {v: normalize_text(v) for v in distinct}
    return [table[v] if isinstance(v, str) else v for v in values]


def split_header(text: object) -> tuple[str, str]:
    """'税收收入（亿元）' → ('税收收入', '亿元'); '单位:万元' style units are handled by the caller."""
    s = normalize_text(text)
    m = _BRACKET_UNIT.search(s)
    if m:
        inner = m.group(1).replace("单位:", "").replace("单位", "")
        return s[: m.start()], inner
    return s, ""


def header_lookup(sheet: Sheet) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for col in sheet.columns:
        for name in (col.header, *col.aliases):
            table.setdefault(normalize_text(name), col)
    return table


@lru_cache(maxsize=4096)
def find_sheet(name: str) -> Sheet | None:
    """Match a worksheet name by alias, ignoring spaces, width and a bracketed suffix."""
    base, _ = split_header(name)
    norm = normalize_text(name)
    for sheet in SHEETS:
        names = {normalize_text(n) for n in (sheet.name, *sheet.aliases)}
        if norm in names or base in names:
            return sheet
    return None
