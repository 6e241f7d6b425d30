"""Rambachan and Roth (2023) sensitivity analysis ("HonestDiD"), written natively.

Given event-study coefficients ``beta = (beta_pre, beta_post)`` (the reference period -1
omitted, i.e. normalised to 0) and their covariance ``sigma``, the parameter of interest
is ``theta = l' tau_post``.  The bias ``delta`` of the event-study coefficients is
restricted to a set Delta; the robust confidence set covers theta whenever the true
delta is in Delta.  Two restrictions are implemented:

* **Smoothness** ``Delta^SD(M)``: second differences of delta bounded by M
  (``M = 0`` allows exactly linear differential trends).  Fixed-length confidence
  interval (FLCI; Armstrong and Kolesar 2018; Rambachan and Roth, section 4.1): an affine
  estimator ``v' beta_pre + l' beta_post``; its worst-case bias is finite only if ``v``
  removes linear trends, and is then ``M * ||K' w||_1`` in closed form (K maps second
  differences to delta, ``w = (v, 0, l)``).  The interval is ``estimate +- sd *
  cv_alpha(bias / sd)`` and ``v`` minimises the half-length: for each sd bound ``h`` the
  smallest worst-case bias is a convex programme, and the half-length is then minimised
  over ``h`` on [lowest sd, sd of the simplest trend-removing estimator] -- HonestDiD's
  decomposition of the problem.
* **Relative magnitudes** ``Delta^RM(Mbar)``: every post-period first difference of
  delta at most ``Mbar`` times the largest pre-period first difference.  Delta^RM is a
  union of polyhedra (one per pre-period ``s`` and sign); the confidence set is the union
  of the Andrews-Roth-Pakes (ARP) conditional-test confidence sets over them, with the
  least-favourable ("C-LF") hybrid or without it ("Conditional"), inverted on a grid of
  theta -- exactly as HonestDiD does it (``createSensitivityResults_relativeMagnitudes``).
  Not implemented: the single-post-period (no nuisance parameter) variant, the other
  restrictions of the R package (Delta^SDRM, sign and monotonicity variants) and the
  FLCI hybrid.

Why native: the R package is not available here and the only Python port on the package
index needs PyTorch.  The linear programmes of the ARP test are solved exactly by
enumerating the vertices of their (theta-independent) dual polytope once, which makes the
thousands of tests on the theta grid a matrix product; HiGHS is the fallback when the
polytope has too many candidate vertices.

**Reproducing HonestDiD's numbers.**  HonestDiD draws random numbers in two places: the
folded-normal critical value of the FLCI (a quantile of 10^6 draws after
``set.seed(0)``) and the least-favourable critical value of the C-LF hybrid (1000
``mvtnorm::rmvnorm`` draws after ``set.seed(0)``).  :func:`r_rnorm` reproduces R's
``set.seed`` + Mersenne-Twister + inversion ``rnorm`` stream bit for bit (tested against
values R prints), so with ``cv="honestdid"`` the FLCI reproduces the HonestDiD README
(ehec example) to its printed digits; ``cv="exact"`` (the default) uses the exact
quantile of ``|N(b, 1)|`` instead.  See tests/test_honest.py for the agreement figures.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

# ---------------------------------------------------------------------------------------
# R-compatible normal draws
# ---------------------------------------------------------------------------------------

_R_BIG = 134217728  # 2^27, R's INVERSION normal generator
_R_I2_32M1 = 2.328306437080797e-10  # R's fixup constant for unif_rand()


def _r_mersenne_state(seed: int) -> np.ndarray:
    """The 624-word Mersenne-Twister state R's ``set.seed(seed)`` produces
    (``RNG_Init``: 50 scrambling steps of a linear congruential generator, then one step
    per state word)."""
    s = int(seed) & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint64)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        words[j] = s
    return words[1:].astype(np.uint32)  # word 0 is R's position counter (reset to 624)


def r_runif(n: int, seed: int) -> np.ndarray:
    """``set.seed(seed); runif(n)`` of R (default generator kinds), bit for bit."""
    bg = np.random.MT19937()
    bg.state = {"bit_generator": "MT19937", "state": {"key": _r_mersenne_state(seed), "pos": 624}}
    u = bg.random_raw(n).astype(np.float64) * 2.3283064365386963e-10
    u[u <= 0.0] = 0.5 * _R_I2_32M1
    u[1.0 - u <= 0.0] = 1.0 - 0.5 * _R_I2_32M1
    return u


def r_rnorm(n: int, seed: int) -> np.ndarray:
    """``set.seed(seed); rnorm(n)`` of R (Mersenne-Twister, inversion), to the last bit of
    the uniforms; the normal quantile is scipy's (equal to R's qnorm to ~1e-16)."""
    u = r_runif(2 * n, seed)
    return special.ndtri((np.floor(_R_BIG * u[0::2]) + u[1::2]) / _R_BIG)


def r_rmvnorm(n: int, sigma: np.ndarray, seed: int) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n, sigma = sigma)`` (method "eigen": the draws
    times the symmetric square root of sigma, which does not depend on the signs of the
    eigenvectors)."""
    sigma = np.asarray(sigma, float)
    vals, vecs = np.linalg.eigh(sigma)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
    return _r_normals(n * sigma.shape[0], seed).reshape(n, sigma.shape[0]) @ root


