"""Two-way fixed-effects difference-in-differences.

:func:`twfe` fits ``y_it = a_i + l_t + b * treat_it + c' X_it + e_it`` by the exact two-way
within transformation (:mod:`replication.estimators.within`; tested equal to
``linearmodels.PanelOLS`` and to the dummy-variable OLS to 1e-8) and reports standard errors
clustered by ``cluster`` (default :data:`~replication.estimators.results.ENTITY`: by the
``entity`` column; ``None``: no clustering, HC1) under a stated small-sample convention:

``convention="stata"`` (default)
    ``V = q (X'X)^-1 (sum_g s_g s_g') (X'X)^-1`` with
    ``q = G/(G-1) * (N-1)/(N-K)``, K = regressors + constant + absorbed time dummies;
    entity effects nested in the clusters are not counted.  This is the factor of
    ``reghdfe y x, absorb(entity time) vce(cluster entity)`` and of ``xtreg y x i.time, fe
    vce(cluster entity)``.  t-tests use t(G-1), the F test F(k, G-1).  Without clustering
    (``cluster=None``) ``q = N/(N-K)`` with the entity dummies counted in K, and t(N-K): HC1,
    as ``reghdfe ..., vce(robust)`` (``xtreg, fe vce(robust)`` would cluster by entity).
``convention="none"``
    the plain sandwich (q = 1), for comparison.
``convention="linearmodels"``
    PanelOLS's own clustered covariance with its defaults.

**The constant** is reported as ``reghdfe`` reports it: the fixed effects are normalised to
average zero over the estimation sample, so ``_cons = mean(y) - mean(X)'b`` (means over the
sample, ``X`` the reported regressors), estimated with its clustered SE from the
regression of the within-transformed data with the grand means added back.  ``xtreg, fe``
reports the same number when it absorbs only the entity effects; with the time effects
entered as dummies (``xtreg y x i.year, fe``, or ``areg``) Stata's ``_cons`` refers to the
base period instead and differs from ours by the sample average of the year effects
(``tests/test_did.py`` checks both statements).  Every estimator built on :func:`twfe`
(placebo, mediation, heterogeneity, robustness; the book's Tables 2, 3, 4 and 7) reports
this one ``_cons``.

R-squared is reported both ways: ``r2`` is the R-squared of the dummy-variable regression
(what ``reghdfe`` and ``areg`` print), ``r2_within`` that of the within-transformed
regression.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.data.schema import CONTROLS
from replication.estimators.results import ENTITY, Estimates, cluster_cov, resolve_cluster, wald_test

CONVENTIONS = ("stata", "none", "linearmodels")


@dataclass
class TWFEResult(Estimates):
    """One TWFE regression (the data behind a column), in the package's result protocol:
    ``params``, ``std_errors``, ``tstats``, ``pvalues`` (t with ``df_resid`` degrees of
    freedom), ``conf_int()``, ``nobs``, ``cov``, ``summary()``, ``tidy()``; plus the
    R-squareds and the F test of all regressors (``fstat``, ``f_pvalue``)."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    n_clusters: int | None
    r2: float
    r2_within: float
    fstat: float
    f_pvalue: float
    df_resid: int
    spec: dict = field(default_factory=dict)
    cov: pd.DataFrame | None = field(default=None, repr=False)
    title = "Two-way fixed-effects DID"

    def _header(self):
        s = self.spec
        fe = " + ".join(n for n, on in (("entity", s.get("entity_effects")), ("time", s.get("time_effects"))) if on)
        rows = [("Dependent variable", str(s.get("y", ""))), ("Fixed effects", fe or "none"),
                *super()._header(), ("R-squared (LSDV)", f"{self.r2:.4f}"), ("R-squared (within)", f"{self.r2_within:.4f}"),
                ("F (all regressors)", f"{self.fstat:.3f}")]
        if self.n_clusters:
            rows.append(("Clusters", f"{self.n_clusters:,} ({s.get('cluster')}, {s.get('convention')})"))
        return rows

    def __getitem__(self, name: str) -> float:
        return float(self.params[name])


