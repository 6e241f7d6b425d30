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


def copy_and_run(proj: Path) -> dict:
    """Copy the project to ``proj`` and execute every chapter there (params/quick.yaml), as a
    user would; returns the environment (``REPLICATION_ROOT=proj``) for further commands."""
    from replication.book.runner import copy_project

    copy_project(proj)
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    run = subprocess.run([sys.executable, "-m", "replication", "run", "--params", "params/quick.yaml"], cwd=proj,
                         env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return env


def _once(tmp_path_factory, name: str, make) -> Path:
    """``make(folder)`` once per test session, even when pytest-xdist runs the session in
    several worker processes (``make test`` uses both cores): the workers share the base
    temporary folder, and a file lock lets the first one make it and the others wait."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder all workers' temporary folders live in
    folder, done = base / name, base / f"{name}.done"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            make(folder)
            done.write_text("ok")
    return folder


@pytest.fixture(scope="session")
def book_project(tmp_path_factory) -> Path:
    """A copy of the project with every chapter executed, shared by tests/test_book.py and
    tests/test_browser.py (the working tree's book is never touched).  Read-only for the
    tests: a test that changes it works on its own copy."""
    return _once(tmp_path_factory, "executed-book", lambda d: copy_and_run(d / "project")) / "project"


@pytest.fixture(scope="session")
def book_html(book_project, tmp_path_factory) -> Path:
    """``book/_build/html`` of :func:`book_project`, built strictly (``python -m replication build``)."""
    def build(_):
        env = {**os.environ, "REPLICATION_ROOT": str(book_project)}
        run = subprocess.run([sys.executable, "-m", "replication", "build"], cwd=book_project, env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    _once(tmp_path_factory, "built-book", build)
    return book_project / "book" / "_build" / "html"


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m replication ...`` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "replication", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)

