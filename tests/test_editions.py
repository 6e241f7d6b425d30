"""The student edition: ``python -m replication build --student`` (``make student``) writes a
second HTML book into ``book/_build/student/html`` with the same chapters and outputs, every
exercise, and no solution (issue 18, item 8).

Fast: the pieces that make the student source (solutions removed from MyST text and from
notebooks, teachers' pages out of the table of contents, links to them as text).
Slow: a tiny project (one executed probe chapter) shows that the build is strict and atomic
(a failing build leaves the previous student book and the main book as they were; a build
of the main edition keeps the student edition); the executed book of ``book_project``
(conftest.py), copied, gives a student edition without the solution directive's class and
without the text of any solution of the main edition, with every exercise.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from replication.book.build import strip_solutions, student_notebook, unlink_teacher_pages, without_pages

# ---------------------------------------------------------------------------------------
# the student source

EXERCISE = "````{exercise}\n:label: ex-a\n\nWhat happens?\n\n```bash\npython -m replication run --only 02 -p shift=1\n```\n````"


def test_solutions_are_removed_from_myst_text_and_exercises_kept():
    text = (f"## Exercises\n\n{EXERCISE}\n\n````{{solution}} ex-a\n:class: dropdown\n\nIt moves: "
            "{glue:text}`sol_a`.\n\n```python\nx = 1\n```\n\n````\n\nBetween.\n\n"
            ":::{solution} ex-b\nColon fenced.\n:::\n\n"
            "```{solution-start} ex-c\n:class: dropdown\n```\nGated, with a [link](x.md).\n"
            "```{solution-end}\n```\n\n```{solution} ex-d\nLast.\n```\n## References\n")
    new, n = strip_solutions(text)
    assert n == 4
    assert EXERCISE in new and "Between." in new and "## References" in new
    for gone in ("solution", "sol_a", "x = 1", "Colon fenced", "Gated", "Last."):
        assert gone not in new, gone
    assert strip_solutions(new) == (new, 0)


def test_a_solution_fence_closes_only_at_a_fence_as_long():
    text = "````{solution} ex-a\n```python\nx = 1\n```\nstill the solution\n````\nafter\n"
    assert strip_solutions(text)[0] == "after\n"


def test_teachers_pages_leave_the_toc_and_links_to_them_become_text():
    toc = {"format": "jb-book", "root": "intro", "parts": [
        {"caption": "Introduction", "chapters": [{"file": "how-to-read"}, {"file": "instructors"},
                                                 {"file": "glossary", "sections": [{"file": "instructors.md"}]}]},
        {"caption": "Chapters", "chapters": [{"file": "chapters/01_data"}]}]}
    assert without_pages(toc, ("instructors",)) == {"format": "jb-book", "root": "intro", "parts": [
        {"caption": "Introduction", "chapters": [{"file": "how-to-read"}, {"file": "glossary", "sections": []}]},
        {"caption": "Chapters", "chapters": [{"file": "chapters/01_data"}]}]}
    assert unlink_teacher_pages("See {doc}`the session plans <instructors>` and {doc}`instructors`.") == \
        "See the session plans and the instructors' page (teachers' edition)."
    assert unlink_teacher_pages("See {doc}`glossary`.") == "See {doc}`glossary`."
    assert unlink_teacher_pages("The [plans](instructors.md#sessions) and [this](../instructors.html).") == \
        "The plans and this."


def test_a_student_notebook_has_no_solution_cell_and_no_solution(tmp_path):
    nb = nbformat.v4.new_notebook()
    sol = nbformat.v4.new_code_cell('glue("sol_a", "0.5", display=False)')
    sol.metadata["tags"] = ["hide-input", "solution"]
    only_solution = nbformat.v4.new_markdown_cell("```{solution} ex-a\nAll of it.\n```")
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), sol, nbformat.v4.new_markdown_cell(
        f"## Exercises\n\n{EXERCISE}\n\n````{{solution}} ex-a\n:class: dropdown\n\n{{glue:text}}`sol_a`\n````\n"),
        only_solution, nbformat.v4.new_markdown_cell("## References")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert student_notebook(path) == 3
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source.split("\n")[0] for c in cells] == ["# Title", "## Exercises", "## References"]
    assert "{exercise}" in cells[1].source and "solution" not in json.dumps([c.source for c in cells])


# ---------------------------------------------------------------------------------------
# a tiny project: strict and atomic

PROBE = [("markdown", "# A probe chapter\n\nIntro.\n"),
         ("code", 'seed: int = 1  # seed\ndata_path: str = ""  # the panel\n', ["parameters"]),
         ("code", "from myst_nb import glue\nglue(\"sol_answer\", \"forty-two\", display=False)",
          ["hide-input", "solution"]),
         ("markdown", f"## Exercises\n\n{EXERCISE}\n\n````{{solution}} ex-a\n:class: dropdown\n\n"
                      "The answer is {glue:text}`sol_answer`, says the probe solution.\n````\n")]


def _tiny_project(tmp_path) -> Path:
    proj = tmp_path / "project"
    for d in ("data/reference", "params"):
        shutil.copytree(ROOT / d, proj / d)
    book = proj / "book"
    book.mkdir(parents=True)
    for f in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / "book" / f, book / f)
    for d in ("_ext", "_static"):
        shutil.copytree(ROOT / "book" / d, book / d)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: instructors\n"
                                   "- file: chapters/98_probe\n- file: reproducibility\n")
    (book / "intro.md").write_text("# Intro\n\nTeachers: {doc}`instructors`.\n")
    (book / "instructors.md").write_text("# For instructors\n\nThe teachers' secret plan.\n")
    (book / "reproducibility.md").write_text("# Reproducibility\n\nRecords.\n")
    nb = nbformat.v4.new_notebook()
    for kind, src, *tags in PROBE:
        c = nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
        if tags:
            c.metadata["tags"] = tags[0]
        nb.cells.append(c)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (proj / "notebooks").mkdir()
    nbformat.write(nb, proj / "notebooks" / "98_probe.ipynb")
    return proj


def _cli(proj, *args, timeout=600):
    env = {**os.environ, "REPLICATION_ROOT": str(proj)}
    return subprocess.run([sys.executable, "-m", "replication", *args], cwd=proj, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow  # executes a notebook and builds four small books: excluded by `make test-fast`
def test_the_student_build_is_strict_atomic_and_leaves_the_main_book_alone(tmp_path):
    proj = _tiny_project(tmp_path)
    for args in (("run", "--params", ""), ("build",), ("build", "--student")):
        res = _cli(proj, *args)
        assert res.returncode == 0, (args, res.stdout[-3000:], res.stderr[-3000:])
    main, student = proj / "book" / "_build" / "html", proj / "book" / "_build" / "student" / "html"
    main_page = (main / "chapters" / "98_probe.html").read_text(encoding="utf-8")
    page = (student / "chapters" / "98_probe.html").read_text(encoding="utf-8")
    assert "says the probe solution" in main_page and "forty-two" in main_page
    assert "says the probe solution" not in page and "forty-two" not in page and "sol_answer" not in page
    assert 'class="solution' not in page and 'class="exercise' in page and "What happens?" in page
    assert not (student / "instructors.html").exists() and (main / "instructors.html").exists()
    assert "instructors.html" not in (student / "intro.html").read_text(encoding="utf-8")
    assert "(student edition)" in (student / "intro.html").read_text(encoding="utf-8")
    before = {p: p.read_bytes() for p in (main / "index.html", student / "index.html", student / "intro.html")}
    (proj / "book" / "intro.md").write_text("# Intro\n\nA broken link: {doc}`nowhere`.\n")
    res = _cli(proj, "build", "--student")
    assert res.returncode == 1 and "student edition build failed (previous student edition left intact)" in \
        res.stderr and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert {p: p.read_bytes() for p in before} == before
    assert not list((proj / "_runs").glob("student-build-*"))
    (proj / "book" / "intro.md").write_text("# Intro\n\nAgain.\n")
    assert _cli(proj, "build").returncode == 0
    assert (student / "index.html").read_bytes() == before[student / "index.html"], "a main build keeps the student book"
    assert not list((proj / "book").glob(".old-*")) and not list((proj / "book").glob(".build-*"))


# ---------------------------------------------------------------------------------------
# the student edition of the executed book

@pytest.fixture(scope="module")
def student_html(book_project, tmp_path_factory) -> Path:
    """The student edition built from a copy of the executed book (``book_project`` stays as it is)."""
    proj = tmp_path_factory.mktemp("student") / "project"
    shutil.copytree(book_project, proj, ignore=shutil.ignore_patterns("_build", "_runs"), symlinks=True)
    res = _cli(proj, "build", "--student", timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert not (proj / "book" / "_build" / "html").exists(), "the student build does not write the main book"
    return proj / "book" / "_build" / "student" / "html"


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _text(node) -> str:
    return " ".join(node.get_text(" ").split())


def _pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(html).parts))


@pytest.mark.slow  # builds the book: excluded by `make test-fast`
def test_the_student_edition_has_every_page_but_the_teachers_and_no_solution(book_html, student_html):
    main, student = _pages(book_html), _pages(student_html)
    assert "instructors.html" in main
    assert sorted(set(main) - set(student)) == ["instructors.html"]
    chapters = [p for p in main if p.startswith("chapters/")]
    assert len(chapters) >= 9
    leaks = []
    for rel in student:
        soup = _soup(student_html / rel)
        if soup.select('[class*="solution"]'):
            leaks.append(f"{rel}: an element of class solution")
        if soup.find("a", href=re.compile(r"(^|/)instructors\.html")):
            leaks.append(f"{rel}: a link to the instructors' page")
        main_soup = _soup(book_html / rel)
        text = _text(soup)
        for sol in main_soup.select("div.solution"):
            for para in sol.find_all(["p", "li"]):
                t = _text(para)
                if len(t) >= 25 and t in text:
                    leaks.append(f"{rel}: the solution text {t[:80]!r}")
    sources = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (student_html / "_sources").rglob("*")
                      if p.is_file())
    if "{solution" in sources or re.search(r"\bsol_\w+", sources):
        leaks.append("_sources: a solution directive or a sol_ key in the page sources")
    assert not leaks, "\n".join(leaks)


@pytest.mark.slow  # builds the book: excluded by `make test-fast`
def test_the_student_edition_has_every_exercise_and_the_same_outputs(book_html, student_html):
    problems, n = [], 0
    for rel in _pages(student_html):
        main, student = _soup(book_html / rel), _soup(student_html / rel)
        ex_main = [_text(e) for e in main.select("div.exercise")]
        ex_student = [_text(e) for e in student.select("div.exercise")]
        n += len(ex_main)
        if ex_main != ex_student:
            problems.append(f"{rel}: {len(ex_main)} exercise(s) in the main edition, {len(ex_student)} here, "
                            "or their text differs")
        for what in ("img", "table", "mjx-container, div.math"):
            a, b = len(main.select(what)), len(student.select(what))
            if a != b:
                problems.append(f"{rel}: {a} {what} in the main edition, {b} in the student edition")
    assert n >= 18, f"only {n} exercises in the book"
    assert not problems, "\n".join(problems)
