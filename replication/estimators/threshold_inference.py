"""Inference for :mod:`replication.estimators.threshold`: the bootstrap F tests of the
number of thresholds, the likelihood-ratio confidence sets of the thresholds, and the
regime coefficients of a fitted model with clustered or robust standard errors."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.results import Estimates, TestResult, cluster_cov
from replication.estimators.threshold_search import SequentialSearch, kept_rows, regime_indicator


def lr_critical_value(alpha: float = 0.05) -> float:
    """Hansen's (2000) asymptotic critical value of LR(gamma): -2 ln(1 - sqrt(1 - alpha))."""
    return float(-2.0 * np.log(1.0 - np.sqrt(1.0 - alpha)))


# ---------------------------------------------------------------------------------------
# bootstrap F tests

def bootstrap_tests(seq: SequentialSearch, stages: dict, LY: np.ndarray, y: np.ndarray, ent: np.ndarray,
                    W0: np.ndarray, n_draws: list[int], dof: int, gen: np.random.Generator,
                    progress: bool = False) -> dict[int, TestResult]:
    """The F test of k-1 against k thresholds for every k, with ``n_draws[k-1]`` draws each.

    ``stages``: per k, ``S_null``, ``S_alt`` (SSR of the k-1 and k threshold models),
    ``null`` (the null model's thresholds) and ``thresholds`` (the k-threshold model's
    stage estimates).  ``W0`` holds the controls and the regime regressor (untransformed).
    Under the null, the regressors and q are held fixed and the null model's residuals are
    resampled by entity (whole vectors, with replacement) and added to its fitted values;
    the whole sequential search is redone for every draw (all draws at once)."""
    srch = seq.srch
    n_ent, T = srch.n_ent, srch.T
    out = {}
    ks = sorted(stages)
    if progress:
        from tqdm.auto import tqdm

        ks = tqdm(ks, desc="threshold bootstrap", unit="test")
    for k in ks:
        st = stages[k]
        sigma2 = st["S_alt"] / dof
        F = (st["S_null"] - st["S_alt"]) / sigma2
        B = n_draws[k - 1]
        Fb = np.array([])
        if B > 0:
            W = np.column_stack([W0] + [srch.regime_column(g) for g in st["null"]])
            beta = np.linalg.lstsq(srch.L(W), LY[:, 0], rcond=None)[0]
            fitted = within.demean(W, ent) @ beta
            resid = (within.demean(y, ent) - fitted).reshape(n_ent, T)
            draw = gen.integers(0, n_ent, size=(B, n_ent), dtype=np.int32)
            chunk = max(1, min(B, int(2e7 // len(y))))  # bounded memory at any panel size
            parts = []
            for s0 in range(0, B, chunk):
                dr = draw[s0:s0 + chunk]
                Ystar = fitted[:, None] + resid[dr].transpose(1, 2, 0).reshape(n_ent * T, len(dr))
                parts.append(seq.run(srch.L(Ystar), k))
            eb = {key: np.concatenate([p_[key] for p_ in parts]) for key in parts[0]}
            null_ssr, alt_ssr = {1: ("S0", "S1"), 2: ("S1", "S2"), 3: ("S2r", "S3")}[k]
            Fb = (eb[null_ssr] - eb[alt_ssr]) / (eb[alt_ssr] / dof)
        crit = {a: float(np.quantile(Fb, 1 - a)) if len(Fb) else np.nan for a in (0.10, 0.05, 0.01)}
        out[k] = TestResult(float(F), float((Fb >= F).mean()) if len(Fb) else np.nan,
                            name=f"F test: {k - 1} against {k} threshold{'s' if k > 1 else ''}",
                            n_draws=B if B > 0 else None, null_distribution=Fb if B > 0 else None,
                            info={"thresholds": tuple(sorted(st["thresholds"])), "rss": float(st["S_alt"]),
                                  "mse": float(sigma2), "critical_values": crit})
    return out


# ---------------------------------------------------------------------------------------
# likelihood-ratio confidence sets

def lr_sets(seq: SequentialSearch, rows: list[tuple[str, int, float, tuple, float]], LY: np.ndarray, dof: int,
            level: float = 0.95) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``LR(g) = (S(g) - S(g_hat)) / sigma^2`` for each (name, model, estimate, fixed
    thresholds, trim) in ``rows``; the confidence set ``{g : LR(g) <= c}`` reported as the
    connected interval of grid points around the estimate, ``lr_set_disjoint`` flagging
    further pieces elsewhere.  Returns the table and the LR curves."""
    crit = lr_critical_value(1 - level)
    cands = seq.srch.cands
    table, curves = [], {}
    for name, model, estimate, fixed, trim_k in rows:
        _, _, S, _ = seq.best(fixed, LY, trim_k)
        S = S[:, 0]
        S_hat = float(S.min())
        L = (S - S_hat) / (S_hat / dof)
        curves[name] = pd.DataFrame({"gamma": cands, "LR": L})
        inside = L <= crit
        j = int(np.argmin(L))
        lo_j, hi_j = j, j
        while lo_j > 0 and inside[lo_j - 1]:
            lo_j -= 1
        while hi_j < len(L) - 1 and inside[hi_j + 1]:
            hi_j += 1
        table.append({"name": name, "model": model, "estimate": estimate, "lower": float(cands[lo_j]),
                      "upper": float(cands[hi_j]), "lr_set_disjoint": bool(inside.sum() > hi_j - lo_j + 1)})
    return pd.DataFrame(table), curves


# ---------------------------------------------------------------------------------------
# regime coefficients of a fitted model

@dataclass(repr=False)
class RegimeEstimates(Estimates):
    """Coefficients of the threshold model with given thresholds: the slope of the regime
    regressor in each regime (``<x>_regime_1`` ...), the controls and ``_cons``, in the result
    protocol.  ``_cons`` follows reghdfe's convention, as in every chapter: the fixed effects
    average zero, so ``_cons = mean(y) - mean(X)'b`` over the reported regressors; with
    ``time_effects`` the year dummies are absorbed (not reported) and do not enter ``_cons``.
    (``xthreg`` with ``i.year`` among the regressors prints the base-year constant instead.)"""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    df_resid: float
    cov: pd.DataFrame = field(default=None, repr=False)
    thresholds: tuple = ()
    cov_type: str = "cluster"

    @property
    def title(self) -> str:
        k = len(self.thresholds)
        return f"Panel threshold regression, {k} threshold{'s' if k > 1 else ''}"

    def _header(self):
        return [("Thresholds", ", ".join(f"{g:.4f}" for g in self.thresholds)), *super()._header(),
                ("Covariance", {"cluster": "clustered by entity",
                                "robust": "White (HC1)"}[self.cov_type])]


class RegimeFitter:
    """The regressions behind :meth:`ThresholdResult.model` on the balanced sample."""

    def __init__(self, df, y, regime_x, q, controls, entity, time, convention, strict, absorbed=()):
        self.df = df
        self.absorbed = [c for c in absorbed if c in controls]  # year dummies: fitted, not reported
        self.y_name, self.x_name, self.q_name, self.controls = y, regime_x, q, list(controls)
        self.entity, self.time = entity, time
        self.convention, self.strict = convention, strict

    def _regimes(self, gammas) -> list[np.ndarray]:
        """Regime membership: q <= g1, g1 < q <= g2, ..., q > gk (or with < for Hansen's program)."""
        qv = self.df[self.q_name].to_numpy(float)
        below = [regime_indicator(qv, g, self.strict) for g in sorted(gammas)]
        edges = [np.zeros(len(qv), bool), *below, np.ones(len(qv), bool)]
        return [edges[j + 1] & ~edges[j] for j in range(len(edges) - 1)]

    def fit(self, gammas, cov: str = "cluster") -> RegimeEstimates:
        d = self.df
        x = d[self.x_name].to_numpy(float)
        regimes = self._regimes(gammas)
        names = [f"{self.x_name}_regime_{j + 1}" for j in range(len(regimes))] + self.controls + ["_cons"]
        Xr = np.column_stack([x * m for m in regimes] + [d[c].to_numpy(float) for c in self.controls])
        yv = d[self.y_name].to_numpy(float)
        ent = d[self.entity].to_numpy()
        keep = kept_rows(ent, self.convention)
        Xt = within.demean(Xr, ent)[keep] + Xr.mean(axis=0)
        yt = within.demean(yv, ent)[keep] + yv.mean()
        Zm = np.column_stack([Xt, np.ones(len(yt))])
        ZtZi = np.linalg.inv(Zm.T @ Zm)
        b = ZtZi @ Zm.T @ yt
        u = yt - Zm @ b
        N, K = len(yt), Zm.shape[1]
        if cov == "cluster":
            codes, G = within.group_codes(ent[keep])
            V = cluster_cov(ZtZi, Zm * u[:, None], codes, G, q=G / (G - 1) * (N - 1) / (N - K))
            dfr = G - 1
        elif cov == "robust":
            V = cluster_cov(ZtZi, Zm * u[:, None], q=N / (N - K))
            dfr = N - K
        else:
            raise ValueError("cov must be 'cluster' or 'robust'")
        if self.absorbed:
            names, b, V = self._absorb(names, b, V, Zm)
        return RegimeEstimates(pd.Series(b, index=names), pd.Series(np.sqrt(np.diag(V)), index=names), N, dfr,
                               pd.DataFrame(V, index=names, columns=names), tuple(sorted(gammas)), cov)

    def _absorb(self, names, b, V, Zm):
        """Drop the absorbed dummies and move their mean contribution into ``_cons``
        (``_cons + sum_j mean(d_j) b_j``, its variance by the delta method, exact here)."""
        keep = [i for i, n in enumerate(names) if n not in self.absorbed]
        A = np.eye(len(names))[keep]
        for i, n in enumerate(names):
            if n in self.absorbed:
                A[-1, i] = Zm[:, i].mean()
        return [names[i] for i in keep], A @ b, A @ V @ A.T

    def regime_counts(self, gammas) -> pd.DataFrame:
        """Observations per regime and period."""
        edges = [-np.inf, *sorted(gammas), np.inf]
        lab = pd.cut(self.df[self.q_name], edges, right=not self.strict,
                     labels=[f"regime {j + 1}" for j in range(len(edges) - 1)])
        return pd.crosstab(self.df[self.time], lab)
