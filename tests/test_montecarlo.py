"""The Monte Carlo study (replication.montecarlo): seeds, options, the book's estimators inside a
replication, the summary against a hand computation, determinism across processes, the cache,
the command line's errors, the calibrations; and (slow) 500-replication checks of coverage and
of the placebo test's size."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from replication.montecarlo import StudyError, StudyOptions, run_study, summarise
from replication.montecarlo.draws import draw, panel_seed
from replication.montecarlo.options import derive_seed, parse_dgp
from replication.montecarlo.replicate import run_block

CHEAP = dict(n_placebo=19, n_boot=2, n_boot_imputation=9)


# --- seeds, options ---------------------------------------------------------------------

def test_seeds_are_derived_from_seed_and_replication_only():
    assert derive_seed(7, 1, 3) == derive_seed(7, 1, 3)
    seeds = {derive_seed(7, 1, r) for r in range(200)} | {derive_seed(7, 2, r) for r in range(200)}
    assert len(seeds) == 400  # distinct panels and resampling streams
    assert derive_seed(8, 1, 3) != derive_seed(7, 1, 3)


@pytest.mark.parametrize("kw, message", [
    (dict(reps=0), "--reps 0: must be an integer >= 1"),
    (dict(dgp={"nonsense": 1}), "--dgp nonsense: unknown option of the simulator"),
    (dict(dgp=["effect_scale=abc"]), "--dgp effect_scale='abc': expected a number"),
    (dict(dgp=["effect_scale"]), "expected key=value"),
    (dict(dgp=["noise_scale=-1"]), "the simulator rejects the options"),
    (dict(calibration="other"), "--calibration 'other': unknown"),
    (dict(estimators=("twfe", "x")), "unknown; choose 'full', 'linear'"),
])
def test_bad_options_are_one_clear_message(kw, message):
    with pytest.raises(StudyError) as e:
        StudyOptions.make(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_dgp_values_are_read_as_yaml_and_typed():
    assert parse_dgp(["effect_scale=0", "batch_sizes=[30, 30, 30]", "pretrend=0.05"]) == {
        "effect_scale": 0.0, "batch_sizes": (30, 30, 30), "pretrend": 0.05}


def test_the_key_ignores_the_number_of_replications_only():
    a = StudyOptions.make(reps=5, estimators="linear")
    assert a.key() == StudyOptions.make(reps=50, estimators="linear").key()
    assert a.key() != StudyOptions.make(reps=5, estimators="linear", null=True).key()
    assert a.key() != StudyOptions.make(reps=5, estimators="linear", dgp=["pretrend=0.01"]).key()


def test_the_key_changes_with_the_code_that_computes_the_rows(monkeypatch):
    """Cached rows are never reused after the estimators, the simulator or the study code changed."""
    from replication.montecarlo import options

    before = StudyOptions.make(reps=5, estimators="linear").key()
    fp = options.code_fingerprint()
    assert len(fp) == 64 and fp == options.code_fingerprint()
    monkeypatch.setattr(options, "_FINGERPRINT", [fp[::-1]])  # as if a source file had changed
    assert StudyOptions.make(reps=5, estimators="linear").key() != before


def test_null_and_effect_factor_options():
    o = StudyOptions.make(reps=1, calibration="paper", estimators="linear")
    null = StudyOptions.make(reps=1, calibration="paper", estimators="linear", null=True).dgp_options()
    assert null["effect_scale"] == null["a_hc"] == null["a_st"] == 0.0
    from dataclasses import asdict

    from replication.data.dgp import DGP

    base = {**asdict(DGP()), **o.dgp_options()}
    half = o.with_effect(0.5).dgp_options()
    for k in ("effect_scale", "a_hc", "a_st"):
        assert half[k] == pytest.approx(0.5 * base[k])


# --- one replication is the book ---------------------------------------------------------

def test_a_replication_loads_its_panel_as_the_book_does():
    from replication.data import load_analysis_panel

    o = StudyOptions.make(reps=1, estimators="linear")
    d = draw(o, 0)
    book = load_analysis_panel(seed=panel_seed(o, 0))
    pd.testing.assert_frame_equal(d.panel.reset_index(drop=True), book.panel.reset_index(drop=True))
    assert d.truth["att"] == book.truth["att"]


def test_a_fixed_design_keeps_cities_controls_and_pilots_and_redraws_outcomes():
    o = StudyOptions.make(reps=2, estimators="linear", fixed_design=True)
    a, b = draw(o, 0).panel, draw(o, 1).panel
    for c in ("city_code", "year", "pilot_year", "did", "pd", "pergdp", "urb", "gov", "loi", "isu"):
        pd.testing.assert_series_equal(a[c], b[c])
    assert not np.allclose(a["nqp"], b["nqp"])


def test_every_estimator_of_a_replication_equals_the_books_function():
    """The study runs the book's specifications (replication.report.specs) on each panel."""
    from replication.data import load_analysis_panel
    from replication.montecarlo.estimators import ESTIMATORS
    from replication.report import specs

    panel = load_analysis_panel().panel
    o = StudyOptions.make(reps=1, **CHEAP)
    rows = {}
    for name, fn in ESTIMATORS.items():
        for r in fn(panel, {}, o, 11):
            rows[(r["estimator"], r["estimand"])] = r
    t3, _ = specs.table3(panel)
    med = specs.mechanisms(panel)
    t7 = specs.table7(panel)
    th = specs.threshold_model(panel, max_thresholds=2, n_draws=2, seed=11)
    expect = {("twfe_controls", "att"): specs.table2(panel)["(5)"].params["did"],
              ("twfe_nocontrols", "att"): specs.staggered_estimators(panel, n_draws=0)["TWFE without controls"].params["did"],
              ("sun_abraham", "att"): specs.sun_abraham(panel).att.params["ATT"],
              ("imputation", "att"): specs.imputation(panel, n_draws=9, seed=11).params["ATT"],
              ("cs_or_controls", "att"): specs.callaway_santanna(panel).att.params["ATT"],
              ("psm_did", "att"): t3["(3b)"].params["did"],
              ("mediation", "indirect_hc"): med["hc"].indirect, ("mediation", "a_st"): med["st"].a,
              ("subgroups", "att_region_west"): t7["region"].params["west"],
              ("subgroups", "att_size_large"): t7["size"].params["large"],
              ("threshold", "threshold_1"): th.thresholds.query("model == 2")["estimate"].min(),
              ("threshold_F", "no threshold (0 against 1)"): th.tests[1].statistic,
              ("placebo_ri", "no effect (sharp null)"): specs.figure1(panel, n_draws=19, seed=11).statistic,
              ("pretrend_wald", "parallel pre-trends (leads zero)"): specs.event_study(panel).pretrend.statistic}
    for key, value in expect.items():
        assert rows[key]["estimate"] == pytest.approx(value, rel=1e-10, abs=1e-12), key
    assert rows[("imputation", "att")]["se"] == pytest.approx(specs.imputation(panel, n_draws=9, seed=11).std_errors["ATT"])
    assert rows[("placebo_ri", "no effect (sharp null)")]["pvalue"] == specs.figure1(panel, n_draws=19, seed=11).pvalue


