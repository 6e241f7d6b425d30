"""Project hygiene: pins, environment.yml, codebook, notebooks stripped and parameterised."""
from __future__ import annotations

import json
import re
import tomllib

import nbformat
import pytest
import yaml

from conftest import ROOT


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "://" not in line and " @ " not in line, f"no URLs in requirements.txt: {line}"
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert m, f"not an exact pin: {line}"
        pins[m[1].lower().replace("_", "-")] = m[2]
    return pins


def test_requirements_are_exact_pins_and_cover_the_package():
    pins = _pins()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = deps["dependencies"] + deps["optional-dependencies"]["book"] + deps["optional-dependencies"]["test"]
    for d in names:
        name = re.split(r"[<>=!~ \[]", d)[0].lower().replace("_", "-")
        assert name in pins, f"{name} (pyproject) is not pinned in requirements.txt"
    assert pins["jupyter-book"] == "1.0.4.post1"


def test_environment_yml_is_python_plus_the_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.11") for d in deps)
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip
    assert all(not (isinstance(d, str) and "==" in d) for d in deps), "pins live in requirements.txt only"


def test_no_lock_file_committed():
    assert not (ROOT / "uv.lock").exists()


def test_codebook_in_data_readme_is_generated_from_the_schema():
    from replication.data.schema import codebook_markdown

    assert codebook_markdown() in (ROOT / "data/README.md").read_text(), \
        "data/README.md is out of date: python -m replication codebook --write"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_outputs_are_stripped(path):
    nb = json.loads(path.read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_literal_typed_and_fully_parsed(path):
    import papermill as pm

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    lines = [ln for ln in cells[0].source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    inferred = pm.inspect_notebook(str(path))
    assert len(inferred) == len(lines), f"papermill parsed {sorted(inferred)} of {lines}"
    for name, p in inferred.items():
        # literals only: scalars, or a list literal (the runner type-checks `-p name=[a, b]`)
        assert p["inferred_type_name"] in ("int", "float", "str", "bool", "list", "dict"), (name, p)
        if p["inferred_type_name"] == "list":
            import ast

            assert isinstance(ast.literal_eval(p["default"]), list), (name, p)
        assert p["help"], f"{name}: comment it"
    assert "seed" in inferred


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_starts_with_inline_matplotlib(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    assert code[0].lstrip().startswith("%matplotlib inline")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_plumbing_cells_are_hidden(path):
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        # "api-example": code shown on purpose (the library page's examples, tests/test_library_page.py)
        if c.cell_type == "code" and "parameters" not in tags and "api-example" not in tags:
            assert "hide-input" in tags, f"{path.name}: tag plumbing cells hide-input"


# --- the package's layers: data -> estimators -> report -> book, imports only go down ---
LAYERS = {"replication._paths": 0, "replication.data": 1, "replication.estimators": 2,
          "replication.montecarlo": 2.5,  # the Monte Carlo study: uses data and estimators, the report shows it
          "replication.report": 3, "replication.book": 4}


def _layer(module: str) -> int:
    for prefix, rank in sorted(LAYERS.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return 5  # replication/__init__.py and __main__.py: the public face, above everything


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every replication import in a file, including those inside functions."""
    import ast

    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            # "from replication.estimators import did" imports the module replication.estimators.did
            out += [(node.lineno, n) for n in names if n.startswith("replication")]
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("replication")]
    return out


def _package_modules():
    pkg = ROOT / "replication"
    for path in sorted(pkg.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts)


def test_imports_only_go_down_the_layers():
    """A lower layer never imports a higher one (data -> estimators -> report -> book), and the
    package uses absolute imports so that this check sees every edge."""
    bad = []
    for path, module in _package_modules():
        own = _layer(module)
        for line, target in _imports(path):
            if target.startswith("."):
                bad.append(f"{path.relative_to(ROOT)}:{line} relative import {target} (use replication....)")
            elif target.split(".")[0] == "replication" and _layer(target) > own:
                bad.append(f"{path.relative_to(ROOT)}:{line} {module} (layer {own}) imports {target} (layer {_layer(target)})")
    assert not bad, "imports that go up the layers:\n" + "\n".join(bad)


def test_the_layer_check_can_fail(tmp_path):
    """The direction test sees an upward import inside a function."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from replication.report import tables\n")
    assert [t for _, t in _imports(f)] == ["replication.report", "replication.report.tables"]
    assert _layer("replication.report.tables") > _layer("replication.estimators.did")


# --- small modules and short functions (issue 16: no module over ~400 lines, no function over ~80) ---
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _size_offenders(paths) -> list[str]:
    """'path: N lines' for every module over MAX_MODULE_LINES and 'path:line name(): N lines'
    for every function or method (nested ones too, counted from ``def`` to its last line)
    over MAX_FUNCTION_LINES."""
    import ast

    out = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            out.append(f"{rel}: module of {n} lines (> {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{rel}:{node.lineno} {node.name}(): {length} lines (> {MAX_FUNCTION_LINES})")
    return out


def test_modules_and_functions_are_small():
    offenders = _size_offenders(path for path, _ in _package_modules())
    assert not offenders, "too long (split into modules of one job / named steps):\n" + "\n".join(offenders)


def test_the_size_check_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES + "\n" * (MAX_MODULE_LINES - MAX_FUNCTION_LINES))
    assert _size_offenders([f]) == [f"{f}: module of {MAX_MODULE_LINES + 1} lines (> {MAX_MODULE_LINES})",
                                    f"{f}:1 f(): {MAX_FUNCTION_LINES + 1} lines (> {MAX_FUNCTION_LINES})"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_run_time_in_chapter_prose(path):
    """Run times change every run: they belong on the reproducibility and performance pages,
    never in a chapter (whose tables and text are identical run to run)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for pattern in (r"perf_counter\(", r"time\.time\(", r"monotonic\(", r"\['seconds'\]", r'\["seconds"\]'):
        assert not re.search(pattern, code), f"{path.name} measures or prints a run time ({pattern})"


def test_displayed_chapter_numbers_are_the_numbers_the_runner_uses():
    """In a numbered part of the toc, the n-th chapter is shown as "n."; its file must start with
    that number, since `run --only NN` and the exercises name chapters by it."""
    import yaml

    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    count = 0
    for part in toc["parts"]:
        if not part.get("numbered"):
            continue
        for ch in part["chapters"]:
            count += 1
            name = ch["file"].rsplit("/", 1)[-1]
            assert name.startswith(f"{count:02d}_"), f"{ch['file']} is shown as chapter {count}"
