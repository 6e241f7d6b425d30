"""The parameters of the semi-synthetic panel's data-generating process (described in
:mod:`replication.data.simulate`): the per-indicator table, the switches (:class:`DGP`),
the fixed centres and spreads that standardise regressors, and the bounds of the skewed shares.

Every switch of :class:`DGP` carries its documentation as data (``dataclasses.field``
metadata: meaning, unit, what it mirrors in the paper, the paper's cells it copies), so that
the book's page "The simulated world" renders its parameter table from here
(:func:`parameter_table`, :func:`indicator_table`, :func:`constants_table`, :data:`TRUTH_KEYS`)
instead of typing it twice."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from replication.data.schema import BY_NAME, INDICATORS

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


def _opt(default, meaning: str, unit: str, mirrors: str, *, paper: tuple = (), copies: bool = False):
    """A documented switch: its default and, as field metadata, its ``meaning``, ``unit``, what it
    ``mirrors`` in the paper, the ``paper`` cells it was set after ((table, row, columns) or
    ("text", key)) and whether the planted value ``copies`` a pattern the paper reports."""
    return field(default=default, metadata={"meaning": meaning, "unit": unit, "mirrors": mirrors,
                                            "paper": paper, "copies": copies})


KAPPA = "κ units (z per unit of δ_j)"  # the unit of the effect intensity and its parts


@dataclass(frozen=True)
class DGP:
    """Switches of the data-generating process (all documented, all optional): the
    documentation of each is its field's metadata (:func:`parameter_table`)."""

    batch_years: tuple[int, ...] = _opt(
        (2012, 2013, 2014), "years of the smart-city pilot batches (a city is treated from its batch year on)",
        "calendar year", "the three national pilot batches the paper uses (2012, 2013, 2014)")
    batch_sizes: tuple[int, ...] = _opt(
        (37, 33, 25), "prefecture-level cities drawn into each batch", "cities",
        "not reported: the paper's lists cover 277 regions, many of them districts or counties")
    selection_strength: float = _opt(
        1.0, "multiplies the selection score: pilots are likelier where GDP per capita, density, urbanisation "
        "and size are high and government spending is low (0 = random assignment)", "× score (dimensionless)",
        "the paper's PSM-DID (Table 3 (3a)/(3b)) presumes selection on observables",
        paper=((3, "did", ("(3a)", "(3b)")),))
    effect_scale: float = _opt(
        1.5, "multiplies every indicator's treatment loading δ_j (0 = no effect at all)", "× δ_j (dimensionless)",
        "the size of the effect; set for a positive average effect like the paper's Table 2 (5), not to its value",
        paper=((2, "did", ("(5)",)),), copies=True)
    mu: float = _opt(
        1.3, "baseline effect intensity κ, before the region, size and regime terms", KAPPA,
        "a positive average effect, as the paper's Table 2 (5) reports", paper=((2, "did", ("(5)",)),),
        copies=True)
    region_effects: tuple[tuple[str, float], ...] = _opt(
        (("east", 0.1), ("central", -0.9), ("west", 0.8)), "added to κ by region: the effect's regional pattern",
        KAPPA, "the paper's Table 7 pattern: west ≫ east > 0 > central",
        paper=((7, "did", ("west", "east", "central")),), copies=True)
    size_effects: tuple[tuple[str, float], ...] = _opt(
        (("large", -1.0), ("small_medium", 0.3)), "added to κ by city size (2020 census urban core ≥ 1 million = "
        "large)", KAPPA, "the paper's Table 7 pattern: small and medium ≫ large (negative)",
        paper=((7, "did", ("small_medium", "large")),), copies=True)
    thresholds: tuple[float, float] = _opt(
        (0.55, 1.30), "the two true thresholds γ1 < γ2 of isu that separate the three effect regimes",
        "isu (tertiary / secondary value added)", "the paper's estimated thresholds (Table 5, Section 6)",
        paper=(("text", "thresholds", ()),), copies=True)
    regime_effects: tuple[float, float, float] = _opt(
        (-1.6, -0.1, 0.45), "added to κ in the regimes isu ≤ γ1, γ1 < isu ≤ γ2, isu > γ2", KAPPA,
        "the paper's Table 6 pattern: negative, small, positive",
        paper=((6, "regime_1", ("coef",)), (6, "regime_2", ("coef",)), (6, "regime_3", ("coef",))), copies=True)
    dynamic_growth: float = _opt(
        0.08, "the effect grows by this share of κ per year of exposure t − pilot year (0 = static)", "1 / year",
        "no counterpart: the paper reports no event study (a feature for the staggered-adoption chapter)")
    effect_noise: float = _opt(
        1.0, "SD of a city-specific term of κ (heterogeneity no covariate explains)", KAPPA, "no counterpart")
    effect_cell_noise: float = _opt(
        0.5, "SD of a city-year term of κ", KAPPA, "no counterpart")
    pretrend: float = _opt(
        0.0, "differential trend of future pilots before adoption: their z moves by pretrend × (t − pilot "
        "year) × effect_scale × δ_j (0 = parallel trends hold)", "κ units per year",
        "the paper assumes parallel trends and shows no test of them (a teaching switch, off by default)")
    a_hc: float = _opt(
        0.003, "the pilot's effect on the mediator hc (path a of human capital)",
        "hc units (college students / population)", "the paper's Table 4 (2): did → hc",
        paper=((4, "did", ("(2)",)),), copies=True)
    a_st: float = _opt(
        1.5, "the pilot's effect on the mediator st (path a of science and technology)",
        "st units (100 million yuan)", "the paper's Table 4 (4): did → st (a copy of column (2) in the paper)",
        paper=((4, "did", ("(4)",)),), copies=True)
    mediator_scale: float = _opt(
        2.0, "multiplies every indicator's mediator loadings b_j^hc, b_j^st (0 = mediators do not move the "
        "index)", "× b_j (dimensionless)", "the paper's Table 4 (3)/(5): both mediators raise the index",
        paper=((4, "hc", ("(3)",)), (4, "st", ("(5)",))), copies=True)
    noise_scale: float = _opt(
        1.0, "multiplies the idiosyncratic noise SD σ_j of every indicator", "× σ_j (dimensionless)",
        "no counterpart")
    missing_rate: float = _opt(
        0.003, "probability that an interior-year cell of an indicator or control is deleted", "share of cells",
        "the paper's \"few missing values supplemented by interpolation\" (Section 4)")
    index_scale: float = _opt(
        10.0, "the entropy index runs from 0 to this; the truth is measured on this scale", "index points",
        "the paper does not state its index's scale")

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


