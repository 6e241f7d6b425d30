"""The verdict phrases of chapters 2-5 (replication.report.narrative): each phrase says what
its numbers say, on both sides of every verdict, and agrees with the table it sits next to."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from replication.report import narrative as N


class Fit:
    """A regression result as the phrases read it: params, pvalues, tstats, r2, conf_int()."""

    def __init__(self, est: dict, lo: dict | None = None, hi: dict | None = None, p: dict | None = None,
                 t: dict | None = None, r2: float = 0.5):
        self.params = pd.Series(est, dtype=float)
        self.pvalues = pd.Series(p or {k: 0.01 for k in est}, dtype=float)
        self.tstats = pd.Series(t or {k: 3.0 for k in est}, dtype=float)
        self.r2 = r2
        self._ci = pd.DataFrame({"lower": lo or {k: v - 0.1 for k, v in est.items()},
                                 "upper": hi or {k: v + 0.1 for k, v in est.items()}})

    def __getitem__(self, term):
        return self.params[term]

    def conf_int(self):
        return self._ci


def _sens(sd_effects, coef=None, p=None):
    """A did_by_index table: the entropy row's 95 % interval is [0.10, 0.30] index points with SD 1."""
    n = len(sd_effects)
    coef = coef or list(sd_effects)
    return pd.DataFrame({"index": ["entropy", "entropy_yearly", "equal", "pca", "entropy_topsis"][:n],
                         "coef": coef, "p": p or [0.001] * n, "ci_lower": [0.10] + [0.0] * (n - 1),
                         "ci_upper": [0.30] + [0.0] * (n - 1), "effect in SD of the index": list(sd_effects)})


def test_index_verdict_says_the_size_survives_only_inside_the_baseline_interval():
    stable = N.index_verdict(_sens([0.2, 0.18, 0.22, 0.25, 0.21]))
    assert "every one inside" in stable and "(0.10 to 0.30 SD)" in stable
    assert stable.endswith("sign, significance and size all survive the choice of aggregation")
    moved = N.index_verdict(_sens([0.2, 0.18, 0.45, 0.25, 0.21]))
    assert "equal weights outside" in moved
    assert moved.endswith("the size does not survive the choice of aggregation (the sign and significance do)")
    flipped = N.index_verdict(_sens([0.2, -0.18, 0.22, 0.25, 0.21], p=[0.001, 0.3, 0.001, 0.001, 0.001]))
    assert "different signs" in flipped and "significant at 5 % for 4 of 5" in flipped
    assert "the sign, significance and size do not survive" in flipped


def test_weights_sums_changes_and_trends_in_words():
    w = pd.Series({"AI firms": 0.2, "patents": 0.1, "GDP": 0.3, "wage": 0.05})
    assert N.top_weights(w) == "GDP (0.300), AI firms (0.200) and patents (0.100)"
    assert N.sum_text(0.992) == "0.992, not 1" and N.sum_text(1.0004) == "1.000"
    assert N.change_text(0.123, 0.114) == "0.123 → 0.114 (down)"
    assert N.change_text(1795, 2194, ",.0f") == "1,795 → 2,194 (up)"
    assert N.change_text(0.1561, 0.1564) == "0.156 in both"
    assert N.change_text(-0.0004, 0.0123) == "0.000 → 0.012 (up)"  # never "-0.000"
    years = pd.Series([0.68, 1.0, 1.63], index=[2009, 2015, 2022])
    assert N.trend_text(years) == "rises from 0.68 in 2009 to 1.63 in 2022"
    assert N.trend_text(years[::-1]).startswith("falls from 1.63 in 2022")
    assert N.trend_text(pd.Series([1.001, 0.999], index=[1, 2])).startswith("stays")
    assert N.as_words("College students") == "college students" and N.as_words("GDP per capita") == "GDP per capita"


def test_columns_covering_and_missing_the_truth():
    res = {"(1)": Fit({"did": 0.9}), "(2)": Fit({"did": 0.15}), "(5)": Fit({"did": 0.2})}
    assert N.covering_columns(res, 0.125) == "(2) and (5) (2 of 3)"
    assert N.covering_columns(res, 5.0) == "no column (0 of 3)"
    assert N.covering_columns(res, {"(1)": 0.95, "(2)": 0.9}) == "(1) (1 of 2)"  # per column, (5) skipped
    assert N.missing_columns(res, 0.125) == "(1) misses it, with estimate 7.2 times the truth"
    assert N.missing_columns(res, 0.15) == "(1) misses it, with estimate 6.0 times the truth"
    assert N.missing_columns({"(2)": res["(2)"]}, 0.15) == "no column misses it"


