"""Reading and validating a city-year panel against the canonical schema.

Every problem is reported with the file, the column, the first offending rows
(as line numbers of the file, header = line 1) and the fix.  Problems that make
the data unusable are *errors*: :func:`validate_panel` collects all of them and
raises one :class:`PanelValidationError`.  Problems that can be repaired safely
are *repairs* (e.g. linear interpolation of short interior gaps within a city,
as the paper does) and are listed in the report, never applied silently.
"""
from __future__ import annotations

import difflib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import facts
from .schema import BY_NAME, COLUMNS, DERIVED, INDICATORS, KEY, NUMERIC, REQUIRED

MAX_GAP = 2  # longest interior run of missing years that is interpolated
SHOW = 5  # offending rows shown per problem


class PanelValidationError(ValueError):
    """The panel cannot be used; ``.problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        head = f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''} found"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class ValidationReport:
    source: str
    panel: pd.DataFrame | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def repairs_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.repairs, columns=["column", "city_code", "years", "action"])

    def summary(self) -> str:
        lines = [f"{self.source}: " + ("OK" if self.ok else f"{len(self.errors)} problem(s)")]
        if self.panel is not None:
            p = self.panel
            lines.append(f"  {len(p)} rows, {p['city_code'].nunique()} cities, "
                         f"years {p['year'].min()}-{p['year'].max()}")
        lines += [f"  ERROR: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.repairs:
            lines.append(f"  repaired {len(self.repairs)} gap(s) by linear interpolation within city:")
            for r in self.repairs[:20]:
                lines.append(f"    {r['column']} city {r['city_code']} years {r['years']}: {r['action']}")
            if len(self.repairs) > 20:
                lines.append(f"    ... and {len(self.repairs) - 20} more")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# reading files

def read_panel_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet panel with clear errors (no pandas tracebacks)."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise PanelValidationError(src, [f"file not found. Fix: put the panel at {src} "
                                         "(CSV or Parquet, schema in data/README.md)"])
    if path.is_dir():
        raise PanelValidationError(src, ["is a folder, not a file. Fix: give the path of the CSV or Parquet file"])
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types
            raise PanelValidationError(src, [f"not a readable Parquet file ({type(exc).__name__}: {exc}). "
                                             "Fix: re-export it, or save it as CSV"]) from None
    if suffix not in (".csv", ".txt", ".tsv"):
        raise PanelValidationError(src, [f"unsupported file type '{suffix}'. Fix: save the panel as .csv or .parquet"])
    raw = path.read_bytes()
    if not raw.strip():
        raise PanelValidationError(src, ["the file is empty. Fix: export the panel with a header row and data"])
    text, note = _decode(raw, src)
    first = text.splitlines()[0] if text else ""
    sep = ","
    if suffix == ".tsv" or (first.count("\t") > first.count(",")):
        sep = "\t"
    elif first.count(";") > first.count(","):
        raise PanelValidationError(src, ["the file uses ';' as its delimiter (header: "
                                         f"{first[:80]!r}). Fix: save it comma-separated (CSV, UTF-8)"])
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise PanelValidationError(src, [f"cannot be parsed as CSV: {exc}. Fix: check for unquoted commas "
                                         "in text fields and a consistent number of fields per line"]) from None
    if df.empty:
        raise PanelValidationError(src, ["the file has a header but no data rows. Fix: export the data rows too"])
    df.attrs["read_note"] = note
    df.attrs["line_offset"] = 2  # header is line 1
    return df


def _decode(raw: bytes, src: str) -> tuple[str, str | None]:
    for enc in ("utf-8-sig",):
        try:
            return raw.decode(enc), None
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("gb18030"), ("the file is not UTF-8; it was read as GB18030 (common for Chinese "
                                      "yearbook exports). Fix: re-save it as UTF-8 to silence this")
    except UnicodeDecodeError:
        raise PanelValidationError(src, ["the file is neither UTF-8 nor GB18030 text. Fix: re-save it as "
                                         "UTF-8 CSV"]) from None


# ---------------------------------------------------------------------------------------
# validation

def _rows(df: pd.DataFrame, mask) -> str:
    idx = np.flatnonzero(np.asarray(mask))
    off = df.attrs.get("line_offset")
    shown = [str(i + off) if off is not None else str(df.index[i]) for i in idx[:SHOW]]
    word = "line" if off is not None else "row"
    more = f" and {len(idx) - SHOW} more" if len(idx) > SHOW else ""
    return f"{word}{'s' if len(idx) > 1 else ''} {', '.join(shown)}{more}"


def _integer_like(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a key column: returns (Int64 values, mask of values that are not integers)."""
    txt = s.astype("string").str.strip()
    num = pd.to_numeric(txt, errors="coerce")
    bad = num.isna() | (num % 1 != 0)
    bad = bad.fillna(True)
    out = num.where(~bad).astype("Float64").round().astype("Int64")
    return out, bad


