"""Figures: one theme for the whole book, and one function per figure.

Every function returns a matplotlib ``Figure`` and draws nothing else; the notebook
shows it (and the book embeds it).  Seaborn on matplotlib, as the design card asks.

Every figure is sized for the book's text column (:mod:`replication.report.figure_style`:
:data:`WIDTH` inches, text at least 12 px on screen at 1280 px); its one legend sits
outside and under its axes, never on the data; every axis with values is labelled, with its
unit (the NQP index is in index points); a first year has one colour in every figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

try:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
except ModuleNotFoundError as e:  # the library's core dependencies leave plotting out
    raise ModuleNotFoundError(f"replication.report.figures needs {e.name}, which the package's core dependencies "
                              "do not include. Fix: pip install 'replication[plot]' (or the book's extra, "
                              "'replication[book]')", name=e.name) from e

from replication.report.figure_style import (BATCH_COLOURS, COLUMN_PX, DPI, MIN_TEXT_PX, YEAR_COLOURS,  # noqa: F401
                                             FONT_PT, INDEX_UNIT, MAPS, NEVER_COLOUR, PALETTE, THEME_RC, WIDTH,
                                             set_theme,
                                             column_label, first_years, lr_set_title, lr_zoom_window,
                                             province_outlines, runs, threshold_label, year_colours)


def _sns():
    """seaborn, imported by the figures that draw with it (not by every chapter)."""
    try:
        import seaborn as sns
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError("this figure needs seaborn: pip install 'replication[plot]'", name=e.name) from e
    return sns


def _figure(height: float, **kw):
    """A figure of the column's width with constrained layout (so the legend fits under it)."""
    return plt.subplots(figsize=(WIDTH, height), layout="constrained", **kw)


def _legend_below(fig, handles=None, labels=None, *, ncols: int | None = None, title: str | None = None):
    """The figure's one legend, outside and under its axes (never on the data).  Without
    ``handles``: every labelled artist of the figure's axes, each label once."""
    if handles is None:
        seen = {}
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab and not lab.startswith("_"):
                    seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    for ax in fig.axes:  # seaborn draws its own legend in the axes: drop it
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not handles:
        return None
    last = [lab.startswith(("truth", "true ")) for lab in labels]  # the truth after the estimates
    order = sorted(range(len(labels)), key=lambda i: last[i])
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    ncols = ncols or min(len(handles), 3)
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, title=title, frameon=False)


# ---------------------------------------------------------------------------------------
# maps

def _basemap(ax) -> None:
    for ring in province_outlines():
        ax.fill(ring[:, 0], ring[:, 1], facecolor="#f7f7f7", edgecolor="#9e9e9e", linewidth=0.4, zorder=0)
    ax.set_xlim(73, 135.5)
    ax.set_ylim(17, 54)
    ax.set_aspect(1.2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)


def _draw_map(ax, cities: pd.DataFrame, years: pd.Series, colours: dict[int, str], *, counts: bool) -> None:
    """The basemap and the cities coloured by first year (grey: never); legend labels carry
    the number of cities when ``counts``."""
    _basemap(ax)
    never = years.isna().to_numpy()
    ax.scatter(cities.loc[never, "lon"], cities.loc[never, "lat"], s=10, color=NEVER_COLOUR,
               label=f"never ({never.sum()})" if counts else "never", zorder=2, linewidth=0)
    for yv in sorted(int(v) for v in years.dropna().unique()):
        m = (years == yv).fillna(False).to_numpy()
        ax.scatter(cities.loc[m, "lon"], cities.loc[m, "lat"], s=26, color=colours[yv],
                   label=f"{yv} ({m.sum()})" if counts else str(yv), zorder=3, edgecolor="white", linewidth=0.4)


def policy_map(panel: pd.DataFrame, which: str = "pilot") -> plt.Figure:
    """One map at the column's width: the smart-city pilot cities by batch
    (``which="pilot"``, from ``pilot_year``) or the Broadband China demonstration cities by
    first year (``which="broadband"``, from ``broadband_year``); grey: never.  The colours
    are those of :func:`year_colours` over both columns, the same in either map."""
    cities = panel.drop_duplicates("city_code")
    years = first_years(cities, which)
    every = pd.concat([first_years(cities, w) for w in MAPS]).dropna()
    fig, ax = _figure(5.3)
    _draw_map(ax, cities, years, year_colours(every), counts=True)
    ax.set_title(MAPS[which][1])
    _legend_below(fig, ncols=6, title="first year (number of cities)")
    return fig


