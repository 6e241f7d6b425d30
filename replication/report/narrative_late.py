"""Sentences of chapters 6 and 7 (threshold, heterogeneity), computed from the results and
glued into the text, so that no verdict in these chapters is typed (issue #18); with the
small table they rest on (chapter 7's tests with adjusted p-values).  Chapter 8's are in
:mod:`replication.report.narrative_staggered`, the other chapters' in
:mod:`replication.report.narrative`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators.did import stars
from replication.report.style import fmt_p, label

ALPHA = 0.05


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0] if items else ""


def _p(p: float) -> str:
    s = fmt_p(p)
    return f"p {s[0]} {s[1:]}" if s.startswith("<") else f"p = {s}"


def _pc(x: float, d: int = 0) -> str:
    return f"{100 * x:.{d}f} %"


def _interval(lo: float, hi: float, d: int = 3) -> str:
    return f"[{lo:.{d}f}, {hi:.{d}f}]"


# --- chapter 6: the threshold model ------------------------------------------------------

def supported_thresholds(pvalues, alpha: float = ALPHA) -> int:
    """The number of thresholds a sequential reading supports: stop at the first p >= alpha."""
    k = 0
    for p in pvalues:
        if not p < alpha:
            break
        k += 1
    return k


def thresholds_vs_paper(res, paper_t5: pd.DataFrame, alpha: float = ALPHA) -> str:
    """Chapter 6: the thresholds the paper's Table 5 supports (read the same way) beside ours."""
    ours = supported_thresholds([t.pvalue for _, t in sorted(res.tests.items())], alpha)
    theirs = supported_thresholds(list(paper_t5["p"]), alpha)
    cap = f" (we tested at most {len(res.tests)})" if ours == len(res.tests) < len(paper_t5) else ""
    return (f"Read the same way, the paper's Table 5 supports {theirs}: "
            + ("the same number as ours" if ours == theirs else f"{'more' if theirs > ours else 'fewer'} than "
               f"our {ours}") + cap + ".")


TRUE_THRESHOLD = {"Th-1": "threshold_1", "Th-21": "threshold_1", "Th-22": "threshold_2"}


def threshold_coverage(res, truth: dict) -> str:
    """Chapter 6 (default data): how many 95 % LR confidence sets contain the true threshold;
    a set holds grid candidates only, so for a set that misses, the two candidates the truth
    lies between."""
    th = res.thresholds[res.thresholds["name"].isin(TRUE_THRESHOLD)]
    missed: dict = {}  # (truth, set) -> names
    for r in th.itertuples():
        g = float(truth[TRUE_THRESHOLD[r.name]])
        if not r.lower <= g <= r.upper:
            missed.setdefault((g, r.lower, r.upper), []).append(r.name)
    if not missed:
        return f"all {len(th)} confidence sets contain the true threshold"
    out = []
    for (g, lo, hi), names in missed.items():
        cand = np.sort(res.lr[names[0]]["gamma"].to_numpy(float))
        below, above = cand[cand < g], cand[cand > g]
        where = (f"between the candidates {below[-1]:.4f} and {above[0]:.4f}" if len(below) and len(above)
                 else "outside the candidates")
        out.append(f"the set of {_and(names)}, {_interval(lo, hi, 4)}, misses the true {g:g}, which lies {where}")
    n_miss = sum(len(v) for v in missed.values())
    return (f"{len(th) - n_miss} of {len(th)} confidence sets contain the true threshold. A set holds "
            "candidate values of isu only: " + "; ".join(out))


def _regime_terms(res, k: int) -> list[str]:
    return [f"{res.spec['regime_x']}_regime_{j + 1}" for j in range(k + 1)]


