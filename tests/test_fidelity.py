"""The fidelity tables (tests/fidelity/*.toml): every executed rule against its report's sentence.

Each case is an input as an official would fill it (Chinese headers) and the verdict the
wording implies, written by hand. It runs through the real engine. The format is documented
at the top of tests/fidelity/quota.toml; a file for another engine registers its runner in
RUNNERS.
"""

from __future__ import annotations

import os
import tomllib
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from xltools.engine.quota import CITY_LEVEL, check_quota
from xltools.profiles import QUOTA_KINDS, builtin_ids, load_profile
from xltools.schema import find_sheet, header_lookup, normalize_text

FIDELITY = Path(__file__).parent / "fidelity"
ROOT = Path(__file__).resolve().parents[1]


def tables_of(sheets: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    """Case input (sheet → rows with Chinese headers) → typed tables keyed as the engine expects."""
    tables = {}
    for name, rows in sheets.items():
        sheet = find_sheet(name)
        assert sheet is not None, name
        lookup = header_lookup(sheet)
        expanded = []
        for row in rows:
            n = int(row.get("行数", 1))
            base = {lookup[normalize_text(k)].key: v for k, v in row.items() if k != "行数"}
            for i in range(n):
                r = dict(base)
                if n > 1 and "dept" in r:
                    r["dept"] = f"{r['dept']}{i + 1}"
                expanded.append(r)
        tables[sheet.key] = pd.DataFrame(expanded)
    return tables


def load_tables() -> list[tuple[str, dict]]:
    """The [[rule]] files (the flat [[case]] file salary_ranking.toml has its own runner,
    tests/test_fidelity_salary_ranking.py)."""
    tables = [(p.name, tomllib.loads(p.read_text(encoding="utf-8"))) for p in sorted(FIDELITY.glob("*.toml"))]
    return [(name, data) for name, data in tables if "rule" in data]


def profile_rule(block: dict) -> dict:
    rules = [r for r in load_profile(block["profile"]).rules if r["id"] == block["id"]]
    if "order" in block:
        rules = [r for r in rules if r.get("order") == block["order"]]
    assert len(rules) == 1, (block["id"], block["profile"])
    return rules[0]


def run_quota(block: dict, case: dict) -> list[str]:
    sheets = {**block.get("sheets", {}), **case.get("sheets", {})}
    result = check_quota(tables_of(sheets), block["profile"])
    details = result.details
    rule = profile_rule(block)
    rows = details[(details["规则编号"] == block["id"]) & (details["规则"] == rule["text"])]
    zone = case.get("zone", "甲")
    if zone == "全市合计":
        cities = set(result.summary.loc[result.summary["级别"] == CITY_LEVEL, "开发区名称"])
        rows = rows[rows["开发区名称"].isin(cities)]
    else:
        rows = rows[rows["开发区名称"] == zone]
    return rows["结论"].tolist()


RUNNERS = {"quota": run_quota}
CASES = [(name, data.get("engine"), block, case)
         for name, data in load_tables() for block in data["rule"] for case in block["case"]]


@pytest.mark.parametrize("name, engine, block, case", CASES,
                         ids=[f"{b['id']}-{c['point']}-{c['given']}" for _, _, b, c in CASES])
def test_case_gives_the_verdict_the_wording_implies(name, engine, block, case):
    if engine not in RUNNERS:
        pytest.fail(f"{name}: no runner for engine {engine!r} in tests/test_fidelity.py RUNNERS")
    assert RUNNERS[engine](block, case) == [case["expect"]], (block["sentence"], case["given"])


def test_every_block_has_boundary_cases_and_the_profiles_severity():
    for name, data in load_tables():
        for block in data["rule"]:
            points = {c["point"] for c in block["case"]}
            assert points & {"at", "above", "below", "other"}, (name, block["id"])
            if data.get("engine") == "quota":
                rule = profile_rule(block)
                assert rule["severity"] == block["severity"], (block["id"], "severity implied by the wording")
                if rule.get("inferred"):
                    assert block.get("inferred"), (block["id"], "the profile infers a parameter: say which")


def test_every_executed_compliance_rule_has_a_block():
    blocks = {(b["profile"], b["id"], b.get("order")) for name, d in load_tables() if d.get("engine") == "quota"
              for b in d["rule"]}
    for pid in builtin_ids():
        if pid == "default":       # the general profile borrows regional rules; the regional blocks cover them
            continue
        for r in load_profile(pid).rules:
            if r["kind"] in QUOTA_KINDS:
                assert (pid, r["id"], r.get("order")) in blocks, (pid, r["id"])


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for q in "“”„\"":
        text = text.replace(q, '"')
    return text


def seeds_dir() -> Path | None:
    for candidate in (os.environ.get("XLTOOLS_SEEDS"), ROOT.parent / "shared" / "seeds",
                      ROOT.parent.parent / "shared" / "seeds"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def test_sentences_are_the_reports_own_words():
    seeds = seeds_dir()
    if seeds is None:
        pytest.skip("seed reports not at hand (set XLTOOLS_SEEDS)")
    for name, data in load_tables():
        for block in data["rule"]:
            text = _plain((seeds / block["source"]).read_text(encoding="utf-8"))
            assert _plain(block["sentence"]) in text, (name, block["id"], block["sentence"])


def test_the_docs_show_every_case():
    from xltools.reference import fidelity_markdown
    doc = fidelity_markdown()
    for _, _, block, case in CASES:
        assert block["sentence"] in doc and case["given"] in doc
