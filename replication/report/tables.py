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

from replication.data.schema import BY_NAME, CONTROLS, INDICATORS, MEDIATORS, THRESHOLD
from replication.estimators.did import stars
from replication.report import paper


def _is_truth_column(name) -> bool:
    return "truth" in str(name).lower()


def drop_empty_truth(df: pd.DataFrame) -> pd.DataFrame:
    """Drop columns about the truth that hold no value (a user's panel has no truth)."""
    empty = [c for c in df.columns if _is_truth_column(c)
             and df[c].map(lambda v: (pd.api.types.is_scalar(v) and pd.isna(v)) or (isinstance(v, str) and not v)).all()]
    return df.drop(columns=empty) if empty else df


def export(df: pd.DataFrame, name: str, chapter: str, *, index: bool = False) -> Path:
    """Write ``df`` to ``outputs/<chapter>/<name>.csv`` atomically; return the path.

    Floats are written with 10 significant digits so that two runs with the same
    parameters give byte-identical files.
    """
    out = Path(os.environ.get("REPLICATION_OUTPUT_DIR", "outputs")) / chapter
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.csv"
    tmp = path.with_name(path.name + ".tmp")
    df = drop_empty_truth(df)
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
    """How the panel's size arises, and the paper's sample sizes set against it.

    City-year counts are counted in the panel itself (so they hold for an unbalanced
    panel too); the "how" column says whether they equal cities x years."""
    cities = panel.drop_duplicates("city_code")
    n, T = len(cities), panel["year"].nunique()
    y0, y1 = int(panel["year"].min()), int(panel["year"].max())
    per_city = panel.groupby("city_code")["year"].nunique()
    short = int((per_city < T).sum())
    balanced = short == 0

    def rows_of(mask_cities) -> int:
        return int(panel["city_code"].isin(cities.loc[mask_cities, "city_code"]).sum())

    def flag(col: str, value) -> np.ndarray:
        """Boolean mask of cities whose ``col`` equals ``value`` (missing facts are False)."""
        if col not in cities:
            return np.zeros(n, bool)
        return cities[col].eq(value).fillna(False).to_numpy(dtype=bool)

    muni_mask = flag("municipality", 1)
    muni = int(muni_mask.sum())
    rows = [
        ("cities", n, "every city in every year (balanced)" if balanced
         else f"unbalanced: {short} cities lack some years"),
        ("years", T, f"{y0}-{y1}"),
        ("city-years (N)", len(panel), f"{n} x {T}" if balanced else f"fewer than {n} x {T} = {n * T}"),
        ("paper: N in Tables 2 and 4", 3990, "= 285 x 14, i.e. 2009-2022 (the text says 2011-2022)"),
        ("paper: cities 2011-2022 (abstract)", 287, "287 x 12 = 3444, not 3990"),
        ("without the 4 municipalities", len(panel) - rows_of(muni_mask),
         f"{n - muni} cities; the paper's Table 3 (1) has 3892 = 3990 - 98, i.e. 7 x 14 city-years fewer"),
    ]
    for r in ("east", "central", "west"):
        m = flag("region", r)
        rows.append((f"{r} cities", int(m.sum()), f"N = {rows_of(m)}"))
    if "large_city" in cities:
        lg, sm = flag("large_city", 1), flag("large_city", 0)
        rows.append(("large cities (urban core >= 1 million)", int(lg.sum()), f"N = {rows_of(lg)}"))
        rows.append(("small and medium cities", int(sm.sum()), f"N = {rows_of(sm)}"))
        if (~lg & ~sm).any():
            rows.append(("cities without a census size", int((~lg & ~sm).sum()), "in neither size group"))
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
    """Means of the controls for future pilots vs never-treated in a pre-period year
    (selection on observables): by default the last year before the first pilot batch
    (the first panel year if there is none)."""
    if year is None:
        years = np.sort(panel["year"].unique())
        first = pd.to_numeric(panel.loc[panel["treat"] == 1, "pilot_year"], errors="coerce").min()
        pre = years[years < first] if pd.notna(first) else years[:0]
        year = int(pre[-1]) if len(pre) else int(years[0])
    sub = panel[panel["year"] == year]
    if sub["treat"].nunique() < 2:
        return pd.DataFrame(columns=["control", "label", "pilots (mean)", "never (mean)", "std. bias %"])
    g = sub.groupby("treat")[list(CONTROLS)].agg(["mean", "std"])
    rows = []
    for c in CONTROLS:
        mt, mc = g.loc[1, (c, "mean")], g.loc[0, (c, "mean")]
        st, sc = g.loc[1, (c, "std")], g.loc[0, (c, "std")]
        rows.append({"control": c, "label": BY_NAME[c].label, "pilots (mean)": mt, "never (mean)": mc,
                     "std. bias %": 100 * (mt - mc) / np.sqrt((st ** 2 + sc ** 2) / 2)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# regression tables in the paper's layout, and the paper beside ours

ROW_LABELS = {"did": "did", "pd": "Pd", "pergdp": "Pergdp", "urb": "Urb", "gov": "Gov", "loi": "Loi",
              "_cons": "_cons", "broadband": "Broadband China", "hc": "Level of human capital",
              "st": "The level of science and technology"}


def cell(coef: float, t: float, p: float, digits: int = 3) -> str:
    """``0.184*** (2.911)``: coefficient with stars and the t value in parentheses."""

    if coef is None or not np.isfinite(coef):
        return ""
    return f"{coef:.{digits}f}{stars(p)} ({t:.{digits}f})"


def regression_table(results: dict, rows=None, *, digits: int = 3) -> pd.DataFrame:
    """Our results in the paper's layout: one cell per coefficient, FE rows, N, R2, F."""
    rows = rows or [r for r in ["did", "broadband", *CONTROLS, "hc", "st", "_cons"]
                    if any(r in res.params.index for res in results.values())]
    out = {}
    for col, res in results.items():
        c = {}
        for r in rows:
            c[ROW_LABELS.get(r, r)] = cell(res.params[r], res.tstats[r], res.pvalues[r], digits) \
                if r in res.params.index else ""
        c["Time FE"] = "YES" if res.spec.get("time_effects") else "NO"
        c["City FE"] = "YES" if res.spec.get("entity_effects") else "NO"
        c["N"] = f"{res.nobs}"
        c["R2"] = f"{res.r2:.3f}"
        c["F"] = f"{res.fstat:.3f}"
        out[col] = c
    return pd.DataFrame(out)


def paper_table(n: int, columns=None) -> pd.DataFrame:
    """The paper's table as printed, in the same layout (and row order) as
    :func:`regression_table`."""

    t = paper.table(n)
    spec = paper.columns(n)
    cols = columns or list(dict.fromkeys(t["column"]))
    coef_rows = [r for r in ["did", "broadband", *CONTROLS, "hc", "st", "_cons"] if r in set(t["row"])]
    coef_rows += [r for r in dict.fromkeys(t["row"]) if r not in coef_rows and r not in ("N", "R2", "F")]
    out = {}
    for col in cols:
        sub = t[t["column"] == col].set_index("row")["printed"]
        c = {ROW_LABELS.get(r, r): sub.get(r, "") for r in coef_rows}
        s = spec.get(col, {})
        if "time_fe" in s:
            c["Time FE"] = "YES" if s["time_fe"] else "NO"
            c["City FE"] = "YES" if s["city_fe"] else "NO"
        for stat in ("N", "R2", "F"):
            if stat in sub.index:
                c[stat] = sub[stat]
        out[col] = c
    return pd.DataFrame(out)


def paper_vs_ours(n: int, results: dict, rows=("did",), truth: dict | None = None) -> pd.DataFrame:
    """One row per (column, coefficient): the paper's number, ours, and whether they agree
    in sign and in significance level; with ``truth`` (column -> true value of the ``did``
    coefficient), the truth and whether our 95 % CI covers it."""

    t = paper.table(n)
    out = []
    for col, res in results.items():
        for r in rows:
            hit = t[(t["column"] == col) & (t["row"] == r)]
            pe = hit.iloc[0] if len(hit) else None
            ci = res.conf_int().loc[r] if r in res.params.index else None
            rec = {
                "column": col, "coefficient": r,
                "paper": pe["printed"] if pe is not None else "",
                "ours": cell(res.params[r], res.tstats[r], res.pvalues[r]) if r in res.params.index else "",
                "ours 95% CI": f"[{ci['lower']:.3f}, {ci['upper']:.3f}]" if ci is not None else "",
                "same sign": (bool(np.sign(pe["estimate"]) == np.sign(res.params[r]))
                              if pe is not None and r in res.params.index else None),
                "same stars": (bool(int(pe["stars"]) == len(stars(res.pvalues[r])))
                               if pe is not None and r in res.params.index else None),
            }
            if truth is not None and col in truth and r == "did":
                rec["truth"] = truth[col]
                rec["CI covers truth"] = bool(ci["lower"] <= truth[col] <= ci["upper"]) if ci is not None else None
            out.append(rec)
    return pd.DataFrame(out)


def weights_table(idx, paper_weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 1: levels, indicator, direction, the paper's weight and ours."""
    t = idx.table()
    if paper_weights is not None:
        t = t.merge(paper_weights[["indicator", "weight"]].rename(columns={"weight": "paper weight"}),
                    on="indicator", how="left")
    t = t.rename(columns={"weight": "our weight"})
    cols = ["first_level", "second_level", "label", "indicator", "direction", "paper weight", "our weight",
            "entropy"]
    return t[[c for c in cols if c in t.columns]]


# --- Tables 5 and 6: the Hansen threshold model (replication.estimators.threshold) ---
def table5(result) -> pd.DataFrame:
    """Table 5 layout: F, bootstrap p and critical values per number of thresholds, with
    the paper's F and p beside ours."""

    rep = paper.table5().set_index("thresholds")
    names = {1: "single", 2: "double", 3: "triple"}
    out = result.tests.copy()
    out.insert(0, "test", out["thresholds"].map(lambda k: f"{names[k]} threshold"))
    out["paper F"] = out["thresholds"].map(lambda k: rep.loc[names[k], "F"])
    out["paper p"] = out["thresholds"].map(lambda k: rep.loc[names[k], "p"])
    return out[["test", "estimates", "F", "p_value", "crit_10", "crit_5", "crit_1", "n_boot", "paper F",
                "paper p", "RSS", "MSE"]]


def table6(result, k: int = 2, truth: dict | None = None) -> pd.DataFrame:
    """Table 6 layout: the regime slopes of ``regime_x`` with t values, the paper's cells,
    and (on the default data) the true average effect in each regime."""

    coef = result.coefficients(k).set_index("term")
    g = result.estimates(k)
    edges = ["-inf", *[f"{v:.4f}" for v in g], "inf"]
    rep = paper.table(6).set_index("row")["printed"]
    rows = []
    x = result.spec["regime_x"]
    for j in range(k + 1):
        r = coef.loc[f"{x}_regime_{j + 1}"]
        rows.append({"regime": f"{edges[j]} < q <= {edges[j + 1]}" if j < k else f"q > {edges[j]}",
                     "ours": cell(r["coef"], r["t"], r["p"]), "ours 95% CI": f"[{r['ci_lower']:.3f}, {r['ci_upper']:.3f}]",
                     "paper": rep.get(f"regime_{j + 1}", ""),
                     "truth": (truth or {}).get(f"att_regime_{j}", np.nan)})
    r = coef.loc["_cons"]
    rows.append({"regime": "_cons", "ours": cell(r["coef"], r["t"], r["p"]), "ours 95% CI": "",
                 "paper": rep.get("_cons", ""), "truth": np.nan})
    return pd.DataFrame(rows)
