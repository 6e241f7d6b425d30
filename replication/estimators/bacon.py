"""Goodman-Bacon (2021, Theorem 1) decomposition of the TWFE coefficient of an absorbing
treatment dummy on a balanced panel without controls: every 2x2 DID of timing groups and
its weight.  The weights sum to 1 and the weighted sum reproduces the TWFE coefficient;
checked against the ``bacondecomp`` vignette on the castle data (tests/test_staggered.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.staggered_results import BaconDecomposition


def cohort_from_treatment(panel: pd.DataFrame, treat: str, entity: str, time: str) -> pd.Series:
    """First period with ``treat == 1`` per entity (NaN if never); the dummy must be absorbing."""
    d = panel.sort_values([entity, time])
    if not d.groupby(entity)[treat].apply(lambda s: s.is_monotonic_increasing).all():
        raise ValueError(f"{treat} switches off for some units: the staggered-adoption estimators need an "
                         "absorbing treatment")
    first = d[d[treat] > 0].groupby(entity)[time].min()
    return d[entity].map(first).reindex(d.index).loc[panel.index].astype("Float64")


def _comparisons(Y: np.ndarray, g: np.ndarray, years: np.ndarray) -> list[dict]:
    """Every 2x2 DID and its weight (Goodman-Bacon 2021, Theorem 1), from the outcome matrix
    (units x periods) and the adoption period of each unit (NaN: never)."""
    D = (~np.isnan(g))[:, None] & (years[None, :] >= np.nan_to_num(g, nan=np.inf)[:, None])
    Dt = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    VD = (Dt ** 2).mean()
    groups = sorted(set(g[~np.isnan(g)]))
    never = np.isnan(g)
    n_U = never.mean()

    def dbar(k):
        return float((years >= k).mean())

    def did(m_tr, m_ctl, w_pre, w_post):
        return ((Y[m_tr][:, w_post].mean() - Y[m_tr][:, w_pre].mean())
                - (Y[m_ctl][:, w_post].mean() - Y[m_ctl][:, w_pre].mean()))

    rows = []
    for k in groups:
        mk, nk, Dk = g == k, (g == k).mean(), dbar(k)
        pre_k, post_k = years < k, years >= k
        if n_U > 0 and 0 < Dk < 1:
            nkU = nk / (nk + n_U)
            s = (nk + n_U) ** 2 * nkU * (1 - nkU) * Dk * (1 - Dk) / VD
            rows.append({"type": "Treated vs Untreated", "treated": k, "control": "never",
                         "estimate": did(mk, never, pre_k, post_k), "weight": s})
        for l_ in (x for x in groups if x > k):
            ml, nl, Dl = g == l_, (g == l_).mean(), dbar(l_)
            nkl = nk / (nk + nl)
            if Dl < 1 and Dk < 1:  # k treated, l not yet: window before l's adoption
                w = years < l_
                s = ((nk + nl) * (1 - Dl)) ** 2 * nkl * (1 - nkl) * ((Dk - Dl) / (1 - Dl)) * ((1 - Dk) / (1 - Dl)) / VD
                rows.append({"type": "Earlier vs Later Treated", "treated": k, "control": l_,
                             "estimate": did(mk, ml, w & pre_k, w & post_k), "weight": s})
            if Dk > 0:  # l adopts while k is already treated: window from k's adoption on
                w = years >= k
                s = ((nk + nl) * Dk) ** 2 * nkl * (1 - nkl) * (Dl / Dk) * ((Dk - Dl) / Dk) / VD
                rows.append({"type": "Later vs Always Treated" if Dk == 1 else "Later vs Earlier Treated",
                             "treated": l_, "control": k, "estimate": did(ml, mk, w & (years < l_), years >= l_),
                             "weight": s})
    return rows


def bacon(panel: pd.DataFrame, y: str, *, treat: str = "did", entity: str = "city_code",
          time: str = "year", balance: str = "drop_cities") -> BaconDecomposition:
    """All 2x2 DIDs and their weights for the TWFE regression of ``y`` on the absorbing dummy
    ``treat`` (balanced panel, no controls), and weights and weighted estimates by
    comparison type (:class:`~replication.estimators.staggered_results.BaconDecomposition`).

    Theorem 1 holds for balanced panels only: an unbalanced panel is balanced explicitly by
    :func:`replication.estimators.within.balance_panel` with rule ``balance`` (``"drop_cities"``,
    ``"drop_years"`` or ``"error"``), and the decomposition is then that of the TWFE
    coefficient *on the balanced sample*; ``result.balanced_sample`` says what was dropped
    (nothing on a balanced panel)."""
    panel = panel[[entity, time, y, treat]]
    try:
        panel, info = within.balance_panel(panel, entity, time, balance)
    except ValueError as err:
        raise ValueError(f"the Goodman-Bacon decomposition needs a balanced panel: {err}") from None
    panel = panel.assign(_cohort=cohort_from_treatment(panel, treat, entity, time))
    d = panel.sort_values([entity, time])
    years = np.sort(d[time].unique())
    units = d[entity].unique()
    Y = d[y].to_numpy(float).reshape(len(units), len(years))
    g = d.groupby(entity, sort=False)["_cohort"].first().reindex(units).to_numpy(dtype=float, na_value=np.nan)
    g = np.where(g > 0, g, np.nan)
    g = np.where(g <= years[0], years[0], g)  # treated from the first period on: "always treated"
    two = pd.DataFrame(_comparisons(Y, g, years))
    agg = two.groupby("type").apply(lambda t: pd.Series({"weight": t["weight"].sum(),
                                                          "estimate": np.average(t["estimate"], weights=t["weight"])}),
                                    include_groups=False)
    return BaconDecomposition(agg["estimate"].rename_axis(None), pd.Series(np.nan, index=agg.index.rename(None)),
                              len(d), agg["weight"].rename_axis(None), two, info)
