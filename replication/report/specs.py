"""The chapters' specifications: one function per table of the paper, in the paper's
layout, used by the chapter notebooks and by the scorecard/audit chapter alike, so that a
table is specified once.

Everything paper-specific (the column names of the canonical panel, the controls, the
four municipalities, the groups of Table 7) lives here or above; the estimators below take
column names and know nothing of the paper.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.facts import MUNICIPALITIES
from replication.data.schema import CONTROLS, INDICATORS, MEDIATORS
from replication.estimators import heterogeneity, mediation, placebo, psm, robustness
from replication.estimators.did import TWFEResult, twfe

# --- Tables 2, 3, 4 and 7 (baseline, robustness, mechanisms, heterogeneity) ---
# The paper's model: the index on the pilot dummy, the five controls, city and year effects,
# SEs clustered by city (the estimators' defaults are these names; they are passed
# explicitly here so that this section is the one place that names them).
PAPER = {"y": "nqp", "treat": "did", "controls": CONTROLS, "entity": "city_code", "time": "year",
         "cluster": "city_code"}
PILOT = "pilot_year"  # first pilot year of a city (missing: never a pilot)
EVER_TREATED = "treat"  # 1 for the pilot cities in every year (the PSM treatment)
BROADBAND = "broadband"  # the Broadband China dummy of Table 3 (2)
PROVINCE = "province_zh"


def _twfe(panel: pd.DataFrame, y: str = "nqp", treat=None, *, controls=CONTROLS, **kw) -> TWFEResult:
    """The paper's TWFE regression of ``y`` (column (5) of Table 2 unless ``kw`` says otherwise)."""
    spec = {**PAPER, "y": y, "controls": controls, **kw}
    spec["treat"] = treat or spec["treat"]
    return twfe(panel, spec.pop("y"), spec.pop("treat"), spec.pop("controls"), **spec)


TABLE2_SPECS = {
    "(1)": {"controls": False, "time_effects": False, "entity_effects": False},
    "(2)": {"controls": True, "time_effects": False, "entity_effects": False},
    "(3)": {"controls": False, "time_effects": True, "entity_effects": False},
    "(4)": {"controls": False, "time_effects": False, "entity_effects": True},
    "(5)": {"controls": True, "time_effects": True, "entity_effects": True},
}


def table2(panel: pd.DataFrame, y: str = "nqp", *, convention: str = "stata") -> dict[str, TWFEResult]:
    """Table 2's five columns: none; controls; year FE; city FE; both + controls."""
    return {col: _twfe(panel, y, controls=CONTROLS if s["controls"] else (), entity_effects=s["entity_effects"],
                       time_effects=s["time_effects"], convention=convention)
            for col, s in TABLE2_SPECS.items()}


def baseline(panel: pd.DataFrame, y: str = "nqp", *, convention: str = "stata") -> TWFEResult:
    """Column (5) of Table 2 alone (both fixed effects and the controls)."""
    return _twfe(panel, y, convention=convention)


def controls_check(panel: pd.DataFrame, *, convention: str = "stata") -> tuple[dict[str, TWFEResult], TWFEResult]:
    """Chapter 3 (post-treatment controls): each control on the pilot dummy with city and year
    effects and no controls, and column (5) of Table 2 without the controls."""
    return ({c: _twfe(panel, c, controls=(), convention=convention) for c in CONTROLS},
            _twfe(panel, controls=(), convention=convention))


def figure1(panel: pd.DataFrame, *, n_draws: int = 500, scheme: str = "cohort", seed=0,
            convention: str = "stata") -> placebo.PlaceboResult:
    """Figure 1: the placebo (randomisation) test of column (5) of Table 2."""
    return placebo.permutation_test(panel, PAPER["y"], CONTROLS, n_draws=n_draws, scheme=scheme, seed=seed,
                                    entity=PAPER["entity"], time=PAPER["time"], pilot=PILOT, treat=PAPER["treat"],
                                    cluster=PAPER["cluster"], convention=convention)


