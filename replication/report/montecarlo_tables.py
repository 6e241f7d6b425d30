"""Chapter 10's tables and sentences: the Monte Carlo study's summary as the book shows it,
the placebo-pilot power of the column-(5) t-test on the chapter's own panel, and the
verdicts (covers / over- or under-covers, detects / misses) built from the numbers.

Every number a sentence quotes comes with its Monte Carlo standard error (MC SE): a share p
estimated from R replications or draws has MC SE sqrt(p (1 - p) / R), a mean has SD / sqrt(R).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.estimators import distributions as dist

#: How the chapter names the study's estimators.
LABELS = {"twfe_controls": "TWFE, Table 2 (5)", "twfe_nocontrols": "TWFE without controls",
          "sun_abraham": "Sun-Abraham", "imputation": "Imputation (BJS)", "cs_or": "Callaway-Sant'Anna (no covariates)",
          "cs_or_controls": "Callaway-Sant'Anna (controls)", "psm_did": "PSM-DID, Table 3 (3b)",
          "mediation": "Mediation", "subgroups": "Subgroups", "threshold": "Threshold",
          "threshold_F": "Threshold bootstrap F", "placebo_ri": "Placebo randomisation test",
          "pretrend_wald": "Pre-trend Wald test", "panel_validation": "Panel validation"}


def label(estimator: str) -> str:
    return LABELS.get(estimator, estimator)


def pm(value: float, mcse: float, digits: int = 3) -> str:
    """``0.951 ± 0.010`` (a Monte Carlo estimate and its MC SE)."""
    if not np.isfinite(value):
        return ""
    return f"{value:.{digits}f} ± {mcse:.{digits}f}" if np.isfinite(mcse) else f"{value:.{digits}f}"


def share(p: float, n: int, digits: int = 3) -> str:
    """A Monte Carlo share with its MC SE, ``0.833 ± 0.152``; at 0 or 1, where the binomial MC SE
    vanishes, the count instead (``6 of 6``)."""
    if not np.isfinite(p) or not n:
        return ""
    k = int(round(p * n))
    if k in (0, n):
        return f"{k} of {n}"
    return f"{p:.{digits}f} ± {np.sqrt(p * (1 - p) / n):.{digits}f}"


def summary_table(summary: pd.DataFrame, estimand: str = "att") -> pd.DataFrame:
    """The estimators' rows for ``estimand`` as the chapter shows them: estimator, target,
    bias ± MC SE, SD of the estimates, mean SE, coverage ± MC SE, rejection rate ± MC SE, each
    "value ± MC SE" on one line.  The replications and the mean true value are shown only when
    they differ between the rows (an estimator failed in some replications); otherwise the
    chapter's text states them once.  So the table fits the page; every column, the RMSE
    included, is in the chapter's CSV (``montecarlo_summary``)."""
    s = summary[(summary["estimand"] == estimand) & (summary["target"] != "none")]
    keep = lambda text: text.replace(" ± ", "\u00a0±\u00a0")  # noqa: E731 (no line break inside)
    out = pd.DataFrame({
        "estimator": s["estimator"].map(label), "target": s["target"], "replications": s["reps"].astype(int),
        "truth_mean": s["truth_mean"], "bias ± MC SE": [keep(pm(b, m, 4)) for b, m in zip(s["bias"], s["mcse_bias"])],
        "SD of estimates": s["sd_estimate"], "mean SE": s["mean_se"],
        "coverage ± MC SE": [keep(share(c, n)) for c, n in zip(s["coverage"], s["reps"])],
        "rejects 0 ± MC SE": [keep(share(r, n)) for r, n in zip(s["rejection_rate"], s["reps"])],
    }).reset_index(drop=True)
    if out["replications"].nunique() <= 1 and out["truth_mean"].round(10).nunique() <= 1:
        out = out.drop(columns=["replications", "truth_mean"])
    return out


