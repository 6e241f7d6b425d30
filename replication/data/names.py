"""Identifying cities: 6-digit codes, 12-digit and 4-digit codes, former codes, and names.

A replicator's panel may key cities by the GB/T 2260 6-digit code (the codebook's
``city_code``), by the 12-digit statistical code (``320500000000``), by the NBS 4-digit
code (``3205``), by a code the city had before it became a prefecture-level city (Bijie
``522400`` until 2010, see ``replication/data/reference/city_history.csv``), or by name: Chinese with or
without 市 (``苏州``, ``苏州市``, ``江苏省苏州市``, ``苏州(江苏)``), former names (``襄樊``) or
pinyin (``Suzhou, Jiangsu``, ``Xi'an``, ``Lvliang``).  :class:`CityResolver` turns each into
the roster's 6-digit code, or says why it cannot (unknown, or ambiguous without the province).

Codes of cities that were abolished (Chaohu 341400, Laiwu 371200) are valid codes of their
own years: they are kept, never folded into another city.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

from replication._paths import REFERENCE_DIR
from replication.data import facts

_PROV_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$")
_ZH_SUFFIX = re.compile(r"(市辖区|全市|市区|地区|盟|市)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_NOISE = {"shi", "city", "prefecture", "diqu", "meng", "municipality", "province", "sheng"}
# Other spellings in use: postal romanisations, plain pinyin of the conventional names, and
# the Tibetan/Uyghur forms of names whose city_en is pinyin.
CONVENTIONAL = {"peking": 110100, "tientsin": 120100, "canton": 440100, "amoy": 350200, "sian": 610100,
                "huhehaote": 150100, "wulumuqi": 650100, "kelamayi": 650200, "eerduosi": 150600,
                "bayannaoer": 150800, "wulanchabu": 150900, "hulunbeier": 150700, "lasa": 540100,
                "haerbin": 230100, "qiqihaer": 230200, "shigatse": 540200, "xigaze": 540200, "qamdo": 540300,
                "chamdo": 540300, "nyingchi": 540400, "lhoka": 540500, "nagqu": 540600, "turpan": 650400,
                "kumul": 650500}


@lru_cache(maxsize=None)
def history() -> pd.DataFrame:
    """Former codes and names of roster cities (``city_history.csv`` in the package's reference tables)."""
    df = pd.read_csv(REFERENCE_DIR / "city_history.csv", dtype={"former_code": "Int64"})
    return df


def zh_key(name: str) -> str:
    s = unicodedata.normalize("NFKC", str(name))
    s = re.sub(r"\s+", "", s)
    for _ in range(2):  # 苏州市市辖区 -> 苏州市 -> 苏州
        t = _ZH_SUFFIX.sub("", s)
        if t:
            s = t
    return s


def en_key(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name).lower().replace("ü", "u").replace("v", "u"))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    words = [w for w in re.split(r"[^a-z]+", s) if w and w not in _LATIN_NOISE]
    return "".join(words)


@lru_cache(maxsize=None)
def _tables() -> dict:
    c = facts.cities()
    t: dict = {"ref": c.set_index("city_code"), "codes": frozenset(c["city_code"].astype(int))}
    h = history()
    t["former_codes"] = {int(r.former_code): (int(r.city_code), str(r.former_name_zh), int(r.until))
                         for r in h.itertuples() if not pd.isna(r.former_code)}
    prov_zh: dict[str, int] = {}
    prov_en: dict[str, int] = {}
    for pc, pz, pe in c[["province_code", "province_zh", "province_en"]].drop_duplicates().itertuples(index=False):
        prov_zh[pz] = int(pc)
        prov_zh[_PROV_SUFFIX.sub("", pz)] = int(pc)
        prov_en[en_key(pe)] = int(pc)
    prov_en.update({"neimenggu": 150000, "xizang": 540000, "shaanxi": 610000})
    by_zh: dict[str, set[int]] = {}
    by_en: dict[str, set[int]] = {}
    for code, zh, en in c[["city_code", "city_zh", "city_en"]].itertuples(index=False):
        by_zh.setdefault(zh_key(zh), set()).add(int(code))
        by_en.setdefault(en_key(re.sub(r"\(.*?\)", "", en)), set()).add(int(code))
    for r in h.itertuples():
        by_zh.setdefault(zh_key(re.sub(r"\(.*?\)", "", str(r.former_name_zh))), set()).add(int(r.city_code))
        if isinstance(r.former_name_en, str) and r.former_name_en:
            by_en.setdefault(en_key(r.former_name_en), set()).add(int(r.city_code))
    for k, v in CONVENTIONAL.items():
        by_en.setdefault(k, set()).add(v)
    t.update(prov_zh=prov_zh, prov_en=prov_en, by_zh=by_zh, by_en=by_en,
             prov_of=dict(zip(c["city_code"].astype(int), c["province_code"].astype(int))),
             zh_of=dict(zip(c["city_code"].astype(int), c["city_zh"])),
             en_of=dict(zip(c["city_code"].astype(int), c["city_en"])),
             _prov_prefixes=sorted(prov_zh, key=len, reverse=True))
    return t


