"""The paper's reported numbers are parsed exactly as printed."""
from __future__ import annotations

import pytest

from replication.report import paper


def test_cell_parser():
    c = paper.parse_cell("0.184*** (2.911)")
    assert (c["estimate"], c["stars"], c["paren"], c["decimals"]) == (0.184, 3, 2.911, 3)
    assert paper.parse_cell("-0.000 (-1.448)")["estimate"] == 0.0
    assert paper.parse_cell("0.031 (0.397)")["stars"] == 0
    with pytest.raises(ValueError):
        paper.parse_cell("0.18 ** (x)")


@pytest.mark.parametrize("n", [2, 3, 4, 6, 7])
def test_every_table_parses(n):
    t = paper.table(n)
    assert len(t) >= 5
    assert t["estimate"].notna().all()


def test_table2_headline_numbers():
    assert paper.value(2, "did", "(5)") == 0.184
    assert paper.value(2, "did", "(5)", "paren") == 2.911
    assert paper.value(2, "N", "(1)") == 3990
    assert paper.columns(2)["(5)"] == {"controls": True, "time_fe": True, "city_fe": True}


def test_table1_has_15_indicators_with_weights():
    t = paper.table1()
    assert len(t) == 15
    assert t["weight"].sum() == pytest.approx(0.992)  # as printed: the weights do not sum to 1
    from replication.data.schema import INDICATORS

    assert tuple(t["indicator"]) == INDICATORS


def test_table6_first_parenthesis_is_flagged_as_se_like():
    t = paper.table(6)
    kinds = dict(zip(t["row"], t["paren_kind"]))
    assert kinds["regime_1"] == "se?" and kinds["regime_2"] == "t"


def test_table5_and_text():
    t = paper.table5()
    assert list(t["thresholds"]) == ["single", "double", "triple"]
    assert paper.text()["placebo_reported_coefficient"] == 0.213


# ---------------------------------------------------------------------------------------
# the scorecard's verdicts

def test_within_tolerance_rules():
    from replication.report.scorecard import within_tolerance as wt

    # N: exact (after rounding), whatever the tolerances
    assert wt("N", 3990, 3990.0, 0, 0) and wt("N", 3990, 3990.4, 0, 0)
    assert not wt("N", 3990, 3989, 100, 1.0)
    # R2 and p: absolute only (rtol is ignored)
    assert wt("R2", 0.5, 0.509, 0.01, 0) and not wt("R2", 0.5, 0.52, 0.01, 10.0)
    assert wt("p", 0.0, 0.01, 0.01, 0) and not wt("p", 0.9, 0.95, 0.01, 1.0)
    # everything else: |ours - paper| <= atol + rtol |paper|, symmetric in the sign of the gap
    assert wt("did", 0.184, 0.184 + 0.01 + 0.1 * 0.184 - 1e-12, 0.01, 0.1)
    assert not wt("did", 0.184, 0.184 + 0.01 + 0.1 * 0.184 + 1e-9, 0.01, 0.1)
    assert wt("did", -0.2, -0.2 - 0.03 + 1e-12, 0.01, 0.1) and not wt("did", -0.2, -0.2 - 0.03 - 1e-9, 0.01, 0.1)
    assert wt("F", 100.0, 109.0, 0.0, 0.1) and not wt("F", 100.0, 111.0, 0.0, 0.1)
    assert wt("pd", 0.0, 0.0, 0.0, 0.0) and not wt("pd", 0.0, 1e-9, 0.0, 0.5)


def test_scorecard_leaves_verdicts_empty_where_nothing_was_computed(panel):
    from replication.data.index import add_index
    from replication.report.scorecard import scorecard
    from replication.report.specs import table2

    t2 = table2(add_index(panel))
    del t2["(4)"]  # a column this panel "could not" estimate
    card = scorecard({"errors": {3: "ValueError: boom"}, 2: t2})
    verdicts = ["same sign", "same significance", "within tolerance", "CI covers truth"]
    done = card["ours"].notna()
    # every row that was not computed: no verdict at all, and a reason
    assert card.loc[~done, verdicts].isna().all().all()
    assert card.loc[~done, "note"].str.startswith("not computed").all()
    t3 = card[card["table"] == "Table 3"]
    assert len(t3) == len(paper.table(3)) and (t3["note"] == "not computed: ValueError: boom").all()
    assert (card.loc[card["table"] == "Table 1", "note"] == "not computed: no result").all()
    gone = card[(card["table"] == "Table 2") & (card["column"] == "(4)")]
    assert len(gone) and gone["note"].str.contains("too few treated").all() and gone["ours"].isna().all()
    # the computed rows (Table 2 without column 4) have a tolerance verdict, recomputed here
    t2rows = card[(card["table"] == "Table 2") & done]
    assert len(t2rows) > 0 and t2rows["within tolerance"].notna().all()
    for _, r in t2rows.iterrows():
        if r["row"] in ("N", "R2", "p"):
            continue
        assert r["within tolerance"] == (abs(r["ours"] - r["paper"]) <= 0.01 + 0.1 * abs(r["paper"])), r
        assert r["ours"] == t2[r["column"]].params.get(r["row"], {"N": t2[r["column"]].nobs, "R2": t2[r["column"]].r2,
                                                                 "F": t2[r["column"]].fstat}.get(r["row"]))
    n = t2rows[t2rows["row"] == "N"]
    assert (n["within tolerance"] == (n["ours"] == n["paper"])).all()
    # same sign / significance only for coefficients; N, R2 and F get none
    stats_rows = t2rows["row"].isin(["N", "R2", "F"])
    assert t2rows.loc[stats_rows, "same sign"].isna().all()
    signed = ~stats_rows & (t2rows["paper"] != 0)  # a printed -0.000 has no sign to compare
    assert t2rows.loc[signed, "same sign"].notna().all()
    assert t2rows.loc[~stats_rows & ~signed, "same sign"].isna().all()
