"""Which policy profile judges which zone — decided here and nowhere else.

Precedence, per zone: its own 政策口径 cell > its region's built-in profile > the profile given
on the command line (or ribbon) > the one the 「参数」 sheet names > `default`. So an explicit
profile judges only the zones whose region matches no built-in region: `--profile qingdao`
never judges a Ningxia zone. A zone's region is read from 地区 and 所属地区 together, as
officials write it (「青岛市黄岛区」, 「宁夏回族自治区银川市」), through division codes
(`regions.py`) matched against each built-in profile's code prefixes. Every profile used gets
the 「参数」 overrides (`规则编号.参数`) of its rules, whatever their kind — compliance, salary,
ranking, grades, sanctions, staff cut-offs.

The result is a `Resolution`: zone → profile, why (shown in 计算说明), the loaded profiles,
the profile of zones not in the 开发区 sheet, and a 警告 for each group of zones matched to no
region. Engine modules ask it for rules by kind; none resolves profiles on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import Profile, ProfileError, apply_overrides, builtin_id, builtin_ids, load_profile
from .regions import full_name, locate

# Why a zone follows its profile (the words 计算说明 uses).
BY_COLUMN, BY_REGION, BY_CLI, BY_PARAMS, BY_DEFAULT = "政策口径列", "地区匹配", "命令行或按钮指定", "「参数」表指定", "默认"
DEFAULT = "default"


@dataclass
class Resolution:
    profile_of: pd.Series                       # zone → profile key (zones of the zone facts)
    why: pd.Series                              # zone → why, e.g. 地区匹配「青岛市黄岛区」
    profiles: dict[str, Profile]                # key → profile, overrides applied
    other: str                                  # key for a zone absent from the facts
    other_why: str
    warnings: list[dict] = field(default_factory=list)      # rows for 数据校验 (文件 left to the caller; _zones: which)
    unused_overrides: list[str] = field(default_factory=list)

    # ---- lookups the engine modules use
    def label(self, key: str) -> str:
        return self.profiles[key].label

    def keys(self) -> list[str]:
        """Profiles some zone follows, in first-use order (the absent zones' profile last)."""
        return list(dict.fromkeys([*self.profile_of.tolist(), self.other]))

    def used(self, zones=None) -> list[str]:
        """Profiles that the given zones (default: the zones of the facts) follow."""
        if zones is None:
            return list(dict.fromkeys(self.profile_of.tolist()))
        return list(dict.fromkeys(self.key_of(zones).tolist()))

    def key_of(self, zones) -> np.ndarray:
        """Profile key per zone name, vectorised: a zone absent from the facts gets `other`."""
        zones = pd.Index(zones, dtype=object)
        pos = self.profile_of.index.get_indexer(zones)
        return np.append(self.profile_of.to_numpy(dtype=object), self.other)[pos]

    def rules(self, key: str, *kinds: str) -> list[dict]:
        return self.profiles[key].of_kind(*kinds)

    def rule(self, key: str, kind: str) -> dict | None:
        found = self.rules(key, kind)
        return found[0] if found else None

    def zones_of(self, key: str) -> pd.Index:
        return self.profile_of.index[(self.profile_of == key).to_numpy()]

    # ---- what 计算说明 says
    def explain(self, zones=None, unlisted=None) -> str:
        """Per group of zones: which profile judged it and why —
        「青岛口径：20 个开发区（地区匹配「青岛市黄岛区」「城阳区」）；通用口径：2 个（默认）」.
        `unlisted`: zones absent from an existing 开发区 sheet, which no profile judges."""
        unknown = pd.Index([] if unlisted is None else unlisted, dtype=object)
        frame = pd.DataFrame({"key": self.profile_of, "why": self.why})
        frame = frame[~frame.index.isin(unknown)]
        if zones is not None:
            wanted = pd.Index(pd.unique(pd.Series(zones).dropna()))
            frame = frame[frame.index.isin(wanted)]
            gone = int(wanted.isin(unknown).sum())
            absent = int((~wanted.isin(self.profile_of.index) & ~wanted.isin(unknown)).sum())
        else:
            absent, gone = 0, len(unknown)
        frame = frame.assign(kind=frame["why"].where(~frame["why"].str.startswith(BY_REGION), BY_REGION))
        parts = []
        for (key, kind), rows in frame.groupby(["key", "kind"], sort=False):
            shown = kind
            if kind == BY_REGION:
                region = [w[len(BY_REGION):] for w in dict.fromkeys(rows["why"])]
                shown = BY_REGION + "".join(region[:6]) + ("等" if len(region) > 6 else "")
            parts.append(f"{self.label(key)}：{len(rows)} 个开发区（{shown}）")
        if absent:
            parts.append(f"{self.label(self.other)}：{absent} 个不在「开发区」表中的开发区（{self.other_why}）")
        if gone:
            parts.append(f"{gone} 个开发区不在「开发区」表中：无法确定适用口径，未按任何口径计算（数据缺失）")
        return "；".join(parts)

    def inferred(self, keys=None) -> str:
        """The 推断口径 parameters of the profiles used: 「青岛口径 QD-15 容差带；QD-41 指标、权重、等次」."""
        from . import inferred_text

        parts = []
        for key in keys if keys is not None else self.keys():
            seen = dict.fromkeys(f"{r['id']} {inferred_text(r)}" for r in self.profiles[key].rules if r.get("inferred"))
            if seen:
                parts.append(f"{self.label(key)}：" + "；".join(seen))
        return "。".join(parts)


def _named(name: str) -> str:
    """The key of a profile an official names in a cell (青岛, 青岛口径, qingdao, a .toml path)."""
    pid = builtin_id(name)
    return pid if pid is not None else str(name).strip()


def _region_text(facts: pd.DataFrame) -> pd.Series:
    """地区 and 所属地区 read together: 「青岛」+「黄岛区」 → 青岛黄岛区."""
    parts = [facts[c].where(facts[c].notna(), "").astype(str).str.strip()
             for c in ("region", "county") if c in facts]
    if not parts:
        return pd.Series("", index=facts.index, dtype=object)
    if len(parts) == 1:
        return parts[0]
    region, county = parts
    pairs = pd.DataFrame({"r": region, "c": county})
    uniq = pairs.drop_duplicates()
    joined = [c if c.startswith(r) else (r if r.endswith(c) else r + c)      # 耒阳 + 耒阳市 → 耒阳市
              for r, c in zip(uniq["r"], uniq["c"])]
    lookup = pd.Series(joined, index=pd.MultiIndex.from_frame(uniq), dtype=object)
    return pd.Series(lookup.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(), index=facts.index, dtype=object)


def region_profiles(texts: pd.Series) -> pd.DataFrame:
    """For each text: the built-in profile whose division codes contain it (longest prefix wins),
    the division code, and why no profile (同名 / 不一致 / no division found)."""
    prof = {pid: load_profile(pid) for pid in builtin_ids()}
    aliases = {k: v for p in prof.values() for k, v in p.aliases.items()}
    found = locate(texts, aliases)
    prefixes = sorted(((c, pid) for pid, p in prof.items() for c in p.adcodes), key=lambda x: -len(x[0]))
    code = found["code"]

    def pick(c):
        return next((pid for pre, pid in prefixes if isinstance(c, str) and c.startswith(pre)), None)
    uniq = pd.unique(code.dropna())
    by_code = {c: pick(c) for c in uniq}
    found["profile"] = code.map(by_code).where(code.notna(), None)
    return found


def resolve(facts: pd.DataFrame, explicit: str | Profile | None = None, param: str | None = None,
            overrides: dict[str, object] | None = None) -> Resolution:
    """Zone → profile for every zone of `facts` (zone_facts: region, county, profile, and
    params_profile — a file's own 「参数」 choice in batch), by the precedence above."""
    index = facts.index
    loaded: dict[str, Profile] = {}

    def key_for(name_or_profile) -> str:
        if isinstance(name_or_profile, Profile):
            key = name_or_profile.id if name_or_profile.id not in builtin_ids() else f"{name_or_profile.id}（自定义）"
            loaded.setdefault(key, name_or_profile)
            return key
        key = _named(name_or_profile)
        if key not in loaded:
            loaded[key] = load_profile(key)       # an unknown name is loud: ProfileError names it
        return key

    n = len(index)
    chosen = np.full(n, None, dtype=object)
    why = np.full(n, BY_DEFAULT, dtype=object)
    column = facts["profile"] if "profile" in facts else pd.Series(None, index=index, dtype=object)
    has_column = column.notna().to_numpy() & (column.astype(str).str.strip() != "").to_numpy()
    for name in pd.unique(column[has_column]):
        chosen[has_column & (column == name).to_numpy()] = key_for(name)
    why[has_column] = BY_COLUMN

    text = _region_text(facts)
    regions = region_profiles(text) if n else pd.DataFrame(columns=["code", "names", "problem", "profile"])
    by_region = ~has_column & regions["profile"].notna().to_numpy() if n else np.zeros(0, bool)
    for pid in pd.unique(regions["profile"][by_region]) if n else []:
        chosen[by_region & (regions["profile"] == pid).to_numpy()] = key_for(pid)
    why[by_region] = BY_REGION + "「" + text[by_region].to_numpy(dtype=object) + "」"

    rest = pd.isna(chosen)
    per_file = facts["params_profile"] if "params_profile" in facts else pd.Series(None, index=index, dtype=object)
    if explicit is not None:
        fallback, fallback_why = key_for(explicit), BY_CLI
        chosen[rest], why[rest] = fallback, BY_CLI
    else:
        own = rest & per_file.notna().to_numpy()
        for name in pd.unique(per_file[own]):
            chosen[own & (per_file == name).to_numpy()] = key_for(name)
        why[own] = BY_PARAMS
        if param:
            fallback, fallback_why = key_for(param), BY_PARAMS
        else:
            fallback, fallback_why = key_for(DEFAULT), BY_DEFAULT
        left = rest & ~own
        chosen[left], why[left] = fallback, fallback_why
    key_for(fallback)

    # overrides reach every rule kind of every profile used; one that no profile has is reported
    used = set(chosen.tolist()) | {fallback}
    unused = []
    for key in list(loaded):
        if key not in used:
            del loaded[key]
            continue
        prof = loaded[key]
        ids = {r["id"] for r in prof.rules}
        mine = {k: v for k, v in (overrides or {}).items() if k.partition(".")[0] in ids}
        loaded[key] = apply_overrides(prof, mine)
    for k in overrides or {}:
        if not any(k.partition(".")[0] in {r["id"] for r in p.rules} for p in loaded.values()):
            unused.append(k)

    res = Resolution(pd.Series(chosen, index=index, dtype=object), pd.Series(why, index=index, dtype=object),
                     loaded, fallback, fallback_why, unused_overrides=unused)
    res.warnings = _warnings(res, text, regions, rest)
    return res


def _warnings(res: Resolution, text: pd.Series, regions: pd.DataFrame, rest: np.ndarray) -> list[dict]:
    """One 警告 per (what was written, profile used) for zones matched to no region."""
    if not rest.any():
        return []
    frame = pd.DataFrame({"zone": res.profile_of.index[rest], "text": text[rest].to_numpy(),
                          "problem": regions["problem"][rest].to_numpy(), "code": regions["code"][rest].to_numpy(),
                          "key": res.profile_of[rest].to_numpy(), "why": res.why[rest].to_numpy()})
    rows = []
    for (written, key, why), g in frame.groupby(["text", "key", "why"], sort=False):
        zones = "、".join(f"「{z}」" for z in g["zone"][:5]) + (f"等 {len(g)} 个开发区" if len(g) > 5 else "")
        problem, code = g["problem"].iat[0], g["code"].iat[0]
        if not written:
            what = "未填写「地区」「所属地区」"
        elif problem == "同名":
            what = f"所属地区「{written}」有多处同名地方，无法确定属于哪个省市"
        elif problem == "不一致":
            what = f"所属地区「{written}」中的地名互相矛盾"
        elif isinstance(code, str):
            named = full_name(code)
            what = f"所属地区「{written}」" + (f"（{named}）" if named != written else "") + "没有内置口径"
        else:
            what = f"所属地区「{written}」不是可识别的行政区划名称"
        rows.append({"工作表": "开发区", "单元格": "", "级别": "警告", "_zones": list(g["zone"]),
                     "问题": f"{zones}{what}，按{res.label(key)}判断（{why}）",
                     "建议": "在「所属地区」写明省市县（如 青岛市黄岛区、宁夏回族自治区银川市），"
                             "或在「政策口径」列、「参数」表或命令行 --profile 指定口径"})
    return rows


def general_rule(kind: str) -> dict:
    """The general rule of a kind every assessment needs (the ranking method), for a profile that
    states none: from `default`, which holds only rules general by nature."""
    return load_profile(DEFAULT).of_kind(kind)[0]


PRECEDENCE = "每个开发区依次按：「开发区」表的政策口径列 > 所属地区匹配的内置口径 > 命令行或按钮指定 > 「参数」表指定 > 通用口径"


__all__ = ["Resolution", "resolve", "region_profiles", "general_rule", "PRECEDENCE", "ProfileError",
           "BY_COLUMN", "BY_REGION", "BY_CLI", "BY_PARAMS", "BY_DEFAULT"]
