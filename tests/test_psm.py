"""PSM: matching equals brute-force nearest neighbours; balance equals hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replication.estimators import psm
from replication.data.schema import CONTROLS


def _brute_with(ps, treated):
    c = np.flatnonzero(~treated)
    out = {}
    for t in np.flatnonzero(treated):
        d = np.abs(ps[c] - ps[t])
        out[t] = c[np.argmin(d)]  # first minimum = lowest position among ties
    return out


def _brute_without(ps, treated, order):
    c = list(np.flatnonzero(~treated))
    out = {}
    for t in order:
        if not c:
            break
        d = np.abs(ps[c] - ps[t])
        j = int(np.argmin(d))
        out[t] = c.pop(j)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_with_replacement_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    ps = np.round(rng.uniform(size=300), 2)  # rounding creates many ties
    tr = rng.uniform(size=300) < 0.3
    m = psm.match(ps, tr, common_support=False)
    bf = _brute_with(ps, tr)
    for t, c in bf.items():
        assert m.loc[t, "_id"] == c
    # control weights count the uses
    used = pd.Series(list(bf.values())).value_counts()
    for c, k in used.items():
        assert m.loc[c, "_weight"] == k


@pytest.mark.parametrize("seed", range(3))
def test_without_replacement_equals_brute_force_in_the_same_order(seed):
    rng = np.random.default_rng(seed)
    ps = np.round(rng.uniform(size=200), 2)
    tr = rng.uniform(size=200) < 0.3
    m = psm.match(ps, tr, replacement=False, common_support=False, seed=np.random.default_rng(42))
    t_idx = np.flatnonzero(tr)
    order = t_idx[np.random.default_rng(42).permutation(len(t_idx))]
    bf = _brute_without(ps, tr, order)
    for t, c in bf.items():
        assert m.loc[t, "_id"] == c
    used = m.loc[m["_treated"] == 0, "_weight"].dropna()
    assert (used == 1).all()


def test_common_support_and_caliper():
    ps = np.array([0.1, 0.32, 0.45, 0.3, 0.35, 0.5])
    tr = np.array([True, True, True, False, False, False])
    m = psm.match(ps, tr)
    assert list(m["_support"]) == [0, 1, 1, 1, 1, 1]  # 0.1 lies below the controls' minimum 0.3
    assert list(m["_id"][:3]) == [-1, 3, 5]
    assert m.loc[3, "_weight"] == 1 and m.loc[5, "_weight"] == 1
    assert np.isnan(m.loc[4, "_weight"])  # unused control
    c = psm.match(ps, tr, caliper=0.03)
    assert list(c["_id"][:3]) == [-1, 3, -1]  # 0.45 is 0.05 from its nearest control
    assert np.isnan(c.loc[2, "_weight"]) and np.isnan(c.loc[5, "_weight"])


def test_no_common_support_is_a_clear_error():
    ps = np.array([0.9, 0.95, 0.1, 0.2])
    tr = np.array([True, True, False, False])
    with pytest.raises(ValueError, match="common support"):
        psm.match(ps, tr)


def test_balance_statistics_equal_hand_computation():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    df = pd.DataFrame({"x": x, "treat": t})
    res = psm.psm(df, covariates=["x"], common_support=False)
    b = res.balance.set_index("sample")
    xt, xc = x[t == 1], x[t == 0]
    sd = np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2)
    assert b.loc["unmatched", "% bias"] == pytest.approx(100 * (xt.mean() - xc.mean()) / sd, rel=1e-12)
    w = res.data["_weight"].to_numpy()
    mc = np.nansum(np.where(t == 0, w * x, 0)) / np.nansum(np.where(t == 0, w, 0))
    assert b.loc["matched", "mean control"] == pytest.approx(mc, rel=1e-12)
    assert b.loc["matched", "% bias"] == pytest.approx(100 * (xt.mean() - mc) / sd, rel=1e-12)
    # unweighted t-test before matching = two-sample pooled t-test
    from scipy import stats

    assert b.loc["unmatched", "t"] == pytest.approx(stats.ttest_ind(xt, xc).statistic, rel=1e-10)


def test_default_panel_matched_bias_below_10_percent(panel):
    res = psm.psm(panel)
    after = res.balance[res.balance["sample"] == "matched"]
    assert (after["% bias"].abs() < 10).all(), after
    before = res.balance[res.balance["sample"] == "unmatched"]
    assert (before["% bias"].abs() > 20).all()


def test_year_by_year_matching_stays_within_years(panel):
    res = psm.psm(panel, by_year=True)
    d = res.data
    m = d[(d["treat"] == 1) & (d["_id"] >= 0)]
    assert (d.loc[m["_id"], "year"].to_numpy() == m["year"].to_numpy()).all()


def test_probit_option_is_the_probit_mle(panel):
    """The probit score is Phi(xb), and xb solves the probit likelihood equations
    sum_i x_i (d_i - Phi_i) phi_i / (Phi_i (1 - Phi_i)) = 0 (checked by hand, not by statsmodels)."""
    from scipy import stats

    res = psm.psm(panel, link="probit", covariates=CONTROLS)
    xb, ps = res.data["xb"].to_numpy(), res.data["pscore"].to_numpy()
    np.testing.assert_allclose(ps, stats.norm.cdf(xb), rtol=1e-12, atol=0)
    X = np.column_stack([np.ones(len(panel)), panel[list(CONTROLS)].to_numpy(float)])
    d = panel["treat"].to_numpy(float)
    score = X.T @ ((d - ps) * stats.norm.pdf(xb) / (ps * (1 - ps)))
    assert np.abs(score).max() / len(d) < 1e-6, score
    # and the score of xb is linear in the covariates: xb = X b for one b (least squares is exact)
    b, *_ = np.linalg.lstsq(X, xb, rcond=None)
    np.testing.assert_allclose(X @ b, xb, atol=1e-9)
    # it differs from the logit score (a different link, so a different model)
    assert not np.allclose(ps, psm.psm(panel, covariates=CONTROLS).data["pscore"].to_numpy(), atol=1e-3)


@pytest.mark.parametrize("by_year", [False, True])
def test_match_result_exposes_the_propensity_model_in_the_protocol(panel, by_year):
    """``result.model``: the logit coefficients whose index gives every row's xb and score,
    with ML standard errors (z inference); year by year one block per year."""
    from scipy import stats

    res = psm.psm(panel, by_year=by_year)
    mdl = res.model
    assert mdl.nobs == len(panel) and mdl.df_resid is None
    d = res.data
    for key, sub in ([(None, d)] if not by_year else list(d.groupby("year"))):
        pre = "" if key is None else f"{key}:"
        b = mdl.params[[f"{pre}{n}" for n in ["_cons", *CONTROLS]]].to_numpy()
        X = np.column_stack([np.ones(len(sub)), sub[list(CONTROLS)].to_numpy(float)])
        np.testing.assert_allclose(X @ b, sub["xb"].to_numpy(), rtol=1e-10, atol=1e-10)
        ps = 1 / (1 + np.exp(-(X @ b)))
        np.testing.assert_allclose(ps, sub["pscore"].to_numpy(), rtol=1e-10)
        # ML standard errors: the inverse information (X' diag(p(1-p)) X)^-1, by hand
        V = np.linalg.inv(X.T @ (X * (ps * (1 - ps))[:, None]))
        se = mdl.std_errors[[f"{pre}{n}" for n in ["_cons", *CONTROLS]]].to_numpy()
        np.testing.assert_allclose(se, np.sqrt(np.diag(V)), rtol=1e-6)
    p = 2 * stats.norm.sf(np.abs(mdl.params / mdl.std_errors))
    np.testing.assert_allclose(mdl.pvalues.to_numpy(), p, rtol=1e-12)
    t = mdl.tidy()
    assert len(t) == len(mdl.params) == (1 + len(CONTROLS)) * (panel["year"].nunique() if by_year else 1)
    assert "Rubin's B" in res.summary() and "Propensity score model" in mdl.summary()
