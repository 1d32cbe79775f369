"""Lab results and vital signs: name + value + unit (+ abnormal flag), from one compiled regex each."""
from __future__ import annotations

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


def _alias_rx(alias: str, cs: bool) -> str:
    body = re.escape(alias).replace(r"\ ", r"[\s-]?").replace(r"\-", r"[\s-]?")
    return f"(?-i:{body})" if cs else body


_NUMBER = r"(?P<qual>[<>≤≥]=?|~)?\s*(?P<val>\d+(?:[.,]\d+)?)(?!\d)"
_FLAG = r"(?:\s*(?:\(\s*)?(?P<flag>(?-i:HH|LL|H|L)\b|high|low|elevated|critical(?:ly (?:high|low))?|abnormal|\*+|↑|↓)(?:\s*\))?)?"
_DOSE_UNITS = re.compile(r"\s*(?:mg|mcg|µg|g|units?|iu|tabs?|tablets?|caps?|puffs?|ml)\b(?!\s*/)", re.I)
_HIGH_WORDS = re.compile(r"\b(?:elevated|high|raised|increased|rising|worsening)\s+(?:serum\s+)?$", re.I)
_LOW_WORDS = re.compile(r"\b(?:low|decreased|reduced|falling|dropping)\s+(?:serum\s+)?$", re.I)
_REF = re.compile(r"\s*\(?\s*(?:ref(?:erence)?(?:\s*range)?|normal|nl|rr)?[:\s]*(?P<lo>\d+(?:[.,]\d+)?)\s*[-–]\s*(?P<hi>\d+(?:[.,]\d+)?)\s*\)?", re.I)


def _f(s: str) -> float:
    return float(s.replace(",", "."))


class LabExtractor:
    def __init__(self) -> None:
        data = load_resource("labs")
        self.version = data["version"]
        cs = set(data.get("case_sensitive", []))
        self.by_alias: dict[str, dict] = {}
        alts = []
        for lab in data["labs"]:
            for a in lab["aliases"]:
                self.by_alias[re.sub(r"[\s-]+", " ", a.lower())] = lab
                exact = next((c for c in cs if c.lower() == a.lower()), None)
                alts.append((len(a), _alias_rx(exact or a, exact is not None)))
        alts.sort(key=lambda x: -x[0])
        units = sorted(data["units"], key=len, reverse=True)
        self.units = {u.lower(): u for u in units}
        unit_alt = "|".join(re.escape(u) for u in units)
        self.rx = re.compile(
            r"(?<![\w/])(?P<name>" + "|".join(a for _, a in alts) + r")(?![\w])"
            r"(?:\s+(?:level|levels|count|value))?"
            r"(?:\s*(?:was|were|is|of|at|:|=|-|—|measured at|came back at|peaked at|rose to|fell to|dropped to|increased to|decreased to|now)){0,2}\s*"
            + _NUMBER +
            r"(?:\s*(?P<unit>" + unit_alt + r")(?![\w/]))?" + _FLAG,
            re.I,
        )

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Measurement]:
        end = len(text) if end is None else end
        out = []
        for m in self.rx.finditer(text, start, end):
            name_txt = m.group("name")
            unit = m.group("unit")
            if unit is None and _DOSE_UNITS.match(text, m.end("val")):
                continue  # "Vitamin D 1000 units", "Magnesium 400 mg": a dose, not a result
            if text[m.end("val") : m.end("val") + 1] in ("/",) and unit is None:
                continue  # "K 3/4" or a ratio
            lab = self.by_alias.get(re.sub(r"[\s-]+", " ", name_txt.lower()))
            if lab is None:
                continue
            value = _f(m.group("val"))
            flag = m.group("flag")
            abnormal = _flag(flag)
            stop = m.end()
            attrs: dict[str, Any] = {}
            if m.group("qual"):
                attrs["qualifier"] = m.group("qual")
            rng = None
            rm = _REF.match(text, stop)
            if rm and "(" in rm.group(0)[:3] or (rm and re.match(r"\s*\(?\s*(?:ref|normal|nl|rr)", rm.group(0), re.I)):
                lo, hi = _f(rm.group("lo")), _f(rm.group("hi"))
                if lo < hi:
                    rng = (lo, hi)
                    attrs["ref_range"] = f"{rm.group('lo')}-{rm.group('hi')}"
                    stop = rm.end()
                    while stop > m.end() and text[stop - 1].isspace():
                        stop -= 1
            if abnormal is None:
                lead = text[max(0, m.start() - 25) : m.start()]
                if _HIGH_WORDS.search(lead):
                    abnormal = "high"
                elif _LOW_WORDS.search(lead):
                    abnormal = "low"
            if abnormal is None:
                lo, hi = rng or tuple(lab.get("range") or (None, None))
                same_unit = unit is None or rng is not None or _unit_eq(unit, lab.get("unit"))
                if same_unit and not m.group("qual"):
                    if hi is not None and value > hi:
                        abnormal = "high"
                    elif lo is not None and value < lo:
                        abnormal = "low"
            end_pos = stop
            while end_pos > m.start() and text[end_pos - 1].isspace():
                end_pos -= 1
            out.append(Measurement(m.start(), end_pos, "LAB", lab["name"], value, unit or None, abnormal, attrs,
                                   f"lab:{self.version}:{lab['name']}"))
        return out


