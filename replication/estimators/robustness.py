"""Robustness checks of a TWFE DID, for any panel: the wild cluster bootstrap and dropping
each adoption batch in turn.

* :func:`wild_cluster_pvalue` - the wild cluster restricted bootstrap (WCR11, Roodman et al.
  2019) of one coefficient, via the ``wildboottest`` package, as a
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
    bootstrap).  ``seed`` goes through :func:`replication.estimators.results.rng`.  With
    Rademacher weights and ``2^G < n_draws`` ``wildboottest`` enumerates all ``2^G`` sign
    vectors; ``n_draws`` of the result says how many draws were used.
    """
    import statsmodels.api as sm
    from wildboottest.wildboottest import WildboottestCL, WildboottestHC

    cluster = resolve_cluster(cluster, entity)
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    X = pd.concat([d[[treat, *controls]].astype(float),
                   pd.get_dummies(d[entity], prefix="c", drop_first=True, dtype=float),
                   pd.get_dummies(d[time], prefix="y", drop_first=True, dtype=float)], axis=1)
    X = sm.add_constant(X)
    R = np.zeros(X.shape[1])
    R[list(X.columns).index(treat)] = 1.0
    Xv, yv = X.to_numpy(float), d[y].to_numpy(float)
    gen = make_rng(seed)
    # the steps of wildboottest.wildboottest() for one parameter, keeping the bootstrap draws
    if cluster is None:
        boot = WildboottestHC(X=Xv, Y=yv, R=R, r=0, B=n_draws, seed=gen)
        boot.get_adjustments(bootstrap_type="11")
        boot.get_uhat(impose_null=True)
        boot.get_tboot(weights_type=weights_type)
        boot.get_tstat()
    else:
        boot = WildboottestCL(X=Xv, Y=yv, cluster=d[cluster].to_numpy(), R=R, B=n_draws, seed=gen, parallel=False)
        boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
        boot.get_weights(weights_type=weights_type)
        boot.get_numer()
        boot.get_denom()
        boot.get_tboot()
        boot.get_vcov()
        boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    t_boot = np.ravel(np.asarray(boot.t_boot, float))
    return TestResult(statistic=float(np.ravel(boot.t_stat)[0]), pvalue=float(np.ravel(boot.pvalue)[0]),
                      name=f"wild {'cluster ' if cluster else ''}restricted bootstrap (WCR11) of {treat}",
                      n_draws=int(len(t_boot)), null_distribution=t_boot,
                      info={"weights": weights_type, "cluster": cluster, "term": treat})


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
