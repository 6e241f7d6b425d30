"""Size of the threshold model's bootstrap F test of no threshold against one (Hansen 1999,
:func:`replication.estimators.threshold.fit_panel_threshold`, as the Monte Carlo study runs
it: ``nqp`` on ``did`` with regimes of ``isu``, the controls and year dummies, xthreg's
conventions) on outcomes with no threshold at all: city effect + year effect + iid normal
noise on the study's own design (its real ``isu``, ``did`` and controls).

With exchangeable draws the bootstrap p-value with ``B`` draws (share of draws with F* >= F)
is uniform on {0, 1/B, ..., 1}: ``p <= 0.05`` has probability 1/(B+1) = 5 % for B = 19, and
the mean p-value is 1/2 with variance (B + 2) / (12 B).  Both are checked within 3 Monte
Carlo standard errors, with the batched copy of the study
(:class:`replication.montecarlo.batched_threshold.BatchedThreshold`), which is first checked
to give the library's own F and p-value on these outcomes.

Why: the study's null run (``--null --dgp selection_strength=0``) rejects "no threshold" far
more often than 5 %: 17.0 % (MC SE 1.2) on the fixed design and 26.1 % (1.4) on redrawn designs
with 19 draws, 17.5 % and 29.2 % with 99 (1,000 replications).  That is the simulator's outcome,
not the test: pure noise over the same designs is rejected in 4.8-5.5 % (SE 0.7).  The simulated
null ``nqp`` is not linear in the model's regressors: the count indicators are censored at their
floor (``0.02 * unit``; 37-42 % of the 2009 values of the heavily weighted emerging_emp, patents
and college_students), which bends the early-year paths of low-level cities and leaves city
trends that differ with ``isu``; ``did x 1(isu > g)`` picks them up.  Without the floor the
study's null is rejected at the nominal rate (6.0 %, SE 1.2, fixed design; 3.7 %, SE 0.9,
redrawn; against 15.0 % and 27.5 % with it; 400 replications each, both arms without rounding
and deleted cells).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replication.montecarlo.batched_threshold import BatchedThreshold
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import SPEC, run_estimator
from replication.montecarlo.options import StudyOptions

B = 19  # bootstrap draws: p <= 0.05 exactly when F beats all 19 (probability 1/20 under the null)
R = 300  # pure-noise replications
CITIES = 150  # the first cities of the study's design (a balanced panel; fewer cities keep this fast)


def _options(**kw) -> StudyOptions:
    return StudyOptions.make(reps=1, fixed_design=True, null=True, dgp={"selection_strength": 0},
                             estimators=("threshold",), n_boot=B, **kw)


def noise_outcomes(design: pd.DataFrame, reps: int, seed: int) -> np.ndarray:
    """(rows, reps): city effect + year effect + iid N(0, 1), no dependence on isu or did."""
    rng = np.random.default_rng(seed)
    city = pd.factorize(design[SPEC["entity"]])[0]
    year = pd.factorize(design[SPEC["time"]])[0]
    return (rng.normal(size=(city.max() + 1, reps))[city] + rng.normal(size=(year.max() + 1, reps))[year]
            + rng.normal(size=(len(design), reps)))


def _study(**kw):
    """The options, the first CITIES cities of the study's fixed design, and pure-noise outcomes on it."""
    options = _options(**kw)
    panel = draw(options, 0).panel
    design = panel[panel[SPEC["entity"]].isin(panel[SPEC["entity"]].unique()[:CITIES])].reset_index(drop=True)
    return options, design, noise_outcomes(design, R, seed=options.seed)


@pytest.fixture(scope="module")
def study():
    return _study()


@pytest.mark.parametrize("kw", [{}, {"calibration": "paper", "seed": 7}], ids=["default", "paper"])
def test_batched_f_and_p_are_the_librarys_on_noise(kw, study):
    """The size below is the library's: the batched rows equal run_estimator's (fit_panel_threshold),
    on the study's design and on a second one (the paper's calibration, another seed)."""
    options, design, Y = study if not kw else _study(**kw)
    cols = [0, 1]
    seeds = [11, 12]
    ours = BatchedThreshold(design, options).rows("threshold", {"nqp": Y[:, cols]}, [{}, {}], seeds)
    for j, s, got in zip(cols, seeds, ours):
        want = run_estimator("threshold", design.assign(nqp=Y[:, j]), {}, options, s)
        assert [g["estimand"] for g in got] == [w["estimand"] for w in want]
        g, w = got[-1], want[-1]
        assert g["estimator"] == w["estimator"] == "threshold_F"
        assert g["estimate"] == pytest.approx(w["estimate"], rel=1e-10, abs=0)
        assert g["pvalue"] == w["pvalue"]


def test_bootstrap_f_test_has_its_size_on_pure_noise(study):
    """Rejection rate at 5 % within 3 MC SEs of 5 %, mean p-value within 3 MC SEs of 1/2."""
    options, design, Y = study
    bt = BatchedThreshold(design, options)
    p = bt.estimate(Y[bt.take], list(range(R)))["p"]
    assert np.isfinite(p).all()
    rate, se_rate = (p <= 0.05).mean(), np.sqrt(0.05 * 0.95 / R)
    assert abs(rate - 0.05) <= 3 * se_rate, (rate, se_rate)
    se_mean = np.sqrt((B + 2) / (12 * B) / R)
    assert abs(p.mean() - 0.5) <= 3 * se_mean, (p.mean(), se_mean)
