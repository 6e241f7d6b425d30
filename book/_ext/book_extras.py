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

The simulated world.  The directive ``{world-table} NAME`` renders a table of the page
"The simulated world" at build time from the package's documentation of the simulator
(:func:`replication.report.findings.world_table`: ``parameters``, ``copies``, ``indicators``,
``constants``, ``truth``, ``calibration``), so the page never types it twice.  The page is about
the default data only: when the chapters were executed on a user's panel (``mode`` in
``chapters/outputs/data_source.csv``), :func:`drop_default_data_pages` removes it from the table
of contents and from the build, and the directive ``{default-data}`` drops what other pages
(glossary, instructors, how to read) say about the default data, links to that page included.
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
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

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


DEFAULT_DATA_PAGES = ("simulated-world",)  # pages about the simulator: left out on a user's panel


def data_mode(srcdir: Path) -> str:
    """"user" when the chapters were executed on a user's panel (the run's record
    ``chapters/outputs/data_source.csv`` says so), else "default"."""
    try:
        with open(Path(srcdir) / OUTPUTS / "data_source.csv", newline="", encoding="utf-8") as f:
            mode = {r.get("item"): r.get("value", "") for r in csv.DictReader(f)}.get("mode", "")
    except OSError:
        return "default"
    return "default" if not mode or mode.startswith("default") else "user"


def drop_default_data_pages(app, config) -> None:
    """On a user's panel: take the pages about the simulator out of the table of contents
    (sphinx-external-toc's site map, parsed at priority 900) and out of the build."""
    site_map = getattr(config, "external_site_map", None)
    if site_map is None or data_mode(app.srcdir) != "user":
        return
    for doc in list(site_map):
        for tree in site_map[doc].subtrees:
            tree.items[:] = [item for item in tree.items if str(item) not in DEFAULT_DATA_PAGES]
    for page in DEFAULT_DATA_PAGES:
        if page in site_map:
            del site_map[page]
    config["exclude_patterns"] = list(config["exclude_patterns"]) + [f"{p}.md" for p in DEFAULT_DATA_PAGES]


def _cell(value) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return "" if value != value else f"{value:g}".replace("-", "\u2212")
    return str(value)


CODE_COLUMNS = ("name", "indicator", "variable", "key", "planted feature")  # identifiers, shown as code
# a column named by the page's symbols ("o_j", "b_j^hc", "centre c_k"): the symbol as TeX
SYMBOL = re.compile(r"^(?P<base>[A-Za-zθℓδσ])_(?P<sub>[a-z])(?:\^(?P<sup>[a-z]+))?$")
GREEK = {"θ": r"\theta", "ℓ": r"\ell", "δ": r"\delta", "σ": r"\sigma"}


def header_nodes(col: str) -> list[nodes.Node]:
    """A column label as the page's text writes it: each symbol word (``θ_j``, ``b_j^hc``,
    ``c_k``) as inline math ($\\theta_j$, $b^{hc}_j$, $c_k$), the other words as text."""
    out = []
    for i, word in enumerate(col.split(" ")):
        m = SYMBOL.match(word)
        if i:
            out.append(nodes.Text(" "))
        if m:
            sup = f"^{{{m['sup']}}}" if m["sup"] else ""
            tex = f"{GREEK.get(m['base'], m['base'])}{sup}_{m['sub']}"
            out.append(nodes.math(tex, tex))
        else:
            out.append(nodes.Text(word))
    return out


SUB, SUP = dict(zip("ijkt", "ᵢⱼₖₜ")), dict(zip("chst", "ᶜʰˢᵗ"))


def plain_label(col: str) -> str:
    """A column label in plain text, symbols with Unicode sub- and superscripts (``b_j^hc`` ->
    ``bⱼʰᶜ``): the label of a cell on a phone, an attribute that CSS shows (``::before``)."""
    def symbol(m):
        sub, sup = m["sub"], m["sup"] or ""
        if sub not in SUB or any(c not in SUP for c in sup):
            return m[0]
        return m["base"] + SUB[sub] + "".join(SUP[c] for c in sup)
    return " ".join(SYMBOL.sub(symbol, word) for word in col.split(" "))