def _r_quantile(x: np.ndarray, p: float, axis=None) -> np.ndarray:
    """R's default (type 7) quantile, which is numpy's "linear"."""
    return np.quantile(x, p, axis=axis)


@lru_cache(maxsize=4)
def _r_normals(n: int, seed: int) -> np.ndarray:
    """:func:`r_rnorm`, cached (read-only): HonestDiD re-seeds before every use, so the
    same stream is needed for every critical value."""
    z = r_rnorm(n, seed)
    z.setflags(write=False)
    return z


# ---------------------------------------------------------------------------------------
# Smoothness restriction: fixed-length confidence interval
# ---------------------------------------------------------------------------------------


def cv_alpha(bias: float, alpha: float = 0.05, *, method: str = "exact") -> float:
    """1 - alpha quantile of ``|N(bias, 1)|``.

    ``method="exact"`` solves ``Phi(c - b) - Phi(-c - b) = 1 - alpha``; ``"honestdid"``
    is HonestDiD's ``.qfoldednormal``: the type-7 quantile of ``|z + b|`` over R's first
    10^6 normal draws after ``set.seed(0)`` (1.96224 instead of 1.95996 at b = 0).
    """
    bias = abs(float(bias))
    if method == "honestdid":
        return float(_r_quantile(np.abs(_r_normals(10**6, 0) + bias), 1 - alpha))
    if method != "exact":
        raise ValueError(f"cv method must be 'exact' or 'honestdid', not {method!r}")
    f = lambda c: stats.norm.cdf(c - bias) - stats.norm.cdf(-c - bias) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, 0.0, bias + 10.0, xtol=1e-14))


