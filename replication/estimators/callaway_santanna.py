"""Callaway and Sant'Anna (2021) group-time ATTs and their aggregations, through the
``csdid`` package (which reproduces R's ``did``; tested on ``mpdta`` to 1e-6 with analytic
SEs).  Never-treated units are recoded as cohort 0, because ``csdid`` silently treats NaN
cohorts as a treated group."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.staggered_results import Aggregate, CallawaySantAnnaResult, CSAggregation

AGGREGATIONS = ("simple", "dynamic", "group", "calendar")


def _cohort(panel: pd.DataFrame, cohort: str) -> np.ndarray:
    """First treatment period as floats, NaN for never treated (missing or <= 0)."""
    g = panel[cohort].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where(g > 0, g, np.nan)


def _sample(d: pd.DataFrame, entity: str, time: str, balance: str) -> tuple[pd.DataFrame, dict, bool]:
    if balance == "unbalanced":
        ne, nt = d[entity].nunique(), d[time].nunique()
        info = {"rule": "unbalanced", "rows_before": len(d), "rows_after": len(d), "cities_before": ne,
                "cities_after": ne, "years_before": nt, "years_after": nt, "cities_dropped": [],
                "years_dropped": [], "missing_cells": ne * nt - len(d)}
        return d, info, len(d) != ne * nt
    try:
        d, info = within.balance_panel(d, entity, time, balance)
    except ValueError as err:
        raise ValueError(f"Callaway-Sant'Anna with balance={balance!r}: {err}") from None
    return d.copy(), info, False


def _aggregation(att, kind: str, nobs: int) -> CSAggregation:
    a = att.aggte(typec=kind, bstrap=False).atte
    overall = Aggregate(pd.Series({"ATT": float(a["overall_att"])}), pd.Series({"ATT": float(a["overall_se"])}), nobs,
                        title=f"Callaway-Sant'Anna overall ATT ({kind})")
    if a.get("egt") is None:
        return CSAggregation(overall.params, overall.std_errors, nobs, overall, kind)
    idx = pd.Index([int(e) for e in np.asarray(a["egt"])], name=None)
    return CSAggregation(pd.Series(np.asarray(a["att_egt"], float), index=idx),
                         pd.Series(np.asarray(a["se_egt"], float), index=idx), nobs, overall, kind)


def callaway_santanna(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", entity: str = "city_code",
                      time: str = "year", control_group: str = "nevertreated", est_method: str = "dr",
                      xformla: str | None = None, balance: str = "unbalanced") -> CallawaySantAnnaResult:
    """Group-time ATTs and the simple, dynamic, group and calendar aggregations (analytic SEs).

    Unbalanced panels: with ``balance="unbalanced"`` (default) every row is used, through
    ``csdid``'s ``allow_unbalanced_panel=True`` (as R ``did``: each ATT(g, t) from the
    rows observed in its two periods with the repeated-cross-section estimators, and
    influence functions clustered by entity); without it ``csdid`` would balance the
    panel silently (a warning).  ``"drop_cities"``, ``"drop_years"`` or ``"error"`` balance
    explicitly first (:func:`replication.estimators.within.balance_panel`).  ``result.sample``
    says which: the balancing info plus ``estimator`` ("panel" or "unbalanced panel (RC)").
    On a balanced panel nothing changes."""
    from csdid.att_gt import ATTgt

    if balance not in ("unbalanced", *within.BALANCE_RULES):
        raise ValueError(f"balance must be 'unbalanced' or one of {within.BALANCE_RULES}, got {balance!r}")
    cols = [y, entity, time, cohort] + ([] if xformla is None else
                                         [c.strip() for c in xformla.split("~")[1].split("+")])
    d, info, unbalanced = _sample(panel[list(dict.fromkeys(cols))].copy(), entity, time, balance)
    info["estimator"] = "unbalanced panel (RC)" if unbalanced else "panel"
    d[cohort] = np.nan_to_num(_cohort(d, cohort), nan=0.0).astype(int)  # csdid: never treated = 0
    d[entity] = d[entity].astype(np.int64)
    d[time] = d[time].astype(np.int64)
    extra = {"allow_unbalanced_panel": True} if unbalanced else {}
    with contextlib.redirect_stdout(io.StringIO()):
        att = ATTgt(yname=y, gname=cohort, idname=entity, tname=time, data=d.reset_index(drop=True),
                    control_group=control_group, xformla=xformla, **extra).fit(est_method=est_method, bstrap=False)
        attgt = pd.DataFrame({"group": np.asarray(att.results["group"]), "time": np.asarray(att.results["year"]),
                              "estimate": np.asarray(att.results["att"]),
                              "std_error": np.asarray(att.results["se"])})
        aggs = {kind: _aggregation(att, kind, len(d)) for kind in AGGREGATIONS}
    dyn = aggs["dynamic"]
    return CallawaySantAnnaResult(dyn.params, dyn.std_errors, len(d), attgt, aggs, info)
