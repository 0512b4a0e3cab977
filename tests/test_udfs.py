"""The =XT_… functions through xlwings' own argument and return converters.

Excel hands a UDF 2-D lists, None for blank cells and floats for integers; xlwings converts
them by each function's @arg/@ret options, and converts the result back. Here the functions
are loaded with xlwings' real decorators and called through `xlwings.conversion`, exactly the
path `xlwings.udfs.call_udf` takes (minus COM).
"""

from __future__ import annotations

import pytest
from xlwings import conversion

from xltools.addin import real_udf_module

ENGINE = "remote"
UDF = real_udf_module()


def call(name, *excel_args):
    func = getattr(UDF, name)
    meta = func.__xlfunc__
    # an omitted optional argument reaches the function as its Python default, unconverted
    args = [spec["optional"] if value is None and "optional" in spec
            else conversion.read(None, value, spec["options"], engine_name=ENGINE)
            for value, spec in zip(excel_args, meta["args"])]
    result = func(*args)
    return conversion.write(result, None, meta["ret"]["options"], engine_name=ENGINE)


def test_every_udf_is_declared_with_chinese_docs():
    names = [n for n in dir(UDF) if n.startswith("XT_")]
    assert len(names) == 9
    for n in names:
        meta = getattr(UDF, n).__xlfunc__
        assert any("\u4e00" <= ch <= "\u9fff" for ch in meta["ret"]["doc"]), n   # the function's docstring
        for arg in meta["args"]:
            assert arg.get("doc"), (n, arg["name"])


def test_rank_column_with_blanks_and_text():
    out = call("XT_RANK", [[90.0], [None], [85.0], ["90"], [70.0]])
    assert out == [[1.0], [""], [3.0], [1.0], [4.0]]


def test_rank_groups_and_ascending():
    assert call("XT_RANK", [[1.0], [2.0], [3.0], [4.0]], [["甲"], ["乙"], ["甲"], ["乙"]]) == [[2.0], [2.0], [1.0], [1.0]]
    assert call("XT_RANK", [[3.0], [1.0], [2.0]], None, 1.0) == [[3.0], [1.0], [2.0]]


def test_single_cell_range_is_still_2d():
    assert call("XT_RANK", 5.0) == [[1.0]]


def test_score_weights_and_directions():
    matrix = [[10.0, 4.0], [20.0, 3.0], [30.0, 2.0], [40.0, 1.0]]
    out = call("XT_SCORE", matrix, [[3.0, 1.0]])
    assert [r[0] for r in out] == pytest.approx([0.25, 1 / 3 * 0.75 + 2 / 3 * 0.25, 2 / 3 * 0.75 + 1 / 3 * 0.25, 0.75])
    cost = call("XT_SCORE", matrix, [[1.0, 1.0]], [["正向", "负向"]])
    assert [r[0] for r in cost] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert call("XT_SCORE", [[1.0, None], [2.0, 3.0]], [[1.0, 1.0]])[0] == [""]


def test_weights_row_sums_to_one():
    out = call("XT_WEIGHTS", [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]], [[1.0, -1.0]])
    assert len(out) == 1 and sum(out[0]) == pytest.approx(1.0)
    ahp = call("XT_WEIGHTS", None, None, "ahp", [[1.0, 3.0], [1 / 3, 1.0]])
    assert ahp[0] == pytest.approx([0.75, 0.25])


def test_normalize_grade_per_mu():
    assert call("XT_NORMALIZE", [[2.0], [4.0], [6.0]], "efficacy") == [[60.0], [80.0], [100.0]]
    assert call("XT_GRADE", [[95.0], [85.0], [59.0]], [[90.0, 60.0]], [["优秀", "合格", "不合格"]]) == \
        [["优秀"], ["合格"], ["不合格"]]
    assert call("XT_PER_MU", [[100.0], [50.0]], [[4.0], [0.0]]) == [[25.0], [""]]


def test_quota_salary_tax_as_excel_calls_them():
    assert call("XT_QUOTA", "国家级", 9.0, 1.0, 4.0, "qingdao") == [["不合规", "QD-09：内设机构数 9，超过上限 8"]]
    pool = call("XT_SALARY_POOL", 10.0, 10.0, 0.5, [[50.0, 100.0, 150.0]], [[100.0, 200.0, 300.0]])
    assert pool == [[100.0, 40.0, 0.0, 140.0]]
    assert call("XT_TAX_RETURN", 280000.0, 184200.0, 8000.0) == [[pytest.approx(62280.0)]]


def test_errors_are_short_chinese_messages():
    out = call("XT_RANK", [[1.0], [2.0]], [["甲"]])
    assert out[0][0].startswith("错误：") and "行数" in out[0][0]
    assert call("XT_NORMALIZE", [[1.0]], "nosuch")[0][0].startswith("错误：")
    assert call("XT_SCORE", [[1.0]], [[1.0]], [["上升"]])[0][0].startswith("错误：")
