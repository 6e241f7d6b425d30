"""Chapter 8's tables: the event-study paths of the estimators, the overall effects side by
side, the Goodman-Bacon weights and the HonestDiD sensitivity intervals, each with the
truth of the semi-synthetic panel when it is known."""
from __future__ import annotations

import numpy as np
import pandas as pd


def event_study_paths(results: dict, *, leads: int, lags: int) -> dict[str, pd.DataFrame]:
    """name -> one row per event time in ``-leads..lags`` (``event_time``, ``estimate``,
    ``std_error``, ``lower``, ``upper``) of each event-time result (its ``table()``)."""
    out = {}
    for name, r in results.items():
        t = r.table()
        out[name] = t[t["event_time"].between(-leads, lags)].reset_index(drop=True)
    return out


def true_path(truth: dict | None, *, leads: int, lags: int) -> pd.Series | None:
    """The simulator's true effect by event time (zero before adoption), or None."""
    if truth is None:
        return None
    post = pd.Series({int(k.split("_")[-1]): v for k, v in truth.items() if k.startswith("att_exposure_")}).sort_index()
    return pd.concat([pd.Series(0.0, index=range(-leads, 0)), post]).loc[-leads:lags]


def _overall(r) -> tuple[float, float, float]:
    """(estimate, lower, upper) of a result's overall effect: its ``att`` (Callaway-Sant'Anna,
    Sun-Abraham), its single parameter (imputation) or its treatment coefficient (TWFE)."""
    est = getattr(r, "att", None)
    est = est if est is not None else r
    term = est.spec["treat"] if hasattr(est, "spec") and "treat" in est.spec else est.params.index[0]
    lo, hi = est.conf_int().loc[term]
    return float(est.params[term]), float(lo), float(hi)


def estimators_table(results: dict, truth: dict | None = None) -> pd.DataFrame:
    """One row per estimator: the overall effect and its 95 % interval (and, on the default
    data, the true ATT and whether the interval covers it)."""
    rows = [dict(zip(("estimator", "estimate", "ci_lower", "ci_upper"), (name, *_overall(r))))
            for name, r in results.items()]
    out = pd.DataFrame(rows)
    if truth is not None:
        out["truth (ATT)"] = truth["att"]
        out["covers"] = [bool(lo <= truth["att"] <= hi) if np.isfinite(lo) else None
                         for lo, hi in zip(out["ci_lower"], out["ci_upper"])]
    return out


def bacon_summary(res) -> dict[str, str]:
    """The sentences of the Goodman-Bacon section: the weight of the "forbidden"
    comparisons (already-treated units as controls) and what it means."""
    bad = float(res.weights.get("Later vs Earlier Treated", 0.0))
    verdict = ("most of the weight is on clean comparisons, so the \"forbidden\" comparisons cannot move the "
               "estimate much here" if bad < 0.25 else "the \"forbidden\" comparisons carry enough weight to move "
               "the estimate: read the heterogeneity-robust estimators below")
    return {"bad_w": f"{bad:.1%}", "bad_verdict": verdict}


def honest_did_table(h, truth: float | None = None) -> pd.DataFrame:
    """The HonestDiD intervals (:func:`replication.estimators.api.honest_did`), one row per
    restriction and bound, whether each excludes zero and (with ``truth``) covers it."""
    t = h.tidy().rename(columns={"lower": "ci_lower", "upper": "ci_upper", "excludes_zero": "excludes zero"})
    if truth is not None:
        t["truth"] = truth
        t["covers truth"] = (t["ci_lower"] <= truth) & (truth <= t["ci_upper"])
    return t


def breakdown_text(h, restriction: str) -> str:
    """The breakdown value on the grid, as the chapter prints it."""
    t = h.smoothness if restriction == "smoothness" else h.relative_magnitudes
    key = "M" if restriction == "smoothness" else "Mbar"
    b = h.breakdown(restriction)
    if b is None:
        return "none on the grid"
    return f"{b:g}" if b < t[key].max() else f"{b:g} (the largest bound computed)"


def largest_pre_change(h) -> float:
    """The largest year-on-year change of the pre-period coefficients (the reference period
    counted as zero): the unit of the relative-magnitudes bound."""
    beta, _, n_pre, _ = h.inputs
    return float(np.abs(np.diff(np.r_[beta[:n_pre], 0.0])).max())