def table3(panel: pd.DataFrame, y: str = "nqp", *, convention: str = "stata", match: psm.MatchResult | None = None,
           **psm_options) -> tuple[dict[str, TWFEResult], psm.MatchResult]:
    """Table 3's four columns and the matching behind (3a)/(3b): (1) without the four
    municipalities; (2) with the Broadband China dummy; (3a) "PSM": the DID on the
    common-support sample; (3b) "PSM-DID": the DID on the matched sample (treated city-years
    and the control city-years used as matches, each counted once).  ``psm_options`` go to
    :func:`replication.estimators.psm.psm` (``seed``, ``replacement``, ``by_year``, ...)."""
    m = match or psm.psm(panel, EVER_TREATED, CONTROLS, time=PAPER["time"], **psm_options)
    out = {"(1)": _twfe(panel[~panel[PAPER["entity"]].isin(MUNICIPALITIES)], y, convention=convention),
           "(2)": _twfe(panel, y, [PAPER["treat"], BROADBAND], convention=convention),
           "(3a)": _twfe(m.data[m.data["_support"] == 1], y, convention=convention),
           "(3b)": _twfe(m.data[m.data["_weight"].notna()], y, convention=convention)}
    return out, m


def robustness_checks(panel: pd.DataFrame, table3_results: dict[str, TWFEResult], *, indicators=None,
                      convention: str = "stata") -> dict[str, TWFEResult]:
    """Chapter 4's specification curve: column (5), Table 3's columns, SEs clustered by
    province, dropping each pilot batch, and the alternative indices of chapter 2 (each
    rescaled to the standard deviation of the baseline index)."""
    from replication.data import index

    specs = {"baseline (5)": _twfe(panel, convention=convention)}
    specs.update({f"Table 3 {k}": v for k, v in table3_results.items()})
    specs["cluster by province"] = _twfe(panel, cluster=PROVINCE, convention=convention)
    specs.update(robustness.drop_each_batch(panel, PAPER["y"], PAPER["treat"], CONTROLS, pilot=PILOT,
                                            entity=PAPER["entity"], time=PAPER["time"], cluster=PAPER["cluster"],
                                            convention=convention))
    alts = index.alternative_indices(panel, list(indicators) if indicators else INDICATORS)
    for name in ["entropy_yearly", "equal", "pca", "entropy_topsis"]:
        scaled = alts[name] * panel[PAPER["y"]].std() / alts[name].std()  # in units of the baseline index
        specs[f"index: {name} (rescaled)"] = _twfe(panel.assign(_y=scaled), "_y", convention=convention)
    return specs


def wild_bootstrap(panel: pd.DataFrame, *, n_draws: int = 999, seed=0):
    """The wild cluster restricted bootstrap of column (5)'s DID coefficient (clustered by city)."""
    return robustness.wild_cluster_pvalue(panel, PAPER["y"], PAPER["treat"], CONTROLS, cluster=PAPER["cluster"],
                                          n_draws=n_draws, seed=seed, entity=PAPER["entity"], time=PAPER["time"])


def index_regressions(panel: pd.DataFrame, indices: pd.DataFrame, *,
                      convention: str = "stata") -> dict[str, TWFEResult]:
    """Chapter 2: column (5) of Table 2 with each index (a column of ``indices``) as outcome."""
    return {name: _twfe(panel.assign(_y=indices[name]), "_y", convention=convention) for name in indices.columns}


def mechanisms(panel: pd.DataFrame, *, n_draws: int = 0, seed=0, convention: str = "stata",
               mediators=MEDIATORS) -> dict[str, mediation.MediationResult]:
    """Table 4's three-step mediation, one result per mediator (human capital ``hc``,
    science and technology ``st``), with ``n_draws`` city-cluster bootstrap draws each (the
    same ``seed`` for every mediator: the same resampled cities)."""
    out, step1 = {}, None
    for m in mediators:
        out[m] = mediation.three_step(panel, m, PAPER["y"], PAPER["treat"], CONTROLS, convention=convention,
                                      n_draws=n_draws, seed=seed, step1=step1, entity=PAPER["entity"],
                                      time=PAPER["time"], cluster=PAPER["cluster"])
        step1 = out[m].step1
    return out


