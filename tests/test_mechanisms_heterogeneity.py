"""Mediation (Sobel, vectorised cluster bootstrap) and heterogeneity (interactions, small groups)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from replication.estimators import heterogeneity as ht
from replication.estimators import mediation as md
from replication.estimators.did import twfe
from replication.estimators.results import TestResult
from replication.data.index import add_index
from replication.report import specs


@pytest.fixture(scope="module")
def data(panel):
    return specs.add_groups(add_index(panel))


def test_sobel_se_equals_its_formula():
    se, z, p = md.sobel(0.5, 0.1, 2.0, 0.4)
    assert se == pytest.approx(np.sqrt(2.0 ** 2 * 0.1 ** 2 + 0.5 ** 2 * 0.4 ** 2))
    assert z == pytest.approx(1.0 / se)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)  # two-sided normal p


def test_three_step_pieces_are_the_twfe_regressions(data):
    r = md.three_step(data, "hc")
    assert r.a == twfe(data, "hc")["did"]
    assert r.b == twfe(data, "nqp", ["did", "hc"])["hc"]
    se, z, p = md.sobel(r.a, r.step2.std_errors["did"], r.b, r.step3.std_errors["hc"])
    assert r.std_errors["indirect"] == pytest.approx(se) and isinstance(r.sobel, TestResult)
    assert (r.sobel.statistic, r.sobel.pvalue) == pytest.approx((z, p))


def test_mediation_result_speaks_the_protocol(data):
    """params a, b, c, c', a*b; SEs and t-based p/CIs from the three regressions; the indirect
    effect with the Sobel SE and normal p/CI; the percentile bootstrap as a TestResult."""
    from scipy import stats

    r = md.three_step(data, "st", n_draws=200, seed=1)
    assert list(r.params.index) == ["a", "b", "c", "c_prime", "indirect"]
    assert r.c == r.step1["did"] and r.c_prime == r.step3["did"] and r.indirect == pytest.approx(r.a * r.b)
    assert r.pvalues["a"] == pytest.approx(r.step2.pvalues["did"], rel=1e-12)
    assert r.pvalues["b"] == pytest.approx(r.step3.pvalues["st"], rel=1e-12)
    ci = r.conf_int(0.9)
    np.testing.assert_allclose(ci.loc["c"], r.step1.conf_int(0.9).loc["did"], rtol=1e-12)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(ci.loc["indirect"], [r.indirect - z * r.std_errors["indirect"],
                                                    r.indirect + z * r.std_errors["indirect"]], rtol=1e-12)
    assert r.pvalues["indirect"] == r.sobel.pvalue
    bt = r.bootstrap
    ab = r.boot[:, 0] * r.boot[:, 1]
    assert isinstance(bt, TestResult) and bt.n_draws == 200 and bt.statistic == r.indirect
    np.testing.assert_array_equal(bt.null_distribution, ab)
    lo, hi = bt.conf_int(0.9).loc["indirect"]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(ab, [0.05, 0.95])))
    assert bt.pvalue == min(1.0, 2 * min((ab < 0).mean(), (ab > 0).mean()))
    assert r.proportion == pytest.approx(r.indirect / r.c)
    assert md.three_step(data, "st").bootstrap is None
    assert "Sobel test" in r.summary() and "Bootstrap" in r.summary()


def test_the_public_mediation_is_the_plain_three_step_function():
    import types

    import replication as rp

    assert rp.mediation is md.three_step and isinstance(md, types.ModuleType) and type(md) is types.ModuleType


def test_unit_weights_reproduce_the_full_sample(data):
    n = data["city_code"].nunique()
    ab = md.bootstrap_paths(data, ["hc", "st"], weights=np.ones((n, 1)))
    for m in ("hc", "st"):
        r = md.three_step(data, m)
        np.testing.assert_allclose(ab[m][0], [r.a, r.b], rtol=1e-9)


def test_one_draw_equals_the_explicitly_resampled_panel(data):
    rng = np.random.default_rng(5)
    cities = np.sort(data["city_code"].unique())
    draw = rng.integers(0, len(cities), size=len(cities))
    W = np.bincount(draw, minlength=len(cities)).astype(float)[:, None]
    ab = md.bootstrap_paths(data, ["st"], weights=W)["st"][0]
    parts = [data[data["city_code"] == cities[j]].assign(city_code=k) for k, j in enumerate(draw)]
    res = pd.concat(parts, ignore_index=True)
    a = twfe(res, "st", cluster=None)["did"]
    b = twfe(res, "nqp", ["did", "st"], cluster=None)["st"]
    np.testing.assert_allclose(ab, [a, b], rtol=1e-8)


def test_bootstrap_is_deterministic_under_a_seed(data):
    a = md.bootstrap_paths(data, ["hc"], n_draws=50, seed=3)["hc"]
    b = md.bootstrap_paths(data, ["hc"], n_draws=50, seed=3)["hc"]
    c = md.bootstrap_paths(data, ["hc"], n_draws=50, seed=4)["hc"]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_paths_cover_the_dgp_truth(data, sim):
    for m in ("hc", "st"):
        r = md.three_step(data, m)
        lo, hi = r.step2.conf_int().loc["did"]
        assert lo < sim.truth[f"a_{m}"] < hi
        lo, hi = r.step3.conf_int().loc[m]
        assert lo < sim.truth[f"b_{m}"] < hi


def test_subgroups_equal_the_fully_interacted_model(data):
    sub = ht.subgroups(data, "region")
    full = ht.fully_interacted(data, "region")
    assert len(sub.params) == 3
    for g, b in sub.params.items():
        assert full.params[f"did_x_{g}"] == pytest.approx(b, abs=1e-9)


def test_subgroup_result_speaks_the_protocol(data, sim):
    s = ht.subgroups(data, "region", order=specs.TABLE7_GROUPS["region"])
    assert list(s.params.index) == ["east", "west", "central"]
    for g, fit in s.fits.items():  # each group's own regression, its own t(G-1)
        assert s.pvalues[g] == fit.pvalues["did"] and s.std_errors[g] == fit.std_errors["did"]
        np.testing.assert_allclose(s.conf_int().loc[g], fit.conf_int().loc["did"], rtol=0)
    t = s.table().set_index("group")
    assert t.loc["east", "nobs"] == 1400 and t.loc["central", "entities"] == 100
    assert (t["treated_entities"] > 0).all() and s.nobs == t["nobs"].sum()
    assert t.loc["west", "conf_low"] < sim.truth["att_region_west"] < t.loc["west", "conf_high"]
    assert list(ht.subgroups(data, "region").params.index) == ["central", "east", "west"]  # default: sorted


def test_small_group_gives_an_explanatory_row(data):
    few = data[~((data["region"] == "west") & (data["treat"] == 1))
               | data["city_code"].isin(data.loc[(data["region"] == "west") & (data["treat"] == 1),
                                                 "city_code"].unique()[:2])]
    s = ht.subgroups(few, "region", min_treated=5)
    t = s.table().set_index("group")
    assert "west" not in s.params.index and np.isnan(t.loc["west", "estimate"]) and "too few" in t.loc["west", "note"]
    assert np.isfinite(t.loc["east", "estimate"]) and "west" in s.summary()


def test_wald_test_and_permutation_gap(data):
    from scipy import stats

    it = ht.interaction_test(data, "size")
    assert isinstance(it, TestResult) and it.df[0] == 1 and it.distribution == "F"
    # independent reparametrisation: did + did x large; with two groups the Wald F of equal
    # effects is the square of the t statistic of the interaction (same cluster covariance)
    d = data.assign(did_large=data["did"] * (data["size"] == "large"))
    r = twfe(d, "nqp", ["did", "did_large"], cluster="city_code")
    assert it.statistic == pytest.approx(r.tstats["did_large"] ** 2, rel=1e-8)
    assert it.df[1] == r.df_resid
    assert it.pvalue == pytest.approx(2 * stats.t.sf(abs(r.tstats["did_large"]), r.df_resid), rel=1e-8)
    assert list(it.params.index) == ["large", "small_medium"] and it.params["large"] == pytest.approx(
        r.params["did"] + r.params["did_large"], rel=1e-8)
    # three regions: the F of two contrasts, against a reparametrisation with a base region
    it3 = ht.interaction_test(data, "region")
    d3 = data.assign(d_e=data["did"] * (data["region"] == "east"), d_w=data["did"] * (data["region"] == "west"))
    r3 = twfe(d3, "nqp", ["did", "d_e", "d_w"])
    b, V = r3.params[["d_e", "d_w"]].to_numpy(), r3.cov.loc[["d_e", "d_w"], ["d_e", "d_w"]].to_numpy()
    assert it3.statistic == pytest.approx(float(b @ np.linalg.solve(V, b)) / 2, rel=1e-8)
    pg = ht.permutation_gap(data, "size", ("small_medium", "large"), n_draws=40, seed=1)
    assert isinstance(pg, TestResult) and pg.n_draws == 40 and pg.null_distribution.shape == (40,)
    # the gap equals the difference of the pooled interaction model's coefficients
    assert pg.statistic == pytest.approx(it.params["small_medium"] - it.params["large"], abs=1e-9)
    assert pg.pvalue == (1 + int((np.abs(pg.null_distribution) >= abs(pg.statistic)).sum())) / 41


def test_missing_size_is_a_clear_error(panel):
    with pytest.raises(ValueError, match="urban_core_pop_2020"):
        specs.add_groups(panel.assign(urban_core_pop_2020=pd.NA))
