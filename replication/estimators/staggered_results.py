"""Result objects of the staggered-adoption estimators, in the package's result protocol
(:mod:`replication.estimators.results`): ``params`` indexed by event time (or by group,
period or aggregation), ``std_errors``, ``tstats``, ``pvalues``, ``conf_int()``, ``nobs``,
``cov`` where it exists, ``summary()``, ``tidy()`` and an HTML repr."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators.results import Estimates, TestResult


class EventTimeMixin:
    """For estimates indexed by event time: :meth:`table` with the omitted reference period."""

    reference: int | None = -1

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per event time: ``event_time``, ``estimate``, ``std_error``, ``lower``,
        ``upper``; the reference period (normalised to zero) included as a row of zeros."""
        ci = self.conf_int(level)
        out = pd.DataFrame({"event_time": [int(e) for e in self.params.index], "estimate": self.params.to_numpy(float),
                            "std_error": self.std_errors.to_numpy(float), "lower": ci["lower"].to_numpy(float),
                            "upper": ci["upper"].to_numpy(float)})
        if self.reference is not None and self.reference not in set(out["event_time"]):
            ref = pd.DataFrame([{"event_time": self.reference, "estimate": 0.0, "std_error": 0.0, "lower": 0.0,
                                 "upper": 0.0}])
            out = pd.concat([out, ref], ignore_index=True)
        return out.sort_values("event_time", ignore_index=True)


@dataclass
class Aggregate(Estimates):
    """A small set of estimates with standard errors (an aggregation, an overall ATT)."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    title: str = "Estimates"


@dataclass
class EventStudyResult(EventTimeMixin, Estimates):
    """TWFE event study (:func:`replication.estimators.staggered.event_study`): ``params``
    and ``cov`` by event time (reference -1 omitted; the end points bin everything beyond
    them), ``pretrend`` the joint Wald F test that all leads are zero, ``regression`` the
    whole TWFE fit (controls included)."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    pretrend: TestResult = field(repr=False)
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    leads: int = 0
    lags: int = 0
    regression: Estimates | None = field(default=None, repr=False)
    title = "Event study (TWFE, binned end points, reference period -1)"

    def _header(self):
        return [*super()._header(), ("Pre-trend test", self.pretrend.summary().split(": ", 1)[1])]


@dataclass
class SunAbrahamResult(EventTimeMixin, Estimates):
    """Sun-Abraham interaction-weighted event study: ``params``/``cov`` by event time (the
    cohort x event-time cells weighted by their observations), ``cohorts`` (cohorts
    behind each event time), ``cohort_effects`` (every cell), ``att`` (the post-period
    cells weighted by their treated observations, CS's "simple" aggregation)."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    cohorts: pd.Series = field(repr=False)
    cohort_effects: pd.DataFrame = field(repr=False)
    att: Aggregate = field(repr=False)
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    regression: Estimates | None = field(default=None, repr=False)
    title = "Sun-Abraham interaction-weighted event study (never-treated controls)"

    def table(self, level: float = 0.95) -> pd.DataFrame:
        out = super().table(level)
        out.insert(3, "cohorts", out["event_time"].map(self.cohorts).fillna(0).astype(int))
        return out

    def _header(self):
        a, (lo, hi) = self.att, self.att.conf_int().iloc[0]
        return [*super()._header(), ("ATT (post cells)", f"{a.params.iloc[0]:.4f} [{lo:.4f}, {hi:.4f}]")]


@dataclass
class CSAggregation(EventTimeMixin, Estimates):
    """One aggregation of Callaway and Sant'Anna's group-time ATTs (R ``did::aggte``):
    ``params`` by event time (``"dynamic"``), group, period (``"calendar"``) or the single
    ``"ATT"`` (``"simple"``); ``overall`` the overall ATT of this aggregation.  Normal
    inference with analytic SEs, as R's ``did`` without its bootstrap."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    overall: Aggregate = field(repr=False)
    kind: str = "dynamic"
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def reference(self):
        return None

    @property
    def title(self) -> str:
        return f"Callaway-Sant'Anna, {self.kind} aggregation"

    def _header(self):
        o, (lo, hi) = self.overall, self.overall.conf_int().iloc[0]
        return [*super()._header(), ("Overall ATT", f"{o.params.iloc[0]:.4f} [{lo:.4f}, {hi:.4f}]")]


