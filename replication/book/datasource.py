"""The data of a run: the user's ``data_path``/``mapping`` resolved and the panel validated
once, before any kernel starts; the record of what data the book was built from.

``data_path`` and ``mapping`` are resolved against the directory the command was started
in, then against the project root; notebooks receive a path relative to the project root
(POSIX form) for a file inside the project, an absolute path otherwise.  A missing file
or an unusable panel is a :class:`~replication.book.parameters.DataError` (exit code 2).
The record (:func:`describe_data`) becomes ``data_source.csv`` and ``data_source.md``
(:mod:`replication.book.records`); it never holds an absolute path.
"""
from __future__ import annotations

import ast
import csv
import difflib
import os
from pathlib import Path

from replication._paths import PROJECT_ROOT, display_path
from replication.book.parameters import DataError

DEFAULT_SEED, DEFAULT_YEARS = 20251206, (2009, 2022)  # as replication.data (not imported: it is heavy)
DATA_ITEMS = [("mode", "mode"), ("file", "file"), ("sha256", "sha256"), ("rows", "rows"), ("cities", "cities"),
              ("years", "years"), ("validation errors", "errors"), ("validation warnings", "warnings"),
              ("validation repairs", "repairs"), ("mapping file", "mapping"),
              ("mapping sha256", "mapping_sha256"), ("note", "note")]  # (item in data_source.csv, record key)
_IDENTITY = ("file", "sha256", "mapping file", "mapping sha256")


def resolve_user_file(value: str, cwd: Path | None = None, root: Path | None = None, *,
                      kind: str = "data_path") -> tuple[str, Path]:
    """``(value for the notebooks, absolute path)`` of a data or mapping file named by a user.

    Tried against ``cwd`` (the directory the command was started in), then the project
    root.  Inside the project the notebooks get the path relative to the root in POSIX
    form; outside, the absolute path.  Raises :class:`DataError` naming the file and the
    places looked in when it does not exist.
    """
    root = Path(root or PROJECT_ROOT)
    cwd = Path(cwd or os.getcwd())
    p = Path(str(value)).expanduser()
    tried = [p] if p.is_absolute() else [cwd / p, root / p]
    hit = next((Path(os.path.abspath(t)) for t in tried if t.exists()), None)
    if hit is None:
        raise _not_found(value, p, tried, kind)
    if hit.is_dir():
        raise DataError(f"'{value}' is a folder, not a file; nothing was run. Fix: give the path of the panel file")
    if not os.access(hit, os.R_OK):
        raise DataError(f"data file '{value}' cannot be read (permission denied); nothing was run")
    for q in (hit, hit.resolve()):
        try:
            return q.relative_to(root.resolve()).as_posix(), hit
        except ValueError:
            pass
    return str(hit), hit


def _not_found(value: str, p: Path, tried: list[Path], kind: str) -> DataError:
    where = " or ".join(str(Path(os.path.abspath(t))) for t in dict.fromkeys(tried))
    what = ("mapping file" if kind == "mapping" else "data file")
    folder = next((Path(os.path.abspath(t)).parent for t in tried if Path(os.path.abspath(t)).parent.is_dir()),
                  None)
    near = difflib.get_close_matches(p.name, [f.name for f in folder.iterdir()], n=1) if folder else []
    hint = (f" Did you mean {(p.parent / near[0]).as_posix()}?" if near else "")
    fix = ("the path of your YAML mapping file (-p mapping=...)" if kind == "mapping" else
           "the path of your panel (CSV, Parquet or xlsx)")
    return DataError(f"{what} '{value}' not found (looked for {where}); nothing was run.{hint} Fix: give "
                     f"{fix}, relative to this directory or to the project")


def _sha256(path: Path) -> str:
    from replication.data.read import sha256_of

    return sha256_of(path)


def _effective(params: dict, declared: dict, stem: str, name: str, fallback):
    """The value a notebook will use: given, else its declared default, else ``fallback``."""
    if name in params[stem]:
        return params[stem][name]
    d = declared[stem].get(name)
    if d is None:
        return fallback
    try:
        return ast.literal_eval(d.get("default", ""))
    except (ValueError, SyntaxError):
        return fallback


