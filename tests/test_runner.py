"""Parameters are checked before anything runs; one notebook runs under papermill; a user's
data file is resolved, validated once and recorded (a tiny project with a probe notebook)."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from replication.book.runner import DataError, RunError, notebooks, resolve_parameters, resolve_user_file


def test_paper_params_resolve():
    p = resolve_parameters(ROOT / "params/paper.yaml", notebooks())
    assert p["01_data"]["seed"] == 20251206


def test_unknown_parameter_names_the_notebook(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("01_data:\n  seeed: 3\n")
    with pytest.raises(RunError, match=r"notebook 01_data has no parameter 'seeed'"):
        resolve_parameters(f, notebooks())


def test_wrong_type_is_rejected(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("01_data:\n  first_year: 'twenty'\n")
    with pytest.raises(RunError, match=r"01_data: parameter 'first_year' must be int"):
        resolve_parameters(f, notebooks())


def test_override_of_unknown_name():
    with pytest.raises(RunError, match="has a parameter 'n_plac'"):
        resolve_parameters(None, notebooks(), ["n_plac=5"])


def test_unknown_section(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("99_nothing:\n  seed: 1\n")
    with pytest.raises(RunError, match="names no notebook"):
        resolve_parameters(f, notebooks())


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_data_notebook_runs_with_other_years(tmp_path):
    import papermill as pm

    out = tmp_path / "01.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks/01_data.ipynb"), str(out), parameters={"first_year": 2011},
                        cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    text = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", []))
    assert "287" in text
    figs = sum(any(k.endswith("image/png") for k in o.get("data", {})) for c in nb.cells for o in c.get("outputs", []))
    assert figs >= 2, "the map and the timing heat map are embedded"
    assert (tmp_path / "outputs/01_data/sample_arithmetic.csv").exists()


# ---------------------------------------------------------------------------------------
# a tiny project: the runner's inputs and one probe notebook (shared with test_reliability)

PROBE_PARAMETERS = ("seed: int = 1  # seed\nwait: float = 0.0  # seconds to sleep\n"
                    'data_path: str = ""  # the panel\nmapping: str = ""  # column mapping')
RECEIVED = ("import json, pathlib\nout = pathlib.Path('outputs/98_probe')\nout.mkdir(parents=True, exist_ok=True)\n"
            "(out / 'received.json').write_text(json.dumps({'data_path': data_path, 'mapping': mapping}))")


def _project(tmp_path, cells):
    """A copy of the project's runner inputs with one notebook ``98_probe`` and a previous book."""
    proj = tmp_path / "project"
    for d in ("data/reference", "params"):
        shutil.copytree(ROOT / d, proj / d)
    (proj / "notebooks").mkdir(parents=True)
    (proj / "book" / "chapters").mkdir(parents=True)
    (proj / "book" / "chapters" / "previous.txt").write_text("the previous book")
    (proj / "data" / "raw").mkdir(parents=True)
    (proj / "data" / "raw" / "panel.csv").write_text("user data")
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(PROBE_PARAMETERS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, proj / "notebooks" / "98_probe.ipynb")
    return proj


