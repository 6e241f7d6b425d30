"""The semi-synthetic default panel: real city roster, simulated outcomes, known truth.

No open source holds the paper's yearbook panel or a city-level list of smart-city
pilots, so the default data keeps every real fact we have (roster, provinces,
regions, 2020 census city size, seat coordinates, Broadband China lists) and
simulates the rest from the data-generating process (DGP) below, whose true
parameters are returned with the data (:attr:`SimulatedPanel.truth`).

The DGP, for city i in year t (all switches in :class:`DGP`):

* **Controls** ``pd pergdp urb gov loi`` have city levels that depend on a latent
  development factor (higher in large and eastern cities) and city-specific growth;
  the sector shares give the threshold variable ``isu = tertiary / secondary``.  Shares
  are bounded by construction: ``urb`` is logistic, ``loi`` clipped, and the skewed
  ``gov`` (log-normal) and ``hc`` saturate smoothly above 1.2 and 0.6 (``_bounded``:
  always below 1.45 and 0.95), so every seed gives a valid panel.
* **Pilot selection on observables**: a logit score on the pre-period (2011)
  controls and city size; the batches (sizes ``batch_sizes``) are drawn without
  replacement with probability rising in the score, so treated and control cities
  differ on observables and PSM has something to do.
* **Mediators** ``hc`` and ``st`` follow city effects, common year effects and the
  controls, plus ``a_hc * did`` and ``a_st * did``.
* **Indicators**: each of the 15 is ``offset + unit * z`` (clipped to its range) with
  ``z = city effect + year effect + controls + b_j * mediators + delta_j * kappa_it * did + noise``.
  The effect intensity ``kappa_it = (1 + dynamic_growth * e) * (mu + region_i + size_i +
  regime(isu_it))`` grows with exposure ``e = t - pilot_year`` and varies by region, city
  size and the ``isu`` regime (two thresholds).  An optional differential pre-trend
  for future pilots breaks parallel trends (teaching switch, off by default).
* A few interior values are deleted (``missing_rate``); the loader interpolates them,
  as the paper does.

The **truth** is computed from potential outcomes, never assumed: the entropy index
is fitted on the observed panel, both ``Y(1)`` and ``Y(0)`` indicators are scored
with that same fitted index, and the ATT is the mean difference over treated
post-adoption city-years (overall, by region, size, regime, cohort and exposure).
The mediator paths ``a`` are planted; ``b`` is the average marginal effect of the
mediator on the fitted index, by finite difference through the same machinery.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from replication.data import facts
from replication.data.schema import INDICATORS

# Per indicator: (offset, unit, kind, city-effect log-sd, year trend in z per year,
#                 loading on development, treatment loading delta, hc loading, st loading, noise sd)
# z is dimensionless; value = offset + unit * z.  "count"-like indicators have
# log-normal (skewed, positive) city effects; rates live near their upper bound.
_IND = {
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
assert tuple(_IND) == INDICATORS


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


class SimulatedPanel:
    """The simulated panel, its potential outcomes and the DGP's true values.

    ``truth`` and ``potential`` are computed on first access (scoring the potential
    outcomes with the fitted index takes most of a simulation's time, and ``load_panel``
    needs only the panel); the numbers do not depend on when they are computed.
    """

    def __init__(self, panel: pd.DataFrame, dgp: DGP, seed: int, years: tuple[int, int], compute_truth):
        self.panel, self.dgp, self.seed, self.years = panel, dgp, seed, years
        self._compute_truth = compute_truth
        self._truth: dict | None = None
        self._potential: dict | None = None

    def _ensure(self) -> None:
        if self._truth is None:
            self._truth, self._potential = self._compute_truth()
            self._compute_truth = None  # free what the closure holds

    @property
    def truth(self) -> dict:
        self._ensure()
        return self._truth

    @property
    def potential(self) -> dict:
        self._ensure()
        return self._potential

    def __repr__(self) -> str:
        return f"SimulatedPanel(seed={self.seed}, years={self.years}, rows={len(self.panel)})"

    def truth_table(self) -> pd.DataFrame:
        """The scalar truths as a two-column table (parameter, value)."""
        rows = [(k, v) for k, v in self.truth.items() if np.isscalar(v)]
        return pd.DataFrame(rows, columns=["parameter", "value"])


# reference centres and spreads used to standardise regressors inside z (fixed constants,
# so that z is linear in the regressors)
_CENTRE = {"pd": 4.0, "pergdp": 4.0, "urb": 0.55, "gov": 0.2, "loi": 0.4, "hc": 0.02, "st": 5.0}
_SPREAD = {"pd": 4.0, "pergdp": 3.0, "urb": 0.15, "gov": 0.1, "loi": 0.1, "hc": 0.02, "st": 10.0}
_CONTROL_LOADINGS = {"pd": 0.05, "pergdp": 0.25, "urb": 0.10, "gov": 0.15, "loi": 0.0}


def _std(name: str, x: np.ndarray) -> np.ndarray:
    return (x - _CENTRE[name]) / _SPREAD[name]


# Upper bounds of the two skewed shares (below the schema's possible 1.5 and 1): the identity
# up to ``start`` and a smooth, increasing saturation towards ``cap`` above it (continuous with
# slope 1 at ``start``), so that no seed draws an impossible value.  The starts lie above the
# default seed's largest values (gov 1.16, hc 0.53): its panel is unchanged, bit for bit.
GOV_BOUND = (1.2, 1.45)  # (start, cap)
HC_BOUND = (0.6, 0.95)


def _bounded(x: np.ndarray, start: float, cap: float) -> np.ndarray:
    """x up to start; start + (cap - start) * tanh((x - start) / (cap - start)) above: always below cap."""
    w = cap - start
    return np.where(x <= start, x, start + w * np.tanh((np.maximum(x, start) - start) / w))


def simulate_panel(seed: int = 20251206, years: tuple[int, int] = (2009, 2022), **dgp_options) -> SimulatedPanel:
    """Simulate the semi-synthetic panel for the real roster of ``years``.

    ``seed`` seeds one ``numpy.random.Generator`` (PCG64); the same seed, years and
    options give the same panel bit for bit.  ``dgp_options`` are fields of
    :class:`DGP` (e.g. ``dynamic_growth=0``, ``pretrend=0.05``, ``effect_scale=0``).
    """
    unknown = sorted(set(dgp_options) - set(DGP.__dataclass_fields__))
    if unknown:
        raise TypeError(f"unknown DGP option(s) {unknown}; valid: {sorted(DGP.__dataclass_fields__)}")
    dgp = DGP(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in dgp_options.items()})
    if len(dgp.batch_years) != len(dgp.batch_sizes):
        raise ValueError("batch_years and batch_sizes must have the same length")
    rng = np.random.default_rng(seed)
    a, b = facts._check_years(years)
    ros = facts.roster((a, b))
    n = len(ros)
    if sum(dgp.batch_sizes) > n:
        raise ValueError(f"batch sizes {dgp.batch_sizes} exceed the {n} cities of the roster")
    T = b - a + 1
    yr = np.arange(a, b + 1)
    tt = (yr - 2012)[None, :].astype(float)  # years from 2012 (calibration year)
    cal = facts.calibration()

    # ---- city-level latent factors ---------------------------------------------------
    large = ros["large_city"].fillna(0).to_numpy(dtype=float)
    region = ros["region"].to_numpy()
    east, west = (region == "east").astype(float), (region == "west").astype(float)
    logpop = np.log(ros["urban_core_pop_2020"].fillna(ros["urban_core_pop_2020"].median()).to_numpy(float))
    zpop = (logpop - logpop.mean()) / logpop.std()
    dev = 0.45 * zpop + 0.35 * east - 0.30 * west + rng.normal(0, 0.6, n)  # development factor
    dev = (dev - dev.mean()) / dev.std()

    def panel_noise(sd):
        return rng.normal(0.0, sd, (n, T))

    # ---- controls ----------------------------------------------------------------------
    lsd = cal["gdp_per_capita_2012_log_sd"]
    pergdp = np.exp(np.log(cal["gdp_per_capita_2012_median"]) + 0.75 * lsd * dev[:, None]
                    + (0.075 + 0.01 * dev[:, None]) * tt + panel_noise(0.03))
    pd_ = np.exp(np.log(4.0) + 0.55 * zpop[:, None] + rng.normal(0, 0.5, n)[:, None]
                 + 0.004 * tt + panel_noise(0.02))
    urb_lat = 0.2 + 0.6 * dev[:, None] + rng.normal(0, 0.3, n)[:, None] + 0.06 * tt + panel_noise(0.03)
    urb = 1.0 / (1.0 + np.exp(-urb_lat))
    gov = _bounded(np.exp(np.log(0.19) - 0.25 * dev[:, None] + 0.25 * west[:, None] + rng.normal(0, 0.3, n)[:, None]
                          + 0.01 * tt + panel_noise(0.05)), *GOV_BOUND)
    # sector shares: calibrated so that the 2012 mean tertiary share is the real one
    loi_2012 = 1.0 - 0.12 - 0.065 - cal["tertiary_share_2012_mean"]
    loi = np.clip(loi_2012 + 0.05 * dev[:, None] + rng.normal(0, 0.07, n)[:, None]
                  - 0.009 * tt + panel_noise(0.015), 0.08, 0.75)
    primary = np.clip(0.12 - 0.04 * dev[:, None] + rng.normal(0, 0.03, n)[:, None]
                      - 0.002 * tt + panel_noise(0.005), 0.005, 0.35)
    secondary = loi + 0.065
    tertiary = np.clip(1.0 - primary - secondary, 0.12, None)
    isu = tertiary / secondary

    # ---- pilot selection on observables ------------------------------------------------
    i11 = min(max(2011, a), b) - a  # pre-period column
    score = dgp.selection_strength * (
        0.35 * _std("pergdp", pergdp[:, i11]) + 0.15 * _std("pd", pd_[:, i11])
        + 0.6 * _std("urb", urb[:, i11]) - 0.3 * _std("gov", gov[:, i11]) + 0.3 * large)
    # Gumbel top-k = sampling without replacement with probability proportional to exp(score)
    keys = score + rng.gumbel(size=n)
    order = np.argsort(-keys, kind="stable")
    pilot_year = np.full(n, np.nan)
    start = 0
    for by, bs in zip(dgp.batch_years, dgp.batch_sizes):
        pilot_year[order[start:start + bs]] = by
        start += bs
    treated = ~np.isnan(pilot_year)
    D = (treated[:, None] & (yr[None, :] >= np.nan_to_num(pilot_year, nan=9999)[:, None])).astype(float)
    expo = np.where(D > 0, yr[None, :] - np.nan_to_num(pilot_year, nan=0)[:, None], 0.0)

    # ---- effect intensity kappa_it -----------------------------------------------------
    g1, g2 = dgp.thresholds
    regime = np.where(isu <= g1, 0, np.where(isu <= g2, 1, 2))
    reg_eff = np.array(dgp.regime_effects)[regime]
    size_key = np.where(large > 0, "large", "small_medium")
    het = (dgp.mu + np.vectorize(dgp.regions().get)(region) + np.vectorize(dgp.sizes().get)(size_key))
    eta = rng.normal(0.0, 1.0, n)[:, None] * dgp.effect_noise + rng.normal(0.0, 1.0, (n, T)) * dgp.effect_cell_noise
    kappa = (1.0 + dgp.dynamic_growth * expo) * (het[:, None] + reg_eff + eta)
    pre = np.where(treated[:, None] & (D == 0),
                   dgp.pretrend * (yr[None, :] - np.nan_to_num(pilot_year, nan=0)[:, None]), 0.0)

    # ---- mediators ---------------------------------------------------------------------
    hc0 = np.exp(np.log(0.012) + 0.9 * zpop[:, None] * 0.6 + 0.5 * dev[:, None]
                 + rng.normal(0, 0.6, n)[:, None]) + 0.0006 * (tt + 3) + 0.002 * _std("pergdp", pergdp) * 0.2 \
        + panel_noise(0.0012)
    hc0 = _bounded(np.clip(hc0, 0.0005, None), *HC_BOUND)
    st0 = np.exp(np.log(2.0) + 0.9 * dev[:, None] + rng.normal(0, 0.5, n)[:, None]) + 0.35 * (tt + 3) \
        + 1.2 * _std("pergdp", pergdp) + panel_noise(0.4)
    st0 = np.clip(st0, 0.05, None)

    # ---- indicators --------------------------------------------------------------------
    ctrl_part = sum(w * _std(k, v) for (k, w), v in
                    zip(_CONTROL_LOADINGS.items(), (pd_, pergdp, urb, gov, loi)))
    city_eff, year_eff, noise = {}, {}, {}
    for name, (off, unit, kind, clsd, trend, load, *_rest, nsd) in _IND.items():
        if kind == "loi":
            continue
        ce = load * dev + rng.normal(0, clsd, n)
        city_eff[name] = np.exp(ce) if kind == "count" else ce
        year_eff[name] = trend * (yr - a) + rng.normal(0, 0.02, T)
        noise[name] = panel_noise(nsd * dgp.noise_scale)

    def indicators(Dm: np.ndarray, hc: np.ndarray, st: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, (off, unit, kind, _lsd, _tr, _ld, delta, bhc, bst, _n) in _IND.items():
            if kind == "loi":
                out[name] = loi.copy()
                continue
            z = (city_eff[name][:, None] + year_eff[name][None, :] + ctrl_part
                 + dgp.mediator_scale * (bhc * _std("hc", hc) + bst * _std("st", st))
                 + dgp.effect_scale * delta * (kappa * Dm + pre) + noise[name])
            if kind == "gap":  # a rate: offset minus a positive gap that shrinks over time
                gap = unit * np.exp(-(z - city_eff[name][:, None]) * 0.5) * np.exp(city_eff[name][:, None])
                val = off - gap
                lo, hi = 0.0, 100.0
            else:
                val = off + unit * z
                lo, hi = 0.0, (100.0 if name == "data_use_index" else (1.0 if name == "rd_fiscal_share" else np.inf))
            floor = 0.02 * unit if kind == "count" else lo
            out[name] = np.clip(val, max(floor, lo), hi)
        return out

    hc1, st1 = hc0 + dgp.a_hc * D, st0 + dgp.a_st * D
    Y1 = indicators(D, hc1, st1)  # observed: treated cells get their treated potential outcome
    Y0 = indicators(np.zeros_like(D), hc0, st0)  # no pilot at all (no mediator shift either)

    # ---- assemble the panel ------------------------------------------------------------
    def long(x):
        return np.asarray(x, dtype=float).reshape(-1)

    df = pd.DataFrame({
        "city_code": np.repeat(ros["city_code"].to_numpy(), T),
        "year": np.tile(yr, n),
    })
    for c in ("city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
              "urban_core_pop_2020", "size_class", "large_city", "lon", "lat"):
        df[c] = np.repeat(ros[c].to_numpy(), T)
    df["pilot_year"] = pd.array(np.repeat(pilot_year, T), dtype="Float64").astype("Int64")
    df["broadband_year"] = np.repeat(ros["broadband_year"].to_numpy(), T)
    rounding = {"emerging_emp": 0, "college_students": 0, "patents": 0, "ai_firms": 0, "avg_wage": 0,
                "mobile_users": 2, "telecom_volume": 1}

    def rounded(name: str, x: np.ndarray) -> np.ndarray:  # the precision a yearbook prints
        return np.round(long(x), rounding.get(name, 6))

    for name in INDICATORS:
        df[name] = rounded(name, Y1[name])
    for name, x in (("pd", pd_), ("pergdp", pergdp), ("urb", urb), ("gov", gov), ("loi", loi),
                    ("hc", hc1), ("st", st1), ("isu", isu)):
        df[name] = np.round(long(x), 6)
    df["industry_va_share"] = df["loi"]

    # ---- truth, from potential outcomes (computed on first access of .truth) ----------
    def compute_truth(df: pd.DataFrame = df.copy()) -> tuple[dict, dict]:
        from replication.data.index import entropy_index

        idx = entropy_index(df, scale=dgp.index_scale)
        y_obs = idx.score(df).to_numpy()
        p0 = df.copy()
        for name in INDICATORS:
            p0[name] = rounded(name, Y0[name])
        p0["industry_va_share"] = p0["loi"]
        y0 = idx.score(p0).to_numpy()
        te = y_obs - y0
        Dl = long(D) > 0

        def marginal(med: str) -> float:
            eps = {"hc": 1e-4, "st": 0.1}[med]
            hc_, st_ = (hc0 + eps, st0) if med == "hc" else (hc0, st0 + eps)
            Ye = indicators(np.zeros_like(D), hc_, st_)
            pe, pz = p0.copy(), p0.copy()
            for name in INDICATORS:  # unrounded on both sides: rounding would swamp a small step
                pe[name], pz[name] = long(Ye[name]), long(Y0[name])
            return float(np.mean(idx.score(pe).to_numpy() - idx.score(pz).to_numpy()) / eps)

        b_hc, b_st = marginal("hc"), marginal("st")
        # direct effect: treatment on the indicators with the mediators held at Y(0)
        Yd = indicators(D, hc0, st0)
        pdir = p0.copy()
        for name in INDICATORS:
            pdir[name] = rounded(name, Yd[name])
        direct = idx.score(pdir).to_numpy() - y0

        cells = df.loc[Dl, ["city_code", "year", "region", "large_city", "pilot_year"]].copy()
        cells["te"] = te[Dl]
        cells["exposure"] = long(expo)[Dl].astype(int)
        cells["regime"] = long(regime)[Dl].astype(int)
        truth = {
            "att": float(te[Dl].mean()),
            "att_direct": float(direct[Dl].mean()),
            "a_hc": dgp.a_hc, "b_hc": b_hc, "indirect_hc": dgp.a_hc * b_hc,
            "a_st": dgp.a_st, "b_st": b_st, "indirect_st": dgp.a_st * b_st,
            "threshold_1": g1, "threshold_2": g2,
            "n_treated_cities": int(treated.sum()),
            "n_treated_cells": int(Dl.sum()),
            "dynamic_growth": dgp.dynamic_growth, "pretrend": dgp.pretrend,
            "selection_strength": dgp.selection_strength,
        }
        for key, grp in (("region", "region"), ("size", "large_city"), ("regime", "regime"),
                         ("cohort", "pilot_year"), ("exposure", "exposure")):
            s = cells.groupby(grp)["te"].mean()
            for k, v in s.items():
                label = {0: "small_medium", 1: "large"}.get(k, k) if key == "size" else k
                truth[f"att_{key}_{label}"] = float(v)
        truth["index_weights"] = idx.weights.to_dict()
        truth["dgp"] = asdict(dgp)
        truth["cell_effects"] = cells.reset_index(drop=True)
        return truth, {"y0_index": y0, "y_index": y_obs, "index": idx}

    # ---- a few missing values (interior only, so interpolation is defined) -------------
    if dgp.missing_rate > 0:
        cols = [c for c in INDICATORS if c != "industry_va_share"] + ["pd", "pergdp", "urb", "gov"]
        interior = ~df["year"].isin([a, b]).to_numpy()
        for c in cols:
            hit = interior & (rng.random(len(df)) < dgp.missing_rate)
            df.loc[hit, c] = np.nan

    return SimulatedPanel(panel=df, dgp=dgp, seed=seed, years=(a, b), compute_truth=compute_truth)
