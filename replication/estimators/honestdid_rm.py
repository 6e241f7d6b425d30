"""Rambachan and Roth (2023) relative-magnitudes restriction ``Delta^RM(Mbar)``: the
Andrews-Roth-Pakes (ARP) conditional and least-favourable-hybrid confidence sets, as
HonestDiD computes them (``createSensitivityResults_relativeMagnitudes``); see
:mod:`replication.estimators.honestdid`.

The linear programmes of the ARP test are solved exactly by enumerating the vertices of
their (theta-independent) dual polytope once, which makes the thousands of tests on the
theta grid a matrix product; HiGHS is the fallback when the polytope has too many
candidate vertices.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import optimize, special

from replication.estimators.honestdid_common import _check_event_study, _r_quantile, r_rmvnorm


def rm_constraints(n_pre: int, n_post: int, Mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """Matrix A with ``A delta <= 0`` iff delta is in Delta^RM_{s,sign}(Mbar): every first
    difference of delta (pre: at most 1 times, post: at most Mbar times) bounded in
    absolute value by the signed first difference ending in pre-period s
    (HonestDiD's ``.create_A_RM``; rows that are identically zero dropped; the column of
    the reference period removed)."""
    n = n_pre + n_post
    Atilde = np.zeros((n, n + 1))
    for r in range(n):
        Atilde[r, r:r + 2] = [-1.0, 1.0]
    v = np.zeros(n + 1)
    v[n_pre + s - 1:n_pre + s + 1] = [-1.0, 1.0]
    if not max_positive:
        v = -v
    ub = np.vstack([np.tile(v, (n_pre, 1)), np.tile(Mbar * v, (n_post, 1))])
    A = np.vstack([Atilde - ub, -Atilde - ub])
    A = A[(A * A).sum(axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)


def rm_identified_set(beta, n_pre: int, n_post: int, Mbar: float, *, l_vec=None) -> tuple[float, float]:
    """Identified set of ``l' tau_post`` under Delta^RM(Mbar) when beta is known exactly
    (pre-period delta = beta_pre): the union over (s, sign) of two linear programmes each."""
    beta = np.asarray(beta, float)
    l_vec = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, float)
    theta_hat = float(l_vec @ beta[n_pre:])
    c = np.r_[np.zeros(n_pre), l_vec]
    A_eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    lo, hi = np.inf, -np.inf
    for s in range(-(n_pre - 1), 1):
        for sign in (True, False):
            A = rm_constraints(n_pre, n_post, Mbar, s, sign)
            kw = dict(A_ub=A, b_ub=np.zeros(len(A)), A_eq=A_eq, b_eq=beta[:n_pre],
                      bounds=[(None, None)] * (n_pre + n_post), method="highs")
            mx, mn = optimize.linprog(-c, **kw), optimize.linprog(c, **kw)
            if mx.status == 0 and mn.status == 0:
                lo, hi = min(lo, theta_hat + mx.fun), max(hi, theta_hat - mn.fun)
            else:  # as HonestDiD: an infeasible (s, sign) contributes the point estimate
                lo, hi = min(lo, theta_hat), max(hi, theta_hat)
    return lo, hi


class _EtaPolytope:
    """The ARP test statistic ``eta(y) = min_{eta, d} eta s.t. y - X d <= sd * eta`` for
    many y at once.  By LP duality ``eta(y) = max_lambda lambda' y`` over the polytope
    ``{lambda >= 0, sd' lambda = 1, X' lambda = 0}``, which does not depend on y; its
    vertices (supports of size k + 1) are enumerated once.  The maximising vertex is the
    LP's dual solution (the Lagrange multipliers the ARP test conditions on)."""

    MAX_SUBSETS = 3_000_000  # candidate supports enumerated (in chunks); beyond: HiGHS per LP
    CHUNK = 100_000

    def __init__(self, X: np.ndarray, sd: np.ndarray):
        self.X, self.sd = X, sd
        m, k = X.shape
        W = np.hstack([sd[:, None], X])  # W' lambda = e1
        self.W = W
        self.vertices = None
        if math.comb(m, k + 1) <= self.MAX_SUBSETS:
            combos = itertools.combinations(range(m), k + 1)
            parts = []
            while True:
                chunk = np.array(list(itertools.islice(combos, self.CHUNK)), dtype=np.intp).reshape(-1, k + 1)
                if not len(chunk):
                    break
                parts.append(self._vertices_on(chunk, W, m, k))
            V = np.vstack(parts)
            self.vertices = np.unique(np.round(V, 14), axis=0) if len(V) else V

    @staticmethod
    def _vertices_on(subsets, W, m, k):
        """Basic feasible solutions of {lambda >= 0, W' lambda = e1} on the given supports."""
        Wt = np.swapaxes(W[subsets], 1, 2)  # (n, k+1, k+1)
        det = np.linalg.det(Wt)
        ok = np.abs(det) > 1e-12 * np.abs(Wt).max(axis=(1, 2)) ** (k + 1)
        e1 = np.zeros(k + 1)
        e1[0] = 1.0
        lam = np.linalg.solve(Wt[ok], np.broadcast_to(e1, (int(ok.sum()), k + 1))[..., None])[..., 0]
        feas = (lam >= -1e-12 * np.maximum(1.0, np.abs(lam).max(axis=1, keepdims=True))).all(axis=1)
        V = np.zeros((int(feas.sum()), m))
        V[np.repeat(np.arange(len(V)), k + 1), subsets[ok][feas].ravel()] = np.clip(lam[feas], 0.0, None).ravel()
        return V

    def solve(self, Y: np.ndarray):
        """eta and the dual vertex for each row of Y (n, m); eta = -inf where the LP is
        unbounded below (no dual vertex)."""
        Y = np.atleast_2d(Y)
        if self.vertices is not None:
            if len(self.vertices) == 0:
                return np.full(len(Y), -np.inf), np.full((len(Y), Y.shape[1]), np.nan)
            vals = Y @ self.vertices.T
            j = vals.argmax(axis=1)
            return vals[np.arange(len(Y)), j], self.vertices[j]
        etas, lams = [], []
        for y in Y:  # fallback: HiGHS, dual solution from the marginals
            k = self.X.shape[1]
            res = optimize.linprog(np.r_[1.0, np.zeros(k)], A_ub=-self.W, b_ub=-y,
                                   bounds=[(None, None)] * (k + 1), method="highs")
            if res.status != 0:
                etas.append(-np.inf)
                lams.append(np.full(len(y), np.nan))
            else:
                etas.append(res.fun)
                lams.append(-res.ineqlin.marginals)
        return np.array(etas), np.array(lams)

    def max_linear(self, f: np.ndarray):
        """max f' x over the same polytope (HonestDiD's ``.max_program``)."""
        if self.vertices is not None:
            vals = self.vertices @ f
            j = int(vals.argmax())
            return float(vals[j]), self.vertices[j]
        res = optimize.linprog(-f, A_eq=self.W.T, b_eq=np.eye(self.W.shape[1])[0], bounds=(0, None), method="highs")
        return float(-res.fun), res.x