def test_batched_rows_equal_looped_rows_on_a_fixed_design():
    """Every estimator of the full set, through the study's own plumbing (the batch classes'
    own tests compare them more widely)."""
    from replication.montecarlo.replicate import BATCHES

    o = StudyOptions.make(reps=3, estimators="full", fixed_design=True, n_boot_imputation=9, n_placebo=9, n_boot=3)
    b = run_block(o, [0, 1, 2]).set_index(["rep", "estimator", "estimand"])
    lo = run_block(o, [0, 1, 2], batch=False).set_index(["rep", "estimator", "estimand"])
    batched_ids = {n for cls in BATCHES for n in cls.names}
    assert set(b.loc[b.index.get_level_values("estimator").isin(batched_ids), "path"]) == {"batched"}
    assert (b["note"] == "").all()
    assert set(lo.loc[lo["kind"] == "estimate", "path"]) == {"looped"}
    assert list(b.index) == list(lo.index)  # the same rows in the same order
    for col in ("estimate", "se", "truth", "lower", "upper", "pvalue"):  # imputation: percentile intervals
        np.testing.assert_allclose(b[col].to_numpy(float), lo[col].to_numpy(float), rtol=1e-10, atol=1e-10)


# --- the summary, against a hand computation -----------------------------------------

def _rows(est, se, lo, hi, p, truth, estimator="x", estimand="att", kind="estimate"):
    n = len(est)
    return pd.DataFrame({"rep": range(n), "estimator": estimator, "estimand": estimand, "kind": kind,
                         "estimate": est, "se": se, "lower": lo, "upper": hi, "pvalue": p, "truth": truth})


