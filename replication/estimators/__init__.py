"""Estimators: the second layer, above :mod:`replication.data`, below :mod:`replication.report`.

One module per method, each working on any entity-by-period panel with the column names
passed in (``y``, ``treat``/``cohort``, ``entity``, ``time``, ``cluster``, ``controls``):

``within``        two-way within transformation (closed form on balanced panels,
                  alternating projections otherwise), FWL kernels, explicit balancing
``did``           two-way fixed-effects DID with clustered standard errors
``placebo``       vectorised placebo (randomisation) test
``psm``           propensity score matching, balance, PSM-DID samples
``robustness``    wild cluster restricted bootstrap, dropping each adoption batch
``mediation``     three-step mediation, Sobel test and entity-cluster bootstrap
``threshold``     Hansen (1999) panel threshold model with bootstrap and LR sets
                  (the search in ``threshold_search``, the tests, LR sets and regime
                  coefficients in ``threshold_inference``)
``heterogeneity`` DID by subgroup, interaction and permutation tests of gaps
``staggered``     event study and Sun-Abraham; re-exports ``bacon`` (Goodman-Bacon),
                  ``callaway_santanna`` (via csdid) and ``imputation`` (Borusyak et al.);
                  their results in ``staggered_results``
``honestdid``     Rambachan-Roth (HonestDiD) sensitivity analysis: smoothness (FLCI) here,
                  relative magnitudes / ARP in ``honestdid_rm``, R's random numbers in
                  ``honestdid_common``
``api``           thin wrappers of the public API (:func:`honest_did`, :class:`HonestDiDResult`)

Estimators import only :mod:`replication.data` and each other, never the report or book
layers (``tests/test_project.py`` enforces it).
"""
