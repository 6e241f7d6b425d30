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


def test_constant_with_year_dummies_refers_to_the_base_year(data):
    """The docstring's claim: ``xtreg y x i.year, fe`` (entity effects absorbed, year dummies as
    regressors) reports mean(y) - mean(x, D)'(b, l): our ``_cons`` minus the sample average of
    the year effects.  The year effects are the dummy-variable OLS's (independent of twfe)."""
    regs = ["did", *CONTROLS]
    D = pd.get_dummies(data["year"], prefix="y", drop_first=True, dtype=float)
    dv = pd.concat([data, D], axis=1)
    xtreg = did.twfe(dv, "nqp", [*regs, *D.columns], (), time_effects=False)  # xtreg, fe with i.year
    ols = sm.OLS(data["nqp"], _lsdv(data, regs)).fit()
    lam = ols.params[[c for c in ols.params.index if c.startswith("y_")]].to_numpy()
    assert xtreg["_cons"] == pytest.approx(data["nqp"].mean() - dv[[*regs, *D.columns]].mean().to_numpy()
                                           @ xtreg.params[[*regs, *D.columns]].to_numpy(), abs=1e-10)
    ours = did.twfe(data, "nqp")
    assert xtreg["_cons"] == pytest.approx(ours["_cons"] - D.mean().to_numpy() @ lam, abs=1e-8)
    assert abs(xtreg["_cons"] - ours["_cons"]) > 0.01  # the two conventions really differ here


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
    from replication.report import specs

    res = specs.table2(data)
    assert list(res) == ["(1)", "(2)", "(3)", "(4)", "(5)"]
    assert res["(5)"].spec["entity_effects"] and res["(5)"].spec["time_effects"]
    assert not res["(1)"].spec["controls"] and "pd" not in res["(1)"].params


def test_cluster_defaults_to_the_entity_and_none_means_hc1(data):
    """``cluster`` defaults to whatever ``entity`` is; ``cluster=None`` is HC1 on the
    dummy-variable regression (statsmodels), with t(N-K) inference."""
    d = data.rename(columns={"city_code": "id"})
    default = did.twfe(d, "nqp", entity="id")
    explicit = did.twfe(d, "nqp", entity="id", cluster="id")
    pd.testing.assert_series_equal(default.std_errors, explicit.std_errors, rtol=0, atol=0)
    assert default.n_clusters == d["id"].nunique() and default.spec["cluster"] == "id"
    regs = ["did", *CONTROLS]
    ref = sm.OLS(data["nqp"], _lsdv(data, regs)).fit(cov_type="HC1")
    hc = did.twfe(data, "nqp", cluster=None)
    assert hc.n_clusters is None and hc.df_resid == ref.df_resid
    np.testing.assert_allclose(hc.std_errors[regs].to_numpy(), ref.bse[regs].to_numpy(), rtol=1e-8)
    with pytest.raises(KeyError, match="not in the panel"):
        did.twfe(d, "nqp", entity="id", cluster="city_code")


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
# Table 3 assembly (replication.report.specs) and dropping each batch (replication.estimators.robustness),
# against PanelOLS on
# the sample each column should use

def _panelols_did(df, regs):
    from linearmodels import PanelOLS

    d = df.set_index(["city_code", "year"])
    return PanelOLS(d["nqp"], d[regs].astype(float), entity_effects=True, time_effects=True).fit().params


@pytest.fixture(scope="module")
def table3(data):
    from replication.report import specs

    return specs.table3(data)


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
    from replication.report import specs

    res, m = table3
    again, m2 = specs.table3(data, match=m)
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


