"""The replicator's path end to end: a yearbook panel as it really arrives, in data/raw/,
run with the README's relative-path command, built into the book.

The panel (tests/data/make_yearbook_panel.py) covers 2011-2022, is unbalanced (Laiwu
leaves after 2018, Danzhou enters in 2015, one city lacks its last year and one two
interior years), has 110 treated cities on a list of its own, Chinese yearbook headers read
through the alias table, shares in percent declared by a mapping file, a byte-order mark
and a row-number column; the same data come as .xlsx too.  Every chapter must succeed, and
no page of the book may speak of the simulator or show a truth column.

Runs on a copy of the project (REPLICATION_ROOT), so the working tree's book is untouched.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # runs the book: excluded by `make test-fast`

sys.path.insert(0, str(ROOT / "tests" / "data"))
import make_yearbook_panel as ybp  # noqa: E402

# Words that belong to the default semi-synthetic data only.
SIMULATOR_WORDS = re.compile(r"simulat|semi-synthetic|synthetic|planted|truth|true ATT|true effect|true threshold|"
                             r"true group|data-generating|default data|\bDGP\b", re.IGNORECASE)
README_RUN = ["run", "-p", "data_path=data/raw/panel.csv", "-p", "mapping=data/raw/mapping.yaml"]


def _prose(page: Path) -> str:
    """What a reader reads on a page: its text and the outputs of code cells, without the
    (collapsed) source code of the cells, whose variable names are not prose."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for hidden in soup.select("div.cell_input, script, style"):
        hidden.decompose()
    return soup.get_text(" ")


def _cli(proj: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    return subprocess.run([sys.executable, "-m", "replication", *args], cwd=proj, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from replication.book.runner import copy_project

    proj = tmp_path_factory.mktemp("realdata") / "project"
    copy_project(proj)
    ybp.write(proj / "data" / "raw")
    return proj


@pytest.fixture(scope="module")
def run(project):
    """The README's command, with the quick resampling settings, then the book."""
    res = _cli(project, *README_RUN, "--params", "params/quick.yaml")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    build = _cli(project, "build", timeout=900)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return res


def test_validate_reads_the_yearbook_file_with_its_mapping(project):
    res = _cli(project, "validate", "data/raw/panel.csv", "--map", "data/raw/mapping.yaml", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "Traceback" not in out + res.stderr
    assert "np.int64" not in out and "np.float64" not in out


def test_xlsx_and_csv_give_the_same_panel(project):
    from replication.data import load_panel

    raw = project / "data" / "raw"
    a = load_panel(raw / "panel.csv", mapping=raw / "mapping.yaml")
    b = load_panel(raw / "panel.xlsx", mapping=raw / "mapping.yaml")
    assert len(a) == len(b) and a["city_code"].nunique() == 289
    cols = ["city_code", "year", "pergdp", "urb", "gov", "loi", "patents", "pilot_year"]
    a2 = a[cols].sort_values(["city_code", "year"]).reset_index(drop=True).astype(float)
    b2 = b[cols].sort_values(["city_code", "year"]).reset_index(drop=True).astype(float)
    same = ((a2 - b2).abs() <= 1e-6 * (1 + b2.abs())) | (a2.isna() & b2.isna())
    assert same.all().all(), same.all()
    assert a["urb"].between(0, 1).all(), "the declared percent scale must have been applied"
    # unbalanced as written: Laiwu 2011-2018 and Danzhou 2015-2022 are kept
    yrs = a.groupby("city_code")["year"].agg(["min", "max"])
    assert tuple(yrs.loc[ybp.LEAVER]) == (2011, 2018) and tuple(yrs.loc[ybp.ENTRANT]) == (2015, 2022)
    assert a.loc[a["treat"] == 1, "city_code"].nunique() == 110


def test_every_chapter_runs_on_the_yearbook_panel(run, project):
    n = len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert f"{n} ok, 0 failed" in run.stdout, run.stdout


def test_the_book_speaks_only_of_the_users_data(run, project):
    html = project / "book" / "_build" / "html"
    # every page but the library page, which runs on public example data and lists the whole API
    # (simulate_panel included) whatever the book was built from (tests/test_library_page.py)
    pages = [html / "intro.html"] + [p for p in sorted((html / "chapters").glob("*.html")) if p.stem != "90_library"]
    assert len(pages) >= 10
    offenders = []
    for page in pages:
        text = _prose(page)
        for m in SIMULATOR_WORDS.finditer(text):
            offenders.append(f"{page.name}: …{text[max(0, m.start() - 80):m.end() + 40].strip()}…")
    assert not offenders, "\n".join(offenders[:30])
    home = (html / "intro.html").read_text(encoding="utf-8")
    assert "panel.csv" in home, "the landing page must name the user's file"
    for ch in sorted((html / "chapters").glob("0*.html")):
        assert "SHA-256" in ch.read_text(encoding="utf-8"), f"{ch.name}: the banner must name the data"


def test_no_truth_column_and_no_absolute_path_in_any_output(run, project):
    outputs = project / "book" / "chapters" / "outputs"
    csvs = sorted(outputs.rglob("*.csv"))
    assert len(csvs) > 30
    for path in csvs:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        assert not [h for h in header if "truth" in h.lower()], f"{path.relative_to(outputs)}: {header}"
    assert not (outputs / "01_data" / "truth.csv").exists()
    html = project / "book" / "_build" / "html"
    for page in [*html.rglob("*.html"), *csvs]:
        assert str(project) not in page.read_text(encoding="utf-8", errors="replace"), page


def test_chapter_one_has_the_data_report_and_the_balancing_is_reported(run, project):
    out = project / "book" / "chapters" / "outputs"
    report = (out / "01_data" / "data_report.csv").read_text(encoding="utf-8")
    assert "panel.csv" in report
    roster = (out / "01_data" / "roster_comparison.csv").read_text(encoding="utf-8")
    assert str(ybp.LEAVER) in roster and str(ybp.ENTRANT) in roster
    ch6 = (project / "book" / "_build" / "html" / "chapters" / "06_threshold.html").read_text(encoding="utf-8")
    assert "balanced panel" in ch6 and "drop_cities" in ch6


def test_the_readme_commands_are_the_ones_tested(tmp_path):
    """The README's 'Bringing real data' commands: `validate` runs verbatim on a panel in the
    codebook's schema; the `run` command is the one the fixture above runs (plus the mapping)."""
    from replication.book.runner import copy_project

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Bringing real data"):readme.index("## How to cite")]
    block = section[section.index("```") + 3:]
    block = block[:block.index("```")]
    lines = [ln.strip() for ln in block.strip().splitlines()]
    assert lines[0] == ".venv/bin/python -m replication validate data/raw/panel.csv"
    assert lines[1].startswith(".venv/bin/python -m replication " + " ".join(README_RUN[:3]))
    proj = copy_project(tmp_path / "project")
    assert _cli(proj, "simulate", "--out", "data/raw/panel.csv", timeout=300).returncode == 0
    res = _cli(proj, *lines[0].split()[2:][1:], timeout=300)  # drop ".venv/bin/python -m"
    assert res.returncode == 0 and ": OK" in res.stdout, res.stdout + res.stderr
