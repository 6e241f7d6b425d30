"""Helpers for the chapter notebooks: one ``load`` call, the data-mode switch, tables.

Notebooks call ``setup()`` once, ``load(...)`` for their data and ``show(df)`` for
tables (one look for every table: :mod:`replication.report.style` has the rules; a
DataFrame displayed without ``show`` gets the same look once ``setup()`` ran).  The book speaks of the data it was built from:

* on the default semi-synthetic panel the banner says what is simulated and the
  chapters compare estimates with the planted truth;
* on a user's panel (``data_path``) the banner names the file, its SHA-256 and its
  size, no table carries a truth column, code cells tagged ``default-data`` are not
  executed at all (:func:`replication.book.execute.without_default_data_code`), and every
  other cell tagged ``default-data`` is removed from the executed notebook (cells tagged
  ``user-data`` only appear on a user's panel) by :func:`apply_data_mode`, which the
  runner calls after execution.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from replication.report import figures, style
from replication.report.tables import drop_empty_truth
from replication._paths import PROJECT_ROOT, display_path
from replication.data.read import sha256_of

DEFAULT_ONLY = "default-data"  # cell kept only on the default semi-synthetic panel
USER_ONLY = "user-data"  # cell kept only on a user's panel


def setup() -> None:
    """Figure theme and pandas display options shared by every chapter."""
    figures.set_theme()
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 3)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, _html_of_dataframe)


TABLE_CSS = [  # one look for every table of the book (the ids scope it to this table)
    {"selector": "", "props": "border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.85rem; "
                              "line-height: 1.35; font-variant-numeric: tabular-nums;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-style: italic; padding: 0 0 0.3em;"},
    {"selector": "th, td", "props": "padding: 3px 7px; border-bottom: 1px solid #e5e5e5; vertical-align: top;"},
    {"selector": "thead th", "props": "vertical-align: bottom; border-bottom: 2px solid #888; text-align: left; "
                                      "font-weight: 600; white-space: normal;"},
]
NUMBER_KINDS = ("p", "count", "year", "number", "printed", "numtext", "sig", "percent", "mixed", "interval")  # right-aligned, never broken
_shown = [0]  # tables shown in this kernel: a deterministic part of each table's id


def _cell_html(text: str) -> str:
    """A cell's text as HTML: escaped, with break opportunities inside long identifiers
    (``replication.estimators.threshold.fit``) so that they never widen a column."""
    out = html.escape(str(text), quote=False)
    return re.sub(r"\S{22,}", lambda m: re.sub(r"([._/,=])(?=\w)", r"\1<wbr>", m[0]), out)


@dataclass
class Table:
    """A table as the book shows it; Jupyter displays it through :meth:`_repr_html_`.

    ``frame`` holds the formatted text of every cell with labelled headers, ``kinds`` the
    kind of each column (:func:`replication.report.style.kind_of`)."""
    frame: pd.DataFrame
    kinds: dict
    index: bool = False
    caption: str | None = None
    collapsed: bool = False
    summary: str = ""
    uid: str = ""

    def table_html(self) -> str:
        f = self.frame
        if self.index:  # the row labels as a first column, headed by the index's name
            f = f.reset_index(names=[f.index.name or ""]) if "" not in f.columns else f.reset_index()
        raw = list(f.columns)
        f = f.map(_cell_html)
        f.columns = [_cell_html(c) for c in raw]
        st = Styler(f, uuid=self.uid, cell_ids=False).hide(axis="index")
        if self.caption:
            st = st.set_caption(html.escape(self.caption))
        styles = {}
        for col, name in zip(f.columns, raw):
            kind = self.kinds.get(name, "text")
            if kind in NUMBER_KINDS:
                styles[col] = [{"selector": "td", "props": "text-align: right; white-space: nowrap;"},
                               {"selector": "th", "props": "text-align: right;"}]
            elif kind == "bool":
                styles[col] = [{"selector": "td", "props": "text-align: center;"},
                               {"selector": "th", "props": "text-align: center;"}]
        if self.index:
            styles.setdefault(f.columns[0], []).append({"selector": "td", "props": "font-weight: 600;"})
        st = st.set_table_styles(TABLE_CSS, overwrite=False)
        if styles:
            st = st.set_table_styles(styles, overwrite=False)
        return st.set_table_attributes('class="book-table"').to_html()

    def _repr_html_(self) -> str:
        body = self.table_html()
        if not self.collapsed:
            return body
        return (f'<details class="book-table-toggle"><summary style="cursor: pointer; margin: 0.3em 0 0.6em;">'
                f"{html.escape(self.summary)}</summary>\n{body}</details>")

    def to_html(self) -> str:
        return self._repr_html_()

    def __repr__(self) -> str:
        return (f"{self.summary}\n" if self.collapsed else "") + self.frame.to_string(index=self.index)


def show(df: pd.DataFrame, *, precision: int = 3, index: bool = False, caption: str | None = None,
         columns: list | None = None, formats: dict | None = None, labels: dict | None = None,
         ci: bool = True, transpose: bool = False, collapse: bool | None = None,
         summary: str | None = None) -> Table:
    """A table as the book shows it (rules in :mod:`replication.report.style`).

    Labelled headers, numbers by kind (counts with thousands separators, p-values with the
    floor <0.001, estimates with ``precision`` decimals), ✓/✗, confidence bounds as one
    "95% CI" column (``ci=False`` keeps them apart), the paper beside ours beside the truth;
    truth columns without a value (a user's panel) and columns with no value at all are
    dropped.  ``columns`` picks and
    orders what is shown (the CSV keeps everything), ``formats``/``labels`` override the
    kind or the header of a raw column; ``transpose`` formats by column first, then shows
    one column per row of ``df`` (its first column names them).  A table of more than
    :data:`~replication.report.style.COLLAPSE_ROWS` rows (or any, with ``collapse=True``)
    is shown behind a toggle that reads ``summary``."""
    df = drop_empty_truth(df)
    if columns is not None:
        columns = [c for c in columns if c in df.columns]
    frame, kinds = style.display_frame(df, precision=precision, formats=formats, labels=labels, columns=columns,
                                       ci=ci, index=index and not transpose)
    frame, kinds = style.drop_empty_columns(frame, kinds)
    if transpose:
        frame = frame.set_index(frame.columns[0]).T
        frame.columns = [style.label(c) for c in frame.columns]
        kinds = {c: "mixed" for c in frame.columns}
        index = True
    collapsed = style.should_collapse(len(frame), collapse)
    _shown[0] += 1
    digest = hashlib.sha1(f"{_shown[0]}|{caption}|{frame.to_csv()}".encode()).hexdigest()[:10]
    return Table(frame, kinds, index=index, caption=caption, collapsed=collapsed,
                 summary=summary or style.default_summary(len(frame), caption), uid=digest)


def _html_of_dataframe(df: pd.DataFrame) -> str:
    """Any DataFrame a chapter displays without :func:`show` gets the same look."""
    return show(df, precision=pd.get_option("display.precision"),
                index=not isinstance(df.index, pd.RangeIndex)).to_html()


SEMI_SYNTHETIC = ("The default data are semi-synthetic: the city roster, provinces, regions, 2020 census city "
                  "sizes, coordinates and the Broadband China lists are real; the pilot batches, the 15 "
                  "indicators, the controls, the mediators and the threshold variable are simulated from a "
                  "documented data-generating process with known true effects (seed {seed}). Compare our "
                  "estimates with the truth, not cell by cell with the paper.")


def resolve_data_path(path: str | Path) -> Path:
    """A data or mapping file as a user names it: absolute, relative to the working
    directory, or relative to the project root (notebooks run in the book's folder)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return PROJECT_ROOT / p


def user_banner(path: str | Path, panel: pd.DataFrame) -> str:
    """The banner of every chapter on a user's panel: file, hash, size, balance."""
    per_city = panel.groupby("city_code")["year"].nunique()
    T = panel["year"].nunique()
    short = int((per_city < T).sum())
    balance = ("balanced" if short == 0 else
               f"unbalanced: {short} of {len(per_city)} cities lack some of the {T} years")
    return (f"These results use your panel {display_path(path)} (SHA-256 {sha256_of(path)[:16]}…; "
            f"{len(per_city)} cities, {int(panel['year'].min())}–{int(panel['year'].max())}, "
            f"{len(panel):,} city-years, {balance}), validated against the codebook. The paper's "
            "numbers are shown beside the estimates from this panel.")


@dataclass
class ChapterData:
    """What ``load`` gives a chapter; unpacks as ``panel, sim, banner, report``."""
    panel: pd.DataFrame
    sim: object | None
    banner: str
    report: object

    def __iter__(self):
        return iter((self.panel, self.sim, self.banner, self.report))

    @property
    def user_data(self) -> bool:
        return self.sim is None


def load(seed: int, data_path: str = "", first_year: int = 2009, last_year: int = 2022, *, mapping: str = "",
         indicators: list | None = None, index: bool = True, dgp: dict | None = None,
         **index_options) -> ChapterData:
    """The chapter's data: (panel with the ``nqp`` index, simulation or None, banner text, report).

    ``data_path`` empty = the default semi-synthetic panel for ``seed`` and the years;
    otherwise the user's panel (relative paths are tried against the working directory,
    then the project root), read with the optional column ``mapping`` file, validated and
    restricted to ``first_year``–``last_year``.  ``indicators`` builds the index from a
    subset of the 15 (None or empty: all of them).  The loading is
    :func:`replication.data.load_analysis_panel`; every warning is in the report
    (chapter 1's data report).
    """
    from replication.data import load_analysis_panel

    path = resolve_data_path(data_path) if data_path else None
    kw = {"mapping": resolve_data_path(mapping)} if data_path and mapping else {}
    data = load_analysis_panel(path, years=(int(first_year), int(last_year)), seed=seed, indicators=indicators,
                               index=index, dgp=dgp, **kw, **index_options)
    banner = user_banner(path, data.panel) if path else SEMI_SYNTHETIC.format(seed=seed)
    return ChapterData(data.panel, data.simulation, banner, data.report)


def data_mode_of(nb) -> str:
    """"user" when the executed notebook ran on a user's panel, else "default"."""
    params = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    return "user" if params.get("data_path") else "default"


def apply_data_mode(path: str | Path) -> int:
    """Remove the cells that do not belong to the data an executed notebook ran on
    (``default-data`` cells on a user's panel, ``user-data`` cells on the default data).
    Returns the number of cells removed; idempotent."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    drop = DEFAULT_ONLY if data_mode_of(nb) == "user" else USER_ONLY
    keep = [c for c in nb.cells if drop not in c.metadata.get("tags", [])]
    removed = len(nb.cells) - len(keep)
    if removed:
        nb.cells = keep
        nbformat.write(nb, str(path))
    return removed


WORLD_LINK = " What the simulator planted, as equations and a parameter table: [the simulated world](../simulated-world.html)."


def glue_banner(banner: str, user_data: bool) -> None:
    """Glue the chapter's data banner (pasted with ``{glue:md}`` in the chapter's first cell);
    on the default data it links to the page that describes the simulated world."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue("data_banner", Markdown(banner if user_data else banner + WORLD_LINK), display=False)


def glue_figure(name: str, fig) -> None:
    """Glue a figure for a ``{glue:figure}`` directive and close it, so that the inline
    backend does not also print it under the (hidden) code cell."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)
