"""The book as a reader sees it: run every chapter, build strictly, load every page in
headless Chromium, check figures and tables are there and nothing is fetched off the machine.

Runs on a copy of the project (REPLICATION_ROOT), so the working tree's book is untouched.
Screenshots of the landing page and a chapter are saved to _runs/screenshots/.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # runs the book: excluded by `make test-fast`

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# requests Chromium makes for itself (not the page's), even with the flags above
BROWSER_OWN = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com)(/|$)")


def _copy_and_run(proj: Path) -> dict:
    from replication.book.runner import copy_project

    copy_project(proj)
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    run = subprocess.run([sys.executable, "-m", "replication", "run", "--params", "params/quick.yaml"], cwd=proj,
                         env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = tmp_path_factory.mktemp("book") / "project"
    _copy_and_run(proj)
    return proj


@pytest.fixture(scope="module")
def built(project):
    proj = project
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    build = subprocess.run([sys.executable, "-m", "replication", "build"], cwd=proj, env=env, capture_output=True,
                           text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return proj / "book" / "_build" / "html"


@pytest.fixture(scope="module")
def server(built):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as prof:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={prof}", *args], capture_output=True,
                              text=True, timeout=180)


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


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_with_figures_and_tables_and_stays_local(server, chapter, tmp_path):
    url = f"{server}/chapters/{chapter}.html"
    log = tmp_path / "netlog.json"
    dom = _chromium(f"--log-net-log={log}", "--virtual-time-budget=5000", "--dump-dom", url).stdout
    assert "<table" in dom, f"{chapter}: no table rendered"
    if "glue:figure" in (ROOT / "notebooks" / f"{chapter}.ipynb").read_text():
        assert re.search(r"<img[^>]+_images/", dom), f"{chapter}: no figure rendered"
    assert "Traceback" not in dom, f"{chapter}: an error is printed on the page"
    if 'class="math' in dom:
        assert "mjx-container" in dom, f"{chapter}: the page has math but MathJax did not render it"
    urls = set(re.findall(r'"url":"([^"]+)"', log.read_text(errors="replace")))
    foreign = sorted(u for u in urls if u.startswith("http") and not u.startswith(server)
                     and not BROWSER_OWN.match(u))
    assert not foreign, f"{chapter} requested resources off the machine: {foreign[:5]}"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_screenshots_of_landing_page_and_a_chapter(server):
    out = ROOT / "_runs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for name, path in (("landing", "intro.html"), ("03_baseline", "chapters/03_baseline.html")):
        shot = out / f"{name}.png"
        _chromium(f"--screenshot={shot}", "--window-size=1280,1600", "--virtual-time-budget=5000",
                  f"{server}/{path}")
        assert shot.exists() and shot.stat().st_size > 20_000, name
    (out / "README.txt").write_text(json.dumps({"made by": "tests/test_book.py", "server": server}))


def test_two_runs_give_byte_identical_tables(project, tmp_path):
    """Same parameters, same numbers: every exported CSV of a second run is byte-identical."""
    other = tmp_path / "again"
    _copy_and_run(other)
    a, b = project / "book" / "chapters" / "outputs", other / "book" / "chapters" / "outputs"
    skip = {"run_summary.csv", "environment.csv"}
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv") if p.name not in skip)
    assert len(files) > 30
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.csv") if p.name not in skip)
    different = [str(f) for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not different, f"tables differ between two identical runs: {different}"


def test_rerunning_a_chapter_drops_its_stale_tables_and_keeps_the_others(project):
    """``run --only`` replaces that chapter's output folder (a table it no longer writes
    does not linger) and leaves the other chapters as they were."""
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
