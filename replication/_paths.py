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
