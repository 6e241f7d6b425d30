"""Placebo (permutation / randomisation-inference) tests of the baseline DID, vectorised.

The paper "randomly selected a few cities as the treatment group" 500 times and plots
the placebo coefficients (its Figure 1).  :func:`permutation_test` does this with two
schemes:

``scheme="cohort"``
    keep the real cohort structure: the pilot years are permuted across cities, so
    every draw has exactly as many cities in each batch as the real data;
``scheme="random_years"``
    as many placebo-treated cities as real pilots, each with a pilot year drawn
    uniformly from the years that leave at least one pre- and one post-period.

Speed: the outcome and the controls are within-transformed once and the controls are
partialled out once (Frisch-Waugh-Lovell); every draw's treatment dummy is then
within-transformed and residualised as one batch of columns, and the coefficient,
its cluster-robust SE (same convention as :func:`replication.estimators.did.twfe`), t and p of
all draws are array operations.  No regression is run per draw.  (The per-draw clustered
covariance is the scalar case of :func:`replication.estimators.results.cluster_cov`, written
out for a batch of draws at once: ``q * sum_g (sum_{i in g} d~_i u_i)^2 / (d~'d~)^2``.)

The result is a :class:`PlaceboResult`, a :class:`~replication.estimators.results.TestResult`:
``statistic`` is the real coefficient, ``pvalue`` its randomisation p-value, ``n_draws`` the
number of draws and ``null_distribution`` the placebo coefficients; ``draws`` has every
draw's estimate, SE, t and p in the columns of ``tidy()`` (``estimate, std_error,
statistic, p_value``) and ``fit`` the real regression.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, small_sample, twfe
from replication.estimators.results import ENTITY, TestResult, resolve_cluster
from replication.estimators.results import rng as make_rng
from replication.estimators import distributions as dist


@dataclass
class PlaceboResult(TestResult):
    """A randomisation test of the DID coefficient.  ``statistic``: the real coefficient;
    ``pvalue``: two-sided randomisation p-value ``(1 + #{|b_r| >= |b|}) / (1 + R)``;
    ``null_distribution``: the R placebo coefficients; ``draws``: one row per draw
    (``estimate, std_error, statistic, p_value``); ``fit``: the real TWFE regression;
    ``panel``: balanced?, rows, entities, periods and degenerate draws."""

    draws: pd.DataFrame | None = field(default=None, repr=False)
    fit: TWFEResult | None = field(default=None, repr=False)
    scheme: str = "cohort"
    seed: int | None = None
    panel: dict = field(default_factory=dict)

    def summary(self) -> str:
        d = self.draws
        lines = [super().summary(),
                 f"  scheme {self.scheme!r}; placebo estimates: mean {d['estimate'].mean():.4f}, "
                 f"SD {d['estimate'].std():.4f}; share with p < 0.1: {(d['p_value'] < 0.1).mean():.3f}"]
        if self.fit is not None:
            lines.append(f"  real estimate {self.statistic:.4f} (clustered SE {self.std_error:.4f})")
        return "\n".join(lines)

    @property
    def std_error(self) -> float:
        """The real estimate's clustered standard error (from ``fit``)."""
        treat = self.info.get("treat")
        return float(self.fit.std_errors[treat]) if self.fit is not None else float("nan")


def _placebo_years(pilot: np.ndarray, years: np.ndarray, scheme: str, n_draws: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(n_cities x n_draws) matrix of placebo pilot years (NaN = never treated)."""
    n = len(pilot)
    n_treated = int(np.isfinite(pilot).sum())
    if scheme == "cohort":
        # argsort of uniforms = an independent random permutation per draw, vectorised
        perm = np.argsort(rng.random((n_draws, n)), axis=1)
        return pilot[perm].T
    if scheme == "random_years":
        lo, hi = int(years.min()) + 1, int(years.max())
        if hi < lo:
            raise ValueError("random_years needs at least two panel years")
        out = np.full((n, n_draws), np.nan)
        pick = np.argsort(rng.random((n_draws, n)), axis=1)[:, :n_treated]
        yrs = rng.integers(lo, hi + 1, size=(n_draws, n_treated))
        rows = pick.T
        cols = np.broadcast_to(np.arange(n_draws), (n_treated, n_draws))
        out[rows, cols] = yrs.T
        return out
    raise ValueError(f"scheme must be 'cohort' or 'random_years', got {scheme!r}")


def chunk_size(n_rows: int) -> int:
    """Placebo draws per batch: bounded memory (about 2e7 numbers per working array) at any size."""
    return max(1, min(250, int(2e7 // n_rows)))


def placebo_regressors(first_years: np.ndarray, years: np.ndarray, city_idx: np.ndarray, dm, Q: np.ndarray):
    """The placebo ``did`` of a batch of draws (``first_years``: cities x draws, NaN = never),
    within-transformed by ``dm`` and residualised on the transformed controls' basis ``Q``;
    and each column's ``d~'d~``.  Each placebo coefficient is ``d~'y~ / d~'d~``."""
    first = np.nan_to_num(first_years, nan=np.inf)
    Dt = within.residualise(dm((years[:, None] >= first[city_idx]).astype(float)), Q)
    return Dt, (Dt ** 2).sum(axis=0)


def permutation_test(panel: pd.DataFrame, y: str = "nqp", controls=CONTROLS, *, n_draws: int = 500,
                     scheme: str = "cohort", seed: int | np.random.Generator | None = 0,
                     entity: str = "city_code", time: str = "year", pilot: str = "pilot_year",
                     convention: str = "stata", chunk: int | None = None, progress: bool = False,
                     treat: str = "did", cluster=ENTITY) -> PlaceboResult:
    """Placebo distribution of the TWFE DID coefficient (two-way FE, controls, clustered SEs).

    ``pilot`` is the column with each entity's first treated period (missing: never treated),
    ``treat`` the real treatment dummy.  ``seed`` goes through
    :func:`replication.estimators.results.rng` (an int or a ``numpy.random.Generator``).
    Returns a :class:`PlaceboResult`: every draw's coefficient, SE, t and p, and the
    randomisation-inference p-value of the real estimate (the coefficient of ``treat``).
    SEs are clustered by ``cluster`` (default: the ``entity`` column; None: HC1), with the
    conventions of :func:`replication.estimators.did.twfe`.

    Unbalanced panels work (the within transformation is then done by alternating
    projections): each draw equals a fresh TWFE regression on the same rows.  The pilot
    years are permuted across cities whatever years each city is observed in, so a city
    may draw a pilot year outside its own span (then it is never or always treated in
    the sample); the randomisation p-value is exact only if the observed spans are
    unrelated to the assignment.  ``result.panel`` records whether the panel was balanced.
    """
    if n_draws < 1:
        raise ValueError("n_draws must be at least 1")
    rng = make_rng(seed)
    cluster = resolve_cluster(cluster, entity)
    df = panel.sort_values([entity, time]).reset_index(drop=True)
    cities, city_idx = np.unique(df[entity].to_numpy(), return_inverse=True)
    years = df[time].to_numpy()
    pil = df.groupby(entity, sort=True)[pilot].first().astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    n_treated = int(np.isfinite(pil).sum())
    if n_treated == 0 or n_treated == len(pil):
        raise ValueError(f"the placebo test needs treated and untreated cities; the panel has {n_treated} "
                         f"treated of {len(pil)}")
    real = twfe(df, y, treat, controls, entity=entity, time=time, cluster=cluster, convention=convention)
    e_lab, t_lab = df[entity].to_numpy(), years
    dm = within.Demeaner(e_lab, t_lab)
    X = df[list(controls)].to_numpy(dtype=float) if controls else np.empty((len(df), 0))
    Q = within.orthonormal_basis(dm(X)) if X.shape[1] else None
    yt = within.residualise(dm(df[y].to_numpy(dtype=float))[:, None], Q)[:, 0]
    ss = small_sample(df, len(controls or ()) + 1, entity=entity, time=time, cluster=cluster,
                      convention=convention)
    q, df_resid = ss["q"], ss["df_resid"]
    PY = _placebo_years(pil, years, scheme, n_draws, rng)
    # draws per batch: bounded memory (about 2e7 numbers per working array) at any panel size
    chunk = chunk or chunk_size(len(df))
    out = []
    it = range(0, n_draws, chunk)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="placebo draws", unit_scale=chunk)
    for start in it:
        Dt, dd = placebo_regressors(PY[:, start:start + chunk], years, city_idx, dm, Q)
        ok = dd > 1e-12
        b = np.where(ok, (Dt * yt[:, None]).sum(axis=0) / np.where(ok, dd, 1.0), np.nan)
        resid = yt[:, None] - Dt * b
        S = within.cluster_scores(Dt * resid, ss["codes"], ss["G"]) if cluster else Dt * resid
        se = np.sqrt(q * (S ** 2).sum(axis=0)) / np.where(ok, dd, np.nan)
        out.append(np.column_stack([b, se]))
    arr = np.vstack(out)
    t = arr[:, 0] / arr[:, 1]
    p = 2 * dist.t(df_resid).sf(np.abs(t))
    draws = pd.DataFrame({"estimate": arr[:, 0], "std_error": arr[:, 1], "statistic": t, "p_value": p})
    b_real = real[treat]
    ri = (1 + int((draws["estimate"].abs() >= abs(b_real)).sum())) / (1 + n_draws)
    info = {"balanced": bool(dm.balanced), "rows": len(df), "cities": len(cities),
            "years": int(len(np.unique(years))), "degenerate_draws": int(np.isnan(arr[:, 0]).sum())}
    return PlaceboResult(statistic=b_real, pvalue=ri, name=f"placebo test of {treat} ({scheme})",
                         n_draws=n_draws, null_distribution=arr[:, 0].copy(), info={"treat": treat},
                         draws=draws, fit=real, scheme=scheme,
                         seed=seed if isinstance(seed, (int, np.integer)) else None, panel=info)


def naive_permutation_test(panel: pd.DataFrame, y: str, controls, placebo_years: np.ndarray,
                           entity: str = "city_code", time: str = "year") -> np.ndarray:
    """Reference implementation: one ``linearmodels.PanelOLS`` fit per draw (slow).

    ``placebo_years`` is the (n_cities x R) matrix of pilot years; returns R coefficients.
    Used by the tests and the benchmark to check the vectorised path.
    """
    from linearmodels import PanelOLS

    df = panel.sort_values([entity, time]).reset_index(drop=True)
    _, city_idx = np.unique(df[entity].to_numpy(), return_inverse=True)
    years = df[time].to_numpy()
    coefs = []
    for r in range(placebo_years.shape[1]):
        d = df.assign(_d=(years >= np.nan_to_num(placebo_years[city_idx, r], nan=np.inf)).astype(float))
        d = d.set_index([entity, time])
        m = PanelOLS(d[y], d[["_d", *controls]], entity_effects=True, time_effects=True).fit()
        coefs.append(m.params["_d"])
    return np.array(coefs)
