"""Sentences the chapters glue into their text, computed from the results (so that the
notebooks only call, export, show and glue)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0] if items else ""


def _num(x: float, fmt: str = ".2f") -> str:
    """A number as printed, never ``-0.00``."""
    s = f"{x:{fmt}}"
    return s[1:] if s.startswith("-") and not any(ch in "123456789" for ch in s) else s


def as_words(label: str) -> str:
    """A label inside a sentence: ``"GDP per capita"`` stays, ``"College students"`` -> ``"college students"``."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def index_verdict(sens: pd.DataFrame, base: str = "entropy") -> str:
    """Chapter 2: do the DID estimates on the five indices (:func:`replication.report.tables.did_by_index`)
    agree in sign, significance at 5 % and size?  The size survives when every effect in SD of its
    index lies inside the 95 % interval of the ``base`` index's effect, in SD of that index."""
    from replication.report.style import label

    n, n_sig = len(sens), int((sens["p"] < 0.05).sum())
    same_sign = bool((sens["coef"] > 0).all() or (sens["coef"] < 0).all())
    sig = ("significant at 5 % for every index" if n_sig == n else
           "significant at 5 % for none of them" if n_sig == 0 else f"significant at 5 % for {n_sig} of {n}")
    sd, b = sens["effect in SD of the index"], sens.set_index("index").loc[base]
    lo, hi = sorted(b[["ci_lower", "ci_upper"]] * b["effect in SD of the index"] / b["coef"])
    out = [label(i) for i, v in zip(sens["index"], sd) if not lo <= v <= hi]
    ok = {"sign": same_sign, "significance": n_sig in (0, n), "size": not out}
    kept, lost = [k for k, v in ok.items() if v], [k for k, v in ok.items() if not v]
    verdict = ("sign, significance and size all survive the choice of aggregation" if not lost else
               f"the {_and(lost)} do{'es' * (len(lost) == 1)} not survive the choice of aggregation"
               + (f" (the {_and(kept)} do{'es' * (len(kept) == 1)})" if kept else ""))
    return (f"the estimates have {'the same sign' if same_sign else 'different signs'} and are {sig}; in standard "
            f"deviations of each index they range from {_num(sd.min())} to {_num(sd.max())}, "
            f"{_and(out) + ' outside' if out else 'every one inside'} the 95 % interval of the {label(base)} index's "
            f"effect ({_num(lo)} to {_num(hi)} SD): {verdict}")


def top_weights(weights: pd.Series, k: int = 3) -> str:
    """Chapter 2: the ``k`` largest weights (label -> weight), ``"a (0.202), b (0.191) and c (0.164)"``."""
    return _and([f"{name} ({w:.3f})" for name, w in weights.sort_values(ascending=False).head(k).items()])


def sum_text(total: float) -> str:
    """A sum of weights as printed and whether it is 1 at three decimals: ``"0.992, not 1"``."""
    return f"{total:.3f}" + ("" if round(total, 3) == 1 else ", not 1")


def change_text(before: float, after: float, fmt: str = ".3f", unit: str = "") -> str:
    """A number under two settings: ``"0.123 → 0.114 (down)"``, ``"0.123 in both"`` if equal as printed."""
    a, b = _num(before, fmt) + unit, _num(after, fmt) + unit
    return f"{a} in both" if a == b else f"{a} → {b} ({'up' if after > before else 'down'})"


def trend_text(means: pd.Series, fmt: str = ".2f") -> str:
    """A yearly series from its first to its last year: ``"rises from 0.68 in 2009 to 1.63 in 2022"``."""
    a, b = float(f"{means.iloc[0]:{fmt}}"), float(f"{means.iloc[-1]:{fmt}}")
    return (f"{'rises' if b > a else 'falls' if b < a else 'stays'} from {means.iloc[0]:{fmt}} in {means.index[0]} "
            f"to {means.iloc[-1]:{fmt}} in {means.index[-1]}")


def _covered(r, value: float, term: str) -> bool:
    lo, hi = r.conf_int().loc[term, ["lower", "upper"]]
    return bool(lo <= value <= hi)


