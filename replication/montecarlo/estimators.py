"""The book's estimators, as each replication runs them, and the rows they give.

Each entry of :data:`ESTIMATORS` takes one replication's panel, its truth, the study's
options and the replication's seed for resampling, calls the public estimator (the result
protocol: ``params``, ``std_errors``, ``pvalues``, ``conf_int()``; tests ``statistic``,
``pvalue``) with the book's specification, and returns long rows:

``estimator, estimand, kind, estimate, se, lower, upper, pvalue, truth``

``kind`` is ``"estimate"`` (a parameter with a 95 % interval; ``truth`` its realised value
in this replication) or ``"test"`` (``estimate`` holds the statistic; only ``pvalue``
matters).  The specifications are those of :mod:`replication.report.specs` (the paper's
model: the index ``nqp`` on ``did``, the five controls, city and year effects, SEs clustered
by city with Stata's small-sample factor); tests/test_montecarlo.py checks that every
estimate here equals the book's function on one panel.  This layer sits below the report
layer, so it names the columns itself (:data:`SPEC`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS, MEDIATORS
from replication.estimators import heterogeneity, mediation, placebo, psm, staggered, threshold
from replication.estimators.did import twfe

SPEC = {"y": "nqp", "treat": "did", "entity": "city_code", "time": "year", "cohort": "pilot_year",
        "cluster": "city_code", "ever_treated": "treat", "threshold": "isu"}
LEVEL = 0.95
SIZE_CUTOFF = 1_000_000  # a large city: 2020 urban-core population >= 1 million (Table 7)
REGIONS = ["east", "west", "central"]
SIZES = ["large", "small_medium"]
#: Chapter 8's event study: leads and lags around adoption.
LEADS, LAGS = 3, 8
#: The null hypothesis each test row names in ``estimand``.
TEST_ESTIMANDS = {"placebo_ri": "no effect (sharp null)", "pretrend_wald": "parallel pre-trends (leads zero)",
                  "threshold_F": "no threshold (0 against 1)"}


def size_groups(panel: pd.DataFrame) -> np.ndarray:
    """Each row's size group for Table 7: "large" (2020 urban-core population >= 1 million),
    "small_medium", None if unknown."""
    pop = panel["urban_core_pop_2020"].astype("Float64").to_numpy(float, na_value=np.nan)
    return np.where(np.isnan(pop), None, np.where(pop >= SIZE_CUTOFF, "large", "small_medium"))


def estimate_row(estimator: str, estimand: str, result, term, truth) -> dict:
    """One parameter of a result (result protocol) against its realised truth."""
    lo, hi = result.conf_int(LEVEL).loc[term]
    return {"estimator": estimator, "estimand": estimand, "kind": "estimate", "estimate": float(result.params[term]),
            "se": float(result.std_errors[term]), "lower": float(lo), "upper": float(hi),
            "pvalue": float(result.pvalues[term]), "truth": np.nan if truth is None else float(truth)}


def stat_row(estimator: str, estimand: str, test) -> dict:
    """A test (result protocol: ``statistic``, ``pvalue``); ``estimand`` names its null."""
    return {"estimator": estimator, "estimand": estimand, "kind": "test", "estimate": float(test.statistic),
            "se": np.nan, "lower": np.nan, "upper": np.nan, "pvalue": float(test.pvalue), "truth": np.nan}


def _twfe(panel, controls=CONTROLS):
    return twfe(panel, SPEC["y"], SPEC["treat"], controls, entity=SPEC["entity"], time=SPEC["time"],
                cluster=SPEC["cluster"], convention="stata")


def twfe_controls(panel, truth, options, seed):
    """Table 2 column (5): both fixed effects and the controls (its t-test: the clustered t)."""
    return [estimate_row("twfe_controls", "att", _twfe(panel), SPEC["treat"], truth.get("att"))]


def twfe_nocontrols(panel, truth, options, seed):
    """Both fixed effects, no controls."""
    return [estimate_row("twfe_nocontrols", "att", _twfe(panel, ()), SPEC["treat"], truth.get("att"))]


def sun_abraham(panel, truth, options, seed):
    """Sun-Abraham with the controls; the ATT over post-adoption cells weighted by treated observations."""
    r = staggered.sun_abraham(panel, SPEC["y"], cohort=SPEC["cohort"], controls=list(CONTROLS),
                              entity=SPEC["entity"], time=SPEC["time"])
    return [estimate_row("sun_abraham", "att", r.att, "ATT", truth.get("att"))]


def imputation(panel, truth, options, seed):
    """Borusyak-Jaravel-Spiess with the controls: the mean imputed effect over treated cells;
    SE and percentile interval from ``n_boot_imputation`` city-cluster bootstrap draws."""
    r = staggered.imputation(panel, SPEC["y"], treat=SPEC["treat"], controls=list(CONTROLS), entity=SPEC["entity"],
                             time=SPEC["time"], n_draws=options.n_boot_imputation, seed=seed)
    return [estimate_row("imputation", "att", r, "ATT", truth.get("att"))]


def _cs(panel, xformla):
    return staggered.callaway_santanna(panel, SPEC["y"], cohort=SPEC["cohort"], entity=SPEC["entity"],
                                       time=SPEC["time"], control_group="nevertreated", est_method="reg",
                                       xformla=xformla).att


def cs_or(panel, truth, options, seed):
    """Callaway-Sant'Anna, never-treated controls, outcome regression without covariates
    (the simple DID of each group-time cell), simple aggregation (analytic SE)."""
    return [estimate_row("cs_or", "att", _cs(panel, None), "ATT", truth.get("att"))]


def cs_or_controls(panel, truth, options, seed):
    """Callaway-Sant'Anna as chapter 8 runs it: outcome regression on the five controls."""
    return [estimate_row("cs_or_controls", "att", _cs(panel, "~ " + " + ".join(CONTROLS)), "ATT", truth.get("att"))]


