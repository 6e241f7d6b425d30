"""Numpy kernels: fixed-effect demeaning, Frisch-Waugh-Lovell partialling, cluster sums.

These are the building blocks of the vectorised placebo and bootstrap code.  Each is
checked in the tests against ``linearmodels.PanelOLS`` / ``statsmodels`` on the same
data to ~1e-10.

* :func:`demean` removes entity and/or time means.  On a balanced panel the two-way
  within transform has the closed form ``a_it - a_i. - a_.t + a_..``; on an unbalanced
  panel it is exact too: the larger factor (cities) is swept out by group means and the
  swept-out dummies of the smaller one (years) are partialled out through their small
  (T x T) normal matrix, solved once per layout.  Only when both factors have more than
  ``Demeaner.DIRECT_MAX`` levels does it fall back to alternating projections
  (Gauss-Seidel sweeps of the two one-way demeanings, which converge to the projection
  on the orthogonal complement of the two sets of dummies).  Dummies are never built.
* :func:`partial_out` residualises columns on regressors (QR), which with FWL gives
  the coefficient of one regressor in a model with many, for many outcomes or many
  candidate regressors at once.
* :func:`cluster_scores` sums scores within clusters for a batch of regressions.
* :func:`balance_panel` balances a panel explicitly (drop entities or periods, or
  refuse) and says what it dropped; the estimators that need a balanced panel (Hansen's
  threshold model, Goodman-Bacon) share it.
"""
from __future__ import annotations

import numpy as np


def group_codes(values) -> tuple[np.ndarray, int]:
    """Dense integer codes 0..G-1 (sorted order of the values) and G."""
    uniq, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.astype(np.intp), len(uniq)


def _indicator(codes: np.ndarray, n: int):
    """Sparse (groups x rows) indicator matrix: group sums are one sparse product."""
    from scipy import sparse

    return sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n, len(codes)))


def _group_mean(A: np.ndarray, codes: np.ndarray, n: int, counts: np.ndarray) -> np.ndarray:
    """Group means of every column of A, broadcast back to rows (sparse sums: O(rows x cols))."""
    sums = _indicator(codes, n) @ A
    return (sums / counts[:, None])[codes]


def is_balanced(entity: np.ndarray, time: np.ndarray) -> bool:
    e, ne = group_codes(entity)
    t, nt = group_codes(time)
    if len(e) != ne * nt:
        return False
    cell = np.zeros((ne, nt), dtype=np.int64)
    np.add.at(cell, (e, t), 1)
    return bool((cell == 1).all())


