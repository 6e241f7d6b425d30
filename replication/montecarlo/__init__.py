"""Monte Carlo study of the paper's design: replications of the simulator, each running the book's estimators.

One draw of the simulated panel tells little ("our interval covers the truth" can be luck);
this package repeats the simulator many times and measures how the paper's estimators behave
on data like the paper's: bias, RMSE, coverage of their 95 % intervals against the realised
and the population estimand, and the size and power of the paper's tests.

>>> from replication import montecarlo as mc
>>> opts = mc.StudyOptions.make(reps=200, calibration="paper", estimators="linear", fixed_design=True)
>>> res = mc.run_study(opts, jobs=2, cache_dir=".montecarlo_cache")   # resumable
>>> res.summary            # estimator, estimand, target, reps, truth_mean, bias, rmse, ...
>>> mc.power_curve(opts, factors=(0, 0.5, 1))   # rejection rates by effect size

Modules (layer: above :mod:`replication.estimators`, below :mod:`replication.report`):

* :mod:`.options` - :class:`StudyOptions` (checked; its key names the cache) and the seeds
  of every replication, derived from (seed, replication);
* :mod:`.draws` - one replication's panel: simulated (design redrawn, or held fixed),
  validated and indexed as the book loads it, with its truth;
* :mod:`.estimators` - the book's estimators as one replication runs them (result protocol);
* :mod:`.batched` - the linear DID estimators for many outcome draws on one fixed design;
* :mod:`.replicate` - a block of replications; :mod:`.runner` - blocks in parallel
  (joblib processes, or a Dask cluster through joblib's Dask backend), the cache
  (:mod:`.cache`) and the progress bar; :mod:`.summary` - the summary table with Monte
  Carlo standard errors; :mod:`.power` - null runs and power curves;
* :mod:`.calibrate` - how the ``paper`` calibration (:mod:`replication.data.calibration`)
  was fitted; :mod:`.command` - ``python -m replication montecarlo``.
"""
from __future__ import annotations

# public name -> module; imported on first access (PEP 562), so that the command line's
# parser (replication.montecarlo.command) does not load the estimators
_LAZY = {
    "StudyOptions": "options", "StudyError": "options", "derive_seed": "options", "ESTIMATOR_SETS": "options",
    "FULL": "options", "LINEAR": "options", "NULL_OPTIONS": "options",
    "run_study": "runner", "StudyResult": "runner",
    "summarise": "summary", "SUMMARY_COLUMNS": "summary",
    "power_curve": "power", "power_study": "power", "rejection_rates": "power",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'replication.montecarlo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"replication.montecarlo.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
