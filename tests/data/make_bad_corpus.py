"""Generate the bad-input corpus in tests/data/bad/ from the default panel.

Every file is made from a 24-city slice of the default semi-synthetic panel by one
deliberate defect, or one oddity of a panel "as it really arrives" (Chinese yearbook
headers, city names instead of codes, units in yuan or percent, a GB18030 or Excel file,
Stata's missing '.', thousands separators, a did column of its own...).  ``manifest.yaml``
records, per file, the exit code that ``python -m replication validate FILE [ARGS]`` must
give (2 = unusable, 0 = usable with warnings or repairs), the extra arguments (``--map``
with a mapping file of the corpus, ``--years``) and the substrings its message must contain:
the column, the rows and the fix as the user would type it.  tests/test_validate.py checks
each case through the CLI and through ``load_panel``.  Never edit the files by hand: change
a case here and re-run

    .venv/bin/python tests/data/make_bad_corpus.py [OUT_DIR]

(tests/test_validate.py checks that the committed corpus equals a fresh generation).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

OUT = Path(__file__).resolve().parent / "bad"

# yearbook headers for the Chinese-header cases (all in the package's alias table)
YEARBOOK = {"city_code": "行政区划代码", "year": "年份", "pergdp": "人均地区生产总值(元)", "pd": "人口密度",
            "urb": "城镇化率(%)", "gov": "一般公共预算支出占GDP比重", "loi": "第二产业增加值占GDP比重",
            "college_students": "普通高等学校在校学生数", "st": "科学技术支出", "mobile_users": "移动电话年末用户数",
            "patents": "专利申请数", "pilot_year": "智慧城市试点年份"}


def base() -> pd.DataFrame:
    from replication.data import default_simulation

    df = default_simulation().panel
    keep = sorted(df["city_code"].unique())[:24]
    return df[df["city_code"].isin(keep)].reset_index(drop=True)


def cases(df: pd.DataFrame):
    """Yield (name, writer, exit code, substrings[, extra CLI args]). ``writer(path)`` writes the file."""
    def csv(d, **kw):
        return lambda p: d.to_csv(p, index=False, lineterminator="\n", **kw)

    def text(t, enc="utf-8"):
        return lambda p: p.write_bytes(t.encode(enc) if isinstance(t, str) else t)

    def xlsx(d):
        return lambda p: d.to_excel(p, index=False)

    facts = ["city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
             "urban_core_pop_2020", "size_class", "large_city", "lon", "lat", "broadband_year"]
    lean = df.drop(columns=facts)  # a user's file has no reference facts
    c0, c1 = int(df["city_code"].iloc[0]), int(df["city_code"].unique()[1])
    tr = df[df["pilot_year"].notna()].iloc[0]
    # ---- unusable (exit 2) -------------------------------------------------------------
    yield "missing_column", csv(df.drop(columns=["pergdp"])), 2, ["[column pergdp]", "required column missing"]
    yield "misspelt_column", csv(df.rename(columns={"pergdp": "pergpd"})), 2, \
        ["pergpd", "rename", "columns: {pergpd: pergdp}"]
    d = df.copy(); d.insert(5, "PD", d["pd"])
    yield "duplicated_column", csv(d), 2, ["duplicated column", "pd"]
    yield "duplicate_key", csv(pd.concat([df, df.iloc[[10]]])), 2, ["share a city-year key", "line"]
    d = df.astype({"patents": object}); d.loc[7, "patents"] = "n/a*"
    yield "non_numeric_value", csv(d), 2, ["[column patents]", "non-numeric", "line 9"]
    d = df.copy(); d.loc[3, "pd"] = -1.0
    yield "negative_density", csv(d), 2, ["[column pd]", "below", "line 5"]
    d = df.copy(); d.loc[20, "urb"] = 55.0
    yield "share_as_percent", csv(d), 2, ["[column urb]", "between 0 and 1", "line 22"]
    d = df.copy(); d.loc[d["city_code"] == c0, "city_code"] = 999999
    yield "unknown_city_code", csv(d), 2, ["[column city_code]", "999999", "lines 2, 3", "city_names"]
    d = df.astype({"year": object}); d.loc[4, "year"] = "2012.5"
    yield "non_integer_year", csv(d), 2, ["[column year]", "not whole numbers", "line 6"]
    d = df.astype({"city_code": object}); d.loc[2, "city_code"] = "Gotham"
    yield "unknown_city_name", csv(d), 2, ["[column city_code]", "Gotham", "line 4", "city_names: {Gotham: 320500}"]
    d = df.copy(); d["ai_firms"] = np.nan
    yield "all_missing_indicator", csv(d), 2, ["[column ai_firms]", "every value is missing"]
    yield "single_city", csv(df[df["city_code"] == c0]), 2, ["only one city"]
    yield "single_year", csv(df[df["year"] == 2015]), 2, ["only one year"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & (d["year"] == 2009), "patents"] = np.nan
    yield "gap_at_the_edge", csv(d), 2, ["[column patents]", f"{c0} (2009)", "edge", "supply the values"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & d["year"].between(2012, 2014), "patents"] = np.nan
    yield "long_interior_gap", csv(d), 2, ["[column patents]", f"{c0} (2012-2014, 3 consecutive years)"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & (d["year"] == 2020), "pilot_year"] = 2015
    yield "pilot_year_varies_within_city", csv(d), 2, ["[column pilot_year]", str(c0), "the same in every row"]
    d = df.copy(); d.loc[d["city_code"] == c1, "gov"] = np.nan
    yield "whole_city_gap", csv(d), 2, ["[column gov]", str(c1), "no value in any year"]
    d = df.copy()
    d.loc[(d["city_code"] == tr["city_code"]) & (d["year"] == 2009), ["pd", "pergdp"]] = np.nan
    yield "treated_city_missing_covariates_at_start", csv(d), 2, ["[column pd]", str(int(tr["city_code"]))]
    yield "semicolon_delimiter", csv(df, sep=";"), 2, ["';'", "comma-separated"]
    yield "empty_file", text(""), 2, ["empty"]
    yield "header_only", text(",".join(df.columns) + "\n"), 2, ["no data rows"]
    yield "excel_file", text(b"PK\x03\x04 not really a workbook"), 2, ["not a readable .xlsx workbook", "CSV UTF-8"]
    yield "old_excel_file", text(b"\xd0\xcf\x11\xe0 an old .xls"), 2, [".xls is not read", "Save As"]
    yield "broken_parquet", text(b"PAR1 broken"), 2, ["Parquet"]
    yield "binary_garbage", text(bytes(range(256)) * 4), 2, ["neither UTF-8 nor GB18030"]
    d = df.copy(); d.loc[5, "hc"] = 2.0
    yield "share_above_one", csv(d), 2, ["[column hc]", "above", "line 7"]
    # unit slips: the whole column in another unit -> the scale line that fixes it
    d = lean.copy(); d["pergdp"] = (d["pergdp"] * 10000).round(0)
    yield "pergdp_in_yuan", csv(d), 2, ["[column pergdp]", "yuan per person", "scale: {pergdp: 0.0001}"]
    d = lean.copy(); d["urb"] = d["urb"] * 100
    yield "urb_in_percent", csv(d), 2, ["[column urb]", "percent", "scale: {urb: 0.01}"]
    d = lean.copy(); d["pd"] = d["pd"] * 100
    yield "pd_in_persons_per_km2", csv(d), 2, ["[column pd]", "persons per km2", "scale: {pd: 0.01}"]
    d = lean.copy(); d["waste_harmless_rate"] = d["waste_harmless_rate"] / 100
    yield "rate_as_share", csv(d), 2, ["[column waste_harmless_rate]", "a share (0-1)",
                                       "scale: {waste_harmless_rate: 100}"]
    d = lean.copy(); d["st"] = d["st"] * 10000
    yield "st_in_10000_yuan", csv(d), 2, ["[column st]", "10,000 yuan", "scale: {st: 0.0001}"]
    d = lean.astype({"urb": object}); d["urb"] = [f"{v * 100:.2f}%" if pd.notna(v) else "" for v in lean["urb"]]
    yield "percent_signs", csv(d), 2, ["percent signs removed", "[column urb]", "scale: {urb: 0.01}"]
    d = lean.rename(columns={"pergdp": "lnpgdp"}); d["lnpgdp"] = np.log(d["lnpgdp"])
    yield "lnpgdp_instead_of_pergdp", csv(d), 2, ["[column pergdp]", "'lnpgdp'", "logarithm of pergdp",
                                                  "supply the level"]
    d = lean.astype({"year": object}); d.loc[30, "year"] = 1850
    yield "year_1850", csv(d), 2, ["[column year]", "1850", "line 32", "2000-2024", "correct the years"]
    yield "years_outside_the_file", csv(lean), 2, ["[column year]", "no rows in the requested years 2000-2005",
                                                   "-p first_year=2009 -p last_year=2022"], ["--years", "2000", "2005"]
    d = lean.drop(columns=["city_code"]).assign(city=df["city_en"].str.replace(r" \(.*\)", "", regex=True))
    d.loc[d["city"] == "Taiyuan", "city"] = "Suzhou"
    yield "ambiguous_city_name", csv(d), 2, ["[column city_en]", "'Suzhou' could be 320500", "341300",
                                             "add the province"]
    d = lean.drop(columns=["pilot_year"]).assign(treat=lean["pilot_year"].notna().astype(int))
    yield "treat_without_timing", csv(d), 2, ["[column pilot_year]", "'treat' but no timing", "add 'pilot_year'"]
    d = lean.rename(columns={"pergdp": "人均地区生产总值(全市)"}).assign(**{"人均地区生产总值(市辖区)": lean["pergdp"] * 1.3})
    yield "two_columns_for_pergdp", csv(d), 2, ["[column pergdp]", "2 columns", "ignore: [人均地区生产总值(市辖区)]"]
    d = lean.copy(); d["pergdp"] = d["pergdp"] * 10000
    yield "unknown_mapping_key.csv", csv(d), 2, ["unknown key 'scales'", "did you mean 'scale'"], \
        ["--map", "unknown_mapping_key.yaml"], {"scales": {"pergdp": 0.0001}}
    # ---- usable, with warnings or repairs (exit 0) --------------------------------------
    yield "gb18030_encoding", csv(df, encoding="gb18030"), 0, ["GB18030", "OK"]
    yield "utf8_with_bom", csv(df.rename(columns=YEARBOOK), encoding="utf-8-sig"), 0, ["OK", "'行政区划代码' as city_code"]
    yield "tab_delimited", csv(df, sep="\t"), 0, ["OK"]
    d = df.drop(index=df.index[(df["city_code"] == c0) & (df["year"] > 2019)])
    yield "city_in_some_years_only", csv(d), 0, ["unbalanced panel", f"{c0} (11 years)", "OK"]
    d = df.astype({"city_code": object}); d["city_code"] = " " + d["city_code"].astype(str) + " "
    yield "codes_as_padded_strings", csv(d), 0, ["OK"]
    d = df.astype({"city_code": object}); d["city_code"] = "0" + d["city_code"].astype(str)
    yield "codes_with_a_leading_zero", csv(d), 0, ["OK"]
    d = df.copy(); d["city_code"] = d["city_code"] * 1_000_000
    yield "twelve_digit_codes", csv(d), 0, ["12-digit", "'110100000000' -> 110100 Beijing", "OK"]
    d = df.copy(); d.loc[d["city_code"] == 141100, "city_code"] = 142300
    yield "former_city_code", csv(d), 0, ["former code", "'142300' -> 141100", "OK"]
    d = lean.drop(columns=["city_code"]).assign(城市=df["city_zh"].str.replace("市$", "", regex=True))
    yield "chinese_city_names", csv(d), 0, ["24 cities given by name", "'北京' -> 110100 Beijing", "OK"]
    d = lean.drop(columns=["city_code"]).assign(city=df["city_en"])
    yield "pinyin_city_names", csv(d), 0, ["24 cities given by name", "'Tianjin' -> 120100 Tianjin", "OK"]
    d = df.astype({"city_code": object}); d.loc[d["city_code"] == 110100, "city_code"] = "Beijing"
    yield "a_name_in_the_code_column", csv(d), 0, ["1 city given by name", "'Beijing' -> 110100", "OK"]
    d = df.copy(); d.loc[d["city_code"] == c1, "pilot_year"] = 2030
    yield "pilot_year_after_the_panel", csv(d), 0, ["after the last panel year", str(c1)]
    d = df.copy(); d.loc[d["city_code"] == c1, "pilot_year"] = 2005
    yield "pilot_year_before_the_panel", csv(d), 0, ["before the first panel year", str(c1)]
    d = df.copy(); d["pilot_year"] = d["pilot_year"].fillna(0).astype(int)
    yield "pilot_year_zero", csv(d), 0, ["[column pilot_year]", "pilot_year = 0", "read as never treated",
                                         "leave the cell empty"]
    d = df.copy(); d.loc[(d["city_code"] == tr["city_code"]) & (d["year"] == int(tr["pilot_year"])), "gov"] = np.nan
    yield "treated_city_missing_covariate_in_pilot_year", csv(d), 0, ["linear interpolation", "gov"]
    yield "upper_case_names_and_extra_column", csv(df.rename(columns=str.upper).assign(NOTE="x")), 0, \
        ["not in the schema", "NOTE"]
    from replication.data import add_derived

    d = add_derived(lean).drop(columns=["broadband"])
    wrong = d["city_code"] == tr["city_code"]
    d.loc[wrong & (d["year"] == int(tr["pilot_year"])), "did"] = 0  # one year late in one city
    yield "did_disagrees_with_pilot_year", csv(d), 0, ["[column did]", "disagrees", "in 1 row of 1 city",
                                                      f"{int(tr['city_code'])} ({int(tr['pilot_year'])}: file 0, "
                                                      "derived 1)", "the derived did is used"]
    d = add_derived(lean).drop(columns=["broadband", "treat", "pilot_year"])
    yield "did_without_pilot_year", csv(d), 0, ["[column pilot_year]", "derived from did", "11 treated cities",
                                                "supply pilot_year"]
    d = lean.astype({"avg_wage": object, "telecom_volume": object})
    d["avg_wage"] = [f"{v:,.0f}" if pd.notna(v) else "" for v in lean["avg_wage"]]
    d["telecom_volume"] = [f"{v:,.1f}" if pd.notna(v) else "" for v in lean["telecom_volume"]]
    yield "thousands_separators", csv(d), 0, ["thousands separators read in avg_wage", "telecom_volume", "OK"]
    d = lean.astype({"patents": object}); d.loc[d["patents"].isna(), "patents"] = "."
    d.loc[(d["city_code"] == c1) & (d["year"] == 2015), "patents"] = "."
    yield "stata_missing_dot", csv(d), 0, ["Stata's missing value '.' read as missing in patents "
                                           f"({1 + int(lean['patents'].isna().sum())} cells)", "OK"]
    yield "row_number_column", lambda p: lean.to_csv(p, index=True, lineterminator="\n"), 0, \
        ["row-number column 'Unnamed: 0' dropped", "ignore: [Unnamed: 0]", "OK"]
    d = lean.rename(columns=YEARBOOK).copy()
    d["城镇化率(%)"] = d["城镇化率(%)"] * 100
    d.insert(0, "序号", np.arange(1, len(d) + 1))
    yield "yearbook.xlsx", xlsx(d), 2, ["[column urb]", "the header says '%'", "scale: {urb: 0.01}"]
    yield "yearbook_with_mapping.xlsx", xlsx(d), 0, ["OK", "scale x0.01 declared in the mapping file",
                                                     "row-number column '序号' dropped"], \
        ["--map", "yearbook_mapping.yaml"], {"scale": {"urb": 0.01}}
    d = lean.rename(columns={"pergdp": "my_gdp"}); d["my_gdp"] = d["my_gdp"] * 10000
    yield "own_names_with_mapping", csv(d), 0, ["OK", "'my_gdp' as pergdp", "scale x0.0001"], \
        ["--map", "own_names_mapping.yaml"], {"columns": {"my_gdp": "pergdp"}, "scale": {"pergdp": 0.0001},
                                              "ignore": ["note"]}
    yield "years_subset", csv(lean), 0, ["years 2012-2020 requested", "120 row(s) of the years 2009-2011, 2021-2022 "
                                         "dropped", "OK"], ["--years", "2012", "2020"]
    laiwu = lean[(lean["city_code"] == 140100) & (lean["year"] <= 2018)].assign(city_code=371200)
    yield "abolished_city_laiwu", csv(pd.concat([lean, laiwu])), 0, ["371200 Laiwu", "no 2020 census city size",
                                                                     "unbalanced panel", "OK"]


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:] or [str(OUT)])[0])
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    df = base()
    manifest = {}
    for case in cases(df):
        name, writer, code, must, *rest = case
        args = rest[0] if rest else []
        if "." in name:
            fname = name
        else:
            ext = ".xlsx" if name.startswith("excel_file") else ".xls" if name.startswith("old_excel") else \
                ".parquet" if name == "broken_parquet" else ".csv"
            fname = f"{name}{ext}"
        path = out / fname
        writer(path)
        if len(rest) > 1:  # the mapping file named in args
            (out / args[args.index("--map") + 1]).write_text(
                yaml.safe_dump(rest[1], sort_keys=True, allow_unicode=True), encoding="utf-8")
        manifest[path.name] = {"exit": code, "message": must, **({"args": args} if args else {})}
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=True, allow_unicode=True))
    print(f"wrote {len(manifest)} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