class Demeaner:
    """Fixed-effect demeaning for one panel layout, with its group structure computed once.

    ``Demeaner(entity, time)(A)`` equals :func:`demean` ``(A, entity, time)``; reuse the
    object when many matrices are demeaned on the same panel (placebo draws, bootstrap).
    """

    def __init__(self, entity=None, time=None, *, tol: float = 1e-13, max_iter: int = 10_000):
        self.tol, self.max_iter = tol, max_iter
        self.groups = []
        for lab in (entity, time):
            if lab is None:
                continue
            codes, n = group_codes(lab)
            counts = np.bincount(codes, minlength=n).astype(float)
            self.groups.append((codes, _indicator(codes, n), counts))
        # entity-major sorted balanced rows: demean by reshaping to (entities, periods, cols)
        self.cube = None
        if entity is not None:
            e = self.groups[0][0]
            ne = len(self.groups[0][2])
            if len(e) % ne == 0 and (np.bincount(e, minlength=ne) == len(e) // ne).all() \
                    and bool((e == np.repeat(np.arange(ne), len(e) // ne)).all()):
                tt = self.groups[1][0] if time is not None else None
                nt = len(e) // ne
                if tt is None or bool((tt == np.tile(np.arange(nt), ne)).all()):
                    self.cube = (ne, nt)
        self.balanced = False
        self._direct = None
        if len(self.groups) == 2:
            (e, _, ce), (t, _, ct) = self.groups
            ne, nt = len(ce), len(ct)
            self.balanced = len(e) == ne * nt and bool((np.bincount(e * nt + t, minlength=ne * nt) == 1).all())
            if not self.balanced and self.cube is None and min(ne, nt) <= self.DIRECT_MAX:
                self._direct = self._direct_setup()
        self.method = ("none" if not self.groups else "cube" if self.cube is not None else
                       "one-way" if len(self.groups) == 1 else "closed form" if self.balanced else
                       "direct" if self._direct is not None else "alternating projections")

    #: unbalanced two-way layouts whose smaller factor has at most this many levels are
    #: demeaned exactly (one small dense solve) instead of by alternating projections
    DIRECT_MAX = 2000

    def _direct_setup(self):
        """Exact two-way projection for an unbalanced layout: sweep out the larger factor
        (``M_b A`` = A minus its group means), then regress on the swept-out dummies of the
        smaller factor, whose normal matrix ``H = S' M_b S = diag(n_s) - P' diag(1/n_b) P``
        (P = big x small cell counts) is small and dense."""
        big, small = self.groups if len(self.groups[0][2]) >= len(self.groups[1][2]) else self.groups[::-1]
        cb, ib, nb_ = big
        cs, is_, ns = small
        P = np.zeros((len(nb_), len(ns)))
        np.add.at(P, (cb, cs), 1.0)
        H = np.diag(ns) - P.T @ (P / nb_[:, None])
        # H is singular (its null space: the indicator of each connected component of the
        # layout); pseudo-inverse from the eigen-decomposition with a clear cut-off
        lam, U = np.linalg.eigh(H)
        pos = lam > 1e-9 * max(lam.max(), 1.0)
        return big, small, (U[:, pos] / lam[pos]) @ U[:, pos].T

    def _direct_apply(self, A):
        big, small, Hp = self._direct
        out = A - self._mean(A, big)
        g = Hp @ (small[1] @ out)  # coefficients of the swept-out small-factor dummies
        fit = g[small[0]]
        return out - (fit - self._mean(fit, big))

    @staticmethod
    def _mean(A, g):
        codes, ind, counts = g
        return ((ind @ A) / counts[:, None])[codes]

    def __call__(self, A) -> np.ndarray:
        A = np.asarray(A, dtype=float)
        one_d = A.ndim == 1
        if one_d:
            A = A[:, None]
        if self.cube is not None:
            C = A.reshape(self.cube[0], self.cube[1], A.shape[1])
            out = C - C.mean(axis=1, keepdims=True)
            if len(self.groups) == 2:
                out -= out.mean(axis=0, keepdims=True)  # = - year means + grand mean
            out = out.reshape(A.shape)
        elif not self.groups:
            out = A.copy()
        elif len(self.groups) == 1:
            out = A - self._mean(A, self.groups[0])
        elif self.balanced:
            out = A - self._mean(A, self.groups[0]) - self._mean(A, self.groups[1]) + A.mean(axis=0)
        elif self._direct is not None:
            out = self._direct_apply(A)
        else:
            ge, gt = self.groups
            out = A - self._mean(A, ge)
            # convergence judged column by column, relative to each column's own scale
            scale = np.abs(A).max(axis=0) if len(A) else np.ones(A.shape[1])
            scale = np.where(scale > 0, scale, 1.0)
            for _ in range(self.max_iter):
                step = self._mean(out, gt)
                out = out - step
                step2 = self._mean(out, ge)
                out = out - step2
                if (np.maximum(np.abs(step).max(axis=0), np.abs(step2).max(axis=0)) < self.tol * scale).all():
                    break
            else:  # pragma: no cover - pathological designs
                raise RuntimeError("alternating projections did not converge; check for disconnected groups")
        return out[:, 0] if one_d else out


def demean(A, entity=None, time=None, *, tol: float = 1e-13, max_iter: int = 10_000) -> np.ndarray:
    """Remove entity effects, time effects or both from the columns of ``A``.

    ``entity`` / ``time`` are row labels (None = that effect is not removed).
    Balanced two-way panels use the exact closed form ``a_it - a_i. - a_.t + a_..``,
    unbalanced ones an exact sweep-and-solve (see the module docstring); otherwise
    (both factors with more than ``Demeaner.DIRECT_MAX`` levels) alternating projections
    until the largest change in every column is below ``tol`` times that column's largest
    absolute value (see :class:`Demeaner` to reuse the group structure).
    """
    return Demeaner(entity, time, tol=tol, max_iter=max_iter)(A)


def orthonormal_basis(X: np.ndarray | None) -> np.ndarray | None:
    """Orthonormal basis of the columns of X (rank-revealing QR), or None for no columns."""
    if X is None or X.shape[1] == 0:
        return None
    Q, R = np.linalg.qr(np.asarray(X, dtype=float))
    keep = np.abs(np.diag(R)) > 1e-10 * max(np.abs(np.diag(R)).max(), 1.0)
    return Q[:, keep]


def residualise(Y: np.ndarray, Q: np.ndarray | None) -> np.ndarray:
    """Y minus its projection on the orthonormal columns Q."""
    return np.asarray(Y, float).copy() if Q is None else Y - Q @ (Q.T @ Y)


def partial_out(Y: np.ndarray, X: np.ndarray | None) -> np.ndarray:
    """Residuals of every column of Y regressed on X (no constant added)."""
    return residualise(np.asarray(Y, dtype=float), orthonormal_basis(X))


def cluster_scores(S: np.ndarray, clusters: np.ndarray, n_clusters: int) -> np.ndarray:
    """Within-cluster sums of scores: S (n x R) -> (G x R)."""
    return _indicator(clusters, n_clusters) @ S


def fwl_coefficients(d_tilde: np.ndarray, y_tilde: np.ndarray) -> np.ndarray:
    """Coefficients of many partialled regressors (columns of D) on one partialled y."""
    return (d_tilde * y_tilde[:, None]).sum(axis=0) / (d_tilde ** 2).sum(axis=0)


BALANCE_RULES = ("drop_cities", "drop_years", "error")


def balance_panel(panel, entity: str = "city_code", time: str = "year", rule: str = "drop_cities"):
    """Make a panel balanced explicitly, for the estimators that need every entity in every period.

    ``rule``:

    ``"drop_cities"`` (default)
        keep the entities observed in every period of the panel's span (the periods that
        occur anywhere in it);
    ``"drop_years"``
        keep the periods in which every entity is observed (only sensible when that keeps
        more rows than dropping entities; ``info["rows_after_other_rule"]`` says);
    ``"error"``
        raise a ``ValueError`` naming the missing entity-periods.

    Returns ``(balanced, info)``.  ``info`` is a dict with ``rule``, ``rows_before``,
    ``rows_after``, ``cities_before``, ``cities_after``, ``years_before``, ``years_after``,
    ``cities_dropped`` (sorted entity codes), ``years_dropped`` (sorted periods),
    ``missing_cells`` (entity-periods absent from the full grid) and
    ``rows_after_other_rule`` (rows the other dropping rule would keep).  On a balanced
    panel the input is returned unchanged (the same object) with nothing dropped.
    Duplicated entity-periods are always an error.
    """
    if rule not in BALANCE_RULES:
        raise ValueError(f"balance must be one of {BALANCE_RULES}, got {rule!r}")
    missing = [c for c in (entity, time) if c not in panel.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the panel")
    dup = panel.duplicated([entity, time])
    if dup.any():
        ex = panel.loc[dup, [entity, time]].head(5).itertuples(index=False, name=None)
        raise ValueError(f"{int(dup.sum())} duplicated {entity}-{time} row(s), e.g. {list(ex)}: one row per "
                         f"{entity} and {time} is needed")
    ents = np.sort(panel[entity].unique())
    periods = np.sort(panel[time].unique())
    cell = np.zeros((len(ents), len(periods)), dtype=bool)  # entity x period: observed
    cell[group_codes(panel[entity].to_numpy())[0], group_codes(panel[time].to_numpy())[0]] = True
    full_ent = cell.all(axis=1)
    full_per = cell.all(axis=0)
    rows_cities = int(full_ent.sum()) * len(periods)
    rows_years = int(full_per.sum()) * len(ents)
    n_missing = int((~cell).sum())

    def tolist(a):
        return [v.item() if hasattr(v, "item") else v for v in a]

    info = {"rule": rule, "rows_before": len(panel), "rows_after": len(panel), "cities_before": len(ents),
            "cities_after": len(ents), "years_before": len(periods), "years_after": len(periods),
            "cities_dropped": [], "years_dropped": [], "missing_cells": n_missing,
            "rows_after_other_rule": len(panel)}
    if n_missing == 0:
        return panel, info
    if rule == "error":
        ei, ti = np.nonzero(~cell)
        ex = [(tolist([ents[i]])[0], tolist([periods[j]])[0]) for i, j in zip(ei[:5], ti[:5])]
        raise ValueError(f"the panel is unbalanced: {n_missing} {entity}-{time} cell(s) are missing, e.g. {ex}. "
                         f"Use balance='drop_cities' (keeps {rows_cities} rows) or balance='drop_years' (keeps "
                         f"{rows_years} rows), or fill the gaps")
    if rule == "drop_cities":
        keep_e, keep_t = ents[full_ent], periods
        info["rows_after_other_rule"] = rows_years
    else:
        keep_e, keep_t = ents, periods[full_per]
        info["rows_after_other_rule"] = rows_cities
    if len(keep_e) < 2 or len(keep_t) < 2:
        raise ValueError(f"balancing with rule {rule!r} leaves {len(keep_e)} {entity}(s) and {len(keep_t)} "
                         f"{time}(s) of {len(ents)} and {len(periods)}: too few to estimate anything "
                         f"(drop_cities would keep {rows_cities} rows, drop_years {rows_years})")
    out = panel[panel[entity].isin(keep_e) & panel[time].isin(keep_t)]
    info.update(rows_after=len(out), cities_after=len(keep_e), years_after=len(keep_t),
                cities_dropped=tolist(np.setdiff1d(ents, keep_e)), years_dropped=tolist(np.setdiff1d(periods, keep_t)))
    return out, info
