"""Find and decode the cells of a piece of worksheet XML with numpy, a whole piece at a time.

The piecewise reader (xlsxstream) cuts a huge sheet's XML into pieces of complete `<row>`s. A
regular expression over such a piece makes a Python tuple of five strings per cell, and typing
them costs more Python calls per cell: ~2.5 µs a cell, five times what python-calamine needs.
Here a piece is a byte array. One comparison finds every `<`, and the two bytes after each say
which tag it opens; since tags do not nest inside a cell's start tag, counting tags pairs each
cell with its attributes, its value and its end. The eight bytes at any position, read as one
64-bit word (a strided view of the bytes, no copy), hold a reference, a style number, a
shared-string index or a short decimal, decoded for all cells at once with integer arithmetic
("SWAR"). Only texts are taken one by one (a slice each), and numbers in other notations
(exponents, 17 digits as Excel writes them) go to numpy's own conversion.

Only the layout every common writer uses is taken (Excel, WPS, LibreOffice, XlsxWriter,
openpyxl): cells with an `r` reference, values in `<v>` after an optional `<f>`, inline text as
`<is><t>…</t></is>`. Anything else in a piece — a namespace prefix, a cell without `r`, rich or
phonetic inline text, markup the pattern does not expect — makes `locate` return None, and the
caller parses that piece the thorough way. Values follow python-calamine's conventions.
"""

from __future__ import annotations

import numpy as np

# cell kinds (shared with xlsxstream)
NUMBER, SHARED, INLINE, BOOL, ERROR, TEXT, ISODATE, DATE = range(8)
_LT, _GT, _SLASH, _QUOTE, _EQ, _SPACE, _DOT, _MINUS = (ord(c) for c in '<>/"= .-')
_PAD = b"\0" * 24          # every word read near the end of a piece stays inside the buffer
_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
_ZEROS = np.uint64(0x3030303030303030)
_B = np.uint64(0xFF)
_EXACT = np.array([10.0 ** k for k in range(23)])     # powers of ten a double holds exactly


def _u64(text: bytes) -> np.uint64:
    """The word whose low bytes are `text` (little-endian: first character lowest)."""
    return np.uint64(int.from_bytes(text, "little"))


_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def _mask(nbytes: np.ndarray) -> np.ndarray:
    """Words keeping the low `nbytes` bytes (0–8; more count as 8)."""
    return _MASKS[np.minimum(nbytes, 8)]


def _first_byte(words: np.ndarray, byte: int) -> np.ndarray:
    """Index (0–7) of the first byte equal to `byte` in each word; 8 where there is none."""
    x = words ^ (np.uint64(byte) * _ONES)
    t = (x - _ONES) & ~x & _HIGH          # the lowest set bit marks the first zero byte of x exactly
    low = t & (~t + np.uint64(1))
    out = np.full(len(words), 8, dtype=np.int64)
    hit = t != 0
    out[hit] = np.log2(low[hit].astype(np.float64)).astype(np.int64) // 8
    return out


