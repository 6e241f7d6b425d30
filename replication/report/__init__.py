"""Report: the third layer, above the estimators, below :mod:`replication.book`.

``paper``      the paper's reported numbers (``paper_results.yaml``)
``tables``     table layouts, paper-beside-ours views, CSV export
``figures``    the book's figure theme and every figure
``audit``      internal-consistency checks of the paper's tables
``scorecard``  our estimates against the paper's, with tolerances and verdicts
"""
