"""Staggered adoption: event study, Goodman-Bacon, Callaway-Sant'Anna, Sun-Abraham, imputation.

One interface for all estimators: a panel with an entity id, a time variable, an outcome
and the first treatment year (``cohort``; missing or 0 = never treated).  Which code does
the work:

* :func:`event_study` - ours: TWFE with leads and lags of adoption (end points binned,
  reference period -1), joint Wald pre-trend test, on :func:`replication.estimators.did.twfe`.
* :func:`bacon` - ours (Goodman-Bacon 2021, Theorem 1): every 2x2 DID of timing groups
  and its weight; checked against the ``bacondecomp`` vignette on the castle data.
* :func:`callaway_santanna` - wraps the ``csdid`` package (which reproduces R's ``did``;
  tested on ``mpdta`` to 1e-6, analytic SEs) and recodes never-treated as 0, because
  ``csdid`` silently treats NaN cohorts as a treated group.
* :func:`sun_abraham` - ours: cohort x relative-time interactions with never-treated
  controls, aggregated with cohort shares (interaction-weighted; the shares are the
  observations per cohort x event-time cell, i.e. cohort sizes on a balanced panel); SEs
  by the delta method from the city-clustered covariance.
* :func:`imputation` - ours (Borusyak, Jaravel and Spiess 2024): unit and year effects
  (and controls) fitted on untreated observations, treated outcomes minus imputed
  ``Y(0)``; the point estimate equals Gardner's two-stage DID.  SEs by a city-cluster
  bootstrap.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
from scipy import stats

from replication.estimators import within
from replication.estimators.did import twfe


def _cohort(panel: pd.DataFrame, cohort: str) -> np.ndarray:
    g = panel[cohort].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where(g > 0, g, np.nan)


# ---------------------------------------------------------------------------------------
# event study

def event_study(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", leads: int = 4, lags: int = 8,
                controls=(), entity: str = "city_code", time: str = "year", convention: str = "stata") -> dict:
    """Leads and lags of adoption; the end points bin everything beyond them."""
    d = panel.copy()
    g = _cohort(d, cohort)
    e = d[time].to_numpy(float) - g
    e = np.clip(e, -leads, lags)
    names = []
    for k in range(-leads, lags + 1):
        if k == -1:
            continue
        col = f"e{k:+d}"
        d[col] = (e == k).astype(float)
        names.append(col)
    r = twfe(d, y, names, controls, entity=entity, time=time, cluster=entity, convention=convention)
    pre = [c for c in names if int(c[1:]) < -1]
    b = r.params[pre].to_numpy()
    V = r.cov.loc[pre, pre].to_numpy()
    W = float(b @ np.linalg.solve(V, b))
    F = W / len(pre)
    ci = r.conf_int()
    tab = pd.DataFrame({"event_time": [int(c[1:]) for c in names], "coef": r.params[names].to_numpy(),
                        "se": r.std_errors[names].to_numpy(), "ci_lower": ci.loc[names, "lower"].to_numpy(),
                        "ci_upper": ci.loc[names, "upper"].to_numpy()})
    tab = pd.concat([tab, pd.DataFrame([{"event_time": -1, "coef": 0.0, "se": 0.0, "ci_lower": 0.0,
                                         "ci_upper": 0.0}])]).sort_values("event_time").reset_index(drop=True)
    return {"table": tab, "result": r, "pretrend_F": F, "pretrend_df": (len(pre), r.df_resid),
            "pretrend_p": float(stats.f.sf(F, len(pre), r.df_resid)), "leads": leads, "lags": lags}


# ---------------------------------------------------------------------------------------
# Goodman-Bacon decomposition

def cohort_from_treatment(panel: pd.DataFrame, treat: str, entity: str, time: str) -> pd.Series:
    """First period with ``treat == 1`` per entity (NaN if never); the dummy must be absorbing."""
    d = panel.sort_values([entity, time])
    if not d.groupby(entity)[treat].apply(lambda s: s.is_monotonic_increasing).all():
        raise ValueError(f"{treat} switches off for some units: the staggered-adoption estimators need an "
                         "absorbing treatment")
    first = d[d[treat] > 0].groupby(entity)[time].min()
    return d[entity].map(first).reindex(d.index).loc[panel.index].astype("Float64")


def bacon(panel: pd.DataFrame, y: str, *, treat: str = "did", entity: str = "city_code",
          time: str = "year", balance: str = "drop_cities") -> tuple[pd.DataFrame, pd.DataFrame]:
    """All 2x2 DIDs and their weights for the TWFE regression of ``y`` on the absorbing dummy
    ``treat`` (balanced panel, no controls); and weights and weighted estimates by comparison
    type.  The weights sum to 1 and the weighted sum reproduces the TWFE coefficient.

    Theorem 1 holds for balanced panels only: an unbalanced panel is balanced explicitly by
    :func:`replication.estimators.within.balance_panel` with rule ``balance`` (``"drop_cities"``,
    ``"drop_years"`` or ``"error"``), and the decomposition is then that of the TWFE
    coefficient *on the balanced sample*.  Both returned tables carry
    ``attrs["balanced_sample"]`` (what was dropped; nothing on a balanced panel)."""
    panel = panel[[entity, time, y, treat]]
    try:
        panel, info = within.balance_panel(panel, entity, time, balance)
    except ValueError as err:
        raise ValueError(f"the Goodman-Bacon decomposition needs a balanced panel: {err}") from None
    panel = panel.copy()
    panel["_cohort"] = cohort_from_treatment(panel, treat, entity, time)
    cohort = "_cohort"
    d = panel.sort_values([entity, time])
    years = np.sort(d[time].unique())
    T = len(years)
    units = d[entity].unique()
    Y = d[y].to_numpy(float).reshape(len(units), T)
    gu = d.groupby(entity, sort=False)[cohort].first().reindex(units)
    g = gu.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    g = np.where(g > 0, g, np.nan)
    g = np.where(g <= years[0], years[0], g)  # treated from the first period on: "always treated"
    D = (~np.isnan(g))[:, None] & (years[None, :] >= np.nan_to_num(g, nan=np.inf)[:, None])
    Dt = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    VD = (Dt ** 2).mean()
    groups = sorted(set(g[~np.isnan(g)]))
    never = np.isnan(g)
    n_U = never.mean()

    def dbar(k):
        return float((years >= k).mean())

    def mean_y(mask, tmask):
        return Y[mask][:, tmask].mean()

    rows = []
    for k in groups:
        mk = g == k
        nk = mk.mean()
        Dk = dbar(k)
        pre_k, post_k = years < k, years >= k
        if n_U > 0 and 0 < Dk < 1:
            nkU = nk / (nk + n_U)
            s = (nk + n_U) ** 2 * nkU * (1 - nkU) * Dk * (1 - Dk) / VD
            b = (mean_y(mk, post_k) - mean_y(mk, pre_k)) - (mean_y(never, post_k) - mean_y(never, pre_k))
            rows.append({"type": "Treated vs Untreated", "treated": k, "control": "never", "estimate": b, "weight": s})
        for l_ in groups:
            if l_ <= k:
                continue
            ml = g == l_
            nl = ml.mean()
            Dl = dbar(l_)
            nkl = nk / (nk + nl)
            if Dl < 1 and Dk < 1:  # k treated, l not yet: window before l's adoption
                w = years < l_
                s = ((nk + nl) * (1 - Dl)) ** 2 * nkl * (1 - nkl) * ((Dk - Dl) / (1 - Dl)) * ((1 - Dk) / (1 - Dl)) / VD
                b = (mean_y(mk, w & post_k) - mean_y(mk, w & pre_k)) - (mean_y(ml, w & post_k) - mean_y(ml, w & pre_k))
                rows.append({"type": "Earlier vs Later Treated", "treated": k, "control": l_, "estimate": b, "weight": s})
            if Dk > 0:  # l adopts while k is already treated: window from k's adoption on
                w = years >= k
                pre_l, post_l = w & (years < l_), years >= l_
                s = ((nk + nl) * Dk) ** 2 * nkl * (1 - nkl) * (Dl / Dk) * ((Dk - Dl) / Dk) / VD
                b = (mean_y(ml, post_l) - mean_y(ml, pre_l)) - (mean_y(mk, post_l) - mean_y(mk, pre_l))
                kind = "Later vs Always Treated" if Dk == 1 else "Later vs Earlier Treated"
                rows.append({"type": kind, "treated": l_, "control": k, "estimate": b, "weight": s})
    two = pd.DataFrame(rows)
    agg = two.groupby("type").apply(lambda t: pd.Series({"weight": t["weight"].sum(),
                                                          "estimate": np.average(t["estimate"], weights=t["weight"])}),
                                    include_groups=False).reset_index()
    two.attrs["balanced_sample"] = info
    agg.attrs["balanced_sample"] = info
    return two, agg


# ---------------------------------------------------------------------------------------
# Callaway and Sant'Anna (2021), via csdid

def callaway_santanna(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", entity: str = "city_code",
                      time: str = "year", control_group: str = "nevertreated", est_method: str = "dr",
                      xformla: str | None = None, balance: str = "unbalanced") -> dict:
    """Group-time ATTs and the simple, dynamic, group and calendar aggregations (analytic SEs).

    Unbalanced panels: with ``balance="unbalanced"`` (default) every row is used, through
    ``csdid``'s ``allow_unbalanced_panel=True`` (as R ``did``: each ATT(g, t) from the
    rows observed in its two periods with the repeated-cross-section estimators, and
    influence functions clustered by entity); without it ``csdid`` would balance the
    panel silently (a warning).  ``"drop_cities"``, ``"drop_years"`` or ``"error"`` balance
    explicitly first (:func:`replication.estimators.within.balance_panel`).  ``result["sample"]`` says
    which: the balancing info plus ``estimator`` ("panel" or "unbalanced panel (RC)").
    On a balanced panel nothing changes."""
    from csdid.att_gt import ATTgt

    if balance not in ("unbalanced", *within.BALANCE_RULES):
        raise ValueError(f"balance must be 'unbalanced' or one of {within.BALANCE_RULES}, got {balance!r}")
    cols = [y, entity, time, cohort] + ([] if xformla is None else
                                         [c.strip() for c in xformla.split("~")[1].split("+")])
    d = panel[list(dict.fromkeys(cols))].copy()
    if balance == "unbalanced":
        ne, nt = d[entity].nunique(), d[time].nunique()
        unbalanced = len(d) != ne * nt
        info = {"rule": "unbalanced", "rows_before": len(d), "rows_after": len(d), "cities_before": ne,
                "cities_after": ne, "years_before": nt, "years_after": nt, "cities_dropped": [],
                "years_dropped": [], "missing_cells": ne * nt - len(d)}
    else:
        try:
            d, info = within.balance_panel(d, entity, time, balance)
        except ValueError as err:
            raise ValueError(f"Callaway-Sant'Anna with balance={balance!r}: {err}") from None
        d = d.copy()
        unbalanced = False
    info["estimator"] = "unbalanced panel (RC)" if unbalanced else "panel"
    d[cohort] = np.nan_to_num(_cohort(d, cohort), nan=0.0).astype(int)  # csdid: never treated = 0
    d[entity] = d[entity].astype(np.int64)
    d[time] = d[time].astype(np.int64)
    extra = {"allow_unbalanced_panel": True} if unbalanced else {}
    with contextlib.redirect_stdout(io.StringIO()):
        att = ATTgt(yname=y, gname=cohort, idname=entity, tname=time, data=d.reset_index(drop=True),
                    control_group=control_group, xformla=xformla, **extra).fit(est_method=est_method, bstrap=False)
        res = pd.DataFrame({"group": np.asarray(att.results["group"]), "time": np.asarray(att.results["year"]),
                            "att": np.asarray(att.results["att"]), "se": np.asarray(att.results["se"])})
        aggs = {}
        for typ in ("simple", "dynamic", "group", "calendar"):
            a = att.aggte(typec=typ, bstrap=False).atte
            aggs[typ] = {"overall_att": float(a["overall_att"]), "overall_se": float(a["overall_se"]),
                         "table": None if a.get("egt") is None else
                         pd.DataFrame({"e": np.asarray(a["egt"]), "att": np.asarray(a["att_egt"], dtype=float),
                                       "se": np.asarray(a["se_egt"], dtype=float)})}
    return {"attgt": res, "aggregations": aggs, "sample": info}


# ---------------------------------------------------------------------------------------
# Sun and Abraham (2021)

def sun_abraham(panel: pd.DataFrame, y: str, *, cohort: str = "pilot_year", entity: str = "city_code",
                time: str = "year", controls=(), convention: str = "stata") -> pd.DataFrame:
    """Interaction-weighted event study with never-treated controls (reference period -1)."""
    d = panel.copy()
    g = _cohort(d, cohort)
    t = d[time].to_numpy(float)
    cohorts = sorted(set(g[~np.isnan(g)]))
    names, meta = [], []
    for c in cohorts:
        for e in sorted(set((t - c)[g == c])):
            if e == -1:
                continue
            col = f"g{int(c)}_e{int(e):+d}"
            d[col] = ((g == c) & (t - c == e)).astype(float)
            names.append(col)
            meta.append((c, int(e)))
    r = twfe(d, y, names, controls, entity=entity, time=time, cluster=entity, convention=convention)
    # cohort shares of each event time: the observations in each cohort x event-time cell
    # (on a balanced panel, the cohort's number of units; on an unbalanced one, the units
    # of the cohort observed at that event time, as eventstudyinteract estimates them)
    cell_n = {col: float(d[col].sum()) for col in names}
    events = sorted({m[1] for m in meta})
    W = np.zeros((len(events), len(names)))  # event-time estimate = cohort-share-weighted cells
    for i, e in enumerate(events):
        at = [j for j, m in enumerate(meta) if m[1] == e]
        w = np.array([cell_n[names[j]] for j in at], float)
        W[i, at] = w / w.sum()
    coef = W @ r.params[names].to_numpy()
    cov = W @ r.cov.loc[names, names].to_numpy() @ W.T
    out = pd.DataFrame({"event_time": events, "coef": coef, "se": np.sqrt(np.diag(cov)),
                        "cohorts": (W > 0).sum(axis=1)})
    crit = stats.t.ppf(0.975, r.df_resid)
    out["ci_lower"], out["ci_upper"] = out["coef"] - crit * out["se"], out["coef"] + crit * out["se"]
    out.attrs["cov"] = pd.DataFrame(cov, index=events, columns=events)  # of the event-time estimates
    out.attrs["cohort_effects"] = pd.DataFrame({"cohort": [m[0] for m in meta], "event_time": [m[1] for m in meta],
                                                "coef": r.params[names].to_numpy(), "se": r.std_errors[names].to_numpy()})
    # overall ATT: the post-period cohort x event-time cells weighted by their treated
    # units (CS's "simple" aggregation), with its SE from the full covariance
    post = [n for n, m in zip(names, meta) if m[1] >= 0]
    w = np.array([cell_n[n] for n in post], float)
    w = w / w.sum()
    att, se = float(w @ r.params[post].to_numpy()), float(np.sqrt(w @ r.cov.loc[post, post].to_numpy() @ w))
    out.attrs["att"] = {"att": att, "se": se, "ci_lower": att - crit * se, "ci_upper": att + crit * se}
    return out


# ---------------------------------------------------------------------------------------
# Borusyak, Jaravel and Spiess (2024) imputation

def _impute(Y: np.ndarray, X: np.ndarray, D: np.ndarray, ent: np.ndarray, tim: np.ndarray, w_ent: np.ndarray):
    """Mean treatment effect on the treated with unit weights (bootstrap) w_ent per row."""
    untreated = ~D
    wu = w_ent[untreated]
    keep = wu > 0
    e_u, t_u = ent[untreated][keep], tim[untreated][keep]
    w = wu[keep]
    # weighted two-way FE (+ controls) on untreated rows by alternating projections
    codes_e, ne = within.group_codes(e_u)
    codes_t, nt = within.group_codes(t_u)

    def wmean(A, codes, n):
        num = within._indicator(codes, n) @ (A * w[:, None])
        den = np.bincount(codes, weights=w, minlength=n)
        return num / den[:, None]

    def effects(Z):
        """Unit and year effects of the columns of Z (weighted), and the residuals."""
        R = Z.copy()
        ae, at = np.zeros((ne, Z.shape[1])), np.zeros((nt, Z.shape[1]))
        for _ in range(500):
            ae_new = wmean(R + ae[codes_e], codes_e, ne)
            R = R + ae[codes_e] - ae_new[codes_e]
            at_new = wmean(R + at[codes_t], codes_t, nt)
            R = R + at[codes_t] - at_new[codes_t]
            delta = max(np.abs(ae_new - ae).max(), np.abs(at_new - at).max())
            ae, at = ae_new, at_new
            if delta < 1e-12:
                break
        return ae, at, R

    yu, Xu = Y[untreated][keep], X[untreated][keep]
    beta = np.zeros(X.shape[1])
    if X.shape[1]:
        _, _, R = effects(np.column_stack([yu, Xu]))
        beta = np.linalg.lstsq(R[:, 1:] * np.sqrt(w)[:, None], R[:, 0] * np.sqrt(w), rcond=None)[0]
    ae, at, _ = effects((yu - Xu @ beta)[:, None])
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
               time: str = "year", n_boot: int = 199, seed: int | np.random.Generator | None = 0) -> dict:
    """ATT by imputation, with a city-cluster bootstrap SE and percentile CI.

    Works on unbalanced panels.  A treated row whose unit (or year) has no untreated row
    has no imputed Y(0) (e.g. a city that enters the panel already treated): it is left
    out of the average and reported in ``not_imputed`` (rows, entities); ``n_imputed_obs``
    is the number averaged, ``n_treated_obs`` all treated rows."""
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    Y = d[y].to_numpy(float)
    X = d[list(controls)].to_numpy(float) if controls else np.empty((len(d), 0))
    D = d[treat].to_numpy() == 1
    ent, tim = d[entity].to_numpy(), d[time].to_numpy()
    att, tau, lost = _impute(Y, X, D, ent, tim, np.ones(len(d)))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    codes, G = within.group_codes(ent)
    boots = []
    for _ in range(n_boot):
        wc = np.bincount(rng.integers(0, G, G), minlength=G).astype(float)
        boots.append(_impute(Y, X, D, ent, tim, wc[codes])[0])
    boots = np.array(boots)
    se = float(boots.std(ddof=1)) if n_boot > 1 else np.nan
    lo, hi = (np.quantile(boots, [0.025, 0.975]) if n_boot > 1 else (np.nan, np.nan))
    return {"att": att, "se": se, "ci_lower": float(lo), "ci_upper": float(hi), "n_treated_obs": int(D.sum()),
            "tau": tau, "boot": boots, "n_imputed_obs": len(tau),
            "not_imputed": {"rows": len(lost), "entities": sorted(pd.unique(ent[lost]).tolist())}}
