"""The page "The simulated world" (book/simulated-world.md): every planted parameter of the truth
is in its table with a meaning and a unit, the documented defaults are the simulator's, the
page builds strictly with the tables the extension renders from the package, its equations
quote the code they transcribe, and it is left out of a book built on a user's panel.  Also the
landing page's findings (replication.report.findings), in both data modes."""
from __future__ import annotations

import csv
import importlib
import inspect
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from conftest import ROOT
from replication.data import dgp
from replication.data.dgp import DGP, parameter_table, shown_default, truth_key_row, truth_table
from replication.report import findings

PAGE = ROOT / "book" / "simulated-world.md"
EXT = ROOT / "book" / "_ext"
SIMULATOR_WORDS = re.compile(r"simulat|semi-synthetic|synthetic|planted|truth|true ATT|true effect|true threshold|"
                             r"true group|data-generating|default data|\bDGP\b", re.IGNORECASE)


# --- the parameter table against the simulator and its truth ---------------------------------

def _planted_keys(truth: dict) -> dict[str, str]:
    """truth key -> the DGP switch it repeats: every field of truth["dgp"], and the scalars of the
    truth whose value is a switch's value (threshold_k -> thresholds)."""
    planted = {k: k for k in truth["dgp"]}
    for key, value in truth.items():
        if key in planted or not isinstance(value, (int, float)):
            continue
        m = re.fullmatch(r"threshold_(\d)", key)
        if m:
            planted[key] = "thresholds"
            assert truth["dgp"]["thresholds"][int(m[1]) - 1] == value
        elif key in truth["dgp"]:
            planted[key] = key
    return planted


def test_every_planted_parameter_of_the_truth_is_in_the_table_with_meaning_and_unit(sim):
    table = findings.world_parameters().set_index("name")
    planted = _planted_keys(sim.truth)
    for key in ("a_hc", "a_st", "threshold_1", "threshold_2", "dynamic_growth", "pretrend", "selection_strength"):
        assert key in planted, f"{key} is no longer planted in the truth: update this test and the page"
    for key, switch in planted.items():
        assert switch in table.index, f"truth key {key}: switch {switch} missing from the page's table"
        row = table.loc[switch]
        assert row["meaning"].strip() and row["unit"].strip() and row["mirrors in the paper"].strip(), switch


def test_every_scalar_of_the_truth_is_documented(sim):
    docs = truth_table()
    for key, value in sim.truth.items():
        if isinstance(value, (int, float)):
            i = truth_key_row(key)
            assert i is not None, f"truth key {key} is not documented in replication.data.dgp.TRUTH_KEYS"
            assert docs.loc[i, "meaning"].strip() and docs.loc[i, "unit"].strip()


def test_documented_defaults_are_the_simulators():
    t = parameter_table().set_index("name")
    assert list(t.index) == [f.name for f in fields(DGP)]
    d = DGP()
    for f in fields(DGP):
        assert t.loc[f.name, "default"] == shown_default(getattr(d, f.name))
    assert t.loc["thresholds", "default"] == "0.55, 1.3" and t.loc["a_hc", "default"] == "0.003"
    # a switch said to copy the paper names the paper's cells, and those cells exist
    for name, row in t.iterrows():
        if row["copies the paper"]:
            assert row["paper"], f"{name} copies the paper but names no cell of it"
    for refs in t["paper"]:
        findings.paper_cells(refs)  # raises on a cell the paper does not have


def test_the_papers_numbers_beside_the_switches_are_the_papers():
    t = findings.world_parameters().set_index("name")
    assert "west 0.534***" in t.loc["region_effects", "mirrors in the paper"]
    assert "central \u22120.129" in t.loc["region_effects", "mirrors in the paper"]
    assert "0.5337, 1.3028" in t.loc["thresholds", "mirrors in the paper"]
    with pytest.raises(ValueError, match="unknown table"):
        findings.world_table("nope")


# --- the page ---------------------------------------------------------------------------------

CONF = """import sys
sys.path.insert(0, {ext!r})
extensions = [{extra}"myst_parser", "book_extras"]
myst_enable_extensions = ["amsmath", "dollarmath", "colon_fence"]
{more}
"""


def _sphinx(src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
                           str(src), str(out)], capture_output=True, text=True, timeout=300)


SMART = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})  # docutils' smart quotes


def _rows(table) -> list[list[str]]:
    return [[c.get_text(" ", strip=True).translate(SMART) for c in tr.select("th, td")] for tr in table.select("tr")]


