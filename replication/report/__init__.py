"""Report: the third layer, above the estimators, below :mod:`replication.book`.

``paper``      the paper's reported numbers (``paper_results.yaml``)
``specs``      the chapters' specifications: one function per table or figure of the
               paper, shared by the chapters and the scorecard
``tables``     table layouts, paper-beside-ours views, CSV export
``threshold_tables``  chapter 6: Tables 5 and 6, the threshold estimates, Hansen's data
``staggered_tables``  chapter 8: event-study paths, estimators side by side, HonestDiD
``narrative``  the sentences the chapters glue into their text
``figures``    the book's figure theme and every figure
``audit``      internal-consistency checks of the paper's tables
``scorecard``  our estimates against the paper's, with tolerances and verdicts
"""