# --- the documentation as tables (rendered on the book's page "The simulated world") --------

def shown_default(value) -> str:
    """A default as the page prints it: ``east 0.1, central -0.9, west 0.8``, ``2012, 2013, 2014``, ``1.5``."""
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ", ".join(f"{k} {v:g}" for k, v in value)
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" for v in value)
    return f"{value:g}"


def parameter_table() -> pd.DataFrame:
    """One row per switch of :class:`DGP`: name, meaning, default, unit, what it mirrors in the
    paper, whether the planted value copies a pattern the paper reports, and the paper's cells
    it was set after (``paper``: (table, row, columns) or ("text", key, ()))."""
    return pd.DataFrame([{"name": f.name, "meaning": f.metadata["meaning"], "default": shown_default(f.default),
                          "unit": f.metadata["unit"], "mirrors": f.metadata["mirrors"],
                          "copies the paper": f.metadata["copies"], "paper": f.metadata["paper"]}
                         for f in fields(DGP)])


def indicator_table() -> pd.DataFrame:
    """The fixed per-indicator constants of :data:`IND` (the symbols of the page's equations)."""
    cols = ["o_j", "u_j", "kind", "s_j", "θ_j", "ℓ_j", "δ_j", "b_j^hc", "b_j^st", "σ_j"]  # the page's symbols
    out = pd.DataFrame.from_dict(IND, orient="index", columns=cols).rename_axis("indicator").reset_index()
    out.insert(1, "unit", [BY_NAME[n].unit for n in out["indicator"]])
    return out


