"""Excel worksheet functions (=XT_…), thin wrappers over the engine (SPEC §6.1).

Each function takes what Excel passes (numbers as floats, blanks as None, text) and returns
Excel-shaped values; errors come back as a short Chinese message in the cell, never a
traceback. On Windows/macOS xlwings registers them from these decorators; on Linux the
decorators are no-ops and the functions are plain Python (tests call them both ways).
"""

from __future__ import annotations

import xlwings as xw

from .engine import quota_one
from .intake.coerce import parse_number_text
from .profiles import ProfileError
from .schema import ENUMS, normalize_text


def _number(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}应为数字")
    if isinstance(value, (int, float)):
        return float(value)
    num, err, _ = parse_number_text(str(value), None, "", False)
    if err:
        raise ValueError(f"{name}应为数字")
    return num


def _level(value: object) -> str | None:
    if value is None or value == "":
        return None
    level = ENUMS["级别"].lookup().get(normalize_text(value))
    if level is None:
        raise ValueError(f"级别「{value}」无法识别（国家级/省级/市级）")
    return level


@xw.func
@xw.arg("level", doc="开发区级别：国家级、省级（自治区级）或市级")
@xw.arg("departments", doc="内设机构个数")
@xw.arg("principals", doc="正职领导职数")
@xw.arg("deputies", doc="副职领导职数")
@xw.arg("profile", doc="政策口径编号，如 qingdao、ningxia；省略为 default")
@xw.ret(expand="table")
def XT_QUOTA(level=None, departments=None, principals=None, deputies=None, profile="default"):
    """编制合规检查：按政策口径检查内设机构数与领导职数，返回一行两格：结论、说明。"""
    try:
        verdict, note = quota_one(_level(level), _number(departments, "内设机构数"),
                                  _number(principals, "正职职数"), _number(deputies, "副职职数"),
                                  str(profile or "default"))
    except (ValueError, ProfileError) as exc:
        return [["错误", str(exc)]]
    return [[verdict, note]]
