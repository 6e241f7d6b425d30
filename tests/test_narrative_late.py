"""The computed sentences of chapters 6-8 (replication.report.narrative_late and
narrative_staggered): each verdict follows its numbers, both ways, and the phrases shown on a
user's panel never speak of the simulator.  Small made-up inputs where the answer is known
by hand; the default panel where a phrase rests on an estimator (checked against the
estimator itself or the simulator's own truth)."""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from replication.estimators.api import HonestDiDResult
from replication.report import narrative_late as nl
from replication.report import narrative_staggered as ns

# the words test_real_data.py forbids on a user's panel
SIMULATOR_WORDS = re.compile(r"simulat|semi-synthetic|synthetic|planted|truth|true ATT|true effect|true threshold|"
                             r"true group|data-generating|default data|\bDGP\b", re.IGNORECASE)


def _test(stat, p, n=0, df=(2, 100)):
    return SimpleNamespace(statistic=stat, pvalue=p, n_draws=n, df=df)


# --- chapter 6 ---------------------------------------------------------------------------

def test_supported_thresholds_stop_at_the_first_non_rejection():
    assert nl.supported_thresholds([0.0033, 0.02, 0.61]) == 2
    assert nl.supported_thresholds([0.2, 0.001, 0.001]) == 0
    assert nl.supported_thresholds([0.001, 0.001, 0.049]) == 3
    paper_t5 = pd.DataFrame({"p": [0.0033, 0.02, 0.61]})
    same = SimpleNamespace(tests={1: _test(9, 0.0), 2: _test(9, 0.01), 3: _test(1, 0.4)})
    fewer = SimpleNamespace(tests={1: _test(9, 0.0), 2: _test(1, 0.3), 3: _test(1, 0.4)})
    assert "the same number as ours" in nl.thresholds_vs_paper(same, paper_t5)
    assert "more than our 1" in nl.thresholds_vs_paper(fewer, paper_t5)


def _threshold_result(lower, upper):
    grid = np.array([0.50, 0.52, 0.54, 0.56, 1.28, 1.31, 1.33])
    lr = pd.DataFrame({"gamma": grid, "LR": 1.0})
    th = pd.DataFrame({"name": ["Th-1", "Th-21", "Th-22"], "estimate": [0.54, 0.54, 1.31],
                       "lower": lower, "upper": upper})
    return SimpleNamespace(thresholds=th, lr={"Th-1": lr, "Th-21": lr, "Th-22": lr})


def test_threshold_coverage_names_the_candidates_around_a_missed_truth():
    truth = {"threshold_1": 0.55, "threshold_2": 1.30}
    missed = nl.threshold_coverage(_threshold_result([0.54, 0.54, 1.31], [0.54, 0.54, 1.33]), truth)
    assert missed.startswith("0 of 3 confidence sets contain the true threshold")
    assert "the set of Th-1 and Th-21, [0.5400, 0.5400], misses the true 0.55" in missed
    assert "between the candidates 0.5400 and 0.5600" in missed and "between the candidates 1.2800 and 1.3100" in missed
    covered = nl.threshold_coverage(_threshold_result([0.52, 0.52, 1.28], [0.56, 0.56, 1.33]), truth)
    assert covered == "all 3 confidence sets contain the true threshold"


def test_the_threshold_variable_share_that_changes_regime():
    """The share of treated city-years whose regime changes when the pilot's effect on isu is
    taken out, counted by hand; the verdict follows the p-values."""
    panel = pd.DataFrame({"city_code": [1, 1, 2, 2], "isu": [0.50, 0.60, 1.25, 1.40], "did": [1, 1, 1, 0]})
    fit = lambda b, p: SimpleNamespace(params={"did": b}, pvalues={"did": p},
                                       conf_int=lambda: pd.DataFrame({"lower": [b - 0.1], "upper": [b + 0.1]},
                                                                     index=["did"]))
    # isu - 0.08: 0.50 -> 0.42 (regime 0 stays), 0.60 -> 0.52 (1 -> 0), 1.25 -> 1.17 (stays): 1 of 3
    text = nl.threshold_variable_text({"a": fit(0.08, 0.01), "b": fit(0.02, 0.4)}, panel, (0.55, 1.30))
    assert "33.3 % of their city-years" in text and "significant at 5 %" in text
    assert "regime is partly an outcome of the pilot" in text
    calm = nl.threshold_variable_text({"a": fit(0.001, 0.6)}, panel, (0.55, 1.30))
    assert "0.0 % of their city-years" in calm and "Neither estimate is significant" in calm
    assert nl.threshold_variable_truth({"a": fit(0.001, 0.6)}) == "neither estimate is significant, as it should be"
    assert "significant nonetheless" in nl.threshold_variable_truth({"a": fit(0.08, 0.01)})


