"""Scoring kernels against independent worked examples (papers, another library, LibreOffice)."""

from __future__ import annotations

import numpy as np
import pytest
import xlsxwriter

from xltools.engine import scoring as sc

# Hwang & Yoon (1981) fighter-aircraft example: 4 aircraft × 6 attributes, cost = acquisition cost.
FIGHTERS = np.array([[2.0, 1500, 20000, 5.5, 5, 9],
                     [2.5, 2700, 18000, 6.5, 3, 5],
                     [1.8, 2000, 21000, 4.5, 7, 7],
                     [2.2, 1800, 20000, 5.0, 5, 5]])
FIGHTER_W = np.array([0.2, 0.1, 0.1, 0.1, 0.2, 0.3])
FIGHTER_D = np.array([1, 1, 1, -1, 1, 1])


def test_topsis_reproduces_hwang_yoon_fighter_example():
    c = sc.topsis(FIGHTERS, FIGHTER_W, FIGHTER_D)
    # Published relative closeness (Hwang & Yoon 1981, 3 decimals): A1 0.643, A2 0.268, A3 0.614, A4 0.312
    assert np.round(c, 3).tolist() == [0.643, 0.268, 0.614, 0.312]
    assert list(np.argsort(-c)) == [0, 2, 3, 1]


def test_topsis_matches_pymcdm():
    import pymcdm
    from pymcdm import normalizations as n
    ref = pymcdm.methods.TOPSIS(normalization_function=n.vector_normalization)(FIGHTERS, FIGHTER_W, FIGHTER_D)
    assert np.allclose(sc.topsis(FIGHTERS, FIGHTER_W, FIGHTER_D), ref, atol=1e-6)
    ref_mm = pymcdm.methods.TOPSIS(normalization_function=n.minmax_normalization)(FIGHTERS, FIGHTER_W, FIGHTER_D)
    assert np.allclose(sc.topsis(FIGHTERS, FIGHTER_W, FIGHTER_D, "minmax"), ref_mm, atol=1e-6)


def test_topsis_constant_matrix_is_half():
    assert sc.topsis(np.ones((3, 2)), [0.5, 0.5]).tolist() == [0.5, 0.5, 0.5]


def test_entropy_raw_matches_pymcdm_on_positive_data():
    import pymcdm
    ref = pymcdm.weights.entropy_weights(FIGHTERS)
    assert np.allclose(sc.entropy_raw_weights(FIGHTERS), ref, atol=1e-6)


def test_entropy_direction_aware_by_hand():
    # Column 1: 1,2,3 → minmax 0,.5,1 → p 0,1/3,2/3 → e = −(1/3 ln1/3 + 2/3 ln2/3)/ln3
    # Column 2 (cost): 3,2,1 → the same y → the same entropy → equal weights; column 3 constant → 0.
    x = np.array([[1.0, 3.0, 7.0], [2.0, 2.0, 7.0], [3.0, 1.0, 7.0]])
    w = sc.entropy_weights(x, [1, -1, 1])
    assert w == pytest.approx([0.5, 0.5, 0.0])
    e = -(1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3)) / np.log(3)
    x2 = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 2.0]])
    # column 2: 1,1,2 → y 0,0,1 → p 0,0,1 → e = 0 → d = 1; column 1: d = 1 − e
    assert sc.entropy_weights(x2) == pytest.approx([(1 - e) / (1 - e + 1), 1 / (1 - e + 1)])


def test_entropy_edge_cases():
    with pytest.raises(sc.ScoringError, match="至少需要 2 个"):
        sc.entropy_weights(np.array([[1.0, 2.0]]))
    with pytest.raises(sc.ScoringError, match="没有差异"):
        sc.entropy_weights(np.ones((4, 2)))
    with pytest.raises(sc.ScoringError, match="非负"):
        sc.entropy_raw_weights(np.array([[-1.0, 2.0], [1.0, 3.0]]))
    assert sc.entropy_raw_weights(np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])) == pytest.approx([0.0, 1.0])


