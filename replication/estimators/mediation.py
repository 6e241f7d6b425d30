"""Mediation analysis (Table 4): the three-step test, Sobel, and a city-cluster bootstrap.

The paper follows Wen Zhonglin et al. (2004): (1) index on did; (2) mediator on did;
(3) index on did and the mediator; all with the controls and two-way fixed effects.
With ``a`` = the did coefficient in (2), ``b`` = the mediator's in (3) and ``c`` = the
did coefficient in (1), the indirect effect is ``a*b``, the Sobel SE
``sqrt(b^2 se_a^2 + a^2 se_b^2)``, and the proportion mediated ``a*b / c``.

**Cluster bootstrap, vectorised.**  Resampling cities with replacement is the same as
weighting each city by the number of times it is drawn.  On a balanced panel with
weights that vary by city only, the weighted two-way within transformation is exact
in closed form: ``v_it - v_i. - (v_.t^w - v^w)``, i.e. the city-demeaned variable minus
its weighted year mean.  Every weighted cross-product matrix of all draws is then two
``einsum`` calls, and the regressions of steps (2) and (3) are sub-blocks of it, solved
for all draws at once.  On an unbalanced panel the year part is no longer a weighted mean:
it is a (T-1) x (T-1) weighted normal-equation system per draw, built from per-city sums
and solved for all draws at once (see :func:`_weighted_crossproducts`).  (Tests check
draws against regressions on the explicitly resampled panel, with duplicated cities as
distinct entities, on balanced and unbalanced panels.)

What this design identifies: the pilot is (by assumption) as good as random given the
fixed effects and controls, so ``a`` and ``c`` are causal under the DID assumptions;
the mediator is *not* randomised, so ``b`` is causal only if nothing unobserved drives
both the mediator and the index (sequential ignorability).  The three-step logic has
well-known critiques (e.g. Zhao, Lynch and Chen 2010; Imai, Keele and Tingley 2010).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from replication.estimators import within
from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, twfe


@dataclass
class MediationResult:
    mediator: str
    step1: TWFEResult
    step2: TWFEResult
    step3: TWFEResult
    a: float
    b: float
    c: float
    c_prime: float
    indirect: float
    sobel_se: float
    sobel_z: float
    sobel_p: float
    boot: np.ndarray | None = None  # (B x 2): a and b per draw

    @property
    def proportion(self) -> float:
        return self.indirect / self.c

    def boot_ci(self, level: float = 0.95) -> tuple[float, float]:
        if self.boot is None:
            return (np.nan, np.nan)
        ab = self.boot[:, 0] * self.boot[:, 1]
        lo, hi = np.quantile(ab, [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)

    def summary(self) -> dict:
        lo, hi = self.boot_ci()
        return {"mediator": self.mediator, "a (did -> M)": self.a, "b (M -> index)": self.b,
                "c (total)": self.c, "c' (direct)": self.c_prime, "indirect a*b": self.indirect,
                "Sobel SE": self.sobel_se, "Sobel z": self.sobel_z, "Sobel p": self.sobel_p,
                "bootstrap 95% CI low": lo, "bootstrap 95% CI high": hi,
                "proportion mediated": self.proportion}


def sobel(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float, float]:
    """Sobel (1982) first-order SE of a*b, its z and two-sided normal p-value."""
    se = float(np.sqrt(b ** 2 * se_a ** 2 + a ** 2 * se_b ** 2))
    z = a * b / se
    return se, float(z), float(2 * stats.norm.sf(abs(z)))


def three_step(panel: pd.DataFrame, mediator: str, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
               convention: str = "stata", n_boot: int = 0, seed: int | np.random.Generator | None = 0,
               step1: TWFEResult | None = None, entity: str = "city_code", time: str = "year",
               cluster: str | None = "city_code") -> MediationResult:
    """The three regressions, Sobel, and (``n_boot > 0``) the city-cluster bootstrap.
    ``step1`` reuses an already fitted index-on-did regression (it does not depend on M).
    Works on unbalanced panels (see :func:`bootstrap_paths`)."""
    kw = dict(entity=entity, time=time, cluster=cluster, convention=convention)
    s1 = step1 or twfe(panel, y, treat, controls, **kw)
    s2 = twfe(panel, mediator, treat, controls, **kw)
    s3 = twfe(panel, y, [treat, mediator], controls, **kw)
    a, b = s2[treat], s3[mediator]
    se, z, p = sobel(a, s2.std_errors[treat], b, s3.std_errors[mediator])
    boot = None
    if n_boot:
        boot = bootstrap_paths(panel, [mediator], y, treat, controls, n_boot=n_boot, seed=seed, entity=entity,
                               time=time)[mediator]
    return MediationResult(mediator, s1, s2, s3, a, b, s1[treat], s3[treat], a * b, se, z, p, boot)


def _weighted_crossproducts(V: np.ndarray, ent: np.ndarray, time: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Sum_it w_i v~_it v~_it' for every column of city weights W (n_cities x B): (B x p x p),
    where v~ is V after the w-weighted two-way within transformation.

    City weights are constant within a city, so the city-demeaning is the unweighted one
    (``Vd``); what remains is the weighted projection on the city-demeaned year dummies
    ``Dd``: ``C_b = Vd' W Vd - (Vd' W Dd) (Dd' W Dd)^+ (Dd' W Vd)``, all from per-city sums.
    On a balanced panel ``Dd' W Dd`` is ``sum(w) (I - 11'/T)`` and the second term is the
    closed form ``sum(w) m_b' m_b`` with ``m_b`` the weighted year means (used as is, so
    balanced results do not change); on an unbalanced panel (city i observed in the years
    ``P_i``, ``T_i`` of them) ``Dd_i' Dd_i = diag(1_P_i) - 1_P_i 1_P_i' / T_i`` and the
    (T-1) x (T-1) systems (first year dropped: ``Dd`` 1 = 0) are solved for all draws at once.
    """
    e, ne = within.group_codes(ent)
    t, nt = within.group_codes(time)
    Vd = within.demean(V, ent)  # city-demeaned
    cube = np.zeros((ne, nt, V.shape[1]))
    cube[e, t] = Vd
    C_i = np.einsum("itp,itq->ipq", cube, cube)
    first = np.einsum("ib,ipq->bpq", W, C_i)
    Wsum = W.sum(axis=0)
    if within.is_balanced(ent, time):
        tm = np.einsum("ib,itp->btp", W, cube) / Wsum[:, None, None]  # weighted year means
        second = Wsum[:, None, None] * np.einsum("btp,btq->bpq", tm, tm)
        return first - second
    pres = np.zeros((ne, nt))
    pres[e, t] = 1.0
    Ti = pres.sum(axis=1)
    X = (W.T @ cube.reshape(ne, -1)).reshape(-1, nt, V.shape[1])[:, 1:]  # Dd' W Vd (first year dropped)
    P = pres[:, 1:]
    PP = (P[:, :, None] * P[:, None, :]).reshape(ne, -1)
    H = (W.T @ P)[:, :, None] * np.eye(nt - 1)[None] \
        - ((W / Ti[:, None]).T @ PP).reshape(-1, nt - 1, nt - 1)  # Dd' W Dd
    try:
        HX = np.linalg.solve(H, X)
    except np.linalg.LinAlgError:  # a draw without any city observed in some year
        HX = np.linalg.pinv(H) @ X
    second = np.matmul(X.transpose(0, 2, 1), HX)
    return first - second