def constants_table() -> pd.DataFrame:
    """The fixed centres c_k and spreads s_k that standardise a regressor, z_k(x) = (x - c_k) / s_k,
    and each control's loading w_k in every indicator's z."""
    return pd.DataFrame([{"variable": k, "unit": BY_NAME[k].unit, "centre c_k": CENTRE[k], "spread s_k": SPREAD[k],
                          "loading w_k in z": CONTROL_LOADINGS.get(k, np.nan)} for k in CENTRE])


# The scalars of ``SimulatedPanel.truth`` (replication.data.truth): (key, or a pattern for a group
# of keys, meaning, unit).  "planted" keys repeat a switch of DGP; the others are computed.
TRUTH_KEYS = (
    ("att", "average effect of the pilots on the index over treated city-years: mean of NQP(Y(1)) − NQP(Y(0))",
     "index points"),
    ("att_direct", "the same with the mediators held at their untreated values (the direct effect)", "index points"),
    ("a_hc", "planted: DGP a_hc, the pilot's effect on hc", "hc units (college students / population)"),
    ("a_st", "planted: DGP a_st, the pilot's effect on st", "st units (100 million yuan)"),
    ("b_hc", "average marginal effect of hc on the index, untreated outcomes (finite difference)",
     "index points per hc unit"),
    ("b_st", "average marginal effect of st on the index, untreated outcomes (finite difference)",
     "index points per st unit"),
    ("indirect_hc", "a_hc × b_hc: the effect through human capital", "index points"),
    ("indirect_st", "a_st × b_st: the effect through science and technology", "index points"),
    ("threshold_1", "planted: the first threshold γ1 of DGP thresholds", "isu (tertiary / secondary value added)"),
    ("threshold_2", "planted: the second threshold γ2 of DGP thresholds", "isu (tertiary / secondary value added)"),
    ("n_treated_cities", "cities drawn into a pilot batch", "cities"),
    ("n_treated_cells", "city-years with did = 1", "city-years"),
    ("dynamic_growth", "planted: DGP dynamic_growth", "1 / year"),
    ("pretrend", "planted: DGP pretrend", "κ units per year"),
    ("selection_strength", "planted: DGP selection_strength", "× score (dimensionless)"),
    ("att_region_<region>", "the ATT over treated city-years of a region (east, central, west)", "index points"),
    ("att_size_<size>", "the ATT over treated city-years of large or small and medium cities", "index points"),
    ("att_regime_<r>", "the ATT over treated city-years in isu regime r (0: isu ≤ γ1, 1: γ1 < isu ≤ γ2, 2: above)",
     "index points"),
    ("att_cohort_<year>", "the ATT over the treated city-years of one pilot batch", "index points"),
    ("att_exposure_<e>", "the ATT over treated city-years e years after the pilot year (0 = the pilot year)",
     "index points"),
)


def truth_table() -> pd.DataFrame:
    """:data:`TRUTH_KEYS` as a table (key, meaning, unit)."""
    return pd.DataFrame(TRUTH_KEYS, columns=["key", "meaning", "unit"])


def truth_key_row(key: str) -> int | None:
    """The row of :data:`TRUTH_KEYS` that documents a key of ``truth`` (``att_region_west`` ->
    the ``att_region_<region>`` row), or None."""
    for i, (name, _, _) in enumerate(TRUTH_KEYS):
        if key == name or ("<" in name and key.startswith(name.split("<")[0]) and len(key) > len(name.split("<")[0])):
            return i
    return None