def tests_table(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`replication.montecarlo.power.rejection_rates` as shown: test, rejection rate ± MC SE, replications."""
    return pd.DataFrame({"test": rates["test"],
                         "rejection rate ± MC SE": [share(r, n) for r, n in zip(rates["rejection_rate"],
                                                                                 rates["reps"])],
                         "replications": rates["reps"].astype(int)})


def coverage_verdict(coverage: float, reps: int, level: float = 0.95) -> str:
    """Whether an observed coverage is within 3 Monte Carlo standard errors of ``level``
    (the MC SE of a coverage of exactly ``level`` from ``reps`` replications)."""
    band = 3 * np.sqrt(level * (1 - level) / reps)
    if abs(coverage - level) <= band:
        return f"within three Monte Carlo standard errors (± {band:.3f}) of the nominal {level:.0%}"
    side = "above" if coverage > level else "below"
    return (f"{side} the nominal {level:.0%} by more than three Monte Carlo standard errors (± {band:.3f}): "
            f"the intervals {'over' if side == 'above' else 'under'}-cover")


def size_verdict(rate: float, reps: int, alpha: float = 0.05) -> str:
    """Whether a rejection rate under the null is within 3 MC SE of the nominal ``alpha``."""
    band = 3 * np.sqrt(alpha * (1 - alpha) / reps)
    if abs(rate - alpha) <= band:
        return f"within three Monte Carlo standard errors (± {band:.3f}) of the nominal {alpha:.0%}"
    return (f"{'above' if rate > alpha else 'below'} the nominal {alpha:.0%} by more than three Monte Carlo "
            f"standard errors (± {band:.3f})")


def placebo_power(placebo, deltas, *, alpha: float = 0.05) -> pd.DataFrame:
    """Power of column (5)'s clustered t-test on the placebo test's panel, by effect size.

    Each placebo draw reassigns the pilots at random; adding an effect ``delta`` to the
    placebo-treated city-years moves that draw's estimate by exactly ``delta`` and leaves its
    residuals and clustered SE unchanged (the placebo dummy is a regressor), so the t-test of
    the draw rejects at ``delta`` iff ``|b + delta| / se`` exceeds the t(G-1) critical value.
    The share of rejecting draws is the power (at ``delta = 0``: the size) for a homogeneous
    effect of that size, with MC SE sqrt(p (1 - p) / draws)."""
    d = placebo.draws.dropna(subset=["estimate", "std_error"])
    crit = dist.t(placebo.fit.df_resid).ppf(1 - alpha / 2)
    b, se = d["estimate"].to_numpy(float), d["std_error"].to_numpy(float)
    rows = []
    for delta in deltas:
        p = float(np.mean(np.abs(b + delta) / se > crit))
        rows.append({"effect": float(delta), "power": p, "mcse": float(np.sqrt(p * (1 - p) / len(d))),
                     "draws": len(d)})
    return pd.DataFrame(rows)


def detectable_effect(power: pd.DataFrame, target: float = 0.8) -> float | None:
    """The smallest positive effect on the grid whose power reaches ``target`` (None if none does)."""
    hit = power[(power["effect"] > 0) & (power["power"] >= target)]
    return float(hit["effect"].min()) if len(hit) else None


def power_at(power: pd.DataFrame, effect: float) -> tuple[float, int]:
    """(power, number of draws) at the grid point nearest ``effect`` (for :func:`share`)."""
    i = int((power["effect"] - effect).abs().idxmin())
    return float(power.loc[i, "power"]), int(power.loc[i, "draws"])


def shifted_power(null_rows: pd.DataFrame, deltas, *, df: int, alpha: float = 0.05) -> pd.DataFrame:
    """Power of column (5)'s t-test by effect size from replications under the null: adding a
    homogeneous effect ``delta`` to every treated city-year moves column (5)'s estimate by
    exactly ``delta`` and leaves its SE unchanged (``did`` is a regressor), so each null
    replication answers for every ``delta`` at once."""
    r = null_rows[(null_rows["estimator"] == "twfe_controls") & (null_rows["estimand"] == "att")]
    b, se = r["estimate"].to_numpy(float), r["se"].to_numpy(float)
    crit = dist.t(df).ppf(1 - alpha / 2)
    out = []
    for delta in deltas:
        p = float(np.mean(np.abs(b + delta) / se > crit))
        out.append({"effect": float(delta), "power": p, "mcse": float(np.sqrt(p * (1 - p) / len(r))), "draws": len(r)})
    return pd.DataFrame(out)


def placebo_outcome(panel: pd.DataFrame, fit, y: str = "nqp", treat: str = "did") -> pd.DataFrame:
    """The panel with column (5)'s estimated effect removed from the outcome (``y - b * treat``),
    so that placebo pilots are compared on outcomes without the real pilots' average effect."""
    return panel.assign(**{y: panel[y] - float(fit.params[treat]) * panel[treat]})


def detectable_text(power: pd.DataFrame, target: float = 0.8) -> str:
    """The smallest effect on the grid with ``target`` power, as text (or that none on the grid has it)."""
    mde = detectable_effect(power, target)
    if mde is None:
        return f"no effect up to {power['effect'].max():.3f} index points (the largest on the grid)"
    return f"{mde:.3f} index points"


def null_explanation(rate: float, reps: int, selection_strength: float, alpha: float = 0.05) -> str:
    """Why column (5)'s t-test rejects too often under the simulator's null (empty when it does not)."""
    if rate - alpha <= 3 * np.sqrt(alpha * (1 - alpha) / reps):
        return ""
    if selection_strength == 0:
        return ("With the pilots assigned at random, these rejections find no effect (there is none): the "
                "clustered standard errors understate the spread of the estimate here.")
    return ("These rejections find no effect (there is none): the simulator selects the pilots on observables "
            "that also drive the index's growth, and the five linear controls do not absorb all of that "
            "difference in trends, so column (5) picks it up as if it were an effect.")


def se_ratio_text(row: pd.Series) -> str:
    """``mean SE / SD of (estimate - realised truth)`` of a summary row, as text ("2.4 times")."""
    return f"{row['mean_se'] / row['sd_error']:.1f} times"


def se_spread_text(row: pd.Series) -> str:
    """Why a clustered SE and the spread of the estimate around the realised ATT differ."""
    if row["mean_se"] > row["sd_error"]:
        return ("the estimate follows the realised ATT of its own panel closely, whereas a clustered standard error "
                "also counts how the ATT itself varies with the cities' effects and with which cities are drawn, so "
                "against the realised ATT the intervals are wide by construction")
    return "the clustered standard error falls short of the spread of the estimate around the realised ATT"


def exaggeration(placebo, delta: float, *, alpha: float = 0.05) -> float:
    """Among the placebo draws whose t-test rejects at ``delta``, the mean estimate over ``delta``:
    how much a significant estimate overstates an effect of that size (NaN if none rejects)."""
    d = placebo.draws.dropna(subset=["estimate", "std_error"])
    crit = dist.t(placebo.fit.df_resid).ppf(1 - alpha / 2)
    est = d["estimate"].to_numpy(float) + delta
    sig = np.abs(est) / d["std_error"].to_numpy(float) > crit
    return float(np.mean(est[sig]) / delta) if sig.any() and delta > 0 else np.nan


def exaggeration_text(ratio: float) -> str:
    """The exaggeration ratio as a clause."""
    if not np.isfinite(ratio):
        return "no placebo draw finds it, so there is no significant estimate to compare"
    if ratio > 1.05:
        return (f"the significant draws overstate it by a factor of {ratio:.2f} on average: only the draws that "
                "happen to come out large pass the test, so a significant estimate from a design of this power is "
                "an upper estimate of the effect")
    return (f"the significant draws are {ratio:.2f} times the effect on average: at this power nearly every draw "
            "passes the test, so passing it does not inflate the estimate")


def spread_verdict(sd_fixed: float, sd_redrawn: float) -> str:
    """Chapter 10's design exercise: does the realised ATT vary more when the design is redrawn?"""
    if sd_redrawn > 1.5 * sd_fixed:
        return ("the ATT varies more when the pilots are drawn anew: which cities become pilots moves it too, "
                "on top of the cities' redrawn effects")
    return "with this few replications the two spreads cannot be told apart"


def bias_change_text(bias: float, mcse: float, base: float, base_mcse: float) -> str:
    """Chapter 10's pre-trend exercise: has column (5)'s bias grown beyond Monte Carlo error?"""
    if bias - base > 2 * np.hypot(mcse, base_mcse):
        return "the pre-trend continues after adoption and column (5) reads it as effect"
    return "with this few replications the change in bias cannot be told from Monte Carlo error"


#: The chapter's first table: the linear DID estimators of the overall ATT.
LINEAR_ATT = ("twfe_controls", "twfe_nocontrols", "sun_abraham", "imputation", "cs_or")


def estimand_label(estimator: str, estimand: str) -> str:
    """``a_hc`` -> ``path a (hc)``, ``att_size_small_medium`` -> ``size: small & medium``,
    ``threshold_1`` -> ``γ₁ (lower)``, an overall ``att`` -> ``ATT``."""
    if estimator == "mediation":
        kind, med = estimand.split("_", 1)
        return f"{'path a' if kind == 'a' else 'indirect a·b'} ({med})"
    if estimator == "subgroups":
        _, by, group = estimand.split("_", 2)
        return f"{by}: {group.replace('_', ' & ')}"
    if estimator == "threshold":
        return {"threshold_1": "γ₁ (lower)", "threshold_2": "γ₂ (upper)"}.get(estimand, estimand)
    return "ATT" if estimand == "att" else estimand


def _other_rows(summary: pd.DataFrame, skip=LINEAR_ATT) -> pd.DataFrame:
    """Every estimand of the estimators not in ``skip`` against its own truth: the realised
    one (it varies by replication) or the planted one (a DGP constant)."""
    s = summary[summary["target"].isin(["realised", "planted"]) & ~summary["estimator"].isin(skip)]
    return s.reset_index(drop=True)


def others_table(summary: pd.DataFrame, skip=LINEAR_ATT) -> pd.DataFrame:
    """The other estimators' estimands (PSM-DID, Callaway-Sant'Anna with controls, the mediation
    paths, the subgroup effects, the thresholds) as the chapter shows them: truth (mean), bias
    ± MC SE, mean SE, coverage ± MC SE of the 95 % interval (for a threshold: its
    likelihood-ratio set) against the truth of each replication."""
    s = _other_rows(summary, skip)
    keep = lambda text: text.replace(" ± ", "\u00a0±\u00a0")  # noqa: E731 (no line break inside)
    return pd.DataFrame({
        "estimator": s["estimator"].map(label),
        "estimand": [estimand_label(e, m) for e, m in zip(s["estimator"], s["estimand"])],
        "truth": s["target"], "true value (mean)": s["truth_mean"],
        "bias ± MC SE": [keep(pm(b, m, 4)) for b, m in zip(s["bias"], s["mcse_bias"])],
        "mean SE": s["mean_se"], "coverage ± MC SE": [keep(share(c, n)) for c, n in zip(s["coverage"], s["reps"])],
    })


def coverage_overview(summary: pd.DataFrame, skip=LINEAR_ATT, level: float = 0.95) -> str:
    """How many of the other estimands' intervals cover their truth at a rate within three
    Monte Carlo standard errors of ``level``, and which cover it less or more often."""
    s = _other_rows(summary, skip)
    s = s[np.isfinite(s["coverage"].to_numpy(float))]
    if s.empty:
        return "no other estimand has an interval to check"
    groups: dict[str, list[str]] = {"within": [], "below": [], "above": []}
    for r in s.itertuples(index=False):
        band = 3 * np.sqrt(level * (1 - level) / r.reps)
        side = "within" if abs(r.coverage - level) <= band else ("below" if r.coverage < level else "above")
        groups[side].append(f"{label(r.estimator)} {estimand_label(r.estimator, r.estimand)} "
                            f"({share(r.coverage, int(r.reps))})")
    text = (f"of these {len(s)} estimands, the intervals contain their truth at a rate within three Monte Carlo "
            f"standard errors of the nominal {level:.0%} for {len(groups['within'])}")
    for side, how in (("below", "less often"), ("above", "more often")):
        if groups[side]:
            text += f"; {how} for {len(groups[side])}: {'; '.join(groups[side])}"
    return text


def threshold_null_text(rate: float, reps: int, alpha: float = 0.05) -> str:
    """Why the threshold model's bootstrap F test finds a threshold too often in the simulator
    without any effect (nothing when its rejection rate is within 3 MC SE of ``alpha``)."""
    band = 3 * np.sqrt(alpha * (1 - alpha) / reps)
    if not np.isfinite(rate) or rate - alpha <= band:
        return ""
    return ("The threshold test's extra rejections are not the test's fault: on pure noise with the same "
            "design it rejects at its nominal rate (tests/test_threshold_size.py). The simulator floors its "
            "count indicators, which bends the early years of low-level cities; after the fixed effects and the "
            "controls that leaves a time pattern that differs with industrial-structure upgrading, and "
            "did × 1(isu > γ) picks it up as a threshold (see the simulated world).")
