"""The threshold model of the Monte Carlo study for many replications of one fixed design.

:class:`BatchedThreshold` gives, for every replication, the rows of
:func:`replication.montecarlo.estimators.threshold_model` (the book's
:func:`replication.estimators.threshold.fit_panel_threshold` with two thresholds of ``isu``,
year dummies, xthreg's conventions): model 2's two thresholds sorted, each with its 95 %
likelihood-ratio set, and, when ``n_boot > 0``, the bootstrap F test of no threshold
against one.

With the design held fixed only the outcome changes, so everything that depends on the
design alone is built once: the balanced, sorted sample, the candidate grid and the sorted
cumulative-sum structure of :class:`~replication.estimators.threshold_search.Searcher`.
All replications' searches then run as one matrix of outcomes
(:meth:`~replication.estimators.threshold_search.SequentialSearch.best`, one projection per
distinct earlier threshold), and all ``R x n_boot`` bootstrap outcomes of the F test as one
matrix, each replication's draws taken from its own seed exactly as
:func:`~replication.estimators.threshold_inference.bootstrap_tests` takes them, so the
p-values are the loop's.

What the loop computes and never reports is skipped: the bootstrap of the test of one
against two thresholds (its draws come after those of the reported test from the same
generator, so skipping them changes nothing), the LR set of the one-threshold model and the
regime regressions of the result object.  ``tests/test_montecarlo_batched_threshold.py``
checks every row against :func:`~replication.montecarlo.estimators.run_estimator`.
"""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.estimators import threshold
from replication.estimators.results import TestResult, rng
from replication.estimators.threshold import _per_threshold, _prepare, with_year_dummies
from replication.estimators.threshold_inference import lr_critical_value
from replication.estimators.threshold_search import Searcher, SequentialSearch, candidate_grid, convention_rules
from replication.montecarlo.estimators import SPEC, run_estimator, threshold_rows
from replication.montecarlo.options import StudyOptions

#: threshold_model's call of fit_panel_threshold: two thresholds, xthreg's conventions, i.year
CONVENTION, MAX_THRESHOLDS = "xthreg", 2
#: fit_panel_threshold's defaults that threshold_model keeps (trim, grid, balance rule)
DEFAULTS = {k: p.default for k, p in inspect.signature(threshold.fit_panel_threshold).parameters.items()
            if k in ("trim", "grid", "balance")}
#: bootstrap outcome cells per matrix (bounded memory at any number of replications)
CHUNK_CELLS = 1_000_000


