"""Date, relative-date and duration expressions, normalized against the note date.

Candidates are found with regexes (fast); month-name dates are parsed by dateutil, rare free-form
relative phrases by dateparser (cached). Numeric formats: ISO 2019-02-05, US 02/05/2019 (month first; 19/05/2019 day first),
European 05.02.2019 (day first), month/year 01/2019, 05-Feb-2019. A range that writes its year once
(19.05.-24.05.2023, 3-4 March 2024) dates its first day too.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_NUM_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
    "several": 3, "few": 3, "a few": 3, "couple": 2, "a couple of": 2,
}
_UNIT_DAYS = {"day": 1, "d": 1, "week": 7, "wk": 7, "month": 30, "mo": 30, "year": 365, "yr": 365, "hour": 0, "h": 0}

MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
NUM = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty|thirty|several|a few|few|a couple of)"
UNIT = r"(?:days?|weeks?|wks?|months?|years?|yrs?|hours?|hrs?)"
ANCHOR = r"(?:admission|hospitalization|presentation|surgery|the operation|operation|the procedure|procedure|transplant(?:ation)?|discharge|diagnosis|the first dose|starting|initiation|onset)"

_D = r"(?:[12]\d|3[01]|0?[1-9])"
_M = r"(?:1[0-2]|0?[1-9])"
_TO = r"(?:\s*[-–]\s*|\s+(?:to|until|till|through)\s+)"

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>0?[1-9]|1[0-2])-(?P<d>0?[1-9]|[12]\d|3[01])(?!\d)")),
    # month first (US) unless the first number cannot be a month: 19/05/2023 is day first
    ("us", re.compile(r"(?<![\d/.])(?P<m>0?[1-9]|[12]\d|3[01])/(?P<d>0?[1-9]|[12]\d|3[01])/(?P<y>(?:19|20)\d\d|\d\d)(?![\d/])")),
    ("eu", re.compile(r"(?<![\d.])(?P<d>0?[1-9]|[12]\d|3[01])\.(?P<m>0?[1-9]|1[0-2])\.(?P<y>(?:19|20)\d\d|\d\d)(?![\d.]?\d)")),
    ("mdy", re.compile(r"\b(?P<mon>" + MON + r")\.?\s+(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?:,\s*|\s+)(?P<y>(?:19|20)\d\d)\b", re.I)),
    ("dmy", re.compile(r"\b(?P<d>[12]\d|3[01]|0?[1-9])(?:(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>" + MON + r")\.?,?\s+|-(?:" + MON + r")-)(?P<y>(?:19|20)\d\d)\b", re.I)),
    # the first date of a range that names its year (and month) once, at the end: 19.05.-24.05.2023, 3-4 March 2024
    ("range_eu", re.compile(r"(?<![\d.])(?P<d>" + _D + r")\.(?P<m>" + _M + r")\.?(?=" + _TO + r"(?P<d2>" + _D + r")\.(?P<m2>" + _M + r")\.(?P<y>(?:19|20)\d\d|\d\d)(?![\d.]?\d))")),
    ("range_us", re.compile(r"(?<![\d/.])(?P<m>" + _M + r")/(?P<d>" + _D + r")(?=" + _TO + r"(?P<m2>" + _M + r")/(?P<d2>" + _D + r")/(?P<y>(?:19|20)\d\d|\d\d)(?![\d/]))")),
    ("range_dmy", re.compile(r"(?<![\d.,/:])\b(?P<d>" + _D + r")(?:st|nd|rd|th)?(?:\s+(?:of\s+)?(?P<mon1>" + MON + r")\.?)?(?=" + _TO + r"(?P<d2>" + _D + r")(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>" + MON + r")\.?,?\s+(?P<y>(?:19|20)\d\d)\b)", re.I)),
    ("range_mdy", re.compile(r"\b(?P<mon1>" + MON + r")\.?\s+(?P<d>" + _D + r")(?:st|nd|rd|th)?(?=" + _TO + r"(?:(?P<mon>" + MON + r")\.?\s+)?(?P<d2>" + _D + r")(?:st|nd|rd|th)?(?:,\s*|\s+)(?P<y>(?:19|20)\d\d)\b)", re.I)),
    ("my", re.compile(r"\b(?P<mon>" + MON + r")\.?,?\s+(?:of\s+)?(?P<y>(?:19|20)\d\d)\b", re.I)),  # "April (of) 2022"
    ("md", re.compile(r"\b(?P<mon>" + MON + r")\.?\s+(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\b(?!\s*(?:,\s*)?(?:19|20)\d\d)(?![:/\d])", re.I)),
    ("num_my", re.compile(r"(?<![\d/.])(?P<m>0?[1-9]|1[0-2])/(?P<y>(?:19|20)\d\d)(?![\d/])")),
    ("year", re.compile(r"\b(?:in|since|from|during|until|of)\s+(?P<y>(?:19|20)\d\d)\b(?![-/.]\d)", re.I)),
    # relative to the note date
    ("rel_ago", re.compile(r"\b(?P<n>" + NUM + r")\s+(?P<u>" + UNIT + r")\s+(?P<dir>ago|earlier|prior(?!\s+to\s+" + ANCHOR + r")|before(?!\s+" + ANCHOR + r")|previously)\b", re.I)),
    ("rel_anchor", re.compile(r"\b(?P<n>" + NUM + r")\s+(?P<u>" + UNIT + r")\s+(?P<dir>after|post|following|before|prior to|into)\s+(?P<anchor>" + ANCHOR + r")\b", re.I)),
    ("rel_later", re.compile(r"\b(?P<n>" + NUM + r")\s+(?P<u>" + UNIT + r")\s+(?P<dir>later|afterwards|thereafter|after that|subsequently)\b", re.I)),
    ("rel_word", re.compile(r"\b(?P<w>the day before yesterday|yesterday|today|tonight|this morning|this afternoon|this evening|last night|tomorrow|last week|last month|last year|this week|next week|the previous day|the next day|the following day|the day after)\b", re.I)),
    ("pod", re.compile(r"\b(?:POD|post[- ]?op(?:erative)?\s+day)\s*#?\s*(?P<n>\d{1,3})\b", re.I)),
    ("hd", re.compile(r"\b(?:(?:on\s+)?(?:hospital\s+day|HD|day)\s*#?\s*(?P<n>\d{1,3})(?:\s+of\s+(?:admission|hospitalization|(?:his|her|the)\s+(?:stay|admission|hospitalization)))?)\b", re.I)),
    # durations
    ("dur", re.compile(r"\b(?:for|x|×|over|during|lasting|within)\s*(?:the\s+)?(?:(?:past|last|next|previous)\s+)?(?P<n>" + NUM + r")\s*(?:-\s*(?P<n2>\d+)\s*)?(?P<u>" + UNIT + r"|d)\b", re.I)),
]

_RX = dict(_PATTERNS)
_NUMERIC = re.compile(r"(?<![\d/.])\d{1,4}[-/.]\d{1,4}")
_MONTH_TOKENS = {"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul",
                 "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec",
                 "december"}
_UNIT_TOKENS = {"day", "days", "week", "weeks", "wk", "wks", "month", "months", "year", "years", "yr", "yrs", "hour",
                "hours", "hr", "hrs"}
_REL_TOKENS = {"yesterday", "today", "tonight", "tomorrow", "night", "week", "month", "year", "morning",
               "afternoon", "evening", "day"}
_DUR_LEAD = {"for", "x", "×", "over", "during", "lasting", "within"}
_REL_LEAD = {"the", "yesterday", "today", "tonight", "tomorrow", "this", "last", "next"}
_POD_TOKENS = {"pod", "post", "postop", "postoperative", "hd"}
_YEAR_LEAD = {"in", "since", "from", "during", "until", "of"}

_KIND = {"iso": "absolute", "us": "absolute", "eu": "absolute", "mdy": "absolute", "dmy": "absolute",
         "range_eu": "absolute", "range_us": "absolute", "range_dmy": "absolute", "range_mdy": "absolute",
         "my": "absolute", "md": "absolute", "num_my": "absolute", "year": "absolute", "rel_ago": "relative",
         "rel_anchor": "relative", "rel_later": "relative", "rel_word": "relative", "pod": "relative",
         "hd": "relative", "dur": "duration"}
_PRIORITY = {k: i for i, k in enumerate(["iso", "us", "eu", "mdy", "dmy", "range_eu", "range_us", "range_dmy",
                                          "range_mdy", "rel_anchor", "rel_ago", "rel_later", "pod",
                                          "hd", "dur", "my", "md", "num_my", "year", "rel_word"])}

_ANCHOR_WORDS = (r"admitted|admission|presented|hospitali[sz](?:ed|ation)|surgery|operation|operated|underwent|procedure|"
                 r"transplant(?:ation|ed)?|discharged?")
_ANCHOR_DATE = re.compile(r"\b(?P<what>" + _ANCHOR_WORDS + r")\b[^.\n]{0,40}?$", re.I)
_ANCHOR_WORD = re.compile(r"\b(?:" + _ANCHOR_WORDS + r")\b", re.I)
_STAY_LEAD = re.compile(r"\b(?:inpatient|in-patient|hospitali[sz](?:ed|ation)|admitted|admission|stay)\b[^.\n]{0,40}?$", re.I)
_RANGE_GAP = re.compile(_TO, re.I)


_CAL_OFFSETS = {"last week": {"days": -7}, "next week": {"days": 7}, "last month": {"months": -1},
                "last year": {"years": -1}}


_BIRTH = re.compile(r"\b(?:DOB|D\.O\.B\.?|date of birth|birth ?date|born(?: on)?|geb\.?)\s*[:#]?\s*$", re.I)


@dataclass
class DateExpr:
    start: int
    end: int
    text: str
    kind: str  # absolute | relative | duration
    pattern: str
    value: dt.date | None = None
    precision: str = "day"  # day | month | year
    attrs: dict[str, Any] = field(default_factory=dict)


def _num(s: str | None) -> int | None:
    if s is None:
        return None
    s = s.lower().strip()
    if s.isdigit():
        return int(s)
    return _NUM_WORDS.get(s)


def _year(y: str) -> int:
    v = int(y)
    if len(y) == 2:
        v += 2000 if v < 50 else 1900
    return v


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _shift(base: dt.date, days: int = 0, months: int = 0, years: int = 0) -> dt.date:
    from dateutil.relativedelta import relativedelta

    return base + relativedelta(days=days, months=months, years=years)


def _offset(n: int, unit: str, sign: int, base: dt.date) -> dt.date:
    u = unit.lower().rstrip("s")
    if u in ("month", "mo"):
        return _shift(base, months=sign * n)
    if u in ("year", "yr"):
        return _shift(base, years=sign * n)
    if u in ("week", "wk"):
        return base + dt.timedelta(days=sign * 7 * n)
    if u in ("hour", "hr", "h"):
        return base
    return base + dt.timedelta(days=sign * n)


@functools.lru_cache(maxsize=4096)
def _dateutil_parse(s: str, default_year: int) -> dt.date | None:
    from dateutil import parser

    try:
        return parser.parse(s, default=dt.datetime(default_year, 1, 1), fuzzy=True).date()
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=2048)
def _dateparser_relative(s: str, base: dt.date) -> dt.date | None:
    import dateparser

    got = dateparser.parse(s, languages=["en"],
                           settings={"RELATIVE_BASE": dt.datetime.combine(base, dt.time()), "PREFER_DATES_FROM": "past"})
    return got.date() if got else None


class DateExtractor:
    """Finds date expressions in a text window and resolves them against the note date and anchors."""

    def find(self, text: str, start: int = 0, end: int | None = None,
             tokens: "tuple[list[str], list[tuple[int, int]]] | None" = None) -> list[DateExpr]:
        """Date expressions in text[start:end]. With ``tokens`` (lower-cased tokens/spans of that window,
        offsets relative to ``start``) only positions next to a date-like token are tried, which is
        ~10x faster than scanning every regex over the whole text."""
        end = len(text) if end is None else end
        cands: list[DateExpr] = []
        if tokens is None:
            for name, rx in _PATTERNS:
                for m in rx.finditer(text, start, end):
                    cands.append(DateExpr(m.start(), m.end(), m.group(), _KIND[name], name, attrs={"_m": m}))
        else:
            self._gated(text, start, end, tokens, cands)
        cands = [c for c in cands if not _descending_days(c)]
        cands.sort(key=lambda c: (c.start, -(c.end - c.start), _PRIORITY[c.pattern]))
        out: list[DateExpr] = []
        last_end = -1
        for c in cands:
            if c.start < last_end:
                continue
            out.append(c)
            last_end = c.end
        return out

    def _gated(self, text: str, start: int, end: int, tokens, cands: list) -> None:
        toks, spans = tokens
        seen: set[tuple[str, int]] = set()

        def attempt(name: str, pos: int) -> None:
            if (name, pos) in seen:
                return
            seen.add((name, pos))
            m = _RX[name].match(text, pos, end)
            if m:
                cands.append(DateExpr(m.start(), m.end(), m.group(), _KIND[name], name, attrs={"_m": m}))

        for m in _NUMERIC.finditer(text, start, end):
            for name in ("iso", "us", "eu", "num_my", "range_eu", "range_us", "range_dmy"):
                attempt(name, m.start())
        n = len(toks)
        for k, t in enumerate(toks):
            if t in _MONTH_TOKENS:
                p = spans[k][0] + start
                attempt("mdy", p)
                attempt("my", p)
                attempt("md", p)
                attempt("range_mdy", p)
                for back in (1, 2):
                    if k - back >= 0 and toks[k - back][:1].isdigit():
                        attempt("dmy", spans[k - back][0] + start)
                        break
                for back in (1, 2, 3, 4):  # "3 to 4 March 2024", "27 February to 6 March 2024"
                    if k - back >= 0 and toks[k - back][:1].isdigit():
                        attempt("range_dmy", spans[k - back][0] + start)
            if t in _UNIT_TOKENS:
                for back in range(1, 7):
                    if k - back < 0:
                        break
                    lead = toks[k - back]
                    p = spans[k - back][0] + start
                    if lead in _NUM_WORDS or lead[:1].isdigit():
                        for name in ("rel_ago", "rel_anchor", "rel_later"):
                            attempt(name, p)
                    elif lead in _DUR_LEAD:
                        attempt("dur", p)
            if t in _REL_TOKENS:
                for back in range(0, 4):
                    if k - back < 0:
                        break
                    if toks[k - back] in _REL_LEAD:
                        attempt("rel_word", spans[k - back][0] + start)
                if t == "day":
                    attempt("hd", spans[k][0] + start)
                    if k >= 1 and toks[k - 1] in ("on", "hospital"):
                        attempt("hd", spans[k - 1][0] + start)
                    if k >= 2 and toks[k - 2] == "on":
                        attempt("hd", spans[k - 2][0] + start)
            if t in _POD_TOKENS:
                attempt("pod", spans[k][0] + start)
                if t == "hd":
                    attempt("hd", spans[k][0] + start)
            if t in _YEAR_LEAD and k + 1 < n and len(toks[k + 1]) == 4 and toks[k + 1].isdigit():
                attempt("year", spans[k][0] + start)

    def resolve(self, text: str, exprs: list[DateExpr], note_date: dt.date | None, date_known: bool,
                state: dict | None = None) -> list[DateExpr]:
        """Fill value/attrs in place. ``state`` carries anchors and the last date across slices of one note."""
        state = state if state is not None else {}
        base = note_date if (note_date is not None and date_known) else None
        for e in exprs:
            m = e.attrs.pop("_m")
            g = m.groupdict()
            p = e.pattern
            ref_year = (base or state.get("last") or dt.date.today()).year
            if p in ("iso", "us", "eu"):
                m_, d_ = int(g["m"]), int(g["d"])
                day_first = p == "us" and m_ > 12
                if day_first:
                    m_, d_ = d_, m_
                e.value = _safe_date(_year(g["y"]), m_, d_)
                e.attrs["format"] = "DD/MM/YYYY" if day_first else \
                    {"iso": "YYYY-MM-DD", "us": "MM/DD/YYYY", "eu": "DD.MM.YYYY"}[p]
            elif p in ("mdy", "dmy"):
                e.value = _dateutil_parse(e.text, ref_year)
            elif p.startswith("range_"):
                y = _year(g["y"])
                if "m" in g:  # numeric: 19.05.-24.05.2023
                    mon, mon2 = int(g["m"]), int(g["m2"])
                else:  # 3-4 March 2024, 27 February to 6 March 2024, March 3-8, 2024
                    named = [_MONTHS[x.lower().rstrip(".")] for x in (g["mon1"], g["mon"]) if x]
                    mon, mon2 = named[0], named[-1]
                first, last = _safe_date(y, mon, int(g["d"])), _safe_date(y, mon2, int(g["d2"]))
                if first and last and first > last:  # a range over New Year: 28.12.-03.01.2024
                    first = _safe_date(y - 1, mon, int(g["d"]))
                e.value = first
                if last is not None:
                    e.attrs["range_end"] = last.isoformat()
            elif p == "my":
                mon = _MONTHS.get(g["mon"].lower().rstrip("."))
                e.value = _safe_date(int(g["y"]), mon, 1) if mon else None
                e.precision = "month"
            elif p == "num_my":
                e.value = _safe_date(int(g["y"]), int(g["m"]), 1)
                e.precision = "month"
            elif p == "year":
                e.value = _safe_date(int(g["y"]), 1, 1)
                e.precision = "year"
                e.start = m.start("y")
                e.text = g["y"]
            elif p == "md":
                if base is None and state.get("last") is None:
                    e.value = None
                    e.attrs["anchor"] = "note_date_unknown"
                else:
                    y = (base or state["last"]).year
                    e.value = _dateutil_parse(e.text, y)
                    if e.value and base and e.value > base + dt.timedelta(days=31):
                        e.value = _shift(e.value, years=-1)  # "Dec 20" in a January note
                e.attrs["year_inferred"] = True
            elif p == "rel_ago":
                n, u = _num(g["n"]), g["u"]
                if n is not None:
                    e.attrs["offset"] = f"-{n} {u}"
                    if base:
                        e.value = _offset(n, u, -1, base)
                        e.attrs["anchor"] = "note_date"
                    else:
                        e.attrs["anchor"] = "note_date_unknown"
            elif p == "rel_anchor":
                n, u, d, a = _num(g["n"]), g["u"], g["dir"].lower(), g["anchor"].lower()
                sign = -1 if d in ("before", "prior to") else 1
                akey = _anchor_key(a)
                e.attrs.update({"anchor": akey, "offset": f"{'+' if sign > 0 else '-'}{n} {u}"})
                adate = state.get("anchors", {}).get(akey)
                if n is not None and adate:
                    e.value = _offset(n, u, sign, adate)
            elif p == "rel_later":
                n, u = _num(g["n"]), g["u"]
                e.attrs.update({"anchor": "previous_date", "offset": f"+{n} {u}"})
                if n is not None and state.get("last"):
                    e.value = _offset(n, u, 1, state["last"])
            elif p == "rel_word":
                w = g["w"].lower()
                off = {"the day before yesterday": -2, "yesterday": -1, "last night": -1,
                       "today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                       "tomorrow": 1, "this week": 0}.get(w)
                if w in ("the previous day", "the next day", "the following day", "the day after"):
                    e.attrs["anchor"] = "previous_date"
                    if state.get("last"):
                        e.value = state["last"] + dt.timedelta(days=-1 if "previous" in w else 1)
                elif base is None:
                    e.attrs["anchor"] = "note_date_unknown"
                else:
                    e.attrs["anchor"] = "note_date"
                    if off is not None:
                        e.value = base + dt.timedelta(days=off)
                    elif w in _CAL_OFFSETS:
                        e.value = _shift(base, **_CAL_OFFSETS[w])
                    else:  # anything else the regex admits: let dateparser read it against the note date
                        e.value = _dateparser_relative(w, base)
            elif p == "pod":
                n = int(g["n"])
                e.attrs.update({"anchor": "surgery", "offset": f"+{n} days"})
                if state.get("anchors", {}).get("surgery"):
                    e.value = state["anchors"]["surgery"] + dt.timedelta(days=n)
            elif p == "hd":
                n = int(g["n"])
                e.attrs.update({"anchor": "admission", "offset": f"+{n - 1} days", "day": n})
                if state.get("anchors", {}).get("admission"):
                    e.value = state["anchors"]["admission"] + dt.timedelta(days=n - 1)
            elif p == "dur":
                n, u = _num(g["n"]), g["u"].lower()
                n2 = _num(g.get("n2"))
                if n is not None:
                    letter = {"d": "D", "day": "D", "week": "W", "wk": "W", "month": "M", "mo": "M", "year": "Y",
                              "yr": "Y", "hour": "H", "hr": "H"}.get(u.rstrip("s"), "D")
                    amount = n2 or n
                    e.attrs["duration"] = (f"PT{amount}H" if letter == "H" else f"P{amount}{letter}")
                    days = _UNIT_DAYS.get(u.rstrip("s"), 1) * amount
                    if letter != "H":
                        e.attrs["days"] = days
            # anchors ("admitted on 2019-02-05") and the running last date for "two weeks later"
            if e.kind == "absolute" and e.value is not None:
                lead = text[max(0, e.start - 60) : e.start]
                if _BIRTH.search(lead):
                    e.attrs["role"] = "birth_date"  # dates no event of the note
                    continue
                am = _ANCHOR_DATE.search(lead)
                if am:
                    key = _anchor_key(am.group("what").lower())
                    state.setdefault("anchors", {})[key] = e.value
                    e.attrs["role"] = key
            if e.value is not None and e.kind != "duration":
                state["last"] = e.value
        _mark_stays(text, exprs, state)
        return exprs


def _descending_days(c: DateExpr) -> bool:
    """'30-4 March 2024' is no range of days in one month (a range's first day comes first)."""
    if c.pattern not in ("range_dmy", "range_mdy"):
        return False
    g = c.attrs["_m"].groupdict()
    one_month = not g["mon1"] or not g["mon"] or g["mon1"].lower()[:3] == g["mon"].lower()[:3]
    return one_month and int(g["d"]) > int(g["d2"])


def _mark_stays(text: str, exprs: list[DateExpr], state: dict) -> None:
    """'treated as an inpatient from 27.02.2024 to 06.03.2024': a stay written as a range of two dates gives the
    note its admission date (the first) and its discharge date (the second)."""
    days = [e for e in exprs if e.kind == "absolute" and e.precision == "day" and e.value is not None]
    for a, b in zip(days, days[1:]):
        if not _RANGE_GAP.fullmatch(text[a.end:b.start]) or not _STAY_LEAD.search(text[max(0, a.start - 60):a.start]):
            continue
        a.attrs.setdefault("role", "admission")
        if b.attrs.get("role") in (None, "admission"):  # "hospitalized 3-8 March": the lead names the stay, not day 8
            b.attrs["role"] = "discharge"
        state.setdefault("anchors", {}).setdefault("admission", a.value)
        state["anchors"].setdefault("discharge", b.value)


def anchor_role(text: str) -> str | None:
    """The note anchor an event phrase names ('she was admitted with pneumonia' -> 'admission'), or None: the
    key under which ``resolve`` marks the date a note writes for that event (a DATE fact's ``role``)."""
    found = anchor_mentions(text)
    return found[0][1] if found else None


def anchor_mentions(text: str) -> list[tuple[int, str]]:
    """(offset, role) of each anchor word in the text ('Findings on admission:' -> [(12, 'admission')])."""
    return [(m.start(), _anchor_key(m.group(0))) for m in _ANCHOR_WORD.finditer(text)]


def _anchor_key(word: str) -> str:
    w = word.lower()
    if w.startswith(("admi", "present", "hospital")):
        return "admission"
    if w.startswith(("surg", "oper", "underw", "the operation", "procedure", "the procedure")):
        return "surgery"
    if w.startswith("transplant"):
        return "transplant"
    if w.startswith("discharg"):
        return "discharge"
    return w
