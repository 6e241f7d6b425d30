"""Reliability: failing and interrupted runs keep previous outputs; property tests;
degenerate analysis cases get clear messages."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT


def _project(tmp_path, cells):
    """A copy of the project's runner inputs with one extra notebook ``98_probe``."""
    proj = tmp_path / "project"
    for d in ("data/reference", "params"):
        shutil.copytree(ROOT / d, proj / d)
    (proj / "notebooks").mkdir(parents=True)
    (proj / "book" / "chapters").mkdir(parents=True)
    (proj / "book" / "chapters" / "previous.txt").write_text("the previous book")
    (proj / "data" / "raw").mkdir(parents=True)
    (proj / "data" / "raw" / "panel.csv").write_text("user data")
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("seed: int = 1  # seed\nwait: float = 0.0  # seconds to sleep")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, proj / "notebooks" / "98_probe.ipynb")
    return proj


def _run(proj, *args, **kw):
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    return subprocess.Popen([sys.executable, "-m", "replication", "run", "--params", "", *args], cwd=proj, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_failing_notebook_names_notebook_and_cell_and_keeps_the_previous_book(tmp_path):
    proj = _project(tmp_path, ["x = 1", "raise ValueError('boom')"])
    proc = _run(proj)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "98_probe" in err and "raised ValueError: boom" in err
    assert "cell" in err and "Traceback" not in err
    assert (proj / "_runs" / "failed" / "98_probe.ipynb").exists()
    assert (proj / "book" / "chapters" / "previous.txt").read_text() == "the previous book"
    assert not (proj / "book" / "chapters" / "98_probe.ipynb").exists()
    assert not list((proj / "book").glob(".staging-*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_leaves_previous_outputs_and_user_data_intact(tmp_path, sig):
    proj = _project(tmp_path, ["import time\ntime.sleep(60)"])
    before = (proj / "data" / "raw" / "panel.csv").stat().st_mtime_ns
    proc = _run(proj)
    time.sleep(4)
    proc.send_signal(sig)
    t0 = time.time()
    out, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 30, "the interrupt must stop the run promptly"
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert (proj / "book" / "chapters" / "previous.txt").read_text() == "the previous book"
    assert not (proj / "book" / "chapters" / "98_probe.ipynb").exists()
    assert not list((proj / "book").glob(".staging-*"))
    assert (proj / "data" / "raw" / "panel.csv").stat().st_mtime_ns == before


def test_successful_run_swaps_in_the_new_chapters(tmp_path):
    proj = _project(tmp_path, ["y = 2"])
    proc = _run(proj)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (proj / "book" / "chapters" / "98_probe.ipynb").exists()
    assert (proj / "book" / "chapters" / "outputs" / "run_summary.csv").exists()


# ---------------------------------------------------------------------------------------
# property tests

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def base(panel):
    from replication.index import add_index

    return add_index(panel)


@SETTINGS
@given(n_cities=st.integers(30, 120), first=st.integers(2009, 2013), length=st.integers(4, 10),
       seed=st.integers(0, 10_000))
def test_any_valid_subpanel_loads_and_keeps_its_size(base, n_cities, first, length, seed):
    from replication.data import validate_panel

    rng = np.random.default_rng(seed)
    codes = rng.choice(base["city_code"].unique(), n_cities, replace=False)
    years = range(first, min(first + length, 2022) + 1)
    sub = base[base["city_code"].isin(codes) & base["year"].isin(years)].sample(frac=1, random_state=seed)
    rep = validate_panel(sub.drop(columns=["nqp", "treat", "did", "broadband"]))
    assert rep.ok, rep.errors
    assert len(rep.panel) == len(sub)
    assert rep.panel["city_code"].nunique() == n_cities


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_row_order_does_not_change_any_estimate(base, seed):
    from replication.did import twfe

    a = twfe(base, "nqp")
    b = twfe(base.sample(frac=1, random_state=seed), "nqp")
    pd.testing.assert_series_equal(a.params, b.params, atol=1e-10, rtol=0)
    pd.testing.assert_series_equal(a.se, b.se, atol=1e-10, rtol=0)


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3), col=st.sampled_from(["patents", "ai_firms",
                                                                                      "avg_wage", "urb"]))
def test_entropy_weights_are_a_probability_vector_invariant_to_rescaling(base, seed, scale, col):
    from replication.index import entropy_index

    sub = base.sample(n=500, random_state=seed)
    cols = ["patents", "ai_firms", "avg_wage", "urb", "mobile_users"]
    w = entropy_index(sub, cols).weights
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    w2 = entropy_index(sub.assign(**{col: sub[col] * scale}), cols).weights
    pd.testing.assert_series_equal(w, w2, atol=1e-9, rtol=0)


# ---------------------------------------------------------------------------------------
# degenerate analysis cases: a clear message, never a crash deep inside a library

def test_degenerate_cases_have_clear_messages(base):
    from replication import did, heterogeneity, placebo, psm, threshold

    with pytest.raises(ValueError, match="collinear"):
        did.twfe(base.assign(pd2=base["pd"] + 0.0), "nqp", "did", ["pd", "pd2"])
    g = heterogeneity.add_groups(base)
    no_treated = g[~((g["size"] == "large") & (g["treat"] == 1))]
    s = heterogeneity.subgroups(no_treated, "size").set_index("group")
    assert np.isnan(s.loc["large", "coef"]) and "too few" in s.loc["large", "note"]
    with pytest.raises(ValueError, match="no candidate"):
        threshold.fit_panel_threshold(base, "nqp", "did", "isu", [], n_boot=0, trim=0.5)
    with pytest.raises(ValueError, match="common support"):
        psm.match(np.array([0.9, 0.95, 0.1, 0.2]), np.array([True, True, False, False]))
    with pytest.raises(ValueError, match="scheme"):
        placebo.permutation_test(base, n_draws=2, scheme="everything")
    with pytest.raises(ValueError, match="no variation"):
        psm.propensity(base.assign(treat=1))
    with pytest.raises(KeyError, match="not in the panel"):
        did.twfe(base, "nqp", "did", ["nonexistent"])
