"""Named calibrations of the simulator: ``default`` and ``paper``.

A calibration is a set of options of the simulator (fields of :class:`replication.data.dgp.DGP`)
on top of its defaults; ``simulate_panel(**calibration("paper"))`` draws a panel of it and
``python -m replication montecarlo --calibration paper`` studies it.

``default``
    the simulator as the book's default panel draws it: no option changed.

``paper``
    the world in which the paper's point estimates are the truth, so that a Monte Carlo
    answers "if the paper's effects were true, how often would its tests find them, and how
    biased would its estimators be?".  Its planted effects equal the paper's point estimates
    and its noise gives column (5) of Table 2 a t statistic of the paper's order:

    * the average effect on the treated (ATT) equals Table 2 column (5)'s 0.184, and the
      column-(5) clustered standard error is about 0.184 / 2.911 (the paper's t), through
      ``effect_scale`` (the size of every indicator's response to the pilot) and
      ``effect_noise`` (the spread of the city-specific effect: on this panel the
      heterogeneity of the effect, not the indicators' noise, sets the standard error);
    * the ATT by region and by city size approaches Table 7's five estimates (east 0.203,
      west 0.534, central -0.129, large cities -0.111, small and medium cities 0.343), through
      ``region_effects`` and the large-city effect: the three regions come close, but the two
      sizes cannot both hold together with the overall 0.184, because large cities make up a
      larger share of the simulated pilots than the paper's numbers imply; the fit splits the
      difference (:func:`replication.montecarlo.calibrate.calibration_check` shows by how much);
    * the two ``isu`` thresholds are the paper's 0.5337 and 1.3028 (Tables 5-6); the regime
      effects keep the simulator's defaults, because Table 6's regime coefficients are on
      another scale than Table 2 (its constant is -11.2 against Table 2's 0.637);
    * the pilot raises human capital ``hc`` by Table 4 column (2)'s 0.001 (``a_hc``); the
      science-and-technology path keeps the simulator's default, because the paper's column
      (4) repeats column (2) cell for cell and gives no estimate for ``st``.

    The values were fitted by least squares on the mean of eight simulated panels
    (:func:`replication.montecarlo.calibrate.fit_paper_calibration`) and rounded; what they
    achieve on fresh panels is :func:`replication.montecarlo.calibrate.calibration_check`
    (tests/test_montecarlo.py holds them to their targets).  :func:`calibration_table` lists
    every changed option with its default and what it matches in the paper.
"""
from __future__ import annotations

from dataclasses import fields

import pandas as pd

from replication.data.dgp import DGP

#: The paper's numbers the ``paper`` calibration matches (Tables 2, 4, 6, 7 and the text), as
#: realised values of the simulator's truth; ``se`` is column (5)'s standard error implied by
#: its estimate and t (0.184 / 2.911).  tests/test_montecarlo.py checks them against
#: replication/report/paper_results.yaml.
PAPER_TARGETS = {"att": 0.184, "se": 0.184 / 2.911,
                 "att_region_east": 0.203, "att_region_west": 0.534, "att_region_central": -0.129,
                 "att_size_large": -0.111, "att_size_small_medium": 0.343}
PAPER_THRESHOLDS = (0.5337, 1.3028)  # the paper's text and Table 6
PAPER_A_HC = 0.001  # Table 4 column (2): did -> hc

PAPER = {
    "effect_scale": 2.70,
    "effect_noise": 2.10,
    "region_effects": (("east", 0.43), ("central", -1.29), ("west", 1.13)),
    "size_effects": (("large", -1.17), ("small_medium", 0.3)),
    "thresholds": PAPER_THRESHOLDS,
    "a_hc": PAPER_A_HC,
}

CALIBRATIONS = {"default": {}, "paper": PAPER}

#: What each option of the ``paper`` calibration matches in the paper.
MATCHES = {
    "effect_scale": "Table 2 column (5): ATT = 0.184",
    "effect_noise": "Table 2 column (5): t = 2.911 (SE = 0.184 / 2.911)",
    "region_effects": "Table 7: east 0.203, west 0.534, central -0.129 (approached)",
    "size_effects": "Table 7: large cities -0.111, small and medium 0.343 (approached)",
    "thresholds": "Tables 5-6 and the text: thresholds 0.5337 and 1.3028",
    "a_hc": "Table 4 column (2): did -> hc = 0.001",
}


def calibration(name: str) -> dict:
    """The simulator options of calibration ``name`` (a copy)."""
    if name not in CALIBRATIONS:
        raise ValueError(f"unknown calibration {name!r}; choose one of {', '.join(CALIBRATIONS)}")
    return dict(CALIBRATIONS[name])


def _show(v) -> str:
    if isinstance(v, tuple) and v and isinstance(v[0], tuple):
        return ", ".join(f"{k} {x:g}" for k, x in v)
    if isinstance(v, tuple):
        return ", ".join(f"{x:g}" for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def calibration_table(name: str = "paper") -> pd.DataFrame:
    """One row per option the calibration changes: ``name``, ``value``, ``default`` (the
    simulator's), ``matches`` (what it matches in the paper)."""
    opts = calibration(name)
    default = DGP()
    rows = [{"name": f.name, "value": _show(opts[f.name]), "default": _show(getattr(default, f.name)),
             "matches": MATCHES.get(f.name, "")} for f in fields(DGP) if f.name in opts]
    return pd.DataFrame(rows, columns=["name", "value", "default", "matches"])