def bootstrap_paths(panel: pd.DataFrame, mediators, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
                    n_boot: int = 500, seed: int | np.random.Generator | None = 0, entity: str = "city_code",
                    time: str = "year", weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """City-cluster bootstrap of the paths: for each mediator an (n_boot x 2) array of (a, b).

    ``weights`` (n_cities x B) overrides the multinomial draw (used by the tests).  Works on
    unbalanced panels: every draw equals the TWFE regressions on the resampled panel (see
    :func:`_weighted_crossproducts`).
    """
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    mediators = list(mediators)
    cols = [y, treat, *mediators, *controls]
    V = d[cols].to_numpy(float)
    n_ent = d[entity].nunique()
    if weights is None:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        draws = rng.integers(0, n_ent, size=(n_boot, n_ent))
        W = np.zeros((n_ent, n_boot))
        np.add.at(W, (draws.T, np.arange(n_boot)[None, :]), 1.0)
    else:
        W = np.asarray(weights, float)
    CP = _weighted_crossproducts(V, d[entity].to_numpy(), d[time].to_numpy(), W)
    idx = {c: i for i, c in enumerate(cols)}
    ctrl = [idx[c] for c in controls]
    out = {}
    for m in mediators:
        # step 2: m ~ did + controls
        r2 = [idx[treat], *ctrl]
        A2 = CP[:, r2][:, :, r2]
        b2 = CP[:, r2, idx[m]]
        a = np.linalg.solve(A2, b2[..., None])[:, 0, 0]
        # step 3: y ~ did + m + controls
        r3 = [idx[treat], idx[m], *ctrl]
        A3 = CP[:, r3][:, :, r3]
        b3 = CP[:, r3, idx[y]]
        bb = np.linalg.solve(A3, b3[..., None])[:, 1, 0]
        out[m] = np.column_stack([a, bb])
    return out


def joint_model(panel: pd.DataFrame, mediators=("hc", "st"), y: str = "nqp", treat: str = "did",
                controls=CONTROLS, convention: str = "stata", *, entity: str = "city_code", time: str = "year",
                cluster: str | None = "city_code") -> TWFEResult:
    """The index on did and both mediators (and the controls, two-way FE)."""
    return twfe(panel, y, [treat, *mediators], controls, entity=entity, time=time, cluster=cluster,
                convention=convention)


def table4(panel: pd.DataFrame, y: str = "nqp", convention: str = "stata") -> dict[str, TWFEResult]:
    """Table 4's five columns: (1) index; (2) hc; (3) index with hc; (4) st; (5) index with st."""
    hc = three_step(panel, "hc", y, convention=convention)
    st = three_step(panel, "st", y, convention=convention, step1=hc.step1)
    return {"(1)": hc.step1, "(2)": hc.step2, "(3)": hc.step3, "(4)": st.step2, "(5)": st.step3}


class _CallableModule(__import__("types").ModuleType):
    """``replication.estimators.mediation`` is both this module and, called, :func:`three_step`: the public
    name ``replication.estimators.mediation(panel, mediator, ...)`` and ``from replication import
    mediation; mediation.table4(...)`` must both work (a package attribute cannot be a
    function and a submodule at once)."""

    def __call__(self, *args, **kwargs) -> MediationResult:
        return three_step(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
