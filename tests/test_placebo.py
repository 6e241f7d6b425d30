"""Vectorised placebo: equals PanelOLS per draw; deterministic; schemes behave."""
from __future__ import annotations

import numpy as np
import pytest

from replication.estimators import placebo
from replication.data.schema import CONTROLS
from replication.data.index import add_index


@pytest.fixture(scope="module")
def data(panel):
    return add_index(panel)


def _pilots(df):
    return df.groupby("city_code")["pilot_year"].first().astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def test_five_draws_equal_fresh_panelols_fits(data):
    res = placebo.permutation_test(data, n_draws=5, seed=11)
    PY = placebo._placebo_years(_pilots(data), data["year"].to_numpy(), "cohort", 5, np.random.default_rng(11))
    naive = placebo.naive_permutation_test(data, "nqp", list(CONTROLS), PY)
    np.testing.assert_allclose(res.draws["estimate"].to_numpy(), naive, rtol=0, atol=1e-10)


def test_placebo_se_equals_twfe_se(data):
    from replication.estimators.did import twfe

    PY = placebo._placebo_years(_pilots(data), data["year"].to_numpy(), "random_years", 2, np.random.default_rng(5))
    res = placebo.permutation_test(data, n_draws=2, seed=5, scheme="random_years")
    _, idx = np.unique(data["city_code"], return_inverse=True)
    d = data.assign(did=(data["year"].to_numpy() >= np.nan_to_num(PY[idx, 0], nan=np.inf)).astype(int))
    ref = twfe(d, "nqp")
    assert res.draws["estimate"].iloc[0] == pytest.approx(ref["did"], abs=1e-10)
    assert res.draws["std_error"].iloc[0] == pytest.approx(ref.std_errors["did"], rel=1e-8)
    assert res.draws["p_value"].iloc[0] == pytest.approx(ref.pvalues["did"], rel=1e-8)


def test_same_seed_same_draws_other_seed_other_draws(data):
    a = placebo.permutation_test(data, n_draws=20, seed=1).draws
    b = placebo.permutation_test(data, n_draws=20, seed=1).draws
    c = placebo.permutation_test(data, n_draws=20, seed=2).draws
    assert a.equals(b)
    assert not np.allclose(a["estimate"], c["estimate"])
    g = placebo.permutation_test(data, n_draws=20, seed=np.random.default_rng(1)).draws
    assert g.equals(a)


def test_cohort_scheme_keeps_batch_sizes():
    pil = np.array([2012.0] * 3 + [2013.0] * 2 + [np.nan] * 5)
    PY = placebo._placebo_years(pil, np.arange(2009, 2023), "cohort", 50, np.random.default_rng(0))
    for r in range(50):
        vals, counts = np.unique(PY[np.isfinite(PY[:, r]), r], return_counts=True)
        assert dict(zip(vals, counts)) == {2012.0: 3, 2013.0: 2}


def test_random_years_scheme_keeps_the_number_treated():
    pil = np.array([2012.0] * 3 + [np.nan] * 7)
    PY = placebo._placebo_years(pil, np.arange(2009, 2023), "random_years", 50, np.random.default_rng(0))
    assert (np.isfinite(PY).sum(axis=0) == 3).all()
    assert np.nanmin(PY) >= 2010 and np.nanmax(PY) <= 2022


def test_real_estimate_is_an_outlier_and_placebos_centre_on_zero(data):
    res = placebo.permutation_test(data, n_draws=200, seed=3)
    assert abs(res.draws["estimate"].mean()) < 3 * res.draws["estimate"].std() / np.sqrt(200) + 1e-3
    assert res.pvalue <= 2 / 201
    assert 0.02 < (res.draws["p_value"] < 0.1).mean() < 0.25


def test_impossible_schemes_are_clear_errors(data):
    with pytest.raises(ValueError, match="scheme"):
        placebo.permutation_test(data, n_draws=2, scheme="wild")
    none = data.assign(pilot_year=data["pilot_year"].astype("Float64") * np.nan)
    with pytest.raises(ValueError, match="treated and untreated"):
        placebo.permutation_test(none.assign(did=0), n_draws=2)
    # an unbalanced panel is no longer an error (tests/test_unbalanced.py checks the draws)
    unbalanced = data.drop(index=data.index[:3])
    res = placebo.permutation_test(unbalanced, n_draws=2)
    assert not res.panel["balanced"] and res.panel["rows"] == len(data) - 3


def test_the_result_is_a_test_result_of_the_real_estimate(data):
    """statistic = the real TWFE coefficient; pvalue = (1 + #|b_r| >= |b|) / (1 + R), recomputed
    from the draws; null_distribution = the draws; summary() is text."""
    from replication.estimators.did import twfe
    from replication.estimators.results import TestResult

    res = placebo.permutation_test(data, n_draws=30, seed=4)
    assert isinstance(res, TestResult) and res.n_draws == 30
    real = twfe(data, "nqp")
    assert res.statistic == real["did"] and res.std_error == real.std_errors["did"]
    np.testing.assert_array_equal(res.null_distribution, res.draws["estimate"].to_numpy())
    assert res.pvalue == (1 + int((np.abs(res.null_distribution) >= abs(res.statistic)).sum())) / 31
    assert "30 draws" in res.summary() and res.tidy().loc[0, "n_draws"] == 30
