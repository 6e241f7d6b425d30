"""The semi-synthetic default panel: real city roster, simulated outcomes, known truth.

No open source holds the paper's yearbook panel or a city-level list of smart-city
pilots, so the default data keeps every real fact we have (roster, provinces,
regions, 2020 census city size, seat coordinates, Broadband China lists) and
simulates the rest from the data-generating process (DGP) below (its parameters in
:mod:`replication.data.dgp`), whose true parameters are returned with the data
(:attr:`SimulatedPanel.truth`).

The DGP, for city i in year t (all switches in :class:`DGP`):

* **Controls** ``pd pergdp urb gov loi`` have city levels that depend on a latent
  development factor (higher in large and eastern cities) and city-specific growth;
  the sector shares give the threshold variable ``isu = tertiary / secondary``.  Shares
  are bounded by construction: ``urb`` is logistic, ``loi`` clipped, and the skewed
  ``gov`` (log-normal) and ``hc`` saturate smoothly above 1.2 and 0.6
  (:func:`replication.data.dgp.bounded`: always below 1.45 and 0.95), so every seed gives a valid panel.
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

The **truth** is computed from potential outcomes, never assumed: both ``Y(1)`` and
``Y(0)`` are scored with the index fitted on the observed panel
(:mod:`replication.data.truth`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
import pandas as pd

from replication.data import facts
from replication.data.dgp import CONTROL_LOADINGS, DGP, GOV_BOUND, HC_BOUND, IND, as_column, bounded, rounded
from replication.data.dgp import standardised as _std
from replication.data.schema import INDICATORS
from replication.data.truth import compute_truth


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


def simulate_panel(seed: int = 20251206, years: tuple[int, int] = (2009, 2022), *, design_seed: int | None = None,
                   **dgp_options) -> SimulatedPanel:
    """Simulate the semi-synthetic panel for the real roster of ``years``.

    ``seed`` seeds one ``numpy.random.Generator`` (PCG64); the same seed, years and
    options give the same panel bit for bit.  ``dgp_options`` are fields of
    :class:`DGP` (e.g. ``dynamic_growth=0``, ``pretrend=0.05``, ``effect_scale=0``).

    The steps below draw from the generator in a fixed order (city factors, controls,
    pilots, effect intensity, mediators, indicators, missing cells): reordering them
    would change every panel.

    ``design_seed`` holds the design fixed: the city factors, controls (hence ``isu``),
    pilot assignment and the positions of the missing cells are drawn from a second
    generator seeded with ``design_seed``, and only the outcomes (effect intensity,
    mediators, indicators) from ``seed``; panels with the same ``design_seed`` share
    their design and differ in their outcomes (the Monte Carlo's fixed-design option).
    ``None`` (the default) draws everything from ``seed``, as above.
    """
    dgp = _make_dgp(dgp_options)
    rng = np.random.default_rng(seed)
    drng = rng if design_seed is None else np.random.default_rng(design_seed)  # the design's generator
    g = _Grid.of(years)
    if sum(dgp.batch_sizes) > g.n:
        raise ValueError(f"batch sizes {dgp.batch_sizes} exceed the {g.n} cities of the roster")
    city = _city_factors(g, drng)
    ctrl = _controls(g, drng, city)
    pilots = _assign_pilots(g, drng, dgp, city, ctrl)
    kappa, regime, pre = _effect_intensity(g, rng, dgp, city, ctrl["isu"], pilots)
    hc0, st0 = _mediators(g, rng, city, ctrl["pergdp"])
    model = _IndicatorModel(g, rng, dgp, city["dev"], ctrl, kappa, pre)
    D = pilots["D"]
    hc1, st1 = hc0 + dgp.a_hc * D, st0 + dgp.a_st * D
    Y1 = model(D, hc1, st1)  # observed: treated cells get their treated potential outcome
    Y0 = model(np.zeros_like(D), hc0, st0)  # no pilot at all (no mediator shift either)
    cols = _assemble(g, pilots["pilot_year"], Y1, {**ctrl, "hc": hc1, "st": st1})
    # the truth is computed on first access of .truth, from the panel before any cell is deleted
    truth = partial(compute_truth, pd.DataFrame(cols), dgp, model, Y0, (hc0, st0), pilots, regime)
    _delete_cells(cols, drng, dgp, g)
    df = pd.DataFrame(cols)
    return SimulatedPanel(panel=df, dgp=dgp, seed=seed, years=(g.a, g.b), compute_truth=truth)


def _make_dgp(options: dict) -> DGP:
    unknown = sorted(set(options) - set(DGP.__dataclass_fields__))
    if unknown:
        raise TypeError(f"unknown DGP option(s) {unknown}; valid: {sorted(DGP.__dataclass_fields__)}")
    dgp = DGP(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()})
    if len(dgp.batch_years) != len(dgp.batch_sizes):
        raise ValueError("batch_years and batch_sizes must have the same length")
    return dgp


@dataclass(frozen=True)
class _Grid:
    """The real roster of the years a..b: n cities by T years."""

    ros: pd.DataFrame
    a: int
    b: int

    @classmethod
    def of(cls, years) -> "_Grid":
        a, b = facts._check_years(years)
        return cls(_roster(a, b), a, b)

    @property
    def n(self) -> int:
        return len(self.ros)

    @property
    def T(self) -> int:
        return self.b - self.a + 1

    @property
    def yr(self) -> np.ndarray:
        return np.arange(self.a, self.b + 1)

    @property
    def tt(self) -> np.ndarray:
        return (self.yr - 2012)[None, :].astype(float)  # years from 2012 (calibration year)

    def noise(self, rng: np.random.Generator, sd) -> np.ndarray:
        """City-year noise (n x T)."""
        return rng.normal(0.0, sd, (self.n, self.T))


@lru_cache(maxsize=8)
def _roster(a: int, b: int) -> pd.DataFrame:
    """:func:`replication.data.facts.roster` of the years a..b, derived once per process (the
    simulator only reads it)."""
    return facts.roster((a, b))


@lru_cache(maxsize=None)
def _moments() -> tuple:
    """:func:`replication.data.facts.calibration`'s moments, read once per process."""
    return tuple(facts.calibration().items())


def _city_factors(g: _Grid, rng: np.random.Generator) -> dict:
    """City size, region and the latent development factor (higher in large, eastern cities)."""
    ros = g.ros
    large = ros["large_city"].fillna(0).to_numpy(dtype=float)
    region = ros["region"].to_numpy()
    east, west = (region == "east").astype(float), (region == "west").astype(float)
    logpop = np.log(ros["urban_core_pop_2020"].fillna(ros["urban_core_pop_2020"].median()).to_numpy(float))
    zpop = (logpop - logpop.mean()) / logpop.std()
    dev = 0.45 * zpop + 0.35 * east - 0.30 * west + rng.normal(0, 0.6, g.n)  # development factor
    dev = (dev - dev.mean()) / dev.std()
    return {"large": large, "region": region, "west": west, "zpop": zpop, "dev": dev}


def _controls(g: _Grid, rng: np.random.Generator, city: dict) -> dict:
    """The controls pd pergdp urb gov loi and the threshold variable isu (n x T each)."""
    cal = dict(_moments())
    n, tt, dev, zpop, west = g.n, g.tt, city["dev"][:, None], city["zpop"][:, None], city["west"][:, None]
    lsd = cal["gdp_per_capita_2012_log_sd"]
    pergdp = np.exp(np.log(cal["gdp_per_capita_2012_median"]) + 0.75 * lsd * dev
                    + (0.075 + 0.01 * dev) * tt + g.noise(rng, 0.03))
    pd_ = np.exp(np.log(4.0) + 0.55 * zpop + rng.normal(0, 0.5, n)[:, None] + 0.004 * tt + g.noise(rng, 0.02))
    urb_lat = 0.2 + 0.6 * dev + rng.normal(0, 0.3, n)[:, None] + 0.06 * tt + g.noise(rng, 0.03)
    urb = 1.0 / (1.0 + np.exp(-urb_lat))
    gov = bounded(np.exp(np.log(0.19) - 0.25 * dev + 0.25 * west + rng.normal(0, 0.3, n)[:, None]
                          + 0.01 * tt + g.noise(rng, 0.05)), *GOV_BOUND)
    # sector shares: calibrated so that the 2012 mean tertiary share is the real one
    loi_2012 = 1.0 - 0.12 - 0.065 - cal["tertiary_share_2012_mean"]
    loi = np.clip(loi_2012 + 0.05 * dev + rng.normal(0, 0.07, n)[:, None]
                  - 0.009 * tt + g.noise(rng, 0.015), 0.08, 0.75)
    primary = np.clip(0.12 - 0.04 * dev + rng.normal(0, 0.03, n)[:, None]
                      - 0.002 * tt + g.noise(rng, 0.005), 0.005, 0.35)
    secondary = loi + 0.065
    tertiary = np.clip(1.0 - primary - secondary, 0.12, None)
    return {"pd": pd_, "pergdp": pergdp, "urb": urb, "gov": gov, "loi": loi, "isu": tertiary / secondary}


def _assign_pilots(g: _Grid, rng: np.random.Generator, dgp: DGP, city: dict, ctrl: dict) -> dict:
    """Pilot selection on the pre-period (2011) observables: the batches are drawn without
    replacement with probability rising in a logit score.  Returns pilot_year (n), treated
    (n), D (n x T, Treat x Post) and the exposure t - pilot_year (n x T, 0 untreated)."""
    i11 = min(max(2011, g.a), g.b) - g.a  # pre-period column
    score = dgp.selection_strength * (
        0.35 * _std("pergdp", ctrl["pergdp"][:, i11]) + 0.15 * _std("pd", ctrl["pd"][:, i11])
        + 0.6 * _std("urb", ctrl["urb"][:, i11]) - 0.3 * _std("gov", ctrl["gov"][:, i11]) + 0.3 * city["large"])
    # Gumbel top-k = sampling without replacement with probability proportional to exp(score)
    keys = score + rng.gumbel(size=g.n)
    order = np.argsort(-keys, kind="stable")
    pilot_year = np.full(g.n, np.nan)
    start = 0
    for by, bs in zip(dgp.batch_years, dgp.batch_sizes):
        pilot_year[order[start:start + bs]] = by
        start += bs
    treated = ~np.isnan(pilot_year)
    yr = g.yr
    D = (treated[:, None] & (yr[None, :] >= np.nan_to_num(pilot_year, nan=9999)[:, None])).astype(float)
    expo = np.where(D > 0, yr[None, :] - np.nan_to_num(pilot_year, nan=0)[:, None], 0.0)
    return {"pilot_year": pilot_year, "treated": treated, "D": D, "expo": expo}


def _effect_intensity(g: _Grid, rng: np.random.Generator, dgp: DGP, city: dict, isu: np.ndarray, pilots: dict):
    """(kappa_it, isu regime 0/1/2, differential pre-trend of future pilots), each n x T."""
    g1, g2 = dgp.thresholds
    regime = np.where(isu <= g1, 0, np.where(isu <= g2, 1, 2))
    reg_eff = np.array(dgp.regime_effects)[regime]
    size_key = np.where(city["large"] > 0, "large", "small_medium")
    het = (dgp.mu + np.vectorize(dgp.regions().get)(city["region"]) + np.vectorize(dgp.sizes().get)(size_key))
    eta = (rng.normal(0.0, 1.0, g.n)[:, None] * dgp.effect_noise
           + rng.normal(0.0, 1.0, (g.n, g.T)) * dgp.effect_cell_noise)
    kappa = (1.0 + dgp.dynamic_growth * pilots["expo"]) * (het[:, None] + reg_eff + eta)
    since = g.yr[None, :] - np.nan_to_num(pilots["pilot_year"], nan=0)[:, None]
    pre = np.where(pilots["treated"][:, None] & (pilots["D"] == 0), dgp.pretrend * since, 0.0)
    return kappa, regime, pre


def _mediators(g: _Grid, rng: np.random.Generator, city: dict, pergdp: np.ndarray):
    """The untreated mediators hc and st (n x T each); the pilot adds a_hc, a_st to them."""
    n, tt, dev, zpop = g.n, g.tt, city["dev"][:, None], city["zpop"][:, None]
    hc0 = np.exp(np.log(0.012) + 0.9 * zpop * 0.6 + 0.5 * dev
                 + rng.normal(0, 0.6, n)[:, None]) + 0.0006 * (tt + 3) + 0.002 * _std("pergdp", pergdp) * 0.2 \
        + g.noise(rng, 0.0012)
    hc0 = bounded(np.clip(hc0, 0.0005, None), *HC_BOUND)
    st0 = np.exp(np.log(2.0) + 0.9 * dev + rng.normal(0, 0.5, n)[:, None]) + 0.35 * (tt + 3) \
        + 1.2 * _std("pergdp", pergdp) + g.noise(rng, 0.4)
    st0 = np.clip(st0, 0.05, None)
    return hc0, st0


class _IndicatorModel:
    """The 15 indicators as functions of treatment and mediators, with the city effects,
    year effects and noise drawn once, so that the observed panel and every potential
    outcome share them."""

    def __init__(self, g: _Grid, rng: np.random.Generator, dgp: DGP, dev: np.ndarray, ctrl: dict,
                 kappa: np.ndarray, pre: np.ndarray):
        self.dgp, self.loi, self.kappa, self.pre = dgp, ctrl["loi"], kappa, pre
        self.ctrl_part = sum(w * _std(k, ctrl[k]) for k, w in CONTROL_LOADINGS.items())
        self.city_eff, self.year_eff, self.noise = {}, {}, {}
        for name, (off, unit, kind, clsd, trend, load, *_rest, nsd) in IND.items():
            if kind == "loi":
                continue
            ce = load * dev + rng.normal(0, clsd, g.n)
            self.city_eff[name] = np.exp(ce) if kind == "count" else ce
            self.year_eff[name] = trend * (g.yr - g.a) + rng.normal(0, 0.02, g.T)
            self.noise[name] = g.noise(rng, nsd * dgp.noise_scale)

    def __call__(self, Dm: np.ndarray, hc: np.ndarray, st: np.ndarray) -> dict[str, np.ndarray]:
        dgp, out = self.dgp, {}
        for name, (off, unit, kind, _lsd, _tr, _ld, delta, bhc, bst, _n) in IND.items():
            if kind == "loi":
                out[name] = self.loi.copy()
                continue
            ce = self.city_eff[name][:, None]
            z = (ce + self.year_eff[name][None, :] + self.ctrl_part
                 + dgp.mediator_scale * (bhc * _std("hc", hc) + bst * _std("st", st))
                 + dgp.effect_scale * delta * (self.kappa * Dm + self.pre) + self.noise[name])
            if kind == "gap":  # a rate: offset minus a positive gap that shrinks over time
                val = off - unit * np.exp(-(z - ce) * 0.5) * np.exp(ce)
                lo, hi = 0.0, 100.0
            else:
                val = off + unit * z
                lo, hi = 0.0, (100.0 if name == "data_use_index" else (1.0 if name == "rd_fiscal_share" else np.inf))
            floor = 0.02 * unit if kind == "count" else lo
            out[name] = np.clip(val, max(floor, lo), hi)
        return out


_ROSTER_COLUMNS = ("city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
                   "urban_core_pop_2020", "size_class", "large_city", "lon", "lat")


def _assemble(g: _Grid, pilot_year: np.ndarray, Y: dict, values: dict) -> dict[str, np.ndarray]:
    """The columns of the long city-year panel, in order: roster facts, pilot year,
    indicators, controls, mediators (``pd.DataFrame`` of them is the panel; each call copies them)."""
    ros, T = g.ros, g.T
    cols = {"city_code": np.repeat(ros["city_code"].to_numpy(), T), "year": np.tile(g.yr, g.n)}
    for c in _ROSTER_COLUMNS:
        cols[c] = np.repeat(ros[c].to_numpy(), T)
    cols["pilot_year"] = pd.array(np.repeat(pilot_year, T), dtype="Float64").astype("Int64")
    cols["broadband_year"] = np.repeat(ros["broadband_year"].to_numpy(), T)
    for name in INDICATORS:
        cols[name] = rounded(name, Y[name])
    for name in ("pd", "pergdp", "urb", "gov", "loi", "hc", "st", "isu"):
        cols[name] = np.round(as_column(values[name]), 6)
    cols["industry_va_share"] = cols["loi"].copy()
    return cols


def _delete_cells(cols: dict[str, np.ndarray], rng: np.random.Generator, dgp: DGP, g: _Grid) -> None:
    """A few missing values (interior years only, so that interpolation is defined) in the
    float columns ``cols`` of :func:`_assemble`, in place."""
    if dgp.missing_rate <= 0:
        return
    names = [c for c in INDICATORS if c != "industry_va_share"] + ["pd", "pergdp", "urb", "gov"]
    interior = ~np.isin(cols["year"], [g.a, g.b])
    for c in names:
        hit = interior & (rng.random(len(interior)) < dgp.missing_rate)
        v = cols[c].copy()
        v[hit] = np.nan
        cols[c] = v
