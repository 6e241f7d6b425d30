"""The distribution functions the estimators use (Student t, normal, F, chi-squared), from
:mod:`scipy.special`: exactly the functions :mod:`scipy.stats` calls underneath (``t.sf`` is
``stdtr(df, -x)``, ``norm.ppf`` is ``ndtri``, ``f.sf`` is ``fdtrc``, ``chi2.sf`` is ``chdtrc``),
so the values are the same to the last bit (tested), without importing ``scipy.stats``, which
costs every chapter's kernel 0.6-0.9 s."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from scipy import special


@dataclass(frozen=True)
class Distribution:
    """sf, cdf and ppf of one continuous distribution (vectorised, as scipy.stats' frozen ones)."""
    sf: Callable
    cdf: Callable
    ppf: Callable


def t(df: float) -> Distribution:
    """Student's t with ``df`` degrees of freedom."""
    return Distribution(lambda x: special.stdtr(df, -x), lambda x: special.stdtr(df, x),
                        lambda q: special.stdtrit(df, q))


norm = Distribution(lambda x: special.ndtr(-x), special.ndtr, special.ndtri)  # the standard normal


def f_sf(x, dfn: float, dfd: float):
    """Survival function of the F distribution."""
    return special.fdtrc(dfn, dfd, x)


def chi2_sf(x, df: float):
    """Survival function of the chi-squared distribution."""
    return special.chdtrc(df, x)
