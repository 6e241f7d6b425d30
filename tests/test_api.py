"""The public API (``import replication as rp``) on a panel with the user's own column names.

Every public estimator is fitted twice: on the default panel with the paper's names passed
explicitly, and on a copy whose columns are renamed (``id``, ``t``, ``outcome``, ``D``,
``x1``, ``x2``, ...) and that has *none* of the original names, so any name hard-coded
below the book layer fails loudly.  The numbers must agree to 1e-10.
"""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import replication as rp
from replication.data import INDICATORS, load_panel
from replication.data.schema import BY_NAME
from replication.data.index import add_index

ROOT = Path(__file__).resolve().parents[1]
TOL = dict(rtol=1e-10, atol=1e-10)

# original name -> the user's name
RENAME = {"city_code": "id", "year": "t", "nqp": "outcome", "did": "D", "pergdp": "x1", "urb": "x2",
          "pilot_year": "g", "hc": "m", "isu": "q", "treat": "ever", "region": "grp",
          "urban_core_pop_2020": "pop", **{c: f"i{j}" for j, c in enumerate(INDICATORS, 1)}}
ORIG = dict(entity="city_code", time="year", cluster="city_code")
NEW = dict(entity="id", time="t", cluster="id")
X_ORIG, X_NEW = ["pergdp", "urb"], ["x1", "x2"]

PUBLIC = ["load_panel", "load_analysis_panel", "simulate_panel", "validate_panel", "balance_panel", "add_index", "entropy_index", "twfe",
          "placebo_test", "psm_match", "mediation", "panel_threshold", "subgroups", "event_study", "bacon",
          "callaway_santanna", "sun_abraham", "imputation", "honest_did"]


@pytest.fixture(scope="module")
def panels():
    p = add_index(load_panel())
    renamed = pd.DataFrame({new: p[old].to_numpy() for old, new in RENAME.items()}, index=p.index)
    assert not set(RENAME) & set(renamed.columns)
    return p, renamed


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), **TOL)


def close_frames(a: pd.DataFrame, b: pd.DataFrame):
    """Same shape and the same numbers (column names may differ)."""
    assert a.shape == b.shape
    for ca, cb in zip(a.columns, b.columns):
        if pd.api.types.is_numeric_dtype(a[ca]):
            close(a[ca].to_numpy(float, na_value=np.nan), b[cb].to_numpy(float, na_value=np.nan))
        else:  # labels: the same up to the renaming (e.g. did_regime_1 -> D_regime_1)
            assert [_renamed(v) for v in a[ca]] == b[cb].tolist()


def _renamed(v):
    """A label with the original names replaced: whole words of an ``_``-joined label."""
    if isinstance(v, str):
        return "_".join(RENAME.get(w, w) for w in re.split(r"_(?=[a-z])", v)) if v not in RENAME else RENAME[v]
    return v