def stars(p: float) -> str:
    """Significance stars at 10 / 5 / 1 %, as the paper prints them."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _check(panel: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the panel")
    sub = panel[cols]
    bad = sub.isna().any(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} row(s) have missing values in {[c for c in cols if sub[c].isna().any()]};"
                         " load the panel with replication.data.load_panel (which interpolates) or drop them")
    return panel


def small_sample(df: pd.DataFrame, k: int, *, entity: str = "city_code", time: str = "year",
                 cluster=ENTITY, entity_effects: bool = True, time_effects: bool = True,
                 convention: str = "stata") -> dict:
    """Degrees of freedom of a TWFE fit with ``k`` regressors (plus the constant), as :func:`twfe`
    counts them: ``K``, the small-sample factor ``q``, ``df_resid``, the number of clusters ``G``
    (None without clustering) and the cluster ``codes`` (dense 0..G-1, rows of ``df``).

    Shared with the vectorised placebo test so that both use one convention.  ``cluster``:
    a column, :data:`~replication.estimators.results.ENTITY` (the ``entity`` column) or None."""
    cluster = resolve_cluster(cluster, entity)
    N = len(df)
    T = df[time].nunique()
    n_ent = df[entity].nunique()
    K = k + 1 + ((T - 1) if time_effects else 0)
    # entity effects nested in the clusters (each entity in one cluster) use no degrees of
    # freedom in Stata's convention; otherwise they count
    nested = cluster == entity or (cluster is not None and bool((df.groupby(entity)[cluster].nunique() == 1).all()))
    if entity_effects and not nested:
        K += n_ent - 1
    if cluster:
        codes, G = within.group_codes(df[cluster].to_numpy())
        q = (G / (G - 1)) * ((N - 1) / (N - K)) if convention == "stata" else 1.0
        df_resid = G - 1
    else:
        codes, G = None, None
        q = N / (N - K) if convention == "stata" else 1.0  # HC1, as Stata's vce(robust)
        df_resid = N - K
    return {"K": K, "q": q, "df_resid": df_resid, "G": G, "codes": codes}


def twfe(panel: pd.DataFrame, y: str, treat: str | list[str] = "did", controls=CONTROLS, *,
         entity: str = "city_code", time: str = "year", entity_effects: bool = True,
         time_effects: bool = True, cluster=ENTITY, convention: str = "stata") -> TWFEResult:
    """Fit one TWFE DID regression of ``y`` on ``treat`` (a column or a list) and ``controls``.

    ``cluster``: the column whose groups the SEs are clustered by; the default
    :data:`~replication.estimators.results.ENTITY` clusters by the ``entity`` column, None
    gives heteroskedasticity-robust (HC1) SEs.  See the module docstring for the conventions
    and the constant."""
    from linearmodels import PanelOLS

    cluster = resolve_cluster(cluster, entity)
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    regs = ([treat] if isinstance(treat, str) else list(treat)) + list(controls or ())
    cols = [y, entity, time] + regs + ([cluster] if cluster and cluster not in (entity, time) else [])
    _check(panel, list(dict.fromkeys(cols)))
    df = panel.sort_values([entity, time])
    X = df[regs].to_numpy(dtype=float)
    yv = df[y].to_numpy(dtype=float)
    e_lab = df[entity].to_numpy() if entity_effects else None
    t_lab = df[time].to_numpy() if time_effects else None
    # design: within-transformed data with grand means added back, plus a constant
    if entity_effects or time_effects:
        Xd = within.demean(X, e_lab, t_lab) + X.mean(axis=0)
        yd = within.demean(yv, e_lab, t_lab) + yv.mean()
    else:
        Xd, yd = X, yv
    Z = np.column_stack([Xd, np.ones(len(df))])
    rank = np.linalg.matrix_rank(Z)
    if rank < Z.shape[1]:
        raise ValueError(f"regressors {regs} are collinear with each other or with the fixed effects "
                         f"(rank {rank} < {Z.shape[1]}); drop one")
    ZtZi = np.linalg.inv(Z.T @ Z)
    b = ZtZi @ (Z.T @ yd)
    u = yd - Z @ b
    N, k = len(df), len(regs)
    ss = small_sample(df, k, entity=entity, time=time, cluster=cluster, entity_effects=entity_effects,
                      time_effects=time_effects, convention=convention)
    K, q, df_resid, G = ss["K"], ss["q"], ss["df_resid"], ss["G"]
    names = regs + ["_cons"]
    V = cluster_cov(ZtZi, Z * u[:, None], ss["codes"], G, q=q)
    params = pd.Series(b, index=names)
    if convention == "linearmodels":
        d = df.set_index([entity, time])
        fit_kw = {"cov_type": "clustered", "cluster_entity": True} if cluster == entity else (
            {"cov_type": "clustered", "clusters": d[[cluster]]} if cluster else {"cov_type": "robust"})
        if not (entity_effects or time_effects):
            d = d.assign(_cons=1.0)
        lm = PanelOLS(d[y], d[regs + ([] if (entity_effects or time_effects) else ["_cons"])],
                      entity_effects=entity_effects, time_effects=time_effects).fit(**fit_kw)
        se = pd.Series(np.sqrt(np.diag(V)), index=names)
        se[lm.std_errors.index] = lm.std_errors.to_numpy()
    else:
        se = pd.Series(np.sqrt(np.diag(V)), index=names)
    ssr = float(u @ u)
    tss = float(((yv - yv.mean()) ** 2).sum())
    tss_w = float(((yd - yd.mean()) ** 2).sum())
    ftest = wald_test(b[:k], V[:k, :k], df=df_resid, name="F test of all regressors")
    F, f_p = ftest.statistic, ftest.pvalue
    spec = {"y": y, "treat": treat, "controls": list(controls or ()), "entity_effects": entity_effects,
            "time_effects": time_effects, "cluster": cluster, "convention": convention, "K": K, "q": q}
    cov = pd.DataFrame(V, index=names, columns=names)
    return TWFEResult(params, se, N, G, 1 - ssr / tss, 1 - ssr / tss_w, F, f_p, df_resid, spec, cov)


def reference_panelols(panel: pd.DataFrame, y: str, regs: list[str], entity="city_code", time="year",
                       entity_effects=True, time_effects=True):
    """The plain ``linearmodels.PanelOLS`` fit (clustered by entity) of the same model."""
    from linearmodels import PanelOLS

    d = panel.set_index([entity, time])
    return PanelOLS(d[y], d[regs], entity_effects=entity_effects, time_effects=time_effects).fit(
        cov_type="clustered", cluster_entity=True)