def covering_columns(results: dict, truth, term: str = "did") -> str:
    """Chapters 3-4: the columns whose 95 % interval covers ``truth`` (one value, or column -> value;
    columns without one are skipped): ``"(2) and (5) (2 of 5)"``."""
    values = truth if isinstance(truth, dict) else dict.fromkeys(results, truth)
    cols = [c for c in results if c in values]
    covering = [c for c in cols if _covered(results[c], values[c], term)]
    return (_and(covering) if covering else "no column") + f" ({len(covering)} of {len(cols)})"


def missing_columns(results: dict, truth: float, term: str = "did") -> str:
    """Chapter 3: the columns whose 95 % interval misses ``truth``, each estimate as a multiple of it."""
    miss = [(c, float(r.params[term])) for c, r in results.items() if not _covered(r, truth, term)]
    if not miss:
        return "no column misses it"
    size = (_and([f"{b / truth:.1f}" for _, b in miss]) + " times the truth" if truth
            else _and([f"{b:+.3f}" for _, b in miss]))
    return f"{_and([c for c, _ in miss])} miss{'es' * (len(miss) == 1)} it, with estimate{'s' * (len(miss) > 1)} {size}"


def placebo_size(pl) -> tuple[str, str]:
    """Chapter 3: the share of placebo draws with p < 0.1, and whether it is within two binomial
    standard errors of the nominal 10 % (i.e. whether the clustered t-test has the right size)."""
    share = float((pl.draws["p_value"] < 0.1).mean())
    band = 2 * (0.1 * 0.9 / pl.n_draws) ** 0.5
    if abs(share - 0.1) <= band:
        verdict = ("within two binomial standard errors of the nominal 10 %, so the clustered t-test has about "
                   "the right size here")
    else:
        verdict = (f"{'above' if share > 0.1 else 'below'} the nominal 10 % by more than two binomial standard "
                   f"errors (± {band:.1%}), so the clustered t-test {'over' if share > 0.1 else 'under'}-rejects here")
    return f"{share:.1%}", verdict


def pvalue_text(test, n_draws: int | None = None) -> str:
    """A resampling p-value as text: ``0.012``, or ``< 0.005`` when no draw was as extreme."""
    n = n_draws or test.n_draws
    return f"{test.pvalue:.3f}" if test.pvalue > 0 else f"< {1 / n:.3f}"


# --- chapters 3-5: verdict phrases (significance, intervals, resampling floors) ---

def p_text(p: float) -> str:
    """``"p = 0.012"``, or ``"p < 0.001"``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def estimate_text(r, term: str = "did", fmt: str = ".3f") -> str:
    """A coefficient with its p-value and verdict: ``"-0.004 (p = 0.820, not significant at 5 %)"``."""
    p = float(r.pvalues[term])
    return f"{float(r.params[term]):{fmt}} ({p_text(p)}, {'' if p < 0.05 else 'not '}significant at 5 %)"


def covers(lo: float, hi: float, value: float) -> str:
    """``"covers"`` or ``"does not cover"``: whether [lo, hi] holds ``value``."""
    return "covers" if lo <= value <= hi else "does not cover"


def inside_text(value: float, lo: float, hi: float) -> str:
    """Where ``value`` lies against an interval: ``"inside"``, ``"above"`` or ``"below"``."""
    return "inside" if lo <= value <= hi else "above" if value > hi else "below"


def ri_floor(pl) -> str:
    """Chapter 3: a randomisation p-value against its floor 1/(B + 1): how many placebo
    estimates were at least as far from zero as the real one."""
    B, k = pl.n_draws, int((pl.draws["estimate"].abs() >= abs(pl.statistic)).sum())
    head = f"with {B} draws the smallest attainable p-value is 1/({B} + 1) = {1 / (B + 1):.3f}; "
    if k:
        return head + f"{k} of the {B} placebo estimates were at least as far from zero as the real one"
    return head + (f"no placebo estimate was as far from zero as the real one, so the p-value sits at that floor and "
                   f"says only that p ≤ {1 / (B + 1):.3f}: more draws could give a smaller one")


def controls_moved(fits: dict, level: float = 0.05) -> str:
    """Chapter 3: the controls on which the pilot's own TWFE effect is significant (control -> fit)."""
    from replication.data.schema import BY_NAME

    moved = [f"{as_words(BY_NAME[c].label) if c in BY_NAME else c} ({p_text(float(r.pvalues['did']))})"
             for c, r in fits.items() if r.pvalues["did"] < level]
    return f"{_and(moved)} ({len(moved)} of the {len(fits)} controls)" if moved else f"none of the {len(fits)} controls"


