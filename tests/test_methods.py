"""The method registry (xltools/methods.py) is the one list of ranking methods: every reader follows
it, its flags tell the truth about the kernels, and the generated method tables are fresh."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from xltools.engine import scoring as sc
from xltools.methods import (AGGREGATE, FLAGS, METHODS, NORMALIZE, WEIGHTS, absolute_rule, normalization_for,
                             of_kind, score_formula)

X = np.array([[3.0, 10.0], [5.0, 40.0], [9.0, 20.0], [4.0, 30.0], [7.0, 15.0], [6.0, 25.0]])
DIRS = np.array([1.0, -1.0])


def test_every_method_has_one_kernel_and_every_kernel_a_method():
    for kind, table in ((NORMALIZE, sc.NORMALIZERS), (WEIGHTS, sc.WEIGHERS), (AGGREGATE, sc.AGGREGATORS)):
        assert tuple(table) == of_kind(kind)
    assert (sc.NORMALIZATIONS, sc.WEIGHTINGS, sc.AGGREGATIONS) == (of_kind(NORMALIZE), of_kind(WEIGHTS),
                                                                   of_kind(AGGREGATE))


def test_chinese_method_names_are_the_registry_labels():
    from xltools.profiles.display import METHOD_NAMES
    assert all(METHOD_NAMES[m.id] == m.label for m in METHODS.values())


def test_registry_imports_nothing_heavy():
    """The CLI's help reads it before numpy or pandas is imported."""
    code = "import sys, xltools.methods; assert not {'numpy', 'pandas'} & set(sys.modules), sorted(sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("kind", [NORMALIZE, WEIGHTS, AGGREGATE])
def test_cli_help_and_choices_come_from_the_registry(kind):
    import typer

    from xltools.cli import app
    rank = typer.main.get_command(app).commands["rank"]
    option = next(p for p in rank.params if FLAGS[kind] in p.opts)
    assert all(f"{m} {METHODS[m].label}" in option.help for m in of_kind(kind))


def test_cli_rejects_a_method_the_registry_does_not_know(samples):
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "rank", str(samples / "青岛开发区.xlsx"),
                           "--weights", "nosuch"], capture_output=True, text=True)
    assert proc.returncode == 2 and "、".join(of_kind(WEIGHTS)) in proc.stderr


def test_udfs_take_the_methods_marked_for_them():
    from xltools import udfs
    cells = X.tolist()
    for m in of_kind(NORMALIZE):
        out = udfs.XT_NORMALIZE([[v] for v in X[:, 0]], m)
        assert isinstance(out[0][0], float) == METHODS[m].in_udf, m          # 对标法 needs benchmarks
    for m in of_kind(WEIGHTS):
        out = udfs.XT_WEIGHTS(cells, [[1.0, -1.0]], m, [[1.0, 3.0], [1 / 3, 1.0]])
        assert isinstance(out[0][0], float) == METHODS[m].in_udf, m
        if METHODS[m].in_udf:
            w, _ = sc.WEIGHERS[m](sc.WeightInputs(X, DIRS, pairwise=[[1.0, 3.0], [1 / 3, 1.0]]))
            assert out[0] == pytest.approx(w.tolist())
    for m in of_kind(AGGREGATE):
        out = udfs.XT_SCORE(cells, [[0.5, 0.5]], [[1.0, -1.0]], m)
        want = sc.AGGREGATORS[m](X, [0.5, 0.5], DIRS, METHODS[m].default_normalize)
        assert [r[0] for r in out] == pytest.approx(want.tolist())


@pytest.mark.parametrize("m", of_kind(NORMALIZE))
def test_group_aware_flag_says_whether_a_normalisation_depends_on_the_others(m):
    """Not group-aware ⇔ normalising a subset gives the same values as normalising all rows."""
    kw = {"benchmark": [5.0, 20.0]}
    whole = sc.normalize(X, DIRS, m, **kw)[3:]          # rows holding neither extreme
    part = sc.normalize(X[3:], DIRS, m, **kw)
    assert np.allclose(whole, part) != METHODS[m].group_aware


@pytest.mark.parametrize("m", of_kind(WEIGHTS))
def test_relative_flag_says_whether_weights_depend_on_the_data(m):
    inputs = dict(directions=DIRS, stated=np.array([0.3, 0.7]), pairwise=[[1.0, 3.0], [1 / 3, 1.0]], alpha=0.5)
    one, _ = sc.WEIGHERS[m](sc.WeightInputs(X, **inputs))
    other, _ = sc.WEIGHERS[m](sc.WeightInputs(X[::-1] ** 2 + X, **inputs))
    assert np.allclose(one, other) != METHODS[m].relative


@pytest.mark.parametrize("n", of_kind(NORMALIZE))
def test_aggregations_take_exactly_the_normalisations_they_declare(n):
    for a in of_kind(AGGREGATE):
        takes = not METHODS[a].normalizations or n in METHODS[a].normalizations
        try:
            sc.AGGREGATORS[a](X, [0.5, 0.5], DIRS, n, benchmark=[5.0, 20.0])
        except sc.ScoringError:
            assert not takes, (a, n)
        else:
            assert takes, (a, n)


def test_topsis_takes_its_normalisations_and_falls_back_to_its_default():
    assert [normalization_for("topsis", n) for n in of_kind(NORMALIZE)] == [
        n if n in ("vector", "minmax") else "vector" for n in of_kind(NORMALIZE)]
    assert all(normalization_for("wsum", n) == n for n in of_kind(NORMALIZE))


def test_every_combination_has_a_score_formula_and_the_absolute_rule_names_the_fixed_ones():
    for a in of_kind(AGGREGATE):
        for n in of_kind(NORMALIZE):
            assert score_formula(a, n, 100.0) and "{" not in score_formula(a, n, 100.0)
    rule = absolute_rule()
    assert all((METHODS[m].label in rule) != METHODS[m].relative for m in (*of_kind(AGGREGATE), *of_kind(WEIGHTS)))


def test_generated_method_tables_are_fresh():
    """docs/评价方法.md and the manual's 3.1 table are the registry's (xltools samples rewrites them)."""
    from conftest import ROOT

    from xltools.reference import DOCS, MANUAL, manual_with_methods
    assert (ROOT / "docs" / "评价方法.md").read_text(encoding="utf-8") == DOCS["评价方法.md"](), \
        "docs/评价方法.md 已过期：请运行 xltools samples"
    manual = (ROOT / "docs" / MANUAL).read_text(encoding="utf-8")
    assert manual_with_methods(manual) == manual, "docs/用户手册.md 的方法表已过期：请运行 xltools samples"
    assert all(f"`{m}`" in manual for m in METHODS)
