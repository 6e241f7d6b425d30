"""Bad input: every case exits 2 with a message naming the problem, and no traceback."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from replication.data import PanelValidationError, load_panel, validate_panel


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from replication.data import default_simulation

    df = default_simulation().panel.copy()
    path = tmp_path_factory.mktemp("good") / "panel.csv"
    df.to_csv(path, index=False)
    return df, path


def _write(tmp_path, df, name="panel.csv", **kw):
    p = tmp_path / name
    df.to_csv(p, index=False, **kw)
    return p


def _first_row_of(df, city=None, year=None):
    m = pd.Series(True, index=df.index)
    if city is not None:
        m &= df["city_code"] == city
    if year is not None:
        m &= df["year"] == year
    return df.index[m][0]


def _cases(df: pd.DataFrame, tmp_path):
    """(name, path, substrings the message must contain)."""
    out = []
    add = lambda name, d, *must, **kw: out.append((name, _write(tmp_path, d, f"{name}.csv", **kw), must))  # noqa: E731
    add("missing_column", df.drop(columns=["pergdp"]), "[column pergdp]", "required column missing")
    add("misspelt_column", df.rename(columns={"pergdp": "pergpd"}), "[column pergdp]", "pergpd", "rename")
    d = df.copy(); d.insert(5, "PD", d["pd"])
    add("duplicated_column", d, "duplicated column", "pd")
    d = pd.concat([df, df.iloc[[10]]])
    add("duplicate_key", d, "city_code, year", "share a city-year key", "line")
    d = df.copy().astype({"patents": object}); d.loc[7, "patents"] = "n/a*"
    add("non_numeric", d, "[column patents]", "non-numeric", "line 9")
    d = df.copy(); d.loc[3, "pd"] = -1.0
    add("negative_density", d, "[column pd]", "below", "line 5")
    d = df.copy(); d.loc[20, "urb"] = 55.0
    add("share_as_percent", d, "[column urb]", "above", "share must be between 0 and 1")
    d = df.copy(); d.loc[d["city_code"] == 110100, "city_code"] = 999999
    add("unknown_city", d, "[column city_code]", "unknown city code", "999999")
    d = df.copy().astype({"year": object}); d.loc[4, "year"] = "2012.5"
    add("non_integer_year", d, "[column year]", "not whole numbers", "line 6")
    d = df.copy().astype({"city_code": object}); d.loc[2, "city_code"] = "Beijing"
    add("text_city_code", d, "[column city_code]", "Beijing")
    d = df.copy(); d["ai_firms"] = np.nan
    add("all_missing_indicator", d, "[column ai_firms]", "every value is missing")
    add("single_city", df[df["city_code"] == 110100], "only one city")
    add("single_year", df[df["year"] == 2015], "only one year")
    d = df.copy(); d.loc[(d["city_code"] == 130100) & (d["year"] == 2009), "patents"] = np.nan
    add("edge_gap", d, "[column patents]", "130100", "edge")
    d = df.copy(); d.loc[(d["city_code"] == 130100) & d["year"].between(2012, 2014), "patents"] = np.nan
    add("long_gap", d, "[column patents]", "130100", "3 consecutive years")
    d = df.copy(); d.loc[(d["city_code"] == 130100) & (d["year"] == 2020), "pilot_year"] = 2015
    add("pilot_year_varies", d, "[column pilot_year]", "130100")
    d = df.copy(); d.loc[d["city_code"] == 130200, "gov"] = np.nan
    add("whole_city_gap", d, "[column gov]", "130200", "no value in any year")
    p = tmp_path / "semicolon.csv"; df.to_csv(p, index=False, sep=";"); out.append(("semicolon", p, ("';'", "comma-separated")))
    p = tmp_path / "empty.csv"; p.write_text(""); out.append(("empty", p, ("empty",)))
    p = tmp_path / "header_only.csv"; p.write_text(",".join(df.columns) + "\n"); out.append(("header_only", p, ("no data rows",)))
    p = tmp_path / "panel.xlsx"; p.write_bytes(b"PK\x03\x04"); out.append(("excel", p, ("unsupported file type", ".csv")))
    out.append(("not_found", tmp_path / "nope.csv", ("file not found",)))
    p = tmp_path / "broken.parquet"; p.write_bytes(b"not parquet"); out.append(("bad_parquet", p, ("Parquet",)))
    return out


def test_at_least_twenty_bad_cases_exit_2_with_named_problems(good, tmp_path):
    df, _ = good
    cases = _cases(df, tmp_path)
    assert len(cases) >= 20
    for name, path, must in cases:
        proc = run_cli("validate", str(path))
        msg = proc.stdout + proc.stderr
        assert proc.returncode == 2, (name, msg[-2000:])
        assert "Traceback" not in msg, (name, msg)
        assert str(path) in msg, (name, msg[:500])
        for m in must:
            assert m in msg, (name, m, msg[:1500])


def test_good_file_validates_with_repairs_listed(good):
    _, path = good
    proc = run_cli("validate", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout and "linear interpolation" in proc.stdout


def test_usable_oddities_are_warnings_not_errors(good, tmp_path):
    df, _ = good
    # unbalanced (a city lacks years), GB18030 encoding, codes as text with spaces,
    # pilot years outside the panel, upper-case names and an extra column
    d = df.drop(index=df.index[(df["city_code"] == 130100) & (df["year"] > 2019)]).copy()
    d = d.astype({"city_code": object})
    d["city_code"] = " " + d["city_code"].astype(str)
    d.loc[d["city_code"] == " 130200", "pilot_year"] = 2030
    d = d.rename(columns={"pergdp": "PERGDP"})
    d["my_note"] = "x"
    p = tmp_path / "odd.csv"
    d.to_csv(p, index=False, encoding="gb18030")
    rep = validate_panel(p)
    assert rep.ok, rep.errors
    text = " ".join(rep.warnings)
    assert "unbalanced" in text and "GB18030" in text and "after the last panel year" in text and "my_note" in text
    assert rep.panel["city_code"].dtype.kind in "iu" or str(rep.panel["city_code"].dtype) == "Int64"


def test_load_panel_raises_one_error_listing_all_problems(good):
    df, _ = good
    d = df.drop(columns=["pergdp", "urb"])
    with pytest.raises(PanelValidationError) as e:
        load_panel(d)
    assert len(e.value.problems) == 2
    assert "[column pergdp]" in str(e.value) and "[column urb]" in str(e.value)


def test_repairs_are_reported_never_silent(good):
    df, _ = good
    d = df.copy()
    d.loc[(d["city_code"] == 140100) & (d["year"] == 2015), "patents"] = np.nan
    rep = validate_panel(d)
    r = rep.repairs_table()
    hit = r[(r["column"] == "patents") & (r["city_code"] == 140100)]
    assert len(hit) == 1 and hit["years"].iloc[0] == "2015"
    v = rep.panel.set_index(["city_code", "year"]).loc[(140100, 2015), "patents"]
    a = d.set_index(["city_code", "year"]).loc[(140100, 2014), "patents"]
    b = d.set_index(["city_code", "year"]).loc[(140100, 2016), "patents"]
    assert v == pytest.approx((a + b) / 2)


def test_parquet_round_trip(tmp_path):
    p = tmp_path / "panel.parquet"
    proc = run_cli("simulate", "--out", str(p), "--seed", "11")
    assert proc.returncode == 0, proc.stderr
    a = load_panel(p)
    b = load_panel(seed=11)
    assert len(a) == 3990
    pd.testing.assert_series_equal(a["patents"], b["patents"], check_dtype=False)


def test_simulate_cli_writes_a_valid_csv(tmp_path):
    p = tmp_path / "sim.csv"
    proc = run_cli("simulate", "--out", str(p))
    assert proc.returncode == 0 and p.exists()
    proc = run_cli("validate", str(p))
    assert proc.returncode == 0, proc.stdout
