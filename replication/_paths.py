"""Where the project's files are.  The package is used from its checkout (editable
install), so the project root is the parent of the package folder."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("REPLICATION_ROOT", PACKAGE_DIR.parent)).resolve()
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
RAW_DIR = DATA_DIR / "raw"
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"
BOOK_DIR = PROJECT_ROOT / "book"


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
