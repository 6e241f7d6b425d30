"""The batched fixed-design estimators (replication.montecarlo.batched) equal looping the
book's own functions over the outcome columns: estimates and standard errors to 1e-10."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import replication as rp
from conftest import ORACLE
from replication.montecarlo import batched
from replication.report import specs

CONTROLS = ["pd", "pergdp", "urb", "gov", "loi"]
N_DRAWS = 9  # imputation bootstrap draws in the tests (the code path is the same for the book's 199)
TOL = 1e-10


@pytest.fixture(scope="module")
def outcomes():
    """The default panel (design + index) and five outcome columns on its fixed design: the
    index, the indices of two panels simulated with other seeds (same roster and years,
    attached to this design's rows), and the index plus two noise draws."""
    from replication.data import load_analysis_panel

    panel = load_analysis_panel().panel.sort_values(["city_code", "year"]).reset_index(drop=True)
    cols = [panel["nqp"].to_numpy()]
    for seed in (7, 11):
        other = load_analysis_panel(seed=seed).panel.sort_values(["city_code", "year"]).reset_index(drop=True)
        assert (other[["city_code", "year"]].to_numpy() == panel[["city_code", "year"]].to_numpy()).all()
        cols.append(other["nqp"].to_numpy())
    noise = np.random.default_rng(5).standard_normal((len(panel), 2))
    cols += [cols[0] + 0.05 * noise[:, 0], cols[0] + 0.2 * noise[:, 1]]
    return panel.drop(columns="nqp"), np.column_stack(cols)


def book_loop(design, Y, *, y="nqp", entity="city_code", time="year", cohort="pilot_year", treat="did",
              controls=CONTROLS, estimators=batched.ESTIMATORS, paper_names=True):
    """The same numbers from the book's functions, one replication at a time."""
    rows = []
    for r in range(Y.shape[1]):
        p = design.assign(**{y: Y[:, r]})
        kw = {"entity": entity, "time": time}
        res = {}
        if "twfe_controls" in estimators:
            res["twfe_controls"] = (specs.table2(p)["(5)"] if paper_names
                                    else rp.twfe(p, y, treat, controls, **kw)), treat
        if "twfe_nocontrols" in estimators:
            res["twfe_nocontrols"] = rp.twfe(p, y, treat, (), **kw), treat
        if "sun_abraham" in estimators:
            res["sun_abraham"] = rp.sun_abraham(p, y, cohort=cohort, controls=controls, **kw).att, "ATT"
        if "imputation" in estimators:
            res["imputation"] = rp.imputation(p, y, treat=treat, controls=controls, n_draws=N_DRAWS, seed=0, **kw), "ATT"
        if "cs_or" in estimators:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res["cs_or"] = rp.callaway_santanna(p, y, cohort=cohort, est_method="reg", **kw).att, "ATT"
        rows += [{"rep": r, "estimator": k, "estimate": float(v.params[term]), "se": float(v.std_errors[term])}
                 for k, (v, term) in res.items()]
    return pd.DataFrame(rows)


def assert_same(ours: pd.DataFrame, loop: pd.DataFrame):
    m = ours.merge(loop, on=["rep", "estimator"], suffixes=("", "_loop"), validate="one_to_one")
    assert len(m) == len(loop) == len(ours)
    assert (m["estimand"] == "att").all()
    for col in ("estimate", "se"):
        diff = np.abs(m[col] - m[f"{col}_loop"])
        assert diff.max() < TOL, m.assign(diff=diff).sort_values("diff").tail(5).to_string()


def test_batched_equals_the_book_loop(outcomes):
    design, Y = outcomes
    shuffled = np.random.default_rng(0).permutation(len(design))  # any row order: Y rows follow the design rows
    ours = batched.linear_estimates(design.iloc[shuffled], Y[shuffled], n_draws=N_DRAWS)
    assert list(ours.columns) == ["rep", "estimator", "estimand", "estimate", "se"]
    assert list(ours["estimator"][:5]) == list(batched.ESTIMATORS) and list(ours["rep"].unique()) == list(range(5))
    assert_same(ours, book_loop(design, Y))
    # the five outcome columns are different replications, not one repeated
    assert ours.groupby("estimator")["estimate"].nunique().eq(5).all()


def test_renamed_columns_and_another_panel(outcomes):
    design, Y = outcomes
    names = {"city_code": "id", "year": "t", "pilot_year": "first", "did": "d",
             **{c: f"x_{c}" for c in CONTROLS}}
    kw = {"entity": "id", "time": "t", "cohort": "first", "treat": "d", "controls": [f"x_{c}" for c in CONTROLS]}
    base = batched.linear_estimates(design, Y[:, :2], n_draws=N_DRAWS)
    renamed = batched.linear_estimates(design.rename(columns=names)[list(names.values())], Y[:, :2],
                                       n_draws=N_DRAWS, **kw)
    pd.testing.assert_frame_equal(base, renamed)
    # mpdta (R did's example: 500 counties, 2003-2007, the 2004 cohort treated in the first
    # period, which csdid drops), with its own column names and no controls
    mp = pd.read_csv(ORACLE / "mpdta.csv")
    mp["d"] = ((mp["first.treat"] > 0) & (mp["year"] >= mp["first.treat"])).astype(int)
    lemp = mp.pop("lemp").to_numpy()
    Ymp = np.column_stack([lemp, lemp[:, None] + 0.1 * np.random.default_rng(2).standard_normal((len(mp), 2))])
    kw = {"entity": "countyreal", "time": "year", "cohort": "first.treat", "treat": "d", "controls": []}
    ours = batched.linear_estimates(mp, Ymp, n_draws=N_DRAWS, **kw)
    assert_same(ours, book_loop(mp, Ymp, y="lemp", paper_names=False, **kw))


def test_unbalanced_design_and_cohorts_outside_the_panel(outcomes):
    design, Y = outcomes
    drop = np.random.default_rng(3).choice(len(design), 40, replace=False)
    keep = np.setdiff1d(np.arange(len(design)), drop)
    some = ["twfe_controls", "twfe_nocontrols", "sun_abraham", "imputation"]
    ours = batched.linear_estimates(design.iloc[keep], Y[keep, :2], estimators=some, n_draws=N_DRAWS)
    assert_same(ours, book_loop(design.iloc[keep].reset_index(drop=True), Y[keep, :2], estimators=some))
    with pytest.raises(ValueError, match="cs_or needs a balanced design"):
        batched.linear_estimates(design.iloc[keep], Y[keep, :2])
    # Callaway-Sant'Anna's sample rules: a cohort treated in the first period is dropped,
    # one treated after the last period counts as never treated
    first = design["city_code"].isin(design.loc[design["pilot_year"] == 2012, "city_code"].unique()[:5])
    late = design["city_code"].isin(design.loc[design["pilot_year"].isna(), "city_code"].unique()[:7])
    moved = design.assign(pilot_year=design["pilot_year"].mask(first, 2009).mask(late, 2030))
    ours = batched.linear_estimates(moved, Y[:, :2], estimators=["cs_or"])
    assert_same(ours, book_loop(moved, Y[:, :2], estimators=["cs_or"]))


def test_bad_input_is_refused_with_a_message(outcomes):
    design, Y = outcomes
    Ynan = Y[:, :2].copy()
    Ynan[10, 1] = np.nan
    with pytest.raises(ValueError, match="drop those rows from design and Y"):
        batched.linear_estimates(design, Ynan)
    with pytest.raises(ValueError, match=r"one row per design row \(3990\)"):
        batched.linear_estimates(design, Y[:-1])
    with pytest.raises(ValueError, match="estimators must be"):
        batched.linear_estimates(design, Y, estimators=["psm"])
    with pytest.raises(ValueError, match="no column"):
        batched.linear_estimates(design.drop(columns="gov"), Y)
    with pytest.raises(ValueError, match="missing values in"):
        batched.linear_estimates(design.assign(gov=design["gov"].mask(design.index == 3)), Y)
    with pytest.raises(ValueError, match="seed must be an integer"):
        batched.linear_estimates(design, Y, estimators=["imputation"], seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="duplicated"):
        batched.linear_estimates(pd.concat([design, design.iloc[:1]]), np.vstack([Y, Y[:1]]))
    # a vector is one replication
    one = batched.linear_estimates(design, Y[:, 0], estimators=["twfe_controls"])
    assert len(one) == 1 and one["estimate"].iloc[0] == pytest.approx(specs.table2(
        design.assign(nqp=Y[:, 0]))["(5)"]["did"], abs=TOL)
