"""One result protocol for every estimator, and the inference helpers they share.

In the spirit of ``linearmodels``: every estimate-producing function returns an
:class:`Estimates` (or a subclass), every test an :class:`TestResult`.

:class:`Estimates`
    ``params``, ``std_errors``, ``tstats``, ``pvalues`` (pandas Series indexed by term),
    ``conf_int(level)`` (DataFrame with ``lower``/``upper``), ``nobs``, ``cov`` (DataFrame or
    None), ``summary()`` (text; also ``str(result)``), an HTML repr for notebooks and
    ``tidy(level)`` (one row per term: ``term, estimate, std_error, statistic, p_value,
    conf_low, conf_high``, the broom/R convention).
:class:`TestResult`
    ``statistic``, ``pvalue``, ``n_draws`` (None for analytic tests), ``null_distribution``
    (the draws, or None), ``df``, ``name``, ``summary()``, ``tidy()``.

Shared helpers, so that no estimator re-implements them:

:func:`rng`
    a seed (int, SeedSequence, Generator or None) -> ``numpy.random.Generator``;
:func:`cluster_cov`
    the cluster-robust sandwich with the small-sample factor ``q``;
:func:`wald_test`
    ``H0: R b = r`` from a coefficient vector and its covariance, as F(q, df) or chi2(q);
:data:`ENTITY` / :func:`resolve_cluster`
    the default of every ``cluster`` argument: cluster by the ``entity`` column (``None``:
    no clustering).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators import distributions as dist


class _ByEntity:
    """The default of every ``cluster`` argument: cluster by whatever column ``entity`` names."""

    _instance = None

    def __new__(cls):  # one instance, so ``cluster is ENTITY`` works after copies and pickling
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ENTITY"

    def __reduce__(self):
        return (_ByEntity, ())


#: ``cluster=ENTITY`` (the default of the estimators) clusters by the ``entity`` column, so that
#: ``twfe(df, "y", "d", entity="id")`` clusters by ``id``; ``cluster="col"`` clusters by another
#: column; ``cluster=None`` means no clustering (heteroskedasticity-robust, HC1-type SEs).
ENTITY = _ByEntity()


def resolve_cluster(cluster, entity: str) -> str | None:
    """The column to cluster by: ``entity`` for :data:`ENTITY`, else ``cluster`` (None: none)."""
    return entity if cluster is ENTITY else cluster


def rng(seed=None) -> np.random.Generator:
    """The one seed -> Generator rule: a Generator is used as is (so callers can share a
    stream), anything else goes to ``numpy.random.default_rng``."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def cluster_cov(bread: np.ndarray, scores: np.ndarray, clusters: np.ndarray | None = None,
                n_clusters: int | None = None, q: float = 1.0) -> np.ndarray:
    """Cluster-robust (or, without clusters, heteroskedasticity-robust) covariance
    ``q * B (sum_g s_g s_g') B`` with ``B = (X'X)^-1`` (``bread``) and row scores
    ``X_i u_i`` (``scores``, n x k).  ``clusters`` are dense codes 0..G-1 per row.
    ``q`` is the small-sample factor (Stata: ``G/(G-1) * (N-1)/(N-K)``; see
    :func:`replication.estimators.did.small_sample`)."""
    from replication.estimators.within import cluster_scores

    S = scores
    if clusters is not None:
        G = int(n_clusters if n_clusters is not None else clusters.max() + 1)
        S = cluster_scores(scores, clusters, G)
    return q * (bread @ (S.T @ S) @ bread)


def wald_test(params, cov, R=None, r=None, *, df: float | None = None, name: str = "Wald test") -> "TestResult":
    """Wald test of ``R b = r`` (default: all coefficients zero).  With ``df`` (residual
    degrees of freedom, e.g. G-1 under clustering) the statistic is W/q ~ F(q, df), as Stata's
    ``test``; without, W ~ chi2(q)."""
    b = np.asarray(params, float)
    V = np.asarray(cov, float)
    R = np.eye(len(b)) if R is None else np.atleast_2d(np.asarray(R, float))
    r = np.zeros(R.shape[0]) if r is None else np.asarray(r, float)
    d = R @ b - r
    W = float(d @ np.linalg.solve(R @ V @ R.T, d))
    k = R.shape[0]
    if df is not None:
        F = W / k
        return TestResult(F, float(dist.f_sf(F, k, df)), name=name, df=(k, df), distribution="F")
    return TestResult(W, float(dist.chi2_sf(W, k)), name=name, df=(k,), distribution="chi2")