def psm_did(panel, truth, options, seed):
    """Table 3 (3b): the DID on the matched sample (pooled logit, nearest neighbour with replacement)."""
    m = psm.psm(panel, SPEC["ever_treated"], CONTROLS, time=SPEC["time"])
    return [estimate_row("psm_did", "att", _twfe(m.data[m.data["_weight"].notna()]), SPEC["treat"], truth.get("att"))]


def mediation_paths(panel, truth, options, seed):
    """Table 4: the pilot's effect on each mediator (``a``) and the indirect effect ``a*b`` (Sobel SE)."""
    rows, step1 = [], None
    for med in MEDIATORS:
        r = mediation.three_step(panel, med, SPEC["y"], SPEC["treat"], CONTROLS, convention="stata", n_draws=0,
                                 step1=step1, entity=SPEC["entity"], time=SPEC["time"], cluster=SPEC["cluster"])
        step1 = r.step1
        rows.append(estimate_row("mediation", f"a_{med}", r, "a", truth.get(f"a_{med}")))
        rows.append(estimate_row("mediation", f"indirect_{med}", r, "indirect", truth.get(f"indirect_{med}")))
    return rows


def subgroup_effects(panel, truth, options, seed):
    """Table 7: the column-(5) DID by region and by city size, against the ATT of each group."""
    g = panel.copy()
    g["size"] = size_groups(g)
    rows = []
    for by, order, key in (("region", REGIONS, "region"), ("size", SIZES, "size")):
        r = heterogeneity.subgroups(g, by, SPEC["y"], min_treated=5, convention="stata", entity=SPEC["entity"],
                                    time=SPEC["time"], treat=SPEC["treat"], controls=CONTROLS,
                                    cluster=SPEC["cluster"], order=order)
        for grp in r.params.index:
            rows.append(estimate_row("subgroups", f"att_{key}_{grp}", r, grp, truth.get(f"att_{key}_{grp}")))
    return rows


