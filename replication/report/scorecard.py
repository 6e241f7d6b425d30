"""The replication scorecard: every number the paper reports, beside ours.

One row per reported number of Tables 1-7 and the placebo test: the paper's value, ours,
our 95 % CI, the DGP truth on the default data, and the verdicts *same sign*, *same
significance* (same number of stars) and *within tolerance* (``|ours - paper| <= atol +
rtol |paper|``).  On the default (semi-synthetic) data agreement with the paper is not
expected cell by cell; the meaningful comparison there is estimate vs truth.  On a real
panel the same table is the replication verdict, and ``python -m replication check``
turns it into an exit code for CI.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import did
from replication.report import paper, specs, style
from replication.data.index import entropy_index
from replication.data.schema import BY_NAME
from replication.report.tables import ROW_LABELS

TABLE_LABEL = {1: "Table 1", 2: "Table 2", 3: "Table 3", 4: "Table 4", 5: "Table 5", 6: "Table 6", 7: "Table 7"}


def _attempt(out: dict, key, fn):
    """Run one component; a failure is recorded with its reason instead of stopping the card."""
    try:
        out[key] = fn()
    except Exception as exc:  # noqa: BLE001 - any estimator failure becomes a reported reason
        out.setdefault("errors", {})[key] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def compute_all(panel: pd.DataFrame, *, seed: int = 0, n_placebo: int = 500, n_boot: int = 300,
                indicators=None, balance: str = "drop_cities") -> dict:
    """Every estimate behind the scorecard (Tables 1-7 and the placebo test).

    A component that cannot be computed on this panel (e.g. too few cities in a
    subgroup) is left out and its reason kept in ``out["errors"]``; the scorecard then
    shows its numbers as not computed, with the reason.  Tables 2, 3, 4, 7 and Figure 1 are
    the chapters' own specifications (:mod:`replication.report.specs`)."""
    out: dict = {"errors": {}}
    _attempt(out, "index", lambda: entropy_index(panel, indicators) if indicators else entropy_index(panel))
    _attempt(out, 2, lambda: specs.table2(panel))
    _attempt(out, 3, lambda: specs.table3(panel, seed=seed)[0])
    _attempt(out, 4, lambda: specs.table4(panel))
    _attempt(out, 7, lambda: specs.table7_fits(specs.table7(panel)))

    _attempt(out, "threshold", lambda: specs.threshold_model(panel, n_draws=n_boot, seed=seed, balance=balance))
    _attempt(out, "placebo", lambda: specs.figure1(panel, n_draws=n_placebo, seed=seed))
    return out


def _truth_for(n: int, col: str, row: str, truth: dict | None) -> float:
    if not truth:
        return np.nan
    if row == "did":
        if n in (2, 3) or (n == 4 and col == "(1)"):
            return truth["att"]
        if n == 4:
            return {"(2)": truth["a_hc"], "(4)": truth["a_st"]}.get(col, np.nan)
        if n == 7:
            key = f"att_size_{col}" if col in ("large", "small_medium") else f"att_region_{col}"
            return truth.get(key, np.nan)
    if n == 4 and (row, col) in (("hc", "(3)"), ("st", "(5)")):
        return truth[f"b_{row}"]
    if n == 6 and row.startswith("regime_"):
        return truth.get(f"att_regime_{int(row[-1]) - 1}", np.nan)
    return np.nan


DEFAULT_ATOL = 0.01  # the book's chapter 9 and `python -m replication check` share these
DEFAULT_RTOL = 0.1


def within_tolerance(row: str, paper_value: float, ours: float, atol: float, rtol: float) -> bool:
    """|ours - paper| <= atol + rtol |paper| for coefficients, thresholds, weights and F;
    N must match exactly; R2 and p-values (bounded, scale-free) use atol only."""
    diff = abs(ours - paper_value)
    if row == "N":
        return bool(round(ours) == round(paper_value))
    if row in ("R2", "p"):
        return bool(diff <= atol)
    return bool(diff <= atol + rtol * abs(paper_value))


def _kind(row: str) -> str:
    """What a reported number is: a coefficient (sign and stars compare), a statistic
    (p, N, R2, F, weights: only the value compares)."""
    return "statistic" if row in ("N", "R2", "F", "p") else "coefficient"


