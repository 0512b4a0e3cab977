"""Books packed for the trip from a worker process (or a Dask worker) to the parent.

A chunk's books travel as one array (or list) per column of each sheet kind, plus a small header
per table, instead of a handful of small objects per file: less to pack, send and unpack. The
parent gets the same Books back, their numeric columns as views into the joined arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..problems import Problem
from ..schema import SHEETS_BY_KEY
from . import Book
from .table import SheetTable


class Shipment(list):
    """The books of one chunk; pickled packed (see the module docstring)."""

    def __reduce__(self):
        heads, pieces = [], {}
        for b in self:
            tables = []
            for key, t in b.tables.items():
                for k, v in t.values.items():
                    pieces.setdefault((key, k), []).append(v)
                tables.append((key, t.title, t.columns, t.header_row, t.problems, len(t), list(t.values), t.units))
            heads.append((str(b.path), b.name, b.usable, b.result_workbook, [tuple(vars(p).values()) for p in b.problems],
                          tables))
        return (unpack, (heads, {k: join(v) for k, v in pieces.items()}))


def join(pieces: list) -> tuple[bool, object]:
    """(joined?, one array or list for all pieces — or the pieces themselves when they differ in type)."""
    if all(isinstance(p, np.ndarray) for p in pieces) and len({p.dtype for p in pieces}) == 1:
        return True, np.concatenate(pieces)
    if all(isinstance(p, list) for p in pieces):
        return True, [v for p in pieces for v in p]
    return False, pieces


def unpack(heads, blocks) -> list[Book]:
    """The books a Shipment was packed from."""
    at = dict.fromkeys(blocks, 0)
    books = []
    for path, name, usable, result_workbook, problems, tables in heads:
        book = Book(Path(path), name, problems=[Problem(*p) for p in problems], usable=usable,
                    result_workbook=result_workbook)
        for key, title, columns, header_row, table_problems, n, keys, units in tables:
            values = {}
            for k in keys:
                joined, data = blocks[(key, k)]
                i = at[(key, k)]
                values[k] = data[i:i + n] if joined else data[i]      # numbers: a view, no copy
                at[(key, k)] = i + n if joined else i + 1
            book.tables[key] = SheetTable(SHEETS_BY_KEY[key], title, values, columns, header_row, table_problems, units)
        books.append(book)
    return books
