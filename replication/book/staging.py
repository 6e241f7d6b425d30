"""The chapter folder is replaced atomically, and a run cleans up after itself.

Notebooks execute into a staging folder ``book/.staging-<pid>``; only when all succeeded
:func:`swap` puts it in place of ``book/chapters`` (the old folder moved aside to
``book/.old-chapters-<pid>`` and removed after).  The swap is a critical section: a
signal that arrives during it undoes it.  :func:`cleanup` (idempotent) stops the
notebook processes and their kernels, removes the staging folder and puts a moved-away
``book/chapters`` back; :func:`recover_stale` does the same for a run killed outright.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from replication._paths import BOOK_DIR, PROJECT_ROOT
from replication.book.interrupts import INTERRUPTS

CHAPTERS = BOOK_DIR / "chapters"
OUTPUTS = CHAPTERS / "outputs"
FAILED = PROJECT_ROOT / "_runs" / "failed"


def stop(procs: list, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, for psutil processes; returns when they are
    gone or zombies (a stopped kernel is reaped by whoever inherited it)."""
    import psutil

    def alive(p) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    for action in ("terminate", "kill"):
        for p in procs:
            try:
                getattr(p, action)()
            except psutil.Error:
                pass
        end = time.monotonic() + timeout
        while (procs := [p for p in procs if alive(p)]) and time.monotonic() < end:
            time.sleep(0.02)
        if not procs:
            return


def stop_processes_in(folder: Path) -> None:
    """Stop any process of this user still working in ``folder`` (e.g. a kernel whose
    papermill was killed before it was seen)."""
    import psutil

    me, found = os.getuid(), []
    for p in psutil.process_iter(["uids", "cwd"]):
        try:
            if p.info["uids"] and p.info["uids"].real == me and p.info["cwd"] and p.pid != os.getpid():
                if Path(p.info["cwd"]) == folder or folder in Path(p.info["cwd"]).parents:
                    found.append(p)
        except (psutil.Error, TypeError, ValueError):
            pass
    if found:
        stop(found)


class Staging:
    """The folders of one run and the notebook processes it has started (``running``:
    objects with ``kill()``, see :class:`replication.book.execute.Job`)."""

    def __init__(self):
        self.staging = BOOK_DIR / f".staging-{os.getpid()}"
        self.backup = BOOK_DIR / f".old-chapters-{os.getpid()}"
        self.running: list = []


def cleanup(state: Staging) -> None:
    """Idempotent: stop the notebooks, remove the staging folder, put the chapters back."""
    for job in list(state.running):
        job.kill()
    if state.staging.exists() or state.running:
        stop_processes_in(state.staging)
    state.running.clear()
    if state.backup.exists() and not CHAPTERS.exists():
        state.backup.rename(CHAPTERS)
    for folder in (state.staging, state.backup):
        for _ in range(3):
            if not folder.exists():
                break
            shutil.rmtree(folder, ignore_errors=True)


def recover_stale() -> None:
    """Folders left by a run that was killed outright (SIGKILL, power loss)."""
    import psutil

    for d in sorted(BOOK_DIR.glob(".old-chapters-*")) + sorted(BOOK_DIR.glob(".staging-*")):
        pid = d.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid() or psutil.pid_exists(int(pid)):
            continue
        if d.name.startswith(".old-chapters-") and not CHAPTERS.exists():
            d.rename(CHAPTERS)
            print(f"restored {CHAPTERS} from an interrupted swap", file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


def prepare(state: Staging, stems: list[str]) -> Path:
    """The staging folder: a copy of the current chapters without the output folders of the
    chapters about to run (no stale tables); returns its scratch folder for the runner."""
    with INTERRUPTS.critical():
        recover_stale()
    if CHAPTERS.exists():
        shutil.copytree(CHAPTERS, state.staging)
    else:
        state.staging.mkdir(parents=True)
    for stem in stems:  # a re-run chapter starts from an empty output folder: no stale tables
        shutil.rmtree(state.staging / "outputs" / stem, ignore_errors=True)
    tmp = state.staging / ".runner"
    tmp.mkdir(exist_ok=True)
    return tmp


def swap(state: Staging) -> None:
    """Replace ``book/chapters`` by the staging folder.  A signal during the swap undoes it."""
    with INTERRUPTS.critical():
        had = CHAPTERS.exists()
        if had:
            CHAPTERS.rename(state.backup)
        try:
            state.staging.rename(CHAPTERS)
        except BaseException:
            if had:
                state.backup.rename(CHAPTERS)
            raise
        if INTERRUPTS.signum is not None:
            CHAPTERS.rename(state.staging)
            if had:
                state.backup.rename(CHAPTERS)
        else:
            INTERRUPTS.commit()
    shutil.rmtree(state.backup, ignore_errors=True)