@pytest.fixture(scope="module")
def built_page(tmp_path_factory):
    from bs4 import BeautifulSoup

    src = tmp_path_factory.mktemp("world") / "src"
    src.mkdir()
    (src / "index.md").write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "conf.py").write_text(CONF.format(ext=str(EXT), extra="", more=""))
    res = _sphinx(src, src.parent / "out")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return BeautifulSoup((src.parent / "out" / "index.html").read_text(encoding="utf-8"), "html.parser")


SHOWN = ["name", "meaning", "mirrors in the paper"]  # the parameter table's columns on the page (:stack: default, unit)


def test_the_page_builds_strictly_and_shows_the_generated_parameter_table(built_page):
    tables = {_rows(t)[0][0]: _rows(t) for t in built_page.select("table")}
    expected = findings.world_parameters()
    params = next(r for r in map(_rows, built_page.select("table")) if r[0] == SHOWN)
    assert len(params) - 1 == len(expected)
    for shown, (_, row) in zip(params[1:], expected.iterrows()):  # default and unit stacked under the name
        assert shown == [f"{row['name']} default: {row['default']} unit: {row['unit']}", row["meaning"],
                         row["mirrors in the paper"]], shown
    for key in ("planted feature", "indicator", "variable", "key"):
        assert key in tables, f"the page lacks the {key!r} table"
    assert len(tables["indicator"]) == 16 and len(tables["key"]) == len(truth_table()) + 1


def test_every_planted_parameter_is_on_the_built_page_with_meaning_and_unit(built_page, sim):
    table = next(r for r in map(_rows, built_page.select("table")) if r[0] == SHOWN)
    by_name = {r[0].split(" default: ")[0]: r for r in table[1:]}
    for key, switch in _planted_keys(sim.truth).items():
        assert switch in by_name, key
        name_cell, meaning, _ = by_name[switch]
        assert meaning and re.search(r" unit: \S", name_cell), switch


def test_every_world_table_value_is_labelled_for_a_phone(built_page):
    """Below 600 px (book/_static/custom.css) a world table shows each row as a block of
    labelled lines: every cell but the first carries its column's label in the ``data-label``
    of an empty ``span.world-table-label`` (no text of the cell), which the style sheet shows."""
    css = (ROOT / "book" / "_static" / "custom.css").read_text(encoding="utf-8")
    assert re.search(r"\.world-table-label::before\s*\{\s*content:\s*attr\(data-label\)", css)
    tables = built_page.select("table.world-table")
    assert len(tables) >= 7
    for t in tables:
        heads = [th.get_text(" ", strip=True).translate(SMART) for th in t.select("thead th")]
        for tr in t.select("tbody tr"):
            cells = tr.select("td")
            assert len(cells) == len(heads) and not cells[0].select("span.world-table-label")
            for head, td in zip(heads[1:], cells[1:]):
                span = td.select_one("span.world-table-label")
                assert span is not None and span.get_text() == "", (head, td)
                label = span.get("data-label", "")
                # a label without symbols is the header itself; with symbols (math in the header) as many words
                assert label == head if "\\(" not in head else len(label.split()) == len(head.split()), (head, label)


# Numbers of the page's equations that are products of two literals of the code.
DERIVED = {"0.54": "0.9 * zpop * 0.6", "0.0004": "0.002 * _std(...) * 0.2"}


def _equation_numbers(block: str) -> set[str]:
    """The decimal numbers of a block of the page: equations, tables and prose (not code spans)."""
    text = re.sub(r"```.*?```", " ", block, flags=re.S)  # commands and directives
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"[a-zA-Z]+_\{?[\w,]+\}?", " ", text)  # subscripts (b^{hc}_j, s_k) are symbols, not numbers
    return set(re.findall(r"(?<![\w.])\d+\.\d+", text))


def test_the_equations_quote_the_code_they_transcribe():
    """Each block of the page marked ``<!-- source: module.function -->`` quotes only decimal
    numbers that appear in that function's code (or, for the derived products, in :data:`DERIVED`)."""
    text = PAGE.read_text(encoding="utf-8")
    marks = list(re.finditer(r"<!-- source: ([\w.]+) -->", text))
    assert len(marks) >= 7
    for m, nxt in zip(marks, marks[1:] + [None]):
        block = text[m.end():nxt.start() if nxt else len(text)]
        module, name = m[1].rsplit(".", 1)
        code = inspect.getsource(getattr(importlib.import_module(module), name))
        code += f" GOV_BOUND = {dgp.GOV_BOUND} HC_BOUND = {dgp.HC_BOUND}"  # the bounds B_(a,c) the code names
        missing = [n for n in sorted(_equation_numbers(block)) if n not in code
                   and not (n in DERIVED and all(p in code for p in re.findall(r"\d+\.\d+", DERIVED[n])))]
        assert not missing, f"{m[1]}: the page's equations quote {missing}, which its code does not have"


