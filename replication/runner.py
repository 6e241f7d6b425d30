"""Execute the notebooks with papermill and build the book, atomically.

``run_notebooks`` validates every parameter against the notebook's ``parameters``
cell *before* anything runs (papermill itself accepts any name), executes the
notebooks in parallel into a staging folder, and only when all succeeded swaps the
staging folder in for ``book/chapters/``.  A failing notebook is kept in
``_runs/failed/`` with its traceback, and the message names the notebook and cell;
the previous chapters are left untouched.  ``build_book`` renders into a temporary
folder and swaps it in for ``book/_build`` the same way.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ._paths import BOOK_DIR, NOTEBOOK_DIR, PROJECT_ROOT

CHAPTERS = BOOK_DIR / "chapters"
FAILED = PROJECT_ROOT / "_runs" / "failed"
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,),
          "dict": (dict,), "tuple": (list, tuple)}


class RunError(RuntimeError):
    pass


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


def resolve_parameters(params_file: str | Path | None, nbs: list[Path], overrides: list[str] | None = None
                       ) -> dict[str, dict]:
    """Parameters per notebook from a YAML file and ``name=value`` overrides, checked.

    File layout: a ``defaults:`` mapping applies to every notebook that declares the
    name; a mapping under a notebook's stem (``03_baseline:``) or number (``"03":``)
    applies to that notebook only.  A name no selected notebook declares, or a value
    of the wrong type, is an error naming the notebook and the parameter.
    """
    spec = {}
    if params_file:
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
    declared = {nb.stem: declared_parameters(nb) for nb in nbs}
    all_stems = {p.stem for p in notebooks()}
    problems = []
    resolved = {nb.stem: {} for nb in nbs}
    defaults = spec.get("defaults", {}) or {}
    for name, value in defaults.items():
        users = [s for s in resolved if name in declared[s]]
        if not users and nbs == notebooks():
            problems.append(f"{params_file}: defaults.{name}: no notebook has a parameter '{name}'")
        for s in users:
            resolved[s][name] = value
    for section, values in spec.items():
        if section == "defaults":
            continue
        stem = next((s for s in all_stems if s == str(section) or s.split("_")[0] == str(section).zfill(2)), None)
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
                resolved[stem][name] = value
    for item in overrides or []:
        if "=" not in item:
            problems.append(f"-p {item}: expected name=value")
            continue
        name, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        users = [s for s in resolved if name in declared[s]]
        if not users:
            problems.append(f"-p {name}: none of {sorted(resolved)} has a parameter '{name}'")
        for s in users:
            resolved[s][name] = value
    for stem, values in resolved.items():
        for name, value in values.items():
            tname = declared[stem][name].get("inferred_type_name", "None")
            base = tname.split("[")[0].replace("Optional", "").strip() or "None"
            ok_types = _TYPES.get(base)
            if ok_types and not (isinstance(value, ok_types) and not (base != "bool" and isinstance(value, bool))):
                problems.append(f"notebook {stem}: parameter '{name}' must be {tname}, got {value!r} "
                                f"({type(value).__name__})")
    if problems:
        raise RunError("invalid parameters, nothing was run:\n  " + "\n  ".join(problems))
    return resolved


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
            _hide_default_parameters(str(self.out))
            return secs, None
        err = _first_error(self.out)
        if err is None:
            tail = Path(self.log.name).read_text(errors="replace").strip().splitlines()[-3:]
            err = "papermill failed: " + " | ".join(tail)
        return secs, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


def _hide_default_parameters(path: str) -> None:
    """In the executed notebook, keep papermill's injected cell (the values actually used)
    and remove the default ``parameters`` cell from the rendered book."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    if any("injected-parameters" in t for t in tags):
        for c, t in zip(nb.cells, tags):
            if "parameters" in t and "remove-cell" not in t:
                c.metadata["tags"] = [*t, "remove-cell"]
        nbformat.write(nb, path)


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def run_notebooks(params_file: str | Path | None = "params/paper.yaml", only: list[str] | None = None,
                  overrides: list[str] | None = None, jobs: int | None = None) -> list[dict]:
    """Execute notebooks into ``book/chapters`` (atomic swap); returns one row per notebook."""
    nbs = _select(only)
    if not nbs:
        raise RunError(f"no notebooks in {NOTEBOOK_DIR}")
    params = resolve_parameters(params_file, nbs, overrides)
    staging = BOOK_DIR / f".staging-{os.getpid()}"
    old_handler = signal.signal(signal.SIGTERM, _sigterm)
    rows = []
    try:
        if staging.exists():
            shutil.rmtree(staging)
        if CHAPTERS.exists():
            shutil.copytree(CHAPTERS, staging)
        else:
            staging.mkdir(parents=True)
        for nb in nbs:  # a re-run chapter starts from an empty output folder: no stale tables
            shutil.rmtree(staging / "outputs" / nb.stem, ignore_errors=True)
        jobs = jobs or min(len(nbs), os.cpu_count() or 1)
        print(f"running {len(nbs)} notebook(s) with {params_file or 'their defaults'}, {jobs} at a time", flush=True)
        t0 = time.perf_counter()
        tmp = staging / ".runner"
        tmp.mkdir(exist_ok=True)
        queue, running = list(nbs), []
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    nb = queue.pop(0)
                    running.append(_Job(nb, staging / nb.name, params[nb.stem], staging, tmp))
                time.sleep(0.05)
                for job in [j for j in running if j.poll() is not None]:
                    running.remove(job)
                    secs, err = job.result()
                    rows.append({"notebook": job.nb.stem, "seconds": round(secs, 1),
                                 "status": "ok" if not err else "FAILED", "error": err})
                    print(f"  {'ok    ' if not err else 'FAILED'} {job.nb.stem:<22} {secs:6.1f} s"
                          + (f"  {err}" if err else ""), flush=True)
        except BaseException:
            for job in running:
                job.kill()
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        rows.sort(key=lambda r: r["notebook"])
        failed = [r for r in rows if r["error"]]
        print(f"{len(rows) - len(failed)} ok, {len(failed)} failed, {time.perf_counter() - t0:.1f} s wall")
        if failed:
            FAILED.mkdir(parents=True, exist_ok=True)
            for r in failed:
                shutil.copy2(staging / f"{r['notebook']}.ipynb", FAILED / f"{r['notebook']}.ipynb")
            raise RunError("; ".join(f"{r['notebook']}: {r['error']}" for r in failed)
                           + f". Executed notebooks with tracebacks: {FAILED}. Previous chapters left intact.")
        _write_run_records(staging, rows, params_file, time.perf_counter() - t0, jobs)
        backup = BOOK_DIR / f".old-chapters-{os.getpid()}"
        if CHAPTERS.exists():
            CHAPTERS.rename(backup)
        staging.rename(CHAPTERS)
        if backup.exists():
            shutil.rmtree(backup)
        return rows
    finally:
        signal.signal(signal.SIGTERM, old_handler)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


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


