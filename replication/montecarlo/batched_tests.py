"""Batched placebo randomisation test and pre-trend Wald test on a fixed design.

When a Monte Carlo study holds the design fixed (the same cities, years, pilots and
controls in every replication; only the outcome ``nqp`` is redrawn), both tests of
:mod:`replication.montecarlo.estimators` are, for all replications at once:

:class:`BatchedPlacebo` (``"placebo_ri"``)
    :func:`replication.estimators.placebo.permutation_test` (cohort scheme, the column-(5)
    TWFE regression): the observed statistic is the coefficient of ``did`` (one matrix
    product for all R outcomes, :class:`replication.montecarlo.batched._ClusteredContrast`);
    each placebo coefficient is linear in the outcome, ``b_p = d~_p' y~ / d~_p' d~_p`` with
    ``d~_p`` the within-transformed placebo dummy residualised on the controls.  The placebo
    assignments depend only on the design and the seed, so per seed they are drawn once (by
    placebo.py's own :func:`~replication.estimators.placebo._placebo_years`, from
    ``numpy.random.default_rng(seed)``, as the book's function draws them) and the
    ``(n_rows x n_placebo)`` matrix of ``d~_p`` is applied to the ``(n_rows x R)`` matrix of
    transformed outcomes.  The p-value is the book's ``(1 + #{|b_p| >= |b|}) / (1 + n_placebo)``.
:class:`BatchedPretrendWald` (``"pretrend_wald"``)
    ``staggered.event_study(..., leads=3, lags=8, controls=CONTROLS).pretrend``: the event
    study's regressors are fixed, so the coefficients of all R outcomes are one matrix
    product; the leads' entity-clustered covariance (Stata factor q) is, per replication,
    ``q * S_r' S_r`` with ``S_r`` the city sums of ``h_i u_ir`` (``h_i``: row i of
    ``Z (Z'Z)^-1`` restricted to the leads), summed for all R at once; the statistic is
    :func:`replication.estimators.results.wald_test`'s ``F = W / k`` with its p-value from
    ``F(k, G - 1)`` (k = 2 leads: event times -3 and -2).

Both implement the batched-estimator interface of the Monte Carlo study: built once from
one replication's panel (``design``, the varying columns ignored) and the study options;
``rows(name, outcomes, truths, seeds)`` returns, for each replication, the rows
:func:`replication.montecarlo.estimators.run_estimator` returns (checked to 1e-10 in
``tests/test_montecarlo_batched_tests.py``).  A design on which the looped function fails
for every replication (no treated or no untreated city, collinear regressors, missing
values) is refused with a ``ValueError`` whose message is the loop's: loop it instead to
get its failure rows.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.estimators import distributions as dist
from replication.estimators import within
from replication.estimators.placebo import _placebo_years, chunk_size, placebo_regressors
from replication.estimators.staggered import check_event_window, event_dummies
from replication.estimators.results import TestResult
from replication.estimators.results import rng as make_rng
from replication.montecarlo.batched import _check_design, _check_outcomes, _ClusteredContrast
from replication.montecarlo.estimators import LAGS, LEADS, SPEC, stat_row
from replication.montecarlo.estimators import TEST_ESTIMANDS as ESTIMANDS
from replication.montecarlo.options import StudyOptions


def _sorted_design(design: pd.DataFrame, needs: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The design checked (columns present, none missing but the cohort, one row per city-year)
    and sorted by city and year, as the book's functions sort it; and the sorting order."""
    d = _check_design(design, SPEC["entity"], SPEC["time"], SPEC["cohort"], SPEC["treat"], list(CONTROLS), needs)
    order = d.sort_values([SPEC["entity"], SPEC["time"]], kind="mergesort").index.to_numpy()
    return d.iloc[order].reset_index(drop=True), order


def _seed_groups(name: str, seeds, R: int) -> dict:
    """{seed: [replication columns]} (integer seeds only: a shared Generator would give every
    replication different draws, which a batch cannot reproduce)."""
    if len(seeds) != R:
        raise ValueError(f"{name}: {len(seeds)} seeds for {R} replications; one seed per replication is needed")
    groups: dict = {}
    for r, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise ValueError(f"{name}: seeds must be integers (one resampling seed per replication), got {s!r}")
        groups.setdefault(int(s), []).append(r)
    return groups


