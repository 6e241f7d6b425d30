"""Shared fixtures.  Tests that read ../shared/ skip with a reason when it is absent
(a user's clone has no shared folder)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REPLICATION_SHARED", ROOT.parent / "shared")).resolve()
REFERENCE = SHARED / "reference-data"
ORACLE = SHARED / "oracle-data"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (maintainer data; a user's clone does not have it)")
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
