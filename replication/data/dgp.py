"""The parameters of the semi-synthetic panel's data-generating process (described in
:mod:`replication.data.simulate`): the per-indicator table, the switches (:class:`DGP`),
the fixed centres and spreads that standardise regressors, and the bounds of the skewed shares."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replication.data.schema import INDICATORS

# Per indicator: (offset, unit, kind, city-effect log-sd, year trend in z per year,
#                 loading on development, treatment loading delta, hc loading, st loading, noise sd)
# z is dimensionless; value = offset + unit * z.  "count"-like indicators have
# log-normal (skewed, positive) city effects; rates live near their upper bound.
IND = {
    #                      offset  unit      kind     lsd  trend  dev  delta  b_hc  b_st  noise
    "emerging_emp":        (0.0,  2000.0,   "count", 1.1, 0.10, 0.8, 0.60, 0.35, 0.30, 0.15),
    "avg_wage":            (30000, 8000.0,  "level", 0.25, 0.45, 0.4, 0.15, 0.15, 0.00, 0.10),
    "college_students":    (0.0,  40000.0,  "count", 1.0, 0.06, 0.5, 0.00, 0.90, 0.00, 0.08),
    "mobile_users":        (0.0,  150.0,    "count", 0.7, 0.12, 0.3, 0.10, 0.00, 0.00, 0.10),
    "internet_per100":     (9.0,  6.0,      "level", 0.4, 0.30, 0.5, 0.40, 0.00, 0.10, 0.15),
    "robot_density":       (0.0,  20.0,     "count", 1.0, 0.25, 0.7, 0.50, 0.10, 0.20, 0.20),
    "patents":             (0.0,  3000.0,   "count", 1.2, 0.15, 0.9, 0.60, 0.25, 0.45, 0.15),
    "rd_fiscal_share":     (0.0,  0.008,    "count", 0.6, 0.08, 0.4, 0.30, 0.05, 0.30, 0.15),
    "waste_harmless_rate": (99.5, 6.0,      "gap",   0.6, 0.25, 0.2, 0.00, 0.00, 0.00, 0.10),
    "sewage_treatment_rate": (99.0, 8.0,    "gap",   0.5, 0.20, 0.2, 0.00, 0.00, 0.00, 0.12),
    "solid_waste_use_rate": (95.0, 12.0,    "gap",   0.5, 0.05, 0.1, 0.00, 0.00, 0.00, 0.15),
    "telecom_volume":      (0.0,  150000.0, "count", 0.8, 0.25, 0.4, 0.20, 0.00, 0.00, 0.12),
    "industry_va_share":   (0.0,  1.0,      "loi",   0.0, 0.00, 0.0, 0.00, 0.00, 0.00, 0.00),
    "ai_firms":            (0.0,  40.0,     "count", 1.4, 0.18, 1.0, 0.80, 0.30, 0.40, 0.20),
    "data_use_index":      (16.0, 8.0,      "level", 0.3, 0.35, 0.5, 0.50, 0.10, 0.10, 0.20),
}
assert tuple(IND) == INDICATORS


@dataclass(frozen=True)
class DGP:
    """Switches of the data-generating process (all documented, all optional)."""

    batch_years: tuple[int, ...] = (2012, 2013, 2014)
    batch_sizes: tuple[int, ...] = (37, 33, 25)
    selection_strength: float = 1.0  # 0 = random assignment
    effect_scale: float = 1.5  # multiplies every treatment loading delta_j (0 = no effect at all)
    mu: float = 1.3  # baseline effect intensity
    region_effects: tuple[tuple[str, float], ...] = (("east", 0.1), ("central", -0.9), ("west", 0.8))
    size_effects: tuple[tuple[str, float], ...] = (("large", -1.0), ("small_medium", 0.3))
    thresholds: tuple[float, float] = (0.55, 1.30)  # true isu thresholds
    regime_effects: tuple[float, float, float] = (-1.6, -0.1, 0.45)
    dynamic_growth: float = 0.08  # effect grows by this share per year of exposure (0 = static)
    effect_noise: float = 1.0  # SD of a city-specific effect intensity (unexplained heterogeneity)
    effect_cell_noise: float = 0.5  # SD of city-year noise in the effect intensity
    pretrend: float = 0.0  # differential z trend per year before adoption for future pilots
    a_hc: float = 0.003  # did -> hc (students / population)
    a_st: float = 1.5  # did -> st (100 million yuan)
    mediator_scale: float = 2.0  # multiplies every mediator loading b_j
    noise_scale: float = 1.0  # multiplies the idiosyncratic noise of every indicator
    missing_rate: float = 0.003  # share of interior indicator/control cells deleted
    index_scale: float = 10.0  # scale of the entropy index used for the truth

    def regions(self) -> dict[str, float]:
        return dict(self.region_effects)

    def sizes(self) -> dict[str, float]:
        return dict(self.size_effects)


# reference centres and spreads used to standardise regressors inside z (fixed constants,
# so that z is linear in the regressors)
CENTRE = {"pd": 4.0, "pergdp": 4.0, "urb": 0.55, "gov": 0.2, "loi": 0.4, "hc": 0.02, "st": 5.0}
SPREAD = {"pd": 4.0, "pergdp": 3.0, "urb": 0.15, "gov": 0.1, "loi": 0.1, "hc": 0.02, "st": 10.0}
CONTROL_LOADINGS = {"pd": 0.05, "pergdp": 0.25, "urb": 0.10, "gov": 0.15, "loi": 0.0}


def standardised(name: str, x: np.ndarray) -> np.ndarray:
    return (x - CENTRE[name]) / SPREAD[name]


# Upper bounds of the two skewed shares (below the schema's possible 1.5 and 1): the identity
# up to ``start`` and a smooth, increasing saturation towards ``cap`` above it (continuous with
# slope 1 at ``start``), so that no seed draws an impossible value.  The starts lie above the
# default seed's largest values (gov 1.16, hc 0.53): its panel is unchanged, bit for bit.
GOV_BOUND = (1.2, 1.45)  # (start, cap)
HC_BOUND = (0.6, 0.95)


def bounded(x: np.ndarray, start: float, cap: float) -> np.ndarray:
    """x up to start; start + (cap - start) * tanh((x - start) / (cap - start)) above: always below cap."""
    w = cap - start
    return np.where(x <= start, x, start + w * np.tanh((np.maximum(x, start) - start) / w))


ROUNDING = {"emerging_emp": 0, "college_students": 0, "patents": 0, "ai_firms": 0, "avg_wage": 0,
             "mobile_users": 2, "telecom_volume": 1}  # decimals a yearbook prints (default 6)


def as_column(x) -> np.ndarray:
    """An n x T array as the panel's column (city-major)."""
    return np.asarray(x, dtype=float).reshape(-1)


def rounded(name: str, x: np.ndarray) -> np.ndarray:
    """An indicator at the precision a yearbook prints."""
    return np.round(as_column(x), ROUNDING.get(name, 6))