def test_the_summary_equals_a_hand_computation():
    est = np.array([1.0, 2.0, 4.0, np.nan])
    truth = np.array([1.5, 1.5, 2.5, 2.0])
    rows = _rows(est, [1.0, 1.0, 2.0, 1.0], est - 1, est + 1, [0.01, 0.2, 0.05, 0.5], truth)
    s = summarise(rows, alpha=0.05).set_index("target")
    real, pop = s.loc["realised"], s.loc["population"]
    err = est[:3] - truth[:3]
    assert real["reps"] == 3 and real["bias"] == pytest.approx(err.mean())
    assert real["rmse"] == pytest.approx(np.sqrt((err ** 2).mean()))
    assert real["sd_estimate"] == pytest.approx(np.std(est[:3], ddof=1))
    assert real["mean_se"] == pytest.approx(4 / 3)
    assert real["coverage"] == pytest.approx(2 / 3)  # |err| <= 1 in replications 0 and 1 only
    assert real["rejection_rate"] == pytest.approx(2 / 3)  # p <= 0.05: 0.01 and 0.05
    assert real["mcse_coverage"] == pytest.approx(np.sqrt(2 / 3 * 1 / 3 / 3))
    assert real["mcse_bias"] == pytest.approx(np.std(err, ddof=1) / np.sqrt(3))
    assert real["sd_error"] == pytest.approx(np.std(err, ddof=1))
    m = truth.mean()  # the population target: every replication's realised value
    assert real["truth_mean"] == pop["truth_mean"] == pytest.approx(m)
    assert pop["bias"] == pytest.approx(est[:3].mean() - m)
    assert pop["coverage"] == pytest.approx(np.mean(np.abs(est[:3] - m) <= 1))


def test_a_constant_truth_is_planted_and_a_test_has_no_target():
    planted = _rows([0.5, 0.7], [0.1, 0.1], [0.3, 0.6], [0.7, 0.8], [0.0, 0.0], [0.55, 0.55], estimand="threshold_1")
    test = _rows([3.0, 1.0], np.nan, np.nan, np.nan, [0.01, 0.5], np.nan, estimator="t", estimand="h0", kind="test")
    s = summarise(pd.concat([planted, test])).set_index("estimator")
    assert s.loc["x", "target"] == "planted" and s.loc["t", "target"] == "none"
    assert s.loc["x", "coverage"] == 0.5 and s.loc["t", "rejection_rate"] == 0.5 and np.isnan(s.loc["t", "coverage"])


# --- determinism, cache ----------------------------------------------------------------

@pytest.mark.slow  # starts worker processes (~20 s on 2 cores)
def test_results_do_not_depend_on_the_number_of_processes():
    o = StudyOptions.make(reps=12, estimators=("twfe_controls", "cs_or"), fixed_design=True)
    one, two = run_study(o, jobs=1), run_study(o, jobs=2)
    pd.testing.assert_frame_equal(one.per_rep, two.per_rep)
    pd.testing.assert_frame_equal(one.summary, two.summary)


