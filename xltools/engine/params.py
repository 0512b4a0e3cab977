"""The 参数 sheet: profile choice, method choices and rule overrides (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..schema import PROFILE_KEYS, RULE_OVERRIDE as OVERRIDE


@dataclass
class Settings:
    profile: str | None = None
    overrides: dict[str, object] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _value(v: object) -> object:
    """'9' → 9, '0.6' → 0.6, text stays text (overrides are re-validated by the profile loader)."""
    if not isinstance(v, str):
        return v
    s = v.strip()
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return s


def read_params(tables: dict[str, pd.DataFrame]) -> Settings:
    params = tables.get("params")
    settings = Settings()
    if params is None or "item" not in params:
        return settings
    values = params["value"] if "value" in params else pd.Series([None] * len(params))
    for item, value in zip(params["item"], values):
        if not isinstance(item, str) or value is None:
            continue
        key = item.strip()
        settings.values[key] = str(value)
        if key in PROFILE_KEYS:
            settings.profile = str(value).strip()
        elif OVERRIDE.match(key):
            settings.overrides[key] = _value(value)
    return settings


def resolution(tables: dict[str, pd.DataFrame], profile=None, overrides: dict[str, object] | None = None,
               facts: pd.DataFrame | None = None):
    """The one policy resolution of an assessment (profiles/resolve.py): `profile` is the explicit
    choice (command line, ribbon, UDF argument); the 「参数」 sheet's choice and overrides come from
    `tables` unless `overrides` is given. An engine entry given a Resolution uses it as is."""
    from ..profiles.resolve import Resolution, resolve
    from .zones import zone_facts

    if isinstance(profile, Resolution):
        return profile
    settings = read_params(tables)
    facts = zone_facts(tables) if facts is None else facts
    return resolve(facts, explicit=profile, param=settings.profile,
                   overrides=settings.overrides if overrides is None else overrides)
