"""Every figure of the book, legible at the size the book shows it (issue 17, item 3).

Each public figure function of :mod:`replication.report.figures` is called on the default
panel (small draws), under the book's theme, and rendered as the notebooks' inline backend
renders it for the book (``print_figure``: the figure's dpi, a tight bounding box).  The
book shows the image scaled to its text column, ``figures.COLUMN_PX`` CSS px wide in a
1280 px window (measured in Chromium on the built book: the ``.bd-article`` content box is
688 px, a figure in it 672 px; never wider than the image itself), so the displayed scale
is ``min(1, COLUMN_PX / image width)`` and a text of ``s`` points is
``s * dpi / 72 * scale`` px on screen.  The checks:

* every visible, non-empty Text artist of the figure (ticks, axis labels, legend entries and
  titles, titles, annotations) renders at >= ``figures.MIN_TEXT_PX`` (10) px;
* every axis that shows values (visible, with tick labels) on an axes with data has a
  label, with the unit where the figure has one;
* no legend's box overlaps the data (lines, points, bars, bands, map polygons) of any
  axes, in display coordinates;
* a first year has one colour in both maps; the LR figure shows the critical value and the
  confidence set.

The helpers are checked to fail on figures that break the rules.
"""
from __future__ import annotations

import inspect
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from PIL import Image  # noqa: E402

from replication.report import figures  # noqa: E402


# ---------------------------------------------------------------------------------------
# inputs: the default panel and the chapters' specifications, small

@pytest.fixture(scope="module", autouse=True)
def book_theme():
    """The book's theme for this module's figures; the rcParams are restored after it."""
    with matplotlib.rc_context():
        figures.set_theme()
        yield


@pytest.fixture(scope="module")
def inputs():
    from replication.data import load_analysis_panel
    from replication.data import index
    from replication.data.schema import INDICATORS
    from replication.report import paper, specs, staggered_tables, tables

    data = load_analysis_panel(None)
    panel, truth = data.panel, data.simulation.truth
    _, match = specs.table3(panel, seed=1)
    sa = specs.sun_abraham(panel)
    honest = specs.honest_did(sa, Ms=(0.0, 0.01, 0.02), Mbars=(0.0, 1.0, 2.0))
    paths = staggered_tables.event_study_paths({"TWFE event study": specs.event_study(panel), "Sun-Abraham": sa},
                                               leads=3, lags=8)
    t7 = specs.table7(panel)
    groups = tables.subgroup_table(t7, truth).dropna(subset=["coef"])
    return {
        "panel": panel, "truth": truth,
        "weights": tables.weights_table(index.entropy_index(panel, list(INDICATORS)), paper.table1()),
        "placebo": specs.figure1(panel, n_draws=10, seed=1),
        "balance": match.balance,
        "spec_rows": tables.specification_rows(specs.table2(panel), truth=truth["att"]),
        "groups": groups.assign(label=groups["split"] + ": " + groups["group"]),
        "threshold": specs.threshold_model(panel, max_thresholds=2, n_draws=0, grid=100, seed=1),
        "paths": paths, "true_path": staggered_tables.true_path(truth, leads=3, lags=8),
        "bacon": specs.bacon(panel), "honest": honest,
    }


