"""Propensity-score matching with the conventions of Stata's ``psmatch2`` and ``pstest``.

* :func:`propensity` - logit (or probit) of the treatment indicator on covariates,
  pooled over all city-years or year by year.
* :func:`match` - 1:1 nearest-neighbour matching on the score, with replacement by
  default or without replacement (greedy, treated units taken in a seeded random
  order), an optional caliper and the ``common`` support rule (treated units whose
  score lies outside the range of the controls' scores are dropped).  Ties are broken
  deterministically: the control that comes first in the data wins.  Returns the
  ``psmatch2`` variables: ``_support``, ``_weight`` (1 for a matched treated unit, the
  number of times used for a control), ``_id`` of the match and ``_pdif``.
* :func:`balance` - the ``pstest`` table: means of treated and controls, standardised
  % bias ``100 (m_T - m_C) / sqrt((s2_T + s2_C) / 2)`` with the *unmatched* variances
  in the denominator both before and after matching, the % reduction in |bias|, the
  t-test of equal means (weighted regression after matching), and Rubin's B and R of
  the linear index of the propensity score.
* :func:`psm` - all three; its :class:`MatchResult` exposes the fitted propensity model in
  the result protocol (``result.model``: ``params``, ``std_errors``, ``pvalues``,
  ``conf_int()``, ``tidy()``, ``summary()``; one set of coefficients per year when matching
  year by year) beside the matched data and the balance tables.

Seeds (the random order of treated units when matching without replacement) go through
:func:`replication.estimators.results.rng`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.estimators.results import Estimates
from replication.estimators.results import rng as make_rng
from replication.estimators import distributions as dist


@dataclass
class PropensityModel(Estimates):
    """The fitted propensity-score model (logit or probit ML, z inference).  Year by year,
    the terms are labelled ``"<year>:<term>"``."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    cov: pd.DataFrame | None = field(default=None, repr=False)
    link: str = "logit"
    title = "Propensity score model"

    def _header(self):
        return [("Link", self.link), *super()._header()]


def propensity(panel: pd.DataFrame, treat: str = "treat", covariates=CONTROLS, *, link: str = "logit",
               by_year: bool = False, time: str = "year") -> pd.DataFrame:
    """Propensity score and its linear index for every row (``pscore``, ``xb``)."""
    return _propensity(panel, treat, covariates, link=link, by_year=by_year, time=time)[0]


def _propensity(panel, treat, covariates, *, link, by_year, time) -> tuple[pd.DataFrame, PropensityModel]:
    """The scores and the fitted model(s) as one :class:`PropensityModel`."""
    from statsmodels.discrete.discrete_model import Logit, Probit  # imported when used: 0.5 s per chapter otherwise
    from statsmodels.tools import add_constant

    if link not in ("logit", "probit"):
        raise ValueError("link must be 'logit' or 'probit'")
    groups = [(None, panel)] if not by_year else list(panel.groupby(time))
    out, models = [], []
    names = ["_cons", *map(str, covariates)]
    for key, sub in groups:
        yv = sub[treat].to_numpy(float)
        if yv.min() == yv.max():
            raise ValueError(f"no variation in {treat}{'' if key is None else f' in {key}'}: cannot fit a "
                             "propensity score")
        X = add_constant(sub[list(covariates)].to_numpy(float), has_constant="add")
        model = (Logit if link == "logit" else Probit)(yv, X)
        try:
            fit = model.fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError:
            raise ValueError("the propensity model is singular (collinear covariates?)") from None
        xb = X @ fit.params
        ps = fit.predict(X)
        out.append(pd.DataFrame({"pscore": ps, "xb": xb}, index=sub.index))
        lab = names if key is None else [f"{key}:{n}" for n in names]
        models.append((pd.Series(fit.params, index=lab), pd.DataFrame(fit.cov_params(), index=lab, columns=lab),
                       len(yv)))
    params = pd.concat([m[0] for m in models])
    cov = pd.DataFrame(np.zeros((len(params), len(params))), index=params.index, columns=params.index)
    for _, c, _ in models:  # separate fits year by year: block-diagonal
        cov.loc[c.index, c.columns] = c.to_numpy()
    model = PropensityModel(params, pd.Series(np.sqrt(np.diag(cov.to_numpy())), index=params.index),
                            sum(m[2] for m in models), cov, link)
    return pd.concat(out).loc[panel.index], model


