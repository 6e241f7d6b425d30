"""Placebo test, 500 draws on the default panel: vectorised vs a loop of PanelOLS fits.

Same answers first (the first draws of both agree to 1e-10), then the timing, printed
as a ratio measured in this one run.  Run with `make bench` or directly.
"""
from __future__ import annotations

import time

import numpy as np

from replication.estimators import placebo
from replication.data.schema import CONTROLS
from replication.book.chapter import load

N_DRAWS = 500
N_NAIVE = 40  # naive draws actually timed; extrapolated linearly to N_DRAWS


def main() -> None:
    panel, *_ = load(20251206)
    pil = panel.groupby("city_code")["pilot_year"].first().astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    PY = placebo._placebo_years(pil, panel["year"].to_numpy(), "cohort", N_DRAWS, np.random.default_rng(1))
    placebo.permutation_test(panel, n_draws=5, seed=1)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    ours = placebo.permutation_test(panel, n_draws=N_DRAWS, seed=1)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = placebo.naive_permutation_test(panel, "nqp", list(CONTROLS), PY[:, :N_NAIVE])
    t_naive = (time.perf_counter() - t0) * N_DRAWS / N_NAIVE
    diff = np.abs(naive - ours.draws["estimate"].to_numpy()[:N_NAIVE]).max()
    assert diff < 1e-10, f"implementations disagree: max |diff| = {diff}"
    t_pf, diff_pf = pyfixest_loop(panel, PY[:, :N_NAIVE], ours.draws["estimate"].to_numpy()[:N_NAIVE])
    print(f"placebo, {N_DRAWS} draws, {len(panel)} city-years (coefficients agree to {diff:.1e})")
    print(f"  {'implementation':<34}{'seconds':>10}{'ratio':>10}")
    print(f"  {'vectorised (replication.estimators.placebo)':<34}{t_ours:>10.3f}{1.0:>10.1f}")
    print(f"  {'loop of PanelOLS fits':<34}{t_naive:>10.3f}{t_naive / t_ours:>10.1f}   "
          f"({N_NAIVE} timed, extrapolated)")
    if t_pf is not None:
        print(f"  {'loop of pyfixest.feols fits':<34}{t_pf * N_DRAWS / N_NAIVE:>10.3f}"
              f"{t_pf * N_DRAWS / N_NAIVE / t_ours:>10.1f}   ({N_NAIVE} timed, extrapolated; agree to {diff_pf:.1e})")


def pyfixest_loop(panel, PY, ours):
    """The same draws with pyfixest (fixest's algorithm), if installed."""
    try:
        import pyfixest as pf
    except ImportError:
        print("  pyfixest not installed: skipped")
        return None, None
    df = panel.sort_values(["city_code", "year"]).reset_index(drop=True)
    _, idx = np.unique(df["city_code"].to_numpy(), return_inverse=True)
    years = df["year"].to_numpy()
    cols = ["nqp", "city_code", "year", *CONTROLS]
    fml = "nqp ~ d + " + " + ".join(CONTROLS) + " | city_code + year"
    pf.feols(fml, data=df[cols].assign(d=0.0).assign(d=lambda x: (x.index % 2).astype(float)))  # warm-up
    t0 = time.perf_counter()
    coefs = []
    for r in range(PY.shape[1]):
        d = df[cols].assign(d=(years >= np.nan_to_num(PY[idx, r], nan=np.inf)).astype(float))
        coefs.append(pf.feols(fml, data=d, fixef_tol=1e-12).coef()["d"])
    t = time.perf_counter() - t0
    diff = float(np.abs(np.array(coefs) - ours).max())
    assert diff < 1e-8, f"pyfixest disagrees: {diff}"
    return t, diff


if __name__ == "__main__":
    main()
