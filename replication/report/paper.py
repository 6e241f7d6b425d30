"""The paper's reported numbers, from one machine-readable file.

``paper_results.yaml`` (beside this module) holds every number of Tables 1-7 and
the placebo figure exactly as printed.  Chapters show them beside ours through
this module; no notebook types a reported number.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

PATH = Path(__file__).with_name("paper_results.yaml")
_CELL = re.compile(r"^\s*(?P<est>[-+]?\d*\.?\d+)\s*(?P<stars>\**)\s*(?:\((?P<par>[-+]?\d*\.?\d+)\))?\s*$")


@lru_cache(maxsize=1)
def _load() -> dict:
    return yaml.safe_load(PATH.read_text(encoding="utf-8"))


def raw() -> dict:
    """The whole file as a nested dict (a copy)."""
    import copy

    return copy.deepcopy(_load())


def parse_cell(text: str) -> dict:
    """``"0.184*** (2.911)"`` -> estimate, stars, value in parentheses and decimals printed."""
    m = _CELL.match(str(text))
    if not m:
        raise ValueError(f"cannot parse reported cell {text!r}")
    est = m["est"]
    return {"estimate": float(est), "stars": len(m["stars"]),
            "paren": float(m["par"]) if m["par"] is not None else None,
            "decimals": len(est.split(".")[1]) if "." in est else 0,
            "paren_decimals": (len(m["par"].split(".")[1]) if m["par"] and "." in m["par"] else None),
            "printed": str(text)}


def table(n: int) -> pd.DataFrame:
    """A regression table (2, 3, 4, 6, 7) in long form (a copy; see :func:`_table`)."""
    return _table(n).copy()


@lru_cache(maxsize=None)
def _table(n: int) -> pd.DataFrame:
    """A regression table (2, 3, 4, 6, 7) in long form: one row per (row, column).

    Columns: table, row, column, estimate, stars, paren, paren_kind, decimals, printed.
    Statistics (N, R2, F) are rows with the name of the statistic and no stars.
    """
    t = _load()[f"table{n}"]
    kind = t.get("paren", "t")
    rows = []
    for var, cells in t.get("cells", {}).items():
        for col, text in cells.items():
            c = parse_cell(text)
            pk = kind
            if kind == "mixed":  # Table 6: six decimals look like an SE, the others like t values
                pk = "se?" if (c["paren_decimals"] or 0) >= 4 else "t"
            rows.append({"table": n, "row": var, "column": col, **c, "paren_kind": pk})
    for stat, cells in t.get("stats", {}).items():
        for col, v in cells.items():
            rows.append({"table": n, "row": stat, "column": col, "estimate": float(v), "stars": None,
                         "paren": None, "decimals": None, "paren_decimals": None, "printed": str(v),
                         "paren_kind": None})
    return pd.DataFrame(rows)


def table1() -> pd.DataFrame:
    """Table 1: the index system with the paper's entropy weights."""
    return pd.DataFrame(_load()["table1"])


def table5() -> pd.DataFrame:
    """Table 5: threshold tests (F, bootstrap p) for 1-3 thresholds."""
    rows = [{"thresholds": k, **v} for k, v in _load()["table5"]["rows"].items()]
    return pd.DataFrame(rows)


def columns(n: int) -> dict:
    """Column specifications of a table (e.g. which FE and controls in Table 2)."""
    return dict(_load()[f"table{n}"].get("columns", {}))


def text() -> dict:
    """Numbers and claims stated in the paper's text."""
    return dict(_load()["text"])


def value(n: int, row: str, column: str, what: str = "estimate") -> float:
    """One reported number, e.g. ``value(2, 'did', '(5)')`` -> 0.184."""
    t = _table(n)
    hit = t[(t["row"] == row) & (t["column"] == column)]
    if hit.empty:
        raise KeyError(f"table {n} has no cell ({row}, {column})")
    return hit.iloc[0][what]
