"""Robustness checks of the baseline DID (Table 3 and beyond the paper).

Table 3's four columns: (1) without the four municipalities; (2) with the Broadband
China dummy; (3a) "PSM": the DID on the common-support sample; (3b) "PSM-DID": the DID
on the matched sample (treated city-years and the control city-years used as matches,
each counted once).  Beyond the paper: SEs clustered by province, wild cluster
bootstrap p-values (Roodman et al. 2019, via the ``wildboottest`` package), dropping
each pilot batch in turn, and the alternative indices of the index chapter.

Everything here works on unbalanced panels: the regressions are :func:`replication.estimators.did.twfe`
(exact within transformation for any layout) and the PSM-DID sample is unbalanced anyway.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import psm as psm_mod
from replication.data.facts import MUNICIPALITIES
from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, twfe


def table3(panel: pd.DataFrame, y: str = "nqp", *, convention: str = "stata", match: psm_mod.MatchResult | None = None,
           **psm_options) -> tuple[dict[str, TWFEResult], psm_mod.MatchResult]:
    """The four columns of Table 3 and the matching behind (3a)/(3b)."""
    out = {}
    out["(1)"] = twfe(panel[~panel["city_code"].isin(MUNICIPALITIES)], y, convention=convention)
    out["(2)"] = twfe(panel, y, ["did", "broadband"], convention=convention)
    m = match or psm_mod.psm(panel, **psm_options)
    sup = m.data[m.data["_support"] == 1]
    out["(3a)"] = twfe(sup, y, convention=convention)
    matched = m.data[m.data["_weight"].notna()]
    out["(3b)"] = twfe(matched, y, convention=convention)
    return out, m


def wild_cluster_pvalue(panel: pd.DataFrame, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
                        cluster: str = "city_code", B: int = 999, seed: int = 0,
                        weights_type: str = "rademacher", entity: str = "city_code", time: str = "year") -> float:
    """Wild cluster restricted bootstrap (WCR11) p-value of ``treat`` in the two-way FE model.

    The model is written as a dummy-variable OLS (city and year dummies) so that the
    bootstrap DGP imposes the null on exactly the model estimated (balanced or not).
    """
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    d = panel.sort_values([entity, time]).reset_index(drop=True)
    X = pd.concat([d[[treat, *controls]].astype(float),
                   pd.get_dummies(d[entity], prefix="c", drop_first=True, dtype=float),
                   pd.get_dummies(d[time], prefix="y", drop_first=True, dtype=float)], axis=1)
    X = sm.add_constant(X)
    model = sm.OLS(d[y].to_numpy(float), X)
    np.random.seed(seed)  # wildboottest draws from numpy's legacy global state when seed is None
    res = wildboottest(model, B=B, cluster=d[cluster].to_numpy(), param=treat, weights_type=weights_type,
                       seed=seed, show=False, parallel=False)
    return float(res["p-value"].iloc[0])


def drop_each_batch(panel: pd.DataFrame, y: str = "nqp", convention: str = "stata", *,
                    pilot: str = "pilot_year") -> dict[str, TWFEResult]:
    """Column-(5) DID without the cities of one pilot batch at a time."""
    py = panel[pilot].astype("Float64")
    out = {}
    for b in sorted(py.dropna().unique()):
        keep = ~(py == b).fillna(False).to_numpy()
        out[f"without batch {int(b)}"] = twfe(panel[keep], y, convention=convention)
    return out


def specification_rows(results: dict[str, TWFEResult], term: str = "did", truth: float | None = None) -> pd.DataFrame:
    """One row per specification: estimate, 95 % CI, N, and the truth when known."""
    rows = []
    for label, r in results.items():
        ci = r.conf_int().loc[term]
        rows.append({"label": label, "coef": r[term], "se": r.std_errors[term], "t": r.tstats[term], "p": r.pvalues[term],
                     "ci_lower": ci["lower"], "ci_upper": ci["upper"], "N": r.nobs,
                     "cluster": r.spec.get("cluster"), "truth": truth})
    return pd.DataFrame(rows)
