"""The canonical analysis panel: one row per city-year, every column with its unit.

This module is the codebook in code.  ``data/README.md`` is written from the same
table (a test keeps the two in step), the validator checks files against it and
the simulator produces exactly these columns.

Each :class:`Column` says what the column is, its unit, its role in the analysis,
whether the default data has it from a real source or simulates it, the range of
values that are possible (``lower``/``upper``: outside them a value is an error), the
range that is plausible for a prefecture-level city 2000-2024 (``plausible_lower``/
``plausible_upper``: generous; outside it a value draws a warning), the unit slips that are
recognised (``slips``: a file whose values fit one gets an error naming the likely unit and
the ``scale:`` line that fixes it), and for the 15 NQP indicators their place in the
paper's Table 1 and their direction in the index.  The names a column is read under are
in :mod:`replication.data.aliases`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

KEY = ("city_code", "year")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    unit: str
    role: str  # id | fact | indicator | control | mediator | threshold | policy
    origin: str  # "real" or "simulated" in the default data; "derived" if computed from other columns
    kind: str = "float"  # int | float | str | bool01 | year
    lower: float | None = None
    upper: float | None = None
    required: bool = True
    paper: str = ""  # the paper's own name for it
    level1: str = ""  # Table 1 first level (indicators only)
    level2: str = ""  # Table 1 second level
    direction: int = 0  # +1 / -1 in the index (indicators only)
    note: str = ""
    plausible_lower: float | None = None
    plausible_upper: float | None = None
    # (factor, the unit a file may use by mistake): the file's values times factor are in this unit
    slips: tuple[tuple[float, str], ...] = field(default=())

    def plausible(self) -> str:
        if self.plausible_lower is None and self.plausible_upper is None:
            return ""
        lo = "" if self.plausible_lower is None else _num(self.plausible_lower)
        hi = "" if self.plausible_upper is None else _num(self.plausible_upper)
        return f"{lo} - {hi}"


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 10000:
        return f"{x:,.0f}"
    return f"{x:g}"


PERCENT_SLIP = ((0.01, "percent (0-100)"),)
SHARE_SLIP = ((100.0, "a share (0-1)"),)


_ind = dict(role="indicator", origin="simulated", kind="float", lower=0.0)

COLUMNS: tuple[Column, ...] = (
    # --- identifiers and real facts -------------------------------------------------------
    Column("city_code", "City code", "6-digit administrative code (GB/T 2260)", "id", "real", "int",
           100000, 999999, paper="city",
           note="or city names (Chinese or pinyin), 12-digit, 4-digit or former codes: resolved to the roster"),
    Column("year", "Year", "calendar year", "id", "real", "year", 2000, 2024,
           note="2000-2024, the span of the reference roster"),
    Column("city_zh", "City name (Chinese)", "text", "fact", "real", "str", required=False),
    Column("city_en", "City name (pinyin)", "text", "fact", "real", "str", required=False),
    Column("province_zh", "Province (Chinese)", "text", "fact", "real", "str", required=False),
    Column("province_en", "Province (pinyin)", "text", "fact", "real", "str", required=False),
    Column("region", "Region (three belts)", "east / central / west (11/8/12 provinces)", "fact", "real", "str",
           required=False, note="the paper's east/central/west split by province"),
    Column("region4", "Region (NBS four regions)", "east / central / west / northeast", "fact", "real", "str",
           required=False),
    Column("municipality", "Municipality", "1 = Beijing, Tianjin, Shanghai, Chongqing", "fact", "real", "bool01",
           0, 1, required=False),
    Column("urban_core_pop_2020", "Urban-core population 2020", "persons (7th census, 城区人口)", "fact", "real",
           "float", 0, None, required=False),
    Column("size_class", "City size class", "State Council 2014 standard (国发〔2014〕51号)", "fact", "real", "str",
           required=False),
    Column("large_city", "Large city", "1 = urban-core population >= 1 million", "fact", "real", "bool01", 0, 1,
           required=False),
    Column("lon", "Longitude", "degrees east (city seat)", "fact", "real", "float", 70, 140, required=False),
    Column("lat", "Latitude", "degrees north (city seat)", "fact", "real", "float", 15, 55, required=False),
    # --- policy -------------------------------------------------------------------------
    Column("pilot_year", "Smart-city pilot year", "first batch year (2012/2013/2014); empty if never",
           "policy", "simulated", "year", 2000, 2030, required=True,
           note="no open city-level list exists; the default data simulates the batches"),
    Column("broadband_year", "Broadband China year", "first demonstration batch (2014/2015/2016); empty if never",
           "policy", "real", "year", 2000, 2030, required=False),
    # --- the 15 indicators of Table 1 ---------------------------------------------------
    Column("emerging_emp", "Employees in emerging industries", "persons", paper="Number of Employees in Emerging Industries",
           level1="Laborers", level2="Number of Employees in Emerging Industries", direction=1,
           note="employees of listed strategic-emerging/future-industry firms, by registration city", **_ind),
    Column("avg_wage", "Average wage", "yuan per year", paper="Individual Ability of Employees",
           level1="Laborers", level2="Individual Ability of Employees", direction=1,
           note="average salary of on-the-job employees", **_ind),
    Column("college_students", "College students", "persons", paper="Educational Structure of Human Resources",
           level1="Laborers", level2="Educational Structure of Human Resources", direction=1,
           note="undergraduate and junior-college students in school", **_ind),
    Column("mobile_users", "Mobile phone users", "10,000 subscribers", paper="Infrastructure (mobile)",
           level1="Means of Labor", level2="Infrastructure", direction=1, **_ind),
    Column("internet_per100", "Internet users per 100 people", "subscribers per 100 persons",
           paper="Infrastructure (internet)", level1="Means of Labor", level2="Infrastructure", direction=1, **_ind),
    Column("robot_density", "Robot installation density", "robots per 10,000 employees",
           paper="Future Development", level1="Means of Labor", level2="Future Development", direction=1, **_ind),
    Column("patents", "Patent applications", "applications", paper="Scientific and Technological Innovation (patents)",
           level1="Means of Labor", level2="Scientific and Technological Innovation", direction=1, **_ind),
    Column("rd_fiscal_share", "R&D expenditure / fiscal expenditure", "share (0-1)",
           paper="Scientific and Technological Innovation (R&D)", level1="Means of Labor",
           level2="Scientific and Technological Innovation", direction=1, upper=1.0,
           **{k: v for k, v in _ind.items()}),
    Column("waste_harmless_rate", "Harmless treatment of domestic waste", "percent (0-100)",
           paper="Green Environmental Protection (waste)", level1="Means of Labor",
           level2="Green Environmental Protection", direction=1, upper=100.0, **_ind),
    Column("sewage_treatment_rate", "Centralised sewage treatment", "percent (0-100)",
           paper="Green Environmental Protection (sewage)", level1="Means of Labor",
           level2="Green Environmental Protection", direction=1, upper=100.0, **_ind),
    Column("solid_waste_use_rate", "Use of general industrial solid waste", "percent (0-100)",
           paper="Comprehensive utilization rate of general industrial solid waste", level1="Objects of Labor",
           level2="Green Environmental Protection", direction=1, upper=100.0, **_ind),
    Column("telecom_volume", "Telecommunications business volume", "10,000 yuan",
           paper="Total volume of telecommunications business", level1="Objects of Labor",
           level2="Industrial Development", direction=1, **_ind),
    Column("industry_va_share", "Industrial value added / GRP", "share (0-1)",
           paper="Ratio of industrial added value to GRP", level1="Objects of Labor",
           level2="Industrial Development", direction=1, upper=1.0,
           note="same definition as the control loi; the default data uses the same series", **_ind),
    Column("ai_firms", "Artificial-intelligence enterprises", "enterprises", paper="Number of AI enterprises",
           level1="Objects of Labor", level2="Data Elements", direction=1, **_ind),
    Column("data_use_index", "Utilisation of data elements", "index (0-100)", paper="Utilization level of data elements",
           level1="Objects of Labor", level2="Data Elements", direction=1, upper=100.0, **_ind),
    # --- controls -----------------------------------------------------------------------
    Column("pd", "Population density", "100 persons per km2", "control", "simulated", lower=0.0, paper="Pd"),
    Column("pergdp", "GDP per capita", "10,000 yuan per person", "control", "simulated", lower=0.0, paper="Pergdp"),
    Column("urb", "Urbanisation", "urban population / total population (0-1)", "control", "simulated",
           lower=0.0, upper=1.0, paper="Urb"),
    Column("gov", "Government intervention", "general fiscal expenditure / GDP (0-1)", "control", "simulated",
           lower=0.0, upper=1.5, paper="Gov"),
    Column("loi", "Industrialisation", "industrial value added / GDP (0-1)", "control", "simulated",
           lower=0.0, upper=1.0, paper="Loi"),
    # --- mediators and threshold variable -----------------------------------------------
    Column("hc", "Human capital", "college students / year-end population (0-1)", "mediator", "simulated",
           lower=0.0, upper=1.0, paper="Level of human capital"),
    Column("st", "Science and technology", "S&T expenditure, 100 million yuan", "mediator", "simulated",
           lower=0.0, paper="The level of science and technology"),
    Column("isu", "Industrial-structure upgrading", "tertiary VA / secondary VA (ratio)", "threshold",
           "simulated", lower=0.0, upper=50.0, paper="LQ"),
)

# Plausible ranges (codebook units) and recognised unit slips of the measured columns.  The
# ranges are generous: beyond anything a prefecture-level city reported 2000-2024, with
# margin; a whole column far outside its range but inside it after a slip's factor is a
# unit slip (an error naming the fix), single values outside it are warnings.
_PLAUSIBLE: dict[str, tuple[float, float, tuple[tuple[float, str], ...]]] = {
    "emerging_emp": (0, 3e6, ()),
    "avg_wage": (3000, 5e5, ((1e4, "10,000 yuan (万元)"),)),
    "college_students": (0, 3e6, ()),
    "mobile_users": (1, 8000, ((1e-4, "subscribers (户), not 10,000 subscribers"),)),
    "internet_per100": (0, 200, ()),
    "robot_density": (0, 5000, ()),
    "patents": (0, 1e7, ()),
    "rd_fiscal_share": (0, 0.5, PERCENT_SLIP),
    "waste_harmless_rate": (1, 100, SHARE_SLIP),
    "sewage_treatment_rate": (1, 100, SHARE_SLIP),
    "solid_waste_use_rate": (1, 100, SHARE_SLIP),
    "telecom_volume": (100, 1e8, ((1e4, "100 million yuan (亿元)"), (1e-4, "yuan (元)"))),
    "industry_va_share": (0.02, 0.9, PERCENT_SLIP),
    "ai_firms": (0, 5e5, ()),
    "data_use_index": (0, 100, ()),
    "pd": (0.01, 150, ((0.01, "persons per km2 (人/平方公里)"),)),
    "pergdp": (0.1, 100, ((1e-4, "yuan per person (元)"),)),
    "urb": (0.05, 1, PERCENT_SLIP),
    "gov": (0.02, 1.5, PERCENT_SLIP),
    "loi": (0.02, 0.9, PERCENT_SLIP),
    "hc": (0, 0.8, PERCENT_SLIP + ((1e-4, "students per 10,000 persons (人/万人)"),)),
    "st": (0, 1000, ((1e-4, "10,000 yuan (万元)"), (1e-8, "yuan (元)"))),
    "isu": (0.05, 15, PERCENT_SLIP),
}
COLUMNS = tuple(replace(c, plausible_lower=_PLAUSIBLE[c.name][0], plausible_upper=_PLAUSIBLE[c.name][1],
                        slips=_PLAUSIBLE[c.name][2]) if c.name in _PLAUSIBLE else c for c in COLUMNS)

BY_NAME = {c.name: c for c in COLUMNS}
INDICATORS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.role == "indicator")
CONTROLS: tuple[str, ...] = ("pd", "pergdp", "urb", "gov", "loi")
MEDIATORS: tuple[str, ...] = ("hc", "st")
THRESHOLD = "isu"
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
NUMERIC: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind in ("int", "float", "year", "bool01"))
# Columns the loader computes; a file may carry them but they are recomputed and checked.
DERIVED = {
    "treat": "1 if the city is ever a smart-city pilot in the panel",
    "did": "1 from the pilot year on (Treat x Post), else 0",
    "broadband": "1 from the Broadband China year on, else 0",
}

assert len(INDICATORS) == 15, "Table 1 has 15 indicators"


def codebook_rows() -> list[dict]:
    """The codebook as a list of dicts (for the README table and the book)."""
    rows = [
        {"column": c.name, "label": c.label, "unit": c.unit, "role": c.role,
         "default data": c.origin, "required": "yes" if c.required else "no",
         "index direction": {1: "+", -1: "-"}.get(c.direction, ""),
         "plausible": c.plausible(), "paper": c.paper, "note": c.note}
        for c in COLUMNS
    ]
    rows += [{"column": k, "label": k, "unit": "0/1", "role": "derived", "default data": "derived",
              "required": "no", "index direction": "", "plausible": "", "paper": "did" if k == "did" else "",
              "note": v} for k, v in DERIVED.items()]
    return rows


BEGIN, END = "<!-- codebook:begin (generated from replication/data/schema.py) -->", "<!-- codebook:end -->"


def _scale_text(f: float) -> str:
    return f"{f:g}" if f >= 1e-4 else f"{f:.0e}".replace("e-0", "e-")


def alias_rows() -> list[dict]:
    """The alias table and the recognised unit slips, one row per codebook column."""
    from replication.data.aliases import ALIASES

    rows = []
    for name in [c.name for c in COLUMNS] + list(DERIVED):
        c = BY_NAME.get(name)
        slips = "; ".join(f"{unit}: `scale: {{{name}: {_scale_text(f)}}}`" for f, unit in (c.slips if c else ()))
        rows.append({"column": name, "also read from": ", ".join(f"`{a}`" for a in ALIASES.get(name, ())),
                     "unit slips recognised (fix)": slips})
    return rows


def codebook_markdown() -> str:
    """The codebook tables in Markdown, as they stand in ``data/README.md``.

    Two tables of the columns, so that each fits the book's text column: what a column
    holds (label, unit, role: whether it is required, an indicator's direction in the
    index), then where the default data come from, its plausible range and the notes;
    then the accepted names and unit slips."""
    rows = codebook_rows()
    lines = ["**What each column holds** (role: *required* columns must be in every panel; *index +* or "
             "*index −*: an indicator's direction in the NQP index):", "",
             "| column | label | unit | role |", "|---|---|---|---|"]
    for r in rows:
        role = ", ".join(x for x in (r["role"], "required" if r["required"] == "yes" else "",
                                     f"index {r['index direction'].replace('-', '−')}" if r["index direction"] else "")
                         if x)
        lines.append(f"| `{r['column']}` | {r['label']} | {r['unit']} | {role} |")
    lines += ["", "**Where the default data come from, plausible ranges and notes:**", "",
              "| column | default data | plausible range | note |", "|---|---|---|---|"]
    for r in rows:
        note = "; ".join(x for x in (f"paper: {r['paper']}" if r["paper"] else "", r["note"]) if x)
        lines.append(f"| `{r['column']}` | {r['default data']} | {r['plausible']} | {note} |")
    from replication.data.aliases import n_aliases

    lines += ["", f"**Accepted column names** ({n_aliases()} aliases; matching ignores case, spaces, underscores, "
              "full-width characters, a unit in brackets and a 全市/市辖区 qualifier, see "
              "`replication/data/aliases.py`) and the **unit slips** the validator recognises:", "",
              "| column | also read from | unit slips recognised (fix) |", "|---|---|---|"]
    for r in alias_rows():
        lines.append(f"| `{r['column']}` | {r['also read from']} | {r['unit slips recognised (fix)']} |")
    return "\n".join([BEGIN, *lines, END])