def test_the_page_is_in_the_toc_and_linked_from_every_banner():
    assert "file: simulated-world" in (ROOT / "book" / "_toc.yml").read_text()
    from replication.book.chapter import WORLD_LINK

    assert "simulated-world.html" in WORLD_LINK


def _toc_project(root: Path, mode: str) -> Path:
    src = root / "src"
    (src / "chapters" / "outputs").mkdir(parents=True)
    (src / "index.md").write_text("# Home\n\n```{tableofcontents}\n```\n")
    (src / "other.md").write_text("# Other\n\nText.\n\n```{default-data}\nOn the default data see {doc}`simulated-world`.\n"
                                  "```\n")
    (src / "simulated-world.md").write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: simulated-world\n"
                                  "  - file: other\n")
    with open(src / "chapters" / "outputs" / "data_source.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["item", "value"], ["mode", mode], ["rows", "3990"]])
    more = 'external_toc_path = "_toc.yml"\nexclude_patterns = ["chapters/outputs"]'
    (src / "conf.py").write_text(CONF.format(ext=str(EXT), extra='"sphinx_external_toc", ', more=more))
    return src


@pytest.mark.parametrize("mode, kept", [("your panel", False), ("default semi-synthetic panel (seed 1)", True)])
def test_the_page_and_default_data_blocks_are_left_out_of_a_book_on_a_users_panel(tmp_path, mode, kept):
    src = _toc_project(tmp_path, mode)
    res = _sphinx(src, tmp_path / "out")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (tmp_path / "out" / "simulated-world.html").exists() == kept
    home = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert ("simulated-world.html" in home) == kept
    assert "other.html" in home
    other = (tmp_path / "out" / "other.html").read_text(encoding="utf-8")  # {default-data}: kept or not even parsed
    assert ("On the default data see" in other) == kept and ("simulated-world.html" in other) == kept


# --- the findings of the landing page ----------------------------------------------------------

@pytest.fixture(scope="module")
def findings_inputs():
    from replication.book.chapter import load
    from replication.report import audit, scorecard, specs

    panel, sim, _, _ = load(20251206, "", 2009, 2022)
    results = {2: specs.table2(panel), "errors": {}}
    st = findings.staggered_estimates(panel, results[2]["(5)"], sim.truth)
    st_user = findings.staggered_estimates(panel, results[2]["(5)"], None)
    return (audit.audit(), scorecard.scorecard(results, sim.truth), scorecard.scorecard(results, None), st, st_user,
            sim.truth)


def test_findings_name_every_kind_of_inconsistency_the_audit_finds(findings_inputs):
    a = findings_inputs[0]
    kinds = set(a.loc[a["verdict"] == "inconsistent", "check"])
    assert kinds <= {c for c, _, _ in findings.HEADLINE_CHECKS}, kinds
    lines = findings.audit_headlines(a)
    assert len(lines) == len(kinds)
    assert any("Table 4, columns (2) and (4)" in line for line in lines)


def test_findings_on_the_default_data_judge_the_preferred_estimate_against_the_truth(findings_inputs):
    a, card, _, st, _, truth = findings_inputs
    text = findings.summary_markdown(a, card, st, truth)
    row = card[(card["table"] == "Table 2") & (card["column"] == "(5)") & (card["row"] == "did")].iloc[0]
    verdict = "covers" if row["ci_lower"] <= truth["att"] <= row["ci_upper"] else "does not cover"
    assert f"the interval {verdict} it" in text
    assert f"{truth['att']:.3f}" in text and f"{row['ours']:.3f}" in text
    assert "0.184***" in text  # the paper's number, from paper_results.yaml
    assert "{doc}`the audit <chapters/09_audit>`" in text


def test_findings_on_a_users_panel_speak_only_of_the_data_and_the_paper(findings_inputs):
    a, _, card_user, _, st_user, _ = findings_inputs
    text = findings.summary_markdown(a, card_user, st_user, None)
    assert not SIMULATOR_WORDS.search(text), SIMULATOR_WORDS.search(text)
    assert "scorecard's tolerance" in text and "Callaway-Sant'Anna" in text


def test_the_landing_page_includes_the_findings_chapter_9_writes():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert "```{include} chapters/outputs/09_audit/findings.md" in intro
    import nbformat

    nb = nbformat.read(str(ROOT / "notebooks" / "09_audit.ipynb"), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r'export_text\(.*"findings\.md", CHAPTER\)', code)