def table4(panel: pd.DataFrame, *, convention: str = "stata", mechanisms_results=None) -> dict[str, TWFEResult]:
    """Table 4's five columns: (1) index; (2) hc; (3) index with hc; (4) st; (5) index with st
    (from :func:`mechanisms`, or its result ``mechanisms_results``)."""
    med = mechanisms_results or mechanisms(panel, convention=convention)
    hc, st = med["hc"], med["st"]
    return {"(1)": hc.step1, "(2)": hc.step2, "(3)": hc.step3, "(4)": st.step2, "(5)": st.step3}


def joint_model(panel: pd.DataFrame, *, convention: str = "stata") -> TWFEResult:
    """The index on the pilot dummy and both mediators at once."""
    return mediation.joint_model(panel, MEDIATORS, PAPER["y"], PAPER["treat"], CONTROLS, convention=convention,
                                 entity=PAPER["entity"], time=PAPER["time"], cluster=PAPER["cluster"])


# Table 7: the groups, their order in the paper, and the gaps tested
TABLE7_GROUPS = {"region": ["east", "west", "central"], "region4": ["east", "central", "west", "northeast"],
                 "size": ["large", "small_medium"]}
TABLE7_GAPS = {"region": ("west", "east"), "region4": ("west", "east"), "size": ("small_medium", "large")}
SIZE_CUTOFF = 1_000_000  # urban-core population of a large city (State Council 2014)
POPULATION = "urban_core_pop_2020"


def add_groups(panel: pd.DataFrame, size_cutoff: float = SIZE_CUTOFF) -> pd.DataFrame:
    """Add ``size`` (``large`` / ``small_medium`` by the 2020 census urban-core population >=
    ``size_cutoff``).  A city without a census size (e.g. abolished before 2020) gets a
    missing ``size`` (the estimators exclude it and say so); ``out.attrs["size_missing"]``
    lists those cities.  If no city has a population this is an error."""
    out = panel.copy()
    pop = out[POPULATION].astype("Float64")
    miss = pop.isna().to_numpy()
    if miss.all():
        raise ValueError(f"{POPULATION} is missing for every city: cannot classify city size")
    size = np.where(pop.to_numpy(float, na_value=np.nan) >= size_cutoff, "large", "small_medium").astype(object)
    size[miss] = None
    out["size"] = size
    out.attrs["size_missing"] = sorted(out.loc[miss, PAPER["entity"]].unique().tolist())
    return out


def _split_kw() -> dict:
    return {k: PAPER[k] for k in ("treat", "controls", "entity", "time")}


def table7(panel: pd.DataFrame, *, region_scheme: str = "region", size_cutoff: float = SIZE_CUTOFF,
           min_treated: int = 5, convention: str = "stata") -> dict[str, heterogeneity.SubgroupResult]:
    """Table 7: the column-(5) DID by region (``region`` or the NBS ``region4``) and by city
    size; keys are the two splits."""
    g = add_groups(panel, size_cutoff)
    return {by: heterogeneity.subgroups(g, by, PAPER["y"], min_treated=min_treated, convention=convention,
                                        cluster=PAPER["cluster"], order=TABLE7_GROUPS[by], **_split_kw())
            for by in (region_scheme, "size")}


def table7_fits(t7: dict) -> dict[str, TWFEResult]:
    """The regressions of Table 7's columns (group -> fit), in the paper's column order."""
    return {g: r for res in t7.values() for g, r in res.fits.items()}


def table7_tests(panel: pd.DataFrame, *, region_scheme: str = "region", size_cutoff: float = SIZE_CUTOFF,
                 n_draws: int = 500, seed=0, convention: str = "stata") -> dict[str, tuple]:
    """Chapter 7's tests of the differences, per split: the Wald test of equal effects and the
    randomisation test of the gap (west - east; small-and-medium - large)."""
    g = add_groups(panel, size_cutoff)
    out = {}
    for by in (region_scheme, "size"):
        wald = heterogeneity.interaction_test(g, by, PAPER["y"], convention=convention, cluster=PAPER["cluster"],
                                              order=TABLE7_GROUPS[by], **_split_kw())
        gap = heterogeneity.permutation_gap(g, by, TABLE7_GAPS[by], PAPER["y"], n_draws=n_draws, seed=seed,
                                            order=TABLE7_GROUPS[by], **_split_kw())
        out[by] = (wald, gap)
    return out


