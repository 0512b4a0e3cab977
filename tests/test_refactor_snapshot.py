"""Behaviour unchanged by the issue-17 refactor: every result workbook, cell by cell.

The snapshot (tests/snapshot/results.json.gz) was written by the code on main 2578cd4, before
the registries and the one run pipeline landed: `xltools demo`, `xltools batch` over the
samples, `run` over all samples, and `rank` with each normalisation, weighting, aggregation
and preset. Only an intended fix may change it (`python tests/snapshot_results.py --update`),
named in its commit.
"""

from __future__ import annotations

import pytest

import snapshot_results as snap

pytestmark = pytest.mark.slow
EXPECTED = snap.load()


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    return snap.produce_all(tmp_path_factory.mktemp("snapshot"))


def test_same_scenarios():
    assert sorted(snap.scenarios()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_result_workbook_unchanged(produced, name):
    want, got = EXPECTED[name], produced[name]
    assert got["exit"] == want["exit"], f"{name}: exit code"
    assert got["sheets"] == want["sheets"], f"{name}: sheet order"
    for sheet, cells in want["cells"].items():
        have = got["cells"][sheet]
        changed = {k: (v, have.get(k)) for k, v in cells.items() if have.get(k) != v}
        extra = sorted(set(have) - set(cells))
        assert not changed and not extra, (
            f"{name} / {sheet}: {len(changed)} cells differ, {len(extra)} new; "
            f"first: {list(changed.items())[:3]} {extra[:3]}")
