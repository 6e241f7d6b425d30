"""Real fact tables (package data in ``replication/data/reference/``) and the roster rule.

The tables ship inside the package, so an installed copy (``pip install .``) reads them
without the checkout.  They are derived from public sources by the maintainers' script
``data/reference/derive.py``; see ``replication/data/reference/README.md`` for provenance
and licences.  Nothing here reads ``../shared/``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from replication._paths import REFERENCE_DIR

MUNICIPALITIES = (110100, 120100, 310100, 500100)  # Beijing, Tianjin, Shanghai, Chongqing


def _read(name: str) -> pd.DataFrame:
    path: Path = REFERENCE_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"fact table {path} is missing; it ships inside the package (replication/data/reference/). "
            "Reinstall the package (pip install .), or in a checkout restore the file from git.")
    return pd.read_csv(path)


@lru_cache(maxsize=None)
def _cities() -> pd.DataFrame:
    df = _read("cities.csv")
    for c in ("resident_pop_2020", "urban_core_pop_2020", "large_city"):
        df[c] = df[c].astype("Int64")
    return df


def cities() -> pd.DataFrame:
    """Every entity that held prefecture-level city status in some year 2000-2024."""
    return _cities().copy()


@lru_cache(maxsize=None)
def _broadband() -> pd.DataFrame:
    return _read("broadband_china.csv")


def broadband() -> pd.DataFrame:
    """Broadband China demonstration cities, first batch year per prefecture city."""
    return _broadband().copy()


def calibration() -> dict[str, float]:
    """Real moments used to scale the simulator (see ``calibration.csv``)."""
    df = _read("calibration.csv")
    return dict(zip(df["moment"], df["value"].astype(float)))


def roster(years: tuple[int, int] = (2009, 2022)) -> pd.DataFrame:
    """The balanced city roster for a span of years.

    Rule: a city is in the panel iff it held prefecture-level *city* status (a 市,
    or one of the four municipalities) at every year end from ``years[0]`` to
    ``years[1]``.  Prefectures that are not cities (地区, 自治州, 盟) are never
    in; cities created inside the span (Bijie and Tongren 2011, Sansha 2012,
    Haidong 2013, Danzhou 2015, the Tibetan and Xinjiang upgrades) and cities
    abolished inside it (Chaohu 2011, Laiwu 2019) are out, because the analysis
    panel is balanced.  For 2009-2022 this yields 285 cities (the paper's
    N = 3990 = 285 x 14); for 2011-2022 it yields 287, the count in the paper's
    abstract.

    Returns one row per city with the facts and ``broadband_year`` merged in.
    """
    a, b = _check_years(years)
    c = _cities()
    out = c[(c["city_from"] <= a) & (c["city_to"] >= b)].copy()
    bb = _broadband()[["city_code", "broadband_year"]]
    out = out.merge(bb, on="city_code", how="left", validate="one_to_one")
    out["broadband_year"] = out["broadband_year"].astype("Int64")
    return out.sort_values("city_code").reset_index(drop=True)


def _check_years(years) -> tuple[int, int]:
    try:
        a, b = (int(years[0]), int(years[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"years must be a pair (first, last), e.g. (2009, 2022); got {years!r}") from None
    if not (2000 <= a <= b <= 2024):
        raise ValueError(
            f"years={years!r}: the roster covers year ends 2000-2024 and first <= last is required")
    if b - a < 1:
        raise ValueError(f"years={years!r}: a difference-in-differences panel needs at least two years")
    return a, b
