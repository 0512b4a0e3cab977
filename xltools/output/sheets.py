"""How result sheets look: stored floats rounded, numbers shown as their column's format shows them.

What each result sheet is — its columns, each column's unit and kind (→ number format, `FORMATS`),
its title — is declared once in `xltools/results.py`; this module holds what output does with a
declaration. A column that is not declared is formatted by what it holds (a column of whole
numbers as a count, other numbers with two decimals), so a new engine column never breaks the
writer — but it should be declared.

Readers match headers ignoring a trailing unit in brackets (`schema.split_header`), as intake does
for input sheets, so 「返还金额(万元)」 is still the plain column 返还金额.
"""

from __future__ import annotations

import numpy as np

from ..results import FORMATS, UNITS, ResultColumn, ResultSheet, declaration

__all__ = ["FORMATS", "ResultColumn", "ResultSheet", "declaration", "round_stored", "shown", "plain_header"]

SIGNIFICANT = 10                 # stored floats keep 10 significant digits (float noise removed)


def round_stored(values: np.ndarray, kind: str) -> np.ndarray:
    """Floats as stored: money to the cent, scores as ranked (unchanged), others to 10 significant
    digits — 184200.00000000003 is stored as 184200."""
    if values.dtype.kind != "f" or kind in ("score", "text"):
        return values
    if kind == "money":
        return np.round(values, 2)
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    v = values[finite]
    exp = np.floor(np.log10(np.abs(v))).astype(int) - (SIGNIFICANT - 1)   # digit position of the last kept digit
    small = exp < 0                                            # an integer divided by 10^k: correctly rounded
    r = np.empty_like(v)
    p = 10.0 ** (-exp[small])
    r[small] = np.round(v[small] * p) / p
    q = 10.0 ** exp[~small]
    r[~small] = np.round(v[~small] / q) * q
    out[finite] = r
    return out


def shown(value: object, kind: str) -> str:
    """A number as its column's format shows it, for text (the 通报's tables): 0.06 of a share as
    6.0%, 万元 as 1,234.50, a count as 12; blank as —; text unchanged."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    v = float(value)
    if not np.isfinite(v):
        return "—"
    fmt = FORMATS.get(kind)
    if fmt is None:
        return f"{v:.2f}" if not v.is_integer() else str(int(v))
    if fmt.endswith("%"):
        return f"{v:.{len(fmt) - fmt.index('.') - 2 if '.' in fmt else 0}%}"
    if fmt == "+0;-0;0":
        return f"{v:+.0f}" if round(v) else "0"
    digits = len(fmt) - fmt.index(".") - 1 if "." in fmt else 0
    return f"{v:,.{digits}f}" if fmt.startswith("#,##") else f"{v:.{digits}f}"


def plain_header(header: str) -> str:
    """「返还金额(万元)」 → 「返还金额」: the plain name of a result column written with the unit
    its declaration adds (a unit that is part of the name, as in 「绩效薪酬(元)」, stays)."""
    for unit in UNITS:
        if header.endswith(f"({unit})"):
            return header[:-len(unit) - 2]
    return header
