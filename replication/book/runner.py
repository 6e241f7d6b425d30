"""Execute the notebooks with papermill and build the book, atomically.

``run_notebooks`` validates every parameter against the notebook's ``parameters``
cell *before* anything runs (papermill itself accepts any name), resolves and
validates a user's data file once, executes the notebooks in parallel into a
staging folder, and only when all succeeded swaps the staging folder in for
``book/chapters/``.  A failing notebook is kept in ``_runs/failed/`` with its
traceback, and the message names the notebook and cell; the previous chapters are
left untouched.  ``build_book`` renders into a temporary folder and swaps it in for
``book/_build`` the same way.

Interrupts.  SIGINT and SIGTERM raise :class:`Interrupted` (a ``KeyboardInterrupt``)
at most once per run; the cleanup that follows (stop the notebook processes and their
kernels, remove the staging folder, put a moved-away ``book/chapters`` back) can
therefore not be interrupted itself.  Starting a notebook process and the swap of
the chapter folders are critical sections: a signal that arrives inside one is acted
on when it ends, and a signal that arrives during the swap undoes it.  Once the new
chapters are in place the run completes; a late signal is reported by the CLI.

Data.  ``data_path`` and ``mapping`` are resolved against the directory the command
was started in, then against the project root; notebooks receive a path relative to
the project root (POSIX form) for a file inside the project, an absolute path
otherwise.  A missing file stops the run in milliseconds (nothing heavy is imported
before that check); an unusable panel stops it before any kernel starts
(:class:`DataError`, exit code 2).

Records for the book's reproducibility page, in ``book/chapters/outputs/``:
``run_summary.csv``, ``environment.csv``, ``data_source.csv`` (what data, its SHA-256,
size and validation counts; never an absolute path), ``parameters.csv`` (every
override applied, per notebook, with its source) and ``data_source.md`` (the data
admonition that ``book/intro.md`` includes).

For tests only: ``REPLICATION_RUNNER_TRACE=<file>`` appends the name of each phase
(``params``, ``validate``, ``start``, ``execute``, ``swap``) to the file as the run
enters it, and ``REPLICATION_RUNNER_PAUSE=<phase>`` waits up to 60 s at the start of
that phase, so that a test can signal the run exactly there.
"""
from __future__ import annotations

import ast
import csv
import difflib
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from replication._paths import BOOK_DIR, NOTEBOOK_DIR, PROJECT_ROOT, display_path

CHAPTERS = BOOK_DIR / "chapters"
OUTPUTS = CHAPTERS / "outputs"
FAILED = PROJECT_ROOT / "_runs" / "failed"
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,),
          "dict": (dict,), "tuple": (list, tuple)}
FILE_PARAMETERS = ("data_path", "mapping")  # resolved by the runner, see module docstring
RUNNER_PARAMETERS = ("mapping",)  # accepted even when no selected notebook declares it (used by validation)
DEFAULT_SEED, DEFAULT_YEARS = 20251206, (2009, 2022)  # as replication.data (not imported: it is heavy)


class RunError(RuntimeError):
    """A run that cannot proceed; ``code`` is the exit status of ``python -m replication run``."""

    code = 1


class DataError(RunError):
    """The data file named by ``data_path``/``mapping`` is missing or cannot be used."""

    code = 2


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# ---------------------------------------------------------------------------------------
# interrupts

