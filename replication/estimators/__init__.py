"""Estimators: the second layer, above :mod:`replication.data`, below :mod:`replication.report`.

One module per method, each working on any entity-by-period panel with the column names
passed in (``y``, ``treat``/``cohort``, ``entity``, ``time``, ``cluster``, ``controls``):

``within``        two-way within transformation (closed form on balanced panels,
                  alternating projections otherwise), FWL kernels, explicit balancing
``did``           two-way fixed-effects DID with clustered standard errors
``placebo``       vectorised placebo (randomisation) test
``psm``           propensity score matching, balance, PSM-DID samples
``robustness``    wild cluster bootstrap, dropping each batch, Table 3's samples
``mediation``     three-step mediation, Sobel and bootstrap intervals
``threshold``     Hansen (1999) panel threshold model with bootstrap and LR sets
``heterogeneity`` DID by subgroup, interaction and permutation tests of gaps
``staggered``     event study, Goodman-Bacon, Callaway-Sant'Anna, Sun-Abraham, imputation
``honestdid``     Rambachan-Roth (HonestDiD) sensitivity analysis
``api``           thin wrappers of the public API (:func:`honest_did`)

Estimators import only :mod:`replication.data` and each other, never the report or book
layers (``tests/test_project.py`` enforces it).
"""
