"""Internal-consistency checks of the paper's reported statistics.

Every check is a function that returns rows with: ``check``, ``where`` (table, column,
row or section), ``reported``, ``implied`` (what the reported numbers imply),
``verdict`` (consistent / inconsistent / cannot tell) and ``why``.  The checks use only
the paper's own numbers (``replication.report.paper``); none of them uses our data.  The goal
is to help a reader weigh the evidence, not to score the authors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.report import paper
from replication.estimators import distributions as dist

CONSISTENT, INCONSISTENT, CANNOT_TELL = "consistent", "inconsistent", "cannot tell"
REG_TABLES = (2, 3, 4, 6, 7)


def _row(check, where, reported, implied, verdict, why):
    return {"check": check, "where": where, "reported": reported, "implied": implied, "verdict": verdict,
            "why": why}


def stars_from_p(p: float) -> int:
    return 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0


def implied_stars(t: float, df: float | None = None, decimals: int = 3) -> tuple[set[int], float]:
    """Stars implied by a printed t value, allowing for its rounding: the set of star
    counts over [t - h, t + h] (h = half a unit in the last printed digit), and p(t)."""
    h = 0.5 * 10 ** (-decimals)
    ref = dist.norm if df is None else dist.t(df)
    ps = [2 * ref.sf(abs(t) - h), 2 * ref.sf(abs(t) + h)]
    return {stars_from_p(p) for p in ps}, float(2 * ref.sf(abs(t)))


def check_stars_vs_t() -> pd.DataFrame:
    """Stars printed vs the two-sided p-value implied by the printed t (normal and t(N))."""
    rows = []
    for n in REG_TABLES:
        t = paper.table(n)
        stats_rows = t[t["stars"].isna()]
        coefs = t[t["stars"].notna() & t["paren"].notna()]
        for _, r in coefs.iterrows():
            where = f"Table {n}, column {r['column']}, row {r['row']}"
            if r["paren_kind"] != "t":
                tval = r["estimate"] / r["paren"] if r["paren"] else np.nan
                rows.append(_row("stars vs t", where, r["printed"], f"if the parenthesis is an SE, t = {tval:.2f}",
                                 CANNOT_TELL, "the value in parentheses does not read as a t value"))
                continue
            nrow = stats_rows[(stats_rows["row"] == "N") & (stats_rows["column"] == r["column"])]
            N = float(nrow["estimate"].iloc[0]) if len(nrow) else None
            s_norm, p_norm = implied_stars(r["paren"], None, r["paren_decimals"] or 3)
            s_t, p_t = implied_stars(r["paren"], N - 10 if N else None, r["paren_decimals"] or 3)
            printed = int(r["stars"])
            ok = printed in s_norm or printed in s_t
            decisive = len(s_norm | s_t) == 1
            verdict = CONSISTENT if ok else (INCONSISTENT if decisive else CANNOT_TELL)
            why = (f"p = {p_norm:.4f} (normal), {p_t:.4f} (t with N = {int(N) if N else 'n/a'}) implies "
                   f"{'*' * max(s_norm) or 'no stars'}; printed {'*' * printed or 'no stars'}")
            rows.append(_row("stars vs t", where, r["printed"], f"{'*' * max(s_norm) or 'none'}", verdict, why))
    return pd.DataFrame(rows)


def check_implausible_parentheses() -> pd.DataFrame:
    """Values in parentheses that cannot be t values, and coefficients printed as 0.000."""
    rows = []
    for n in REG_TABLES:
        t = paper.table(n)
        for _, r in t[t["stars"].notna() & t["paren"].notna()].iterrows():
            where = f"Table {n}, column {r['column']}, row {r['row']}"
            if (r["paren_decimals"] or 0) >= 4:
                tval = r["estimate"] / r["paren"]
                rows.append(_row("parenthesis type", where, r["printed"],
                                 f"an SE: t = {r['estimate']:.3f} / {r['paren']} = {tval:.2f}",
                                 INCONSISTENT, f"printed with {r['paren_decimals']} decimals, unlike the t values "
                                 "elsewhere; the table note says parentheses are t values"))
            if r["estimate"] == 0 and abs(r["paren"]) > 2:
                rows.append(_row("coefficient printed as zero", where, r["printed"],
                                 "a non-zero coefficient too small to show at 3 decimals", CANNOT_TELL,
                                 "the variable's unit makes the coefficient invisible; its size cannot be read"))
    return pd.DataFrame(rows)


def check_duplicated_columns() -> pd.DataFrame:
    """Columns of a table that agree in every printed cell."""
    rows = []
    for n in REG_TABLES:
        t = paper.table(n)
        cols = list(dict.fromkeys(t["column"]))
        cells = {c: t[t["column"] == c].set_index("row")["printed"] for c in cols}
        for i, a in enumerate(cols):
            for b in cols[i + 1:]:
                common = sorted(set(cells[a].index) & set(cells[b].index))
                same = [r for r in common if cells[a][r] == cells[b][r]]
                if len(common) >= 5 and len(same) == len(common):
                    rows.append(_row("duplicated columns", f"Table {n}, columns {a} and {b}",
                                     f"{len(same)} of {len(common)} cells identical",
                                     "two regressions with different dependent or mediating variables",
                                     INCONSISTENT, "different regressions cannot agree in every coefficient, t, "
                                     "R2 and F to the last printed digit"))
    t2, t4 = paper.table(2), paper.table(4)
    a = t2[t2["column"] == "(5)"].set_index("row")["printed"]
    b = t4[t4["column"] == "(1)"].set_index("row")["printed"]
    common = sorted(set(a.index) & set(b.index))
    if all(a[r] == b[r] for r in common):
        rows.append(_row("duplicated columns", "Table 2 (5) and Table 4 (1)", "identical", "the same regression",
                         CONSISTENT, "Table 4 (1) repeats the baseline, as the text says"))
    return pd.DataFrame(rows)


def check_sample_sizes() -> pd.DataFrame:
    """Sample-size arithmetic across the text and the tables."""
    txt = paper.text()
    N = lambda n, col: paper.value(n, "N", col)  # noqa: E731
    rows = [
        _row("sample size", "Abstract vs Table 2", f"{txt['sample_abstract']}; N = {int(N(2, '(5)'))}",
             "287 x 12 = 3444 city-years", INCONSISTENT,
             "3990 = 285 x 14 (2009-2022) or 3990 = 332.5 x 12: not 287 cities over 2011-2022"),
        _row("sample size", "Section 6 (heterogeneity) vs Table 2", txt["sample_heterogeneity"], "285 x 14 = 3990",
             CONSISTENT, "285 cities over 14 years give the tables' N, which suggests 2009-2022"),
        _row("sample size", "Table 3 (1)", f"N = {int(N(3, '(1)'))} after dropping 4 municipalities",
             f"{int(N(2, '(5)'))} - 4 x 14 = {int(N(2, '(5)')) - 56} (or - 4 x 12 = {int(N(2, '(5)')) - 48})",
             INCONSISTENT, "3990 - 3892 = 98 = 7 x 14 city-years were dropped, not 4 cities"),
        _row("sample size", "Table 3 (2)", f"N = {int(N(3, '(2)'))} with the Broadband China dummy",
             "3990 (adding a 0/1 control drops no observations)", CANNOT_TELL,
             "28 = 2 x 14 city-years are missing without explanation"),
        _row("sample size", "Table 3 (3a)/(3b)", f"N = {int(N(3, '(3a)'))} and {int(N(3, '(3b)'))}",
             "common-support sample and matched sample", CANNOT_TELL,
             "plausible for pooled 1:1 matching with replacement (treated + distinct matched controls); "
             "the paper does not say"),
    ]
    reg = [int(N(7, c)) for c in ("east", "west", "central")]
    size = [int(N(7, c)) for c in ("large", "small_medium")]
    rows.append(_row("sample size", "Table 7, regions", " + ".join(map(str, reg)) + f" = {sum(reg)}",
                     "3990 (every city is in one region)", INCONSISTENT if sum(reg) != 3990 else CONSISTENT,
                     f"the regional subsamples sum to {sum(reg)}; 1162 / 14 = 83 western cities"))
    rows.append(_row("sample size", "Table 7, size", " + ".join(map(str, size)) + f" = {sum(size)}",
                     "3990 (every city has a size)", INCONSISTENT if sum(size) != 3990 else CONSISTENT,
                     f"the size subsamples sum to {sum(size)}, the same 3962 as the regions and Table 6"))
    rows.append(_row("sample size", "Section 5(2), placebo", f"{txt['placebo_cities']} sample cities",
                     "285 cities", INCONSISTENT, "the placebo is said to use 276 cities, not the 285 of the tables"))
    rows.append(_row("sample size", "Table 6", f"N = {int(paper.value(6, 'N', 'coef'))}", "3990",
                     CANNOT_TELL, "3962 = 283 x 14: two cities fewer than in the baseline, without explanation"))
    return pd.DataFrame(rows)


def check_text_vs_tables() -> pd.DataFrame:
    """Claims in the text against the tables (quotes in paper_results.yaml)."""
    rows = []
    for c in paper.raw()["text_claims"]:
        if c["kind"] == "number_vs_table":
            v = paper.value(c["table"], c["row"], c["column"])
            rows.append(_row("text vs table", c["where"], f"{c['value']} in the text",
                             f"Table {c['table']} {c['column']}: {v}", INCONSISTENT if v != c["value"] else CONSISTENT,
                             f"'{c['quote']}'"))
        elif c["kind"] == "stars_vs_text":
            t = paper.table(c["table"])
            r = t[(t["row"] == c["row"]) & (t["column"] == c["column"])].iloc[0]
            printed = int(r["stars"])
            rows.append(_row("text vs table", c["where"], f"text: significant at {[None, '10%', '5%', '1%'][c['stars_in_text']]}",
                             f"table: {r['printed']}", CONSISTENT if printed == c["stars_in_text"] else INCONSISTENT,
                             f"'{c['quote']}'"))
        elif c["kind"] == "wording":
            rows.append(_row("wording", c["where"], f"'{c['quote']}'", c["implies"], INCONSISTENT,
                             "the wording contradicts the design described elsewhere in the paper"))
    return pd.DataFrame(rows)


def check_f_and_r2() -> pd.DataFrame:
    """F = t^2 where one regressor is tested, k F >= max t^2 otherwise; R2 definitions."""
    rows = []
    for n in (2, 3, 4, 7):
        t = paper.table(n)
        for col in dict.fromkeys(t["column"]):
            sub = t[t["column"] == col].set_index("row")
            coefs = [r for r in sub.index if r not in ("N", "R2", "F", "_cons") and pd.notna(sub.loc[r, "stars"])]
            if "F" not in sub.index:
                continue
            F = sub.loc["F", "estimate"]
            where = f"Table {n}, column {col}"
            if len(coefs) == 1:
                tt = sub.loc[coefs[0], "paren"]
                ok = abs(F - tt ** 2) <= 0.01 * max(1, F) + 2 * abs(tt) * 0.0005 + 0.001
                rows.append(_row("F vs t", where, f"F = {F}", f"t^2 = {tt ** 2:.3f}", CONSISTENT if ok else INCONSISTENT,
                                 "with one regressor the Wald F equals the squared t"))
            else:
                # the Wald statistic k*F is the largest squared t over all linear combinations,
                # so it can never be below the largest squared t of a single coefficient
                k = len(coefs)
                tmax = max(abs(sub.loc[r, "paren"]) for r in coefs)
                ok = k * F + 0.01 * k >= (tmax - 0.0005) ** 2
                rows.append(_row("F vs t", where, f"F = {F}, {k} regressors",
                                 f"k F = {k * F:.1f} >= max t^2 = {tmax ** 2:.1f}", CONSISTENT if ok else INCONSISTENT,
                                 "k F is the largest squared t over all linear combinations of the coefficients"))
    r2 = paper.table(3)
    vals = r2[r2["row"] == "R2"].set_index("column")["estimate"]
    rows.append(_row("R2 definition", "Table 3 (1)-(2) vs (3a)-(3b)", f"{vals.to_dict()}",
                     "the same model on similar samples", INCONSISTENT if vals.max() - vals.min() > 0.2 else CONSISTENT,
                     "R2 falls from 0.842 to 0.448 with the same fixed effects: two R2 definitions (LSDV vs within) "
                     "are mixed, or the PSM columns drop the fixed effects"))
    return pd.DataFrame(rows)


def audit() -> pd.DataFrame:
    """All checks in one table."""
    parts = [check_stars_vs_t(), check_implausible_parentheses(), check_duplicated_columns(), check_sample_sizes(),
             check_text_vs_tables(), check_f_and_r2()]
    return pd.concat(parts, ignore_index=True)


def summary(a: pd.DataFrame) -> pd.DataFrame:
    """Counts of verdicts per check."""
    return a.pivot_table(index="check", columns="verdict", values="where", aggfunc="count", fill_value=0)
