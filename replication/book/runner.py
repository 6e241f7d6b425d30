"""Execute the notebooks with papermill and build the book, atomically.

``run_notebooks`` validates every parameter against the notebook's ``parameters`` cell
*before* anything runs (papermill itself accepts any name; :mod:`.parameters`), resolves
and validates a user's data file once (:mod:`.datasource`), executes the notebooks in
parallel into a staging folder (:mod:`.execute`, :mod:`.postprocess`), and only when all
succeeded swaps the staging folder in for ``book/chapters/`` (:mod:`.staging`); each page
then shows the table of its parameters with where each value came from.  A
failing notebook is kept in ``_runs/failed/`` with its traceback, and the message names
the notebook and cell; the previous chapters are left untouched.  ``build_book``
(:mod:`.build`) renders into a temporary folder and swaps it in for ``book/_build`` the
same way.

Interrupts (:mod:`.interrupts`).  SIGINT and SIGTERM raise
:class:`~replication.book.interrupts.Interrupted` (a ``KeyboardInterrupt``) at most once
per run; the cleanup that follows (stop the notebook processes and their kernels, remove
the staging folder, put a moved-away ``book/chapters`` back) can therefore not be
interrupted itself.  Starting a notebook process and the swap of the chapter folders are
critical sections: a signal that arrives inside one is acted on when it ends, and a
signal that arrives during the swap undoes it.  Once the new chapters are in place the
run completes; a late signal is reported by the CLI.

Data.  ``data_path`` and ``mapping`` are resolved against the directory the command was
started in, then against the project root; notebooks receive a path relative to the
project root (POSIX form) for a file inside the project, an absolute path otherwise.  A
missing file stops the run in milliseconds (nothing heavy is imported before that
check); an unusable panel stops it before any kernel starts (:class:`DataError`, exit
code 2).

Records for the book's reproducibility page, in ``book/chapters/outputs/``
(:mod:`.records`): ``run_summary.csv``, ``environment.csv``, ``data_source.csv`` (what
data, its SHA-256, size and validation counts; never an absolute path),
``parameters.csv`` (every override applied, per notebook, with its source) and
``data_source.md`` (the data admonition that ``book/intro.md`` includes).

For tests only: ``REPLICATION_RUNNER_TRACE=<file>`` appends the name of each phase
(``params``, ``validate``, ``start``, ``execute``, ``swap``) to the file as the run
enters it, and ``REPLICATION_RUNNER_PAUSE=<phase>`` waits up to 60 s at the start of
that phase, so that a test can signal the run exactly there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from replication._paths import NOTEBOOK_DIR, PROJECT_ROOT, display_path
from replication.book import staging
from replication.book.build import build_book
from replication.book.datasource import check_partial_run, describe_data, resolve_user_file
from replication.book.execute import execute_all
from replication.book.interrupts import INTERRUPTS, Interrupted, phase
from replication.book.parameters import (FILE_PARAMETERS, DataError, RunError, applied_raw, declared_parameters,
                                         load_spec, notebooks, resolve_parameters, select_notebooks)
from replication.book.records import data_source_markdown, environment_rows, write_data_records, write_run_records
from replication.book.staging import CHAPTERS, FAILED, OUTPUTS, Staging, cleanup, swap

__all__ = ["run_notebooks", "build_book", "copy_project", "RunError", "DataError", "Interrupted", "INTERRUPTS",
           "notebooks", "declared_parameters", "resolve_parameters", "resolve_user_file", "describe_data",
           "data_source_markdown", "environment_rows", "CHAPTERS", "OUTPUTS", "FAILED"]


def run_notebooks(params_file: str | Path | None = "params/paper.yaml", only: list[str] | None = None,
                  overrides: list[str] | None = None, jobs: int | None = None, cwd: str | Path | None = None
                  ) -> list[dict]:
    """Execute notebooks into ``book/chapters`` (atomic swap); returns one row per notebook.

    ``cwd`` (default: the current directory) is where relative ``data_path`` and
    ``mapping`` values are looked for first.
    """
    own = not INTERRUPTS.installed
    INTERRUPTS.install()
    if own:
        INTERRUPTS.reset()
    state = Staging()
    try:
        try:
            INTERRUPTS.arm()
            return _run(state, params_file, only, overrides, jobs, Path(cwd or os.getcwd()))
        finally:
            INTERRUPTS.disarm()
            cleanup(state)
    except KeyboardInterrupt:
        cleanup(state)  # completes a cleanup the interrupt may have cut short
        raise
    finally:
        INTERRUPTS.disarm()
        if own:
            INTERRUPTS.uninstall()


def _run(state: Staging, params_file, only, overrides, jobs, cwd: Path) -> list[dict]:
    """The phases of a run: params, validate, start/execute, swap."""
    phase("params")
    nbs = select_notebooks(only)
    if not nbs:
        raise RunError(f"no notebooks in {NOTEBOOK_DIR}")
    spec = load_spec(params_file)
    for name in FILE_PARAMETERS:  # fail fast, before papermill is even imported
        for value in applied_raw(spec, nbs, overrides, name):
            resolve_user_file(value, cwd, kind=name)
    sources: dict = {}
    declared = {nb.stem: declared_parameters(nb) for nb in nbs}
    params = resolve_parameters(params_file, nbs, overrides, sources=sources, declared=declared)

    phase("validate")
    data = describe_data(params, declared, cwd, applied_raw(spec, nbs, overrides, "mapping"))
    check_partial_run(data, {nb.stem for nb in nbs} != {nb.stem for nb in notebooks()}, staging.CHAPTERS)
    if data.get("mapping") and not any("mapping" in declared[s] for s in params):
        print("warning: no selected notebook declares 'mapping'; it was used for validation only", file=sys.stderr)

    tmp = staging.prepare(state, [nb.stem for nb in nbs])
    jobs = jobs or min(len(nbs), os.cpu_count() or 1)
    shown = display_path(params_file) if params_file and Path(str(params_file)).is_absolute() else params_file
    print(f"running {len(nbs)} notebook(s) with {shown or 'their defaults'}, {jobs} at a time"
          + (f", data {data['file']}" if data.get("file") else ""), flush=True)
    t0 = time.perf_counter()
    rows = execute_all(nbs, params, state, jobs, tmp, sources)  # phases start, execute
    shutil.rmtree(tmp, ignore_errors=True)
    _stop_on_failure(rows, state, t0)
    write_run_records(state.staging, rows, shown, time.perf_counter() - t0, jobs)
    write_data_records(state.staging, data, params, sources, {nb.stem for nb in nbs})

    phase("swap")
    swap(state)
    return rows


def _stop_on_failure(rows: list[dict], state: Staging, t0: float) -> None:
    """Print the tally; on a failure keep the executed notebooks in ``_runs/failed/`` and raise."""
    failed = [r for r in rows if r["error"]]
    print(f"{len(rows) - len(failed)} ok, {len(failed)} failed, {time.perf_counter() - t0:.1f} s wall")
    if not failed:
        return
    FAILED.mkdir(parents=True, exist_ok=True)
    for r in failed:
        shutil.copy2(state.staging / f"{r['notebook']}.ipynb", FAILED / f"{r['notebook']}.ipynb")
    raise RunError("; ".join(f"{r['notebook']}: {r['error']}" for r in failed)
                   + f". Executed notebooks with tracebacks: {FAILED}. Previous chapters left intact.")


def copy_project(dest: Path) -> Path:
    """Copy the project's tracked (and untracked, not ignored) files to ``dest``; run it there
    with ``REPLICATION_ROOT=dest`` to leave this working tree's book untouched."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (PROJECT_ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / f, dest / f)
    return dest
