"""The data-mode switch: the book speaks of the data it was built from.

Static checks on the notebook sources (fast, every clone) beside the end-to-end check of
tests/test_real_data.py: prose about the simulator lives only in cells tagged
``default-data``, which :func:`replication.book.chapter.apply_data_mode` removes from a
chapter executed on a user's panel.
"""
from __future__ import annotations

import ast
import re

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SIMULATOR_WORDS = re.compile(r"simulat|semi-synthetic|planted|truth|true ATT|true effect|true threshold|"
                             r"true group|data-generating|default data|\bDGP\b", re.IGNORECASE)


def _cells(path):
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_simulator_prose_is_only_in_default_data_cells(path):
    offenders = []
    for i, c in enumerate(_cells(path)):
        tags = c.metadata.get("tags", [])
        if c.cell_type != "markdown" or "default-data" in tags:
            continue
        for m in SIMULATOR_WORDS.finditer(c.source):
            offenders.append(f"cell {i}: …{c.source[max(0, m.start() - 60):m.end() + 30]}…")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_takes_the_users_mapping_and_indicators(path):
    params = next(c for c in _cells(path) if "parameters" in c.metadata.get("tags", []))
    declared = {node.target.id: ast.unparse(node.annotation) for node in ast.parse(params.source).body
                if isinstance(node, ast.AnnAssign)}
    for name, kind in (("data_path", "str"), ("mapping", "str"), ("indicators", "list"), ("first_year", "int"),
                       ("last_year", "int")):
        assert declared.get(name) == kind, f"{path.name}: parameter {name}: {kind} missing ({declared})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_glue_keys_used_in_kept_cells_are_defined_in_kept_cells(path):
    """A markdown cell that survives in a data mode must not cite a glued value that only a
    removed cell defines (the strict build would fail)."""
    cells = _cells(path)
    for drop in ("default-data", "user-data"):
        kept = [c for c in cells if drop not in c.metadata.get("tags", [])]
        defined = set()
        for c in kept:
            if c.cell_type == "code":
                defined |= set(re.findall(r'glue(?:_figure)?\(\s*"([^"]+)"', c.source))
        for c in kept:
            if c.cell_type == "markdown":
                used = set(re.findall(r"\{glue:(?:text|figure)\}`([^`]+)`", c.source))
                used |= set(re.findall(r"```\{glue:figure\}\s+(\S+)", c.source))
                assert used <= defined, f"{path.name} without {drop} cells: {sorted(used - defined)} undefined"


def _executed(tmp_path, data_path: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"data_path": data_path}}
    for tags in ([], ["default-data"], ["user-data"], ["hide-input", "default-data"]):
        c = nbformat.v4.new_markdown_cell("x")
        c.metadata["tags"] = tags
        nb.cells.append(c)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("data_path, kept", [("", [[], ["default-data"], ["hide-input", "default-data"]]),
                                             ("data/raw/panel.csv", [[], ["user-data"]])])
def test_apply_data_mode_keeps_the_cells_of_the_data_used(tmp_path, data_path, kept):
    from replication.book.chapter import apply_data_mode

    path = _executed(tmp_path, data_path)
    apply_data_mode(path)
    assert [c.metadata.get("tags", []) for c in _cells(path)] == kept
    assert apply_data_mode(path) == 0  # idempotent


def test_display_path_never_publishes_an_absolute_path(tmp_path):
    from replication._paths import PROJECT_ROOT
    from replication._paths import display_path

    assert display_path(PROJECT_ROOT / "data" / "raw" / "panel.csv") == "data/raw/panel.csv"
    assert display_path(tmp_path / "elsewhere.csv") == "elsewhere.csv"
