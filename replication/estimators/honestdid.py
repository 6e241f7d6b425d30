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

**Modules.**  This module holds the smoothness restriction (FLCI), the original interval
and the conversion of event-study results into HonestDiD's layout, and re-exports the rest:
the relative-magnitudes restriction and the ARP test are in
:mod:`replication.estimators.honestdid_rm`, R's random numbers and the input check in
:mod:`replication.estimators.honestdid_common`.  :func:`replication.honest_did` runs both
restrictions on an event study and returns a :class:`~replication.estimators.api.HonestDiDResult`.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from replication.estimators.honestdid_common import (_check_event_study, _r_mersenne_state, _r_normals,  # noqa: F401
                                                     _r_quantile, r_rmvnorm, r_rnorm, r_runif)
from replication.estimators import distributions as dist
from replication.estimators.honestdid_rm import (_arp_reject, _EtaPolytope, _gamma_basis,  # noqa: F401
                                                 _truncnorm_quantile, _vlo_vup_dual, rm_confidence_set,
                                                 rm_constraints, rm_identified_set, sensitivity_rm)

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
    f = lambda c: dist.norm.cdf(c - bias) - dist.norm.cdf(-c - bias) - (1 - alpha)  # noqa: E731
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


def event_study_inputs(es, *, first: int | None = None, last: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """:func:`event_time_inputs` of an event-study result whose ``params`` and ``cov`` are
    indexed by event time (:func:`replication.estimators.staggered.event_study`,
    :func:`replication.estimators.staggered.sun_abraham`)."""
    if getattr(es, "cov", None) is None:
        raise ValueError("this result has no covariance of its event-time estimates: HonestDiD needs one")
    return event_time_inputs(es.params, es.cov, first=first, last=last)


def original_ci(beta, sigma, n_pre: int, n_post: int, *, l_vec=None, alpha: float = 0.05) -> dict:
    """The conventional interval for ``l' beta_post`` (HonestDiD's ``constructOriginalCS``)."""
    beta, sigma, l_vec = _check_event_study(beta, sigma, n_pre, n_post, l_vec)
    est = float(l_vec @ beta[n_pre:])
    se = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    z = dist.norm.ppf(1 - alpha / 2)
    return {"lower": est - z * se, "upper": est + z * se, "estimate": est, "se": se}
