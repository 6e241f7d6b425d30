"""Bad input: every case exits 2 with a message naming the problem, and no traceback."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import filecmp
import subprocess
import sys

import yaml

from conftest import ROOT, run_cli
from replication.data import PanelValidationError, load_panel, validate_panel


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from replication.data import default_simulation

    df = default_simulation().panel.copy()
    path = tmp_path_factory.mktemp("good") / "panel.csv"
    df.to_csv(path, index=False)
    return df, path


CORPUS = ROOT / "tests" / "data" / "bad"


def test_bad_input_corpus_exit_codes_and_messages():
    manifest = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
    assert sum(1 for m in manifest.values() if m["exit"] == 2) >= 25
    for name, spec in manifest.items():
        path = CORPUS / name
        proc = run_cli("validate", str(path))
        msg = proc.stdout + proc.stderr
        assert proc.returncode == spec["exit"], (name, msg[-2000:])
        assert "Traceback" not in msg, (name, msg)
        assert str(path) in msg, (name, msg[:300])
        for m in spec["message"]:
            assert m in msg, (name, m, msg[:1500])


def test_corpus_is_generated_not_hand_edited(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tests/data/make_bad_corpus.py"), str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    committed = sorted(p.name for p in CORPUS.iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        assert filecmp.cmp(CORPUS / name, tmp_path / name, shallow=False), f"{name} differs from a fresh generation"


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