def test_estimates_moved_marks_the_unchanged():
    assert nl.estimates_moved([0.5497, 1.3228], [0.5497, 1.3178], ["Th-1", "Th-22"]) == \
        "Th-1 0.5497 → 0.5497 (unchanged) and Th-22 1.3228 → 1.3178"


# --- chapter 7 ---------------------------------------------------------------------------

def test_adjusted_p_values_are_holm_and_bonferroni():
    """Holm's step-down and Bonferroni by hand on four p-values."""
    groups = pd.DataFrame({"split": ["size", "size"], "group": ["large", "small_medium"], "p": [0.04, 0.001]})
    tests = pd.DataFrame({"split": ["size"], "Wald p": [0.01], "gap": ["small_medium - large"],
                          "randomisation p": [0.03]})
    mt = nl.chapter_tests(groups, tests)
    assert list(mt["test"]) == ["size: did = 0 in large", "size: did = 0 in small & medium",
                                "size: equal effects (Wald)", "size: gap small & medium - large (randomisation)"]
    assert np.allclose(mt["p Bonferroni"], [0.16, 0.004, 0.04, 0.12])
    # sorted 0.001, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.004, 0.03, 0.06, 0.04 -> running max 0.004, 0.03, 0.06, 0.06
    assert np.allclose(mt["p Holm"], [0.06, 0.004, 0.03, 0.06])
    # and statsmodels' implementation on random p-values with ties
    from statsmodels.stats.multitest import multipletests

    p = np.r_[np.random.default_rng(1).uniform(0, 0.2, 11), 0.05, 0.05]
    many = nl.chapter_tests(pd.DataFrame({"split": "s", "group": list("abcdefghijklm"), "p": p}), tests.iloc[:0])
    for method, col in (("holm", "p Holm"), ("bonferroni", "p Bonferroni")):
        assert np.allclose(many[col], multipletests(p, method=method)[1], rtol=0, atol=1e-15)
    text = nl.multiple_tests_text(mt, n_perm=100)
    assert "reports 4 tests" in text and "one by one: 4 of 4" in text and "Holm's correction: 2" in text
    assert "Bonferroni's (each p at most 0.05/4 = 0.0125): 2" in text
    assert "1/(B+1) = 0.0099, below the Bonferroni threshold" in text


def test_the_fewest_permutations_that_can_pass_bonferroni():
    for m in (1, 2, 9, 20):
        b = nl.min_permutations(m)
        assert 1 / (b + 1) <= 0.05 / m < 1 / b
    assert nl.min_permutations(9) == 179
    assert "cannot pass it" in nl.permutation_floor_text(1 / 101, 100, 9) and "B ≥ 179" in nl.permutation_floor_text(
        1 / 101, 100, 9)
    assert nl.permutation_floor_text(1 / 501, 500, 9).endswith("can pass it with this many permutations, and does")
    assert nl.permutation_floor_text(0.03, 500, 9).endswith("and does not")


def test_difference_tests_say_when_p_is_at_the_floor():
    tests = pd.DataFrame({"split": ["region"], "Wald p": [0.2], "gap": ["west - east"], "randomisation p": [1 / 501]})
    text = nl.difference_tests_text(tests, 500)
    assert text.startswith("Equal effects across the region groups are not rejected at 5 % (Wald p = 0.200)")
    assert "the smallest value 500 permutations allow" in text
    assert "smallest value" not in nl.difference_tests_text(tests.assign(**{"randomisation p": 0.04}), 500)


def test_group_precision_and_coverage_counts():
    g = pd.DataFrame({"split": ["region4"] * 3, "group": ["east", "west", "northeast"], "treated cities": [40, 18, 3],
                      "coef": [0.1, 0.4, np.nan], "ci_lower": [0.0, 0.1, np.nan], "ci_upper": [0.2, 0.7, np.nan],
                      "truth": [0.05, 0.8, np.nan]})
    text = nl.group_precision_text(g, "region4")
    assert text.startswith("treated cities: east 40, west 18 and northeast 3")
    assert "widest 95 % interval is the west group's ([0.100, 0.700], width 0.600, against 0.200" in text
    assert text.endswith("without an estimate: northeast")
    assert nl.truth_coverage(g) == "our 95 % intervals contain the true effect in 1 of 2 groups"


