"""A block of replications: draw each panel, run the estimators, return long rows.

With the design held fixed, the linear DID estimators (:data:`~replication.montecarlo.options.LINEAR`)
run for the whole block at once (:mod:`replication.montecarlo.batched`: one within
transformation, one matrix of outcomes); every other estimator runs replication by
replication (:mod:`replication.montecarlo.estimators`).  The rows of a replication do not
depend on the block it was computed in (tests/test_montecarlo.py), so the study's results
do not depend on ``--jobs``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.montecarlo import batched
from replication.montecarlo.draws import Draw, InvalidPanel, draw
from replication.montecarlo.estimators import LEVEL, SPEC, run_estimator
from replication.montecarlo.options import LINEAR, StudyOptions, derive_seed
from replication.estimators import distributions as dist

COLUMNS = ["rep", "seed", "estimator", "estimand", "kind", "estimate", "se", "lower", "upper", "pvalue", "truth",
           "path", "note"]
#: How each batched estimator's interval and p-value are formed (as the looped result does):
#: t with G-1 degrees of freedom for the clustered regressions, normal otherwise.
BATCHED_INFERENCE = {"twfe_controls": "t", "twfe_nocontrols": "t", "sun_abraham": "t", "cs_or": "normal",
                     "imputation": "normal"}
_DESIGNS: dict = {}  # the fixed design's batched estimator, built once per process and study


def imputation_seed(options: StudyOptions) -> int:
    """The imputation bootstrap's seed: one per study (the same resampled cities in every
    replication, as the batched version draws them once), so looped and batched agree."""
    return derive_seed(options.seed, 3)


def _check_row(d: Draw | None, rep: int, seed: int, note: str = "") -> dict:
    """The replication's panel: valid (1) or rejected by the validation (0, reasons in ``note``)."""
    return {"rep": rep, "seed": seed, "estimator": "panel_validation", "estimand": "valid panel", "kind": "check",
            "estimate": float(d is not None), "note": note}


def run_block(options: StudyOptions, reps, *, batch: bool = True) -> pd.DataFrame:
    """Long rows (:data:`COLUMNS`) for the replications ``reps`` (``batch=False``: the linear
    estimators looped even when the design is fixed, e.g. to check the batched ones)."""
    from replication.montecarlo.draws import panel_seed

    rows, draws = [], []
    for r in reps:
        try:
            d = draw(options, r)
        except InvalidPanel as e:
            rows.append(_check_row(None, r, panel_seed(options, r), str(e)))
            continue
        draws.append(d)
        rows.append(_check_row(d, r, d.seed))
    batched_names = [e for e in options.estimators if e in LINEAR] if options.fixed_design and batch else []
    if batched_names and draws:
        rows += batched_rows(options, draws, batched_names)
    for d in draws:
        for name in options.estimators:
            if name in batched_names:
                continue
            seed = imputation_seed(options) if name == "imputation" else d.estimator_seed
            for row in run_estimator(name, d.panel, d.truth, options, seed):
                rows.append({"rep": d.rep, "seed": d.seed, "path": "looped", **row})
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    out["path"] = out["path"].fillna("")
    out["note"] = out["note"].fillna("")
    return out


def _design_columns() -> list[str]:
    return [SPEC["entity"], SPEC["time"], SPEC["cohort"], SPEC["treat"], *CONTROLS]


def _fixed_design(options: StudyOptions, d: Draw, names: list[str]):
    key = (options.key(), tuple(names))
    if key not in _DESIGNS:
        _DESIGNS.clear()
        design = d.panel[_design_columns()].reset_index(drop=True)
        _DESIGNS[key] = (design, batched.FixedDesign(design, controls=CONTROLS, estimators=names,
                                                     n_draws=options.n_boot_imputation, seed=imputation_seed(options)))
    return _DESIGNS[key]


def batched_rows(options: StudyOptions, draws: list[Draw], names: list[str]) -> list[dict]:
    """The linear estimators for all ``draws`` at once (the design must be the same in each)."""
    design, fd = _fixed_design(options, draws[0], names)
    cols = _design_columns()
    for d in draws:
        same = d.panel[cols].reset_index(drop=True)
        if not same.equals(design):
            raise RuntimeError(f"replication {d.rep}: the design differs from the fixed design "
                               "(the simulator's design_seed did not hold it fixed)")
    Y = np.column_stack([d.panel[SPEC["y"]].to_numpy(float) for d in draws])
    est = fd.estimates(Y)
    df_t = design[SPEC["entity"]].nunique() - 1
    rows = []
    for e in est.itertuples(index=False):
        d = draws[int(e.rep)]
        lo, hi, p = _inference(BATCHED_INFERENCE[e.estimator], float(e.estimate), float(e.se), df_t)
        rows.append({"rep": d.rep, "seed": d.seed, "estimator": e.estimator, "estimand": e.estimand,
                     "kind": "estimate", "estimate": float(e.estimate), "se": float(e.se), "lower": lo, "upper": hi,
                     "pvalue": p, "truth": float(d.truth["att"]), "path": "batched"})
    return rows


def _inference(kind: str, est: float, se: float, df: int) -> tuple[float, float, float]:
    """(lower, upper, p) of a 95 % interval and a two-sided test of zero."""
    ref = dist.t(df) if kind == "t" else dist.norm
    crit = ref.ppf(0.5 + LEVEL / 2)
    if not np.isfinite(se) or se <= 0:
        return np.nan, np.nan, np.nan
    return est - crit * se, est + crit * se, float(2 * ref.sf(abs(est / se)))
