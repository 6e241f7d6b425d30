"""PSM-DID, the subgroup effects and the mediation paths for many outcome draws on one fixed design.

In a fixed-design study (``StudyOptions(fixed_design=True)``) only the indicators, the index
``nqp`` and the mediators ``hc``/``st`` change between replications.  What the three
estimators below do with the design (the propensity score and the matching, which groups
are estimated, the within transformation of the regressors, the small-sample factors) is
therefore done once per design, and each replication's numbers are matrix products with
an ``(n_rows, R)`` matrix of outcomes:

:class:`BatchedPSMDID` (``"psm_did"``)
    :func:`replication.montecarlo.estimators.psm_did` (Table 3 (3b)): the pooled-logit
    propensity score of the ever-treated indicator on the controls and the nearest-neighbour
    matching with replacement (:func:`replication.estimators.psm.psm`) use only the design,
    so they are run once; then column (5)'s TWFE on the matched rows (each matched row once,
    unweighted, as the loop uses them) for all R outcomes.
:class:`BatchedSubgroups` (``"subgroups"``)
    :func:`replication.montecarlo.estimators.subgroup_effects` (Table 7): which groups
    :func:`replication.estimators.heterogeneity.subgroups` estimates (region; size by
    ``urban_core_pop_2020 >= 1e6``; at least 5 treated cities and some untreated ones)
    depends only on the design; each group's estimate is a TWFE on its rows, with t(G_g - 1)
    inference from that group's own clusters.
:class:`BatchedMediation` (``"mediation"``)
    :func:`replication.montecarlo.estimators.mediation_paths` (Table 4):
    :func:`replication.estimators.mediation.three_step` for ``hc`` and ``st``.  Path ``a``
    (the mediator on ``did`` and the controls) is linear in the mediator.  Path ``b`` (the
    mediator's coefficient in ``nqp`` on ``did``, the mediator and the controls) has a
    regressor that changes by replication: by Frisch-Waugh-Lovell, ``b = m~'y~ / m~'m~`` with
    ``m~``, ``y~`` the within-transformed mediator and index residualised on the fixed
    regressors, and its clustered SE is ``sqrt(q3 sum_g (sum_{i in g} m~_i u_i)^2) / m~'m~``
    (``u`` the full regression's residuals, ``q3`` its Stata factor), which is the full
    regression's clustered SE of ``b``.  ``indirect = a*b`` with the Sobel SE
    (:func:`replication.estimators.mediation.sobel`), normal interval and p-value.

Every class takes the design (one replication's full panel; its varying columns are
ignored) and the study's options, and its ``rows(name, outcomes, truths, seeds)`` returns
for each replication exactly the rows of
:func:`replication.montecarlo.estimators.run_estimator` (``tests/test_montecarlo_batched_samples.py``
checks them to 1e-10).  A replication whose outcomes have missing or infinite values, or
whose mediator is (nearly) collinear with the fixed regressors, is run through
``run_estimator`` itself (the loop decides whether it fails, and how).  A design that
cannot be batched (not a fixed-design study, a needed column absent or with missing values,
or a design on which the library's own design step fails) is refused with a
:class:`ValueError`; loop such a study replication by replication.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS, MEDIATORS
from replication.estimators import distributions as dist
from replication.estimators import heterogeneity, mediation, psm, within
from replication.estimators.did import small_sample
from replication.montecarlo.batched import _ClusteredContrast
from replication.montecarlo.estimators import LEVEL, REGIONS, SIZES, SPEC, run_estimator, size_groups

#: The mediator's FWL residual counts as collinear with the fixed regressors (the replication
#: is then looped) when its norm is below this fraction of the regressors' scale.
COLLINEAR_TOL = 1e-8


def _inference(est: np.ndarray, se: np.ndarray, df) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, p) as :class:`replication.estimators.results.Estimates` forms them:
    ``est -/+ crit * se`` and ``2 sf(|est / se|)`` with t(``df``) (normal when ``df`` is falsy)."""
    ref = dist.t(df) if df else dist.norm
    crit = ref.ppf(0.5 + LEVEL / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * ref.sf(np.abs(est / se))
    return est - crit * se, est + crit * se, p


def _rows(estimator: str, estimand: str, est, se, df, truths: list[dict], key: str) -> list[dict]:
    """One :func:`replication.montecarlo.estimators.estimate_row` per replication (vectors ``est``, ``se``)."""
    lo, hi, p = _inference(np.asarray(est, float), np.asarray(se, float), df)
    out = []
    for r, truth in enumerate(truths):
        t = truth.get(key)
        out.append({"estimator": estimator, "estimand": estimand, "kind": "estimate", "estimate": float(est[r]),
                    "se": float(se[r]), "lower": float(lo[r]), "upper": float(hi[r]), "pvalue": float(p[r]),
                    "truth": np.nan if t is None else float(t)})
    return out


class _Column5:
    """Column (5)'s coefficient of ``did`` (city and year effects, the controls, SEs clustered
    by city with Stata's factor, t(G-1)), as :func:`replication.estimators.did.twfe` fits it,
    on the rows ``d`` (sorted by city and year) for many outcomes: the design part of
    :class:`replication.montecarlo.batched._ClusteredContrast` with its own demeaner."""

    def __init__(self, d: pd.DataFrame):
        regs = [SPEC["treat"], *CONTROLS]
        self.demeaner = within.Demeaner(d[SPEC["entity"]].to_numpy(), d[SPEC["time"]].to_numpy())
        self.contrast = _ClusteredContrast(d, d[regs].to_numpy(float), regs, np.eye(len(regs))[0], self.demeaner,
                                           entity=SPEC["entity"], time=SPEC["time"])
        self.df = self.contrast.G - 1

    def within(self, Y: np.ndarray) -> np.ndarray:
        """The within transformation with the grand means added back, as ``twfe`` builds its design."""
        return self.demeaner(Y) + Y.mean(axis=0)

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and clustered SEs of ``did`` for every column of ``Y`` (rows as ``d``)."""
        return self.contrast(self.within(Y))


class _BatchedBase:
    """What the three classes share: the checks, the design sorted by city and year, the
    outcome matrices in that order, and the per-replication fallback to the loop."""

    names: tuple = ()
    outcomes: tuple = ()

    def __init__(self, design: pd.DataFrame, options, columns, *, complete=()):
        if not isinstance(design, pd.DataFrame):
            raise ValueError(f"{self.names[0]}: design must be a pandas DataFrame (one replication's panel), "
                             f"got {type(design).__name__}")
        if not getattr(options, "fixed_design", False):
            raise ValueError(f"{self.names[0]}: batched estimation needs a fixed-design study "
                             "(StudyOptions(fixed_design=True)); loop run_estimator otherwise")
        missing = [c for c in columns if c not in design.columns]
        if missing:
            raise ValueError(f"{self.names[0]}: design has no column(s) {missing}")
        nan = [c for c in complete if design[c].isna().any()]
        if nan:
            raise ValueError(f"{self.names[0]}: design has missing values in {nan}; the batched version "
                             "needs them complete (loop run_estimator on such a design)")
        self.design, self.options = design, options
        flat = design.reset_index(drop=True)
        self.n_rows = len(flat)
        self.order = flat.sort_values([SPEC["entity"], SPEC["time"]], kind="mergesort").index.to_numpy()
        self.d = flat.iloc[self.order].reset_index(drop=True)

    def _batched(self, Y: dict[str, np.ndarray], truths: list[dict]) -> list:
        """Rows of every replication (columns of ``Y``, rows sorted as ``self.d``); None
        for a replication that must be looped."""
        raise NotImplementedError

    def rows(self, name: str, outcomes: dict, truths: list[dict], seeds: list[int]) -> list[list[dict]]:
        """For each replication r, what ``run_estimator(name, design.assign(**{k: v[:, r]}),
        truths[r], options, seeds[r])`` returns (the seeds are unused: nothing is resampled)."""
        if name not in self.names:
            raise ValueError(f"{type(self).__name__} computes {self.names}, not {name!r}")
        absent = [k for k in self.outcomes if k not in outcomes]
        if absent:
            raise ValueError(f"{name}: outcomes needs the matrices {list(self.outcomes)}; missing {absent}")
        R = len(truths)
        mats = {}
        for k in self.outcomes:
            M = np.asarray(outcomes[k], dtype=float)
            if M.ndim != 2 or M.shape != (self.n_rows, R) or len(seeds) != R:
                raise ValueError(f"{name}: outcomes[{k!r}] must be ({self.n_rows}, {R}) (rows of the design, one "
                                 f"column per truth and seed), got {M.shape} and {len(seeds)} seeds")
            mats[k] = M
        finite = np.logical_and.reduce([np.isfinite(M).all(axis=0) for M in mats.values()])
        ok = np.flatnonzero(finite)
        out: list = [None] * R
        if len(ok):
            got = self._batched({k: M[self.order][:, ok] for k, M in mats.items()}, [truths[r] for r in ok])
            for r, rows in zip(ok, got):
                out[r] = rows
        for r in range(R):
            if out[r] is None:  # missing outcomes or a degenerate replication: the loop's own answer
                panel = self.design.assign(**{k: np.asarray(outcomes[k])[:, r] for k in outcomes})
                out[r] = run_estimator(name, panel, truths[r], self.options, seeds[r])
        return out


class BatchedPSMDID(_BatchedBase):
    """:func:`replication.montecarlo.estimators.psm_did` for many replications: the matching
    (:func:`replication.estimators.psm.psm`, pooled logit of ``treat`` on the controls,
    nearest neighbour with replacement) once on the design, then column (5)'s TWFE on the
    matched rows (``_weight`` not missing; each row once, unweighted) for all outcomes."""

    names = ("psm_did",)
    outcomes = ("nqp",)

    def __init__(self, design: pd.DataFrame, options):
        regs = [SPEC["treat"], *CONTROLS]
        super().__init__(design, options, [SPEC["entity"], SPEC["time"], SPEC["ever_treated"], *regs],
                         complete=[SPEC["entity"], SPEC["time"], SPEC["ever_treated"], *regs])
        try:  # on the rows in the design's own order: psm breaks ties by position, as the loop does
            m = psm.psm(design.reset_index(drop=True), SPEC["ever_treated"], CONTROLS, time=SPEC["time"])
            self.matched = m.data["_weight"].notna().to_numpy()[self.order]
            self.part = _Column5(self.d[self.matched].reset_index(drop=True))
        except (ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"psm_did: the design cannot be matched and batched ({e}); loop run_estimator") from e

    def _batched(self, Y, truths):
        est, se = self.part(Y[SPEC["y"]][self.matched])
        rows = _rows("psm_did", "att", est, se, self.part.df, truths, "att")
        return [[row] for row in rows]


class BatchedSubgroups(_BatchedBase):
    """:func:`replication.montecarlo.estimators.subgroup_effects` for many replications: the
    groups :func:`replication.estimators.heterogeneity.subgroups` estimates (by region, then
    by size; ``min_treated=5``) are found once on the design, and each is one TWFE (column
    (5)'s specification on the group's rows, t(G_g - 1) inference) for all outcomes."""

    names = ("subgroups",)
    outcomes = ("nqp",)

    def __init__(self, design: pd.DataFrame, options):
        regs = [SPEC["treat"], *CONTROLS]
        super().__init__(design, options, [SPEC["entity"], SPEC["time"], *regs, "region", "urban_core_pop_2020"],
                         complete=[SPEC["entity"], SPEC["time"], *regs])
        g = self.d.assign(size=size_groups(self.d))
        # which groups are estimated, in which order: the library's rules, run once on a stand-in outcome
        probe = g.assign(**{SPEC["y"]: np.random.default_rng(0).standard_normal(len(g))})
        self.parts = []
        try:
            for by, order, key in (("region", REGIONS, "region"), ("size", SIZES, "size")):
                r = heterogeneity.subgroups(probe, by, SPEC["y"], min_treated=5, convention="stata",
                                            entity=SPEC["entity"], time=SPEC["time"], treat=SPEC["treat"],
                                            controls=CONTROLS, cluster=SPEC["cluster"], order=order)
                for grp in r.params.index:
                    mask = (g[by] == grp).to_numpy(bool)
                    self.parts.append((f"att_{key}_{grp}", mask, _Column5(g[mask].reset_index(drop=True))))
        except (ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"subgroups: a group's regression cannot be batched ({e}); loop run_estimator") from e

    def _batched(self, Y, truths):
        out = [[] for _ in truths]
        for estimand, mask, part in self.parts:
            est, se = part(Y[SPEC["y"]][mask])
            for r, row in enumerate(_rows("subgroups", estimand, est, se, part.df, truths, estimand)):
                out[r].append(row)
        return out


class BatchedMediation(_BatchedBase):
    """:func:`replication.montecarlo.estimators.mediation_paths` for many replications:
    for each mediator of ``MEDIATORS``, path ``a`` (one TWFE contrast, linear in the
    mediator) and the indirect effect ``a*b`` with its Sobel SE, where ``b`` and its
    clustered SE come from Frisch-Waugh-Lovell on the regressors fixed by the design (see
    the module docstring); equal to :func:`replication.estimators.mediation.three_step`
    (``convention="stata"``, no bootstrap)."""

    names = ("mediation",)
    outcomes = (SPEC["y"], *MEDIATORS)

    def __init__(self, design: pd.DataFrame, options):
        regs = [SPEC["treat"], *CONTROLS]
        super().__init__(design, options, [SPEC["entity"], SPEC["time"], *regs],
                         complete=[SPEC["entity"], SPEC["time"], *regs])
        try:
            self.step2 = _Column5(self.d)  # step 2: the mediator on did and the controls
        except (ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"mediation: the regressors cannot be batched ({e}); loop run_estimator") from e
        W = self.step2.contrast.Z  # fixed regressors of step 3: within-transformed did and controls (+ means), constant
        self.Q = within.orthonormal_basis(W)
        self.scale = np.linalg.norm(W, 2)
        self.q3 = small_sample(self.d, len(regs) + 1, entity=SPEC["entity"], time=SPEC["time"],
                               cluster=SPEC["cluster"], convention="stata")["q"]

    def _path_b(self, Yt: np.ndarray, Md: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``b``, its clustered SE (step 3's Stata factor) and whether the mediator is (nearly)
        collinear with the fixed regressors, for every column."""
        Mt = within.residualise(Md, self.Q)
        mm = (Mt * Mt).sum(axis=0)
        degenerate = np.sqrt(mm) <= COLLINEAR_TOL * np.maximum(self.scale, np.linalg.norm(Md, axis=0))
        mm = np.where(degenerate, 1.0, mm)
        b = (Mt * Yt).sum(axis=0) / mm
        S = within.cluster_scores(Mt * (Yt - b * Mt) / mm, self.step2.contrast.codes, self.step2.contrast.G)
        return b, np.sqrt(self.q3 * (S * S).sum(axis=0)), degenerate

    def _batched(self, Y, truths):
        Yt = within.residualise(self.step2.within(Y[SPEC["y"]]), self.Q)
        df = self.step2.df  # three_step's df_resid: step 3's G - 1, the same clusters
        out, bad = [[] for _ in truths], np.zeros(len(truths), bool)
        for med in MEDIATORS:
            Md = self.step2.within(Y[med])
            a, se_a = self.step2.contrast(Md)
            b, se_b, degenerate = self._path_b(Yt, Md)
            bad |= degenerate
            se_ind = np.array([mediation.sobel(a[r], se_a[r], b[r], se_b[r])[0] for r in range(len(truths))])
            rows_a = _rows("mediation", f"a_{med}", a, se_a, df, truths, f"a_{med}")
            rows_i = _rows("mediation", f"indirect_{med}", a * b, se_ind, None, truths, f"indirect_{med}")
            for r in range(len(truths)):
                out[r] += [rows_a[r], rows_i[r]]
        return [None if bad[r] else rows for r, rows in enumerate(out)]


#: estimator id -> its batched class
BATCHED = {"psm_did": BatchedPSMDID, "subgroups": BatchedSubgroups, "mediation": BatchedMediation}