def policy_maps(panel: pd.DataFrame) -> plt.Figure:
    """Both maps of :func:`policy_map`, one above the other at the column's width, with one
    legend: a year has one colour in both; the number of cities per year is under each map."""
    cities = panel.drop_duplicates("city_code")
    every = pd.concat([first_years(cities, w) for w in MAPS]).dropna()
    colours = year_colours(every)
    fig, axes = _figure(10.0, nrows=2)
    for ax, which in zip(axes, MAPS):
        years = first_years(cities, which)
        _draw_map(ax, cities, years, colours, counts=False)
        ax.set_title(MAPS[which][1])
        n = years.value_counts().sort_index()
        ax.set_xlabel(" · ".join(f"{int(y)}: {k}" for y, k in n.items()) + f" · never: {int(years.isna().sum())}"
                      " cities", fontsize=FONT_PT["legend"])
    h0, l0 = axes[0].get_legend_handles_labels()
    h1, l1 = axes[1].get_legend_handles_labels()
    entries = dict(zip(l0 + l1, h0 + h1))
    order = ["never"] + [str(y) for y in colours]
    _legend_below(fig, [entries[k] for k in order if k in entries], [k for k in order if k in entries], ncols=6,
                  title="first year")
    return fig


# ---------------------------------------------------------------------------------------
# data and index

def timing_heatmap(panel: pd.DataFrame, *, column: str = "did", max_rows: int | None = None) -> plt.Figure:
    """Treatment timing, city x year: treated cells dark, cities sorted by pilot year."""
    cities = panel.drop_duplicates("city_code")[["city_code", "city_en", "pilot_year"]].copy()
    cities["_order"] = cities["pilot_year"].astype("Float64").fillna(9999)
    cities = cities.sort_values(["_order", "city_code"])
    if max_rows:
        cities = cities.head(max_rows)
    wide = panel.pivot(index="city_code", columns="year", values=column).loc[cities["city_code"]]
    fig, ax = _figure(5.2)
    ax.imshow(wide.to_numpy(dtype=float), aspect="auto", cmap=plt.matplotlib.colors.ListedColormap(["#eef2f5", "#1f4e79"]),
              interpolation="nearest")
    ax.set_xticks(range(wide.shape[1]), wide.columns, rotation=90)
    counts = cities["pilot_year"].value_counts(dropna=False)
    edges = np.cumsum([counts.get(y, 0) for y in sorted(cities["pilot_year"].dropna().unique())])
    for e in edges:
        ax.axhline(e - 0.5, color="#c0392b", linewidth=0.8)
    ax.set_yticks([])
    ax.set_ylabel(f"{len(cities)} cities, sorted by pilot year\n(never-treated at the bottom)")
    ax.set(xlabel="year", title="Treatment timing: did = 1 (dark) from the pilot year on")
    ax.grid(False)
    return fig


def distribution_by_group(panel: pd.DataFrame, column: str, by: str = "region", *, log: bool = False) -> plt.Figure:
    """Boxplots of one variable by group and year."""
    fig, ax = _figure(4.4)
    _sns().boxplot(data=panel, x="year", y=column, hue=by, ax=ax, fliersize=1, linewidth=0.7)
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=90)
    ax.set(xlabel="year", ylabel=column_label(column) + (", log scale" if log else ""))
    _legend_below(fig, ncols=4, title=by)
    return fig


def weights_bar(weights: pd.DataFrame) -> plt.Figure:
    """Entropy weights per indicator: the paper's and ours, side by side."""
    sources = [c for c in ("paper weight", "our weight") if c in weights]
    d = weights.melt(id_vars=["label"], value_vars=sources, var_name="source", value_name="weight")
    colours = {"paper weight": PALETTE[1], "our weight": PALETTE[0]}
    fig, ax = _figure(0.3 * weights["label"].nunique() * len(sources) / 2 + 1.6)
    _sns().barplot(data=d, y="label", x="weight", hue="source", ax=ax, palette=[colours[s] for s in sources])
    ax.set(ylabel="indicator", xlabel="entropy weight (share of the index; the weights sum to 1)")
    _legend_below(fig, ncols=2)
    return fig