def test_the_cache_resumes_and_skips_done_replications(tmp_path):
    small = StudyOptions.make(reps=4, estimators=("twfe_controls",))
    first = run_study(small, cache_dir=tmp_path)
    assert first.computed == 4 and len(list(tmp_path.rglob("rep_*.parquet"))) == 4
    more = run_study(StudyOptions.make(reps=7, estimators=("twfe_controls",)), cache_dir=tmp_path)
    assert more.computed == 3
    fresh = run_study(StudyOptions.make(reps=7, estimators=("twfe_controls",)))
    pd.testing.assert_frame_equal(more.per_rep, fresh.per_rep)
    again = run_study(small, cache_dir=tmp_path)
    assert again.computed == 0
    pd.testing.assert_frame_equal(again.per_rep, first.per_rep)


def test_an_estimator_failure_is_counted_not_fatal(monkeypatch):
    from replication.montecarlo import estimators, replicate

    def broken(*a):
        raise np.linalg.LinAlgError("singular matrix")
    monkeypatch.setitem(estimators.ESTIMATORS, "twfe_nocontrols", broken)
    monkeypatch.setattr(replicate, "BATCHES", ())  # the loop's failure rows (a failing batch: test below)
    res = run_study(StudyOptions.make(reps=2, estimators=("twfe_controls", "twfe_nocontrols")))
    assert "LinAlgError: singular matrix" in set(res.per_rep["note"])
    assert res.summary.set_index("estimator").loc["twfe_controls", "n_failed"].max() == 0
    assert (res.per_rep["kind"] == "failure").sum() == 2


# --- the command line -----------------------------------------------------------------

def _cli(tmp_path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "replication", "montecarlo", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, message", [
    (["--reps", "0"], "--reps 0: must be an integer >= 1"),
    (["--reps", "x"], "--reps 'x': must be an integer"),
    (["--reps", "2", "--dgp", "nonsense=1"], "--dgp nonsense: unknown option"),
    (["--reps", "2", "--dgp", "effect_scale=big"], "expected a number"),
    (["--reps", "2", "--jobs", "0"], "--jobs 0"),
    (["--reps", "2", "--calibration", "mine"], "--calibration 'mine'"),
])
def test_cli_errors_are_one_line_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, args, message):
    """In process (the command's main function, as ``python -m replication`` calls it): fast."""
    from replication.book.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(["montecarlo", *args, "--out", "res.csv"])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().count("\n") == 0 and message in err, err
    assert not list(tmp_path.iterdir()), "nothing may be written"


def test_the_cli_error_path_is_the_same_in_a_process_of_its_own(tmp_path):
    r = _cli(tmp_path, "--reps", "0", "--out", "res.csv")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--reps 0" in r.stderr, r.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # waits for a connection timeout