def _unit_eq(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return not a and not b or not a
    norm = lambda u: u.lower().replace("µ", "u").replace("μ", "u").replace(" ", "").replace("x10", "10").replace("×10", "10")
    x, y = norm(a), norm(b)
    same = {("meq/l", "mmol/l"), ("mmol/l", "meq/l"), ("g/l", "10^9/l"), ("/nl", "10^9/l"), ("k/ul", "10^9/l"),
            ("10^3/ul", "10^9/l"), ("iu/l", "u/l"), ("mg/dl", "mg/dl")}
    return x == y or (x, y) in same


def _flag(flag: str | None) -> str | None:
    if not flag:
        return None
    f = flag.strip().lower()
    if f in ("h", "hh", "high", "elevated", "↑", "critically high"):
        return "high"
    if f in ("l", "ll", "low", "↓", "critically low"):
        return "low"
    return "abnormal"


# -- vitals -------------------------------------------------------------------------------------
_V = r"(?:\s*(?:was|is|of|at|:|=|-|—|measured at|now)){0,2}\s*"


class VitalExtractor:
    def __init__(self) -> None:
        data = load_resource("vitals")
        self.version = data["version"]
        self.spec = {v["name"]: v for v in data["vitals"]}
        rx = {}
        for v in data["vitals"]:
            labels = "|".join(sorted(v["labels"], key=len, reverse=True))
            rx[v["name"]] = labels
        r = rx
        self.patterns: list[tuple[str, re.Pattern]] = [
            ("blood pressure", re.compile(r"(?<![\w/])(?P<label>" + r["blood pressure"] + r")" + _V +
                                          r"(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})(?:\s*(?P<unit>mm\s?Hg))?(?![\d/])", re.I)),
            ("blood pressure", re.compile(r"(?<![\w/])(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})\s*(?P<unit>mm\s?Hg)", re.I)),
            ("heart rate", re.compile(r"(?<![\w/])(?P<label>(?-i:" + r["heart rate"] + r"))" + _V +
                                      r"(?P<val>\d{2,3})(?!\d|\s*/|\.\d)(?:\s*(?P<unit>bpm|/min|beats per minute|b/min))?", re.I)),
            ("heart rate", re.compile(r"(?<![\w/])(?P<label>heart rate|pulse rate|pulse|hr)" + _V +
                                      r"(?P<val>\d{2,3})(?!\d|\s*/|\.\d)(?:\s*(?P<unit>bpm|/min|beats per minute|b/min))?", re.I)),
            ("temperature", re.compile(r"(?<![\w/])(?P<label>(?-i:" + r["temperature"] + r")|temperature|temp|tmax)" + _V +
                                       r"(?P<val>\d{2,3}(?:[.,]\d{1,2})?)(?!\d)\s*(?P<unit>°\s?[CF]|degrees\s+[CF]|deg\s+[CF]|celsius|fahrenheit|[CF](?![a-z]))?", re.I)),
            ("oxygen saturation", re.compile(r"(?<![\w/])(?P<label>" + r["oxygen saturation"] + r"|saturating)" + _V +
                                             r"(?P<val>\d{2,3})\s*(?P<unit>%)(?P<o2>\s*(?:on\s+)?(?:(?-i:RA)|room air|\d+(?:\.\d+)?\s*(?:L|l|lpm)(?:/min)?(?:\s*(?:NC|nasal cannula|O2|via NC))?|NC))?", re.I)),
            ("respiratory rate", re.compile(r"(?<![\w/])(?P<label>(?-i:RR|AF)|respiratory rate|resp rate|resp|respirations|breathing rate)" + _V +
                                            r"(?P<val>\d{1,2})(?!\d|\s*/|\.\d)(?:\s*(?P<unit>/min|breaths/min|breaths per minute|bpm))?", re.I)),
            ("body weight", re.compile(r"(?<![\w/])(?P<label>weight|wt|body weight|(?-i:BW))" + _V +
                                       r"(?P<val>\d{1,3}(?:[.,]\d+)?)\s*(?P<unit>kgs?|lbs?|pounds|g)(?![\w/])", re.I)),
            ("body height", re.compile(r"(?<![\w/])(?P<label>height|ht)" + _V +
                                       r"(?P<val>\d{1,3}(?:[.,]\d+)?)\s*(?P<unit>cm|m|in|inches)(?![\w/])", re.I)),
            ("body mass index", re.compile(r"(?<![\w/])(?P<label>(?-i:BMI)|body mass index)" + _V +
                                           r"(?P<val>\d{1,2}(?:[.,]\d+)?)(?:\s*(?P<unit>kg/m2|kg/m\^2|kg/m²))?", re.I)),
        ]

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Measurement]:
        end = len(text) if end is None else end
        out: list[Measurement] = []
        taken: list[tuple[int, int]] = []
        for name, rx in self.patterns:
            spec = self.spec[name]
            for m in rx.finditer(text, start, end):
                s, e = m.start(), m.end()
                if any(s < te and ts < e for ts, te in taken):
                    continue
                g = m.groupdict()
                attrs: dict[str, Any] = {}
                unit = g.get("unit")
                abnormal = None
                if name == "blood pressure":
                    sys_, dia = int(g["sys"]), int(g["dia"])
                    if not (50 <= sys_ <= 260 and 20 <= dia <= 160 and sys_ > dia):
                        continue
                    value = float(sys_)
                    attrs.update({"systolic": sys_, "diastolic": dia, "value_text": f"{sys_}/{dia}"})
                    unit = "mmHg"
                    lo_s, hi_s = spec["range_systolic"]
                    lo_d, hi_d = spec["range_diastolic"]
                    if sys_ > hi_s or dia > hi_d:
                        abnormal = "high"
                    elif sys_ < lo_s or dia < lo_d:
                        abnormal = "low"
                else:
                    value = _f(g["val"])
                    if name == "temperature":
                        u = (unit or "").upper()
                        is_f = "F" in u or (not u and 93 <= value <= 110)
                        if not (33 <= value <= 43 or (is_f and 90 <= value <= 110)):
                            continue
                        unit = "F" if is_f else "C"
                        lo, hi = spec["range_f"] if is_f else spec["range"]
                    elif name == "heart rate":
                        if not 20 <= value <= 250:
                            continue
                        unit = "bpm"
                        lo, hi = spec["range"]
                    elif name == "respiratory rate":
                        if not 4 <= value <= 60:
                            continue
                        unit = "/min"
                        lo, hi = spec["range"]
                    elif name == "oxygen saturation":
                        if not 50 <= value <= 100:
                            continue
                        lo, hi = spec["range"]
                        o2 = (g.get("o2") or "").strip()
                        if o2:
                            attrs["oxygen"] = "room air" if re.search(r"\bRA\b|room air", o2, re.I) else o2.removeprefix("on ").strip()
                    elif name == "body mass index":
                        unit = "kg/m2"
                        lo, hi = spec["range"]
                    else:
                        lo = hi = None
                        unit = (unit or spec["unit"]).lower().rstrip("s") if unit else spec["unit"]
                        if unit in ("lb", "pound"):
                            unit = "lb"
                    if lo is not None:
                        if value > hi:
                            abnormal = "high"
                        elif value < lo:
                            abnormal = "low"
                taken.append((s, e))
                out.append(Measurement(s, e, "VITAL", name, value, unit, abnormal, attrs,
                                       f"vital:{self.version}:{name}"))
        out.sort(key=lambda x: x.start)
        return out