def test_significance_intervals_and_positions():
    fit = Fit({"broadband": -0.004}, p={"broadband": 0.819})
    assert N.estimate_text(fit, "broadband") == "-0.004 (p = 0.819, not significant at 5 %)"
    assert N.estimate_text(Fit({"did": 0.2}, p={"did": 0.0001})) == "0.200 (p < 0.001, significant at 5 %)"
    assert N.covers(0.1, 0.2, 0.15) == "covers" and N.covers(0.1, 0.2, 0.25) == "does not cover"
    assert [N.inside_text(v, 0.1, 0.2) for v in (0.15, 0.3, 0.0)] == ["inside", "above", "below"]


def _placebo(real, draws, pvalue=None):
    d = pd.DataFrame({"estimate": draws, "p_value": np.linspace(0, 1, len(draws))})
    k = int((d["estimate"].abs() >= abs(real)).sum())
    return SimpleNamespace(statistic=real, draws=d, n_draws=len(draws),
                           pvalue=pvalue if pvalue is not None else (1 + k) / (1 + len(draws)))


def test_randomisation_floor_and_rejection():
    at_floor = _placebo(0.15, np.linspace(-0.05, 0.05, 50))
    txt = N.ri_floor(at_floor)
    assert txt.startswith("with 50 draws the smallest attainable p-value is 1/(50 + 1) = 0.020")
    assert "sits at that floor" in txt and "p ≤ 0.020" in txt
    above = _placebo(0.04, np.linspace(-0.05, 0.05, 50))
    assert "10 of the 50 placebo estimates were at least as far from zero" in N.ri_floor(above)
    assert N.placebo_rejects(at_floor).startswith("rejects the null of no effect at 5 % (randomisation p = 0.020")
    assert N.placebo_rejects(above).startswith("does not reject")


def test_controls_moved_by_the_pilots():
    fits = {"pergdp": Fit({"did": 0.3}, p={"did": 0.0001}), "loi": Fit({"did": 0.0}, p={"did": 0.6}),
            "urb": Fit({"did": 0.01}, p={"did": 0.03})}
    assert N.controls_moved(fits) == "GDP per capita (p < 0.001) and urbanisation (p = 0.030) (2 of the 3 controls)"
    assert N.controls_moved({"loi": fits["loi"]}) == "none of the 1 controls"


def test_gaps_moves_and_distances_from_the_truth():
    assert N.gap_change((0.150, 0.125), (0.119, 0.098)).startswith("shrinks from +0.025 (0.150 against 0.125) "
                                                                      "to +0.021")
    assert N.gap_change((0.13, 0.125), (0.2, 0.1)).startswith("grows")
    before = {"(1)": Fit({"did": 0.858}), "(5)": Fit({"did": 0.150})}
    after = {"(1)": Fit({"did": 0.863}), "(5)": Fit({"did": 0.181})}
    assert N.columns_moved(before, after) == "(1) 0.858 → 0.863; (5) 0.150 → 0.181. Column (5) moves most (+0.031)"
    assert N.toward_truth(0.156, 0.177, 0.125) == ("away from the truth: its distance from 0.125 goes from 0.031 "
                                                   "to 0.052")
    assert N.toward_truth(0.177, 0.156, 0.125).startswith("towards")


def _rows(coefs, ps, lo, hi):
    return pd.DataFrame({"label": [f"v{i}" for i in range(len(coefs))], "coef": coefs, "p": ps,
                         "ci_lower": lo, "ci_upper": hi})


def test_the_specification_curve_in_one_phrase():
    good = _rows([0.15, 0.11, 0.17], [0.001, 0.01, 0.002], [0.1, 0.05, 0.12], [0.2, 0.17, 0.22])
    assert N.robustness_verdict(good) == ("the 3 estimates are all positive, all significant at 5 %, between "
                                          "0.110 and 0.170: sign and significance survive every variant")
    bad = _rows([0.15, -0.01, 0.17], [0.001, 0.6, 0.002], [0.1, -0.1, 0.12], [0.2, 0.08, 0.22])
    assert N.robustness_verdict(bad) == ("2 of the 3 estimates are positive, 2 of 3 significant at 5 %, between "
                                         "-0.010 and 0.170: sign and significance do not survive every variant")
    assert N.robustness_verdict(bad.assign(coef=[-0.1, -0.2, 0.01])).startswith("1 of the 3 estimates is positive")
    assert N.rows_covering(good, 0.105) == "2 of 3 (not: v2)"
    assert N.rows_covering(good.assign(truth=[0.15, 0.1, 0.15]), "truth") == "3 of 3"


