"""Shared fixtures.

Oracle data (public data sets and published R/Stata outputs that our estimators are checked
against) ships with the project in ``tests/data/oracles/`` (see its README.md for origin and
licence of each file), so the oracle tests run on every clone and never skip.

Only the maintainers' provenance check in ``tests/test_reference.py`` reads ``../shared/``
(``REPLICATION_SHARED`` overrides the location); it skips with a reason when that folder is
absent, as it is on a user's clone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ROOT / "tests" / "data" / "oracles"
SHARED = Path(os.environ.get("REPLICATION_SHARED", ROOT.parent / "shared")).resolve()
REFERENCE = SHARED / "reference-data"


def need(path: Path, what: str = "maintainer data") -> Path:
    """Skip (with a reason) when maintainer-only data under ../shared/ is absent."""
    if not path.exists():
        pytest.skip(f"{path} not present ({what}; a user's clone has no ../shared/)")
    return path


@pytest.fixture(scope="session")
def sim():
    from replication.data import default_simulation

    return default_simulation()


@pytest.fixture(scope="session")
def panel():
    from replication.data import load_panel

    return load_panel()


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m replication ...`` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "replication", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)