def index_over_time(panel: pd.DataFrame, column: str = "nqp", by: str = "region") -> plt.Figure:
    """Mean index by year and group, with a band for the interquartile range."""
    fig, ax = _figure(4.2)
    g = panel.groupby([by, "year"])[column]
    s = g.mean().rename("mean").to_frame().join(g.quantile(0.25).rename("q25")).join(g.quantile(0.75).rename("q75"))
    for k, (name, sub) in enumerate(s.reset_index().groupby(by)):
        ax.plot(sub["year"], sub["mean"], marker="o", ms=3, label=f"{name} (mean)", color=PALETTE[k % 6])
        ax.fill_between(sub["year"], sub["q25"], sub["q75"], alpha=0.15, color=PALETTE[k % 6])
    ax.set(xlabel="year", ylabel=column_label(column))
    _legend_below(fig, ncols=4, title=f"{by} (band: interquartile range)")
    return fig


# ---------------------------------------------------------------------------------------
# estimates

def placebo_figure(result, *, truth: float | None = None) -> plt.Figure:
    """Figure 1 as the paper draws it: kernel density of the placebo coefficients, the
    scatter of their p-values, and the real estimate as a dashed line."""
    d = result.draws
    fig, ax = _figure(4.4)
    _sns().kdeplot(d["estimate"], ax=ax, color=PALETTE[0], fill=True, alpha=0.2, label="density of placebo coefficients")
    ax2 = ax.twinx()
    ax2.scatter(d["estimate"], d["p_value"], s=10, color=PALETTE[5], alpha=0.6, label="p-value of each draw (right axis)")
    ax2.axhline(0.1, color=PALETTE[5], linestyle=":", linewidth=0.8, label="p = 0.1")
    ax2.set_ylabel("p-value of the draw")
    ax2.set_ylim(0, 1)
    ax2.grid(False)
    ax.axvline(result.statistic, color=PALETTE[1], linestyle="--", linewidth=1.5,
               label=f"real estimate {result.statistic:.3f}")
    if truth is not None:
        ax.axvline(truth, color=PALETTE[2], linestyle="-", linewidth=1, label=f"true ATT {truth:.3f}")
    ax.set(xlabel=f"coefficient of the placebo did ({INDEX_UNIT})", ylabel="density")
    ax.set_title(f"Placebo test: {result.n_draws} draws ({result.scheme} scheme), "
                 f"randomisation p = {result.pvalue:.3f}")
    _legend_below(fig, ncols=2)
    return fig