def regime_effects_text(res, k: int, paper_t6: pd.DataFrame) -> str:
    """Chapter 6: our regime effects (rising or not) beside the paper's Table 6 (same sign,
    same stars) when both have two thresholds."""
    m = res.model(k)
    terms = _regime_terms(res, k)
    b = [float(m.params[t]) for t in terms]
    shape = "rise from the lowest to the highest regime" if np.all(np.diff(b) > 0) else "do not rise regime by regime"
    text = f"Our regime effects ({_and([f'{v:.3f}' for v in b])}) {shape}"
    if k != 2:
        return text + f"; the paper's Table 6 has three regimes, this run {k + 1}."
    pt = paper_t6.set_index("row")
    pe = [float(pt.loc[f"regime_{j + 1}", "estimate"]) for j in range(3)]
    sign = sum(int(np.sign(x) == np.sign(y)) for x, y in zip(b, pe))
    star = sum(int(len(stars(m.pvalues[t])) == int(pt.loc[f"regime_{j + 1}", "stars"])) for j, t in enumerate(terms))
    return (text + f"; the paper's ({_and([f'{v:g}' for v in pe])}) "
            + ("rise" if np.all(np.diff(pe) > 0) else "do not") + f". Ours have the paper's sign in {sign} of 3 "
            f"regimes and its stars in {star} of 3.")


def regime_truth_text(res, k: int, truth: dict) -> str:
    """Chapter 6 (default data): in how many regimes our 95 % interval contains the true effect."""
    ci = res.model(k).conf_int()
    hits = [ci.loc[t, "lower"] <= truth[f"att_regime_{j}"] <= ci.loc[t, "upper"]
            for j, t in enumerate(_regime_terms(res, k)) if f"att_regime_{j}" in truth]
    return f"our 95 % intervals contain the true average effect in {sum(hits)} of {len(hits)} regimes"


def threshold_variable_text(fits: dict, panel: pd.DataFrame, thresholds, q: str = "isu", treat: str = "did",
                            entity: str = "city_code", alpha: float = ALPHA) -> str:
    """Chapter 6's caveat: does the pilot move the threshold variable? ``fits``: label -> the
    DID of ``q`` on the pilot dummy (:func:`replication.report.specs.threshold_variable_fits`)."""
    parts, sig = [], [f.pvalues[treat] < alpha for f in fits.values()]
    for (name, f), s in zip(fits.items(), sig):
        lo, hi = f.conf_int().loc[treat]
        parts.append(f"{f.params[treat]:.4f} with {name} (95 % CI {_interval(lo, hi, 4)}, {_p(f.pvalues[treat])}, "
                     f"{'' if s else 'not '}significant at {_pc(alpha)})")
    x = panel[q].astype(float)
    within = float((x - x.groupby(panel[entity]).transform("mean")).std())
    b = max((float(f.params[treat]) for f in fits.values()), key=abs)
    tq = panel.loc[panel[treat] == 1, q].to_numpy(float)
    edges = np.sort(np.asarray(thresholds, float))
    moved = float((np.searchsorted(edges, tq) != np.searchsorted(edges, tq - b)).mean()) if len(tq) else 0.0
    return (f"Regressed on the pilot dummy like the index, {q} moves by {_and(parts)}. The larger of these is "
            f"{_pc(abs(b) / within)} of the within-city standard deviation of {q} ({within:.3f}); taking it out "
            f"of the pilots' {q} would move {_pc(moved, 1)} of their city-years to another regime of the estimated "
            "thresholds. " + ("Where the pilots move the threshold variable, a city's regime is partly an outcome "
                              "of the pilot, and the regime effects compare city-years selected on it."
                              if any(sig) else "Neither estimate is significant: a smaller concern, not proof "
                              "that the pilots leave the threshold variable alone."))


def threshold_variable_truth(fits: dict, treat: str = "did", alpha: float = ALPHA) -> str:
    """Chapter 6 (default data): what the DIDs of the threshold variable say, given that the
    simulator gives the pilots no effect on it."""
    wrong = [name for name, f in fits.items() if f.pvalues[treat] < alpha]
    if not wrong:
        return "neither estimate is significant, as it should be"
    return (f"the estimate with {_and(wrong)} is significant nonetheless: a difference between the trends of "
            "the pilots' and the other cities' threshold variable, not an effect of the pilots. A check of the "
            "threshold variable rests on parallel trends too")