@pytest.fixture(scope="module")
def default():
    from replication.book.chapter import load

    return load(20251206, "", 2009, 2022)


def test_gap_pvalue_is_what_a_run_with_fewer_permutations_gives(default):
    from replication.report import specs

    long = specs.table7_tests(default.panel, n_draws=150, seed=3)["size"][1]
    short = specs.table7_tests(default.panel, n_draws=100, seed=3)["size"][1]
    assert nl.gap_pvalue(long, 100) == pytest.approx(short.pvalue, abs=0)
    with pytest.raises(ValueError, match="fewer than the 200"):
        nl.gap_pvalue(long, 200)


def test_subgroup_truth_reproduces_the_simulators_groups(default):
    truth = default.sim.truth
    ours = nl.subgroup_truth(truth, default.panel, 1_000_000)
    for key in ("att_region_east", "att_region_central", "att_region_west", "att_size_large", "att_size_small_medium"):
        assert ours[key] == pytest.approx(truth[key], rel=1e-12)
    moved = nl.subgroup_truth(truth, default.panel, 3_000_000)
    assert moved["att_size_large"] != pytest.approx(truth["att_size_large"])
    assert nl.subgroup_truth(None, default.panel, 1_000_000) is None
    # the NBS four regions: each group's mean true effect over its treated city-years, by hand
    cells = truth["cell_effects"].merge(default.panel[["city_code", "region4"]].drop_duplicates(), on="city_code")
    for g, te in cells.groupby("region4")["te"].mean().items():
        assert ours[f"att_region4_{g}"] == pytest.approx(te, rel=1e-12)
    assert {"att_region4_northeast", "att_region4_east"} <= set(ours)


def test_the_four_region_table_carries_the_truth(default):
    from replication.report import specs, tables

    truth = nl.subgroup_truth(default.sim.truth, default.panel, 1_000_000)
    t = tables.subgroup_table(specs.table7(default.panel, region_scheme="region4"), truth)
    r4 = t[t["split"] == "region4"].set_index("group")
    assert r4["truth"].notna().all() and r4.loc["northeast", "truth"] == truth["att_region4_northeast"]


def test_untreated_outcome_is_the_simulators_y0_and_checks_the_rows(default):
    from replication.report import specs

    y0 = specs.untreated_outcome(default.panel, default.sim)
    assert np.array_equal(y0["nqp"].to_numpy(), default.sim.potential["y0_index"])
    backwards = specs.untreated_outcome(default.panel.iloc[::-1], default.sim)
    assert np.array_equal(backwards["nqp"].to_numpy(), default.sim.potential["y0_index"][::-1])
    with pytest.raises(ValueError, match="does not: no Y"):
        specs.untreated_outcome(default.panel.assign(year=default.panel["year"] + 1), default.sim)


# --- chapter 8 ---------------------------------------------------------------------------

def test_pretrend_and_leads():
    assert ns.pretrend_text(_test(4.04, 0.019)) == \
        "F = 4.04 (p = 0.019): the test rejects at 5 % that all leads are zero"
    assert "does not reject" in ns.pretrend_text(_test(1.0, 0.37))
    path = pd.DataFrame({"event_time": [-3, -2, -1, 0], "lower": [-0.2, 0.01, 0.0, 0.1],
                         "upper": [-0.1, 0.3, 0.0, 0.2]})
    assert ns.leads_text({"A": path, "B": path.assign(lower=-1.0, upper=1.0)}) == "A 2 of 2 and B 0 of 2"


def test_design_text_follows_the_simulators_settings():
    assert ns.design_text({"dynamic_growth": 0.08, "pretrend": 0.0}) == (
        "the true effect grows by 8 % per year of exposure by design, and future pilots get no differential "
        "pre-trend (pretrend = 0)")
    assert "does not grow" in ns.design_text({"dynamic_growth": 0, "pretrend": 0.2})
    assert "pre-trend (pretrend = 0.2)" in ns.design_text({"dynamic_growth": 0, "pretrend": 0.2})


def _summary(est, lo, hi, truth=None):
    names = ["TWFE, Table 2 (5)", "TWFE without controls", "CS", "Imputation (BJS)"][:len(est)]
    out = pd.DataFrame({"estimator": names, "estimate": est, "ci_lower": lo, "ci_upper": hi})
    if truth is not None:
        out["truth (ATT)"] = truth
        out["covers"] = [bool(a <= truth <= b) for a, b in zip(lo, hi)]
    return out


