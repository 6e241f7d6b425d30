"""Executing notebooks: one papermill process per notebook, ``jobs`` at a time.

Each process runs in a session of its own, so that an interrupt can stop it and its kernel
together (:meth:`Job.kill`).  Starting a process is a critical section: a started process
is always known to the cleanup (:func:`replication.book.staging.cleanup`).  A successful
notebook is post-processed for the book (:func:`replication.book.postprocess.postprocess`:
the table of its parameters, with where each value came from);
a failed one is described by its first error.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from replication.book.interrupts import INTERRUPTS, phase
from replication.book.postprocess import postprocess
from replication.book.staging import OUTPUTS, Staging, stop


def first_error(path: Path) -> str | None:
    """'cell N raised Name: message' for the first error output of an executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - the notebook may not have been written at all
        return None
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                return f"cell {c.get('execution_count') or i} raised {o.get('ename')}: {o.get('evalue')}"
    return None


# Notebooks run side by side, one per core: each kernel's linear algebra on one thread, or the
# threads of two kernels fight over the cores (the book took 76 s instead of 45 s on 2 cores).
# A value the user set is kept.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_environment() -> dict:
    """The environment of a notebook's papermill process and kernel."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env.setdefault(name, "1")
    return env


def without_default_data_code(nb: Path, tmp: Path) -> Path:
    """A copy of the notebook without its code cells tagged ``default-data``: on a user's
    panel they are never executed (they study the simulator: its truth, its options), only
    their markdown is removed after the run (:func:`replication.book.chapter.apply_data_mode`)."""
    import nbformat

    from replication.book.chapter import DEFAULT_ONLY

    book = nbformat.read(str(nb), as_version=4)
    book.cells = [c for c in book.cells if not (c.cell_type == "code" and DEFAULT_ONLY in c.metadata.get("tags", []))]
    path = tmp / f"{nb.stem}.user-data.ipynb"
    nbformat.write(book, str(path))
    return path


def _restore_input_path(out: Path, nb: Path) -> None:
    """The executed notebook names the chapter it ran, not the filtered copy in the run's temporary folder."""
    import nbformat

    if not out.exists():
        return
    book = nbformat.read(str(out), as_version=4)
    book.metadata.setdefault("papermill", {})["input_path"] = str(nb)
    nbformat.write(book, str(out))


def by_expected_time(nbs: list[Path], record: Path) -> list[Path]:
    """The notebooks, longest first by the last recorded run (``run_summary.csv``), so that two
    at a time finish together (longest-processing-time first); the others keep their order."""
    import csv

    seconds = {}
    if record.exists():
        with open(record, newline="") as f:
            for r in csv.DictReader(f):
                try:
                    seconds[r["notebook"]] = float(r["seconds"])
                except (KeyError, ValueError):
                    pass
    return sorted(nbs, key=lambda nb: -seconds.get(nb.stem, 0.0))


class Job:
    """One notebook executed by papermill in its own process session (so that an
    interrupt can stop it and its kernel together)."""

    def __init__(self, nb: Path, out: Path, params: dict, cwd: Path, tmp: Path, sources: dict | None = None):
        self.nb, self.out, self.sources = nb, out, sources or {}
        pfile = tmp / f"{nb.stem}.params.yaml"
        pfile.write_text(yaml.safe_dump(params))
        self.source = without_default_data_code(nb, tmp) if params.get("data_path") else nb
        self.log = open(tmp / f"{nb.stem}.log", "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "replication.book.papermill_main", str(self.source), str(out), "-f", str(pfile),
             "--cwd", str(cwd),
             "-k", "python3", "--no-progress-bar"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=kernel_environment())

    def poll(self) -> int | None:
        return self.proc.poll()

    def result(self) -> tuple[float, str | None]:
        self.log.close()
        secs = time.perf_counter() - self.t0
        if self.source != self.nb:
            _restore_input_path(self.out, self.nb)
        if self.proc.returncode == 0:
            postprocess(str(self.out), self.sources)
            return secs, None
        err = first_error(self.out)
        if err is None:
            tail = Path(self.log.name).read_text(errors="replace").strip().splitlines()[-3:]
            err = "papermill failed: " + " | ".join(tail)
        return secs, err

    def kill(self) -> None:
        """Stop papermill and everything it started (the kernel runs in a session of its own)."""
        import psutil

        if self.proc.poll() is None:
            try:
                parent = psutil.Process(self.proc.pid)
                stop([parent, *parent.children(recursive=True)])
            except psutil.Error:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.log.close()


def execute_all(nbs: list[Path], params: dict, state: Staging, jobs: int, tmp: Path,
                sources: dict | None = None) -> list[dict]:
    """Run the notebooks into the staging folder, ``jobs`` at a time; one row per notebook
    (notebook, seconds, status, error), sorted by notebook.  ``sources[stem][name]`` says
    where a value came from (the parameters table of each page shows it)."""
    phase("start")
    queue, rows, traced = by_expected_time(list(nbs), OUTPUTS / "run_summary.csv"), [], False
    while queue or state.running:
        while queue and len(state.running) < jobs:
            nb = queue.pop(0)
            with INTERRUPTS.critical():  # a started process is always known to the cleanup
                state.running.append(Job(nb, state.staging / nb.name, params[nb.stem], state.staging, tmp,
                                         (sources or {}).get(nb.stem, {})))
        if not traced:
            phase("execute")
            traced = True
        time.sleep(0.05)
        for job in [j for j in state.running if j.poll() is not None]:
            secs, err = job.result()
            state.running.remove(job)
            rows.append({"notebook": job.nb.stem, "seconds": round(secs, 1),
                         "status": "ok" if not err else "FAILED", "error": err})
            print(f"  {'ok    ' if not err else 'FAILED'} {job.nb.stem:<22} {secs:6.1f} s"
                  + (f"  {err}" if err else ""), flush=True)
    rows.sort(key=lambda r: r["notebook"])
    return rows