def test_balance_against_the_papers_claim_and_the_bootstrap_floor():
    assert N.bias_claim(4.2) == "within the 5 % the paper reports"
    assert N.bias_claim(-9.6).startswith("above the 5 % within which the paper says")
    none = SimpleNamespace(n_draws=999, statistic=4.7, null_distribution=np.linspace(-3, 3, 999))
    assert N.bootstrap_floor(none) == ("0 of the 999 bootstrap t statistics were more extreme than ours, so p < "
                                       "1/999 ≈ 0.0010: more draws would be needed to say how small it is")
    some = SimpleNamespace(n_draws=199, statistic=1.0, null_distribution=np.linspace(-3, 3, 199))
    assert N.bootstrap_floor(some).startswith("132 of the 199 bootstrap t statistics")  # |t*| > 1 strictly: 2 x 66


def test_identical_columns_of_the_papers_table4_and_of_a_table_that_differs():
    from replication.report import tables

    assert N.identical_pairs(tables.paper_table(4)) == ("columns (2) and (4), and (3) and (5), are identical to "
                                                         "the last digit")
    t = pd.DataFrame({"(2)": ["a", "b"], "(4)": ["a", "c"], "(3)": ["x", ""], "(5)": ["", "x"]})
    assert N.identical_pairs(t) == "columns (3) and (5) are identical to the last digit; columns (2) and (4) differ"
    assert N.identical_pairs(t.assign(**{"(5)": ["y", ""]})) == "columns (2) and (4), and (3) and (5), differ"


def _mediation(p: dict, sobel_p: float, boot=None):
    b = None if boot is None else SimpleNamespace(conf_int=lambda: pd.DataFrame([boot], columns=["lower", "upper"]))
    return SimpleNamespace(pvalues=pd.Series(p), c=0.15, a=0.003, b=4.28, sobel=SimpleNamespace(pvalue=sobel_p),
                           bootstrap=b)


def test_mediation_verdicts():
    ok = N.mediation_verdict(_mediation({"c": 1e-5, "a": 1e-9, "b": 0.003}, 0.003, (0.005, 0.021)))
    assert ok.startswith("c = 0.15 (p < 0.001), a = 0.003 (p < 0.001), b = 4.28 (p = 0.003)")
    assert ok.endswith("all three steps pass at 5 %, and the Sobel and bootstrap tests find an indirect effect")
    no_a = N.mediation_verdict(_mediation({"c": 1e-5, "a": 0.97, "b": 0.003}, 0.97, (-0.001, 0.001)))
    assert no_a.endswith("step 2 fails at 5 %, and no test finds an indirect effect")
    mixed = N.mediation_verdict(_mediation({"c": 0.2, "a": 1e-9, "b": 0.08}, 0.09, (0.001, 0.02)))
    assert mixed.endswith("steps 1 and 3 fail at 5 %, and the bootstrap test finds an indirect effect, the Sobel "
                          "test does not")
    sobel_only = N.mediation_verdict(_mediation({"c": 1e-5, "a": 1e-9, "b": 0.003}, 0.01))
    assert "bootstrap" not in sobel_only and sobel_only.endswith("the Sobel test finds an indirect effect")


def test_mediator_precision_against_the_papers_t():
    fits = {"(2)": Fit({"did": 0.003}, t={"did": 25.04}, r2=0.999), "(4)": Fit({"did": 1.5}, t={"did": 5.008},
                                                                               r2=0.9)}
    assert N.mediator_precision(fits) == ("t = 25.0 in column (2) and 5.0 in column (4), 10 and 2 times the paper's "
                                          "2.504, with R² = 0.999 and 0.900 (the paper's: 0.823 and 0.823)")


@pytest.fixture(scope="module")
def baseline():
    from replication.book.chapter import load
    from replication.report import specs

    data = load(20251206)
    return specs.table2(data.panel), data.sim.truth["att"]


def test_the_covering_verdict_agrees_with_the_table_beside_it(baseline):
    from replication.report import tables

    res, truth = baseline
    cmp = tables.paper_vs_ours(2, res, truth={c: truth for c in res})
    covered = cmp.loc[cmp["CI covers truth"], "column"].tolist()
    assert N.covering_columns(res, truth) == f"{N._and(covered) or 'no column'} ({len(covered)} of {len(res)})"
    missed = cmp.loc[~cmp["CI covers truth"], "column"].tolist()
    assert N.missing_columns(res, truth).startswith(N._and(missed) if missed else "no column")