def test_controls_against_the_choice_of_estimator():
    more = _summary([0.15, 0.19, 0.12, 0.13], [0.1] * 4, [0.2] * 4)
    assert ns.controls_vs_choice(more).endswith(
        "so here the controls matter more than the choice among these estimators")
    assert "(by -0.040)" in ns.controls_vs_choice(more) and "(a spread of 0.030)" in ns.controls_vs_choice(more)
    less = _summary([0.15, 0.16, 0.05, 0.13], [0.1] * 4, [0.2] * 4)
    assert "matter less than" in ns.controls_vs_choice(less)


def test_estimators_against_the_truth():
    s = _summary([0.15, 0.19, 0.12, 0.13], [0.09, 0.13, 0.05, 0.06], [0.21, 0.24, 0.18, 0.19], truth=0.125)
    assert ns.estimators_truth_text(s) == ("the 95 % intervals of 3 of 4 estimators contain it; not: TWFE without "
                                           "controls (0.190, above it)")
    assert ns.furthest_text(s).startswith("TWFE without controls moves furthest from the true ATT (0.125); distances: "
                                          "TWFE without controls +0.065, TWFE, Table 2 (5) +0.025")


class _Original:
    def __init__(self, lo, hi):
        self.ci = pd.DataFrame({"lower": [lo], "upper": [hi]})

    def conf_int(self, level=0.95):
        return self.ci


def _honest(orig, sd_lower, rm_lower):
    sd = pd.DataFrame({"M": [0.0, 0.01, 0.02], "lower": sd_lower, "upper": 0.5})
    rm = pd.DataFrame({"Mbar": [0.0, 1.0, 2.0], "lower": rm_lower, "upper": 0.5})
    return HonestDiDResult(_Original(*orig), sd, rm, (np.array([0.0]), None, 1, 1), 0.95)


def test_honest_breakdown_says_only_what_the_grid_shows():
    h = _honest((0.05, 0.3), [0.04, 0.01, -0.01], [0.05, 0.03, 0.01])
    text = ns.honest_text(h)
    assert "significantly positive under smoothness up to M = 0.01 (at 0.02 the interval contains zero)" in text
    assert ("at every M\u0304 computed, up to 2 (where it breaks down lies beyond the grid and is not computed "
            "here)") in text
    assert "not even at M = 0" in ns.honest_text(_honest((0.05, 0.3), [-0.1, -0.2, -0.3], [0.05, 0.03, 0.01]))
    assert "already contains zero" in ns.honest_text(_honest((-0.05, 0.3), [0.04, 0.01, -0.01], [0.05, 0.03, 0.01]))
    assert ns.scale_text(h, 0.004) == ("the last M that keeps the effect significant, 0.01, is 2.5 times that change, "
                                       "so it allows bends larger than any change seen before adoption")
    assert ns.scale_text(h, 0.02).endswith("no bend beyond the changes seen before adoption")


def test_untreated_outcome_verdict():
    clean = _summary([0.001, 0.002], [-0.01, -0.01], [0.01, 0.02])
    assert ns.untreated_verdict(_test(1, 0.5), clean).startswith("On Y(0) nothing is detected")
    off = _summary([0.008, 0.003], [0.002, -0.002], [0.014, 0.008])
    assert "grown faster" in ns.untreated_verdict(_test(3, 0.045), off)
    assert "rejects at 5 %" in ns.untreated_text(_test(3, 0.045), off)


def test_first_year_and_window():
    before = pd.DataFrame({"year": [2009, 2010, 2011, 2012], "pilot_year": [2012, 2012, np.nan, np.nan]})
    after = before[before["year"] >= 2011]
    text = ns.first_year_text(before, after, _summary([0.15, 0.19], [0, 0], [1, 1]),
                              _summary([0.12, 0.2], [0, 0], [1, 1]))
    assert text.startswith("the 2012 batch has 1 pre-adoption year instead of 3, and the panel 2 city-years instead "
                           "of 4")
    assert text.endswith("TWFE, Table 2 (5) 0.150 → 0.120 and TWFE without controls 0.190 → 0.200")
    es = lambda s, p, k: SimpleNamespace(pretrend=_test(s, p, df=(k, 284)))
    assert ns.window_text(es(4.0, 0.02, 2), es(1.1, 0.35, 4), "lags = 8", "lags = 5") == (
        "with lags = 5: 4 restrictions, F = 1.10 (p = 0.350): the test does not reject at 5 % that all leads are "
        "zero; with the chapter's lags = 8: 2 restrictions, F = 4.00 (p = 0.020): the test rejects at 5 % that all "
        "leads are zero")