def describe_data(params: dict, declared: dict, cwd: Path, mappings: set[str] = frozenset()) -> dict:
    """Resolve ``data_path``/``mapping`` in ``params`` (in place) and validate the data once.

    ``mappings`` are the ``mapping`` values given (also those no notebook declares).
    Returns the data source record (see ``DATA_ITEMS``).  Raises
    :class:`DataError` when the selected notebooks would read different files or the
    panel cannot be used.
    """
    users = [s for s in params if "data_path" in declared[s]] or list(params)
    values = {str(_effective(params, declared, s, "data_path", "")) for s in users}
    maps = {str(params[s]["mapping"]) for s in params if params[s].get("mapping")} | set(mappings)
    maps = maps or {""}
    if len(values) > 1 or len(maps) > 1:
        raise DataError(f"the selected notebooks would read different data ({sorted(values | maps)}); nothing was "
                        "run. Fix: give data_path (and mapping) once, in `defaults:` or with -p")
    value, mapping = values.pop(), maps.pop()
    firsts = {int(_effective(params, declared, s, "first_year", DEFAULT_YEARS[0])) for s in users}
    lasts = {int(_effective(params, declared, s, "last_year", DEFAULT_YEARS[1])) for s in users}
    years = (min(firsts), max(lasts))
    seeds = sorted({int(_effective(params, declared, s, "seed", DEFAULT_SEED)) for s in users})
    rec = {"seeds": seeds, "file": "", "sha256": "", "mapping": "", "mapping_sha256": ""}
    map_path = None
    if mapping:
        rel, map_path = resolve_user_file(mapping, cwd, kind="mapping")
        _set_for_declaring(params, declared, "mapping", rel)
        rec.update(mapping=display_path(map_path), mapping_sha256=_sha256(map_path))
    if value:
        rel, path = resolve_user_file(value, cwd)
        _set_for_declaring(params, declared, "data_path", rel)
        rec.update(kind="user", mode="your panel", file=display_path(path), sha256=_sha256(path))
        rep = _validate_user_panel(value, path, years, map_path)
    else:
        if map_path is not None:
            raise DataError("mapping is given but data_path is empty: a column mapping applies to your panel only")
        rep = _validate_default_panel(seeds[0], years)
        rec.update(kind="default", mode=f"default semi-synthetic panel (seed{'s' if len(seeds) > 1 else ''} "
                                         f"{', '.join(map(str, seeds))})")
    p = rep.panel
    rec.update(rows=len(p), cities=int(p["city_code"].nunique()), n_years=int(p["year"].nunique()),
               years=f"{int(p['year'].min())}–{int(p['year'].max())}", errors=len(rep.errors),
               warnings=len(rep.warnings), repairs=len(rep.repairs))
    return rec


def _set_for_declaring(params: dict, declared: dict, name: str, value: str) -> None:
    for s in params:
        if name in declared[s]:
            params[s][name] = value


def _validate_user_panel(value: str, path: Path, years: tuple[int, int], map_path: Path | None):
    from replication.data import validate_panel

    kw = {"mapping": str(map_path)} if map_path is not None else {}
    try:
        rep = validate_panel(path, years=years, **kw)
    except ValueError as e:  # e.g. years outside the roster
        raise DataError(f"{value}: {e}; nothing was run") from None
    if not rep.ok:
        raise DataError(f"the panel {value} cannot be used; nothing was run:\n{rep.summary()}")
    return rep


def _validate_default_panel(seed: int, years: tuple[int, int]):
    from replication.data import load_panel

    try:
        _, rep = load_panel(seed=seed, years=years, report=True)
    except ValueError as e:
        raise DataError(f"the default panel for years {years}: {e}; nothing was run") from None
    return rep


def read_items(path: Path) -> dict[str, str]:
    """A two-column (item, value) CSV record as a dict; empty when there is none."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r["item"]: r["value"] for r in csv.DictReader(f)}


def check_partial_run(rec: dict, partial: bool, chapters: Path) -> None:
    """A ``--only`` run must use the data the book's other chapters were built from."""
    old = read_items(chapters / "outputs" / "data_source.csv")
    if not partial or not old:
        return
    new = {item: str(rec.get(key, "")) for item, key in DATA_ITEMS}
    same_kind = old.get("mode", "").startswith("default") == (rec["kind"] == "default")
    if not same_kind or any(old.get(k, "") != new[k] for k in _IDENTITY):
        was = old.get("file") or old.get("mode", "?")
        now = new["file"] or new["mode"]
        raise DataError(f"the book's other chapters were built from {was}; this partial run (--only) would use "
                        f"{now}, and the book would mix two data sets. Nothing was run. Fix: run all chapters "
                        "(without --only) to switch the data")
    if old.get("mode") != new["mode"] or old.get("years") != new["years"] or old.get("note"):
        rec["note"] = ("the chapters were not all run with the same seed or years: see the parameter overrides "
                       "per notebook")