class _Interrupts:
    """SIGINT/SIGTERM -> one :class:`Interrupted`, only where the run can be unwound.

    ``signum`` keeps the first signal received.  While ``armed`` the handler raises, once
    (``spent``); outside (before the run, inside a critical section, after the commit) it
    only records the signal.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.old: dict | None = None
        self.signum: int | None = None
        self.armed = False
        self.spent = False
        self.committed = False

    @property
    def installed(self) -> bool:
        return self.old is not None

    def install(self) -> bool:
        """Install the handlers (a no-op when installed); False outside the main thread."""
        if self.old is None:
            try:
                old = {s: signal.getsignal(s) for s in self.SIGNALS}
                for s in self.SIGNALS:
                    signal.signal(s, self._handler)
            except ValueError:  # not the main thread: no guarantees
                return False
            self.old = old
        return True

    def uninstall(self) -> None:
        if self.old is not None:
            for s, h in self.old.items():
                signal.signal(s, h if h is not None else signal.SIG_DFL)
            self.old = None

    def reset(self) -> None:
        self.signum, self.armed, self.spent, self.committed = None, False, False, False

    def _raise(self):
        self.spent = True
        self.armed = False
        raise Interrupted(self.signum)

    def _handler(self, signum, frame):
        if self.signum is None:
            self.signum = signum
        if self.armed and not self.spent:
            self._raise()

    def arm(self) -> None:
        """From here on a signal interrupts the run (one received before does so now)."""
        if self.committed or self.spent:
            return
        self.armed = True
        if self.signum is not None:
            self._raise()

    def disarm(self) -> None:
        self.armed = False

    def commit(self) -> None:
        """The new chapters are in place: the run completes whatever arrives now."""
        self.committed = True
        self.armed = False

    @contextmanager
    def critical(self):
        """Defer signals to the end of the block (where the first one raises)."""
        was = self.armed
        self.armed = False
        try:
            yield
        finally:
            if was and not self.committed and not self.spent:
                self.armed = True
        if self.armed and self.signum is not None:
            self._raise()


INTERRUPTS = _Interrupts()


def _phase(name: str) -> None:
    """Test hook: trace the phase the run enters and optionally pause there."""
    trace = os.environ.get("REPLICATION_RUNNER_TRACE")
    if trace:
        with open(trace, "a") as f:
            f.write(name + "\n")
    if os.environ.get("REPLICATION_RUNNER_PAUSE") == name:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------
# notebooks and parameters

def notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(nb: Path) -> dict[str, dict]:
    """Parameters of a notebook's ``parameters`` cell: name -> {type, default, help}."""
    import papermill as pm

    return pm.inspect_notebook(str(nb))


def _select(only: list[str] | None) -> list[Path]:
    nbs = notebooks()
    if not only:
        return nbs
    out = []
    for key in only:
        hit = [p for p in nbs if p.stem == key or p.stem.split("_")[0] == key.zfill(2) or p.name == key]
        if not hit:
            raise RunError(f"--only {key}: no such notebook; have {[p.stem for p in nbs]}")
        out += [h for h in hit if h not in out]
    return out


def _load_spec(params_file) -> dict:
    if not params_file:
        return {}
    path = Path(params_file)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    if not path.exists():
        raise RunError(f"parameter file {params_file} not found")
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise RunError(f"{params_file} is not valid YAML: {e}") from None
    if not isinstance(spec, dict):
        raise RunError(f"{params_file}: expected a mapping of sections")
    return spec


def _section_stem(section, stems) -> str | None:
    return next((s for s in stems if s == str(section) or s.split("_")[0] == str(section).zfill(2)), None)


