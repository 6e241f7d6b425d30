"""Sentences the chapters glue into their text, computed from the results (so that the
notebooks only call, export, show and glue)."""
from __future__ import annotations

import pandas as pd


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0] if items else ""


def index_verdict(sens: pd.DataFrame) -> str:
    """Chapter 2: do the DID estimates on the five indices agree in sign, significance and size?
    ``sens`` is :func:`replication.report.tables.did_by_index`."""
    sign = "the same sign" if (sens["coef"] > 0).all() or (sens["coef"] < 0).all() else "different signs"
    n_sig = int((sens["p"] < 0.05).sum())
    sig = ("significant at 5 % for every index" if n_sig == len(sens) else
           "significant at 5 % for none of them" if n_sig == 0 else f"significant at 5 % for {n_sig} of {len(sens)}")
    sd = sens["effect in SD of the index"]
    if sd.min() > 0:
        return (f"the estimates have {sign} and are {sig}; in standard deviations of each index they range from "
                f"{sd.min():.2f} to {sd.max():.2f}, a ratio of {sd.max() / sd.min():.1f} between the largest and "
                "the smallest")
    return (f"the estimates have {sign} and are {sig}; in standard deviations they range from {sd.min():.2f} to "
            f"{sd.max():.2f}")


def covering_columns(results: dict, truth: float, term: str = "did") -> str:
    """Chapter 3: which columns' 95 % intervals cover the true effect ("(1), (4) and (5) (3 of 5)")."""
    covering = [c for c, r in results.items()
                if r.conf_int().loc[term, "lower"] <= truth <= r.conf_int().loc[term, "upper"]]
    return (_and(covering) if covering else "no column") + f" ({len(covering)} of {len(results)})"


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


def scorecard_counts(card: pd.DataFrame) -> dict[str, str]:
    """Chapter 9: the scorecard's counts as text (rows, computed, within tolerance, same sign,
    same significance, share of intervals covering the truth)."""
    cov = card["CI covers truth"].dropna()
    sgn, sig = card["same sign"].dropna(), card["same significance"].dropna()
    return {"n_numbers": f"{len(card)}", "n_computed": f"{int(card['ours'].notna().sum())}",
            "n_within": f"{int(card['within tolerance'].fillna(False).sum())}",
            "sign_txt": f"{int(sgn.sum())} of {len(sgn)}", "sig_txt": f"{int(sig.sum())} of {len(sig)}",
            "cover_share": f"{cov.mean():.0%} of {len(cov)}" if len(cov) else "no"}