def _truncnorm_quantile(p: float, lo: float, hi: float) -> float:
    """Quantile of the standard normal truncated to [lo, hi], computed in the tail that
    keeps precision (as TruncatedNormal::norminvp does)."""
    if lo > 0:  # upper tail: work with survival probabilities
        a, b = special.ndtr(-lo), special.ndtr(-hi)
        return float(-special.ndtri(a - p * (a - b))) if a > 1e-300 else float(lo)
    a, b = special.ndtr(lo), special.ndtr(hi)
    return float(special.ndtri(a + p * (b - a)))


def _vlo_vup_dual(eta, s_T, gamma, sigma, poly):
    """Truncation points of the conditional test in the degenerate case: bisection on the
    dual programme (ARP 2023, appendix; HonestDiD's ``.vlo_vup_dual_fn``)."""
    tol_c = tol_eq = 1e-6
    gsg = float(gamma @ sigma @ gamma)
    sig_b = math.sqrt(gsg)
    b = (sigma @ gamma) / gsg

    def check(c):
        opt, x = poly.max_linear(s_T + b * c)
        return abs(c - opt) <= tol_eq, x

    def shortcut(x):  # the c solving a + (b - 1) c = 0 for the current maximiser
        a = x @ s_T
        return (0.0 if abs(a) < np.finfo(float).eps ** 0.75 else a) / (1 - x @ b)

    ok, _ = check(eta)
    if not ok:
        return eta, np.inf
    out = []
    for side in (+1, -1):
        start = max(100.0, eta + 20 * sig_b) if side > 0 else min(-100.0, eta - 20 * sig_b)
        ok, x = check(start)
        if ok:
            out.append(side * np.inf)
            continue
        dif, iters = 0.0, 1
        mid = shortcut(x)
        ok, x = check(mid)
        while not ok and iters < 10_000:
            iters += 1
            if iters >= 10:
                dif = tol_c + 1
                break
            mid = shortcut(x)
            ok, x = check(mid)
        low, high = (eta, mid) if side > 0 else (mid, eta)
        while dif > tol_c and iters < 10_000:
            iters += 1
            mid = (high + low) / 2
            inside = check(mid)[0]
            if (inside and side > 0) or (not inside and side < 0):
                low = mid
            else:
                high = mid
            dif = high - low
        out.append(mid)
    return out[1], out[0]


