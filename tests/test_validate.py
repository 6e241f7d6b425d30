"""Bad input and input as it really arrives: every case of the corpus exits with its code and
a message naming column, rows and fix (CLI and load_panel); the data report; the CLI's files."""
from __future__ import annotations

import filecmp
import inspect
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_cli
from replication.data import PanelValidationError, load_panel, validate_panel

pytestmark = pytest.mark.filterwarnings("ignore::replication.data.PanelWarning")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from replication.data import default_simulation

    df = default_simulation().panel.copy()
    path = tmp_path_factory.mktemp("good") / "panel.csv"
    df.to_csv(path, index=False)
    return df, path


CORPUS = ROOT / "tests" / "data" / "bad"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))


def _args(spec) -> list[str]:
    """The case's extra CLI arguments, mapping files resolved inside the corpus."""
    return [str(CORPUS / a) if a.endswith(".yaml") else a for a in spec.get("args", [])]


def _kwargs(spec) -> dict:
    """The same arguments for load_panel."""
    args, kw = spec.get("args", []), {}
    if "--map" in args:
        kw["mapping"] = CORPUS / args[args.index("--map") + 1]
    if "--years" in args:
        i = args.index("--years")
        kw["years"] = (int(args[i + 1]), int(args[i + 2]))
    return kw


def _check_cli_output(name, spec, code, msg):
    assert code == spec["exit"], (name, msg[-2000:])
    assert "Traceback" not in msg, (name, msg)
    assert "np.int64" not in msg and "np.float64" not in msg and "np.str_" not in msg, (name, msg)
    assert str(CORPUS / name) in msg, (name, msg[:300])
    for m in spec["message"]:
        assert m in msg, (name, m, msg[:3000])


def test_corpus_has_enough_cases_of_each_kind():
    assert sum(1 for m in MANIFEST.values() if m["exit"] == 2) >= 40
    assert sum(1 for m in MANIFEST.values() if m["exit"] == 0) >= 25


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_input_corpus_through_the_cli_in_process(name, capsys):
    """Every case through ``replication.book.cli.main``, as the command line calls it (in-process:
    the subprocess smoke test below covers the interpreter start and the exit code)."""
    from replication.book.cli import main

    spec = MANIFEST[name]
    try:
        code = main(["validate", str(CORPUS / name), *_args(spec)])
    except SystemExit as e:  # argparse
        code = e.code
    out = capsys.readouterr()
    _check_cli_output(name, spec, code, out.out + out.err)


# one subprocess per kind of case: a failure, a success, a mapping file, --years, a binary file
SMOKE = ["missing_column.csv", "utf8_with_bom.csv", "yearbook_with_mapping.xlsx", "years_outside_the_file.csv",
         "binary_garbage.csv"]


@pytest.mark.parametrize("name", SMOKE)
def test_bad_input_corpus_through_the_cli_subprocess_smoke(name):
    spec = MANIFEST[name]
    proc = run_cli("validate", str(CORPUS / name), *_args(spec))
    _check_cli_output(name, spec, proc.returncode, proc.stdout + proc.stderr)


