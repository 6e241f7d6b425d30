"""A block of replications: draw each panel, run the estimators, return long rows.

Every estimator with a batched implementation (:data:`BATCHES`) runs through it.  With the
design held fixed, for the whole block at once: the design work once per process, then
matrices of the block's outcomes (:mod:`replication.montecarlo.batched` and its siblings);
with the design redrawn, on each replication's own design (the same code with one column,
faster than the library calls it equals).  The others run replication by replication
(:mod:`replication.montecarlo.estimators`).  Batched rows equal looped rows (tests).  The
rows of a replication do not depend on the block it was computed in
(tests/test_montecarlo.py), so the study's results
do not depend on ``--jobs``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS, INDICATORS, MEDIATORS
from replication.montecarlo import batched
from replication.montecarlo.batched_cs import BatchedCSControls
from replication.montecarlo.batched_samples import BatchedMediation, BatchedPSMDID, BatchedSubgroups
from replication.montecarlo.batched_tests import BatchedPlacebo, BatchedPretrendWald
from replication.montecarlo.batched_threshold import BatchedThreshold
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
_DESIGNS: dict = {}  # the fixed design and its batched estimators, built once per process and study
#: The columns a fixed design redraws in every replication (everything else is the design).
VARYING = (*INDICATORS, *MEDIATORS, SPEC["y"])


def imputation_seed(options: StudyOptions) -> int:
    """The imputation bootstrap's seed: one per study (the same resampled cities in every
    replication, as the batched version draws them once), so looped and batched agree."""
    return derive_seed(options.seed, 3)


def _check_row(d: Draw | None, rep: int, seed: int, note: str = "") -> dict:
    """The replication's panel: valid (1) or rejected by the validation (0, reasons in ``note``)."""
    return {"rep": rep, "seed": seed, "estimator": "panel_validation", "estimand": "valid panel", "kind": "check",
            "estimate": float(d is not None), "note": note}


def resampling_seed(options: StudyOptions, name: str, d: Draw) -> int:
    """The seed of an estimator's random draws in replication ``d``: the imputation bootstrap
    always, and the placebo assignments on a fixed design, use one seed per study (the same
    resampled cities, the same placebo pilots in every replication, so the batched versions
    draw them once); everything else the replication's own seed."""
    if name == "imputation":
        return imputation_seed(options)
    if name == "placebo_ri" and options.fixed_design:
        return derive_seed(options.seed, 4)
    return d.estimator_seed


