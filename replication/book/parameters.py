"""The notebooks of a run and their parameters, checked before anything runs.

papermill itself accepts any name; here every parameter of the YAML file and of ``-p
name=value`` is checked against the notebook's ``parameters`` cell (name and type), an
``indicators`` list against the 15 indicators, and a ``dgp`` mapping (options of the
simulator) against the fields of :class:`replication.data.dgp.DGP` (names and types; only
on the default data), so that a typo stops the run with a message naming the notebook and
the parameter.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from replication._paths import NOTEBOOK_DIR, PROJECT_ROOT, display_path

_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,),
          "dict": (dict,), "tuple": (list, tuple)}
FILE_PARAMETERS = ("data_path", "mapping")  # resolved by the runner (replication.book.datasource)
RUNNER_PARAMETERS = ("mapping",)  # accepted even when no selected notebook declares it (used by validation)
DGP_HINT = '; write the simulator options as a mapping, e.g. -p "dgp={dynamic_growth: 0, pretrend: 0.1}"'


class RunError(RuntimeError):
    """A run that cannot proceed; ``code`` is the exit status of ``python -m replication run``."""

    code = 1


class DataError(RunError):
    """The data file named by ``data_path``/``mapping`` is missing or cannot be used."""

    code = 2


def notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(nb: Path) -> dict[str, dict]:
    """Parameters of a notebook's ``parameters`` cell: name -> {type, default, help}."""
    import papermill as pm

    return pm.inspect_notebook(str(nb))


def select_notebooks(only: list[str] | None) -> list[Path]:
    """The notebooks named by ``--only`` (numbers, stems or file names; all when empty)."""
    nbs = notebooks()
    if not only:
        return nbs
    out = []
    for key in only:
        hit = [p for p in nbs if p.stem == key or p.stem.split("_")[0] == key.zfill(2) or p.name == key]
        if not hit:
            raise RunError(f"--only {key}: no such notebook; have {[p.stem for p in nbs]}")
        out += [h for h in hit if h not in out]
    return out


def load_spec(params_file) -> dict:
    """The parameter file (a path relative to the project root, or absolute) as a dict."""
    if not params_file:
        return {}
    path = Path(params_file)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    if not path.exists():
        raise RunError(f"parameter file {params_file} not found")
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise RunError(f"{params_file} is not valid YAML: {e}") from None
    if not isinstance(spec, dict):
        raise RunError(f"{params_file}: expected a mapping of sections")
    return spec


def section_stem(section, stems) -> str | None:
    """The notebook a section of the parameter file names (stem or number), if any."""
    return next((s for s in stems if s == str(section) or s.split("_")[0] == str(section).zfill(2)), None)


@dataclass
class _Resolution:
    """Parameters being resolved: values and their origin per notebook, and the problems found."""

    declared: dict
    stems: list[str]
    resolved: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.resolved = {s: {} for s in self.stems}
        self.origin = {s: {} for s in self.stems}

    def users(self, name: str) -> list[str]:
        """The selected notebooks that declare ``name``."""
        return [s for s in self.resolved if name in self.declared[s]]

    def set(self, stem: str, name: str, value, source: str) -> None:
        self.resolved[stem][name], self.origin[stem][name] = value, source


def resolve_parameters(params_file: str | Path | None, nbs: list[Path], overrides: list[str] | None = None,
                       *, sources: dict | None = None, declared: dict | None = None) -> dict[str, dict]:
    """Parameters per notebook from a YAML file and ``name=value`` overrides, checked.

    File layout: a ``defaults:`` mapping applies to every notebook that declares the
    name; a mapping under a notebook's stem (``03_baseline:``) or number (``"03":``)
    applies to that notebook only.  A name no selected notebook declares, or a value
    of the wrong type, is an error naming the notebook and the parameter.  With
    ``sources`` (a dict), ``sources[stem][name]`` says where each value came from
    (the parameter file or ``-p``).  ``declared`` may give the notebooks' parameters
    (:func:`declared_parameters`) when the caller has them already.
    """
    spec = load_spec(params_file)
    r = _Resolution(declared or {nb.stem: declared_parameters(nb) for nb in nbs}, [nb.stem for nb in nbs])
    src_file = display_path(params_file) if params_file and Path(str(params_file)).is_absolute() else params_file
    _apply_file(r, spec, params_file, str(src_file), all_selected=nbs == notebooks())
    _apply_overrides(r, overrides or [])
    r.problems += _type_problems(r.resolved, r.declared)
    r.problems += _indicator_problems(r.resolved)
    r.problems += _dgp_problems(r.resolved)
    if r.problems:
        raise RunError("invalid parameters, nothing was run:\n  " + "\n  ".join(dict.fromkeys(r.problems)))
    if sources is not None:
        sources.clear()
        sources.update(r.origin)
    return r.resolved


