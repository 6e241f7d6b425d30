"""Batched imputation (Borusyak-Jaravel-Spiess) and Callaway-Sant'Anna estimators on a fixed design.

Both estimators are linear in the outcome once the design (who is treated when, the
controls, the bootstrap draws) is fixed, so each is reduced here to matrices computed once
per design and applied to an ``(n_rows, R)`` matrix of outcomes:

* :class:`ImputationWeights` - the imputation ATT of every bootstrap draw is ``a_b @ y``
  with one row vector ``a_b`` per draw (the weighted least-squares fit of unit effects,
  period effects and controls on the untreated rows, written in its adjoint form: one small
  solve per draw instead of one fit per draw and replication);
* :class:`CSOutcomeRegression` - the group-time 2x2 DIDs, their influence functions and the
  influence function of the estimated cohort weights, aggregated as ``csdid``'s ``aggte``
  does for the ``"simple"`` overall ATT, with its analytic standard error.

Used by :func:`replication.montecarlo.batched.linear_estimates`; checked against
:func:`replication.estimators.staggered.imputation` and
:func:`replication.estimators.staggered.callaway_santanna` in
``tests/test_montecarlo_batched.py``.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.callaway_santanna import _cohort


def _imputation_row_weights(D, X, ent, ne, tim, nt, w) -> np.ndarray:
    """Row weights ``a`` with ``a @ y`` = the imputation ATT of
    :func:`replication.estimators.imputation._impute` for bootstrap row weights ``w``.

    The imputed ``Y(0)`` of a treated row is ``z_i' theta`` with ``theta`` the weighted
    least-squares fit of ``y`` on entity dummies, period dummies and ``X`` over the untreated
    rows with ``w > 0``; the ATT is ``c' (y_tr - Z_tr theta)`` with ``c`` the normalised
    weights of the treated rows that can be imputed (entity and period present among the
    untreated rows).  Hence ``a = c`` on those rows and ``a_u = -w_u * (Z_u s)`` on the
    untreated ones, where ``M s = Z_tr' c`` and ``M = Z_u' W Z_u``.  The entity block of
    ``M`` is diagonal and is eliminated (Schur complement); one period dummy is dropped."""
    U = ~D & (w > 0)
    eu, tu, wu, Xu = ent[U], tim[U], w[U], X[U]
    de = np.bincount(eu, weights=wu, minlength=ne)
    dt = np.bincount(tu, weights=wu, minlength=nt)
    ok = D & (w > 0) & (de[ent] > 0) & (dt[tim] > 0)
    if not ok.any():
        raise ValueError("imputation: no treated row has an untreated row of its entity and of its period "
                         "to impute Y(0) from; the design cannot be used for the imputation estimator")
    a = np.zeros(len(D))
    a[ok] = w[ok] / w[ok].sum()
    periods = np.flatnonzero(dt > 0)[1:]  # present periods but the first (the reference)
    k = X.shape[1]
    # blocks of M: entities (diagonal de) x rest (periods kept, controls)
    cross = np.bincount(eu * nt + tu, weights=wu, minlength=ne * nt).reshape(ne, nt)[:, periods]
    ex = np.stack([np.bincount(eu, weights=wu * Xu[:, j], minlength=ne) for j in range(k)], axis=1) \
        if k else np.zeros((ne, 0))
    tx = np.stack([np.bincount(tu, weights=wu * Xu[:, j], minlength=nt) for j in range(k)], axis=1)[periods] \
        if k else np.zeros((len(periods), 0))
    Mer = np.hstack([cross, ex])
    Mrr = np.block([[np.diag(dt[periods]), tx], [tx.T, (Xu * wu[:, None]).T @ Xu]])
    be = np.bincount(ent[ok], weights=a[ok], minlength=ne)
    br = np.concatenate([np.bincount(tim[ok], weights=a[ok], minlength=nt)[periods], X[ok].T @ a[ok]])
    inv_de = np.divide(1.0, de, out=np.zeros(ne), where=de > 0)  # absent entities: no rows, no unknowns
    S = Mrr - Mer.T @ (Mer * inv_de[:, None])
    rhs = br - Mer.T @ (be * inv_de)
    try:
        sr = np.linalg.solve(S, rhs)
    except np.linalg.LinAlgError:  # collinear controls: any solution gives the same fitted values
        sr = np.linalg.lstsq(S, rhs, rcond=None)[0]
    se = (be - Mer @ sr) * inv_de
    st = np.zeros(nt)
    st[periods] = sr[:len(periods)]
    a[U] -= wu * (se[eu] + st[tu] + Xu @ sr[len(periods):])
    return a


class ImputationWeights:
    """The imputation ATT and its entity-cluster bootstrap draws as one ``(1 + n_draws, n)``
    matrix ``A`` on a fixed design (rows sorted by entity and time, as
    :func:`replication.estimators.staggered.imputation` sorts them).

    ``A[0] @ y`` is the point estimate, ``A[b] @ y`` the b-th bootstrap draw; the draws use
    the same random numbers as the book's function with the same integer ``seed`` and
    ``n_draws`` (``numpy.random.default_rng(seed)``, one multinomial resample of the G
    entities per draw), so the standard error (``ddof=1`` standard deviation of the draws)
    is the book's bootstrap SE.  Looping the book's function with one integer seed reuses
    the same draws in every replication; so does this."""

    def __init__(self, d: pd.DataFrame, *, entity: str, time: str, treat: str, controls, n_draws: int, seed: int):
        if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral) or n_draws < 0:
            raise ValueError(f"n_draws must be a whole number >= 0 (imputation bootstrap draws), got {n_draws!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an integer (the imputation bootstrap's seed, the same for every "
                             f"replication as in a loop of the book's function), got {seed!r}")
        D = d[treat].to_numpy() == 1
        X = d[list(controls)].to_numpy(float) if controls else np.empty((len(d), 0))
        ent, ne = within.group_codes(d[entity].to_numpy())
        tim, nt = within.group_codes(d[time].to_numpy())
        gen = np.random.default_rng(int(seed))
        weights = [np.ones(len(d))]
        for _ in range(n_draws):
            weights.append(np.bincount(gen.integers(0, ne, ne), minlength=ne).astype(float)[ent])
        self.A = np.vstack([_imputation_row_weights(D, X, ent, ne, tim, nt, w) for w in weights])
        self.n_draws = n_draws

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        E = self.A @ Y
        se = E[1:].std(axis=0, ddof=1) if self.n_draws > 1 else np.full(Y.shape[1], np.nan)
        return E[0], se

    def interval(self, Y: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The book's percentile interval of every column's bootstrap draws (NaN with fewer than
        two draws), as :meth:`~replication.estimators.staggered_results.ImputationResult.conf_int`."""
        if self.n_draws < 2:
            return np.full(Y.shape[1], np.nan), np.full(Y.shape[1], np.nan)
        lo, hi = np.quantile(self.A[1:] @ Y, [(1 - level) / 2, (1 + level) / 2], axis=0)
        return lo, hi


