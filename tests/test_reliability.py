"""Reliability: failing and interrupted runs keep previous outputs; property tests;
degenerate analysis cases get clear messages."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_runner import _project, _run


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
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


# The run is signalled in each of its phases.  The runner traces the phase it enters
# (REPLICATION_RUNNER_TRACE) and waits at the start of the one named by
# REPLICATION_RUNNER_PAUSE, so the signal lands there whatever the machine's load:
#   params    before the parameters are checked       validate  before the data is validated
#   start     staging folder made, no process started  boot      papermill just started, kernel starting
#   execute   the kernel runs the notebook's cell       swap      all done, before the chapter folders swap
PHASES = {"params": "params", "validate": "validate", "start": "start", "boot": None, "execute": None,
          "swap": "swap"}


def _wait_for(predicate, what: str, proc, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended (code {proc.returncode}) before {what}: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def _processes_working_in(folder):
    import psutil

    found = []
    for p in psutil.process_iter(["cwd"]):
        try:
            cwd = p.info["cwd"]
            if cwd and (folder == Path(cwd) or folder in Path(cwd).parents):
                found.append((p.pid, p.name()))
        except psutil.Error:
            pass
    return found


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_interrupt_in_any_phase_leaves_previous_outputs_and_user_data_intact(tmp_path, phase, sig):
    marker, trace = tmp_path / "kernel-runs", tmp_path / "trace"
    proj = _project(tmp_path, ["import os, pathlib, time\n"
                               "pathlib.Path(os.environ['PROBE_MARKER']).write_text('x')\n"
                               "time.sleep(wait)"])
    before = (proj / "data" / "raw" / "panel.csv").stat().st_mtime_ns
    env = {"PROBE_MARKER": str(marker), "REPLICATION_RUNNER_TRACE": str(trace)}
    if PHASES[phase]:
        env["REPLICATION_RUNNER_PAUSE"] = PHASES[phase]
    proc = _run(proj, "-p", f"wait={0 if phase == 'swap' else 120}", env=env)

    def traced():
        return trace.read_text().split() if trace.exists() else []

    expected = PHASES[phase] or "execute"
    _wait_for(lambda: expected in traced(), f"phase {expected}", proc)
    if phase == "execute":
        _wait_for(marker.exists, "the notebook's first cell", proc)
    proc.send_signal(sig)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 30, "the interrupt must stop the run promptly"
    assert traced()[-1] == expected, f"the signal landed in {traced()[-1]}, not in {expected}"
    assert proc.returncode == 128 + sig, (proc.returncode, out, err)
    assert "interrupted; previous outputs left intact" in err
    assert "Traceback" not in err
    assert (proj / "book" / "chapters" / "previous.txt").read_text() == "the previous book"
    assert sorted(p.name for p in (proj / "book" / "chapters").iterdir()) == ["previous.txt"]
    assert not list((proj / "book").glob(".staging-*")) and not list((proj / "book").glob(".old-chapters-*"))
    assert (proj / "data" / "raw" / "panel.csv").stat().st_mtime_ns == before
    assert (proj / "data" / "raw" / "panel.csv").read_text() == "user data"
    assert not _processes_working_in(proj), "a notebook process or kernel outlived the run"


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_sigterm_right_after_the_start_leaves_nothing_behind(tmp_path):
    """Before the runner's handler is installed SIGTERM ends the process (nothing was made yet);
    after, the runner unwinds.  Either way: non-zero, no traceback, nothing left behind."""
    proj = _project(tmp_path, ["x = 1"])
    for _ in range(3):
        proc = _run(proj)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM), (proc.returncode, err)
        assert "Traceback" not in err
        assert sorted(p.name for p in (proj / "book" / "chapters").iterdir()) == ["previous.txt"]
        assert not list((proj / "book").glob(".staging-*"))


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_successful_run_swaps_in_the_new_chapters(tmp_path):
    proj = _project(tmp_path, ["y = 2"])
    proc = _run(proj)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (proj / "book" / "chapters" / "98_probe.ipynb").exists()
    assert (proj / "book" / "chapters" / "outputs" / "run_summary.csv").exists()
    assert not list((proj / "book").glob(".staging-*")) and not list((proj / "book").glob(".old-chapters-*"))


# ---------------------------------------------------------------------------------------
# property tests

SHIFT = 1e-4  # entropy_index's default shift (all five columns below have direction +)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def base(panel):
    from replication.data.index import add_index

    return add_index(panel)


@SETTINGS
@given(n_cities=st.integers(30, 120), first=st.integers(2009, 2011), length=st.integers(4, 10),
       seed=st.integers(0, 10_000))
def test_any_valid_subpanel_loads_and_keeps_its_size(base, n_cities, first, length, seed):
    """Valid = any cities, any span that starts before the first pilot batch (2012): a span
    with no pre-pilot year is rejected by design (test_validate)."""
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
    from replication.estimators.did import twfe

    a = twfe(base, "nqp")
    b = twfe(base.sample(frac=1, random_state=seed), "nqp")
    pd.testing.assert_series_equal(a.params, b.params, atol=1e-10, rtol=0)
    pd.testing.assert_series_equal(a.std_errors, b.std_errors, atol=1e-10, rtol=0)


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3), col=st.sampled_from(["patents", "ai_firms",
                                                                                      "avg_wage", "urb"]))
def test_entropy_weights_are_a_probability_vector_invariant_to_rescaling(base, seed, scale, col):
    from replication.data.index import entropy_index

    sub = base.sample(n=500, random_state=seed)
    cols = ["patents", "ai_firms", "avg_wage", "urb", "mobile_users"]
    w = entropy_index(sub, cols).weights
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    # the weights are the textbook entropy weights, computed here by hand with numpy
    X = sub[cols].to_numpy(float)
    Z = (X - X.min(0)) / (X.max(0) - X.min(0)) + SHIFT
    P = Z / Z.sum(0)
    d = 1 + (P * np.log(P)).sum(0) / np.log(len(X))
    np.testing.assert_allclose(w.to_numpy(), d / d.sum(), rtol=1e-10, atol=1e-14)
    w2 = entropy_index(sub.assign(**{col: sub[col] * scale}), cols).weights
    pd.testing.assert_series_equal(w, w2, atol=1e-9, rtol=0)


# ---------------------------------------------------------------------------------------
# degenerate analysis cases: a clear message, never a crash deep inside a library

def test_degenerate_cases_have_clear_messages(base):
    from replication.estimators import did, heterogeneity, placebo, psm, threshold

    with pytest.raises(ValueError, match="collinear"):
        did.twfe(base.assign(pd2=base["pd"] + 0.0), "nqp", "did", ["pd", "pd2"])
    from replication.report.specs import add_groups

    g = add_groups(base)
    no_treated = g[~((g["size"] == "large") & (g["treat"] == 1))]
    s = heterogeneity.subgroups(no_treated, "size").table().set_index("group")
    assert np.isnan(s.loc["large", "estimate"]) and "too few" in s.loc["large", "note"]
    with pytest.raises(ValueError, match="no candidate"):
        threshold.fit_panel_threshold(base, "nqp", "did", "isu", [], n_draws=0, trim=0.5)
    with pytest.raises(ValueError, match="common support"):
        psm.match(np.array([0.9, 0.95, 0.1, 0.2]), np.array([True, True, False, False]))
    with pytest.raises(ValueError, match="scheme"):
        placebo.permutation_test(base, n_draws=2, scheme="everything")
    with pytest.raises(ValueError, match="no variation"):
        psm.propensity(base.assign(treat=1))
    with pytest.raises(KeyError, match="not in the panel"):
        did.twfe(base, "nqp", "did", ["nonexistent"])
