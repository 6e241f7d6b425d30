"""How the book shows a table: header labels, numbers formatted by kind, ✓/✗, the order of
the columns and when a long table collapses.

Pure functions on DataFrames; :func:`replication.book.chapter.show` turns their result into
the HTML of the book.  The rules:

* **labels**: a column called by a raw identifier (``ci_lower``, ``p_value``,
  ``lr_set_disjoint``, ``small_medium``) is shown by its label (:data:`LABELS`), else by a
  readable fallback (underscores become spaces, ``ci``/``se``/``sd``/``lr`` are capitalised);
* **numbers by kind** (:func:`kind_of`): counts as integers with thousands separators
  (``3,990``, never ``3990.000``); years as plain integers (``2014``); p-values with three
  decimals and the floor ``<0.001`` (a bootstrap p-value: :func:`bootstrap_p`); booleans as
  ✓/✗; the paper's numbers (columns ``paper ...``) as printed; other numbers (estimates)
  with the chapter's precision; ``"sig"`` (four significant digits) and ``"percent"`` on
  request; dicts and lists as readable text, never their Python repr; missing values empty;
  in a quantity/value table each row's name says what its number is;
* **confidence intervals**: a pair of bound columns (``ci_lower``/``ci_upper``,
  ``conf_low``/``conf_high``, ``lower``/``upper``) becomes one "95% CI" column ``[lo, hi]``;
* **comparison first** (:func:`comparison_order`): the paper's number stands right before
  ours (``paper F`` before ``F``; ``paper`` before ``ours``) and the truth right after our
  estimate;
* **nothing empty**: a column in which no cell shows anything is left out
  (:func:`drop_empty_columns`);
* **collapse**: a table of more than :data:`COLLAPSE_ROWS` rows is shown behind a toggle
  with a one-line summary.

The CSV files (:func:`replication.report.tables.export`) keep every column, unformatted.
"""
from __future__ import annotations

import math
import numbers
import re

import numpy as np
import pandas as pd

P_FLOOR = 0.001  # p-values below it read "<0.001"
COLLAPSE_ROWS = 20  # longer tables collapse behind a toggle
CHECK, CROSS = "✓", "✗"
CI_LABEL = "95% CI"

# raw identifier -> what a reader sees (column headers, and index labels given exactly)
LABELS = {
    "coef": "estimate", "se": "SE", "std_error": "SE", "sd": "SD", "statistic": "t",
    "p": "p", "p_value": "p", "pvalue": "p", "p>|t|": "p",
    "ci_lower": "95% CI low", "ci_upper": "95% CI high", "conf_low": "95% CI low", "conf_high": "95% CI high",
    "n_boot": "bootstrap draws", "n_draws": "draws", "nobs": "N", "entities": "cities",
    "crit_10": "critical value 10%", "crit_5": "critical value 5%", "crit_1": "critical value 1%",
    "lr_set_disjoint": "LR set in pieces", "excludes_zero": "excludes zero", "excludes zero": "excludes zero",
    "covers": "CI covers truth", "covered": "CI covers truth",
    "first_level": "dimension", "second_level": "sub-dimension", "direction": "dir.",
    "event_time": "event time", "r2": "R²", "r2_within": "R² (within)", "R2": "R²",
    "small_medium": "small & medium", "region4": "four regions",
    "hc": "human capital", "st": "science & technology",
    "entropy_yearly": "entropy, by year", "equal": "equal weights", "pca": "PCA", "entropy_topsis": "entropy-TOPSIS",
}

# names (lower case) of columns that count things: integers with thousands separators
COUNT_NAMES = {"n", "nobs", "n_boot", "n_draws", "draws", "bootstrap draws", "cities", "treated cities",
               "treated city-years", "city-years", "numbers", "not computed", "repairs", "n treated", "n control",
               "thresholds", "entities", "treated_entities", "observations", "rows", "count"}
P_NAMES = {"p", "p_value", "pvalue", "p>|t|", "p-value", "p value"}
_YEAR = re.compile(r"(^|[\s_])(year|batch)$", re.IGNORECASE)
# (lower bound, upper bound, the merged column): the first pair found of each merged name wins
_CI_PAIRS = (("ci_lower", "ci_upper", CI_LABEL), ("conf_low", "conf_high", CI_LABEL), ("lower", "upper", CI_LABEL),
             ("bootstrap 95% CI low", "bootstrap 95% CI high", "bootstrap 95% CI"))