@dataclass
class CallawaySantAnnaResult(EventTimeMixin, Estimates):
    """Callaway and Sant'Anna (2021): ``params`` the dynamic aggregation by event time;
    ``attgt`` the group-time ATTs (``group``, ``time``, ``estimate``, ``std_error``);
    ``aggregations`` the ``simple``, ``dynamic``, ``group`` and ``calendar`` aggregations
    (:class:`CSAggregation`); ``att`` the simple overall ATT; ``sample`` what was used."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    attgt: pd.DataFrame = field(repr=False)
    aggregations: dict = field(repr=False)
    sample: dict = field(default_factory=dict, repr=False)
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    title = "Callaway-Sant'Anna, event-time (dynamic) aggregation"

    @property
    def reference(self):
        return None

    @property
    def att(self) -> Aggregate:
        return self.aggregations["simple"].overall

    def _header(self):
        return [*super()._header(), *self.aggregations["simple"]._header()[-1:],
                ("Estimator", self.sample.get("estimator", ""))]


@dataclass
class ImputationResult(Estimates):
    """Borusyak-Jaravel-Spiess imputation ATT: ``params["ATT"]``, its entity-cluster
    bootstrap SE, the percentile ``conf_int`` of the ``draws`` (p-value: normal with the
    bootstrap SE), ``tau`` the effect of each imputed treated row, ``n_treated_obs``,
    ``n_imputed_obs`` and ``not_imputed`` (treated rows without an imputed Y(0))."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    draws: np.ndarray = field(repr=False)
    tau: np.ndarray = field(repr=False)
    n_treated_obs: int = 0
    n_imputed_obs: int = 0
    not_imputed: dict = field(default_factory=dict, repr=False)
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    title = "Imputation estimator (Borusyak, Jaravel and Spiess)"

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """The percentile interval of the bootstrap draws (NaN with fewer than two)."""
        lo, hi = (np.quantile(self.draws, [(1 - level) / 2, (1 + level) / 2]) if self.n_draws > 1
                  else (np.nan, np.nan))
        return pd.DataFrame({"lower": [float(lo)], "upper": [float(hi)]}, index=self.params.index)

    def _header(self):
        return [*super()._header(), ("Treated rows imputed", f"{self.n_imputed_obs:,} of {self.n_treated_obs:,}"),
                ("Bootstrap draws", f"{self.n_draws:,} (entity clusters; percentile CI)")]


@dataclass
class BaconDecomposition(Estimates):
    """Goodman-Bacon (2021) decomposition of a TWFE coefficient: ``params`` the weighted
    average 2x2 estimate of each comparison type, ``weights`` their total weights,
    ``comparisons`` every 2x2 DID (``type``, ``treated``, ``control``, ``estimate``,
    ``weight``), ``estimate`` the TWFE coefficient they average to.  A decomposition, not an
    estimator with sampling uncertainty: ``std_errors`` are NaN."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    weights: pd.Series = field(repr=False)
    comparisons: pd.DataFrame = field(repr=False)
    balanced_sample: dict = field(default_factory=dict, repr=False)
    df_resid: float | None = None
    cov: pd.DataFrame | None = field(default=None, repr=False)
    title = "Goodman-Bacon decomposition of the TWFE coefficient"

    @property
    def estimate(self) -> float:
        """The TWFE coefficient: the weighted sum of all 2x2 estimates."""
        return float((self.comparisons["weight"] * self.comparisons["estimate"]).sum())

    def by_type(self) -> pd.DataFrame:
        """``type``, ``weight``, ``estimate`` per comparison type."""
        return pd.DataFrame({"type": self.params.index, "weight": self.weights.reindex(self.params.index).to_numpy(),
                             "estimate": self.params.to_numpy(float)})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        out = super().tidy(level)
        out.insert(2, "weight", self.weights.reindex(self.params.index).to_numpy(float))
        return out

    def summary(self) -> str:
        body = self.by_type().to_string(index=False, float_format=lambda v: f"{v:.4f}")
        line = "=" * max(len(x) for x in body.splitlines())
        return (f"{self.title}\n{line}\nObservations {self.nobs:,}; TWFE coefficient {self.estimate:.4f} "
                f"= sum of weight x estimate over {len(self.comparisons)} 2x2 comparisons\n{line}\n{body}\n{line}")

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.title}</b> (TWFE coefficient {self.estimate:.4f})</p>"
                + self.by_type().to_html(index=False, float_format=lambda v: f"{v:.4f}"))
