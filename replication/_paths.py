"""Where the project's files are.  Two kinds of place, kept apart:

* **Package resources** live inside the package wherever it is installed (a checkout with
  an editable install, or ``site-packages`` after ``pip install .``): the real fact tables
  (:data:`REFERENCE_DIR`, ``replication/data/reference/``, with their provenance README)
  and the paper's numbers (``replication/report/paper_results.yaml``).  The library and
  the commands ``simulate``, ``validate``, ``check`` and ``codebook`` need nothing else.
* **The project checkout** holds the notebooks, parameter files, the book and ``data/``
  (the codebook README, a user's files in ``data/raw/``).  :data:`PROJECT_ROOT` is
  ``$REPLICATION_ROOT`` when set, else the parent of the package folder: the checkout for
  an editable install, ``site-packages`` for a regular one, where none of these exist.
  ``run`` and ``build`` need it; :func:`require_checkout` says what is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = PACKAGE_DIR / "data" / "reference"  # package data: ships in the wheel

PROJECT_ROOT = Path(os.environ.get("REPLICATION_ROOT") or PACKAGE_DIR.parent).resolve()
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"
BOOK_DIR = PROJECT_ROOT / "book"


class CheckoutNotFound(FileNotFoundError):
    """A command that needs the project checkout (notebooks, book) runs without one."""


def require_checkout(command: str, needs: tuple[str, ...] = ("notebooks", "book")) -> Path:
    """PROJECT_ROOT if it holds the folders ``needs``, else :class:`CheckoutNotFound` naming
    the missing folders, where they were looked for and how to fix it."""
    missing = [f"{n}/" for n in needs if not (PROJECT_ROOT / n).is_dir()]
    if missing:
        raise CheckoutNotFound(
            f"`python -m replication {command}` needs the project checkout, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not in {PROJECT_ROOT}. An installed package carries the "
            "library and its reference tables, not the notebooks or the book. Fix: run it in a clone of the "
            "repository (with `pip install -e .` there), or set REPLICATION_ROOT to the clone's folder.")
    return PROJECT_ROOT


def display_path(path) -> str:
    """How the book names a file: relative to the project when inside it (POSIX form), else
    its name only, so that no absolute local path is ever published; "" for no path."""
    if not path:
        return ""
    p = Path(os.path.abspath(Path(path).expanduser()))
    for q in (p, p.resolve()):
        try:
            return q.relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            pass
    return p.name
