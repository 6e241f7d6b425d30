"""Unbalanced panels (issue #15).

A replicator's panel is normally unbalanced: cities enter or leave the roster (Laiwu
exists 2009-2018 only, Bijie and Tongren enter in 2011/2012) or lack some city-years, and
a city abolished before the 2020 census has no size class.  The fixture below builds such
a panel from the default one.  Every estimator that can work on it does, and is checked
here against ``linearmodels.PanelOLS``, dummy-variable OLS (statsmodels) or fresh
regressions on the same rows; the two that need a balanced panel (Hansen's threshold
model, Goodman-Bacon) balance it explicitly and say what they dropped.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from replication.estimators import did, within, placebo, psm, robustness, staggered as sg, threshold as th
from replication.estimators import heterogeneity as ht
from replication.estimators import mediation as md
from replication.data.facts import MUNICIPALITIES
from replication.data.schema import CONTROLS
from replication.data.index import add_index
from replication.report import specs

C = list(CONTROLS)
TOL = 1e-8


def make_unbalanced(panel: pd.DataFrame, seed: int = 15) -> tuple[pd.DataFrame, dict]:
    """The default panel made unbalanced (built directly, independent of the data layer):

    * 5 leavers lose the last 4 years (observed 2009-2018, like Laiwu): pilots of 2012 and
      2014 and three never-treated cities;
    * 5 entrants lose the first 3 years (observed from 2012, like Bijie/Tongren): pilots of
      2012 (treated from its first observed year on) and 2013, three never-treated;
    * 30 random interior city-years of other cities are missing;
    * one never-treated city has no census size (``large_city``, ``size_class`` and
      ``urban_core_pop_2020`` missing), as a city abolished before 2020.
    The index is rebuilt on the remaining rows."""
    rng = np.random.default_rng(seed)
    pil = panel.groupby("city_code")["pilot_year"].first()
    by = {y: rng.permutation(pil[pil == y].index.to_numpy()) for y in (2012, 2013, 2014)}
    never = rng.permutation(pil[pil.isna()].index.to_numpy())
    leavers = [by[2012][0], by[2014][0], *never[:3]]
    entrants = [by[2012][1], by[2013][0], *never[3:6]]
    y0, y1 = panel["year"].min(), panel["year"].max()
    drop = ((panel["city_code"].isin(leavers) & (panel["year"] > y1 - 4))
            | (panel["city_code"].isin(entrants) & (panel["year"] < y0 + 3))).to_numpy()
    rest = panel[~panel["city_code"].isin(leavers + entrants) & panel["year"].between(y0 + 1, y1 - 1)]
    gaps = rng.choice(rest.index.to_numpy(), 30, replace=False)
    drop = drop | panel.index.isin(gaps)
    out = panel[~drop].copy()
    nosize = int(never[6])
    out.loc[out["city_code"] == nosize, ["large_city", "urban_core_pop_2020"]] = np.nan
    out["size_class"] = out["size_class"].astype(object)
    out.loc[out["city_code"] == nosize, "size_class"] = None
    out = add_index(out).reset_index(drop=True)
    info = {"leavers": [int(c) for c in leavers], "entrants": [int(c) for c in entrants], "nosize": nosize,
            "gap_cities": sorted(panel.loc[gaps, "city_code"].unique().tolist()),
            "always_treated_entrant": int(by[2012][1])}
    return out, info


@pytest.fixture(scope="module")
def fixture(panel):
    return make_unbalanced(panel)


@pytest.fixture(scope="module")
def ub(fixture):
    return fixture[0]


def _dummy_ols(d: pd.DataFrame, y: str, regs: list[str], entity="city_code", time="year"):
    """Dummy-variable OLS with city and year dummies; cluster-robust sandwich by entity (q = 1)."""
    d = d.sort_values([entity, time])
    X = pd.concat([d[regs].astype(float), pd.get_dummies(d[entity], prefix="c", drop_first=True, dtype=float),
                   pd.get_dummies(d[time], prefix="y", drop_first=True, dtype=float)], axis=1)
    return sm.OLS(d[y].to_numpy(float), sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": d[entity].to_numpy(), "use_correction": False})


def _dummy_coefs(d: pd.DataFrame, y: str, regs: list[str], entity="city_code", time="year") -> pd.Series:
    """Coefficients of the dummy-variable OLS, the city dummies swept out by pandas group
    means (exact: Frisch-Waugh-Lovell), the year dummies kept as columns (a small lstsq)."""
    Z = pd.concat([d[[y, *regs]].astype(float), pd.get_dummies(d[time], drop_first=True, dtype=float)], axis=1)
    Z = Z - Z.groupby(d[entity].to_numpy()).transform("mean")
    b = np.linalg.lstsq(Z.iloc[:, 1:].to_numpy(), Z.iloc[:, 0].to_numpy(), rcond=None)[0]
    return pd.Series(b[:len(regs)], index=regs)


def _panelols(d: pd.DataFrame, y: str, regs: list[str], entity="city_code", time="year"):
    from linearmodels import PanelOLS

    d = d.set_index([entity, time])
    return PanelOLS(d[y], d[regs], entity_effects=True, time_effects=True).fit(cov_type="clustered",
                                                                             cluster_entity=True)


# ---------------------------------------------------------------------------------------
# the fixture and the kernels

def test_fixture_is_unbalanced_as_described(ub, fixture, panel):
    info = fixture[1]
    assert len(ub) == len(panel) - 5 * 4 - 5 * 3 - 30
    assert not within.is_balanced(ub["city_code"].to_numpy(), ub["year"].to_numpy())
    span = ub.groupby("city_code")["year"].agg(["min", "max"])
    assert (span.loc[info["leavers"], "max"] == 2018).all() and (span.loc[info["entrants"], "min"] == 2012).all()
    assert ub.loc[ub["city_code"] == info["nosize"], "large_city"].isna().all()
    assert ub["large_city"].isna().sum() == (ub["city_code"] == info["nosize"]).sum()


@pytest.mark.parametrize("direct", [True, False])
def test_demeaner_equals_the_dummy_regression(ub, direct, monkeypatch):
    """The exact sweep-and-solve path and the alternating-projections fallback."""
    if not direct:
        monkeypatch.setattr(within.Demeaner, "DIRECT_MAX", 0)
    d = ub.sort_values(["city_code", "year"])
    e, t = d["city_code"].to_numpy(), d["year"].to_numpy()
    A = d[["nqp", "did", *C]].to_numpy(float)
    dm = within.Demeaner(e, t)
    assert dm.method == ("direct" if direct else "alternating projections")
    D = np.column_stack([np.ones(len(e)), pd.get_dummies(e, drop_first=True, dtype=float),
                         pd.get_dummies(t, drop_first=True, dtype=float)])
    Q = np.linalg.qr(D)[0]
    np.testing.assert_allclose(dm(A), A - Q @ (Q.T @ A), rtol=0, atol=1e-10 * np.abs(A).max())


# ---------------------------------------------------------------------------------------
# balance_panel

def _toy():
    return pd.DataFrame({"id": np.repeat([1, 2, 3, 4], 5), "t": np.tile(np.arange(2000, 2005), 4),
                         "y": np.arange(20.0)})


def test_balance_panel_rules():
    toy = _toy()
    same, info = within.balance_panel(toy, "id", "t")
    assert same is toy and info["cities_dropped"] == [] and info["rows_after"] == info["rows_before"] == 20
    gappy = toy.drop(index=[0, 1, 7])  # id 1 misses 2000 and 2001, id 2 misses 2002
    b, info = within.balance_panel(gappy, "id", "t", "drop_cities")
    assert sorted(b["id"].unique()) == [3, 4] and info["cities_dropped"] == [1, 2] and info["years_dropped"] == []
    assert info["rows_before"] == 17 and info["rows_after"] == 10 and info["rows_after_other_rule"] == 8
    assert info["missing_cells"] == 3 and info["rule"] == "drop_cities"
    b, info = within.balance_panel(gappy, "id", "t", "drop_years")
    assert sorted(b["t"].unique()) == [2003, 2004] and info["years_dropped"] == [2000, 2001, 2002]
    assert info["rows_after"] == 8 and within.is_balanced(b["id"].to_numpy(), b["t"].to_numpy())
    with pytest.raises(ValueError, match=r"unbalanced: 3 id-t cell\(s\) are missing.*drop_cities.*keeps 10 rows"):
        within.balance_panel(gappy, "id", "t", "error")
    with pytest.raises(ValueError, match="balance must be one of"):
        within.balance_panel(gappy, "id", "t", "fill")
    with pytest.raises(ValueError, match="duplicated"):
        within.balance_panel(pd.concat([toy, toy.iloc[:1]]), "id", "t")


# ---------------------------------------------------------------------------------------
# TWFE and the vectorised placebo test

def test_twfe_equals_panelols_and_dummy_ols(ub):
    r = did.twfe(ub, "nqp", convention="none")
    lm = _panelols(ub, "nqp", ["did", *C])
    ols = _dummy_ols(ub, "nqp", ["did", *C])
    names = ["did", *C]
    np.testing.assert_allclose(r.params[names], lm.params[names], rtol=TOL)
    np.testing.assert_allclose(r.params[names], ols.params[names], rtol=TOL)
    # the plain cluster sandwich equals the dummy-variable model's; Stata's factor on top
    np.testing.assert_allclose(r.std_errors[names], ols.bse[names], rtol=TOL)
    st = did.twfe(ub, "nqp")
    N, G, K = len(ub), ub["city_code"].nunique(), len(names) + 1 + ub["year"].nunique() - 1
    np.testing.assert_allclose(st.std_errors[names], ols.bse[names] * np.sqrt(G / (G - 1) * (N - 1) / (N - K)), rtol=TOL)
    lmc = did.twfe(ub, "nqp", convention="linearmodels")
    np.testing.assert_allclose(lmc.std_errors[names], lm.std_errors[names], rtol=TOL)


def _placebo_years(d, scheme, n, seed):
    pil = d.groupby("city_code")["pilot_year"].first().astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return placebo._placebo_years(pil, d["year"].to_numpy(), scheme, n, np.random.default_rng(seed))


@pytest.mark.parametrize("scheme", ["cohort", "random_years"])
def test_placebo_draws_equal_fresh_regressions(ub, scheme):
    res = placebo.permutation_test(ub, n_draws=3, seed=11, scheme=scheme)
    assert not res.panel["balanced"] and res.panel["rows"] == len(ub)
    PY = _placebo_years(ub, scheme, 3, 11)
    _, idx = np.unique(ub["city_code"], return_inverse=True)
    for r in range(3):
        d = ub.assign(did=(ub["year"].to_numpy() >= np.nan_to_num(PY[idx, r], nan=np.inf)).astype(int))
        ref = did.twfe(d, "nqp")
        row = res.draws.iloc[r]
        assert row["estimate"] == pytest.approx(ref["did"], rel=TOL)
        assert row["std_error"] == pytest.approx(ref.std_errors["did"], rel=TOL)
        assert row["p_value"] == pytest.approx(ref.pvalues["did"], rel=TOL, abs=1e-12)
    naive = placebo.naive_permutation_test(ub, "nqp", C, PY)  # one PanelOLS fit per draw
    np.testing.assert_allclose(res.draws["estimate"], naive, rtol=TOL)
    assert res.statistic == pytest.approx(_panelols(ub, "nqp", ["did", *C]).params["did"], rel=TOL)


def test_placebo_passes_treat_and_cluster_through(ub):
    d = ub.rename(columns={"did": "post"}).assign(prov=ub["city_code"] // 10000)
    res = placebo.permutation_test(d, n_draws=2, seed=3, treat="post", cluster="prov")
    PY = _placebo_years(ub, "cohort", 2, 3)
    _, idx = np.unique(ub["city_code"], return_inverse=True)
    alt = d.assign(post=(ub["year"].to_numpy() >= np.nan_to_num(PY[idx, 0], nan=np.inf)).astype(int))
    ref = did.twfe(alt, "nqp", "post", cluster="prov")
    assert res.draws["std_error"].iloc[0] == pytest.approx(ref.std_errors["post"], rel=TOL)
    assert res.draws["p_value"].iloc[0] == pytest.approx(ref.pvalues["post"], rel=TOL)
    assert res.statistic == did.twfe(d, "nqp", "post", cluster="prov")["post"]


# ---------------------------------------------------------------------------------------
# mediation: three steps, the vectorised cluster bootstrap, the joint model

def test_three_step_and_joint_model_equal_panelols(ub):
    r = md.three_step(ub, "hc")
    assert r.a == pytest.approx(_panelols(ub, "hc", ["did", *C]).params["did"], rel=TOL)
    lm3 = _panelols(ub, "nqp", ["did", "hc", *C])
    assert r.b == pytest.approx(lm3.params["hc"], rel=TOL)
    assert r.c_prime == pytest.approx(lm3.params["did"], rel=TOL)
    j = md.joint_model(ub, ["hc", "st"])
    lmj = _panelols(ub, "nqp", ["did", "hc", "st", *C])
    np.testing.assert_allclose(j.params[["did", "hc", "st"]], lmj.params[["did", "hc", "st"]], rtol=TOL)


def test_bootstrap_draws_equal_the_explicitly_resampled_panel(ub):
    cities = np.sort(ub["city_code"].unique())
    rng = np.random.default_rng(5)
    draws = [rng.integers(0, len(cities), size=len(cities)) for _ in range(3)]
    W = np.column_stack([np.bincount(dr, minlength=len(cities)) for dr in draws]).astype(float)
    ab = md.bootstrap_paths(ub, ["hc", "st"], weights=W)
    for r, dr in enumerate(draws):
        res = pd.concat([ub[ub["city_code"] == cities[j]].assign(city_code=k) for k, j in enumerate(dr)],
                        ignore_index=True)
        for m in ("hc", "st"):
            a = _dummy_coefs(res, m, ["did", *C])["did"]
            b = _dummy_coefs(res, "nqp", ["did", m, *C])[m]
            np.testing.assert_allclose(ab[m][r], [a, b], rtol=TOL)
    one = md.bootstrap_paths(ub, ["hc"], weights=np.ones((len(cities), 1)))["hc"][0]
    r = md.three_step(ub, "hc")
    np.testing.assert_allclose(one, [r.a, r.b], rtol=TOL)
    boot = md.three_step(ub, "hc", n_draws=20, seed=2).boot
    assert boot.shape == (20, 2) and np.isfinite(boot).all()


def test_unbalanced_bootstrap_formula_reduces_to_the_closed_form_on_a_balanced_panel(panel, monkeypatch):
    d = add_index(panel).sort_values(["city_code", "year"])
    V = d[["nqp", "did", "hc", *C]].to_numpy(float)
    W = np.random.default_rng(1).integers(0, 3, (d["city_code"].nunique(), 4)).astype(float)
    args = (V, d["city_code"].to_numpy(), d["year"].to_numpy(), W)
    closed = md._weighted_crossproducts(*args)
    monkeypatch.setattr(within, "is_balanced", lambda *a: False)
    general = md._weighted_crossproducts(*args)
    np.testing.assert_allclose(general, closed, rtol=1e-10, atol=1e-10 * np.abs(closed).max())


# ---------------------------------------------------------------------------------------
# PSM, robustness

def test_psm_and_table3_on_an_unbalanced_panel(ub):
    res, m = specs.table3(ub)
    assert m.data.index.equals(ub.index) and m.data["_weight"].notna().any()
    for col, sample in (("(3a)", m.data[m.data["_support"] == 1]), ("(3b)", m.data[m.data["_weight"].notna()])):
        lm = _panelols(sample, "nqp", ["did", *C])
        assert res[col]["did"] == pytest.approx(lm.params["did"], rel=TOL)
    lm1 = _panelols(ub[~ub["city_code"].isin(MUNICIPALITIES)],
                    "nqp", ["did", *C])
    assert res["(1)"]["did"] == pytest.approx(lm1.params["did"], rel=TOL)
    yearly = psm.psm(ub, by_year=True)
    assert (yearly.data.dropna(subset=["_pdif"]).pipe(
        lambda x: x["year"].to_numpy() == ub.loc[x["_id"], "year"].to_numpy())).all()
    batches = robustness.drop_each_batch(ub)
    assert set(batches) == {"without batch 2012", "without batch 2013", "without batch 2014"}


# ---------------------------------------------------------------------------------------
# heterogeneity: a city without a size class is excluded, and the result says so

@pytest.fixture(scope="module")
def grouped(ub):
    return specs.add_groups(ub)


def test_missing_size_is_excluded_and_reported(grouped, fixture):
    nosize = fixture[1]["nosize"]
    assert grouped.loc[grouped["city_code"] == nosize, "size"].isna().all()
    assert grouped.attrs["size_missing"] == [nosize]
    res = ht.subgroups(grouped, "size")
    s = res.table().set_index("group")
    assert res.excluded == {"rows": int((grouped["city_code"] == nosize).sum()), "entities": 1, "codes": [nosize]}
    miss = s.loc["(missing size)"]
    assert miss["entities"] == 1 and np.isnan(miss["estimate"]) and "excluded: 1 entities" in miss["note"]
    assert s.loc[["large", "small_medium"], "nobs"].sum() + miss["nobs"] == len(grouped)
    for g in ("large", "small_medium"):
        sub = grouped[grouped["size"] == g]
        assert res.params[g] == pytest.approx(_panelols(sub, "nqp", ["did", *C]).params["did"], rel=TOL)
    full = ht.fully_interacted(grouped, "size")
    for g in ("large", "small_medium"):
        assert full.params[f"did_x_{g}"] == pytest.approx(res.params[g], rel=TOL)
    assert full.spec["excluded"]["entities"] == 1
    it = ht.interaction_test(grouped, "size")
    assert it.excluded["codes"] == [nosize] and it.fit.nobs == len(grouped) - miss["nobs"]
    pg = ht.permutation_gap(grouped, "size", ("small_medium", "large"), n_draws=30, seed=1)
    assert pg.statistic == pytest.approx(it.params["small_medium"] - it.params["large"], rel=TOL)
    assert pg.null_distribution.shape == (30,) and np.isfinite(pg.null_distribution).all()
    assert pg.excluded["entities"] == 1


def test_region_subgroups_have_nothing_to_exclude(grouped):
    s = ht.subgroups(grouped, "region")
    assert s.excluded["rows"] == 0 and "(missing region)" not in set(s.groups["group"])
    full = ht.fully_interacted(grouped, "region")
    for g, b in s.params.items():
        assert full.params[f"did_x_{g}"] == pytest.approx(b, rel=TOL)


# ---------------------------------------------------------------------------------------
# threshold model and Goodman-Bacon: explicit balancing

def test_threshold_balances_explicitly(ub, fixture):
    dropped = sorted(set(fixture[1]["leavers"]) | set(fixture[1]["entrants"]) | set(fixture[1]["gap_cities"]))
    r = th.fit_panel_threshold(ub, "nqp", "did", "isu", C, n_draws=10, max_thresholds=2, grid=60)
    info = r.balanced_sample
    assert info["rule"] == "drop_cities" and info["cities_dropped"] == dropped and info["years_dropped"] == []
    assert info["rows_before"] == len(ub) and info["rows_after"] == (285 - len(dropped)) * 14
    assert r.spec["N"] == 285 - len(dropped) and r.spec["balance"] == "drop_cities"
    # identical to the fit on the panel balanced by hand
    bal = ub[~ub["city_code"].isin(dropped)]
    r2 = th.fit_panel_threshold(bal, "nqp", "did", "isu", C, n_draws=10, max_thresholds=2, grid=60)
    pd.testing.assert_frame_equal(r.test_table(), r2.test_table())
    pd.testing.assert_frame_equal(r.model(2).tidy(), r2.model(2).tidy())
    assert r2.balanced_sample["cities_dropped"] == [] and r2.balanced_sample["rows_after"] == len(bal)
    with pytest.raises(ValueError, match="balanced panel.*missing"):
        th.fit_panel_threshold(ub, "nqp", "did", "isu", C, n_draws=0, balance="error")


def test_threshold_drop_years_drops_the_dummies_of_dropped_years():
    rng = np.random.default_rng(0)
    N, T = 40, 8
    df = pd.DataFrame({"id": np.repeat(np.arange(N), T), "t": np.tile(np.arange(T), N)})
    df["q"], df["x"] = rng.uniform(size=N * T), rng.normal(size=N * T)
    df["y"] = np.where(df["q"] <= 0.5, -1.0, 1.0) * df["x"] + rng.normal(0, 0.3, N * T)
    df = df[~((df["t"] == 0) & (df["id"] < 3))]  # three entrants: drop_years drops t = 0
    d2, yc = th.with_year_dummies(df, time="t")
    r = th.fit_panel_threshold(d2, "y", "x", "q", yc, entity="id", time="t", n_draws=0, max_thresholds=1,
                               trim=0.05, grid=50, balance="drop_years")
    assert r.balanced_sample["years_dropped"] == [0] and r.balanced_sample["rows_after"] == N * (T - 1)
    assert r.balanced_sample["controls_dropped"] == [] and r.spec["T"] == T - 1
    d3 = df.assign(z=(df["t"] == 0).astype(float))  # zero on the balanced sample
    r3 = th.fit_panel_threshold(d3, "y", "x", "q", ["z"], entity="id", time="t", n_draws=0, max_thresholds=1,
                                trim=0.05, grid=50, balance="drop_years")
    assert r3.balanced_sample["controls_dropped"] == ["z"] and "z" not in r3.spec["controls"]
    assert np.isfinite(r3.model(1).params).all()


def test_bacon_balances_explicitly_and_reproduces_twfe_on_the_balanced_sample(ub):
    res = sg.bacon(ub, "nqp")
    two, info = res.comparisons, res.balanced_sample
    assert info["rule"] == "drop_cities" and info["cities_dropped"]
    bal = ub[~ub["city_code"].isin(info["cities_dropped"])]
    assert len(bal) == info["rows_after"]
    tw = _panelols(bal, "nqp", ["did"])
    assert (two["weight"] * two["estimate"]).sum() == pytest.approx(tw.params["did"], abs=1e-10)
    assert two["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="Goodman-Bacon decomposition needs a balanced panel: the panel is unb"):
        sg.bacon(ub, "nqp", balance="error")


def test_bacon_on_a_balanced_panel_reports_nothing_dropped(panel):
    res = sg.bacon(add_index(panel), "nqp")
    assert res.balanced_sample["rows_after"] == len(panel)
    assert res.balanced_sample["cities_dropped"] == []


# ---------------------------------------------------------------------------------------
# staggered-adoption estimators

def test_event_study_and_sun_abraham_equal_panelols(ub):
    es = sg.event_study(ub, "nqp", leads=3, lags=6, controls=C)
    names = [c for c in es.regression.params.index if c.startswith("e")]
    d = ub.copy()
    e = np.clip(d["year"] - d["pilot_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan), -3, 6)
    for n in names:
        d[n] = (e == int(n[1:])).astype(float)
    lm = _panelols(d, "nqp", names + C)
    np.testing.assert_allclose(es.regression.params[names], lm.params[names], rtol=TOL, atol=1e-10)
    sa = sg.sun_abraham(ub, "nqp", controls=C)
    ce = sa.cohort_effects
    g = ub["pilot_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    cells = {}
    for c, ev in zip(ce["cohort"], ce["event_time"]):
        cells[f"g{int(c)}_e{int(ev):+d}"] = ((g == c) & (ub["year"].to_numpy() - c == ev)).astype(float)
    d = pd.concat([ub, pd.DataFrame(cells, index=ub.index)], axis=1)
    lm = _panelols(d, "nqp", list(cells) + C)
    np.testing.assert_allclose(ce["estimate"], lm.params[list(cells)], rtol=TOL, atol=1e-10)
    # event time 5: cells weighted by their observations (units of the cohort observed then)
    n5 = {c: float(cells[f"g{int(c)}_e+5"].sum()) for c in (2012, 2013, 2014)}
    assert n5[2014] < 25  # a 2014 pilot leaves the panel after 2018 (e = 4)
    e5 = sum(n5[c] * lm.params[f"g{c}_e+5"] for c in n5) / sum(n5.values())
    assert sa.params[5] == pytest.approx(e5, rel=TOL)


def test_imputation_equals_a_two_stage_regression_and_reports_what_it_cannot_impute(ub, fixture):
    im = sg.imputation(ub, "nqp", controls=C, n_draws=3, seed=1)
    un = ub[ub["did"] == 0]
    X = pd.concat([un[C], pd.get_dummies(un[["city_code", "year"]].astype(str), drop_first=True, dtype=float)],
                  axis=1)
    fit = sm.OLS(un["nqp"], sm.add_constant(X)).fit()
    Xall = pd.concat([ub[C], pd.get_dummies(ub[["city_code", "year"]].astype(str), drop_first=True, dtype=float)],
                     axis=1)
    y0 = sm.add_constant(Xall).reindex(columns=fit.params.index, fill_value=0.0) @ fit.params
    ok = (ub["did"] == 1) & ub["city_code"].isin(un["city_code"])
    assert im.params["ATT"] == pytest.approx((ub["nqp"] - y0)[ok].mean(), rel=TOL)
    first = fixture[1]["always_treated_entrant"]  # enters in 2012, its pilot year: never untreated
    assert im.not_imputed == {"rows": int((ub["city_code"] == first).sum()), "entities": [first]}
    assert im.n_imputed_obs == int(ok.sum()) == im.n_treated_obs - im.not_imputed["rows"]
    assert np.isfinite(im.draws).all()


def _hand_attgt(d, g, t, covariates=None):
    """ATT(g, t) of the repeated-cross-section estimators (never-treated controls, varying
    base period): difference of means, or Sant'Anna-Zhao's outcome regression."""
    b = g - 1 if t >= g else t - 1
    coh, ctl = d[d["g"] == g], d[d["g"] == 0]
    if covariates is None:
        return (coh.loc[coh["year"] == t, "nqp"].mean() - coh.loc[coh["year"] == b, "nqp"].mean()
                - ctl.loc[ctl["year"] == t, "nqp"].mean() + ctl.loc[ctl["year"] == b, "nqp"].mean())

    def beta(s):
        return np.linalg.lstsq(sm.add_constant(s[covariates].to_numpy(float)), s["nqp"].to_numpy(float), rcond=None)[0]

    tr = coh[coh["year"].isin([t, b])]
    slope = beta(ctl[ctl["year"] == t]) - beta(ctl[ctl["year"] == b])
    shift = sm.add_constant(tr[covariates].to_numpy(float)) @ slope
    return coh.loc[coh["year"] == t, "nqp"].mean() - coh.loc[coh["year"] == b, "nqp"].mean() - shift.mean()


@pytest.mark.parametrize("covariates", [None, C])
def test_callaway_santanna_uses_every_row_of_an_unbalanced_panel(ub, covariates):
    xf = None if covariates is None else "~ " + " + ".join(covariates)
    cs = sg.callaway_santanna(ub, "nqp", xformla=xf, est_method="reg")
    assert cs.sample["estimator"] == "unbalanced panel (RC)" and cs.sample["rows_after"] == len(ub)
    d = ub.assign(g=ub["pilot_year"].astype("Float64").fillna(0).astype(int))
    hand = [_hand_attgt(d, int(r.group), int(r.time), covariates) for r in cs.attgt.itertuples()]
    np.testing.assert_allclose(cs.attgt["estimate"], hand, rtol=1e-10, atol=1e-12)
    assert np.isfinite(cs.attgt["std_error"]).all() and np.isfinite(cs.att.std_errors["ATT"])


def test_callaway_santanna_can_balance_explicitly(ub):
    cs = sg.callaway_santanna(ub, "nqp", est_method="reg", balance="drop_cities")
    info = cs.sample
    assert info["estimator"] == "panel" and info["cities_dropped"] and info["rows_after"] < len(ub)
    bal = ub[~ub["city_code"].isin(info["cities_dropped"])]
    ref = sg.callaway_santanna(bal, "nqp", est_method="reg")
    assert ref.sample["estimator"] == "panel" and ref.sample["missing_cells"] == 0
    pd.testing.assert_frame_equal(cs.attgt, ref.attgt)
    with pytest.raises(ValueError, match="balance='error': the panel is unbalanced: 65 city_code-year"):
        sg.callaway_santanna(ub, "nqp", balance="error")
