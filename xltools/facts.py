"""The facts a quota rule may name, and their Chinese names.

Declared apart from the engine so that `xltools profiles show` names a rule's facts without
loading pandas; the engine (engine/quota.py) computes them.
"""

from __future__ import annotations

from .schema import SHEETS_BY_KEY

POSTS_COLUMNS = {"principals": "principals", "deputies": "deputies", "approved_staff": "approved_staff",
                 "actual_staff": "actual_staff", "in_post_staff": "in_post_staff", "headcount_cap": "headcount_cap",
                 "contract_staff": "contract_staff", "section_principals": "section_principals",
                 "section_deputies": "section_deputies", "discipline_secretaries": "discipline_secretaries",
                 "bureau_posts": "bureau_posts", "depts_before": "departments_before",
                 "staff_before": "staff_before"}
ZONE_FACTS = ("zone", "level", "zone_type", "county", "admin_rank", "governance", "blocks", "hosts_subdistrict",
              "one_county_exempt", "secretary_concurrent", "region", "industries")
TEXT_FACTS = ("hosts_subdistrict", "one_county_exempt", "secretary_concurrent", "governance", "level",
              "admin_rank", "county", "zone", "zone_type", "region", "industry_list", "dept_names")
# Facts counted by the engine; every other fact is a schema column and takes its Chinese header from there.
COUNTED_FACTS = {
    "departments": "内设机构数", "support_departments": "综合保障类机构数",
    "frontline_departments": "一线机构数", "economic_departments": "经济发展类机构数",
    "social_departments": "社会事务类机构数", "support_institutions": "支持保障类事业单位数",
    "industries": "主导产业个数", "industry_list": "主导产业", "dept_names": "机构名称",
    "institutions": "机构总数",
}
# Facts counted from 机构设置: unknown (NaN) for a zone with no rows there — never 0.
DEPT_FACTS = ("departments", "institutions", "support_departments", "frontline_departments", "economic_departments",
              "social_departments", "support_institutions", "dept_names")
# Chinese names of the facts a rule may refer to (used in 说明 and error messages).
FACT_NAMES = {
    **{POSTS_COLUMNS[c.key]: c.header for c in SHEETS_BY_KEY["posts"].columns if c.key in POSTS_COLUMNS},
    **{c.key: c.header for c in SHEETS_BY_KEY["zones"].columns if c.key in ZONE_FACTS},
    **COUNTED_FACTS,
}
NUMERIC_FACTS = [k for k in FACT_NAMES if k not in TEXT_FACTS]
# The input column (sheet key, column key) a blank of which leaves a fact unknown: a 数据缺失 verdict of a
# rule reading the fact names those blank cells in 数据校验. 机构设置's counts are unknown where a 内设机构
# row leaves its 机构类别 or 是否一线 blank (engine/zones.py).
FACT_COLUMNS: dict[str, tuple[str, str]] = {
    **{fact: ("posts", column) for column, fact in POSTS_COLUMNS.items()},
    **{fact: ("zones", fact) for fact in ZONE_FACTS if fact != "zone"},
    "industry_list": ("zones", "industries"),
    **{fact: ("departments", "category") for fact in ("support_departments", "economic_departments",
                                                      "social_departments")},
    "frontline_departments": ("departments", "frontline"),
    "support_institutions": ("departments", "unit_type"),
}