def _apply_file(r: _Resolution, spec: dict, params_file, src_file: str, all_selected: bool) -> None:
    """The ``defaults:`` section, then the notebooks' own sections."""
    for name, value in (spec.get("defaults", {}) or {}).items():
        users = r.users(name)
        if not users and all_selected and name not in RUNNER_PARAMETERS:
            r.problems.append(f"{params_file}: defaults.{name}: no notebook has a parameter '{name}'")
        for s in users:
            r.set(s, name, value, src_file)
    all_stems = {p.stem for p in notebooks()}
    for section, values in spec.items():
        if section == "defaults":
            continue
        stem = section_stem(section, all_stems)
        if stem is None:
            r.problems.append(f"{params_file}: section '{section}' names no notebook")
            continue
        if stem not in r.resolved:
            continue
        for name, value in (values or {}).items():
            if name in r.declared[stem]:
                r.set(stem, name, value, src_file)
                continue
            close = [d for d in r.declared[stem] if d.lower() == name.lower() or d.startswith(name[:3])]
            r.problems.append(f"{params_file}: notebook {stem} has no parameter '{name}'"
                              + (f" (did you mean {close}?)" if close else f"; it has {sorted(r.declared[stem])}"))


def _apply_overrides(r: _Resolution, overrides: list[str]) -> None:
    """``-p name=value``: YAML values, except the file parameters (kept as written)."""
    for item in overrides:
        if "=" not in item:
            r.problems.append(f"-p {item}: expected name=value")
            continue
        name, raw = item.split("=", 1)
        value = raw if name in FILE_PARAMETERS else yaml.safe_load(raw)
        users = r.users(name)
        if not users and name not in RUNNER_PARAMETERS:
            known = sorted({d for s in r.resolved for d in r.declared[s]})
            close = difflib.get_close_matches(name, known, n=1)
            r.problems.append(f"-p {name}: no selected notebook has a parameter '{name}'"
                              + (f". Did you mean -p {close[0]}=...?" if close else
                                 f". The parameters are: {', '.join(known)}"))
        for s in users:
            r.set(s, name, value, "-p")


def _type_problems(resolved: dict, declared: dict) -> list[str]:
    """A value of another type than the notebook's parameters cell declares."""
    problems = []
    for stem, values in resolved.items():
        for name, value in values.items():
            tname = declared[stem][name].get("inferred_type_name", "None")
            base = tname.split("[")[0].replace("Optional", "").strip() or "None"
            ok_types = _TYPES.get(base)
            if ok_types and not (isinstance(value, ok_types) and not (base != "bool" and isinstance(value, bool))):
                problems.append(f"notebook {stem}: parameter '{name}' must be {tname}, got {value!r} "
                                f"({type(value).__name__})" + (DGP_HINT if name == "dgp" else ""))
    return problems


def _indicator_problems(resolved: dict) -> list[str]:
    """Unknown names in an ``indicators`` parameter, with the closest known name, before
    anything runs (else every chapter would fail the same way)."""
    from replication.data.schema import INDICATORS

    problems = []
    for values in resolved.values():
        chosen = values.get("indicators")
        if not isinstance(chosen, list):
            continue
        for name in chosen:
            if str(name) not in INDICATORS:
                close = difflib.get_close_matches(str(name), INDICATORS, n=1)
                problems.append(f"indicators: '{name}' is not one of the 15 indicators"
                                + (f"; did you mean '{close[0]}'?" if close else
                                   f" ({', '.join(INDICATORS)})"))
        if 0 < len(chosen) < 2:
            problems.append("indicators: an index needs at least 2 indicators (empty = all 15)")
    return problems