# figure -> how the book's chapters call it (the chapter's figure number in the comment)
FIGURES = {
    "policy_maps": lambda d: figures.policy_maps(d["panel"]),  # 1.1
    "policy_map_pilot": lambda d: figures.policy_map(d["panel"], "pilot"),
    "policy_map_broadband": lambda d: figures.policy_map(d["panel"], "broadband"),
    "timing_heatmap": lambda d: figures.timing_heatmap(d["panel"]),  # 1.2
    "distribution_by_group": lambda d: figures.distribution_by_group(d["panel"], "nqp"),
    "weights_bar": lambda d: figures.weights_bar(d["weights"]),  # 2.1
    "index_over_time": lambda d: figures.index_over_time(d["panel"]),  # 2.2
    "placebo_figure": lambda d: figures.placebo_figure(d["placebo"], truth=d["truth"]["att"]),  # 3.1
    "bias_dotplot": lambda d: figures.bias_dotplot(d["balance"]),  # 4.1
    "coefficient_plot": lambda d: figures.coefficient_plot(d["spec_rows"], title="DID coefficient across "
                                                                                 "specifications"),  # 4.2
    "coefficient_plot_groups": lambda d: figures.coefficient_plot(d["groups"], title="DID coefficient by "
                                                                                     "subgroup"),  # 7.1
    "lr_figure": lambda d: figures.lr_figure(d["threshold"], truth=(d["truth"]["threshold_1"],
                                                                    d["truth"]["threshold_2"])),  # 6.1
    "lr_figure_two": lambda d: figures.lr_figure(d["threshold"], names=("Th-1", "Th-22")),  # 90.1 (Hansen's)
    "event_study_figure": lambda d: figures.event_study_figure(d["paths"], d["true_path"]),  # 8.1
    "bacon_figure": lambda d: figures.bacon_figure(d["bacon"]),  # 8.2
    "sensitivity_figure": lambda d: figures.sensitivity_figure(d["honest"].smoothness, d["honest"].original_ci(),
                                                               0.07),  # 8.3
    "sensitivity_figure_rm": lambda d: figures.sensitivity_figure(  # 8.4
        d["honest"].relative_magnitudes, d["honest"].original_ci(), 0.07, key="Mbar",
        xlabel="Mbar (post-adoption violations relative to the largest pre-adoption one)"),
}

# (axis, words its label must contain): the unit of the values shown
UNITS = {
    "timing_heatmap": [("x", "year")],
    "distribution_by_group": [("y", "index points")],
    "weights_bar": [("x", "share")],
    "index_over_time": [("y", "index points")],
    "placebo_figure": [("x", "index points")],
    "bias_dotplot": [("x", "%")],
    "coefficient_plot": [("x", "index points")],
    "coefficient_plot_groups": [("x", "index points"), ("y", "subgroup")],
    "lr_figure": [("x", "ratio"), ("y", "LR")],
    "event_study_figure": [("x", "years"), ("y", "index points")],
    "bacon_figure": [("x", "share"), ("y", "index points")],
    "sensitivity_figure": [("y", "index points")],
    "sensitivity_figure_rm": [("y", "index points")],
}


def _public_figure_functions() -> set[str]:
    return {n for n, f in inspect.getmembers(figures, inspect.isfunction)
            if f.__module__ == figures.__name__ and not n.startswith("_")
            and inspect.signature(f).return_annotation in ("plt.Figure", plt.Figure)}


@pytest.fixture(scope="module", params=sorted(FIGURES))
def drawn(request, inputs):
    """(name, figure, displayed scale) of one figure, rendered as for the book."""
    figures.set_theme()
    fig = FIGURES[request.param](inputs)
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="png", dpi=fig.dpi, bbox_inches="tight")  # as IPython's print_figure
    width_px = Image.open(io.BytesIO(buf.getvalue())).size[0]
    fig.canvas.draw()
    yield request.param, fig, min(1.0, figures.COLUMN_PX / width_px)
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# the rules, as functions (so that they can be shown to fail)

def small_texts(fig, scale: float, min_px: float = figures.MIN_TEXT_PX) -> list[str]:
    """Every visible, non-empty text of ``fig`` smaller than ``min_px`` on screen."""
    bad = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        px = t.get_fontsize() * fig.dpi / 72 * scale
        if px < min_px - 1e-9:
            bad.append(f"{t.get_text()[:40]!r}: {t.get_fontsize():.1f} pt = {px:.1f} px")
    return bad


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.images or
                [p for p in ax.patches if p is not ax.patch])


def unlabelled_axes(fig) -> list[str]:
    """Every axis that shows values (visible, with tick labels) on an axes with data but
    has no label."""
    bad = []
    for k, ax in enumerate(fig.axes):
        if not _has_data(ax):
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text().strip()]
            if axis.get_visible() and ticks and not axis.get_label_text().strip():
                bad.append(f"axes {k} ({ax.get_title()!r}): no {name} label")
    return bad


def _split_finite(xy: np.ndarray) -> list[np.ndarray]:
    ok = np.isfinite(xy).all(axis=1)
    parts, cur = [], []
    for row, good in zip(xy, ok):
        if good:
            cur.append(row)
        elif cur:
            parts.append(np.array(cur))
            cur = []
    if cur:
        parts.append(np.array(cur))
    return parts


