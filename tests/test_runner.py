"""Parameters are checked before anything runs; one notebook runs under papermill."""
from __future__ import annotations

import nbformat
import pytest

from conftest import ROOT
from replication.runner import RunError, notebooks, resolve_parameters


def test_paper_params_resolve():
    p = resolve_parameters(ROOT / "params/paper.yaml", notebooks())
    assert p["01_data"]["seed"] == 20251206


def test_unknown_parameter_names_the_notebook(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("01_data:\n  seeed: 3\n")
    with pytest.raises(RunError, match=r"notebook 01_data has no parameter 'seeed'"):
        resolve_parameters(f, notebooks())


def test_wrong_type_is_rejected(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("01_data:\n  first_year: 'twenty'\n")
    with pytest.raises(RunError, match=r"01_data: parameter 'first_year' must be int"):
        resolve_parameters(f, notebooks())


def test_override_of_unknown_name():
    with pytest.raises(RunError, match="has a parameter 'n_plac'"):
        resolve_parameters(None, notebooks(), ["n_plac=5"])


def test_unknown_section(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("99_nothing:\n  seed: 1\n")
    with pytest.raises(RunError, match="names no notebook"):
        resolve_parameters(f, notebooks())


def test_data_notebook_runs_with_other_years(tmp_path):
    import papermill as pm

    out = tmp_path / "01.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks/01_data.ipynb"), str(out), parameters={"first_year": 2011},
                        cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    text = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", []))
    assert "287" in text
    figs = sum(any(k.endswith("image/png") for k in o.get("data", {})) for c in nb.cells for o in c.get("outputs", []))
    assert figs >= 2, "the map and the timing heat map are embedded"
    assert (tmp_path / "outputs/01_data/sample_arithmetic.csv").exists()
