"""Column names: the mapping file first, then the codebook's names, then the alias table.

Duplicated headers, row-number columns, columns that could be the same codebook column,
logarithms supplied instead of levels and missing required columns are reported here,
each with the mapping-file line that fixes it.
"""
from __future__ import annotations

import difflib

import pandas as pd

from replication.data import aliases
from replication.data.checks.cells import first, is_running_number
from replication.data.report import ValidationReport
from replication.data.schema import BY_NAME, DERIVED, REQUIRED

NAME_COLUMNS = ("city_zh", "city_en")  # city-name columns that can stand in for city_code
SAME_RATIO = ("industry_va_share", "loi")  # one codebook ratio under two names: one fills the other


def check_columns(df: pd.DataFrame, m, rep: ValidationReport) -> pd.DataFrame:
    """Rename the file's columns to the codebook's (errors, warnings and repairs into rep)."""
    headers = [str(c) for c in df.columns]
    df.columns = headers
    keys = [aliases.normalise(h)[0] for h in headers]
    if _duplicated_headers(headers, keys, rep.errors):
        return df
    df = _drop_unused(df, headers, keys, m, rep.warnings)
    targets = _targets(list(df.columns), m, rep)
    rename = _choose(targets, rep.errors, rep.warnings)
    if rep.errors:
        return df
    _report_renames(rename, targets, rep)
    if any(h != t for h, t in rename.items()):
        df = df.rename(columns=rename)

    known = set(BY_NAME) | set(DERIVED)
    rest = [h for h in df.columns if h not in known]
    logs = {h: aliases.log_of(h) for h in rest}
    logs = {h: t for h, t in logs.items() if t}
    extra = [h for h in rest if h not in logs]
    _fill_same_ratio(df, rep)
    _missing_required(df, logs, extra, rep.errors)
    if extra:
        rep.warnings.append(f"column(s) not in the schema, kept but unused: {extra}")
    for h, t in logs.items():
        if t in df.columns:
            rep.warnings.append(f"column '{h}' looks like a logarithm of {t}; unused (the analysis uses the level {t})")
    if not rep.errors and len(df) == 0:
        rep.errors.append("no data rows. Fix: export the data rows too")
    return df


def _duplicated_headers(headers: list[str], keys: list[str], E: list[str]) -> bool:
    """Headers of one codebook column written twice (as written, or differing only in case
    and spacing): an error, True when there are any."""
    canon = {aliases.normalise(n)[0] for n in list(BY_NAME) + list(DERIVED)}
    dups = sorted({k for k in keys if keys.count(k) > 1 and (k in canon or k == "")} - {""})
    if not dups:
        return False
    names = [aliases.lookup().get(k, k) for k in dups]
    dup_headers = [h for h, k in zip(headers, keys) if k in dups]
    E.append(f"duplicated column name(s) {names} (the file has {first(dup_headers)}). Fix: keep one column "
             "per name")
    return True


def _drop_unused(df: pd.DataFrame, headers: list[str], keys: list[str], m, W: list[str]) -> pd.DataFrame:
    """Drop the mapping's ignore list and row-number columns (the latter with a warning)."""
    drop, rownum = [], []
    ignore = set(m.ignore)
    ignore_keys = {aliases.normalise(h)[0] for h in m.ignore}
    for h, k in zip(headers, keys):
        if h in ignore or h.strip() in ignore or k in ignore_keys:
            drop.append(h)
            continue
        kind = aliases.row_number_header(h)
        if kind == "strong" or (kind == "weak" and is_running_number(df[h])):
            drop.append(h)
            rownum.append(h if h.strip() else "(empty header)")
    unmatched_ignore = [h for h in m.ignore if h not in headers and aliases.normalise(h)[0] not in keys]
    if unmatched_ignore:
        W.append(f"the mapping file ignores {unmatched_ignore}, which the file does not have")
    if rownum:
        W.append(f"row-number column {first(repr(h) for h in rownum)} dropped (not data). Fix: to silence this, "
                 f"list it in the mapping file: ignore: [{', '.join(rownum)}]")
    return df.drop(columns=drop) if drop else df


def _targets(headers: list[str], m, rep: ValidationReport) -> dict[str, tuple[str, str]]:
    """header -> (codebook name, how: "mapping", "name" or "alias"); the units written in
    the headers go to ``rep.info["header_units"]``."""
    mapped = {str(k).strip(): v for k, v in m.columns.items()}
    targets: dict[str, tuple[str, str]] = {}
    unknown_mapping = [h for h in mapped if h not in [x.strip() for x in headers]]
    if unknown_mapping:
        rep.warnings.append(f"the mapping file maps {unknown_mapping}, which the file does not have (headers: "
                            f"{first(headers, 8)})")
    units: dict[str, str] = {}
    for h in headers:
        key, unit = aliases.normalise(h)
        if h.strip() in mapped:
            targets[h] = (mapped[h.strip()], "mapping")
        else:
            t = aliases.target_of(h)
            if t is not None:
                targets[h] = (t, "name" if key == aliases.normalise(t)[0] else "alias")
        if h in targets and unit:
            units[targets[h][0]] = unit
    rep.info["header_units"] = units
    return targets


