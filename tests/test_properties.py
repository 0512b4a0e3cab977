"""Property tests (hypothesis): what must hold for every input, not only for the worked examples.

- intake never fails in a way of its own making: a grid either reads (with 数据校验 problems) or is
  refused as UnusableInput;
- compliance does not depend on the order of rows;
- ranks are Excel RANK.EQ competition ranks, a function of the scores (rows permuted, ranks follow);
- every weighting method gives non-negative weights summing to 1;
- the distributed salary pool sums to the cent.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.engine.quota import check_quota
from xltools.engine.ranking import RankOptions, rank_zones
from xltools.engine.salary import compute_salary, largest_remainder
from xltools.engine.scoring import (ScoringError, combined_weights, competition_rank, entropy_raw_weights,
                                    entropy_weights, fixed_weights, round_sig)
from xltools.intake import Book, UnusableInput, read_grids
from xltools.problems import ERROR, WARNING, Problem
from xltools.schema import SHEETS

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(FAST, max_examples=25)          # examples that run the whole rule set or the ranking
ZONES = [f"开发区{i}" for i in range(8)]

# ------------------------------------------------------------------ intake on random grids
HEADERS = [c.label() for s in SHEETS for c in s.columns] + [c.header for s in SHEETS for c in s.columns]
cell = st.one_of(
    st.none(), st.sampled_from(HEADERS), st.sampled_from(["单位：万元", "单位:亿元", "金额单位：元", "无", "—", "是", "否",
                                                          "国家级", "省级", "31万", "3亿元", "=SUM(A1:A3)", "#DIV/0!"]),
    st.text(max_size=12), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
row = st.lists(cell, max_size=8)
grid = st.lists(row, max_size=10)
names = st.lists(st.sampled_from([s.name for s in SHEETS] + ["Sheet1", "表1", "说明", "合规检查", ""]),
                 min_size=1, max_size=4, unique=True)


@pytest.mark.slow
@FAST
@given(names, st.data())
def test_intake_of_any_grid_reads_or_refuses_as_its_own_outcome(sheet_names, data):
    """Whatever the cells hold, reading ends in a Book with 数据校验 rows, or in UnusableInput."""
    sheets = [(name, data.draw(grid)) for name in sheet_names]
    try:
        book = read_grids("随机.xlsx", sheets, sheet_names)
    except UnusableInput:
        return
    assert isinstance(book, Book)
    assert all(isinstance(p, Problem) and p.level in (ERROR, WARNING) and p.file == "随机.xlsx" and p.message
               for p in book.problems)
    for table in book.tables.values():
        assert {len(v) for v in table.values.values()} <= {len(table)}
        for v in table.values.values():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                assert not np.isinf(v).any()                       # nothing non-finite reaches the engine


# ------------------------------------------------------------------ compliance and row order
zone_row = st.fixed_dictionaries({
    "level": st.sampled_from(["国家级", "省级", "市级", None]),
    "principals": st.one_of(st.none(), st.integers(0, 3)),
    "deputies": st.one_of(st.none(), st.integers(0, 8)),
    "approved_staff": st.one_of(st.none(), st.integers(0, 200)),
    "actual_staff": st.one_of(st.none(), st.integers(0, 220)),
    "departments": st.lists(st.tuples(st.sampled_from(["经济发展类", "综合保障类", "社会管理类", None]),
                                      st.sampled_from(["是", "否", None])), max_size=12),
})


def _quota_tables(zones: list[dict]) -> dict[str, pd.DataFrame]:
    names = ZONES[:len(zones)]
    return {
        "zones": pd.DataFrame({"zone": names, "level": [z["level"] for z in zones]}),
        "posts": pd.DataFrame({"zone": names, **{k: [z[k] for z in zones] for k in
                                                 ("principals", "deputies", "approved_staff", "actual_staff")}}),
        "departments": pd.DataFrame([{"zone": n, "dept": f"部门{i}", "category": c, "frontline": f, "nature": "内设机构"}
                                     for n, z in zip(names, zones) for i, (c, f) in enumerate(z["departments"])],
                                    columns=["zone", "dept", "category", "frontline", "nature"]),
    }


def _shuffled(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return {k: t.iloc[rng.permutation(len(t))].reset_index(drop=True) for k, t in tables.items()}


@pytest.mark.slow
@SLOW
@given(st.lists(zone_row, min_size=1, max_size=6), st.integers(0, 2**32 - 1),
       st.sampled_from(["default", "qingdao", "ningxia"]))
def test_compliance_does_not_depend_on_row_order(zones, seed, profile):
    tables = _quota_tables(zones)
    a, b = check_quota(tables, profile), check_quota(_shuffled(tables, seed), profile)
    key = ["开发区名称", "规则编号"]
    pd.testing.assert_frame_equal(a.details.sort_values(key).reset_index(drop=True).astype(str),
                                  b.details.sort_values(key).reset_index(drop=True).astype(str))
    pd.testing.assert_frame_equal(a.summary.sort_values("开发区名称").reset_index(drop=True),
                                  b.summary.sort_values("开发区名称").reset_index(drop=True))


# ------------------------------------------------------------------ ranks
scores = st.lists(st.one_of(st.sampled_from([0.0, 50.0, 87.5, 100.0]), st.floats(-1e6, 1e6, allow_nan=False)),
                  min_size=1, max_size=30)


def rank_eq(values: list[float]) -> list[int]:
    """Excel RANK.EQ(x, range, 0), written out: 1 + how many values are larger (12 significant digits)."""
    v = [float(f"{x:.12g}") for x in values]
    return [1 + sum(y > x for y in v) for x in v]


@FAST
@given(scores, st.randoms(use_true_random=False))
def test_ranks_are_rank_eq_and_follow_the_scores_when_rows_are_permuted(values, rnd):
    ranks = competition_rank(values)
    assert ranks.tolist() == rank_eq(values)
    order = list(range(len(values)))
    rnd.shuffle(order)
    assert competition_rank([values[i] for i in order]).tolist() == [ranks[i] for i in order]
    noisy = [x + x * 1e-15 for x in values]                       # floating-point noise never splits a tie
    assert competition_rank(noisy).tolist() == ranks.tolist()


@pytest.mark.slow
@SLOW
@given(st.lists(st.tuples(st.floats(1, 1e5), st.floats(1, 1e4), st.floats(0, 1e5)), min_size=3, max_size=8),
       st.integers(0, 2**32 - 1))
def test_zone_ranking_is_a_function_of_the_scores(rows, seed):
    """rank_zones on a permuted 指标 table: each zone keeps its score and rank; ranks are RANK.EQ of the scores."""
    n = len(rows)
    tables = {
        "zones": pd.DataFrame({"zone": ZONES[:n], "level": ["省级"] * n}),
        "indicators": pd.DataFrame({"zone": ZONES[:n], "year": [2023.0] * n, "tax": [r[0] for r in rows],
                                    "land_area": [r[1] for r in rows], "value_added": [r[2] for r in rows],
                                    "energy": [r[1] for r in rows]}),
    }
    options = RankOptions(weights="entropy")
    try:
        a = rank_zones(tables, options=options).ranking
    except ScoringError:                                   # e.g. every column constant: refused, not ranked
        return
    b = rank_zones(_shuffled(tables, seed), options=options).ranking
    cols = ["开发区名称", "综合得分", "总排名"]
    left = a[cols].sort_values("开发区名称").reset_index(drop=True)
    right = b[cols].sort_values("开发区名称").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9)
    ranked = a.dropna(subset=["总排名"])
    assert ranked["总排名"].astype(int).tolist() == rank_eq(ranked["综合得分"].astype(float).tolist())


# ------------------------------------------------------------------ weights
matrix = st.integers(2, 12).flatmap(lambda n: st.integers(1, 6).flatmap(
    lambda m: st.lists(st.lists(st.floats(0, 1e6), min_size=m, max_size=m), min_size=n, max_size=n)))


def _weights_ok(w: np.ndarray, m: int) -> None:
    assert w.shape == (m,) and np.all(np.isfinite(w)) and np.all(w >= 0)
    assert math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-9)


@FAST
@given(matrix, st.lists(st.sampled_from([1, -1]), min_size=6, max_size=6), st.floats(0, 1))
def test_every_weighting_method_gives_non_negative_weights_summing_to_one(x, directions, alpha):
    x = np.asarray(x, dtype=float)
    m = x.shape[1]
    for method in (lambda: entropy_weights(x, directions[:m]), lambda: entropy_raw_weights(x)):
        try:
            w = method()
        except ScoringError:                                 # no column varies: refused, never a silent weight
            continue
        _weights_ok(w, m)
        _weights_ok(combined_weights(np.ones(m), w, alpha), m)
    subjective = x[0] + 1.0
    _weights_ok(fixed_weights(subjective), m)


@FAST
@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=9))
def test_ahp_weights_of_a_consistent_matrix_are_those_weights(w):
    from xltools.engine.scoring import ahp_weights

    w = np.asarray(w) / np.sum(w)
    got, lam, cr = ahp_weights(w[:, None] / w[None, :])     # aᵢⱼ = wᵢ/wⱼ: perfectly consistent
    _weights_ok(got, len(w))
    assert np.allclose(got, w, atol=1e-6) and cr < 0.1


# ------------------------------------------------------------------ salary pool to the cent
@FAST
@given(st.lists(st.tuples(st.integers(0, 10**11), st.lists(st.floats(0, 1e3), min_size=1, max_size=12)),
                min_size=1, max_size=5))
def test_largest_remainder_shares_sum_to_the_cent(groups):
    totals = np.array([t for t, _ in groups], dtype=np.int64)
    weights = np.concatenate([np.asarray(w, dtype=float) for _, w in groups])
    member = np.repeat(np.arange(len(groups)), [len(w) for _, w in groups])
    cents = largest_remainder(totals, weights, member)
    assert cents.dtype.kind == "i" and np.all(cents >= 0)
    for g, (total, w) in enumerate(groups):
        mine = cents[member == g]
        if sum(w) > 0:
            assert int(mine.sum()) == total
            exact = np.asarray(w) / sum(w) * total
            assert np.all(np.abs(mine - exact) < 1 + 1e-6 * max(1, total))       # within one cent of its share
        else:
            assert int(mine.sum()) == 0                              # nobody to pay: nothing invented


@pytest.mark.slow
@FAST
@given(st.integers(1, 40), st.floats(1, 500), st.floats(0.1, 1.5),
       st.lists(st.tuples(st.floats(0.5, 3), st.sampled_from(["优秀", "称职", "合格", "基本称职", None])),
                min_size=1, max_size=15))
def test_distributed_salary_pool_sums_to_the_cent(headcount, base, ratio, people):
    t = {
        "zones": pd.DataFrame({"zone": ["甲"], "level": ["省级"], "profile": ["liaoyang"]}),
        "indicators": pd.DataFrame({"zone": ["甲"], "year": [2023.0], "tax": [90.0], "fixed_investment": [210.0],
                                    "industrial_output": [300.0]}),
        "salary": pd.DataFrame({"zone": ["甲"], "year": [2023.0], "headcount": [headcount], "base_standard": [base],
                                "performance_ratio": [ratio], "target_tax": [100.0], "target_investment": [200.0],
                                "target_output": [300.0], "project_reward": [0.0]}),
        "staff": pd.DataFrame({"name": [f"人{i}" for i in range(len(people))], "zone": ["甲"] * len(people),
                               "post_coef": [p for p, _ in people], "grade": [g for _, g in people]}),
    }
    res = compute_salary(t)
    pool = res.pools["绩效薪酬"].iat[0]
    assert np.isfinite(pool) and pool > 0                          # every input given: the pool is computed
    pay = res.people["绩效薪酬(元)"].to_numpy()
    assert np.all(pay >= 0)
    assert round(pay.sum() * 100) == round(pool * 1e6)              # 万元 → 分, exactly
