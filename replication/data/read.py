"""Reading a panel file as it arrives: CSV (UTF-8 with or without BOM, or GB18030), TSV,
Excel .xlsx, Parquet or Stata .dta.

Problems that make the file unreadable raise :class:`PanelValidationError` naming the file
and the fix; everything read is returned as is (text cells stay text: the validator parses
numbers, thousands separators and Stata's missing ``.``).  ``df.attrs`` carries
``read_notes`` (warnings about the reading), ``line_offset`` (the file line of row 0, so
that messages can name lines) and ``sha256`` (of the file's bytes).
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from replication.data.report import PanelValidationError

SUPPORTED = ".csv, .tsv, .txt, .xlsx, .parquet or .dta"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_panel_file(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV, TSV, .xlsx, Parquet or Stata panel with clear errors (no pandas tracebacks)."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise PanelValidationError(src, [f"file not found. Fix: put the panel at {src} ({SUPPORTED}; "
                                         "schema in data/README.md)"])
    if path.is_dir():
        raise PanelValidationError(src, [f"is a folder, not a file. Fix: give the path of the panel file "
                                         f"({SUPPORTED})"])
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    if not raw.strip():
        raise PanelValidationError(src, ["the file is empty. Fix: export the panel with a header row and data"])
    digest = hashlib.sha256(raw).hexdigest()
    notes: list[str] = []
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # pyarrow raises many types
            raise PanelValidationError(src, [f"not a readable Parquet file ({type(exc).__name__}: {exc}). "
                                             "Fix: re-export it, or save it as CSV"]) from None
        offset = None
    elif suffix in (".xlsx", ".xlsm"):
        df = _read_xlsx(raw, src, sheet, notes)
        offset = 2  # header in row 1 of the sheet
    elif suffix == ".xls":
        raise PanelValidationError(src, ["old Excel format .xls is not read. Fix: in Excel, File > Save As > "
                                         "Excel Workbook (.xlsx), or CSV UTF-8"])
    elif suffix == ".dta":
        try:
            df = pd.read_stata(io.BytesIO(raw), convert_categoricals=False)
        except Exception as exc:
            raise PanelValidationError(src, [f"not a readable Stata file ({type(exc).__name__}: {exc}). "
                                             "Fix: re-save it with `saveold`, or export CSV"]) from None
        offset = 1  # Stata's observation numbers (_n) start at 1
    elif suffix in (".csv", ".txt", ".tsv"):
        df = _read_csv(raw, src, suffix, notes)
        offset = 2  # header is line 1
    else:
        raise PanelValidationError(src, [f"unsupported file type '{suffix}'. Fix: save the panel as {SUPPORTED}"])
    if df.shape[1] == 0 or df.empty:
        raise PanelValidationError(src, ["the file has a header but no data rows. Fix: export the data rows too"])
    df.attrs["read_notes"] = notes
    df.attrs["line_offset"] = offset
    df.attrs["sha256"] = digest
    return df


def _read_csv(raw: bytes, src: str, suffix: str, notes: list[str]) -> pd.DataFrame:
    text = _decode(raw, src, notes)
    first = text.splitlines()[0] if text else ""
    sep = ","
    if suffix == ".tsv" or (first.count("\t") > first.count(",")):
        sep = "\t"
    elif first.count(";") > first.count(","):
        raise PanelValidationError(src, ["the file uses ';' as its delimiter (header: "
                                         f"{first[:80]!r}). Fix: save it comma-separated (CSV, UTF-8)"])
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                         skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        raise PanelValidationError(src, [f"cannot be parsed as CSV: {exc}. Fix: check for unquoted commas "
                                         "in text fields (numbers like 1,234.5 must be quoted) and a consistent "
                                         "number of fields per line"]) from None
    except pd.errors.EmptyDataError:
        raise PanelValidationError(src, ["the file has no header row. Fix: export the panel with its header"]) from None
    return _drop_blank_rows(df, notes)


def _drop_blank_rows(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    blank = df.apply(lambda s: s.astype("string").fillna("").str.strip().eq("")).all(axis=1)
    if blank.any():
        trailing = blank[::-1].cummin()[::-1]
        inner = int((blank & ~trailing).sum())
        df = df[~blank]
        if inner:
            notes.append(f"{inner} empty row(s) inside the file skipped")
    return df


def _read_xlsx(raw: bytes, src: str, sheet, notes: list[str]) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401 - pandas reads .xlsx through it
    except ImportError:
        raise PanelValidationError(src, ["reading .xlsx needs the package openpyxl. Fix: pip install openpyxl "
                                         "(it is in requirements.txt), or save the sheet as CSV UTF-8"]) from None
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except Exception as exc:
        raise PanelValidationError(src, [f"not a readable .xlsx workbook ({type(exc).__name__}). Fix: open it in "
                                         "Excel and save it again as .xlsx, or as CSV UTF-8"]) from None
    names = book.sheet_names
    if sheet is None:
        which = 0
        if len(names) > 1:
            notes.append(f"the workbook has {len(names)} sheets {names[:5]}; read the first, '{names[0]}'. Fix: "
                         "put 'sheet: NAME' in the mapping file to read another")
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise PanelValidationError(src, [f"sheet {sheet} does not exist (the workbook has {len(names)}: "
                                             f"{names}). Fix: 'sheet: NAME' or a position 0-{len(names) - 1}"])
        which = sheet
    else:
        if sheet not in names:
            raise PanelValidationError(src, [f"no sheet named '{sheet}' (sheets: {names}). Fix: the sheet's name "
                                             "exactly as in Excel"])
        which = sheet
    try:
        df = pd.read_excel(book, sheet_name=which, dtype=object, keep_default_na=False, na_values=[])
    except Exception as exc:
        raise PanelValidationError(src, [f"cannot read the sheet ({type(exc).__name__}: {exc}). Fix: save it as "
                                         "CSV UTF-8"]) from None
    df = df.map(lambda v: "" if v is None else v)
    return _drop_blank_rows(df, notes)


def _decode(raw: bytes, src: str, notes: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise PanelValidationError(src, ["the file is neither UTF-8 nor GB18030 text. Fix: re-save it as "
                                         "UTF-8 CSV"]) from None
    notes.append("the file is not UTF-8; it was read as GB18030 (common for Chinese yearbook exports). "
                 "Fix: re-save it as UTF-8 to silence this")
    return text
