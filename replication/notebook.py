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