_ESTIMATE_NAMES = ("ours", "estimate", "coef")


def label(name) -> str:
    """The header a reader sees for a column ``name``: :data:`LABELS`, else a readable
    fallback (``"treated_entities"`` -> ``"treated entities"``, ``"ci_low"`` -> ``"CI low"``)."""
    if not isinstance(name, str):
        return str(name)
    if name in LABELS:
        return LABELS[name]
    if "_" not in name:
        return name
    m = re.fullmatch(r"crit_(\d+)", name)
    if m:
        return f"critical value {m[1]}%"
    words = [w for w in name.strip("_").split("_") if w]
    words = [{"ci": "CI", "se": "SE", "sd": "SD", "lr": "LR", "n": "N", "att": "ATT", "did": "DID"}.get(w, w)
             for w in words]
    return " ".join(words) or name


def _lower(name) -> str:
    return str(name).strip().lower()


def is_p_name(name) -> bool:
    """A column (or, in a quantity/value table, a row) that holds p-values."""
    n = _lower(name)
    return (n in P_NAMES or n.endswith((" p", "_p", " p-value", "p-value")) or n.startswith(("p ", "p_"))
            or "p-value" in n) and "share" not in n


def is_count_name(name) -> bool:
    n = _lower(name)
    return n in COUNT_NAMES or n.startswith(("n_", "n ", "number of")) or n.endswith((" draws", "_draws"))


def is_year_name(name) -> bool:
    return bool(_YEAR.search(str(name).strip()))


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


_NUMERIC_TEXT = re.compile(r"[<>]?[-−]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?(e[-+]?\d+)?%?[*]*|[✓✗]")


def kind_of(name, values: pd.Series) -> str:
    """The kind of a column: ``bool``, ``p``, ``year``, ``count``, ``printed`` (the paper's
    numbers, ``paper ...`` or ``Hansen (1999)``: as many decimals as each needs),
    ``number``, ``numtext`` (text that reads as numbers: right-aligned), ``text`` or
    ``mixed`` (an object column of numbers and text: formatted cell by cell).
    :func:`display_frame` adds ``interval`` (``[lo, hi]`` text)."""
    s = values
    present = [v for v in s if not _missing(v)]
    if pd.api.types.is_bool_dtype(s.dtype) or (present and all(_is_bool(v) for v in present)):
        return "bool"
    numeric = pd.api.types.is_numeric_dtype(s.dtype) or (
        bool(present) and all(isinstance(v, numbers.Number) and not _is_bool(v) for v in present))
    if not numeric:
        if present and any(isinstance(v, numbers.Number) and not _is_bool(v) for v in present):
            return "mixed"
        filled = [v for v in present if not (isinstance(v, str) and not v.strip())]
        if filled and all(isinstance(v, str) and _NUMERIC_TEXT.fullmatch(v.strip()) for v in filled):
            return "numtext"
        return "text"
    if is_p_name(name):
        return "p"
    integral = all(float(v).is_integer() for v in present) if present else False
    if is_year_name(name) and integral:
        return "year"
    if pd.api.types.is_integer_dtype(s.dtype) or (is_count_name(name) and integral):
        return "count"
    if str(name).startswith(("paper", "Hansen (")):
        return "printed"
    return "number"


def fmt_p(p) -> str:
    """A p-value: three decimals, ``<0.001`` below the floor, empty when missing."""
    if _missing(p):
        return ""
    p = float(p)
    return f"<{P_FLOOR:g}" if p < P_FLOOR else f"{p:.3f}"


def bootstrap_p(n_draws: int):
    """The formatter of a p-value from ``n_draws`` bootstrap or permutation draws: none of
    them beyond the statistic reads ``<1/n_draws`` (``<0.020`` for 50 draws), not 0."""
    floor = 1.0 / max(int(n_draws), 1)

    def fmt(p) -> str:
        if _missing(p):
            return ""
        return f"<{floor:.3f}" if float(p) < floor and floor > P_FLOOR else fmt_p(p)
    return fmt


def _is_interval(s: pd.Series) -> bool:
    """A text column of intervals ``[lo, hi]`` (e.g. "ours 95% CI")."""
    present = [v for v in s if isinstance(v, str) and v]
    return bool(present) and all(re.fullmatch(r"\[[^\[\]]*,[^\[\]]*\]", v.strip()) for v in present) and \
        all(isinstance(v, str) or _missing(v) for v in s)


