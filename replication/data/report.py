"""The validation report: what was read, what was checked, what was changed.

:class:`ValidationReport` is what :func:`~replication.data.validate_panel` returns and what
``load_panel(..., report=True)`` hands to chapter 1, which shows it as the *data report*:
:meth:`~ValidationReport.overview`, :meth:`~ValidationReport.roster_comparison`,
:meth:`~ValidationReport.unbalanced_cities`, the warnings and :meth:`~ValidationReport.repairs_table`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REPAIR_COLUMNS = ["column", "city_code", "years", "action"]


class PanelWarning(UserWarning):
    """A warning about a user's panel (load_panel emits one per report warning)."""


class PanelValidationError(ValueError):
    """The panel cannot be used; ``.problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        head = f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''} found"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


def year_ranges(years) -> str:
    """2009, 2010, 2011, 2014 -> '2009-2011, 2014'."""
    ys = sorted({int(y) for y in years})
    out, start = [], None
    for i, y in enumerate(ys):
        if start is None:
            start = y
        if i == len(ys) - 1 or ys[i + 1] != y + 1:
            out.append(f"{start}" if start == y else f"{start}-{y}")
            start = None
    return ", ".join(out)


@dataclass
class ValidationReport:
    source: str
    panel: pd.DataFrame | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)
    sha256: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    # ------------------------------------------------------------------------------------
    def repairs_table(self) -> pd.DataFrame:
        """Every repair, one row per column, city and run of years (``city_code`` empty for
        column-wide repairs such as a declared scale)."""
        df = pd.DataFrame(self.repairs, columns=REPAIR_COLUMNS)
        df["city_code"] = pd.array(df["city_code"].tolist(), dtype="Int64")
        df["years"] = df["years"].fillna("").astype(str)
        return df

    def summary(self) -> str:
        lines = [f"{self.source}: " + ("OK" if self.ok else f"{len(self.errors)} problem(s)")]
        if self.sha256:
            lines.append(f"  SHA-256 {self.sha256}")
        if self.panel is not None:
            p = self.panel
            lines.append(f"  {len(p)} rows, {p['city_code'].nunique()} cities, "
                         f"years {int(p['year'].min())}-{int(p['year'].max())}")
        lines += [f"  ERROR: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.repairs:
            lines.append(f"  {len(self.repairs)} repair(s) (the full list: --report FILE or report.repairs_table()):")
            groups: dict[str, list[dict]] = {}
            for r in self.repairs:
                groups.setdefault(r.get("kind") or r["action"], []).append(r)
            for kind, rs in groups.items():
                cols: dict[str, int] = {}
                for r in rs:
                    cols[r["column"]] = cols.get(r["column"], 0) + 1
                cities = {r["city_code"] for r in rs if r["city_code"] is not None}
                if not cities:  # column-wide repairs: say each
                    lines.append(f"    {kind}: " + "; ".join(f"{r['column']} {r['action']}" for r in rs))
                    continue
                where = ", ".join(f"{c} {n}" for c, n in cols.items())
                cit = "city" if len(cities) == 1 else "cities"
                lines.append(f"    {kind}: {len(rs)} in {len(cities)} {cit} ({where})")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------
    def overview(self) -> pd.DataFrame:
        """The data report's first table: (item, value), every value as text."""
        info, p = self.info, self.panel
        rows: list[tuple[str, str]] = []
        name = Path(self.source).name if info.get("is_file") else self.source
        rows.append(("file", name))
        rows.append(("SHA-256", self.sha256 or "(not a file)"))
        if info.get("rows_read") is not None:
            rows.append(("rows read", str(info["rows_read"])))
        if p is not None:
            years = sorted(p["year"].unique())
            per_city = p.groupby("city_code")["year"].nunique()
            n_short = int((per_city < len(years)).sum())
            py = p.drop_duplicates("city_code")["pilot_year"]
            batches = py.dropna().astype(int).value_counts().sort_index()
            rows += [
                ("rows", str(len(p))),
                ("cities", str(p["city_code"].nunique())),
                ("years", f"{int(years[0])}-{int(years[-1])} ({len(years)} years)"),
                ("balanced", "yes" if n_short == 0 else f"no: {n_short} cities lack some years"),
            ]
        dropped = info.get("rows_dropped_by_years", 0)
        if info.get("years_requested"):
            a, b = info["years_requested"]
            what = f"{dropped} (years {info.get('years_dropped', '')})" if dropped else "0"
            rows.append((f"rows dropped by the years subset {a}-{b}", what))
        else:
            rows.append(("rows dropped by the years subset", "0 (no subset requested)"))
        if p is not None:
            rows.append(("treated cities by pilot batch",
                         "; ".join(f"{int(y)}: {int(n)}" for y, n in batches.items()) or "none"))
            rows.append(("never-treated cities", str(int(py.isna().sum()))))
            rc = self.roster_comparison()
            if len(rc):
                n_in = int((rc["status"].str.startswith("in the file")).sum())
                n_out = len(rc) - n_in
                rows.append(("roster comparison", f"{n_in} cities of the file are not prefecture-level cities in "
                                                  f"every year (not on the roster); {n_out} roster cities not in "
                                                  "the file"))
            else:
                rows.append(("roster comparison", "the file's cities are exactly the roster of these years"))
        rows += [("repairs", str(len(self.repairs))), ("warnings", str(len(self.warnings))),
                 ("errors", str(len(self.errors)))]
        return pd.DataFrame(rows, columns=["item", "value"])

    def roster_comparison(self) -> pd.DataFrame:
        """Cities of the file not on the reference roster of its years, and roster cities
        missing from the file (roster rule: data/README.md)."""
        from replication.data import facts

        cols = ["status", "city_code", "city_zh", "city_en", "years_in_file", "note"]
        p = self.panel
        if p is None or p.empty:
            return pd.DataFrame(columns=cols)
        a, b = int(p["year"].min()), int(p["year"].max())
        if not (2000 <= a < b <= 2024):
            return pd.DataFrame(columns=cols)
        roster = set(facts.roster((a, b))["city_code"].astype(int))
        ref = facts.cities().set_index("city_code")
        present = p.groupby("city_code")["year"].agg(lambda s: year_ranges(s))
        rows = []
        for code in sorted(set(present.index.astype(int)) - roster):
            r = ref.loc[code] if code in ref.index else None
            note = ""
            if r is not None:
                if int(r["city_from"]) > a:
                    note = f"a prefecture-level city from {int(r['city_from'])}"
                if int(r["city_to"]) < b:
                    note = f"a prefecture-level city until {int(r['city_to'])}"
                    if code == 371200:
                        note += " (merged into Jinan 370100 in 2019)"
                    elif code == 341400:
                        note += " (abolished 2011; split between Hefei, Wuhu and Ma'anshan)"
            rows.append((f"in the file, but not a prefecture-level city in every year {a}-{b}", code,
                         r["city_zh"] if r is not None else "", r["city_en"] if r is not None else "",
                         present.loc[code], note))
        for code in sorted(roster - set(present.index.astype(int))):
            r = ref.loc[code]
            rows.append((f"on the {a}-{b} roster, not in the file", code, r["city_zh"], r["city_en"], "", ""))
        out = pd.DataFrame(rows, columns=cols)
        out["city_code"] = out["city_code"].astype("int64")
        return out

    def unbalanced_cities(self) -> pd.DataFrame:
        """Cities present in fewer than all years of the panel, with the years they lack."""
        cols = ["city_code", "city_en", "first_year", "last_year", "n_years", "missing_years"]
        p = self.panel
        if p is None or p.empty:
            return pd.DataFrame(columns=cols)
        span = set(range(int(p["year"].min()), int(p["year"].max()) + 1))
        present_years = set(p["year"].astype(int))
        rows = []
        for code, g in p.groupby("city_code", sort=True):
            ys = set(g["year"].astype(int))
            if len(ys) < len(present_years):
                name = g["city_en"].iloc[0] if "city_en" in g else ""
                rows.append((int(code), "" if pd.isna(name) else str(name), min(ys), max(ys), len(ys),
                             year_ranges(sorted(span - ys))))
        return pd.DataFrame(rows, columns=cols).astype({"city_code": "int64", "first_year": "int64",
                                                         "last_year": "int64", "n_years": "int64"})