# --- Tables 5 and 6 (threshold) and chapter 8 (staggered adoption) ---
# Tables 5-6: Hansen's threshold model with the pilot dummy as the regime regressor and
# industrial-structure upgrading as the threshold variable; chapter 8: the staggered-adoption
# estimators with the five controls (the pilots were selected on them).
THRESHOLD_VARIABLE = "isu"


def threshold_variable_fits(panel: pd.DataFrame) -> dict[str, TWFEResult]:
    """Chapter 6's caveat: does the pilot move the threshold variable?  Its DID on the pilot
    dummy with city and year effects, without and with the five controls (Loi, the industry
    share, is close to the denominator of isu)."""
    return {"city and year effects": _twfe(panel, THRESHOLD_VARIABLE, controls=()),
            "the five controls": _twfe(panel, THRESHOLD_VARIABLE)}


def untreated_outcome(panel: pd.DataFrame, sim) -> pd.DataFrame:
    """Chapter 8 (default data): the panel with the index replaced by the simulator's untreated
    potential outcome Y(0), the index each city would have had without the pilots."""
    keys = [PAPER["entity"], PAPER["time"]]
    y0 = pd.Series(sim.potential["y0_index"], index=pd.MultiIndex.from_frame(sim.panel[keys]))
    out = y0.reindex(pd.MultiIndex.from_frame(panel[keys])).to_numpy()
    if np.isnan(out).any():
        raise ValueError("the panel has city-years that the simulation does not: no Y(0) for them")
    return panel.assign(**{PAPER["y"]: out})


def threshold_model(panel: pd.DataFrame, *, year_effects: bool = True, max_thresholds: int = 3, n_draws=300,
                    trim=0.01, grid: int = 300, seed=0, convention: str = "xthreg", balance: str = "drop_cities",
                    progress: bool = False):
    """Tables 5 and 6: the threshold model of the index on the pilot dummy by ``isu``, the
    five controls and, with ``year_effects``, year dummies (``i.year`` in xthreg), city
    effects, ``n_draws`` bootstrap draws per test."""
    from replication.estimators import threshold

    return threshold.fit_panel_threshold(panel, PAPER["y"], PAPER["treat"], THRESHOLD_VARIABLE, list(PAPER["controls"]),
                                         entity=PAPER["entity"], time=PAPER["time"], max_thresholds=max_thresholds,
                                         n_draws=n_draws, trim=trim, grid=grid, seed=seed, convention=convention,
                                         balance=balance, progress=progress, time_effects=year_effects)


HANSEN_DATA = ("tests", "data", "oracles", "hansen1999.dta")  # shipped with the tests, under the project root
HANSEN_CONTROLS = ["q1", "q2", "q3", "d1", "qd1"]


def hansen_example(*, n_draws: int = 300, seed=0, path=None) -> dict | None:
    """Chapter 6's appendix, the oracle of the threshold estimator: Hansen's (1999)
    investment panel (565 firms, 1974-1987; investment on lagged Tobin's q, its powers,
    debt and cash flow, the cash-flow slope switching at thresholds of the debt ratio).

    ``"xthreg"``: the xthreg help example (grid 400, trims 0.01/0.01/0.05, ``n_draws`` per
    test); ``"hansen_program"``: Hansen's own program (his grid of 400 quantiles of the
    distinct values, no bootstrap); ``"hansen"``: every observed value a candidate, the
    first period dropped (no bootstrap).  Also ``nobs`` and ``seconds`` (of the xthreg
    example).  None when the data are not in this copy of the project."""
    import time as _time

    from replication._paths import PROJECT_ROOT
    from replication.estimators import threshold

    path = path or PROJECT_ROOT.joinpath(*HANSEN_DATA)
    if not path.exists():
        return None
    h = pd.read_stata(path)
    h["year"] = h["year"].dt.year
    kw = dict(entity="id", time="year", max_thresholds=3, trim=(0.01, 0.01, 0.05))
    t0 = _time.perf_counter()
    out = {"xthreg": threshold.fit_panel_threshold(h, "i", "c1", "d1", HANSEN_CONTROLS, n_draws=n_draws, grid=400,
                                                   seed=seed, **kw)}
    out["seconds"] = _time.perf_counter() - t0
    for conv, grid in (("hansen_program", 400), ("hansen", 0)):
        out[conv] = threshold.fit_panel_threshold(h, "i", "c1", "d1", HANSEN_CONTROLS, n_draws=0, grid=grid,
                                                  convention=conv, **kw)
    out["nobs"] = len(h)
    return out