def gap_change(before: tuple, after: tuple) -> str:
    """An estimate's distance from the truth under two settings, ``(estimate, truth)`` each."""
    g0, g1 = before[0] - before[1], after[0] - after[1]
    way = "shrinks" if abs(g1) < abs(g0) else "grows" if abs(g1) > abs(g0) else "stays the same"
    return (f"{way} from {g0:+.3f} ({before[0]:.3f} against {before[1]:.3f}) to {g1:+.3f} "
            f"({after[0]:.3f} against {after[1]:.3f})")


def columns_moved(before: dict, after: dict, term: str = "did") -> str:
    """Each column's estimate under two settings, and the column that moves most."""
    moves = {c: float(after[c].params[term] - before[c].params[term]) for c in before}
    big = max(moves, key=lambda c: abs(moves[c]))
    return ("; ".join(f"{c} {float(before[c].params[term]):.3f} → {float(after[c].params[term]):.3f}" for c in before)
            + f". Column {big} moves most ({moves[big]:+.3f})")


def placebo_rejects(pl, level: float = 0.05) -> str:
    """Whether a randomisation test rejects the null of no effect at ``level``."""
    return (f"{'rejects' if pl.pvalue <= level else 'does not reject'} the null of no effect at {level * 100:g} % "
            f"(randomisation p = {pl.pvalue:.3f} with {pl.n_draws} draws)")


def robustness_verdict(rows: pd.DataFrame, level: float = 0.05) -> str:
    """Chapter 4: the specification curve (:func:`replication.report.tables.specification_rows`)
    in one phrase: signs, significance, range, and whether sign and significance survive."""
    n, pos, sig = len(rows), int((rows["coef"] > 0).sum()), int((rows["p"] < level).sum())
    head = (f"the {n} estimates are all {'positive' if pos else 'negative'}" if pos in (0, n) else
            f"{pos} of the {n} estimates {'is' if pos == 1 else 'are'} positive")
    s = f"{'all' if sig == n else 'none' if sig == 0 else f'{sig} of {n}'} significant at {level * 100:g} %"
    return (f"{head}, {s}, between {_num(rows['coef'].min(), '.3f')} and {_num(rows['coef'].max(), '.3f')}: "
            f"sign and significance {'' if pos in (0, n) and sig in (0, n) else 'do not '}survive every variant")


def rows_covering(rows: pd.DataFrame, truth: float, name: str = "label") -> str:
    """How many rows' 95 % intervals (``ci_lower``, ``ci_upper``) cover ``truth`` (a value, or the
    name of a column of values), naming the rows (column ``name``) that miss it."""
    t = rows[truth] if isinstance(truth, str) else truth
    cov = (rows["ci_lower"] <= t) & (t <= rows["ci_upper"])
    miss = rows.loc[~cov, name].astype(str).tolist()
    return f"{int(cov.sum())} of {len(rows)}" + (f" (not: {_and(miss)})" if miss else "")


def bias_claim(max_bias: float) -> str:
    """Chapter 4: the largest |% bias| after matching against the bound the paper states."""
    from replication.report import paper

    bound = float(re.search(r"[\d.]+", str(paper.text()["psm_bias_after"]))[0])
    return (f"within the {bound:g} % the paper reports" if abs(max_bias) <= bound else
            f"above the {bound:g} % within which the paper says matching brought every covariate")


def bootstrap_floor(test) -> str:
    """Chapter 4: how many of the B bootstrap statistics were more extreme than ours, and the resolution 1/B."""
    B, k = test.n_draws, int((np.abs(test.null_distribution) > abs(test.statistic)).sum())
    return f"{k} of the {B} bootstrap t statistics were more extreme than ours" + (
        "" if k else f", so p < 1/{B} ≈ {1 / B:.4f}: more draws would be needed to say how small it is")


