"""What the book finds, in a few sentences computed from the results, and the simulated world's
tables with the paper's numbers beside the planted values.

* :func:`summary_markdown` writes the landing page's findings (chapter 9 exports it as
  ``outputs/09_audit/findings.md``, which ``book/intro.md`` includes): the audit's headline
  inconsistencies of the paper, the paper's preferred estimate against ours and against the
  truth (default data) or the paper (a user's panel), and what the estimators built for staggered
  adoption change.  Every number and verdict in it is computed; the paper's numbers come from
  :mod:`replication.report.paper`.
* :func:`world_table` gives the tables of the page "The simulated world" (rendered at build time
  by ``book/_ext/book_extras.py``) from the documentation in :mod:`replication.data.dgp`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data import dgp
from replication.report import audit, paper, specs, staggered_tables, style

# --- the simulated world's tables -------------------------------------------------------------


def _estimate(printed: str) -> str:
    """``0.534*** (4.000)`` -> ``0.534***``; a minus sign as the typographic one."""
    return printed.split(" (")[0].replace("-", "\u2212")


def paper_cells(refs) -> str:
    """The paper's printed numbers of ``refs`` ((table, row, columns) or ("text", key, ())):
    ``Table 7 did: west 0.534***, east 0.203*, central −0.129``."""
    parts: dict[str, list[str]] = {}
    for table, row, cols in refs:
        if table == "text":
            values = paper.text()[row]
            parts.setdefault(f"text ({row})", []).append(", ".join(f"{v:g}" for v in values))
            continue
        t = paper.table(table)
        cell = t[t["row"] == row].set_index("column")["printed"]
        for col in cols:
            what = row if col == "coef" else (f"{row} {col}" if len(cols) == 1 else col)
            head = f"Table {table}" if col == "coef" or len(cols) == 1 else f"Table {table} {row}"
            parts.setdefault(head, []).append(f"{what} {_estimate(cell[col])}")
    return "; ".join(f"{head}: {', '.join(items)}" for head, items in parts.items())


def world_parameters() -> pd.DataFrame:
    """:func:`replication.data.dgp.parameter_table` with what each switch mirrors in the paper
    and, where it was set after the paper's reported numbers, those numbers."""
    t = dgp.parameter_table()
    mirrors = [m + (f" (the paper: {paper_cells(refs)})" if refs else "") for m, refs in zip(t["mirrors"], t["paper"])]
    return pd.DataFrame({"name": t["name"], "meaning": t["meaning"], "default": t["default"], "unit": t["unit"],
                         "mirrors in the paper": mirrors})


def copied_features() -> pd.DataFrame:
    """The switches whose planted value copies a pattern the paper reports: name, planted
    default, the paper's numbers."""
    t = dgp.parameter_table()
    t = t[t["copies the paper"]]
    return pd.DataFrame({"planted feature": t["name"], "planted value": t["default"],
                         "copies the paper's": [paper_cells(r) for r in t["paper"]]})


def _calibration_table():
    """The ``paper`` calibration of the simulator (replication.data.calibration), when it exists."""
    try:
        from replication.data import calibration
    except ImportError:
        return None
    fn = getattr(calibration, "calibration_table", None) or getattr(calibration, "table", None)
    return fn() if callable(fn) else None


def world_table(name: str) -> pd.DataFrame | None:
    """A table of the page "The simulated world": ``parameters``, ``copies``, ``indicators``,
    ``constants``, ``truth`` or ``calibration`` (None when the calibration does not exist)."""
    tables = {"parameters": world_parameters, "copies": copied_features, "indicators": dgp.indicator_table,
              "constants": dgp.constants_table, "truth": dgp.truth_table, "calibration": _calibration_table}
    if name not in tables:
        raise ValueError(f"unknown table {name!r} of the simulated world; one of {sorted(tables)}")
    return tables[name]()


def _num(v) -> str:
    return style.fmt_sig(v, 4) if abs(v) < 0.01 and v else f"{v:.3f}"


