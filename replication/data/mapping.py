"""The user's mapping file: headers, units, ignored columns and city names of their panel.

A mapping file (YAML) says what the alias table cannot know::

    columns:            # header in your file -> codebook name
      人均地区生产总值(元): pergdp
      my_col: urb
    scale:              # codebook name -> factor that converts your unit to the codebook unit
      pergdp: 0.0001    # yuan -> 10,000 yuan
      urb: 0.01         # percent -> share
    ignore: [序号]       # columns to drop silently
    city_names: {}      # name in your file -> 6-digit code, for names the roster cannot resolve
    sheet: 0            # .xlsx only: the sheet to read (name or 0-based position; default the first)

Pass it as ``--map mapping.yaml`` (CLI), ``mapping=...`` (``load_panel``/``validate_panel``)
or ``-p mapping=...`` (the book).  Every scale applied is a repair in the report.
"""
from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass, field
from pathlib import Path

KEYS = ("columns", "scale", "ignore", "city_names", "sheet")


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    city_names: dict[str, int] = field(default_factory=dict)
    sheet: str | int | None = None
    source: str = ""

    @property
    def empty(self) -> bool:
        return not (self.columns or self.scale or self.ignore or self.city_names or self.sheet is not None)


def _where(src: str) -> str:
    return f"mapping file {src}" if src else "mapping"


def load_mapping(mapping) -> tuple[Mapping, list[str]]:
    """Parse and check a mapping (path or dict): ``(Mapping, errors)``."""
    if mapping is None:
        return Mapping(), []
    src = str(mapping) if isinstance(mapping, (str, Path)) else ""
    if isinstance(mapping, (str, Path)):
        raw, error = _read_yaml(Path(mapping), src)
        if error:
            return Mapping(source=src), [error]
    elif isinstance(mapping, dict):
        raw = mapping
    else:
        return Mapping(), [f"mapping must be a path to a YAML file or a dict, got {type(mapping).__name__}"]
    where = _where(src)
    if not isinstance(raw, dict):
        return Mapping(source=src), [f"{where}: the top level must be keys ({', '.join(KEYS)}), not "
                                     f"{type(raw).__name__}"]
    errors: list[str] = []
    for k in raw:
        if k not in KEYS:
            close = difflib.get_close_matches(str(k), KEYS, n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(f"{where}: unknown key '{k}'{hint}. Fix: use only {', '.join(KEYS)}")
    m = Mapping(source=src)
    for key, parse in (("columns", _columns), ("scale", _scale), ("ignore", _ignore), ("city_names", _city_names),
                       ("sheet", _sheet)):
        parse(raw.get(key), m, where, errors)
    return m, errors


def _read_yaml(path: Path, src: str):
    """(the parsed file, None) or (None, the error)."""
    import yaml

    if not path.exists():
        return None, (f"mapping file {src} not found. Fix: give the path of your mapping YAML "
                      "(format in data/README.md, 'Bringing your own data')")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        return None, f"mapping file {src} is not UTF-8 text. Fix: save it as UTF-8"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        return None, (f"mapping file {src} is not valid YAML{at} ({problem}). Fix: check the "
                      "indentation and the 'header: name' pairs")
    return ({} if raw is None else raw), None


def _columns(cols, m: Mapping, where: str, errors: list[str]) -> None:
    """columns: header in the file -> codebook name (each name once)."""
    from replication.data.schema import BY_NAME, DERIVED

    cols = cols or {}
    if not isinstance(cols, dict):
        errors.append(f"{where}: 'columns' must be pairs 'header in your file: codebook name'")
        return
    known = set(BY_NAME) | set(DERIVED)
    for header, target in cols.items():
        t = str(target).strip()
        if t not in known:
            close = difflib.get_close_matches(t, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(f"{where}: columns: '{header}' maps to '{t}', which is not a codebook column{hint}. "
                          "Fix: use a name of the codebook (data/README.md)")
        else:
            m.columns[str(header)] = t
    targets = list(m.columns.values())
    for t in sorted({t for t in targets if targets.count(t) > 1}):
        hs = [h for h, v in m.columns.items() if v == t]
        errors.append(f"{where}: columns: {len(hs)} headers map to '{t}' ({', '.join(hs)}). Fix: map one, "
                      "and list the others under ignore")


def _scale(sc, m: Mapping, where: str, errors: list[str]) -> None:
    """scale: codebook name -> positive factor."""
    from replication.data.schema import NUMERIC

    sc = sc or {}
    if not isinstance(sc, dict):
        errors.append(f"{where}: 'scale' must be pairs 'codebook name: factor', e.g. 'pergdp: 0.0001'")
        return
    for name, f in sc.items():
        n = str(name).strip()
        if n not in NUMERIC or n in ("city_code", "year"):
            close = difflib.get_close_matches(n, sorted(NUMERIC), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(f"{where}: scale: '{n}' is not a measured codebook column{hint}. Fix: scale the "
                          "codebook name (after mapping), e.g. 'pergdp: 0.0001'")
        elif isinstance(f, bool) or not isinstance(f, numbers.Real) or not f > 0:
            errors.append(f"{where}: scale: {n}: {f!r} is not a positive number. Fix: the factor that converts "
                          "your unit to the codebook's, e.g. 0.01 for percent -> share")
        else:
            m.scale[n] = float(f)


def _ignore(ig, m: Mapping, where: str, errors: list[str]) -> None:
    """ignore: a header or a list of headers."""
    ig = ig or []
    if isinstance(ig, str):
        ig = [ig]
    if not isinstance(ig, list):
        errors.append(f"{where}: 'ignore' must be a list of headers, e.g. [序号, note]")
    else:
        m.ignore = [str(h) for h in ig]


def _city_names(cn, m: Mapping, where: str, errors: list[str]) -> None:
    """city_names: name in the file -> a 6-digit code of the roster."""
    cn = cn or {}
    if not isinstance(cn, dict):
        errors.append(f"{where}: 'city_names' must be pairs 'name in your file: 6-digit code'")
        return
    from replication.data import facts

    valid = set(facts.cities()["city_code"].astype(int))
    for name, code in cn.items():
        try:
            c = int(str(code).strip())
        except ValueError:
            c = None
        if c is None or c not in valid:
            errors.append(f"{where}: city_names: '{name}': {code!r} is not a city code of replication/data/reference/"
                          "cities.csv. Fix: the 6-digit code of the prefecture-level city, e.g. 320500")
        else:
            m.city_names[str(name).strip()] = c


def _sheet(sh, m: Mapping, where: str, errors: list[str]) -> None:
    """sheet: an .xlsx sheet name or 0-based position."""
    if sh is not None and not isinstance(sh, (str, int)):
        errors.append(f"{where}: 'sheet' must be a sheet name or a 0-based position")
    else:
        m.sheet = sh
