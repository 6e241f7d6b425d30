"""Helpers for the chapter notebooks: one ``load`` call, the data-mode switch, tables.

Notebooks call ``setup()`` once, ``load(...)`` for their data and ``show(df)`` for
tables.  The book speaks of the data it was built from:

* on the default semi-synthetic panel the banner says what is simulated and the
  chapters compare estimates with the planted truth;
* on a user's panel (``data_path``) the banner names the file, its SHA-256 and its
  size, no table carries a truth column, and every cell tagged ``default-data`` is
  removed from the executed notebook (cells tagged ``user-data`` only appear on a
  user's panel) by :func:`apply_data_mode`, which the runner calls after execution.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replication.report import figures
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


def show(df: pd.DataFrame, *, precision: int = 3, index: bool = False, caption: str | None = None):
    """A table as the book shows it: no row numbers, fixed decimals, optional caption."""
    st = drop_empty_truth(df).style.format(precision=precision, na_rep="", thousands=None)
    if not index:
        st = st.hide(axis="index")
    if caption:
        st = st.set_caption(caption)
    return st


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
         indicators: list | None = None, index: bool = True, **index_options) -> ChapterData:
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
                               index=index, **kw, **index_options)
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


def glue_figure(name: str, fig) -> None:
    """Glue a figure for a ``{glue:figure}`` directive and close it, so that the inline
    backend does not also print it under the (hidden) code cell."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)