def planted_table(truth: dict) -> pd.DataFrame:
    """Chapter 1's summary of a simulated panel's truth: the quantities the chapters estimate,
    each labelled, formatted by what it is, with its unit and the chapters that estimate it."""
    ip, regime = "index points", ("isu ≤ γ1", "γ1 < isu ≤ γ2", "isu > γ2")
    rows = [("Average effect on the treated (ATT)", _num(truth["att"]), ip, "3, 4, 8"),
            ("Direct effect (mediators held untreated)", _num(truth["att_direct"]), ip, "5"),
            ("Path a: pilot → human capital (planted)", _num(truth["a_hc"]), "hc units (students / population)", "5"),
            ("Path b: human capital → index", _num(truth["b_hc"]), "index points per hc unit", "5"),
            ("Indirect effect via human capital", _num(truth["indirect_hc"]), ip, "5"),
            ("Path a: pilot → science & technology (planted)", _num(truth["a_st"]), "st units (100 million yuan)", "5"),
            ("Path b: science & technology → index", _num(truth["b_st"]), "index points per st unit", "5"),
            ("Indirect effect via science & technology", _num(truth["indirect_st"]), ip, "5"),
            ("Thresholds γ1, γ2 of isu (planted)", f"{truth['threshold_1']:.2f}, {truth['threshold_2']:.2f}",
             "tertiary / secondary VA", "6")]
    rows += [(f"ATT in regime {r + 1} ({regime[r]})", _num(truth[f"att_regime_{r}"]), ip, "6")
             for r in range(3) if f"att_regime_{r}" in truth]
    rows += [(f"ATT, {reg} cities", _num(truth[f"att_region_{reg}"]), ip, "7")
             for reg in ("east", "central", "west") if f"att_region_{reg}" in truth]
    rows += [(f"ATT, {lab} cities", _num(truth[f"att_size_{key}"]), ip, "7")
             for key, lab in (("large", "large"), ("small_medium", "small and medium")) if f"att_size_{key}" in truth]
    rows += [("Treated cities", f"{truth['n_treated_cities']:,}", "cities", "1"),
             ("Treated city-years", f"{truth['n_treated_cells']:,}", "city-years", "1")]
    return pd.DataFrame(rows, columns=["quantity", "value", "unit", "chapters"])


# --- phrases of chapters 1 and 9 (their exercises' solutions) -----------------------------------

def _first_int(text: str) -> int:
    import re

    return int(re.search(r"\d+", text)[0])


def sample_counts(n_cities: int, n_obs: int) -> str:
    """Chapter 1: a panel's size against the abstract's sample and the tables' N."""
    abstract = paper.text()["sample_abstract"]
    claimed, N = _first_int(abstract), int(paper.value(2, "N", "(5)"))
    return (f"{n_cities} cities and {n_obs:,} city-years: {'exactly' if n_cities == claimed else 'not'} the "
            f"{claimed} cities of the paper's abstract (\"{abstract}\"), and {'exactly' if n_obs == N else 'not'} "
            f"the N = {N:,} of its tables")


def largest_bias(bal: pd.DataFrame) -> tuple[float, str]:
    """Chapter 1: the largest absolute standardised bias of a balance table and its control's label."""
    row = bal.loc[bal["std. bias %"].abs().idxmax()]
    return abs(float(row["std. bias %"])), str(row["label"])


