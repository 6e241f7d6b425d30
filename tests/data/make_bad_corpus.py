"""Generate the bad-input corpus in tests/data/bad/ from the default panel.

Every file is made from a 24-city slice of the default semi-synthetic panel by one
deliberate defect; ``manifest.yaml`` records, per file, the exit code that
``python -m replication validate`` must give (2 = unusable, 0 = usable with warnings)
and the substrings its message must contain.  Never edit the files by hand: change a
case here and re-run

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


def base() -> pd.DataFrame:
    from replication.data import default_simulation

    df = default_simulation().panel
    keep = sorted(df["city_code"].unique())[:24]
    return df[df["city_code"].isin(keep)].reset_index(drop=True)


def cases(df: pd.DataFrame):
    """Yield (name, writer, exit code, substrings). ``writer(path)`` writes the file."""
    def csv(d, **kw):
        return lambda p: d.to_csv(p, index=False, lineterminator="\n", **kw)

    def text(t, enc="utf-8"):
        return lambda p: p.write_bytes(t.encode(enc) if isinstance(t, str) else t)

    c0, c1 = int(df["city_code"].iloc[0]), int(df["city_code"].unique()[1])
    yield "missing_column", csv(df.drop(columns=["pergdp"])), 2, ["[column pergdp]", "required column missing"]
    yield "misspelt_column", csv(df.rename(columns={"pergdp": "pergpd"})), 2, ["pergpd", "rename"]
    d = df.copy(); d.insert(5, "PD", d["pd"])
    yield "duplicated_column", csv(d), 2, ["duplicated column", "pd"]
    yield "duplicate_key", csv(pd.concat([df, df.iloc[[10]]])), 2, ["share a city-year key", "line"]
    d = df.astype({"patents": object}); d.loc[7, "patents"] = "n/a*"
    yield "non_numeric_value", csv(d), 2, ["[column patents]", "non-numeric", "line 9"]
    d = df.copy(); d.loc[3, "pd"] = -1.0
    yield "negative_density", csv(d), 2, ["[column pd]", "below", "line 5"]
    d = df.copy(); d.loc[20, "urb"] = 55.0
    yield "share_as_percent", csv(d), 2, ["[column urb]", "between 0 and 1"]
    d = df.copy(); d.loc[d["city_code"] == c0, "city_code"] = 999999
    yield "unknown_city_code", csv(d), 2, ["[column city_code]", "999999"]
    d = df.astype({"year": object}); d.loc[4, "year"] = "2012.5"
    yield "non_integer_year", csv(d), 2, ["[column year]", "not whole numbers", "line 6"]
    d = df.astype({"city_code": object}); d.loc[2, "city_code"] = "Beijing"
    yield "text_city_code", csv(d), 2, ["[column city_code]", "Beijing"]
    d = df.copy(); d["ai_firms"] = np.nan
    yield "all_missing_indicator", csv(d), 2, ["[column ai_firms]", "every value is missing"]
    yield "single_city", csv(df[df["city_code"] == c0]), 2, ["only one city"]
    yield "single_year", csv(df[df["year"] == 2015]), 2, ["only one year"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & (d["year"] == 2009), "patents"] = np.nan
    yield "gap_at_the_edge", csv(d), 2, ["[column patents]", str(c0), "edge"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & d["year"].between(2012, 2014), "patents"] = np.nan
    yield "long_interior_gap", csv(d), 2, ["[column patents]", "3 consecutive years"]
    d = df.copy(); d.loc[(d["city_code"] == c0) & (d["year"] == 2020), "pilot_year"] = 2015
    yield "pilot_year_varies_within_city", csv(d), 2, ["[column pilot_year]", str(c0)]
    d = df.copy(); d.loc[d["city_code"] == c1, "gov"] = np.nan
    yield "whole_city_gap", csv(d), 2, ["[column gov]", str(c1), "no value in any year"]
    tr = df[df["pilot_year"].notna()].iloc[0]
    d = df.copy()
    d.loc[(d["city_code"] == tr["city_code"]) & (d["year"] == 2009), ["pd", "pergdp"]] = np.nan
    yield "treated_city_missing_covariates_at_start", csv(d), 2, ["[column pd]", str(int(tr["city_code"]))]
    yield "semicolon_delimiter", csv(df, sep=";"), 2, ["';'", "comma-separated"]
    yield "empty_file", text(""), 2, ["empty"]
    yield "header_only", text(",".join(df.columns) + "\n"), 2, ["no data rows"]
    yield "excel_file", text(b"PK\x03\x04 not really a workbook"), 2, ["unsupported file type"]
    yield "broken_parquet", text(b"PAR1 broken"), 2, ["Parquet"]
    yield "binary_garbage", text(bytes(range(256)) * 4), 2, ["neither UTF-8 nor GB18030"]
    d = df.copy(); d.loc[5, "hc"] = 2.0
    yield "share_above_one", csv(d), 2, ["[column hc]", "above"]
    # usable with warnings or repairs (exit 0)
    yield "gb18030_encoding", csv(df, encoding="gb18030"), 0, ["GB18030", "OK"]
    yield "tab_delimited", csv(df, sep="\t"), 0, ["OK"]
    d = df.drop(index=df.index[(df["city_code"] == c0) & (df["year"] > 2019)])
    yield "city_in_some_years_only", csv(d), 0, ["unbalanced panel", "OK"]
    d = df.astype({"city_code": object}); d["city_code"] = " " + d["city_code"].astype(str) + " "
    yield "codes_as_padded_strings", csv(d), 0, ["OK"]
    d = df.astype({"city_code": object}); d["city_code"] = "0" + d["city_code"].astype(str)
    yield "codes_with_a_leading_zero", csv(d), 0, ["OK"]
    d = df.copy(); d.loc[d["city_code"] == c1, "pilot_year"] = 2030
    yield "pilot_year_after_the_panel", csv(d), 0, ["after the last panel year"]
    d = df.copy(); d.loc[d["city_code"] == c1, "pilot_year"] = 2005
    yield "pilot_year_before_the_panel", csv(d), 0, ["before the first panel year"]
    d = df.copy(); d.loc[(d["city_code"] == tr["city_code"]) & (d["year"] == int(tr["pilot_year"])), "gov"] = np.nan
    yield "treated_city_missing_covariate_in_pilot_year", csv(d), 0, ["repaired", "gov"]
    yield "upper_case_names_and_extra_column", csv(df.rename(columns=str.upper).assign(NOTE="x")), 0, ["not in the schema"]


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:] or [str(OUT)])[0])
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    df = base()
    manifest = {}
    for name, writer, code, must in cases(df):
        ext = ".xlsx" if name == "excel_file" else ".parquet" if name == "broken_parquet" else ".csv"
        path = out / f"{name}{ext}"
        writer(path)
        manifest[path.name] = {"exit": code, "message": must}
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=True, allow_unicode=True))
    print(f"wrote {len(manifest)} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
