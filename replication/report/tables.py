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


def export_text(text: str, name: str, chapter: str) -> Path:
    """Write ``text`` to ``outputs/<chapter>/<name>`` atomically (e.g. ``findings.md``, which a
    page of the book includes); return the path."""
    out = Path(os.environ.get("REPLICATION_OUTPUT_DIR", "outputs")) / chapter
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
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


# ---------------------------------------------------------------------------------------
# the chapters' result tables (chapters 2-5, 7), from the protocol objects; columns as shown

def long_table(results: dict) -> pd.DataFrame:
    """Every column's ``tidy()`` rows with N, R2 (LSDV and within) and F: a table in long form."""
    return pd.concat({c: r.tidy().assign(N=r.nobs, r2=r.r2, r2_within=r.r2_within, F=r.fstat)
                      for c, r in results.items()}, names=["column"]).reset_index(level=0)


def _row(r, term: str) -> dict:
    ci = r.conf_int().loc[term]
    return {"coef": float(r.params[term]), "se": float(r.std_errors[term]), "t": float(r.tstats[term]),
            "p": float(r.pvalues[term]), "ci_lower": float(ci["lower"]), "ci_upper": float(ci["upper"])}


def specification_rows(results: dict, term: str = "did", truth: float | None = None) -> pd.DataFrame:
    """One row per specification: estimate, 95 % CI, N, cluster, and the truth when known."""
    return pd.DataFrame([{"label": label, **_row(r, term), "N": r.nobs, "cluster": r.spec.get("cluster"),
                          "truth": truth} for label, r in results.items()])


def did_by_index(fits: dict, indices: pd.DataFrame, term: str = "did") -> pd.DataFrame:
    """The DID with each index as outcome, also in standard deviations of that index."""
    return pd.DataFrame([{"index": name, **_row(r, term), "effect in SD of the index": r[term] / indices[name].std()}
                         for name, r in fits.items()])


def placebo_summary(pl) -> pd.DataFrame:
    """Figure 1's numbers: the real estimate, the placebo distribution, the randomisation p."""
    d = pl.draws
    return pd.DataFrame({
        "quantity": ["real estimate", "placebo mean", "placebo SD", "share of placebo p < 0.1",
                     "share |placebo| >= |real|", "randomisation p-value", "draws", "scheme"],
        "value": [pl.statistic, d["estimate"].mean(), d["estimate"].std(), (d["p_value"] < 0.1).mean(),
                  (d["estimate"].abs() >= abs(pl.statistic)).mean(), pl.pvalue, pl.n_draws, pl.scheme]})


def matching_summary(m) -> dict:
    """Chapter 4: a matching (:class:`replication.estimators.psm.MatchResult`) in numbers: mean
    % reduction of |bias| and largest |% bias| after matching, treated rows off the support,
    treated rows matched and distinct control rows used."""
    after, d = m.balance[m.balance["sample"] == "matched"], m.data
    tr, used = d[m.spec["treat"]] == 1, d["_weight"].notna()
    return {"reduction": float(after["% reduction |bias|"].mean()), "max_bias": float(after["% bias"].abs().max()),
            "off_support": int((tr & (d["_support"] == 0)).sum()), "treated_matched": int((tr & used).sum()),
            "controls_used": int((~tr & used).sum())}


def mediation_paths(med: dict, truth: dict | None = None) -> pd.DataFrame:
    """Paths a and b with their 95 % CIs and the indirect effect with its bootstrap interval;
    with ``truth`` (the simulator's) the true values and whether the intervals cover them."""
    truth = truth or {}
    rows = []
    for m, r in med.items():
        ci = r.conf_int()
        boot = (r.bootstrap.conf_int().iloc[0] if r.bootstrap is not None
                else pd.Series({"lower": np.nan, "upper": np.nan}))
        for path, label, lo_hi in (("a", "a: did -> mediator", ci.loc["a"]), ("b", "b: mediator -> index", ci.loc["b"]),
                                   ("indirect", "indirect a*b (bootstrap CI)", boot)):
            rows.append({"mediator": m, "path": label, "estimate": float(r.params[path]), "ci_lower": lo_hi["lower"],
                         "ci_upper": lo_hi["upper"], "truth": truth.get(f"{path}_{m}")})
    out = pd.DataFrame(rows)
    if truth:
        out["covered"] = (out["ci_lower"] <= out["truth"]) & (out["truth"] <= out["ci_upper"])
    return out


def indirect_effects(med: dict) -> pd.DataFrame:
    """One row per mediator: the paths, the Sobel test, the bootstrap interval, the proportion."""
    rows = []
    for m, r in med.items():
        lo, hi = r.bootstrap.conf_int().iloc[0] if r.bootstrap is not None else (np.nan, np.nan)
        rows.append({"mediator": m, "a (did -> M)": r.a, "b (M -> index)": r.b, "c (total)": r.c,
                     "c' (direct)": r.c_prime, "indirect a*b": r.indirect, "Sobel SE": r.std_errors["indirect"],
                     "Sobel z": r.sobel.statistic, "Sobel p": r.sobel.pvalue, "bootstrap 95% CI low": lo,
                     "bootstrap 95% CI high": hi, "proportion mediated": r.proportion})
    return pd.DataFrame(rows)


def subgroup_table(t7: dict, truth: dict | None = None) -> pd.DataFrame:
    """Table 7's groups, one row each (estimated or not), per split: N, cities, treated
    cities, estimate, SE, t, p, 95 % CI, note and (with the simulator's ``truth``) the truth."""
    parts = []
    for split, res in t7.items():
        t = res.table().rename(columns={"nobs": "N", "entities": "cities", "treated_entities": "treated cities",
                                        "estimate": "coef", "std_error": "se", "statistic": "t", "p_value": "p",
                                        "conf_low": "ci_lower", "conf_high": "ci_upper"})
        t = t[["group", "N", "cities", "treated cities", "coef", "se", "t", "p", "ci_lower", "ci_upper", "note"]]
        if truth is not None:
            t["truth"] = [truth.get(f"att_{split}_{g}", np.nan) for g in t["group"]]
        t.insert(0, "split", split)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def difference_tests(tests: dict) -> pd.DataFrame:
    """Chapter 7's tests per split: the Wald F of equal effects and the randomisation test of a gap."""
    return pd.DataFrame([{"split": by, "Wald F (equal effects)": w.statistic, "df": f"{w.df[0]}, {w.df[1]}",
                          "Wald p": w.pvalue, "gap": f"{g.pair[0]} - {g.pair[1]}", "gap estimate": g.statistic,
                          "randomisation p": g.pvalue} for by, (w, g) in tests.items()])