class _Card:
    """The rows of a scorecard being built, with the verdict rules (see :func:`scorecard`)."""

    def __init__(self, results: dict, truth: dict | None, rtol: float, atol: float):
        self.rows, self.truth, self.rtol, self.atol = [], truth, rtol, atol
        self.errors = results.get("errors", {})

    def add(self, table, column, row, rep, ours, lo=np.nan, hi=np.nan, rep_stars=None, our_p=None, tr=np.nan,
            note="", signed=True):
        computed = ours is not None and np.isfinite(ours)
        coefficient = signed and _kind(row) == "coefficient"
        same_sign = (bool(np.sign(rep) == np.sign(ours)) if computed and coefficient and rep != 0 else None)
        same_sig = ((rep_stars == len(did.stars(our_p))) if computed and coefficient and rep_stars is not None
                    and our_p is not None else None)
        within = within_tolerance(row, rep, ours, self.atol, self.rtol) if computed else None
        covers = bool(lo <= tr <= hi) if computed and np.isfinite(tr) and np.isfinite(lo) else None
        self.rows.append({"table": table, "column": column, "row": row, "paper": rep,
                          "ours": float(ours) if computed else np.nan, "ci_lower": lo, "ci_upper": hi, "truth": tr,
                          "same sign": same_sign, "same significance": same_sig, "within tolerance": within,
                          "CI covers truth": covers, "note": note})

    def missing(self, key) -> str:
        return f"not computed: {self.errors.get(key, 'no result')}"


def _table1(card: _Card, results: dict) -> None:
    if "index" in results:
        w = results["index"].weights
        for _, r in paper.table1().iterrows():
            ours = float(w[r["indicator"]]) if r["indicator"] in w.index else None
            card.add("Table 1", "weight", r["indicator"], r["weight"], ours, signed=False,
                     note="" if ours is not None else "not computed: indicator not in this run's index")
    else:
        for _, r in paper.table1().iterrows():
            card.add("Table 1", "weight", r["indicator"], r["weight"], None, signed=False, note=card.missing("index"))


def _regression_tables(card: _Card, results: dict) -> None:
    """Tables 2, 3, 4 and 7: every coefficient, N, R2 and F of every column."""
    for n in (2, 3, 4, 7):
        res = results.get(n)
        for _, r in paper.table(n).iterrows():
            col, row = r["column"], r["row"]
            if res is None:
                card.add(TABLE_LABEL[n], col, row, r["estimate"], None, note=card.missing(n))
                continue
            if col not in res:
                card.add(TABLE_LABEL[n], col, row, r["estimate"], None,
                         note="not computed: this subsample has too few treated cities on this panel")
                continue
            fit = res[col]
            if row in ("N", "R2", "F"):
                ours = {"N": fit.nobs, "R2": fit.r2, "F": fit.fstat}[row]
                card.add(TABLE_LABEL[n], col, row, r["estimate"], float(ours))
                continue
            if row not in fit.params.index:
                continue
            lo, hi = fit.conf_int().loc[row]
            card.add(TABLE_LABEL[n], col, row, r["estimate"], float(fit.params[row]), lo, hi, int(r["stars"]),
                     float(fit.pvalues[row]), _truth_for(n, col, row, card.truth))


def _threshold_tables(card: _Card, results: dict) -> None:
    """Tables 5 and 6: the threshold tests, the double-threshold model and its thresholds."""
    add, truth = card.add, card.truth
    names = {1: "single", 2: "double", 3: "triple"}
    t5 = paper.table5().set_index("thresholds")
    thr = results.get("threshold")
    if thr is None:
        for k, name in names.items():
            add("Table 5", name, "F", float(t5.loc[name, "F"]), None, note=card.missing("threshold"))
            add("Table 5", name, "p", float(t5.loc[name, "p"]), None, note=card.missing("threshold"))
        for _, r in paper.table(6).iterrows():
            add("Table 6", "coef", r["row"], r["estimate"], None, note=card.missing("threshold"))
        for j, rep in enumerate(paper.text()["thresholds"]):
            add("Table 6", "threshold", f"gamma_{j + 1}", rep, None, note=card.missing("threshold"))
        return
    for k, test in sorted(thr.tests.items()):
        add("Table 5", names[k], "F", float(t5.loc[names[k], "F"]), float(test.statistic))
        add("Table 5", names[k], "p", float(t5.loc[names[k], "p"]), float(test.pvalue))
    m2 = thr.model(2)
    ci2 = m2.conf_int()
    for _, r in paper.table(6).iterrows():
        row = r["row"]
        if row == "N":
            add("Table 6", "coef", "N", r["estimate"], float(m2.nobs))
            continue
        term = f"did_regime_{row[-1]}" if row.startswith("regime_") else "_cons"
        add("Table 6", "coef", row, r["estimate"], float(m2.params[term]), ci2.loc[term, "lower"],
            ci2.loc[term, "upper"], int(r["stars"]), float(m2.pvalues[term]), _truth_for(6, "coef", row, truth))
    th = thr.thresholds.set_index("name")
    for j, (name, rep) in enumerate(zip(("Th-21", "Th-22"), paper.text()["thresholds"])):
        tr = truth.get(f"threshold_{j + 1}", np.nan) if truth else np.nan
        add("Table 6", "threshold", f"gamma_{j + 1}", rep, float(th.loc[name, "estimate"]),
            th.loc[name, "lower"], th.loc[name, "upper"], tr=tr, signed=False)


