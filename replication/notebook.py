"""Helpers for the chapter notebooks: one setup call and a table display.

Kept tiny on purpose: notebooks call ``setup()`` once and ``show(df)`` for tables.
"""
from __future__ import annotations

import pandas as pd

from . import figures


def setup() -> None:
    """Figure theme and pandas display options shared by every chapter."""
    figures.set_theme()
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 3)


def show(df: pd.DataFrame, *, precision: int = 3, index: bool = False, caption: str | None = None):
    """A table as the book shows it: no row numbers, fixed decimals, optional caption."""
    st = df.style.format(precision=precision, na_rep="", thousands=None)
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


def load(seed: int, data_path: str = "", first_year: int = 2009, last_year: int = 2022, *, index: bool = True,
         **index_options):
    """The chapter's data: (panel with the ``nqp`` index, simulation or None, banner text, report).

    ``data_path`` empty = the default semi-synthetic panel for ``seed`` and the years;
    otherwise the user's panel, validated.  The banner says which, for the top of the page.
    """
    from .data import default_simulation, load_panel
    from .index import add_index

    years = (int(first_year), int(last_year))
    if data_path:
        panel, report = load_panel(data_path, report=True)
        sim = None
        banner = (f"These results use the panel in {data_path} ({len(panel)} city-years, "
                  f"{panel['city_code'].nunique()} cities), validated against the codebook's schema.")
    else:
        panel, report = load_panel(seed=seed, years=years, report=True)
        sim = default_simulation(seed, years)
        banner = SEMI_SYNTHETIC.format(seed=seed)
    if index:
        panel = add_index(panel, **index_options)
    return panel, sim, banner, report


def glue_figure(name: str, fig) -> None:
    """Glue a figure for a ``{glue:figure}`` directive and close it, so that the inline
    backend does not also print it under the (hidden) code cell."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)
