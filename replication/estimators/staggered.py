"""Staggered adoption: event study, Goodman-Bacon, Callaway-Sant'Anna, Sun-Abraham, imputation.

One interface for all estimators: a panel with an entity id, a time variable, an outcome
and the first treatment period (``cohort``; missing or 0 = never treated) or an absorbing
treatment dummy (``treat``).  Every result speaks the package's result protocol
(:mod:`replication.estimators.staggered_results`).  Which code does the work:

* :func:`event_study` - ours: TWFE with leads and lags of adoption (end points binned,
  reference period -1), joint Wald pre-trend test, on :func:`replication.estimators.did.twfe`.
* :func:`bacon` - ours (Goodman-Bacon 2021, Theorem 1; :mod:`replication.estimators.bacon`):
  every 2x2 DID of timing groups and its weight; checked against the ``bacondecomp``
  vignette on the castle data.
* :func:`callaway_santanna` - wraps the ``csdid`` package (which reproduces R's ``did``;
  tested on ``mpdta`` to 1e-6, analytic SEs; :mod:`replication.estimators.callaway_santanna`).
* :func:`sun_abraham` - ours: cohort x relative-time interactions with never-treated
  controls, aggregated with cohort shares (interaction-weighted; the shares are the
  observations per cohort x event-time cell, i.e. cohort sizes on a balanced panel); SEs
  by the delta method from the entity-clustered covariance.
* :func:`imputation` - ours (Borusyak, Jaravel and Spiess 2024;
  :mod:`replication.estimators.imputation`): the point estimate equals Gardner's two-stage
  DID; SEs by an entity-cluster bootstrap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators.bacon import bacon, cohort_from_treatment
from replication.estimators.callaway_santanna import _cohort, callaway_santanna
from replication.estimators.did import twfe
from replication.estimators.imputation import imputation
from replication.estimators.results import wald_test
from replication.estimators.staggered_results import (Aggregate, BaconDecomposition, CallawaySantAnnaResult,
                                                      EventStudyResult, ImputationResult, SunAbrahamResult)

__all__ = ["event_study", "sun_abraham", "bacon", "callaway_santanna", "imputation", "cohort_from_treatment",
           "EventStudyResult", "SunAbrahamResult", "BaconDecomposition", "CallawaySantAnnaResult", "ImputationResult"]


def event_dummies(d: pd.DataFrame, cohort: str, time: str, leads: int, lags: int) -> dict:
    """{"e-3": (-3, 0/1 column), ...}: the event-time dummies of :func:`event_study` (end points
    binned, reference period -1 left out)."""
    e = np.clip(d[time].to_numpy(float) - _cohort(d, cohort), -leads, lags)
    return {f"e{k:+d}": (k, (e == k).astype(float)) for k in range(-leads, lags + 1) if k != -1}


def check_event_window(d: pd.DataFrame, cohort: str, time: str, leads: int, lags: int, dummies: dict) -> None:
    """A window wider than the data leaves event times without any observation (their dummies
    are all zero and the regression is singular): say which, and the widest window the data allow."""
    for what, value in (("leads", leads), ("lags", lags)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (2 if what == "leads" else 0):
            raise ValueError(f"event_study: {what}={value!r} must be a whole number >= {2 if what == 'leads' else 0}")
    empty = [k for k, col in dummies.values() if not col.any()]
    if not empty:
        return
    e = d[time].to_numpy(float) - _cohort(d, cohort)
    e = e[np.isfinite(e)]
    if not len(e):
        raise ValueError(f"event_study: no unit in {cohort!r} is ever treated; there is no event time to estimate")
    most_leads, most_lags = int(-e.min()), int(e.max())
    raise ValueError(f"event_study: no observation at event time(s) {empty} with leads={leads}, lags={lags} "
                     f"(the data reach {most_leads} periods before adoption and {most_lags} after); choose "
                     f"leads <= {most_leads} and lags <= {most_lags}")


def event_study(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", leads: int = 4, lags: int = 8,
                controls=(), entity: str = "city_code", time: str = "year",
                convention: str = "stata") -> EventStudyResult:
    """Leads and lags of adoption (the end points bin everything beyond them; reference
    period -1), with entity-clustered SEs and the joint F test that all leads are zero."""
    d = panel.copy()
    names = {}
    dummies = event_dummies(d, cohort, time, leads, lags)
    check_event_window(d, cohort, time, leads, lags, dummies)
    for name, (k, col) in dummies.items():
        names[name] = k
        d[name] = col
    r = twfe(d, y, list(names), controls, entity=entity, time=time, cluster=entity, convention=convention)
    cols = list(names)
    params = r.params[cols].rename(names)
    cov = r.cov.loc[cols, cols].rename(index=names, columns=names)
    pre = [k for k in params.index if k < -1]
    pretrend = wald_test(params[pre], cov.loc[pre, pre], df=r.df_resid, name="pre-trends: all leads zero")
    return EventStudyResult(params, r.std_errors[cols].rename(names), r.nobs, pretrend, df_resid=r.df_resid,
                            cov=cov, leads=leads, lags=lags, regression=r)


def sun_abraham(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", entity: str = "city_code",
                time: str = "year", controls=(), convention: str = "stata") -> SunAbrahamResult:
    """Interaction-weighted event study with never-treated controls (reference period -1)."""
    d = panel.copy()
    g = _cohort(d, cohort)
    t = d[time].to_numpy(float)
    names, meta = [], []
    for c in sorted(set(g[~np.isnan(g)])):
        for e in sorted(set((t - c)[g == c])):
            if e != -1:
                col = f"g{int(c)}_e{int(e):+d}"
                d[col] = ((g == c) & (t - c == e)).astype(float)
                names.append(col)
                meta.append((c, int(e)))
    r = twfe(d, y, names, controls, entity=entity, time=time, cluster=entity, convention=convention)
    # cohort shares of each event time: the observations in each cohort x event-time cell
    # (on a balanced panel, the cohort's number of units; on an unbalanced one, the units
    # of the cohort observed at that event time, as eventstudyinteract estimates them)
    cell_n = np.array([float(d[col].sum()) for col in names])
    events = sorted({m[1] for m in meta})
    W = np.zeros((len(events), len(names)))  # event-time estimate = cohort-share-weighted cells
    for i, e in enumerate(events):
        at = [j for j, m in enumerate(meta) if m[1] == e]
        W[i, at] = cell_n[at] / cell_n[at].sum()
    b, V = r.params[names].to_numpy(), r.cov.loc[names, names].to_numpy()
    cov = pd.DataFrame(W @ V @ W.T, index=events, columns=events)  # of the event-time estimates
    cells = pd.DataFrame({"cohort": [m[0] for m in meta], "event_time": [m[1] for m in meta],
                          "estimate": b, "std_error": r.std_errors[names].to_numpy()})
    # overall ATT: the post-period cohort x event-time cells weighted by their treated
    # units (CS's "simple" aggregation), with its SE from the full covariance
    post = np.array([m[1] >= 0 for m in meta])
    w = cell_n[post] / cell_n[post].sum()
    att = Aggregate(pd.Series({"ATT": float(w @ b[post])}), pd.Series({"ATT": float(np.sqrt(w @ V[np.ix_(post, post)] @ w))}),
                    r.nobs, r.df_resid, title="Sun-Abraham ATT (post cells, weighted by treated observations)")
    return SunAbrahamResult(pd.Series(W @ b, index=events), pd.Series(np.sqrt(np.diag(cov)), index=events), r.nobs,
                            cohorts=pd.Series((W > 0).sum(axis=1), index=events), cohort_effects=cells, att=att,
                            df_resid=r.df_resid, cov=cov, regression=r)
