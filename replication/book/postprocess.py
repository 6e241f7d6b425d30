"""An executed notebook as the book shows it.

The page shows the parameters a reader can change: the ``parameters`` cell keeps its
place (and its source, so that the notebook can be run again) but its input is hidden and
its output is a table of every parameter of the chapter, with its value in this run, its
type, its meaning (the comment in the parameters cell) and where the value came from (the
notebook's default, the parameter file or ``-p``), behind a toggle "Parameters of this
chapter" (:func:`parameters_table`).  papermill's injected cell is removed from the page;
the values of the run stay in the notebook's metadata (``papermill.parameters``, where
re-runs and :func:`replication.book.chapter.data_mode_of` read them) and their sources in
``replication.parameter_sources``.  On a user's panel the table does not speak of the
simulator (``dgp`` is left out, ``seed`` says what it still draws).  papermill's record of
the input/output paths is made relative to the project; then the cells of the other data
mode are dropped (:func:`replication.book.chapter.apply_data_mode`).
"""
from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

from replication._paths import PROJECT_ROOT, display_path

TABLE_TAG = "parameters-table"  # the output of the parameters cell is the table
SUMMARY = "Parameters of this chapter"
SIMULATOR = re.compile(r"simulat|synthetic|default (?:panel|data)|truth|planted|true (?:ATT|effect|threshold|group)|"
                       r"data-generating|\bdgp\b", re.I)  # words that belong to the default data only
COLUMNS = ("Parameter", "Type", "Value in this run", "Meaning", "Set by")
DEFAULT_SOURCE = "notebook (default)"  # not "notebook default": beside "data_path" it would read "default data"


def postprocess(path: str, sources: dict | None = None) -> None:
    """Rewrite the executed notebook at ``path`` in place (see the module docstring).

    ``sources`` maps a parameter name to where its value came from (the parameter file as
    named, or ``-p``); names not in it kept the notebook's default."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.setdefault("replication", {})
    if sources is not None:
        meta["parameter_sources"] = dict(sources)
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            c.metadata["tags"] = [*tags, "remove-cell"]
        if "parameters" in tags:
            c.metadata["tags"] = [t for t in tags if t not in ("remove-cell", "remove-input")] + ["remove-input"]
            if TABLE_TAG not in c.metadata["tags"]:
                c.metadata["tags"].append(TABLE_TAG)
            c.outputs = [_table_output(c.source, nb, meta.get("parameter_sources", {}), Path(path).stem)]
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm_meta.get(key):
            pm_meta[key] = display_path(pm_meta[key]) if key == "input_path" else Path(pm_meta[key]).name
    nbformat.write(nb, path)
    from replication.book.chapter import apply_data_mode

    apply_data_mode(path)


def _table_output(source: str, nb, sources: dict, stem: str):
    import nbformat

    used = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    rows = parameter_rows(source, used, sources, user_data=bool(used.get("data_path")))
    return nbformat.v4.new_output("display_data", data={"text/html": parameters_table(rows, stem),
                                                        "text/plain": _plain(rows)})


def declared(source: str) -> list[dict]:
    """The parameters of a ``parameters`` cell as papermill reads them: name, type, default
    (the Python literal as written) and help (the comment)."""
    import nbformat
    from papermill.translators import PythonTranslator

    cell = nbformat.v4.new_code_cell(source)
    return [p._asdict() for p in PythonTranslator.inspect(cell)]


def parameter_rows(source: str, used: dict, sources: dict, *, user_data: bool) -> list[dict]:
    """One row per declared parameter: name, type, value (as a Python literal), meaning, set by."""
    rows = []
    for p in declared(source):
        name = p["name"]
        meaning = p["help"]
        if user_data and SIMULATOR.search(f"{name} {meaning}"):
            if name == "dgp":
                continue  # simulator options: not used (and refused) with a user's panel
            meaning = without_simulator(meaning)
        if name in used:
            value = used[name]
        else:
            try:
                value = ast.literal_eval(p["default"])
            except (ValueError, SyntaxError):
                value = p["default"]
        origin = sources.get(name)
        rows.append({"name": name, "type": p["inferred_type_name"], "value": _shown_value(name, value),
                     "meaning": meaning or "",
                     "source": DEFAULT_SOURCE if origin is None else "-p (command line)" if origin == "-p"
                     else str(origin)})
    return rows


def without_simulator(text: str) -> str:
    """A parameter's comment with its clauses about the simulator removed, for a user's panel:
    "seed of the semi-synthetic default panel and of the placebo draws" -> "seed of the
    placebo draws"; "not used with your data" when nothing else is left."""
    clauses = _clauses(text)
    head = re.match(r"^(\w+ of )", clauses[0]) if clauses else None
    kept = [re.sub(r"^(else|of)\s+", "", c) for c in clauses if not SIMULATOR.search(c)]
    if not kept:
        return "not used with your data"
    text = kept[0] if len(kept) == 1 else ", ".join(kept[:-1]) + " and " + kept[-1]
    if head and SIMULATOR.search(clauses[0]):
        text = head[1] + text
    return text


