"""Sphinx extension of this book: a "Downloads" section on every chapter, the code link in
the footer, author-year labels in the bibliography, and each script once per page.

Downloads.  ``python -m replication run`` writes every table of chapter ``NN_name`` as CSV
to ``book/chapters/outputs/NN_name/``, and the run records (data, parameters, times,
software) to ``book/chapters/outputs/``.  Those folders are not pages (``exclude_patterns``),
so nothing would copy them into the HTML.  When a chapter is read, this extension appends a
section "Downloads" that links each of its CSV files with Sphinx's ``download_reference``
node, and the same for the run records on the reproducibility page.  The handler runs before
Sphinx's own download collector (priority 400 < 500), which then copies each file to
``_build/html/_downloads/`` exactly as for a ``{download}`` role written in the page.  A
chapter without an output folder gets no section.

Footer.  ``repository.url`` of ``_config.yml`` (the header's repository button) is also
written as a plain link under the footer text (``html.extra_footer``), so that the one
setting gives both.

Bibliography.  The text cites by author and year (``bibtex_reference_style: author_year``);
the reference list uses the same form for its labels ("Hansen, 1999", "Imai et al., 2010")
through the pybtex style ``plain_authoryear`` registered here (``bibtex_default_style``):
pybtex's ``plain`` entries, sorted by author, year and title (braces ignored), with
author-year labels instead of alpha codes such as "[Han99]".
"""
from __future__ import annotations

import csv
import html
import re
import string
from collections import Counter
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitle
from sphinx import addnodes

CHAPTER = re.compile(r"^chapters/(?P<stem>\d\d_[A-Za-z0-9_]+)$")
RECORDS_PAGE = "reproducibility"
OUTPUTS = Path("chapters") / "outputs"


def _shape(path: Path) -> str:
    """``"12 rows × 5 columns"`` of a CSV with a header row (empty string if unreadable)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return ""
    if not rows:
        return "empty"
    n = len(rows) - 1
    return f"{n} row{'s' if n != 1 else ''} × {len(rows[0])} column{'s' if len(rows[0]) != 1 else ''}"


def _files_for(docname: str, srcdir: Path) -> tuple[str, list[Path]] | None:
    m = CHAPTER.match(docname)
    if m:
        folder = srcdir / OUTPUTS / m["stem"]
        intro = ("Every table of this chapter as a CSV file (all columns and full precision; "
                 "the tables above may show a selection):")
    elif docname == RECORDS_PAGE:
        folder = srcdir / OUTPUTS
        intro = "The records of the last run as CSV files:"
    else:
        return None
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    return (intro, files) if files else None


def add_downloads(app, doctree: nodes.document) -> None:
    docname = app.env.docname
    found = _files_for(docname, Path(app.srcdir))
    if found is None:
        return
    intro, files = found
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None:
        return
    anchor = "downloads" if "downloads" not in doctree.ids else "chapter-downloads"
    section = nodes.section(ids=[anchor], names=[anchor], classes=["chapter-downloads"])
    section += nodes.title(text="Downloads")
    section += nodes.paragraph(text=intro)
    items = nodes.bullet_list(classes=["download-list"])
    for path in files:
        rel = "/" + path.relative_to(app.srcdir).as_posix()  # "/": relative to the source dir
        ref = addnodes.download_reference("", "", reftarget=rel, refdoc=docname, refexplicit=True,
                                          reftype="download", refdomain="")
        ref += nodes.literal(text=path.name)
        para = nodes.paragraph()
        para += ref
        shape = _shape(path)
        if shape:
            para += nodes.Text(f" ({shape})")
        items += nodes.list_item("", para)
    section += items
    top += section
    doctree.note_implicit_target(section, section)


def add_repository_to_footer(app, config) -> None:
    options = config.html_theme_options
    url = (options or {}).get("repository_url", "")
    if not url:
        return
    link = (f'<p class="repository-link">Code and data: <a href="{html.escape(url, quote=True)}">'
            f"{html.escape(url)}</a></p>")
    options["extra_footer"] = (options.get("extra_footer") or "") + link


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """``Surname, Year``, ``A and B, Year``, ``A et al., Year``; a, b, ... for equal labels."""

    def _label(self, entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_surname(p) for p in persons]
        if not names:
            who = entry.fields.get("key", entry.key)
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        return f"{who}, {entry.fields.get('year', 'n.d.')}"

    def format_labels(self, sorted_entries):
        labels = [self._label(e) for e in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label += string.ascii_lowercase[seen[label] - 1]
            yield label


class AuthorYearTitleSorting(AuthorYearTitle):
    """pybtex's author-year-title order, with braces ignored: a corporate author such as
    ``{State Council}`` sorts under S, not after Z."""

    def person_key(self, person):
        return super().person_key(person).replace("{", "").replace("}", "")


class PlainAuthorYear(PlainStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title_nobraces"


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
register_plugin("pybtex.style.sorting", "author_year_title_nobraces", AuthorYearTitleSorting)
register_plugin("pybtex.style.formatting", "plain_authoryear", PlainAuthorYear)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Each script once per page.  sphinx-thebe adds its inline configuration
    (``const THEBE_JS_URL = ...``) once per read phase, and a second copy makes every page
    raise "Identifier 'THEBE_JS_URL' has already been declared" in the browser."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, kept = set(), []
    for js in scripts:
        attributes = tuple(sorted((getattr(js, "attributes", None) or {}).items()))
        key = (str(getattr(js, "filename", js) or ""), attributes)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept  # in place: handlers after this one (MathJax) add to the same list


def setup(app):
    app.connect("doctree-read", add_downloads, priority=400)
    app.connect("config-inited", add_repository_to_footer)
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