def _hits(path_xy: np.ndarray, box: Bbox, *, filled: bool) -> bool:
    for part in _split_finite(path_xy):
        if len(part) == 1:
            if box.contains(*part[0]):
                return True
        elif MplPath(part).intersects_bbox(box, filled=filled):
            return True
    return False


def data_under_legends(fig) -> list[str]:
    """Every data artist (line, marker, bar, band, polygon, image) of every axes that a
    legend's box overlaps on screen (the figure must have been drawn)."""
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *[ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]]
    bad = []
    for leg in legends:
        lbox = leg.get_window_extent(renderer)
        for k, ax in enumerate(fig.axes):
            inside = Bbox.intersection(lbox, ax.bbox)

            def box_for(artist):
                return lbox if not artist.get_clip_on() else inside

            for line in ax.get_lines():
                b = box_for(line)
                if line.get_visible() and b is not None and _hits(
                        line.get_transform().transform(line.get_xydata()), b, filled=False):
                    bad.append(f"legend over line {line.get_label()!r} of axes {k}")
            for coll in ax.collections:
                b = box_for(coll)
                if not coll.get_visible() or b is None:
                    continue
                if isinstance(coll, PathCollection):  # scatter: marker centres, widened by the marker radius
                    xy = coll.get_offset_transform().transform(coll.get_offsets())
                    r = np.sqrt(np.max(coll.get_sizes()) if len(coll.get_sizes()) else 36) / 2 * fig.dpi / 72
                    if any(b.expanded(1, 1).padded(r).contains(*p) for p in xy if np.isfinite(p).all()):
                        bad.append(f"legend over points {coll.get_label()!r} of axes {k}")
                elif any(_hits(coll.get_transform().transform(p.vertices), b, filled=True) for p in coll.get_paths()):
                    bad.append(f"legend over {type(coll).__name__} {coll.get_label()!r} of axes {k}")
            for patch in ax.patches:
                b = box_for(patch)
                if patch.get_visible() and b is not None and _hits(
                        patch.get_transform().transform(patch.get_path().vertices), b, filled=True):
                    bad.append(f"legend over {type(patch).__name__} {patch.get_label()!r} of axes {k}")
            for im in ax.images:
                if inside is not None and Bbox.intersection(im.get_window_extent(renderer), lbox) is not None:
                    bad.append(f"legend over an image of axes {k}")
    return bad


# ---------------------------------------------------------------------------------------
# the tests

def test_every_public_figure_function_is_checked(inputs, monkeypatch):
    called, public = set(), _public_figure_functions()
    assert {"policy_map", "policy_maps", "lr_figure", "weights_bar"} <= public
    for name in public:
        f = getattr(figures, name)
        monkeypatch.setattr(figures, name, lambda *a, _f=f, _n=name, **k: called.add(_n) or _f(*a, **k))
    figures.set_theme()
    for make in FIGURES.values():
        plt.close(make(inputs))
    assert called == public, public - called


def test_every_text_is_at_least_10_px_at_1280(drawn):
    name, fig, scale = drawn
    assert fig.get_figwidth() == pytest.approx(figures.WIDTH), f"{name} is not as wide as the column"
    assert fig.get_figwidth() * fig.dpi >= figures.COLUMN_PX, f"{name}: fewer image px than the column shows"
    bad = small_texts(fig, scale)
    assert not bad, f"{name} (shown at {scale:.3f} of its pixels): " + "; ".join(bad)


def test_every_axis_is_labelled_with_its_unit(drawn):
    name, fig, _ = drawn
    assert not unlabelled_axes(fig), f"{name}: {unlabelled_axes(fig)}"
    for axis, words in UNITS.get(name, []):
        labels = [(ax.get_xlabel() if axis == "x" else ax.get_ylabel()) for ax in fig.axes]
        assert any(words in lab for lab in labels), f"{name}: no {axis} label says {words!r}: {labels}"


def test_no_legend_sits_on_the_data(drawn):
    name, fig, _ = drawn
    bad = data_under_legends(fig)
    assert not bad, f"{name}: " + "; ".join(bad[:10])


