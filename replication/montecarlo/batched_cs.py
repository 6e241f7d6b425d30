"""Batched Callaway-Sant'Anna with covariates (``cs_or_controls``) on a fixed design.

:func:`replication.montecarlo.estimators.cs_or_controls` runs
:func:`replication.estimators.staggered.callaway_santanna` with never-treated controls,
``est_method="reg"`` and the five controls, and reports the ``"simple"`` aggregation with
its analytic SE (no bootstrap, no random draws).  Through ``csdid`` (``drdid``'s
``reg_did_panel``), each post-treatment ATT(g, t) regresses the never-treated units'
``Delta y = y_t - y_b`` (``b`` the cohort's last pre-treatment period) on an intercept and
the controls of period ``b``, and averages ``Delta y - x_b' beta`` over cohort g:

``att = mean_T(Delta y) - xbar_T' beta``, ``beta = pinv(X_C) Delta y_C``;

its influence function (per unit of the cell, scaled by ``n / n_cell``) is
``(Delta y - eta_T - (x' beta - eta_C)) / p_T`` for the treated units and
``-h_i (Delta y_i - x_i' beta) / p_T`` for the controls, with ``p_T`` the cohort's share of
the cell, ``h = X M^-1 mean(D x)`` and ``M = X_C' X_C / n_cell``.  Given the design all of
it is linear in ``y``: ``pinv(X_C)`` and ``h`` are computed once per cohort (every post
cell of a cohort shares its base period, hence its covariates) and applied to all
replications and post periods at once.  The aggregation (cohort-size weights, their
influence function, ``se = sqrt(sum IF^2) / n``) is that of
:class:`~replication.montecarlo.batched_staggered.CSOutcomeRegression`, whose sample rules
and weights are reused.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from statsmodels.tools.tools import pinv_extended

from replication.data.schema import CONTROLS
from replication.estimators.staggered_results import Aggregate
from replication.montecarlo.batched import _check_outcomes
from replication.montecarlo.batched_staggered import CSOutcomeRegression
from replication.montecarlo.estimators import LEVEL, SPEC

NAME = "cs_or_controls"


class _Cohort:
    """The design of one cohort's post-treatment cells: the units of the cell (the cohort
    and the never-treated), its base period and post periods, ``pinv`` of the controls'
    covariate matrix (as ``statsmodels.WLS`` computes it) and the influence weights ``h``."""

    def __init__(self, treated: np.ndarray, never: np.ndarray, base: int, periods: list[int], X: np.ndarray,
                 year):
        self.mask = treated | never
        self.D = treated[self.mask]
        self.base, self.periods = base, np.array(periods)
        self.X = np.column_stack([np.ones(self.mask.sum()), X[self.mask, base]])  # csdid: intercept + x_b
        n1 = len(self.D)
        XC = self.X[~self.D]
        self.P = pinv_extended(XC)[0]
        M = XC.T @ XC / n1
        rcond = 1.0 / np.linalg.cond(M, 1)
        if not np.isfinite(rcond) or rcond < np.finfo(float).eps:
            raise ValueError(f"{NAME}: the controls of {year} are collinear among the never-treated "
                             "units (csdid sets the cohort's ATT(g, t) to NA); leave 'cs_or_controls' out of the "
                             "batched estimators")
        moment = self.X[self.D].sum(axis=0) / n1
        self.h = self.X @ np.linalg.solve(M, moment)
        self.p_t = self.D.sum() / n1

    def __call__(self, cube: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ATT(g, t) of the cohort's post periods ``(J, R)`` and the sum of their influence
        functions weighted by ``w`` ``(J,)``, on the cell's units ``(n_cell, R)`` (before
        csdid's ``n / n_cell`` scaling)."""
        y = cube[self.mask]
        delta = y[:, self.periods] - y[:, self.base, None]
        n1, J, R = delta.shape
        fit = (self.X @ (self.P @ delta[~self.D].reshape(-1, J * R))).reshape(n1, J, R)  # x' beta, all (t, r)
        att = delta[self.D].mean(axis=0) - fit[self.D].mean(axis=0)
        resid = np.einsum("j,njr->nr", w, delta - fit)  # sum_t w_t (Delta y - x' beta)
        inf = np.where(self.D[:, None], resid - w @ att, -self.h[:, None] * resid)
        return att, inf / self.p_t


