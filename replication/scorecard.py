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

from . import did, heterogeneity, mediation, paper, placebo, robustness, threshold
from .data.schema import CONTROLS
from .index import entropy_index

TABLE_LABEL = {1: "Table 1", 2: "Table 2", 3: "Table 3", 4: "Table 4", 5: "Table 5", 6: "Table 6", 7: "Table 7"}


def compute_all(panel: pd.DataFrame, *, seed: int = 0, n_placebo: int = 500, n_boot: int = 300) -> dict:
    """Every estimate behind the scorecard (Tables 1-7 and the placebo test)."""
    out = {"index": entropy_index(panel)}
    out[2] = did.table2(panel)
    out[3], _ = robustness.table3(panel, seed=seed)
    out[4] = mediation.table4(panel)
    g = heterogeneity.add_groups(panel)
    out[7] = {**heterogeneity.subgroups(g, "region").attrs["fits"], **heterogeneity.subgroups(g, "size").attrs["fits"]}
    p2, yc = threshold.with_year_dummies(panel)
    out["threshold"] = threshold.fit_panel_threshold(p2, "nqp", "did", "isu", list(CONTROLS) + yc, max_thresholds=3,
                                                     n_boot=n_boot, seed=seed)
    out["placebo"] = placebo.permutation_test(panel, n_draws=n_placebo, seed=seed)
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


def scorecard(results: dict, truth: dict | None = None, *, rtol: float = 0.1, atol: float = 0.01) -> pd.DataFrame:
    """The long scorecard table (see the module docstring)."""
    rows = []

    def add(table, column, row, rep, ours, lo=np.nan, hi=np.nan, rep_stars=None, our_p=None, tr=np.nan):
        same_sign = bool(np.sign(rep) == np.sign(ours)) if np.isfinite(ours) and rep != 0 else None
        same_sig = (rep_stars == len(did.stars(our_p))) if rep_stars is not None and our_p is not None else None
        within = bool(abs(ours - rep) <= atol + rtol * abs(rep)) if np.isfinite(ours) else False
        covers = bool(lo <= tr <= hi) if np.isfinite(tr) and np.isfinite(lo) else None
        rows.append({"table": table, "column": column, "row": row, "paper": rep, "ours": ours, "ci_lower": lo,
                     "ci_upper": hi, "truth": tr, "same sign": same_sign, "same significance": same_sig,
                     "within tolerance": within, "CI covers truth": covers})

    w = results["index"].weights
    for _, r in paper.table1().iterrows():
        add("Table 1", "weight", r["indicator"], r["weight"], float(w[r["indicator"]]))
    for n in (2, 3, 4, 7):
        res = results[n]
        for _, r in paper.table(n).iterrows():
            col, row = r["column"], r["row"]
            if col not in res:
                continue
            fit = res[col]
            if row in ("N", "R2", "F"):
                ours = {"N": fit.nobs, "R2": fit.r2, "F": fit.fstat}[row]
                add(TABLE_LABEL[n], col, row, r["estimate"], float(ours))
                continue
            if row not in fit.params.index:
                continue
            lo, hi = fit.ci().loc[row]
            add(TABLE_LABEL[n], col, row, r["estimate"], float(fit.params[row]), lo, hi, int(r["stars"]),
                float(fit.pvalue[row]), _truth_for(n, col, row, truth))
    thr = results["threshold"]
    names = {1: "single", 2: "double", 3: "triple"}
    t5 = paper.table5().set_index("thresholds")
    for _, r in thr.tests.iterrows():
        k = int(r["thresholds"])
        add("Table 5", names[k], "F", float(t5.loc[names[k], "F"]), float(r["F"]))
        add("Table 5", names[k], "p", float(t5.loc[names[k], "p"]), float(r["p_value"]))
    coef = thr.coefficients(2).set_index("term")
    for _, r in paper.table(6).iterrows():
        row = r["row"]
        if row == "N":
            add("Table 6", "coef", "N", r["estimate"], float(len(thr._fitter.df)))
            continue
        term = f"did_regime_{row[-1]}" if row.startswith("regime_") else "_cons"
        c = coef.loc[term]
        add("Table 6", "coef", row, r["estimate"], float(c["coef"]), c["ci_lower"], c["ci_upper"], int(r["stars"]),
            float(c["p"]), _truth_for(6, "coef", row, truth))
    th = thr.thresholds.set_index("name")
    for j, (name, rep) in enumerate(zip(("Th-21", "Th-22"), paper.text()["thresholds"])):
        tr = truth.get(f"threshold_{j + 1}", np.nan) if truth else np.nan
        add("Table 6", "threshold", f"gamma_{j + 1}", rep, float(th.loc[name, "estimate"]), th.loc[name, "ci_lower"],
            th.loc[name, "ci_upper"], tr=tr)
    pl = results["placebo"]
    add("Figure 1", "placebo", "real estimate (text)", paper.text()["placebo_reported_coefficient"], pl.estimate,
        tr=truth["att"] if truth else np.nan)
    return pd.DataFrame(rows)


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Share of agreement per table."""
    g = card.groupby("table")
    return pd.DataFrame({
        "numbers": g.size(),
        "same sign": g["same sign"].apply(lambda s: s.dropna().mean()),
        "same significance": g["same significance"].apply(lambda s: s.dropna().mean()),
        "within tolerance": g["within tolerance"].mean(),
        "CI covers truth": g["CI covers truth"].apply(lambda s: s.dropna().mean() if s.notna().any() else np.nan),
    })
