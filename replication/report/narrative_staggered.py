"""Sentences of chapter 8 (staggered adoption), computed from the results and glued into the
text, so that no verdict in the chapter is typed (issue #18)."""
from __future__ import annotations

import pandas as pd

from replication.report.narrative_late import ALPHA, _and, _interval, _p, _pc


def pretrend_text(test, alpha: float = ALPHA) -> str:
    """The joint test that all leads are zero as a verdict."""
    verdict = "rejects" if test.pvalue < alpha else "does not reject"
    return f"F = {test.statistic:.2f} ({_p(test.pvalue)}): the test {verdict} at {_pc(alpha)} that all leads are zero"


def leads_text(paths: dict) -> str:
    """Per estimator, how many leads (event time < -1) have a 95 % interval without zero."""
    out = []
    for name, t in paths.items():
        lead = t[t["event_time"] < -1]
        out.append(f"{name} {int(((lead['lower'] > 0) | (lead['upper'] < 0)).sum())} of {len(lead)}")
    return _and(out)


def design_text(truth: dict) -> str:
    """Chapter 8 (default data): the simulator's dynamics and pre-trend settings of this run."""
    g, pre = float(truth["dynamic_growth"]), float(truth["pretrend"])
    grow = (f"the true effect grows by {_pc(g)} per year of exposure by design" if g > 0 else
            "the true effect does not grow with exposure (dynamic_growth = 0)" if g == 0 else
            f"the true effect shrinks by {_pc(-g)} per year of exposure")
    return grow + (", and future pilots get no differential pre-trend (pretrend = 0)" if pre == 0 else
                   f", and future pilots get a differential pre-trend (pretrend = {pre:g})")


def controls_vs_choice(summary: pd.DataFrame, without: str = "TWFE without controls",
                       with_: str = "TWFE, Table 2 (5)") -> str:
    """Chapter 8: how far the controls move TWFE, against the spread of the estimators with controls."""
    s = summary.set_index("estimator")["estimate"]
    move, rest = float(s[with_] - s[without]), s.drop(without)
    spread = float(rest.max() - rest.min())
    return (f"conditioning on the controls moves the TWFE estimate from {s[without]:.3f} to {s[with_]:.3f} "
            f"(by {move:+.3f}); the estimators with controls range from {rest.min():.3f} to {rest.max():.3f} "
            f"(a spread of {spread:.3f}), so here the controls matter "
            + ("more than" if abs(move) > spread else "less than" if abs(move) < spread else "as much as")
            + " the choice among these estimators")


def estimators_truth_text(summary: pd.DataFrame) -> str:
    """Chapter 8 (default data): which estimators' intervals contain the true ATT."""
    c = summary.dropna(subset=["covers"])
    miss = c[~c["covers"].astype(bool)]
    text = f"the 95 % intervals of {len(c) - len(miss)} of {len(c)} estimators contain it"
    if len(miss):
        text += "; not: " + _and([f"{r.estimator} ({r.estimate:.3f}, "
                                  f"{'above' if r.estimate > r._5 else 'below'} it)" for r in
                                  miss.rename(columns={"truth (ATT)": "_5"}).itertuples()])
    return text


def furthest_text(summary: pd.DataFrame, before: pd.DataFrame | None = None) -> str:
    """Chapter 8's exercise: each estimator's distance from the true ATT, the furthest first
    (and, with ``before``, the same estimators' distances in the chapter's run)."""
    def dist(t):
        return (t["estimate"] - t["truth (ATT)"]).set_axis(t["estimator"])

    d = dist(summary).sort_values(key=lambda s: -s.abs())
    text = (f"{d.index[0]} moves furthest from the true ATT ({summary['truth (ATT)'].iloc[0]:.3f}); distances: "
            + _and([f"{k} {v:+.3f}" for k, v in d.items()]))
    if before is not None:
        b = dist(before)
        text += "; in the chapter's run: " + _and([f"{k} {b[k]:+.3f}" for k in d.index if k in b.index])
    return text


def _breakdown(h, restriction: str, sym: str) -> str:
    t = h.smoothness if restriction == "smoothness" else h.relative_magnitudes
    key = "M" if restriction == "smoothness" else "Mbar"
    grid, b = sorted(t[key]), h.breakdown(restriction)
    if b is None:
        return f"not even at {sym} = {grid[0]:g}"
    if b >= grid[-1]:
        return (f"at every {sym} computed, up to {b:g} (where it breaks down lies beyond the grid and is not "
                "computed here)")
    return f"up to {sym} = {b:g} (at {min(v for v in grid if v > b):g} the interval contains zero)"


def honest_text(h) -> str:
    """Chapter 8: how far the pilot-year effect stays significant under each restriction."""
    lo, hi = h.original_ci()
    if lo <= 0 <= hi:
        return ("The original interval of the pilot-year effect already contains zero, so no restriction can "
                "make it significant.")
    sign, mbar = "positive" if lo > 0 else "negative", "M\u0304"  # M with a macron
    return (f"The pilot-year effect stays significantly {sign} under smoothness {_breakdown(h, 'smoothness', 'M')}"
            f", and under relative magnitudes {_breakdown(h, 'relative_magnitudes', mbar)}")


