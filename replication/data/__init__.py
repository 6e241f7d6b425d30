"""Data: schema, real fact tables, the semi-synthetic simulator, loading and validation.

>>> from replication.data import load_panel
>>> panel = load_panel()                     # the default semi-synthetic panel (3990 rows)
>>> panel = load_panel("data/raw/panel.csv")  # your own yearbook panel, validated
>>> panel, report = load_panel("data/raw/panel.xlsx", mapping="data/raw/mapping.yaml",
...                            years=(2011, 2022), report=True)
>>> report.overview(); report.roster_comparison(); report.unbalanced_cities(); report.repairs_table()
>>> data = load_analysis_panel()              # validated, with the NQP index, and the truth
>>> data.panel, data.truth, data.report

Reading what people have (encodings, Excel, yearbook headers through the alias table, city
names, former codes, declared unit scales) is described in ``data/README.md``, "Bringing
your own data"; the modules: :mod:`.read`, :mod:`.mapping`, :mod:`.aliases`, :mod:`.names`,
:mod:`.units`, :mod:`.validate` (its stages in :mod:`.checks`), :mod:`.report`; loading in
:mod:`.loading`, the simulator in :mod:`.simulate` (:mod:`.dgp`, :mod:`.truth`).
"""
from __future__ import annotations

from replication.data import facts, schema
from replication.data.loading import (_SIM_CACHE, DEFAULT_SEED, DEFAULT_YEARS, AnalysisPanel, default_simulation,
                                      load_analysis_panel, load_panel)
from replication.data.mapping import load_mapping
from replication.data.read import read_panel_file
from replication.data.report import PanelValidationError, PanelWarning, ValidationReport
from replication.data.schema import CONTROLS, INDICATORS, MEDIATORS, THRESHOLD
from replication.data.simulate import DGP, SimulatedPanel, simulate_panel
from replication.data.validate import add_derived, validate_panel

__all__ = ["load_panel", "load_analysis_panel", "AnalysisPanel", "simulate_panel", "validate_panel", "read_panel_file",
           "PanelValidationError", "PanelWarning", "ValidationReport", "SimulatedPanel", "DGP", "DEFAULT_SEED",
           "DEFAULT_YEARS", "INDICATORS", "CONTROLS", "MEDIATORS", "THRESHOLD", "facts", "schema", "add_derived",
           "default_simulation", "load_mapping"]
