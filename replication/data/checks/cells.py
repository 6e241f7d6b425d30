"""Reading cell values as a user writes them, and wording what is wrong with them.

Messages name the rows (file lines when the panel was read from a file: header =
line 1), show at most :data:`SHOW` of them, and print numbers as a user writes them.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

SHOW = 5  # offending rows or cities shown per problem
EMPTY = {"", "na", "n/a", "nan", "null", "none", "-", "--", "—", "…", "#n/a"}
STATA_MISSING = re.compile(r"^\.[a-z]?$")
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def where(df: pd.DataFrame, mask) -> str:
    """'lines 5, 9 and 3 more' (file) or 'rows ...' (DataFrame) of the True entries of mask."""
    idx = np.flatnonzero(np.asarray(mask))
    off = df.attrs.get("line_offset")
    labels = df.index[idx[:SHOW]]
    shown = [str(int(i) + off) if off is not None else str(i) for i in labels]
    word = "line" if off is not None else "row"
    more = f" and {len(idx) - SHOW} more" if len(idx) > SHOW else ""
    return f"{word}{'s' if len(idx) > 1 else ''} {', '.join(shown)}{more}"


def first(items, n: int = SHOW) -> str:
    """'a, b, c and 4 more'."""
    items = list(items)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(str(x) for x in items[:n]) + more


def plural(k: int, word: str, plural: str | None = None) -> str:
    """'1 city', '3 cities'."""
    return f"{k} {word if k == 1 else (plural or word + 's')}"


def number_text(x) -> str:
    """A number as a user writes it (never a numpy repr)."""
    x = float(x)
    if np.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def integer_like(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a key column: (Int64 values, mask of non-empty values that are not integers)."""
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Int64"), pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip().str.replace(r"年$", "", regex=True)
    values = pd.to_numeric(txt, errors="coerce")
    bad = (values.isna() | (values % 1 != 0)).fillna(True)
    out = values.where(~bad).astype("Float64").round().astype("Int64")
    return out, bad


def parse_numbers(col: pd.Series, notes: dict) -> tuple[pd.Series, pd.Series]:
    """(float values, mask of cells that are not numbers) of a value column; counts of the
    readings done (thousands separators, Stata missing, percent signs) go to notes."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64"), pd.Series(False, index=col.index)
    txt = col.astype("string").str.strip()
    low = txt.str.lower()
    empty = txt.isna() | low.isin(EMPTY)
    stata = low.str.match(STATA_MISSING).fillna(False) & ~empty
    if stata.any():
        notes.setdefault("stata", {})[col.name] = int(stata.sum())
    empty |= stata
    thou = txt.str.match(THOUSANDS).fillna(False)
    if thou.any():
        notes.setdefault("thousands", {})[col.name] = (int(thou.sum()), str(txt[thou].iloc[0]))
        txt = txt.where(~thou, txt.str.replace(",", "", regex=False))
    pct = txt.str.endswith("%").fillna(False) & ~empty
    if pct.any():
        notes.setdefault("percent", {})[col.name] = int(pct.sum())
        txt = txt.where(~pct, txt.str.rstrip("%").str.strip())
    values = pd.to_numeric(txt.where(~empty), errors="coerce").astype("float64")
    notnum = values.isna() & ~empty
    return values, notnum


def is_running_number(s: pd.Series) -> bool:
    """0, 1, 2, ... or 1, 2, 3, ...: a row-number column."""
    v, bad = integer_like(s)
    if bad.any() or len(v) == 0:
        return False
    a = v.to_numpy(dtype="int64")
    return bool((np.diff(a) == 1).all() and a[0] in (0, 1))
