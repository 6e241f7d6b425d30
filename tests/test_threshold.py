"""Hansen (1999) threshold model: exact against brute force, Hansen's data, DGP truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import ORACLE
from replication.estimators import threshold as th
from replication.data.schema import CONTROLS
from replication.data.index import add_index

HANSEN_CONTROLS = ["q1", "q2", "q3", "d1", "qd1"]


def _toy(seed=0, N=60, T=8, gammas=(0.3, 0.7), betas=(-1.0, 0.5, 2.0), sd=0.5):
    rng = np.random.default_rng(seed)
    ent = np.repeat(np.arange(N), T)
    yr = np.tile(np.arange(T), N)
    q = rng.uniform(0, 1, N * T)
    x = rng.normal(size=N * T)
    z = rng.normal(size=N * T)
    mu = rng.normal(size=N)[ent]
    reg = np.digitize(q, gammas, right=True)
    y = mu + np.array(betas)[reg] * x + 0.5 * z + rng.normal(0, sd, N * T)
    return pd.DataFrame({"id": ent, "t": yr, "y": y, "x": x, "q": q, "z": z})


@pytest.mark.parametrize("convention", ["xthreg", "hansen", "hansen_program"])
@pytest.mark.parametrize("fixed", [(), (0.3,), (0.3, 0.7)])
def test_ssr_curve_equals_one_ols_per_candidate(convention, fixed):
    df = _toy()
    d = df.sort_values(["id", "t"]).reset_index(drop=True)
    cands = th._grid(d["q"].to_numpy(), 0.05, 60)
    s = th._Searcher(d["id"].to_numpy(), d["x"].to_numpy(), d["q"].to_numpy(), d[["z"]].to_numpy(), 8,
                     convention, cands)
    S, _, _ = s.curve(fixed, s.L(d["y"].to_numpy()[:, None]))
    bf = th.brute_force_ssr(d, "y", "x", "q", ["z"], fixed, cands, entity="id", time="t", convention=convention)
    ok = np.isfinite(S[:, 0]) & ~np.isin(cands, fixed)
    np.testing.assert_allclose(S[ok, 0], bf[ok], rtol=1e-10)


def test_estimates_and_f_equal_brute_force():
    df = _toy(seed=1)
    r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_draws=0,
                               trim=0.05, grid=80)
    cands = th._grid(df["q"].to_numpy(), 0.05, 80)
    bf1 = th.brute_force_ssr(df, "y", "x", "q", ["z"], (), cands, entity="id", time="t")
    g1 = cands[np.argmin(bf1)]
    assert r.thresholds.set_index("name").loc["Th-1", "estimate"] == g1
    d = df.sort_values(["id", "t"])
    dm = lambda v: v - d.groupby("id")[v.name].transform("mean")  # noqa: E731
    X0 = np.column_stack([dm(d["z"]), dm(d["x"])])
    y0 = dm(d["y"]).to_numpy()
    S0 = float(((y0 - X0 @ np.linalg.lstsq(X0, y0, rcond=None)[0]) ** 2).sum())
    F1 = (S0 - bf1.min()) / (bf1.min() / (60 * 7))
    assert r.tests[1].statistic == pytest.approx(F1, rel=1e-9)
    assert r.tests[1].info["rss"] == pytest.approx(bf1.min(), rel=1e-10)
    assert r.tests[1].n_draws is None and np.isnan(r.tests[1].pvalue)


def test_recovers_planted_thresholds_and_slopes():
    df = _toy(seed=2, N=200, T=10)
    r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_draws=50,
                               trim=0.05, grid=200, seed=3)
    est = r.estimates(2)
    assert est[0] == pytest.approx(0.3, abs=0.02) and est[1] == pytest.approx(0.7, abs=0.02)
    c = r.model(2).params
    np.testing.assert_allclose(c[["x_regime_1", "x_regime_2", "x_regime_3"]], [-1.0, 0.5, 2.0], atol=0.15)
    assert r.tests[1].pvalue < 0.05 and r.tests[2].pvalue < 0.05
    assert r.tests[1].n_draws == 50 and len(r.tests[1].null_distribution) == 50


def test_bootstrap_is_deterministic_under_a_seed():
    df = _toy(seed=4)
    a = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_draws=30,
                               trim=0.05, grid=50, seed=9)
    b = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_draws=30,
                               trim=0.05, grid=50, seed=9)
    pd.testing.assert_frame_equal(a.test_table(), b.test_table())
    np.testing.assert_array_equal(a.tests[2].null_distribution, b.tests[2].null_distribution)


def test_no_threshold_gives_uniform_ish_p_values():
    """Under the null (no threshold) the bootstrap p-value is not systematically small."""
    ps = []
    for seed in range(8):
        df = _toy(seed=seed, betas=(1.0, 1.0, 1.0))
        r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_draws=60,
                                   trim=0.05, grid=40, seed=seed)
        ps.append(r.tests[1].pvalue)
    assert np.mean(ps) > 0.2


def test_lr_critical_value():
    assert th.lr_critical_value(0.05) == pytest.approx(7.352, abs=1e-3)
    assert th.lr_critical_value(0.10) == pytest.approx(5.940, abs=1e-3)


def test_unbalanced_panel_is_a_clear_error_when_asked():
    df = _toy().iloc[3:]
    with pytest.raises(ValueError, match="balanced panel.*missing"):
        th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", n_draws=0, balance="error")


def test_unbalanced_panel_is_balanced_explicitly():
    """Default: the entities not observed in every period are dropped, and the result says so
    (tests/test_unbalanced.py has the book-sized case)."""
    df = _toy()
    kw = dict(entity="id", time="t", n_draws=20, max_thresholds=2, trim=0.05, grid=60)
    r = th.fit_panel_threshold(df.iloc[3:], "y", "x", "q", ["z"], **kw)
    assert r.balanced_sample["cities_dropped"] == [0] and r.balanced_sample["rows_after"] == 59 * 8
    ref = th.fit_panel_threshold(df[df["id"] != 0], "y", "x", "q", ["z"], **kw)
    pd.testing.assert_frame_equal(r.test_table(), ref.test_table())
    full = th.fit_panel_threshold(df, "y", "x", "q", ["z"], **kw)
    assert full.balanced_sample["cities_dropped"] == [] and full.balanced_sample["rows_after"] == len(df)


def test_too_much_trim_is_a_clear_error():
    with pytest.raises(ValueError, match="no candidate"):
        th.fit_panel_threshold(_toy(), "y", "x", "q", ["z"], entity="id", time="t", n_draws=0, trim=0.6)


def _hansen_data():
    d = pd.read_stata(ORACLE / "hansen1999.dta")
    d["year"] = d["year"].dt.year
    return d


def _hansen_fit(convention, grid, **kw):
    kw = {"max_thresholds": 2, "n_draws": 0, "trim": (0.01, 0.01), **kw}
    return th.fit_panel_threshold(_hansen_data(), "i", "c1", "d1", HANSEN_CONTROLS, entity="id", time="year",
                                  grid=grid, convention=convention, **kw)


def test_hansen_investment_data():
    """Hansen's (1999) data as shipped with xthreg, every observed value a candidate and
    the first period dropped: the single threshold is his 0.0157 and F1 is close to his
    reported 43.7.  The second threshold is 0.54003, not his 0.5362: the minimiser over
    every value lies between two points of the grid he searches (next test)."""
    r = _hansen_fit("hansen", 0)
    t = r.thresholds.set_index("name")["estimate"]
    assert t["Th-1"] == pytest.approx(0.0157, abs=5e-5)
    assert t["Th-22"] == pytest.approx(0.54003, abs=5e-6)  # Hansen: 0.5362 (his grid, next test)
    assert r.tests[1].statistic == pytest.approx(43.7, abs=0.5)


def test_hansens_second_threshold_is_the_minimum_over_his_grid():
    """Why Hansen prints 0.5362 where every-value search gives 0.5400 (threshold.py's
    docstring): his program searches the 393 quantiles 1 %, 1.25 %, ..., 99 % of the
    distinct values of q (``convention="hansen_program", grid=400``, which also drops each
    firm's last period and uses q < g), and reproduces his 0.0157 and 0.5362 to the digit.
    0.54003 is not on that grid, and the criterion is flat between them (LR 1.2 << 7.35).
    Each assertion fails if the explanation stops being true."""
    prog = _hansen_fit("hansen_program", 400)
    t = prog.thresholds.set_index("name")["estimate"]
    assert (f"{t['Th-1']:.4f}", f"{t['Th-21']:.4f}", f"{t['Th-22']:.4f}") == ("0.0157", "0.0157", "0.5362")
    assert t["Th-22"] == pytest.approx(0.53616, abs=5e-6) and t["Th-1"] == pytest.approx(0.01570, abs=5e-6)
    grid = prog.lr["Th-1"]["gamma"].to_numpy()
    assert len(grid) == 393
    j = np.searchsorted(grid, 0.54003)
    assert grid[j - 1] == pytest.approx(0.53616, abs=5e-6) and grid[j] == pytest.approx(0.54072, abs=5e-6)
    every = _hansen_fit("hansen", 0).lr["Th-22"].set_index("gamma")["LR"]
    assert every.idxmin() == pytest.approx(0.54003, abs=5e-6)
    lr_hansen = every.iloc[np.argmin(np.abs(every.index.to_numpy() - 0.53616))]
    assert lr_hansen == pytest.approx(1.23, abs=0.01) and lr_hansen < th.lr_critical_value(0.05)
    # both the grid and the dropped period matter for the last digit: his grid with the
    # first period dropped gives 0.54072, his program's transformation on every value 0.53945
    assert _grid_minimum("hansen", 400, of="distinct") == pytest.approx(0.54072, abs=5e-6)
    assert _grid_minimum("hansen_program", 0, of="observations") == pytest.approx(0.53945, abs=5e-6)
    # his program's own F1 on this data (the reported 43.7 is matched by dropping the first period)
    assert prog.tests[1].statistic == pytest.approx(32.65, abs=0.01)


def _grid_minimum(convention, grid, of):
    """Second threshold given 0.0157 under ``convention``'s transformation, on a given grid."""
    d = _hansen_data().sort_values(["id", "year"]).reset_index(drop=True)
    q = d["d1"].to_numpy(float)
    cands = th.candidate_grid(q, 0.01, grid, of=of)
    s = th._Searcher(d["id"].to_numpy(), d["c1"].to_numpy(float), q, d[HANSEN_CONTROLS].to_numpy(float), 14,
                     convention, cands, grid=grid)
    g1 = float(q[np.argmin(np.abs(q - 0.0157))])
    S, _, _ = s.curve((g1,), s.L(d["i"].to_numpy(float)[:, None]))
    ok = s.admissible((g1,), 0.01) & np.isfinite(S[:, 0])
    return float(cands[ok][np.argmin(S[ok, 0])])


def test_hansens_grid_is_his_programs():
    """``candidate_grid(of="distinct")`` is his ``dd[floor(sq * rows(dd))]`` with
    ``sq = trim, trim + 1/qn, ..., 1 - trim`` (GAUSS/R indices start at 1)."""
    q = np.random.default_rng(0).gamma(2.0, size=5000).round(3)
    dd = np.unique(q)
    sq = np.arange(0.01, 0.01 + (1 / 400) * (400 - 2 * 400 * 0.01) + 1e-12, 1 / 400)
    np.testing.assert_array_equal(th.candidate_grid(q, 0.01, 400, of="distinct"),
                                  dd[np.floor(sq * len(dd)).astype(int) - 1])


def test_default_panel_recovers_the_dgp_thresholds(panel, sim):
    data = add_index(panel)
    r = th.fit_panel_threshold(data, "nqp", "did", "isu", list(CONTROLS), max_thresholds=2, n_draws=0)
    g = r.estimates(2)
    assert g[0] == pytest.approx(sim.truth["threshold_1"], abs=0.03)
    assert g[1] == pytest.approx(sim.truth["threshold_2"], abs=0.05)


@pytest.mark.slow
def test_monte_carlo_lr_sets_cover_the_truth():
    cover = []
    for seed in range(40):
        df = _toy(seed=100 + seed, N=80, T=6, gammas=(0.5, 0.99), betas=(0.0, 0.6, 0.6), sd=1.0)
        r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_draws=0,
                                   trim=0.05, grid=150)
        row = r.thresholds.set_index("name").loc["Th-1"]
        cover.append(row["lower"] - 0.02 <= 0.5 <= row["upper"] + 0.02)
    assert np.mean(cover) >= 0.85


