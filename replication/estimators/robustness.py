"""Robustness checks of a TWFE DID, for any panel: the wild cluster bootstrap and dropping
each adoption batch in turn.

* :func:`wild_cluster_pvalue` - the wild cluster restricted bootstrap (WCR11, Roodman et al.
  2019) of one coefficient, as the ``wildboottest`` package computes it (in matrix form), as a
  :class:`~replication.estimators.results.TestResult` (``statistic``: the t statistic of
  ``wildboottest``; ``pvalue``: the bootstrap p-value; ``n_draws``; ``null_distribution``:
  the bootstrap t statistics).
* :func:`drop_each_batch` - the DID without the entities of one adoption batch at a time.

Which samples the paper's Table 3 uses (the four municipalities, the Broadband China dummy,
the PSM samples) is specified in :mod:`replication.report.specs`, not here.  Everything here
works on unbalanced panels: the regressions are :func:`replication.estimators.did.twfe`
(exact within transformation for any layout).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, twfe
from replication.estimators.results import ENTITY, TestResult, resolve_cluster
from replication.estimators.results import rng as make_rng


def wild_cluster_pvalue(panel: pd.DataFrame, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
                        cluster=ENTITY, n_draws: int = 999, seed: int | np.random.Generator | None = 0,
                        weights_type: str = "rademacher", entity: str = "city_code",
                        time: str = "year") -> TestResult:
    """Wild cluster restricted bootstrap (WCR11) test of ``treat = 0`` in the two-way FE model.

    The model is written as a dummy-variable OLS (entity and time dummies) so that the
    bootstrap DGP imposes the null on exactly the model estimated (balanced or not).  SEs are
    clustered by ``cluster`` (default: the ``entity`` column; None: the heteroskedastic wild
    bootstrap of ``wildboottest``).  ``seed`` goes through
    :func:`replication.estimators.results.rng`.  The clustered bootstrap is
    :func:`wcr11_cluster`: the algorithm of ``wildboottest.WildboottestCL`` (same weight draws
    from the same generator, same small-sample factor) in matrix form, equal to it to
    rounding (tested) and ~50 times faster.  With Rademacher weights and ``2^G < n_draws``
    all ``2^G`` sign vectors are enumerated; ``n_draws`` of the result says how many draws were used.
    """
    import statsmodels.api as sm

    cluster = resolve_cluster(cluster, entity)
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    X = pd.concat([d[[treat, *controls]].astype(float),
                   pd.get_dummies(d[entity], prefix="c", drop_first=True, dtype=float),
                   pd.get_dummies(d[time], prefix="y", drop_first=True, dtype=float)], axis=1)
    X = sm.add_constant(X)
    j = list(X.columns).index(treat)
    Xv, yv = X.to_numpy(float), d[y].to_numpy(float)
    gen = make_rng(seed)
    if cluster is None:
        t_stat, t_boot = _wild_hc(Xv, yv, j, n_draws, gen, weights_type)
    else:
        t_stat, t_boot = wcr11_cluster(Xv, yv, d[cluster].to_numpy(), j, n_draws, gen, weights_type)
    return TestResult(statistic=t_stat, pvalue=float(np.mean(np.abs(t_stat) < np.abs(t_boot))),
                      name=f"wild {'cluster ' if cluster else ''}restricted bootstrap (WCR11) of {treat}",
                      n_draws=int(len(t_boot)), null_distribution=t_boot,
                      info={"weights": weights_type, "cluster": cluster, "term": treat})


_WEIGHTS = {  # the draws of wildboottest.weights, from the same generator in the same order
    "rademacher": lambda n, g: g.choice([-1, 1], size=n, replace=True),
    "mammen": lambda n, g: g.choice(np.array([-1, 1]) * (np.sqrt(5) + np.array([-1, 1])) / 2, size=n, replace=True,
                                    p=(np.sqrt(5) + np.array([1, -1])) / (2 * np.sqrt(5))),
    "norm": lambda n, g: g.normal(size=n),
    "webb": lambda n, g: g.choice(np.concatenate([-np.sqrt(np.array([3, 2, 1]) / 2),
                                                  np.sqrt(np.array([1, 2, 3]) / 2)]), replace=True, size=n),
}


def wcr11_cluster(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, j: int, n_draws: int,
                  gen: np.random.Generator, weights_type: str = "rademacher") -> tuple[float, np.ndarray]:
    """(t statistic, bootstrap t statistics) of the WCR11 test of coefficient ``j`` = 0.

    Roodman et al. (2019)'s restricted wild cluster bootstrap as ``wildboottest`` computes it
    (CRV1 with the factor (N-1)/(N-k) * G/(G-1)), with the cluster sums as matrix products:
    with ``r = e_j' (X'X)^-1``, restricted scores ``S = X'(u~ by cluster)`` (k x G) and
    ``Z = (X'X)^-1 S``, the bootstrap numerator is ``C v`` with ``C = r S`` and the squared
    denominator ``ssc * sum_g (C_g v_g - (H v)_g)^2`` with ``H_gh = sum_(i in g) (x_i r')(x_i' Z_h)``.
    """
    if weights_type not in _WEIGHTS:
        raise ValueError(f"weights_type must be one of {sorted(_WEIGHTS)}, got {weights_type!r}")
    ids, g_of = np.unique(cluster, return_inverse=True)
    N, k = X.shape
    G = len(ids)
    onehot = np.zeros((N, G))
    onehot[np.arange(N), g_of] = 1.0
    XXinv = np.linalg.inv(X.T @ X)
    beta = XXinv @ (X.T @ y)
    r = XXinv[j]
    beta_r = beta - XXinv[:, j] * (beta[j] / XXinv[j, j])  # the null imposed
    S = X.T @ (onehot * (y - X @ beta_r)[:, None])
    C = r @ S
    H = onehot.T @ ((X @ r)[:, None] * (X @ (XXinv @ S)))
    if weights_type == "rademacher" and 2 ** G < n_draws:  # every sign vector once
        v = np.array(list(itertools.product([-1, 1], repeat=G)), dtype=float).T
    else:
        v = _WEIGHTS[weights_type](G * n_draws, gen).reshape(G, n_draws).astype(float)
    ssc = (N - 1) / (N - k) * G / (G - 1)
    denom = ssc * np.sum((C[:, None] * v - H @ v) ** 2, axis=0)
    t_boot = (C @ v) / np.sqrt(denom)
    se = np.sqrt(ssc * np.sum((r @ (X.T @ (onehot * (y - X @ beta)[:, None]))) ** 2))
    return float(beta[j] / se), t_boot


def _wild_hc(X: np.ndarray, y: np.ndarray, j: int, n_draws: int, gen: np.random.Generator,
             weights_type: str) -> tuple[float, np.ndarray]:
    """The heteroskedastic wild restricted bootstrap of ``wildboottest`` (no clusters)."""
    from wildboottest.wildboottest import WildboottestHC

    R = np.zeros(X.shape[1])
    R[j] = 1.0
    boot = WildboottestHC(X=X, Y=y, R=R, r=0, B=n_draws, seed=gen)
    boot.get_adjustments(bootstrap_type="11")
    boot.get_uhat(impose_null=True)
    boot.get_tboot(weights_type=weights_type)
    boot.get_tstat()
    return float(np.ravel(boot.t_stat)[0]), np.ravel(np.asarray(boot.t_boot, float))


def drop_each_batch(panel: pd.DataFrame, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
                    pilot: str = "pilot_year", entity: str = "city_code", time: str = "year",
                    cluster=ENTITY, convention: str = "stata") -> dict[str, TWFEResult]:
    """The TWFE DID without the entities of one adoption batch (one value of ``pilot``, the
    first treated period) at a time; keys ``"without batch <value>"``."""
    py = panel[pilot].astype("Float64")
    out = {}
    for b in sorted(py.dropna().unique()):
        keep = ~(py == b).fillna(False).to_numpy()
        out[f"without batch {int(b)}"] = twfe(panel[keep], y, treat, controls, entity=entity, time=time,
                                              cluster=cluster, convention=convention)
    return out