def test_cli_unreachable_scheduler(tmp_path):
    r = _cli(tmp_path, "--reps", "2", "--estimators", "linear", "--scheduler", "tcp://127.0.0.1:9", "--out", "r.csv",
             env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert r.returncode == 2 and "cannot reach a Dask scheduler" in r.stderr, r.stderr
    assert not (tmp_path / "r.csv").exists() and not (tmp_path / "r_reps.parquet").exists()


def test_cli_writes_the_summary_and_the_replications(tmp_path):
    r = _cli(tmp_path, "--reps", "3", "--estimators", "linear", "--fixed-design", "--n-boot-imputation", "9",
             "--no-progress", "--out", "out/res.csv")
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(tmp_path / "out/res.csv")
    assert list(s.columns[:4]) == ["estimator", "estimand", "target", "reps"]
    for c in ("truth_mean", "bias", "rmse", "sd_estimate", "mean_se", "coverage", "rejection_rate"):
        assert c in s.columns
    reps = pd.read_parquet(tmp_path / "out/res_reps.parquet")
    assert sorted(reps["rep"].unique()) == [0, 1, 2]
    assert list((tmp_path / "out/.montecarlo_cache").glob("*/rep_000002.parquet"))


# --- calibrations -----------------------------------------------------------------------

def test_the_paper_calibration_targets_are_the_papers_numbers():
    from replication.data.calibration import PAPER_A_HC, PAPER_TARGETS, PAPER_THRESHOLDS, calibration_table
    from replication.report import paper

    t2, t7 = paper.table(2), paper.table(7)
    did5 = t2[(t2["row"] == "did") & (t2["column"] == "(5)")].iloc[0]
    assert PAPER_TARGETS["att"] == did5["estimate"] and PAPER_TARGETS["se"] == pytest.approx(0.184 / did5["paren"])
    for g in ("east", "west", "central"):
        assert PAPER_TARGETS[f"att_region_{g}"] == t7[(t7["row"] == "did") & (t7["column"] == g)]["estimate"].item()
    for g in ("large", "small_medium"):
        assert PAPER_TARGETS[f"att_size_{g}"] == t7[(t7["row"] == "did") & (t7["column"] == g)]["estimate"].item()
    assert list(PAPER_THRESHOLDS) == paper.raw()["text"]["thresholds"]
    t4 = paper.table(4)
    assert PAPER_A_HC == t4[(t4["row"] == "did") & (t4["column"] == "(2)")]["estimate"].item()
    table = calibration_table("paper")
    assert list(table.columns) == ["name", "value", "default", "matches"]
    assert {"effect_scale", "effect_noise", "thresholds", "a_hc"} <= set(table["name"])
    assert (table["value"] != table["default"]).all() and (table["matches"] != "").all()
    assert calibration_table("default").empty


def test_the_paper_calibration_achieves_its_targets():
    """On fresh panels (other seeds than the fit's): the ATT within 0.03 of 0.184 and column
    (5)'s t of the planted ATT between 2.3 and 3.6 (the paper's 2.911)."""
    from replication.montecarlo.calibrate import calibration_check

    c = calibration_check("paper", reps=6).set_index("target")
    assert abs(c.loc["att", "achieved"] - 0.184) < 0.03, c
    assert 2.3 < c.loc["t", "achieved"] < 3.6, c


# --- slow: 500 replications -----------------------------------------------------------

@pytest.mark.slow
def test_placebo_test_size_under_the_null_over_500_replications():
    """With the pilots assigned at random (selection_strength 0) and redrawn in every
    replication, and no effect, the placebo randomisation test is exact: with 19 draws its
    p-values are multiples of 1/20 and p <= 0.05 has size 5 %.  Its rejection rate over 500
    replications lies within 3 Monte Carlo standard errors of 5 %.  (With the simulator's
    selection on observables it rejects far more often: the chapter shows why.)"""
    null = run_study(StudyOptions.make(reps=500, null=True, dgp={"selection_strength": 0.0}, n_placebo=19,
                                       estimators=("placebo_ri",)), jobs=2)
    ri = null.row("placebo_ri", "no effect (sharp null)")
    assert ri["reps"] == 500
    assert abs(ri["rejection_rate"] - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / 500), ri


@pytest.mark.slow
def test_coverage_of_column_5_over_500_replications():
    """Column (5) is correctly specified when the pilots are assigned at random and the effect
    is static (selection_strength 0, dynamic_growth 0; effects still differ across cities),
    design redrawn, 500 replications:

    * it is unbiased for the population ATT (the mean ATT over the replications) within 3 MC SE;
    * its 95 % intervals cover the realised ATT of each panel at least as often as nominal
      minus 3 MC SE (they are conservative there: the estimate follows its panel's ATT more
      closely than the clustered SE says, sd_error < mean_se);
    * against the population ATT they fall short of 95 % only if the SE is smaller than the
      spread of the estimate across panels (the ATT in index points itself varies from panel
      to panel: the cities' effects are redrawn and the index is refitted on each panel).
    """
    res = run_study(StudyOptions.make(reps=500, dgp={"selection_strength": 0.0, "dynamic_growth": 0.0},
                                      estimators=("twfe_controls",)), jobs=2)
    band = 3 * np.sqrt(0.05 * 0.95 / 500)
    pop, real = res.row("twfe_controls", "att", "population"), res.row("twfe_controls", "att", "realised")
    assert abs(pop["bias"]) <= 3 * pop["mcse_bias"], pop
    assert real["coverage"] >= 0.95 - band and real["sd_error"] < real["mean_se"], real
    if pop["coverage"] < 0.95 - band:
        assert pop["mean_se"] < pop["sd_estimate"], pop
    else:
        assert abs(pop["coverage"] - 0.95) <= band, pop


@pytest.mark.slow
def test_fixed_design_intervals_are_conservative_against_the_realised_att():
    """The explanation chapter 10 gives for over-coverage, checked on the fixed design (the
    batched path, 200 replications of the default calibration): every linear estimator's mean
    SE exceeds the spread of its estimate around the realised ATT (the estimate follows the
    realised ATT, the SE also counts the variation of the ATT itself), and the imputation
    estimator's intervals cover the realised ATT at least as often as nominal - 3 MC SE."""
    res = run_study(StudyOptions.make(reps=200, fixed_design=True, n_boot_imputation=49, estimators="linear"), jobs=2)
    for est in ("twfe_controls", "twfe_nocontrols", "sun_abraham", "imputation", "cs_or"):
        r = res.row(est, "att", "realised")
        assert r["mean_se"] > r["sd_error"], r
    imp = res.row("imputation", "att", "realised")
    assert imp["coverage"] >= 0.95 - 3 * np.sqrt(0.05 * 0.95 / 200), imp


def test_batched_rows_equal_looped_rows_on_a_redrawn_design():
    """With the design redrawn, the batched code runs on each replication's own design: the
    same rows as the loop (estimates, SEs, intervals, p-values), in the same order."""
    from replication.montecarlo.replicate import BATCHES

    o = StudyOptions.make(reps=2, estimators="full", n_boot_imputation=9, n_placebo=9, n_boot=3)
    b = run_block(o, [0, 1])
    lo = run_block(o, [0, 1], batch=False)
    per_rep = {n for cls in BATCHES if getattr(cls, "redrawn", False) for n in cls.names}
    assert per_rep >= {"twfe_controls", "cs_or_controls", "threshold", "placebo_ri"}
    assert set(b.loc[b["estimator"].isin(per_rep), "path"]) == {"batched"} and (b["note"] == "").all()
    assert list(b[["rep", "estimator", "estimand"]].itertuples(index=False)) == \
        list(lo[["rep", "estimator", "estimand"]].itertuples(index=False))
    for col in ("estimate", "se", "truth", "lower", "upper", "pvalue"):
        np.testing.assert_allclose(b[col].to_numpy(float), lo[col].to_numpy(float), rtol=1e-10, atol=1e-10)


def test_a_failing_batch_falls_back_to_the_loop_and_says_why(monkeypatch):
    from replication.montecarlo import replicate

    class Broken:
        names, outcomes = ("twfe_controls",), ("nqp",)

        def __init__(self, design, options):
            raise ValueError("cannot handle this design")

    monkeypatch.setattr(replicate, "BATCHES", (Broken,))
    o = StudyOptions.make(reps=2, estimators=("twfe_controls",), fixed_design=True)
    rows = run_block(o, [0, 1])
    est = rows[rows["estimator"] == "twfe_controls"]
    assert len(est) == 2 and set(est["path"]) == {"looped"} and est["estimate"].notna().all()
    assert est["note"].str.contains("batched path failed (ValueError: cannot handle this design)", regex=False).all()
