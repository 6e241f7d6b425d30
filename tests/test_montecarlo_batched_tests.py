"""The batched placebo randomisation test and pre-trend Wald test
(replication.montecarlo.batched_tests) return, replication by replication, the rows the
looped run_estimator returns: the same strings, numbers equal to 1e-10 (relative for
statistics above 1)."""
from __future__ import annotations

import numpy as np
import pytest

from replication.montecarlo.batched_tests import BATCHED_TESTS, BatchedPlacebo, BatchedPretrendWald
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import run_estimator
from replication.montecarlo.options import StudyOptions

NAMES = ("placebo_ri", "pretrend_wald")
TOL = 1e-10
N_NOISE = 3  # outcome columns of pure noise on the design: placebo p-values spread over (0, 1]


def study(reps: int, **kw):
    """Options of a fixed-design study of the two tests and ``reps`` of its replications."""
    options = StudyOptions.make(reps=reps, fixed_design=True, estimators=NAMES, **kw)
    return options, [draw(options, r) for r in range(reps)]


def outcome_columns(draws, noise_seed: int = 0) -> list[np.ndarray]:
    """The replications' ``nqp`` and :data:`N_NOISE` noise columns of the same scale."""
    cols = [d.panel["nqp"].to_numpy(float) for d in draws]
    noise = np.random.default_rng(noise_seed).standard_normal((len(cols[0]), N_NOISE)) * np.std(cols[0])
    return cols + list(noise.T)


def assert_same_rows(ours: list[list[dict]], loop: list[list[dict]]):
    assert len(ours) == len(loop)
    for r, (a_rows, b_rows) in enumerate(zip(ours, loop)):
        assert len(a_rows) == len(b_rows), (r, a_rows, b_rows)
        for a, b in zip(a_rows, b_rows):
            assert b["kind"] != "failure", b  # the loop ran: a failure here is no comparison
            assert list(a) == list(b), (r, a, b)
            for key, va in a.items():
                vb = b[key]
                if isinstance(vb, str):
                    assert va == vb, (r, key, va, vb)
                elif np.isnan(vb):
                    assert np.isnan(va), (r, key, va)
                else:
                    assert abs(va - vb) <= TOL * max(1.0, abs(vb)), (r, key, va, vb)


def compare(name, design, columns, options, seeds, truth, batch=None):
    """``name`` batched on ``design`` for the outcome ``columns`` against run_estimator looped
    over ``design`` with each column as ``nqp``; returns the batched rows."""
    batch = batch or BATCHED_TESTS[name](design, options)
    assert batch.outcomes == ("nqp",) and name in batch.names
    ours = batch.rows(name, {"nqp": np.column_stack(columns)}, [truth] * len(columns), seeds)
    loop = [run_estimator(name, design.assign(nqp=y), truth, options, s) for y, s in zip(columns, seeds)]
    assert_same_rows(ours, loop)
    return ours


@pytest.fixture(scope="module")
def default_study():
    return study(4)


@pytest.mark.parametrize("name", NAMES)
def test_default_study_equals_the_loop(default_study, name):
    options, draws = default_study
    columns = outcome_columns(draws)
    seeds = [20251206] * len(columns)  # one resampling seed for the study, as the lead passes it
    ours = compare(name, draws[0].panel, columns, options, seeds, draws[0].truth)
    p = [rows[0]["pvalue"] for rows in ours]
    assert len(set(p)) > 2 and max(p) > 0.1, p  # the comparison has teeth: p-values differ by column


def test_another_setting_unbalanced_shuffled_and_two_seeds():
    """The paper calibration, another study seed, 49 placebo draws, a design with rows missing
    (unbalanced) and in shuffled order, replications with two different seeds in one call."""
    options, draws = study(2, calibration="paper", seed=7, n_placebo=49)
    rng = np.random.default_rng(1)
    keep = rng.permutation(len(draws[0].panel))[:-25]
    design = draws[0].panel.iloc[keep]
    columns = [c[keep] for c in outcome_columns(draws, noise_seed=2)]
    seeds = [11, 12] * 2 + [11]
    for name in NAMES:
        ours = compare(name, design, columns, options, seeds, draws[0].truth)
        if name == "placebo_ri":  # a second call with the same seed reuses its placebo draws
            batch = BatchedPlacebo(design, options)
            compare(name, design, columns[:2], options, [12, 12], draws[0].truth, batch=batch)
            blocks = batch.placebo_regressors(12)
            compare(name, design, columns[2:4], options, [12, 12], draws[0].truth, batch=batch)
            assert batch.placebo_regressors(12) is blocks


def test_designs_the_loop_cannot_fit_are_refused_with_its_message(default_study):
    options, draws = default_study
    d = draws[0]
    untreated = d.panel.assign(pilot_year=d.panel["pilot_year"].mask(d.panel.index >= 0), did=0)
    for name, cls in BATCHED_TESTS.items():
        note = run_estimator(name, untreated, d.truth, options, 1)[0]["note"]
        with pytest.raises(ValueError) as err:
            cls(untreated, options)
        assert note == f"ValueError: {err.value}"[:300]
    gap = d.panel.assign(gov=d.panel["gov"].mask(d.panel.index == 3))
    with pytest.raises(ValueError, match="missing values in"):
        BatchedPretrendWald(gap, options)


def test_bad_calls_are_refused(default_study):
    options, draws = default_study
    y = np.column_stack(outcome_columns(draws[:2]))
    placebo = BatchedPlacebo(draws[0].panel, options)
    with pytest.raises(ValueError, match="seeds must be integers"):
        placebo.rows("placebo_ri", {"nqp": y[:, :1]}, [{}], [np.random.default_rng(0)])
    with pytest.raises(ValueError, match="one seed per replication"):
        placebo.rows("placebo_ri", {"nqp": y}, [{}] * y.shape[1], [1])
    with pytest.raises(ValueError, match="not 'pretrend_wald'"):
        placebo.rows("pretrend_wald", {"nqp": y}, [{}] * y.shape[1], [1] * y.shape[1])
    bad = y.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="missing or infinite"):
        BatchedPretrendWald(draws[0].panel, options).rows("pretrend_wald", {"nqp": bad}, [{}] * y.shape[1],
                                                          [1] * y.shape[1])
    with pytest.raises(ValueError, match="needs the outcome 'nqp'"):
        placebo.rows("placebo_ri", {"hc": y}, [{}] * y.shape[1], [1] * y.shape[1])
