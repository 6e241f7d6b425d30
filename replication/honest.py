"""Rambachan and Roth (2023) sensitivity analysis: the smoothness-restriction FLCI (first part).

Given event-study coefficients ``beta = (beta_pre, beta_post)`` (reference period
omitted, normalised to 0) and their covariance ``sigma``, the parameter of interest is
``theta = l' tau_post``.  Under Delta^SD(M) the bias ``delta`` of the event-study
coefficients has second differences bounded by M:
``|(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M`` with ``delta_0 = 0``.

The fixed-length confidence interval (Armstrong and Kolesar 2018; Rambachan and Roth
2023, section 4.1) uses an affine estimator ``theta_hat = v' beta_pre + l' beta_post``.
Its worst-case bias over Delta^SD(M) is finite only if ``v`` removes linear trends
(``sum_t t v_t = -sum_s s l_s``), and is then ``M * ||K' w||_1`` in closed form, where K
maps second differences to ``delta`` and ``w = (v, 0, l)``.  The interval is
``theta_hat +- sd * cv_alpha(bias / sd)``, with ``cv_alpha(b)`` the 1 - alpha quantile of
``|N(b, 1)|``, and ``v`` minimises its half-length (a convex problem in ``v``).

Status: this module reproduces the HonestDiD README's smoothness intervals on the ehec
example to about 2e-4 (see tests/test_honest.py), not yet to their printed precision, and
the relative-magnitudes bounds (Delta^RM, conditional/hybrid ARP confidence sets) are not
implemented yet.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def cv_alpha(bias: float, alpha: float = 0.05) -> float:
    """1 - alpha quantile of |N(bias, 1)|."""
    bias = abs(float(bias))
    f = lambda c: stats.norm.cdf(c - bias) - stats.norm.cdf(-c - bias) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, 0.0, bias + 10.0))


def _second_difference_basis(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    ts = np.arange(-n_pre, n_post + 1)
    n = len(ts)
    A = np.zeros((n - 2, n))
    for i in range(n - 2):
        A[i, i:i + 3] = [1.0, -2.0, 1.0]
    E = np.zeros((2, n))
    E[0, n_pre] = 1.0  # delta_0 = 0
    E[1, n_pre + 1] = 1.0  # delta_1 fixed: the linear-trend direction is removed separately
    B = np.linalg.inv(np.vstack([A, E]))
    return ts, B[:, :n - 2]


def flci_smoothness(beta: np.ndarray, sigma: np.ndarray, n_pre: int, n_post: int, M: float, *,
                    l_vec: np.ndarray | None = None, alpha: float = 0.05, starts: int = 2) -> dict:
    """FLCI for ``theta = l' tau_post`` under Delta^SD(M); returns lower, upper, estimate, v."""
    beta, sigma = np.asarray(beta, float), np.asarray(sigma, float)
    if len(beta) != n_pre + n_post or sigma.shape != (len(beta), len(beta)):
        raise ValueError("beta and sigma must have n_pre + n_post entries (the reference period omitted)")
    if n_pre < 2:
        raise ValueError("the smoothness restriction needs at least two pre-periods")
    l_vec = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, float)
    ts, K = _second_difference_basis(n_pre, n_post)
    t_pre, t_post = ts[:n_pre].astype(float), ts[n_pre + 1:].astype(float)
    c0 = -float(t_post @ l_vec)
    v0 = t_pre * c0 / (t_pre @ t_pre)
    null = np.linalg.svd(t_pre[None, :])[2][1:].T

    def parts(v):
        w = np.concatenate([v, [0.0], l_vec])
        return w, np.concatenate([v, l_vec])

    def half(z):
        w, wb = parts(v0 + null @ z)
        sd = float(np.sqrt(wb @ sigma @ wb))
        return sd * cv_alpha(M * np.abs(K.T @ w).sum() / sd, alpha)

    best = None
    rng = np.random.default_rng(0)
    for s in range(starts):
        z0 = np.zeros(n_pre - 1) if s == 0 else rng.normal(0, 1, n_pre - 1)
        res = optimize.minimize(half, z0, method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 6_000, "maxfev": 6_000})
        res = optimize.minimize(half, res.x, method="Powell", options={"xtol": 1e-12, "ftol": 1e-14})
        if best is None or res.fun < best.fun:
            best = res
    v = v0 + null @ best.x
    _, wb = parts(v)
    est = float(wb @ beta)
    return {"lower": est - best.fun, "upper": est + best.fun, "estimate": est, "half_length": float(best.fun),
            "v": v, "M": M}


def sensitivity_smoothness(beta, sigma, n_pre: int, n_post: int, Ms, **kw) -> list[dict]:
    """FLCIs over a grid of M (the sensitivity plot's data)."""
    return [flci_smoothness(beta, sigma, n_pre, n_post, float(M), **kw) for M in Ms]