def _fmt(v, digits=4) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


@dataclass
class TestResult:
    """A hypothesis test: analytic (``n_draws`` None) or by resampling (``n_draws`` draws)."""

    statistic: float
    pvalue: float
    name: str = "test"
    df: tuple | None = None
    distribution: str | None = None  # "F", "chi2", "t", "normal", or None for resampling
    n_draws: int | None = None
    null_distribution: np.ndarray | None = field(default=None, repr=False)
    info: dict = field(default_factory=dict, repr=False)

    __test__ = False  # not a pytest test class

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([{"test": self.name, "statistic": self.statistic, "p_value": self.pvalue,
                              "df": self.df, "n_draws": self.n_draws}])

    def summary(self) -> str:
        how = (f"{self.distribution}{self.df}" if self.distribution and self.df else self.distribution or "")
        if self.n_draws:
            how = f"{self.n_draws:,} draws"
        return f"{self.name}: statistic = {_fmt(self.statistic)}, p = {_fmt(self.pvalue)}" + (f" ({how})" if how else "")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


class Estimates:
    """Base of every estimation result.  Subclasses set ``params``, ``std_errors``, ``nobs``
    and optionally ``df_resid`` (t(df) inference; None = normal), ``cov``, ``title``, or
    override ``pvalues``/``conf_int`` when inference is not a t/z test (bootstrap, Sobel)."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    df_resid: float | None = None
    cov: pd.DataFrame | None = None
    title: str = "Estimates"

    @property
    def tstats(self) -> pd.Series:
        return (self.params / self.std_errors).rename("tstat")

    def _dist(self):
        return dist.t(self.df_resid) if self.df_resid else dist.norm

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * self._dist().sf(np.abs(self.tstats.to_numpy(float))), index=self.params.index,
                         name="pvalue")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        crit = self._dist().ppf(0.5 + level / 2)
        return pd.DataFrame({"lower": self.params - crit * self.std_errors,
                             "upper": self.params + crit * self.std_errors})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        ci = self.conf_int(level)
        return pd.DataFrame({"term": self.params.index, "estimate": self.params.to_numpy(float),
                             "std_error": self.std_errors.reindex(self.params.index).to_numpy(float),
                             "statistic": self.tstats.reindex(self.params.index).to_numpy(float),
                             "p_value": self.pvalues.reindex(self.params.index).to_numpy(float),
                             "conf_low": ci["lower"].to_numpy(float), "conf_high": ci["upper"].to_numpy(float)})

    def _header(self) -> list[tuple[str, str]]:
        """(label, value) lines above the coefficient table; subclasses extend."""
        rows = [("Observations", _fmt(int(self.nobs)))]
        if self.df_resid:
            rows.append(("Residual df", _fmt(self.df_resid, 0)))
        return rows

    def _table(self) -> pd.DataFrame:
        """``tidy()`` with the column heads of a regression printout (statsmodels' layout)."""
        t = self.tidy().set_index("term")
        t.columns = ["coef", "std err", "t" if self.df_resid else "z", "P>|t|" if self.df_resid else "P>|z|",
                     "[0.025", "0.975]"]
        t.index.name = None
        return t

    def summary(self) -> str:
        t = self._table()
        rows = self._header()
        w = max(len(v) for _, v in rows)
        head = "\n".join(f"{k:<22}{v:>{w}}" for k, v in rows)
        body = t.to_string(float_format=lambda v: f"{v:.4f}")
        line = "=" * max(len(x) for x in body.splitlines())
        return f"{self.title}\n{line}\n{head}\n{line}\n{body}\n{line}"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in self._header())
        return (f"<p><b>{self.title}</b></p><table>{head}</table>"
                + self._table().to_html(float_format=lambda v: f"{v:.4f}", na_rep=""))
