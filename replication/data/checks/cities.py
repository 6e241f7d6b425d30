"""City keys: 6-digit roster codes, or codes written otherwise (12-digit statistical codes,
4-digit codes, former codes) and city names (Chinese or pinyin, with the province when
ambiguous), resolved to the roster's codes by :class:`~replication.data.names.CityResolver`.
Every resolution is a repair in the report; unknown and ambiguous cities are errors."""
from __future__ import annotations

import re

import pandas as pd

from replication.data.checks.cells import SHOW, first, number_text, plural, where
from replication.data.checks.columns import NAME_COLUMNS
from replication.data.names import CityResolver
from replication.data.report import ValidationReport

_KIND_LABELS = {"name": "given by name, resolved to roster codes",
                "12-digit statistical code": "given as 12-digit statistical codes, read as their 6-digit prefix",
                "4-digit code": "given as 4-digit codes, read as 6-digit codes",
                "former": "given by a former code, read as today's code"}


def resolve_cities(df: pd.DataFrame, m, rep: ValidationReport) -> None:
    """Turn the city column(s) into roster codes in df['city_code'] (errors into the report)."""
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
    codes, unknown, ambiguous, mapped = _lookup(txt, prov, res, rep)
    if unknown:
        rep.errors.append(_unknown_message(df, src_col, unknown, res))
    if ambiguous:
        rep.errors.append(_ambiguous_message(df, src_col, ambiguous, res, rep.info.get("candidates", {})))
    if rep.errors:
        return
    df["city_code"] = codes.astype("int64")
    if mapped:
        _record_resolutions(mapped, res, rep)
    if has_code:
        _check_names_against_codes(df, res, prov_col, rep)


def _lookup(txt: pd.Series, prov: pd.Series, res: CityResolver, rep: ValidationReport):
    """(codes, unknown, ambiguous, mapped) for each distinct (value, province): unknown and
    ambiguous map a value to its rows, mapped maps (code, how) to the values read so."""
    pairs = pd.DataFrame({"v": txt.fillna(""), "p": prov.fillna("")})
    codes = pd.Series(pd.NA, index=txt.index, dtype="Int64")
    unknown, ambiguous, mapped = {}, {}, {}
    for (v, p), idx in pairs.groupby(["v", "p"], sort=False).groups.items():
        code, how = None, ""
        value = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        if v == "":
            unknown.setdefault("(empty)", []).extend(idx)
            continue
        if pd.notna(value) and float(value) == int(value):
            code, how = res.code(int(value))
            if code is None:
                unknown.setdefault(number_text(value), []).extend(idx)
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
    return codes, unknown, ambiguous, mapped


def _unknown_message(df: pd.DataFrame, src_col: str, unknown: dict, res: CityResolver) -> str:
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
    return (f"[column {src_col}] {len(vals)} unknown city code(s) or name(s) {first(vals)} at "
            f"{where(df, mask)}.{hint}{(' Close names: ' + near + '.') if near else ''} Fix: use the 6-digit "
            "prefecture-level city codes of the roster shipped with the package (replication/data/reference/cities.csv) (e.g. 110100 Beijing, 320500 Suzhou) or "
            f"their names, or name each in the mapping file: city_names:{ex}")


def _ambiguous_message(df: pd.DataFrame, src_col: str, ambiguous: dict, res: CityResolver, cands: dict) -> str:
    vals = list(ambiguous)
    mask = df.index.isin([i for v in vals for i in ambiguous[v]])
    what = "; ".join(f"'{v}' could be {', '.join(res.label(c) for c in cands[v])}" for v in vals[:SHOW])
    head = vals[0]
    c0 = cands[head][0]
    zh = bool(re.search(r"[\u4e00-\u9fff]", head))
    with_prov = (f"{res.ref.loc[c0, 'province_zh']}{head}" if zh
                 else f"{head}, {res.ref.loc[c0, 'province_en']}")
    return (f"[column {src_col}] {len(vals)} ambiguous city name(s) at {where(df, mask)}: {what}. Fix: add the "
            f"province ('{with_prov}'), a province column, or name it in the mapping file: "
            f"city_names: {{{head}: {c0}}}")


def _record_resolutions(mapped: dict, res: CityResolver, rep: ValidationReport) -> None:
    """A repair per resolved value and a warning per kind of resolution."""
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
        rep.warnings.append(f"[column city_code] {plural(len(items), 'city', 'cities')} {_KIND_LABELS[kind]}: "
                            f"{first(items)} (all in the repairs list)")
    rep.info["resolved_by_name"] = any(how == "name" for (_, how) in mapped)


def _check_names_against_codes(df, res: CityResolver, prov_col, rep: ValidationReport) -> None:
    """When the file has codes and names, say where they disagree (the codes are used)."""
    name_col = next((c for c in NAME_COLUMNS if c in df.columns), None)
    if name_col is None:
        return
    own = res.zh_of if name_col == "city_zh" else res.en_of
    names = df[name_col]
    rows = slice(None)
    if isinstance(names.dtype, pd.StringDtype) and all(isinstance(v, str) and v == v.strip() for v in own.values()):
        # text: skip, in one pass, the rows without a name or with exactly the code's own (the loop skips them too)
        agree = (names.isna() | (names == df["city_code"].map(own))).to_numpy(dtype=bool, na_value=False)
        if agree.all():
            return
        rows = ~agree
    pairs = df.loc[rows, ["city_code", name_col]].drop_duplicates()
    bad = []
    for code, name in pairs.itertuples(index=False):
        if pd.isna(name) or str(name).strip() == "" or str(name).strip() == own.get(int(code)):
            continue
        got, cands = res.name(str(name))
        if (got is not None and got != int(code)) or (got is None and cands and int(code) not in cands):
            bad.append(f"{int(code)} '{name}'")
    if bad:
        rep.warnings.append(f"[column {name_col}] {len(bad)} city name(s) do not match their code: {first(bad)}; "
                            "the codes are used (and the reference names). Fix: check the code column")