def hansen_appendix(example: dict | None, reported: dict, alpha: float = ALPHA) -> str:
    """Chapter 6's appendix paragraph on Hansen's grid, from
    :func:`replication.report.specs.hansen_example` and his reported numbers."""
    if example is None:
        return ("Hansen's data (tests/data/oracles/hansen1999.dta) is not in this copy of the project: the "
                "appendix is skipped.")
    every, prog = example["hansen"], example["hansen_program"]
    crit = -2 * np.log(1 - np.sqrt(1 - alpha))
    g_rep = float(reported["double_thresholds"][1])
    g_every = every.estimates(2)[1]
    in_grid = bool(np.isclose(prog.lr["Th-22"]["gamma"].to_numpy(float), g_every, rtol=0, atol=5e-6).any())
    lr = every.lr["Th-22"]
    lr_at = float(lr.loc[(lr["gamma"] - g_rep).abs().idxmin(), "LR"])
    ours = tuple(round(v, 4) for v in prog.estimates(2))
    rep = tuple(round(float(v), 4) for v in reported["double_thresholds"])
    repro = (f"reproduces his {rep[0]} and {rep[1]} to the digit" if ours == rep else
             f"gives {ours[0]} and {ours[1]} against his {rep[0]} and {rep[1]}")
    return (f"Hansen's second threshold, {g_rep}, is a lesson in grids. With every observed debt ratio as a "
            f"candidate the second threshold is {g_every:.4f}; Hansen's program searches only "
            f"{prog.spec['n_candidates']} quantiles (1 %, 1.25 %, …, 99 %) of the *distinct* values, "
            f"{g_every:.4f} is {'' if in_grid else 'not '}among them, and the likelihood ratio of his {g_rep} "
            f"in the every-value model is {lr_at:.2f}, {'inside' if lr_at <= crit else 'outside'} the 95 % "
            f"confidence set (critical value {crit:.2f}). Run with his program's conventions "
            "(`convention=\"hansen_program\"`: his grid, each firm's last demeaned year dropped, lower regime "
            f"q < γ) our estimator {repro}; dropping the first year instead gives F₁ = "
            f"{every.tests[1].statistic:.1f} against his reported {reported['F1']}, his program's own "
            f"transformation {prog.tests[1].statistic:.1f}.")


def estimates_moved(before, after, names, d: int = 4) -> str:
    """``Th-1 0.5497 → 0.5497 (unchanged), ...``: paired estimates of two runs."""
    return _and([f"{n} {a:.{d}f} → {b:.{d}f}" + (" (unchanged)" if round(a, d) == round(b, d) else "")
                 for n, a, b in zip(names, before, after)])


def regimes_moved(before, after, k: int) -> tuple[str, str]:
    """Chapter 6's exercise: regime coefficients of two runs, and the direction of each move."""
    terms = _regime_terms(before, k)
    b0 = [float(before.model(k).params[t]) for t in terms]
    b1 = [float(after.model(k).params[t]) for t in terms]
    names = [f"regime {j + 1}" for j in range(k + 1)]
    moves = [f"{n} {'rises' if y > x else 'falls' if y < x else 'stays'}" for n, x, y in zip(names, b0, b1)]
    return estimates_moved(b0, b1, names, 3), _and(moves)


