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


@pytest.mark.parametrize("convention", ["xthreg", "hansen"])
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
    r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_boot=0,
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
    assert r.tests.loc[0, "F"] == pytest.approx(F1, rel=1e-9)
    assert r.tests.loc[0, "RSS"] == pytest.approx(bf1.min(), rel=1e-10)


def test_recovers_planted_thresholds_and_slopes():
    df = _toy(seed=2, N=200, T=10)
    r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_boot=50,
                               trim=0.05, grid=200, seed=3)
    est = r.estimates(2)
    assert est[0] == pytest.approx(0.3, abs=0.02) and est[1] == pytest.approx(0.7, abs=0.02)
    c = r.coefficients(2).set_index("term")["coef"]
    np.testing.assert_allclose(c[["x_regime_1", "x_regime_2", "x_regime_3"]], [-1.0, 0.5, 2.0], atol=0.15)
    assert r.tests.loc[0, "p_value"] < 0.05 and r.tests.loc[1, "p_value"] < 0.05


def test_bootstrap_is_deterministic_under_a_seed():
    df = _toy(seed=4)
    a = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_boot=30,
                               trim=0.05, grid=50, seed=9)
    b = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=2, n_boot=30,
                               trim=0.05, grid=50, seed=9)
    pd.testing.assert_frame_equal(a.tests, b.tests)
    np.testing.assert_array_equal(a.bootstrap_F[2], b.bootstrap_F[2])


def test_no_threshold_gives_uniform_ish_p_values():
    """Under the null (no threshold) the bootstrap p-value is not systematically small."""
    ps = []
    for seed in range(8):
        df = _toy(seed=seed, betas=(1.0, 1.0, 1.0))
        r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_boot=60,
                                   trim=0.05, grid=40, seed=seed)
        ps.append(r.tests.loc[0, "p_value"])
    assert np.mean(ps) > 0.2


def test_lr_critical_value():
    assert th.lr_critical_value(0.05) == pytest.approx(7.352, abs=1e-3)
    assert th.lr_critical_value(0.10) == pytest.approx(5.940, abs=1e-3)


def test_unbalanced_panel_is_a_clear_error_when_asked():
    df = _toy().iloc[3:]
    with pytest.raises(ValueError, match="balanced panel.*missing"):
        th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", n_boot=0, balance="error")


def test_unbalanced_panel_is_balanced_explicitly():
    """Default: the entities not observed in every period are dropped, and the result says so
    (tests/test_unbalanced.py has the book-sized case)."""
    df = _toy()
    kw = dict(entity="id", time="t", n_boot=20, max_thresholds=2, trim=0.05, grid=60)
    r = th.fit_panel_threshold(df.iloc[3:], "y", "x", "q", ["z"], **kw)
    assert r.balanced_sample["cities_dropped"] == [0] and r.balanced_sample["rows_after"] == 59 * 8
    ref = th.fit_panel_threshold(df[df["id"] != 0], "y", "x", "q", ["z"], **kw)
    pd.testing.assert_frame_equal(r.tests, ref.tests)
    full = th.fit_panel_threshold(df, "y", "x", "q", ["z"], **kw)
    assert full.balanced_sample["cities_dropped"] == [] and full.balanced_sample["rows_after"] == len(df)


def test_too_much_trim_is_a_clear_error():
    with pytest.raises(ValueError, match="no candidate"):
        th.fit_panel_threshold(_toy(), "y", "x", "q", ["z"], entity="id", time="t", n_boot=0, trim=0.6)


def test_hansen_investment_data():
    """Hansen's (1999) data as shipped with xthreg: the single threshold is his 0.0157
    (with all candidates and his convention), and F1 is close to his reported 43.7."""
    path = ORACLE / "hansen1999.dta"
    d = pd.read_stata(path)
    d["year"] = d["year"].dt.year
    r = th.fit_panel_threshold(d, "i", "c1", "d1", HANSEN_CONTROLS, entity="id", time="year", max_thresholds=2,
                               n_boot=0, trim=(0.01, 0.01), grid=0, convention="hansen")
    t = r.thresholds.set_index("name")["estimate"]
    assert t["Th-1"] == pytest.approx(0.0157, abs=5e-5)
    assert 0.52 < t["Th-22"] < 0.55  # Hansen: 0.5362
    assert r.tests.loc[0, "F"] == pytest.approx(43.7, abs=0.5)


def test_default_panel_recovers_the_dgp_thresholds(panel, sim):
    data = add_index(panel)
    r = th.fit_panel_threshold(data, "nqp", "did", "isu", list(CONTROLS), max_thresholds=2, n_boot=0)
    g = r.estimates(2)
    assert g[0] == pytest.approx(sim.truth["threshold_1"], abs=0.03)
    assert g[1] == pytest.approx(sim.truth["threshold_2"], abs=0.05)


@pytest.mark.slow
def test_monte_carlo_lr_sets_cover_the_truth():
    cover = []
    for seed in range(40):
        df = _toy(seed=100 + seed, N=80, T=6, gammas=(0.5, 0.99), betas=(0.0, 0.6, 0.6), sd=1.0)
        r = th.fit_panel_threshold(df, "y", "x", "q", ["z"], entity="id", time="t", max_thresholds=1, n_boot=0,
                                   trim=0.05, grid=150)
        row = r.thresholds.set_index("name").loc["Th-1"]
        cover.append(row["ci_lower"] - 0.02 <= 0.5 <= row["ci_upper"] + 0.02)
    assert np.mean(cover) >= 0.85
