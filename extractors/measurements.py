"""Lab results and vital signs: name + value + unit (+ abnormal flag).

The test / vital names are found by the term matcher (extractors.vocab, entry types LABNAME and
VITALNAME); here an anchored regex reads the value that follows the name ("Hgb 9.8 g/dL (L)",
"potassium was 5.9", "BP 150/95", "SpO2 91% on RA"). Without a value, a name is not a result.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from extractors._resources import load_resource


@dataclass
class Measurement:
    start: int
    end: int
    type: str  # LAB | VITAL
    name: str
    value: float
    unit: str | None
    abnormal: str | None
    attrs: dict[str, Any] = field(default_factory=dict)
    rule: str = ""
    date: dt.date | None = None  # a table cell's row / column date (extractors.lab_tables)
    date_text: str | None = None


_NUMBER = r"(?P<qual>[<>≤≥]=?|~)?\s*(?P<val>\d+(?:[.,]\d+)?)(?![\d/])"
_FLAG = r"(?:\s*(?:\(\s*)?(?P<flag>(?-i:HH|LL|H|L)\b|high|low|elevated|critical(?:ly (?:high|low))?|abnormal|\*+|↑|↓)(?:\s*\))?)?"
_LINK = r"(?:\s+(?:level|levels|count|value|concentration))?(?:\s*(?:was|were|is|of|at|:|=|-|—|measured at|came back at|peaked at|rose to|fell to|dropped to|increased to|decreased to|improved to|now|today|on admission|at admission)){0,3}\s*"
_DOSE_UNITS = re.compile(r"\s*(?:mg|mcg|µg|g|units?|iu|tabs?|tablets?|caps?|puffs?|ml|meq|mmol)\b(?!\s*/)", re.I)
_HIGH_WORDS = re.compile(r"\b(?:elevated|high|raised|increased|rising|worsening)\s+(?:serum\s+)?$", re.I)
_LOW_WORDS = re.compile(r"\b(?:low|decreased|reduced|falling|dropping)\s+(?:serum\s+)?$", re.I)
_REF = re.compile(r"\s*\(\s*(?:ref(?:erence)?(?:\s*range)?|normal|nl|rr)?[:\s]*(?P<lo>\d+(?:[.,]\d+)?)\s*[-–]\s*(?P<hi>\d+(?:[.,]\d+)?)\s*\)|\s*,?\s*(?:ref(?:erence)?(?:\s*range)?|normal(?: range)?)[:\s]+(?P<lo2>\d+(?:[.,]\d+)?)\s*[-–]\s*(?P<hi2>\d+(?:[.,]\d+)?)", re.I)


def _f(s: str) -> float:
    return float(s.replace(",", "."))


def _flag(flag: str | None) -> str | None:
    if not flag:
        return None
    f = flag.strip().lower()
    if f in ("h", "hh", "high", "elevated", "↑", "critically high"):
        return "high"
    if f in ("l", "ll", "low", "↓", "critically low"):
        return "low"
    return "abnormal"


def _unit_norm(u: str) -> str:
    return u.lower().replace("µ", "u").replace("μ", "u").replace(" ", "").replace("×", "x").removeprefix("x")


_SAME_UNITS = {("meq/l", "mmol/l"), ("g/l", "10^9/l"), ("/nl", "10^9/l"), ("k/ul", "10^9/l"), ("10^3/ul", "10^9/l"),
               ("iu/l", "u/l"), ("mg/dl", "mg/dl"), ("g/dl", "g/dl")}


def _unit_eq(a: str, b: str | None) -> bool:
    if b is None:
        return False
    x, y = _unit_norm(a), _unit_norm(b)
    return x == y or (x, y) in _SAME_UNITS or (y, x) in _SAME_UNITS


class LabExtractor:
    def __init__(self) -> None:
        data = load_resource("labs")
        self.version = data["version"]
        self.labs = {lab["name"]: lab for lab in data["labs"]}
        self.case_sensitive = set(data.get("case_sensitive", []))
        units = sorted(data["units"], key=len, reverse=True)
        unit_alt = "|".join(re.escape(u) for u in units)
        self.value_rx = re.compile(_LINK + _NUMBER + r"(?:\s*(?P<unit>" + unit_alt + r")(?![\w/]))?" + _FLAG, re.I)

    def names(self):
        """(alias, canonical name, exact-case alias or None) for the term matcher."""
        for lab in self.labs.values():
            for a in lab["aliases"]:
                exact = next((c for c in self.case_sensitive if c.lower() == a.lower()), None)
                yield a, lab["name"], exact

    def read(self, text: str, start: int, end: int, name: str, limit: int | None = None) -> Measurement | None:
        """The result whose test name is text[start:end], or None when no value follows."""
        lab = self.labs[name]
        m = self.value_rx.match(text, end, limit if limit is not None else len(text))
        if m is None:
            return None
        unit = m.group("unit")
        if unit is None and _DOSE_UNITS.match(text, m.end("val")):
            return None  # "Vitamin D 1000 units", "Magnesium 400 mg": a dose, not a result
        value = _f(m.group("val"))
        abnormal = _flag(m.group("flag"))
        stop = m.end()
        attrs: dict[str, Any] = {}
        if m.group("qual"):
            attrs["qualifier"] = m.group("qual")
        rng = None
        rm = _REF.match(text, stop)
        if rm:
            lo_s, hi_s = rm.group("lo") or rm.group("lo2"), rm.group("hi") or rm.group("hi2")
            lo, hi = _f(lo_s), _f(hi_s)
            if lo < hi:
                rng = (lo, hi)
                attrs["ref_range"] = f"{lo_s}-{hi_s}"
                stop = rm.end()
        if abnormal is None:
            lead = text[max(0, start - 25) : start]
            if _HIGH_WORDS.search(lead):
                abnormal = "high"
            elif _LOW_WORDS.search(lead):
                abnormal = "low"
        if abnormal is None and not m.group("qual"):
            if rng is not None:
                lo, hi = rng
            elif unit is None or _unit_eq(unit, lab.get("unit")):
                lo, hi = tuple(lab.get("range") or (None, None))
            else:
                lo = hi = None
            if hi is not None and value > hi:
                abnormal = "high"
            elif lo is not None and value < lo:
                abnormal = "low"
        while stop > end and text[stop - 1].isspace():
            stop -= 1
        return Measurement(start, stop, "LAB", name, value, unit or None, abnormal, attrs, f"lab:{self.version}:{name}")


# -- vitals -------------------------------------------------------------------------------------
_V = r"(?:\s*(?:was|is|of|at|:|=|-|—|measured at|now|today)){0,2}\s*"
_BP = re.compile(_V + r"(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})(?:\s*(?P<unit>mm\s?Hg))?(?![\d/])", re.I)
_BARE_BP = re.compile(r"(?<![\d/.])(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})\s*(?P<unit>mm\s?Hg)", re.I)
_VALUE = {
    "heart rate": re.compile(_V + r"(?P<val>\d{2,3})(?!\d|\s*/\s*\d|\.\d)(?:\s*(?P<unit>bpm|/min|beats per minute|b/min))?", re.I),
    "temperature": re.compile(_V + r"(?P<val>\d{2,3}(?:[.,]\d{1,2})?)(?![\d/])\s*(?P<unit>°\s?[CF]|degrees\s+[CF]|deg\s+[CF]|celsius|fahrenheit|[CF](?![a-z]))?", re.I),
    "oxygen saturation": re.compile(_V + r"(?P<val>\d{2,3})\s*(?P<unit>%)(?P<o2>\s*(?:on\s+)?(?:(?-i:RA)|room air|\d+(?:\.\d+)?\s*(?:L|l|lpm)(?:/min)?(?:\s*(?:NC|nasal cannula|O2|via NC))?|(?-i:NC)))?", re.I),
    "respiratory rate": re.compile(_V + r"(?P<val>\d{1,2})(?!\d|\s*/\s*\d|\.\d)(?:\s*(?P<unit>/min|breaths/min|breaths per minute|bpm))?", re.I),
    "body weight": re.compile(_V + r"(?P<val>\d{1,3}(?:[.,]\d+)?)\s*(?P<unit>kgs?|lbs?|pounds)(?![\w/])", re.I),
    "body height": re.compile(_V + r"(?P<val>\d{1,3}(?:[.,]\d+)?)\s*(?P<unit>cm|m|in|inches)(?![\w/])", re.I),
    "body mass index": re.compile(_V + r"(?P<val>\d{1,2}(?:[.,]\d+)?)(?![\d/])(?:\s*(?P<unit>kg/m2|kg/m\^2|kg/m²))?", re.I),
}


class VitalExtractor:
    def __init__(self) -> None:
        data = load_resource("vitals")
        self.version = data["version"]
        self.spec = {v["name"]: v for v in data["vitals"]}

    def names(self):
        for v in self.spec.values():
            cs = set(v.get("case_sensitive", []))
            for label in v["labels"]:
                yield label, v["name"], (label if label in cs else None)

    def read(self, text: str, start: int, end: int, names: list[str], limit: int | None = None) -> Measurement | None:
        """The vital sign labelled by text[start:end] (a label may name several: "RR" = BP or resp. rate)."""
        lim = limit if limit is not None else len(text)
        for name in names:
            if name == "blood pressure":
                m = _BP.match(text, end, lim)
                if m:
                    got = self._bp(text, start, m)
                    if got:
                        return got
                continue
            rx = _VALUE.get(name)
            m = rx.match(text, end, lim) if rx else None
            if m:
                got = self._single(text, start, name, m)
                if got:
                    return got
        return None

    def bare_bp(self, text: str, s: int, e: int) -> list[Measurement]:
        out = []
        if "mmhg" not in text[s:e].lower().replace(" ", ""):
            return out
        for m in _BARE_BP.finditer(text, s, e):
            got = self._bp(text, m.start(), m)
            if got:
                out.append(got)
        return out

    def _bp(self, text: str, start: int, m: re.Match) -> Measurement | None:
        spec = self.spec["blood pressure"]
        sys_, dia = int(m.group("sys")), int(m.group("dia"))
        if not (50 <= sys_ <= 260 and 20 <= dia <= 160 and sys_ > dia):
            return None
        lo_s, hi_s = spec["range_systolic"]
        lo_d, hi_d = spec["range_diastolic"]
        abnormal = "high" if (sys_ > hi_s or dia > hi_d) else "low" if (sys_ < lo_s or dia < lo_d) else None
        attrs = {"systolic": sys_, "diastolic": dia, "value_text": f"{sys_}/{dia}"}
        return Measurement(start, m.end(), "VITAL", "blood pressure", float(sys_), "mmHg", abnormal, attrs,
                           f"vital:{self.version}:blood pressure")

    def _single(self, text: str, start: int, name: str, m: re.Match) -> Measurement | None:
        spec = self.spec[name]
        g = m.groupdict()
        value = _f(g["val"])
        unit = g.get("unit")
        attrs: dict[str, Any] = {}
        lo = hi = None
        if name == "temperature":
            u = (unit or "").upper()
            is_f = "F" in u or (not u and 93 <= value <= 110)
            if not (33 <= value <= 43 or (is_f and 90 <= value <= 110)):
                return None
            unit = "F" if is_f else "C"
            lo, hi = spec["range_f"] if is_f else spec["range"]
        elif name == "heart rate":
            if not 20 <= value <= 250:
                return None
            unit, (lo, hi) = "bpm", spec["range"]
        elif name == "respiratory rate":
            if not 4 <= value <= 60:
                return None
            unit, (lo, hi) = "/min", spec["range"]
        elif name == "oxygen saturation":
            if not 50 <= value <= 100:
                return None
            lo, hi = spec["range"]
            o2 = (g.get("o2") or "").strip()
            if o2:
                attrs["oxygen"] = "room air" if re.search(r"\bRA\b|room air", o2, re.I) else o2.removeprefix("on ").strip()
        elif name == "body mass index":
            if not 10 <= value <= 80:
                return None
            unit, (lo, hi) = "kg/m2", spec["range"]
        else:
            unit = (unit or spec["unit"]).lower()
            unit = {"kgs": "kg", "lbs": "lb", "pounds": "lb", "inches": "in"}.get(unit, unit)
        abnormal = None
        if lo is not None:
            abnormal = "high" if value > hi else "low" if value < lo else None
        return Measurement(start, m.end(), "VITAL", name, value, unit, abnormal, attrs, f"vital:{self.version}:{name}")
