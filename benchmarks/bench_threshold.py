"""Hansen threshold model: the 300 x 3 bootstrap, ours vs one OLS fit per grid point.

On Hansen's 7,910-observation investment panel (when the maintainers' oracle folder is
present) and on the default city panel.  Same answers first: the SSR curve of the
cumulative-sum search equals one OLS per candidate; then the timing, as a ratio.
The naive bootstrap (one OLS per candidate per draw per stage) is timed on a few
draws and extrapolated.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from replication.estimators import threshold as th
from replication.data.schema import CONTROLS
from replication.book.chapter import load

ROOT = Path(__file__).resolve().parents[1]


def bench(name, df, y, x, q, controls, entity, time_col, trims, grid):
    d = df.sort_values([entity, time_col]).reset_index(drop=True)
    cands = th._grid(d[q].to_numpy(float), trims[0], grid)
    T = d[time_col].nunique()
    s = th._Searcher(d[entity].to_numpy(), d[x].to_numpy(float), d[q].to_numpy(float),
                     d[controls].to_numpy(float), T, "xthreg", cands)
    t0 = time.perf_counter()
    S, _, _ = s.curve((), s.L(d[y].to_numpy(float)[:, None]))
    t_curve = time.perf_counter() - t0
    t0 = time.perf_counter()
    bf = th.brute_force_ssr(d, y, x, q, controls, (), cands, entity=entity, time=time_col)
    t_bf = time.perf_counter() - t0
    rel = np.max(np.abs(S[:, 0] - bf) / bf)
    assert rel < 1e-8, f"SSR curves disagree: {rel}"
    t0 = time.perf_counter()
    r = th.fit_panel_threshold(d, y, x, q, controls, entity=entity, time=time_col, max_thresholds=3,
                               n_draws=300, trim=trims, grid=grid, seed=1)
    t_full = time.perf_counter() - t0
    # naive: 3 tests x 300 draws x (1 + 1 + 2 stages on average) searches x one OLS per candidate
    searches = 300 * (1 + 2 + 4) + 4
    t_naive = t_bf * searches
    print(f"{name}: {len(d)} rows, {len(cands)} candidates (SSR curves agree to {rel:.1e} relative)")
    print(f"  {'implementation':<44}{'seconds':>10}{'ratio':>12}")
    print(f"  {'one SSR curve, cumulative sums':<44}{t_curve:>10.4f}{1.0:>12.1f}")
    print(f"  {'one SSR curve, one OLS per candidate':<44}{t_bf:>10.4f}{t_bf / t_curve:>12.1f}")
    print(f"  {'full fit + 300 x 3 bootstrap, ours':<44}{t_full:>10.2f}{1.0:>12.1f}")
    print(f"  {'same, naive (extrapolated)':<44}{t_naive:>10.0f}{t_naive / t_full:>12.0f}")
    return r


def main() -> None:
    oracle = ROOT / "tests" / "data" / "oracles" / "hansen1999.dta"
    if oracle.exists():
        h = pd.read_stata(oracle)
        h["year"] = h["year"].dt.year
        bench("Hansen (1999) investment data", h, "i", "c1", "d1", ["q1", "q2", "q3", "d1", "qd1"], "id", "year",
              (0.01, 0.01, 0.05), 400)
    else:
        print("Hansen's data not found (maintainers' oracle folder): skipped")
    panel, *_ = load(20251206)
    panel, yc = th.with_year_dummies(panel)
    bench("default city panel", panel, "nqp", "did", "isu", list(CONTROLS) + yc, "city_code", "year",
          (0.01, 0.01, 0.01), 300)


if __name__ == "__main__":
    main()
