"""Every exercise runs by changing notebook parameters only (issue 18, chapter convention 3).

Every ``{exercise}`` directive of the chapter notebooks (``notebooks/*.ipynb``) and of the
markdown pages (``book/*.md``) is parsed.  The fast tests check the form: each exercise has a
``:label:`` and exactly one fenced ``bash`` block with exactly one command
``python -m replication run --only NN -p name=value [-p name=value ...]`` that names its own
chapter and only parameters that chapter's ``parameters`` cell declares, with values the
runner accepts (types, simulator options: :func:`replication.book.parameters.resolve_parameters`);
a ``{solution}`` of that label follows (a dropdown); a chapter's solutions paste
``{glue:text}`` keys named ``sol_…``, glued in a code cell tagged ``solution`` (and
``hide-input``) placed just before the ``## Exercises`` heading; exercises that change
``dgp`` live in cells tagged ``default-data``, and a solution shown on a user's panel only
pastes keys glued on a user's panel too; chapters 01–10 have at least two exercises.

The slow test runs every command with ``--params params/quick.yaml`` in one copy of the
project (one test per chapter, its commands one after the other) and asserts that it
succeeds; it prints the time of each command and of the chapter.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
LIBRARY = "90_library"  # the page on the Python API (its exercises may be solved in code)
CHAPTER_NUMBERS = [p.stem[:2] for p in NOTEBOOKS if 1 <= int(p.stem[:2]) <= 10]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
GLUE_USE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
GLUE_DEF = re.compile(r"""\bglue\(\s*(?:[rf]?)["']([^"']+)["']""")
COMMAND = ("python", "-m", "replication", "run")


@dataclass
class Block:
    """A fenced block: a directive (``name`` set) or code (``info`` = language)."""
    name: str
    arg: str
    info: str
    options: dict
    body: str
    children: list = field(default_factory=list)


def blocks(text: str) -> list[Block]:
    """The top-level fenced blocks of MyST text, directives parsed with their options and
    nested blocks (a fence closes at a line of the same character, at least as long)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip()
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = lines[i + 1:j]
        d = DIRECTIVE.match(info)
        options = {}
        if d:
            while body and re.match(r"^\s*:[\w-]+:", body[0]):
                k, _, v = body.pop(0).strip()[1:].partition(":")
                options[k.strip()] = v.strip()
        text_body = "\n".join(body)
        out.append(Block(d["name"] if d else "", d["arg"].strip() if d else "", "" if d else info, options,
                         text_body, blocks(text_body) if d else []))
        i = j + 1
    return out


@dataclass
class Exercise:
    where: str  # "03_baseline cell c12" or "book/instructors.md"
    chapter: str  # the notebook number ("03"), "" for a page
    label: str
    body: str
    commands: list[str]
    default_data: bool
    solution: Block | None
    solution_default_data: bool


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _commands(block: Block) -> list[str]:
    """The commands of the ``bash`` blocks inside an exercise (one per line, ``\\`` joined)."""
    out = []
    for b in block.children:
        if b.info.split()[:1] == ["bash"]:
            joined = re.sub(r"\\\n\s*", " ", b.body)
            out += [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            out.append(None)  # one marker per bash block
    return out


def _units(path: Path) -> list[tuple[str, str, bool]]:
    """(where, markdown text, default-data) for each markdown cell of a notebook or the page."""
    if path.suffix == ".md":
        return [(f"book/{path.name}", path.read_text(encoding="utf-8"), False)]
    return [(f"{path.stem} cell {c.get('id')}", _source(c), "default-data" in c["metadata"].get("tags", []))
            for c in _cells(path) if c["cell_type"] == "markdown"]


def exercises(path: Path) -> list[Exercise]:
    """The exercises of a notebook or page, each with the directive that follows it."""
    found: list[tuple[str, Block, bool]] = []
    for where, text, dd in _units(path):
        found += [(where, b, dd) for b in blocks(text) if b.name in ("exercise", "solution")]
    out = []
    for k, (where, b, dd) in enumerate(found):
        if b.name != "exercise":
            continue
        nxt = found[k + 1] if k + 1 < len(found) else None
        sol = nxt[1] if nxt and nxt[1].name == "solution" else None
        out.append(Exercise(where, path.stem[:2] if path.suffix == ".ipynb" else "", b.options.get("label", ""),
                            b.body, _commands(b), dd, sol, bool(nxt and nxt[2]) if sol else False))
    return out


ALL = [(p, e) for p in NOTEBOOKS + PAGES for e in exercises(p)]


def _declared(number: str) -> dict:
    from replication.book.parameters import declared_parameters

    nb = next(p for p in NOTEBOOKS if p.stem[:2] == number)
    return declared_parameters(nb)


def check_command(command: str, chapter: str) -> list[str]:
    """What is wrong with an exercise's command (empty when nothing is)."""
    from replication.book.parameters import RunError, resolve_parameters

    try:
        tokens = shlex.split(command)
    except ValueError as e:
        return [f"cannot split {command!r}: {e}"]
    if tuple(tokens[:4]) != COMMAND or tokens[4:5] != ["--only"] or len(tokens) < 6:
        return [f"{command!r} is not `python -m replication run --only NN -p name=value ...`"]
    number, rest = tokens[5], tokens[6:]
    problems = []
    if chapter and number != chapter:
        problems.append(f"{command!r} runs chapter {number}, not this chapter ({chapter})")
    if not any(p.stem[:2] == number for p in NOTEBOOKS):
        return problems + [f"{command!r}: no chapter {number}"]
    if not rest or len(rest) % 2 or any(f != "-p" for f in rest[::2]) or any("=" not in v for v in rest[1::2]):
        return problems + [f"{command!r}: after --only NN only `-p name=value` pairs, at least one"]
    declared = _declared(number)
    names = [v.split("=", 1)[0] for v in rest[1::2]]
    problems += [f"{command!r}: chapter {number} has no parameter '{n}'" for n in names if n not in declared]
    if not problems:
        nb = next(p for p in NOTEBOOKS if p.stem[:2] == number)
        try:
            resolve_parameters(ROOT / "params" / "quick.yaml", [nb], rest[1::2], declared={nb.stem: declared})
        except RunError as e:
            problems.append(f"{command!r}: {e}")
    return problems


# ---------------------------------------------------------------------------------------
# the parser, on known text

SAMPLE = '''## Exercises

````{exercise}
:label: ex-a

Set the shift. What happens?

```bash
python -m replication run --only 02 -p shift=0.01
```
````

````{solution} ex-a
:class: dropdown

It moves by {glue:text}`sol_shift`.
```python
x = 1
```
````
'''


def test_the_parser_finds_exercise_command_and_solution(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SAMPLE)
    (ex,) = exercises(page)
    assert ex.label == "ex-a" and ex.commands == ["python -m replication run --only 02 -p shift=0.01", None]
    assert ex.solution is not None and ex.solution.arg == "ex-a" and ex.solution.options == {"class": "dropdown"}
    assert GLUE_USE.findall(ex.solution.body) == ["sol_shift"]
    assert check_command("python -m replication run --only 02 -p shift=0.01", "02") == []


def test_the_command_check_can_fail():
    assert check_command("python -m replication run --only 03 -p shift=0.01", "02")  # other chapter, undeclared
    assert check_command("python -m replication run --only 02 -p shfit=0.01", "02")
    assert check_command("python -m replication run --only 02", "02")  # no parameter changed
    assert check_command("papermill notebooks/02_index.ipynb out.ipynb -p shift 0.01", "02")
    assert check_command("python -m replication run --only 02 -p pooled=maybe", "02")  # a str for a bool
    assert check_command('python -m replication run --only 03 -p "dgp={dynamic_growht: 0}"', "03")
    assert check_command('python -m replication run --only 03 -p "dgp={dynamic_growth: 0}"', "03") == []


# ---------------------------------------------------------------------------------------
# the exercises of the book

@pytest.mark.parametrize("number", CHAPTER_NUMBERS)
def test_every_chapter_has_at_least_two_exercises(number):
    path = next(p for p in NOTEBOOKS if p.stem[:2] == number)
    labels = [e.label for e in exercises(path)]
    assert len(labels) >= 2, f"{path.stem}: {len(labels)} exercise(s) {labels}; the convention asks for at least 2"


def test_exercise_labels_are_unique_in_the_book():
    labels = [e.label for _, e in ALL]
    assert all(labels), [e.where for _, e in ALL if not e.label]
    assert len(labels) == len(set(labels)), sorted({x for x in labels if labels.count(x) > 1})


@pytest.mark.parametrize("path,ex", ALL, ids=[f"{p.stem}-{e.label}" for p, e in ALL])
def test_each_exercise_has_one_command_of_its_chapter_and_a_solution(path, ex):
    problems = []
    blocks_ = [c for c in ex.commands if c is None]
    commands = [c for c in ex.commands if c is not None]
    if path.stem == LIBRARY and not ex.commands:
        # the library page teaches the Python API: an exercise there may be solved in code
        # instead of by a parameter; its solution then shows that code (a python block)
        if ex.solution is None or not re.search(r"(?m)^`{3,}python\s*$", ex.solution.body):
            problems.append("an API exercise of the library page needs a ```python block in its solution")
    elif len(blocks_) != 1 or len(commands) != 1:
        problems.append(f"{len(blocks_)} bash block(s) with {len(commands)} command(s): want exactly one of each")
    for c in commands:
        problems += check_command(c, ex.chapter)
    if ex.solution is None:
        problems.append("no {solution} directive follows the exercise")
    else:
        if ex.solution.arg != ex.label:
            problems.append(f"the next solution is for '{ex.solution.arg}', not '{ex.label}'")
        if ex.solution.options.get("class") != "dropdown":
            problems.append("the solution is not a dropdown (:class: dropdown)")
    if any("dgp=" in c for c in commands) and path.suffix == ".ipynb" and not ex.default_data:
        problems.append("changes dgp (the simulator) but its cell is not tagged default-data")
    assert not problems, f"{ex.where}, exercise {ex.label}:\n  " + "\n  ".join(problems)


def _solution_cells(path: Path) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(_cells(path)) if "solution" in c["metadata"].get("tags", [])]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem[:2] in CHAPTER_NUMBERS or p.stem == LIBRARY],
                         ids=lambda p: p.stem)
