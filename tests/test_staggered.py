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
    two, agg = sg.bacon(castle, "l_homicide", treat="post", entity="state", time="year")
    a = agg.set_index("type")
    published = {"Earlier vs Later Treated": (0.05976, -0.00554), "Later vs Earlier Treated": (0.03190, 0.07032),
                 "Treated vs Untreated": (0.90834, 0.08796)}
    for k, (w, b) in published.items():
        assert a.loc[k, "weight"] == pytest.approx(w, abs=5e-6)
        assert a.loc[k, "estimate"] == pytest.approx(b, abs=5e-6)
    tw = twfe(castle, "l_homicide", "post", (), entity="state", time="year", cluster="state")
    assert (two["weight"] * two["estimate"]).sum() == pytest.approx(tw["post"], abs=1e-12)
    assert tw["post"] == pytest.approx(0.0818, abs=5e-5)
    assert two["weight"].sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("scenario,control", [("mpdta_nev_dr", "nevertreated"), ("mpdta_nyt_dr", "notyettreated")])
def test_callaway_santanna_equals_r_did(mpdta, scenario, control):
    ref = pd.read_csv(ORACLE / "did_r_reference" / "ref_attgt.csv")
    ref = ref[ref["scenario"] == scenario].reset_index(drop=True)
    agg = pd.read_csv(ORACLE / "did_r_reference" / "ref_aggte.csv")
    agg = agg[agg["scenario"] == scenario]
    cs = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year",
                              control_group=control)
    att = cs["attgt"]
    np.testing.assert_allclose(att["att"], ref["att"], atol=1e-6)
    np.testing.assert_allclose(att["se"], ref["se"], atol=1e-6)
    for typ in ("simple", "dynamic", "group", "calendar"):
        r = agg[agg["type"] == typ]
        ours = cs["aggregations"][typ]
        assert ours["overall_att"] == pytest.approx(r["overall_att"].iloc[0], abs=1e-6)
        assert ours["overall_se"] == pytest.approx(r["overall_se"].iloc[0], abs=1e-6)
        if typ != "simple":
            np.testing.assert_allclose(ours["table"]["att"], r["att_egt"], atol=1e-6)
            np.testing.assert_allclose(ours["table"]["se"], r["se_egt"], atol=1e-6)


def test_never_treated_coded_as_nan_is_handled(mpdta):
    d = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, np.nan)})
    a = sg.callaway_santanna(d, "lemp", cohort="first.treat", entity="countyreal", time="year")
    b = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    pd.testing.assert_frame_equal(a["attgt"], b["attgt"])


def test_sun_abraham_post_effects_equal_cs_group_time_effects(mpdta):
    """With never-treated controls and no covariates, each cohort x post-period coefficient
    of the saturated regression equals CS's ATT(g, t)."""
    sa = sg.sun_abraham(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    cs = sg.callaway_santanna(mpdta, "lemp", cohort="first.treat", entity="countyreal", time="year")
    ce = sa.attrs["cohort_effects"]
    m = ce.assign(time=ce["cohort"] + ce["event_time"]).merge(cs["attgt"], left_on=["cohort", "time"],
                                                              right_on=["group", "time"])
    post = m[m["event_time"] >= 0]
    assert len(post) == 7
    np.testing.assert_allclose(post["coef"], post["att"], atol=1e-10)
    dyn = cs["aggregations"]["dynamic"]["table"].set_index("e")
    s = sa.set_index("event_time")
    for e in (0, 1, 2, 3):
        assert s.loc[e, "coef"] == pytest.approx(dyn.loc[e, "att"], abs=1e-10)
    # and the unit-weighted mean of the post cells is CS's simple ATT
    assert sa.attrs["att"]["att"] == pytest.approx(cs["aggregations"]["simple"]["overall_att"], abs=1e-10)


def test_imputation_equals_a_two_stage_regression(mpdta):
    im = sg.imputation(mpdta, "lemp", entity="countyreal", time="year", n_boot=0)
    untreated = mpdta[mpdta["did"] == 0]
    X = pd.get_dummies(untreated[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    fit = sm.OLS(untreated["lemp"], sm.add_constant(X)).fit()
    Xall = pd.get_dummies(mpdta[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    y0 = sm.add_constant(Xall)[fit.params.index] @ fit.params
    tau = (mpdta["lemp"] - y0)[mpdta["did"] == 1]
    assert im["att"] == pytest.approx(tau.mean(), abs=1e-8)


def test_event_study_pretrend_test_and_reference_period(panel):
    from replication.data.index import add_index

    d = add_index(panel)
    es = sg.event_study(d, "nqp", leads=3, lags=6)
    t = es["table"].set_index("event_time")
    assert t.loc[-1, "coef"] == 0 and 0 <= es["pretrend_p"] <= 1
    assert list(t.index) == list(range(-3, 7))


def test_event_study_detects_a_planted_pretrend():
    from replication.data import load_panel
    from replication.data.index import add_index

    d = add_index(load_panel(seed=3, pretrend=0.3))
    assert sg.event_study(d, "nqp", leads=3, lags=6)["pretrend_p"] < 0.01


def test_non_absorbing_treatment_is_a_clear_error(castle):
    d = castle.copy()
    d.loc[(d["state"] == "Alabama") & (d["year"] == 2008), "post"] = 0
    with pytest.raises(ValueError, match="absorbing"):
        sg.bacon(d, "l_homicide", treat="post", entity="state", time="year")
