"""Derive the project's real fact tables from ``../shared/reference-data/``.

Maintainer script, not part of the analysis (and not shipped in the package): it is the
only code besides the cross-check tests that reads the shared reference folder. Run it
from the project root::

    .venv/bin/python data/reference/derive.py [--source ../shared/reference-data] [--out replication/data/reference]

It writes three compact tables into the package's data folder (ours, with provenance in
``replication/data/reference/README.md``; ``city_history.csv`` there is transcribed by hand,
not derived):

``cities.csv``
    every entity that was a prefecture-level *city* (name ending in 市, or one of
    the four municipalities) at some year end 2000-2024, with its 6-digit code,
    names, province, region, the contiguous span of years in which it held city
    status (``city_from``/``city_to``), 2020 census urban-core population and the
    State Council 2014 size class, and seat coordinates.  Prefectures that are not
    cities (地区, 自治州, 盟) are never rows: they hold city status in no year.
``broadband_china.csv``
    the Broadband China demonstration lists 2014/2015/2016 mapped to prefectures;
    ``broadband_year`` is the first batch in which the city, or a county-level city
    or district inside it, was listed.
``calibration.csv``
    a handful of real moments (2012 cross-section of the 2004-2012 city panel) the
    simulator uses to put its levels on realistic scales.

The roster rule itself (which cities form a panel for given years) lives in
``replication.data.facts.roster``: a city is in the panel for years a..b iff it
held city status at every year end from a to b.  For 2009-2022 that gives the
paper's 285 cities; for 2011-2022, the 287 of its abstract.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / ".." / "shared" / "reference-data"
DEFAULT_OUT = HERE.parents[1] / "replication" / "data" / "reference"  # package data

PROVINCE_EN = {
    "北京市": "Beijing", "天津市": "Tianjin", "河北省": "Hebei", "山西省": "Shanxi",
    "内蒙古自治区": "Inner Mongolia", "辽宁省": "Liaoning", "吉林省": "Jilin",
    "黑龙江省": "Heilongjiang", "上海市": "Shanghai", "江苏省": "Jiangsu",
    "浙江省": "Zhejiang", "安徽省": "Anhui", "福建省": "Fujian", "江西省": "Jiangxi",
    "山东省": "Shandong", "河南省": "Henan", "湖北省": "Hubei", "湖南省": "Hunan",
    "广东省": "Guangdong", "广西壮族自治区": "Guangxi", "海南省": "Hainan",
    "重庆市": "Chongqing", "四川省": "Sichuan", "贵州省": "Guizhou", "云南省": "Yunnan",
    "西藏自治区": "Tibet", "陕西省": "Shaanxi", "甘肃省": "Gansu", "青海省": "Qinghai",
    "宁夏回族自治区": "Ningxia", "新疆维吾尔自治区": "Xinjiang",
}

# pypinyin reads a few polyphonic characters wrongly in place names, and some
# cities have a conventional romanisation from a minority language.
NAME_EN_OVERRIDES = {
    "长治市": "Changzhi", "漯河市": "Luohe", "六安市": "Lu'an", "吕梁市": "Lüliang",
    "呼和浩特市": "Hohhot", "乌鲁木齐市": "Urumqi", "克拉玛依市": "Karamay",
    "鄂尔多斯市": "Ordos", "巴彦淖尔市": "Bayannur", "乌兰察布市": "Ulanqab",
    "呼伦贝尔市": "Hulunbuir", "拉萨市": "Lhasa", "朝阳市": "Chaoyang",
    "蚌埠市": "Bengbu", "厦门市": "Xiamen", "重庆市": "Chongqing",
    "长沙市": "Changsha", "长春市": "Changchun", "乐山市": "Leshan",
    "哈尔滨市": "Harbin", "齐齐哈尔市": "Qiqihar", "宿迁市": "Suqian", "曲靖市": "Qujing",
    "佛山市": "Foshan", "铜仁市": "Tongren", "莱芜市": "Laiwu",
}

# Our region column follows the common three-belt 11/8/12 split that the paper
# uses; the NBS four-region split is kept as region4.
REGION_COLUMNS = ["province_code", "province", "region3", "region4_nbs", "municipality"]


def pinyin_name(name_zh: str) -> str:
    """Pinyin of a city name without the 市 suffix, with syllable apostrophes."""
    if name_zh in NAME_EN_OVERRIDES:
        return NAME_EN_OVERRIDES[name_zh]
    from pypinyin import lazy_pinyin

    core = re.sub("市$", "", name_zh)
    syl = lazy_pinyin(core, v_to_u=True)
    out = syl[0]
    for s in syl[1:]:
        out += ("'" if s[:1] in "aeo" else "") + s
    return out[:1].upper() + out[1:]


def derive_cities(src: Path) -> pd.DataFrame:
    roster = pd.read_csv(src / "cnur_legal_roster_2000_2024.csv")
    master = pd.read_csv(src / "cnur_city_entity_master_V4.0.csv", encoding="utf-8-sig")
    census = pd.read_csv(src / "census2020_city_size_class.csv")
    coords = pd.read_csv(src / "cpca_prefecture_coords.csv")
    regions = pd.read_csv(src / "province_regions.csv")

    roster = roster[roster["status"].eq("active") & roster["legal_level"].eq("prefecture")]
    roster = roster[roster["legal_name_zh"].str.endswith("市", na=False)]
    span = roster.groupby("entity_id")["year"].agg(city_from="min", city_to="max", n="size")
    gaps = span[span["n"] != span["city_to"] - span["city_from"] + 1]
    if len(gaps):
        raise SystemExit(f"non-contiguous city status for entities {list(gaps.index)}")
    latest = (roster.sort_values("year").groupby("entity_id").tail(1)
              .set_index("entity_id")["legal_name_zh"].rename("city_zh"))

    m = master.set_index("entity_id").loc[span.index]
    out = pd.DataFrame({
        "city_code": m["legacy_entity_id"].str.removeprefix("E").astype(int),
        "city_zh": latest.loc[span.index],
        "province_zh": m["province_name_zh"],
        "city_from": span["city_from"],
        "city_to": span["city_to"],
    }).reset_index(drop=True)
    if out["city_code"].duplicated().any():
        raise SystemExit("duplicate city codes in the derived roster")
    out["city_en"] = out["city_zh"].map(pinyin_name)
    out["province_code"] = out["city_code"] // 10000 * 10000
    reg = regions[REGION_COLUMNS].rename(columns={
        "province": "province_zh_check", "region3": "region", "region4_nbs": "region4"})
    out = out.merge(reg, on="province_code", how="left", validate="many_to_one")
    bad = out[out["province_zh_check"] != out["province_zh"]]
    if len(bad):
        raise SystemExit(f"province mismatch for {bad[['city_code', 'city_zh']].values.tolist()}")
    out["province_en"] = out["province_zh"].map(PROVINCE_EN)
    # Homophones (苏州/宿州, 泰州/台州, 福州/抚州, 伊春/宜春, 榆林/玉林): add the province.
    dup = out["city_en"].duplicated(keep=False)
    out.loc[dup, "city_en"] = out.loc[dup, "city_en"] + " (" + out.loc[dup, "province_en"] + ")"

    cen = census.rename(columns={"pop_chengqu_2020": "urban_core_pop_2020",
                                 "pop_resident_2020": "resident_pop_2020",
                                 "size_class_2014_std": "size_class"})
    cen["size_class"] = cen["size_class"].str.replace(r"\(.*\)$", "", regex=True)
    out = out.merge(cen[["city_code", "resident_pop_2020", "urban_core_pop_2020", "size_class"]],
                    on="city_code", how="left", validate="one_to_one")
    out["large_city"] = (out["urban_core_pop_2020"] >= 1_000_000).astype("Int64")
    out.loc[out["urban_core_pop_2020"].isna(), "large_city"] = pd.NA
    xy = coords.rename(columns={"adcode6": "city_code", "longitude": "lon", "latitude": "lat"})
    out = out.merge(xy[["city_code", "lon", "lat"]], on="city_code", how="left", validate="one_to_one")
    cols = ["city_code", "city_zh", "city_en", "province_code", "province_zh", "province_en",
            "region", "region4", "municipality", "city_from", "city_to",
            "resident_pop_2020", "urban_core_pop_2020", "size_class", "large_city", "lon", "lat"]
    out = out[cols].sort_values("city_code").reset_index(drop=True)
    out["resident_pop_2020"] = out["resident_pop_2020"].astype("Int64")
    out["urban_core_pop_2020"] = out["urban_core_pop_2020"].round().astype("Int64")
    out["lon"] = out["lon"].round(4)
    out["lat"] = out["lat"].round(4)
    return out


def derive_broadband(src: Path, cities: pd.DataFrame) -> pd.DataFrame:
    bb = pd.read_csv(src / "broadband_china_pilots_2014_2016.csv")
    bb = bb[bb["prefecture_name"].notna()]  # the XPCC city Aral is in no prefecture
    name_to_code = cities.set_index("city_zh")["city_code"]
    # Autonomous prefectures (自治州) are prefectures but not cities: not in the roster.
    not_city = ~bb["prefecture_name"].str.endswith("市")
    if not_city.any():
        print("Broadband China entries outside the city roster (not cities):",
              ", ".join(sorted(bb.loc[not_city, "prefecture_name"])))
    bb = bb[~not_city]
    unknown = sorted(set(bb["prefecture_name"]) - set(name_to_code.index))
    if unknown:
        raise SystemExit(f"Broadband China entries not in the roster: {unknown}")
    bb = bb.assign(city_code=bb["prefecture_name"].map(name_to_code))
    bb = bb.sort_values(["city_code", "batch_year", "raw_name"])
    first = bb.groupby("city_code").head(1).set_index("city_code")
    out = pd.DataFrame({
        "city_code": first.index,
        "city_zh": first["prefecture_name"].to_numpy(),
        "broadband_year": first["batch_year"].to_numpy(),
        "first_listed_as": first["raw_name"].to_numpy(),
        "first_listing_level": first["mapping_level"].to_numpy(),
        "all_listings": bb.groupby("city_code").apply(
            lambda g: "; ".join(f"{y} {n}" for y, n in zip(g["batch_year"], g["raw_name"])),
            include_groups=False).loc[first.index].to_numpy(),
    })
    return out.reset_index(drop=True)


def derive_calibration(src: Path) -> pd.DataFrame:
    d = pd.read_csv(src / "jcdasheng_city_panel_2004_2012.csv")
    d = d[d["年份"] == 2012]
    gdp_pc = d["地区生产总值_当年价格_全市_万元"] / d["年末总人口_全市_万人"] / 1e4  # 10k yuan / person
    rows = [
        ("gdp_per_capita_2012_median", gdp_pc.median(), "10k yuan per person", "GDP / year-end population"),
        ("gdp_per_capita_2012_log_sd", (gdp_pc.apply("log")).std(), "log points", "cross-city SD of log GDP per capita"),
        ("population_2012_median", d["年末总人口_全市_万人"].median(), "10k persons", "year-end population, whole city"),
        ("tertiary_share_2012_mean", d["第三产业占GDP的比重_全市_百分比"].mean() / 100, "share of GDP", "tertiary VA / GDP"),
        ("tertiary_share_2012_sd", d["第三产业占GDP的比重_全市_百分比"].std() / 100, "share of GDP", "cross-city SD"),
        ("waste_harmless_2012_median", d["生活垃圾无害化处理率_全市_百分比"].median(), "percent", "harmless treatment rate of domestic waste"),
        ("fiscal_revenue_gdp_2012_median", d["财政收入 市 占GDP比重"].median(), "share of GDP", "fiscal revenue / GDP"),
    ]
    out = pd.DataFrame(rows, columns=["moment", "value", "unit", "definition"])
    out["value"] = out["value"].round(6)
    out["n_cities"] = len(d)
    out["source"] = "jcdasheng/China_City_sustainability, 2012 cross-section"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    if not a.source.is_dir():
        print(f"reference folder not found: {a.source}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    cities = derive_cities(a.source)
    cities.to_csv(a.out / "cities.csv", index=False, lineterminator="\n")
    derive_broadband(a.source, cities).to_csv(a.out / "broadband_china.csv", index=False, lineterminator="\n")
    derive_calibration(a.source).to_csv(a.out / "calibration.csv", index=False, lineterminator="\n")
    print(f"wrote {len(cities)} cities to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