def _run(proj, *args, cwd=None, env=None, **kw):
    """``python -m replication run --params '' ARGS`` in the tiny project, as a process."""
    env = {**os.environ, "REPLICATION_ROOT": str(proj), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "replication", "run", "--params", "", *args], cwd=cwd or proj,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _items(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {r["item"]: r["value"] for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def valid_panel(tmp_path_factory):
    """The default panel written as a user's CSV (about 4000 rows)."""
    out = tmp_path_factory.mktemp("panel") / "panel.csv"
    res = subprocess.run([sys.executable, "-m", "replication", "simulate", "--out", str(out)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return out


# ---------------------------------------------------------------------------------------
# data_path and mapping: resolution, fail-fast, records

def test_a_user_file_is_looked_for_in_the_working_directory_then_in_the_project(tmp_path):
    root, cwd, outside = tmp_path / "proj", tmp_path / "somewhere", tmp_path / "outside"
    for d in (root / "data" / "raw", cwd / "data" / "raw", outside):
        d.mkdir(parents=True)
    (root / "data" / "raw" / "panel.csv").write_text("in the project")
    (outside / "panel.csv").write_text("outside")
    assert resolve_user_file("data/raw/panel.csv", cwd, root) == ("data/raw/panel.csv",
                                                                  root / "data" / "raw" / "panel.csv")
    assert resolve_user_file("raw/panel.csv", root / "data", root)[0] == "data/raw/panel.csv"
    assert resolve_user_file(str(root / "data/raw/panel.csv"), cwd, root)[0] == "data/raw/panel.csv"
    value, path = resolve_user_file("../outside/panel.csv", cwd, root)
    assert value == str(outside / "panel.csv") and Path(value).is_absolute() and path.read_text() == "outside"
    (cwd / "data" / "raw" / "panel.csv").write_text("next to the user")  # the working directory comes first
    value, path = resolve_user_file("data/raw/panel.csv", cwd, root)
    assert path.read_text() == "next to the user" and value == str(cwd / "data" / "raw" / "panel.csv")
    with pytest.raises(DataError, match=r"data file 'nope\.csv' not found") as e:
        resolve_user_file("nope.csv", cwd, root)
    assert e.value.code == 2


def test_a_missing_data_file_stops_the_run_at_once(tmp_path):
    proj = _project(tmp_path, ["x = 1"])
    trace = tmp_path / "trace"
    t0 = time.monotonic()
    proc = _run(proj, "-p", "data_path=data/raw/nope.csv", env={"REPLICATION_RUNNER_TRACE": str(trace)})
    out, err = proc.communicate(timeout=60)
    wall = time.monotonic() - t0
    assert proc.returncode == 2, (out, err)
    assert "data/raw/nope.csv" in err and "not found" in err and "Traceback" not in err
    assert trace.read_text().split() == ["params"], "no notebook may start"
    assert (proj / "book" / "chapters" / "previous.txt").read_text() == "the previous book"
    assert wall < 10, wall  # a process start (~0.5 s); the runner's own part is timed below
    # the runner's part, in a fresh interpreter: milliseconds, and papermill is never imported
    code = ("import sys, time\nimport replication.book.cli, replication.data\nt = time.perf_counter()\n"
            "rc = replication.book.cli.main(['run', '--params', '', '-p', 'data_path=nope.csv'])\n"
            "print(rc, time.perf_counter() - t, 'papermill' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "REPLICATION_ROOT": str(proj)})
    rc, secs, imported = res.stdout.split()
    assert rc == "2" and imported == "False", res.stdout + res.stderr
    assert float(secs) < 1.0, secs


def test_an_invalid_panel_stops_the_run_before_any_kernel_with_the_validation_summary(tmp_path, valid_panel):
    proj = _project(tmp_path, ["x = 1"])
    lines = valid_panel.read_text().splitlines()
    header = lines[0].split(",")
    i = header.index("pergdp")
    bad = [lines[0]] + [",".join(v if j != i else "not a number" for j, v in enumerate(ln.split(",")))
                        for ln in lines[1:50]] + lines[50:]
    (proj / "data" / "raw" / "bad.csv").write_text("\n".join(bad) + "\n")
    trace = tmp_path / "trace"
    proc = _run(proj, "-p", "data_path=data/raw/bad.csv", env={"REPLICATION_RUNNER_TRACE": str(trace)})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, (out, err)
    assert "bad.csv" in err and "ERROR" in err and "pergdp" in err and "Traceback" not in err
    assert trace.read_text().split() == ["params", "validate"], "no notebook may start"
    assert sorted(p.name for p in (proj / "book" / "chapters").iterdir()) == ["previous.txt"]
    assert not list((proj / "book").glob(".staging-*"))


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_run_records_on_the_default_data(tmp_path):
    proj = _project(tmp_path, [RECEIVED])
    (proj / "params" / "probe.yaml").write_text("defaults:\n  seed: 7\n  data_path: ''\n98_probe:\n  wait: 0.5\n")
    proc = _run(proj, "--params", "params/probe.yaml", "-p", "seed=8")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    rec = proj / "book" / "chapters" / "outputs"
    items = _items(rec / "data_source.csv")
    assert items["mode"] == "default semi-synthetic panel (seed 8)"
    assert items["file"] == "" and items["sha256"] == ""
    assert (items["rows"], items["cities"], items["years"]) == ("3990", "285", "2009–2022")
    assert items["validation errors"] == "0" and int(items["validation repairs"]) >= 0
    assert "mapping file" not in items and "note" not in items
    with open(rec / "parameters.csv", newline="") as f:
        params = [tuple(r.values()) for r in csv.DictReader(f)]
    assert params == [("98_probe", "data_path", '""', "params/probe.yaml"), ("98_probe", "seed", "8", "-p"),
                      ("98_probe", "wait", "0.5", "params/probe.yaml")]
    md = (rec / "data_source.md").read_text()
    assert md.startswith("```{admonition} The default data are semi-synthetic\n:class: warning\n")
    assert "(seed 8; 285 cities × 14 years, 3,990 rows)" in md and md.rstrip().endswith("```")
    summary = (rec / "run_summary.csv").read_text()
    assert "98_probe" in summary and "parameters params/probe.yaml" in summary
    assert json.loads((rec / "98_probe" / "received.json").read_text())["data_path"] == ""


def _assert_no_absolute_path(folder, *paths):
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in (".csv", ".md"):
            text = f.read_text(encoding="utf-8")
            for p in paths:
                assert str(p) not in text, f"{f.name} holds the absolute path {p}"


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_a_panel_in_the_project_named_from_another_directory(tmp_path, valid_panel):
    proj = _project(tmp_path, [RECEIVED])
    shutil.copy(valid_panel, proj / "data" / "raw" / "panel.csv")
    proc = _run(proj, "-p", "data_path=raw/panel.csv", cwd=proj / "data")  # relative to where it is started
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    rec = proj / "book" / "chapters" / "outputs"
    assert json.loads((rec / "98_probe" / "received.json").read_text())["data_path"] == "data/raw/panel.csv"
    items = _items(rec / "data_source.csv")
    digest = hashlib.sha256((proj / "data/raw/panel.csv").read_bytes()).hexdigest()
    assert items["mode"] == "your panel" and items["file"] == "data/raw/panel.csv" and items["sha256"] == digest
    assert (items["rows"], items["cities"], items["years"]) == ("3990", "285", "2009–2022")
    md = (rec / "data_source.md").read_text()
    assert f"your panel `data/raw/panel.csv` (SHA-256 `{digest[:12]}…`," in md
    assert "285 cities × 14 years, 3,990 rows" in md
    assert not re.search(r"simulat|synthetic|truth", md, re.I)
    _assert_no_absolute_path(rec, proj, tmp_path)


@pytest.mark.slow  # runs notebooks: excluded by `make test-fast`
def test_a_panel_outside_the_project_is_never_named_by_its_absolute_path(tmp_path, valid_panel):
    proj = _project(tmp_path, [RECEIVED])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(valid_panel, elsewhere / "my panel.csv")
    proc = _run(proj, "-p", "data_path=my panel.csv", cwd=elsewhere)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    chapters = proj / "book" / "chapters"
    rec = chapters / "outputs"
    assert json.loads((rec / "98_probe" / "received.json").read_text())["data_path"] == str(elsewhere / "my panel.csv")
    items = _items(rec / "data_source.csv")
    assert items["file"] == "my panel.csv"
    with open(rec / "parameters.csv", newline="") as f:
        assert {r["parameter"]: r["value"] for r in csv.DictReader(f)}["data_path"] == \
            "my panel.csv (outside the project)"
    _assert_no_absolute_path(rec, elsewhere, tmp_path)
    nb = nbformat.read(chapters / "98_probe.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and str(elsewhere) in injected[0].source  # re-running the notebook still works
    assert "remove-cell" in injected[0].metadata["tags"], "the page must not show the absolute path"
    table = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).outputs[0]["data"]["text/html"]
    assert '"my panel.csv" (outside the project)' in table and str(elsewhere) not in table
    assert str(tmp_path) not in json.dumps(nb.metadata.get("papermill", {}).get("input_path", ""))


def test_a_partial_run_on_other_data_is_refused(tmp_path):
    from replication.book.datasource import check_partial_run as _check_partial_run

    out = tmp_path / "chapters" / "outputs"
    out.mkdir(parents=True)
    out.joinpath("data_source.csv").write_text("item,value\nmode,your panel\nfile,data/raw/panel.csv\n"
                                               "sha256,abc\nyears,2009–2022\n")
    same = {"kind": "user", "mode": "your panel", "file": "data/raw/panel.csv", "sha256": "abc",
            "years": "2009–2022"}
    _check_partial_run(dict(same), True, tmp_path / "chapters")
    for other in ({**same, "sha256": "def"}, {**same, "file": "data/raw/other.csv"},
                  {"kind": "default", "mode": "default semi-synthetic panel (seed 1)", "years": "2009–2022"}):
        with pytest.raises(DataError, match=r"built from data/raw/panel.csv.*run all chapters"):
            _check_partial_run(other, True, tmp_path / "chapters")
        _check_partial_run(other, False, tmp_path / "chapters")  # a full run may switch the data
    rec = {**same, "years": "2011–2022"}
    _check_partial_run(rec, True, tmp_path / "chapters")
    assert "same seed or years" in rec["note"]


def test_the_user_data_admonition_names_file_hash_and_size_and_nothing_simulated():
    from replication.book.runner import data_source_markdown

    md = data_source_markdown({"kind": "user", "mode": "your panel", "file": "data/raw/panel.csv",
                               "sha256": "0123456789abcdef" * 4, "rows": 3402, "cities": 289, "n_years": 12,
                               "years": "2011–2022", "warnings": 2, "repairs": 3, "mapping": "data/raw/m.yaml"})
    assert md.startswith("```{admonition}") and ":class: note" in md
    assert "your panel `data/raw/panel.csv` (SHA-256 `0123456789ab…`,\n289 cities × 12 years, 3,402 rows)" in md
    assert "`data/raw/m.yaml`" in md
    assert not re.search(r"simulat|synthetic|truth|default data", md, re.I)


def test_a_signal_during_the_swap_undoes_it(tmp_path, monkeypatch):
    """The swap is a critical section: a signal inside it is acted on at its end, after the
    renames were undone; the cleanup then removes the staging folder."""
    import signal as sig

    from replication.book import interrupts
    from replication.book import staging as stage

    book = tmp_path / "book"
    chapters, staging = book / "chapters", book / ".staging-1"
    for d, text in ((chapters, "old"), (staging, "new")):
        d.mkdir(parents=True)
        (d / "page.txt").write_text(text)
    monkeypatch.setattr(stage, "CHAPTERS", chapters)
    state = stage.Staging()
    state.staging, state.backup = staging, book / ".old-chapters-1"
    real_rename = Path.rename

    def rename(self, target):
        out = real_rename(self, target)
        if Path(target) == chapters:
            sig.raise_signal(sig.SIGINT)  # lands between the two renames
        return out

    monkeypatch.setattr(Path, "rename", rename)
    interrupts.INTERRUPTS.install()
    interrupts.INTERRUPTS.reset()
    try:
        interrupts.INTERRUPTS.arm()
        with pytest.raises(interrupts.Interrupted):
            stage.swap(state)
        monkeypatch.setattr(Path, "rename", real_rename)
        stage.cleanup(state)
    finally:
        interrupts.INTERRUPTS.disarm()
        interrupts.INTERRUPTS.uninstall()
    assert (chapters / "page.txt").read_text() == "old"
    assert sorted(p.name for p in book.iterdir()) == ["chapters"]


def test_kernels_use_one_thread_each_unless_the_user_says_otherwise(monkeypatch):
    """Two notebooks run side by side on two cores: multithreaded BLAS in both kernels
    oversubscribes the cores (the book took 76 s instead of 46 s)."""
    from replication.book.execute import THREAD_VARIABLES, kernel_environment

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert all(kernel_environment()[n] == "1" for n in THREAD_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert kernel_environment()["OMP_NUM_THREADS"] == "4"


# ---------------------------------------------------------------------------------------
# dgp: the simulator options, checked like every other parameter before anything runs

def _dgp_error(*overrides, params_file=None, only=("03_baseline",)) -> str:
    nbs = [p for p in notebooks() if p.stem in only]
    with pytest.raises(RunError) as e:
        resolve_parameters(params_file, nbs, list(overrides))
    return str(e.value)


def test_dgp_options_are_passed_through_when_valid():
    p = resolve_parameters(None, notebooks(), ["dgp={dynamic_growth: 0, pretrend: 0.1, thresholds: [0.5, 1.2], "
                                               "batch_years: [2012, 2014], batch_sizes: [40, 40], "
                                               "region_effects: [[west, 1], [east, 0], [central, -1]]}"])
    assert p["03_baseline"]["dgp"] == {"dynamic_growth": 0, "pretrend": 0.1, "thresholds": [0.5, 1.2],
                                       "batch_years": [2012, 2014], "batch_sizes": [40, 40],
                                       "region_effects": [["west", 1], ["east", 0], ["central", -1]]}
    assert "dgp" not in p["90_library"]  # a page without the parameter does not get it


def test_an_unknown_dgp_option_names_the_closest_field():
    msg = _dgp_error("dgp={dynamic_growht: 0}")
    assert "'dynamic_growht' is not a simulator option; did you mean 'dynamic_growth'?" in msg
    assert "nothing was run" in msg and "pretrend" in msg  # the list of the options
    assert "write a space after the colon" in _dgp_error("dgp={dynamic_growth:0}")


def test_dgp_values_are_checked_against_the_field_types(tmp_path):
    ok = resolve_parameters(None, notebooks()[:1], ["dgp={effect_scale: 2, thresholds: [1, 2]}"])
    assert ok["01_data"]["dgp"]["effect_scale"] == 2  # a float field takes an int, a tuple field a list
    for value, expected in [("{effect_scale: two}", "'effect_scale' must be a number (default 1.5), got 'two'"),
                            ("{pretrend: true}", "'pretrend' must be a number"),
                            ("{thresholds: [0.5]}", "'thresholds' must be a list of 2 numbers"),
                            ("{thresholds: 0.5}", "'thresholds' must be a list of 2 numbers"),
                            ("{regime_effects: [1, 2, x]}", "'regime_effects' must be a list of 3 numbers"),
                            ("{batch_sizes: [30.5, 30, 30]}", "'batch_sizes' must be a list of ints"),
                            ("{region_effects: [[east, 1], [west, 1]]}", "'region_effects' must give one value to each of"),
                            ("{size_effects: [[large, 1], [small, 0]]}", "'size_effects' must give one value to each of"),
                            ("{batch_years: [2012, 2013]}", "batch_years [2012, 2013] and batch_sizes [37, 33, 25]"),
                            ]:
        assert expected in _dgp_error(f"dgp={value}"), value
    assert "must be dict" in _dgp_error("dgp=dynamic_growth") and 'dgp={dynamic_growth: 0' in _dgp_error("dgp=5")
    f = tmp_path / "p.yaml"  # the parameter file is checked the same way
    f.write_text("03_baseline:\n  dgp: {mu: [1]}\n")
    assert "'mu' must be a number" in _dgp_error(params_file=f)


def test_dgp_with_a_user_panel_is_refused():
    msg = _dgp_error("dgp={pretrend: 0.1}", "data_path=data/raw/panel.csv")
    assert "simulator options apply only to the default data; remove -p dgp=… or data_path" in msg
    resolve_parameters(None, notebooks()[:1], ["dgp={}", "data_path=data/raw/panel.csv"])  # empty: fine


def test_a_bad_dgp_stops_the_run_before_any_notebook(tmp_path):
    """From the command line: exit 1, the message, no traceback, nothing started."""
    proj = tmp_path / "project"
    for d in ("notebooks", "params", "data/reference"):
        shutil.copytree(ROOT / d, proj / d)
    (proj / "book" / "chapters").mkdir(parents=True)
    trace = tmp_path / "trace"
    proc = _run(proj, "--only", "03", "-p", "dgp={dynamic_grwth: 0}", env={"REPLICATION_RUNNER_TRACE": str(trace)})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert "did you mean 'dynamic_growth'?" in err and "Traceback" not in err
    assert trace.read_text().split() == ["params"]
    assert not list((proj / "book").glob(".staging-*"))


# ---------------------------------------------------------------------------------------
# the parameters a reader can change, on the page

TABLE_PARAMETERS = ('seed: int = 20251206  # seed of the semi-synthetic default panel and of the placebo draws\n'
                    'data_path: str = ""  # empty for the default semi-synthetic panel, else your panel (CSV, xlsx)\n'
                    'dgp: dict = {}  # options of the simulator, e.g. {"dynamic_growth": 0}\n'
                    'n_placebo: int = 500  # placebo draws, as in the paper\n'
                    'placebo_scheme: str = "cohort"  # cohort keeps the batch sizes\n')


def _executed(path, used: dict):
    """A notebook as papermill leaves it: the parameters cell, the injected cell, the values."""
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(TABLE_PARAMETERS)
    p.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in used.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), p, injected, nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["papermill"] = {"parameters": used, "input_path": "notebooks/03_baseline.ipynb",
                                "output_path": str(path)}
    nbformat.write(nb, path)


def _table_rows(html_text: str) -> dict:
    from bs4 import BeautifulSoup

    table = BeautifulSoup(html_text, "html.parser").find("table")
    heads = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")]
    rows = [[td.get_text("", strip=True) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    return {r[0]: dict(zip(heads, r)) for r in rows}


def test_the_page_shows_the_parameters_table_instead_of_the_injected_cell(tmp_path):
    from replication.book.postprocess import postprocess

    path = tmp_path / "03_baseline.ipynb"
    _executed(path, {"seed": 20251206, "data_path": "", "n_placebo": 50, "dgp": {"dynamic_growth": 0}})
    postprocess(str(path), {"seed": "params/quick.yaml", "data_path": "params/quick.yaml",
                            "n_placebo": "params/quick.yaml", "dgp": "-p"})
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in injected.metadata["tags"], "papermill's cell is not shown"
    assert "remove-input" in cell.metadata["tags"] and "remove-cell" not in cell.metadata["tags"]
    assert cell.source == TABLE_PARAMETERS, "the notebook can be run again"
    (out,) = cell.outputs
    page = out["data"]["text/html"]
    assert '<details class="book-table-toggle parameters-table">' in page and "Parameters of this chapter" in page
    rows = _table_rows(page)
    assert list(rows) == ["seed", "data_path", "dgp", "n_placebo", "placebo_scheme"]
    assert rows["n_placebo"] == {"Parameter": "n_placebo", "Type": "int", "Value in this run": "50",
                                 "Meaning": "placebo draws, as in the paper", "Set by": "params/quick.yaml"}
    assert rows["dgp"]["Value in this run"] == '{"dynamic_growth": 0}' and rows["dgp"]["Set by"] == "-p (command line)"
    assert rows["placebo_scheme"]["Value in this run"] == '"cohort"'
    assert rows["placebo_scheme"]["Set by"] == "notebook (default)"
    assert "@media (max-width: 600px)" in page and 'class="book-table"' in page
    assert nb.metadata["papermill"]["parameters"]["n_placebo"] == 50, "the run's values stay in the metadata"
    assert nb.metadata["replication"]["parameter_sources"]["dgp"] == "-p"
    postprocess(str(path))  # idempotent: the same single table, the sources kept
    again = nbformat.read(path, as_version=4)
    cell = next(c for c in again.cells if "parameters" in c.metadata.get("tags", []))
    assert len(cell.outputs) == 1 and _table_rows(cell.outputs[0]["data"]["text/html"]) == rows


def test_on_a_user_panel_the_parameters_table_does_not_speak_of_the_simulator(tmp_path):
    from replication.book.postprocess import postprocess, without_simulator

    path = tmp_path / "03_baseline.ipynb"
    _executed(path, {"data_path": "data/raw/panel.csv"})
    postprocess(str(path), {"data_path": "-p"})
    nb = nbformat.read(path, as_version=4)
    page = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).outputs[0]["data"]["text/html"]
    rows = _table_rows(page)
    assert "dgp" not in rows
    assert rows["seed"]["Meaning"] == "seed of the placebo draws"
    assert rows["data_path"]["Meaning"] == "your panel (CSV, xlsx)"
    assert rows["data_path"]["Value in this run"] == '"data/raw/panel.csv"'
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    for style in soup.select("style"):
        style.decompose()
    text = soup.get_text(" ")  # as tests/test_real_data.py reads a page (cells side by side)
    assert not re.search(r"simulat|synthetic|planted|truth|true (ATT|effect|threshold|group)|data-generating|"
                         r"default data|\bDGP\b", text, re.I), text
    assert without_simulator("seed of the semi-synthetic default panel") == "not used with your data"
    assert without_simulator("seed of the semi-synthetic default panel, the matching order and the bootstrap") == \
        "seed of the matching order and the bootstrap"


@pytest.mark.slow  # reads the executed book (fixture book_project): excluded by `make test-fast`
def test_every_chapter_shows_its_parameters_with_this_runs_values(book_project, book_html):
    import yaml

    from replication.book.parameters import declared_parameters

    quick = yaml.safe_load((ROOT / "params" / "quick.yaml").read_text())
    chapters = book_project / "book" / "chapters"
    for src in notebooks():
        nb = nbformat.read(chapters / src.name, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert not any("injected-parameters" in c.metadata.get("tags", []) and "remove-cell" not in
                       c.metadata["tags"] for c in nb.cells), src.stem
        rows = _table_rows(cell.outputs[0]["data"]["text/html"])
        assert list(rows) == list(declared_parameters(src)), src.stem
        used = nb.metadata["papermill"]["parameters"]
        from_file = {**quick.get("defaults", {}), **(quick.get(src.stem) or {})}
        for name, row in rows.items():
            assert row["Meaning"], (src.stem, name)
            if name in from_file:
                assert row["Set by"] == "params/quick.yaml" and name in used, (src.stem, name, row)
            else:
                assert row["Set by"] == "notebook (default)", (src.stem, name, row)
        page = (book_html / "chapters" / f"{src.stem}.html").read_text(encoding="utf-8")
        assert page.count("Parameters of this chapter") == 1, src.stem
        assert "# Parameters" not in page and "injected-parameters" not in page, src.stem


def test_on_a_users_panel_default_data_code_cells_are_not_executed_and_long_chapters_start_first(tmp_path):
    """The runner executes a copy without the code cells tagged default-data when data_path is
    set (their markdown is removed after the run); with a run record, the chapters start
    longest first."""
    import nbformat

    from replication.book.execute import by_expected_time, without_default_data_code

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("simulate()", metadata={"tags": ["default-data", "hide-input"]}),
                nbformat.v4.new_markdown_cell("about the truth", metadata={"tags": ["default-data"]}),
                nbformat.v4.new_code_cell("b = 2")]
    src = tmp_path / "05_x.ipynb"
    nbformat.write(nb, str(src))
    out = nbformat.read(str(without_default_data_code(src, tmp_path)), as_version=4)
    assert [c.source for c in out.cells] == ["a = 1", "about the truth", "b = 2"]
    record = tmp_path / "run_summary.csv"
    record.write_text("notebook,seconds,status\n01_a,3.0,ok\n02_b,9.5,ok\n03_c,x,ok\n")
    nbs = [tmp_path / f"{s}.ipynb" for s in ("01_a", "02_b", "03_c", "04_d")]
    assert [p.stem for p in by_expected_time(nbs, record)] == ["02_b", "01_a", "03_c", "04_d"]
    assert by_expected_time(nbs, tmp_path / "none.csv") == nbs


def test_the_runners_papermill_executes_without_the_slow_iri_checker(tmp_path):
    """replication.book.papermill_main is papermill's command line (parameters injected, cells
    run) without importing jsonschema's optional rfc3987_syntax (1.2 s of every chapter's start)."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import sys\nprint(x * 2, 'rfc3987_syntax' in sys.modules)")]
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    subprocess.run([sys.executable, "-m", "replication.book.papermill_main", str(src), str(out), "-p", "x", "21",
                    "-k", "python3", "--no-progress-bar"], check=True, capture_output=True, timeout=120)
    assert nbformat.read(out, as_version=4).cells[-1].outputs[0]["text"].strip() == "42 False"
    code = ("import sys; sys.argv = ['papermill', '--help']\nfrom replication.book import papermill_main\n"
            "try:\n    papermill_main.main()\nexcept SystemExit:\n    pass\n"
            "print('IRI', sys.modules.get('rfc3987_syntax', 'absent'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert "IRI None" in done.stdout and "Usage: papermill" in done.stdout
