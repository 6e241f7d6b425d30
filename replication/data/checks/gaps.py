"""Balance and interpolation: missing years and cities that lack some years are warnings;
a short interior gap (at most :data:`MAX_GAP` years) is interpolated linearly within city,
as the paper does, each run a repair; gaps at a city's edge, longer gaps and cities
without any value are errors.  Vectorised: one pass per column over the sorted panel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.data.checks.cells import first
from replication.data.report import ValidationReport, year_ranges
from replication.data.schema import INDICATORS

MAX_GAP = 2  # longest interior run of missing years that is interpolated
FILL_COLUMNS = list(INDICATORS) + ["pd", "pergdp", "urb", "gov", "loi", "hc", "st", "isu"]


def check_gaps(df: pd.DataFrame, rep: ValidationReport, interpolate: bool) -> pd.DataFrame:
    """Report balance; interpolate the short interior gaps of every value column (in place)."""
    cities = _Cities.of(df)
    _balance_warnings(df, cities, rep.warnings)
    for c in [c for c in FILL_COLUMNS if c in df.columns]:
        v = df[c].to_numpy(dtype="float64")
        if np.isnan(v).any():
            filled = _fill_column(c, v, cities, rep, interpolate)
            if filled is not None:
                df[c] = filled
    return df


def _balance_warnings(df: pd.DataFrame, cities: "_Cities", W: list[str]) -> None:
    yr = cities.yr
    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    all_years = set(range(ymin, ymax + 1))
    present = set(int(y) for y in np.unique(yr))
    if len(present) < len(all_years):
        W.append(f"no rows at all for year(s) {year_ranges(all_years - present)}")
    # distinct years per city (rows sorted by city and year: a new year is a change from the row before)
    new_year = np.r_[True, (cities.city[1:] != cities.city[:-1]) | (yr[1:] != yr[:-1])]
    per_city = np.add.reduceat(new_year.astype(np.int64), cities.grp_start)
    short = np.flatnonzero(per_city < len(present))
    if len(short):
        codes = cities.city[cities.grp_start]
        W.append(f"unbalanced panel: {len(short)} city(ies) lack some years, e.g. "
                 f"{first(f'{int(codes[i])} ({int(per_city[i])} years)' for i in short)}; estimators that need a "
                 "balanced panel (the threshold model) will name them (report.unbalanced_cities() lists them all)")


@dataclass(frozen=True)
class _Cities:
    """The rows of the panel (sorted by city and year) grouped by city."""

    city: np.ndarray  # city code of each row
    yr: np.ndarray  # year of each row (float)
    grp: np.ndarray  # 0, 1, ... city number of each row
    grp_start: np.ndarray  # first row of each city
    grp_end: np.ndarray  # last row of each city

    @classmethod
    def of(cls, df: pd.DataFrame) -> "_Cities":
        city = df["city_code"].to_numpy()
        new_city = np.r_[True, city[1:] != city[:-1]]
        start = np.flatnonzero(new_city)
        return cls(city, df["year"].to_numpy(dtype="float64"), np.cumsum(new_city) - 1, start,
                   np.r_[start[1:], len(df)] - 1)


def _fill_column(c: str, v: np.ndarray, cities: _Cities, rep: ValidationReport, interpolate: bool):
    """The column with its short interior gaps interpolated (None when none is), the
    repairs and the errors for the gaps that cannot be filled into rep."""
    n, grp, city, yr = len(v), cities.grp, cities.city, cities.yr
    miss = np.isnan(v)
    # previous and next valid row within the same city (-1 when there is none)
    last_valid = np.maximum.accumulate(np.where(miss, -1, np.arange(n)))
    next_valid = np.minimum.accumulate(np.where(miss, n, np.arange(n))[::-1])[::-1]
    prev = np.where((last_valid >= 0) & (last_valid >= cities.grp_start[grp]), last_valid, -1)
    nxt = np.where((next_valid < n) & (next_valid <= cities.grp_end[grp]), next_valid, -1)
    whole = np.bincount(grp, weights=(~miss).astype(float))[grp] == 0
    idx = np.flatnonzero(miss)
    # runs of consecutive missing rows within a city: first row, last row, length and kind of each
    new_run = np.r_[True, (np.diff(idx) != 1) | (grp[idx][1:] != grp[idx][:-1])]
    first_row, last_row = idx[new_run], idx[np.r_[new_run[1:], True]]
    length = last_row - first_row + 1
    is_whole = whole[first_row]
    is_edge = ~is_whole & ((prev[first_row] < 0) | (nxt[first_row] < 0))
    is_long = ~is_whole & ~is_edge & ((length > MAX_GAP) | (not interpolate))
    problems = {"whole": [], "edge": [], "long": []}
    for code, y0, y1, k, w, e, g in zip(city[first_row].tolist(), yr[first_row].tolist(), yr[last_row].tolist(),
                                        length.tolist(), is_whole.tolist(), is_edge.tolist(), is_long.tolist()):
        code = int(code)
        ys = f"{int(y0)}" + (f"-{int(y1)}" if k > 1 else "")
        if w:
            if not problems["whole"] or problems["whole"][-1] != code:
                problems["whole"].append(code)
        elif e:
            problems["edge"].append(f"{code} ({ys})")
        elif g:
            problems["long"].append(f"{code} ({ys}, {k} consecutive years)" if k > 1 else f"{code} ({ys})")
        else:
            rep.repairs.append({"column": c, "city_code": code, "years": ys,
                                "action": "linear interpolation between neighbouring years",
                                "kind": "gaps filled by linear interpolation between neighbouring years"})
    _gap_errors(c, problems, interpolate, rep.errors)
    filled_run = ~(is_whole | is_edge | is_long)
    if not filled_run.any():
        return None
    fill = np.zeros(n, dtype=bool)
    fill[idx[filled_run[np.cumsum(new_run) - 1]]] = True
    p, q = prev[fill], nxt[fill]
    v = v.copy()
    v[fill] = v[p] + (yr[fill] - yr[p]) * (v[q] - v[p]) / (yr[q] - yr[p])
    return v


def _gap_errors(c: str, problems: dict, interpolate: bool, E: list[str]) -> None:
    if problems["whole"]:
        w = problems["whole"]
        E.append(f"[column {c}] {len(w)} city(ies) have no value in any year (whole-city gap): {first(w)}. "
                 "Fix: supply the values, or drop those cities from the panel deliberately")
    if problems["edge"]:
        w = problems["edge"]
        E.append(f"[column {c}] {len(w)} gap(s) at the edge of a city's years, where interpolation is impossible: "
                 f"{first(w)}. Fix: supply the values (or extrapolate them yourself and say so)")
    if problems["long"]:
        w = problems["long"]
        what = "gaps" if interpolate else "gaps (interpolate=False)"
        E.append(f"[column {c}] {len(w)} interior {what} that are not interpolated: {first(w)}. Fix: supply the "
                 f"values; only gaps of up to {MAX_GAP} interior years are interpolated")
