"""One replication's data: the simulated panel, validated and indexed as the book loads it.

:func:`draw` runs what :func:`replication.data.load_analysis_panel` runs on the default data
(simulate, validate with interpolation of the deleted cells, add the entropy NQP index), with
the replication's own seed and, for a fixed design, the study's design seed
(:func:`replication.data.simulate_panel`'s ``design_seed``).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from replication.data import simulate_panel, validate_panel
from replication.data.index import add_index
from replication.montecarlo.options import StudyOptions, derive_seed


class InvalidPanel(Exception):
    """The simulator drew a panel that the project's own validation rejects."""


@dataclass
class Draw:
    """Replication ``rep``: its panel (with ``nqp``), its truth and the seeds it used."""

    rep: int
    seed: int
    panel: pd.DataFrame
    truth: dict
    estimator_seed: int


def panel_seed(options: StudyOptions, rep: int) -> int:
    return derive_seed(options.seed, 1, rep)


def design_seed(options: StudyOptions) -> int | None:
    """The seed of the fixed design (None: the design is redrawn with every replication)."""
    return derive_seed(options.seed, 0) if options.fixed_design else None


def draw(options: StudyOptions, rep: int) -> Draw:
    """Simulate, validate and index replication ``rep``; :class:`InvalidPanel` if validation fails."""
    seed = panel_seed(options, rep)
    years = tuple(int(y) for y in options.years)
    sim = simulate_panel(seed=seed, years=years, design_seed=design_seed(options), **options.dgp_options())
    report = validate_panel(sim.panel, years=years, source=f"Monte Carlo replication {rep} (seed {seed})")
    if not report.ok:
        raise InvalidPanel("; ".join(str(e) for e in report.errors)[:500])
    return Draw(rep, seed, add_index(report.panel), sim.truth, derive_seed(options.seed, 2, rep))