class BatchedCSControls(CSOutcomeRegression):
    """Callaway-Sant'Anna with never-treated controls and the outcome regression on the
    five controls (``est_method="reg"``), its ``"simple"`` overall ATT and analytic SE, for
    many outcome draws on one fixed design: equals
    :func:`replication.montecarlo.estimators.cs_or_controls`, i.e.
    :func:`replication.estimators.staggered.callaway_santanna` ``(..., xformla="~ pd + pergdp
    + urb + gov + loi").att``, row for row (interval and p-value from the same normal
    inference).

    ``design``: one replication's panel (any row order; the outcome columns are ignored).
    Refused with a :class:`ValueError` (run the looped estimator instead): an unbalanced
    design, missing controls, and what csdid itself refuses: fewer never-treated units than
    the controls + 5, or controls collinear among the never-treated in any period (csdid
    sets those ATT(g, t) to NA and the aggregation fails).  These rules are checked here,
    without running or importing csdid (tests/test_montecarlo_batched_cs.py checks them and
    the rows against the looped estimator)."""

    names = (NAME,)
    outcomes = (SPEC["y"],)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options):
        entity, time, cohort = SPEC["entity"], SPEC["time"], SPEC["cohort"]
        cols = [entity, time, cohort, *CONTROLS]
        missing = [c for c in cols if c not in design.columns]
        if missing:
            raise ValueError(f"{NAME}: design has no column(s) {missing}")
        nan = [c for c in cols if c != cohort and design[c].isna().any()]
        if nan:
            raise ValueError(f"{NAME}: design has missing values in {nan} (csdid would drop those rows and switch "
                             "to its unbalanced-panel estimator); run the looped estimator")
        design = design.reset_index(drop=True)
        self.n_rows = len(design)
        self.order = design.sort_values([entity, time], kind="mergesort").index.to_numpy()
        d = design.iloc[self.order].reset_index(drop=True)
        super().__init__(d, entity=entity, time=time, cohort=cohort, estimator=NAME)
        years = np.sort(d[time].unique())
        X = d[list(CONTROLS)].to_numpy(float).reshape(*self.shape, len(CONTROLS))[self.keep]
        self.parts = []  # one per cohort, its post cells in self.cells' order
        for _, group in itertools.groupby(self.cells, key=lambda c: (c[0].tobytes(), c[1])):
            group = list(group)
            base = group[0][1]
            self.parts.append(_Cohort(group[0][0], self.never, base, [j for _, _, j in group], X, years[base]))
        self._check_every_base_period(X, years)  # csdid's refusals, without running (or importing) it

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Overall ATT and SE ``(R,)`` for outcomes ``Y`` ``(n_rows, R)`` sorted by entity and time."""
        R = Y.shape[1]
        cube = Y.reshape(self.shape[0], self.shape[1], R)[self.keep]
        att, inf, k = [], np.zeros((self.n, R)), 0
        for part in self.parts:
            J = len(part.periods)
            a, f = part(cube, self.w[k:k + J])
            inf[part.mask] += (self.n / len(part.D)) * f
            att.append(a)
            k += J
        att = np.concatenate(att)
        inf += self.wif @ att
        se = np.sqrt((inf ** 2).sum(axis=0)) / self.n
        return self.w @ att, np.where(np.isfinite(se) & (se > 0), se, np.nan)

    def rows(self, name: str, outcomes: dict, truths: list[dict], seeds: list[int]) -> list[list[dict]]:
        """For each replication r (column r of ``outcomes["nqp"]``, rows aligned with the
        design's rows), the rows :func:`replication.montecarlo.estimators.run_estimator`
        returns for ``cs_or_controls`` on the design with that outcome (``seeds`` unused:
        the analytic SE draws nothing)."""
        if name not in self.names:
            raise ValueError(f"BatchedCSControls computes {self.names}, not {name!r}")
        Y = _check_outcomes(outcomes[SPEC["y"]], self.n_rows)[self.order]
        if len(truths) != Y.shape[1]:
            raise ValueError(f"{len(truths)} truths for {Y.shape[1]} replications of the outcome")
        est, se = self(Y)
        res = Aggregate(pd.Series(est), pd.Series(se), self.n_rows)  # the looped result's normal inference
        ci, p = res.conf_int(LEVEL), res.pvalues.to_numpy(float)
        lo, hi = ci["lower"].to_numpy(float), ci["upper"].to_numpy(float)
        out = []
        for r, truth in enumerate(truths):
            t = truth.get("att")
            out.append([{"estimator": NAME, "estimand": "att", "kind": "estimate", "estimate": float(est[r]),
                         "se": float(se[r]), "lower": float(lo[r]), "upper": float(hi[r]), "pvalue": float(p[r]),
                         "truth": np.nan if t is None else float(t)}])
        return out

    def _check_every_base_period(self, X: np.ndarray, years: np.ndarray) -> None:
        """Refuse the design if the never-treated units' controls are collinear in any period:
        csdid would set every ATT(g, t) with that base period to NA (pre-treatment cells
        included) and fail, and the loop reports that failure; the rule of :class:`_Cohort`,
        applied to every period (a superset of the base periods csdid uses); and, as csdid,
        refuse fewer never-treated units than the controls + 5."""
        if self.never.sum() < len(CONTROLS) + 5:
            raise ValueError(f"{NAME}: {int(self.never.sum())} never-treated units; csdid refuses fewer than "
                             f"{len(CONTROLS) + 5} (Never-treated group is too small); run the looped estimator")
        for j, year in enumerate(years):
            XC = np.column_stack([np.ones(int(self.never.sum())), X[self.never, j]])
            rcond = 1.0 / np.linalg.cond(XC.T @ XC / len(XC), 1)
            if not np.isfinite(rcond) or rcond < np.finfo(float).eps:
                raise ValueError(f"{NAME}: the controls of {year} are collinear among the never-treated units "
                                 "(csdid sets those ATT(g, t) to NA and fails); run the looped estimator")
