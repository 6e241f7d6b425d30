"""The book's linear DID estimators for many outcome draws on one fixed design.

When a Monte Carlo holds the design fixed (the same cities, years, pilot assignment and
controls in every replication) and redraws only the outcome, every estimator below is a
linear map of the outcome vector, plus a quadratic form for its standard error.  So the
design work (within transformation of the regressors, the bread, the small-sample factor,
the imputation and bootstrap weights, the Callaway-Sant'Anna cells) is done once and applied
to an ``(n_rows, R)`` matrix of outcomes: one within transformation of all R columns, one
matrix product per estimator, clustered standard errors for all R at once (scores summed by
cluster as one sparse product).

:func:`linear_estimates` returns, for every replication and estimator, exactly what looping
the book's own functions returns (``tests/test_montecarlo_batched.py`` checks estimates and
standard errors to 1e-10):

``twfe_controls``
    column (5) of Table 2 (:func:`replication.report.specs.table2` ``["(5)"]``): the
    coefficient of ``treat`` with city and year effects and the controls; SE clustered by
    ``entity`` with Stata's small-sample factor (:func:`replication.estimators.did.twfe`).
``twfe_nocontrols``
    the same without controls (chapter 8's "TWFE without controls").
``sun_abraham``
    :func:`replication.estimators.staggered.sun_abraham` with the controls (as chapter 8):
    its overall ``att``, the post-period cohort x event-time cells weighted by their treated
    observations, with the delta-method SE from the entity-clustered covariance.
``imputation``
    :func:`replication.estimators.staggered.imputation` with the controls (as chapter 8):
    the ATT over the imputed treated rows; its SE is the book's entity-cluster bootstrap SE
    (``n_draws`` draws from ``seed``, the same draws in every replication, as a loop of the
    book's function with a fixed seed), every draw linear in the outcome as well.
``cs_or``
    :func:`replication.estimators.staggered.callaway_santanna` with never-treated controls,
    ``est_method="reg"`` and no covariates (so each ATT(g, t) is the simple 2x2 DID): its
    ``att``, the ``"simple"`` aggregation, with csdid's analytic SE.  (Chapter 8 adds the
    five controls to the outcome regression; this batched version does not.)

All rows have ``estimand = "att"``: the one overall effect each estimator reports.

**Missing outcomes.**  A fixed design holds its missing cells fixed: drop the rows whose
outcome is missing from both ``design`` and ``Y`` beforehand.  ``Y`` with NaN or infinite
values is refused with a :class:`ValueError` (the book's functions would drop different
rows in different replications, which is no longer one fixed design).
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.callaway_santanna import _cohort
from replication.estimators.did import small_sample
from replication.montecarlo.batched_staggered import CSOutcomeRegression, ImputationWeights

ESTIMATORS = ("twfe_controls", "twfe_nocontrols", "sun_abraham", "imputation", "cs_or")
DEFAULT_CONTROLS = ("pd", "pergdp", "urb", "gov", "loi")


class _ClusteredContrast:
    """One linear contrast ``a'b`` of a two-way fixed-effects regression on a fixed design,
    with its entity-clustered Stata SE, for many outcomes at once: ``b = (Z'Z)^-1 Z'y`` for
    every column, and ``se^2 = q * sum_g (sum_{i in g} h_i u_i)^2`` with ``h = Z (Z'Z)^-1 a``
    and ``u`` the residuals, which is ``a' V a`` for :func:`replication.estimators.did.twfe`'s
    ``V`` (``Z``: the within-transformed regressors plus their means, and a constant)."""

    def __init__(self, d: pd.DataFrame, X: np.ndarray, names: list[str], contrast: np.ndarray, demeaner, *,
                 entity: str, time: str):
        Z = np.column_stack([demeaner(X) + X.mean(axis=0), np.ones(len(d))])
        rank = np.linalg.matrix_rank(Z)
        if rank < Z.shape[1]:
            raise ValueError(f"regressors {names} are collinear with each other or with the fixed effects "
                             f"(rank {rank} < {Z.shape[1]}); drop one")
        self.Z, self.ZtZi = Z, np.linalg.inv(Z.T @ Z)
        self.a = np.append(contrast, 0.0)
        self.h = Z @ (self.ZtZi @ self.a)
        ss = small_sample(d, X.shape[1], entity=entity, time=time, cluster=entity, convention="stata")
        self.q, self.codes, self.G = ss["q"], ss["codes"], ss["G"]

    def __call__(self, Yd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        B = self.ZtZi @ (self.Z.T @ Yd)  # coefficients, as twfe computes them
        S = within.cluster_scores(self.h[:, None] * (Yd - self.Z @ B), self.codes, self.G)
        return self.a @ B, np.sqrt(self.q * (S * S).sum(axis=0))


def _sun_abraham_design(d: pd.DataFrame, *, cohort: str, time: str):
    """Cohort x event-time dummies (reference -1) as :func:`replication.estimators.staggered.sun_abraham`
    builds them, and the weights of its overall ATT (post cells, by treated observations)."""
    g = _cohort(d, cohort)
    t = d[time].to_numpy(float)
    cols, names, post = [], [], []
    for c in sorted(set(g[~np.isnan(g)])):
        for e in sorted(set((t - c)[g == c])):
            if e != -1:
                cols.append(((g == c) & (t - c == e)).astype(float))
                names.append(f"g{int(c)}_e{int(e):+d}")
                post.append(e >= 0)
    if not any(post):
        raise ValueError(f"sun_abraham: no cohort in {cohort!r} is observed after adoption; nothing to estimate")
    D = np.column_stack(cols)
    n_cell, post = D.sum(axis=0), np.array(post)
    w = np.where(post, n_cell, 0.0)
    return D, names, w / w.sum()


def _check_design(design, entity, time, cohort, treat, controls, estimators) -> pd.DataFrame:
    if not isinstance(design, pd.DataFrame):
        raise ValueError(f"design must be a pandas DataFrame (one panel without the outcome), got {type(design).__name__}")
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown or not estimators:
        raise ValueError(f"estimators must be a non-empty selection of {ESTIMATORS}, got {list(estimators)}")
    needs = {"twfe_controls": [treat, *controls], "twfe_nocontrols": [treat], "sun_abraham": [cohort, *controls],
             "imputation": [treat, *controls], "cs_or": [cohort]}
    cols = list(dict.fromkeys([entity, time] + [c for e in estimators for c in needs[e]]))
    missing = [c for c in cols if c not in design.columns]
    if missing:
        raise ValueError(f"design has no column(s) {missing}; name the columns with entity=, time=, cohort=, "
                         f"treat=, controls= (has: {list(design.columns)[:20]})")
    e, _ = within.group_codes(design[entity].to_numpy())
    t, nt = within.group_codes(design[time].to_numpy())
    n_dup = len(e) - len(np.unique(e * nt + t))
    if n_dup:
        raise ValueError(f"design has {n_dup} duplicated {entity}-{time} row(s); one row per {entity} and "
                         f"{time} is needed")
    nan = [c for c in cols if c != cohort and design[c].isna().any()]
    if nan:
        raise ValueError(f"design has missing values in {nan}; drop those rows from design and Y (the fixed design "
                         "holds them out of every replication)")
    return design[cols].reset_index(drop=True)  # the columns the estimators use (copying all would cost more)


def _check_outcomes(Y, n_rows: int) -> np.ndarray:
    try:
        Y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("Y must be a numeric (n_rows, R) matrix of outcomes") from None
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != n_rows or Y.shape[1] == 0:
        raise ValueError(f"Y must be an (n_rows, R) matrix with one row per design row ({n_rows}) and at least "
                         f"one column, got shape {Y.shape}")
    bad = ~np.isfinite(Y)
    if bad.any():
        rows, reps = np.nonzero(bad)
        raise ValueError(f"Y has {int(bad.sum())} missing or infinite outcome(s) (design rows {sorted(set(rows))[:5]}, "
                         f"replications {sorted(set(reps))[:5]}): a fixed design holds its missing cells fixed, so "
                         "drop those rows from design and Y before calling")
    return Y


class FixedDesign:
    """The design work of :func:`linear_estimates`, done once: call :meth:`estimates` with
    any number of outcome matrices for the same design (e.g. in chunks of replications).

    Arguments as :func:`linear_estimates`."""

    def __init__(self, design: pd.DataFrame, *, entity: str = "city_code", time: str = "year",
                 cohort: str = "pilot_year", treat: str = "did", controls=DEFAULT_CONTROLS,
                 estimators=ESTIMATORS, n_draws: int = 199, seed: int = 0):
        if isinstance(controls, str):
            controls = (controls,)
        controls, estimators = list(controls or ()), list(estimators)
        d = _check_design(design, entity, time, cohort, treat, controls, estimators)
        self.n_rows, self.estimators = len(d), estimators
        self.order = d.sort_values([entity, time], kind="mergesort").index.to_numpy()
        d = d.iloc[self.order].reset_index(drop=True)
        self.demeaner = within.Demeaner(d[entity].to_numpy(), d[time].to_numpy())
        kw = {"entity": entity, "time": time}
        self.parts = {}
        for name in estimators:
            if name in ("twfe_controls", "twfe_nocontrols"):
                regs = [treat] + (controls if name == "twfe_controls" else [])
                contrast = np.eye(len(regs))[0]
                self.parts[name] = _ClusteredContrast(d, d[regs].to_numpy(float), regs, contrast, self.demeaner, **kw)
            elif name == "sun_abraham":
                D, names, w = _sun_abraham_design(d, cohort=cohort, time=time)
                X = np.column_stack([D, d[controls].to_numpy(float)]) if controls else D
                self.parts[name] = _ClusteredContrast(d, X, names + controls,
                                                      np.concatenate([w, np.zeros(len(controls))]), self.demeaner, **kw)
            elif name == "imputation":
                self.parts[name] = ImputationWeights(d, treat=treat, controls=controls, n_draws=n_draws, seed=seed, **kw)
            else:
                self.parts[name] = CSOutcomeRegression(d, cohort=cohort, **kw)

    def estimate(self, name: str, Y) -> tuple[np.ndarray, np.ndarray]:
        """(estimates, SEs) of one of the estimators for every column of ``Y`` (design's row order)."""
        Y = _check_outcomes(Y, self.n_rows)[self.order]
        part = self.parts[name]
        return part(self.demeaner(Y) + Y.mean(axis=0)) if isinstance(part, _ClusteredContrast) else part(Y)

    def estimates(self, Y) -> pd.DataFrame:
        """Long rows ``rep, estimator, estimand, estimate, se`` for the columns of ``Y``
        (``rep`` = column number), ordered by replication, then estimator."""
        Y = _check_outcomes(Y, self.n_rows)[self.order]
        Yd = None
        est, se = [], []
        for name in self.estimators:
            part = self.parts[name]
            if isinstance(part, _ClusteredContrast):
                if Yd is None:  # one within transformation of all R columns, shared by the regressions
                    Yd = self.demeaner(Y) + Y.mean(axis=0)
                e, s = part(Yd)
            else:
                e, s = part(Y)
            est.append(e)
            se.append(s)
        R, m = Y.shape[1], len(self.estimators)
        return pd.DataFrame({"rep": np.repeat(np.arange(R), m), "estimator": np.tile(self.estimators, R),
                             "estimand": "att", "estimate": np.stack(est, axis=1).ravel(),
                             "se": np.stack(se, axis=1).ravel()})


def linear_estimates(design: pd.DataFrame, Y, *, entity: str = "city_code", time: str = "year",
                     cohort: str = "pilot_year", treat: str = "did", controls=DEFAULT_CONTROLS,
                     estimators=ESTIMATORS, n_draws: int = 199, seed: int = 0) -> pd.DataFrame:
    """The book's linear DID estimators for every column of ``Y`` on one fixed ``design``.

    ``design``: one panel without the outcome (the same rows in every replication; any row
    order; ``entity``, ``time``, ``treat`` (0/1), ``cohort`` (first treatment period, missing
    or 0 for never treated) and ``controls`` columns, none of them missing except ``cohort``).
    ``Y``: an ``(n_rows, R)`` matrix of outcomes, row i belonging to ``design``'s row i (a
    vector is one replication); NaN or infinite outcomes raise a ``ValueError`` (drop those
    rows from ``design`` and ``Y`` first: the fixed design holds its missing cells fixed).
    ``estimators``: a selection of :data:`ESTIMATORS` (see the module docstring for what
    each reports); ``n_draws`` and ``seed``: the imputation estimator's entity-cluster
    bootstrap, as :func:`replication.report.specs.imputation` (199 draws, seed 0).

    Returns a DataFrame with one row per replication and estimator: ``rep`` (the column of
    ``Y``), ``estimator``, ``estimand`` (``"att"``), ``estimate``, ``se``.  Equal to looping
    the book's functions over the columns to 1e-10.  For many chunks of replications on
    one design, build a :class:`FixedDesign` once and call its ``estimates``.
    """
    if isinstance(design, pd.DataFrame):
        Y = _check_outcomes(Y, len(design))  # refuse bad outcomes before the design work
    return FixedDesign(design, entity=entity, time=time, cohort=cohort, treat=treat, controls=controls,
                       estimators=estimators, n_draws=n_draws, seed=seed).estimates(Y)
