"""Mediation analysis: the three-step test, Sobel, and an entity-cluster bootstrap.

The three steps of Baron and Kenny (1986) as used by Wen Zhonglin et al. (2004): (1) ``y``
on ``treat``; (2) the mediator on ``treat``; (3) ``y`` on ``treat`` and the mediator; all
with the controls and two-way fixed effects (:func:`replication.estimators.did.twfe`).
With ``a`` = the treat coefficient in (2), ``b`` = the mediator's in (3), ``c`` = the treat
coefficient in (1) and ``c'`` (``c_prime``) = the treat coefficient in (3), the indirect
effect is ``a*b``, the Sobel SE ``sqrt(b^2 se_a^2 + a^2 se_b^2)``, and the proportion
mediated ``a*b / c``.

:func:`three_step` returns a :class:`MediationResult` in the result protocol: ``params``
(``a``, ``b``, ``c``, ``c_prime``, ``indirect``), ``std_errors`` (the clustered SEs of the
steps; the Sobel SE for ``indirect``), ``pvalues`` and ``conf_int()`` (t(G-1) for the paths,
normal for ``indirect``), and the two tests of the indirect effect as
:class:`~replication.estimators.results.TestResult`: ``sobel`` and ``bootstrap`` (the
percentile bootstrap, with ``conf_int()``; None without draws).

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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.estimators import within
from replication.data.schema import CONTROLS
from replication.estimators.did import TWFEResult, twfe
from replication.estimators.results import ENTITY, Estimates, TestResult
from replication.estimators.results import rng as make_rng
from replication.estimators import distributions as dist

@dataclass
class BootstrapTest(TestResult):
    """A percentile bootstrap of one quantity: ``statistic`` is the point estimate,
    ``null_distribution`` the bootstrap draws of it, ``pvalue`` the two-sided percentile
    p-value ``2 min(P*(draw < 0), P*(draw > 0))`` (capped at 1; as R's ``mediation``
    package), i.e. one minus the largest level whose percentile interval excludes zero."""

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """The percentile interval (``lower``, ``upper``), one row named after the quantity."""
        lo, hi = np.quantile(self.null_distribution, [(1 - level) / 2, (1 + level) / 2])
        return pd.DataFrame({"lower": [float(lo)], "upper": [float(hi)]}, index=[self.info.get("term", "estimate")])


def percentile_test(estimate: float, draws: np.ndarray, *, name: str, term: str) -> BootstrapTest:
    draws = np.asarray(draws, float)
    p = min(1.0, 2 * min(float((draws < 0).mean()), float((draws > 0).mean())))
    return BootstrapTest(float(estimate), p, name=name, n_draws=len(draws), null_distribution=draws,
                         info={"term": term})


@dataclass
class MediationResult(Estimates):
    """The three steps and the tests of the indirect effect (see the module docstring).
    ``boot`` is the (n_draws x 2) array of the bootstrap draws of ``a`` and ``b``."""

    params: pd.Series
    std_errors: pd.Series
    nobs: int
    mediator: str
    treat: str
    step1: TWFEResult = field(repr=False)
    step2: TWFEResult = field(repr=False)
    step3: TWFEResult = field(repr=False)
    sobel: TestResult = field(repr=False)
    df_resid: float | None = None
    boot: np.ndarray | None = field(default=None, repr=False)
    title = "Three-step mediation"

    a = property(lambda self: float(self.params["a"]), doc="path treat -> mediator")
    b = property(lambda self: float(self.params["b"]), doc="path mediator -> y (given treat)")
    c = property(lambda self: float(self.params["c"]), doc="total effect of treat on y")
    c_prime = property(lambda self: float(self.params["c_prime"]), doc="direct effect of treat (given the mediator)")
    indirect = property(lambda self: float(self.params["indirect"]), doc="indirect effect a*b")

    @property
    def proportion(self) -> float:
        """The proportion mediated, ``a*b / c``."""
        return self.indirect / self.c

    @property
    def pvalues(self) -> pd.Series:
        p = super().pvalues
        p["indirect"] = self.sobel.pvalue
        return p

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        ci = super().conf_int(level)
        z = dist.norm.ppf(0.5 + level / 2)
        ci.loc["indirect"] = [self.indirect - z * self.std_errors["indirect"],
                              self.indirect + z * self.std_errors["indirect"]]
        return ci

    @property
    def bootstrap(self) -> BootstrapTest | None:
        """The percentile bootstrap of ``a*b`` over the entity-cluster draws (None without draws)."""
        if self.boot is None:
            return None
        return percentile_test(self.indirect, self.boot[:, 0] * self.boot[:, 1], term="indirect",
                               name=f"percentile bootstrap of the indirect effect via {self.mediator}")

    def _header(self):
        rows = [("Mediator", self.mediator), ("Treatment", self.treat), *super()._header(),
                ("Sobel test", f"z = {self.sobel.statistic:.3f}, p = {self.sobel.pvalue:.4f}"),
                ("Proportion mediated", f"{self.proportion:.3f}")]
        bt = self.bootstrap
        if bt is not None:
            lo, hi = bt.conf_int().iloc[0]
            rows.append(("Bootstrap 95% CI", f"[{lo:.4f}, {hi:.4f}] ({bt.n_draws:,} draws)"))
        return rows


def sobel(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float, float]:
    """Sobel (1982) first-order SE of a*b, its z and two-sided normal p-value."""
    se = float(np.sqrt(b ** 2 * se_a ** 2 + a ** 2 * se_b ** 2))
    z = a * b / se
    return se, float(z), float(2 * dist.norm.sf(abs(z)))


def three_step(panel: pd.DataFrame, mediator: str, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
               convention: str = "stata", n_draws: int = 0, seed: int | np.random.Generator | None = 0,
               step1: TWFEResult | None = None, entity: str = "city_code", time: str = "year",
               cluster=ENTITY) -> MediationResult:
    """Three-step mediation of the effect of ``treat`` on ``y`` through ``mediator``: the three
    TWFE regressions, the Sobel test and (``n_draws > 0``) the entity-cluster bootstrap.

    SEs are clustered by ``cluster`` (default: the ``entity`` column; None: HC1); the
    bootstrap resamples entities.  ``seed`` goes through
    :func:`replication.estimators.results.rng`.  ``step1`` reuses an already fitted
    regression of ``y`` on ``treat`` (it does not depend on the mediator).  Works on
    unbalanced panels (see :func:`bootstrap_paths`).  Returns a :class:`MediationResult`."""
    kw = dict(entity=entity, time=time, cluster=cluster, convention=convention)
    s1 = step1 or twfe(panel, y, treat, controls, **kw)
    s2 = twfe(panel, mediator, treat, controls, **kw)
    s3 = twfe(panel, y, [treat, mediator], controls, **kw)
    a, b = s2[treat], s3[mediator]
    se, z, p = sobel(a, s2.std_errors[treat], b, s3.std_errors[mediator])
    boot = None
    if n_draws:
        boot = bootstrap_paths(panel, [mediator], y, treat, controls, n_draws=n_draws, seed=seed, entity=entity,
                               time=time)[mediator]
    params = pd.Series({"a": a, "b": b, "c": s1[treat], "c_prime": s3[treat], "indirect": a * b})
    ses = pd.Series({"a": s2.std_errors[treat], "b": s3.std_errors[mediator], "c": s1.std_errors[treat],
                     "c_prime": s3.std_errors[treat], "indirect": se})
    test = TestResult(z, p, name=f"Sobel test of the indirect effect via {mediator}", distribution="normal")
    return MediationResult(params, ses, s3.nobs, mediator, treat, s1, s2, s3, test, s3.df_resid, boot)


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
                    n_draws: int = 500, seed: int | np.random.Generator | None = 0, entity: str = "city_code",
                    time: str = "year", weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Entity-cluster bootstrap of the paths: for each mediator an (n_draws x 2) array of (a, b).

    ``seed`` goes through :func:`replication.estimators.results.rng`.  ``weights``
    (n_entities x n_draws) overrides the multinomial draw (used by the tests).  Works on
    unbalanced panels: every draw equals the TWFE regressions on the resampled panel (see
    :func:`_weighted_crossproducts`).
    """
    d = panel.sort_values([entity, time]).reset_index(drop=True)
    mediators = list(mediators)
    cols = [y, treat, *mediators, *controls]
    V = d[cols].to_numpy(float)
    n_ent = d[entity].nunique()
    if weights is None:
        draws = make_rng(seed).integers(0, n_ent, size=(n_draws, n_ent))
        W = np.zeros((n_ent, n_draws))
        np.add.at(W, (draws.T, np.arange(n_draws)[None, :]), 1.0)
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


def joint_model(panel: pd.DataFrame, mediators, y: str = "nqp", treat: str = "did", controls=CONTROLS, *,
                convention: str = "stata", entity: str = "city_code", time: str = "year",
                cluster=ENTITY) -> TWFEResult:
    """``y`` on ``treat`` and all the ``mediators`` at once (and the controls, two-way FE)."""
    return twfe(panel, y, [treat, *mediators], controls, entity=entity, time=time, cluster=cluster,
                convention=convention)