def test_phrases_shown_on_a_users_panel_never_speak_of_the_simulator():
    tests = pd.DataFrame({"split": ["size"], "Wald p": [0.01], "gap": ["small_medium - large"],
                          "randomisation p": [0.03]})
    groups = pd.DataFrame({"split": ["size"], "group": ["large"], "p": [0.2], "treated cities": [50], "coef": [0.1],
                           "ci_lower": [0.0], "ci_upper": [0.2]})
    h = _honest((0.05, 0.3), [0.04, 0.01, -0.01], [0.05, 0.03, 0.01])
    s = _summary([0.15, 0.19, 0.12, 0.13], [0.1] * 4, [0.2] * 4)
    es = SimpleNamespace(pretrend=_test(4.0, 0.02))
    phrases = [nl.difference_tests_text(tests, 500), nl.multiple_tests_text(nl.chapter_tests(groups, tests), 500),
               nl.group_precision_text(groups, "size"), nl.permutation_floor_text(0.03, 100, 3),
               ns.pretrend_text(es.pretrend), ns.controls_vs_choice(s), ns.honest_text(h), ns.scale_text(h, 0.004),
               ns.window_text(es, es, "lags = 8", "lags = 5")]
    for p in phrases:
        assert not SIMULATOR_WORDS.search(p), p


def test_small_branches():
    es = lambda s, p, k: SimpleNamespace(pretrend=_test(s, p, df=(k, 284)))
    assert ns.window_text(es(4.0, 0.02, 2), es(2.8, 0.096, 1), "leads = 3", "leads = 2").startswith(
        "with leads = 2: 1 restriction, F = 2.80")
    panel = pd.DataFrame({"year": [2011, 2012], "pilot_year": [2012, np.nan]})
    same = ns.first_year_text(panel, panel, _summary([0.1], [0], [1]), _summary([0.1], [0], [1]))
    assert same == "the panel already starts in 2011, so nothing changes: TWFE, Table 2 (5) 0.100 → 0.100"


def test_regime_effects_against_the_paper():
    def res(b, p):
        terms = [f"did_regime_{j + 1}" for j in range(3)]
        model = SimpleNamespace(params=pd.Series(b, index=terms), pvalues=pd.Series(p, index=terms))
        return SimpleNamespace(spec={"regime_x": "did"}, model=lambda k: model)

    paper_t6 = pd.DataFrame({"row": ["regime_1", "regime_2", "regime_3"], "estimate": [-0.696, 0.254, 0.78],
                             "stars": [3, 0, 3]})
    up = nl.regime_effects_text(res([-0.1, 0.18, 0.42], [0.001, 0.2, 0.001]), 2, paper_t6)
    assert up == ("Our regime effects (-0.100, 0.180 and 0.420) rise from the lowest to the highest regime; the "
                  "paper's (-0.696, 0.254 and 0.78) rise. Ours have the paper's sign in 3 of 3 regimes and its stars "
                  "in 3 of 3.")
    down = nl.regime_effects_text(res([0.1, -0.2, 0.0], [0.3, 0.5, 0.9]), 2, paper_t6)
    assert "do not rise regime by regime" in down and "sign in 0 of 3" in down and "stars in 1 of 3" in down


def test_pretrend_exercise_text():
    sa = pd.DataFrame({"event_time": [-3, -2, -1, 0], "estimate": [-0.05, -0.02, 0.0, 0.1],
                       "lower": [-0.08, -0.04, 0.0, 0.05], "upper": [-0.02, 0.01, 0.0, 0.15]})
    s = _summary([0.21, 0.12], [0.1, 0.05], [0.3, 0.2], truth=0.126)
    text = ns.pretrend_exercise_text(sa, s, (0.024, 0.122), (0.019, 0.117), 0.07)
    assert text == ("the Sun-Abraham leads run from -0.050 to -0.020, 1 of 2 with a 95 % interval that excludes zero; "
                    "against the true ATT 0.126: TWFE, Table 2 (5) 0.210 (above) and TWFE without controls 0.120 "
                    "(below); the smoothness interval at M = 0 is [0.024, 0.122] (the chapter's [0.019, 0.117]), "
                    "which contains the true pilot-year effect 0.070")
    assert "which misses" in ns.pretrend_exercise_text(sa, s, (0.08, 0.122), (0.019, 0.117), 0.07)
