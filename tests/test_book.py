"""The book is built: run every chapter, build strictly, every chapter in the book, runs
reproducible, no page loads anything from off the machine.

Runs on a copy of the project (REPLICATION_ROOT; fixtures ``book_project`` and ``book_html``
in conftest.py, shared with tests/test_browser.py, which checks the pages in Chromium), so
the working tree's book is untouched.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, copy_and_run

pytestmark = pytest.mark.slow  # runs the book: excluded by `make test-fast`


@pytest.fixture(scope="module")
def project(book_project):
    return book_project


@pytest.fixture(scope="module")
def built(book_html):
    return book_html


CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_chapter_is_in_the_book(built):
    for ch in CHAPTERS:
        assert (built / "chapters" / f"{ch}.html").exists(), ch
    assert (built / "index.html").exists()


def test_no_page_references_resources_off_the_machine(built):
    pat = re.compile(r"<(script|link|img|iframe|source)\b[^>]*\b(src|href)=\"(https?:)?//", re.I)
    for page in built.rglob("*.html"):
        hits = pat.findall(page.read_text(encoding="utf-8", errors="replace"))
        assert not hits, f"{page.relative_to(built)} loads an external resource"


def test_two_runs_give_byte_identical_tables(project, tmp_path):
    """Same parameters, same numbers: every exported CSV of a second run is byte-identical."""
    other = tmp_path / "again"
    copy_and_run(other)
    a, b = project / "book" / "chapters" / "outputs", other / "book" / "chapters" / "outputs"
    skip = {"run_summary.csv", "environment.csv"}
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv") if p.name not in skip)
    assert len(files) > 30
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.csv") if p.name not in skip)
    different = [str(f) for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not different, f"tables differ between two identical runs: {different}"


def test_rerunning_a_chapter_drops_its_stale_tables_and_keeps_the_others(project, tmp_path):
    """``run --only`` replaces that chapter's output folder (a table it no longer writes
    does not linger) and leaves the other chapters as they were."""
    import shutil

    project = shutil.copytree(project, tmp_path / "project", ignore=shutil.ignore_patterns("_build"))
    out = project / "book" / "chapters" / "outputs"
    stale = out / "01_data" / "a_table_no_chapter_writes.csv"
    stale.write_text("x\n1\n")
    other = sorted((out / "03_baseline").glob("*.csv"))
    before = {p.name: p.read_bytes() for p in other}
    env = {**os.environ, "REPLICATION_ROOT": str(project)}
    run = subprocess.run([sys.executable, "-m", "replication", "run", "--params", "params/quick.yaml", "--only", "01"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not stale.exists()
    assert any((out / "01_data").glob("*.csv"))
    assert {p.name: p.read_bytes() for p in sorted((out / "03_baseline").glob("*.csv"))} == before
