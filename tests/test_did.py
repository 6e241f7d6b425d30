"""TWFE DID: coefficients equal dummy-variable OLS; SEs equal the cluster formula."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from replication.estimators import did, within
from replication.data.schema import CONTROLS
from replication.data.index import add_index


@pytest.fixture(scope="module")
def data(panel):
    return add_index(panel)


def _lsdv(df, regs, entity=True, time=True):
    parts = [df[regs]]
    if entity:
        parts.append(pd.get_dummies(df["city_code"], prefix="c", drop_first=True, dtype=float))
    if time:
        parts.append(pd.get_dummies(df["year"], prefix="y", drop_first=True, dtype=float))
    X = sm.add_constant(pd.concat(parts, axis=1).astype(float))
    return X


@pytest.mark.parametrize("entity,time", [(True, True), (True, False), (False, True), (False, False)])
def test_coefficients_equal_dummy_variable_ols(data, entity, time):
    regs = ["did", *CONTROLS]
    X = _lsdv(data, regs, entity, time)
    ref = sm.OLS(data["nqp"], X).fit()
    res = did.twfe(data, "nqp", "did", CONTROLS, entity_effects=entity, time_effects=time)
    np.testing.assert_allclose(res.params[regs].to_numpy(), ref.params[regs].to_numpy(), rtol=0, atol=1e-8)
    assert res.r2 == pytest.approx(ref.rsquared, abs=1e-10)


def test_coefficients_equal_panelols(data):
    ref = did.reference_panelols(data, "nqp", ["did", *CONTROLS])
    res = did.twfe(data, "nqp")
    np.testing.assert_allclose(res.params[ref.params.index].to_numpy(), ref.params.to_numpy(), atol=1e-10)


def test_cluster_se_equal_the_hand_formula_under_each_convention(data):
    regs = ["did", *CONTROLS]
    df = data.sort_values(["city_code", "year"])
    X = _lsdv(df, regs).to_numpy()
    y = df["nqp"].to_numpy()
    XtXi = np.linalg.inv(X.T @ X)
    b = XtXi @ X.T @ y
    u = y - X @ b
    g = df["city_code"].to_numpy()
    meat = np.zeros((X.shape[1], X.shape[1]))
    for c in np.unique(g):
        s = X[g == c].T @ u[g == c]
        meat += np.outer(s, s)
    V = XtXi @ meat @ XtXi
    se_raw = np.sqrt(np.diag(V))[1:1 + len(regs)]
    N, G, T = len(df), len(np.unique(g)), df["year"].nunique()
    K = len(regs) + 1 + (T - 1)
    q = G / (G - 1) * (N - 1) / (N - K)
    none = did.twfe(data, "nqp", convention="none")
    stata = did.twfe(data, "nqp", convention="stata")
    np.testing.assert_allclose(none.std_errors[regs].to_numpy(), se_raw, rtol=1e-8)
    np.testing.assert_allclose(stata.std_errors[regs].to_numpy(), se_raw * np.sqrt(q), rtol=1e-8)
    assert stata.df_resid == G - 1


def test_pooled_ols_matches_statsmodels_cluster_defaults(data):
    ref = sm.OLS(data["nqp"], sm.add_constant(data[["did"]])).fit(cov_type="cluster",
                                                                   cov_kwds={"groups": data["city_code"]})
    res = did.twfe(data, "nqp", "did", (), entity_effects=False, time_effects=False)
    assert res["did"] == pytest.approx(ref.params["did"], abs=1e-10)
    assert res.std_errors["did"] == pytest.approx(ref.bse["did"], rel=1e-8)  # statsmodels applies the same q
    assert res["_cons"] == pytest.approx(ref.params["const"], abs=1e-10)


def test_constant_under_fe_is_mean_y_minus_mean_x_b(data):
    res = did.twfe(data, "nqp")
    regs = ["did", *CONTROLS]
    cons = data["nqp"].mean() - data[regs].mean().to_numpy() @ res.params[regs].to_numpy()
    assert res["_cons"] == pytest.approx(cons, abs=1e-10)


def test_f_is_t_squared_with_one_regressor(data):
    res = did.twfe(data, "nqp", "did", ())
    assert res.fstat == pytest.approx(res.tstats["did"] ** 2, rel=1e-10)


def test_linearmodels_convention_returns_panelols_ses(data):
    ref = did.reference_panelols(data, "nqp", ["did", *CONTROLS])
    res = did.twfe(data, "nqp", convention="linearmodels")
    np.testing.assert_allclose(res.std_errors[ref.std_errors.index].to_numpy(), ref.std_errors.to_numpy(), rtol=1e-10)


def test_collinear_control_is_a_clear_error(data):
    d = data.assign(pd2=data["pd"] * 2)
    with pytest.raises(ValueError, match="collinear"):
        did.twfe(d, "nqp", "did", ["pd", "pd2"])


def test_table2_five_columns(data):
    res = did.table2(data)
    assert list(res) == ["(1)", "(2)", "(3)", "(4)", "(5)"]
    assert res["(5)"].spec["entity_effects"] and res["(5)"].spec["time_effects"]
    assert not res["(1)"].spec["controls"] and "pd" not in res["(1)"].params


def test_column5_ci_covers_the_true_att(data, sim):
    lo, hi = did.twfe(data, "nqp").conf_int().loc["did"]
    assert lo < sim.truth["att"] < hi


def test_stars():
    assert [did.stars(p) for p in (0.001, 0.03, 0.07, 0.2)] == ["***", "**", "*", ""]


def test_demean_unbalanced_equals_dummy_regression():
    rng = np.random.default_rng(3)
    e = np.repeat(np.arange(30), 6)
    t = np.tile(np.arange(6), 30)
    keep = rng.random(len(e)) > 0.2
    e, t = e[keep], t[keep]
    a = rng.normal(size=len(e))
    D = np.column_stack([np.ones(len(e)), pd.get_dummies(e, drop_first=True, dtype=float),
                         pd.get_dummies(t, drop_first=True, dtype=float)])
    resid = a - D @ np.linalg.lstsq(D, a, rcond=None)[0]
    np.testing.assert_allclose(within.demean(a, e, t), resid, atol=1e-10)
    assert not within.is_balanced(e, t)


# ---------------------------------------------------------------------------------------
# Table 3 assembly and dropping each batch (replication.estimators.robustness), against PanelOLS on
# the sample each column should use

def _panelols_did(df, regs):
    from linearmodels import PanelOLS

    d = df.set_index(["city_code", "year"])
    return PanelOLS(d["nqp"], d[regs].astype(float), entity_effects=True, time_effects=True).fit().params


@pytest.fixture(scope="module")
def table3(data):
    from replication.estimators import robustness

    return robustness.table3(data)


def test_table3_columns_use_the_samples_the_paper_describes(data, table3):
    from replication.data.facts import MUNICIPALITIES

    res, m = table3
    assert list(res) == ["(1)", "(2)", "(3a)", "(3b)"]
    N, T = len(data), data["year"].nunique()
    # (1) without the four municipalities: 4 cities x 14 years fewer
    assert res["(1)"].nobs == N - len(MUNICIPALITIES) * T and res["(1)"].n_clusters == data["city_code"].nunique() - 4
    ref = _panelols_did(data[~data["city_code"].isin(MUNICIPALITIES)], ["did", *CONTROLS])
    np.testing.assert_allclose(res["(1)"].params[ref.index].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
    # (2) the full sample with the Broadband China dummy
    assert res["(2)"].nobs == N and "broadband" in res["(2)"].params.index
    ref = _panelols_did(data, ["did", "broadband", *CONTROLS])
    np.testing.assert_allclose(res["(2)"].params[ref.index].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
    # (3a) the common-support rows; (3b) the matched rows, each counted once
    sup = m.data["_support"] == 1
    treated_matched = (m.data["treat"] == 1) & (m.data["_id"] >= 0)
    used_controls = m.data.index.isin(m.data.loc[treated_matched, "_id"].unique())
    assert res["(3a)"].nobs == int(sup.sum())
    assert res["(3b)"].nobs == int(treated_matched.sum()) + int(used_controls.sum())
    assert res["(3b)"].nobs <= res["(3a)"].nobs <= res["(2)"].nobs == N
    np.testing.assert_array_equal(m.data["_weight"].notna().to_numpy(), (treated_matched | used_controls).to_numpy())
    for col, rows in (("(3a)", sup), ("(3b)", m.data["_weight"].notna())):
        ref = _panelols_did(m.data[rows], ["did", *CONTROLS])
        np.testing.assert_allclose(res[col].params[ref.index].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)


def test_table3_reuses_a_given_match(data, table3):
    from replication.estimators import robustness

    res, m = table3
    again, m2 = robustness.table3(data, match=m)
    assert m2 is m
    for col in res:
        pd.testing.assert_series_equal(again[col].params, res[col].params, rtol=0, atol=0)


def test_dropping_each_batch_excludes_exactly_that_batchs_cities(data):
    from replication.estimators import robustness

    out = robustness.drop_each_batch(data)
    assert list(out) == ["without batch 2012", "without batch 2013", "without batch 2014"]
    cities = data.drop_duplicates("city_code").set_index("city_code")["pilot_year"]
    T = data["year"].nunique()
    for label, r in out.items():
        b = int(label.split()[-1])
        gone = cities.index[(cities == b).fillna(False).to_numpy(bool)]
        assert len(gone) == {2012: 37, 2013: 33, 2014: 25}[b]
        keep = data[~data["city_code"].isin(gone)]
        assert r.nobs == len(data) - len(gone) * T == len(keep)
        assert r.n_clusters == cities.size - len(gone)
        ref = _panelols_did(keep, ["did", *CONTROLS])
        np.testing.assert_allclose(r.params[ref.index].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
