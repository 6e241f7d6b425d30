"""A city-year panel as a replicator's yearbook file really arrives, made from the default panel.

Used by ``tests/test_real_data.py`` (the replicator's path end to end) and by hand:

    .venv/bin/python tests/data/make_yearbook_panel.py data/raw      # panel.csv, panel.xlsx, mapping.yaml

What makes it realistic (each is something the loader has to handle):

* the years 2011-2022 (the paper's text), on the 2011-2022 roster of 287 cities;
* unbalanced: Laiwu (merged into Jinan in 2019) is present 2011-2018 only, Danzhou
  (a prefecture-level city from 2015) enters in 2015, one city lacks its last year and
  another two interior years (the loader interpolates gaps of up to two years);
* a pilot list of its own: 110 treated cities in three batches, not the simulator's;
* Chinese column headers as in the China City Statistical Yearbook (read through the
  package's alias table), a row-number column ``序号``, no English facts columns;
* urbanisation, fiscal expenditure and industry shares in percent, declared by the
  mapping file (``scale: {urb: 0.01, ...}``);
* UTF-8 with a byte-order mark (Excel's "CSV UTF-8"), and the same data as .xlsx.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

# yearbook-style headers of the codebook columns (every one is in the alias table)
HEADERS = {
    "city_code": "行政区划代码", "city_zh": "城市", "year": "年份",
    "emerging_emp": "新兴产业从业人员数", "avg_wage": "职工平均工资", "college_students": "普通高等学校在校学生数",
    "mobile_users": "移动电话年末用户数", "internet_per100": "每百人互联网宽带接入用户数",
    "robot_density": "工业机器人安装密度", "patents": "专利申请数", "rd_fiscal_share": "科学技术支出占财政支出比重",
    "waste_harmless_rate": "生活垃圾无害化处理率", "sewage_treatment_rate": "污水处理厂集中处理率",
    "solid_waste_use_rate": "一般工业固体废物综合利用率", "telecom_volume": "电信业务总量",
    "industry_va_share": "工业增加值占GDP比重", "ai_firms": "人工智能企业数", "data_use_index": "数字普惠金融指数",
    "pd": "人口密度", "pergdp": "人均地区生产总值", "urb": "城镇化率", "gov": "一般公共预算支出占GDP比重",
    "loi": "第二产业增加值占GDP比重", "hc": "人力资本水平", "st": "科学技术支出", "isu": "产业结构高级化",
    "pilot_year": "智慧城市试点年份",
}
PERCENT = ("urb", "gov", "loi")  # written in percent; the mapping file declares the scale
LEAVER, ENTRANT = 371200, 460400  # Laiwu 2011-2018, Danzhou 2015-2022
LEAVER_TWIN, ENTRANT_TWIN = 370300, 460100  # their values are borrowed from Zibo and Haikou
MAPPING = """# Units of this file that differ from the codebook (data/README.md): percent, not shares.
scale:
  urb: 0.01
  gov: 0.01
  loi: 0.01
"""


def yearbook_panel(seed: int = 7) -> pd.DataFrame:
    """The canonical columns of the messy panel (before headers and units are changed)."""
    from replication.data import load_panel

    rng = np.random.default_rng(seed)
    base = load_panel(years=(2011, 2022))
    cols = [c for c in HEADERS if c in base.columns]
    p = base[cols].copy()
    leaver = p[(p["city_code"] == LEAVER_TWIN) & (p["year"] <= 2018)].assign(city_code=LEAVER, city_zh="莱芜市")
    entrant = p[(p["city_code"] == ENTRANT_TWIN) & (p["year"] >= 2015)].assign(city_code=ENTRANT, city_zh="儋州市")
    p = pd.concat([p, leaver, entrant], ignore_index=True)
    codes = np.sort(p["city_code"].unique())
    # a pilot list of its own: 110 cities in three batches
    treated = rng.choice(codes, 110, replace=False)
    batch = dict(zip(treated, np.repeat([2012, 2013, 2014], [40, 40, 30])))
    p["pilot_year"] = p["city_code"].map(batch).astype("Float64")
    others = [c for c in codes if c not in (LEAVER, ENTRANT)]
    last_missing, gap_city = rng.choice(others, 2, replace=False)
    p = p[~((p["city_code"] == last_missing) & (p["year"] == 2022))]
    p = p[~((p["city_code"] == gap_city) & p["year"].isin([2016, 2017]))]
    return p.sort_values(["city_code", "year"]).reset_index(drop=True)


def as_yearbook(p: pd.DataFrame) -> pd.DataFrame:
    """Percent units, Chinese headers and a row-number column, as the file arrives."""
    out = p.copy()
    for c in PERCENT:
        out[c] = out[c] * 100
    out = out.rename(columns=HEADERS)
    out.insert(0, "序号", np.arange(1, len(out) + 1))
    return out


def write(folder: str | Path, seed: int = 7) -> dict[str, Path]:
    """Write panel.csv (UTF-8 with BOM), panel.xlsx and mapping.yaml into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    yb = as_yearbook(yearbook_panel(seed))
    paths = {"csv": folder / "panel.csv", "xlsx": folder / "panel.xlsx", "mapping": folder / "mapping.yaml"}
    yb.to_csv(paths["csv"], index=False, encoding="utf-8-sig", float_format="%.8g")
    yb.to_excel(paths["xlsx"], index=False)
    paths["mapping"].write_text(MAPPING, encoding="utf-8")
    return paths


if __name__ == "__main__":
    for kind, path in write(sys.argv[1] if len(sys.argv) > 1 else "data/raw").items():
        print(f"wrote {kind}: {path}")
