"""Policy timing: ``pilot_year`` (derived from ``did`` when the file has no timing) and
``broadband_year`` constant within a city and whole; ``did``, ``treat`` and ``broadband``
always derived from them (:func:`add_derived`), a file's own copies compared; a panel in
which no pilot city is seen before and after its pilot year is an error."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.data.checks.cells import first, parse_numbers, plural, where
from replication.data.report import ValidationReport, year_ranges
from replication.data.schema import DERIVED, KEY


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``treat``, ``did`` (Treat x Post) and ``broadband`` from the policy years."""
    df = df.copy()
    py = df["pilot_year"].astype("Float64")
    by = df["broadband_year"].astype("Float64") if "broadband_year" in df else pd.Series(np.nan, index=df.index)
    year = df["year"]
    if isinstance(year.dtype, np.dtype) and year.dtype.kind in "iuf":  # plain numbers: on numpy arrays
        yv = year.to_numpy()
        for col, policy in (("treat", None), ("did", py), ("broadband", by)):
            has = (py if policy is None else policy).notna().to_numpy()
            on = has if policy is None else has & (yv >= policy.to_numpy(dtype="float64", na_value=np.inf))
            df[col] = on.astype(int)
        return df
    df["treat"] = py.notna().astype(int).to_numpy()
    df["did"] = (py.notna() & (df["year"] >= py.fillna(np.inf))).astype(int).to_numpy()
    df["broadband"] = (by.notna() & (df["year"] >= by.fillna(np.inf))).astype(int).to_numpy()
    return df


def check_policy(df: pd.DataFrame, rep: ValidationReport) -> pd.DataFrame:
    """Sort by key, check and derive the policy timing (errors, warnings, repairs into rep)."""
    E = rep.errors
    df = (df if _sorted_by_key(df) else df.sort_values(list(KEY))).reset_index(drop=True)
    df.attrs.pop("line_offset", None)
    given = {c: _binary(df, c, rep) if c in df.columns else None for c in ("did", "treat", "broadband")}
    if E:
        return df
    if "pilot_year" not in df.columns:
        _pilot_year_from_did(df, given["did"], rep)
        given["did"] = None  # it defined the timing; nothing to compare
    for c in ("pilot_year", "broadband_year"):
        if c in df.columns:
            _one_year_per_city(df, c, E)
    if E:
        return df
    _compare_with_derived(df, given, rep.warnings)
    derived = [c for c in DERIVED if c in df.columns]
    if derived:
        df = df.drop(columns=derived)
    _check_timing(df, rep)
    return df


def _sorted_by_key(df: pd.DataFrame) -> bool:
    """Whether the integer keys are already in ``sort_values(KEY)``'s order (then sorting changes nothing)."""
    c, y = (df[k].to_numpy() for k in KEY)
    if c.dtype.kind not in "iu" or y.dtype.kind not in "iu":
        return False
    return bool(((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (y[1:] >= y[:-1]))).all())


