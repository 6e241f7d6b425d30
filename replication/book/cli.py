"""Command line: ``python -m replication validate|simulate|run|build``.

* ``validate PATH [--years A B] [--map MAPPING.yaml] [--out CLEAN.parquet] [--report REPAIRS.csv]``
                      check a panel file against the schema; exit 2 with messages naming file,
                      column, rows and fix when it cannot be used (nothing written then), else
                      exit 0 and write the cleaned panel and the full list of repairs (atomically).
* ``simulate --out PATH [--seed N] [--years A B]``  write the semi-synthetic panel.
* ``run [--params FILE] [--only 01 03] [-p name=value]``  execute the notebooks with
                      papermill into the book's chapter folder (atomically).
* ``build [--student]``  render the HTML book from the executed notebooks (``--student``: the
                      student edition, without solutions, into ``book/_build/student/html``).
* ``check [--data PATH [--map MAPPING.yaml]] [--tolerance X]``  the scorecard; exit 1 when a number misses the tolerance.
* ``codebook [--write]``  the codebook table of ``data/README.md``, generated from the schema.
* ``montecarlo --reps N --out RESULTS.csv [--jobs K] [--scheduler ADDRESS] [--dgp key=value ...]
  [--calibration default|paper] [--seed S] [--fixed-design] [--null]``  the Monte Carlo study
                      (:mod:`replication.montecarlo.command`).

Errors a user can fix never print a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _atomic_write(df, out: Path) -> None:
    """Write df to out (.csv or .parquet) through a temporary file and a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, lineterminator="\n")
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()


def _validate(a) -> int:
    from replication.data import validate_panel

    for flag, path, ok in (("--out", a.out, (".csv", ".parquet")), ("--report", a.report, (".csv",))):
        if path and Path(path).suffix.lower() not in ok:
            print(f"error: {flag} must end in {' or '.join(ok)}, got {path}", file=sys.stderr)
            return 2
    rep = validate_panel(a.path, years=tuple(a.years) if a.years else None, mapping=a.map)
    print(rep.summary())
    if not rep.ok:
        if a.out or a.report:
            print("nothing written: the panel is not usable (see the problems above)")
        return 2
    if a.out:
        _atomic_write(rep.panel, Path(a.out))
        print(f"wrote the cleaned panel ({len(rep.panel)} rows) to {a.out}")
    if a.report:
        _atomic_write(rep.repairs_table(), Path(a.report))
        print(f"wrote {len(rep.repairs)} repair(s) to {a.report}")
    return 0