def event_study(panel: pd.DataFrame, *, leads: int = 3, lags: int = 8):
    """Chapter 8: the TWFE event study with the five controls (end points binned, reference -1)."""
    from replication.estimators import staggered

    return staggered.event_study(panel, PAPER["y"], cohort=PILOT, leads=leads, lags=lags,
                                 controls=list(PAPER["controls"]), entity=PAPER["entity"], time=PAPER["time"])


def sun_abraham(panel: pd.DataFrame):
    """Chapter 8: the Sun-Abraham event study with the five controls (never-treated controls)."""
    from replication.estimators import staggered

    return staggered.sun_abraham(panel, PAPER["y"], cohort=PILOT, controls=list(PAPER["controls"]),
                                 entity=PAPER["entity"], time=PAPER["time"])


def callaway_santanna(panel: pd.DataFrame, *, control_group: str = "nevertreated"):
    """Chapter 8: Callaway-Sant'Anna with the five controls by outcome regression (the
    doubly-robust and IPW versions fail for some group-time cells of the paper's panel:
    propensity scores near 0 or 1 in the small cohorts)."""
    from replication.estimators import staggered

    return staggered.callaway_santanna(panel, PAPER["y"], cohort=PILOT, entity=PAPER["entity"], time=PAPER["time"],
                                       control_group=control_group, est_method="reg",
                                       xformla="~ " + " + ".join(PAPER["controls"]))


def imputation(panel: pd.DataFrame, *, n_draws: int = 199, seed=0):
    """Chapter 8: the imputation estimator with the five controls, city-cluster bootstrap."""
    from replication.estimators import staggered

    return staggered.imputation(panel, PAPER["y"], treat=PAPER["treat"], controls=list(PAPER["controls"]),
                                entity=PAPER["entity"], time=PAPER["time"], n_draws=n_draws, seed=seed)


def bacon(panel: pd.DataFrame, *, balance: str = "drop_cities"):
    """Chapter 8: the Goodman-Bacon decomposition of the TWFE estimate without controls."""
    from replication.estimators import staggered

    return staggered.bacon(panel, PAPER["y"], treat=PAPER["treat"], entity=PAPER["entity"], time=PAPER["time"],
                           balance=balance)


def staggered_estimators(panel: pd.DataFrame, *, n_draws: int = 199, seed=0, cs=None, cs_not_yet=None,
                         sa=None) -> dict:
    """Chapter 8's side-by-side comparison: label -> result, each with an overall effect
    (column (5) of Table 2, TWFE without controls, Callaway-Sant'Anna with never-treated
    and not-yet-treated controls, Sun-Abraham, imputation).  Results already computed can
    be passed in."""
    return {"TWFE, Table 2 (5)": _twfe(panel),
            "TWFE without controls": _twfe(panel, controls=()),
            "Callaway-Sant'Anna, never treated (simple)": cs or callaway_santanna(panel),
            "Callaway-Sant'Anna, not yet treated (simple)": cs_not_yet or callaway_santanna(
                panel, control_group="notyettreated"),
            "Sun-Abraham (post cells, unit-weighted)": sa or sun_abraham(panel),
            "Imputation (BJS)": imputation(panel, n_draws=n_draws, seed=seed)}


HONEST_MS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.04)  # smoothness bounds (index points per year^2)
HONEST_MBARS = (0.0, 0.5, 1.0, 1.5, 2.0)


def honest_did(sa, *, leads: int = 3, lags: int = 8, Ms=HONEST_MS, Mbars=HONEST_MBARS):
    """Chapter 8: HonestDiD sensitivity of the pilot-year effect, from the Sun-Abraham event
    study (event times -leads..lags, reference -1), both restrictions."""
    from replication.estimators.api import honest_did as _honest_did

    return _honest_did(sa, Ms=list(Ms), Mbars=list(Mbars), first=-leads, last=lags)