def _city_starts(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First and last row of each city of a panel sorted by key (cities in ascending order)."""
    city = df["city_code"].to_numpy()
    start = np.flatnonzero(np.r_[True, city[1:] != city[:-1]])
    return start, np.r_[start[1:], len(city)] - 1


def _binary(df: pd.DataFrame, c: str, rep: ValidationReport) -> pd.Series | None:
    values, notnum = parse_numbers(df[c], {})
    bad = notnum | ~(values.isin([0, 1]) | values.isna())
    if bad.any():
        ex = df.loc[bad, c].astype(str).head(3).tolist()
        rep.errors.append(f"[column {c}] {int(bad.sum())} value(s) are not 0/1, e.g. {ex} at {where(df, bad)}. "
                          f"Fix: {c} is 0 or 1")
        return None
    return values


def _pilot_year_from_did(df: pd.DataFrame, did: pd.Series, rep: ValidationReport) -> None:
    """df["pilot_year"] = the first year with did = 1 (in place), each a repair, with a warning."""
    d = df.assign(_d=did)
    firsts = d[d["_d"] == 1].groupby("city_code")["year"].min()
    df["pilot_year"] = df["city_code"].map(firsts).astype("Float64")
    starts = d.groupby("city_code")["year"].min()
    at_start = [int(c) for c, y in firsts.items() if y == starts.loc[c]]
    after = d[d["year"] >= df["pilot_year"].astype("float64").fillna(np.inf)]
    back = sorted({int(c) for c in after.loc[after["_d"] == 0, "city_code"]})
    for c, y in firsts.items():
        rep.repairs.append({"column": "pilot_year", "city_code": int(c), "years": str(int(y)),
                            "action": "derived from did: the first year with did = 1",
                            "kind": "pilot_year derived from did"})
    msg = (f"[column pilot_year] not in the file: derived from did as the first year with did = 1 for "
           f"{len(firsts)} treated cities ({df['city_code'].nunique() - len(firsts)} never treated)")
    if at_start:
        msg += (f"; {len(at_start)} cities have did = 1 in their first year ({first(at_start)}): their pilot "
                "year is that year or earlier")
    if back:
        msg += f"; did returns to 0 after a 1 in {len(back)} cities ({first(back)}): did stays 1 from the first 1"
    rep.warnings.append(msg + ". Fix: supply pilot_year to be exact")


def _one_year_per_city(df: pd.DataFrame, c: str, E: list[str]) -> None:
    """A policy year is the same in every row of a city and a whole year (made Int64 in place);
    ``df`` is sorted by key."""
    v = df[c].to_numpy() if df[c].dtype == np.float64 else None
    if v is not None:  # the cities' rows are contiguous: a city differs where two of its neighbours do
        a, b, city = v[1:], v[:-1], df["city_code"].to_numpy()
        differs = (city[1:] == city[:-1]) & ~((a == b) | (np.isnan(a) & np.isnan(b)))
        bad_cities = [int(x) for x in np.unique(city[1:][differs])]
    else:
        nun = df.groupby("city_code")[c].nunique(dropna=False)
        bad_cities = [int(x) for x in nun[nun > 1].index]
    if bad_cities:
        E.append(f"[column {c}] differs across years within {len(bad_cities)} city(ies) {first(bad_cities)}. "
                 f"Fix: {c} is the first year of the policy, the same in every row of a city")
        return
    whole = (v[~np.isnan(v)] % 1 == 0).all() if v is not None else not (df[c].dropna() % 1 != 0).any()
    if not whole:
        E.append(f"[column {c}] must be a whole year or empty")
    df[c] = df[c].astype("Float64").round().astype("Int64")


def _compare_with_derived(df: pd.DataFrame, given: dict, W: list[str]) -> None:
    """A warning for each of the file's did, treat, broadband that disagrees with the derived one."""
    if all(v is None for v in given.values()):
        return  # the file has none of them
    derived = add_derived(df[["city_code", "year", "pilot_year"]
                             + (["broadband_year"] if "broadband_year" in df.columns else [])])
    for c in ("did", "treat", "broadband"):
        mine = given[c]
        if mine is None or (c == "broadband" and "broadband_year" not in df.columns):
            continue
        ours = derived[c]
        diff = mine.notna() & (mine != ours)
        if not diff.any():
            continue
        cities = df.loc[diff, "city_code"].drop_duplicates()
        ex = []
        for code in cities.head(3):
            rows = df.index[diff & (df["city_code"] == code)]
            ys = year_ranges(df.loc[rows, "year"])
            ex.append(f"{int(code)} ({ys}: file {int(mine[rows[0]])}, derived {int(ours[rows[0]])})")
        base = "pilot_year" if c != "broadband" else "broadband_year"
        more = " and more" if len(cities) > 3 else ""
        W.append(f"[column {c}] your {c} disagrees with the {c} derived from {base} in "
                 f"{plural(int(diff.sum()), 'row')} of {plural(len(cities), 'city', 'cities')}, e.g. {', '.join(ex)}"
                 f"{more}; the derived {c} is used. Fix: correct {base}, or drop your {c} column")


def _check_timing(df: pd.DataFrame, rep: ValidationReport) -> None:
    """Pilot years outside the panel (warnings); no pilot city seen before and after (an error).
    ``df`` is sorted by key, its pilot_year the same in every row of a city."""
    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    start, end = _city_starts(df)
    codes, year = df["city_code"].to_numpy()[start], df["year"].to_numpy()
    pilot = df["pilot_year"].to_numpy(dtype="float64", na_value=np.nan)[start]  # each city's (first) pilot year
    early, late = pilot < ymin, pilot > ymax
    if early.any():
        rep.warnings.append(f"pilot_year before the first panel year {ymin} for {int(early.sum())} city(ies) "
                            f"{first(int(c) for c in codes[early])}: they are treated in every year and contribute "
                            "no before/after contrast")
    if late.any():
        rep.warnings.append(f"pilot_year after the last panel year {ymax} for {int(late.sum())} city(ies) "
                            f"{first(int(c) for c in codes[late])}: they are untreated throughout the panel")
    treated = ~np.isnan(pilot)
    switchers = treated & (year[start] < pilot) & (pilot <= year[end])
    if treated.any() and not switchers.any():
        first_batch = int(pilot[treated].min())
        rep.errors.append(f"[column pilot_year] no pilot city is observed both before and after its pilot year in "
                          f"{ymin}-{ymax} (the first batch is {first_batch}), so the difference-in-differences effect "
                          f"cannot be estimated. Fix: start the panel before the first batch (-p "
                          f"first_year={first_batch - 1} or earlier; validate --years {first_batch - 1} {ymax})")
