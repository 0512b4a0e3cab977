"""Properties of the ranking and salary engine on random data (issue 14, deliverable 6): ranks are
a permutation-consistent function of scores, weights are non-negative and sum to 1, the
distributed salary pool sums to the cent, and a composite stays on its 百分制."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from xltools.engine import scoring as sc
from xltools.engine.ranking import RankOptions, rank_zones
from xltools.engine.salary import largest_remainder

values = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
matrices = st.integers(2, 12).flatmap(lambda n: st.integers(1, 5).flatmap(
    lambda m: st.lists(st.lists(values, min_size=m, max_size=m), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30), st.randoms())
def test_ranks_are_a_permutation_consistent_function_of_scores(scores, rnd):
    s = np.asarray(scores)
    ranks = sc.competition_rank(s)
    order = list(range(len(s)))
    rnd.shuffle(order)
    assert np.array_equal(sc.competition_rank(s[order]), ranks[order])
    # RANK.EQ: 1 + the number of strictly better scores
    better = (sc.round_sig(s)[None, :] > sc.round_sig(s)[:, None]).sum(axis=1) + 1
    assert np.array_equal(ranks, better)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_entropy_weights_are_non_negative_and_sum_to_one(rows):
    x = np.asarray(rows, dtype=float)
    try:
        w = sc.entropy_weights(x)
    except sc.ScoringError:                       # every column constant: refused, never NaN weights
        assert np.all(np.ptp(x, axis=0) == 0) or len(x) < 2
        return
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=5),
       st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40), st.randoms())
def test_the_distributed_pool_sums_to_the_cent(totals, weights, rnd):
    groups = np.array([rnd.randrange(len(totals)) for _ in weights])
    cents = largest_remainder(np.asarray(totals, dtype=np.int64), np.asarray(weights), groups)
    for g, total in enumerate(totals):
        mine = groups == g
        if mine.any() and np.asarray(weights)[mine].sum() > 0:
            assert cents[mine].sum() == total
    assert np.all(cents >= 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(values, values, values), min_size=2, max_size=15),
       st.sampled_from(["minmax", "efficacy", "max", "vector"]), st.sampled_from([None, ["级别"]]))
def test_a_composite_stays_on_the_hundred_point_scale_and_ranks_agree(rows, normalize, by):
    n = len(rows)
    names = [f"区{i}" for i in range(n)]
    zones = pd.DataFrame({"zone": names, "level": ["国家级" if i % 2 else "省级" for i in range(n)]})
    ind = pd.DataFrame({"zone": names, "year": 2023.0, "tax": [r[0] for r in rows], "land_area": [r[1] for r in rows],
                        "value_added": [r[2] for r in rows]})
    system = pd.DataFrame({"indicator": ["亩均税收", "亩均增加值"], "direction": ["正向", "负向"], "weight": [2.0, 1.0]})
    r = rank_zones({"zones": zones, "indicators": ind, "indicator_system": system}, "default",
                   RankOptions(normalize=normalize, by=by if by else [])).ranking
    assert r["综合得分"].between(0, 100 + 1e-9).all()
    # 总排名 and 组内排名 rank the same score
    assert np.array_equal(r["总排名"].to_numpy(), sc.competition_rank(r["综合得分"].to_numpy()))
    within = sc.competition_rank(r["综合得分"].to_numpy(), r["分组"].to_numpy(dtype=object))
    assert np.array_equal(r["组内排名"].to_numpy(), within)
