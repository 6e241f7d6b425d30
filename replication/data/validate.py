"""Reading and validating a city-year panel against the canonical schema.

Every problem is reported once per problem and column, grouped (counts plus the first few
cities, years or file lines; header = line 1), with the fix as the user would type it: a
CLI flag, a mapping-file line or a parameter.  Problems that make the data unusable are
*errors*: :func:`validate_panel` collects all of them (stage by stage) and
``load_panel`` raises one :class:`PanelValidationError`.  Problems that can be repaired
safely are *repairs* (a declared unit scale, a city name resolved to its code, a short
interior gap interpolated linearly within city as the paper does): listed in the report,
never applied silently.  What was read and checked is in the report's data-report tables
(:mod:`replication.data.report`).

Stages: read the file (:mod:`.read`) -> mapping file (:mod:`.mapping`) -> column names
(alias table, :mod:`.aliases`; :mod:`.checks.columns`) -> city and year keys
(:mod:`.names`; :mod:`.checks.keys`, :mod:`.checks.cities`), the years subset -> values
(numbers, declared scales, unit slips :mod:`.units`, bounds; :mod:`.checks.values`) ->
policy timing (pilot_year, did, treat; :mod:`.checks.policy`) -> balance and
interpolation (:mod:`.checks.gaps`) -> real facts and derived columns
(:mod:`.checks.real_facts`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from replication.data import facts
from replication.data.checks.columns import check_columns
from replication.data.checks.gaps import MAX_GAP, check_gaps
from replication.data.checks.keys import check_keys
from replication.data.checks.policy import add_derived, check_policy
from replication.data.checks.real_facts import fill_facts
from replication.data.checks.values import check_values
from replication.data.mapping import load_mapping
from replication.data.read import read_panel_file
from replication.data.report import PanelValidationError, ValidationReport

__all__ = ["validate_panel", "read_panel_file", "PanelValidationError", "ValidationReport", "add_derived", "MAX_GAP"]


def validate_panel(data: pd.DataFrame | str | Path, *, years: tuple[int, int] | None = None,
                   interpolate: bool = True, source: str | None = None, mapping=None) -> ValidationReport:
    """Check a panel (DataFrame or file path) and return a report with the clean panel.

    ``years=(a, b)`` keeps the rows of those years (the report says how many were dropped);
    ``mapping`` is a mapping file (path) or dict (format in ``data/README.md``).  Never
    raises for data problems: they are in ``report.errors`` (use :func:`load_panel`,
    which raises :class:`PanelValidationError`).
    """
    m, map_errors = load_mapping(mapping)
    rep, df = _read(data, source, m)
    if df is None:  # the file cannot be read: the reasons after the mapping file's
        rep.errors[:0] = map_errors
        return rep
    rep.info["rows_read"] = len(df)
    if years is not None:
        rep.info["years_requested"] = facts._check_years(years)
    rep.warnings += list(df.attrs.get("read_notes") or [])
    if map_errors:
        rep.errors += map_errors
        return rep
    stages = (lambda d: check_columns(d, m, rep), lambda d: check_keys(d, m, rep, years),
              lambda d: check_values(d, m, rep), lambda d: check_policy(d, rep),
              lambda d: check_gaps(d, rep, interpolate))
    for stage in stages:  # each stage sees a panel the previous ones found usable
        df = stage(df)
        if rep.errors:
            return rep
    df = fill_facts(df, rep.warnings, resolved_by_name=rep.info.get("resolved_by_name", False))
    rep.panel = add_derived(df)
    return rep


def _read(data, source: str | None, m) -> tuple[ValidationReport, pd.DataFrame | None]:
    """(report, the panel as read) from a file or a DataFrame (a copy); the panel is None
    when the file cannot be read (the reasons are in the report)."""
    if isinstance(data, (str, Path)):
        rep = ValidationReport(source or str(data), info={"is_file": True})
        try:
            df = read_panel_file(data, sheet=m.sheet)
        except PanelValidationError as e:
            rep.errors += e.problems
            return rep, None
        rep.sha256 = df.attrs.get("sha256")
        return rep, df
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame or a file path, got {type(data).__name__}")
    rep = ValidationReport(source or "<DataFrame>", info={"is_file": False})
    attrs = dict(data.attrs)
    df = data.copy()
    df.attrs = {k: v for k, v in attrs.items() if k in ("line_offset", "read_notes")}
    return rep, df
