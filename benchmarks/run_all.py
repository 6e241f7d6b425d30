"""Run every benchmark, print the tables and write them to benchmarks/results.md
(shown in the README and the book's appendix) with the machine they came from."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_placebo.py", "bench_threshold.py", "bench_honest.py", "bench_pipeline.py", "bench_scale.py",
           "bench_montecarlo.py", "bench_montecarlo_full.py"]


def main() -> int:
    parts = []
    for b in BENCHES:
        print(f"== {b}", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / b)], capture_output=True, text=True)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        parts.append(f"## {b}\n\n```\n{proc.stdout.rstrip()}\n```\n")
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError):
        mem = float("nan")
    head = (f"# Benchmarks\n\nLast run {datetime.date.today().isoformat()} by `make bench` on {platform.platform()}, "
            f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}. Ratios are measured "
            "in one run (the machines are noisy); every benchmark first asserts that the compared implementations "
            "agree.\n\n")
    (HERE / "results.md").write_text(head + "\n".join(parts))
    print(f"wrote {HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
