"""An executed notebook as the book shows it.

papermill's injected cell (the values actually used) is kept, the default ``parameters``
cell is removed from the page, an injected cell that holds an absolute path shows no
input, papermill's record of the input/output paths is made relative to the project;
then the cells of the other data mode are dropped
(:func:`replication.book.chapter.apply_data_mode`).
"""
from __future__ import annotations

import os
from pathlib import Path

from replication._paths import PROJECT_ROOT, display_path


def postprocess(path: str) -> None:
    """Rewrite the executed notebook at ``path`` in place (see the module docstring)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    if any("injected-parameters" in t for t in tags):
        for c, t in zip(nb.cells, tags):
            if "parameters" in t and "remove-cell" not in t:
                c.metadata["tags"] = [*t, "remove-cell"]
            if "injected-parameters" in t and "remove-input" not in t and has_absolute_path(c.source):
                c.metadata["tags"] = [*t, "remove-input"]
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm_meta.get(key):
            pm_meta[key] = display_path(pm_meta[key]) if key == "input_path" else Path(pm_meta[key]).name
    nbformat.write(nb, path)
    try:
        from replication.book.chapter import apply_data_mode
    except ImportError:  # the notebook helpers predate data modes
        return
    apply_data_mode(path)


def has_absolute_path(source: str) -> bool:
    """Whether a cell's source names an absolute path (home, the project, a drive)."""
    home, root = os.path.expanduser("~"), str(PROJECT_ROOT)
    return any(s in source for s in ('"/', "'/", home, root)) or ":\\\\" in source