def resolve_parameters(params_file: str | Path | None, nbs: list[Path], overrides: list[str] | None = None,
                       *, sources: dict | None = None, declared: dict | None = None) -> dict[str, dict]:
    """Parameters per notebook from a YAML file and ``name=value`` overrides, checked.

    File layout: a ``defaults:`` mapping applies to every notebook that declares the
    name; a mapping under a notebook's stem (``03_baseline:``) or number (``"03":``)
    applies to that notebook only.  A name no selected notebook declares, or a value
    of the wrong type, is an error naming the notebook and the parameter.  With
    ``sources`` (a dict), ``sources[stem][name]`` says where each value came from
    (the parameter file or ``-p``).  ``declared`` may give the notebooks' parameters
    (:func:`declared_parameters`) when the caller has them already.
    """
    spec = _load_spec(params_file)
    declared = declared or {nb.stem: declared_parameters(nb) for nb in nbs}
    all_stems = {p.stem for p in notebooks()}
    problems = []
    resolved = {nb.stem: {} for nb in nbs}
    origin = {nb.stem: {} for nb in nbs}
    src_file = display_path(params_file) if params_file and Path(str(params_file)).is_absolute() else params_file
    defaults = spec.get("defaults", {}) or {}
    for name, value in defaults.items():
        users = [s for s in resolved if name in declared[s]]
        if not users and nbs == notebooks() and name not in RUNNER_PARAMETERS:
            problems.append(f"{params_file}: defaults.{name}: no notebook has a parameter '{name}'")
        for s in users:
            resolved[s][name], origin[s][name] = value, str(src_file)
    for section, values in spec.items():
        if section == "defaults":
            continue
        stem = _section_stem(section, all_stems)
        if stem is None:
            problems.append(f"{params_file}: section '{section}' names no notebook")
            continue
        if stem not in resolved:
            continue
        for name, value in (values or {}).items():
            if name not in declared[stem]:
                close = [d for d in declared[stem] if d.lower() == name.lower() or d.startswith(name[:3])]
                problems.append(f"{params_file}: notebook {stem} has no parameter '{name}'"
                                + (f" (did you mean {close}?)" if close else f"; it has {sorted(declared[stem])}"))
            else:
                resolved[stem][name], origin[stem][name] = value, str(src_file)
    for item in overrides or []:
        if "=" not in item:
            problems.append(f"-p {item}: expected name=value")
            continue
        name, raw = item.split("=", 1)
        value = raw if name in FILE_PARAMETERS else yaml.safe_load(raw)
        users = [s for s in resolved if name in declared[s]]
        if not users and name not in RUNNER_PARAMETERS:
            known = sorted({d for s in resolved for d in declared[s]})
            close = difflib.get_close_matches(name, known, n=1)
            problems.append(f"-p {name}: no selected notebook has a parameter '{name}'"
                            + (f". Did you mean -p {close[0]}=...?" if close else
                               f". The parameters are: {', '.join(known)}"))
        for s in users:
            resolved[s][name], origin[s][name] = value, "-p"
    for stem, values in resolved.items():
        for name, value in values.items():
            tname = declared[stem][name].get("inferred_type_name", "None")
            base = tname.split("[")[0].replace("Optional", "").strip() or "None"
            ok_types = _TYPES.get(base)
            if ok_types and not (isinstance(value, ok_types) and not (base != "bool" and isinstance(value, bool))):
                problems.append(f"notebook {stem}: parameter '{name}' must be {tname}, got {value!r} "
                                f"({type(value).__name__})")
    problems += _indicator_problems(resolved)
    if problems:
        raise RunError("invalid parameters, nothing was run:\n  " + "\n  ".join(dict.fromkeys(problems)))
    if sources is not None:
        sources.clear()
        sources.update(origin)
    return resolved


def _indicator_problems(resolved: dict) -> list[str]:
    """Unknown names in an ``indicators`` parameter, with the closest known name, before
    anything runs (else every chapter would fail the same way)."""
    from replication.data.schema import INDICATORS

    problems = []
    for values in resolved.values():
        chosen = values.get("indicators")
        if not isinstance(chosen, list):
            continue
        for name in chosen:
            if str(name) not in INDICATORS:
                close = difflib.get_close_matches(str(name), INDICATORS, n=1)
                problems.append(f"indicators: '{name}' is not one of the 15 indicators"
                                + (f"; did you mean '{close[0]}'?" if close else
                                   f" ({', '.join(INDICATORS)})"))
        if 0 < len(chosen) < 2:
            problems.append("indicators: an index needs at least 2 indicators (empty = all 15)")
    return problems


# ---------------------------------------------------------------------------------------
# the user's data file

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
        where = " or ".join(str(Path(os.path.abspath(t))) for t in dict.fromkeys(tried))
        what = ("mapping file" if kind == "mapping" else "data file")
        folder = next((Path(os.path.abspath(t)).parent for t in tried if Path(os.path.abspath(t)).parent.is_dir()),
                      None)
        near = difflib.get_close_matches(p.name, [f.name for f in folder.iterdir()], n=1) if folder else []
        hint = (f" Did you mean {(p.parent / near[0]).as_posix()}?" if near else "")
        fix = ("the path of your YAML mapping file (-p mapping=...)" if kind == "mapping" else
               "the path of your panel (CSV, Parquet or xlsx)")
        raise DataError(f"{what} '{value}' not found (looked for {where}); nothing was run.{hint} Fix: give "
                        f"{fix}, relative to this directory or to the project")
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


def _applied_raw(spec: dict, nbs: list[Path], overrides: list[str] | None, name: str) -> set[str]:
    """The values of ``name`` that would reach the selected notebooks (if they declare it),
    from the parameter file and ``-p``, without inspecting the notebooks."""
    for item in reversed(overrides or []):
        if item.startswith(name + "="):
            return {item.split("=", 1)[1]}
    stems = {nb.stem for nb in nbs}
    all_stems = {p.stem for p in notebooks()}
    values = {stem: (spec.get("defaults") or {}).get(name) for stem in stems}
    for section, vals in spec.items():
        stem = _section_stem(section, all_stems) if section != "defaults" else None
        if stem in stems and isinstance(vals, dict) and name in vals:
            values[stem] = vals[name]
    return {str(v) for v in values.values() if v not in (None, "")}


