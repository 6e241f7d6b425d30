"""The alias table: column headers as they arrive, mapped to the codebook's names.

A replicator's panel rarely uses the codebook's names.  Headers come from the China City
Statistical Yearbook (中国城市统计年鉴: ``人均地区生产总值(元)``, ``城镇化率(%)``), from a
colleague's Stata do-file (``pgdp``, ``urban``, ``ind2``) or from a database export.  The
table below is the documented list of names read as each codebook column; it is printed
in ``data/README.md`` (generated, ``python -m replication codebook --write``).

How a header is matched (:func:`normalise`): Unicode NFKC (full-width brackets, digits
and letters become ASCII), lower case, a trailing unit in brackets is split off and kept
for the messages (``人均地区生产总值(元)`` -> ``人均地区生产总值`` + unit ``元``), a scope
qualifier of the yearbook (``全市``, ``市辖区``) is dropped, and spaces, underscores,
hyphens and dots are removed (``City Code`` = ``city_code`` = ``citycode``).

What is never done: a logarithm is never read as a level (``lnpgdp`` is not ``pergdp``),
and a header is never renamed by guesswork.  A header that is not in the table stays
unused (the report lists it); the mapping file (``columns:``) maps anything else.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# codebook name -> headers read as it (besides the codebook name itself, in any case).
# Chinese headers follow the China City Statistical Yearbook and the provincial yearbooks;
# the short Latin ones are common in Stata do-files of this literature.
ALIASES: dict[str, tuple[str, ...]] = {
    # identifiers and facts
    "city_code": ("城市代码", "行政区划代码", "区划代码", "城市编码", "城市编号", "地区代码", "代码", "adcode",
                  "code", "citycode", "city_id", "cityid", "id", "id_city", "areacode", "prefcode"),
    "year": ("年份", "年度", "年", "统计年度", "yr", "t", "time", "yyyy"),
    "city_zh": ("城市", "城市名称", "城市名", "地级市", "地级市名称", "市", "所在城市", "城市中文名"),
    "city_en": ("city", "cityname", "city_name", "name", "prefecture", "city_pinyin"),
    "province_zh": ("省份", "省", "所属省份", "省份名称", "省名", "所在省份"),
    "province_en": ("province", "prov", "provname", "province_name"),
    "region": ("区域", "东中西部", "三大地带", "地带"),
    "municipality": ("直辖市",),
    "lon": ("经度", "longitude", "lng"),
    "lat": ("纬度", "latitude"),
    # policy
    "pilot_year": ("智慧城市试点年份", "智慧城市试点时间", "智慧城市试点批次年份", "试点年份", "试点时间", "试点年",
                   "政策年份", "pilot", "pilotyear", "smart_year", "smartcity_year", "treat_year", "treatyear",
                   "policy_year", "first_treat", "firsttreat", "gvar"),
    "broadband_year": ("宽带中国试点年份", "宽带中国年份", "宽带中国示范年份", "bb_year", "broadbandyear"),
    # the 15 indicators of Table 1
    "emerging_emp": ("新兴产业从业人员数", "新兴产业从业人数", "新兴产业就业人数", "战略性新兴产业从业人数",
                     "战略性新兴产业从业人员", "emerging", "emp_emerging", "emerging_employment"),
    "avg_wage": ("职工平均工资", "在岗职工平均工资", "城镇非私营单位在岗职工平均工资", "职工平均货币工资", "平均工资",
                 "wage", "avgwage", "mean_wage", "aw"),
    "college_students": ("普通高等学校在校学生数", "普通高校在校学生数", "高等学校在校学生数", "普通本专科在校学生数",
                         "高校在校生数", "在校大学生数", "college", "students", "stu", "univ_students"),
    "mobile_users": ("移动电话年末用户数", "年末移动电话用户数", "移动电话用户数", "移动电话用户", "mobile",
                     "mobile_phone", "mobilephone"),
    "internet_per100": ("每百人互联网宽带接入用户数", "每百人互联网用户数", "百人互联网用户数", "互联网普及率",
                        "internet", "internet_users_per100", "net_per100"),
    "robot_density": ("工业机器人安装密度", "机器人安装密度", "工业机器人密度", "机器人密度", "robot", "robots",
                      "robotdensity"),
    "patents": ("专利申请数", "专利申请量", "专利申请受理量", "专利申请受理数", "专利授权数", "专利授权量",
                "patent", "patent_app", "patentapp", "patents_applied"),
    "rd_fiscal_share": ("科学技术支出占财政支出比重", "科技支出占财政支出比重", "科学技术支出占一般公共预算支出比重",
                        "研发支出占财政支出比重", "科技支出占比", "rd_share", "rdshare", "rd"),
    "waste_harmless_rate": ("生活垃圾无害化处理率", "垃圾无害化处理率", "waste", "waste_rate", "harmless",
                            "garbage"),
    "sewage_treatment_rate": ("污水处理厂集中处理率", "污水集中处理率", "城市污水处理率", "污水处理率", "sewage",
                              "sewage_rate"),
    "solid_waste_use_rate": ("一般工业固体废物综合利用率", "工业固体废物综合利用率", "固体废物综合利用率",
                             "solid_waste", "solidwaste", "swu"),
    "telecom_volume": ("电信业务总量", "电信业务量", "telecom", "telecom_vol", "tele"),
    "industry_va_share": ("工业增加值占GDP比重", "工业增加值占地区生产总值比重", "工业增加值占GRP比重", "ind_va",
                          "industry_share", "indva"),
    "ai_firms": ("人工智能企业数", "人工智能企业数量", "人工智能企业", "ai", "aifirms", "ai_firm"),
    "data_use_index": ("数据要素利用水平", "数据要素利用指数", "数字普惠金融指数", "data_use", "datause",
                       "data_index"),
    # controls
    "pd": ("人口密度", "density", "popden", "pop_density", "popdensity", "dens"),
    "pergdp": ("人均地区生产总值", "人均GDP", "人均生产总值", "人均国内生产总值", "pgdp", "gdppc", "gdp_pc",
               "pcgdp", "rgdppc"),
    "urb": ("城镇化率", "城镇化水平", "城市化率", "城市化水平", "常住人口城镇化率", "urban", "urbanization",
            "urbanisation", "urban_rate", "urbrate", "urbanrate"),
    "gov": ("一般公共预算支出占GDP比重", "财政支出占GDP比重", "地方财政一般预算内支出占GDP比重",
            "一般公共预算支出占地区生产总值比重", "政府干预", "政府干预程度", "fiscal", "govexp", "gov_exp",
            "government"),
    "loi": ("第二产业增加值占GDP比重", "第二产业占GDP比重", "第二产业增加值占地区生产总值比重", "工业化水平",
            "工业化程度", "ind2", "ind", "indus", "industry", "industrialisation", "industrialization",
            "secondary"),
    # mediators and threshold variable
    "hc": ("人力资本", "人力资本水平", "每万人普通高等学校在校学生数", "每万人在校大学生数", "human_capital",
           "humancapital", "edu"),
    "st": ("科学技术支出", "科技支出", "地方财政科学技术支出", "财政科技支出", "科学技术水平", "tech", "sci",
           "sci_exp", "science", "techexp"),
    "isu": ("产业结构高级化", "产业结构升级", "产业结构高级化指数", "第三产业增加值与第二产业增加值之比",
            "第三产业与第二产业增加值之比", "ais", "indup", "ind_upgrade", "upgrade", "industrial_upgrading",
            "ts_ratio"),
    # derived columns a file may carry (checked against pilot_year, never trusted over it)
    "did": ("smartcity", "smart_city", "treat_post", "treatpost", "treatxpost", "post_treat", "智慧城市试点",
            "智慧城市", "政策虚拟变量", "试点政策"),
    "treat": ("treated", "treatment", "处理组", "试点城市", "是否试点城市"),
    "broadband": ("宽带中国", "宽带中国试点", "broadband_did"),
}

# Notes printed when a header is read through an alias that is a near, not an exact, concept.
ALIAS_NOTES: dict[str, str] = {
    "专利授权数": "patents granted, read as the patents indicator (the codebook's are applications); say so in "
                 "your write-up",
    "专利授权量": "patents granted, read as the patents indicator (the codebook's are applications); say so in "
                 "your write-up",
    "数字普惠金融指数": "the digital financial inclusion index, read as the data-use indicator (a proxy); say so in "
                    "your write-up",
    "第二产业增加值占gdp比重": "the secondary-industry share of GDP, read as industrialisation (loi)",
    "第二产业占gdp比重": "the secondary-industry share of GDP, read as industrialisation (loi)",
    "第二产业增加值占地区生产总值比重": "the secondary-industry share of GDP, read as industrialisation (loi)",
    "每万人普通高等学校在校学生数": "students per 10,000 persons: declare scale {hc: 0.0001} to get the codebook's share",
    "每万人在校大学生数": "students per 10,000 persons: declare scale {hc: 0.0001} to get the codebook's share",
}

# Headers of a row-number column (an Excel or pandas index written into the file): always
# dropped; the weaker ones only when the column holds a running number 0..n-1 or 1..n.
ROW_NUMBER_HEADERS = ("", "序号", "序列号", "行号")
WEAK_ROW_NUMBER_HEADERS = ("编号", "index", "rownum", "row", "rowid", "obs", "n", "no", "#", "v1", "x")

SCOPE_WORDS = ("全市", "市辖区", "全市口径", "市区")
_UNIT = re.compile(r"^(?P<name>.*?)[\(\[（【](?P<unit>[^\)\]）】]*)[\)\]）】]\s*$")
_SEP = re.compile(r"[\s_\-\.·]+")
_LOG = re.compile(r"^(?:ln|log|lg)(?P<rest>.+)$|^(?P<rest2>.+?)(?:ln|log|对数)$|^对数(?P<rest3>.+)$")


def normalise(header) -> tuple[str, str]:
    """(matching key, unit written in the header) of a column header; see the module docstring."""
    return _normalise(str(header))


@lru_cache(maxsize=4096)
def _normalise(header: str) -> tuple[str, str]:
    h = unicodedata.normalize("NFKC", str(header)).strip().strip('"').strip("'").strip()
    unit = ""
    for _ in range(3):  # 人均地区生产总值(元)_全市: a unit and a scope qualifier, in either order
        before = h
        for w in SCOPE_WORDS:
            for sep in ("_", "-", ":", ""):
                if h.endswith(sep + w) and len(h) > len(sep + w):
                    h = h[: -len(sep + w)].strip()
                    break
        m = _UNIT.match(h)
        if m:
            inner = m.group("unit").strip()
            if inner not in SCOPE_WORDS:
                unit = unit or inner
            h = m.group("name").strip()
        if h == before:
            break
    key = _SEP.sub("", h.lower())
    return key, unit


def _build_lookup() -> dict[str, str]:
    from replication.data.schema import BY_NAME, DERIVED

    lookup: dict[str, str] = {}
    for name in list(BY_NAME) + list(DERIVED):
        lookup[normalise(name)[0]] = name
    for target, names in ALIASES.items():
        for a in names:
            key = normalise(a)[0]
            if key in lookup and lookup[key] != target:
                raise AssertionError(f"alias {a!r} is ambiguous: {lookup[key]} and {target}")
            lookup[key] = target
    return lookup


LOOKUP: dict[str, str] = {}


def lookup() -> dict[str, str]:
    """normalised header -> codebook name (codebook names themselves included)."""
    if not LOOKUP:
        LOOKUP.update(_build_lookup())
    return LOOKUP


def target_of(header) -> str | None:
    """The codebook column a header is read as, or None."""
    return lookup().get(normalise(header)[0])


def log_of(header) -> str | None:
    """The codebook column of which ``header`` looks like a logarithm (``lnpgdp`` -> ``pergdp``), or None."""
    key = normalise(header)[0]
    if key in lookup():
        return None
    m = _LOG.match(key)
    if not m:
        return None
    rest = m.group("rest") or m.group("rest2") or m.group("rest3")
    return lookup().get(_SEP.sub("", rest)) if rest else None


def row_number_header(header) -> str:
    """"strong" for a header that is always a row number (empty, ``Unnamed: 0``, ``序号``),
    "weak" for one that is a row number if its values are, else ""."""
    key = normalise(header)[0]
    if key in ROW_NUMBER_HEADERS or key.startswith("unnamed"):
        return "strong"
    return "weak" if key in WEAK_ROW_NUMBER_HEADERS else ""


def alias_note(header) -> str:
    return ALIAS_NOTES.get(normalise(header)[0], "")


def n_aliases() -> int:
    return sum(len(v) for v in ALIASES.values())
