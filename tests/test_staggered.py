"""Staggered-adoption estimators against published results (oracle data) and each other."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from conftest import ORACLE
from replication.estimators import staggered as sg
from replication.estimators.did import twfe


@pytest.fixture(scope="module")
def castle():
    return pd.read_csv(ORACLE / "bacondecomp_castle.csv")


@pytest.fixture(scope="module")
def mpdta():
    d = pd.read_csv(ORACLE / "mpdta.csv")
    d["did"] = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).astype(int)
    return d


def test_bacon_equals_the_bacondecomp_vignette(castle):
    res = sg.bacon(castle, "l_homicide", treat="post", entity="state", time="year")
    two, a = res.comparisons, res.by_type().set_index("type")
    published = {"Earlier vs Later Treated": (0.05976, -0.00554), "Later vs Earlier Treated": (0.03190, 0.07032),
                 "Treated vs Untreated": (0.90834, 0.08796)}
    for k, (w, b) in published.items():
        assert a.loc[k, "weight"] == pytest.approx(w, abs=5e-6)
        assert a.loc[k, "estimate"] == pytest.approx(b, abs=5e-6)
    tw = twfe(castle, "l_homicide", "post", (), entity="state", time="year", cluster="state")
    assert (two["weight"] * two["estimate"]).sum() == pytest.approx(tw["post"], abs=1e-12)
    assert tw["post"] == pytest.approx(0.0818, abs=5e-5)
    assert two["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res.estimate == pytest.approx(tw["post"], abs=1e-12) and res.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert list(res.tidy()["term"]) == list(a.index) and res.std_errors.isna().all()


@pytest.mark.parametrize("scenario,control", [("mpdta_nev_dr", "nevertreated"), ("mpdta_nyt_dr", "notyettreated")])
def test_callaway_santanna_equals_r_did(mpdta, scenario, control):
    ref = pd.read_csv(ORACLE / "did_r_reference" / "ref_attgt.csv")
    ref = ref[ref["scenario"] == scenario].reset_index(drop=True)
    agg = pd.read_csv(ORACLE / "did_r_reference" / "ref_aggte.csv")
    agg = agg[agg["scenario"] == scenario]
    cs = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year",
                              control_group=control)
    att = cs.attgt
    np.testing.assert_allclose(att["estimate"], ref["att"], atol=1e-6)
    np.testing.assert_allclose(att["std_error"], ref["se"], atol=1e-6)
    for typ in ("simple", "dynamic", "group", "calendar"):
        r = agg[agg["type"] == typ]
        ours = cs.aggregations[typ]
        assert ours.overall.params["ATT"] == pytest.approx(r["overall_att"].iloc[0], abs=1e-6)
        assert ours.overall.std_errors["ATT"] == pytest.approx(r["overall_se"].iloc[0], abs=1e-6)
        if typ != "simple":
            np.testing.assert_allclose(ours.params, r["att_egt"], atol=1e-6)
            np.testing.assert_allclose(ours.std_errors, r["se_egt"], atol=1e-6)
    # the result's own params are the dynamic aggregation, its att the simple one
    pd.testing.assert_series_equal(cs.params, cs.aggregations["dynamic"].params)
    assert cs.att.params["ATT"] == cs.aggregations["simple"].overall.params["ATT"]


def test_never_treated_coded_as_nan_is_handled(mpdta):
    d = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, np.nan)})
    a = sg.callaway_santanna(d, "lemp", cohort="first.treat", entity="countyreal", time="year")
    b = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    pd.testing.assert_frame_equal(a.attgt, b.attgt)


def test_sun_abraham_post_effects_equal_cs_group_time_effects(mpdta):
    """With never-treated controls and no covariates, each cohort x post-period coefficient
    of the saturated regression equals CS's ATT(g, t)."""
    sa = sg.sun_abraham(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    cs = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    ce = sa.cohort_effects
    m = ce.assign(time=ce["cohort"] + ce["event_time"]).merge(cs.attgt, left_on=["cohort", "time"],
                                                              right_on=["group", "time"], suffixes=("", "_cs"))
    post = m[m["event_time"] >= 0]
    assert len(post) == 7
    np.testing.assert_allclose(post["estimate"], post["estimate_cs"], atol=1e-10)
    dyn = cs.aggregations["dynamic"].params
    for e in (0, 1, 2, 3):
        assert sa.params[e] == pytest.approx(dyn[e], abs=1e-10)
    # and the unit-weighted mean of the post cells is CS's simple ATT
    assert sa.att.params["ATT"] == pytest.approx(cs.att.params["ATT"], abs=1e-10)


def test_imputation_equals_a_two_stage_regression(mpdta):
    im = sg.imputation(mpdta, "lemp", entity="countyreal", time="year", n_draws=0)
    untreated = mpdta[mpdta["did"] == 0]
    X = pd.get_dummies(untreated[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    fit = sm.OLS(untreated["lemp"], sm.add_constant(X)).fit()
    Xall = pd.get_dummies(mpdta[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    y0 = sm.add_constant(Xall)[fit.params.index] @ fit.params
    tau = (mpdta["lemp"] - y0)[mpdta["did"] == 1]
    assert im.params["ATT"] == pytest.approx(tau.mean(), abs=1e-8)
    assert im.n_draws == 0 and np.isnan(im.std_errors["ATT"]) and im.conf_int().isna().all(axis=None)


def test_event_study_pretrend_test_and_reference_period(panel):
    from replication.data.index import add_index

    d = add_index(panel)
    es = sg.event_study(d, "nqp", leads=3, lags=6)
    t = es.table().set_index("event_time")
    assert t.loc[-1, "estimate"] == 0 and list(t.index) == list(range(-3, 7))
    assert list(es.params.index) == [-3, -2, 0, 1, 2, 3, 4, 5, 6]
    # the pre-trend test is the Wald F of the two leads on the clustered covariance, t(G-1) df
    b, V = es.params[[-3, -2]].to_numpy(), es.cov.loc[[-3, -2], [-3, -2]].to_numpy()
    assert es.pretrend.statistic == pytest.approx(b @ np.linalg.solve(V, b) / 2, rel=1e-12)
    assert es.pretrend.df == (2, es.df_resid) and es.df_resid == d["city_code"].nunique() - 1
    # same coefficients as the TWFE regression behind it
    assert es.params[0] == pytest.approx(es.regression.params["e+0"], abs=1e-15)


def test_event_study_detects_a_planted_pretrend():
    from replication.data import load_panel
    from replication.data.index import add_index

    d = add_index(load_panel(seed=3, pretrend=0.3))
    assert sg.event_study(d, "nqp", leads=3, lags=6).pretrend.pvalue < 0.01


def test_non_absorbing_treatment_is_a_clear_error(castle):
    d = castle.copy()
    d.loc[(d["state"] == "Alabama") & (d["year"] == 2008), "post"] = 0
    with pytest.raises(ValueError, match="absorbing"):
        sg.bacon(d, "l_homicide", treat="post", entity="state", time="year")


def test_an_event_window_wider_than_the_data_names_the_widest_one(panel):
    """leads=6 on 2009-2022 with cohorts 2012-2014: no observation 6 years before adoption, so
    the dummy e-6 is all zero; the message says which and what the data allow (not a bare
    collinearity error)."""
    import replication as rp
    from replication.data.index import add_index

    panel = add_index(panel)
    with pytest.raises(ValueError, match=r"event time\(s\) \[-6\].*reach 5 periods before adoption.*leads <= 5"):
        rp.event_study(panel, "nqp", leads=6, lags=8)
    with pytest.raises(ValueError, match=r"lags <= 10"):
        rp.event_study(panel, "nqp", leads=3, lags=12)
    with pytest.raises(ValueError, match="leads=1 must be a whole number >= 2"):
        rp.event_study(panel, "nqp", leads=1, lags=8)
    assert rp.event_study(panel, "nqp", leads=5, lags=10).params.index.min() == -5


def test_honest_did_with_one_pre_period_says_how_to_get_two(panel):
    import replication as rp
    from replication.data.index import add_index

    es = rp.event_study(add_index(panel), "nqp", leads=2, lags=8)
    with pytest.raises(ValueError, match=r"1 pre-period.*leads=3"):
        rp.honest_did(es)