def _nearest_with_replacement(ps_t: np.ndarray, ps_c: np.ndarray) -> np.ndarray:
    """Index (into ps_c) of the nearest control for each treated score; ties -> lowest index."""
    order = np.lexsort((np.arange(len(ps_c)), ps_c))  # by score, then by position
    s = ps_c[order]
    right = np.searchsorted(s, ps_t, side="right")  # first control with score > ps_t
    left = right - 1
    # the first occurrence (lowest position) of the left neighbour's score
    left_first = np.searchsorted(s, s[np.clip(left, 0, None)], side="left")
    has_l, has_r = left >= 0, right < len(s)
    dl = np.where(has_l, np.abs(ps_t - s[np.clip(left, 0, None)]), np.inf)
    dr = np.where(has_r, np.abs(s[np.clip(right, None, len(s) - 1)] - ps_t), np.inf)
    cand_l = order[np.clip(left_first, 0, len(s) - 1)]
    cand_r = order[np.clip(right, None, len(s) - 1)]
    pick = np.where(dl < dr, cand_l, np.where(dr < dl, cand_r, np.minimum(cand_l, cand_r)))
    return pick


def match(ps: np.ndarray, treated: np.ndarray, *, replacement: bool = True, caliper: float | None = None,
          common_support: bool = True, seed: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """1:1 nearest-neighbour matching on the score (psmatch2 conventions, see module doc).

    ``ps``: scores; ``treated``: boolean mask; ``seed`` (through
    :func:`replication.estimators.results.rng`) orders the treated units when matching
    without replacement.  Returns one row per unit with ``_treated, _support, _weight, _id,
    _pdif`` (``_id`` = position of the match).
    """
    ps = np.asarray(ps, float)
    treated = np.asarray(treated, bool)
    n = len(ps)
    t_idx, c_idx = np.flatnonzero(treated), np.flatnonzero(~treated)
    if len(t_idx) == 0 or len(c_idx) == 0:
        raise ValueError("matching needs treated and control units")
    support = np.ones(n, bool)
    if common_support:
        lo, hi = ps[c_idx].min(), ps[c_idx].max()
        support[t_idx] = (ps[t_idx] >= lo) & (ps[t_idx] <= hi)
    use_t = t_idx[support[t_idx]]
    if len(use_t) == 0:
        raise ValueError("no treated unit is on the common support of the controls' scores: no matching "
                         "possible (check the propensity model or drop common_support)")
    match_id = np.full(n, -1)
    if replacement:
        m = c_idx[_nearest_with_replacement(ps[use_t], ps[c_idx])]
        match_id[use_t] = m
    else:
        rng = make_rng(seed)
        free = np.ones(len(c_idx), bool)
        for t in use_t[rng.permutation(len(use_t))]:
            if not free.any():
                break
            d = np.where(free, np.abs(ps[c_idx] - ps[t]), np.inf)
            j = int(np.argmin(d))  # first minimum = lowest position among ties
            match_id[t] = c_idx[j]
            free[j] = False
    pdif = np.where(match_id >= 0, np.abs(ps - ps[np.clip(match_id, 0, None)]), np.nan)
    if caliper is not None:
        far = (match_id >= 0) & (pdif > caliper)
        match_id[far] = -1
        pdif[far] = np.nan
    weight = np.full(n, np.nan)
    matched_t = match_id >= 0
    weight[matched_t] = 1.0
    used, counts = np.unique(match_id[matched_t], return_counts=True)
    weight[used] = counts
    return pd.DataFrame({"_treated": treated.astype(int), "_support": support.astype(int), "_weight": weight,
                         "_id": match_id, "_pdif": pdif})


@dataclass
class MatchResult:
    """The matching: ``data`` (the panel rows with ``pscore``, ``xb`` and the psmatch2
    variables), ``balance`` (the pstest table), ``rubin`` (Rubin's B and R), ``model`` (the
    propensity model, a :class:`PropensityModel` in the result protocol) and ``spec``."""

    data: pd.DataFrame
    balance: pd.DataFrame
    rubin: pd.DataFrame
    spec: dict
    model: PropensityModel | None = field(default=None, repr=False)

    @property
    def nobs(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        d = self.data
        tr = d[self.spec["treat"]] == 1
        matched = d["_weight"].notna()
        rub = self.rubin.set_index("sample")
        b, r = rub["Rubin's B"], rub["Rubin's R"]
        lines = [f"Propensity score matching ({self.spec['link']}, "
                 f"{'with' if self.spec['replacement'] else 'without'} replacement"
                 f"{', by ' + str(self.spec['time']) if self.spec['by_year'] else ''})",
                 f"  treated rows {int(tr.sum()):,}, on support {int((tr & (d['_support'] == 1)).sum()):,}, "
                 f"matched {int((tr & matched).sum()):,}; controls used {int((~tr & matched).sum()):,}",
                 f"  Rubin's B {b['unmatched']:.1f} -> {b['matched']:.1f}, "
                 f"R {r['unmatched']:.2f} -> {r['matched']:.2f}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def psm(panel: pd.DataFrame, treat: str = "treat", covariates=CONTROLS, *, link: str = "logit",
        by_year: bool = False, replacement: bool = True, caliper: float | None = None,
        common_support: bool = True, seed: int | np.random.Generator | None = 0, time: str = "year") -> MatchResult:
    """Propensity score, matching (pooled or within each year) and the balance test.
    ``seed`` goes through :func:`replication.estimators.results.rng` (one stream for all years)."""
    rng = make_rng(seed)
    sc, model = _propensity(panel, treat, covariates, link=link, by_year=by_year, time=time)
    data = panel.join(sc)
    parts = []
    groups = [(None, data)] if not by_year else list(data.groupby(time))
    for _, sub in groups:
        m = match(sub["pscore"].to_numpy(), sub[treat].to_numpy() == 1, replacement=replacement, caliper=caliper,
                  common_support=common_support, seed=rng)
        m.index = sub.index
        m["_id"] = np.where(m["_id"] >= 0, sub.index.to_numpy()[np.clip(m["_id"], 0, None)], -1)
        parts.append(m)
    data = data.join(pd.concat(parts).loc[data.index])
    bal, rub = balance(data, covariates, treat=treat)
    spec = {"treat": treat, "covariates": list(covariates), "link": link, "by_year": by_year, "time": time,
            "replacement": replacement, "caliper": caliper, "common_support": common_support}
    return MatchResult(data, bal, rub, spec, model)


def _wmean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    m = np.average(x, weights=w)
    v = np.sum(w * (x - m) ** 2) / (w.sum() - 1)
    return float(m), float(v)


def _weighted_t(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """t-test of the treated-control difference: regress x d [iw=w] (frequency-weight semantics)."""
    X = np.column_stack([np.ones(len(x)), d])
    XtW = X.T * w
    b = np.linalg.solve(XtW @ X, XtW @ x)
    e = x - X @ b
    s2 = np.sum(w * e ** 2) / (w.sum() - 2)
    V = s2 * np.linalg.inv(XtW @ X)
    t = b[1] / np.sqrt(V[1, 1])
    return float(t), float(2 * dist.t(w.sum() - 2).sf(abs(t)))


def balance(data: pd.DataFrame, covariates=CONTROLS, *, treat: str = "treat") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``pstest`` balance table (before/after) and Rubin's B and R."""
    d = data[treat].to_numpy() == 1
    w_after = data["_weight"].to_numpy()
    matched = ~np.isnan(w_after)
    rows = []
    for c in list(covariates):
        x = data[c].to_numpy(float)
        mt, vt = _wmean_var(x[d], np.ones(d.sum()))
        mc, vc = _wmean_var(x[~d], np.ones((~d).sum()))
        sd = np.sqrt((vt + vc) / 2)
        bias_b = 100 * (mt - mc) / sd
        t_b, p_b = _weighted_t(x, d.astype(float), np.ones(len(x)))
        xm, dm, wm = x[matched], d[matched], w_after[matched]
        mt_a, _ = _wmean_var(xm[dm], wm[dm])
        mc_a, _ = _wmean_var(xm[~dm], wm[~dm])
        bias_a = 100 * (mt_a - mc_a) / sd
        t_a, p_a = _weighted_t(xm, dm.astype(float), wm)
        rows.append({"covariate": c, "sample": "unmatched", "mean treated": mt, "mean control": mc,
                     "% bias": bias_b, "% reduction |bias|": np.nan, "t": t_b, "p>|t|": p_b})
        rows.append({"covariate": c, "sample": "matched", "mean treated": mt_a, "mean control": mc_a,
                     "% bias": bias_a, "% reduction |bias|": 100 * (1 - abs(bias_a) / abs(bias_b)),
                     "t": t_a, "p>|t|": p_a})
    xb = data["xb"].to_numpy(float)
    rub = []
    for label, mask, w in (("unmatched", np.ones(len(xb), bool), np.ones(len(xb))), ("matched", matched, w_after)):
        ww = np.where(mask, np.nan_to_num(w, nan=0.0), 0.0)
        mt, vt = _wmean_var(xb[d & mask], ww[d & mask])
        mc, vc = _wmean_var(xb[~d & mask], ww[~d & mask])
        rub.append({"sample": label, "Rubin's B": 100 * abs(mt - mc) / np.sqrt((vt + vc) / 2),
                    "Rubin's R": vt / vc, "N treated": int((d & mask).sum()), "N control": int((~d & mask).sum())})
    return pd.DataFrame(rows), pd.DataFrame(rub)
