"""The whole pipeline: every notebook with the paper's settings, wall time and peak memory.

Runs ``python -m replication run --params params/paper.yaml`` on a copy of the project
(so the working tree's book is untouched), then ``python -m replication build``.
Peak memory is the largest resident set of any process of the run (a notebook's kernel).
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        from replication.book.runner import copy_project

        proj = copy_project(Path(tmp) / "project")
        env = {**os.environ, "REPLICATION_ROOT": str(proj)}
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "replication", "run", "--params", "params/paper.yaml"], cwd=proj,
                             env=env, capture_output=True, text=True)
        t_run = time.perf_counter() - t0
        if run.returncode != 0:
            raise SystemExit(run.stdout + run.stderr)
        t0 = time.perf_counter()
        build = subprocess.run([sys.executable, "-m", "replication", "build"], cwd=proj, env=env, capture_output=True,
                               text=True)
        t_build = time.perf_counter() - t0
        if build.returncode != 0:
            raise SystemExit(build.stdout + build.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        html = proj / "book" / "_build" / "html"
        size = sum(p.stat().st_size for p in html.rglob("*") if p.is_file()) / 2 ** 20
        pages = len(list(html.rglob("*.html")))
        print("whole pipeline with params/paper.yaml (500 placebo, 300 x 3 threshold bootstrap, ...)")
        print("\n".join("  " + ln for ln in run.stdout.strip().splitlines()[1:]))
        print(f"  {'execution (all notebooks, wall)':<36}{t_run:8.1f} s")
        print(f"  {'book build (HTML)':<36}{t_build:8.1f} s")
        print(f"  {'peak memory of one process':<36}{peak:8.0f} MB")
        print(f"  {'book':<36}{pages:8d} pages, {size:.1f} MB")


if __name__ == "__main__":
    main()
