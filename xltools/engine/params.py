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
