"""The shared result protocol and inference helpers (replication.estimators.results)."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from replication.estimators.results import Estimates, TestResult, cluster_cov, rng, wald_test


def _ols_data(seed=0, n=200, G=20):
    g = rng(seed)
    X = np.column_stack([g.normal(size=(n, 2)), np.ones(n)])
    cl = np.repeat(np.arange(G), n // G)
    y = X @ [1.0, -0.5, 2.0] + g.normal(size=G)[cl] + g.normal(size=n)
    return X, y, cl


def test_cluster_cov_equals_statsmodels_cluster_with_stata_factor():
    X, y, cl = _ols_data()
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl})  # G/(G-1)*(N-1)/(N-K)
    B = np.linalg.inv(X.T @ X)
    u = y - X @ (B @ X.T @ y)
    n, k, G = len(y), X.shape[1], 20
    V = cluster_cov(B, X * u[:, None], cl, G, q=G / (G - 1) * (n - 1) / (n - k))
    np.testing.assert_allclose(V, fit.cov_params(), rtol=1e-10)
    np.testing.assert_allclose(cluster_cov(B, X * u[:, None], q=n / (n - k)),
                               sm.OLS(y, X).fit(cov_type="HC1").cov_params(), rtol=1e-10)


def test_wald_test_matches_statsmodels_and_t_squared():
    X, y, cl = _ols_data(1)
    fit = sm.OLS(y, X).fit()
    R = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    ours = wald_test(fit.params, fit.cov_params(), R, df=fit.df_resid)
    ref = fit.f_test(R)
    assert ours.statistic == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-10)
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-10)
    one = wald_test(fit.params, fit.cov_params(), [[0, 1.0, 0]], df=fit.df_resid)
    assert one.statistic == pytest.approx(fit.tvalues[1] ** 2, rel=1e-10)
    chi = wald_test(fit.params, fit.cov_params(), R)
    assert chi.distribution == "chi2" and chi.pvalue == pytest.approx(stats.chi2.sf(chi.statistic, 2))


def test_rng_passes_generators_through_and_seeds_deterministically():
    g = np.random.default_rng(5)
    assert rng(g) is g
    assert rng(7).normal() == np.random.default_rng(7).normal()


class _Toy(Estimates):
    title = "toy"

    def __init__(self, df_resid=None):
        self.params = pd.Series([1.0, -2.0], index=["a", "b"])
        self.std_errors = pd.Series([0.5, 4.0], index=["a", "b"])
        self.nobs = 100
        self.df_resid = df_resid


def test_estimates_protocol_t_and_normal_inference():
    z, t = _Toy(), _Toy(df_resid=9)
    assert z.tstats.tolist() == [2.0, -0.5]
    assert z.pvalues["a"] == pytest.approx(2 * stats.norm.sf(2.0))
    assert t.pvalues["a"] == pytest.approx(2 * stats.t.sf(2.0, 9))
    ci = t.conf_int(0.9)
    assert ci.loc["a", "upper"] == pytest.approx(1.0 + stats.t.ppf(0.95, 9) * 0.5)
    tid = t.tidy()
    assert list(tid.columns) == ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    assert tid["term"].tolist() == ["a", "b"]
    assert "Observations" in t.summary() and "P>|t|" in t.summary() and "P>|z|" in z.summary()
    assert "<table" in t._repr_html_()


def test_test_result_protocol():
    r = TestResult(3.0, 0.04, name="placebo", n_draws=500)
    assert "500 draws" in r.summary() and r.tidy().loc[0, "n_draws"] == 500


def test_the_distribution_functions_are_scipy_stats_to_the_last_bit():
    """replication.estimators.distributions calls the scipy.special functions that scipy.stats'
    t, normal, F and chi-squared call: the same values, bit for bit, on a grid."""
    from scipy import stats

    from replication.estimators import distributions as dist

    x = np.r_[-40, np.linspace(-6, 6, 241), 40, 1e-8]
    q = np.r_[1e-12, np.linspace(0.001, 0.999, 199), 1 - 1e-12]
    for df in (1, 2.5, 13, 284, 3975, 1e7):
        np.testing.assert_array_equal(dist.t(df).sf(x), stats.t(df).sf(x))
        np.testing.assert_array_equal(dist.t(df).cdf(x), stats.t(df).cdf(x))
        np.testing.assert_array_equal(dist.t(df).ppf(q), stats.t(df).ppf(q))
    np.testing.assert_array_equal(dist.norm.sf(x), stats.norm.sf(x))
    np.testing.assert_array_equal(dist.norm.cdf(x), stats.norm.cdf(x))
    np.testing.assert_array_equal(dist.norm.ppf(q), stats.norm.ppf(q))
    pos = np.abs(x)
    for d1, d2 in ((1, 10), (3, 284), (12, 1e6)):
        np.testing.assert_array_equal(dist.f_sf(pos, d1, d2), stats.f.sf(pos, d1, d2))
    for k in (1, 4, 30):
        np.testing.assert_array_equal(dist.chi2_sf(pos, k), stats.chi2.sf(pos, k))
