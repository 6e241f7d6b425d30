"""Thin public wrappers that have no home in one estimator module (re-exported by
:mod:`replication`).  Only :func:`honest_did` for now."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import honestdid
from replication.estimators.staggered_results import Aggregate

DEFAULT_MBARS = (0.0, 0.5, 1.0, 1.5, 2.0)


class HonestDiDResult:
    """Rambachan-Roth sensitivity of one event-study parameter (:func:`honest_did`).

    ``original``: the parameter under parallel trends (an
    :class:`~replication.estimators.results.Estimates`: ``params``, ``std_errors``,
    ``conf_int()``); ``smoothness``: one row per M (``M``, ``lower``, ``upper``,
    ``estimate``, ``half_length``, ``max_bias``; FLCIs under Delta^SD(M));
    ``relative_magnitudes``: one row per Mbar (``Mbar``, ``lower``, ``upper``; C-LF
    confidence sets under Delta^RM(Mbar)); ``inputs``: ``(beta, sigma, n_pre, n_post)`` in
    HonestDiD's layout; ``level``: the confidence level."""

    def __init__(self, original: Aggregate, smoothness: pd.DataFrame, relative_magnitudes: pd.DataFrame,
                 inputs: tuple, level: float):
        self.original, self.smoothness, self.relative_magnitudes = original, smoothness, relative_magnitudes
        self.inputs, self.level = inputs, level

    def original_ci(self) -> tuple[float, float]:
        lo, hi = self.original.conf_int(self.level).iloc[0]
        return float(lo), float(hi)

    def tidy(self) -> pd.DataFrame:
        """One row per interval: ``restriction`` (original, smoothness, relative magnitudes),
        ``bound`` (M or Mbar; NaN for the original), ``lower``, ``upper``, ``excludes_zero``."""
        lo, hi = self.original_ci()
        rows = [{"restriction": "original (parallel trends)", "bound": np.nan, "lower": lo, "upper": hi}]
        rows += [{"restriction": "smoothness, M", "bound": r.M, "lower": r.lower, "upper": r.upper}
                 for r in self.smoothness.itertuples()]
        rows += [{"restriction": "relative magnitudes, Mbar", "bound": r.Mbar, "lower": r.lower, "upper": r.upper}
                 for r in self.relative_magnitudes.itertuples()]
        out = pd.DataFrame(rows)
        out["excludes_zero"] = (out["lower"] > 0) | (out["upper"] < 0)
        return out

    def breakdown(self, restriction: str = "smoothness") -> float | None:
        """The largest bound on the grid up to which every interval excludes zero (the
        "breakdown" value on this grid; None if the smallest bound's interval covers zero)."""
        t = self.smoothness if restriction == "smoothness" else self.relative_magnitudes
        key = "M" if restriction == "smoothness" else "Mbar"
        best = None
        for r in t.sort_values(key).itertuples():
            if not (r.lower > 0 or r.upper < 0):
                break
            best = float(getattr(r, key))
        return best

    def summary(self) -> str:
        beta, _, n_pre, n_post = self.inputs
        body = self.tidy().to_string(index=False, float_format=lambda v: f"{v:.4f}")
        line = "=" * max(len(x) for x in body.splitlines())
        est, se = float(self.original.params.iloc[0]), float(self.original.std_errors.iloc[0])
        return (f"HonestDiD sensitivity analysis (Rambachan and Roth 2023), {self.level:.0%} intervals\n{line}\n"
                f"{n_pre} pre-periods, {n_post} post-periods; parameter {est:.4f} (SE {se:.4f})\n"
                f"breakdown: M = {self.breakdown('smoothness')}, Mbar = {self.breakdown('relative_magnitudes')}\n"
                f"{line}\n{body}\n{line}")

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<HonestDiDResult: {len(self.smoothness)} values of M, {len(self.relative_magnitudes)} of Mbar>"

    def _repr_html_(self) -> str:
        return ("<p><b>HonestDiD sensitivity analysis</b></p>"
                + self.tidy().to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep=""))


def _event_study_inputs(es, first, last):
    """(beta, sigma, n_pre, n_post) of an event-study result or of such a tuple."""
    if isinstance(es, tuple) and len(es) == 4:
        beta, sigma, n_pre, n_post = es
        return np.asarray(beta, float), np.asarray(sigma, float), int(n_pre), int(n_post)
    if hasattr(es, "params") and getattr(es, "cov", None) is not None:  # event_study, sun_abraham
        return honestdid.event_study_inputs(es, first=first, last=last)
    raise TypeError("honest_did needs the result of replication.event_study or replication.sun_abraham, or a "
                    "tuple (beta, sigma, n_pre, n_post) in HonestDiD's layout")


def honest_did(es, *, Ms=None, Mbars=DEFAULT_MBARS, first: int | None = None, last: int | None = None,
               alpha: float = 0.05, l_vec=None, smoothness_options: dict | None = None,
               rm_options: dict | None = None) -> HonestDiDResult:
    """Rambachan-Roth (HonestDiD) sensitivity of an event study, both restrictions.

    ``es``: the result of :func:`replication.event_study` or :func:`replication.sun_abraham`,
    or a tuple ``(beta, sigma, n_pre, n_post)`` (event times in order, reference period
    omitted).  ``first``/``last`` keep the event times ``first..last`` of a result.
    ``Ms``: bounds of the smoothness restriction Delta^SD(M) (default: five values from 0
    to the largest absolute change between consecutive pre-period coefficients, the
    reference period counted as 0); ``Mbars``: bounds of the relative-magnitudes
    restriction Delta^RM(Mbar).  The parameter is ``l_vec' tau_post`` (default: the first
    post-period).  Options go to :func:`replication.estimators.honestdid.flci_smoothness`
    and :func:`replication.estimators.honestdid.rm_confidence_set`.  Returns a
    :class:`HonestDiDResult`."""
    beta, sigma, n_pre, n_post = _event_study_inputs(es, first, last)
    if n_pre < 2:
        raise ValueError(f"honest_did: the event study has {n_pre} pre-period(s) besides the reference period; "
                         "the smoothness restriction needs two: re-estimate with one more lead (e.g. "
                         "replication.event_study(..., leads=3)) or widen first=")
    if Ms is None:
        top = float(np.abs(np.diff(np.r_[beta[:n_pre], 0.0])).max()) if n_pre else 0.0
        Ms = np.linspace(0.0, top, 5)
    common = {"alpha": alpha, "l_vec": l_vec}
    sd = honestdid.sensitivity_smoothness(beta, sigma, n_pre, n_post, Ms, **common, **(smoothness_options or {}))
    rm = honestdid.sensitivity_rm(beta, sigma, n_pre, n_post, Mbars, **common, **(rm_options or {}))
    orig = honestdid.original_ci(beta, sigma, n_pre, n_post, l_vec=l_vec, alpha=alpha)
    original = Aggregate(pd.Series({"theta": orig["estimate"]}), pd.Series({"theta": orig["se"]}),
                         nobs=int(getattr(es, "nobs", 0)), title="Event-study parameter under parallel trends")
    keep_sd = ["M", "lower", "upper", "estimate", "half_length", "max_bias"]
    return HonestDiDResult(original, pd.DataFrame([{k: r[k] for k in keep_sd} for r in sd]),
                           pd.DataFrame([{k: r[k] for k in ("Mbar", "lower", "upper")} for r in rm]),
                           (beta, sigma, n_pre, n_post), 1 - alpha)