def coefficient_plot(frame: pd.DataFrame, *, x: str = "coef", lo: str = "ci_lower", hi: str = "ci_upper",
                     label: str = "label", truth: str | None = "truth", title: str = "",
                     xlabel: str = f"DID coefficient ({INDEX_UNIT})", ylabel: str | None = None) -> plt.Figure:
    """Estimates with 95 % CIs, one row per specification, truth marked when given.
    ``ylabel`` None: "subgroup" when ``frame`` has a ``split`` column, else "specification"."""
    f = frame.reset_index(drop=True)
    fig, ax = _figure(0.32 * len(f) + 1.9)
    yy = np.arange(len(f))[::-1]
    ax.errorbar(f[x], yy, xerr=[f[x] - f[lo], f[hi] - f[x]], fmt="o", color=PALETTE[0], capsize=3,
                label="estimate, 95% CI")
    if truth and truth in f and f[truth].notna().any():
        ax.scatter(f[truth], yy, marker="D", color=PALETTE[2], zorder=3, label="truth (default data)")
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(yy, f[label])
    ax.set_ylim(-0.7, len(f) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set(ylabel=ylabel if ylabel is not None else ("subgroup" if "split" in f else "specification"), title=title)
    _legend_below(fig)
    return fig


def _lr_zoom(ax, g, L, name: str, row, crit: float, top: float, colour: str, truth, xlabel: str):
    """One zoom panel of :func:`lr_figure`; returns its x-range."""
    est, lo, hi = (float(row[k]) for k in ("estimate", "lower", "upper"))
    x0, x1 = lr_zoom_window(g, L, est, lo, hi, top)
    w = (g >= x0) & (g <= x1)
    near = np.convolve(w, [1, 1, 1], mode="same") > 0  # one point beyond each edge: lines reach it
    ax.plot(g[near], L[near], color=colour, linewidth=1.4, marker="o", ms=3)
    ax.axhline(crit, color=PALETTE[1], linestyle="--", linewidth=1)
    ax.axvline(est, color="#555555", linewidth=0.8, linestyle=":")
    inside = (L <= crit) & w
    for r0, r1 in runs(inside):
        ax.plot([g[r0], g[r1]], [0, 0], **_SET_BAR)
        ax.axvspan(g[r0], g[r1], color=PALETTE[1], alpha=0.12, linewidth=0)
    ax.plot(g[inside], np.zeros(inside.sum()), **_SET_MARK)
    for t in truth or ():
        if t is not None and x0 <= t <= x1:
            ax.axvline(t, color=PALETTE[2], linewidth=1.2, alpha=0.8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(0, top)
    ax.set_title(lr_set_title(name, g, L, crit, est, lo, hi), fontsize=FONT_PT["label"])
    ax.set(xlabel=xlabel, ylabel="LR(γ)")
    return x0, x1


_SET_BAR = dict(color=PALETTE[1], linewidth=6, solid_capstyle="butt", clip_on=False, zorder=4)
_SET_MARK = dict(color=PALETTE[1], linestyle="none", marker="o", ms=5, clip_on=False, zorder=5)


def lr_figure(result, names=("Th-1", "Th-21", "Th-22"), truth: tuple | None = None, *, zoom: float = 4.0,
              xlabel: str | None = None) -> plt.Figure:
    """LR(gamma) of the threshold estimates and their 95 % confidence sets, one panel above
    the other at the column's width.

    The top panel shows every candidate (the whole curve of each name; the 95 % critical
    value is the dashed line near its floor).  Below it, one panel per name zooms on the
    estimate: the y-axis runs to ``zoom`` times the critical value (higher LR is cut off),
    the x-axis over the candidates around the estimate up to where LR leaves the panel,
    the confidence interval (``result.thresholds``) in, no farther from it than three times
    its width (:func:`~replication.report.figure_style.lr_zoom_window`), so that the
    crossings of the critical value can be read; the confidence set ``{γ: LR(γ) <= c}`` is
    marked on the x-axis (every candidate of it in the window) and the interval is in the
    panel's title, with the number and range of the set's further pieces when it is
    disjoint.  ``truth``: true thresholds (default data), drawn where they fall in a
    panel.  ``xlabel``: the threshold variable's label (default: its codebook name and unit)."""
    names = [n for n in names if n in result.lr]
    crit = float(result.spec["lr_crit_95"])
    th = result.thresholds.set_index("name")
    xlabel = xlabel or threshold_label(result.spec.get("q", ""))
    top = zoom * crit
    fig, axes = _figure(2.1 * (len(names) + 1) + 0.9, nrows=len(names) + 1, squeeze=False)
    over = axes[0, 0]
    for j, name in enumerate(names):
        d = result.lr[name].replace([np.inf, -np.inf], np.nan).dropna().sort_values("gamma")
        g, L = d["gamma"].to_numpy(float), d["LR"].to_numpy(float)
        colour = PALETTE[[0, 3, 4, 5][j % 4]]
        over.plot(g, L, color=colour, linewidth=1.2, label=f"LR(γ) of {name}")
        over.axvline(float(th.loc[name, "estimate"]), color=colour, linewidth=0.8, linestyle=":")
        x0, x1 = _lr_zoom(axes[j + 1, 0], g, L, name, th.loc[name], crit, top, colour, truth, xlabel)
        over.axvspan(x0, x1, color=colour, alpha=0.08, linewidth=0)
    over.axhline(crit, color=PALETTE[1], linestyle="--", linewidth=1)
    for t in truth or ():
        if t is not None:
            over.axvline(t, color=PALETTE[2], linewidth=1.2, alpha=0.8)
    over.set_ylim(bottom=0)
    over.set_title(f"Every candidate; below, each estimate up to LR = {top:.1f} ({zoom:g} × the critical value)",
                   fontsize=FONT_PT["label"])
    over.set(xlabel=xlabel, ylabel="LR(γ)")
    handles, labels = over.get_legend_handles_labels()
    handles += [Line2D([], [], color=PALETTE[1], linestyle="--", linewidth=1),
                Line2D([], [], color="#555555", linestyle=":", linewidth=0.8),
                Line2D([], [], **{k: v for k, v in _SET_MARK.items() if k != "clip_on"})]
    labels += [f"95% critical value {crit:.2f}", "estimate", "95% confidence set: the candidates with LR ≤ critical value"]
    if truth:
        handles.append(Line2D([], [], color=PALETTE[2], linewidth=1.2))
        labels.append("true threshold (default data)")
    _legend_below(fig, handles, labels, ncols=2)
    return fig


def bias_dotplot(balance: pd.DataFrame) -> plt.Figure:
    """Figure 2: standardised % bias of each covariate before and after matching."""
    covs = list(dict.fromkeys(balance["covariate"]))
    fig, ax = _figure(0.35 * len(covs) + 1.9)
    yy = np.arange(len(covs))[::-1]
    for sample, marker, colour in (("unmatched", "o", PALETTE[1]), ("matched", "x", PALETTE[0])):
        b = balance[balance["sample"] == sample].set_index("covariate").loc[covs, "% bias"]
        ax.scatter(b, yy, marker=marker, s=50, color=colour, label=sample, zorder=3)
    ax.axvline(0, color="#555555", linewidth=0.8)
    for v in (-10, 10):
        ax.axvline(v, color="#999999", linewidth=0.6, linestyle=":")
    ax.set_yticks(yy, covs)
    ax.set_ylim(-0.7, len(covs) - 0.3)
    ax.set(xlabel="standardised bias (% of the pooled standard deviation)", ylabel="covariate")
    _legend_below(fig, ncols=2)
    return fig


def event_study_figure(curves: dict, truth: pd.Series | None = None) -> plt.Figure:
    """Event-study estimates with 95 % CIs from several estimators, truth marked.  ``curves``:
    name -> an event-time result (its ``table()``) or a table with ``event_time``,
    ``estimate``, ``lower``, ``upper``."""
    fig, ax = _figure(4.4)
    k = len(curves)
    for j, (name, c) in enumerate(curves.items()):
        c = c.table() if hasattr(c, "table") else c
        off = (j - (k - 1) / 2) * 0.12
        ax.errorbar(c["event_time"] + off, c["estimate"],
                    yerr=[c["estimate"] - c["lower"], c["upper"] - c["estimate"]],
                    fmt="o", ms=4, capsize=2, color=PALETTE[j % 6], label=name)
    if truth is not None:
        ax.plot(truth.index, truth.to_numpy(), "D-", color="#222222", ms=4, linewidth=1, label="truth (default data)")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.axvline(-0.5, color="#999999", linewidth=0.8, linestyle=":")
    ax.set(xlabel="years since the pilot (event time)", ylabel=f"effect on the NQP index ({INDEX_UNIT})")
    _legend_below(fig, ncols=2)
    return fig


def bacon_figure(two) -> plt.Figure:
    """Goodman-Bacon scatter: each 2x2 DID estimate against its weight, by comparison type
    (``two``: a decomposition result or its ``comparisons`` table)."""
    two = getattr(two, "comparisons", two)
    fig, ax = _figure(4.2)
    for j, (kind, sub) in enumerate(two.groupby("type")):
        ax.scatter(sub["weight"], sub["estimate"], s=40, color=PALETTE[j % 6], label=kind, alpha=0.8)
    tw = float((two["weight"] * two["estimate"]).sum())
    ax.axhline(tw, color=PALETTE[1], linestyle="--", linewidth=1, label=f"TWFE = {tw:.3f} (weighted mean)")
    ax.set_xlabel("weight in the TWFE estimate (share; the weights sum to 1)")
    ax.set_ylabel(f"2×2 DID estimate ({INDEX_UNIT})")
    _legend_below(fig, ncols=2)
    return fig


def sensitivity_figure(rows: list[dict], original: tuple[float, float] | None = None,
                       truth: float | None = None, *, key: str = "M",
                       xlabel: str = "M (bound on the change in the slope of the pre-trend)",
                       ylabel: str = f"effect in the pilot year ({INDEX_UNIT})") -> plt.Figure:
    """HonestDiD-style sensitivity plot: the robust CI for each value of the restriction's
    parameter (``key``: "M" for smoothness, "Mbar" for relative magnitudes), the original
    CI on the left.  ``rows``: dicts or a table with ``key``, ``lower``, ``upper``."""
    rows = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    fig, ax = _figure(4.2)
    xs = [r[key] for r in rows]
    step = min(np.diff(sorted(xs))) if len(xs) > 1 else 0.1
    for j, r in enumerate(rows):
        ax.plot([r[key], r[key]], [r["lower"], r["upper"]], color=PALETTE[0], linewidth=3,
                label="robust 95% confidence set" if j == 0 else None)
    if original is not None:
        x0 = min(xs) - step
        ax.plot([x0, x0], original, color=PALETTE[1], linewidth=3, label="original 95% CI")
        ax.set_xticks([x0, *xs], ["original", *[f"{x:g}" for x in xs]])
    if truth is not None:
        ax.axhline(truth, color=PALETTE[2], linewidth=1, label="truth (default data)")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    _legend_below(fig)
    return fig
