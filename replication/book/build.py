"""Render the book: ``jupyter-book build`` into a temporary folder, swapped in for
``book/_build`` only when it succeeded (the previous book is left intact otherwise).

The student edition (``build_book(student=True)``, ``python -m replication build
--student``) is the same book without solutions, for teachers to publish: a copy of
``book/`` in ``_runs/student-build-<pid>/`` from which every ``{solution}`` directive
(and ``{solution-start}`` … ``{solution-end}`` block), every notebook cell tagged
``solution`` and the teachers' pages (:data:`TEACHER_PAGES`, left out of the table of
contents; a ``{doc}`` link to them becomes plain text) are removed, built as strictly as
the main edition and swapped in for ``book/_build/student/html`` only when it succeeded.
The chapters are the executed notebooks of the last run: same chapters, same outputs.
``book/_build/html`` is never touched by it, and a build of the main edition keeps the
student edition in place.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from replication._paths import BOOK_DIR, PROJECT_ROOT
from replication.book import staging
from replication.book.parameters import RunError, notebooks

RECORDS = ("run_summary.csv", "environment.csv", "data_source.csv", "parameters.csv", "data_source.md")
STUDENT = "student"  # book/_build/student/html
TEACHER_PAGES = ("instructors",)  # pages for teachers only: not in the student edition
SOLUTION_TAG = "solution"  # notebook cells that compute the solutions' numbers
_IGNORE = shutil.ignore_patterns("_build", ".build-*", ".staging-*", ".old-*", ".ipynb_checkpoints")


def build_book(strict: bool = True, student: bool = False) -> Path:
    """Render ``book/`` to HTML in a temporary folder, then swap it in for ``book/_build``
    (``student``: the student edition, swapped in for ``book/_build/student/html``)."""
    _check_executed()
    if student:
        return build_student(strict)
    tmp = BOOK_DIR / f".build-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    t0 = time.perf_counter()
    _jupyter_book(BOOK_DIR, tmp, strict, "book")
    final = BOOK_DIR / "_build"
    backup = BOOK_DIR / f".old-build-{os.getpid()}"
    if final.exists():
        final.rename(backup)
    (tmp / "_build").rename(final)
    if (backup / STUDENT).exists():  # the student edition is built separately: keep it
        (backup / STUDENT).rename(final / STUDENT)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"built {final / 'html' / 'index.html'} in {time.perf_counter() - t0:.1f} s")
    return final / "html" / "index.html"


def _check_executed() -> None:
    missing = [nb.stem for nb in notebooks() if not (staging.CHAPTERS / nb.name).exists()]
    if missing:
        raise RunError(f"chapters not executed yet: {missing}. Run `python -m replication run` first")
    records = [f for f in RECORDS if not (staging.OUTPUTS / f).exists()]
    if records:
        raise RunError(f"the run records {records} are missing from {staging.OUTPUTS} (chapters executed by an older "
                       "version). Run `python -m replication run` first")


def _jupyter_book(source: Path, out: Path, strict: bool, what: str) -> None:
    """``jupyter-book build source --path-output out`` (strict: -W -n --keep-going); on a
    failure ``out`` is removed and the error names the last lines of the log."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(source), "--path-output", str(out), "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (out / "_build" / "html" / "index.html").exists():
        shutil.rmtree(out, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RunError(f"{what} build failed (previous {what} left intact):\n{tail}")


def build_student(strict: bool = True) -> Path:
    """The student edition into ``book/_build/student/html`` (see the module docstring)."""
    work = PROJECT_ROOT / "_runs" / f"student-build-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.perf_counter()
    try:
        student_source(work)
        _jupyter_book(work / "book", work / "out", strict, "student edition")
        final = BOOK_DIR / "_build" / STUDENT / "html"
        final.parent.mkdir(parents=True, exist_ok=True)
        backup = final.with_name(f".old-html-{os.getpid()}")
        if final.exists():
            final.rename(backup)
        (work / "out" / "_build" / "html").rename(final)
        shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"built the student edition {final / 'index.html'} in {time.perf_counter() - t0:.1f} s")
    return final / "index.html"


