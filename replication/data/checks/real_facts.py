"""The real facts a file lacks (names, province, region, city size, coordinates, Broadband
China year), added from the reference tables (:mod:`replication.data.facts`)."""
from __future__ import annotations

import pandas as pd

from replication.data import facts
from replication.data.checks.cells import first

FACT_COLUMNS = ["city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
                "urban_core_pop_2020", "size_class", "large_city", "lon", "lat", "broadband_year"]


def fill_facts(df: pd.DataFrame, W: list[str], resolved_by_name: bool = False) -> pd.DataFrame:
    """Add real facts (names, region, size, coordinates, Broadband China) missing from the file."""
    if resolved_by_name:  # the file's spelling of names gives way to the roster's
        df = df.drop(columns=[c for c in ("city_zh", "city_en", "province_zh", "province_en") if c in df.columns])
    add = [c for c in FACT_COLUMNS if c not in df.columns]
    if add:
        ref = facts.cities().merge(facts.broadband()[["city_code", "broadband_year"]], on="city_code", how="left")
        df = df.merge(ref[["city_code"] + add], on="city_code", how="left", validate="many_to_one")
        W.append(f"filled {add} from the real fact tables (replication/data/reference/)")
        lacking = df.loc[df["large_city"].isna(), "city_code"].unique() if "large_city" in add else []
        if len(lacking):
            names = ref.set_index("city_code")
            which = first(str(int(c)) + " " + str(names.loc[c, "city_en"]) for c in lacking)
            W.append(f"no 2020 census city size for {len(lacking)} city(ies) {which} (abolished before the 2020 "
                     "census, or not in it): size_class and large_city are empty for them, and analyses by city size "
                     "leave them out")
    df["broadband_year"] = df["broadband_year"].astype("Float64").astype("Int64")
    return df
