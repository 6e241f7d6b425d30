"""Loading: the default semi-synthetic panel (cached), a user's panel validated, and the
one function every consumer of the analysis panel calls, :func:`load_analysis_panel`
(every chapter, chapter 1 included, through ``replication.book.chapter.load``, and the
``check`` command)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replication.data.index import add_index
from replication.data.report import PanelValidationError, PanelWarning, ValidationReport
from replication.data.simulate import SimulatedPanel, simulate_panel
from replication.data.validate import validate_panel

DEFAULT_SEED = 20251206  # the paper's publication date; the default panel is this draw
DEFAULT_YEARS = (2009, 2022)

_SIM_CACHE: dict = {}
_SIM_CACHE_SIZE = 16


def default_simulation(seed: int = DEFAULT_SEED, years=DEFAULT_YEARS, **dgp_options) -> SimulatedPanel:
    """The simulated panel with its truth, cached in memory per (seed, years, options)."""
    key = (int(seed), tuple(int(y) for y in years), tuple(sorted((k, repr(v)) for k, v in dgp_options.items())))
    if key not in _SIM_CACHE:
        while len(_SIM_CACHE) >= _SIM_CACHE_SIZE:  # bounded: a loop over seeds must not keep them all
            _SIM_CACHE.pop(next(iter(_SIM_CACHE)))
        _SIM_CACHE[key] = simulate_panel(seed=seed, years=tuple(years), **dgp_options)
    return _SIM_CACHE[key]


def _is_default(source) -> bool:
    return source is None or (isinstance(source, str) and source in ("", "default"))


def load_panel(source: str | Path | pd.DataFrame | None = None, *, years=None, seed: int = DEFAULT_SEED,
               report: bool = False, mapping=None, **dgp_options):
    """The validated analysis panel.

    ``source=None`` (or ``"default"``) simulates the documented semi-synthetic panel for
    the real roster of ``years`` (default 2009-2022) with ``seed``.  A path (CSV, .xlsx,
    Parquet or Stata .dta) or a DataFrame is validated against the schema: ``years=(a, b)``
    keeps the rows of those years (``None`` keeps all), ``mapping`` (a YAML path or a dict:
    ``columns``, ``scale``, ``ignore``, ``city_names``, ``sheet``) says what the alias table
    cannot know.  Every repair (declared scales, city names resolved to codes, short
    interior gaps interpolated within city) is in the report.  Raises
    :class:`PanelValidationError` naming file, column, rows and fix when the data cannot be
    used.  With ``report=True`` returns ``(panel, ValidationReport)``.
    """
    if source is None or (isinstance(source, str) and source == "default"):
        if mapping is not None:
            raise TypeError("mapping applies to your own panel (source=...), not to the simulated default panel")
        yrs = DEFAULT_YEARS if years is None else years
        sim = default_simulation(seed, yrs, **dgp_options)
        rep = validate_panel(sim.panel, years=yrs, source=f"default semi-synthetic panel (seed {seed})")
    else:
        if dgp_options:
            raise TypeError(f"DGP options {sorted(dgp_options)} apply only to the simulated default panel")
        rep = validate_panel(source, years=years, mapping=mapping)
    if not rep.ok:
        raise PanelValidationError(rep.source, rep.errors)
    if source is not None and not isinstance(source, pd.DataFrame) and source != "default":
        for w in rep.warnings:
            warnings.warn(f"{rep.source}: {w}", PanelWarning, stacklevel=2)
    rep.panel.attrs = {"source": rep.source, "n_repairs": len(rep.repairs), "sha256": rep.sha256}
    return (rep.panel, rep) if report else rep.panel


@dataclass
class AnalysisPanel:
    """What :func:`load_analysis_panel` returns."""

    panel: pd.DataFrame  # validated; with the index column unless index=False
    simulation: SimulatedPanel | None  # the default panel's simulation; None on a user's panel
    report: ValidationReport  # what was read, checked and repaired

    @property
    def truth(self) -> dict | None:
        """The simulation's true values (computed on first access), None on a user's panel."""
        return None if self.simulation is None else self.simulation.truth


def load_analysis_panel(data_path: str | Path | pd.DataFrame | None = None, *, mapping=None,
                        indicators: list | tuple | None = None, years: tuple[int, int] | None = None,
                        seed: int = DEFAULT_SEED, index: bool = True, warn: bool = False,
                        dgp: dict | None = None, **index_options) -> AnalysisPanel:
    """The panel an analysis starts from: validated, with the NQP index, and the truth when simulated.

    ``data_path`` None or ``""``: the default semi-synthetic panel for ``seed`` and
    ``years`` (default 2009-2022), with its simulation.  Otherwise a user's panel (a file
    path or a DataFrame), read with the optional ``mapping`` and restricted to ``years``
    (None keeps all), as :func:`load_panel`.  ``indicators`` builds the index
    (:func:`replication.data.index.add_index`, with ``index_options``) from a subset of
    the 15 (None or empty: all of them); ``index=False`` adds no index.  ``dgp`` holds
    options of the simulator (fields of :class:`replication.data.dgp.DGP`, e.g.
    ``{"dynamic_growth": 0}``) and applies to the default panel only.  Warnings about a
    user's panel are in the report; ``warn=True`` also emits them as :class:`PanelWarning`.
    Raises :class:`PanelValidationError` when the panel cannot be used.
    """
    if _is_default(data_path):
        yrs = DEFAULT_YEARS if years is None else tuple(years)
        panel, report = load_panel(seed=seed, years=yrs, report=True, mapping=mapping, **(dgp or {}))
        simulation = default_simulation(seed, yrs, **(dgp or {}))
    else:
        if dgp:
            raise TypeError(f"simulator options {sorted(dgp)} apply only to the default simulated panel, "
                            "not to your data")
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", PanelWarning)
            panel, report = load_panel(data_path, years=years, report=True, mapping=mapping)
        simulation = None
    if index:
        if indicators:
            index_options["indicators"] = list(indicators)
        panel = add_index(panel, **index_options)
    return AnalysisPanel(panel, simulation, report)
