"""How the ``paper`` calibration of the simulator was fitted (:mod:`replication.data.calibration`).

:func:`fit_paper_calibration` searches the simulator's effect options for the values whose
planted effects equal the paper's point estimates and whose noise gives column (5) of Table 2
the paper's t statistic, by least squares on the mean over a few simulated panels (the same
seeds at every step, so the objective is smooth): the overall ATT (Table 2 column (5)), the
column-(5) clustered standard error that makes ``ATT / SE`` the paper's t, and the ATT by
region and by city size (Table 7), the first two weighted most.  It takes a few
minutes; the fitted values are stored, rounded, in :data:`replication.data.calibration.PAPER`,
and :func:`calibration_check` (run by tests/test_montecarlo.py) shows what they achieve.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.calibration import PAPER_TARGETS, calibration
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import twfe_controls
from replication.montecarlo.options import StudyOptions

#: The options the fit moves (the small-and-medium-city effect and mu stay at the simulator's
#: defaults: they fix the level that the region and size effects and the effect scale would
#: otherwise share; the regime effects stay too, see :mod:`replication.data.calibration`).
FREE = ("effect_scale", "effect_noise", "east", "central", "west", "large")
START = (3.1, 2.0, 0.1, -0.9, 0.8, -1.0)
#: Each target's tolerance in the least squares (its residual is divided by it).
WEIGHTS = {"att": 0.003, "se": 0.0015, "att_region": 0.03, "att_size": 0.03}


def options_of(theta) -> dict:
    """Simulator options from the free parameters."""
    es, en, east, central, west, large = map(float, theta)
    return {**calibration("paper"), "effect_scale": es, "effect_noise": en,
            "region_effects": (("east", east), ("central", central), ("west", west)),
            "size_effects": (("large", large), ("small_medium", 0.3))}


def moments(dgp: dict, reps: int = 6, seed: int = 1) -> pd.Series:
    """Means over ``reps`` simulated panels: each target's realised value and column (5)'s SE."""
    opts = StudyOptions.make(reps=reps, seed=seed, dgp=dgp, estimators="linear")
    rows = []
    for r in range(reps):
        d = draw(opts, r)
        row = {k: d.truth.get(k, np.nan) for k in PAPER_TARGETS if k != "se"}
        row["se"] = twfe_controls(d.panel, d.truth, opts, 0)[0]["se"]
        rows.append(row)
    return pd.DataFrame(rows).mean()


def _residuals(theta, reps: int) -> np.ndarray:
    m = moments(options_of(theta), reps)
    return np.array([(m[k] - PAPER_TARGETS[k]) / _weight(k) for k in PAPER_TARGETS])


def _weight(key: str) -> float:
    """The tolerance of a target: its own, else that of its longest prefix (``att_region`` for
    ``att_region_east``)."""
    return next(WEIGHTS[p] for p in sorted(WEIGHTS, key=len, reverse=True) if key == p or key.startswith(p + "_"))


def fit_paper_calibration(start=START, reps: int = 8, max_nfev: int = 12) -> dict:
    """Least-squares fit of :data:`FREE` to :data:`PAPER_TARGETS` (minutes); returns the options."""
    from scipy.optimize import least_squares

    fit = least_squares(_residuals, np.asarray(start, float), args=(reps,), diff_step=0.02, max_nfev=max_nfev,
                        x_scale=np.abs(np.asarray(start, float)) + 0.5)
    return options_of(fit.x)


def calibration_check(name: str = "paper", reps: int = 6, seed: int = 101) -> pd.DataFrame:
    """What a calibration achieves on ``reps`` fresh panels: target, paper value, mean realised
    value (column (5)'s SE and t for ``se`` and ``t``)."""
    m = moments(calibration(name), reps, seed)
    rows = [{"target": k, "paper": v, "achieved": float(m[k])} for k, v in PAPER_TARGETS.items()]
    rows.append({"target": "t", "paper": PAPER_TARGETS["att"] / PAPER_TARGETS["se"], "achieved": float(m["att"] / m["se"])})
    return pd.DataFrame(rows)
