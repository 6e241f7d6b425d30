"""papermill's command line (``python -m replication.book.papermill_main`` takes papermill's
arguments), as the runner starts it for every chapter, without one slow optional import.

jsonschema, which nbformat uses to validate notebooks, imports the optional IRI-format
checker ``rfc3987_syntax`` when it is installed (the Jupyter stack installs it); that module
builds a grammar when imported, 1.2 s of the 2.1 s papermill takes to start.  Notebooks
have no IRI fields, so the runner's papermill processes do without it: jsonschema treats
the missing module as an optional format it does not check.  Measured: papermill's start
2.1 s -> 0.8 s, for each of the book's chapters.
"""
from __future__ import annotations

import sys


def main() -> None:
    """Run papermill's command line on ``sys.argv`` without the IRI-format checker."""
    sys.modules.setdefault("rfc3987_syntax", None)  # an import of it now fails; jsonschema skips that format
    from papermill.cli import papermill

    papermill(prog_name="papermill")


if __name__ == "__main__":
    main()