def test_solutions_paste_sol_keys_glued_in_the_solution_cell(path):
    cells, problems = _cells(path), []
    sol_cells = _solution_cells(path)
    glued = {}  # key -> glued on a user's panel too
    for i, c in sol_cells:
        tags = c["metadata"].get("tags", [])
        if c["cell_type"] != "code" or "hide-input" not in tags:
            problems.append(f"cell {c.get('id')} tagged solution must be a code cell tagged hide-input too")
        for key in GLUE_DEF.findall(_source(c)):
            glued[key] = "default-data" not in tags
    if sol_cells:
        last = sol_cells[-1][0]
        consecutive = [i for i, _ in sol_cells] == list(range(sol_cells[0][0], last + 1))
        after = cells[last + 1] if last + 1 < len(cells) else None
        if not consecutive or after is None or not re.search(r"(?m)^## Exercises\s*$", _source(after)):
            problems.append("the solution cell(s) must come together, just before the `## Exercises` heading")
    for ex in exercises(path):
        if ex.solution is None:
            continue
        keys = GLUE_USE.findall(ex.solution.body)
        if not keys:
            problems.append(f"{ex.label}: the solution pastes no number ({{glue:text}}`sol_…`)")
        for key in keys:
            if not key.startswith("sol_"):
                problems.append(f"{ex.label}: the solution pastes '{key}'; its keys are named sol_…")
            elif key not in glued:
                problems.append(f"{ex.label}: '{key}' is not glued by name in a code cell tagged solution")
            elif not ex.solution_default_data and not glued[key]:
                problems.append(f"{ex.label}: '{key}' is glued in a default-data cell but the solution is shown on "
                                "a user's panel too")
    assert not problems, f"{path.stem}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------