def lr_interval(S: np.ndarray, dof: int, cands: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the LR confidence set of every column of the admissible SSR
    curves ``S`` (candidates x columns): the connected run of grid points with
    ``LR <= c(level)`` around the minimum, as
    :func:`replication.estimators.threshold_inference.lr_sets` reports it."""
    S_hat = S.min(axis=0)
    L = (S - S_hat) / (S_hat / dof)
    outside = ~(L <= lr_critical_value(1 - level))
    j = np.argmin(L, axis=0)
    idx = np.arange(len(cands))[:, None]
    lo = np.where(outside & (idx < j), idx, -1).max(axis=0) + 1
    hi = np.where(outside & (idx > j), idx, len(cands)).min(axis=0) - 1
    return cands[lo], cands[hi]


class BatchedThreshold:
    """:func:`replication.montecarlo.estimators.threshold_model` (Tables 5-6:
    :func:`replication.estimators.threshold.fit_panel_threshold` on ``nqp``, regime regressor
    ``did``, threshold variable ``isu``, the controls and year dummies, two thresholds, xthreg's
    conventions, ``n_boot`` bootstrap draws) for many replications of one fixed design.

    ``design``: one replication's panel (its outcome is ignored); everything but the outcome
    must be the same in every replication.  A design the threshold model cannot use (a
    missing column, missing values, no candidate thresholds) is refused with a ``ValueError``;
    an unbalanced one is balanced as the book's function balances it.  :meth:`rows` returns
    what :func:`replication.montecarlo.estimators.run_estimator` returns for each replication."""

    names = ("threshold",)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)
    outcomes = ("nqp",)

    def __init__(self, design: pd.DataFrame, options: StudyOptions):
        if not isinstance(design, pd.DataFrame):
            raise ValueError(f"design must be a pandas DataFrame (one replication's panel), "
                             f"got {type(design).__name__}")
        self.design, self.options = design.reset_index(drop=True), options
        self.n_boot = _per_threshold(options.n_boot, MAX_THRESHOLDS, int, "n_boot")[0]
        y, x, q, entity, time = SPEC["y"], SPEC["treat"], SPEC["threshold"], SPEC["entity"], SPEC["time"]
        # the outcome column carries each row's position, so the sorted, balanced sample maps back to design rows
        marked, years = with_year_dummies(self.design.assign(**{y: np.arange(len(design), dtype=float)}), time)
        try:
            d, controls, _ = _prepare(marked, y, x, q, [*CONTROLS, *years], entity, time, DEFAULTS["balance"])
            trims = _per_threshold(DEFAULTS["trim"], MAX_THRESHOLDS, float, "trim")
            cands = candidate_grid(d[q].to_numpy(float), trims[0], DEFAULTS["grid"], of=convention_rules(CONVENTION)[1])
        except (KeyError, ValueError) as err:
            raise ValueError(f"the threshold model cannot use this design: {err}") from None
        self.take = d[y].to_numpy().astype(np.intp)
        T, ent = d[time].nunique(), d[entity].to_numpy()
        xv, qv = d[x].to_numpy(float), d[q].to_numpy(float)
        Z = d[controls].to_numpy(float)
        self.seq = SequentialSearch(Searcher(ent, xv, qv, Z, T, CONVENTION, cands, grid=DEFAULTS["grid"]), trims)
        srch = self.seq.srch
        self.n_ent, self.T, self.dof = srch.n_ent, T, srch.n_ent * (T - 1)
        W0 = np.column_stack([Z, xv])  # the null model of the 0-against-1 test: controls and regime regressor
        self.LW0, self.DW0 = srch.L(W0), srch.dm(W0)

    # --- the searches ------------------------------------------------------------------
    def _given(self, fixed: np.ndarray, LY: np.ndarray, trim: float):
        """Best next threshold of every column given that column's earlier threshold ``fixed``
        (one projection per distinct value): estimates, their SSR and the LR set's ends."""
        seq, R = self.seq, LY.shape[1]
        g, s, lo, hi = (np.empty(R) for _ in range(4))
        for key in np.unique(fixed):
            m = fixed == key
            g[m], s[m], S, _ = seq.best((key,), LY[:, m], trim)
            lo[m], hi[m] = lr_interval(S, self.dof, seq.srch.cands)
        return g, s, lo, hi

    def estimate(self, Y: np.ndarray, seeds) -> dict[str, np.ndarray]:
        """Everything the rows report for the columns of ``Y`` (sorted sample rows x R):
        ``g1r, g2`` (model 2's thresholds, xthreg's Th-21 and Th-22) with their LR sets
        ``lo21, hi21, lo22, hi22``, the F statistic ``F`` of 0 against 1 threshold and its
        bootstrap p-value ``p`` (NaN without draws)."""
        tr = self.seq.trims
        LY = self.seq.srch.L(Y)
        g1, S1, _, S0 = self.seq.best((), LY, tr[0])
        g2, _, lo22, hi22 = self._given(g1, LY, tr[1])
        g1r, _, lo21, hi21 = self._given(g2, LY, tr[1])
        F = (S0 - S1) / (S1 / self.dof)
        p = self._bootstrap_p(Y, LY, F, seeds) if self.n_boot > 0 else np.full(len(F), np.nan)
        return {"g1r": g1r, "lo21": lo21, "hi21": hi21, "g2": g2, "lo22": lo22, "hi22": hi22, "F": F, "p": p}

    def _bootstrap_p(self, Y: np.ndarray, LY: np.ndarray, F: np.ndarray, seeds) -> np.ndarray:
        """Bootstrap p-value of the 0-against-1 test for every column: the null model's
        residuals resampled by entity (replication r's draws from ``seeds[r]``, the first
        ``n_boot x n_ent`` integers of its generator, as bootstrap_tests draws them) and
        added to its fitted values; all replications' draws searched as one matrix."""
        srch, B, R = self.seq.srch, self.n_boot, Y.shape[1]
        beta = np.linalg.lstsq(self.LW0, LY, rcond=None)[0]
        fitted = self.DW0 @ beta
        resid = (srch.dm(Y) - fitted).T.reshape(R, self.n_ent, self.T)
        draws = np.stack([rng(s).integers(0, self.n_ent, size=(B, self.n_ent), dtype=np.int32) for s in seeds])
        Fb = np.empty((R, B))
        step = max(1, CHUNK_CELLS // (B * len(Y)))
        for r0 in range(0, R, step):
            rs = np.arange(r0, min(R, r0 + step))
            cube = resid[rs[:, None, None], draws[rs]]  # (replications, draws, entities, periods)
            Ystar = (fitted.T[rs, None, :] + cube.reshape(len(rs), B, -1)).reshape(len(rs) * B, -1).T
            eb = self.seq.run(srch.L(Ystar), 1)
            Fb[rs] = ((eb["S0"] - eb["S1"]) / (eb["S1"] / self.dof)).reshape(len(rs), B)
        return (Fb >= F[:, None]).mean(axis=1)

    # --- the rows ------------------------------------------------------------------------
    def _outcome_matrix(self, outcomes: dict, R: int) -> np.ndarray:
        if "nqp" not in outcomes:
            raise ValueError(f"outcomes must hold 'nqp' (the threshold model's outcome), got {sorted(outcomes)}")
        Y = np.asarray(outcomes["nqp"], dtype=float)
        if Y.ndim != 2 or Y.shape != (len(self.design), R):
            raise ValueError(f"outcomes['nqp'] must be an (n_rows, R) matrix with one row per design row "
                             f"({len(self.design)}) and one column per truth and seed ({R}), got shape {Y.shape}")
        return Y

    def rows(self, name: str, outcomes: dict[str, np.ndarray], truths: list[dict],
             seeds: list[int]) -> list[list[dict]]:
        """For each replication r, the rows of ``run_estimator(name, design with nqp = outcomes["nqp"][:, r],
        truths[r], options, seeds[r])``.  A replication with a missing or infinite outcome is left to
        run_estimator itself (its failure row is the loop's)."""
        if name not in self.names:
            raise ValueError(f"BatchedThreshold computes {self.names}, not {name!r}")
        if len(truths) != len(seeds):
            raise ValueError(f"one truth per seed is needed, got {len(truths)} truths and {len(seeds)} seeds")
        Y = self._outcome_matrix(outcomes, len(seeds))
        ok = np.isfinite(Y).all(axis=0)
        out = [None] * len(seeds)
        for r in np.flatnonzero(~ok):
            out[r] = run_estimator(name, self.design.assign(**{SPEC["y"]: Y[:, r]}), truths[r], self.options, seeds[r])
        idx = np.flatnonzero(ok)
        if len(idx):
            est = self.estimate(Y[self.take][:, idx], [seeds[r] for r in idx])
            for j, r in enumerate(idx):
                out[r] = self._replication_rows({k: v[j] for k, v in est.items()}, truths[r])
        return out

    def _replication_rows(self, e: dict, truth: dict) -> list[dict]:
        """One replication's rows, as threshold_model builds them from the result."""
        pairs = [(e["g1r"], e["lo21"], e["hi21"]), (e["g2"], e["lo22"], e["hi22"])]
        return threshold_rows(pairs, truth, TestResult(float(e["F"]), float(e["p"])) if self.options.n_boot else None)
