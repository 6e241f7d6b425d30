"""The threshold search of :mod:`replication.estimators.threshold`: candidate grids, the
within transformation of each convention, and the sum of squared residuals of every
candidate threshold from sorted cumulative sums (see the module docstring of
:mod:`replication.estimators.threshold` for the algebra).  :func:`brute_force_ssr` is the
slow reference (one OLS per candidate) the tests hold the fast search to.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import within

#: convention -> (period dropped after demeaning, candidate grid, regime indicator q < g)
CONVENTIONS = {"xthreg": (None, "observations", False),
               "hansen": ("first", "observations", False),
               "hansen_program": ("last", "distinct", True)}


def convention_rules(convention: str) -> tuple[str | None, str, bool]:
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise ValueError(f"convention must be one of {tuple(CONVENTIONS)}, got {convention!r}") from None


def candidate_grid(q: np.ndarray, trim: float, grid: int, of: str = "observations") -> np.ndarray:
    """Candidate thresholds.

    ``of="observations"`` (xthreg's ``grid()``): ``grid`` evenly spaced order statistics of
    the observed values between the ``trim`` and ``1 - trim`` quantiles (all of them for
    ``grid=0``).  ``of="distinct"`` (Hansen's program): the quantiles ``trim, trim + 1/grid,
    ..., 1 - trim`` of the *distinct* values (``dd[floor(s * len(dd))]``, 1-based as in
    GAUSS; ``grid=400``, ``trim=0.01`` gives his 393 points)."""
    if of == "distinct":
        dd = np.unique(q)
        if not grid:
            raise ValueError("the grid of Hansen's program needs a number of quantiles (grid > 0)")
        steps = int(round(grid * (1 - 2 * trim)))
        idx = np.floor((trim + np.arange(steps + 1) / grid) * len(dd)).astype(int) - 1
        idx = idx[(idx >= 0) & (idx < len(dd))]
        if not len(idx):
            raise ValueError(f"trim {trim} leaves no candidate thresholds")
        return dd[idx]
    qs = np.sort(q)
    n = len(qs)
    lo, hi = int(np.floor(n * trim)), n - int(np.floor(n * trim)) - 1
    if hi <= lo:
        raise ValueError(f"trim {trim} leaves no candidate thresholds")
    inner = qs[lo:hi + 1]
    if grid and len(np.unique(inner)) > grid:
        inner = inner[np.floor(np.linspace(0, len(inner) - 1, grid)).astype(int)]
    return np.unique(inner)


def per_entity_cumsum(vals: np.ndarray, ent: np.ndarray) -> np.ndarray:
    """Running sum of ``vals`` within each entity, in the given (sorted-by-q) order."""
    order = np.argsort(ent, kind="stable")  # stable: keeps the q order within an entity
    e = ent[order]
    cs = np.cumsum(vals[order])
    starts = np.r_[0, np.flatnonzero(np.diff(e)) + 1]
    start_of = np.repeat(starts, np.diff(np.r_[starts, len(e)]))
    prev = np.where(start_of > 0, cs[start_of - 1], 0.0)
    out = np.empty_like(cs)
    out[order] = cs - prev
    return out


def kept_rows(ent: np.ndarray, convention: str) -> np.ndarray:
    """Rows kept after the within transformation (rows sorted by entity, then time): all of
    them (xthreg), all but each entity's first period (hansen) or its last (hansen_program)."""
    drop = convention_rules(convention)[0]
    if drop is None:
        return np.ones(len(ent), dtype=bool)
    if drop == "first":
        return np.r_[False, ent[1:] == ent[:-1]]
    return np.r_[ent[1:] == ent[:-1], False]


def regime_indicator(q: np.ndarray, gamma: float, strict: bool) -> np.ndarray:
    """``1(q < gamma)`` (Hansen's program) or ``1(q <= gamma)`` (xthreg, Hansen's paper)."""
    return q < gamma if strict else q <= gamma


class Searcher:
    """Precomputed sorted structure of one balanced panel (rows sorted by entity, then time)
    for threshold searches: :meth:`curve` gives the SSR of every candidate."""

    def __init__(self, ent: np.ndarray, x: np.ndarray, q: np.ndarray, Z: np.ndarray, T: int,
                 convention: str, candidates: np.ndarray, grid: int = 0):
        drop, self.grid_of, self.strict = convention_rules(convention)
        self.grid = grid  # quantiles of Hansen's grid (its trimming counts grid points)
        self.ent, self.n_ent = within.group_codes(ent)
        self.x, self.q, self.Z, self.T = x, q, Z, T
        self.n = len(x)
        self.drop = drop is not None
        self.keep = kept_rows(self.ent, convention)
        self.order = np.argsort(q, kind="stable")
        self.qs = q[self.order]
        self.cands = candidates
        # observations in the lower regime of each candidate (q <= g, or q < g)
        self.pos = np.searchsorted(self.qs, candidates, side="left" if self.strict else "right")
        self.counts = np.bincount(self.ent, minlength=self.n_ent).astype(float)
        self.dm = within.Demeaner(self.ent)
        self._f_cache = self._entity_term()

    # --- transformation L = S M_D and its adjoint -------------------------------------------
    def L(self, A: np.ndarray) -> np.ndarray:
        return self.dm(A)[self.keep]

    def Lt(self, B: np.ndarray) -> np.ndarray:
        """L' B for B in the transformed space.  Without dropped rows L = M_D and every B
        used here (residuals, bases of demeaned columns) already has entity means zero,
        so L' B = B."""
        if not self.drop:
            return B
        full = np.zeros((self.n,) + B.shape[1:])
        full[self.keep] = B
        return self.dm(full)

    def regime_column(self, gamma: float) -> np.ndarray:
        return self.x * regime_indicator(self.q, gamma, self.strict)

    def _entity_term(self) -> np.ndarray:
        """|L r_g|^2 for every prefix of the sorted observations (index = #obs added)."""
        o = self.order
        xs, es = self.x[o], self.ent[o]
        Ti = self.counts[es]
        A_after = per_entity_cumsum(xs, es)
        A_before = A_after - xs
        B_after = per_entity_cumsum(xs ** 2, es)
        B_before = B_after - xs ** 2
        f_after = B_after - A_after ** 2 / Ti
        f_before = B_before - A_before ** 2 / Ti
        if self.drop:
            # the entity's dropped transformed value: c - A/T, c = x of the dropped row once added
            is_dropped = (~self.keep)[o]
            c_after = per_entity_cumsum(np.where(is_dropped, xs, 0.0), es)
            c_before = c_after - np.where(is_dropped, xs, 0.0)
            f_after = f_after - (c_after - A_after / Ti) ** 2
            f_before = f_before - (c_before - A_before / Ti) ** 2
        return np.r_[0.0, np.cumsum(f_after - f_before)]

    def curve(self, fixed: tuple[float, ...], LY: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SSR for every candidate given ``fixed`` thresholds, for every column of ``LY``
        (already transformed).  Returns (S over candidates x draws, S of the model without
        the new threshold, the coefficient basis)."""
        W = np.column_stack([self.Z, self.x] + [self.regime_column(g) for g in fixed])
        LW = self.L(W)
        Q, R = np.linalg.qr(LW)
        keepc = np.abs(np.diag(R)) > 1e-10 * max(np.abs(np.diag(R)).max(), 1.0)
        Q = Q[:, keepc]
        resid = LY - Q @ (Q.T @ LY)
        S_W = (resid ** 2).sum(axis=0)
        v = self.Lt(resid)
        o = self.order
        xs = self.x[o]
        a = np.vstack([np.zeros((1, LY.shape[1])), np.cumsum(xs[:, None] * v[o], axis=0)])[self.pos]
        P = self.Lt(Q)
        cq = np.vstack([np.zeros((1, Q.shape[1])), np.cumsum(xs[:, None] * P[o], axis=0)])[self.pos]
        b = self._f_cache[self.pos] - (cq ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            S = np.where(b[:, None] > 1e-12 * max(self._f_cache[-1], 1.0), S_W[None, :] - a ** 2 / b[:, None], np.inf)
        return S, S_W, Q

    def admissible(self, fixed: tuple[float, ...], trim: float) -> np.ndarray:
        """Candidates far enough from the ``fixed`` thresholds: at least ``trim * n`` sorted
        observations away (xthreg), or, on Hansen's grid, outside ``grid * trim`` grid
        points on either side (his program: ``nn - qn*trim <= i < nn + qn*trim`` excluded,
        ``nn`` = grid points below the fixed threshold)."""
        ok = np.ones(len(self.cands), dtype=bool)
        if self.grid_of == "distinct":
            qn = self.grid
            i = np.arange(1, len(self.cands) + 1)
            for g in fixed:
                nn = int((self.cands < g).sum())
                ok &= ~((i >= nn - qn * trim) & (i < nn + qn * trim))
            return ok
        gap = trim * self.n
        for g in fixed:
            pg = np.searchsorted(self.qs, g, side="left" if self.strict else "right")
            ok &= np.abs(self.pos - pg) >= max(gap, 1)
        return ok


def brute_force_ssr(df: pd.DataFrame, y: str, regime_x: str, q: str, controls, fixed: tuple[float, ...],
                    candidates: np.ndarray, entity="city_code", time="year", convention="xthreg") -> np.ndarray:
    """Reference: one OLS fit per candidate (slow), for tests and the benchmark."""
    strict = convention_rules(convention)[2]
    d = df.sort_values([entity, time]).reset_index(drop=True)
    ent = d[entity].to_numpy()
    keep = kept_rows(ent, convention)
    x = d[regime_x].to_numpy(float)
    qv = d[q].to_numpy(float)
    yt = within.demean(d[y].to_numpy(float), ent)[keep]
    base = [d[c].to_numpy(float) for c in controls] + [x] + [x * regime_indicator(qv, g, strict) for g in fixed]
    out = []
    for g in candidates:
        X = within.demean(np.column_stack(base + [x * regime_indicator(qv, g, strict)]), ent)[keep]
        b = np.linalg.lstsq(X, yt, rcond=None)[0]
        r = yt - X @ b
        out.append(float(r @ r))
    return np.array(out)


class SequentialSearch:
    """Hansen's (1999) sequential estimation on one :class:`Searcher`, for many outcome
    columns at once (the sample and every bootstrap draw): g1 minimises S1; g2 minimises
    S2 given g1; g1 is refined given g2; g3 minimises S3 given both."""

    def __init__(self, srch: Searcher, trims: list[float]):
        self.srch, self.trims = srch, trims

    def best(self, fixed, LYm, trim_k):
        """Best next threshold for every column given ``fixed``: (estimates, their SSR, the
        admissible SSR curve, the SSR without the new threshold)."""
        S, S_W, _ = self.srch.curve(fixed, LYm)
        S = np.where(self.srch.admissible(fixed, trim_k)[:, None], S, np.inf)
        j = np.argmin(S, axis=0)
        return self.srch.cands[j], S[j, np.arange(S.shape[1])], S, S_W

    def grouped(self, fixed_per_draw: np.ndarray, LYm, trim_k):
        """Best next threshold for every column, given that column's earlier thresholds
        (columns that share them share one projection)."""
        g_out, s_out = np.empty(LYm.shape[1]), np.empty(LYm.shape[1])
        keys = fixed_per_draw.reshape(LYm.shape[1], -1)
        for key in np.unique(keys, axis=0):
            m = (keys == key).all(axis=1)
            g_out[m], s_out[m], _, _ = self.best(tuple(key), LYm[:, m], trim_k)
        return g_out, s_out

    def run(self, LYm, k: int) -> dict:
        """Sequential estimates for every column up to ``k`` thresholds: arrays ``g1, S1,
        S0`` (k >= 1), ``g2, S2`` (k >= 2), ``g1r, S2r, g3, S3`` (k = 3)."""
        tr = self.trims
        g1, S1, _, S0 = self.best((), LYm, tr[0])
        out = dict(g1=g1, S1=S1, S0=S0)
        if k == 1:
            return out
        g2, S2 = self.grouped(g1, LYm, tr[1])
        out.update(g2=g2, S2=S2)
        if k == 2:
            return out
        g1r, S2r = self.grouped(g2, LYm, tr[1])
        g3, S3 = self.grouped(np.sort(np.column_stack([g1r, g2]), axis=1), LYm, tr[2])
        out.update(g1r=g1r, S2r=S2r, g3=g3, S3=S3)
        return out
