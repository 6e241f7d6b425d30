"""Reading and validating a city-year panel against the canonical schema.

Every problem is reported once per problem and column, grouped (counts plus the first few
cities, years or file lines; header = line 1), with the fix as the user would type it: a
CLI flag, a mapping-file line or a parameter.  Problems that make the data unusable are
*errors*: :func:`validate_panel` collects all of them (stage by stage) and
``load_panel`` raises one :class:`PanelValidationError`.  Problems that can be repaired
safely are *repairs* (a declared unit scale, a city name resolved to its code, a short
interior gap interpolated linearly within city as the paper does): listed in the report,
never applied silently.  What was read and checked is in the report's data-report tables
(:mod:`replication.data.report`).

Stages: read the file (:mod:`.read`) -> mapping file (:mod:`.mapping`) -> column names
(alias table, :mod:`.aliases`) -> city and year keys (:mod:`.names`), the years subset ->
values (numbers, declared scales, unit slips :mod:`.units`, bounds) -> policy timing
(pilot_year, did, treat) -> balance and interpolation -> real facts and derived columns.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from replication.data import aliases, facts
from replication.data.mapping import load_mapping
from replication.data.names import CityResolver
from replication.data.read import read_panel_file
from replication.data.report import PanelValidationError, ValidationReport, year_ranges
from replication.data.schema import BY_NAME, DERIVED, INDICATORS, KEY, NUMERIC, REQUIRED
from replication.data.units import detect_slip, slip_message

__all__ = ["validate_panel", "read_panel_file", "PanelValidationError", "ValidationReport", "add_derived"]

MAX_GAP = 2  # longest interior run of missing years that is interpolated
SHOW = 5  # offending rows or cities shown per problem
YEAR_SPAN = (2000, 2024)  # the reference roster's span: other years are impossible
EMPTY = {"", "na", "n/a", "nan", "null", "none", "-", "--", "—", "…", "#n/a"}
STATA_MISSING = re.compile(r"^\.[a-z]?$")
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
FILL_COLUMNS = list(INDICATORS) + ["pd", "pergdp", "urb", "gov", "loi", "hc", "st", "isu"]
NAME_COLUMNS = ("city_zh", "city_en")


# ---------------------------------------------------------------------------------------
# small helpers

def _where(df: pd.DataFrame, mask) -> str:
    """'lines 5, 9 and 3 more' (file) or 'rows ...' (DataFrame) of the True entries of mask."""
    idx = np.flatnonzero(np.asarray(mask))
    off = df.attrs.get("line_offset")
    labels = df.index[idx[:SHOW]]
    shown = [str(int(i) + off) if off is not None else str(i) for i in labels]
    word = "line" if off is not None else "row"
    more = f" and {len(idx) - SHOW} more" if len(idx) > SHOW else ""
    return f"{word}{'s' if len(idx) > 1 else ''} {', '.join(shown)}{more}"


def _first(items, n: int = SHOW) -> str:
    items = list(items)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(str(x) for x in items[:n]) + more


def _n(k: int, word: str, plural: str | None = None) -> str:
    """'1 city', '3 cities'."""
    return f"{k} {word if k == 1 else (plural or word + 's')}"


def _num(x) -> str:
    """A number as a user writes it (never a numpy repr)."""
    x = float(x)
    if np.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _integer_like(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a key column: (Int64 values, mask of non-empty values that are not integers)."""
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Int64"), pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip().str.replace(r"年$", "", regex=True)
    num = pd.to_numeric(txt, errors="coerce")
    bad = (num.isna() | (num % 1 != 0)).fillna(True)
    out = num.where(~bad).astype("Float64").round().astype("Int64")
    return out, bad