def table_node(df, stack: tuple = ()) -> nodes.table:
    """A DataFrame as a docutils table (header row, one row per record; identifiers as code;
    symbols in the column labels as math).  The columns ``stack`` are shown under the first
    column, one line each ("default: 1.5"), which keeps a table of long texts narrow enough for
    the page.  Every cell but the first of a row also carries its column label (an empty
    ``span.world-table-label`` with the label in ``data-label``, so that it is no text of the
    cell): below 600 px ``_static/custom.css`` shows each row as a block of labelled lines, so
    that no world table is wider than a phone."""
    shown = [c for c in df.columns if c not in stack]
    table = nodes.table(classes=["world-table"])
    group = nodes.tgroup(cols=len(shown))
    table += group
    for _ in shown:
        group += nodes.colspec(colwidth=1)

    def entry(col, v, header: bool, extra=(), labelled=False) -> nodes.entry:
        para = nodes.paragraph()
        text = _cell(v)
        if labelled:
            attr = html.escape(plain_label(col), quote=True)
            para += nodes.raw("", f'<span class="world-table-label" data-label="{attr}"></span>', format="html")
        if header:
            para.extend(header_nodes(col))
        else:
            para += nodes.literal(text=text) if (col in CODE_COLUMNS and text) else nodes.Text(text)
        cell = nodes.entry("", para)
        for name, value in extra:
            cell += nodes.paragraph(text=f"{name}: {_cell(value)}", classes=["world-table-stacked"])
        return cell

    head = nodes.thead()
    row = nodes.row()
    for col in shown:
        row += entry(col, col, True)
    head += row
    body = nodes.tbody()
    for rec in df.to_dict("records"):
        row = nodes.row()
        for i, col in enumerate(shown):
            row += entry(col, rec[col], False, [(c, rec[c]) for c in stack] if i == 0 else (), labelled=i > 0)
        body += row
    group += head
    group += body
    return table


class WorldTable(SphinxDirective):
    """``{world-table} NAME``: a table of :func:`replication.report.findings.world_table`.
    Options: ``:optional:`` renders nothing when the table does not exist; ``:columns:`` and
    ``:rows:`` (comma-separated column names, values of the first column) pick a part; ``:stack:``
    (column names) shows those columns under the first one."""

    required_arguments = 1
    option_spec = {"optional": directives.flag, "columns": directives.unchanged, "rows": directives.unchanged,
                   "stack": directives.unchanged}

    def run(self):
        from replication.report.findings import world_table

        df = world_table(self.arguments[0])
        if df is None:
            if "optional" in self.options:
                return []
            raise self.error(f"world-table {self.arguments[0]}: no such table in this version of the package")
        pick = {k: [v.strip() for v in self.options[k].split(",")] for k in ("columns", "rows", "stack")
                if k in self.options}
        unknown = [c for c in pick.get("columns", []) + pick.get("stack", []) if c not in df.columns]
        unknown += [r for r in pick.get("rows", []) if r not in set(df.iloc[:, 0].astype(str))]
        if unknown:
            raise self.error(f"world-table {self.arguments[0]}: no column or row {unknown}")
        if "rows" in pick:
            df = df.set_index(df.columns[0], drop=False).loc[pick["rows"]].reset_index(drop=True)
        return [table_node(df[pick["columns"]] if "columns" in pick else df, tuple(pick.get("stack", ())))]


class DefaultDataOnly(SphinxDirective):
    """``{default-data}``: content of a page that is about the default (simulated) data, such as
    a link to "The simulated world"; rendered on the default data, left out entirely (not even
    parsed, so its links cannot break) when the chapters ran on a user's panel."""

    has_content = True

    def run(self):
        if data_mode(self.env.srcdir) == "user":
            return []
        node = nodes.container(classes=["default-data"])
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def setup(app):
    app.add_directive("world-table", WorldTable)
    app.add_directive("default-data", DefaultDataOnly)
    app.connect("config-inited", drop_default_data_pages, priority=901)  # after sphinx-external-toc (900)
    app.connect("doctree-read", add_downloads, priority=400)
    app.connect("config-inited", add_repository_to_footer)
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