def threshold_model(panel, truth, options, seed):
    """Tables 5-6: two thresholds of ``isu`` (year dummies, xthreg's conventions); each estimate
    with its 95 % likelihood-ratio set, and the bootstrap F test of no threshold against one."""
    r = threshold.fit_panel_threshold(panel, SPEC["y"], SPEC["treat"], SPEC["threshold"], list(CONTROLS),
                                      entity=SPEC["entity"], time=SPEC["time"], max_thresholds=2,
                                      n_draws=options.n_boot, seed=seed, convention="xthreg", time_effects=True)
    th = r.thresholds[r.thresholds["model"] == 2]
    return threshold_rows(list(zip(th["estimate"], th["lower"], th["upper"])), truth,
                          r.tests[1] if options.n_boot else None)


def threshold_rows(estimates, truth: dict, test=None) -> list[dict]:
    """The threshold rows: ``estimates`` (estimate, lower, upper) of model 2's thresholds, in
    any order, as ``threshold_1`` < ``threshold_2`` against the planted ones; and ``test`` (the
    bootstrap F test of no threshold) when there is one."""
    rows = []
    for i, (g, lo, hi) in enumerate(sorted(estimates, key=lambda t: t[0]), start=1):
        rows.append({"estimator": "threshold", "estimand": f"threshold_{i}", "kind": "estimate",
                     "estimate": float(g), "se": np.nan, "lower": float(lo), "upper": float(hi),
                     "pvalue": np.nan, "truth": truth.get(f"threshold_{i}", np.nan)})
    if test is not None:
        rows.append(stat_row("threshold_F", TEST_ESTIMANDS["threshold_F"], test))
    return rows


def placebo_ri(panel, truth, options, seed):
    """Figure 1's placebo test: randomisation p-value of column (5) (cohort scheme)."""
    r = placebo.permutation_test(panel, SPEC["y"], CONTROLS, n_draws=options.n_placebo, scheme="cohort", seed=seed,
                                 entity=SPEC["entity"], time=SPEC["time"], pilot=SPEC["cohort"], treat=SPEC["treat"],
                                 cluster=SPEC["cluster"], convention="stata")
    return [stat_row("placebo_ri", TEST_ESTIMANDS["placebo_ri"], r)]


def pretrend_wald(panel, truth, options, seed):
    """Chapter 8's event study (3 leads, 8 lags, the controls): joint Wald test that all leads are zero."""
    es = staggered.event_study(panel, SPEC["y"], cohort=SPEC["cohort"], leads=LEADS, lags=LAGS, controls=list(CONTROLS),
                               entity=SPEC["entity"], time=SPEC["time"])
    return [stat_row("pretrend_wald", TEST_ESTIMANDS["pretrend_wald"], es.pretrend)]


ESTIMATORS = {"twfe_controls": twfe_controls, "twfe_nocontrols": twfe_nocontrols, "sun_abraham": sun_abraham,
              "imputation": imputation, "cs_or": cs_or, "cs_or_controls": cs_or_controls, "psm_did": psm_did,
              "mediation": mediation_paths, "subgroups": subgroup_effects, "threshold": threshold_model,
              "placebo_ri": placebo_ri, "pretrend_wald": pretrend_wald}


def run_estimator(name: str, panel: pd.DataFrame, truth: dict, options, seed: int) -> list[dict]:
    """The rows of one estimator; a failure is one row with the error in ``note`` (never silent)."""
    try:
        return ESTIMATORS[name](panel, truth, options, seed)
    except Exception as e:  # noqa: BLE001 - a rare failure must not end a long study; it is counted
        return [{"estimator": name, "estimand": "(failed)", "kind": "failure", "estimate": np.nan, "se": np.nan,
                 "lower": np.nan, "upper": np.nan, "pvalue": np.nan, "truth": np.nan,
                 "note": f"{type(e).__name__}: {e}"[:300]}]