def fmt_count(v) -> str:
    return "" if _missing(v) else f"{int(round(float(v))):,}"


def fmt_number(v, precision: int = 3) -> str:
    if _missing(v):
        return ""
    v = float(v)
    if not math.isfinite(v):
        return "∞" if v > 0 else "-∞" if v < 0 else ""
    out = f"{v:,.{precision}f}"
    return out[1:] if out.startswith("-") and float(out.replace(",", "")) == 0 else out  # no "-0.000"


def decimals_needed(values, most: int = 6) -> int:
    """The fewest decimals that show every value of ``values`` exactly (at most ``most``):
    the paper's numbers as printed (55.87, 0.0033, 43.7)."""
    need = 0
    for v in values:
        if _missing(v) or not math.isfinite(float(v)):
            continue
        d = next((d for d in range(most + 1) if abs(round(float(v), d) - float(v)) < 1e-9), most)
        need = max(need, d)
    return need


def fmt_sig(v, digits: int = 4) -> str:
    """Four significant digits, thousands separators, no trailing zeros: 2,364,806; 36.18;
    0.09488; 3."""
    if _missing(v):
        return ""
    v = float(v)
    if v == 0 or not math.isfinite(v):
        return fmt_number(v, 0)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    out = fmt_number(round(v, decimals), decimals)
    return out.rstrip("0").rstrip(".") if "." in out else out


def fmt_bool(v) -> str:
    return "" if _missing(v) else (CHECK if bool(v) else CROSS)


def fmt_value(v, precision: int = 3, name=None) -> str:
    """One cell of any type (the ``mixed`` kind; dicts, lists and arrays as text)."""
    if isinstance(v, dict):
        return "; ".join(f"{label(k)}: {fmt_value(x, precision)}" for k, x in v.items())
    if isinstance(v, (list, tuple, set, np.ndarray, pd.Series)):
        return ", ".join(fmt_value(x, precision) for x in (sorted(v) if isinstance(v, set) else list(v)))
    if _missing(v):
        return ""
    if _is_bool(v):
        return fmt_bool(v)
    if isinstance(v, numbers.Integral):
        return str(int(v)) if name is not None and is_year_name(name) else f"{int(v):,}"
    if isinstance(v, numbers.Real):
        if name is not None and is_p_name(name):
            return fmt_p(v)
        if name is not None and is_count_name(name) and float(v).is_integer():
            return fmt_count(v)
        return fmt_number(v, precision)
    return str(v)


FORMATTERS = {"p": lambda v, prec: fmt_p(v), "count": lambda v, prec: fmt_count(v),
              "year": lambda v, prec: "" if _missing(v) else str(int(v)),
              "bool": lambda v, prec: fmt_bool(v), "number": fmt_number,
              "sig": lambda v, prec: fmt_sig(v), "percent": lambda v, prec: "" if _missing(v) else f"{float(v):.0%}",
              "text": lambda v, prec: fmt_value(v, prec)}


def merge_ci(df: pd.DataFrame, precision: int = 3) -> pd.DataFrame:
    """Each pair of bound columns as one "95% CI" column ``[lo, hi]`` where the lower bound
    was (the pair ``lower``/``upper`` only when no other pair is present; the bootstrap
    bounds of :func:`replication.report.tables.indirect_effects` as "bootstrap 95% CI")."""
    out = df.copy()
    for lo, hi, merged in _CI_PAIRS:
        if lo in out.columns and hi in out.columns and merged not in out.columns:
            text = [f"[{fmt_number(a, precision)}, {fmt_number(b, precision)}]" if not (_missing(a) and _missing(b))
                    else "" for a, b in zip(out[lo], out[hi])]
            at = list(out.columns).index(lo)
            out = out.drop(columns=[lo, hi])
            out.insert(at, merged, text)
    return out


