"""The study's summary: one row per estimator, estimand and target, with Monte Carlo errors.

Columns (the first ten are the issue's):

``estimator, estimand, reps, truth_mean, bias, rmse, sd_estimate, mean_se, coverage, rejection_rate``
    ``reps`` replications with a finite estimate; ``truth_mean`` the mean of the estimand's
    realised value over every replication (the population target); ``bias`` the mean of estimate minus target, ``rmse`` the root mean square
    of that difference; ``sd_estimate`` the standard deviation of the estimates (ddof 1);
    ``mean_se`` the mean reported standard error; ``coverage`` the share of 95 % intervals
    that contain the target; ``rejection_rate`` the share of replications whose test of
    "parameter = 0" (or the test's own null) has p <= ``alpha`` (resampling p-values are
    multiples of 1/(B+1), so ``<=`` gives them their nominal size).
``target``
    what the estimate is compared with: ``realised`` (the estimand in each replication's own
    panel, e.g. the ATT of the cities that happened to be treated), ``population`` (the mean
    of the realised values over the replications: an estimate of the expected estimand under
    the simulator, shared by every replication), ``planted`` (a parameter that the simulator
    fixes, e.g. a threshold: realised and population coincide) or ``none`` (a test).
``sd_error``
    the standard deviation of estimate minus target (ddof 1): the spread that a standard
    error should match for coverage of that target (against the realised estimand it
    leaves out the variation of the estimand itself).
``mcse_bias, mcse_coverage, mcse_rejection``
    Monte Carlo standard errors: ``sd(estimate - target) / sqrt(reps)`` and the binomial
    ``sqrt(p (1 - p) / reps)``.
``panel_validation``
    a row whose ``rejection_rate`` is the share of simulated panels that the project's own
    validation rejects (those replications are left out of every estimator).
``n_failed``
    replications in which the estimator raised an error (their message is in the per-replication
    rows' ``note``); they are left out of ``reps``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["estimator", "estimand", "target", "reps", "truth_mean", "bias", "rmse", "sd_estimate", "mean_se",
                   "coverage", "rejection_rate", "sd_error", "mcse_bias", "mcse_coverage", "mcse_rejection", "n_failed"]


def _binomial_se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n)) if n and np.isfinite(p) else np.nan


def _targets(g: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(name, target per replication) for an estimand's rows."""
    kind = g["kind"].iloc[0]
    truth = g["truth"].to_numpy(float)
    if kind != "estimate" or not np.isfinite(truth).any():
        return [("none", np.full(len(g), np.nan))]
    if np.nanmax(truth) - np.nanmin(truth) <= 1e-12 * max(1.0, np.nanmax(np.abs(truth))):
        return [("planted", truth)]
    return [("realised", truth), ("population", np.full(len(g), np.nanmean(truth)))]


def _row(g: pd.DataFrame, target: str, tv: np.ndarray, alpha: float) -> dict:
    est, se, p = (g[c].to_numpy(float) for c in ("estimate", "se", "pvalue"))
    ok = np.isfinite(est)
    n = int(ok.sum())
    out = {"estimator": g["estimator"].iloc[0], "estimand": g["estimand"].iloc[0], "target": target, "reps": n}
    err = est[ok] - tv[ok]
    have_truth = n > 0 and np.isfinite(tv[ok]).all()
    cover = (g["lower"].to_numpy(float) <= tv) & (tv <= g["upper"].to_numpy(float))
    has_ci = ok & np.isfinite(g["lower"].to_numpy(float))
    p_ok = ok & np.isfinite(p)
    out.update({
        "truth_mean": float(np.nanmean(g["truth"])) if have_truth else np.nan,
        "bias": float(err.mean()) if have_truth else np.nan,
        "rmse": float(np.sqrt(np.mean(err ** 2))) if have_truth else np.nan,
        "sd_estimate": float(est[ok].std(ddof=1)) if n > 1 else np.nan,
        "mean_se": float(np.nanmean(se[ok])) if n and np.isfinite(se[ok]).any() else np.nan,
        "coverage": float(cover[has_ci].mean()) if have_truth and has_ci.any() else np.nan,
        "rejection_rate": float((p[p_ok] <= alpha).mean()) if p_ok.any() else np.nan,
        "sd_error": float(err.std(ddof=1)) if have_truth and n > 1 else np.nan,
        "mcse_bias": float(err.std(ddof=1) / np.sqrt(n)) if have_truth and n > 1 else np.nan,
    })
    out["mcse_coverage"] = _binomial_se(out["coverage"], int(has_ci.sum()))
    out["mcse_rejection"] = _binomial_se(out["rejection_rate"], int(p_ok.sum()))
    return out


def summarise(per_rep: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The summary table (:data:`SUMMARY_COLUMNS`) of per-replication rows."""
    rows = []
    failed = per_rep[per_rep["kind"] == "failure"].groupby("estimator")["rep"].nunique()
    keep = per_rep[per_rep["kind"].isin(["estimate", "test", "check"])]
    for (_, _), g in keep.groupby(["estimator", "estimand"], sort=False):
        for target, tv in _targets(g):
            r = _row(g, target, tv, alpha)
            if g["kind"].iloc[0] == "check":  # the share of panels the validation rejects
                share = float(1 - g["estimate"].mean())
                r.update(reps=len(g), sd_estimate=np.nan, rejection_rate=share,
                         mcse_rejection=_binomial_se(share, len(g)))
            r["n_failed"] = int(failed.get(r["estimator"], 0))
            rows.append(r)
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return out.sort_values(["estimator", "estimand", "target"], key=_order, kind="stable").reset_index(drop=True)


def _order(col: pd.Series) -> pd.Series:
    """Estimators in the study's order, targets realised before population."""
    from replication.montecarlo.options import FULL

    if col.name == "estimator":
        rank = {e: i for i, e in enumerate(("panel_validation",) + FULL)}
        rank.update({"threshold_F": rank["threshold"] + 0.5})
        return col.map(lambda e: rank.get(e, 99))
    if col.name == "target":
        return col.map({"realised": 0, "population": 1, "planted": 2, "none": 3})
    return col
