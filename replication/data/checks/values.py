"""Values: numbers (thousands separators, Stata's '.', percent signs read), the scales a
mapping file declares, unit slips (:mod:`replication.data.units`), possible bounds
(errors) and plausible ranges (warnings)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.checks.cells import number_text, parse_numbers, plural, where
from replication.data.report import ValidationReport
from replication.data.schema import BY_NAME, INDICATORS, KEY, NUMERIC
from replication.data.units import detect_slip, slip_message

POLICY_YEARS = ("pilot_year", "broadband_year")


def check_values(df: pd.DataFrame, m, rep: ValidationReport) -> pd.DataFrame:
    """Every numeric column of the codebook parsed, scaled and bounds-checked (in place)."""
    notes: dict = {}
    for c in m.scale:
        if c not in df.columns:
            rep.warnings.append(f"the mapping file scales '{c}', which the file does not have")
    for c in [c for c in NUMERIC if c in df.columns and c not in KEY]:
        _check_column(df, c, m, rep, notes)
    for c in [c for c in INDICATORS if c in df.columns]:
        if c in df.columns and pd.api.types.is_numeric_dtype(df[c].dtype) and df[c].isna().all():
            rep.errors.append(f"[column {c}] every value is missing. Fix: fill the indicator, or drop it from the "
                              "index (indicators=...) deliberately")
    _reading_notes(notes, rep.warnings)
    return df


def _check_column(df: pd.DataFrame, c: str, m, rep: ValidationReport, notes: dict) -> None:
    """One column: numbers only, the declared scale, 0 as 'never' for policy years, then a
    unit slip, the possible bounds and the plausible range (each skips the next when it fails).
    On numpy arrays: a pandas Series only where a message needs one."""
    spec = BY_NAME[c]
    col = df[c]
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        x = col.to_numpy(dtype="float64", na_value=np.nan)  # nothing to read (parse_numbers' first case)
        changed = col.dtype != np.float64
    else:
        values, notnum = parse_numbers(col, notes)
        if notnum.any():
            ex = df.loc[notnum, c].astype(str).head(3).tolist()
            rep.errors.append(f"[column {c}] {int(notnum.sum())} non-numeric value(s), e.g. {ex} at "
                              f"{where(df, notnum)}. Fix: numbers only ({spec.unit}); leave missing cells empty")
            return
        x, changed = values.to_numpy(dtype="float64"), True
    if c in m.scale:
        f = m.scale[c]
        x, changed = x * f, True
        n = int(np.count_nonzero(~np.isnan(x)))
        rep.repairs.append({"column": c, "city_code": None, "years": "", "kind": "scale declared in the mapping file",
                            "action": f"scale x{f:g} declared in the mapping file ({n} values)"})
    if c in POLICY_YEARS:
        zero = x == 0
        if zero.any():
            cities = df.loc[zero, "city_code"].nunique()
            rep.warnings.append(f"[column {c}] {c} = 0 in {int(zero.sum())} rows ({cities} cities) read as never "
                                "treated (empty). Fix: to silence this, leave the cell empty for never-treated cities")
            x, changed = np.where(zero, np.nan, x), True
    if changed:  # a float64 column as it was needs no new copy
        df[c] = x
    if spec.slips and c not in m.scale and _unit_slip(spec, x, rep):
        return
    if _out_of_bounds(df, c, spec, x, rep.errors):
        return
    plo, phi = spec.plausible_lower, spec.plausible_upper
    if plo is not None and phi is not None:
        odd = (x < plo) | (x > phi)
        if odd.any():
            ex = ", ".join(f"{number_text(v)} (city {int(cc)}, {int(y)})" for v, cc, y in
                           zip(x[odd][:3], df.loc[odd, "city_code"].head(3), df.loc[odd, "year"].head(3)))
            rep.warnings.append(f"[column {c}] {int(odd.sum())} value(s) outside the plausible range "
                                f"{spec.plausible()} ({spec.unit}), e.g. {ex}: check them (a unit slip in some rows?)")


def _unit_slip(spec, x: np.ndarray, rep: ValidationReport) -> bool:
    """An error when the column (values ``x``) looks written in another unit (a factor of 10, 100, ...)."""
    slip = detect_slip(spec, x)
    if slip is None:
        return False
    fval, unit, med = slip
    outside = int(((x < spec.plausible_lower) | (x > spec.plausible_upper)).sum())
    header_unit = rep.info.get("header_units", {}).get(spec.name, "")
    rep.errors.append(slip_message(spec, fval, unit, med, header_unit=header_unit,
                                   rows=f"{outside} of {int(np.count_nonzero(~np.isnan(x)))} values"))
    return True


def _out_of_bounds(df: pd.DataFrame, c: str, spec, x: np.ndarray, E: list[str]) -> bool:
    """Errors for values (``x``) below or above the possible bounds; True when there are any."""
    lo_bad = (x < spec.lower) if spec.lower is not None else np.zeros(len(x), bool)
    hi_bad = (x > spec.upper) if spec.upper is not None else np.zeros(len(x), bool)
    for mask, word, bound in ((lo_bad, "below", spec.lower), (hi_bad, "above", spec.upper)):
        if mask.any():
            ex = [number_text(v) for v in x[mask][:3]]
            share = " (a share must be between 0 and 1, not a percentage)" if spec.upper == 1.0 else ""
            E.append(f"[column {c}] {int(mask.sum())} value(s) {word} the possible {number_text(bound)} ({spec.unit}), "
                     f"e.g. {ex} at {where(df, mask)}. Fix: check the unit{share}")
    return bool(lo_bad.any() or hi_bad.any())


def _reading_notes(notes: dict, W: list[str]) -> None:
    """Warnings for the readings done while parsing numbers."""
    if notes.get("thousands"):
        t = notes["thousands"]
        W.append("thousands separators read in "
                 + ", ".join(f"{c} ({n} values, e.g. '{ex}')" for c, (n, ex) in t.items()))
    if notes.get("stata"):
        W.append("Stata's missing value '.' read as missing in "
                 + ", ".join(f"{c} ({plural(n, 'cell')})" for c, n in notes["stata"].items()))
    if notes.get("percent"):
        W.append("percent signs removed in " + ", ".join(f"{c} ({n} values)" for c, n in notes["percent"].items())
                 + "; declare the unit in the mapping file if the codebook's unit is a share (scale: {col: 0.01})")