def comparison_order(columns: list) -> list:
    """The columns with the comparison first: ``paper X`` right before ``X`` (or ``ours X``),
    ``paper`` right before ``ours``, and a truth column right after our estimate."""
    cols = list(columns)

    def move(name, before=None, after=None):
        cols.remove(name)
        cols.insert(cols.index(before) if before is not None else cols.index(after) + 1, name)

    for c in list(cols):
        s = str(c)
        if s.startswith("paper ") and s != "paper":
            rest = s[len("paper "):]
            target = next((t for t in cols if t != c and (str(t) in (rest, f"ours {rest}", f"our {rest}")
                                                          or label(t) == rest)), None)
            if target is not None:
                move(c, before=target)
    if "paper" in cols and "ours" in cols:
        move("paper", before="ours")
    truth = [c for c in cols if str(c).lower().startswith("truth")]
    est = next((c for c in cols if str(c) in _ESTIMATE_NAMES), None)
    if len(truth) == 1 and est is not None:
        anchor = est
        nxt = cols.index(est) + 1
        if nxt < len(cols) and "CI" in str(cols[nxt]) and "covers" not in str(cols[nxt]):
            anchor = cols[nxt]  # keep an estimate and its interval together
        if cols.index(truth[0]) != cols.index(anchor) + 1:
            move(truth[0], after=anchor)
    return cols


def display_frame(df: pd.DataFrame, *, precision: int = 3, formats: dict | None = None,
                  labels: dict | None = None, columns: list | None = None, ci: bool = True,
                  order: bool = True, index: bool = False) -> tuple[pd.DataFrame, dict]:
    """``df`` as the reader sees it: every cell a string, headers labelled.

    ``columns`` picks and orders columns (raw names; default all, in
    :func:`comparison_order`); ``formats`` forces a kind per raw column name (``"p"``,
    ``"count"``, ``"year"``, ``"bool"``, ``"number"``, ``"sig"``, ``"percent"``, ``"text"``);
    ``labels`` overrides :func:`label` per raw name; ``ci=False`` keeps bound columns apart;
    ``index=True`` formats the index labels too.  Returns the frame and ``{label: kind}``."""
    formats, labels = dict(formats or {}), dict(labels or {})
    frame = df.copy()
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    if ci:
        frame = merge_ci(frame, precision)
    if order and columns is None:
        frame = frame[comparison_order(list(frame.columns))]
    out, kinds, seen = {}, {}, set()
    first = frame.columns[0] if len(frame.columns) else None
    names = frame[first] if first is not None and kind_of(first, frame[first]) == "text" else None
    for c in frame.columns:
        s = frame[c]
        kind = formats.get(c) or ("interval" if _is_interval(s) else kind_of(c, s))
        if callable(kind):  # a formatter of its own, e.g. bootstrap_p(n)
            cells, kind = [kind(v) for v in s], "number"
        elif kind in ("interval", "text", "numtext"):
            cells = [fmt_value(v, precision) for v in s]
        elif kind == "mixed" or (kind == "number" and c not in formats and names is not None and c != first):
            # a quantity/value table: the row's name says what the number is (a count, a p-value)
            rows = names if names is not None and c != first else [None] * len(s)
            cells = [fmt_value(v, precision, name=r) for v, r in zip(s, rows)]
        elif kind == "printed":  # as the paper prints it: the decimals each number needs
            cells = [fmt_number(v, decimals_needed([v])) if not _missing(v) else "" for v in s]
        else:
            cells = [FORMATTERS[kind](v, precision) for v in s]
        head = labels.get(c, label(c))
        if head in seen:  # two raw names with one label: keep them apart
            head = f"{head} ({c})"
        seen.add(head)
        out[head] = cells
        kinds[head] = kind
    result = pd.DataFrame(out, index=frame.index if index else None)
    if index:
        result.index = pd.Index([labels.get(i, LABELS.get(i, i)) if isinstance(i, str)
                                 else fmt_value(i, precision, name=frame.index.name) for i in result.index],
                                name=None if frame.index.name is None else label(frame.index.name))
    return result, kinds


def drop_empty_columns(frame: pd.DataFrame, kinds: dict) -> tuple[pd.DataFrame, dict]:
    """Without the columns in which no cell shows anything (a note column with no note)."""
    keep = [c for c in frame.columns if frame[c].astype(str).str.strip().ne("").any()]
    return frame[keep], {c: kinds[c] for c in keep if c in kinds}


def should_collapse(n_rows: int, collapse: bool | None = None) -> bool:
    """Whether a table of ``n_rows`` is shown behind a toggle (``collapse`` forces it)."""
    return bool(collapse) if collapse is not None else n_rows > COLLAPSE_ROWS


def default_summary(n_rows: int, caption: str | None = None) -> str:
    """The line a collapsed table shows: what it is and how long."""
    what = caption.rstrip(".") if caption else "The table"
    return f"{what}: {n_rows:,} rows (click to show)"
