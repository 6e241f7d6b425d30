"""The truth of the simulated panel, computed from potential outcomes, never assumed.

The entropy index is fitted on the observed panel; both ``Y(1)`` and ``Y(0)`` indicators
are scored with that same fitted index, and the ATT is the mean difference over treated
post-adoption city-years (overall, by region, size, regime, cohort and exposure).  The
mediator paths ``a`` are planted; ``b`` is the average marginal effect of the mediator on
the fitted index, by finite difference through the same machinery.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from replication.data.dgp import DGP, as_column, rounded
from replication.data.index import entropy_index
from replication.data.schema import INDICATORS


def _indicators(Y: dict, printed: bool = True) -> np.ndarray:
    """The (rows, indicators) matrix of the potential outcome Y, columns in :data:`INDICATORS`'
    order (at the printed precision, or unrounded)."""
    return np.column_stack([rounded(name, Y[name]) if printed else as_column(Y[name]) for name in INDICATORS])


def compute_truth(df: pd.DataFrame, dgp: DGP, model, Y0: dict, untreated_mediators: tuple, pilots: dict,
                  regime: np.ndarray) -> tuple[dict, dict]:
    """(truth, potential) of a simulated panel.

    ``df`` is the complete observed panel (before cells are deleted), ``model(D, hc, st)``
    gives the indicators of a potential outcome, ``Y0`` those without the pilot, and
    ``untreated_mediators`` the mediators (hc, st) without it; ``pilots`` holds ``D``,
    ``expo`` and ``treated`` (see :func:`replication.data.simulate.simulate_panel`).
    The potential outcomes are scored as matrices (:meth:`EntropyIndex.score_matrix`).
    """
    hc0, st0 = untreated_mediators
    D = pilots["D"]
    idx = entropy_index(df, scale=dgp.index_scale)
    years = df[idx.time].to_numpy()

    def score(X: np.ndarray) -> np.ndarray:
        return idx.score_matrix(X, years)

    y_obs = idx.score(df).to_numpy()
    X0 = _indicators(Y0)
    X0[:, INDICATORS.index("industry_va_share")] = df["loi"].to_numpy(float)
    y0 = score(X0)
    te = y_obs - y0
    Dl = as_column(D) > 0
    z0 = score(_indicators(Y0, printed=False))

    def marginal(med: str) -> float:
        """Average marginal effect of a mediator on the index, by finite difference (unrounded
        on both sides: rounding would swamp a small step)."""
        eps = {"hc": 1e-4, "st": 0.1}[med]
        hc_, st_ = (hc0 + eps, st0) if med == "hc" else (hc0, st0 + eps)
        return float(np.mean(score(_indicators(model(np.zeros_like(D), hc_, st_), printed=False)) - z0) / eps)

    b_hc, b_st = marginal("hc"), marginal("st")
    # direct effect: treatment on the indicators with the mediators held at Y(0)
    direct = score(_indicators(model(D, hc0, st0))) - y0

    cells = df.loc[Dl, ["city_code", "year", "region", "large_city", "pilot_year"]].copy()
    cells["te"] = te[Dl]
    cells["exposure"] = as_column(pilots["expo"])[Dl].astype(int)
    cells["regime"] = as_column(regime)[Dl].astype(int)
    g1, g2 = dgp.thresholds
    truth = {
        "att": float(te[Dl].mean()),
        "att_direct": float(direct[Dl].mean()),
        "a_hc": dgp.a_hc, "b_hc": b_hc, "indirect_hc": dgp.a_hc * b_hc,
        "a_st": dgp.a_st, "b_st": b_st, "indirect_st": dgp.a_st * b_st,
        "threshold_1": g1, "threshold_2": g2,
        "n_treated_cities": int(pilots["treated"].sum()),
        "n_treated_cells": int(Dl.sum()),
        "dynamic_growth": dgp.dynamic_growth, "pretrend": dgp.pretrend,
        "selection_strength": dgp.selection_strength,
    }
    truth.update(_att_by_group(cells))
    truth["index_weights"] = idx.weights.to_dict()
    truth["dgp"] = asdict(dgp)
    truth["cell_effects"] = cells.reset_index(drop=True)
    return truth, {"y0_index": y0, "y_index": y_obs, "index": idx}


def _att_by_group(cells: pd.DataFrame) -> dict:
    """att_<group>_<value>: the mean effect over treated cells by region, size, regime, cohort, exposure."""
    out = {}
    for key, grp in (("region", "region"), ("size", "large_city"), ("regime", "regime"),
                     ("cohort", "pilot_year"), ("exposure", "exposure")):
        s = cells.groupby(grp)["te"].mean()
        for k, v in s.items():
            label = {0: "small_medium", 1: "large"}.get(k, k) if key == "size" else k
            out[f"att_{key}_{label}"] = float(v)
    return out