def _simulate(a) -> int:
    from replication.data import load_panel, simulate_panel

    out = Path(a.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        print(f"--out must end in .csv or .parquet, got {out}", file=sys.stderr)
        return 2
    years = tuple(a.years)
    df = simulate_panel(seed=a.seed, years=years).panel if a.raw else load_panel(seed=a.seed, years=years)
    df = df.drop(columns=[c for c in ("treat", "did", "broadband") if c in df.columns])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".csv":
        df.to_csv(tmp, index=False, lineterminator="\n")
    else:
        df.to_parquet(tmp, index=False)
    tmp.replace(out)
    print(f"wrote {len(df)} rows, {df['city_code'].nunique()} cities (seed {a.seed}) to {out}")
    return 0


def _run(a) -> int:
    import os

    from replication._paths import require_checkout

    require_checkout("run", needs=("notebooks", "book"))  # an installed package has neither
    from replication.book.runner import INTERRUPTS, RunError, run_notebooks

    INTERRUPTS.install()  # first: from here on SIGINT/SIGTERM are handled by the runner (no traceback)
    try:
        run_notebooks(params_file=a.params, only=a.only, overrides=a.p, jobs=a.jobs, cwd=os.getcwd())
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", None) or INTERRUPTS.signum or 2
        print("interrupted; previous outputs left intact", file=sys.stderr)
        return 128 + int(signum)
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    if INTERRUPTS.signum is not None:  # arrived after the new chapters were in place
        print("interrupted after the run completed; the new chapters are in place", file=sys.stderr)
        return 128 + int(INTERRUPTS.signum)
    return 0


def _build(a) -> int:
    from replication._paths import require_checkout

    require_checkout("build", needs=("book",))
    from replication.book.runner import RunError, build_book

    try:
        build_book(strict=not a.no_strict, student=a.student)
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


def _check(a) -> int:
    """The scorecard in the terminal.  The tolerance is always stated: |ours - paper| <=
    atol + rtol |paper| with atol = --tolerance and rtol = --rtol (defaults: the book's,
    0.01 and 0.1; N exactly, R2 and p within atol); the exit code is 1 only when a tolerance was given and a computed number misses
    it.  Numbers that cannot be computed on the panel are listed with the reason."""
    import numpy as np
    import pandas as pd

    from replication.data import load_analysis_panel
    from replication.report.scorecard import DEFAULT_ATOL, DEFAULT_RTOL, compute_all, scorecard, summary

    data = load_analysis_panel(a.data, mapping=a.map, seed=a.seed)  # warnings: counted here, `validate` lists them
    panel, truth, rep = data.panel, data.truth, data.report
    if a.data:
        print(f"data: {Path(a.data).name} ({len(panel)} rows, {panel['city_code'].nunique()} cities, "
              f"{int(panel['year'].min())}-{int(panel['year'].max())}); {len(rep.warnings)} warning(s), "
              f"{len(rep.repairs)} repair(s): `python -m replication validate {a.data}"
              + (f" --map {a.map}" if a.map else "") + "` lists them")
    else:
        print(f"data: the default semi-synthetic panel (seed {a.seed}); agreement with the paper is not expected,"
              " compare with the truth")
    atol = a.tolerance if a.tolerance is not None else DEFAULT_ATOL
    rtol = a.rtol if a.rtol is not None else DEFAULT_RTOL
    print(f"tolerance: |ours - paper| <= {atol:g} + {rtol:g} x |paper| (N exactly; R2 and p within {atol:g})"
          + ("" if a.tolerance is not None or a.rtol is not None else
             "; the book's default, set --tolerance/--rtol to change it"))
    results = compute_all(panel, seed=a.seed, n_placebo=a.n_placebo, n_boot=a.n_boot)
    card = scorecard(results, truth, rtol=rtol, atol=atol)
    if a.rows:
        card = card[card["row"].isin(a.rows)]
    cols = ["table", "column", "row", "paper", "ours", "ci_lower", "ci_upper", "truth", "same sign",
            "same significance", "within tolerance", "note"]
    if truth is None:
        cols.remove("truth")
    def fmt(v) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{v:.0f}" if float(v).is_integer() and abs(v) >= 100 else f"{v:.4g}"
        return str(v)

    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_colwidth", 80):
        print(card[cols].map(fmt).to_string(index=False))
        print()
        print(summary(card).drop(columns=[] if truth is not None else ["CI covers truth"]).to_string())
    missing = card[card["ours"].isna()]
    if len(missing):
        print(f"\npartial scorecard: {len(missing)} of {len(card)} numbers could not be computed on this panel:")
        for note, g in missing.groupby("note"):
            print(f"  {len(g)} x {note}")
    if a.tolerance is None and a.rtol is None:
        return 0
    failed = card[card["within tolerance"].eq(False)]
    if len(failed):
        print(f"\n{len(failed)} of {len(card) - len(missing)} computed numbers differ from the paper by more than the "
              "tolerance", file=sys.stderr)
        return 1
    print(f"\nall {len(card) - len(missing)} computed numbers within the tolerance")
    return 0


def _codebook(a) -> int:
    from replication._paths import DATA_DIR
    from replication.data.schema import BEGIN, END, codebook_markdown

    path = DATA_DIR / "README.md"
    if not path.exists():  # an installed package, outside the checkout: only the table to print
        if a.write:
            from replication._paths import require_checkout

            require_checkout("codebook --write", needs=("data",))
            print(f"{path} not found: nothing to update", file=sys.stderr)
            return 2
        print(codebook_markdown())
        return 0
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{path}: codebook markers not found", file=sys.stderr)
        return 2
    new = text[:text.index(BEGIN)] + codebook_markdown() + text[text.index(END) + len(END):]
    if a.write:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path}")
        return 0
    print(codebook_markdown())
    return 0 if new == text else 1


