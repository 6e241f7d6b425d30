"""Hansen (1999) fixed-effect panel threshold regression, 1-3 thresholds, fast and exact.

Model (one threshold, regime-dependent slope of ``regime_x``, Hansen 1999 eq. 1):

    y_it = mu_i + b1 x_it 1(q_it <= g) + b2 x_it 1(q_it > g) + theta' z_it + e_it.

**Transformation.** The entity effects are removed by the within transformation.  Stata's
``xthreg`` (Wang 2015) keeps all N*T transformed rows (``convention="xthreg"``);
Hansen's original code drops one period per entity after demeaning, because the
demeaned errors of an entity sum to zero (``convention="hansen"``).

**SSR for every candidate without a regression per candidate.**  ``x 1(q > g) = x -
x 1(q <= g)``, so the model is ``y ~ [z, x, r_g]`` with ``r_g = x 1(q <= g)``.  By
Frisch-Waugh-Lovell, ``S(g) = S_W - a(g)^2 / b(g)`` where ``S_W`` is the SSR without
``r_g``, ``a(g) = r_g' v`` (v = the transformed residual of y on W, mapped back) and
``b(g) = |L r_g|^2 - |Q' L r_g|^2`` (L = transformation, Q = orthonormal basis of the
transformed W).  With the observations sorted by q, every ``r_g`` adds observations
one by one, so ``a``, ``Q' L r_g`` and the entity sums inside ``|L r_g|^2`` are
cumulative sums: all candidates cost O(n k), and ``a`` for B bootstrap draws is one
cumulative sum of an n x B matrix.  The tests check every SSR against an OLS fit
per candidate.

**Candidates.** The grid is ``grid`` quantiles of the threshold variable between the
``trim`` and ``1 - trim`` quantiles (observed values; ``xthreg`` ``grid()``/``trim()``).
A candidate for a later threshold must be at least ``trim * n`` sorted observations
away from every earlier threshold, so that every regime keeps that many observations.

**Sequential estimation** (Hansen 1999, section 4; Bai 1997): g1 minimises S1; g2
minimises S2 given g1; g1 is then refined given g2 (``Th-21`` of ``xthreg``; ``Th-22``
is g2); g3 minimises S3 given the refined g1 and g2.  ``F_k = (S_{k-1} - S_k) /
sigma_k^2`` with ``sigma_k^2 = S_k / (N (T - 1))``.

**Bootstrap** (Hansen 1999, section 3.2): under the null of k-1 thresholds the
regressors and q are held fixed, the null model's residuals are resampled by entity
(whole vectors, with replacement) and added to its fitted values; the whole
sequential search is redone for every draw, all draws at once (draws that share their
earlier threshold estimates share one projection).  p-value = share of bootstrap F
at least as large as the sample F.

**Inference on the thresholds**: ``LR(g) = (S(g) - S(g_hat)) / sigma^2``; the
confidence set is ``{g : LR(g) <= c(a)}`` with ``c(a) = -2 ln(1 - sqrt(1 - a))``
(7.35 at 95 %), reported as the connected interval of grid points around the estimate;
``lr_set_disjoint`` flags a confidence set with further pieces elsewhere on the grid.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from replication.estimators import within


def lr_critical_value(alpha: float = 0.05) -> float:
    """Hansen's (2000) asymptotic critical value of LR(gamma): -2 ln(1 - sqrt(1 - alpha))."""
    return float(-2.0 * np.log(1.0 - np.sqrt(1.0 - alpha)))


def _per_entity_cumsum(vals: np.ndarray, ent: np.ndarray) -> np.ndarray:
    """Running sum of ``vals`` within each entity, in the given (sorted-by-q) order."""
    order = np.argsort(ent, kind="stable")  # stable: keeps the q order within an entity
    e = ent[order]
    cs = np.cumsum(vals[order])
    starts = np.r_[0, np.flatnonzero(np.diff(e)) + 1]
    start_of = np.repeat(starts, np.diff(np.r_[starts, len(e)]))
    prev = np.where(start_of > 0, cs[start_of - 1], 0.0)
    out = np.empty_like(cs)
    out[order] = cs - prev
    return out