def test_ahp_textbook_matrix_and_ahpy():
    a = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    w, lam, cr = sc.ahp_weights(a)
    # Principal eigenvector weights 0.637/0.258/0.105, λmax 3.039, CR 0.033 (RI = 0.58)
    assert np.round(w, 3).tolist() == [0.637, 0.258, 0.105]
    assert lam == pytest.approx(3.0385, abs=1e-4) and cr == pytest.approx(0.0332, abs=1e-4)
    import ahpy
    comps = {("a", "b"): 3, ("a", "c"): 5, ("b", "c"): 3}
    ref = ahpy.Compare("x", comps, precision=6, random_index="saaty")
    assert [ref.target_weights[k] for k in "abc"] == pytest.approx(w.tolist(), abs=1e-5)
    # ahpy's "saaty" table uses Saaty's revised RI(3) = 0.52; our RI table is a parameter
    _, _, cr_052 = sc.ahp_weights(a, ri={3: 0.52})
    assert ref.consistency_ratio == pytest.approx(cr_052, abs=1e-4)


def test_ahp_inconsistent_matrix_is_an_error_naming_cr():
    bad = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    with pytest.raises(sc.ScoringError, match=r"CR = \d+\.\d{4} ≥ 0.10"):
        sc.ahp_weights(bad)
    with pytest.raises(sc.ScoringError, match="互反"):
        sc.ahp_weights([[1, 2], [2, 1]])


def test_normalisations_by_hand():
    x = np.array([[2.0], [4.0], [6.0]])
    assert sc.normalize(x, [1], "minmax")[:, 0].tolist() == [0.0, 0.5, 1.0]
    assert sc.normalize(x, [-1], "minmax")[:, 0].tolist() == [1.0, 0.5, 0.0]
    assert sc.normalize(x, [1], "efficacy")[:, 0].tolist() == [60.0, 80.0, 100.0]
    assert sc.normalize(np.full((3, 1), 5.0), [1], "minmax")[:, 0].tolist() == [1.0, 1.0, 1.0]
    assert sc.normalize(np.full((3, 1), 5.0), [1], "efficacy")[:, 0].tolist() == [100.0] * 3
    assert sc.normalize(x, [1], "max")[:, 0] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert sc.normalize(x, [-1], "max")[:, 0] == pytest.approx([1.0, 0.5, 1 / 3])    # min/x
    assert sc.normalize(x, [1], "sum")[:, 0] == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert sc.normalize(x, [1], "vector")[:, 0] == pytest.approx(x[:, 0] / np.sqrt(56))
    assert sc.normalize(x, [1], "zscore")[:, 0] == pytest.approx([-1.0, 0.0, 1.0])
    assert sc.normalize(x, [1], "benchmark", benchmark=[4.0], cap=1.2)[:, 0] == pytest.approx([0.5, 1.0, 1.2])
    assert sc.normalize(np.array([[-3.0]]), [1], "benchmark", benchmark=[4.0])[0, 0] == 0.0   # floor 0


def test_efficacy_anchor_example_is_not_clamped():
    """功效系数法 textbook example: 5.81% with 满意值 12%, 不允许值 6% → 58.73 (below 60, not clamped)."""
    d = sc.normalize(np.array([[5.81], [9.0]]), [1], "efficacy", satisfactory=[12.0], impermissible=[6.0])
    assert d[0, 0] == pytest.approx(58.7333, abs=1e-4) and d[1, 0] == pytest.approx(80.0)


def test_wsum_and_fixed_weights():
    assert sc.fixed_weights([30, 20, 50]).tolist() == [0.3, 0.2, 0.5]
    assert sc.wsum([[1.0, 0.0], [0.5, 0.5]], [3, 1]).tolist() == [0.75, 0.5]
    with pytest.raises(sc.ScoringError):
        sc.fixed_weights([-1, 2])
    assert sc.combined_weights([1, 0], [0, 1], 0.3) == pytest.approx([0.3, 0.7])