def test_dropping_each_batch_takes_the_users_names(data):
    from replication.estimators import robustness

    d = data.rename(columns={"city_code": "id", "year": "t", "pilot_year": "g", "did": "D", "nqp": "y"})
    a = robustness.drop_each_batch(data, "nqp", "did", ["pergdp"])
    b = robustness.drop_each_batch(d, "y", "D", ["pergdp"], pilot="g", entity="id", time="t")
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_allclose(b[k].params.to_numpy(), a[k].params.to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(b[k].std_errors.to_numpy(), a[k].std_errors.to_numpy(), rtol=1e-12)


def test_wild_cluster_bootstrap_is_wildboottests_and_a_test_result(data):
    """The wild cluster restricted bootstrap equals ``wildboottest.wildboottest`` on the same
    dummy-variable model and seed (our matrix form of its algorithm: the same p-value exactly,
    the t statistic and every bootstrap t to rounding, 1e-9 relative: the two sum in different
    orders); the result is a TestResult whose p-value is the share of bootstrap |t| above |t|
    (its null_distribution)."""
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    from replication.estimators import robustness
    from replication.estimators.results import TestResult

    keep = np.sort(data["city_code"].unique())[::5]  # 57 cities: fast
    sub = data[data["city_code"].isin(keep)].sort_values(["city_code", "year"]).reset_index(drop=True)
    res = robustness.wild_cluster_pvalue(sub, "nqp", "did", ["pergdp", "urb"], n_draws=299, seed=7)
    assert isinstance(res, TestResult) and res.n_draws == 299 and len(res.null_distribution) == 299
    X = sm.add_constant(pd.concat([sub[["did", "pergdp", "urb"]].astype(float),
                                   pd.get_dummies(sub["city_code"], prefix="c", drop_first=True, dtype=float),
                                   pd.get_dummies(sub["year"], prefix="y", drop_first=True, dtype=float)], axis=1))
    ref = wildboottest(sm.OLS(sub["nqp"].to_numpy(float), X), B=299, cluster=sub["city_code"].to_numpy(),
                       param="did", seed=7, show=False, parallel=False)
    assert res.pvalue == pytest.approx(float(ref["p-value"].iloc[0]), abs=0)
    assert res.statistic == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-9)
    from wildboottest.wildboottest import WildboottestCL

    R = np.zeros(X.shape[1])
    R[list(X.columns).index("did")] = 1.0
    boot = WildboottestCL(X=X.to_numpy(float), Y=sub["nqp"].to_numpy(float), cluster=sub["city_code"].to_numpy(),
                          R=R, B=299, seed=np.random.default_rng(7), parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    np.testing.assert_allclose(res.null_distribution, np.ravel(boot.t_boot), rtol=1e-9)
    assert res.pvalue == pytest.approx(np.mean(np.abs(res.statistic) < np.abs(res.null_distribution)), abs=0)
    # the bootstrap t of the full model agrees with our clustered t to the small-sample factor's difference
    t = did.twfe(sub, "nqp", "did", ["pergdp", "urb"]).tstats["did"]
    assert res.statistic == pytest.approx(t, rel=0.05)


@pytest.mark.parametrize("weights_type", ["rademacher", "webb"])
def test_wild_cluster_bootstrap_enumeration_and_other_weights_equal_wildboottest(data, weights_type):
    """Few clusters (8 cities): Rademacher weights enumerate all 2^8 sign vectors, as
    ``wildboottest`` does; Webb's six-point weights are drawn as it draws them."""
    from wildboottest.wildboottest import WildboottestCL

    from replication.estimators import robustness

    keep = np.sort(data["city_code"].unique())[:8]
    sub = data[data["city_code"].isin(keep)].sort_values(["city_code", "year"]).reset_index(drop=True)
    res = robustness.wild_cluster_pvalue(sub, "nqp", "did", ["pergdp"], n_draws=999, seed=3,
                                         weights_type=weights_type)
    X = np.column_stack([np.ones(len(sub)), sub[["did", "pergdp"]].to_numpy(float),
                         pd.get_dummies(sub["city_code"], drop_first=True, dtype=float).to_numpy(),
                         pd.get_dummies(sub["year"], drop_first=True, dtype=float).to_numpy()])
    R = np.zeros(X.shape[1])
    R[1] = 1.0
    boot = WildboottestCL(X=X, Y=sub["nqp"].to_numpy(float), cluster=sub["city_code"].to_numpy(), R=R, B=999,
                          seed=np.random.default_rng(3), parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
    boot.get_weights(weights_type=weights_type)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    assert res.n_draws == (2 ** 8 if weights_type == "rademacher" else 999)
    np.testing.assert_allclose(res.null_distribution, np.ravel(boot.t_boot), rtol=1e-9)
