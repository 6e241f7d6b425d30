"""Replication of Zhu & Chen (2025), "Research on the impact of smart city construction
on new quality productivity": data, estimators, tables and figures.

All logic lives in this package; the notebooks in ``notebooks/`` narrate and call
one function per table or figure.

The public API (``import replication as rp``) works on any entity-by-period panel: every
estimator takes the names of the columns it uses (``y``, ``treat`` or ``cohort``,
``controls``, ``entity``, ``time``, ``cluster``); the defaults are the paper's names, except
that ``cluster``, where an estimator takes it, defaults to whatever ``entity`` is
(:data:`replication.estimators.results.ENTITY`; ``cluster=None``: no clustering).  Results
follow one protocol (:mod:`replication.estimators.results`): estimates have ``params``,
``std_errors``, ``pvalues``, ``conf_int()``, ``summary()`` and ``tidy()``; tests have
``statistic``, ``pvalue`` and ``n_draws``.
The names are imported lazily (PEP 562), so ``import replication`` stays cheap:

=========================  =====================================================
``load_panel``             the default panel, or your file validated
``load_analysis_panel``    the panel with its index, truth (default data) and report
``simulate_panel``         the semi-synthetic panel with its truth
``validate_panel``         schema checks and repairs of a city-year panel
``balance_panel``          make a panel balanced explicitly
``add_index``              add the entropy-weighted NQP index column
``entropy_index``          fit the entropy-weight index
``twfe``                   two-way fixed-effects DID with clustered SEs
``placebo_test``           vectorised placebo (permutation) test of the DID
``psm_match``              propensity score matching and balance test
``mediation``              three-step mediation with the Sobel test and an entity-cluster
                           bootstrap (``replication.estimators.mediation.three_step``)
``panel_threshold``        Hansen (1999) panel threshold model
``subgroups``              the DID by group (heterogeneity)
``event_study``            leads and lags of adoption
``bacon``                  Goodman-Bacon decomposition
``callaway_santanna``      Callaway-Sant'Anna group-time ATTs (csdid)
``sun_abraham``            Sun-Abraham interaction-weighted event study
``imputation``             Borusyak-Jaravel-Spiess imputation ATT
``honest_did``             Rambachan-Roth sensitivity of an event study
``StudyOptions``           a Monte Carlo study of the simulator (``replication.montecarlo``)
``run_study``              run it: bias, RMSE, coverage and rejection rates per estimator
=========================  =====================================================
"""
__version__ = "0.1.0"

# public name -> (module, attribute); resolved on first access by __getattr__
_LAZY = {
    "load_panel": ("replication.data", "load_panel"),
    "load_analysis_panel": ("replication.data", "load_analysis_panel"),
    "simulate_panel": ("replication.data", "simulate_panel"),
    "validate_panel": ("replication.data", "validate_panel"),
    "balance_panel": ("replication.estimators.within", "balance_panel"),
    "add_index": ("replication.data.index", "add_index"),
    "entropy_index": ("replication.data.index", "entropy_index"),
    "twfe": ("replication.estimators.did", "twfe"),
    "placebo_test": ("replication.estimators.placebo", "permutation_test"),
    "psm_match": ("replication.estimators.psm", "psm"),
    "mediation": ("replication.estimators.mediation", "three_step"),
    "panel_threshold": ("replication.estimators.threshold", "fit_panel_threshold"),
    "subgroups": ("replication.estimators.heterogeneity", "subgroups"),
    "event_study": ("replication.estimators.staggered", "event_study"),
    "bacon": ("replication.estimators.staggered", "bacon"),
    "callaway_santanna": ("replication.estimators.staggered", "callaway_santanna"),
    "sun_abraham": ("replication.estimators.staggered", "sun_abraham"),
    "imputation": ("replication.estimators.staggered", "imputation"),
    "honest_did": ("replication.estimators.api", "honest_did"),
    "StudyOptions": ("replication.montecarlo.options", "StudyOptions"),
    "run_study": ("replication.montecarlo.runner", "run_study"),
}

__all__ = list(_LAZY)


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'replication' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
