"""The batched threshold model (replication.montecarlo.batched_threshold) equals looping the
study's own estimator (replication.montecarlo.estimators.run_estimator("threshold", ...)) over
the replications of a fixed design: the same rows, thresholds and LR sets exactly (grid
points), the F statistic to 1e-10 relative, the bootstrap p-value exactly."""
from __future__ import annotations

import numpy as np
import pytest

from replication.montecarlo import batched_threshold
from replication.montecarlo.batched_threshold import BatchedThreshold
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import run_estimator
from replication.montecarlo.options import StudyOptions

REPS = range(4)
REL = 1e-10


def _options(**kw) -> StudyOptions:
    return StudyOptions.make(reps=6, fixed_design=True, estimators=("threshold",), **{"n_boot": 5, **kw})


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def assert_rows_equal(ours: list[list[dict]], loop: list[list[dict]]):
    """Row by row: the same keys and strings; thresholds, LR ends and p-values exactly,
    the F statistic to REL relative; NaN where the loop has NaN."""
    assert len(ours) == len(loop)
    for r, (got, want) in enumerate(zip(ours, loop)):
        assert [g["estimand"] for g in got] == [w["estimand"] for w in want], r
        for g, w in zip(got, want):
            assert list(g) == list(w), (r, g, w)
            for key, value in w.items():
                if key == "estimate" and w["kind"] == "test":
                    assert g[key] == pytest.approx(value, rel=REL, abs=0), (r, key, g, w)
                else:
                    assert _same(g[key], value), (r, key, g[key], value)


def batched_and_looped(options: StudyOptions, draws):
    """Our rows for all draws at once (the design taken from the first) and the loop's rows,
    each replication's own panel through run_estimator."""
    Y = np.column_stack([d.panel["nqp"].to_numpy() for d in draws])
    bt = BatchedThreshold(draws[0].panel, options)
    ours = bt.rows("threshold", {"nqp": Y}, [d.truth for d in draws], [d.estimator_seed for d in draws])
    loop = [run_estimator("threshold", d.panel, d.truth, options, d.estimator_seed) for d in draws]
    return ours, loop


@pytest.fixture(scope="module")
def default_study():
    options = _options()
    return options, [draw(options, r) for r in REPS]


def test_batched_equals_the_loop(default_study):
    options, draws = default_study
    ours, loop = batched_and_looped(options, draws)
    assert_rows_equal(ours, loop)
    assert [[row["estimand"] for row in rows] for rows in ours] == \
        [["threshold_1", "threshold_2", "no threshold (0 against 1)"]] * len(draws)
    # the replications differ (not one replication repeated)
    assert len({rows[2]["estimate"] for rows in ours}) == len(draws)


def test_null_paper_calibration_and_chunked_bootstrap(monkeypatch):
    """No effect (so the bootstrap p-values are spread out and the LR sets wide), the paper's
    calibration, another study seed, and the bootstrap in chunks of one replication."""
    options = _options(null=True, calibration="paper", seed=5)
    draws = [draw(options, r) for r in REPS]
    monkeypatch.setattr(batched_threshold, "CHUNK_CELLS", 1)
    ours, loop = batched_and_looped(options, draws)
    assert_rows_equal(ours, loop)
    p = np.array([rows[2]["pvalue"] for rows in ours])
    assert ((p > 0) & (p < 1)).any() and len(set(p)) > 1, p  # the comparison with the loop's draws bites
    assert any(rows[0]["lower"] < rows[0]["estimate"] for rows in ours)


def test_without_bootstrap():
    options = _options(n_boot=0, seed=11)
    draws = [draw(options, r) for r in range(2)]
    ours, loop = batched_and_looped(options, draws)
    assert_rows_equal(ours, loop)
    assert all(len(rows) == 2 for rows in ours)  # no F test row without draws


def test_row_order_unbalanced_design_and_a_missing_outcome(default_study):
    """Any row order (outcome rows follow the design rows); an unbalanced design is balanced as
    the book's function balances it; a replication with a missing outcome gets the loop's
    failure row and does not disturb the others."""
    options, draws = default_study
    design = draws[0].panel
    city = design["city_code"].iloc[0]
    keep = np.flatnonzero(~((design["city_code"] == city) & (design["year"] == 2015)).to_numpy())
    rows = np.random.default_rng(0).permutation(keep)
    d = design.iloc[rows].reset_index(drop=True)
    Y = np.column_stack([dr.panel["nqp"].to_numpy()[rows] for dr in draws])
    Y[7, 2] = np.nan
    truths, seeds = [dr.truth for dr in draws], [dr.estimator_seed for dr in draws]
    ours = BatchedThreshold(d, options).rows("threshold", {"nqp": Y}, truths, seeds)
    loop = [run_estimator("threshold", d.assign(nqp=Y[:, r]), truths[r], options, seeds[r]) for r in range(len(draws))]
    assert_rows_equal(ours, loop)
    assert ours[2][0]["kind"] == "failure" and "missing values" in ours[2][0]["note"]
    assert all(rows_r[0]["kind"] == "estimate" for r, rows_r in enumerate(ours) if r != 2)


def test_bad_design_and_bad_input_are_refused(default_study):
    options, draws = default_study
    design = draws[0].panel
    with pytest.raises(ValueError, match="cannot use this design.*isu"):
        BatchedThreshold(design.drop(columns="isu"), options)
    with pytest.raises(ValueError, match="cannot use this design: missing values in \\['isu'\\]"):
        BatchedThreshold(design.assign(isu=design["isu"].mask(design.index == 3)), options)
    with pytest.raises(ValueError, match="pandas DataFrame"):
        BatchedThreshold(design.to_numpy(), options)
    bt = BatchedThreshold(design, options)
    Y = np.column_stack([d.panel["nqp"].to_numpy() for d in draws[:2]])
    truths, seeds = [d.truth for d in draws[:2]], [d.estimator_seed for d in draws[:2]]
    with pytest.raises(ValueError, match="not 'twfe_controls'"):
        bt.rows("twfe_controls", {"nqp": Y}, truths, seeds)
    with pytest.raises(ValueError, match=r"one row per design row \(3990\) and one column per truth and seed \(2\)"):
        bt.rows("threshold", {"nqp": Y[:-1]}, truths, seeds)
    with pytest.raises(ValueError, match="must hold 'nqp'"):
        bt.rows("threshold", {"hc": Y}, truths, seeds)
    with pytest.raises(ValueError, match="one truth per seed"):
        bt.rows("threshold", {"nqp": Y}, truths, seeds[:1])
