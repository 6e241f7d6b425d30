"""Chapter 6's tables: Tables 5 and 6 in the paper's layout, the threshold estimates with
their confidence sets, and the check against Hansen's (1999) own numbers on his data."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators.threshold import HANSEN_1999_REPORTED
from replication.report import paper, style
from replication.report.tables import cell


# the columns of Table 5 the chapter shows (the CSV has them all: bootstrap draws, RSS, MSE)
TABLE5_SHOWN = ["test", "paper F", "F", "paper p", "p_value", "crit_10", "crit_5", "crit_1", "estimates"]
TABLE5_LABELS = {"F": "our F", "p_value": "our p", "estimates": "threshold estimates"}
# the columns of a threshold test table (``test_table()``) the chapters show
TESTS_SHOWN = ["thresholds", "F", "pvalue", "crit_10", "crit_5", "crit_1", "estimates"]


def table5(result) -> pd.DataFrame:
    """Table 5 layout: per number of thresholds the paper's F beside ours, the paper's
    bootstrap p beside ours, our critical values and threshold estimates, then the number
    of bootstrap draws, RSS and MSE."""

    rep = paper.table5().set_index("thresholds")
    names = {1: "single", 2: "double", 3: "triple"}
    out = result.test_table().rename(columns={"pvalue": "p_value", "n_draws": "n_boot"})
    out.insert(0, "test", out["thresholds"].map(lambda k: f"{names[k]} threshold"))
    out["paper F"] = out["thresholds"].map(lambda k: rep.loc[names[k], "F"])
    out["paper p"] = out["thresholds"].map(lambda k: rep.loc[names[k], "p"])
    return out[[*TABLE5_SHOWN, "n_boot", "RSS", "MSE"]]


def table6(result, k: int = 2, truth: dict | None = None) -> pd.DataFrame:
    """Table 6 layout: the regime slopes of ``regime_x`` with t values, the paper's cells,
    and (on the default data) the true average effect in each regime."""

    m = result.model(k)
    ci = m.conf_int()
    edges = ["-inf", *[f"{v:.4f}" for v in m.thresholds], "inf"]
    rep = paper.table(6).set_index("row")["printed"]
    x = result.spec["regime_x"]
    rows = []
    for j in range(k + 1):
        term = f"{x}_regime_{j + 1}"
        rows.append({"regime": f"{edges[j]} < q <= {edges[j + 1]}" if j < k else f"q > {edges[j]}",
                     "ours": cell(m.params[term], m.tstats[term], m.pvalues[term]),
                     "ours 95% CI": f"[{ci.loc[term, 'lower']:.3f}, {ci.loc[term, 'upper']:.3f}]",
                     "paper": rep.get(f"regime_{j + 1}", ""),
                     "truth": (truth or {}).get(f"att_regime_{j}", np.nan)})
    rows.append({"regime": "_cons", "ours": cell(m.params["_cons"], m.tstats["_cons"], m.pvalues["_cons"]),
                 "ours 95% CI": "", "paper": rep.get("_cons", ""), "truth": np.nan})
    return pd.DataFrame(rows)


def threshold_estimates(result, truth: dict | None = None) -> pd.DataFrame:
    """The threshold estimates with their 95 % LR confidence sets (and, on the default
    data, the true thresholds)."""
    out = result.thresholds.copy()
    if truth is not None:
        out["truth"] = out["name"].map({"Th-1": truth["threshold_1"], "Th-21": truth["threshold_1"],
                                        "Th-22": truth["threshold_2"]})
    return out


def hansen_comparison(example: dict) -> pd.DataFrame:
    """Hansen's (1999) reported numbers beside ours on his data
    (:func:`replication.report.specs.hansen_example`): the xthreg help example, Hansen's own
    program, and every observed value as a candidate with the first period dropped."""
    rep = HANSEN_1999_REPORTED
    cols = {"ours, xthreg example (grid 400)": example["xthreg"],
            "ours, Hansen's program (grid 400)": example["hansen_program"],
            "ours, every value, first period dropped": example["hansen"]}
    rows = [("single threshold", rep["single_threshold"], lambda r: r.estimates(1)[0]),
            ("F1", rep["F1"], lambda r: r.tests[1].statistic),
            ("double: first threshold", rep["double_thresholds"][0], lambda r: r.estimates(2)[0]),
            ("double: second threshold", rep["double_thresholds"][1], lambda r: r.estimates(2)[1])]
    return pd.DataFrame([{"quantity": name, "Hansen (1999)": value, **{c: f(r) for c, r in cols.items()}}
                         for name, value, f in rows])


def _p_text(test) -> str:
    """"= 0.340" or "< 0.020": a bootstrap p-value with its floor (one over the draws)."""
    shown = style.bootstrap_p(test.n_draws)(test.pvalue) if test.n_draws else style.fmt_p(test.pvalue)
    return f"< {shown[1:]}" if shown.startswith("<") else f"= {shown}"


def sequential_reading(result, alpha: float = 0.05) -> str:
    """The tests read sequentially (stop at the first that does not reject at ``alpha``):
    how many thresholds the bootstrap supports, in a sentence."""
    names = {1: "single", 2: "double", 3: "triple"}
    k_sig = 0
    for k, t in sorted(result.tests.items()):
        if not t.pvalue < alpha:
            break
        k_sig = k
    ps = ", ".join(f"{names[k]} p {_p_text(t)}" for k, t in sorted(result.tests.items()))
    return (f"Read sequentially at {alpha:.0%} ({ps}), the bootstrap tests support "
            + ("no threshold" if k_sig == 0 else f"{k_sig} threshold{'s' if k_sig > 1 else ''}")
            + ("; the two-threshold model below is shown for comparison with the paper, not because this panel "
               "supports it" if k_sig < 2 else "") + ".")


def balance_note(info: dict, rule: str, subject: str = "Hansen's estimator", examples: int = 5) -> str:
    """What balancing the panel dropped (``info`` from
    :func:`replication.estimators.within.balance_panel`), in a sentence."""
    dropped = info["rows_before"] - info["rows_after"]
    if dropped == 0:
        return f"The panel is balanced, so {subject} uses every city-year."
    cities = info["cities_dropped"]
    what = (f"{len(cities)} cities that are not present in every year"
            + (f" (e.g. {', '.join(str(c) for c in cities[:examples])})" if examples else "") if cities else
            f"the years {', '.join(str(y) for y in info['years_dropped'])}")
    return (f"{subject[0].upper()}{subject[1:]} needs a balanced panel: with balance = {rule} it drops {what}, "
            f"{dropped} of {info['rows_before']} city-years, and uses {info['rows_after']}.")
