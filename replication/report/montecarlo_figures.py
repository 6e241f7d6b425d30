"""Chapter 10's figures: sampling distributions against the truth, coverage with Monte Carlo
error bands, power curves.  Drawn with the book's figure helpers and theme
(:mod:`replication.report.figures`: the column's width, the legend under the axes, axis
labels with units), so this module needs no plotting import of its own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.report import figures
from replication.report.figure_style import INDEX_UNIT, PALETTE
from replication.report.montecarlo_tables import label

Z = 1.96  # a 95 % band of a Monte Carlo estimate: ± 1.96 MC SE


def sampling_figure(per_rep: pd.DataFrame, estimators, estimand: str = "att"):
    """Each estimator's estimates minus the realised estimand, one row of dots per estimator
    (one dot per replication), with the mean error and its 95 % Monte Carlo band."""
    d = per_rep[(per_rep["estimand"] == estimand) & per_rep["estimator"].isin(list(estimators))]
    names = [e for e in estimators if e in set(d["estimator"])]
    fig, ax = figures._figure(0.45 * len(names) + 1.6)
    rng = np.random.default_rng(0)  # vertical jitter only, so that the dots do not hide each other
    for i, name in enumerate(names):
        err = (d.loc[d["estimator"] == name, "estimate"] - d.loc[d["estimator"] == name, "truth"]).dropna()
        y = i + rng.uniform(-0.15, 0.15, len(err))
        ax.scatter(err, y, s=10, alpha=0.45, color=PALETTE[0], label="one replication" if i == 0 else None)
        m, se = err.mean(), err.std(ddof=1) / np.sqrt(len(err)) if len(err) > 1 else np.nan
        ax.errorbar(m, i, xerr=Z * se, fmt="D", color=PALETTE[1], ms=6, capsize=4,
                    label="mean error (bias) ± 1.96 MC SE" if i == 0 else None)
    ax.axvline(0, color="black", lw=1, label="no error (estimate = truth)")
    ax.set_yticks(range(len(names)), [label(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set(xlabel=f"estimate minus the realised ATT ({INDEX_UNIT})", ylabel="estimator")
    figures._legend_below(fig, ncols=2)
    return fig


def coverage_figure(summary: pd.DataFrame, estimators, estimand: str = "att", level: float = 0.95):
    """Coverage of each estimator's 95 % intervals (against the realised and the population
    estimand), ± 1.96 MC SE, and the band of coverages consistent with the nominal level."""
    s = summary[(summary["estimand"] == estimand) & summary["estimator"].isin(list(estimators))
                & summary["target"].isin(["realised", "population", "planted"])]
    names = [e for e in estimators if e in set(s["estimator"])]
    fig, ax = figures._figure(0.45 * len(names) + 1.8)
    reps = int(s["reps"].max()) if len(s) else 1
    band = Z * np.sqrt(level * (1 - level) / reps)
    ax.axvspan(level - band, min(1.0, level + band), color="#dddddd", label=f"nominal {level:.0%} ± 1.96 MC SE")
    ax.axvline(level, color="black", lw=1)
    for k, (target, colour, dy) in enumerate((("realised", PALETTE[0], -0.12), ("population", PALETTE[1], 0.12),
                                               ("planted", PALETTE[2], 0.0))):
        t = s[s["target"] == target].set_index("estimator")
        ys = [i + dy for i, n in enumerate(names) if n in t.index]
        xs = [t.loc[n, "coverage"] for n in names if n in t.index]
        es = [Z * t.loc[n, "mcse_coverage"] for n in names if n in t.index]
        if xs:
            ax.errorbar(xs, ys, xerr=es, fmt="o", color=colour, capsize=3, label=f"coverage of the {target} ATT")
    ax.set_yticks(range(len(names)), [label(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(right=1.01)  # a share: nothing lies beyond 1
    ax.set(xlabel="share of 95 % intervals that contain the truth", ylabel="estimator")
    figures._legend_below(fig, ncols=2)
    return fig


def power_figure(curves: dict, *, mark: float | None = None, mark_label: str = "", alpha: float = 0.05):
    """Rejection rate against the size of a homogeneous effect, one curve per test (a dict
    label -> frame with ``effect``, ``power``, ``mcse``), each with its 95 % MC band; the
    nominal size and 80 % power as horizontal lines, ``mark`` as a vertical one."""
    fig, ax = figures._figure(3.4)
    for i, (name, c) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(c["effect"], c["power"], color=colour, lw=2, label=name)
        ax.fill_between(c["effect"], c["power"] - Z * c["mcse"], c["power"] + Z * c["mcse"], color=colour,
                        alpha=0.2, lw=0)
    ax.axhline(alpha, color="black", lw=1, ls=":", label=f"nominal size {alpha:.0%}")
    ax.axhline(0.8, color="grey", lw=1, ls="--", label="80 % power")
    if mark is not None:
        ax.axvline(mark, color=PALETTE[3], lw=1.5, ls="-.", label=mark_label)
    ax.set_ylim(-0.02, 1.02)
    ax.set(xlabel=f"effect on every treated city-year ({INDEX_UNIT})", ylabel="rejection rate at 5 %")
    figures._legend_below(fig, ncols=2)
    return fig