def test_competition_ranks_groups_and_noise():
    v = [90.0, 85.0, 90.0, 70.0, float("nan"), 0.1 + 0.2, 0.3]
    assert sc.competition_rank(v)[:4].tolist() == [1.0, 3.0, 1.0, 4.0]
    r = sc.competition_rank(v)
    assert np.isnan(r[4]) and r[5] == r[6] == 5.0
    assert sc.competition_rank([1.0, 2.0, 3.0, 4.0], ["a", "b", "a", "b"]).tolist() == [2.0, 2.0, 1.0, 1.0]
    assert sc.competition_rank([1.0, 2.0, 2.0], descending=False).tolist() == [1.0, 2.0, 2.0]
    assert sc.round_sig([123456789.123456789, 0.1 + 0.2, -0.0, 1234.5]).tolist() == [123456789.123, 0.3, 0.0, 1234.5]


def test_grades_by_shares_anhui_20_objects():
    # A 25% (5), B to 70% (14), C to 95% (19), D the rest (1)
    g = sc.grade_by_shares(np.arange(20, 0, -1.0), [0.25, 0.45, 0.25], list("ABCD"))
    assert "".join(g) == "AAAAA" + "B" * 9 + "C" * 5 + "D"


def test_grade_quota_rounding_and_ties():
    s = np.array([100, 90, 80, 80, 70, 60, 50.0])
    # 20% of 7 = 1.4: floor → 1, ceil → 2, round → 1
    assert sc.grade_by_shares(s, [0.2], ["优", "其他"], rounding="floor").tolist().count("优") == 1
    assert sc.grade_by_shares(s, [0.2], ["优", "其他"], rounding="ceil").tolist().count("优") == 2
    # 3 places with a tie at the cut-off (two 80s at positions 3–4)
    assert sc.grade_by_shares(s, [3 / 7], ["优", "其他"], ties="include").tolist().count("优") == 4
    assert sc.grade_by_shares(s, [3 / 7], ["优", "其他"], ties="exclude").tolist().count("优") == 2
    # within groups
    g = sc.grade_by_shares([3.0, 2.0, 1.0, 3.0, 2.0, 1.0], [1 / 3], ["优", "其他"], groups=list("aaabbb"))
    assert g.tolist() == ["优", "其他", "其他", "优", "其他", "其他"]


def test_grades_by_cutoffs():
    assert sc.grade_by_cutoffs([95, 85, 60, 59.9], [90, 80, 60], ["优秀", "良好", "合格", "不合格"]).tolist() == \
        ["优秀", "良好", "合格", "不合格"]


@pytest.mark.slow
def test_xt_rank_agrees_with_libreoffice_rank_eq(tmp_path):
    """XT_RANK vs LibreOffice's RANK.EQ, recalculated headless: ties, negatives, 0.1+0.2 vs 0.3."""
    from libreoffice import recalc_csv

    from xltools.udfs import XT_RANK
    values = [3.0, 1.0, 3.0, -2.0, 0.1 + 0.2, 0.3, -0.0, 1e-13, 2.5, -2.0]
    path = tmp_path / "rank.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    n = len(values)
    for i, v in enumerate(values):
        ws.write_number(i, 0, v)
        ws.write_formula(i, 1, f"=_xlfn.RANK.EQ(A{i + 1},$A$1:$A${n},0)", None, 0)
        ws.write_formula(i, 2, f"=_xlfn.RANK.EQ(A{i + 1},$A$1:$A${n},1)", None, 0)
    wb.close()
    rows = recalc_csv(path, tmp_path)
    lo_desc = [float(r[1]) for r in rows]
    lo_asc = [float(r[2]) for r in rows]
    ours_desc = [r[0] for r in XT_RANK([[v] for v in values])]
    ours_asc = [r[0] for r in XT_RANK([[v] for v in values], None, 1)]
    assert ours_desc == lo_desc
    assert ours_asc == lo_asc
    assert lo_desc[4] == lo_desc[5]          # LibreOffice, too, treats 0.1+0.2 and 0.3 as a tie
