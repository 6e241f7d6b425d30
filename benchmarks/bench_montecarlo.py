"""Monte Carlo with the design held fixed: 1,000 replications of the five linear DID
estimators (TWFE with and without controls, Sun-Abraham, imputation with its 199-draw
bootstrap SE, Callaway-Sant'Anna by outcome regression) on the paper-sized panel
(285 cities x 14 years), batched (replication.montecarlo.batched) vs a loop of the book's
own functions.

The outcomes are the default panel's index plus independent normal noise (SD 0.05), one
column per replication, on the default panel's fixed design (the batched work does not
depend on the values).  The loop is timed on the first N_LOOP replications and
extrapolated linearly to 1,000 (one run); the batched timings, each including its design
work, are the best of N_BEST runs.  On the looped replications both give the same
estimates and SEs (asserted to 1e-10) before anything is printed.  Run with `make bench`
or directly.
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

import replication as rp
from replication.book.chapter import load
from replication.data.schema import CONTROLS
from replication.montecarlo import batched

N_REPS = 1000
N_LOOP = 20  # replications of the loop actually timed; extrapolated linearly to N_REPS
N_BEST = 3  # the batched timings are the best of this many runs (each includes the design work)
GOAL_S = 30.0


def best_of(n: int, f, *args, **kw):
    """(shortest wall time of n calls, the result)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = f(*args, **kw)
        times.append(time.perf_counter() - t0)
    return min(times), out


def book_functions(panel):
    """estimator id -> f(panel with the outcome "nqp") -> (estimate, se), the book's own functions."""
    c = list(CONTROLS)

    def cs(p):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return rp.callaway_santanna(p, "nqp", est_method="reg").att

    return {"twfe_controls": lambda p: rp.twfe(p, "nqp", "did", c),  # = specs.table2(p)["(5)"]
            "twfe_nocontrols": lambda p: rp.twfe(p, "nqp", "did", ()),
            "sun_abraham": lambda p: rp.sun_abraham(p, "nqp", controls=c).att,
            "imputation": lambda p: rp.imputation(p, "nqp", controls=c, n_draws=199, seed=0),
            "cs_or": cs}


def main() -> None:
    panel, *_ = load(20251206)
    design = panel.drop(columns="nqp")
    Y = panel["nqp"].to_numpy()[:, None] + 0.05 * np.random.default_rng(1).standard_normal((len(panel), N_REPS))
    batched.linear_estimates(design, Y[:, :2])  # warm-up (imports, caches)
    t_batch = {name: best_of(N_BEST, batched.linear_estimates, design, Y, estimators=[name])[0]
               for name in batched.ESTIMATORS}  # each estimator alone: design work + all replications
    t_all, ours = best_of(N_BEST, batched.linear_estimates, design, Y)
    funcs = book_functions(panel)
    t_loop = dict.fromkeys(funcs, 0.0)
    diff = 0.0
    for r in range(N_LOOP):
        p = panel.assign(nqp=Y[:, r])
        for name, f in funcs.items():
            t0 = time.perf_counter()
            res = f(p)
            t_loop[name] += time.perf_counter() - t0
            term = "did" if name.startswith("twfe") else "ATT"
            row = ours[(ours["rep"] == r) & (ours["estimator"] == name)].iloc[0]
            diff = max(diff, abs(row["estimate"] - res.params[term]), abs(row["se"] - res.std_errors[term]))
    assert diff < 1e-10, f"implementations disagree: max |diff| = {diff}"
    scale = N_REPS / N_LOOP
    loop_total = sum(t_loop.values()) * scale
    print(f"Monte Carlo, fixed design, {N_REPS:,} replications x 5 linear DID estimators, {len(panel)} city-years, "
          f"{os.cpu_count()} cores (estimates and SEs agree to {diff:.1e})")
    print(f"  {'estimator':<22}{'batched s':>11}{'loop s':>11}{'ratio':>10}   (loop: {N_LOOP} timed, extrapolated; batched: best of {N_BEST})")
    for name in batched.ESTIMATORS:
        lt = t_loop[name] * scale
        print(f"  {name:<22}{t_batch[name]:>11.3f}{lt:>11.1f}{lt / t_batch[name]:>10.0f}")
    print(f"  {'all five, one call':<22}{t_all:>11.3f}{loop_total:>11.1f}{loop_total / t_all:>10.0f}")
    print(f"  throughput: batched {N_REPS / t_all:,.0f} replications/s, loop {N_REPS / loop_total:.2f} replications/s")
    print(f"  goal {N_REPS:,} replications <= {GOAL_S:.0f} s: {'met' if t_all <= GOAL_S else 'NOT met'} "
          f"({t_all:.2f} s)")


if __name__ == "__main__":
    main()
