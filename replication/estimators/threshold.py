"""Hansen (1999) fixed-effect panel threshold regression, 1-3 thresholds, fast and exact.

Model (one threshold, regime-dependent slope of ``regime_x``, Hansen 1999 eq. 1):

    y_it = mu_i + b1 x_it 1(q_it <= g) + b2 x_it 1(q_it > g) + theta' z_it + e_it.

**Conventions** (``convention=``).  The entity effects are removed by the within
transformation.

``"xthreg"`` (default)
    Stata's ``xthreg`` (Wang 2015): all N*T transformed rows; candidates are ``grid``
    evenly spaced order statistics of the observed q between its ``trim`` and ``1 - trim``
    quantiles (all of them for ``grid=0``); a later threshold keeps ``trim * n`` sorted
    observations away from every earlier one.
``"hansen"``
    as xthreg, but one period per entity is dropped after demeaning (the demeaned errors
    of an entity sum to zero): the first.
``"hansen_program"``
    Hansen's own program (his GAUSS code, ported to R as ``pdR::ptm``) where it differs:
    it drops each entity's *last* demeaned period; its candidates are the quantiles
    ``trim, trim + 1/grid, ..., 1 - trim`` of the *distinct* values of q (``grid=400``:
    his 393 points); a later threshold must lie ``grid * trim`` grid points away from an
    earlier one; the lower regime is ``q < g``.

**Hansen's data and his second threshold.**  On his investment panel the single
threshold is 0.0157 under every convention, but the second threshold of the double
model is 0.5400 (0.54003) when every observed value is a candidate and 0.5362 (0.53616)
in his paper.  The reason is the candidate grid on a flat criterion: 0.5400 is not one of
the 393 quantiles of the distinct values of q that his program searches (its neighbours
there are 0.53049, 0.53616 and 0.54072), and near 0.54 the SSR is so flat that the LR
statistic of 0.53616 against 0.54003 is 1.2, far inside the 95 % set (7.35).  With
``convention="hansen_program", grid=400`` we reproduce his 0.0157 and 0.5362 exactly
(``tests/test_threshold.py``); his grid with the first period dropped instead would give
0.54072, and every value with his program's transformation 0.53945, so both the grid and
the dropped period matter for the exact digit.  His F1 = 43.7 is matched by
``"hansen"`` (43.6); his program's own transformation gives 32.6 on this data.

**SSR for every candidate without a regression per candidate.**  ``x 1(q > g) = x -
x 1(q <= g)``, so the model is ``y ~ [z, x, r_g]`` with ``r_g = x 1(q <= g)``.  By
Frisch-Waugh-Lovell, ``S(g) = S_W - a(g)^2 / b(g)`` where ``S_W`` is the SSR without
``r_g``, ``a(g) = r_g' v`` (v = the transformed residual of y on W, mapped back) and
``b(g) = |L r_g|^2 - |Q' L r_g|^2`` (L = transformation, Q = orthonormal basis of the
transformed W).  With the observations sorted by q, every ``r_g`` adds observations
one by one, so ``a``, ``Q' L r_g`` and the entity sums inside ``|L r_g|^2`` are
cumulative sums: all candidates cost O(n k), and ``a`` for B bootstrap draws is one
cumulative sum of an n x B matrix (:mod:`replication.estimators.threshold_search`).
The tests check every SSR against an OLS fit per candidate.

**Sequential estimation** (Hansen 1999, section 4; Bai 1997): g1 minimises S1; g2
minimises S2 given g1; g1 is then refined given g2 (``Th-21`` of ``xthreg``; ``Th-22``
is g2); g3 minimises S3 given the refined g1 and g2.  ``F_k = (S_{k-1} - S_k) /
sigma_k^2`` with ``sigma_k^2 = S_k / (N (T - 1))``.

**Bootstrap** (Hansen 1999, section 3.2): under the null of k-1 thresholds the
regressors and q are held fixed, the null model's residuals are resampled by entity
(whole vectors, with replacement) and added to its fitted values; the whole
sequential search is redone for every draw, all draws at once.  p-value = share of
bootstrap F at least as large as the sample F
(:mod:`replication.estimators.threshold_inference`).

**Inference on the thresholds**: ``LR(g) = (S(g) - S(g_hat)) / sigma^2``; the
confidence set is ``{g : LR(g) <= c(a)}`` with ``c(a) = -2 ln(1 - sqrt(1 - a))``
(7.35 at 95 %), reported as the connected interval of grid points around the estimate;
``lr_set_disjoint`` flags a confidence set with further pieces elsewhere on the grid.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.estimators.results import Estimates, TestResult, rng
from replication.estimators.threshold_inference import (RegimeEstimates, RegimeFitter, bootstrap_tests,
                                                        lr_critical_value, lr_sets)
from replication.estimators.threshold_search import (CONVENTIONS, Searcher, SequentialSearch, brute_force_ssr,
                                                     candidate_grid, convention_rules)

__all__ = ["fit_panel_threshold", "ThresholdResult", "RegimeEstimates", "lr_critical_value", "with_year_dummies",
           "brute_force_ssr", "candidate_grid", "HANSEN_1999_REPORTED", "CONVENTIONS"]

_Searcher = Searcher  # the names the tests and the benchmark use


def _grid(q: np.ndarray, trim: float, grid: int) -> np.ndarray:
    return candidate_grid(q, trim, grid)


class ThresholdResult(Estimates):
    """Result of :func:`fit_panel_threshold`, in the result protocol.

    ``params``, ``std_errors``, ``tstats``, ``pvalues``, ``conf_int()``, ``cov``, ``nobs``,
    ``tidy()``, ``summary()`` are those of the model with ``spec["max_thresholds"]``
    thresholds (clustered by entity); :meth:`model` gives any other.
    ``tests``: the bootstrap F test of k-1 against k thresholds per k, as
    :class:`~replication.estimators.results.TestResult` (``statistic``, ``pvalue``,
    ``n_draws``, ``null_distribution``; ``info``: the model's thresholds, RSS, MSE and
    bootstrap critical values); :meth:`test_table` as one table.
    ``thresholds``: the threshold estimates with their LR confidence sets (``name``:
    ``Th-1``, ``Th-21``, ``Th-22``, ``Th-3`` as xthreg; ``model``: number of thresholds;
    ``estimate``, ``lower``, ``upper``, ``lr_set_disjoint``); ``lr``: the LR curves.
    ``balanced_sample``: what balancing dropped (nothing on a balanced panel)."""

    def __init__(self, tests: dict[int, TestResult], thresholds: pd.DataFrame, lr: dict[str, pd.DataFrame],
                 spec: dict, fitter: RegimeFitter, balanced_sample: dict):
        self.tests, self.thresholds, self.lr, self.spec = tests, thresholds, lr, spec
        self.balanced_sample = balanced_sample
        self._fitter = fitter
        main = self.model()
        self.params, self.std_errors, self.cov = main.params, main.std_errors, main.cov
        self.nobs, self.df_resid = main.nobs, main.df_resid

    @property
    def title(self) -> str:
        return self.model().title

    def model(self, k: int | None = None, cov: str = "cluster") -> RegimeEstimates:
        """The k-threshold model (default: the largest k estimated) with SEs clustered by
        entity (Stata's small-sample factor) or White (``cov="robust"``, HC1)."""
        return self._fitter.fit(self.estimates(k or self.spec["max_thresholds"]), cov=cov)

    def estimates(self, k: int) -> tuple[float, ...]:
        """Threshold estimates of the k-threshold model (refined first threshold for k >= 2)."""
        t = self.thresholds.set_index("name")["estimate"]
        names = {1: ["Th-1"], 2: ["Th-21", "Th-22"], 3: ["Th-21", "Th-22", "Th-3"]}[k]
        return tuple(sorted(float(t[n]) for n in names))

    def regime_counts(self, k: int | None = None) -> pd.DataFrame:
        """Observations per regime and period for the k-threshold model."""
        return self._fitter.regime_counts(self.estimates(k or self.spec["max_thresholds"]))

    def test_table(self) -> pd.DataFrame:
        """The F tests as one table: thresholds, their estimates, RSS, MSE, F, bootstrap
        p-value, the 10/5/1 % bootstrap critical values and the number of draws."""
        rows = []
        for k, t in sorted(self.tests.items()):
            c = t.info["critical_values"]
            rows.append({"thresholds": k, "estimates": ", ".join(f"{g:.4f}" for g in t.info["thresholds"]),
                         "RSS": t.info["rss"], "MSE": t.info["mse"], "F": t.statistic, "pvalue": t.pvalue,
                         "crit_10": c[0.10], "crit_5": c[0.05], "crit_1": c[0.01], "n_draws": t.n_draws or 0})
        return pd.DataFrame(rows)

    def _header(self):
        s = self.spec
        return [("Dependent variable", s["y"]), ("Regime regressor", s["regime_x"]), ("Threshold variable", s["q"]),
                ("Convention", s["convention"]), ("Entities x periods", f"{s['N']} x {s['T']}"),
                *self.model()._header()]

    def summary(self) -> str:
        tests = "\n".join(t.summary() for _, t in sorted(self.tests.items()))
        th = self.thresholds.to_string(index=False, float_format=lambda v: f"{v:.4f}")
        return f"{super().summary()}\n{tests}\nThresholds (95 % LR sets):\n{th}"


def _prepare(df, y, regime_x, q, controls, entity, time, balance):
    """The balanced, sorted sample and the controls that survive balancing."""
    cols = list(dict.fromkeys([y, regime_x, q, *controls, entity, time]))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the data")
    d = df[cols].copy()
    if d.isna().any().any():
        raise ValueError(f"missing values in {[c for c in cols if d[c].isna().any()]}; the threshold model needs "
                         "complete data")
    try:
        d, info = within.balance_panel(d, entity, time, balance)
    except ValueError as err:
        raise ValueError(f"the threshold model needs a balanced panel: {err}") from None
    # controls that are identically zero on the balanced sample (e.g. the dummies of dropped years)
    dropped = [c for c in controls if info["rows_after"] < info["rows_before"] and not d[c].to_numpy(float).any()]
    info["controls_dropped"] = dropped
    controls = [c for c in controls if c not in dropped]
    return d.sort_values([entity, time]).reset_index(drop=True), list(controls), info


def _per_threshold(value, k: int, cast, what: str) -> list:
    out = [cast(v) for v in value] if np.ndim(value) else [cast(value)] * k
    if len(out) < k:
        raise ValueError(f"give {what} as one value or one per threshold")
    return out


def _stages(sc: dict) -> dict:
    """Per k: SSR of the null (k-1 thresholds) and of the k-threshold model, the null's
    thresholds and the stage estimates that define the k-threshold model in the F test."""
    k_max = 3 if "g3" in sc else 2 if "g2" in sc else 1
    out = {1: {"S_null": sc["S0"], "S_alt": sc["S1"], "null": (), "thresholds": (sc["g1"],)}}
    if k_max >= 2:
        out[2] = {"S_null": sc["S1"], "S_alt": sc["S2"], "null": (sc["g1"],), "thresholds": (sc["g1"], sc["g2"])}
    if k_max >= 3:
        out[3] = {"S_null": sc["S2r"], "S_alt": sc["S3"], "null": tuple(sorted((sc["g1r"], sc["g2"]))),
                  "thresholds": (sc["g1r"], sc["g2"], sc["g3"])}
    return out


def fit_panel_threshold(df: pd.DataFrame, y: str, regime_x: str, q: str, controls=(), *,
                        entity: str = "city_code", time: str = "year", max_thresholds: int = 3,
                        n_draws=300, trim=0.01, grid: int = 300, seed: int | np.random.Generator | None = 0,
                        convention: str = "xthreg", progress: bool = False,
                        balance: str = "drop_cities", time_effects: bool = False) -> ThresholdResult:
    """Estimate and test 1..``max_thresholds`` thresholds (see the module docstring).

    ``n_draws`` (bootstrap draws per test) and ``trim`` take one value or one per threshold
    (xthreg's ``bs()`` and ``trim()``); ``n_draws=0`` skips the bootstrap.  ``convention``: ``"xthreg"``,
    ``"hansen"`` or ``"hansen_program"`` (module docstring).

    The model needs a balanced panel (the bootstrap resamples whole entity residual
    vectors; ``xthreg`` requires one too).  An unbalanced panel is balanced explicitly by
    :func:`replication.estimators.within.balance_panel` with rule ``balance`` (``"drop_cities"``: keep the
    entities observed in every year; ``"drop_years"``: keep the years in which every entity
    is observed; ``"error"``); ``result.balanced_sample`` says what was dropped (nothing on a
    balanced panel), including ``controls_dropped``: controls that are zero on the balanced
    sample (the dummies of dropped years).

    ``time_effects=True`` adds period dummies (first period omitted; ``i.year`` in xthreg) as
    controls; they are fitted but not reported, and ``_cons`` follows reghdfe's convention
    (see :class:`RegimeEstimates`).
    """
    _, grid_of, strict = convention_rules(convention)
    if not 1 <= max_thresholds <= 3:
        raise ValueError("max_thresholds must be 1, 2 or 3")
    nb = _per_threshold(n_draws, max_thresholds, int, "n_draws")
    tr = _per_threshold(trim, max_thresholds, float, "trim")
    absorbed = []
    if time_effects and convention != "xthreg":
        raise ValueError(f"time_effects=True needs convention='xthreg' (i.year in xthreg); convention={convention!r} "
                         "drops one period per entity, which makes the period dummies collinear with the constant. "
                         "Hansen's (1999) model has entity effects only")
    if time_effects:
        df, absorbed = with_year_dummies(df, time)
        controls = [*controls, *absorbed]
    d, controls, info = _prepare(df, y, regime_x, q, controls, entity, time, balance)
    T = d[time].nunique()
    ent = d[entity].to_numpy()
    xv, qv, yv = (d[c].to_numpy(float) for c in (regime_x, q, y))
    Z = d[controls].to_numpy(float) if controls else np.empty((len(d), 0))
    cands = candidate_grid(qv, tr[0], grid, of=grid_of)
    seq = SequentialSearch(Searcher(ent, xv, qv, Z, T, convention, cands, grid=grid), tr)
    n_ent = d[entity].nunique()
    dof = n_ent * (T - 1)
    LY = seq.srch.L(yv[:, None])
    sc = {k: float(v[0]) for k, v in seq.run(LY, max_thresholds).items()}
    if max_thresholds == 2:  # refine the first threshold given the second (xthreg's Th-21)
        g1r, S2r, _, _ = seq.best((sc["g2"],), LY, tr[1])
        sc["g1r"], sc["S2r"] = float(g1r[0]), float(S2r[0])
    tests = bootstrap_tests(seq, _stages(sc), LY, yv, ent, np.column_stack([Z, xv]), nb, dof, rng(seed),
                            progress=progress)
    rows = [("Th-1", 1, sc["g1"], (), tr[0])]
    if max_thresholds >= 2:
        rows += [("Th-21", 2, sc["g1r"], (sc["g2"],), tr[1]), ("Th-22", 2, sc["g2"], (sc["g1"],), tr[1])]
    if max_thresholds >= 3:
        rows.append(("Th-3", 3, sc["g3"], tuple(sorted((sc["g1r"], sc["g2"]))), tr[2]))
    thresholds, lr = lr_sets(seq, rows, LY, dof)
    spec = {"y": y, "regime_x": regime_x, "q": q, "controls": list(controls), "max_thresholds": max_thresholds,
            "n_draws": nb[:max_thresholds], "trim": tr[:max_thresholds], "grid": grid, "n_candidates": len(cands),
            "convention": convention, "N": n_ent, "T": T, "lr_crit_95": lr_critical_value(0.05), "balance": balance,
            "entity": entity, "time": time, "time_effects": time_effects}
    fitter = RegimeFitter(d, y, regime_x, q, controls, entity, time, convention, strict, absorbed)
    return ThresholdResult(tests, thresholds, lr, spec, fitter, info)


# Hansen (1999, J. Econometrics 93) on his investment data, the oracle for this module:
# single-threshold estimate and F test, and the two thresholds of the double model.
HANSEN_1999_REPORTED = {"single_threshold": 0.0157, "F1": 43.7, "double_thresholds": (0.0157, 0.5362)}


def with_year_dummies(df: pd.DataFrame, time: str = "year") -> tuple[pd.DataFrame, list[str]]:
    """``df`` with year dummies (first year omitted) to use as controls, as ``i.year`` in xthreg."""
    dummies = pd.get_dummies(df[time], prefix="year", drop_first=True, dtype=float)
    dummies.columns = [str(c) for c in dummies.columns]
    return pd.concat([df, dummies], axis=1), list(dummies.columns)
