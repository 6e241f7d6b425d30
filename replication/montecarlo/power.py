"""Size and power: the study with the effect switched off, and over a grid of effect sizes.

A point of the power curve is the whole study with the planted effect multiplied by a factor
(``effect_scale``, ``a_hc`` and ``a_st`` together, :meth:`StudyOptions.with_effect`): factor 0
is the sharp null (every test's rejection rate is then its size), factor 1 the calibration's
own effect.  Every point uses the same seeds, so the curve is smooth in the factor.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.montecarlo.options import StudyOptions
from replication.montecarlo.runner import run_study

#: The rows whose rejection rates are the tests of the study (estimator, estimand, label).
TESTS = (("placebo_ri", "no effect (sharp null)", "placebo randomisation test"),
         ("twfe_controls", "att", "clustered t-test, column (5)"),
         ("threshold_F", "no threshold (0 against 1)", "threshold bootstrap F"),
         ("pretrend_wald", "parallel pre-trends (leads zero)", "pre-trend Wald test"))


def rejection_rates(summary: pd.DataFrame) -> pd.DataFrame:
    """The tests' rows of a summary: ``test, rejection_rate, mcse_rejection, reps``."""
    rows = []
    for est, estimand, label in TESTS:
        m = summary[(summary["estimator"] == est) & (summary["estimand"] == estimand)]
        if len(m):
            r = m.iloc[0]
            rows.append({"test": label, "estimator": est, "rejection_rate": r["rejection_rate"],
                         "mcse_rejection": r["mcse_rejection"], "reps": int(r["reps"])})
    return pd.DataFrame(rows, columns=["test", "estimator", "rejection_rate", "mcse_rejection", "reps"])


def power_study(options: StudyOptions, factors=(0.0, 0.25, 0.5, 0.75, 1.0), **run_kw):
    """(summary, per_rep) of the study at every effect factor: the summaries stacked with
    ``factor`` and ``att_mean`` (the mean realised ATT at that factor) in front, the
    per-replication rows with ``factor``.  ``run_kw`` go to :func:`run_study` (jobs,
    scheduler, cache_dir, progress)."""
    parts, reps = [], []
    for f in factors:
        res = run_study(options.with_effect(f), **run_kw)
        s = res.summary.copy()
        att = res.per_rep.loc[(res.per_rep["estimand"] == "att"), ["rep", "truth"]].drop_duplicates("rep")
        s.insert(0, "factor", float(f))
        s.insert(1, "att_mean", float(np.nanmean(att["truth"])) if len(att) else np.nan)
        parts.append(s)
        reps.append(res.per_rep.assign(factor=float(f)))
    return pd.concat(parts, ignore_index=True), pd.concat(reps, ignore_index=True)


def power_curve(options: StudyOptions, factors=(0.0, 0.25, 0.5, 0.75, 1.0), **run_kw) -> pd.DataFrame:
    """The stacked summaries of :func:`power_study` (rejection rates of every test by factor)."""
    return power_study(options, factors, **run_kw)[0]