def trim_text(before, after, trim: float) -> str:
    """Chapter 6's exercise: the threshold estimates of two runs that differ in ``trim``: which
    moved, whether their old values are still candidates, and the chapter's smallest regime."""
    names = list(before.thresholds["name"])
    b0, b1 = (r.thresholds.set_index("name")["estimate"] for r in (before, after))
    moved = [n for n in names if round(b0[n], 4) != round(b1[n], 4)]
    cand = after.lr[names[0]]["gamma"].to_numpy(float)
    gone = [n for n in moved if not np.isclose(cand, b0[n], rtol=0, atol=1e-9).any()]
    k = before.spec["max_thresholds"]
    rc = before.regime_counts(k).sum()
    small = float(rc.min() / rc.sum())
    return (estimates_moved(b0[names], b1[names], names) + f". The {len(cand)} candidates now lie between the "
            f"{_pc(trim)} and {_pc(1 - trim)} quantiles of isu, and the old value{'s' if len(gone) != 1 else ''} of "
            f"{_and(gone) or 'no estimate'} {'is' if len(gone) == 1 else 'are'} not among them; the smallest regime "
            f"of the chapter's {k}-threshold model holds {_pc(small, 1)} of the city-years, "
            f"{'more' if small >= trim else 'less'} than the new trim")


def year_effects_text(before, after, k: int) -> str:
    """Chapter 6's exercise: regime effects and thresholds with and without year effects, and
    the largest move in standard errors of the coefficient."""
    moves, dirs = regimes_moved(before, after, k)
    m, terms = before.model(k), _regime_terms(before, k)
    z = max(abs(after.model(k).params[t] - m.params[t]) / m.std_errors[t] for t in terms)
    thr = estimates_moved(before.estimates(k), after.estimates(k), [f"threshold {j + 1}" for j in range(k)])
    return (f"{moves} ({dirs}); {thr}. The largest move is {z:.1f} standard errors of its coefficient"
            + (" — small: the five controls stay in the model either way" if z < 1 else ""))


def null_threshold_text(res, truth: dict, panel: pd.DataFrame, alpha: float = ALPHA) -> str:
    """Chapter 6's exercise (default data, no planted regime effects): the single-threshold
    test, and how the true effects still vary with isu."""
    from replication.report.style import bootstrap_p

    t = res.tests[1]
    cells = truth["cell_effects"].merge(panel[["city_code", "year", "isu"]], on=["city_code", "year"])
    eff = [f"{truth[f'att_regime_{j}']:.3f}" for j in range(3) if f"att_regime_{j}" in truth]
    shown = bootstrap_p(t.n_draws)(t.pvalue)
    p_txt = f"p {shown[0]} {shown[1:]}" if shown.startswith("<") else f"p = {shown}"
    verdict = "rejects" if t.pvalue < alpha else "does not reject"
    return (f"the single-threshold test gives F = {t.statistic:.1f}, {p_txt} with {t.n_draws} draws: it {verdict} "
            f"at {_pc(alpha)} (estimated threshold {res.estimates(1)[0]:.4f}). The true average effects in the three "
            f"true isu regimes are {_and(eff)}, and the true effect of a treated city-year correlates with its "
            "isu (r = "
            f"{cells['te'].corr(cells['isu']):.2f}) through the other planted heterogeneity (region, size, growth "
            "with exposure)")


# --- chapter 7: heterogeneity ----------------------------------------------------------

def gap_pvalue(gap, n_draws: int) -> float:
    """The randomisation p-value of ``gap`` (:func:`replication.report.specs.table7_tests`) with its
    first ``n_draws`` permutations only: what a run with ``n_draws`` and the same seed gives
    (the permutations are drawn one after another)."""
    d = np.abs(np.asarray(gap.null_distribution)[:n_draws])
    if len(d) < n_draws:
        raise ValueError(f"the test has {len(d)} permutations, fewer than the {n_draws} asked for")
    return (1 + int((d >= abs(gap.statistic)).sum())) / (1 + n_draws)


def subgroup_truth(truth: dict | None, panel: pd.DataFrame, size_cutoff: float) -> dict | None:
    """The simulator's truth with the true effect of Table 7's groups for any ``size_cutoff``:
    the mean true effect over each group's treated city-years (``att_region_<g>``,
    ``att_region4_<g>`` for the NBS four regions, ``att_size_<g>``), as the simulator computes
    them for its own regions and size classes."""
    from replication.report.specs import PAPER, add_groups

    if truth is None:
        return None
    cells = truth["cell_effects"]
    g = add_groups(panel, size_cutoff).drop_duplicates(PAPER["entity"]).set_index(PAPER["entity"])
    out = dict(truth)
    for by in [b for b in ("region", "region4", "size") if b in g.columns]:
        means = cells.groupby(cells[PAPER["entity"]].map(g[by]))["te"].mean()
        out.update({f"att_{by}_{k}": float(v) for k, v in means.items()})
    return out


