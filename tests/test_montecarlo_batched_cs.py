"""The batched Callaway-Sant'Anna with covariates (replication.montecarlo.batched_cs) gives,
for every replication of a fixed-design study, the rows of the looped estimator
(``run_estimator("cs_or_controls", ...)``): the same strings, numbers to 1e-10."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from replication.montecarlo.batched_cs import BatchedCSControls
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import run_estimator
from replication.montecarlo.options import StudyOptions

NAME = "cs_or_controls"
TOL = 1e-10


def looped(panel, truth, options, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_estimator(NAME, panel, truth, options, seed)


def assert_rows_equal(ours: list[dict], theirs: list[dict]):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert list(a) == list(b), (list(a), list(b))
        for key, v in b.items():
            if isinstance(v, str):
                assert a[key] == v, (key, a[key], v)
            elif np.isnan(v):
                assert np.isnan(a[key]), (key, a[key])
            else:
                assert abs(a[key] - v) < TOL, (key, a[key], v)


def batched_against_looped(options, reps, shuffle=None):
    """Build the class once for ``reps`` draws of ``options`` (rows shuffled by ``shuffle``)
    and compare every replication with the looped estimator on the same rows."""
    draws = [draw(options, r) for r in reps]
    design = draws[0].panel
    order = np.arange(len(design)) if shuffle is None else np.random.default_rng(shuffle).permutation(len(design))
    design = design.iloc[order]
    Y = np.column_stack([d.panel["nqp"].to_numpy(float) for d in draws])[order]
    truths, seeds = [d.truth for d in draws], [d.estimator_seed for d in draws]
    ours = BatchedCSControls(design, options).rows(NAME, {"nqp": Y}, truths, seeds)
    assert len(ours) == len(draws)
    for r in range(len(draws)):
        assert_rows_equal(ours[r], looped(design.assign(nqp=Y[:, r]), truths[r], options, seeds[r]))
    return ours, design, Y


def test_batched_equals_the_looped_estimator():
    options = StudyOptions.make(reps=6, fixed_design=True, estimators=(NAME,))
    ours, design, Y = batched_against_looped(options, range(4), shuffle=0)
    assert len({rows[0]["estimate"] for rows in ours}) == 4  # four different replications
    assert all(rows[0]["kind"] == "estimate" and np.isfinite(rows[0]["se"]) for rows in ours)
    # the design's own row order is used; the outcome columns of `design` are ignored
    b = BatchedCSControls(design.sort_index().assign(nqp=0.0), options)
    again = b.rows(NAME, {"nqp": Y[np.argsort(design.index.to_numpy())]}, [{}] * 4, [0] * 4)
    assert [r[0]["estimate"] for r in again] == pytest.approx([r[0]["estimate"] for r in ours], abs=TOL)
    assert np.isnan(again[0][0]["truth"])


def test_another_calibration_and_seed():
    options = StudyOptions.make(reps=6, fixed_design=True, calibration="paper", seed=7, estimators=(NAME,))
    batched_against_looped(options, [2, 5])


def test_refuses_designs_and_inputs_it_cannot_handle():
    options = StudyOptions.make(reps=6, fixed_design=True, estimators=(NAME,))
    panel = draw(options, 0).panel
    with pytest.raises(ValueError, match="cs_or_controls needs a balanced design"):
        BatchedCSControls(panel.iloc[5:], options)
    with pytest.raises(ValueError, match=r"missing values in \['gov'\]"):
        BatchedCSControls(panel.assign(gov=panel["gov"].mask(panel.index == 3)), options)
    with pytest.raises(ValueError, match="no column"):
        BatchedCSControls(panel.drop(columns="loi"), options)
    with pytest.raises(ValueError, match="cs_or_controls .* needs never-treated units"):
        BatchedCSControls(panel.assign(pilot_year=panel["pilot_year"].fillna(2014)), options)
    # what csdid itself refuses (collinear controls, too few never-treated units): the next test


def test_it_refuses_what_csdid_refuses_without_running_it(monkeypatch):
    """Built for every replication of a redrawn design, the class must not run the book's function
    (that would cost what batching saves; importing csdid alone takes seconds): it applies
    csdid's own refusals itself."""
    import sys

    options = StudyOptions.make(reps=6, estimators=(NAME,))
    panel = draw(options, 0).panel
    for name in [m for m in sys.modules if m == "csdid" or m.startswith("csdid.")]:
        monkeypatch.delitem(sys.modules, name)
    BatchedCSControls(panel, options)
    assert "csdid" not in sys.modules
    # a control collinear with the intercept: csdid sets every ATT(g, t) to NA and the aggregation fails
    flat = panel.assign(gov=0.2)
    assert looped(flat, {}, options, 0)[0]["kind"] == "failure"
    with pytest.raises(ValueError, match="controls of 20.. are collinear"):
        BatchedCSControls(flat, options)
    # collinear only in 2009, a base period of pre-treatment cells alone: csdid still fails
    pre = panel.assign(gov=panel["gov"].mask(panel["pilot_year"].isna() & (panel["year"] == 2009), 0.2))
    assert looped(pre, {}, options, 0)[0]["kind"] == "failure"
    with pytest.raises(ValueError, match="controls of 2009 are collinear"):
        BatchedCSControls(pre, options)
    # eight never-treated cities: csdid refuses ("Never-treated group is too small"), so does the class
    never = panel.loc[panel["pilot_year"].isna(), "city_code"].unique()
    few = panel.assign(pilot_year=panel["pilot_year"].mask(panel["city_code"].isin(never[8:]), 2014))
    assert looped(few, {}, options, 0)[0]["kind"] == "failure"
    with pytest.raises(ValueError, match="8 never-treated units.*too small"):
        BatchedCSControls(few, options)
    ten = panel.assign(pilot_year=panel["pilot_year"].mask(panel["city_code"].isin(never[10:]), 2014))
    assert looped(ten, {}, options, 0)[0]["kind"] == "estimate"  # csdid's limit: 10 is enough
    assert_rows_equal(BatchedCSControls(ten, options).rows(NAME, {"nqp": ten[["nqp"]].to_numpy(float)}, [{}], [0])[0],
                      looped(ten, {}, options, 0))


def test_refuses_bad_calls():
    options = StudyOptions.make(reps=6, fixed_design=True, estimators=(NAME,))
    panel = draw(options, 0).panel
    b = BatchedCSControls(panel, options)
    Y = panel[["nqp"]].to_numpy(float)
    with pytest.raises(ValueError, match="not 'cs_or'"):
        b.rows("cs_or", {"nqp": Y}, [{}], [0])
    with pytest.raises(ValueError, match="missing or infinite"):
        b.rows(NAME, {"nqp": np.where(np.arange(len(Y))[:, None] == 7, np.nan, Y)}, [{}], [0])
    with pytest.raises(ValueError, match="2 truths for 1 replications"):
        b.rows(NAME, {"nqp": Y}, [{}, {}], [0, 0])