def _second_difference_basis(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Event times ``-n_pre..n_post`` and the matrix K with ``delta = K @ (second
    differences)`` for sequences with ``delta_0 = 0`` and ``delta_1 = 0`` (the remaining
    linear-trend direction is removed by the estimator's constraint)."""
    ts = np.arange(-n_pre, n_post + 1)
    n = len(ts)
    A = np.zeros((n - 2, n))
    for i in range(n - 2):
        A[i, i:i + 3] = [1.0, -2.0, 1.0]
    E = np.zeros((2, n))
    E[0, n_pre] = 1.0
    E[1, n_pre + 1] = 1.0
    B = np.linalg.inv(np.vstack([A, E]))
    return ts, B[:, :n - 2]


def _check_event_study(beta, sigma, n_pre, n_post, l_vec):
    beta, sigma = np.asarray(beta, float), np.asarray(sigma, float)
    if beta.ndim != 1 or len(beta) != n_pre + n_post or sigma.shape != (len(beta), len(beta)):
        raise ValueError(f"beta ({beta.shape}) and sigma ({sigma.shape}) must have n_pre + n_post = "
                         f"{n_pre + n_post} entries, the reference period omitted")
    if not np.allclose(sigma, sigma.T, atol=1e-12 * max(1.0, np.abs(sigma).max())):
        raise ValueError("sigma is not symmetric")
    l_vec = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, float).ravel()
    if len(l_vec) != n_post:
        raise ValueError(f"l_vec has {len(l_vec)} entries but there are {n_post} post-periods")
    return beta, sigma, l_vec


class _FLCIProblem:
    """The pieces of the FLCI programme for one (sigma, n_pre, n_post, l)."""

    def __init__(self, sigma, n_pre, n_post, l_vec):
        ts, K = _second_difference_basis(n_pre, n_post)
        self.n_pre, self.l = n_pre, l_vec
        self.t_pre = ts[:n_pre].astype(float)
        self.c0 = -float(ts[n_pre + 1:].astype(float) @ l_vec)  # sum_t t v_t = -sum_s s l_s
        self.Kv = K.T[:, :n_pre]
        self.Kl = K.T[:, n_pre + 1:] @ l_vec  # K'w = Kv v + Kl
        self.scale = float(np.sqrt(np.mean(np.diag(sigma))))
        self.S = sigma / self.scale**2  # well-scaled for the solver

    def sd(self, v):
        w = np.r_[v, self.l]
        return float(np.sqrt(w @ self.S @ w)) * self.scale

    def bias(self, v):
        """Worst-case bias over Delta^SD(1) of the estimator with pre-period weights v."""
        return float(np.abs(self.Kv @ v + self.Kl).sum())

    def lowest_sd(self):
        """Minimum-variance trend-removing estimator (closed-form equality-constrained QP)."""
        n = self.n_pre
        Spp, Spl = self.S[:n, :n], self.S[:n, n:] @ self.l
        kkt = np.block([[2 * Spp, self.t_pre[:, None]], [self.t_pre[None, :], np.zeros((1, 1))]])
        v = np.linalg.solve(kkt, np.r_[-2 * Spl, self.c0])[:n]
        return self.sd(v), v

    def simplest(self):
        """The estimator HonestDiD's search starts from (all weight on period -1): its sd
        bounds the search from above, since more variance cannot lower the bias further."""
        v = np.zeros(self.n_pre)
        v[-1] = -self.c0
        return self.sd(v), v

    def min_bias(self, h, x0):
        """Smallest worst-case bias subject to sd <= h: min sum(u) s.t. |K'w| <= u,
        trend removal, and the variance bound (a convex programme; SLSQP)."""
        n, nk = self.n_pre, self.Kv.shape[0]
        h1 = h / self.scale
        S, l, Kv, Kl, t = self.S, self.l, self.Kv, self.Kl, self.t_pre
        cons = [
            {"type": "eq", "fun": lambda x: t @ x[:n] - self.c0, "jac": lambda x: np.r_[t, np.zeros(nk)]},
            {"type": "ineq", "fun": lambda x: x[n:] - (Kv @ x[:n] + Kl), "jac": lambda x: np.hstack([-Kv, np.eye(nk)])},
            {"type": "ineq", "fun": lambda x: x[n:] + (Kv @ x[:n] + Kl), "jac": lambda x: np.hstack([Kv, np.eye(nk)])},
            {"type": "ineq", "fun": lambda x: h1**2 - np.r_[x[:n], l] @ S @ np.r_[x[:n], l],
             "jac": lambda x: np.r_[-2 * (S @ np.r_[x[:n], l])[:n], np.zeros(nk)]},
        ]
        obj = np.r_[np.zeros(n), np.ones(nk)]
        x0 = np.r_[x0, np.abs(Kv @ x0 + Kl)]
        res = optimize.minimize(lambda x: (obj @ x, obj), x0, jac=True, method="SLSQP", constraints=cons,
                                options={"ftol": 1e-15, "maxiter": 2000})
        v = res.x[:n]
        # SLSQP may stop a hair outside the variance bound; report the bias of the weights
        # it returns, which is what the interval uses
        return self.bias(v), v


def flci_smoothness(beta: np.ndarray, sigma: np.ndarray, n_pre: int, n_post: int, M: float, *,
                    l_vec: np.ndarray | None = None, alpha: float = 0.05, cv: str = "exact") -> dict:
    """FLCI for ``theta = l' tau_post`` under Delta^SD(M).

    Returns ``lower``, ``upper``, ``estimate``, ``half_length``, ``v`` (the optimal
    pre-period weights), ``sd``, ``max_bias`` and ``M``.  ``cv`` picks the folded-normal
    critical value (see :func:`cv_alpha`).
    """
    beta, sigma, l_vec = _check_event_study(beta, sigma, n_pre, n_post, l_vec)
    if n_pre < 2:
        raise ValueError("the smoothness restriction needs at least two pre-periods")
    if M < 0:
        raise ValueError(f"M must be non-negative, got {M}")
    P = _FLCIProblem(sigma, n_pre, n_post, l_vec)
    h_lo, v_lo = P.lowest_sd()
    h_hi, v_hi = P.simplest()
    cache = {}

    def solve(h):
        if h not in cache:
            if h <= h_lo * (1 + 1e-12):
                cache[h] = (P.bias(v_lo), v_lo)
            else:
                start = v_hi if h >= h_hi else v_lo + (v_hi - v_lo) * (h - h_lo) / (h_hi - h_lo)
                cache[h] = P.min_bias(h, start)
        return cache[h]

    def half(h):
        b, v = solve(h)
        s = P.sd(v)
        return s * cv_alpha(M * b / s, alpha, method=cv)

    if M == 0 or h_hi <= h_lo * (1 + 1e-10):
        h = h_lo
    else:
        res = optimize.minimize_scalar(half, bounds=(h_lo, h_hi), method="bounded",
                                       options={"xatol": 1e-10 * h_hi})
        h = min((res.x, h_lo, h_hi), key=half)
    b, v = solve(h)
    hl = half(h)
    est = float(np.r_[v, l_vec] @ beta)
    return {"lower": est - hl, "upper": est + hl, "estimate": est, "half_length": hl, "v": v,
            "sd": P.sd(v), "max_bias": M * b, "M": float(M)}


def sensitivity_smoothness(beta, sigma, n_pre: int, n_post: int, Ms, **kw) -> list[dict]:
    """FLCIs over a grid of M (the data of the smoothness sensitivity plot)."""
    return [flci_smoothness(beta, sigma, n_pre, n_post, float(M), **kw) for M in Ms]


def event_time_inputs(coef, cov, *, first: int | None = None, last: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``beta, sigma, n_pre, n_post`` in HonestDiD's layout from event-study estimates
    indexed by event time (``coef`` a Series, ``cov`` a DataFrame with the same labels):
    event times ``first..last`` in order, the reference period -1 omitted.  The event
    times must be consecutive and include -2 and 0 (the restrictions are about
    consecutive differences)."""
    import pandas as pd

    coef = pd.Series(coef)
    times = sorted(int(t) for t in coef.index if int(t) != -1
                   and (first is None or int(t) >= first) and (last is None or int(t) <= last))
    if -2 not in times or 0 not in times or times != [t for t in range(times[0], times[-1] + 1) if t != -1]:
        raise ValueError(f"event times {times} must be consecutive around the reference period -1 "
                         "and include -2 and 0")
    labels = {int(t): t for t in coef.index}
    idx = [labels[t] for t in times]
    n_pre = sum(t < -1 for t in times)
    return (coef.loc[idx].to_numpy(float), pd.DataFrame(cov).loc[idx, idx].to_numpy(float), n_pre,
            len(times) - n_pre)


def event_study_inputs(es: dict) -> tuple[np.ndarray, np.ndarray, int, int]:
    """:func:`event_time_inputs` of a :func:`replication.estimators.staggered.event_study` result."""
    r = es["result"]
    cols = [c for c in r.params.index if c[:1] == "e" and c[1:].lstrip("+-").isdigit()]
    lab = {c: int(c[1:]) for c in cols}
    return event_time_inputs(r.params[cols].rename(lab), r.cov.loc[cols, cols].rename(index=lab, columns=lab))


def original_ci(beta, sigma, n_pre: int, n_post: int, *, l_vec=None, alpha: float = 0.05) -> dict:
    """The conventional interval for ``l' beta_post`` (HonestDiD's ``constructOriginalCS``)."""
    beta, sigma, l_vec = _check_event_study(beta, sigma, n_pre, n_post, l_vec)
    est = float(l_vec @ beta[n_pre:])
    se = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    z = stats.norm.ppf(1 - alpha / 2)
    return {"lower": est - z * se, "upper": est + z * se, "estimate": est, "se": se}


# ---------------------------------------------------------------------------------------
# Relative magnitudes: ARP conditional / least-favourable hybrid confidence sets
# ---------------------------------------------------------------------------------------


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
                      grid_ub: float | None = None, sims: int = 1000, seed: int = 0,
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
    least-favourable critical value uses ``sims`` multivariate normal draws of R's
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
                eta_sim, _ = poly.solve(r_rmvnorm(sims, S, seed))
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
