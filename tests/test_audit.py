"""The audit of the paper's reported statistics, each check on a hand-worked case."""
from __future__ import annotations


from conftest import run_cli
from replication.report import audit


def test_implied_stars_hand_cases():
    assert audit.implied_stars(2.911)[0] == {3}  # p = 0.0036
    assert audit.implied_stars(1.89, decimals=2)[0] == {1}  # p = 0.059
    assert audit.implied_stars(2.304)[0] == {2}  # p = 0.021
    assert audit.implied_stars(1.645)[0] == {0, 1}  # straddles 10 % within rounding: cannot tell
    assert audit.implied_stars(0.397)[0] == {0}


def test_stars_vs_t_flags_table6_middle_regime_only():
    a = audit.check_stars_vs_t()
    bad = a[a["verdict"] == audit.INCONSISTENT]
    assert list(bad["where"]) == ["Table 6, column coef, row regime_2"]
    t2 = a[a["where"].str.startswith("Table 2")]
    assert (t2["verdict"] == audit.CONSISTENT).all()


def test_table6_first_parenthesis_is_an_se():
    a = audit.check_implausible_parentheses()
    row = a[a["check"] == "parenthesis type"].iloc[0]
    assert "regime_1" in row["where"] and "-3.89" in row["implied"]


def test_duplicated_columns_of_table4():
    a = audit.check_duplicated_columns()
    bad = set(a.loc[a["verdict"] == audit.INCONSISTENT, "where"])
    assert bad == {"Table 4, columns (2) and (4)", "Table 4, columns (3) and (5)"}
    assert (a.loc[a["where"] == "Table 2 (5) and Table 4 (1)", "verdict"] == audit.CONSISTENT).all()


def test_sample_size_arithmetic():
    a = audit.check_sample_sizes().set_index("where")
    assert "98 = 7 x 14" in a.loc["Table 3 (1)", "why"]
    assert a.loc["Table 7, regions", "reported"].endswith("= 3962")
    assert a.loc["Table 7, regions", "verdict"] == audit.INCONSISTENT
    assert a.loc["Section 6 (heterogeneity) vs Table 2", "verdict"] == audit.CONSISTENT


def test_text_vs_tables():
    a = audit.check_text_vs_tables()
    placebo = a[a["reported"] == "0.213 in the text"].iloc[0]
    assert placebo["verdict"] == audit.INCONSISTENT and "0.184" in placebo["implied"]
    assert (a["check"] == "wording").sum() >= 5


def test_f_equals_t_squared_with_one_regressor():
    a = audit.check_f_and_r2().set_index("where")
    assert a.loc["Table 2, column (4)", "verdict"] == audit.CONSISTENT  # 8.807 vs 2.968^2 = 8.809
    assert a.loc["Table 2, column (4)", "implied"] == "t^2 = 8.809"


def test_audit_summary_counts():
    a = audit.audit()
    s = audit.summary(a)
    assert s.loc["duplicated columns", audit.INCONSISTENT] == 2
    assert len(a) > 150


def test_check_cli_exit_codes(tmp_path):
    ok = run_cli("check", "--rows", "did", "--n-placebo", "20", "--n-boot", "10")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "semi-synthetic" in ok.stdout and "Table 2" in ok.stdout
    strict = run_cli("check", "--rows", "did", "--tolerance", "0", "--n-placebo", "20", "--n-boot", "10")
    assert strict.returncode == 1 and "differ from the paper" in strict.stderr


def test_check_on_a_users_panel_is_partial_with_reasons_and_judges_each_statistic_sensibly(tmp_path, panel):
    """A panel of eastern cities only: the central and western columns of Table 7 cannot be
    estimated; the scorecard says so instead of failing, states its tolerance, shows no truth,
    and never judges the sign of a p-value, an N or a weight."""
    from replication.report.scorecard import compute_all, scorecard

    east = panel[panel["region"] == "east"].drop(columns=["treat", "did", "broadband"])
    path = tmp_path / "east.csv"
    east.to_csv(path, index=False)
    res = run_cli("check", "--data", str(path), "--n-placebo", "20", "--n-boot", "10")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "tolerance: |ours - paper| <= 0.01 + 0.1 x |paper| (N exactly" in out
    assert "partial scorecard" in out and "not computed" in out
    assert "truth" not in out.lower() and out.startswith("data: east.csv (")
    from replication.data.index import add_index

    card = scorecard(compute_all(add_index(panel[panel["region"] == "east"]), n_placebo=10, n_boot=5), None)
    stats = card[card["row"].isin(["p", "N", "R2", "F"]) | (card["table"] == "Table 1")]
    assert stats["same sign"].isna().all() and stats["same significance"].isna().all()
    west = card[(card["table"] == "Table 7") & (card["column"] == "west")]
    assert west["ours"].isna().all() and west["note"].str.startswith("not computed").all()
