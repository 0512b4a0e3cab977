"""Compare two lists of intake Books field by field (tables, values, problems with their cells)."""

from __future__ import annotations

import numpy as np


def assert_same_books(got, expected) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert (a.name, a.usable, [p.as_row() for p in a.problems]) == \
            (b.name, b.usable, [p.as_row() for p in b.problems])
        assert list(a.tables) == list(b.tables)
        for key, ta in a.tables.items():
            tb = b.tables[key]
            assert (ta.title, ta.columns, ta.header_row, ta.problems, list(ta.values)) == \
                (tb.title, tb.columns, tb.header_row, tb.problems, list(tb.values))
            for col, va in ta.values.items():
                vb = tb.values[col]
                if isinstance(va, np.ndarray):
                    assert va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=True), (a.name, key, col)
                else:
                    assert va == vb, (a.name, key, col)
