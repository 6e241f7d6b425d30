"""Monte Carlo throughput of the FULL estimator set (all twelve of the study: TWFE with and
without controls, Sun-Abraham, imputation, Callaway-Sant'Anna with and without covariates,
PSM-DID, mediation, subgroups, the threshold model with its bootstrap F, the placebo RI test,
the pre-trend Wald test), end to end (draw, validate and index every panel, every estimator,
its inference), on 2 processes, with the study's default resampling (99 placebo draws, 19
threshold bootstrap draws, 49 imputation bootstrap draws).

Two designs:

* **fixed** (``--fixed-design``: the cities, controls and pilots held fixed, the outcomes
  redrawn): every estimator batched over each block of replications;
* **redrawn** (the default study: a new design every replication): every estimator through
  its batched code built on each replication's own design (one column), where that is
  cheaper than the library call (the classes whose ``redrawn`` is true: all of them now).

Against the loop: the same blocks with every estimator looped through the library
(``run_block(..., batch=False)``), on the same 2 processes.  Both ways give the same rows
(asserted on the first block, to 1e-10) before anything is printed.  The looped runs are
shorter (``N_LOOP`` replications); throughput is replications per second of wall time with a
warm pool of worker processes.  Run with `make bench` or directly.
"""
from __future__ import annotations

import os
import time

import numpy as np
from joblib import Parallel, delayed

from replication.montecarlo import StudyOptions
from replication.montecarlo.replicate import run_block
from replication.montecarlo.runner import blocks

JOBS = 2
N_BATCHED = {"fixed": 400, "redrawn": 100}
N_LOOP = {"fixed": 40, "redrawn": 40}
GOAL = 10.0  # replications per second, full estimator set (issue #19)


def timed(pool, options: StudyOptions, n: int, batch: bool) -> float:
    """Wall seconds for replications 0..n-1 in blocks of 10 on the pool."""
    t0 = time.perf_counter()
    pool(delayed(run_block)(options, b, batch=batch) for b in blocks(range(n)))
    return time.perf_counter() - t0


def agree(options: StudyOptions) -> float:
    """Largest relative difference between batched and looped rows of one block (asserted small)."""
    b, lo = run_block(options, range(3)), run_block(options, range(3), batch=False)
    assert list(b["estimand"]) == list(lo["estimand"])
    diff = 0.0
    for col in ("estimate", "se", "lower", "upper", "pvalue"):
        x, y = b[col].to_numpy(float), lo[col].to_numpy(float)
        assert (np.isnan(x) == np.isnan(y)).all(), col
        diff = max(diff, float(np.nanmax(np.abs(x - y) / np.maximum(1.0, np.abs(y)), initial=0.0)))
    assert diff < 1e-10, f"batched and looped rows disagree: {diff}"
    return diff


def main() -> None:
    print(f"Monte Carlo, full estimator set (12 estimators), {JOBS} processes on {os.cpu_count()} cores, "
          "default calibration and resampling")
    print(f"  {'design':<9}{'batched rep/s':>15}{'looped rep/s':>14}{'ratio':>8}   (replications timed: batched / looped)")
    with Parallel(n_jobs=JOBS) as pool:
        pool(delayed(run_block)(StudyOptions.make(reps=2, estimators="linear"), [r]) for r in range(JOBS))  # warm
        for design in ("fixed", "redrawn"):
            o = StudyOptions.make(reps=N_BATCHED[design], fixed_design=design == "fixed")
            diff = agree(o)
            pool(delayed(run_block)(o, [r]) for r in range(JOBS))  # each worker's design work, once
            tb = timed(pool, o, N_BATCHED[design], True)
            tl = timed(pool, o, N_LOOP[design], False)
            rb, rl = N_BATCHED[design] / tb, N_LOOP[design] / tl
            print(f"  {design:<9}{rb:>15.1f}{rl:>14.2f}{rb / rl:>8.1f}   ({N_BATCHED[design]} / {N_LOOP[design]}; "
                  f"rows agree to {diff:.0e})")
            print(f"  goal >= {GOAL:.0f} replications/s of the full set ({design} design): "
                  f"{'met' if rb >= GOAL else 'NOT met'} ({rb:.1f})")


if __name__ == "__main__":
    main()