class CityResolver:
    """Resolve codes and names to roster codes (see the module docstring)."""

    def __init__(self, city_names: dict[str, int] | None = None):
        self.__dict__.update(_tables())  # shared, read-only lookup tables
        self.user = {str(k).strip(): int(v) for k, v in (city_names or {}).items()}

    # ---------------------------------------------------------------------------------
    def code(self, n: int) -> tuple[int | None, str]:
        """(roster code or None, how): how is '' for a 6-digit roster code, else a description."""
        if n in self.codes:
            return n, ""
        if n in self.former_codes:
            new, name, until = self.former_codes[n]
            return new, f"former code of {name} (until {until})"
        if 10 ** 11 <= n < 10 ** 12 and n % 10 ** 6 == 0 and n // 10 ** 6 in self.codes:
            return n // 10 ** 6, "12-digit statistical code"
        if 1000 <= n < 10000 and n * 100 in self.codes:
            return n * 100, "4-digit code"
        return None, ""

    def name(self, text: str, province: str | None = None) -> tuple[int | None, list[int]]:
        """(code, candidates): the code if the name is unique, else None and the candidates
        (empty when the name is unknown)."""
        raw = str(text).strip()
        if raw in self.user:
            return self.user[raw], []
        if not raw:
            return None, []
        hint = self._province(province) if province else None
        if _CJK.search(raw):
            cands, hint2 = self._zh(raw)
        else:
            cands, hint2 = self._en(raw)
        hint = hint or hint2
        if hint is not None and len(cands) > 1:
            narrowed = {c for c in cands if self.prov_of.get(c) == hint}
            cands = narrowed or cands
        if len(cands) == 1:
            return next(iter(cands)), []
        return None, sorted(cands)

    def _province(self, text: str) -> int | None:
        t = unicodedata.normalize("NFKC", str(text)).strip()
        if _CJK.search(t):
            return self.prov_zh.get(t) or self.prov_zh.get(_PROV_SUFFIX.sub("", t))
        return self.prov_en.get(en_key(t))

    def _zh(self, raw: str) -> tuple[set[int], int | None]:
        s = unicodedata.normalize("NFKC", raw)
        s = re.sub(r"\s+", "", s)
        hint = None
        m = re.match(r"^(.*?)[\(\[]([^\)\]]*)[\)\]]$", s)
        if m:
            s, inner = m.group(1), m.group(2)
            hint = self._province(inner)
        key = zh_key(s)
        if key in self.by_zh:
            return set(self.by_zh[key]), hint
        for p in self._prov_prefixes:  # 江苏省苏州市, 江苏苏州
            if s.startswith(p) and len(s) > len(p):
                rest = zh_key(s[len(p):])
                if rest in self.by_zh:
                    return set(self.by_zh[rest]), self.prov_zh[p]
        return set(), hint

    def _en(self, raw: str) -> tuple[set[int], int | None]:
        s = unicodedata.normalize("NFKC", raw)
        hint = None
        parts = [p for p in re.split(r"[\(\),;/]", s) if p.strip()]
        main = parts[0] if parts else s
        for extra in parts[1:]:
            hint = hint or self._province(extra)
        key = en_key(main)
        if key in self.by_en:
            return set(self.by_en[key]), hint
        words = [w for w in re.split(r"\s+", main.strip()) if w]
        for i in range(1, len(words)):  # "Suzhou Jiangsu", "Jiangsu Suzhou"
            for city, prov in ((words[:i], words[i:]), (words[i:], words[:i])):
                k, pr = en_key(" ".join(city)), self._province(" ".join(prov))
                if k in self.by_en and pr is not None:
                    return set(self.by_en[k]), pr
        return set(), hint

    def label(self, code: int) -> str:
        """'320500 Suzhou (Jiangsu)' for messages."""
        if code in self.ref.index:
            return f"{code} {self.ref.loc[code, 'city_en']}"
        return str(code)

    def suggest(self, text: str, n: int = 3) -> list[str]:
        import difflib

        raw = str(text).strip()
        if _CJK.search(raw):
            keys = difflib.get_close_matches(zh_key(raw), list(self.by_zh), n=n, cutoff=0.5)
            return [f"{k} ({', '.join(str(c) for c in sorted(self.by_zh[k]))})" for k in keys]
        keys = difflib.get_close_matches(en_key(raw), list(self.by_en), n=n, cutoff=0.7)
        return [f"{self.ref.loc[c, 'city_en']} ({c})" for k in keys for c in sorted(self.by_en[k])
                if c in self.ref.index]