def run_block(options: StudyOptions, reps, *, batch: bool = True) -> pd.DataFrame:
    """:func:`_run_block` with one BLAS thread: the batched algebra works on small matrices,
    where more threads only oversubscribe the cores (measured: the batched threshold search
    ten times slower with two threads on a busy 2-core machine); ``jobs`` processes use the cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_block(options, reps, batch=batch)


def _run_block(options: StudyOptions, reps, *, batch: bool = True) -> pd.DataFrame:
    """Long rows (:data:`COLUMNS`) for the replications ``reps``: per replication its validation
    row, then every estimator's rows in the order of ``options.estimators``.  The estimators of
    :data:`BATCHES` run batched: on a fixed design for the whole block at once, on a redrawn
    one on each replication's design (``batch=False``: all looped, e.g. to check the batched
    ones); a batch that fails falls back to the loop, with the reason in ``note``."""
    from replication.montecarlo.draws import panel_seed

    checks, draws = {}, []
    for r in reps:
        try:
            d = draw(options, r)
        except InvalidPanel as e:
            checks[r] = [_check_row(None, r, panel_seed(options, r), str(e))]
            continue
        draws.append(d)
        checks[r] = [_check_row(d, r, d.seed)]
    done, notes = {}, {}
    if batch and draws and options.fixed_design:
        done, notes = _batched(options, draws, fixed=True)
    elif batch:  # a redrawn design: the batched code on each replication's own design (R = 1) is faster
        for d in draws:
            got, why = _batched(options, [d], fixed=False)
            done.update(got)
            notes.update(why)
    rows = []
    by_rep = {d.rep: d for d in draws}
    for r in reps:
        rows += checks[r]
        d = by_rep.get(r)
        for name in options.estimators if d is not None else ():
            if (r, name) in done:
                rows += done[(r, name)]
                continue
            for row in run_estimator(name, d.panel, d.truth, options, resampling_seed(options, name, d)):
                rows.append({"rep": d.rep, "seed": d.seed, "path": "looped", "note": notes.get((r, name), ""), **row})
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    out["path"] = out["path"].fillna("")
    out["note"] = out["note"].fillna("")
    return out


def _batched(options: StudyOptions, draws: list[Draw], *, fixed: bool) -> tuple[dict, dict]:
    """{(rep, estimator): rows} of every batched estimator for ``draws`` (one design: the study's
    fixed one, its work cached, or one replication's own), and {(rep, estimator): why it fell
    back to the loop}."""
    if fixed:
        _same_design(options, draws)
    design = draws[0].panel  # all columns (the redrawn ones are to be ignored by the batches)
    truths = [d.truth for d in draws]
    done, notes = {}, {}
    for cls in BATCHES if fixed else [c for c in BATCHES if getattr(c, "redrawn", False)]:
        names = [n for n in cls.names if n in options.estimators]
        if not names:
            continue
        try:
            inst = _instance(cls, options, design) if fixed else cls(design, options)
            outcomes = {k: np.column_stack([d.panel[k].to_numpy(float) for d in draws]) for k in cls.outcomes}
            for name in names:
                seeds = [resampling_seed(options, name, d) for d in draws]
                for d, rows in zip(draws, inst.rows(name, outcomes, truths, seeds)):
                    done[(d.rep, name)] = [{"rep": d.rep, "seed": d.seed, "path": "batched", **row} for row in rows]
        except Exception as e:  # noqa: BLE001 - the loop still runs the estimator; the reason is kept
            why = f"batched path failed ({type(e).__name__}: {e}); looped"[:300]
            notes.update({(d.rep, name): why for d in draws for name in names})
            done = {k: v for k, v in done.items() if k[1] not in names}
    return done, notes


def _same_design(options: StudyOptions, draws: list[Draw]) -> pd.DataFrame:
    """The study's fixed design (every column the simulator holds fixed); a draw whose design
    differs is an error (the simulator's ``design_seed`` did not hold it)."""
    key = ("design", options.key())
    if key not in _DESIGNS:
        _DESIGNS.clear()
        _DESIGNS[key] = draws[0].panel.drop(columns=list(VARYING)).reset_index(drop=True)
    design = _DESIGNS[key]
    for d in draws:
        if not d.panel.drop(columns=list(VARYING)).reset_index(drop=True).equals(design):
            raise RuntimeError(f"replication {d.rep}: the design differs from the fixed design "
                               "(the simulator's design_seed did not hold it fixed)")
    return design


def _instance(cls, options: StudyOptions, design: pd.DataFrame):
    """``cls(design, options)``, built once per process and study (the design work is done once)."""
    key = (cls.__name__, options.key())
    if key not in _DESIGNS:
        _DESIGNS[key] = cls(design, options)
    return _DESIGNS[key]


class LinearBatch:
    """The five linear DID estimators (:data:`~replication.montecarlo.options.LINEAR`) on a fixed
    design through :class:`replication.montecarlo.batched.FixedDesign`, with the rows of
    :func:`~replication.montecarlo.estimators.run_estimator`: t intervals with G-1 degrees of
    freedom for the clustered regressions, normal ones for Callaway-Sant'Anna, the bootstrap
    percentile interval (and normal p-value) for imputation."""

    names = LINEAR
    outcomes = ("nqp",)
    redrawn = True

    def __init__(self, design: pd.DataFrame, options: StudyOptions):
        cols = [SPEC["entity"], SPEC["time"], SPEC["cohort"], SPEC["treat"], *CONTROLS]
        names = [name for name in LINEAR if name in options.estimators]
        self.fd = batched.FixedDesign(design[cols], controls=CONTROLS, estimators=names,
                                      n_draws=options.n_boot_imputation, seed=imputation_seed(options))
        self.df_t = design[SPEC["entity"]].nunique() - 1

    def rows(self, name: str, outcomes: dict, truths: list[dict], seeds: list[int]) -> list[list[dict]]:
        fd, Y = self.fd, outcomes["nqp"]
        est, se = fd.estimate(name, Y)
        if name == "imputation":
            lo_p, hi_p = fd.parts[name].interval(Y[fd.order], LEVEL)
        out = []
        for r in range(len(est)):
            lo, hi, p = _inference(BATCHED_INFERENCE[name], float(est[r]), float(se[r]), self.df_t)
            if name == "imputation":
                lo, hi = float(lo_p[r]), float(hi_p[r])
            out.append([{"estimator": name, "estimand": "att", "kind": "estimate", "estimate": float(est[r]),
                         "se": float(se[r]), "lower": lo, "upper": hi, "pvalue": p,
                         "truth": float(truths[r].get("att", np.nan))}])
        return out


#: The batched implementations, each for the estimator ids in its ``names`` (the protocol: built
#: once from a design and the options, ``rows(name, outcomes, truths, seeds)`` gives every
#: replication's rows as :func:`~replication.montecarlo.estimators.run_estimator` does).  All are
#: used on a fixed design; on a redrawn one those whose ``redrawn`` is true (cheaper to build for
#: one replication than the library call: measured, all of them at present).
BATCHES = (LinearBatch, BatchedCSControls, BatchedPSMDID, BatchedSubgroups, BatchedMediation, BatchedThreshold,
           BatchedPlacebo, BatchedPretrendWald)


def _inference(kind: str, est: float, se: float, df: int) -> tuple[float, float, float]:
    """(lower, upper, p) of a 95 % interval and a two-sided test of zero."""
    ref = dist.t(df) if kind == "t" else dist.norm
    crit = ref.ppf(0.5 + LEVEL / 2)
    if not np.isfinite(se) or se <= 0:
        return np.nan, np.nan, np.nan
    return est - crit * se, est + crit * se, float(2 * ref.sf(abs(est / se)))