def test_time_effects_give_the_two_way_fe_regression_and_reghdfe_constant():
    """With ``time_effects`` the regime coefficients, their clustered SEs and ``_cons`` equal
    the TWFE regression (entity and year effects absorbed, reghdfe's constant) of y on the
    regime-split regressor at the estimated thresholds: FWL, to 1e-10."""
    from replication.estimators.did import twfe

    df = _toy(3)
    df["z"] = np.random.default_rng(9).normal(size=len(df)) + 0.1 * df["t"]
    df["y"] = df["y"] + 0.3 * df["z"] + 0.05 * df["t"] ** 2
    res = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_draws=0,
                                 time_effects=True)
    m = res.model(1)
    assert [n for n in m.params.index if n.startswith("year")] == []
    g = res.estimates(1)[0]
    d = df.assign(x_r1=df["x"] * (df["q"] <= g), x_r2=df["x"] * (df["q"] > g))
    ref = twfe(d, "y", ["x_r1", "x_r2"], ["z"], entity="id", time="t")
    ours = m.params.rename({"x_regime_1": "x_r1", "x_regime_2": "x_r2"})
    np.testing.assert_allclose(ours[ref.params.index], ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.std_errors.rename({"x_regime_1": "x_r1", "x_regime_2": "x_r2"})[ref.params.index],
                               ref.std_errors, rtol=1e-10)


@pytest.mark.parametrize("convention", ["hansen", "hansen_program"])
def test_time_effects_with_hansens_conventions_is_a_clear_error(convention):
    """Dropping one period per entity makes the period dummies collinear with the constant."""
    with pytest.raises(ValueError, match="needs convention='xthreg'"):
        th.fit_panel_threshold(_toy(), "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_draws=0,
                               convention=convention, time_effects=True)