def _write_run_records(chapters: Path, rows: list[dict], params_file, wall: float, jobs: int) -> None:
    """Run times and the environment, for the book's reproducibility appendix."""
    import csv

    out = chapters / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    known = {}
    if (out / "run_summary.csv").exists():  # keep the chapters not re-run this time (--only)
        with open(out / "run_summary.csv", newline="") as f:
            known = {r["notebook"]: r for r in csv.DictReader(f) if not r["notebook"].startswith("all")}
    for r in rows:
        known[r["notebook"]] = {"notebook": r["notebook"], "seconds": f"{r['seconds']:.1f}", "status": r["status"]}
    with open(out / "run_summary.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["notebook", "seconds", "status"])
        for k in sorted(known):
            w.writerow([known[k]["notebook"], known[k]["seconds"], known[k]["status"]])
        w.writerow([f"all ({jobs} in parallel, parameters {params_file})", f"{wall:.1f}", "wall time"])
    with open(out / "environment.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["item", "value"])
        for r in environment_rows():
            w.writerow([r["item"], r["value"]])


def build_book(strict: bool = True) -> Path:
    """Render ``book/`` to HTML in a temporary folder, then swap it in for ``book/_build``."""
    missing = [nb.stem for nb in notebooks() if not (CHAPTERS / nb.name).exists()]
    if missing:
        raise RunError(f"chapters not executed yet: {missing}. Run `python -m replication run` first")
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
