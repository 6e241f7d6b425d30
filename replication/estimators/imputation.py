"""Borusyak, Jaravel and Spiess (2024) imputation estimator: unit and period effects (and
controls) fitted on the untreated observations, the treated outcomes minus their imputed
``Y(0)``; the point estimate equals Gardner's two-stage DID (tested against the two-stage
regression on ``mpdta``).  Standard error and percentile interval by an entity-cluster
bootstrap."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.results import rng
from replication.estimators.staggered_results import ImputationResult


def _weighted_effects(Z: np.ndarray, codes_e, ne, codes_t, nt, w):
    """Unit and period effects of the columns of Z (weighted least squares on the two sets of
    dummies), and the residuals.

    Exact, not iterated: eliminating the unit effects ``a = (r_e - C b) / W_e`` from the
    normal equations leaves the period system ``(diag(W_t) - C' diag(1/W_e) C) b = r_t -
    C' (r_e / W_e)`` (``C``: the unit x period table of weights), nt x nt, solved by least
    squares (its one-dimensional null space is the usual normalisation of the two sets of
    effects; the fitted ``a_e + b_t`` do not depend on it)."""
    We = np.bincount(codes_e, weights=w, minlength=ne)
    Wt = np.bincount(codes_t, weights=w, minlength=nt)
    C = np.bincount(codes_e * nt + codes_t, weights=w, minlength=ne * nt).reshape(ne, nt)
    Zw = Z * w[:, None]
    re = within._indicator(codes_e, ne) @ Zw
    rt = within._indicator(codes_t, nt) @ Zw
    Ce = C / We[:, None]
    M = np.diag(Wt) - C.T @ Ce
    at = np.linalg.lstsq(M, rt - Ce.T @ re, rcond=None)[0]
    ae = re / We[:, None] - Ce @ at
    return ae, at, Z - ae[codes_e] - at[codes_t]


def _impute(Y: np.ndarray, X: np.ndarray, D: np.ndarray, ent: np.ndarray, tim: np.ndarray, w_ent: np.ndarray):
    """Mean treatment effect on the treated with unit weights (bootstrap) ``w_ent`` per row;
    also the effect of each imputed treated row and the treated rows without an imputation."""
    untreated = ~D
    keep = w_ent[untreated] > 0
    e_u, t_u = ent[untreated][keep], tim[untreated][keep]
    w = w_ent[untreated][keep]
    codes_e, ne = within.group_codes(e_u)
    codes_t, nt = within.group_codes(t_u)
    yu, Xu = Y[untreated][keep], X[untreated][keep]
    beta = np.zeros(X.shape[1])
    if X.shape[1]:
        _, _, R = _weighted_effects(np.column_stack([yu, Xu]), codes_e, ne, codes_t, nt, w)
        beta = np.linalg.lstsq(R[:, 1:] * np.sqrt(w)[:, None], R[:, 0] * np.sqrt(w), rcond=None)[0]
    ae, at, _ = _weighted_effects((yu - Xu @ beta)[:, None], codes_e, ne, codes_t, nt, w)
    ae, at = ae[:, 0], at[:, 0]
    emap = dict(zip(np.unique(e_u), range(ne)))
    tmap = dict(zip(np.unique(t_u), range(nt)))
    tr = D & (w_ent > 0)
    ei = np.array([emap.get(v, -1) for v in ent[tr]])
    ti = np.array([tmap.get(v, -1) for v in tim[tr]])
    ok = (ei >= 0) & (ti >= 0)
    y0 = ae[ei[ok]] + at[ti[ok]] + X[tr][ok] @ beta
    tau = Y[tr][ok] - y0
    return float(np.average(tau, weights=w_ent[tr][ok])), tau, np.flatnonzero(tr)[~ok]


def imputation(panel: pd.DataFrame, y: str, *, treat: str = "did", controls=(), entity: str = "city_code",
               time: str = "year", n_draws: int = 199, seed: int | np.random.Generator | None = 0) -> ImputationResult:
    """ATT by imputation, with an entity-cluster bootstrap SE and percentile CI
    (``n_draws`` draws; 0 for none).

    Works on unbalanced panels.  A treated row whose unit (or period) has no untreated row
    has no imputed Y(0) (e.g. a city that enters the panel already treated): it is left
    out of the average and reported in ``not_imputed`` (rows, entities); ``n_imputed_obs``
    is the number averaged, ``n_treated_obs`` all treated rows."""
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    Y = d[y].to_numpy(float)
    X = d[list(controls)].to_numpy(float) if controls else np.empty((len(d), 0))
    D = d[treat].to_numpy() == 1
    ent, tim = d[entity].to_numpy(), d[time].to_numpy()
    att, tau, lost = _impute(Y, X, D, ent, tim, np.ones(len(d)))
    gen = rng(seed)
    codes, G = within.group_codes(ent)
    draws = []
    for _ in range(n_draws):
        wc = np.bincount(gen.integers(0, G, G), minlength=G).astype(float)
        draws.append(_impute(Y, X, D, ent, tim, wc[codes])[0])
    draws = np.array(draws)
    se = float(draws.std(ddof=1)) if n_draws > 1 else np.nan
    return ImputationResult(pd.Series({"ATT": att}), pd.Series({"ATT": se}), len(d), draws, tau,
                            n_treated_obs=int(D.sum()), n_imputed_obs=len(tau),
                            not_imputed={"rows": len(lost), "entities": sorted(pd.unique(ent[lost]).tolist())})
