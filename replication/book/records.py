"""Records for the book's reproducibility page, in ``book/chapters/outputs/``:
``run_summary.csv`` and ``environment.csv`` (run times, software), ``data_source.csv``
(what data, its SHA-256, size and validation counts; never an absolute path),
``parameters.csv`` (every override applied, per notebook, with its source) and
``data_source.md`` (the data admonition that ``book/intro.md`` includes).  A ``--only``
run merges its rows with those of the chapters it did not re-run."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from replication.book.datasource import DATA_ITEMS
from replication.book.parameters import FILE_PARAMETERS


def environment_rows() -> list[dict]:
    """Python, platform, cores and the versions of the packages that matter."""
    import platform
    from importlib import metadata

    rows = [{"item": "python", "value": platform.python_version()},
            {"item": "platform", "value": platform.platform()},
            {"item": "processor", "value": platform.machine()},
            {"item": "cores", "value": str(os.cpu_count())}]
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
        rows.append({"item": "memory", "value": f"{mem:.0f} GiB"})
    except (ValueError, OSError, AttributeError):
        pass
    for pkg in ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "matplotlib", "seaborn", "papermill",
                "jupyter-book", "wildboottest"):
        try:
            rows.append({"item": pkg, "value": metadata.version(pkg)})
        except metadata.PackageNotFoundError:
            rows.append({"item": pkg, "value": "not installed"})
    return rows


def write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_run_records(chapters: Path, rows: list[dict], params_file, wall: float, jobs: int) -> None:
    """Run times and the environment, for the book's reproducibility appendix."""
    out = chapters / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    known = {}
    if (out / "run_summary.csv").exists():  # keep the chapters not re-run this time (--only)
        with open(out / "run_summary.csv", newline="") as f:
            known = {r["notebook"]: r for r in csv.DictReader(f) if not r["notebook"].startswith("all")}
    for r in rows:
        known[r["notebook"]] = {"notebook": r["notebook"], "seconds": f"{r['seconds']:.1f}", "status": r["status"]}
    write_csv(out / "run_summary.csv", ["notebook", "seconds", "status"],
              [[known[k]["notebook"], known[k]["seconds"], known[k]["status"]] for k in sorted(known)]
              + [[f"all ({jobs} in parallel, parameters {params_file or 'none'})", f"{wall:.1f}", "wall time"]])
    write_csv(out / "environment.csv", ["item", "value"], [[r["item"], r["value"]] for r in environment_rows()])


def _shown_value(name: str, value) -> str:
    if name in FILE_PARAMETERS and value and Path(str(value)).is_absolute():
        return f"{Path(str(value)).name} (outside the project)"
    if isinstance(value, str):
        return value if value else '""'
    return repr(value)


def data_source_markdown(rec: dict) -> str:
    """The admonition that names the data of the book (included by ``book/intro.md``)."""
    size = f"{rec['cities']} cities × {rec['n_years']} years, {rec['rows']:,} rows"
    if rec["kind"] == "default":
        seeds = rec["mode"].split("(", 1)[1].rstrip(")")
        body = ("The paper's yearbook panel is not openly available. Every chapter therefore runs, by\n"
                f"default, on a documented **semi-synthetic panel** ({seeds}; {size}): the city roster,\n"
                "provinces, regions, 2020 census city sizes, coordinates and the Broadband China lists are\n"
                "**real**; the pilot batches, the 15 indicators, the controls, the mediators and the threshold\n"
                "variable are **simulated** from a data-generating process whose true effects are known. Our\n"
                "numbers are shown beside the paper's, but on this data agreement cell by cell is not\n"
                "expected: the meaningful comparison is our estimate against the known truth.")
        head, cls = "The default data are semi-synthetic", "warning"
    else:
        def code(s):
            return "`" + str(s).replace("`", "'") + "`"
        mapped = f", its columns mapped by {code(rec['mapping'])}" if rec.get("mapping") else ""
        body = (f"These pages were built from your panel {code(rec['file'])} (SHA-256 {code(rec['sha256'][:12] + '…')},\n"
                f"{size}){mapped}, validated against the codebook: {rec['warnings']} warning(s) and\n"
                f"{rec['repairs']} repair(s), listed in the data report of the first chapter. The paper's numbers\n"
                "are shown beside the estimates from this panel; the run's records (data, parameters,\n"
                "software) are in the appendix {doc}`reproducibility`.")
        head, cls = "The data of this book: your panel", "note"
    if rec.get("note"):
        body += "\n\nNot all chapters were run with the same seed or years: see {doc}`reproducibility`."
    return f"```{{admonition}} {head}\n:class: {cls}\n\n{body}\n```\n"


def write_data_records(chapters: Path, rec: dict, params: dict, sources: dict, ran: set[str]) -> None:
    """``data_source.csv``, ``data_source.md`` and ``parameters.csv`` (merged with the rows of
    the chapters not re-run by ``--only``)."""
    out = chapters / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    items = [(item, str(rec.get(key, ""))) for item, key in DATA_ITEMS]
    write_csv(out / "data_source.csv", ["item", "value"],
              [(i, v) for i, v in items if v or i not in ("mapping file", "mapping sha256", "note")])
    (out / "data_source.md").write_text(data_source_markdown(rec), encoding="utf-8")
    kept = []
    if (out / "parameters.csv").exists():
        with open(out / "parameters.csv", newline="", encoding="utf-8") as f:
            kept = [[r["notebook"], r["parameter"], r["value"], r["source"]] for r in csv.DictReader(f)
                    if r["notebook"] not in ran and r["parameter"] != "(none)"]
    new = [[stem, name, _shown_value(name, params[stem][name]), src]
           for stem in sorted(sources) for name, src in sources[stem].items()]
    rows = sorted(kept + new, key=lambda r: (r[0], r[1])) or [["all", "(none)", "", "the notebooks' defaults"]]
    write_csv(out / "parameters.csv", ["notebook", "parameter", "value", "source"], rows)
