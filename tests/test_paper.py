"""The paper's reported numbers are parsed exactly as printed."""
from __future__ import annotations

import pytest

from replication import paper


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
