"""The one table style of the book (issue 17): labels, number formats by kind, ✓/✗, the
comparison order, the collapse threshold and the p-value floor.

Fast, no data: the rules of :mod:`replication.report.style` and the HTML of
:func:`replication.book.chapter.show`.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from replication.report import style

RAW = ["ci_lower", "ci_upper", "lr_set_disjoint", "small_medium", "p_value", "n_draws", "n_boot", "std_error",
       "conf_low", "excludes_zero", "crit_10", "first_level", "event_time", "treated_entities", "some_new_column"]


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------------------
# labels

@pytest.mark.parametrize("name", RAW)
def test_no_raw_identifier_reaches_a_header(name):
    shown = style.label(name)
    assert "_" not in shown and shown.strip() and shown != name


def test_labels_read_as_words():
    assert style.label("p_value") == style.label("pvalue") == style.label("p") == "p"
    assert style.label("std_error") == style.label("se") == "SE"
    assert style.label("n_draws") == "draws" and style.label("n_boot") == "bootstrap draws"
    assert style.label("small_medium") == "small & medium"
    assert style.label("crit_5") == "critical value 5%"
    assert style.label("treated_entities") == "treated entities"  # the fallback
    assert style.label("ci_width") == "CI width"
    assert style.label("our weight") == "our weight"  # already words: unchanged


def test_display_frame_headers_are_labels():
    df = _frame(term=["did"], estimate=[0.1], std_error=[0.02], statistic=[5.0], p_value=[0.01],
                conf_low=[0.06], conf_high=[0.14], lr_set_disjoint=[False])
    frame, _ = style.display_frame(df)
    assert list(frame.columns) == ["term", "estimate", "SE", "t", "p", "95% CI", "LR set in pieces"]
    assert not [c for c in frame.columns if "_" in c]


# ---------------------------------------------------------------------------------------
# numbers by kind

def test_counts_are_integers_with_thousands_separators():
    df = _frame(label=["a", "b"], N=[3990.0, 1162.0], cities=[285, 83], n_draws=[500.0, 1000.0])
    frame, kinds = style.display_frame(df)
    assert frame["N"].tolist() == ["3,990", "1,162"]
    assert frame["cities"].tolist() == ["285", "83"]
    assert frame["draws"].tolist() == ["500", "1,000"]
    assert {kinds["N"], kinds["cities"], kinds["draws"]} == {"count"}
    assert not any(re.search(r"\d\.0+$", v) for v in frame.to_numpy().ravel())  # no "3990.000"


def test_years_have_no_thousands_separator():
    frame, _ = style.display_frame(_frame(year=[2009, 2022], pilot_year=[2012.0, np.nan]))
    assert frame["year"].tolist() == ["2009", "2022"]
    assert frame["pilot year"].tolist() == ["2012", ""]
    idx, _ = style.display_frame(pd.DataFrame({"x": [1]}, index=pd.Index([2014], name="year")), index=True)
    assert idx.index.tolist() == ["2014"]


def test_p_values_have_three_decimals_and_a_floor():
    assert style.P_FLOOR == 0.001
    assert style.fmt_p(0.0) == style.fmt_p(0.000999) == "<0.001"
    assert style.fmt_p(0.001) == "0.001"
    assert style.fmt_p(0.04567) == "0.046"
    assert style.fmt_p(1.0) == "1.000"
    assert style.fmt_p(np.nan) == style.fmt_p(None) == ""
    frame, kinds = style.display_frame(_frame(p=[3.5e-9, 0.2], **{"Wald p": [0.01234, 0.5], "paper p": [0.0033, 0.61]}))
    assert frame["p"].tolist() == ["<0.001", "0.200"]
    assert frame["Wald p"].tolist() == ["0.012", "0.500"]
    assert frame["paper p"].tolist() == ["0.003", "0.610"]
    assert set(kinds.values()) == {"p"}


def test_a_bootstrap_p_floors_at_one_over_the_draws():
    fmt = style.bootstrap_p(50)
    assert fmt(0.0) == "<0.020" and fmt(0.34) == "0.340"
    assert style.bootstrap_p(5000)(0.0) == "<0.001"  # never finer than the general floor
    frame, _ = style.display_frame(_frame(p_value=[0.0, 0.34]), formats={"p_value": fmt})
    assert frame["p"].tolist() == ["<0.020", "0.340"]


def test_estimates_use_the_precision_and_never_print_minus_zero():
    frame, _ = style.display_frame(_frame(estimate=[0.123456, -0.00001, -1.5]), precision=4)
    assert frame["estimate"].tolist() == ["0.1235", "0.0000", "-1.5000"]
    frame, _ = style.display_frame(_frame(estimate=[0.123456]))
    assert frame["estimate"].tolist() == ["0.123"]


def test_booleans_are_ticks_and_crosses():
    frame, kinds = style.display_frame(_frame(**{"same sign": [True, False, None], "covered": [np.bool_(True),
                                                                                              np.bool_(False), None]}))
    assert frame["same sign"].tolist() == ["✓", "✗", ""]
    assert frame["CI covers truth"].tolist() == ["✓", "✗", ""]
    assert set(kinds.values()) == {"bool"}
    assert "True" not in frame.to_string() and "False" not in frame.to_string()


def test_dicts_and_lists_are_never_printed_raw():
    frame, _ = style.display_frame(_frame(check=["a", "b"], detail=[{"n_draws": 50, "p_value": 0.5}, [0.55, 1.3]]))
    cells = frame["detail"].tolist()
    assert cells == ["draws: 50; p: 0.500", "0.550, 1.300"]
    assert not any(ch in "".join(cells) for ch in "{}[]'")


def test_a_quantity_value_table_formats_each_row_by_its_name():
    df = _frame(quantity=["real estimate", "draws", "randomisation p-value", "n_treated_cities", "scheme"],
                value=[0.15, 500, 0.0, 95.0, "city"])
    frame, _ = style.display_frame(df)
    assert frame["value"].tolist() == ["0.150", "500", "<0.001", "95", "city"]


def test_significant_digits_and_the_papers_numbers_as_printed():
    assert [style.fmt_sig(v) for v in (2364806.4, 36.176, 0.094884, 3.0, 0.0)] == ["2,364,806", "36.18", "0.09488",
                                                                                   "3", "0"]
    frame, kinds = style.display_frame(_frame(**{"paper F": [55.87, 36.3], "Hansen (1999)": [0.0157, 43.7]}))
    assert frame["paper F"].tolist() == ["55.87", "36.3"] and frame["Hansen (1999)"].tolist() == ["0.0157", "43.7"]
    assert set(kinds.values()) == {"printed"}


# ---------------------------------------------------------------------------------------
# intervals and the order of the columns

def test_bounds_become_one_interval_column():
    df = _frame(label=["x"], coef=[0.1], ci_lower=[0.05], ci_upper=[0.15], N=[10])
    frame, kinds = style.display_frame(df)
    assert list(frame.columns) == ["label", "estimate", "95% CI", "N"]
    assert frame["95% CI"].tolist() == ["[0.050, 0.150]"] and kinds["95% CI"] == "interval"
    apart, _ = style.display_frame(df, ci=False)
    assert {"95% CI low", "95% CI high"} <= set(apart.columns)


def test_the_paper_stands_before_ours_and_the_truth_after_our_estimate():
    assert style.comparison_order(["test", "estimates", "F", "p_value", "crit_5", "paper F", "paper p"]) == \
        ["test", "estimates", "paper F", "F", "paper p", "p_value", "crit_5"]
    assert style.comparison_order(["column", "ours", "ours 95% CI", "same sign", "paper"]) == \
        ["column", "paper", "ours", "ours 95% CI", "same sign"]
    assert style.comparison_order(["label", "coef", "se", "t", "p", "95% CI", "N", "truth"]) == \
        ["label", "coef", "truth", "se", "t", "p", "95% CI", "N"]
    assert style.comparison_order(["estimator", "estimate", "95% CI", "truth (ATT)", "covers"]) == \
        ["estimator", "estimate", "95% CI", "truth (ATT)", "covers"]


# ---------------------------------------------------------------------------------------
# the HTML of chapter.show

@pytest.fixture(scope="module")
def show():
    from replication.book.chapter import show

    return show


def _table(n_rows: int) -> pd.DataFrame:
    return _frame(check=[f"c{i}" for i in range(n_rows)], p=np.linspace(0, 0.5, n_rows))


def test_long_tables_collapse_behind_a_toggle_with_a_summary(show):
    assert style.COLLAPSE_ROWS == 20
    assert not style.should_collapse(20) and style.should_collapse(21)
    assert style.should_collapse(3, True) and not style.should_collapse(300, False)
    short = show(_table(20))._repr_html_()
    assert "<details" not in short and "<table" in short
    long = show(_table(21), summary="21 checks: 3 inconsistent")._repr_html_()
    assert long.startswith('<details class="book-table-toggle">')
    assert re.search(r"<summary[^>]*>21 checks: 3 inconsistent</summary>", long)
    assert long.index("</summary>") < long.index("<table") < long.index("</details>")
    assert "rows" in show(_table(25))._repr_html_().split("</summary>")[0]  # a default summary line
    assert "<details" in show(_table(2), collapse=True, summary="two")._repr_html_()


def test_show_escapes_text_and_breaks_long_identifiers(show):
    html = show(_frame(function=["rp.replication.estimators.threshold.fit_panel_threshold"], p=[0.0]))._repr_html_()
    assert "&lt;0.001" in html and "<0.001" not in html
    assert "threshold.<wbr>fit" in html
    assert "<th" in html and ">p</th>" in html


def test_show_right_aligns_numbers_and_drops_an_empty_truth(show):
    t = show(_frame(label=["a"], estimate=[0.1], truth=[np.nan], **{"CI covers truth": [None]}))
    assert list(t.frame.columns) == ["label", "estimate"]  # a user's panel: no truth column
    assert t.kinds["estimate"] == "number"
    assert re.search(r"td\.col1 \{\s*text-align: right", t._repr_html_())
    assert "truth" not in t._repr_html_()


def test_show_is_deterministic(show):
    df = _table(3)
    a, b = show(df), show(df)
    assert a.frame.equals(b.frame) and a.uid != b.uid  # one id per table shown, from the table and its rank


def test_show_transposes_after_formatting(show):
    df = _frame(mediator=["hc", "st"], **{"Sobel p": [0.0, 0.2], "indirect a*b": [0.0156, 0.014]})
    t = show(df, precision=4, transpose=True)
    assert list(t.frame.columns) == ["human capital", "science & technology"]
    assert t.frame.loc["Sobel p"].tolist() == ["<0.001", "0.200"]
    assert t.frame.loc["indirect a*b"].tolist() == ["0.0156", "0.0140"]


def test_index_labels_head_the_first_column(show):
    rc = pd.DataFrame({"regime 1": [133, 118]}, index=pd.Index([2009, 2010], name="year"))
    html = show(rc, index=True)._repr_html_()
    assert re.search(r"<th[^>]*>year</th>", html) and ">2009<" in html and "2,009" not in html


# ---------------------------------------------------------------------------------------
# the scorecard's display layout

def test_scorecard_display_formats_each_number_by_what_it_is():
    from replication.report import scorecard

    card = pd.DataFrame([
        {"table": "Table 2", "column": "(1)", "row": "did", "paper": 0.758, "ours": 0.858, "ci_lower": 0.6,
         "ci_upper": 1.0, "truth": 0.125, "same sign": True, "same significance": True, "within tolerance": False,
         "CI covers truth": False, "note": ""},
        {"table": "Table 2", "column": "(1)", "row": "N", "paper": 3990.0, "ours": 3990.0, "ci_lower": np.nan,
         "ci_upper": np.nan, "truth": np.nan, "same sign": None, "same significance": None, "within tolerance": True,
         "CI covers truth": None, "note": ""},
        {"table": "Table 5", "column": "single", "row": "p", "paper": 0.0033, "ours": 0.0, "ci_lower": np.nan,
         "ci_upper": np.nan, "truth": np.nan, "same sign": None, "same significance": None, "within tolerance": True,
         "CI covers truth": None, "note": ""}])
    shown = scorecard.display_table(card)
    assert shown["number"].str.replace("\u00a0", " ").tolist() == ["(1) did", "(1) N", "single p"]
    assert shown["paper"].tolist() == ["0.758", "3,990", "0.003"]
    assert shown["ours"].tolist() == ["0.858", "3,990", "<0.001"]
    assert "note" not in shown.columns  # no number has a note
    assert scorecard._number_label("Table 1", "weight", "avg_wage") == "Average wage"
    assert scorecard._number_label("Table 6", "coef", "regime_1") == "regime 1"
    assert scorecard._number_label("Table 7", "small_medium", "pergdp") == "small & medium\u00a0Pergdp"
    t5 = scorecard.display_table(card[card["table"] == "Table 5"])
    assert "same sign" not in t5.columns  # verdicts that apply to none of its numbers are left out
    assert [name for name, _ in scorecard.display_parts(card.assign(table=["Figure 1", "Table 7", "Table 2"]))] == \
        ["Table 2", "Table 7", "Figure 1"]
    assert scorecard.display_summary("Table 2", card.iloc[:2]) == \
        "Table 2: 2 numbers, 1 of 2 within tolerance, same sign 1 of 1, same significance 1 of 1"


def test_the_sequential_reading_of_the_threshold_tests_uses_the_bootstrap_floor():
    from types import SimpleNamespace

    from replication.estimators.results import TestResult
    from replication.report.threshold_tables import sequential_reading

    res = SimpleNamespace(tests={1: TestResult(712.2, 0.0, n_draws=50), 2: TestResult(279.6, 0.0, n_draws=50),
                                 3: TestResult(9.8, 0.34, n_draws=50)})
    text = sequential_reading(res)
    assert "single p < 0.020, double p < 0.020, triple p = 0.340" in text and "support 2 thresholds" in text