# every command runs (slow)

RUNS = {}
for _p, _e in ALL:
    for _c in _e.commands:
        if _c is not None and not check_command(_c, _e.chapter):
            RUNS.setdefault(shlex.split(_c)[5], []).append((_e.label, _c))


@pytest.fixture(scope="module")
def exercise_project(tmp_path_factory):
    """One copy of the project for every exercise command (the working tree's book is untouched)."""
    from replication.book.runner import copy_project

    proj = copy_project(tmp_path_factory.mktemp("exercises") / "project")
    return proj, {**os.environ, "REPLICATION_ROOT": str(proj)}


@pytest.mark.slow  # runs every exercise's chapter: excluded by `make test-fast`
@pytest.mark.parametrize("number", sorted(RUNS))
def test_every_exercise_command_runs_on_quick_settings(number, exercise_project):
    proj, env = exercise_project
    failed, times = [], []
    t_chapter = time.perf_counter()
    for label, command in RUNS[number]:
        args = [sys.executable, *shlex.split(command)[1:], "--params", "params/quick.yaml"]
        t0 = time.perf_counter()
        run = subprocess.run(args, cwd=proj, env=env, capture_output=True, text=True, timeout=900)
        times.append(f"{label} {time.perf_counter() - t0:.1f} s")
        if run.returncode != 0:
            failed.append(f"{label}: `{command}` exited {run.returncode}:\n{(run.stdout + run.stderr)[-2000:]}")
    print(f"\nchapter {number}: {len(RUNS[number])} exercise command(s) in {time.perf_counter() - t_chapter:.1f} s "
          f"({'; '.join(times)})")
    assert not failed, "\n".join(failed)