def student_source(work: Path) -> Path:
    """``work/book``: a copy of ``book/`` without solutions and teachers' pages; the other
    folders of the project are linked beside it, so that ``{include} ../data/README.md``
    still resolves.  Returns ``work/book``."""
    import yaml

    src = work / "book"
    shutil.copytree(BOOK_DIR, src, ignore=_IGNORE)
    for entry in PROJECT_ROOT.iterdir():
        if entry.name not in ("book", "_runs", ".git", ".venv"):
            (work / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    toc = yaml.safe_load((src / "_toc.yml").read_text(encoding="utf-8"))
    (src / "_toc.yml").write_text(yaml.safe_dump(without_pages(toc, TEACHER_PAGES), sort_keys=False,
                                                 allow_unicode=True), encoding="utf-8")
    config = src / "_config.yml"
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["title"] = f"{cfg.get('title', 'The book')} (student edition)"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for page in TEACHER_PAGES:
        for f in src.glob(f"{page}.*"):
            f.unlink()
    for page in src.rglob("*.md"):
        if "_build" not in page.parts and "outputs" not in page.parts:
            text = page.read_text(encoding="utf-8")
            new = unlink_teacher_pages(strip_solutions(text)[0])
            if new != text:
                page.write_text(new, encoding="utf-8")
    for nb in sorted((src / "chapters").glob("*.ipynb")):
        student_notebook(nb)
    return src


def student_notebook(path: Path) -> int:
    """Drop the cells tagged ``solution`` and the solutions in the markdown cells of an
    executed notebook, in place; returns the number of solutions removed."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    kept, removed = [], 0
    for c in nb.cells:
        if SOLUTION_TAG in c.metadata.get("tags", []):
            removed += 1
            continue
        if c.cell_type == "markdown":
            c.source, n = strip_solutions(c.source)
            c.source = unlink_teacher_pages(c.source)
            removed += n
            if not c.source.strip():
                continue
        kept.append(c)
    nb.cells = kept
    nbformat.write(nb, str(path))
    return removed


_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>solution(?:-start|-end)?)\}")


def strip_solutions(text: str) -> tuple[str, int]:
    """``text`` without its ``{solution}`` directives (backtick or colon fences; a fence
    closes at a line of the same character at least as long, as in CommonMark) and without
    ``{solution-start}`` … ``{solution-end}`` blocks; returns the text and how many were removed."""
    lines, out, removed, i = text.split("\n"), [], 0, 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        removed += m["name"] != "solution-end"
        gated = m["name"] == "solution-start"
        i = _after_fence(lines, i, m["fence"])
        if gated:  # up to and including the {solution-end} directive
            while i < len(lines) and not ((e := _OPEN.match(lines[i])) and e["name"] == "solution-end"):
                i += 1
            if i < len(lines):
                i = _after_fence(lines, i, _OPEN.match(lines[i])["fence"])
    new = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
    return new, removed


def _after_fence(lines: list[str], i: int, fence: str) -> int:
    """The index after the line that closes the fence opened at line ``i``."""
    close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    j = i + 1
    while j < len(lines) and not close.match(lines[j]):
        j += 1
    return j + 1


def unlink_teacher_pages(text: str) -> str:
    """Links to a teachers' page (``{doc}`` roles, markdown links) as plain text."""
    for page in TEACHER_PAGES:
        text = re.sub(rf"\{{doc\}}`([^`<]*?)\s*<(?:\.\./)?{page}>`", r"\1", text)
        text = re.sub(rf"\{{doc\}}`(?:\.\./)?{page}`", f"the {page}' page (teachers' edition)", text)
        text = re.sub(rf"\[([^\]]+)\]\((?:\.\./)?{page}(?:\.md|\.html)?(?:#[^)]*)?\)", r"\1", text)
    return text


def without_pages(toc, pages: tuple[str, ...]):
    """A ``_toc.yml`` structure without the entries whose ``file`` is one of ``pages``."""
    if isinstance(toc, list):
        return [without_pages(t, pages) for t in toc
                if not (isinstance(t, dict) and str(t.get("file", "")).removesuffix(".md") in pages)]
    if isinstance(toc, dict):
        return {k: without_pages(v, pages) for k, v in toc.items()}
    return toc