def test_a_year_has_one_colour_in_both_maps(inputs):
    figures.set_theme()

    def colours(fig):
        out = {}
        for ax in fig.axes:
            for coll in ax.collections:
                label = coll.get_label().split(" ")[0]
                if isinstance(coll, PathCollection) and not label.startswith("_"):
                    c = tuple(np.round(coll.get_facecolor()[0], 3))
                    assert out.setdefault(label, c) == c, f"{label} has two colours"
        return out

    both = colours(figures.policy_maps(inputs["panel"]))
    pilot = colours(figures.policy_map(inputs["panel"], "pilot"))
    broadband = colours(figures.policy_map(inputs["panel"], "broadband"))
    plt.close("all")
    assert {"2012", "2013", "2014", "2015", "2016", "never"} <= set(both)
    assert pilot["2014"] == broadband["2014"] == both["2014"]
    assert len(set(both.values())) == len(both), "two years share a colour"
    fig = figures.policy_maps(inputs["panel"])
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes), "one shared legend"
    plt.close(fig)


def test_the_lr_figure_shows_the_critical_value_and_the_confidence_set(inputs):
    figures.set_theme()
    res = inputs["threshold"]
    crit = res.spec["lr_crit_95"]
    fig = figures.lr_figure(res)
    zooms = fig.axes[1:]
    assert len(zooms) == 3
    for ax, (_, row) in zip(zooms, res.thresholds.set_index("name").loc[["Th-1", "Th-21", "Th-22"]].iterrows()):
        y0, y1 = ax.get_ylim()
        assert y0 == 0 and y1 == pytest.approx(4 * crit), "the y-axis is cut at 4 x the critical value"
        x0, x1 = ax.get_xlim()
        assert x0 < row["lower"] <= row["estimate"] <= row["upper"] < x1
        marked = [line for line in ax.get_lines() if line.get_marker() == "o" and not line.get_clip_on()]
        xs = np.concatenate([line.get_xdata() for line in marked])
        assert row["lower"] in xs and row["upper"] in xs, "the confidence set is marked on the x-axis"
        assert any(np.allclose(line.get_ydata(), crit) for line in ax.get_lines()), "the critical value is drawn"
    plt.close(fig)


def test_the_checks_can_fail():
    with matplotlib.rc_context():
        plt.rcdefaults()
        fig, ax = plt.subplots(figsize=(12, 4), dpi=100)  # 1200 px shown at 672: 6 pt = 4.7 px
        ax.plot([0, 1], [0, 1], label="the line the figure exists for")
        ax.set_xlabel("x", fontsize=6)
        ax.legend(loc="center")
        fig.canvas.draw()
        assert any("'x'" in s for s in small_texts(fig, figures.COLUMN_PX / 1200))
        assert unlabelled_axes(fig) == ["axes 0 (''): no y label"]
        assert data_under_legends(fig) == ["legend over line 'the line the figure exists for' of axes 0"]
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
        ax.scatter([0.5], [0.5], label="point")
        fig.legend(loc="outside lower center")
        fig.canvas.draw()
        assert data_under_legends(fig) == []
        plt.close(fig)


def test_the_theme_is_seaborns_whitegrid_without_importing_seaborn():
    """set_theme writes seaborn's whitegrid settings itself (a chapter kernel then need not import
    seaborn and scipy.stats): every setting equals what seaborn's own set_theme gives."""
    import subprocess
    import sys

    code = ("import sys, matplotlib; matplotlib.use('Agg'); from replication.report import figures; "
            "figures.set_theme(); print('seaborn' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    import matplotlib as mpl
    import seaborn as sns
    from matplotlib.colors import to_rgba

    from replication.report import figures
    from replication.report.figure_style import PALETTE, THEME_RC

    with mpl.rc_context():
        figures.set_theme()
        ours = dict(mpl.rcParams)
    with mpl.rc_context():
        sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=THEME_RC)
        theirs = dict(mpl.rcParams)
    differ = [k for k in theirs if k not in ("image.cmap", "axes.prop_cycle") and ours[k] != theirs[k]]
    assert differ == [], {k: (ours[k], theirs[k]) for k in differ}
    assert [to_rgba(c) for c in ours["axes.prop_cycle"].by_key()["color"]] == \
        [to_rgba(c) for c in theirs["axes.prop_cycle"].by_key()["color"]]