def scorecard(results: dict, truth: dict | None = None, *, rtol: float = DEFAULT_RTOL,
              atol: float = DEFAULT_ATOL) -> pd.DataFrame:
    """The long scorecard table (see the module docstring).

    Verdicts apply where they make sense: *same sign* and *same significance* only for
    coefficients (not for weights, p-values, N, R2 or F); a number that could not be
    computed on this panel has empty verdicts and its reason in ``note``."""
    card = _Card(results, truth, rtol, atol)
    _table1(card, results)
    _regression_tables(card, results)
    _threshold_tables(card, results)
    pl = results.get("placebo")
    card.add("Figure 1", "placebo", "real estimate (text)", paper.text()["placebo_reported_coefficient"],
             pl.statistic if pl is not None else None, tr=truth["att"] if truth else np.nan,
             note="" if pl is not None else card.missing("placebo"))
    return pd.DataFrame(card.rows)


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Share of agreement per table."""
    g = card.groupby("table")
    return pd.DataFrame({
        "numbers": g.size(),
        "same sign": g["same sign"].apply(lambda s: s.dropna().mean()),
        "same significance": g["same significance"].apply(lambda s: s.dropna().mean()),
        "within tolerance": g["within tolerance"].apply(lambda s: s.dropna().mean() if s.notna().any() else np.nan),
        "not computed": g["ours"].apply(lambda s: int(s.isna().sum())),
        "CI covers truth": g["CI covers truth"].apply(lambda s: s.dropna().mean() if s.notna().any() else np.nan),
    })


VERDICTS = ["same sign", "same significance", "within tolerance", "CI covers truth"]


def _shown(row: str, value, precision: int) -> str:
    """A scorecard number as the book shows it: N as an integer, p with its floor."""
    if row == "N":
        return style.fmt_count(value)
    if row == "p":
        return style.fmt_p(value)
    return style.fmt_number(value, precision)


def _number_label(table: str, column: str, row: str) -> str:
    """Which number a scorecard row is, in words: "(1) Pergdp", "small & medium did",
    "regime 1", "Average wage" (Table 1's indicators by their label)."""
    if table == "Table 1" and row in BY_NAME:
        return BY_NAME[row].label
    what = ROW_LABELS.get(row) or style.label(row)
    return what if column in ("coef", "weight") else f"{style.label(column)}\u00a0{what}"  # no break inside


def display_table(card: pd.DataFrame, precision: int = 3) -> pd.DataFrame:
    """The scorecard as the book shows it, one paper table at a time (display only: the
    numbers and verdicts are :func:`scorecard`'s): the number (its column and row), the
    paper's value beside ours beside the truth, each formatted by what it is, and the
    verdicts that apply to some number of ``card``; the CSV keeps the intervals. A note
    column only when a number has a note."""
    number = [_number_label(t, c, r) for t, c, r in zip(card["table"], card["column"], card["row"])]
    out = pd.DataFrame({
        "number": number,
        "paper": [_shown(r, v, precision) for r, v in zip(card["row"], card["paper"])],
        "ours": [_shown(r, v, precision) for r, v in zip(card["row"], card["ours"])],
        "truth": [_shown(r, v, precision) for r, v in zip(card["row"], card["truth"])],
        **{v: card[v].to_numpy() for v in VERDICTS if card[v].notna().any()},
    }, index=card.index)
    if card["note"].fillna("").astype(str).str.strip().any():
        out["note"] = card["note"].to_numpy()
    return out


def display_parts(card: pd.DataFrame):
    """(table, its rows) in the paper's order: Tables 1 to 7, then Figure 1."""
    def order(name: str):
        kind, _, number = name.partition(" ")
        return (kind != "Table", int(number) if number.isdigit() else 0, name)
    for name in sorted(card["table"].unique(), key=order):
        yield name, card[card["table"] == name]


def display_summary(table: str, part: pd.DataFrame) -> str:
    """The line a collapsed part of the scorecard shows: how many numbers, how many within
    the tolerance, and the coefficients' sign and significance agreement."""
    n = len(part)
    within = part["within tolerance"].dropna()
    text = f"{table}: {n} number{'s' if n != 1 else ''}"
    if within.size:
        text += f", {int(within.astype(bool).sum())} of {within.size} within tolerance"
    for col, what in (("same sign", "same sign"), ("same significance", "same significance")):
        v = part[col].dropna()
        if v.size:
            text += f", {what} {int(v.astype(bool).sum())} of {v.size}"
    missing = int(part["ours"].isna().sum())
    return text + (f", {missing} not computed" if missing else "")