def scale_text(h, max_change: float) -> str:
    """Chapter 8: the last significant M in units of the largest pre-adoption change."""
    b = h.breakdown("smoothness")
    if b is None or max_change <= 0:
        return "no M on the grid keeps the effect significant"
    r = b / max_change
    return (f"the last M that keeps the effect significant, {b:g}, is {r:.1f} times that change, so it allows "
            + ("bends larger than any change seen before adoption" if r > 1 else "no bend beyond the changes seen "
               "before adoption"))


def untreated_text(pretest, summary: pd.DataFrame) -> str:
    """Chapter 8 (default data): the pre-trend test and the estimators (``summary``, as
    :func:`replication.report.staggered_tables.estimators_table`) on Y(0), where no effect exists."""
    est = _and([f"{r.estimator} {r.estimate:.3f} (95 % CI {_interval(r.ci_lower, r.ci_upper)})"
                for r in summary.itertuples()])
    return (f"the TWFE event study's pre-trend test gives {_p(pretest.pvalue)} (it "
            f"{'rejects' if pretest.pvalue < ALPHA else 'does not reject'} at {_pc(ALPHA)}), and the estimates are "
            f"{est}")


def window_text(before, after, setting_before: str, setting_after: str) -> str:
    """Chapter 8's exercise: the pre-trend tests of two event studies that differ in their
    window (``setting_*``: e.g. ``"lags = 8"``), each with its number of restrictions."""
    def one(es):
        k = es.pretrend.df[0]
        return f"{k} restriction{'s' if k != 1 else ''}, {pretrend_text(es.pretrend)}"

    return f"with {setting_after}: {one(after)}; with the chapter's {setting_before}: {one(before)}"


def first_year_text(before: pd.DataFrame, after: pd.DataFrame, est_before: pd.DataFrame, est_after: pd.DataFrame,
                    cohort: str = "pilot_year") -> str:
    """Chapter 8's exercise: the first batch's pre-adoption years in two panels, and the
    estimates (:func:`replication.report.staggered_tables.estimators_table`) on both."""
    first = int(pd.to_numeric(before[cohort], errors="coerce").min())
    pre = [first - int(p["year"].min()) for p in (before, after)]
    a, b = (t.set_index("estimator")["estimate"] for t in (est_before, est_after))
    est = _and([f"{k} {a[k]:.3f} → {b[k]:.3f}" for k in b.index if k in a.index])
    if len(after) == len(before):
        return f"the panel already starts in {int(after['year'].min())}, so nothing changes: {est}"
    return (f"the {first} batch has {pre[1]} pre-adoption year{'s' if pre[1] != 1 else ''} instead of {pre[0]}, "
            f"and the panel {len(after)} city-years instead of {len(before)}; {est}")


def pretrend_exercise_text(sa_table: pd.DataFrame, summary: pd.DataFrame, flci: tuple, flci_chapter: tuple,
                           truth0: float) -> str:
    """Chapter 8's exercise (default data, a differential pre-trend): the Sun-Abraham leads,
    the estimates against the true ATT, the smoothness interval at M = 0 (the chapter's
    beside it) against the true pilot-year effect."""
    lead = sa_table[sa_table["event_time"] < -1]
    off = int(((lead["lower"] > 0) | (lead["upper"] < 0)).sum())
    att = float(summary["truth (ATT)"].iloc[0])
    est = _and([f"{r.estimator} {r.estimate:.3f} ({'above' if r.estimate > att else 'below'})"
                for r in summary.itertuples()])
    lo, hi = flci
    return (f"the Sun-Abraham leads run from {lead['estimate'].min():.3f} to {lead['estimate'].max():.3f}, {off} of "
            f"{len(lead)} with a 95 % interval that excludes zero; against the true ATT {att:.3f}: {est}; the "
            f"smoothness interval at M = 0 is {_interval(lo, hi)} (the chapter's {_interval(*flci_chapter)}), which "
            f"{'contains' if lo <= truth0 <= hi else 'misses'} the true pilot-year effect {truth0:.3f}")


def untreated_verdict(pretest, summary: pd.DataFrame, alpha: float = ALPHA) -> str:
    """Chapter 8 (default data): what the event study and the estimators on Y(0) mean."""
    off = summary[(summary["ci_lower"] > 0) | (summary["ci_upper"] < 0)]
    if pretest.pvalue >= alpha and off.empty:
        return "On Y(0) nothing is detected: at this precision the untreated trends are parallel."
    up = float(summary.loc[summary["estimate"].abs().idxmax(), "estimate"]) > 0
    return (f"Without the pilots, the pilots' index would have grown {'faster' if up else 'more slowly'} than the "
            "never-treated cities', even given the controls on which they were selected: here parallel trends hold "
            "only approximately, whatever the simulator's pretrend setting.")


def honest_cover_text(table: pd.DataFrame) -> str:
    """Chapter 8 (default data): how many HonestDiD intervals contain the true pilot-year effect."""
    n = int(table["covers truth"].sum())
    return (f"every interval ({n}) contains the true pilot-year effect" if n == len(table) else
            f"{n} of {len(table)} intervals contain the true pilot-year effect")