def _dgp_problems(resolved: dict) -> list[str]:
    """A ``dgp`` mapping: every key a field of the simulator's :class:`~replication.data.dgp.DGP`
    (else the closest field), every value of the field's type (float fields take ints, tuple
    fields lists of the right length and element types), and no ``data_path`` beside it."""
    problems = []
    for values in resolved.values():
        options = values.get("dgp")
        if not isinstance(options, dict) or not options:
            continue  # a non-mapping is reported by the type check
        if values.get("data_path"):
            problems.append(f"dgp={_shown(options)} with data_path={values['data_path']!r}: simulator options "
                            "apply only to the default data; remove -p dgp=… or data_path")
        problems += dgp_option_problems(options)
    return problems


def dgp_option_problems(options: dict) -> list[str]:
    """What is wrong with simulator options ``options`` (empty when nothing is)."""
    import typing

    from replication.data.dgp import DGP

    hints = typing.get_type_hints(DGP)
    problems = []
    for key, value in options.items():
        if key not in hints:
            problems.append(_unknown_dgp_key(str(key), value, list(hints)))
            continue
        if not _fits(value, hints[key]):
            problems.append(f"dgp: '{key}' must be {_type_text(hints[key])} (default {_shown(getattr(DGP, key))}), "
                            f"got {_shown(value)}")
            continue
        default = getattr(DGP, key)
        if key.endswith("_effects") and isinstance(default[0], tuple):
            want, got = [n for n, _ in default], [str(pair[0]) for pair in value]
            if sorted(want) != sorted(got):
                problems.append(f"dgp: '{key}' must give one value to each of {want}, got {got}")
    years, sizes = options.get("batch_years", DGP.batch_years), options.get("batch_sizes", DGP.batch_sizes)
    if isinstance(years, (list, tuple)) and isinstance(sizes, (list, tuple)) and len(years) != len(sizes):
        problems.append(f"dgp: batch_years {_shown(years)} and batch_sizes {_shown(sizes)} must have the same "
                        "length (one size per pilot batch)")
    return problems


def _unknown_dgp_key(key: str, value, fields: list[str]) -> str:
    if value is None and ":" in key:  # -p "dgp={dynamic_growth:0}": YAML needs a space after the colon
        name = key.split(":", 1)[0].strip()
        return (f"dgp: '{key}' is not a simulator option; write a space after the colon, "
                f'e.g. -p "dgp={{{name}: {key.split(":", 1)[1].strip()}}}"')
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.5)
    return (f"dgp: '{key}' is not a simulator option" + (f"; did you mean '{close[0]}'?" if close else "")
            + f" The options (fields of replication.data.dgp.DGP) are: {', '.join(fields)}")


def _fits(value, hint) -> bool:
    """Whether a YAML value fits a DGP field type: float takes int (not bool), tuple takes list."""
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint in (int, str):
        return isinstance(value, hint) and not isinstance(value, bool)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return len(value) > 0 and all(_fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
    return isinstance(value, hint)


def _type_text(hint) -> str:
    """``float``, ``a list of 2 numbers``, ``a list of int``, ``a list of [name, number] pairs``."""
    import typing

    if hint is float:
        return "a number"
    if hint in (int, str):
        return hint.__name__
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        inner = args[0]
        return ("a list of [name, number] pairs" if typing.get_origin(inner) is tuple
                else f"a list of {_type_text(inner)}s")
    return f"a list of {len(args)} numbers"


def _shown(value) -> str:
    """A value as a user writes it in YAML (tuples as lists)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return repr(value)


def applied_raw(spec: dict, nbs: list[Path], overrides: list[str] | None, name: str) -> set[str]:
    """The values of ``name`` that would reach the selected notebooks (if they declare it),
    from the parameter file and ``-p``, without inspecting the notebooks."""
    for item in reversed(overrides or []):
        if item.startswith(name + "="):
            return {item.split("=", 1)[1]}
    stems = {nb.stem for nb in nbs}
    all_stems = {p.stem for p in notebooks()}
    values = {stem: (spec.get("defaults") or {}).get(name) for stem in stems}
    for section, vals in spec.items():
        stem = section_stem(section, all_stems) if section != "defaults" else None
        if stem in stems and isinstance(vals, dict) and name in vals:
            values[stem] = vals[name]
    return {str(v) for v in values.values() if v not in (None, "")}
