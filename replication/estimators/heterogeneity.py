"""Heterogeneity: the DID by subgroup, and tests of the differences between groups.

* :func:`subgroups` - the TWFE DID within each value of a group column, with each
  subsample's N, entities and treated entities, as a :class:`SubgroupResult` (``params``
  indexed by group, ``std_errors``, ``pvalues``, ``conf_int()``, ``tidy()``; ``table()`` adds
  the counts and notes; ``fits`` the regressions).  A group with fewer than
  ``min_treated`` treated entities gets an explanatory note instead of a number (never a
  crash, never a silent NaN).
* :func:`interaction_test` - one pooled model with ``treat x group`` (common controls and
  fixed effects) and the cluster-robust Wald test that the group effects are equal
  (:func:`replication.estimators.results.wald_test`), as an :class:`InteractionTest`.
* :func:`fully_interacted` - controls and time effects interacted with the group too;
  its ``treat x group`` coefficients equal the separate subgroup regressions exactly.
* :func:`permutation_gap` - randomisation test of the gap between two groups' effects,
  permuting the group labels across entities (group sizes kept), all draws batched, as a
  :class:`GapTest`.

Rows whose group is missing (e.g. a city without a census size) are excluded from every
function, never silently: the result says how many entities and rows (``excluded``; and
:func:`subgroups` adds a row for them).  Groups are listed in ``order`` first (default:
none), then in sorted order; which groups the paper's Table 7 uses, and in which order, is
specified in :mod:`replication.report.specs`.  All functions work on unbalanced panels
(they rest on :func:`replication.estimators.did.twfe` and the exact within transformation
of :mod:`replication.estimators.within`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from replication.data.schema import CONTROLS
from replication.estimators import within
from replication.estimators.did import TWFEResult, twfe
from replication.estimators.results import ENTITY, Estimates, TestResult, resolve_cluster, wald_test
from replication.estimators.results import rng as make_rng


def _present(panel: pd.DataFrame, by: str, entity: str) -> tuple[pd.DataFrame, dict]:
    """Rows with a group, and what was excluded: {"rows", "entities" (count), "codes"}."""
    miss = panel[by].isna().to_numpy()
    codes = sorted(panel.loc[miss, entity].unique().tolist())
    return (panel[~miss] if miss.any() else panel), {"rows": int(miss.sum()), "entities": len(codes),
                                                     "codes": codes}


def _groups(panel: pd.DataFrame, by: str, order=None) -> list:
    """The groups present: those of ``order`` first (in that order), then the others sorted."""
    present = set(panel[by].dropna())
    first = [g for g in (order or ()) if g in present]
    return first + sorted(present - set(first))


@dataclass
class SubgroupResult(Estimates):
    """The DID within each group.  ``params``/``std_errors`` are indexed by the estimated
    groups; p-values and intervals use each group's own regression (t with its own G-1).
    ``groups``: one row per group (``group, nobs, entities, treated_entities, note``), with a
    row ``"(missing <by>)"`` when rows without a group were excluded; ``fits``: group ->
    :class:`~replication.estimators.did.TWFEResult`; ``excluded``: rows/entities/codes left out."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    groups: pd.DataFrame = field(repr=False)
    fits: dict = field(repr=False)
    excluded: dict
    by: str
    treat: str
    title = "DID by subgroup"

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series([float(self.fits[g].pvalues[self.treat]) for g in self.params.index],
                         index=self.params.index, name="pvalue", dtype=float)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        rows = [self.fits[g].conf_int(level).loc[self.treat] for g in self.params.index]
        return pd.DataFrame(rows, index=self.params.index, columns=["lower", "upper"], dtype=float)

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Every group (estimated or not) with its counts, note and the ``tidy()`` columns."""
        t = self.tidy(level).rename(columns={"term": "group"})
        return self.groups.merge(t, on="group", how="left")[
            ["group", "nobs", "entities", "treated_entities", *t.columns[1:], "note"]]

    def _header(self):
        return [("Groups of", self.by), ("Treatment", self.treat), *super()._header(),
                *[(f"  {g}", n) for g, n in zip(self.groups["group"], self.groups["note"]) if n]]


def subgroups(panel: pd.DataFrame, by: str, y: str = "nqp", *, min_treated: int = 5, convention: str = "stata",
              entity: str = "city_code", time: str = "year", treat: str = "did", controls=CONTROLS,
              cluster=ENTITY, order=None) -> SubgroupResult:
    """One TWFE regression of ``y`` on ``treat`` and ``controls`` per value of the column ``by``.

    SEs are clustered by ``cluster`` (default: the ``entity`` column; None: HC1).  Treated
    entities are those with ``treat`` switched on in at least one of their rows; a group with
    fewer than ``min_treated`` of them, or without untreated entities, is not estimated and
    says why in its note.  ``order`` lists groups to show first.  Rows without a group are
    excluded and reported (``excluded`` and a ``"(missing <by>)"`` row of ``groups``)."""
    full = panel
    panel, excluded = _present(panel, by, entity)
    rows, fits = [], {}
    for g in _groups(panel, by, order):
        sub = panel[panel[by] == g]
        n_ent = sub[entity].nunique()
        n_tr = int(sub.loc[sub[treat] > 0, entity].nunique())
        note = ""
        if n_tr < min_treated:
            note = f"only {n_tr} treated entities (fewer than {min_treated}): too few to estimate an effect"
        elif n_tr == n_ent:
            note = "no untreated entities: no comparison group"
        else:
            fits[g] = twfe(sub, y, treat, controls, entity=entity, time=time, cluster=cluster, convention=convention)
        rows.append({"group": g, "nobs": len(sub), "entities": n_ent, "treated_entities": n_tr, "note": note})
    if excluded["rows"]:
        miss = full[full[by].isna()]
        rows.append({"group": f"(missing {by})", "nobs": excluded["rows"], "entities": excluded["entities"],
                     "treated_entities": int(miss.loc[miss[treat] > 0, entity].nunique()),
                     "note": f"excluded: {excluded['entities']} entities ({excluded['rows']} rows) without a value "
                             f"of {by}: {excluded['codes'][:10]}"})
    params = pd.Series({g: float(r.params[treat]) for g, r in fits.items()}, dtype=float)
    ses = pd.Series({g: float(r.std_errors[treat]) for g, r in fits.items()}, dtype=float)
    return SubgroupResult(params, ses, int(sum(r.nobs for r in fits.values())), pd.DataFrame(rows), fits,
                          excluded, by, treat)


def _group_dummies(panel: pd.DataFrame, by: str, groups: list, col: str) -> pd.DataFrame:
    return pd.DataFrame({f"{col}_x_{g}": panel[col].to_numpy(float) * (panel[by] == g).to_numpy(float)
                         for g in groups}, index=panel.index)


@dataclass
class InteractionTest(TestResult):
    """The Wald test that the ``treat x group`` effects are equal (F(q, G-1) under
    clustering).  ``params``/``std_errors``: the group effects, indexed by group; ``fit``:
    the pooled regression; ``excluded``: rows without a group."""

    fit: TWFEResult | None = field(default=None, repr=False)
    groups: list = field(default_factory=list)
    excluded: dict = field(default_factory=dict)

    def _terms(self):
        return [f"{self.info['treat']}_x_{g}" for g in self.groups]

    @property
    def params(self) -> pd.Series:
        return pd.Series(self.fit.params[self._terms()].to_numpy(), index=self.groups, name="params")

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(self.fit.std_errors[self._terms()].to_numpy(), index=self.groups, name="std_errors")


def interaction_test(panel: pd.DataFrame, by: str, y: str = "nqp", *, convention: str = "stata",
                     entity: str = "city_code", time: str = "year", treat: str = "did", controls=CONTROLS,
                     cluster=ENTITY, order=None) -> InteractionTest:
    """Pooled model with ``treat x group`` (common controls and FE); Wald F test of equal
    effects (:func:`replication.estimators.results.wald_test` with the fit's residual df).
    Rows without a group are excluded (``excluded`` in the result)."""
    panel, excluded = _present(panel, by, entity)
    groups = _groups(panel, by, order)
    D = _group_dummies(panel, by, groups, treat)
    d = pd.concat([panel, D], axis=1)
    r = twfe(d, y, list(D.columns), controls, entity=entity, time=time, cluster=cluster, convention=convention)
    k = len(groups)
    R = np.zeros((k - 1, k))
    R[:, 0] = 1.0
    R[np.arange(k - 1), np.arange(1, k)] = -1.0
    cols = list(D.columns)
    wt = wald_test(r.params[cols].to_numpy(), r.cov.loc[cols, cols].to_numpy(), R, df=r.df_resid,
                   name=f"Wald test of equal effects of {treat} across {by}")
    base = {f.name: getattr(wt, f.name) for f in fields(TestResult)}
    base["info"] = {"treat": treat, "by": by}
    return InteractionTest(**base, fit=r, groups=groups, excluded=excluded)


def fully_interacted(panel: pd.DataFrame, by: str, y: str = "nqp", *, convention: str = "stata",
                     entity: str = "city_code", time: str = "year", treat: str = "did",
                     controls=CONTROLS, cluster=ENTITY, order=None) -> TWFEResult:
    """``treat``, controls and time effects all interacted with the group (entity effects are
    nested).  Rows without a group are excluded (``result.spec["excluded"]``)."""
    panel, excluded = _present(panel, by, entity)
    groups = _groups(panel, by, order)
    cols = {}
    for g in groups:
        m = (panel[by] == g).to_numpy(float)
        cols[f"{treat}_x_{g}"] = panel[treat].to_numpy(float) * m
        for c in controls:
            cols[f"{c}_x_{g}"] = panel[c].to_numpy(float) * m
    d = pd.concat([panel, pd.DataFrame(cols, index=panel.index)], axis=1)
    d["_time_x_group"] = d[time].astype(str) + "_" + d[by].astype(str)
    r = twfe(d, y, list(cols), (), entity=entity, time="_time_x_group", cluster=resolve_cluster(cluster, entity),
             convention=convention)
    r.spec["excluded"] = excluded
    return r


@dataclass
class GapTest(TestResult):
    """Randomisation test of the gap between two groups' effects: ``statistic`` is the gap
    ``b_pair[0] - b_pair[1]``, ``null_distribution`` the gaps under permuted labels."""

    pair: tuple = ()
    excluded: dict = field(default_factory=dict)


def permutation_gap(panel: pd.DataFrame, by: str, pair: tuple, y: str = "nqp", *, n_draws: int = 500,
                    seed: int | np.random.Generator | None = 0, entity: str = "city_code", time: str = "year",
                    treat: str = "did", controls=CONTROLS, order=None) -> GapTest:
    """Randomisation p-value ``(1 + #{|gap_r| >= |gap|}) / (1 + R)`` of the gap b_g1 - b_g2
    in the pooled ``treat x group`` model, permuting the group labels across entities (group
    sizes kept).  ``seed`` goes through :func:`replication.estimators.results.rng`.  Rows
    without a group are excluded (``excluded`` in the result)."""
    rng = make_rng(seed)
    panel, excluded = _present(panel, by, entity)
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    groups = _groups(d, by, order)
    k = len(groups)
    _, cidx = np.unique(d[entity].to_numpy(), return_inverse=True)
    lab = d.groupby(entity, sort=True)[by].first().to_numpy()
    gi = np.array([groups.index(v) for v in lab])
    dm = within.Demeaner(d[entity].to_numpy(), d[time].to_numpy())
    X = dm(d[list(controls)].to_numpy(float))
    yt = within.partial_out(dm(d[y].to_numpy(float))[:, None], X)[:, 0]
    tv = d[treat].to_numpy(float)

    def coefs(gmat):  # gmat: (n_entities x R) group index per entity and draw -> (R x k)
        R = gmat.shape[1]
        G = gmat[cidx]  # rows x R
        cols = np.concatenate([tv[:, None] * (G == j) for j in range(k)], axis=1)  # rows x (k R)
        Z = within.partial_out(dm(cols), X).reshape(len(d), k, R)
        A = np.einsum("njr,nlr->rjl", Z, Z)
        c = np.einsum("njr,n->rj", Z, yt)
        return np.linalg.solve(A, c[..., None])[..., 0]

    i1, i2 = groups.index(pair[0]), groups.index(pair[1])
    real = coefs(gi[:, None])[0]
    gap = float(real[i1] - real[i2])
    perm = np.stack([gi[rng.permutation(len(gi))] for _ in range(n_draws)], axis=1)
    draws = []
    for s in range(0, n_draws, 100):
        cb = coefs(perm[:, s:s + 100])
        draws.append(cb[:, i1] - cb[:, i2])
    draws = np.concatenate(draws)
    p = (1 + int((np.abs(draws) >= abs(gap)).sum())) / (1 + n_draws)
    return GapTest(gap, float(p), name=f"randomisation test of the gap {pair[0]} - {pair[1]} in {treat} across {by}",
                   n_draws=n_draws, null_distribution=draws, pair=tuple(pair), excluded=excluded)