def bias_change(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """Chapter 1: how the largest standardised bias changes between two panels."""
    (b, bl), (a, al) = largest_bias(before), largest_bias(after)
    way = "falls" if a < b else "rises" if a > b else "stays"
    return f"the largest absolute standardised bias {way} from {b:.0f} % ({bl}) to {a:.0f} % ({al})"


def group_spread(values: dict, fmt: str = ".3f") -> str:
    """``east 0.070, central 0.018 and west 0.447 (range 0.429)``."""
    items = [f"{k} {v:{fmt}}" for k, v in values.items()]
    rng = max(values.values()) - min(values.values())
    return (", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]) + f" (range {rng:{fmt}})"


def still_differ(values: dict, tol: float = 0.01) -> str:
    """Whether group values are equal up to ``tol``: "still differ" or "are equal"."""
    return "are equal" if max(values.values()) - min(values.values()) <= tol else "still differ"


def tolerance_change(card: pd.DataFrame, loose: pd.DataFrame) -> str:
    """Chapter 9: the numbers within tolerance under two tolerances, and the preferred estimate's verdicts."""
    n0, n1 = int(card["within tolerance"].fillna(False).sum()), int(loose["within tolerance"].fillna(False).sum())
    n = int(card["within tolerance"].notna().sum())
    pref = [_preferred_row(c) for c in (card, loose)]
    verdict = ["within" if r is not None and r["within tolerance"] else "outside" for r in pref]
    return (f"{n0} → {n1} of {n} numbers are within tolerance; the preferred estimate (Table 2, column (5)) is "
            f"{verdict[0]} the default tolerance and {verdict[1]} the loose one")


def stars_recomputed(t: float, n: int | None, printed_stars: int, decimals: int = 3,
                     text_stars: int | None = None) -> str:
    """Chapter 9: the p-value of a printed t (normal and t(n − 10), allowing for its rounding to
    ``decimals``), the stars it implies, and whether the table's stars (and the text's level,
    ``text_stars``) agree with them."""
    s_norm, p_norm = audit.implied_stars(t, None, decimals)
    s_t, p_t = audit.implied_stars(t, n - 10 if n else None, decimals)
    implied = sorted(s_norm | s_t)
    levels = {0: "not significant at 10 %", 1: "significant at 10 %", 2: "significant at 5 %", 3: "significant at 1 %"}
    text = (f"p = {p_norm:.4f} (normal) and {p_t:.4f} (t distribution): {' or '.join(levels[s] for s in implied)}, "
            f"so the table's {'*' * printed_stars or 'missing star'} {'agrees' if printed_stars in implied else 'disagrees'}")
    if text_stars is not None:
        text += (f" and the text's \"{levels[text_stars]}\" {'agrees' if text_stars in implied else 'disagrees'}")
    return text


# --- the findings summary of the landing page ---------------------------------------------------

# The audit's checks in the order of what they put in doubt: (check, what it bears on, what an
# inconsistency of that check means).
HEADLINE_CHECKS = (
    ("duplicated columns", "Mechanisms", "two different regressions cannot agree in every printed cell, so at most "
                                         "one of the two channels of Table 4 is reported"),
    ("sample size", "Sample", "the tables' N does not fit the cities and years the text describes"),
    ("text vs table", "Text against tables", "numbers and significance levels in the text differ from the tables"),
    ("parenthesis type", "Threshold regression", "a standard error is printed where t values are announced"),
    ("stars vs t", "Stars", "significance stars that the printed t value does not imply"),
    ("R2 definition", "R²", "two definitions of R² within one table"),
    ("wording", "Design as written", "treatment coding and policy names that contradict the design described "
                                     "elsewhere in the paper"),
)


def audit_headlines(a: pd.DataFrame, per_check: int = 3) -> list[str]:
    """One line per kind of inconsistency the audit found, in :data:`HEADLINE_CHECKS` order:
    what it bears on, what it means and where (the first ``per_check`` places)."""
    bad = a[a["verdict"] == audit.INCONSISTENT]
    lines = []
    for check, label, meaning in HEADLINE_CHECKS:
        rows = bad[bad["check"] == check]
        if rows.empty:
            continue
        places = list(dict.fromkeys(rows["where"]))
        shown = "; ".join(places[:per_check]) + (f"; and {len(places) - per_check} more" if len(places) > per_check
                                                 else "")
        lines.append(f"*{label}*: {meaning} ({len(rows)} {'finding' if len(rows) == 1 else 'findings'}: {shown}).")
    return lines


def _preferred_row(card: pd.DataFrame) -> pd.Series | None:
    hit = card[(card["table"] == "Table 2") & (card["column"] == "(5)") & (card["row"] == "did")]
    return hit.iloc[0] if len(hit) and np.isfinite(hit.iloc[0]["ours"]) else None


def preferred_sentence(card: pd.DataFrame, truth: dict | None) -> str:
    """The paper's preferred estimate (Table 2, column (5)) against ours, and against the truth
    (default data) or the paper (a user's panel), from the scorecard's row."""
    printed = _estimate(paper.table(2).set_index(["row", "column"]).loc[("did", "(5)"), "printed"])
    r = _preferred_row(card)
    if r is None:
        return f"The paper's preferred estimate (Table 2, column (5)) is {printed}; it could not be computed here."
    ours = f"{r['ours']:.3f} (95 % CI {r['ci_lower']:.3f} to {r['ci_upper']:.3f})"
    head = f"The paper's preferred estimate (Table 2, column (5)) is {printed}; the same specification here gives {ours}"
    if truth is not None:
        att = truth["att"]
        covers = "covers" if r["ci_lower"] <= att <= r["ci_upper"] else "does not cover"
        rel = (r["ours"] - att) / abs(att) if att else np.nan
        side = f"{abs(rel):.0%} {'above' if rel > 0 else 'below'}" if np.isfinite(rel) else "far from"
        return (f"{head}. On this semi-synthetic panel the true effect is {att:.3f}: the interval {covers} it, and "
                f"the estimate is {side} it.")
    sign = "the same sign" if r["same sign"] else "the opposite sign"
    sig = "the same significance level" if r["same significance"] else "a different significance level"
    tol = "within" if r["within tolerance"] else "outside"
    return f"{head}: {sign} as the paper, {sig}, and {tol} the scorecard's tolerance."


STAGGERED_LABELS = {"cs": "Callaway-Sant'Anna, never treated (simple)", "sa": "Sun-Abraham (post cells, unit-weighted)"}
# (chapter 8's labels of the same estimators: replication.report.specs.staggered_estimators)


def staggered_estimates(panel: pd.DataFrame, twfe, truth: dict | None = None) -> dict:
    """Chapter 8's cheap comparison, recomputed: the TWFE estimate ``twfe`` (Table 2 (5), or None)
    beside Callaway-Sant'Anna and Sun-Abraham (overall effects with 95 % intervals), and the weight
    of the Goodman-Bacon comparisons that use already-treated cities as controls.  An estimator
    that cannot be computed on this panel is left out, its reason in ``errors``."""
    fits, errors = {}, {}
    if twfe is not None:
        fits[TWFE_LABEL] = twfe
    for key, fit in (("cs", specs.callaway_santanna), ("sa", specs.sun_abraham), ("bacon", specs.bacon)):
        try:
            fits[STAGGERED_LABELS.get(key, key)] = fit(panel)
        except Exception as exc:  # noqa: BLE001 - reported in the sentence, not a stopped chapter
            errors[key] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    bac = fits.pop("bacon", None)
    return {"table": staggered_tables.estimators_table(fits, truth) if fits else pd.DataFrame(),
            "bad_weight": staggered_tables.bacon_summary(bac)["bad_w"] if bac is not None else None,
            "errors": errors}


TWFE_LABEL = "TWFE, Table 2 (5)"


def _short(name: str) -> str:
    return name.split(",")[0].split(" (")[0]


def staggered_sentence(st: dict, truth: dict | None) -> str:
    """What the estimators built for staggered adoption change, against TWFE (and the truth)."""
    t = st["table"]
    others = t[t["estimator"] != TWFE_LABEL] if len(t) else t
    if others.empty:
        return "The estimators built for staggered adoption could not be computed on this panel."
    shown = " and ".join(f"{_short(n)} {e:.3f} (95 % CI {lo:.3f} to {hi:.3f})" for n, e, lo, hi in
                         zip(others["estimator"], others["estimate"], others["ci_lower"], others["ci_upper"]))
    text = f"Estimators built for staggered adoption give {shown}"
    if TWFE_LABEL in set(t["estimator"]):
        twfe = float(t.loc[t["estimator"] == TWFE_LABEL, "estimate"].iloc[0])
        rel = (others["estimate"] - twfe) / abs(twfe)
        k = rel.abs().idxmax()
        move = (f"they change the estimate by at most {abs(rel[k]):.0%}" if abs(rel[k]) <= 0.1 else
                f"they move the estimate by up to {abs(rel[k]):.0%} ({'up' if rel[k] > 0 else 'down'})")
        text += f", against TWFE's {twfe:.3f}: {move}"
    text += "."
    if st.get("bad_weight"):
        text += (f" Comparisons that use already-treated cities as controls carry {st['bad_weight']} of the "
                 "weight of the TWFE estimate without controls.")
    if truth is not None and "covers" in t:
        close = t.loc[(t["estimate"] - truth["att"]).abs().idxmin(), "estimator"]
        text += (f" Of these {len(t)} intervals, {int(t['covers'].sum())} cover the true effect ({truth['att']:.3f}); "
                 f"the closest estimate is {_short(close)}'s.")
    return text


def summary_markdown(a: pd.DataFrame, card: pd.DataFrame, st: dict, truth: dict | None, *,
                     links: bool = True) -> str:
    """The findings as Markdown: the audit's headlines, the preferred estimate, staggered
    adoption.  ``links`` adds links to the chapters (relative to the book's root, for the
    landing page)."""
    def ref(stem: str, text: str) -> str:
        return f"{{doc}}`{text} <chapters/{stem}>`" if links else text

    n_bad = int((a["verdict"] == audit.INCONSISTENT).sum())
    n_cannot = int((a["verdict"] == audit.CANNOT_TELL).sum())
    lines = [f"**The paper's own numbers** ({ref('09_audit', 'the audit')}): {n_bad} of {len(a)} checks of its "
             f"reported statistics find an inconsistency and {n_cannot} cannot decide. What they put in doubt:", ""]
    lines += [f"* {h}" for h in audit_headlines(a)]
    lines += ["", f"**The preferred estimate** ({ref('03_baseline', 'the baseline')}). "
              f"{preferred_sentence(card, truth)}", "",
              f"**Staggered adoption** ({ref('08_staggered', 'beyond the paper')}). {staggered_sentence(st, truth)}"]
    return "\n".join(lines) + "\n"


def paper_group_counts() -> dict[str, str]:
    """Chapter 1: the cities per region and the large cities that the N of the paper's Table 7
    imply at its years per city (the N of Table 2 over the cities of its heterogeneity section)."""
    years = paper.value(2, "N", "(5)") / _first_int(paper.text()["sample_heterogeneity"])
    n = {c: paper.value(7, "N", c) for c in ("east", "central", "west", "large")}

    def cities(c: str) -> str:
        v = n[c] / years
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"

    return {"regions": f"{cities('east')} eastern, {cities('central')} central and {cities('west')} western cities "
                       f"(N = {n['east']:,.0f}, {n['central']:,.0f} and {n['west']:,.0f} at {years:g} years each)",
            "large": f"{cities('large')} (N = {n['large']:,.0f})"}


def coverage_misses(card: pd.DataFrame) -> str:
    """Chapter 9: the scorecard rows whose 95 % interval misses the truth, grouped by table
    (``Table 2: (1) did, (2) did; Table 7: central did``), or "none"."""
    miss = card[card["CI covers truth"].eq(False)]
    if miss.empty:
        return "none"
    parts = [f"{table}: " + ", ".join(f"{c} {r}" if c not in ("coef", "threshold") else r
                                       for c, r in zip(rows["column"], rows["row"]))
             for table, rows in miss.groupby("table", sort=False)]
    return "; ".join(parts)
