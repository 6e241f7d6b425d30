"""The book's library page (notebooks/90_library.ipynb): the public API on data that is not
the paper's.  Static checks on the notebook source (fast); the executed page is covered by
the book tests that run every notebook (tests/test_book.py, tests/test_real_data.py).

* its parameters cell takes the book's parameters and those the parameter files give it;
* the examples shown to the reader (cells tagged ``api-example``, not hidden) use only
  ``pandas``, the public names of ``import replication as rp`` and the page's parameters,
  and so does the code in the exercise solutions;
* the page reads no panel of the book (neither the default one nor the user's), only the
  public data sets of ``tests/data/oracles/``, each named in that folder's README.
"""
from __future__ import annotations

import ast
import builtins
import re

import nbformat
import pytest

import replication as rp
from conftest import ORACLE, ROOT

PAGE = ROOT / "notebooks" / "90_library.ipynb"
EXAMPLE = "api-example"
# what an example may use besides its own names and the public API: the page's parameters and
# the folder of the public data sets (defined in the hidden set-up cell)
GIVEN = {"ORACLE"}


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(str(PAGE), as_version=4).cells


def _parameters(cells) -> dict[str, str]:
    cell = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    return {n.target.id: ast.unparse(n.annotation) for n in ast.parse(cell.source).body if isinstance(n, ast.AnnAssign)}


def _examples(cells) -> list[str]:
    return [c.source for c in cells if c.cell_type == "code" and EXAMPLE in c.metadata.get("tags", [])]


def _solution_code(cells) -> list[str]:
    return [m for c in cells if c.cell_type == "markdown" for m in re.findall(r"```python\n(.*?)```", c.source, re.S)]


def test_the_page_is_in_the_book():
    assert "file: chapters/90_library" in (ROOT / "book" / "_toc.yml").read_text(encoding="utf-8")


def test_parameters_cell_takes_the_books_parameters_and_the_files_values(cells):
    from replication.book.parameters import resolve_parameters

    declared = _parameters(cells)
    for name, kind in (("seed", "int"), ("data_path", "str"), ("mapping", "str"), ("indicators", "list"),
                       ("first_year", "int"), ("last_year", "int"), ("n_draws", "int")):
        assert declared.get(name) == kind, f"parameter {name}: {kind} missing ({declared})"
    for params in ("params/quick.yaml", "params/paper.yaml"):  # a name the page lacks would be an error
        resolved = resolve_parameters(ROOT / params, [PAGE])[PAGE.stem]
        assert isinstance(resolved["n_draws"], int) and resolved["n_draws"] > 0, params


def test_examples_are_shown_and_call_the_estimators(cells):
    examples = [c for c in cells if c.cell_type == "code" and EXAMPLE in c.metadata.get("tags", [])]
    assert len(examples) >= 4
    for c in examples:
        assert not {"hide-input", "remove-input", "remove-cell"} & set(c.metadata.get("tags", [])), c.source[:60]
    called = {n.attr for src in _examples(cells) for n in ast.walk(ast.parse(src))
              if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "rp"}
    assert {"panel_threshold", "callaway_santanna", "sun_abraham", "honest_did"} <= called


def _check_public_only(sources: list[str], allowed: set[str]) -> list[str]:
    """Problems in code that should use only pandas, rp's public names, its own names and ``allowed``."""
    problems, defined = [], set(allowed)
    for src in sources:
        tree = ast.parse(src)
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                problems += [f"import {a.name}" for a in n.names
                             if (a.name, a.asname) not in (("pandas", "pd"), ("replication", "rp"))]
            elif isinstance(n, ast.ImportFrom):
                problems.append(f"from {n.module} import ...")
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "rp":
                if n.attr not in rp.__all__:
                    problems.append(f"rp.{n.attr} is not public")
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                defined.add(n.id)
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                if n.id not in defined | {"pd", "rp"} and not hasattr(builtins, n.id):
                    problems.append(f"{n.id} is neither public nor defined in the examples")
    return problems


def test_examples_use_only_the_public_api(cells):
    assert not _check_public_only(_examples(cells), GIVEN | set(_parameters(cells)))


def test_exercise_solutions_use_only_the_public_api(cells):
    code = _solution_code(cells)
    assert code, "the exercises' solutions show code"
    assert not _check_public_only(code, GIVEN | set(_parameters(cells)))


def test_the_public_only_check_can_fail():
    assert _check_public_only(["from replication.estimators import threshold\nthreshold.fit_panel_threshold()",
                               "rp.fit_panel_threshold(df)"], set()) == [
        "from replication.estimators import ...", "threshold is neither public nor defined in the examples",
        "rp.fit_panel_threshold is not public", "df is neither public nor defined in the examples"]


def test_the_page_reads_no_panel_of_the_book_only_public_oracle_data(cells):
    code = "\n".join([c.source for c in cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
                     + _solution_code(cells))
    for word in ("load(", "load_panel", "load_analysis_panel", "data_path", "mapping", "simulate_panel"):
        assert word not in code, f"the library page must not use the book's panel: {word}"
    readme = (ORACLE / "README.md").read_text(encoding="utf-8")
    files = set(re.findall(r'ORACLE / "([^"]+)"', code)) | set(re.findall(r'ref / "([^"]+)"', code))
    assert {"hansen1999.dta", "mpdta.csv", "ehec_data.dta"} <= files
    for name in files:
        hits = list(ORACLE.rglob(name))
        assert hits, f"{name} is not in tests/data/oracles/"
        assert name in readme, f"{name}: origin and licence are not in the oracle README"