def _arp_reject(y, eta, lam, sigma, poly, alpha, lf_cv, kappa) -> bool:
    """ARP conditional test for one y (HonestDiD's ``.lp_conditional_test_fn``): with the
    least-favourable hybrid when ``kappa > 0`` (first stage: reject if eta exceeds
    ``lf_cv``; second stage at size (alpha - kappa) / (1 - kappa), truncated above at
    ``lf_cv``), the plain conditional test when ``kappa = 0`` and ``lf_cv = inf``."""
    if not np.isfinite(eta):
        return False  # LP unbounded: HonestDiD does not reject
    if eta > lf_cv:
        return True  # first stage
    mod_size = (alpha - kappa) / (1 - kappa)
    X, sd = poly.X, poly.sd
    m, k = X.shape
    B = lam > 1e-6
    degenerate = B.sum() != k + 1
    XB = X[B]
    full_rank = min(XB.shape) > 0 and np.linalg.matrix_rank(XB) == min(XB.shape)
    if degenerate or not full_rank:
        s2 = float(lam @ sigma @ lam)
        s_T = y - (sigma @ lam) * (lam @ y) / s2 if s2 else y
        if abs(s2) < np.finfo(float).eps:
            return eta > 0
        vlo, vup = _vlo_vup_dual(eta, s_T, lam, sigma, poly)
        sig = math.sqrt(s2)
        zlo, zup, stat = vlo / sig, min(vup, lf_cv) / sig, eta / sig
    else:
        inv = np.linalg.inv(np.hstack([sd[B][:, None], XB]))
        SB = np.eye(m)[B]
        Gamma_B = np.hstack([sd[~B][:, None], X[~B]]) @ inv @ SB - np.eye(m)[~B]
        v_B = inv[0] @ SB
        s2 = float(v_B @ sigma @ v_B)
        sig = math.sqrt(s2)
        rho = Gamma_B @ sigma @ v_B / s2
        with np.errstate(divide="ignore", invalid="ignore"):
            mm = -(Gamma_B @ y) / rho + v_B @ y
        vlo = mm[rho > 0].max() if (rho > 0).any() else -np.inf
        vup = mm[rho < 0].min() if (rho < 0).any() else np.inf
        zlo, zup, stat = vlo / sig, min(vup, lf_cv) / sig, eta / sig
    if not (zlo <= stat <= zup):
        return False
    return stat > max(0.0, _truncnorm_quantile(1 - mod_size, zlo, zup))


def _gamma_basis(l_vec: np.ndarray) -> np.ndarray:
    """Invertible matrix with first row l' (HonestDiD's ``.construct_Gamma``: the pivot
    columns of rref([l, I]), i.e. l and then the unit vectors that add rank, in order)."""
    cols = [l_vec]
    for i in range(len(l_vec)):
        e = np.eye(len(l_vec))[i]
        if np.linalg.matrix_rank(np.column_stack(cols + [e])) > len(cols):
            cols.append(e)
    return np.array(cols)


