"""Thin public wrappers that have no home in one estimator module (re-exported by
:mod:`replication`).  Only :func:`honest_did` for now."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import honestdid

DEFAULT_MBARS = (0.0, 0.5, 1.0, 1.5, 2.0)


def _event_study_inputs(es, first, last):
    """(beta, sigma, n_pre, n_post) of an event-study result or of such a tuple."""
    if isinstance(es, tuple) and len(es) == 4:
        beta, sigma, n_pre, n_post = es
        return np.asarray(beta, float), np.asarray(sigma, float), int(n_pre), int(n_post)
    if isinstance(es, dict) and "result" in es:  # replication.event_study
        beta, sigma, n_pre, n_post = honestdid.event_study_inputs(es)
        if first is None and last is None:
            return beta, sigma, n_pre, n_post
        r = es["result"]
        cols = [c for c in r.params.index if c[:1] == "e" and c[1:].lstrip("+-").isdigit()]
        lab = {c: int(c[1:]) for c in cols}
        return honestdid.event_time_inputs(r.params[cols].rename(lab),
                                        r.cov.loc[cols, cols].rename(index=lab, columns=lab), first=first, last=last)
    if isinstance(es, pd.DataFrame) and "cov" in es.attrs:  # replication.sun_abraham
        return honestdid.event_time_inputs(es.set_index("event_time")["coef"], es.attrs["cov"], first=first, last=last)
    raise TypeError("honest_did needs the result of replication.event_study or replication.sun_abraham, or a "
                    "tuple (beta, sigma, n_pre, n_post) in HonestDiD's layout")


def honest_did(es, *, Ms=None, Mbars=DEFAULT_MBARS, first: int | None = None, last: int | None = None,
               alpha: float = 0.05, l_vec=None, smoothness_options: dict | None = None,
               rm_options: dict | None = None) -> dict:
    """Rambachan-Roth (HonestDiD) sensitivity of an event study, both restrictions.

    ``es``: the result of :func:`replication.event_study` or :func:`replication.sun_abraham`,
    or a tuple ``(beta, sigma, n_pre, n_post)`` (event times in order, reference period
    omitted).  ``first``/``last`` keep the event times ``first..last`` of a result.
    ``Ms``: bounds of the smoothness restriction Delta^SD(M) (default: five values from 0
    to the largest absolute change between consecutive pre-period coefficients, the
    reference period counted as 0); ``Mbars``: bounds of the relative-magnitudes
    restriction Delta^RM(Mbar).  Options go to :func:`replication.estimators.honestdid.flci_smoothness`
    and :func:`replication.estimators.honestdid.rm_confidence_set`.

    Returns ``{"original": dict, "smoothness": DataFrame, "relative_magnitudes": DataFrame,
    "inputs": (beta, sigma, n_pre, n_post)}``; the tables have ``M`` (``Mbar``), ``lower``,
    ``upper`` (and for smoothness ``estimate``, ``half_length``, ``max_bias``)."""
    beta, sigma, n_pre, n_post = _event_study_inputs(es, first, last)
    if Ms is None:
        top = float(np.abs(np.diff(np.r_[beta[:n_pre], 0.0])).max()) if n_pre else 0.0
        Ms = np.linspace(0.0, top, 5)
    common = {"alpha": alpha, "l_vec": l_vec}
    sd = honestdid.sensitivity_smoothness(beta, sigma, n_pre, n_post, Ms, **common, **(smoothness_options or {}))
    rm = honestdid.sensitivity_rm(beta, sigma, n_pre, n_post, Mbars, **common, **(rm_options or {}))
    keep_sd = ["M", "lower", "upper", "estimate", "half_length", "max_bias"]
    return {"original": honestdid.original_ci(beta, sigma, n_pre, n_post, l_vec=l_vec, alpha=alpha),
            "smoothness": pd.DataFrame([{k: r[k] for k in keep_sd} for r in sd]),
            "relative_magnitudes": pd.DataFrame([{k: r[k] for k in ("Mbar", "lower", "upper")} for r in rm]),
            "inputs": (beta, sigma, n_pre, n_post)}
