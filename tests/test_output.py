"""Result workbooks: text never becomes a formula, and writes are atomic."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xltools.output.workbook import write_results


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    frame = pd.DataFrame({"问题": ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "普通文字"], "值": [1, 2.5, None, 4, 5]})
    path = write_results(tmp_path / "out.xlsx", {"数据校验": frame})
    ws = openpyxl.load_workbook(path)["数据校验"]
    for r in range(2, 7):
        cell = ws.cell(r, 1)
        assert cell.data_type == "s"
        assert cell.value == frame["问题"][r - 2]
    assert ws.cell(2, 1).quotePrefix and not ws.cell(6, 1).quotePrefix
    assert ws.cell(4, 2).value is None


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "结果.xlsx"
    target.write_bytes(b"old")

    def boom(self, *a, **k):
        raise RuntimeError("interrupted")

    monkeypatch.setattr("xltools.output.workbook.ResultWriter.write_frame", boom)
    with pytest.raises(RuntimeError):
        write_results(target, {"x": pd.DataFrame({"a": [1]})})
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["结果.xlsx"]


def test_stale_partial_files_are_cleared(tmp_path):
    stale = tmp_path / ".~xltools-partial-结果.abc123.xlsx"
    stale.write_bytes(b"half")
    write_results(tmp_path / "结果.xlsx", {"x": pd.DataFrame({"a": [1]})})
    assert not stale.exists() and (tmp_path / "结果.xlsx").exists()


def test_column_fast_paths_write_the_same_xml_as_the_cell_by_cell_path():
    """Typed columns take shortcuts (`_number_cells`, `_text_cells`); the XML must not change."""
    import numpy as np
    from xltools.output.workbook import _cells_xml, _number_cells, _text_cells, row_numbers

    xf = {"header": 1, "int": 2, "num": 3, "quoted": 4}
    floats = np.array([1.0, 2.5, np.nan, -0.0, 1e15, 123456789.0, np.inf, -3.25, 1e-7])
    rows = row_numbers(5, len(floats))
    assert _number_cells(floats, 2, rows, xf) == _cells_xml(floats.tolist(), 2, rows, xf)
    ints = np.array([0, -7, 2**40])
    assert _number_cells(ints, 0, rows[:3], xf) == _cells_xml(ints.tolist(), 0, rows[:3], xf)
    texts = pd.array(["合规", None, "=SUM(A1)", "a<b&c", "合规", "-1", "\x01控制"], dtype="string")
    values = pd.Series(texts).to_numpy(dtype=object).tolist()
    rows = row_numbers(2, len(values))
    expected = _cells_xml([v if isinstance(v, str) else None for v in values], 27, rows, xf)
    assert _text_cells(values, 27, rows, xf) == expected
    assert expected[0] == '<c r="AB2" t="inlineStr"><is><t xml:space="preserve">合规</t></is></c>' and expected[1] == ""