class _Batched:
    """What both batched tests share: the outcome matrix in the design's sorted row order and
    the rows of :func:`replication.montecarlo.estimators.stat_row`."""

    names: tuple = ()
    outcomes = ("nqp",)
    order: np.ndarray

    def _outcome(self, name: str, outcomes: dict) -> np.ndarray:
        if name not in self.names:
            raise ValueError(f"{type(self).__name__} computes {self.names}, not {name!r}")
        if SPEC["y"] not in outcomes:
            raise ValueError(f"{name} needs the outcome {SPEC['y']!r} in `outcomes` (got {sorted(outcomes)})")
        return _check_outcomes(outcomes[SPEC["y"]], len(self.order))[self.order]

    @staticmethod
    def _rows(name: str, stat: np.ndarray, p: np.ndarray) -> list[list[dict]]:
        return [[stat_row(name, ESTIMANDS[name], TestResult(float(s), float(q)))] for s, q in zip(stat, p)]


class BatchedPretrendWald(_Batched):
    """Chapter 8's pre-trend test for many outcomes on one fixed design: for each column of
    ``nqp``, the ``pretrend`` (statistic F, p-value) of
    :func:`replication.estimators.staggered.event_study` with 3 leads, 8 lags and the
    controls, i.e. :func:`replication.montecarlo.estimators.pretrend_wald`'s row."""

    names = ("pretrend_wald",)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options: StudyOptions | None = None):
        d, self.order = _sorted_design(design, ["sun_abraham"])  # needs the cohort and the controls
        dummies = event_dummies(d, SPEC["cohort"], SPEC["time"], LEADS, LAGS)  # as event_study builds them
        check_event_window(d, SPEC["cohort"], SPEC["time"], LEADS, LAGS, dummies)  # and refuses them
        events = [k for k, _ in dummies.values()]
        X = np.column_stack([col for _, col in dummies.values()] + [d[list(CONTROLS)].to_numpy(float)])
        names = list(dummies) + list(CONTROLS)
        self.demeaner = within.Demeaner(d[SPEC["entity"]].to_numpy(), d[SPEC["time"]].to_numpy())
        self.pre = np.array([i for i, k in enumerate(events) if k < -1])
        fit = _ClusteredContrast(d, X, names, np.eye(X.shape[1])[self.pre[0]], self.demeaner,
                                 entity=SPEC["entity"], time=SPEC["time"])
        self.Z, self.ZtZi, self.q, self.codes, self.G = fit.Z, fit.ZtZi, fit.q, fit.codes, fit.G
        self.H = self.Z @ self.ZtZi[:, self.pre]  # the leads' rows of the bread, on each observation

    def statistics(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(F, p) of every column of ``Y`` (rows in the design's sorted order)."""
        Yd = self.demeaner(Y) + Y.mean(axis=0)  # as twfe: within-transformed, grand mean added back
        B = self.ZtZi @ (self.Z.T @ Yd)
        U = Yd - self.Z @ B
        n, k, R = len(Y), len(self.pre), Y.shape[1]
        S = within.cluster_scores((self.H[:, :, None] * U[:, None, :]).reshape(n, k * R), self.codes, self.G)
        S = S.reshape(self.G, k, R)
        V = self.q * np.einsum("gjr,glr->rjl", S, S)  # the leads' clustered covariance, per replication
        b = B[self.pre].T  # (R, k)
        W = np.einsum("rj,rj->r", b, np.linalg.solve(V, b[:, :, None])[:, :, 0])
        F = W / k
        return F, dist.f_sf(F, k, self.G - 1)  # wald_test with df = the event study's df_resid (G - 1)

    def rows(self, name: str, outcomes: dict, truths: list, seeds: list) -> list[list[dict]]:
        """For each replication (column of ``outcomes["nqp"]``), the rows of
        :func:`replication.montecarlo.estimators.pretrend_wald` (``truths``, ``seeds`` unused)."""
        F, p = self.statistics(self._outcome(name, outcomes))
        return self._rows(name, F, p)


class BatchedPlacebo(_Batched):
    """Figure 1's placebo test for many outcomes on one fixed design: for each column of
    ``nqp`` and its seed, the statistic (the column-(5) coefficient of ``did``) and the
    randomisation p-value of :func:`replication.estimators.placebo.permutation_test`
    (cohort scheme, ``options.n_placebo`` draws, ``seed``), i.e.
    :func:`replication.montecarlo.estimators.placebo_ri`'s row.  Replications sharing a seed
    share their placebo assignments, drawn once (the last seed's are kept for the next call)."""

    names = ("placebo_ri",)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options: StudyOptions):
        d, self.order = _sorted_design(design, ["twfe_controls", "sun_abraham"])  # treat, cohort, controls
        ent, tim = d[SPEC["entity"]].to_numpy(), d[SPEC["time"]].to_numpy()
        _, self.city_idx = np.unique(ent, return_inverse=True)
        self.years = tim
        self.pilot = d.groupby(SPEC["entity"], sort=True)[SPEC["cohort"]].first().astype("Float64").to_numpy(
            dtype=float, na_value=np.nan)
        n_treated = int(np.isfinite(self.pilot).sum())
        if n_treated == 0 or n_treated == len(self.pilot):  # permutation_test's own check and message
            raise ValueError(f"the placebo test needs treated and untreated cities; the panel has {n_treated} "
                             f"treated of {len(self.pilot)}")
        self.n_draws = int(options.n_placebo)
        self.demeaner = within.Demeaner(ent, tim)
        regs = [SPEC["treat"], *CONTROLS]
        self.real = _ClusteredContrast(d, d[regs].to_numpy(float), regs, np.eye(len(regs))[0], self.demeaner,
                                       entity=SPEC["entity"], time=SPEC["time"])
        self.Q = within.orthonormal_basis(self.demeaner(d[list(CONTROLS)].to_numpy(float)))
        self.chunk = chunk_size(len(d))
        self._cache: tuple = (None, None)

    def placebo_regressors(self, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block of draws: the transformed placebo dummies ``d~`` (n_rows x draws) and
        ``d~'d~`` (NaN for a degenerate draw), for the draws of ``seed``."""
        if self._cache[0] == seed:
            return self._cache[1]
        placebo = _placebo_years(self.pilot, self.years, "cohort", self.n_draws, make_rng(seed))
        blocks = []
        for start in range(0, self.n_draws, self.chunk):
            Dt, dd = placebo_regressors(placebo[:, start:start + self.chunk], self.years, self.city_idx,
                                        self.demeaner, self.Q)
            blocks.append((Dt, np.where(dd > 1e-12, dd, np.nan)))  # permutation_test's degenerate-draw rule
        self._cache = (seed, blocks)
        return blocks

    def statistics(self, Y: np.ndarray, seeds) -> tuple[np.ndarray, np.ndarray]:
        """(coefficient, randomisation p-value) of every column of ``Y`` (sorted rows) with its seed."""
        b_real, _ = self.real(self.demeaner(Y) + Y.mean(axis=0))
        Yt = within.residualise(self.demeaner(Y), self.Q)
        exceed = np.zeros(Y.shape[1])
        for seed, cols in _seed_groups("placebo_ri", seeds, Y.shape[1]).items():
            for Dt, dd in self.placebo_regressors(seed):
                B = (Dt.T @ Yt[:, cols]) / dd[:, None]  # placebo coefficients, draws x replications
                exceed[cols] += (np.abs(B) >= np.abs(b_real[cols])).sum(axis=0)  # NaN never counts
        return b_real, (1 + exceed) / (1 + self.n_draws)

    def rows(self, name: str, outcomes: dict, truths: list, seeds: list) -> list[list[dict]]:
        """For each replication, the rows of :func:`replication.montecarlo.estimators.placebo_ri`
        with that replication's seed (``truths`` unused)."""
        b, p = self.statistics(self._outcome(name, outcomes), seeds)
        return self._rows(name, b, p)


#: The batched classes by estimator id.
BATCHED_TESTS = {"placebo_ri": BatchedPlacebo, "pretrend_wald": BatchedPretrendWald}
