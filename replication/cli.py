"""Command line: ``python -m replication validate|simulate|run|build``.

* ``validate PATH``   check a panel file against the schema; exit 2 with a message naming
                      file, column, rows and fix when it cannot be used.
* ``simulate --out PATH [--seed N] [--years A B]``  write the semi-synthetic panel.
* ``run [--params FILE] [--only 01 03] [-p name=value]``  execute the notebooks with
                      papermill into the book's chapter folder (atomically).
* ``build``           render the HTML book from the executed notebooks.
* ``check [--data PATH] [--tolerance X]``  the scorecard; exit 1 when a number misses the tolerance.
* ``codebook [--write]``  the codebook table of ``data/README.md``, generated from the schema.

Errors a user can fix never print a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(a) -> int:
    from .data import validate_panel

    rep = validate_panel(a.path, years=tuple(a.years) if a.years else None)
    print(rep.summary())
    return 0 if rep.ok else 2


def _simulate(a) -> int:
    from .data import load_panel, simulate_panel

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
    from .runner import RunError, run_notebooks

    try:
        run_notebooks(params_file=a.params, only=a.only, overrides=a.p, jobs=a.jobs)
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _build(a) -> int:
    from .runner import RunError, build_book

    try:
        build_book(strict=not a.no_strict)
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _check(a) -> int:
    import pandas as pd

    from .data import default_simulation, load_panel
    from .index import add_index
    from .scorecard import compute_all, scorecard, summary

    if a.data:
        panel, truth = load_panel(a.data), None
        print(f"data: {a.data}")
    else:
        panel = load_panel(seed=a.seed)
        truth = default_simulation(a.seed).truth
        print(f"data: the default semi-synthetic panel (seed {a.seed}); agreement with the paper is not expected,"
              " compare with the truth")
    card = scorecard(compute_all(add_index(panel), seed=a.seed, n_placebo=a.n_placebo, n_boot=a.n_boot), truth,
                     rtol=a.rtol if a.rtol is not None else 0.0, atol=a.tolerance if a.tolerance is not None else 0.01)
    if a.rows:
        card = card[card["row"].isin(a.rows)]
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.precision", 4):
        print(card[["table", "column", "row", "paper", "ours", "ci_lower", "ci_upper", "truth", "same sign",
                    "same significance", "within tolerance"]].to_string(index=False))
        print()
        print(summary(card).to_string())
    if a.tolerance is None and a.rtol is None:
        return 0
    failed = card[~card["within tolerance"]]
    if len(failed):
        print(f"\n{len(failed)} of {len(card)} numbers differ from the paper by more than the tolerance",
              file=sys.stderr)
        return 1
    print(f"\nall {len(card)} numbers within the tolerance")
    return 0


def _codebook(a) -> int:
    from ._paths import DATA_DIR
    from .data.schema import BEGIN, END, codebook_markdown

    path = DATA_DIR / "README.md"
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


def main(argv: list[str] | None = None) -> int:
    from .data import DEFAULT_SEED

    ap = argparse.ArgumentParser(prog="python -m replication", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check a panel file against the schema")
    v.add_argument("path")
    v.add_argument("--years", nargs=2, type=int, metavar=("FIRST", "LAST"))
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
    r.add_argument("-p", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    r.add_argument("--jobs", type=int, default=None, help="notebooks run in parallel (default: cores)")
    r.set_defaults(func=_run)
    b = sub.add_parser("build", help="render the HTML book")
    b.add_argument("--no-strict", action="store_true")
    b.set_defaults(func=_build)
    k = sub.add_parser("check", help="the replication scorecard: every reported number beside ours")
    k.add_argument("--data", help="your panel (CSV or Parquet); default: the semi-synthetic panel")
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
    a = ap.parse_args(argv)
    try:
        return a.func(a)
    except KeyboardInterrupt:
        print("interrupted; previous outputs left intact", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