def rm_confidence_set(beta, sigma, n_pre: int, n_post: int, Mbar: float, *, l_vec=None,
                      alpha: float = 0.05, grid_points: int = 1000, grid_lb: float | None = None,
                      grid_ub: float | None = None, n_draws: int = 1000, seed: int = 0,
                      method: str = "C-LF") -> dict:
    """Robust confidence set for ``theta = l' tau_post`` under Delta^RM(Mbar).

    ``method="C-LF"`` (HonestDiD's default) is the conditional test with the
    least-favourable hybrid; ``"Conditional"`` is the ARP conditional test alone.

    As HonestDiD's ``computeConditionalCS_DeltaRM`` (``hybrid_flag = "LF"``,
    ``hybrid_kappa = alpha / 10``, post-period moments only): for each pre-period s and
    sign, the ARP test with the least-favourable first stage is inverted on the grid
    ``linspace(grid_lb, grid_ub, grid_points)``; a grid value is in the set if any
    (s, sign) accepts it.  The default grid is the identified set at ``beta`` widened by
    20 standard errors of the estimate of theta on each side, as the current HonestDiD
    does; earlier versions used +- 20 standard errors around zero (pass ``grid_lb`` and
    ``grid_ub`` to get that grid, or any other).  The
    least-favourable critical value uses ``n_draws`` multivariate normal draws of R's
    ``set.seed(seed)`` stream, so the numbers equal HonestDiD's.

    Returns ``lower``/``upper`` (smallest and largest accepted grid value; NaN if none),
    ``grid``, ``accept`` and ``Mbar``.  Needs at least two post-periods (the ARP test
    without nuisance parameters, used by HonestDiD for one post-period, is not
    implemented).
    """
    beta, sigma, l_vec = _check_event_study(beta, sigma, n_pre, n_post, l_vec)
    if n_post < 2:
        raise ValueError("rm_confidence_set needs at least two post-periods (the single-post-period "
                         "ARP variant without nuisance parameters is not implemented)")
    if Mbar < 0:
        raise ValueError(f"Mbar must be non-negative, got {Mbar}")
    if method not in ("C-LF", "Conditional"):
        raise ValueError(f"method must be 'C-LF' or 'Conditional', not {method!r}")
    kappa = alpha / 10 if method == "C-LF" else 0.0
    sd_theta = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    if grid_lb is None or grid_ub is None:
        id_lb, id_ub = rm_identified_set(beta, n_pre, n_post, Mbar, l_vec=l_vec)
        grid_lb = id_lb - 20 * sd_theta if grid_lb is None else grid_lb
        grid_ub = id_ub + 20 * sd_theta if grid_ub is None else grid_ub
    grid = np.linspace(grid_lb, grid_ub, grid_points)
    Ginv = np.linalg.inv(_gamma_basis(l_vec))
    accept = np.zeros(grid_points, dtype=bool)
    for s in range(-(n_pre - 1), 1):
        for sign in (True, False):
            A = rm_constraints(n_pre, n_post, Mbar, s, sign)
            rows = np.flatnonzero((A[:, n_pre:] != 0).any(axis=1))
            AG = A[:, n_pre:] @ Ginv
            a, X = AG[rows, 0], AG[rows, 1:]
            Y = (A @ beta)[rows]
            S = (A @ sigma @ A.T)[np.ix_(rows, rows)]
            sd = np.sqrt(np.diag(S))
            poly = _EtaPolytope(X, sd)
            lf_cv = np.inf
            if kappa > 0:
                eta_sim, _ = poly.solve(r_rmvnorm(n_draws, S, seed))
                eta_sim = eta_sim[np.isfinite(eta_sim)]
                lf_cv = float(_r_quantile(eta_sim, 1 - kappa)) if len(eta_sim) else np.inf
            Ys = Y[None, :] - grid[:, None] * a[None, :]
            etas, lams = poly.solve(Ys)
            for i in np.flatnonzero(~accept):
                if not _arp_reject(Ys[i], etas[i], lams[i], S, poly, alpha, lf_cv, kappa):
                    accept[i] = True
    acc = grid[accept]
    return {"lower": float(acc.min()) if len(acc) else np.nan, "upper": float(acc.max()) if len(acc) else np.nan,
            "grid": grid, "accept": accept, "Mbar": float(Mbar), "method": method}


def sensitivity_rm(beta, sigma, n_pre: int, n_post: int, Mbars, **kw) -> list[dict]:
    """Relative-magnitudes confidence sets over a grid of Mbar (the data of the plot)."""
    return [rm_confidence_set(beta, sigma, n_pre, n_post, float(m), **kw) for m in Mbars]