def _kept_rows(ent: np.ndarray, convention: str) -> np.ndarray:
    """Rows kept after the within transformation (rows sorted by entity, then time):
    all of them (xthreg), or all but each entity's first period (Hansen)."""
    if convention == "xthreg":
        return np.ones(len(ent), dtype=bool)
    return np.r_[False, ent[1:] == ent[:-1]]


class _Searcher:
    """Precomputed sorted structure of one (balanced) panel for threshold searches."""

    def __init__(self, ent: np.ndarray, x: np.ndarray, q: np.ndarray, Z: np.ndarray, T: int,
                 convention: str, candidates: np.ndarray):
        self.ent, self.n_ent = within.group_codes(ent)
        self.x, self.q, self.Z, self.T = x, q, Z, T
        self.n = len(x)
        self.drop = convention == "hansen"
        # rows kept after the transformation (hansen: drop each entity's first period)
        self.keep = _kept_rows(self.ent, convention)
        self.order = np.argsort(q, kind="stable")
        self.qs = q[self.order]
        self.cands = candidates
        self.pos = np.searchsorted(self.qs, candidates, side="right")  # obs with q <= gamma
        self.counts = np.bincount(self.ent, minlength=self.n_ent).astype(float)
        self.dm = within.Demeaner(self.ent)
        self._f_cache = self._entity_term()

    # --- transformation L = S M_D and its adjoint -------------------------------------------
    def L(self, A: np.ndarray) -> np.ndarray:
        return self.dm(A)[self.keep]

    def Lt(self, B: np.ndarray) -> np.ndarray:
        """L' B for B in the transformed space.  Without dropped rows L = M_D and every B
        used here (residuals, bases of demeaned columns) already has entity means zero,
        so L' B = B."""
        if not self.drop:
            return B
        full = np.zeros((self.n,) + B.shape[1:])
        full[self.keep] = B
        return self.dm(full)

    def regime_column(self, gamma: float) -> np.ndarray:
        return self.x * (self.q <= gamma)

    def _entity_term(self) -> np.ndarray:
        """|L r_g|^2 for every prefix of the sorted observations (index = #obs added)."""
        o = self.order
        xs, es = self.x[o], self.ent[o]
        Ti = self.counts[es]
        A_after = _per_entity_cumsum(xs, es)
        A_before = A_after - xs
        B_after = _per_entity_cumsum(xs ** 2, es)
        B_before = B_after - xs ** 2
        f_after = B_after - A_after ** 2 / Ti
        f_before = B_before - A_before ** 2 / Ti
        if self.drop:
            # the entity's dropped (first-period) transformed value: c - A/T, c = x_i1 once added
            first_row = np.r_[True, self.ent[1:] != self.ent[:-1]]
            is_first = first_row[o]
            c_after = _per_entity_cumsum(np.where(is_first, xs, 0.0), es)
            c_before = c_after - np.where(is_first, xs, 0.0)
            f_after = f_after - (c_after - A_after / Ti) ** 2
            f_before = f_before - (c_before - A_before / Ti) ** 2
        return np.r_[0.0, np.cumsum(f_after - f_before)]

    def curve(self, fixed: tuple[float, ...], LY: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SSR for every candidate given ``fixed`` thresholds, for every column of ``LY``
        (already transformed).  Returns (S over candidates x draws, S of the model without
        the new threshold, the coefficient basis)."""
        W = np.column_stack([self.Z, self.x] + [self.regime_column(g) for g in fixed])
        LW = self.L(W)
        Q, R = np.linalg.qr(LW)
        keepc = np.abs(np.diag(R)) > 1e-10 * max(np.abs(np.diag(R)).max(), 1.0)
        Q = Q[:, keepc]
        resid = LY - Q @ (Q.T @ LY)
        S_W = (resid ** 2).sum(axis=0)
        v = self.Lt(resid)
        o = self.order
        xs = self.x[o]
        a = np.vstack([np.zeros((1, LY.shape[1])), np.cumsum(xs[:, None] * v[o], axis=0)])[self.pos]
        P = self.Lt(Q)
        cq = np.vstack([np.zeros((1, Q.shape[1])), np.cumsum(xs[:, None] * P[o], axis=0)])[self.pos]
        b = self._f_cache[self.pos] - (cq ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            S = np.where(b[:, None] > 1e-12 * max(self._f_cache[-1], 1.0), S_W[None, :] - a ** 2 / b[:, None], np.inf)
        return S, S_W, Q

    def admissible(self, fixed: tuple[float, ...], trim: float) -> np.ndarray:
        ok = np.ones(len(self.cands), dtype=bool)
        gap = trim * self.n
        for g in fixed:
            pg = np.searchsorted(self.qs, g, side="right")
            ok &= np.abs(self.pos - pg) >= max(gap, 1)
        return ok


@dataclass
class ThresholdResult:
    """Result of :func:`fit_panel_threshold` (see the module docstring)."""

    tests: pd.DataFrame
    thresholds: pd.DataFrame
    lr: dict[str, pd.DataFrame]
    bootstrap_F: dict[int, np.ndarray]
    spec: dict
    _fitter: object = field(repr=False, default=None)
    #: what balancing dropped (see :func:`replication.estimators.within.balance_panel`); nothing on a balanced panel
    balanced_sample: dict = field(default_factory=dict)

    def coefficients(self, k: int | None = None, cov: str = "cluster") -> pd.DataFrame:
        """Regime slopes of ``regime_x`` and the controls for the k-threshold model
        (default: the largest k estimated), SEs clustered by entity (Stata's small-sample
        factor) or White (``cov="robust"``, HC1)."""
        k = k or self.spec["max_thresholds"]
        return self._fitter.coefficients(self.estimates(k), cov=cov)

    def estimates(self, k: int) -> tuple[float, ...]:
        """Threshold estimates of the k-threshold model (refined first threshold for k >= 2)."""
        t = self.thresholds.set_index("name")["estimate"]
        if k == 1:
            return (t["Th-1"],)
        if k == 2:
            return tuple(sorted((t["Th-21"], t["Th-22"])))
        return tuple(sorted((t["Th-21"], t["Th-22"], t["Th-3"])))

    def regime_counts(self, k: int | None = None) -> pd.DataFrame:
        """Observations per regime and year for the k-threshold model."""
        return self._fitter.regime_counts(self.estimates(k or self.spec["max_thresholds"]))


class _Fitter:
    def __init__(self, df, y, regime_x, q, controls, entity, time, convention):
        self.df = df
        self.y_name, self.x_name, self.q_name, self.controls = y, regime_x, q, list(controls)
        self.entity, self.time = entity, time
        self.convention = convention

    def design(self, gammas):
        d = self.df
        x = d[self.x_name].to_numpy(float)
        qv = d[self.q_name].to_numpy(float)
        edges = [-np.inf, *sorted(gammas), np.inf]
        cols, names = [], []
        for j in range(len(edges) - 1):
            cols.append(x * ((qv > edges[j]) & (qv <= edges[j + 1])))
            names.append(f"{self.x_name}_regime_{j + 1}")
        Xr = np.column_stack(cols + [d[c].to_numpy(float) for c in self.controls])
        return Xr, names + self.controls

    def coefficients(self, gammas, cov="cluster"):
        d = self.df
        Xr, names = self.design(gammas)
        yv = d[self.y_name].to_numpy(float)
        ent = d[self.entity].to_numpy()
        keep = _kept_rows(ent, self.convention)
        Xt = within.demean(Xr, ent)[keep] + Xr.mean(axis=0)
        yt = within.demean(yv, ent)[keep] + yv.mean()
        Zm = np.column_stack([Xt, np.ones(len(yt))])
        ZtZi = np.linalg.inv(Zm.T @ Zm)
        b = ZtZi @ Zm.T @ yt
        u = yt - Zm @ b
        N, K = len(yt), Zm.shape[1]
        if cov == "cluster":
            codes, G = within.group_codes(ent[keep])
            S = within.cluster_scores(Zm * u[:, None], codes, G)
            qf = G / (G - 1) * (N - 1) / (N - K)
            dfr = G - 1
        elif cov == "robust":
            S = Zm * u[:, None]
            qf = N / (N - K)
            dfr = N - K
        else:
            raise ValueError("cov must be 'cluster' or 'robust'")
        V = qf * ZtZi @ (S.T @ S) @ ZtZi
        se = np.sqrt(np.diag(V))
        t = b / se
        p = 2 * stats.t.sf(np.abs(t), dfr)
        crit = stats.t.ppf(0.975, dfr)
        return pd.DataFrame({"term": names + ["_cons"], "coef": b, "se": se, "t": t, "p": p,
                             "ci_lower": b - crit * se, "ci_upper": b + crit * se})

    def regime_counts(self, gammas):
        d = self.df
        edges = [-np.inf, *sorted(gammas), np.inf]
        lab = pd.cut(d[self.q_name], edges, labels=[f"regime {j + 1}" for j in range(len(edges) - 1)])
        return pd.crosstab(d[self.time], lab)


def _grid(q: np.ndarray, trim: float, grid: int) -> np.ndarray:
    qs = np.sort(q)
    n = len(qs)
    lo, hi = int(np.floor(n * trim)), n - int(np.floor(n * trim)) - 1
    if hi <= lo:
        raise ValueError(f"trim {trim} leaves no candidate thresholds")
    inner = qs[lo:hi + 1]
    if grid and len(np.unique(inner)) > grid:
        idx = np.floor(np.linspace(0, len(inner) - 1, grid)).astype(int)
        inner = inner[idx]
    return np.unique(inner)


def fit_panel_threshold(df: pd.DataFrame, y: str, regime_x: str, q: str, controls=(), *,
                        entity: str = "city_code", time: str = "year", max_thresholds: int = 3,
                        n_boot=300, trim=0.01, grid: int = 300, seed: int | np.random.Generator | None = 0,
                        convention: str = "xthreg", progress: bool = False,
                        balance: str = "drop_cities") -> ThresholdResult:
    """Estimate and test 1..``max_thresholds`` thresholds (see the module docstring).

    ``n_boot`` and ``trim`` take one value or one per threshold (xthreg's ``bs()`` and
    ``trim()``); ``n_boot=0`` skips the bootstrap.

    The model needs a balanced panel (the bootstrap resamples whole entity residual
    vectors; ``xthreg`` requires one too).  An unbalanced panel is balanced explicitly by
    :func:`replication.estimators.within.balance_panel` with rule ``balance`` (``"drop_cities"``: keep the
    entities observed in every year; ``"drop_years"``: keep the years in which every entity
    is observed; ``"error"``); ``result.balanced_sample`` says what was dropped (nothing on a
    balanced panel), including ``controls_dropped``: controls that are zero on the balanced
    sample (the dummies of dropped years).
    """
    if convention not in ("xthreg", "hansen"):
        raise ValueError("convention must be 'xthreg' or 'hansen'")
    if not 1 <= max_thresholds <= 3:
        raise ValueError("max_thresholds must be 1, 2 or 3")
    nb = list(n_boot) if np.ndim(n_boot) else [int(n_boot)] * max_thresholds
    tr = list(trim) if np.ndim(trim) else [float(trim)] * max_thresholds
    if len(nb) < max_thresholds or len(tr) < max_thresholds:
        raise ValueError("give n_boot and trim as one value or one per threshold")
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
    dropped_controls = [c for c in controls if info["rows_after"] < info["rows_before"] and
                        not d[c].to_numpy(float).any()]
    if dropped_controls:
        controls = [c for c in controls if c not in dropped_controls]
    info["controls_dropped"] = dropped_controls
    d = d.sort_values([entity, time]).reset_index(drop=True)
    ents, years = d[entity].unique(), np.sort(d[time].unique())
    T = len(years)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ent = d[entity].to_numpy()
    xv = d[regime_x].to_numpy(float)
    qv = d[q].to_numpy(float)
    Z = d[list(controls)].to_numpy(float) if controls else np.empty((len(d), 0))
    cands = _grid(qv, tr[0], grid)
    srch = _Searcher(ent, xv, qv, Z, T, convention, cands)
    n_ent = len(ents)
    dof = n_ent * (T - 1)
    LY = srch.L(d[y].to_numpy(float)[:, None])

    def best(fixed, LYm, trim_k):
        S, S_W, _ = srch.curve(fixed, LYm)
        S = np.where(srch.admissible(fixed, trim_k)[:, None], S, np.inf)
        j = np.argmin(S, axis=0)
        return cands[j], S[j, np.arange(S.shape[1])], S, S_W

    def grouped(fixed_per_draw: np.ndarray, LYm, trim_k):
        """Best next threshold for every draw, given that draw's earlier thresholds
        (draws that share them share one projection)."""
        g_out, s_out = np.empty(LYm.shape[1]), np.empty(LYm.shape[1])
        keys = fixed_per_draw.reshape(LYm.shape[1], -1)
        for key in np.unique(keys, axis=0):
            m = (keys == key).all(axis=1)
            g_out[m], s_out[m], _, _ = best(tuple(key), LYm[:, m], trim_k)
        return g_out, s_out

    def sequential(LYm, k):
        """Sequential estimates for every column: returns dict of arrays."""
        out = {}
        g1, S1, _, S0 = best((), LYm, tr[0])
        out.update(g1=g1, S1=S1, S0=S0)
        if k == 1:
            return out
        g2, S2 = grouped(g1, LYm, tr[1])
        out.update(g2=g2, S2=S2)
        if k == 2:
            return out
        g1r, S2r = grouped(g2, LYm, tr[1])
        g3, S3 = grouped(np.sort(np.column_stack([g1r, g2]), axis=1), LYm, tr[2])
        out.update(g1r=g1r, S2r=S2r, g3=g3, S3=S3)
        return out

    est = sequential(LY, max_thresholds)
    sc = {k: float(v[0]) for k, v in est.items()}
    if max_thresholds == 2:  # refine the first threshold given the second (xthreg's Th-21)
        g1r, S2r, _, _ = best((sc["g2"],), LY, tr[1])
        sc["g1r"], sc["S2r"] = float(g1r[0]), float(S2r[0])
    crit95 = lr_critical_value(0.05)
    # per k: SSR of the null (k-1 thresholds), SSR of the k-threshold model, the null's thresholds,
    # and the stage estimates that define the k-threshold model in the F test
    S_null = {1: sc["S0"], 2: sc["S1"], 3: sc.get("S2r", np.nan)}
    S_alt = {1: sc["S1"], 2: sc.get("S2", np.nan), 3: sc.get("S3", np.nan)}
    null_fixed = {1: (), 2: (sc["g1"],), 3: tuple(sorted((sc.get("g1r", np.nan), sc.get("g2", np.nan))))}
    stage = {1: (sc["g1"],), 2: (sc["g1"], sc.get("g2")), 3: (sc.get("g1r"), sc.get("g2"), sc.get("g3"))}
    rows, boots = [], {}
    it = range(1, max_thresholds + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="threshold bootstrap", unit="test")
    for k in it:
        sigma2 = S_alt[k] / dof
        F = (S_null[k] - S_alt[k]) / sigma2
        B = nb[k - 1]
        Fb = np.array([])
        if B > 0:
            # null model (k-1 thresholds): fitted values plus residuals resampled by entity
            W = np.column_stack([Z, xv] + [srch.regime_column(g) for g in null_fixed[k]])
            beta = np.linalg.lstsq(srch.L(W), LY[:, 0], rcond=None)[0]
            fitted = within.demean(W, ent) @ beta
            resid = (within.demean(d[y].to_numpy(float), ent) - fitted).reshape(n_ent, T)
            draw = rng.integers(0, n_ent, size=(B, n_ent), dtype=np.int32)
            chunk = max(1, min(B, int(2e7 // len(d))))  # bounded memory at any panel size
            parts = []
            for s0 in range(0, B, chunk):
                dr = draw[s0:s0 + chunk]
                Ystar = fitted[:, None] + resid[dr].transpose(1, 2, 0).reshape(n_ent * T, len(dr))
                parts.append(sequential(srch.L(Ystar), k))
            eb = {key: np.concatenate([p_[key] for p_ in parts]) for key in parts[0]}
            num = {1: eb["S0"] - eb["S1"], 2: eb.get("S1", 0) - eb.get("S2", 0),
                   3: eb.get("S2r", 0) - eb.get("S3", 0)}[k]
            den = {1: eb["S1"], 2: eb.get("S2"), 3: eb.get("S3")}[k] / dof
            Fb = num / den
            boots[k] = Fb
        rows.append({"thresholds": k, "estimates": ", ".join(f"{g:.4f}" for g in sorted(stage[k])),
                     "RSS": S_alt[k], "MSE": sigma2, "F": F,
                     "p_value": float((Fb >= F).mean()) if len(Fb) else np.nan,
                     "crit_10": float(np.quantile(Fb, 0.90)) if len(Fb) else np.nan,
                     "crit_5": float(np.quantile(Fb, 0.95)) if len(Fb) else np.nan,
                     "crit_1": float(np.quantile(Fb, 0.99)) if len(Fb) else np.nan,
                     "n_boot": B})

    lr: dict[str, pd.DataFrame] = {}

    def lr_row(name, estimate, fixed, trim_k):
        S, _, _ = srch.curve(fixed, LY)
        S = np.where(srch.admissible(fixed, trim_k), S[:, 0], np.inf)
        S_hat = float(S.min())
        L = (S - S_hat) / (S_hat / dof)
        lr[name] = pd.DataFrame({"gamma": cands, "LR": L})
        inside = L <= crit95
        j = int(np.argmin(L))
        lo_j, hi_j = j, j
        while lo_j > 0 and inside[lo_j - 1]:
            lo_j -= 1
        while hi_j < len(L) - 1 and inside[hi_j + 1]:
            hi_j += 1
        return {"name": name, "estimate": estimate, "ci_lower": float(cands[lo_j]), "ci_upper": float(cands[hi_j]),
                "lr_set_disjoint": bool(inside.sum() > hi_j - lo_j + 1)}

    th = [lr_row("Th-1", sc["g1"], (), tr[0])]
    if max_thresholds >= 2:
        th.append(lr_row("Th-21", sc["g1r"], (sc["g2"],), tr[1]))
        th.append(lr_row("Th-22", sc["g2"], (sc["g1"],), tr[1]))
    if max_thresholds >= 3:
        th.append(lr_row("Th-3", sc["g3"], tuple(sorted((sc["g1r"], sc["g2"]))), tr[2]))
    spec = {"y": y, "regime_x": regime_x, "q": q, "controls": list(controls), "max_thresholds": max_thresholds,
            "n_boot": nb[:max_thresholds], "trim": tr[:max_thresholds], "grid": grid, "n_candidates": len(cands),
            "convention": convention, "N": n_ent, "T": T, "lr_crit_95": crit95, "balance": balance}
    fitter = _Fitter(d, y, regime_x, q, controls, entity, time, convention)
    return ThresholdResult(pd.DataFrame(rows), pd.DataFrame(th), lr, boots, spec, fitter, info)


def brute_force_ssr(df: pd.DataFrame, y: str, regime_x: str, q: str, controls, fixed: tuple[float, ...],
                    candidates: np.ndarray, entity="city_code", time="year", convention="xthreg") -> np.ndarray:
    """Reference: one OLS fit per candidate (slow), for tests and the benchmark."""
    d = df.sort_values([entity, time]).reset_index(drop=True)
    ent = d[entity].to_numpy()
    keep = _kept_rows(ent, convention)
    x = d[regime_x].to_numpy(float)
    qv = d[q].to_numpy(float)
    yt = within.demean(d[y].to_numpy(float), ent)[keep]
    base = [d[c].to_numpy(float) for c in controls] + [x] + [x * (qv <= g) for g in fixed]
    out = []
    for g in candidates:
        X = within.demean(np.column_stack(base + [x * (qv <= g)]), ent)[keep]
        b = np.linalg.lstsq(X, yt, rcond=None)[0]
        r = yt - X @ b
        out.append(float(r @ r))
    return np.array(out)


# Hansen (1999, J. Econometrics 93) on his investment data, the oracle for this module:
# single-threshold estimate and F test, and the two thresholds of the double model.
HANSEN_1999_REPORTED = {"single_threshold": 0.0157, "F1": 43.7, "double_thresholds": (0.0157, 0.5362)}


def with_year_dummies(df: pd.DataFrame, time: str = "year") -> tuple[pd.DataFrame, list[str]]:
    """``df`` with year dummies (first year omitted) to use as controls, as ``i.year`` in xthreg."""
    dummies = pd.get_dummies(df[time], prefix="year", drop_first=True, dtype=float)
    dummies.columns = [str(c) for c in dummies.columns]
    return pd.concat([df, dummies], axis=1), list(dummies.columns)
