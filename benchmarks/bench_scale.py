"""Scale curve: TWFE + 500 placebo draws + single-threshold bootstrap (300 draws) at
city (285 x 14), county (2,850 x 14) and firm (100,000 x 10 = 1M rows) panel sizes.

Each size runs in its own process so that its peak memory (max RSS) is its own.  The
panels come from a simple DGP (entity and year effects, five controls, staggered
adoption, a threshold in q); the estimators are the package's.  Prints time per step,
peak memory, and the fitted growth exponent of time in rows (1 = linear).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

SIZES = [("city", 285, 14), ("county", 2_850, 14), ("firm", 100_000, 10)]


def make_panel(n: int, T: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ent = np.repeat(np.arange(n), T)
    yr = np.tile(np.arange(2010, 2010 + T), n)
    adopt = np.where(rng.random(n) < 1 / 3, rng.integers(2012, 2015, n), 0)
    did = ((adopt[ent] > 0) & (yr >= adopt[ent])).astype(float)
    X = rng.normal(size=(n * T, 5))
    q = rng.uniform(0, 2, n * T)
    y = rng.normal(size=n)[ent] + 0.05 * (yr - 2010) + X @ np.array([0.2, -0.1, 0.1, 0.05, 0.0]) \
        + did * np.where(q < 0.6, -0.2, 0.3) + rng.normal(0, 1, n * T)
    df = pd.DataFrame(X, columns=["x1", "x2", "x3", "x4", "x5"])
    df.insert(0, "city_code", ent)
    df.insert(1, "year", yr)
    df["did"], df["y"], df["q"] = did, y, q
    df["pilot_year"] = pd.array(np.where(adopt > 0, adopt, np.nan)[ent], dtype="Float64")
    return df


def worker(n: int, T: int) -> dict:
    from replication.estimators import did, placebo, threshold

    df = make_panel(n, T)
    ctr = ["x1", "x2", "x3", "x4", "x5"]
    out = {"rows": len(df)}
    t0 = time.perf_counter()
    did.twfe(df, "y", "did", ctr)
    out["twfe_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    placebo.permutation_test(df, "y", ctr, n_draws=500, seed=1)
    out["placebo_500_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    threshold.fit_panel_threshold(df, "y", "did", "q", ctr, max_thresholds=1, n_draws=300, grid=300, seed=1)
    out["threshold_300_s"] = time.perf_counter() - t0
    out["total_s"] = out["twfe_s"] + out["placebo_500_s"] + out["threshold_300_s"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    rows = []
    for name, n, T in SIZES:
        proc = subprocess.run([sys.executable, __file__, "--worker", str(n), str(T)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            raise SystemExit(f"{name} failed")
        rows.append({"size": name, "units": n, "years": T, **json.loads(proc.stdout.strip().splitlines()[-1])})
    df = pd.DataFrame(rows)
    b = np.polyfit(np.log(df["rows"]), np.log(df["total_s"]), 1)[0]
    with pd.option_context("display.width", 160, "display.precision", 2):
        print("scale curve: TWFE + 500 placebo draws + single-threshold bootstrap (300 draws)")
        print(df.to_string(index=False))
    print(f"growth exponent of total time in rows: {b:.2f} (1 = linear)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