def _montecarlo(a) -> int:
    from replication.montecarlo.command import run

    return run(a)


def main(argv: list[str] | None = None) -> int:
    from replication.data import DEFAULT_SEED

    ap = argparse.ArgumentParser(prog="python -m replication", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check a panel file against the schema")
    v.add_argument("path", help="your panel: .csv, .tsv, .xlsx, .parquet or .dta")
    v.add_argument("--years", nargs=2, type=int, metavar=("FIRST", "LAST"),
                   help="keep only these years (the report says how many rows were dropped)")
    v.add_argument("--map", metavar="MAPPING.yaml", help="mapping file: columns, scale, ignore, city_names, sheet")
    v.add_argument("--out", metavar="CLEAN.parquet", help="write the cleaned panel (.parquet or .csv) when usable")
    v.add_argument("--report", metavar="REPAIRS.csv", help="write the full list of repairs (.csv) when usable")
    v.set_defaults(func=_validate)
    s = sub.add_parser("simulate", help="write the semi-synthetic default panel")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=DEFAULT_SEED)
    s.add_argument("--years", nargs=2, type=int, default=[2009, 2022], metavar=("FIRST", "LAST"))
    s.add_argument("--raw", action="store_true", help="keep the missing values (before interpolation)")
    s.set_defaults(func=_simulate)
    r = sub.add_parser("run", help="execute the notebooks with papermill")
    r.add_argument("--params", default="params/paper.yaml")
    r.add_argument("--only", nargs="*", help="notebook numbers or names, e.g. 01 03")
    r.add_argument("-p", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter; data_path and mapping are files, looked for in this directory, "
                        "then in the project")
    r.add_argument("--jobs", type=int, default=None, help="notebooks run in parallel (default: cores)")
    r.set_defaults(func=_run)
    b = sub.add_parser("build", help="render the HTML book")
    b.add_argument("--no-strict", action="store_true")
    b.add_argument("--student", action="store_true",
                   help="the student edition: the same book without solutions, into book/_build/student/html")
    b.set_defaults(func=_build)
    k = sub.add_parser("check", help="the replication scorecard: every reported number beside ours")
    k.add_argument("--data", help="your panel (.csv, .xlsx, .parquet, .dta); default: the semi-synthetic panel")
    k.add_argument("--map", metavar="MAPPING.yaml", help="mapping file for --data (data/README.md)")
    k.add_argument("--seed", type=int, default=DEFAULT_SEED)
    k.add_argument("--tolerance", type=float, help="absolute tolerance; any number outside it exits 1")
    k.add_argument("--rtol", type=float, help="relative tolerance (added to --tolerance)")
    k.add_argument("--rows", nargs="*", help="only these rows, e.g. did")
    k.add_argument("--n-placebo", type=int, default=500)
    k.add_argument("--n-boot", type=int, default=300)
    k.set_defaults(func=_check)
    c = sub.add_parser("codebook", help="print the codebook table (exit 1 if data/README.md is stale)")
    c.add_argument("--write", action="store_true", help="rewrite the table in data/README.md")
    c.set_defaults(func=_codebook)
    from replication.montecarlo.command import add_arguments as _mc_arguments

    mc = sub.add_parser("montecarlo", help="Monte Carlo study: bias, coverage, size and power of the estimators")
    _mc_arguments(mc)
    mc.set_defaults(func=_montecarlo)
    a = ap.parse_args(argv)
    try:
        rc = a.func(a)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at interpreter exit
        return rc
    except BrokenPipeError:  # `... | head -1`: the reader left; say nothing more
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted; previous outputs left intact", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
