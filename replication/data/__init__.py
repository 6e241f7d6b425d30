"""Data: schema, real fact tables, the semi-synthetic simulator, loading and validation.

>>> from replication.data import load_panel
>>> panel = load_panel()                     # the default semi-synthetic panel (3990 rows)
>>> panel = load_panel("data/raw/panel.csv")  # your own yearbook panel, validated
>>> panel, report = load_panel("data/raw/panel.xlsx", mapping="data/raw/mapping.yaml",
...                            years=(2011, 2022), report=True)
>>> report.overview(); report.roster_comparison(); report.unbalanced_cities(); report.repairs_table()

Reading what people have (encodings, Excel, yearbook headers through the alias table, city
names, former codes, declared unit scales) is described in ``data/README.md``, "Bringing
your own data"; the modules: :mod:`.read`, :mod:`.mapping`, :mod:`.aliases`, :mod:`.names`,
:mod:`.units`, :mod:`.validate`, :mod:`.report`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from replication.data import facts, schema
from replication.data.schema import CONTROLS, INDICATORS, MEDIATORS, THRESHOLD
from replication.data.mapping import load_mapping
from replication.data.read import read_panel_file
from replication.data.report import PanelValidationError, PanelWarning, ValidationReport
from replication.data.simulate import DGP, SimulatedPanel, simulate_panel
from replication.data.validate import add_derived, validate_panel

DEFAULT_SEED = 20251206  # the paper's publication date; the default panel is this draw
DEFAULT_YEARS = (2009, 2022)

__all__ = ["load_panel", "simulate_panel", "validate_panel", "read_panel_file", "PanelValidationError", "PanelWarning",
           "ValidationReport", "SimulatedPanel", "DGP", "DEFAULT_SEED", "DEFAULT_YEARS", "INDICATORS",
           "CONTROLS", "MEDIATORS", "THRESHOLD", "facts", "schema", "add_derived", "default_simulation", "load_mapping"]

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
