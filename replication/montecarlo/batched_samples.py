"""PSM-DID, the subgroup effects and the mediation paths for many outcome draws on one design.

In a fixed-design study (``StudyOptions(fixed_design=True)``) only the indicators, the index
``nqp`` and the mediators ``hc``/``st`` change between replications.  What the three
estimators below do with the design (the propensity score and the matching, which groups
are estimated, the within transformation of the regressors, the small-sample factors) is
therefore done once per design, and each replication's numbers are matrix products with
an ``(n_rows, R)`` matrix of outcomes.  On a redrawn design (the default study) the same
classes are built on each replication's own design and called with one column (R = 1):
the design work is plain numpy on the columns it needs, cheaper than the library calls it
equals (``redrawn = True``; see :func:`replication.montecarlo.replicate.run_block`).

:class:`BatchedPSMDID` (``"psm_did"``)
    :func:`replication.montecarlo.estimators.psm_did` (Table 3 (3b)): the pooled-logit
    propensity score of the ever-treated indicator on the controls and the nearest-neighbour
    matching with replacement (the library's own steps of :func:`replication.estimators.psm.psm`,
    without its balance tables) use only the design, so they are run once; then column (5)'s
    TWFE on the matched rows (each matched row once, unweighted, as the loop uses them) for
    all R outcomes.
:class:`BatchedSubgroups` (``"subgroups"``)
    :func:`replication.montecarlo.estimators.subgroup_effects` (Table 7): which groups
    :func:`replication.estimators.heterogeneity.subgroups` estimates (region; size by
    ``urban_core_pop_2020 >= 1e6``; at least 5 treated cities and some untreated ones, the
    groups of the paper's order first, then the others sorted) depends only on the design and
    is read off it directly; each group's estimate is a TWFE on its rows, with t(G_g - 1)
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
checks them to 1e-10, on fixed and on redrawn designs).  A replication whose outcomes have
missing or infinite values, or whose mediator is (nearly) collinear with the fixed
regressors, is run through ``run_estimator`` itself (the loop decides whether it fails, and
how).  A design that cannot be batched (a needed column absent or with missing values, or a
design on which the library's own design step fails) is refused with a :class:`ValueError`;
loop such a design replication by replication.
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
#: ``subgroup_effects``' ``min_treated``: a group needs this many treated cities to be estimated.
MIN_TREATED = 5
#: The regressors of column (5): ``did`` and the controls.
REGRESSORS = [SPEC["treat"], *CONTROLS]


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
    on rows sorted by city and year (labels ``entity``, ``time``; regressors ``X`` =
    :data:`REGRESSORS`) for many outcomes: the design part of
    :class:`replication.montecarlo.batched._ClusteredContrast` with its own demeaner."""

    def __init__(self, entity: np.ndarray, time: np.ndarray, X: np.ndarray):
        self.frame = pd.DataFrame({SPEC["entity"]: entity, SPEC["time"]: time})  # what small_sample counts
        self.demeaner = within.Demeaner(entity, time)
        X = np.asfortranarray(X)  # column-major as twfe's DataFrame.to_numpy: the same sums to the last bit
        self.contrast = _ClusteredContrast(self.frame, X, REGRESSORS, np.eye(len(REGRESSORS))[0], self.demeaner,
                                           entity=SPEC["entity"], time=SPEC["time"])
        self.df = self.contrast.G - 1

    def within(self, Y: np.ndarray) -> np.ndarray:
        """The within transformation with the grand means added back, as ``twfe`` builds its design."""
        return self.demeaner(Y) + Y.mean(axis=0)

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and clustered SEs of ``did`` for every column of ``Y`` (rows as the design's)."""
        return self.contrast(self.within(Y))


class _BatchedBase:
    """What the three classes share: the checks, the design's city and year labels and
    regressors (:data:`REGRESSORS`) as arrays sorted by city and year (``order``: the sorted
    positions of the design's rows), the outcome matrices in that order, and the
    per-replication fallback to the loop."""

    names: tuple = ()
    outcomes: tuple = ()

    def __init__(self, design: pd.DataFrame, options, columns, *, complete=()):
        if not isinstance(design, pd.DataFrame):
            raise ValueError(f"{self.names[0]}: design must be a pandas DataFrame (one replication's panel), "
                             f"got {type(design).__name__}")
        missing = [c for c in columns if c not in design.columns]
        if missing:
            raise ValueError(f"{self.names[0]}: design has no column(s) {missing}")
        nan = [c for c in complete if design[c].isna().any()]
        if nan:
            raise ValueError(f"{self.names[0]}: design has missing values in {nan}; the batched version "
                             "needs them complete (loop run_estimator on such a design)")
        self.design, self.options = design, options
        self.n_rows = len(design)
        entity, time = design[SPEC["entity"]].to_numpy(), design[SPEC["time"]].to_numpy()
        # sorted by city, then year (stable), as twfe's sort_values orders the rows
        self.order = np.lexsort((within.group_codes(time)[0], within.group_codes(entity)[0]))
        self.entity, self.time = entity[self.order], time[self.order]
        self.X = np.column_stack([design[c].to_numpy(float) for c in REGRESSORS])[self.order]

    def _batched(self, Y: dict[str, np.ndarray], truths: list[dict]) -> list:
        """Rows of every replication (columns of ``Y``, rows sorted as ``order``); None for a
        replication that must be looped."""
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
    of :func:`replication.estimators.psm.psm` (its pooled logit of ``treat`` on the controls,
    :func:`replication.estimators.psm._propensity`, and its nearest-neighbour matching with
    replacement and common support, :func:`replication.estimators.psm.match`) once on the
    design, then column (5)'s TWFE on the matched rows (``_weight`` not missing; each row
    once, unweighted) for all outcomes."""

    names = ("psm_did",)
    outcomes = ("nqp",)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options):
        cols = [SPEC["entity"], SPEC["time"], SPEC["ever_treated"], *REGRESSORS]
        super().__init__(design, options, cols, complete=cols)
        try:  # on the rows in the design's own order: match breaks ties by position, as the loop does
            frame = pd.DataFrame({c: design[c].to_numpy() for c in (SPEC["ever_treated"], *CONTROLS)})
            scores = psm._propensity(frame, SPEC["ever_treated"], CONTROLS, link="logit", by_year=False,
                                     time=SPEC["time"])[0]
            m = psm.match(scores["pscore"].to_numpy(), frame[SPEC["ever_treated"]].to_numpy() == 1)
            self.matched = m["_weight"].notna().to_numpy()[self.order]
            self.part = _Column5(self.entity[self.matched], self.time[self.matched], self.X[self.matched])
        except (ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"psm_did: the design cannot be matched and batched ({e}); loop run_estimator") from e

    def _batched(self, Y, truths):
        est, se = self.part(Y[SPEC["y"]][self.matched])
        rows = _rows("psm_did", "att", est, se, self.part.df, truths, "att")
        return [[row] for row in rows]


def estimated_groups(labels, entity, treated, order=None, min_treated: int = MIN_TREATED):
    """The groups :func:`replication.estimators.heterogeneity.subgroups` estimates, in its
    order (those of ``order`` first, then the others sorted; rows without a group excluded),
    each as ``(group, rows)``: a group is estimated when at least ``min_treated`` of its
    entities are treated (``treated`` true in some row) and some are not.  ``labels``,
    ``entity``, ``treated``: one value per row; ``rows`` is a boolean mask of them."""
    codes, uniques = pd.factorize(labels)  # missing labels: code -1, in no group
    uniques = list(uniques)
    ents = within.group_codes(entity)[0]
    treated = np.asarray(treated, bool)
    out = []
    for g in heterogeneity._groups(pd.DataFrame({"g": uniques}), "g", order):  # the library's order
        rows = codes == uniques.index(g)
        n_ent = len(np.unique(ents[rows]))
        n_tr = len(np.unique(ents[rows & treated]))
        if min_treated <= n_tr < n_ent:
            out.append((g, rows))
    return out


class BatchedSubgroups(_BatchedBase):
    """:func:`replication.montecarlo.estimators.subgroup_effects` for many replications: the
    groups :func:`replication.estimators.heterogeneity.subgroups` estimates (by region, then
    by size; ``min_treated=5``) are read off the design (:func:`estimated_groups`), and each
    is one TWFE (column (5)'s specification on the group's rows, t(G_g - 1) inference) for
    all outcomes."""

    names = ("subgroups",)
    outcomes = ("nqp",)
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options):
        super().__init__(design, options, [SPEC["entity"], SPEC["time"], *REGRESSORS, "region", "urban_core_pop_2020"],
                         complete=[SPEC["entity"], SPEC["time"], *REGRESSORS])
        entity, treated = design[SPEC["entity"]].to_numpy(), design[SPEC["treat"]].to_numpy(float) > 0
        self.parts = []
        try:
            for key, labels, order in (("region", design["region"], REGIONS), ("size", size_groups(design), SIZES)):
                for grp, rows in estimated_groups(labels, entity, treated, order):
                    mask = rows[self.order]
                    self.parts.append((f"att_{key}_{grp}", mask, _Column5(self.entity[mask], self.time[mask],
                                                                          self.X[mask])))
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
    redrawn = True  # built for each replication of a redrawn design too (cheaper than the loop)

    def __init__(self, design: pd.DataFrame, options):
        cols = [SPEC["entity"], SPEC["time"], *REGRESSORS]
        super().__init__(design, options, cols, complete=cols)
        try:
            self.step2 = _Column5(self.entity, self.time, self.X)  # step 2: the mediator on did and the controls
        except (ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"mediation: the regressors cannot be batched ({e}); loop run_estimator") from e
        W = self.step2.contrast.Z  # fixed regressors of step 3: within-transformed did and controls (+ means), constant
        self.Q = within.orthonormal_basis(W)
        self.scale = float(np.sqrt(np.linalg.eigvalsh(W.T @ W)[-1]))  # W's largest singular value
        self.q3 = small_sample(self.step2.frame, len(REGRESSORS) + 1, entity=SPEC["entity"], time=SPEC["time"],
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