def toward_truth(before: float, after: float, truth: float) -> str:
    """Whether an estimate moves towards or away from the truth between two settings."""
    d0, d1 = abs(before - truth), abs(after - truth)
    way = "towards" if d1 < d0 else "away from" if d1 > d0 else "neither towards nor away from"
    return f"{way} the truth: its distance from {truth:.3f} goes from {d0:.3f} to {d1:.3f}"


def identical_pairs(table: pd.DataFrame, pairs=(("(2)", "(4)"), ("(3)", "(5)"))) -> str:
    """Chapter 5: the pairs of columns of a regression table that print the same cells (in any row)."""
    same = {f"{a} and {b}": sorted(v for v in table[a] if v) == sorted(v for v in table[b] if v) for a, b in pairs}
    part = [(", and ".join(k for k, v in same.items() if v == flag), flag) for flag in (True, False)]
    return "; ".join(f"columns {ks}{',' * (', and' in ks)} {'are identical to the last digit' if flag else 'differ'}"
                     for ks, flag in part if ks)


def mediation_verdict(r, level: float = 0.05) -> str:
    """Chapter 5: the three steps (c, a, b significant at ``level``) and the Sobel and bootstrap
    tests of the indirect effect a x b, for one mediator."""
    p, boot = r.pvalues, r.bootstrap
    failed = [str(i) for i, k in enumerate(("c", "a", "b"), 1) if p[k] >= level]
    tests = {"Sobel": r.sobel.pvalue < level}
    if boot is not None:
        lo, hi = boot.conf_int().iloc[0]
        tests["bootstrap"] = not lo <= 0 <= hi
    found, miss = [k for k, v in tests.items() if v], [k for k, v in tests.items() if not v]
    steps = ("all three steps pass" if not failed else f"step{'s' * (len(failed) > 1)} {_and(failed)} "
             f"fail{'s' * (len(failed) == 1)}")
    return (f"c = {r.c:.4g} ({p_text(p['c'])}), a = {r.a:.4g} ({p_text(p['a'])}), b = {r.b:.4g} ({p_text(p['b'])}); "
            f"the Sobel test gives {p_text(r.sobel.pvalue)}"
            + (f" and the bootstrap 95 % interval of a × b is [{lo:.4g}, {hi:.4g}]" if boot is not None else "")
            + f": {steps} at {level * 100:g} %, and "
            + ("no test finds an indirect effect" if not found else
               f"the {_and(found)} test{'s' * (len(found) > 1)} find{'s' * (len(found) == 1)} an indirect effect"
               + (f", the {miss[0]} test does not" if miss else "")))


def mediator_precision(fits: dict) -> str:
    """Chapter 5: the t values and R² of the mediator regressions (Table 4 (2) and (4)) beside the paper's."""
    from replication.report import paper

    t_p = paper.value(4, "did", "(2)", "paren")
    t = [float(fits[c].tstats["did"]) for c in ("(2)", "(4)")]
    return (f"t = {t[0]:.1f} in column (2) and {t[1]:.1f} in column (4), {t[0] / t_p:.0f} and {t[1] / t_p:.0f} times "
            f"the paper's {t_p:.3f}, with R² = {fits['(2)'].r2:.3f} and {fits['(4)'].r2:.3f} (the paper's: "
            f"{paper.value(4, 'R2', '(2)'):.3f} and {paper.value(4, 'R2', '(4)'):.3f})")


def scorecard_counts(card: pd.DataFrame) -> dict[str, str]:
    """Chapter 9: the scorecard's counts as text (rows, computed, within tolerance, same sign,
    same significance, share of intervals covering the truth)."""
    cov = card["CI covers truth"].dropna()
    sgn, sig = card["same sign"].dropna(), card["same significance"].dropna()
    return {"n_numbers": f"{len(card)}", "n_computed": f"{int(card['ours'].notna().sum())}",
            "n_within": f"{int(card['within tolerance'].fillna(False).sum())}",
            "sign_txt": f"{int(sgn.sum())} of {len(sgn)}", "sig_txt": f"{int(sig.sum())} of {len(sig)}",
            "cover_share": f"{cov.mean():.0%} of {len(cov)}" if len(cov) else "no"}