def test_public_names_are_listed_documented_and_lazy():
    assert set(PUBLIC) <= set(rp.__all__) and set(rp.__all__) <= set(dir(rp))
    for name in rp.__all__:
        assert getattr(rp, name).__doc__, name
    assert rp.placebo_test is importlib.import_module("replication.estimators.placebo").permutation_test
    # importing the package alone loads neither pandas nor an estimator
    out = subprocess.run([sys.executable, "-c", "import sys, replication; "
                          "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'replication')))"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "['replication']"


def test_mediation_is_the_three_step_function(panels):
    from replication.estimators import mediation

    assert rp.mediation is mediation.three_step and type(mediation) is type(importlib)  # a plain module


def test_cluster_follows_the_entity(panels):
    """Passing ``entity`` alone clusters by it, for every estimator that clusters."""
    from replication.estimators import heterogeneity as ht, mediation, placebo, robustness

    p, r = panels
    a = rp.twfe(r, "outcome", "D", X_NEW, entity="id", time="t")
    b = rp.twfe(r, "outcome", "D", X_NEW, **NEW)
    close(a.std_errors, b.std_errors)
    assert a.spec["cluster"] == "id" and a.n_clusters == r["id"].nunique()
    pa = placebo.permutation_test(r, "outcome", X_NEW, n_draws=5, treat="D", pilot="g", entity="id", time="t")
    pb = placebo.permutation_test(r, "outcome", X_NEW, n_draws=5, treat="D", pilot="g", **NEW)
    close(pa.draws.to_numpy(), pb.draws.to_numpy())
    ma = mediation.three_step(r, "m", "outcome", "D", X_NEW, entity="id", time="t")
    close(ma.std_errors, mediation.three_step(r, "m", "outcome", "D", X_NEW, **NEW).std_errors)
    sa = ht.subgroups(r, "grp", "outcome", treat="D", controls=X_NEW, entity="id", time="t")
    close(sa.std_errors, ht.subgroups(r, "grp", "outcome", treat="D", controls=X_NEW, **NEW).std_errors)
    da = robustness.drop_each_batch(r, "outcome", "D", X_NEW, pilot="g", entity="id", time="t")
    assert all(v.spec["cluster"] == "id" for v in da.values())
    none = rp.twfe(r, "outcome", "D", X_NEW, entity="id", time="t", cluster=None)
    assert none.n_clusters is None and none.spec["cluster"] is None
    import copy
    import pickle

    from replication.estimators.results import ENTITY

    assert pickle.loads(pickle.dumps(ENTITY)) is ENTITY and copy.deepcopy(ENTITY) is ENTITY and repr(ENTITY) == "ENTITY"


def test_twfe(panels):
    p, r = panels
    a = rp.twfe(p, "nqp", "did", X_ORIG, **ORIG)
    b = rp.twfe(r, "outcome", "D", X_NEW, **NEW)
    for f in ("params", "std_errors", "pvalues", "tstats"):
        close(getattr(a, f), getattr(b, f))
    assert list(b.params.index) == ["D", "x1", "x2", "_cons"]


def test_placebo(panels):
    p, r = panels
    a = rp.placebo_test(p, "nqp", X_ORIG, n_draws=20, seed=3, treat="did", pilot="pilot_year", **ORIG)
    b = rp.placebo_test(r, "outcome", X_NEW, n_draws=20, seed=3, treat="D", pilot="g", **NEW)
    close(a.draws.to_numpy(), b.draws.to_numpy())
    close([a.statistic, a.std_error, a.pvalue, a.n_draws], [b.statistic, b.std_error, b.pvalue, b.n_draws])
    close(a.null_distribution, b.null_distribution)


def test_robustness(panels):
    from replication.estimators import robustness

    p, r = panels
    keep = p["city_code"].isin(np.sort(p["city_code"].unique())[::6]).to_numpy()  # 48 cities: fast
    a = robustness.wild_cluster_pvalue(p[keep], "nqp", "did", X_ORIG, n_draws=99, seed=1, **ORIG)
    b = robustness.wild_cluster_pvalue(r[keep], "outcome", "D", X_NEW, n_draws=99, seed=1, **NEW)
    close([a.statistic, a.pvalue, a.n_draws], [b.statistic, b.pvalue, b.n_draws])
    close(a.null_distribution, b.null_distribution)
    da = robustness.drop_each_batch(p, "nqp", "did", X_ORIG, pilot="pilot_year", **ORIG)
    db = robustness.drop_each_batch(r, "outcome", "D", X_NEW, pilot="g", **NEW)
    assert list(da) == list(db)
    for k in da:
        close(da[k].params, db[k].params)
        close(da[k].std_errors, db[k].std_errors)


def test_psm(panels):
    p, r = panels
    a = rp.psm_match(p, "treat", X_ORIG, time="year", by_year=True)
    b = rp.psm_match(r, "ever", X_NEW, time="t", by_year=True)
    close_frames(a.data[["pscore", "xb", "_weight", "_id", "_pdif"]], b.data[["pscore", "xb", "_weight", "_id", "_pdif"]])
    close_frames(a.balance, b.balance)
    close_frames(a.rubin, b.rubin)
    close(a.model.params, b.model.params)
    close(a.model.std_errors, b.model.std_errors)


def test_mediation(panels):
    p, r = panels
    a = rp.mediation(p, "hc", "nqp", "did", X_ORIG, n_draws=10, seed=2, **ORIG)
    b = rp.mediation(r, "m", "outcome", "D", X_NEW, n_draws=10, seed=2, **NEW)
    for f in ("params", "std_errors", "pvalues"):
        close(getattr(a, f), getattr(b, f))
    close(a.conf_int(), b.conf_int())
    close([a.sobel.statistic, a.sobel.pvalue, a.bootstrap.pvalue],
          [b.sobel.statistic, b.sobel.pvalue, b.bootstrap.pvalue])
    close(a.boot, b.boot)
    close(a.step3.std_errors, b.step3.std_errors)
    from replication.estimators import mediation

    ja = mediation.joint_model(p, ["hc", "st"], "nqp", "did", X_ORIG, **ORIG)
    jb = mediation.joint_model(r.assign(s=p["st"].to_numpy()), ["m", "s"], "outcome", "D", X_NEW, **NEW)
    close(ja.params, jb.params)
    close(ja.std_errors, jb.std_errors)


def test_panel_threshold(panels):
    p, r = panels
    kw = dict(max_thresholds=2, n_draws=5, grid=40, seed=4)
    a = rp.panel_threshold(p, "nqp", "did", "isu", X_ORIG, entity="city_code", time="year", **kw)
    b = rp.panel_threshold(r, "outcome", "D", "q", X_NEW, entity="id", time="t", **kw)
    close_frames(a.test_table(), b.test_table())
    close_frames(a.thresholds, b.thresholds)
    close_frames(a.tidy(), b.tidy())


def test_subgroups_and_group_tests(panels):
    from replication.estimators import heterogeneity as ht

    p, r = panels
    a = rp.subgroups(p, "region", "nqp", treat="did", controls=X_ORIG, **ORIG)
    b = rp.subgroups(r, "grp", "outcome", treat="D", controls=X_NEW, **NEW)
    close_frames(a.table(), b.table())
    close(a.pvalues, b.pvalues)
    ia = ht.interaction_test(p, "region", "nqp", treat="did", controls=X_ORIG, entity="city_code", time="year")
    ib = ht.interaction_test(r, "grp", "outcome", treat="D", controls=X_NEW, entity="id", time="t")
    close([ia.statistic, ia.pvalue, *ia.df], [ib.statistic, ib.pvalue, *ib.df])
    close(ia.params, ib.params)
    from replication.report.specs import add_groups

    ga = add_groups(p)
    gb = r.assign(size=ga["size"].to_numpy())  # the same classification under the user's names
    pa = ht.permutation_gap(ga, "size", ("large", "small_medium"), "nqp", n_draws=20, treat="did", controls=X_ORIG,
                            entity="city_code", time="year")
    pb = ht.permutation_gap(gb, "size", ("large", "small_medium"), "outcome", n_draws=20, treat="D", controls=X_NEW,
                            entity="id", time="t")
    close(np.r_[pa.statistic, pa.pvalue, pa.null_distribution], np.r_[pb.statistic, pb.pvalue, pb.null_distribution])
    fa = ht.fully_interacted(p, "region", "nqp", treat="did", controls=X_ORIG, entity="city_code", time="year")
    fb = ht.fully_interacted(r, "grp", "outcome", treat="D", controls=X_NEW, entity="id", time="t")
    for f in ("params", "std_errors"):  # the same coefficients, in the group order of each column name
        close(getattr(fa, f).rename(_renamed).loc[getattr(fb, f).index], getattr(fb, f))


@pytest.fixture(scope="module")
def event_studies(panels):
    p, r = panels
    a = rp.event_study(p, "nqp", cohort="pilot_year", controls=X_ORIG, entity="city_code", time="year")
    b = rp.event_study(r, "outcome", cohort="g", controls=X_NEW, entity="id", time="t")
    return a, b


def test_event_study_and_honest_did(event_studies):
    a, b = event_studies
    close_frames(a.tidy(), b.tidy())
    close([a.pretrend.statistic, a.pretrend.pvalue], [b.pretrend.statistic, b.pretrend.pvalue])
    kw = dict(Mbars=[0.0, 1.0], rm_options={"grid_points": 200, "n_draws": 200})
    ha, hb = rp.honest_did(a, **kw), rp.honest_did(b, **kw)
    close_frames(ha.smoothness, hb.smoothness)
    close_frames(ha.relative_magnitudes, hb.relative_magnitudes)
    close(ha.original_ci(), hb.original_ci())
    # the tuple form gives the same tables
    ht_ = rp.honest_did(ha.inputs, **kw)
    close_frames(ha.smoothness, ht_.smoothness)


def test_bacon(panels):
    p, r = panels
    a = rp.bacon(p, "nqp", treat="did", entity="city_code", time="year")
    b = rp.bacon(r, "outcome", treat="D", entity="id", time="t")
    close_frames(a.comparisons, b.comparisons)
    close_frames(a.by_type(), b.by_type())


def test_callaway_santanna(panels):
    p, r = panels
    a = rp.callaway_santanna(p, "nqp", cohort="pilot_year", entity="city_code", time="year")
    b = rp.callaway_santanna(r, "outcome", cohort="g", entity="id", time="t")
    close_frames(a.attgt, b.attgt)
    for typ, agg in a.aggregations.items():
        close_frames(agg.tidy(), b.aggregations[typ].tidy())
        close_frames(agg.overall.tidy(), b.aggregations[typ].overall.tidy())


def test_sun_abraham(panels):
    p, r = panels
    a = rp.sun_abraham(p, "nqp", cohort="pilot_year", controls=X_ORIG, entity="city_code", time="year")
    b = rp.sun_abraham(r, "outcome", cohort="g", controls=X_NEW, entity="id", time="t")
    close_frames(a.table(), b.table())
    close_frames(a.att.tidy(), b.att.tidy())
    close(a.cov.to_numpy(), b.cov.to_numpy())
    kw = dict(first=-4, last=4, Ms=[0.0, 0.01], Mbars=[0.5], rm_options={"grid_points": 100, "n_draws": 100})
    ha, hb = rp.honest_did(a, **kw), rp.honest_did(b, **kw)
    close_frames(ha.smoothness, hb.smoothness)
    close_frames(ha.relative_magnitudes, hb.relative_magnitudes)


def test_imputation(panels):
    p, r = panels
    a = rp.imputation(p, "nqp", treat="did", controls=X_ORIG, entity="city_code", time="year", n_draws=10, seed=5)
    b = rp.imputation(r, "outcome", treat="D", controls=X_NEW, entity="id", time="t", n_draws=10, seed=5)
    close_frames(a.tidy(), b.tidy())
    close([a.n_treated_obs, a.n_imputed_obs], [b.n_treated_obs, b.n_imputed_obs])
    close(a.draws, b.draws)


def test_entropy_index_and_balance_panel(panels):
    p, r = panels
    new = [RENAME[c] for c in INDICATORS]
    dirs = {RENAME[c]: BY_NAME[c].direction for c in INDICATORS}
    for pooled in (True, False):
        a = rp.entropy_index(p, INDICATORS, pooled=pooled, time="year")
        b = rp.entropy_index(r, new, directions=dirs, pooled=pooled, time="t")
        close(a.weights, b.weights)
        close(a.score(p), b.score(r))
    sub_p, sub_r = p.iloc[5:], r.iloc[5:]  # the first city loses five years
    bp, ip = rp.balance_panel(sub_p, "city_code", "year")
    br, ir = rp.balance_panel(sub_r, "id", "t")
    assert ip == ir and bp.index.equals(br.index)


def test_readme_example_runs():
    """The README's "Using the estimators on your own panel" snippet, executed as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using the estimators on your own panel", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "import replication as rp" in code
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert np.isfinite(ns["fit"].params["D"]) and 0 < ns["placebo"].pvalue <= 1 and ns["placebo"].n_draws == 200
    assert ns["fit"].spec["cluster"] == "id" and ns["med"].bootstrap.n_draws == 200
    assert len(ns["sens"].smoothness) and len(ns["sens"].relative_magnitudes) and ns["sens"].original_ci()