def _sha256(path: Path) -> str:
    from replication.data.read import sha256_of

    return sha256_of(path)


def _effective(params: dict, declared: dict, stem: str, name: str, fallback):
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
    Returns the data source record (see ``_DATA_ITEMS``).  Raises
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
        for s in params:
            if "mapping" in declared[s]:
                params[s]["mapping"] = rel
        rec.update(mapping=display_path(map_path), mapping_sha256=_sha256(map_path))
    if value:
        rel, path = resolve_user_file(value, cwd)
        for s in params:
            if "data_path" in declared[s]:
                params[s]["data_path"] = rel
        rec.update(kind="user", mode="your panel", file=display_path(path), sha256=_sha256(path))
        from replication.data import validate_panel

        kw = {"mapping": str(map_path)} if map_path is not None else {}
        try:
            rep = validate_panel(path, years=years, **kw)
        except ValueError as e:  # e.g. years outside the roster
            raise DataError(f"{value}: {e}; nothing was run") from None
        if not rep.ok:
            raise DataError(f"the panel {value} cannot be used; nothing was run:\n{rep.summary()}")
    else:
        if map_path is not None:
            raise DataError("mapping is given but data_path is empty: a column mapping applies to your panel only")
        from replication.data import load_panel

        try:
            _, rep = load_panel(seed=seeds[0], years=years, report=True)
        except ValueError as e:
            raise DataError(f"the default panel for years {years}: {e}; nothing was run") from None
        rec.update(kind="default", mode=f"default semi-synthetic panel (seed{'s' if len(seeds) > 1 else ''} "
                                         f"{', '.join(map(str, seeds))})")
    p = rep.panel
    rec.update(rows=len(p), cities=int(p["city_code"].nunique()), n_years=int(p["year"].nunique()),
               years=f"{int(p['year'].min())}–{int(p['year'].max())}", errors=len(rep.errors),
               warnings=len(rep.warnings), repairs=len(rep.repairs))
    return rec


_DATA_ITEMS = [("mode", "mode"), ("file", "file"), ("sha256", "sha256"), ("rows", "rows"), ("cities", "cities"),
               ("years", "years"), ("validation errors", "errors"), ("validation warnings", "warnings"),
               ("validation repairs", "repairs"), ("mapping file", "mapping"),
               ("mapping sha256", "mapping_sha256"), ("note", "note")]
_IDENTITY = ("file", "sha256", "mapping file", "mapping sha256")


def _read_items(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r["item"]: r["value"] for r in csv.DictReader(f)}


def _check_partial_run(rec: dict, partial: bool, chapters: Path) -> None:
    """A ``--only`` run must use the data the book's other chapters were built from."""
    old = _read_items(chapters / "outputs" / "data_source.csv")
    if not partial or not old:
        return
    new = {item: str(rec.get(key, "")) for item, key in _DATA_ITEMS}
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


# ---------------------------------------------------------------------------------------
# executing notebooks

def _first_error(path: Path) -> str | None:
    """'cell N raised Name: message' for the first error output of an executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - the notebook may not have been written at all
        return None
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                return f"cell {c.get('execution_count') or i} raised {o.get('ename')}: {o.get('evalue')}"
    return None


def _stop(procs: list, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, for psutil processes; returns when they are
    gone or zombies (a stopped kernel is reaped by whoever inherited it)."""
    import psutil

    def alive(p) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    for action in ("terminate", "kill"):
        for p in procs:
            try:
                getattr(p, action)()
            except psutil.Error:
                pass
        end = time.monotonic() + timeout
        while (procs := [p for p in procs if alive(p)]) and time.monotonic() < end:
            time.sleep(0.02)
        if not procs:
            return


