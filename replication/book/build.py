"""Render the book: ``jupyter-book build`` into a temporary folder, swapped in for
``book/_build`` only when it succeeded (the previous book is left intact otherwise)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from replication._paths import BOOK_DIR
from replication.book import staging
from replication.book.parameters import RunError, notebooks

RECORDS = ("run_summary.csv", "environment.csv", "data_source.csv", "parameters.csv", "data_source.md")


def build_book(strict: bool = True) -> Path:
    """Render ``book/`` to HTML in a temporary folder, then swap it in for ``book/_build``."""
    missing = [nb.stem for nb in notebooks() if not (staging.CHAPTERS / nb.name).exists()]
    if missing:
        raise RunError(f"chapters not executed yet: {missing}. Run `python -m replication run` first")
    records = [f for f in RECORDS if not (staging.OUTPUTS / f).exists()]
    if records:
        raise RunError(f"the run records {records} are missing from {staging.OUTPUTS} (chapters executed by an older "
                       "version). Run `python -m replication run` first")
    tmp = BOOK_DIR / f".build-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(BOOK_DIR), "--path-output", str(tmp), "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (tmp / "_build" / "html" / "index.html").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RunError(f"book build failed (previous book left intact):\n{tail}")
    final = BOOK_DIR / "_build"
    backup = BOOK_DIR / f".old-build-{os.getpid()}"
    if final.exists():
        final.rename(backup)
    (tmp / "_build").rename(final)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"built {final / 'html' / 'index.html'} in {time.perf_counter() - t0:.1f} s")
    return final / "html" / "index.html"