def validate_panel(data: pd.DataFrame | str | Path, *, years: tuple[int, int] | None = None,
                   interpolate: bool = True, source: str | None = None) -> ValidationReport:
    """Check a panel (DataFrame or file path) and return a report with the clean panel.

    Never raises for data problems: they are in ``report.errors`` (use
    :func:`load_panel`, which raises :class:`PanelValidationError`).
    """
    if isinstance(data, (str, Path)):
        source = source or str(data)
        try:
            df = read_panel_file(data)
        except PanelValidationError as e:
            return ValidationReport(source, errors=e.problems)
    else:
        source = source or "<DataFrame>"
        df = data.copy()
        df.attrs = dict(data.attrs)
    rep = ValidationReport(source)
    if df.attrs.get("read_note"):
        rep.warnings.append(df.attrs["read_note"])
    E, W = rep.errors, rep.warnings

    # --- column names -------------------------------------------------------------------
    df.columns = [str(c).strip() for c in df.columns]
    lower = [c.lower() for c in df.columns]
    dups = sorted({c for c in lower if lower.count(c) > 1})
    if dups:
        E.append(f"duplicated column name(s) {dups}. Fix: keep one column per name")
        return rep
    df.columns = lower
    known = set(BY_NAME) | set(DERIVED)
    alias = {a: c.name for c in COLUMNS for a in c.aliases}
    for col in list(df.columns):
        if col not in known and col in alias and alias[col] not in df.columns:
            df = df.rename(columns={col: alias[col]})
            W.append(f"column '{col}' read as '{alias[col]}' (a common alias)")
    missing = [c for c in REQUIRED if c not in df.columns]
    extra = [c for c in df.columns if c not in known]
    for c in missing:
        close = difflib.get_close_matches(c, extra, n=1, cutoff=0.6)
        hint = (f" The file has '{close[0]}': a misspelling? Fix: rename '{close[0]}' to '{c}'" if close
                else f" Fix: add the column '{c}' ({BY_NAME[c].label}, {BY_NAME[c].unit})")
        E.append(f"[column {c}] required column missing.{hint}")
    if extra:
        W.append(f"column(s) not in the schema, kept but unused: {extra}")
    if missing:
        return rep
    if len(df) == 0:
        E.append("no data rows. Fix: export the data rows too")
        return rep

    # --- keys -----------------------------------------------------------------------------
    for k in KEY:
        vals, bad = _integer_like(df[k])
        if bad.any():
            ex = df.loc[np.asarray(bad), k].astype(str).head(3).tolist()
            E.append(f"[column {k}] {int(bad.sum())} value(s) are not whole numbers, e.g. {ex} at "
                     f"{_rows(df, bad)}. Fix: {'6-digit city codes' if k == 'city_code' else 'calendar years'} "
                     "as integers")
        df[k] = vals.astype("int64") if not bad.any() else vals
    if E:
        return rep
    dupkey = df.duplicated(list(KEY), keep=False)
    if dupkey.any():
        ex = df.loc[dupkey, list(KEY)].drop_duplicates().head(3).astype(int).values.tolist()
        E.append(f"[columns city_code, year] {int(dupkey.sum())} rows share a city-year key, e.g. {ex} at "
                 f"{_rows(df, dupkey)}. Fix: keep one row per city and year")
    ref = facts.cities()
    unknown = ~df["city_code"].isin(ref["city_code"])
    if unknown.any():
        codes = sorted(df.loc[unknown, "city_code"].unique().tolist())
        E.append(f"[column city_code] {len(codes)} unknown city code(s) {codes[:SHOW]} at {_rows(df, unknown)}. "
                 "Fix: use the 6-digit prefecture-level city codes of data/reference/cities.csv "
                 "(e.g. 110100 Beijing, 320500 Suzhou)")
    if years is not None:
        a, b = facts._check_years(years)
        out = ~df["year"].between(a, b)
        if out.any():
            E.append(f"[column year] {int(out.sum())} row(s) outside the requested years {a}-{b} at "
                     f"{_rows(df, out)}. Fix: drop them or pass years=({df['year'].min()}, {df['year'].max()})")
    if df["city_code"].nunique() < 2:
        E.append("only one city: a difference-in-differences panel needs many cities. Fix: supply the full panel")
    if df["year"].nunique() < 2:
        E.append("only one year: a difference-in-differences panel needs several years. Fix: supply the full panel")
    if E:
        return rep

    # --- values ---------------------------------------------------------------------------
    for c in NUMERIC:
        if c not in df.columns or c in KEY:
            continue
        col = df[c]
        txt = col.astype("string").str.strip()
        empty = txt.isna() | txt.isin(["", "NA", "NaN", "nan", "null", "NULL", ".", "-"])
        num = pd.to_numeric(txt.where(~empty), errors="coerce")
        notnum = num.isna() & ~empty
        if notnum.any():
            ex = col[notnum].astype(str).head(3).tolist()
            E.append(f"[column {c}] {int(notnum.sum())} non-numeric value(s), e.g. {ex} at {_rows(df, notnum)}. "
                     f"Fix: numbers only ({BY_NAME[c].unit}); leave missing cells empty")
        df[c] = num.astype(float)
        spec = BY_NAME[c]
        lo_bad = (df[c] < spec.lower) if spec.lower is not None else pd.Series(False, index=df.index)
        hi_bad = (df[c] > spec.upper) if spec.upper is not None else pd.Series(False, index=df.index)
        for mask, word, bound in ((lo_bad, "below", spec.lower), (hi_bad, "above", spec.upper)):
            if mask.any():
                ex = df.loc[mask, c].head(3).tolist()
                E.append(f"[column {c}] {int(mask.sum())} value(s) {word} the possible {bound} ({spec.unit}), "
                         f"e.g. {ex} at {_rows(df, mask)}. Fix: check the unit"
                         + (" (a share must be between 0 and 1, not a percentage)" if spec.upper == 1.0 else ""))
    for c in [c for c in INDICATORS if c in df.columns]:
        if df[c].isna().all():
            E.append(f"[column {c}] every value is missing. Fix: fill the indicator, or drop it from the index "
                     "(indicators=...) deliberately")
    if E:
        return rep

    # --- policy timing is a city attribute -------------------------------------------------
    df = df.sort_values(list(KEY)).reset_index(drop=True)
    df.attrs.pop("line_offset", None)
    for c in ("pilot_year", "broadband_year"):
        if c not in df.columns:
            continue
        nun = df.groupby("city_code")[c].nunique(dropna=False)
        bad_cities = nun[nun > 1].index.tolist()
        if bad_cities:
            E.append(f"[column {c}] differs across years within city {bad_cities[:SHOW]}. "
                     f"Fix: {c} is the first year of the policy, the same in every row of a city")
        else:
            if (df[c].dropna() % 1 != 0).any():
                E.append(f"[column {c}] must be a whole year or empty")
            df[c] = df[c].astype("Float64").round().astype("Int64")
    if E:
        return rep
    ymin, ymax = int(df["year"].min()), int(df["year"].max())
    py = df.groupby("city_code")["pilot_year"].first()
    early, late = py[py < ymin], py[py > ymax]
    if len(early):
        W.append(f"pilot_year before the first panel year {ymin} for {len(early)} city(ies) {early.index.tolist()[:SHOW]}:"
                 " they are treated in every year and contribute no before/after contrast")
    if len(late):
        W.append(f"pilot_year after the last panel year {ymax} for {len(late)} city(ies) {late.index.tolist()[:SHOW]}:"
                 " they are untreated throughout the panel")

    # --- balance, gaps, interpolation -------------------------------------------------------
    all_years = np.arange(ymin, ymax + 1)
    present = set(df["year"].unique())
    if len(present) < len(all_years):
        W.append(f"no rows at all for year(s) {sorted(set(all_years) - present)}")
    per_city = df.groupby("city_code")["year"].nunique()
    short = per_city[per_city < len(present)]
    if len(short):
        W.append(f"unbalanced panel: {len(short)} city(ies) lack some years, e.g. "
                 f"{[(int(c), int(n)) for c, n in short.head(SHOW).items()]} (city, years present); estimators that "
                 "need a balanced panel (the threshold model) will name them")
    fill_cols = [c for c in list(INDICATORS) + ["pd", "pergdp", "urb", "gov", "loi", "hc", "st", "isu"]
                 if c in df.columns]
    for c in fill_cols:
        if not df[c].isna().any():
            continue
        for code, g in df[df[c].isna()].groupby("city_code"):
            city = df[df["city_code"] == code]
            if city[c].isna().all():
                E.append(f"[column {c}] city {code} has no value in any year (whole-city gap). Fix: supply it, "
                         "or drop the city from the panel deliberately")
                continue
            yrs = city["year"].to_numpy()
            vals = city[c].to_numpy()
            miss = np.isnan(vals)
            first, last = np.flatnonzero(~miss)[[0, -1]]
            runs = _runs(np.flatnonzero(miss))
            for r in runs:
                lo_i, hi_i = r[0], r[-1]
                yr_txt = f"{yrs[lo_i]}" + (f"-{yrs[hi_i]}" if hi_i > lo_i else "")
                if lo_i < first or hi_i > last:
                    E.append(f"[column {c}] city {code} is missing {yr_txt} at the edge of its years: cannot "
                             "interpolate. Fix: supply the value (or extrapolate it yourself and say so)")
                elif len(r) > MAX_GAP or not interpolate:
                    E.append(f"[column {c}] city {code} is missing {yr_txt} ({len(r)} consecutive years). Fix: "
                             f"supply the values; only gaps of up to {MAX_GAP} interior years are interpolated")
                else:
                    rep.repairs.append({"column": c, "city_code": int(code), "years": yr_txt,
                                        "action": "linear interpolation between neighbouring years"})
            if not any(e.startswith(f"[column {c}] city {code}") for e in E):
                idx = city.index
                df.loc[idx, c] = pd.Series(vals, index=yrs).interpolate(method="index", limit_area="inside").to_numpy()
    if E:
        return rep

    # --- facts and derived columns ----------------------------------------------------------
    df = _fill_facts(df, W)
    df = add_derived(df)
    rep.panel = df
    return rep


def _runs(idx: np.ndarray) -> list[np.ndarray]:
    if len(idx) == 0:
        return []
    return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)


def _fill_facts(df: pd.DataFrame, W: list[str]) -> pd.DataFrame:
    """Add real facts (names, region, size, coordinates, Broadband China) missing from the file."""
    ref = facts.cities().merge(facts.broadband()[["city_code", "broadband_year"]], on="city_code", how="left")
    cols = ["city_zh", "city_en", "province_zh", "province_en", "region", "region4", "municipality",
            "urban_core_pop_2020", "size_class", "large_city", "lon", "lat", "broadband_year"]
    add = [c for c in cols if c not in df.columns]
    if add:
        df = df.merge(ref[["city_code"] + add], on="city_code", how="left", validate="many_to_one")
        W.append(f"filled {add} from data/reference/ (real facts)")
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