class _Job:
    """One notebook executed by papermill in its own process session (so that an
    interrupt can stop it and its kernel together)."""

    def __init__(self, nb: Path, out: Path, params: dict, cwd: Path, tmp: Path):
        self.nb, self.out = nb, out
        pfile = tmp / f"{nb.stem}.params.yaml"
        pfile.write_text(yaml.safe_dump(params))
        self.log = open(tmp / f"{nb.stem}.log", "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "papermill", str(nb), str(out), "-f", str(pfile), "--cwd", str(cwd),
             "-k", "python3", "--no-progress-bar"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def poll(self) -> int | None:
        return self.proc.poll()

    def result(self) -> tuple[float, str | None]:
        self.log.close()
        secs = time.perf_counter() - self.t0
        if self.proc.returncode == 0:
            _postprocess(str(self.out))
            return secs, None
        err = _first_error(self.out)
        if err is None:
            tail = Path(self.log.name).read_text(errors="replace").strip().splitlines()[-3:]
            err = "papermill failed: " + " | ".join(tail)
        return secs, err

    def kill(self) -> None:
        """Stop papermill and everything it started (the kernel runs in a session of its own)."""
        import psutil

        if self.proc.poll() is None:
            try:
                parent = psutil.Process(self.proc.pid)
                _stop([parent, *parent.children(recursive=True)])
            except psutil.Error:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.log.close()


def _stop_processes_in(folder: Path) -> None:
    """Stop any process of this user still working in ``folder`` (e.g. a kernel whose
    papermill was killed before it was seen)."""
    import psutil

    me, found = os.getuid(), []
    for p in psutil.process_iter(["uids", "cwd"]):
        try:
            if p.info["uids"] and p.info["uids"].real == me and p.info["cwd"] and p.pid != os.getpid():
                if Path(p.info["cwd"]) == folder or folder in Path(p.info["cwd"]).parents:
                    found.append(p)
        except (psutil.Error, TypeError, ValueError):
            pass
    if found:
        _stop(found)


def _postprocess(path: str) -> None:
    """The executed notebook as the book shows it: papermill's injected cell (the values
    actually used) is kept, the default ``parameters`` cell is removed from the page, an
    injected cell that holds an absolute path shows no input, papermill's record of the
    input/output paths is made relative to the project; then the cells of the other
    data mode are dropped (``replication.book.chapter.apply_data_mode``)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    if any("injected-parameters" in t for t in tags):
        for c, t in zip(nb.cells, tags):
            if "parameters" in t and "remove-cell" not in t:
                c.metadata["tags"] = [*t, "remove-cell"]
            if "injected-parameters" in t and "remove-input" not in t and _has_absolute_path(c.source):
                c.metadata["tags"] = [*t, "remove-input"]
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm_meta.get(key):
            pm_meta[key] = display_path(pm_meta[key]) if key == "input_path" else Path(pm_meta[key]).name
    nbformat.write(nb, path)
    try:
        from replication.book.chapter import apply_data_mode
    except ImportError:  # the notebook helpers predate data modes
        return
    apply_data_mode(path)


def _has_absolute_path(source: str) -> bool:
    home, root = os.path.expanduser("~"), str(PROJECT_ROOT)
    return any(s in source for s in ('"/', "'/", home, root)) or ":\\\\" in source


# ---------------------------------------------------------------------------------------
# the run

class _State:
    def __init__(self):
        self.staging = BOOK_DIR / f".staging-{os.getpid()}"
        self.backup = BOOK_DIR / f".old-chapters-{os.getpid()}"
        self.running: list[_Job] = []


def _cleanup(state: _State) -> None:
    """Idempotent: stop the notebooks, remove the staging folder, put the chapters back."""
    for job in list(state.running):
        job.kill()
    if state.staging.exists() or state.running:
        _stop_processes_in(state.staging)
    state.running.clear()
    if state.backup.exists() and not CHAPTERS.exists():
        state.backup.rename(CHAPTERS)
    for folder in (state.staging, state.backup):
        for _ in range(3):
            if not folder.exists():
                break
            shutil.rmtree(folder, ignore_errors=True)


def _recover_stale() -> None:
    """Folders left by a run that was killed outright (SIGKILL, power loss)."""
    import psutil

    for d in sorted(BOOK_DIR.glob(".old-chapters-*")) + sorted(BOOK_DIR.glob(".staging-*")):
        pid = d.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid() or psutil.pid_exists(int(pid)):
            continue
        if d.name.startswith(".old-chapters-") and not CHAPTERS.exists():
            d.rename(CHAPTERS)
            print(f"restored {CHAPTERS} from an interrupted swap", file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


def _swap(state: _State) -> None:
    """Replace ``book/chapters`` by the staging folder.  A signal during the swap undoes it."""
    with INTERRUPTS.critical():
        had = CHAPTERS.exists()
        if had:
            CHAPTERS.rename(state.backup)
        try:
            state.staging.rename(CHAPTERS)
        except BaseException:
            if had:
                state.backup.rename(CHAPTERS)
            raise
        if INTERRUPTS.signum is not None:
            CHAPTERS.rename(state.staging)
            if had:
                state.backup.rename(CHAPTERS)
        else:
            INTERRUPTS.commit()
    shutil.rmtree(state.backup, ignore_errors=True)


def run_notebooks(params_file: str | Path | None = "params/paper.yaml", only: list[str] | None = None,
                  overrides: list[str] | None = None, jobs: int | None = None, cwd: str | Path | None = None
                  ) -> list[dict]:
    """Execute notebooks into ``book/chapters`` (atomic swap); returns one row per notebook.

    ``cwd`` (default: the current directory) is where relative ``data_path`` and
    ``mapping`` values are looked for first.
    """
    own = not INTERRUPTS.installed
    INTERRUPTS.install()
    if own:
        INTERRUPTS.reset()
    state = _State()
    try:
        try:
            INTERRUPTS.arm()
            return _run(state, params_file, only, overrides, jobs, Path(cwd or os.getcwd()))
        finally:
            INTERRUPTS.disarm()
            _cleanup(state)
    except KeyboardInterrupt:
        _cleanup(state)  # completes a cleanup the interrupt may have cut short
        raise
    finally:
        INTERRUPTS.disarm()
        if own:
            INTERRUPTS.uninstall()


def _run(state: _State, params_file, only, overrides, jobs, cwd: Path) -> list[dict]:
    _phase("params")
    nbs = _select(only)
    if not nbs:
        raise RunError(f"no notebooks in {NOTEBOOK_DIR}")
    spec = _load_spec(params_file)
    for name in FILE_PARAMETERS:  # fail fast, before papermill is even imported
        for value in _applied_raw(spec, nbs, overrides, name):
            resolve_user_file(value, cwd, kind=name)
    sources: dict = {}
    declared = {nb.stem: declared_parameters(nb) for nb in nbs}
    params = resolve_parameters(params_file, nbs, overrides, sources=sources, declared=declared)

    _phase("validate")
    data = describe_data(params, declared, cwd, _applied_raw(spec, nbs, overrides, "mapping"))
    partial = {nb.stem for nb in nbs} != {nb.stem for nb in notebooks()}
    _check_partial_run(data, partial, CHAPTERS)
    if data.get("mapping") and not any("mapping" in declared[s] for s in params):
        print("warning: no selected notebook declares 'mapping'; it was used for validation only", file=sys.stderr)

    with INTERRUPTS.critical():
        _recover_stale()
    if CHAPTERS.exists():
        shutil.copytree(CHAPTERS, state.staging)
    else:
        state.staging.mkdir(parents=True)
    for nb in nbs:  # a re-run chapter starts from an empty output folder: no stale tables
        shutil.rmtree(state.staging / "outputs" / nb.stem, ignore_errors=True)
    jobs = jobs or min(len(nbs), os.cpu_count() or 1)
    shown = display_path(params_file) if params_file and Path(str(params_file)).is_absolute() else params_file
    print(f"running {len(nbs)} notebook(s) with {shown or 'their defaults'}, {jobs} at a time"
          + (f", data {data['file']}" if data.get("file") else ""), flush=True)
    t0 = time.perf_counter()
    tmp = state.staging / ".runner"
    tmp.mkdir(exist_ok=True)

    _phase("start")
    queue, rows, traced = list(nbs), [], False
    while queue or state.running:
        while queue and len(state.running) < jobs:
            nb = queue.pop(0)
            with INTERRUPTS.critical():  # a started process is always known to the cleanup
                state.running.append(_Job(nb, state.staging / nb.name, params[nb.stem], state.staging, tmp))
        if not traced:
            _phase("execute")
            traced = True
        time.sleep(0.05)
        for job in [j for j in state.running if j.poll() is not None]:
            secs, err = job.result()
            state.running.remove(job)
            rows.append({"notebook": job.nb.stem, "seconds": round(secs, 1),
                         "status": "ok" if not err else "FAILED", "error": err})
            print(f"  {'ok    ' if not err else 'FAILED'} {job.nb.stem:<22} {secs:6.1f} s"
                  + (f"  {err}" if err else ""), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    rows.sort(key=lambda r: r["notebook"])
    failed = [r for r in rows if r["error"]]
    print(f"{len(rows) - len(failed)} ok, {len(failed)} failed, {time.perf_counter() - t0:.1f} s wall")
    if failed:
        FAILED.mkdir(parents=True, exist_ok=True)
        for r in failed:
            shutil.copy2(state.staging / f"{r['notebook']}.ipynb", FAILED / f"{r['notebook']}.ipynb")
        raise RunError("; ".join(f"{r['notebook']}: {r['error']}" for r in failed)
                       + f". Executed notebooks with tracebacks: {FAILED}. Previous chapters left intact.")
    _write_run_records(state.staging, rows, shown, time.perf_counter() - t0, jobs)
    _write_data_records(state.staging, data, params, sources, {nb.stem for nb in nbs})

    _phase("swap")
    _swap(state)
    return rows


# ---------------------------------------------------------------------------------------
# records for the reproducibility page

def copy_project(dest: Path) -> Path:
    """Copy the project's tracked (and untracked, not ignored) files to ``dest``; run it there
    with ``REPLICATION_ROOT=dest`` to leave this working tree's book untouched."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (PROJECT_ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / f, dest / f)
    return dest


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


def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _write_run_records(chapters: Path, rows: list[dict], params_file, wall: float, jobs: int) -> None:
    """Run times and the environment, for the book's reproducibility appendix."""
    out = chapters / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    known = {}
    if (out / "run_summary.csv").exists():  # keep the chapters not re-run this time (--only)
        with open(out / "run_summary.csv", newline="") as f:
            known = {r["notebook"]: r for r in csv.DictReader(f) if not r["notebook"].startswith("all")}
    for r in rows:
        known[r["notebook"]] = {"notebook": r["notebook"], "seconds": f"{r['seconds']:.1f}", "status": r["status"]}
    _write_csv(out / "run_summary.csv", ["notebook", "seconds", "status"],
               [[known[k]["notebook"], known[k]["seconds"], known[k]["status"]] for k in sorted(known)]
               + [[f"all ({jobs} in parallel, parameters {params_file or 'none'})", f"{wall:.1f}", "wall time"]])
    _write_csv(out / "environment.csv", ["item", "value"], [[r["item"], r["value"]] for r in environment_rows()])


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


def _write_data_records(chapters: Path, rec: dict, params: dict, sources: dict, ran: set[str]) -> None:
    """``data_source.csv``, ``data_source.md`` and ``parameters.csv`` (merged with the rows of
    the chapters not re-run by ``--only``)."""
    out = chapters / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    items = [(item, str(rec.get(key, ""))) for item, key in _DATA_ITEMS]
    _write_csv(out / "data_source.csv", ["item", "value"],
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
    _write_csv(out / "parameters.csv", ["notebook", "parameter", "value", "source"], rows)


# ---------------------------------------------------------------------------------------
# the book

def build_book(strict: bool = True) -> Path:
    """Render ``book/`` to HTML in a temporary folder, then swap it in for ``book/_build``."""
    missing = [nb.stem for nb in notebooks() if not (CHAPTERS / nb.name).exists()]
    if missing:
        raise RunError(f"chapters not executed yet: {missing}. Run `python -m replication run` first")
    records = [f for f in ("run_summary.csv", "environment.csv", "data_source.csv", "parameters.csv",
                           "data_source.md") if not (OUTPUTS / f).exists()]
    if records:
        raise RunError(f"the run records {records} are missing from {OUTPUTS} (chapters executed by an older "
                       "version). Run `python -m replication run` first")
    tmp = BOOK_DIR / f".build-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(BOOK_DIR), "--path-output", str(tmp), "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (tmp / "_build" / "html" / "index.html").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RunError(f"book build failed (previous book left intact):\n{tail}")
    final = BOOK_DIR / "_build"
    backup = BOOK_DIR / f".old-build-{os.getpid()}"
    if final.exists():
        final.rename(backup)
    (tmp / "_build").rename(final)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"built {final / 'html' / 'index.html'} in {time.perf_counter() - t0:.1f} s")
    return final / "html" / "index.html"