def paper_agreement(cmp: pd.DataFrame, what: str = "groups") -> str:
    """A :func:`replication.report.tables.paper_vs_ours` table counted: same sign, same stars."""
    m = cmp[cmp["paper"] != ""]
    return (f"our estimates have the paper's sign in {int(m['same sign'].sum())} of {len(m)} {what} and its "
            f"stars in {int(m['same stars'].sum())} of {len(m)}")


def truth_coverage(groups: pd.DataFrame, what: str = "groups") -> str:
    """In how many rows (with an estimate and a truth) the 95 % interval contains the truth."""
    g = groups.dropna(subset=["coef", "truth"])
    hit = (g["ci_lower"] <= g["truth"]) & (g["truth"] <= g["ci_upper"])
    return f"our 95 % intervals contain the true effect in {int(hit.sum())} of {len(g)} {what}"


def _floor_note(p: float, n_perm: int) -> str:
    return (f", the smallest value {n_perm} permutations allow (1/(B+1)): no permuted gap was as large"
            if np.isclose(p, 1 / (n_perm + 1)) else "")


def _gap(text: str) -> str:
    return " - ".join(label(g) for g in text.split(" - "))


def difference_tests_text(tests: pd.DataFrame, n_perm: int, alpha: float = ALPHA) -> str:
    """Chapter 7: the Wald and randomisation tests of each split as verdicts."""
    out = []
    for _, r in tests.iterrows():
        w, g = float(r["Wald p"]), float(r["randomisation p"])
        out.append(f"equal effects across the {r['split']} groups are {'' if w < alpha else 'not '}rejected at "
                   f"{_pc(alpha)} (Wald {_p(w)}), and the randomisation test of the gap {_gap(r['gap'])} gives "
                   f"{_p(g)}{_floor_note(g, n_perm)}")
    text = "; ".join(out)
    return text[0].upper() + text[1:] + "."


