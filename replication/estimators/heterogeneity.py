"""Heterogeneity (Table 7): subgroup regressions, tests of differences, small groups.

* :func:`subgroups` - the column-(5) TWFE DID within each group (east / central / west by
  province, or the NBS four regions; large vs small-and-medium cities by the 2020 census
  urban-core population), with each subsample's N, cities and treated cities.  A group
  with fewer than ``min_treated`` treated cities gets an explanatory row instead of a
  number (never a crash, never a silent NaN).
* :func:`interaction_test` - one pooled model with ``did x group`` (common controls and
  fixed effects) and a cluster-robust Wald test that the group effects are equal.
* :func:`fully_interacted` - controls and year effects interacted with the group too;
  its ``did x group`` coefficients equal the separate subgroup regressions exactly.
* :func:`permutation_gap` - randomisation test of the gap between two groups' effects,
  permuting the group labels across cities (group sizes kept), all draws batched.

Rows whose group is missing (e.g. a city without a 2020 census size, such as a city
abolished before the census) are excluded from every function, never silently: the
result says how many cities and rows (``subgroups`` adds a row for them; the others
return ``excluded``).  All functions work on unbalanced panels (they rest on
:func:`replication.estimators.did.twfe` and the exact within transformation of :mod:`replication.estimators.within`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from replication.estimators import within
from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, twfe

GROUP_ORDER = {"region": ["east", "west", "central"], "region4": ["east", "central", "west", "northeast"],
               "size": ["large", "small_medium"]}


def add_groups(panel: pd.DataFrame, size_cutoff: float = 1_000_000, *, entity: str = "city_code",
               population: str = "urban_core_pop_2020") -> pd.DataFrame:
    """Add ``size`` (large / small_medium by the ``population`` column >= size_cutoff).

    A city without a population (no 2020 census size, e.g. abolished before 2020) gets a
    missing ``size``; the functions below exclude it and say so.  ``out.attrs["size_missing"]``
    lists those cities.  If no city has a population this is an error."""
    out = panel.copy()
    pop = out[population].astype("Float64")
    miss = pop.isna().to_numpy()
    if miss.all():
        raise ValueError(f"{population} is missing for every city: cannot classify city size")
    size = np.where(pop.to_numpy(float, na_value=np.nan) >= size_cutoff, "large", "small_medium").astype(object)
    size[miss] = None
    out["size"] = size
    out.attrs["size_missing"] = sorted(out.loc[miss, entity].unique().tolist())
    return out


def _present(panel: pd.DataFrame, by: str, entity: str = "city_code") -> tuple[pd.DataFrame, dict]:
    """Rows with a group, and what was excluded: {"rows", "cities" (count), "city_codes"}."""
    miss = panel[by].isna().to_numpy()
    codes = sorted(panel.loc[miss, entity].unique().tolist())
    return (panel[~miss] if miss.any() else panel), {"rows": int(miss.sum()), "cities": len(codes),
                                                     "city_codes": codes}


def _groups(panel: pd.DataFrame, by: str) -> list:
    present = set(panel[by].dropna())
    return [g for g in GROUP_ORDER.get(by, sorted(present)) if g in present]


def subgroups(panel: pd.DataFrame, by: str, y: str = "nqp", *, min_treated: int = 5, convention: str = "stata",
              truth: dict | None = None, entity: str = "city_code", time: str = "year",
              treat: str = "did", controls=CONTROLS, cluster: str | None = None) -> pd.DataFrame:
    """One row per group: estimate, SE, t, p, 95 % CI, N, cities, treated cities, note.

    One TWFE regression of ``y`` on ``treat`` and ``controls`` per value of the column
    ``by``, SEs clustered by ``cluster`` (default: the entity).

    Treated cities are those with ``treat`` switched on in at least one of their rows.
    Rows without a group are excluded and reported in one more row (group
    ``"(missing <by>)"``) and in ``out.attrs["excluded"]``."""
    rows, fits = [], {}
    full = panel
    panel, excluded = _present(panel, by, entity)
    order = [g for g in GROUP_ORDER.get(by, []) if g in set(panel[by])] + \
        sorted(set(panel[by]) - set(GROUP_ORDER.get(by, [])))
    for g in order:
        sub = panel[panel[by] == g]
        n_cities = sub[entity].nunique()
        n_tr = int(sub.loc[sub[treat] > 0, entity].nunique())
        row = {"group": g, "N": len(sub), "cities": n_cities, "treated cities": n_tr}
        if n_tr < min_treated or n_tr == n_cities:
            row.update({"coef": np.nan, "se": np.nan, "t": np.nan, "p": np.nan, "ci_lower": np.nan,
                        "ci_upper": np.nan,
                        "note": (f"only {n_tr} treated cities (fewer than {min_treated}): too few to estimate "
                                 "an effect" if n_tr < min_treated else "no untreated cities: no comparison group")})
        else:
            r = twfe(sub, y, treat, controls, entity=entity, time=time, cluster=entity if cluster is None else cluster,
                     convention=convention)
            fits[g] = r
            ci = r.conf_int().loc[treat]
            row.update({"coef": r[treat], "se": r.std_errors[treat], "t": r.tstats[treat], "p": r.pvalues[treat],
                        "ci_lower": ci["lower"], "ci_upper": ci["upper"], "note": ""})
        if truth is not None:
            key = f"att_{'size' if by == 'size' else 'region'}_{g}"
            row["truth"] = truth.get(key, np.nan) if by != "region4" else np.nan
        rows.append(row)
    if excluded["rows"]:
        miss = full[full[by].isna()]
        row = {"group": f"(missing {by})", "N": excluded["rows"], "cities": excluded["cities"],
               "treated cities": int(miss.loc[miss[treat] > 0, entity].nunique()),
               "coef": np.nan, "se": np.nan, "t": np.nan, "p": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
               "note": f"excluded: {excluded['cities']} cities ({excluded['rows']} rows) without a value of "
                       f"{by}: {excluded['city_codes'][:10]}"}
        if truth is not None:
            row["truth"] = np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["fits"] = fits
    out.attrs["excluded"] = excluded
    return out


def _group_dummies(panel: pd.DataFrame, by: str, groups: list[str], col: str = "did") -> pd.DataFrame:
    return pd.DataFrame({f"{col}_x_{g}": panel[col].to_numpy(float) * (panel[by] == g).to_numpy(float)
                         for g in groups}, index=panel.index)


def interaction_test(panel: pd.DataFrame, by: str, y: str = "nqp", *, convention: str = "stata",
                     entity: str = "city_code", time: str = "year", treat: str = "did", controls=CONTROLS) -> dict:
    """Pooled model with did x group (common controls and FE); Wald F test of equal effects.
    Rows without a group are excluded (``excluded`` in the result)."""
    panel, excluded = _present(panel, by, entity)
    groups = _groups(panel, by)
    D = _group_dummies(panel, by, groups, treat)
    d = pd.concat([panel, D], axis=1)
    r = twfe(d, y, list(D.columns), controls, entity=entity, time=time, cluster=entity, convention=convention)
    b = r.params[list(D.columns)].to_numpy()
    V = r.cov.loc[list(D.columns), list(D.columns)].to_numpy()
    R = np.zeros((len(groups) - 1, len(groups)))
    R[:, 0] = 1.0
    R[np.arange(len(groups) - 1), np.arange(1, len(groups))] = -1.0
    diff = R @ b
    W = float(diff @ np.linalg.solve(R @ V @ R.T, diff))
    q = len(groups) - 1
    F = W / q
    return {"result": r, "groups": groups, "wald_F": F, "df": (q, r.df_resid),
            "p_value": float(stats.f.sf(F, q, r.df_resid)),
            "coefficients": pd.DataFrame({"group": groups, "coef": b, "se": np.sqrt(np.diag(V))}),
            "excluded": excluded}


def fully_interacted(panel: pd.DataFrame, by: str, y: str = "nqp", *, convention: str = "stata",
                     entity: str = "city_code", time: str = "year", treat: str = "did",
                     controls=CONTROLS) -> TWFEResult:
    """did, controls and year effects all interacted with the group (city effects are nested).
    Rows without a group are excluded (``result.spec["excluded"]``)."""
    panel, excluded = _present(panel, by, entity)
    groups = _groups(panel, by)
    cols = {}
    for g in groups:
        m = (panel[by] == g).to_numpy(float)
        cols[f"{treat}_x_{g}"] = panel[treat].to_numpy(float) * m
        for c in controls:
            cols[f"{c}_x_{g}"] = panel[c].to_numpy(float) * m
    d = pd.concat([panel, pd.DataFrame(cols, index=panel.index)], axis=1)
    d["_time_x_group"] = d[time].astype(str) + "_" + d[by].astype(str)
    r = twfe(d, y, list(cols), (), entity=entity, time="_time_x_group", cluster=entity, convention=convention)
    r.spec["excluded"] = excluded
    return r


def permutation_gap(panel: pd.DataFrame, by: str, pair: tuple[str, str], y: str = "nqp", *, n_draws: int = 500,
                    seed: int | np.random.Generator | None = 0, entity: str = "city_code", time: str = "year",
                    treat: str = "did", controls=CONTROLS) -> dict:
    """Randomisation p-value of the gap b_g1 - b_g2 in the pooled did x group model,
    permuting the group labels across cities (group sizes kept).  Rows without a group
    are excluded (``excluded`` in the result)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    panel, excluded = _present(panel, by, entity)
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    groups = _groups(d, by)
    k = len(groups)
    cities, cidx = np.unique(d[entity].to_numpy(), return_inverse=True)
    lab = d.groupby(entity, sort=True)[by].first().to_numpy()
    gi = np.array([groups.index(v) for v in lab])
    ent, tim = d[entity].to_numpy(), d[time].to_numpy()
    dm = within.Demeaner(ent, tim)
    X = dm(d[list(controls)].to_numpy(float))
    yt = within.partial_out(dm(d[y].to_numpy(float))[:, None], X)[:, 0]
    did = d[treat].to_numpy(float)

    def coefs(gmat):  # gmat: (n_cities x R) group index per city and draw -> (R x k)
        R = gmat.shape[1]
        G = gmat[cidx]  # rows x R
        cols = np.concatenate([did[:, None] * (G == j) for j in range(k)], axis=1)  # rows x (k R)
        Z = within.partial_out(dm(cols), X).reshape(len(d), k, R)
        A = np.einsum("njr,nlr->rjl", Z, Z)
        c = np.einsum("njr,n->rj", Z, yt)
        return np.linalg.solve(A, c[..., None])[..., 0]

    i1, i2 = groups.index(pair[0]), groups.index(pair[1])
    real = coefs(gi[:, None])[0]
    gap = real[i1] - real[i2]
    perm = np.stack([gi[rng.permutation(len(gi))] for _ in range(n_draws)], axis=1)
    draws = []
    for s in range(0, n_draws, 100):
        cb = coefs(perm[:, s:s + 100])
        draws.append(cb[:, i1] - cb[:, i2])
    draws = np.concatenate(draws)
    p = (1 + int((np.abs(draws) >= abs(gap)).sum())) / (1 + n_draws)
    return {"pair": pair, "gap": float(gap), "draws": draws, "p_value": float(p), "n_draws": n_draws,
            "excluded": excluded}
