"""Mediation (Sobel, vectorised cluster bootstrap) and heterogeneity (interactions, small groups)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from replication.estimators import heterogeneity as ht
from replication.estimators import mediation as md
from replication.estimators.did import twfe
from replication.data.index import add_index


@pytest.fixture(scope="module")
def data(panel):
    return ht.add_groups(add_index(panel))


def test_sobel_se_equals_its_formula():
    se, z, p = md.sobel(0.5, 0.1, 2.0, 0.4)
    assert se == pytest.approx(np.sqrt(2.0 ** 2 * 0.1 ** 2 + 0.5 ** 2 * 0.4 ** 2))
    assert z == pytest.approx(1.0 / se)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)  # two-sided normal p


def test_three_step_pieces_are_the_twfe_regressions(data):
    r = md.three_step(data, "hc")
    assert r.a == twfe(data, "hc")["did"]
    assert r.b == twfe(data, "nqp", ["did", "hc"])["hc"]
    se, _, _ = md.sobel(r.a, r.step2.std_errors["did"], r.b, r.step3.std_errors["hc"])
    assert r.sobel_se == pytest.approx(se)


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
    a = md.bootstrap_paths(data, ["hc"], n_boot=50, seed=3)["hc"]
    b = md.bootstrap_paths(data, ["hc"], n_boot=50, seed=3)["hc"]
    c = md.bootstrap_paths(data, ["hc"], n_boot=50, seed=4)["hc"]
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
    for _, row in sub.iterrows():
        assert full.params[f"did_x_{row['group']}"] == pytest.approx(row["coef"], abs=1e-9)


def test_subgroup_counts_and_truth(data, sim):
    s = ht.subgroups(data, "region", truth=sim.truth).set_index("group")
    assert s.loc["east", "N"] == 1400 and s.loc["central", "cities"] == 100
    assert (s["treated cities"] > 0).all()
    west = s.loc["west"]
    assert west["ci_lower"] < sim.truth["att_region_west"] < west["ci_upper"]


def test_small_group_gives_an_explanatory_row(data):
    few = data[~((data["region"] == "west") & (data["treat"] == 1))
               | data["city_code"].isin(data.loc[(data["region"] == "west") & (data["treat"] == 1),
                                                 "city_code"].unique()[:2])]
    s = ht.subgroups(few, "region", min_treated=5).set_index("group")
    assert np.isnan(s.loc["west", "coef"]) and "too few" in s.loc["west", "note"]
    assert np.isfinite(s.loc["east", "coef"])


def test_wald_test_and_permutation_gap(data):
    from scipy import stats

    it = ht.interaction_test(data, "size")
    assert it["df"][0] == 1
    # independent reparametrisation: did + did x large; with two groups the Wald F of equal
    # effects is the square of the t statistic of the interaction (same cluster covariance)
    d = data.assign(did_large=data["did"] * (data["size"] == "large"))
    r = twfe(d, "nqp", ["did", "did_large"], cluster="city_code")
    assert it["wald_F"] == pytest.approx(r.tstats["did_large"] ** 2, rel=1e-8)
    assert it["df"][1] == r.df_resid
    assert it["p_value"] == pytest.approx(2 * stats.t.sf(abs(r.tstats["did_large"]), r.df_resid), rel=1e-8)
    pg = ht.permutation_gap(data, "size", ("small_medium", "large"), n_draws=40, seed=1)
    assert pg["draws"].shape == (40,)
    # the gap equals the difference of the pooled interaction model's coefficients
    c = it["coefficients"].set_index("group")["coef"]
    assert pg["gap"] == pytest.approx(c["small_medium"] - c["large"], abs=1e-9)


def test_missing_size_is_a_clear_error(panel):
    with pytest.raises(ValueError, match="urban_core_pop_2020"):
        ht.add_groups(panel.assign(urban_core_pop_2020=pd.NA))
