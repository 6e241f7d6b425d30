"""The committed fact tables: counts that matter, and a fresh derivation from the sources.

The last two tests are the maintainers' provenance check, not oracle tests: they re-derive
the package's reference tables (replication/data/reference/) from the raw sources in
../shared/reference-data (``REPLICATION_SHARED`` overrides the location), which a user's
clone does not have, so there they skip."""
from __future__ import annotations

import filecmp
import subprocess
import sys

import pandas as pd

from conftest import REFERENCE, ROOT, need
from replication.data import facts


def test_roster_2009_2022_is_the_papers_285_cities():
    r = facts.roster((2009, 2022))
    assert len(r) == 285
    assert r["city_code"].is_unique
    assert r["region"].value_counts().to_dict() == {"east": 100, "central": 100, "west": 85}
    assert int(r["large_city"].sum()) == 101
    assert r["municipality"].sum() == 4
    assert r[["lon", "lat", "urban_core_pop_2020", "large_city", "province_en", "city_en"]].notna().all().all()
    names = set(r["city_zh"])
    for out in ("巢湖市", "莱芜市", "毕节市", "铜仁市", "三沙市", "儋州市", "海东市"):
        assert out not in names, out
    for inn in ("北京市", "重庆市", "拉萨市", "襄阳市", "普洱市", "克拉玛依市"):
        assert inn in names, inn


def test_roster_2011_2022_is_the_abstracts_287_cities():
    r = facts.roster((2011, 2022))
    assert len(r) == 287
    assert {"毕节市", "铜仁市"} <= set(r["city_zh"])


def test_three_belt_regions_follow_the_11_8_12_province_split():
    c = facts.cities()
    prov = c.drop_duplicates("province_code").groupby("region").size().to_dict()
    assert prov == {"east": 11, "central": 8, "west": 12}


def test_broadband_lists_map_to_roster_cities():
    b = facts.broadband()
    r = facts.roster((2009, 2022))
    counts = r["broadband_year"].value_counts().sort_index().to_dict()
    assert counts == {2014: 37, 2015: 38, 2016: 34}
    assert b["city_code"].isin(facts.cities()["city_code"]).all()
    # county-level listings count for their prefecture: Kunshan (2014) -> Suzhou
    assert int(b.loc[b["city_zh"] == "苏州市", "broadband_year"].iloc[0]) == 2014


def test_size_class_matches_the_state_council_standard():
    c = facts.cities().dropna(subset=["urban_core_pop_2020"])
    big = c["urban_core_pop_2020"] >= 1_000_000
    assert (c.loc[big, "size_class"].isin(["large_II", "large_I", "mega", "super_large"])).all()
    assert (c.loc[~big, "size_class"].isin(["medium", "small"])).all()


def test_fresh_derivation_equals_committed_tables(tmp_path):
    """Maintainers only: data/reference/derive.py on ../shared/reference-data reproduces the
    committed tables byte for byte (skips on a user's clone, which has no ../shared/)."""
    src = need(REFERENCE, "maintainers' raw sources for re-deriving data/reference/")
    proc = subprocess.run([sys.executable, str(ROOT / "data/reference/derive.py"), "--source", str(src),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("cities.csv", "broadband_china.csv", "calibration.csv"):
        assert filecmp.cmp(tmp_path / name, ROOT / "replication/data/reference" / name, shallow=False), name


def test_roster_codes_and_names_agree_with_the_crosswalk_source():
    """Maintainers only: the roster agrees with the raw crosswalk and census sources in
    ../shared/reference-data (skips on a user's clone, which has no ../shared/)."""
    src = need(REFERENCE, "maintainers' raw sources for re-deriving data/reference/")
    roster = pd.read_csv(src / "cnur_legal_roster_2000_2024.csv")
    master = pd.read_csv(src / "cnur_city_entity_master_V4.0.csv", encoding="utf-8-sig")
    code = pd.to_numeric(master.set_index("entity_id")["legacy_entity_id"].str.extract(r"^E(\d{6})$")[0])
    y22 = roster[roster["year"] == 2022].assign(city_code=lambda d: d["entity_id"].map(code))
    ours = facts.roster((2009, 2022)).merge(y22, on="city_code", how="left")
    assert (ours["legal_name_zh"] == ours["city_zh"]).all()
    census = pd.read_csv(src / "census2020_city_size_class.csv").set_index("city_code")
    r = facts.roster((2009, 2022)).set_index("city_code")
    assert (census.loc[r.index, "large_city_ge_1M"].astype(int) == r["large_city"].astype(int)).all()
