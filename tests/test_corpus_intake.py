"""Intake of a realistic batch (benchmarks/corpus.py, messy: every cell form officials write): reading
the files together equals reading each alone, and every typed value and problem equals what the
per-cell typing produced before column-at-a-time typing (snapshot written by 6acab77).

Refresh the snapshot only for an intended change: `python tests/test_corpus_intake.py --update`.
"""

from __future__ import annotations

import gzip
import json
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from corpus import make_corpus  # noqa: E402

from books import assert_same_books  # noqa: E402
from xltools.batch import read_chunk  # noqa: E402
from xltools.intake import read_book, read_books, table  # noqa: E402

SNAPSHOT = Path(__file__).parent / "snapshot" / "corpus_intake.json.gz"
FILES, SEED = 20, 18


def corpus(folder: Path) -> list[Path]:
    return make_corpus(folder, FILES, SEED, messy=True)


def _plain(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def describe(books) -> list[dict]:
    """Everything intake produced, as JSON: problems with their cells, each table's typed columns."""
    out = []
    for b in books:
        tables = {}
        for key, t in b.tables.items():
            tables[key] = {"title": t.title, "columns": t.columns, "header_row": t.header_row,
                           "units": {k: list(v) for k, v in t.units.items()},
                           "values": {k: {"dtype": v.dtype.str if isinstance(v, np.ndarray) else "list",
                                          "cells": [_plain(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]}
                                      for k, v in t.values.items()}}
        out.append({"name": b.name, "usable": b.usable, "problems": [list(p.as_row().values()) for p in b.problems],
                    "tables": tables})
    return out


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return corpus(tmp_path_factory.mktemp("corpus"))


def test_typed_values_and_problems_are_those_of_the_per_cell_typing(paths):
    want = json.loads(gzip.decompress(SNAPSHOT.read_bytes()))
    got = json.loads(json.dumps(describe(read_books(paths))))
    assert [b["name"] for b in got] == [b["name"] for b in want]
    for g, w in zip(got, want):
        assert g["problems"] == w["problems"], g["name"]
        assert list(g["tables"]) == list(w["tables"]), g["name"]
        for key, tw in w["tables"].items():
            tg = g["tables"][key]
            for col, vw in tw["values"].items():
                assert tg["values"][col] == vw, (g["name"], key, col)
            assert tg == tw, (g["name"], key)


@pytest.mark.parametrize("chunk_rows", [5000, 7])
def test_read_together_equals_read_alone(paths, monkeypatch, chunk_rows):
    """As batch reads them: a chunk of files typed together, shipped from a worker (pickled)."""
    monkeypatch.setattr(table, "CHUNK_ROWS", chunk_rows)          # 7: flushes inside and across files
    together = pickle.loads(pickle.dumps(read_chunk([str(p) for p in paths])))
    table.CHUNK_ROWS = 5000
    alone = [read_book(p, audit=False) for p in paths]
    assert sum(len(b.problems) for b in alone) > 100
    assert_same_books(together, alone)


if __name__ == "__main__" and "--update" in sys.argv:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        data = json.dumps(describe(read_books(corpus(Path(tmp)))), ensure_ascii=False)
    SNAPSHOT.write_bytes(gzip.compress(data.encode(), mtime=0))
    print(f"wrote {SNAPSHOT} ({SNAPSHOT.stat().st_size:,} bytes)")
