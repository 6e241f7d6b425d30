"""Tables: descriptive statistics, sample arithmetic, and CSV export next to the notebook.

Every table shown in the book is also written as CSV to ``outputs/<chapter>/`` under
the notebook's working directory (the runner executes notebooks inside
``book/chapters``, so the CSVs sit next to the executed notebook).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .data.schema import BY_NAME, CONTROLS, INDICATORS, MEDIATORS, THRESHOLD


def export(df: pd.DataFrame, name: str, chapter: str, *, index: bool = False) -> Path:
    """Write ``df`` to ``outputs/<chapter>/<name>.csv`` atomically; return the path.

    Floats are written with 10 significant digits so that two runs with the same
    parameters give byte-identical files.
    """
    out = Path(os.environ.get("REPLICATION_OUTPUT_DIR", "outputs")) / chapter
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.csv"
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=index, float_format="%.10g", lineterminator="\n")
    tmp.replace(path)
    return path


def descriptive_statistics(panel: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """N, mean, SD, min, median, max per variable, with its unit and origin."""
    cols = columns or list(INDICATORS) + list(CONTROLS) + list(MEDIATORS) + [THRESHOLD, "did", "broadband"]
    rows = []
    for c in cols:
        x = pd.to_numeric(panel[c], errors="coerce")
        spec = BY_NAME.get(c)
        rows.append({
            "variable": c,
            "label": spec.label if spec else c,
            "unit": spec.unit if spec else "0/1",
            "role": spec.role if spec else "treatment",
            "N": int(x.notna().sum()),
            "mean": x.mean(), "sd": x.std(), "min": x.min(), "median": x.median(), "max": x.max(),
        })
    return pd.DataFrame(rows)


def sample_arithmetic(panel: pd.DataFrame) -> pd.DataFrame:
    """How the panel's size arises, and the paper's sample sizes set against it."""
    cities = panel.drop_duplicates("city_code")
    n, T = len(cities), panel["year"].nunique()
    y0, y1 = int(panel["year"].min()), int(panel["year"].max())
    muni = int(cities["municipality"].fillna(0).sum()) if "municipality" in cities else 0
    rows = [
        ("cities", n, "balanced roster: city status at every year end of the panel"),
        ("years", T, f"{y0}-{y1}"),
        ("city-years (N)", len(panel), f"{n} x {T}"),
        ("paper: N in Tables 2 and 4", 3990, "= 285 x 14, i.e. 2009-2022 (the text says 2011-2022)"),
        ("paper: cities 2011-2022 (abstract)", 287, "287 x 12 = 3444, not 3990"),
        ("without the 4 municipalities", len(panel) - muni * T, f"({n} - {muni}) x {T}; the paper's Table 3 (1) has 3892 = 3990 - 98, i.e. 7 x 14 city-years fewer"),
    ]
    for r in ("east", "central", "west"):
        k = int((cities["region"] == r).sum())
        rows.append((f"{r} cities", k, f"N = {k * T}"))
    if "large_city" in cities:
        lg = int((cities["large_city"] == 1).sum())
        rows.append(("large cities (urban core >= 1 million)", lg, f"N = {lg * T}"))
        rows.append(("small and medium cities", n - lg, f"N = {(n - lg) * T}"))
    py = cities["pilot_year"].astype("Float64")
    for y in sorted(py.dropna().unique()):
        rows.append((f"pilot batch {int(y)}", int((py == y).fillna(False).sum()), "cities entering in that year"))
    rows.append(("never-treated cities", int(py.isna().sum()), "control group"))
    by = cities["broadband_year"].astype("Float64")
    for y in sorted(by.dropna().unique()):
        rows.append((f"Broadband China {int(y)}", int((by == y).fillna(False).sum()), "real list, first listing"))
    return pd.DataFrame(rows, columns=["quantity", "value", "how"])


def treatment_timing(panel: pd.DataFrame) -> pd.DataFrame:
    """Treated cities and city-years by pilot batch, with their share of the sample."""
    cities = panel.drop_duplicates("city_code")
    py = cities["pilot_year"].astype("Float64")
    out = []
    for y in [*sorted(py.dropna().unique()), np.nan]:
        sel = py.isna() if pd.isna(y) else (py == y).fillna(False)
        codes = cities.loc[sel.to_numpy(), "city_code"]
        sub = panel[panel["city_code"].isin(codes)]
        out.append({"batch": "never" if pd.isna(y) else str(int(y)), "cities": int(sel.sum()),
                    "treated city-years": int(sub["did"].sum()),
                    "east": int((cities.loc[sel.to_numpy(), "region"] == "east").sum()),
                    "central": int((cities.loc[sel.to_numpy(), "region"] == "central").sum()),
                    "west": int((cities.loc[sel.to_numpy(), "region"] == "west").sum()),
                    "large": int((cities.loc[sel.to_numpy(), "large_city"] == 1).sum())})
    return pd.DataFrame(out)


def balance_by_treatment(panel: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Pre-period means of the controls for future pilots vs never-treated (selection on observables)."""
    year = year or min(2011, int(panel["year"].max()))
    sub = panel[panel["year"] == year]
    g = sub.groupby("treat")[list(CONTROLS)].agg(["mean", "std"])
    rows = []
    for c in CONTROLS:
        mt, mc = g.loc[1, (c, "mean")], g.loc[0, (c, "mean")]
        st, sc = g.loc[1, (c, "std")], g.loc[0, (c, "std")]
        rows.append({"control": c, "label": BY_NAME[c].label, "pilots (mean)": mt, "never (mean)": mc,
                     "std. bias %": 100 * (mt - mc) / np.sqrt((st ** 2 + sc ** 2) / 2)})
    return pd.DataFrame(rows)