def _parse_numbers(col: pd.Series, notes: dict) -> tuple[pd.Series, pd.Series]:
    """(float values, mask of cells that are not numbers) of a value column; counts of the
    readings done (thousands separators, Stata missing, percent signs) go to notes."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64"), pd.Series(False, index=col.index)
    txt = col.astype("string").str.strip()
    low = txt.str.lower()
    empty = txt.isna() | low.isin(EMPTY)
    stata = low.str.match(STATA_MISSING).fillna(False) & ~empty
    if stata.any():
        notes.setdefault("stata", {})[col.name] = int(stata.sum())
    empty |= stata
    thou = txt.str.match(THOUSANDS).fillna(False)
    if thou.any():
        notes.setdefault("thousands", {})[col.name] = (int(thou.sum()), str(txt[thou].iloc[0]))
        txt = txt.where(~thou, txt.str.replace(",", "", regex=False))
    pct = txt.str.endswith("%").fillna(False) & ~empty
    if pct.any():
        notes.setdefault("percent", {})[col.name] = int(pct.sum())
        txt = txt.where(~pct, txt.str.rstrip("%").str.strip())
    num = pd.to_numeric(txt.where(~empty), errors="coerce").astype("float64")
    notnum = num.isna() & ~empty
    return num, notnum


# ---------------------------------------------------------------------------------------

def validate_panel(data: pd.DataFrame | str | Path, *, years: tuple[int, int] | None = None,
                   interpolate: bool = True, source: str | None = None, mapping=None) -> ValidationReport:
    """Check a panel (DataFrame or file path) and return a report with the clean panel.

    ``years=(a, b)`` keeps the rows of those years (the report says how many were dropped);
    ``mapping`` is a mapping file (path) or dict (format in ``data/README.md``).  Never
    raises for data problems: they are in ``report.errors`` (use :func:`load_panel`,
    which raises :class:`PanelValidationError`).
    """
    m, map_errors = load_mapping(mapping)
    is_file = isinstance(data, (str, Path))
    if is_file:
        source = source or str(data)
        rep = ValidationReport(source, info={"is_file": True})
        try:
            df = read_panel_file(data, sheet=m.sheet)
        except PanelValidationError as e:
            rep.errors += map_errors + e.problems
            return rep
        rep.sha256 = df.attrs.get("sha256")
    else:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a DataFrame or a file path, got {type(data).__name__}")
        source = source or "<DataFrame>"
        rep = ValidationReport(source, info={"is_file": False})
        attrs = dict(data.attrs)
        df = data.copy()
        df.attrs = {k: v for k, v in attrs.items() if k in ("line_offset", "read_notes")}
    rep.info["rows_read"] = len(df)
    if years is not None:
        rep.info["years_requested"] = facts._check_years(years)
    rep.warnings += list(df.attrs.get("read_notes") or [])
    if map_errors:
        rep.errors += map_errors
        return rep
    E, W = rep.errors, rep.warnings

    df = _columns(df, m, rep)
    if E:
        return rep
    df = _keys(df, m, rep, years)
    if E:
        return rep
    df = _values(df, m, rep)
    if E:
        return rep
    df = _policy(df, rep)
    if E:
        return rep
    df = _gaps(df, rep, interpolate)
    if E:
        return rep
    df = _fill_facts(df, W, resolved_by_name=rep.info.get("resolved_by_name", False))
    df = add_derived(df)
    rep.panel = df
    return rep


# ---------------------------------------------------------------------------------------
# column names

def _columns(df: pd.DataFrame, m, rep: ValidationReport) -> pd.DataFrame:
    E, W = rep.errors, rep.warnings
    headers = [str(c) for c in df.columns]
    df.columns = headers
    # duplicated headers (as written, or differing only in case and spacing)
    keys = [aliases.normalise(h)[0] for h in headers]
    canon = {aliases.normalise(n)[0] for n in list(BY_NAME) + list(DERIVED)}
    dups = sorted({k for k in keys if keys.count(k) > 1 and (k in canon or k == "")} - {""})
    if dups:
        names = [aliases.lookup().get(k, k) for k in dups]
        dup_headers = [h for h, k in zip(headers, keys) if k in dups]
        E.append(f"duplicated column name(s) {names} (the file has {_first(dup_headers)}). Fix: keep one column "
                 "per name")
        return df
    # columns to drop: the mapping's ignore list, row-number columns
    drop, rownum = [], []
    ignore = set(m.ignore)
    ignore_keys = {aliases.normalise(h)[0] for h in m.ignore}
    for h, k in zip(headers, keys):
        if h in ignore or h.strip() in ignore or k in ignore_keys:
            drop.append(h)
            continue
        kind = aliases.row_number_header(h)
        if kind == "strong" or (kind == "weak" and _is_running_number(df[h])):
            drop.append(h)
            rownum.append(h if h.strip() else "(empty header)")
    unmatched_ignore = [h for h in m.ignore if h not in headers and aliases.normalise(h)[0] not in keys]
    if unmatched_ignore:
        W.append(f"the mapping file ignores {unmatched_ignore}, which the file does not have")
    if rownum:
        W.append(f"row-number column {_first(repr(h) for h in rownum)} dropped (not data). Fix: to silence this, "
                 f"list it in the mapping file: ignore: [{', '.join(rownum)}]")
    df = df.drop(columns=drop)
    headers = list(df.columns)

    # targets: the mapping file first, then the codebook names, then the alias table
    mapped = {str(k).strip(): v for k, v in m.columns.items()}
    targets: dict[str, tuple[str, str]] = {}  # header -> (codebook name, how)
    unknown_mapping = [h for h in mapped if h not in [x.strip() for x in headers]]
    if unknown_mapping:
        W.append(f"the mapping file maps {unknown_mapping}, which the file does not have (headers: "
                 f"{_first(headers, 8)})")
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
    by_target: dict[str, list[str]] = {}
    for h, (t, how) in targets.items():
        by_target.setdefault(t, []).append(h)
    rename, unused = {}, []
    for t, hs in by_target.items():
        if len(hs) == 1:
            rename[hs[0]] = t
            continue
        best = [h for h in hs if targets[h][1] == "mapping"] or [h for h in hs if targets[h][1] == "name"]
        if len(best) == 1:
            rename[best[0]] = t
            unused += [h for h in hs if h != best[0]]
            W.append(f"[column {t}] {len(hs)} columns could be {t}: used '{best[0]}', kept "
                     f"{[h for h in hs if h != best[0]]} unused. Fix: to choose another, map it in the mapping file "
                     f"(columns: {{'{hs[-1]}': {t}}}) and ignore the rest")
        else:
            E.append(f"[column {t}] {len(hs)} columns of the file read as {t}: {_first(repr(h) for h in hs)}. Fix: "
                     f"choose one in the mapping file, columns: {{'{hs[0]}': {t}}}, and list the others under "
                     f"ignore: [{', '.join(hs[1:])}]")
    if E:
        return df
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
    df = df.rename(columns=rename)

    known = set(BY_NAME) | set(DERIVED)
    rest = [h for h in df.columns if h not in known]
    logs = {h: aliases.log_of(h) for h in rest}
    logs = {h: t for h, t in logs.items() if t}
    extra = [h for h in rest if h not in logs]

    # industry_va_share and loi are the same ratio in the codebook: one fills the other
    for a, b in (("industry_va_share", "loi"), ("loi", "industry_va_share")):
        if a not in df.columns and b in df.columns:
            df[a] = df[b]
            rep.repairs.append({"column": a, "city_code": None, "years": "", "kind": f"{a} copied from {b}",
                                "action": f"copied from {b} (the codebook's same ratio: industrial value added / GDP)"})
            W.append(f"[column {a}] not in the file: copied from {b}, the same ratio in the codebook "
                     "(industrial value added / GDP)")

    has_city = "city_code" in df.columns or any(c in df.columns for c in NAME_COLUMNS)
    missing = [c for c in REQUIRED if c not in df.columns]
    if "city_code" in missing and has_city:
        missing.remove("city_code")
    if "pilot_year" in missing and "did" in df.columns:
        missing.remove("pilot_year")  # derived from did below
    for c in missing:
        spec = BY_NAME[c]
        log_cols = [h for h, t in logs.items() if t == c]
        if log_cols:
            E.append(f"[column {c}] required column missing. The file has '{log_cols[0]}', which looks like a "
                     f"logarithm of {c}; supply the level ({spec.label}, {spec.unit}): the analysis takes logs itself "
                     "where the paper does, and a log is never read as a level")
            continue
        close = difflib.get_close_matches(c, extra, n=1, cutoff=0.6)
        if c == "city_code":
            hint = (" Fix: add a column 'city_code' (6-digit codes) or a city-name column ('城市' or 'city'; "
                    "Chinese or pinyin names are resolved to the codes)")
        elif c == "pilot_year" and "treat" in df.columns:
            hint = (" The file has 'treat' but no timing. Fix: add 'pilot_year' (the first pilot year of each city, "
                    "empty if never) or a 'did' column (1 from the pilot year on)")
        elif close:
            hint = (f" The file has '{close[0]}': a misspelling? Fix: rename '{close[0]}' to '{c}', or map it in the "
                    f"mapping file: columns: {{{close[0]}: {c}}}")
        else:
            hint = (f" Fix: add the column '{c}' ({spec.label}, {spec.unit}), or map your column to it in the mapping "
                    f"file: columns: {{YOUR HEADER: {c}}}")
        E.append(f"[column {c}] required column missing.{hint}")
    if extra:
        W.append(f"column(s) not in the schema, kept but unused: {extra}")
    for h, t in logs.items():
        if t in df.columns:
            W.append(f"column '{h}' looks like a logarithm of {t}; unused (the analysis uses the level {t})")
    if not E and len(df) == 0:
        E.append("no data rows. Fix: export the data rows too")
    return df


def _is_running_number(s: pd.Series) -> bool:
    v, bad = _integer_like(s)
    if bad.any() or len(v) == 0:
        return False
    a = v.to_numpy(dtype="int64")
    return bool((np.diff(a) == 1).all() and a[0] in (0, 1))


# ---------------------------------------------------------------------------------------
# keys: year and city

def _keys(df: pd.DataFrame, m, rep: ValidationReport, years) -> pd.DataFrame:
    E, W = rep.errors, rep.warnings
    # --- year
    yv, bad = _integer_like(df["year"])
    if bad.any():
        ex = df.loc[np.asarray(bad), "year"].astype(str).head(3).tolist()
        E.append(f"[column year] {int(bad.sum())} value(s) are not whole numbers, e.g. {ex} at {_where(df, bad)}. "
                 "Fix: calendar years as integers")
        return df
    lo, hi = YEAR_SPAN
    impossible = ~yv.between(lo, hi)
    if impossible.any():
        ex = sorted({int(y) for y in yv[impossible]})
        E.append(f"[column year] {int(impossible.sum())} row(s) have impossible years {_first(ex)} at "
                 f"{_where(df, impossible)}: the reference roster spans {lo}-{hi}. Fix: correct the years (a typo?) "
                 "or delete those rows")
    df["year"] = yv.astype("int64") if not impossible.any() else yv

    # --- city
    _resolve_cities(df, m, rep)
    if E:
        return df
    df["city_code"] = df["city_code"].astype("int64")

    # --- the years subset
    if years is not None:
        a, b = rep.info["years_requested"]
        out = ~df["year"].between(a, b)
        ymin, ymax = int(df["year"].min()), int(df["year"].max())
        rep.info["file_years"] = (ymin, ymax)
        if out.all():
            E.append(f"[column year] no rows in the requested years {a}-{b}: the file covers {ymin}-{ymax}. Fix: "
                     f"ask for the file's years, -p first_year={ymin} -p last_year={ymax} (book), --years {ymin} "
                     f"{ymax} (validate) or years=({ymin}, {ymax})")
            return df
        if out.any():
            dropped = sorted({int(y) for y in df.loc[out, "year"]})
            rep.info["rows_dropped_by_years"] = int(out.sum())
            rep.info["years_dropped"] = year_ranges(dropped)
            W.append(f"years {a}-{b} requested: {int(out.sum())} row(s) of the years {year_ranges(dropped)} dropped "
                     f"(the file covers {ymin}-{ymax})")
            df = df[~out]

    dupkey = df.duplicated(list(KEY), keep=False)
    if dupkey.any():
        ex = [(int(c), int(y)) for c, y in df.loc[dupkey, list(KEY)].drop_duplicates().head(3).itertuples(index=False)]
        E.append(f"[columns city_code, year] {int(dupkey.sum())} rows share a city-year key, e.g. {ex} at "
                 f"{_where(df, dupkey)}. Fix: keep one row per city and year")
    if df["city_code"].nunique() < 2:
        E.append("only one city: a difference-in-differences panel needs many cities. Fix: supply the full panel")
    if df["year"].nunique() < 2:
        E.append("only one year: a difference-in-differences panel needs several years. Fix: supply the full panel")
    return df


def _resolve_cities(df: pd.DataFrame, m, rep: ValidationReport) -> None:
    """Turn the city column(s) into roster codes in df['city_code'] (errors into the report)."""
    E, W = rep.errors, rep.warnings
    res = CityResolver(m.city_names)
    prov_col = next((c for c in ("province_zh", "province_en") if c in df.columns), None)
    has_code = "city_code" in df.columns
    src_col = "city_code" if has_code else next(c for c in NAME_COLUMNS if c in df.columns)
    col = df[src_col]
    if has_code and pd.api.types.is_integer_dtype(col.dtype) and col.isin(res.codes).all():
        _check_names_against_codes(df, res, prov_col, rep)
        return  # the common case: valid 6-digit codes
    txt = col.astype("string").str.strip()
    prov = df[prov_col].astype("string").str.strip() if prov_col else pd.Series(pd.NA, index=df.index, dtype="string")
    pairs = pd.DataFrame({"v": txt.fillna(""), "p": prov.fillna("")})
    codes = pd.Series(pd.NA, index=df.index, dtype="Int64")
    unknown, ambiguous, mapped = {}, {}, {}
    for (v, p), idx in pairs.groupby(["v", "p"], sort=False).groups.items():
        code, how = None, ""
        num = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        if v == "":
            unknown.setdefault("(empty)", []).extend(idx)
            continue
        if pd.notna(num) and float(num) == int(num):
            code, how = res.code(int(num))
            if code is None:
                unknown.setdefault(_num(num), []).extend(idx)
                continue
        else:
            code, cands = res.name(v, p or None)
            if code is None:
                (ambiguous if cands else unknown).setdefault(v, []).extend(idx)
                if cands:
                    rep.info.setdefault("candidates", {})[v] = cands
                continue
            how = "name"
        codes.loc[idx] = code
        if how:
            mapped.setdefault((code, how), set()).add(v)
    if unknown:
        vals = list(unknown)
        mask = df.index.isin([i for v in vals for i in unknown[v]])
        numeric = [v for v in vals if v.isdigit()]
        hint = ""
        if numeric and all(int(v) < 1000 for v in numeric):
            hint = (" The values look like a running panel id (1, 2, ...), not administrative codes: supply the "
                    "6-digit codes or a city-name column.")
        sugg = {v: res.suggest(v) for v in vals[:SHOW] if not v.isdigit()}
        near = "; ".join(f"'{v}': perhaps {', '.join(s)}" for v, s in sugg.items() if s)
        ex = f" {{{vals[0]}: 320500}}" if vals else ""
        E.append(f"[column {src_col}] {len(vals)} unknown city code(s) or name(s) {_first(vals)} at "
                 f"{_where(df, mask)}.{hint}{(' Close names: ' + near + '.') if near else ''} Fix: use the 6-digit "
                 "prefecture-level city codes of data/reference/cities.csv (e.g. 110100 Beijing, 320500 Suzhou) or "
                 f"their names, or name each in the mapping file: city_names:{ex}")
    if ambiguous:
        vals = list(ambiguous)
        mask = df.index.isin([i for v in vals for i in ambiguous[v]])
        cands = rep.info.get("candidates", {})
        what = "; ".join(f"'{v}' could be {', '.join(res.label(c) for c in cands[v])}" for v in vals[:SHOW])
        first = vals[0]
        c0 = cands[first][0]
        zh = bool(re.search(r"[\u4e00-\u9fff]", first))
        with_prov = (f"{res.ref.loc[c0, 'province_zh']}{first}" if zh
                     else f"{first}, {res.ref.loc[c0, 'province_en']}")
        E.append(f"[column {src_col}] {len(vals)} ambiguous city name(s) at {_where(df, mask)}: {what}. Fix: add the "
                 f"province ('{with_prov}'), a province column, or name it in the mapping file: "
                 f"city_names: {{{first}: {c0}}}")
    if E:
        return
    df["city_code"] = codes.astype("int64")
    if mapped:
        kinds: dict[str, list[str]] = {}
        for (code, how), vs in mapped.items():
            for v in sorted(vs):
                kind = "former" if how.startswith("former") else how
                kinds.setdefault(kind, []).append(f"'{v}' -> {res.label(code)}")
                action = (f"city name '{v}' read as {res.label(code)}" if how == "name"
                          else f"city code {v} read as {res.label(code)} ({how})")
                rep.repairs.append({"column": "city_code", "city_code": int(code), "years": "", "action": action,
                                    "kind": "city named or coded otherwise, read as its roster code"})
        for kind, items in kinds.items():
            label = {"name": "given by name, resolved to roster codes",
                     "12-digit statistical code": "given as 12-digit statistical codes, read as their 6-digit prefix",
                     "4-digit code": "given as 4-digit codes, read as 6-digit codes",
                     "former": "given by a former code, read as today's code"}[kind]
            W.append(f"[column city_code] {_n(len(items), 'city', 'cities')} {label}: {_first(items)} "
                     "(all in the repairs list)")
        rep.info["resolved_by_name"] = any(how == "name" for (_, how) in mapped)
    if has_code:
        _check_names_against_codes(df, res, prov_col, rep)


def _check_names_against_codes(df, res: CityResolver, prov_col, rep: ValidationReport) -> None:
    """When the file has codes and names, say where they disagree (the codes are used)."""
    name_col = next((c for c in NAME_COLUMNS if c in df.columns), None)
    if name_col is None:
        return
    pairs = df[["city_code", name_col]].drop_duplicates()
    bad = []
    own = res.zh_of if name_col == "city_zh" else res.en_of
    for code, name in pairs.itertuples(index=False):
        if pd.isna(name) or str(name).strip() == "" or str(name).strip() == own.get(int(code)):
            continue
        got, cands = res.name(str(name))
        if (got is not None and got != int(code)) or (got is None and cands and int(code) not in cands):
            bad.append(f"{int(code)} '{name}'")
    if bad:
        rep.warnings.append(f"[column {name_col}] {len(bad)} city name(s) do not match their code: {_first(bad)}; "
                            "the codes are used (and the reference names). Fix: check the code column")


# ---------------------------------------------------------------------------------------
# values

def _values(df: pd.DataFrame, m, rep: ValidationReport) -> pd.DataFrame:
    E, W = rep.errors, rep.warnings
    notes: dict = {}
    units = rep.info.get("header_units", {})
    for c in m.scale:
        if c not in df.columns:
            W.append(f"the mapping file scales '{c}', which the file does not have")
    for c in [c for c in NUMERIC if c in df.columns and c not in KEY]:
        spec = BY_NAME[c]
        num, notnum = _parse_numbers(df[c], notes)
        if notnum.any():
            ex = df.loc[notnum, c].astype(str).head(3).tolist()
            E.append(f"[column {c}] {int(notnum.sum())} non-numeric value(s), e.g. {ex} at {_where(df, notnum)}. "
                     f"Fix: numbers only ({spec.unit}); leave missing cells empty")
            continue
        if c in m.scale:
            f = m.scale[c]
            num = num * f
            n = int(num.notna().sum())
            rep.repairs.append({"column": c, "city_code": None, "years": "",
                                "kind": "scale declared in the mapping file",
                                "action": f"scale x{f:g} declared in the mapping file ({n} values)"})
        if c in ("pilot_year", "broadband_year"):
            zero = num == 0
            if zero.any():
                cities = df.loc[zero, "city_code"].nunique()
                W.append(f"[column {c}] {c} = 0 in {int(zero.sum())} rows ({cities} cities) read as never treated "
                         "(empty). Fix: to silence this, leave the cell empty for never-treated cities")
                num = num.mask(zero)
        df[c] = num
        vals = num.to_numpy(dtype="float64")
        if spec.slips and c not in m.scale:
            slip = detect_slip(spec, vals)
            if slip is not None:
                fval, unit, med = slip
                outside = int(((num < spec.plausible_lower) | (num > spec.plausible_upper)).sum())
                E.append(slip_message(spec, fval, unit, med, header_unit=units.get(c, ""),
                                      rows=f"{outside} of {int(num.notna().sum())} values"))
                continue
        lo_bad = (num < spec.lower) if spec.lower is not None else pd.Series(False, index=df.index)
        hi_bad = (num > spec.upper) if spec.upper is not None else pd.Series(False, index=df.index)
        for mask, word, bound in ((lo_bad, "below", spec.lower), (hi_bad, "above", spec.upper)):
            if mask.any():
                ex = [_num(x) for x in num[mask].head(3)]
                share = " (a share must be between 0 and 1, not a percentage)" if spec.upper == 1.0 else ""
                E.append(f"[column {c}] {int(mask.sum())} value(s) {word} the possible {_num(bound)} ({spec.unit}), "
                         f"e.g. {ex} at {_where(df, mask)}. Fix: check the unit{share}")
        if lo_bad.any() or hi_bad.any():
            continue
        plo, phi = spec.plausible_lower, spec.plausible_upper
        if plo is not None and phi is not None:
            odd = (num < plo) | (num > phi)
            if odd.any():
                ex = ", ".join(f"{_num(v)} (city {int(cc)}, {int(y)})" for v, cc, y in
                               zip(num[odd].head(3), df.loc[odd, "city_code"].head(3), df.loc[odd, "year"].head(3)))
                W.append(f"[column {c}] {int(odd.sum())} value(s) outside the plausible range {spec.plausible()} "
                         f"({spec.unit}), e.g. {ex}: check them (a unit slip in some rows?)")
    for c in [c for c in INDICATORS if c in df.columns]:
        if c in df.columns and pd.api.types.is_numeric_dtype(df[c].dtype) and df[c].isna().all():
            E.append(f"[column {c}] every value is missing. Fix: fill the indicator, or drop it from the index "
                     "(indicators=...) deliberately")
    if notes.get("thousands"):
        t = notes["thousands"]
        W.append("thousands separators read in "
                 + ", ".join(f"{c} ({n} values, e.g. '{ex}')" for c, (n, ex) in t.items()))
    if notes.get("stata"):
        W.append("Stata's missing value '.' read as missing in "
                 + ", ".join(f"{c} ({_n(n, 'cell')})" for c, n in notes["stata"].items()))
    if notes.get("percent"):
        W.append("percent signs removed in " + ", ".join(f"{c} ({n} values)" for c, n in notes["percent"].items())
                 + "; declare the unit in the mapping file if the codebook's unit is a share (scale: {col: 0.01})")
    return df


# ---------------------------------------------------------------------------------------
# policy timing

def _binary(df: pd.DataFrame, c: str, rep: ValidationReport) -> pd.Series | None:
    num, notnum = _parse_numbers(df[c], {})
    bad = notnum | ~(num.isin([0, 1]) | num.isna())
    if bad.any():
        ex = df.loc[bad, c].astype(str).head(3).tolist()
        rep.errors.append(f"[column {c}] {int(bad.sum())} value(s) are not 0/1, e.g. {ex} at {_where(df, bad)}. "
                          f"Fix: {c} is 0 or 1")
        return None
    return num


def _policy(df: pd.DataFrame, rep: ValidationReport) -> pd.DataFrame:
    E, W = rep.errors, rep.warnings
    df = df.sort_values(list(KEY)).reset_index(drop=True)
    df.attrs.pop("line_offset", None)
    file_did = _binary(df, "did", rep) if "did" in df.columns else None
    file_treat = _binary(df, "treat", rep) if "treat" in df.columns else None
    file_bb = _binary(df, "broadband", rep) if "broadband" in df.columns else None
    if E:
        return df
    if "pilot_year" not in df.columns:  # derive it from did: the first year with did = 1
        d = df.assign(_d=file_did)
        first = d[d["_d"] == 1].groupby("city_code")["year"].min()
        df["pilot_year"] = df["city_code"].map(first).astype("Float64")
        starts = d.groupby("city_code")["year"].min()
        at_start = [int(c) for c, y in first.items() if y == starts.loc[c]]
        after = d[d["year"] >= df["pilot_year"].astype("float64").fillna(np.inf)]
        back = sorted({int(c) for c in after.loc[after["_d"] == 0, "city_code"]})
        for c, y in first.items():
            rep.repairs.append({"column": "pilot_year", "city_code": int(c), "years": str(int(y)),
                                "action": "derived from did: the first year with did = 1",
                                "kind": "pilot_year derived from did"})
        msg = (f"[column pilot_year] not in the file: derived from did as the first year with did = 1 for "
               f"{len(first)} treated cities ({df['city_code'].nunique() - len(first)} never treated)")
        if at_start:
            msg += (f"; {len(at_start)} cities have did = 1 in their first year ({_first(at_start)}): their pilot "
                    "year is that year or earlier")
        if back:
            msg += f"; did returns to 0 after a 1 in {len(back)} cities ({_first(back)}): did stays 1 from the first 1"
        W.append(msg + ". Fix: supply pilot_year to be exact")
        file_did = None  # it defined the timing; nothing to compare
    for c in ("pilot_year", "broadband_year"):
        if c not in df.columns:
            continue
        nun = df.groupby("city_code")[c].nunique(dropna=False)
        bad_cities = [int(x) for x in nun[nun > 1].index]
        if bad_cities:
            E.append(f"[column {c}] differs across years within {len(bad_cities)} city(ies) {_first(bad_cities)}. "
                     f"Fix: {c} is the first year of the policy, the same in every row of a city")
        else:
            if (df[c].dropna() % 1 != 0).any():
                E.append(f"[column {c}] must be a whole year or empty")
            df[c] = df[c].astype("Float64").round().astype("Int64")
    if E:
        return df
    derived = add_derived(df[["city_code", "year", "pilot_year"]
                             + (["broadband_year"] if "broadband_year" in df.columns else [])])
    for c, given in (("did", file_did), ("treat", file_treat), ("broadband", file_bb)):
        if given is None or (c == "broadband" and "broadband_year" not in df.columns):
            continue
        ours = derived[c]
        diff = given.notna() & (given != ours)
        if diff.any():
            cities = df.loc[diff, "city_code"].drop_duplicates()
            ex = []
            for code in cities.head(3):
                rows = df.index[diff & (df["city_code"] == code)]
                ys = year_ranges(df.loc[rows, "year"])
                ex.append(f"{int(code)} ({ys}: file {int(given[rows[0]])}, derived {int(ours[rows[0]])})")
            base = "pilot_year" if c != "broadband" else "broadband_year"
            more = " and more" if len(cities) > 3 else ""
            W.append(f"[column {c}] your {c} disagrees with the {c} derived from {base} in "
                     f"{_n(int(diff.sum()), 'row')} of {_n(len(cities), 'city', 'cities')}, e.g. {', '.join(ex)}{more}; "
                     "the derived "
                     f"{c} is used. Fix: correct {base}, or drop your {c} column")
    df = df.drop(columns=[c for c in DERIVED if c in df.columns])

    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    py = df.groupby("city_code")["pilot_year"].first()
    early, late = py[py < ymin], py[py > ymax]
    if len(early):
        W.append(f"pilot_year before the first panel year {ymin} for {len(early)} city(ies) "
                 f"{_first(int(c) for c in early.index)}: they are treated in every year and contribute no "
                 "before/after contrast")
    if len(late):
        W.append(f"pilot_year after the last panel year {ymax} for {len(late)} city(ies) "
                 f"{_first(int(c) for c in late.index)}: they are untreated throughout the panel")
    span = df.groupby("city_code")["year"].agg(["min", "max"]).join(py.rename("pilot"))
    treated = span["pilot"].notna()
    switchers = treated & (span["min"] < span["pilot"]) & (span["pilot"] <= span["max"])
    if treated.any() and not switchers.any():
        first_batch = int(span.loc[treated, "pilot"].min())
        E.append(f"[column pilot_year] no pilot city is observed both before and after its pilot year in "
                 f"{ymin}-{ymax} (the first batch is {first_batch}), so the difference-in-differences effect cannot "
                 f"be estimated. Fix: start the panel before the first batch (-p first_year={first_batch - 1} or "
                 f"earlier; validate --years {first_batch - 1} {ymax})")
    return df


# ---------------------------------------------------------------------------------------
# balance and interpolation (vectorised: one pass per column over the sorted panel)

def _gaps(df: pd.DataFrame, rep: ValidationReport, interpolate: bool) -> pd.DataFrame:
    E, W = rep.errors, rep.warnings
    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    all_years = set(range(ymin, ymax + 1))
    present = set(int(y) for y in df["year"].unique())
    if len(present) < len(all_years):
        W.append(f"no rows at all for year(s) {year_ranges(all_years - present)}")
    per_city = df.groupby("city_code")["year"].nunique()
    short = per_city[per_city < len(present)]
    if len(short):
        W.append(f"unbalanced panel: {len(short)} city(ies) lack some years, e.g. "
                 f"{_first(f'{int(c)} ({int(n)} years)' for c, n in short.items())}; estimators that need a balanced "
                 "panel (the threshold model) will name them (report.unbalanced_cities() lists them all)")
    city = df["city_code"].to_numpy()
    yr = df["year"].to_numpy(dtype="float64")
    n = len(df)
    new_city = np.r_[True, city[1:] != city[:-1]]
    grp = np.cumsum(new_city) - 1
    grp_start = np.flatnonzero(new_city)
    grp_end = np.r_[grp_start[1:], n] - 1
    for c in [c for c in FILL_COLUMNS if c in df.columns]:
        v = df[c].to_numpy(dtype="float64")
        miss = np.isnan(v)
        if not miss.any():
            continue
        # previous and next valid row within the same city (NaN when there is none)
        last_valid = np.maximum.accumulate(np.where(miss, -1, np.arange(n)))
        next_valid = np.minimum.accumulate(np.where(miss, n, np.arange(n))[::-1])[::-1]
        prev = np.where((last_valid >= 0) & (last_valid >= grp_start[grp]), last_valid, -1)
        nxt = np.where((next_valid < n) & (next_valid <= grp_end[grp]), next_valid, -1)
        n_valid = np.bincount(grp, weights=(~miss).astype(float))
        whole = n_valid[grp] == 0
        idx = np.flatnonzero(miss)
        # runs of consecutive missing rows within a city
        run_id = np.cumsum(np.r_[True, (np.diff(idx) != 1) | (grp[idx][1:] != grp[idx][:-1])])
        problems = {"whole": [], "edge": [], "long": []}
        fill = np.zeros(n, dtype=bool)
        for rows in np.split(idx, np.flatnonzero(np.diff(run_id)) + 1):
            code = int(city[rows[0]])
            ys = f"{int(yr[rows[0]])}" + (f"-{int(yr[rows[-1]])}" if len(rows) > 1 else "")
            if whole[rows[0]]:
                if not problems["whole"] or problems["whole"][-1] != code:
                    problems["whole"].append(code)
            elif prev[rows[0]] < 0 or nxt[rows[0]] < 0:
                problems["edge"].append(f"{code} ({ys})")
            elif len(rows) > MAX_GAP or not interpolate:
                problems["long"].append(f"{code} ({ys}, {len(rows)} consecutive years)" if len(rows) > 1
                                        else f"{code} ({ys})")
            else:
                fill[rows] = True
                rep.repairs.append({"column": c, "city_code": code, "years": ys,
                                    "action": "linear interpolation between neighbouring years",
                                    "kind": "gaps filled by linear interpolation between neighbouring years"})
        if problems["whole"]:
            w = problems["whole"]
            E.append(f"[column {c}] {len(w)} city(ies) have no value in any year (whole-city gap): {_first(w)}. "
                     "Fix: supply the values, or drop those cities from the panel deliberately")
        if problems["edge"]:
            w = problems["edge"]
            E.append(f"[column {c}] {len(w)} gap(s) at the edge of a city's years, where interpolation is impossible: "
                     f"{_first(w)}. Fix: supply the values (or extrapolate them yourself and say so)")
        if problems["long"]:
            w = problems["long"]
            what = "gaps" if interpolate else "gaps (interpolate=False)"
            E.append(f"[column {c}] {len(w)} interior {what} that are not interpolated: {_first(w)}. Fix: supply the "
                     f"values; only gaps of up to {MAX_GAP} interior years are interpolated")
        if fill.any():
            p, q = prev[fill], nxt[fill]
            v = v.copy()
            v[fill] = v[p] + (yr[fill] - yr[p]) * (v[q] - v[p]) / (yr[q] - yr[p])
            df[c] = v
    return df


# ---------------------------------------------------------------------------------------
# facts and derived columns

FACT_COLUMNS = ["city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
                "urban_core_pop_2020", "size_class", "large_city", "lon", "lat", "broadband_year"]


def _fill_facts(df: pd.DataFrame, W: list[str], resolved_by_name: bool = False) -> pd.DataFrame:
    """Add real facts (names, region, size, coordinates, Broadband China) missing from the file."""
    ref = facts.cities().merge(facts.broadband()[["city_code", "broadband_year"]], on="city_code", how="left")
    if resolved_by_name:  # the file's spelling of names gives way to the roster's
        df = df.drop(columns=[c for c in ("city_zh", "city_en", "province_zh", "province_en") if c in df.columns])
    add = [c for c in FACT_COLUMNS if c not in df.columns]
    if add:
        df = df.merge(ref[["city_code"] + add], on="city_code", how="left", validate="many_to_one")
        W.append(f"filled {add} from data/reference/ (real facts)")
        lacking = df.loc[df["large_city"].isna(), "city_code"].unique() if "large_city" in add else []
        if len(lacking):
            names = ref.set_index("city_code")
            which = _first(str(int(c)) + " " + str(names.loc[c, "city_en"]) for c in lacking)
            W.append(f"no 2020 census city size for {len(lacking)} city(ies) {which} (abolished before the 2020 "
                     "census, or not in it): size_class and large_city are empty for them, and analyses by city size "
                     "leave them out")
    df["broadband_year"] = df["broadband_year"].astype("Float64").astype("Int64")
    return df


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``treat``, ``did`` (Treat x Post) and ``broadband`` from the policy years."""
    df = df.copy()
    py = df["pilot_year"].astype("Float64")
    df["treat"] = py.notna().astype(int).to_numpy()
    df["did"] = (py.notna() & (df["year"] >= py.fillna(np.inf))).astype(int).to_numpy()
    by = df["broadband_year"].astype("Float64") if "broadband_year" in df else pd.Series(np.nan, index=df.index)
    df["broadband"] = (by.notna() & (df["year"] >= by.fillna(np.inf))).astype(int).to_numpy()
    return df