@pytest.mark.slow  # the corpus a second time (the CLI test above runs it in-process): excluded by `make test-fast`
def test_bad_input_corpus_through_load_panel():
    import warnings

    for name, spec in sorted(MANIFEST.items()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if spec["exit"] == 2:
                with pytest.raises(PanelValidationError) as e:
                    load_panel(CORPUS / name, **_kwargs(spec))
                rep = validate_panel(CORPUS / name, **_kwargs(spec))
                assert e.value.problems == rep.errors, name
                # the exception lists the errors; the report adds the warnings (as the CLI prints both)
                text = str(e.value) + "\n".join(rep.warnings)
            else:
                panel, rep = load_panel(CORPUS / name, report=True, **_kwargs(spec))
                assert rep.ok and len(panel) > 0, name
                text = rep.summary()
                assert {"city_code", "year", "did", "treat", "pilot_year"} <= set(panel.columns), name
                assert panel["city_code"].between(100000, 999999).all(), name
                # every warning reached the caller as a Python warning too
                assert len([w for w in caught if str(CORPUS / name) in str(w.message)]) == len(rep.warnings), name
        for m in spec["message"]:
            if m in ("OK",):
                continue
            assert m in text, (name, m, text[:3000])
        assert "np.int64" not in text and "np.float64" not in text, (name, text)


@pytest.mark.slow  # regenerates the whole corpus: excluded by `make test-fast`
def test_corpus_is_generated_not_hand_edited(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tests/data/make_bad_corpus.py"), str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    committed = sorted(p.name for p in CORPUS.iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        if name.endswith(".xlsx") and (CORPUS / name).read_bytes()[:2] == b"PK" and "excel_file" not in name:
            # a workbook carries its save time: compare the cells
            pd.testing.assert_frame_equal(pd.read_excel(CORPUS / name), pd.read_excel(tmp_path / name))
            continue
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


# ---------------------------------------------------------------------------------------
# the public API (others code against it) and the data report

def test_public_api_signatures():
    from replication.data import ValidationReport

    sig = inspect.signature(load_panel)
    assert list(sig.parameters)[:1] == ["source"] and sig.parameters["source"].default is None
    for k, default in (("years", None), ("report", False), ("mapping", None)):
        assert sig.parameters[k].kind is inspect.Parameter.KEYWORD_ONLY and sig.parameters[k].default == default
    assert "seed" in sig.parameters and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    sig = inspect.signature(validate_panel)
    assert list(sig.parameters) == ["data", "years", "interpolate", "source", "mapping"]
    assert sig.parameters["years"].default is None and sig.parameters["interpolate"].default is True
    for attr in ("ok", "errors", "warnings", "repairs", "panel", "summary", "repairs_table", "sha256", "source",
                 "overview", "roster_comparison", "unbalanced_cities"):
        assert hasattr(ValidationReport, attr) or attr in ValidationReport.__dataclass_fields__, attr


@pytest.fixture(scope="module")
def yearbook(tmp_path_factory):
    """The replicator's yearbook panel of tests/data/make_yearbook_panel.py (Chinese headers,
    percent shares declared by a mapping file, Laiwu leaving, Danzhou entering)."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    import make_yearbook_panel as ybp

    return ybp, ybp.write(tmp_path_factory.mktemp("yearbook"))


def test_the_data_report_of_a_yearbook_panel(yearbook):
    import hashlib

    ybp, paths = yearbook
    panel, rep = load_panel(paths["csv"], mapping=paths["mapping"], report=True)
    assert rep.sha256 == hashlib.sha256(paths["csv"].read_bytes()).hexdigest()
    assert rep.source == str(paths["csv"])
    ov = rep.overview().set_index("item")["value"]
    assert list(rep.overview().columns) == ["item", "value"]
    assert ov["file"] == "panel.csv" and ov["SHA-256"] == rep.sha256
    assert ov["cities"] == "289" and ov["years"].startswith("2011-2022")
    assert ov["balanced"].startswith("no: 4 cities")
    assert ov["treated cities by pilot batch"] == "2012: 40; 2013: 40; 2014: 30" and ov["never-treated cities"] == "179"
    assert all(isinstance(v, str) for v in ov.values)
    rc = rep.roster_comparison().set_index("city_code")
    assert set(rc.index) == {ybp.LEAVER, ybp.ENTRANT}  # the 287 roster cities are all there
    assert rc.loc[ybp.LEAVER, "years_in_file"] == "2011-2018" and "until 2018" in rc.loc[ybp.LEAVER, "note"]
    assert rc.loc[ybp.ENTRANT, "years_in_file"] == "2015-2022" and "from 2015" in rc.loc[ybp.ENTRANT, "note"]
    ub = rep.unbalanced_cities().set_index("city_code")
    assert list(rep.unbalanced_cities().columns) == ["city_code", "city_en", "first_year", "last_year", "n_years",
                                                     "missing_years"]
    assert ub.loc[ybp.LEAVER, "missing_years"] == "2019-2022" and ub.loc[ybp.ENTRANT, "missing_years"] == "2011-2014"
    assert len(ub) == 4 and ub["missing_years"].isin(["2022", "2016-2017"]).sum() == 2
    assert any("Laiwu" in w and "census" in w for w in rep.warnings)  # a missing fact is a warning
    r = rep.repairs_table()
    assert list(r.columns) == ["column", "city_code", "years", "action"]
    assert set(r.loc[r["action"].str.startswith("scale"), "column"]) == {"urb", "gov", "loi"}
    assert panel["urb"].between(0, 1).all()


def test_the_years_subset_drops_rows_and_says_so(yearbook):
    _, paths = yearbook
    full = load_panel(paths["csv"], mapping=paths["mapping"])
    panel, rep = load_panel(paths["csv"], mapping=paths["mapping"], years=(2013, 2020), report=True)
    assert panel["year"].between(2013, 2020).all() and len(panel) == full["year"].between(2013, 2020).sum()
    ov = rep.overview().set_index("item")["value"]
    dropped = len(full) - len(panel)
    assert ov["rows dropped by the years subset 2013-2020"] == f"{dropped} (years 2011-2012, 2021-2022)"
    assert any(f"{dropped} row(s) of the years 2011-2012, 2021-2022 dropped" in w for w in rep.warnings)
    # Haidong (a city from 2013) is on the 2013-2020 roster but not in this file
    rc = rep.roster_comparison()
    assert 630200 in set(rc.loc[rc["status"].str.startswith("on the"), "city_code"])
    with pytest.raises(PanelValidationError, match=r"-p first_year=2011 -p last_year=2022"):
        load_panel(paths["csv"], mapping=paths["mapping"], years=(2000, 2005))


def test_xlsx_reads_like_the_csv_and_a_mapping_dict_like_the_file(yearbook):
    _, paths = yearbook
    a = load_panel(paths["csv"], mapping=paths["mapping"])
    b = load_panel(paths["xlsx"], mapping=yaml.safe_load(paths["mapping"].read_text(encoding="utf-8")))
    cols = ["city_code", "year", "pergdp", "urb", "gov", "loi", "patents", "pilot_year", "did"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-7)


def test_every_yearbook_header_of_the_replicators_file_is_in_the_alias_table(yearbook):
    from replication.data import aliases

    ybp, _ = yearbook
    for col, header in ybp.HEADERS.items():
        assert aliases.target_of(header) == col, (header, col)
    # units in brackets, full-width brackets and scope qualifiers are ignored in matching
    for h in ("人均地区生产总值(元)", "人均地区生产总值（元）_全市", "人均地区生产总值(市辖区)", " PGDP ", "PerGDP"):
        assert aliases.target_of(h) == "pergdp", h
    # a logarithm is never a level
    for h in ("lnpgdp", "ln_pgdp", "log_pergdp", "人均GDP对数"):
        assert aliases.target_of(h) is None and aliases.log_of(h) == "pergdp", h


def test_a_log_is_never_suggested_as_the_level(good):
    df, _ = good
    d = df.rename(columns={"pergdp": "lnpergdp"})
    rep = validate_panel(d)
    msg = " ".join(rep.errors)
    assert "looks like a logarithm of pergdp; supply the level" in msg and "rename" not in msg


def test_city_names_and_codes_resolve_to_the_roster():
    from replication.data.names import CityResolver

    r = CityResolver({"昆山": 320500})
    cases = {"苏州": 320500, "苏州市": 320500, "江苏省苏州市": 320500, "苏州(江苏)": 320500, "宿州": 341300,
             "Suzhou, Jiangsu": 320500, "Suzhou (Anhui)": 341300, "Xi'an": 610100, "Lvliang": 141100,
             "襄樊": 420600, "Xiangfan": 420600, "毕节地区": 520500, "吉林": 220200, "Hohhot": 150100,
             "Huhehaote": 150100, "莱芜市": 371200, "昆山": 320500}
    for name, code in cases.items():
        assert r.name(name) == (code, []), name
    assert r.name("Suzhou") == (None, [320500, 341300])
    assert r.name("Suzhou", "Anhui") == (341300, [])
    assert r.name("Atlantis") == (None, [])
    assert r.code(320500000000) == (320500, "12-digit statistical code")
    assert r.code(522400)[0] == 520500 and r.code(3205)[0] == 320500
    assert r.code(371200) == (371200, "") and r.code(341400) == (341400, "")  # abolished cities keep their codes
    assert r.code(999999) == (None, "")


def test_mapping_file_errors_name_the_key(tmp_path, good):
    df, path = good
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  foo: pergpd\nscale:\n  urb: -1\nsheets: 1\n", encoding="utf-8")
    rep = validate_panel(path, mapping=m)
    text = "\n".join(rep.errors)
    assert "unknown key 'sheets'" in text and "did you mean 'sheet'" in text
    assert "'foo' maps to 'pergpd'" in text and "did you mean 'pergdp'" in text
    assert "scale: urb: -1 is not a positive number" in text
    rep = validate_panel(path, mapping=tmp_path / "missing.yaml")
    assert "not found" in rep.errors[0]
    (tmp_path / "bad.yaml").write_text("columns: [a\n", encoding="utf-8")
    assert "not valid YAML at line" in validate_panel(path, mapping=tmp_path / "bad.yaml").errors[0]
    with pytest.raises(TypeError, match="mapping applies to your own panel"):
        load_panel(mapping={"scale": {"urb": 0.01}})


def test_validate_writes_the_clean_panel_and_the_repairs_atomically(good, tmp_path):
    _, path = good
    out, rp = tmp_path / "clean.parquet", tmp_path / "repairs.csv"
    proc = run_cli("validate", str(path), "--out", str(out), "--report", str(rp))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    clean = pd.read_parquet(out)
    assert len(clean) == 3990 and {"did", "treat", "broadband"} <= set(clean.columns)
    reps = pd.read_csv(rp)
    assert list(reps.columns) == ["column", "city_code", "years", "action"] and len(reps) > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.parquet", "repairs.csv"]  # no temporary left
    bad = CORPUS / "pergdp_in_yuan.csv"
    out2, rp2 = tmp_path / "x.parquet", tmp_path / "x.csv"
    proc = run_cli("validate", str(bad), "--out", str(out2), "--report", str(rp2))
    assert proc.returncode == 2 and not out2.exists() and not rp2.exists()
    assert "nothing written" in proc.stdout


def test_no_traceback_when_the_reader_closes_the_pipe(good):
    _, path = good
    p = subprocess.Popen([sys.executable, "-m", "replication", "validate", str(path)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # like `| head -0`: closed before the first line is written
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "BrokenPipeError" not in err and "Traceback" not in err and "Exception ignored" not in err, err
    proc = subprocess.run(f"{sys.executable} -m replication validate {path} | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.stdout.count("\n") == 1 and "BrokenPipe" not in proc.stderr, proc.stderr


def test_validate_panel_is_fast_on_the_default_panel(sim):
    import time

    validate_panel(sim.panel)
    t = time.perf_counter()
    for _ in range(5):
        rep = validate_panel(sim.panel, years=(2009, 2022))
    per = (time.perf_counter() - t) / 5
    assert rep.ok and len(rep.repairs) > 100
    assert per < 0.5, f"validate_panel takes {per:.2f} s on the default panel (vectorised: about 0.05 s)"


def test_a_span_without_any_pre_pilot_year_is_an_error_that_names_the_first_year_to_use(panel):
    """With first_year after the first batch no pilot city switches inside the panel: the DID
    is not identified (every chapter would fail on a collinear did), so validation stops."""
    from replication.data import validate_panel

    raw = panel.drop(columns=["treat", "did", "broadband"])
    rep = validate_panel(raw, years=(2015, 2022))
    assert not rep.ok
    msg = " ".join(rep.errors)
    assert "no pilot city is observed both before and after" in msg and "-p first_year=2011" in msg
    assert validate_panel(raw, years=(2011, 2022)).ok
