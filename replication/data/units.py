"""Units: recognising a column that arrived in another unit than the codebook's.

Each measured column of the schema has a plausible range (generous, in the codebook's
unit) and a list of recognised unit slips (``Column.slips``: the factor that converts the
likely wrong unit to the codebook's).  A column is a unit slip when its median lies outside
the plausible range while, times a slip's factor, its median lies inside and at least 90 %
of its values do.  The validator then stops with an error naming the column, the likely
unit and the fix as the user types it: the mapping-file line ``scale: {pergdp: 0.0001}``.
Nothing is ever rescaled without that declaration.
"""
from __future__ import annotations

import numpy as np

from replication.data.schema import Column

INSIDE = 0.9  # share of values that must be plausible after the factor


def _fmt(x: float) -> str:
    if x == 0 or not np.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


def factor_text(f: float) -> str:
    return f"{f:g}" if f >= 1e-4 else f"{f:.0e}".replace("e-0", "e-")


def detect_slip(spec: Column, values: np.ndarray) -> tuple[float, str, float] | None:
    """(factor, likely unit, median) when the values fit a recognised unit slip, else None."""
    lo, hi = spec.plausible_lower, spec.plausible_upper
    if not spec.slips or lo is None or hi is None:
        return None
    x = values[np.isfinite(values)]
    if len(x) < 3:
        return None
    med = float(np.median(x))
    if lo <= med <= hi:
        return None
    for f, unit in spec.slips:
        y = x * f
        if lo <= float(np.median(y)) <= hi and np.mean((y >= lo) & (y <= hi)) >= INSIDE:
            return f, unit, med
    return None


def slip_message(spec: Column, factor: float, unit: str, median: float, header_unit: str = "",
                 rows: str = "") -> str:
    said = f"; the header says '{header_unit}'" if header_unit else ""
    where = f" ({rows} outside it)" if rows else ""
    return (f"[column {spec.name}] the values look like {unit}, not {spec.unit}: median {_fmt(median)}, "
            f"while the plausible range is {spec.plausible()} in the codebook's unit{where}{said}. Fix: declare the "
            f"unit in a mapping file, `scale: {{{spec.name}: {factor_text(factor)}}}` (then "
            f"`--map mapping.yaml`, `-p mapping=mapping.yaml` or `mapping=...`)")
