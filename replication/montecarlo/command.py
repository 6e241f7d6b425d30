"""``python -m replication montecarlo``: the study from the command line.

    python -m replication montecarlo --reps N [--jobs K] [--scheduler ADDRESS]
        [--dgp key=value ...] [--calibration default|paper] [--seed S] [--fixed-design]
        [--null] [--estimators full|linear] [--effect-grid 0,0.5,1] --out results.csv

writes the summary (:mod:`replication.montecarlo.summary`) to ``results.csv`` and every
replication's rows to ``results_reps.parquet`` beside it, both atomically, and keeps each
replication in a resumable cache (``--cache``, default ``.montecarlo_cache/`` beside the
output): running the command again computes only the replications not yet cached.  Bad
input (an unknown ``--dgp`` key, a bad value, ``--reps 0``, an unreachable scheduler) is one
line on stderr and exit code 2, with nothing written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from replication.montecarlo.options import ESTIMATOR_SETS, StudyError, StudyOptions

_INTS = {"reps": 1, "jobs": 1, "seed": 0, "n_placebo": 1, "n_boot": 0, "n_boot_imputation": 0}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options (numbers are read here, so that a bad one is one clear line)."""
    from replication.data import DEFAULT_SEED

    p.add_argument("--reps", required=True, help="replications (>= 1)")
    p.add_argument("--jobs", default="1", help="local processes (joblib; default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--dgp", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="simulator options (fields of replication.data.dgp.DGP), e.g. --dgp pretrend=0.05")
    p.add_argument("--calibration", default="default", help="default or paper (replication.data.calibration)")
    p.add_argument("--seed", default=str(DEFAULT_SEED), help="the study's seed (replication r derives its own)")
    p.add_argument("--fixed-design", action="store_true", help="hold cities' controls and pilots fixed, redraw outcomes")
    p.add_argument("--null", action="store_true", help="switch the effect off (sizes of the tests)")
    p.add_argument("--estimators", default="full", help=f"{' or '.join(ESTIMATOR_SETS)} (default full)")
    p.add_argument("--n-placebo", default="99", help="placebo draws per replication (default 99)")
    p.add_argument("--n-boot", default="19", help="threshold bootstrap draws per test and replication (default 19)")
    p.add_argument("--n-boot-imputation", default="49", help="imputation bootstrap draws (default 49)")
    p.add_argument("--effect-grid", metavar="F1,F2,...", help="a power curve: the study at these multiples of the effect")
    p.add_argument("--cache", metavar="DIR", help="cache folder (default: .montecarlo_cache beside --out)")
    p.add_argument("--no-cache", action="store_true", help="keep nothing between runs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="RESULTS.csv", help="summary CSV; per-replication Parquet beside it")


def _int(name: str, text: str) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise StudyError(f"--{name.replace('_', '-')} {text!r}: must be an integer >= {_INTS[name]}") from None
    if value < _INTS[name]:
        raise StudyError(f"--{name.replace('_', '-')} {value}: must be an integer >= {_INTS[name]}")
    return value


def _grid(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        grid = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise StudyError(f"--effect-grid {text!r}: expected numbers separated by commas, e.g. 0,0.5,1") from None
    if not grid or any(g < 0 for g in grid):
        raise StudyError(f"--effect-grid {text!r}: expected non-negative numbers, e.g. 0,0.5,1")
    return grid


def options_from(a) -> StudyOptions:
    """Checked study options from parsed arguments."""
    nums = {k: _int(k, getattr(a, k)) for k in _INTS if k != "jobs"}
    if a.estimators not in ESTIMATOR_SETS:
        raise StudyError(f"--estimators {a.estimators!r}: choose {' or '.join(ESTIMATOR_SETS)}")
    return StudyOptions.make(dgp=a.dgp, calibration=a.calibration, fixed_design=a.fixed_design, null=a.null,
                             estimators=a.estimators, **nums)


def _outputs(out: str) -> tuple[Path, Path]:
    path = Path(out)
    if path.suffix.lower() != ".csv":
        raise StudyError(f"--out must end in .csv, got {out} (the per-replication Parquet is written beside it)")
    return path, path.with_name(f"{path.stem}_reps.parquet")


def _write(summary, per_rep, csv: Path, parquet: Path) -> None:
    """Both files through temporary names, renamed only when both are complete."""
    csv.parent.mkdir(parents=True, exist_ok=True)
    tmp_c, tmp_p = csv.with_name(f".{csv.name}.tmp"), parquet.with_name(f".{parquet.name}.tmp")
    try:
        per_rep.to_parquet(tmp_p, index=False)
        summary.to_csv(tmp_c, index=False, lineterminator="\n")
        tmp_p.replace(parquet)
        tmp_c.replace(csv)
    finally:
        for t in (tmp_c, tmp_p):
            if t.exists():
                t.unlink()


def run(a) -> int:
    """The subcommand (exit code 0, or 2 with one line on stderr)."""
    from replication.montecarlo.power import power_study
    from replication.montecarlo.runner import run_study

    try:
        csv, parquet = _outputs(a.out)
        jobs, grid = _int("jobs", a.jobs), _grid(a.effect_grid)
        options = options_from(a)
        cache = None if a.no_cache else (a.cache or csv.parent / ".montecarlo_cache")
        kw = dict(jobs=jobs, scheduler=a.scheduler, cache_dir=cache, progress=not a.no_progress)
        if grid is None:
            res = run_study(options, **kw)
            summary, per_rep = res.summary, res.per_rep
        else:
            summary, per_rep = power_study(options, grid, **kw)
    except StudyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _write(summary, per_rep, csv, parquet)
    _report(summary, options, csv, parquet)
    return 0


def _report(summary, options: StudyOptions, csv: Path, parquet: Path) -> None:
    import pandas as pd

    cols = [c for c in ("factor", "estimator", "estimand", "target", "reps", "bias", "rmse", "coverage",
                        "rejection_rate") if c in summary.columns]
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {len(summary)} summary rows to {csv} and every replication to {parquet} "
          f"({options.reps} replications, calibration {options.calibration}, key {options.key()})")