def _clauses(text: str) -> list[str]:
    """``text`` split at ", " and " and " outside parentheses."""
    out, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        ch = text[i]
        depth += (ch == "(") - (ch == ")")
        sep = ", " if text.startswith(", ", i) else " and " if text.startswith(" and ", i) else ""
        if sep and depth == 0:
            out.append(text[start:i].strip())
            start = i = i + len(sep)
            continue
        i += 1
    out.append(text[start:].strip())
    return [c for c in out if c]


def _literal(value) -> str:
    """A value as the parameters cell writes it (Python literal, strings in double quotes)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _shown_value(name: str, value) -> str:
    """The value as the page shows it; a file outside the project by its name only."""
    if name in ("data_path", "mapping") and isinstance(value, str) and Path(value).is_absolute():
        shown = display_path(value)
        inside = (PROJECT_ROOT / shown).resolve() == Path(value).resolve()
        return _literal(shown) + ("" if inside else " (outside the project)")
    return _literal(value)


def _plain(rows: list[dict]) -> str:
    return SUMMARY + "\n" + "\n".join(f"{r['name']}: {r['type']} = {r['value']}  # {r['meaning']} [{r['source']}]"
                                      for r in rows)


def _code(text: str) -> str:
    """Escaped text in <code>, with break opportunities after , : / _ so that a long value
    never widens the table."""
    out = html.escape(text, quote=False)
    return "<code>" + re.sub(r"([,:/_])(?=\S)", r"\1<wbr>", out) + "</code>"


def parameters_table(rows: list[dict], stem: str) -> str:
    """The collapsed table "Parameters of this chapter", in the look of the book's tables
    (:data:`replication.book.chapter.TABLE_CSS`); below 600 px each parameter is a block of
    labelled lines, legible on a phone without scrolling sideways."""
    from replication.book.chapter import TABLE_CSS

    uid = "params-" + re.sub(r"[^A-Za-z0-9_-]", "-", stem)
    scope = f"#{uid}"
    css = [", ".join(f"{scope} {s.strip()}".strip() for s in rule["selector"].split(",")) + " {" + rule["props"] + "}"
           for rule in TABLE_CSS]
    css += [f"{scope} {{width: 100%;}}", f"{scope} td.param-meaning {{min-width: 12em;}}",
            f"{scope} td.param-value code {{white-space: normal; overflow-wrap: anywhere;}}",
            f"{scope} td.param-name, {scope} td.param-source {{white-space: nowrap;}}",
            "@media (max-width: 600px) {"
            f" {scope} thead {{display: none;}}"
            f" {scope}, {scope} tbody, {scope} tr, {scope} td {{display: block; width: auto;}}"
            f" {scope} tr {{border-bottom: 1px solid #ccc; padding: 0.35em 0;}}"
            f" {scope} td {{border: none; padding: 1px 4px; white-space: normal;}}"
            f" {scope} td.param-meaning {{min-width: 0;}}"
            f" {scope} td[data-label]:not(.param-name)::before {{content: attr(data-label) \": \"; font-weight: 600;}}"
            "}"]
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = []
    for r in rows:
        cells = [("param-name", f"<code>{html.escape(r['name'])}</code>"), ("param-type", html.escape(r["type"])),
                 ("param-value", _code(r["value"])), ("param-meaning", html.escape(r["meaning"])),
                 ("param-source", html.escape(r["source"]))]
        body.append("<tr>" + "".join(f'<td class="{cls}" data-label="{label}">{text}</td>'
                                     for (cls, text), label in zip(cells, COLUMNS)) + "</tr>")
    number = stem.split("_")[0]
    note = (f"<p>Change a value for one run with <code>python -m replication run --only {html.escape(number)} "
            "-p name=value</code>, or in a parameter file (<code>params/*.yaml</code>); "
            'see <a href="../reproducibility.html">Reproducibility</a>.</p>')
    return (f'<details class="book-table-toggle parameters-table"><summary style="cursor: pointer; '
            f'margin: 0.3em 0 0.6em;">{SUMMARY}</summary>\n<style>{" ".join(css)}</style>\n{note}\n'
            f'<table id="{uid}" class="book-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></details>")
