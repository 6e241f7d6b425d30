"""Chapter 10's tables and sentences (replication.report.montecarlo_tables) against hand
computations on small summaries built by the study's own summariser."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replication.montecarlo.summary import summarise
from replication.report import montecarlo_tables as mct


def per_rep(rows: list[tuple], reps: int = 20) -> pd.DataFrame:
    """Long rows: for each (estimator, estimand, truth(r), covered(r)) an estimate at the truth
    (+0.01) with an interval of half-width 0.05 that misses the truth when covered(r) is false."""
    out = []
    for est, estimand, truth, covered in rows:
        for r in range(reps):
            t = truth(r)
            centre = t + 0.01 if covered(r) else t + 1.0
            out.append({"rep": r, "seed": r, "estimator": est, "estimand": estimand, "kind": "estimate",
                        "estimate": centre, "se": 0.025, "lower": centre - 0.05, "upper": centre + 0.05,
                        "pvalue": 0.01, "truth": t, "path": "", "note": ""})
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def summary():
    rows = [("twfe_controls", "att", lambda r: 0.1 + 0.001 * r, lambda r: True),
            ("psm_did", "att", lambda r: 0.1 + 0.001 * r, lambda r: True),
            ("mediation", "a_st", lambda r: 1.5, lambda r: r % 2 == 0),  # planted, covered 10 of 20
            ("subgroups", "att_size_small_medium", lambda r: 0.4 + 0.01 * r, lambda r: r != 3),  # 19 of 20
            ("threshold", "threshold_2", lambda r: 1.3, lambda r: r < 19)]  # planted, 19 of 20
    return summarise(per_rep(rows))


def test_estimand_labels():
    assert mct.estimand_label("mediation", "a_hc") == "path a (hc)"
    assert mct.estimand_label("mediation", "indirect_st") == "indirect a·b (st)"
    assert mct.estimand_label("subgroups", "att_size_small_medium") == "size: small & medium"
    assert mct.estimand_label("subgroups", "att_region_west") == "region: west"
    assert mct.estimand_label("threshold", "threshold_1") == "γ₁ (lower)"
    assert mct.estimand_label("psm_did", "att") == "ATT"


def test_others_table_leaves_out_the_linear_att_and_uses_each_estimands_own_truth(summary):
    t = mct.others_table(summary)
    assert "TWFE, Table 2 (5)" not in set(t["estimator"])
    assert list(t["estimand"]) == ["ATT", "path a (st)", "size: small & medium", "γ₂ (upper)"]
    by = t.set_index("estimand")
    assert by.loc["path a (st)", "truth"] == "planted" and by.loc["size: small & medium", "truth"] == "realised"
    assert by.loc["path a (st)", "coverage ± MC SE"] == f"0.500\u00a0±\u00a0{np.sqrt(0.25 / 20):.3f}"
    assert by.loc["ATT", "coverage ± MC SE"] == "20 of 20"
    assert by.loc["ATT", "true value (mean)"] == pytest.approx(0.1 + 0.001 * 9.5)


def test_coverage_overview_counts_and_names_the_misses(summary):
    text = mct.coverage_overview(summary)
    # 3 MC SE of a 95 % coverage from 20 replications: 0.146; 0.5 is below, 0.95 and 1 within
    assert text.startswith("of these 4 estimands, the intervals contain their truth at a rate within three "
                           "Monte Carlo standard errors of the nominal 95% for 3")
    assert "less often for 1: Mediation path a (st) (0.500 ± 0.112)" in text and "more often" not in text
    assert mct.coverage_overview(summary[summary["estimator"] == "twfe_controls"]) == \
        "no other estimand has an interval to check"


def test_threshold_null_text_only_when_the_rate_is_above_the_band():
    assert mct.threshold_null_text(0.05, 20) == "" and mct.threshold_null_text(0.19, 20) == ""  # band ± 0.146
    assert mct.threshold_null_text(0.17, 1000).startswith("The threshold test's extra rejections")
    assert mct.threshold_null_text(float("nan"), 20) == ""