def _choose(targets: dict[str, tuple[str, str]], E: list[str], W: list[str]) -> dict[str, str]:
    """One header per codebook column: the only one, else the one the mapping file or the
    codebook names (a warning); more than one candidate left is an error."""
    by_target: dict[str, list[str]] = {}
    for h, (t, how) in targets.items():
        by_target.setdefault(t, []).append(h)
    rename = {}
    for t, hs in by_target.items():
        if len(hs) == 1:
            rename[hs[0]] = t
            continue
        best = [h for h in hs if targets[h][1] == "mapping"] or [h for h in hs if targets[h][1] == "name"]
        if len(best) == 1:
            rename[best[0]] = t
            W.append(f"[column {t}] {len(hs)} columns could be {t}: used '{best[0]}', kept "
                     f"{[h for h in hs if h != best[0]]} unused. Fix: to choose another, map it in the mapping file "
                     f"(columns: {{'{hs[-1]}': {t}}}) and ignore the rest")
        else:
            E.append(f"[column {t}] {len(hs)} columns of the file read as {t}: {first(repr(h) for h in hs)}. Fix: "
                     f"choose one in the mapping file, columns: {{'{hs[0]}': {t}}}, and list the others under "
                     f"ignore: [{', '.join(hs[1:])}]")
    return rename


def _report_renames(rename: dict[str, str], targets: dict, rep: ValidationReport) -> None:
    W = rep.warnings
    via_alias = [(h, t) for h, t in rename.items() if targets[h][1] == "alias"]
    via_map = [(h, t) for h, t in rename.items() if targets[h][1] == "mapping"]
    if via_alias:
        W.append(f"{len(via_alias)} column(s) read through the alias table: "
                 + ", ".join(f"'{h}' as {t}" for h, t in via_alias))
    if via_map:
        W.append(f"{len(via_map)} column(s) named by the mapping file: "
                 + ", ".join(f"'{h}' as {t}" for h, t in via_map))
    for h, t in via_alias:
        note = aliases.alias_note(h)
        if note:
            W.append(f"[column {t}] '{h}' is {note}")
    rep.info["renamed"] = {h: t for h, t in rename.items() if h != t}


def _fill_same_ratio(df: pd.DataFrame, rep: ValidationReport) -> None:
    """industry_va_share and loi are the same ratio in the codebook: one fills the other (in place)."""
    a0, b0 = SAME_RATIO
    for a, b in ((a0, b0), (b0, a0)):
        if a not in df.columns and b in df.columns:
            df[a] = df[b]
            rep.repairs.append({"column": a, "city_code": None, "years": "", "kind": f"{a} copied from {b}",
                                "action": f"copied from {b} (the codebook's same ratio: industrial value added / GDP)"})
            rep.warnings.append(f"[column {a}] not in the file: copied from {b}, the same ratio in the codebook "
                                "(industrial value added / GDP)")


def _missing_required(df: pd.DataFrame, logs: dict[str, str], extra: list[str], E: list[str]) -> None:
    """An error per required column the file lacks, with the likeliest fix."""
    has_city = "city_code" in df.columns or any(c in df.columns for c in NAME_COLUMNS)
    missing = [c for c in REQUIRED if c not in df.columns]
    if "city_code" in missing and has_city:
        missing.remove("city_code")
    if "pilot_year" in missing and "did" in df.columns:
        missing.remove("pilot_year")  # derived from did (policy stage)
    for c in missing:
        spec = BY_NAME[c]
        log_cols = [h for h, t in logs.items() if t == c]
        if log_cols:
            E.append(f"[column {c}] required column missing. The file has '{log_cols[0]}', which looks like a "
                     f"logarithm of {c}; supply the level ({spec.label}, {spec.unit}): the analysis takes logs itself "
                     "where the paper does, and a log is never read as a level")
            continue
        E.append(f"[column {c}] required column missing.{_missing_hint(c, df, extra)}")


def _missing_hint(c: str, df: pd.DataFrame, extra: list[str]) -> str:
    spec = BY_NAME[c]
    close = difflib.get_close_matches(c, extra, n=1, cutoff=0.6)
    if c == "city_code":
        return (" Fix: add a column 'city_code' (6-digit codes) or a city-name column ('城市' or 'city'; "
                "Chinese or pinyin names are resolved to the codes)")
    if c == "pilot_year" and "treat" in df.columns:
        return (" The file has 'treat' but no timing. Fix: add 'pilot_year' (the first pilot year of each city, "
                "empty if never) or a 'did' column (1 from the pilot year on)")
    if close:
        return (f" The file has '{close[0]}': a misspelling? Fix: rename '{close[0]}' to '{c}', or map it in the "
                f"mapping file: columns: {{{close[0]}: {c}}}")
    return (f" Fix: add the column '{c}' ({spec.label}, {spec.unit}), or map your column to it in the mapping "
            f"file: columns: {{YOUR HEADER: {c}}}")