def chapter_tests(groups: pd.DataFrame, tests: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Chapter 7: every test the chapter reports (did = 0 in each estimated group, then per
    split the Wald test and the randomisation test of the gap) with the Bonferroni and Holm
    (step-down) adjusted p-values."""
    rows = [(f"{r['split']}: did = 0 in {label(r['group'])}", float(r["p"]))
            for _, r in groups.dropna(subset=["p"]).iterrows()]
    for _, r in tests.iterrows():
        rows += [(f"{r['split']}: equal effects (Wald)", float(r["Wald p"])),
                 (f"{r['split']}: gap {_gap(r['gap'])} (randomisation)", float(r["randomisation p"]))]
    out = pd.DataFrame(rows, columns=["test", "p"])
    p, m = out["p"].to_numpy(float), len(out)
    order = np.argsort(p, kind="stable")
    holm = np.empty(m)
    holm[order] = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out.assign(**{"p Bonferroni": np.minimum(1, m * p), "p Holm": holm})


def min_permutations(m: int, alpha: float = ALPHA) -> int:
    """The fewest permutations B whose floor 1/(B+1) passes Bonferroni over ``m`` tests."""
    return int(np.ceil(m / alpha - 1 - 1e-9))


def multiple_tests_text(mt: pd.DataFrame, n_perm: int, alpha: float = ALPHA) -> str:
    """Chapter 7's caveat: the chapter's tests counted one by one, after Holm and after
    Bonferroni, and what the randomisation floor 1/(B+1) means for the correction."""
    m, floor, bonf = len(mt), 1 / (n_perm + 1), alpha / len(mt)
    n = [int((mt[c] <= alpha).sum()) if c != "p" else int((mt["p"] < alpha).sum())
         for c in ("p", "p Holm", "p Bonferroni")]
    can = ("below the Bonferroni threshold, so a randomisation test can pass the correction" if floor <= bonf else
           "above the Bonferroni threshold, so no randomisation test can pass the correction, whatever the data: "
           f"that needs B ≥ {min_permutations(m, alpha)}")
    return (f"The chapter reports {m} tests. Significant at {_pc(alpha)} one by one: {n[0]} of {m}; after Holm's "
            f"correction: {n[1]}; after Bonferroni's (each p at most {alpha:g}/{m} = {bonf:.4f}): {n[2]}. With "
            f"B = {n_perm} permutations no randomisation p-value can fall below 1/(B+1) = {floor:.4f}, {can}.")


def group_precision_text(groups: pd.DataFrame, split: str) -> str:
    """Chapter 7's exercise: treated cities per group, the widest interval, groups without an estimate."""
    g = groups[groups["split"] == split]
    counts = _and([f"{label(r['group'])} {int(r['treated cities'])}" for _, r in g.iterrows()])
    est = g.dropna(subset=["coef"]).assign(width=lambda d: d["ci_upper"] - d["ci_lower"])
    text = f"treated cities: {counts}"
    if len(est):
        wide, narrow = est.loc[est["width"].idxmax()], est.loc[est["width"].idxmin()]
        text += (f"; the widest 95 % interval is the {label(wide['group'])} group's "
                 f"({_interval(wide['ci_lower'], wide['ci_upper'])}, "
                 f"width {wide['width']:.3f}, against {narrow['width']:.3f} for the {label(narrow['group'])} group)")
    none = g[g["coef"].isna()]
    if len(none):
        text += f"; without an estimate: {_and([label(g) for g in none['group']])}"
    return text


def permutation_floor_text(p: float, n_perm: int, m: int, alpha: float = ALPHA) -> str:
    """Chapter 7's exercise: a randomisation p against its floor and the Bonferroni threshold."""
    floor, bonf = 1 / (n_perm + 1), alpha / m
    return (f"the smallest attainable p is 1/{n_perm + 1} = {floor:.4f}, and the size gap's p is {p:.4f}; the "
            f"Bonferroni threshold for the chapter's {m} tests is {bonf:.4f}, so the gap "
            + ("can" if floor <= bonf else "cannot") + " pass it with this many permutations"
            + ("" if floor <= bonf else f", whatever the data (that needs B ≥ {min_permutations(m, alpha)})")
            + ("" if floor > bonf else f", and {'does' if p <= bonf else 'does not'}"))


def size_mix_text(groups_panel: pd.DataFrame, region: str = "region", entity: str = "city_code") -> str:
    """Chapter 7's caveat: the share of large cities in each region (the splits overlap)."""
    c = groups_panel.drop_duplicates(entity).dropna(subset=["size"])
    share = c.groupby(region)["size"].apply(lambda s: float((s == "large").mean()))
    return _and([f"{_pc(v)} of the {k} cities" for k, v in share.items()])


def cutoff_text(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """Chapter 7's exercise: the size groups (:func:`replication.report.tables.subgroup_table`)
    at two cutoffs: cities, estimates, interval widths and (default data) the true effects."""
    out = []
    for g in ("large", "small_medium"):
        b, a = (t[(t["split"] == "size") & (t["group"] == g)].iloc[0] for t in (before, after))
        text = (f"{label(g)}: {int(b['cities'])} → {int(a['cities'])} cities ({int(a['treated cities'])} treated), "
                f"estimate {b['coef']:.3f} → {a['coef']:.3f}, interval width {b['ci_upper'] - b['ci_lower']:.3f} → "
                f"{a['ci_upper'] - a['ci_lower']:.3f}")
        if "truth" in before and pd.notna(b["truth"]):
            text += f", true effect {b['truth']:.3f} → {a['truth']:.3f}"
        out.append(text)
    return "; ".join(out)