def _all_digits(words: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Whether the low `n` bytes of each word are all ASCII digits."""
    keep = _mask(n)
    w = words & keep
    return (((w & (np.uint64(0xF0F0F0F0F0F0F0F0))) == (_ZEROS & keep))
            & (((w + np.uint64(0x0606060606060606)) & np.uint64(0xF0F0F0F0F0F0F0F0) & keep) == (_ZEROS & keep)))


def _digit_value(words: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The number written by the low `n` (1–8) digit bytes of each word (checked by the caller)."""
    nb = np.clip(n, 1, 8).astype(np.uint64)
    w = ((words & _mask(n)) - (_ZEROS & _mask(n))) << (np.uint64(8) * (np.uint64(8) - nb))
    w = ((w * np.uint64(10)) + (w >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    w = ((w * np.uint64(100)) + (w >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    w = ((w * np.uint64(10000)) + (w >> np.uint64(32))) & np.uint64(0x00000000FFFFFFFF)
    return w.astype(np.int64)


def _terminated_number(words: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(value, ok) of 1–7 digits followed by the byte `end` at the start of each word."""
    n = _first_byte(words, end)
    ok = (n >= 1) & (n <= 7) & _all_digits(words, n)
    return np.where(ok, _digit_value(words, n), 0), ok


class Cells:
    """The cells of one piece: 0-based rows and columns, kinds, and where each value's text lies."""

    def __init__(self, rows, cols, kinds, starts, ends):
        self.rows, self.cols, self.kinds, self.starts, self.ends = rows, cols, kinds, starts, ends


def words_of(piece: bytes) -> np.ndarray:
    """The 64-bit word at every byte offset of `piece` (a strided view over the padded bytes)."""
    padded = piece + _PAD
    return np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))


def _attributes(padded, eq, lt, cell_of_lt, tag_end):
    """{name: (cell index, position after `name="`)} of ` r="`, ` t="`, ` s="` in cells' start tags:
    an attribute belongs to the tag its last `<` opens (a start tag holds no `<`)."""
    named = (padded[eq - 2] == _SPACE) & (padded[eq + 1] == _QUOTE)
    at = eq[named]
    name = padded[at - 1]
    wanted = (name == ord("r")) | (name == ord("t")) | (name == ord("s"))
    at, name = at[wanted], name[wanted]
    opened = np.searchsorted(lt, at) - 1               # the last "<" before each (-1: none)
    owner = np.where(opened >= 0, cell_of_lt[np.maximum(opened, 0)], -1)
    inside = (owner >= 0) & (at < tag_end[owner])
    out = {}
    for letter in "rts":
        keep = inside & (name == ord(letter))
        out[letter] = owner[keep], at[keep] + 2
    return out


_TYPES = ((b's"', SHARED), (b'n"', NUMBER), (b'b"', BOOL), (b'e"', ERROR), (b'str"', TEXT), (b'd"', ISODATE))


def _type_kinds(words: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The kind each t="…" value names; any other value reads as a number (as the regex reader does)."""
    w = words[at]
    kinds = np.full(len(at), NUMBER, dtype=np.int8)
    for text, kind in _TYPES:
        kinds[(w & _mask(np.array([len(text)]))) == _u64(text)] = kind
    inline = (w == _u64(b"inlineSt")) & ((words[at + 8] & np.uint64(0xFFFF)) == _u64(b'r"'))
    kinds[inline] = INLINE
    return kinds


def locate(piece: bytes, words: np.ndarray, dates: np.ndarray) -> Cells | None:
    """Every cell of `piece` (complete rows, no namespace prefix; `words` = words_of(piece)), or None
    when some part of it is not laid out as the common writers write it. `dates`: style indices
    whose number format is a date."""
    arr = np.frombuffer(piece, dtype=np.uint8)
    padded = np.frombuffer(words.base, dtype=np.uint8)     # the bytes under `words`: piece, then zeros
    lt = np.flatnonzero(arr == _LT)
    b1, b2 = padded[1:][lt], padded[2:][lt]                 # the two bytes after each "<"
    cell = b1 == ord("c")
    if np.any(cell & ((b2 == _GT) | (b2 == _SLASH))):                      # "<c>", "<c/>": no reference
        return None
    ci = np.flatnonzero(cell & (b2 == _SPACE))                              # "<c " (indices into lt)
    n = len(ci)
    if n == 0:
        return Cells(*(np.empty(0, np.int64) for _ in range(5)))
    if ci[-1] + 1 >= len(lt):
        return None
    tag_end = lt[ci + 1] - 1                        # the ">" just before the next tag (no "<" in a start tag)
    if np.any(arr[tag_end] != _GT):                 # white space between tags: not this layout
        return None
    closed = arr[tag_end - 1] == _SLASH                                    # <c …/>: no value
    close = np.flatnonzero((b1 == _SLASH) & (b2 == ord("c")))              # "</c" (indices into lt)
    if len(close) != n - int(closed.sum()):
        return None
    last = ci + 1                                   # index of each body's own "</c" (closed: its next tag)
    last[~closed] = close
    following = np.r_[ci[1:], len(lt)]
    if np.any(last[~closed] <= ci[~closed]) or np.any(last[~closed] >= following[~closed]):
        return None
    cell_of_lt = np.full(len(lt), -1, dtype=np.int64)
    cell_of_lt[ci] = np.arange(n)
    eq = np.flatnonzero(arr == _EQ)
    attrs = _attributes(padded, eq[eq >= 2], lt, cell_of_lt, tag_end)
    r_owner, r_at = attrs["r"]
    if len(r_owner) != n or np.any(r_owner != np.arange(n)):               # each cell exactly one r
        return None
    rows, cols = _references(words, r_at, _row_of_cells(words, lt, b1, b2, ci))
    if rows is None or np.any(np.diff(rows) < 0):
        return None
    kinds = np.full(n, NUMBER, dtype=np.int8)
    t_owner, t_at = attrs["t"]
    if len(t_owner):
        if np.any(np.diff(t_owner) <= 0):
            return None
        kinds[t_owner] = _type_kinds(words, t_at)
    s_owner, s_at = attrs["s"]
    if len(s_owner) and len(dates):
        if np.any(np.diff(s_owner) <= 0):
            return None
        style, ok = _terminated_number(words[s_at], _QUOTE)
        if not ok.all():
            return None
        dated = s_owner[np.isin(style, dates)]
        kinds[dated[kinds[dated] == NUMBER]] = DATE
    starts, ends = _values(arr, lt, b1, b2, ci + 1, last, closed, kinds)
    if starts is None:
        return None
    return Cells(rows, cols, kinds, starts, ends)


def _references(words: np.ndarray, at: np.ndarray, rows_of=None):
    """(rows, columns) of cell references such as `B7"` (1–3 letters, 1–7 digits, a quote), 0-based;
    (None, None) when one is not of that form. `rows_of`: (row number, its digits' word, their count)
    of the <row> each cell sits in — a cell whose digits are the row's bytes needs no decoding."""
    w = words[at]
    letter = [((w >> np.uint64(8 * i)) & _B) for i in range(4)]
    is_letter = [(b >= np.uint64(65)) & (b <= np.uint64(90)) for b in letter]
    count = np.where(~is_letter[0], 0, np.where(~is_letter[1], 1, np.where(~is_letter[2], 2,
                                                                               np.where(~is_letter[3], 3, 4))))
    if count.min() < 1 or count.max() > 3:
        return None, None
    v = [b.astype(np.int64) - 64 for b in letter[:3]]
    cols = np.where(count == 1, v[0], np.where(count == 2, v[0] * 26 + v[1], (v[0] * 26 + v[1]) * 26 + v[2])) - 1
    digits = words[at + count]
    if rows_of is not None:
        number, row_word, n = rows_of
        keep = _MASKS[n + 1]                        # the digits and the closing quote
        if np.array_equal(digits & keep, row_word & keep):
            return number - 1, cols
    rows, ok = _terminated_number(digits, _QUOTE)
    if not ok.all() or rows.min() < 1:
        return None, None
    return rows - 1, cols


def _row_of_cells(words, lt, b1, b2, ci):
    """For each cell, (number, digits' word, digit count) of the <row r="N"> it sits in; None when a
    row is written otherwise (no r first) — the references are then decoded one by one."""
    ri = np.flatnonzero((b1 == ord("r")) & (b2 == ord("o")))             # "<ro" (indices into lt)
    if not len(ri):
        return None
    at = lt[ri]
    if not np.all((words[at + 4] & np.uint64(0xFFFFFFFF)) == _u64(b' r="')):
        return None
    row_word = words[at + 8]
    n = _first_byte(row_word, _QUOTE)
    ok = (n >= 1) & (n <= 7) & _all_digits(row_word, n)
    owner = np.searchsorted(ri, ci) - 1
    if not ok.all() or owner.min() < 0:
        return None
    number = _digit_value(row_word, n)
    return number[owner], row_word[owner], n[owner]


def _values(arr, lt, b1, b2, first, last, closed, kinds):
    """(start, end) of each cell's value text (start == end: no value), or (None, None) when a body
    holds markup other than [<f…>…</f>|<f…/>]<v>…</v>, <v/>, <is><t…>…</t></is>, <f…>, or nothing.
    `first`, `last`: indices into `lt` of each body's first tag and of its "</c"."""
    n = len(first)
    marks = np.where(closed, 0, last - first)      # how many tags the body holds
    starts = np.zeros(n, dtype=np.int64)
    ends = np.zeros(n, dtype=np.int64)
    inline = (kinds == INLINE) & ~closed & (marks > 0)
    if inline.any():                               # exactly <is><t…>TEXT</t></is>
        f = first[inline]
        ok = (marks[inline] == 4) & (b1[f] == ord("i")) & (b2[f] == ord("s")) & (b1[f + 1] == ord("t")) & \
             ((b2[f + 1] == _GT) | (b2[f + 1] == _SPACE)) & (b1[f + 2] == _SLASH) & (b2[f + 2] == ord("t"))
        if not ok.all():
            return None, None
        t_open, t_close = lt[f + 1], lt[f + 2]
        plain = b2[f + 1] == _GT                                            # <t>, else <t xml:space="preserve">
        text_at = t_open + 3
        if not plain.all():
            gt = np.flatnonzero(arr == _GT)
            text_at[~plain] = gt[np.searchsorted(gt, t_open[~plain])] + 1
        starts[inline] = text_at
        ends[inline] = t_close
    other = ~inline & ~closed & (marks > 0)
    if other.any():
        f, m, z = first[other], marks[other], last[other]
        v_open, v_close = lt[np.maximum(z - 2, 0)], np.maximum(z - 1, 0)
        value = (b1[v_close] == _SLASH) & (b2[v_close] == ord("v")) & (arr[v_open + 1] == ord("v")) & \
                (arr[v_open + 2] == _GT) & (m >= 2)
        f_pair = (b1[f + 1] == _SLASH) & (b2[f + 1] == ord("f"))
        is_f = b1[f] == ord("f")
        value &= (m == 2) | (is_f & ((m == 3) | ((m == 4) & f_pair)))       # <v> alone, or after one <f>
        v_self = (m == 1) & (b1[f] == ord("v")) & (b2[f] == _SLASH)           # <v/>
        f_only = is_f & ((m == 1) | ((m == 2) & f_pair))                       # formula, no cached value
        if not (value | v_self | f_only).all():
            return None, None
        starts[other] = np.where(value, v_open + 3, 0)
        ends[other] = np.where(value, lt[v_close], 0)
    return starts, ends


def numbers(piece: bytes, words: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The numbers written between each start and end. Plain decimals of up to 8 characters
    (-12.5, 2023, 0.35) are decoded in integer arithmetic: their digits as one integer m below 10^8
    and k decimals give m / 10^k, one correctly rounded division, the double nearest the decimal,
    as any correct parser gives. Other notations go to numpy's string conversion (ValueError when
    a text is not a number)."""
    out = np.empty(len(starts))
    lengths = ends - starts
    w = words[starts] & _mask(lengths)
    negative = (w & _B) == np.uint64(_MINUS)
    w = np.where(negative, w >> np.uint64(8), w)
    length = lengths - negative
    dot = _first_byte(w | ~_mask(length), _DOT)     # bytes past the text never count as a dot
    has_dot = dot < length
    low = w & _mask(dot)                              # digits before the dot, then those after, closed up
    squeezed = np.where(has_dot, low | ((w >> np.uint64(8)) & ~_mask(dot)), w)
    digits = length - has_dot
    fast = (lengths <= 8) & (digits >= 1) & _all_digits(squeezed, digits) & ~(has_dot & (dot == 0) & (digits == 0))
    if fast.any():
        m = _digit_value(squeezed[fast], digits[fast]).astype(np.float64)
        decimals = np.where(has_dot[fast], length[fast] - dot[fast] - 1, 0)
        value = m / _EXACT[decimals]
        out[fast] = np.where(negative[fast], -value, value)
    slow = ~fast
    if slow.any():
        out[slow] = _parse_texts(piece, words, starts[slow], ends[slow])
    return out


def _parse_texts(piece: bytes, words: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """numpy's conversion of the texts (Python's float() rules) — 17-digit decimals as Excel writes
    them (73.260000000000005), exponents; up to 24 bytes gathered three words at a time."""
    lengths = ends - starts
    if lengths.max() > 24:
        texts = [piece[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
        return np.array(texts, dtype=bytes).astype(np.float64)
    grid = np.stack([words[starts + 8 * k] & _mask(np.maximum(lengths - 8 * k, 0)) for k in range(3)], axis=1)
    return grid.astype("<u8", copy=False).view("S24").ravel().astype(np.float64)   # bytes in text order


def integers(words: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Non-negative integers of 1–8 digits (shared-string indices) between each start and end;
    None when one is not."""
    lengths = ends - starts
    if lengths.min() < 1 or lengths.max() > 8:
        return None
    w = words[starts]
    if not _all_digits(w, lengths).all():
        return None
    return _digit_value(w, lengths)
