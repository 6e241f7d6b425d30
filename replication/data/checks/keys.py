"""The keys: whole calendar years, city codes (:mod:`.cities`), the years asked for, one row
per city and year, and enough cities and years for a difference-in-differences panel."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.checks.cells import first, integer_like, where
from replication.data.checks.cities import resolve_cities
from replication.data.report import ValidationReport, year_ranges
from replication.data.schema import KEY

YEAR_SPAN = (2000, 2024)  # the reference roster's span: other years are impossible


def check_keys(df: pd.DataFrame, m, rep: ValidationReport, years) -> pd.DataFrame:
    """Parse year and city_code (names resolved to codes), keep the requested years, check
    the keys are unique and the panel has several cities and years."""
    E = rep.errors
    if not _parse_years(df, E):
        return df
    resolve_cities(df, m, rep)
    if E:
        return df
    if df["city_code"].dtype != np.int64:
        df["city_code"] = df["city_code"].astype("int64")
    if years is not None:
        df = _keep_years(df, rep)
        if E:
            return df
    dupkey = _duplicated_keys(df)
    if dupkey.any():
        ex = [(int(c), int(y)) for c, y in df.loc[dupkey, list(KEY)].drop_duplicates().head(3).itertuples(index=False)]
        E.append(f"[columns city_code, year] {int(dupkey.sum())} rows share a city-year key, e.g. {ex} at "
                 f"{where(df, dupkey)}. Fix: keep one row per city and year")
    if df["city_code"].nunique() < 2:
        E.append("only one city: a difference-in-differences panel needs many cities. Fix: supply the full panel")
    if df["year"].nunique() < 2:
        E.append("only one year: a difference-in-differences panel needs several years. Fix: supply the full panel")
    return df


def _duplicated_keys(df: pd.DataFrame) -> pd.Series:
    """``df.duplicated(KEY, keep=False)``: every row whose city-year key another row has
    (integer keys: by sorting them, without hashing)."""
    c, y = (df[k].to_numpy() for k in KEY)
    if c.dtype != np.int64 or y.dtype != np.int64:
        return df.duplicated(list(KEY), keep=False)
    order = np.lexsort((y, c))
    cs, ys = c[order], y[order]
    same = (cs[1:] == cs[:-1]) & (ys[1:] == ys[:-1])
    dup = np.zeros(len(c), bool)
    dup[order[1:][same]] = True
    dup[order[:-1][same]] = True
    return pd.Series(dup, index=df.index)


def _parse_years(df: pd.DataFrame, E: list[str]) -> bool:
    """df["year"] as integers (in place); False when a value is not a whole number."""
    year = df["year"]
    if year.dtype == np.int64 and ((year.to_numpy() >= YEAR_SPAN[0]) & (year.to_numpy() <= YEAR_SPAN[1])).all():
        return True  # whole years in the roster's span already: nothing to parse or report
    yv, bad = integer_like(year)
    if bad.any():
        ex = df.loc[np.asarray(bad), "year"].astype(str).head(3).tolist()
        E.append(f"[column year] {int(bad.sum())} value(s) are not whole numbers, e.g. {ex} at {where(df, bad)}. "
                 "Fix: calendar years as integers")
        return False
    lo, hi = YEAR_SPAN
    impossible = ~yv.between(lo, hi)
    if impossible.any():
        ex = sorted({int(y) for y in yv[impossible]})
        E.append(f"[column year] {int(impossible.sum())} row(s) have impossible years {first(ex)} at "
                 f"{where(df, impossible)}: the reference roster spans {lo}-{hi}. Fix: correct the years (a typo?) "
                 "or delete those rows")
    df["year"] = yv.astype("int64") if not impossible.any() else yv
    return True


def _keep_years(df: pd.DataFrame, rep: ValidationReport) -> pd.DataFrame:
    """The rows of the requested years (``rep.info["years_requested"]``); what was dropped is a warning."""
    a, b = rep.info["years_requested"]
    out = ~df["year"].between(a, b)
    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    rep.info["file_years"] = (ymin, ymax)
    if out.all():
        rep.errors.append(f"[column year] no rows in the requested years {a}-{b}: the file covers {ymin}-{ymax}. Fix: "
                          f"ask for the file's years, -p first_year={ymin} -p last_year={ymax} (book), --years {ymin} "
                          f"{ymax} (validate) or years=({ymin}, {ymax})")
        return df
    if out.any():
        dropped = sorted({int(y) for y in df.loc[out, "year"]})
        rep.info["rows_dropped_by_years"] = int(out.sum())
        rep.info["years_dropped"] = year_ranges(dropped)
        rep.warnings.append(f"years {a}-{b} requested: {int(out.sum())} row(s) of the years {year_ranges(dropped)} "
                            f"dropped (the file covers {ymin}-{ymax})")
        df = df[~out]
    return df