class CSOutcomeRegression:
    """Callaway-Sant'Anna with never-treated controls, outcome regression without covariates
    (each ATT(g, t) the simple 2x2 DID against the last pre-treatment period of cohort g),
    aggregated to the ``"simple"`` overall ATT (post-treatment cells weighted by cohort size)
    with its analytic standard error, as :func:`replication.estimators.staggered.callaway_santanna`
    (``est_method="reg"``, ``xformla=None``) reports it through ``csdid``.

    The sample rules are ``csdid``'s: cohorts after the last period are never treated, units
    treated in the first period are dropped.  Needs a balanced design with never-treated
    units (``csdid`` would switch to its repeated-cross-section estimator or recode the last
    cohort otherwise; those cases are refused with a message)."""

    def __init__(self, d: pd.DataFrame, *, entity: str, time: str, cohort: str, estimator: str = "cs_or"):
        if not within.is_balanced(d[entity].to_numpy(), d[time].to_numpy()):
            raise ValueError(f"{estimator} needs a balanced design (every entity in every period): balance it first "
                             f"(replication.balance_panel) or leave '{estimator}' out of `estimators`")
        tlist = np.sort(d[time].unique())
        self.shape = (d[entity].nunique(), len(tlist))
        g_rows = _cohort(d, cohort).reshape(self.shape)
        same = np.all((g_rows == g_rows[:, :1]) | (np.isnan(g_rows) & np.isnan(g_rows[:, :1])), axis=1)
        if not same.all():
            raise ValueError(f"cohort column {cohort!r} varies within {int((~same).sum())} {entity}(s); it must be "
                             f"each {entity}'s first treatment period, the same in every row")
        g = np.nan_to_num(g_rows[:, 0], nan=0.0)
        g[g > tlist[-1]] = 0.0  # treated after the last period: never treated within the panel
        self.keep = ~((g > 0) & (g <= tlist[0]))  # treated in the first period: dropped
        g = g[self.keep]
        self.never = g == 0
        if not self.never.any():
            raise ValueError(f"{estimator} (never-treated controls) needs never-treated units in the design; "
                             f"leave '{estimator}' out of `estimators`")
        self.n = len(g)
        self.cells = []  # (treated mask, base period index, period index) of every post-treatment cell
        for c in np.unique(g[g > 0]):
            base = int(np.flatnonzero(tlist < c)[-1])
            self.cells += [(g == c, base, j) for j in np.flatnonzero(tlist >= c)]
        pg = np.array([mask.mean() for mask, _, _ in self.cells])
        self.w = pg / pg.sum()
        ind = np.stack([mask for mask, _, _ in self.cells], axis=1).astype(float)
        num = ind - pg  # csdid's wif: influence of the estimated cohort shares on the weights
        self.wif = num / pg.sum() - np.outer(num.sum(axis=1), pg / pg.sum() ** 2)

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        R = Y.shape[1]
        cube = Y.reshape(self.shape[0], self.shape[1], R)[self.keep]
        att = np.empty((len(self.cells), R))
        inf = np.zeros((self.n, R))
        nc = self.never.sum()
        for k, (treated, base, j) in enumerate(self.cells):
            delta = cube[:, j] - cube[:, base]
            m_t, m_c = delta[treated].mean(axis=0), delta[self.never].mean(axis=0)
            att[k] = m_t - m_c
            inf[treated] += self.w[k] * self.n / treated.sum() * (delta[treated] - m_t)
            inf[self.never] -= self.w[k] * self.n / nc * (delta[self.never] - m_c)
        inf += self.wif @ att
        se = np.sqrt((inf ** 2).sum(axis=0)) / self.n
        return self.w @ att, np.where(np.isfinite(se) & (se > 0), se, np.nan)
