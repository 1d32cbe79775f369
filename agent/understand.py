"""Question analysis: what kind of question this is, what it names, and which options it offers.

Rules, not a model: the kind decides which tools run (a timeline question must
hit the timeline, a negation question must see negated facts), so it has to be
predictable and cheap. Also home of the small text helpers (tokens, stems,
dates, numbers with units) that reasoning and verification share.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer

from clinqa.errors import InputError

KINDS = ("lookup", "negation", "order", "interval", "count", "trend", "yesno")

STOPWORDS = frozenset(
    """a an the and or of to in on at for with without by from as is was were be been being are am do does did
    has have had having which what when where who whom whose why how that this these those it its his her their
    patient patients mr mrs ms dr s t can could would should will shall may might must not no any all some
    there than then so such also into onto over under about after before during between first last
    time times many much did done given one two three four five six seven eight nine ten per
    following regarding reported documented noted showed shown show found finding she he they her him them
    ever still yet currently already receive received get got undergo underwent""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-/+']*|\d+(?:[.,]\d+)?")
_STEMMER = SnowballStemmer("english")

ABSTAIN_OPTION = re.compile(
    r"\b(cannot be answered|can ?not be answered|not (?:be )?(?:documented|mentioned|stated|answerable)|"
    r"no information|insufficient information|unknown from|none of the above)\b",
    re.I,
)

_NEGATION_Q = re.compile(
    r"\b(not|never|except|excluding|ruled out|denied|no longer)\b|\bwhich (?:of these|one) (?:is|was) (?:false|incorrect)\b",
    re.I,
)
_WH_WORD = re.compile(r"\b(?:which|what|who|whom|whose|when|where|why|how)\b", re.I)


def wh_clause(question: str) -> tuple[str, str]:
    """(lead, asked): the question split before the clause that holds its first wh-word. A fronted clause
    ("Because Epiduo was not covered, how will ...", "Without any medication, how does ...") sets the scene; only
    the asked part says whether the question asks about an absence or an event. No wh-word: ("", question)."""
    m = _WH_WORD.search(question)
    if m is None:
        return "", question
    cut = max(question.rfind(c, 0, m.start()) for c in ",;:")
    return (question[:cut + 1], question[cut + 1:]) if cut >= 0 else ("", question)


_INTERVAL_Q = re.compile(
    r"\bhow (?:many|much) (?:days?|weeks?|months?|years?|time)\b|\bhow long\b|\btime (?:between|from|elapsed)\b|"
    r"\binterval\b|\b(?:days?|weeks?|months?|years?) (?:between|after|before|passed|elapsed)\b",
    re.I,
)
_COUNT_Q = re.compile(r"\bhow many\b|\bnumber of\b|\bhow often\b|\bhow frequently\b|\bcount\b", re.I)
_ORDER_Q = re.compile(
    r"\b(first|last|earliest|latest|initial|most recent|before|after|prior to|followed|order|sequence|"
    r"chronolog\w*|preceded|subsequent(?:ly)?|previous(?:ly)?|next)\b",
    re.I,
)
_TREND_Q = re.compile(
    r"\b(trend|course|develop(?:ed|ment)? of|chang(?:e|ed|es)|increas\w*|decreas\w*|ris(?:e|ing)|fall(?:ing)?|"
    r"declin\w*|improv\w*|worsen\w*|evolution|values? over)\b",
    re.I,
)
_YESNO_Q = re.compile(r"^\s*(is|was|were|are|does|did|do|has|have|had|can|could|will|should)\b", re.I)
_BETWEEN = re.compile(r"\bbetween (?:the )?(.+?) and (?:the )?(.+?)(?:\?|$|,)", re.I)
_FROM_TO = re.compile(r"\bfrom (?:the )?(.+?) (?:to|until|till) (?:the )?(.+?)(?:\?|$|,)", re.I)
_SEPARATED = re.compile(r"\bseparated? (?:the )?(.+?) (?:from|and) (?:the )?(.+?)(?:\?|$|,)", re.I)
_AFTER = re.compile(r"\b(?:after|since|before) (?:the )?(.+?)(?: (?:did|was|were|until|to|had)\b (?:the )?(.+?))?(?:\?|$|,)", re.I)


@dataclass
class QuestionAnalysis:
    """What the router needs to know about a question."""

    question: str
    kind: str
    concepts: list[str]  # phrases the question names (for graph resolution and retrieval)
    keywords: list[str]  # content tokens (for lexical scoring)
    dates: list[dt.date] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    abstain_option: str | None = None  # letter of a "cannot be answered" option, if offered
    allow_abstain: bool = True
    pair: tuple[str, str] | None = None  # the two ends of an interval / order question
    direction: str | None = None  # "first" | "last" for order questions
    temporal: bool = False  # asks for a date / when: the timeline must be consulted

    @property
    def multiple_choice(self) -> bool:
        return bool(self.options)

    @property
    def real_options(self) -> dict[str, str]:
        """Options other than the abstention option."""
        return {k: v for k, v in self.options.items() if k != self.abstain_option}


# -- shared text helpers -------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return [w.lower().strip("'") for w in _WORD.findall(text or "")]


_PRACTITIONER = re.compile(r"(olog)ists?$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's Snowball stem; a specialist is stemmed as the specialty it practises ("neurologist", "neurology",
    "neurological": one stem), as a record says "seen by a neurologist" where an option says "Neurology"."""
    return _STEMMER.stem(_PRACTITIONER.sub(r"\1y", word))


def content_tokens(text: str) -> list[str]:
    """Stemmed content words (stopwords dropped; numbers kept as written)."""
    out = []
    for w in words(text):
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(w if w[0].isdigit() else stem(w))
    return out


# days in one duration unit as find_numbers names it (a bare number counts as days)
DAYS_PER_UNIT = {"d": 1.0, None: 1.0, "wk": 7.0, "mo": 30.44, "y": 365.25}
# the units a number may carry, written after it (digits or words)
_UNITS = (r"beats? (?:per|a|/) ?min(?:ute)?|breaths? (?:per|a|/) ?min(?:ute)?|beats/min|breaths/min|%|percent|milligrams?|micrograms?|milliliters?|millilitres?|grams?|kilograms?|pounds?|lbs?|mg/dl|mg/m2|mg/kg|mmol/l|g/dl|"
          r"µg|mcg|ug|mg|kg|g|ml|l|mm|cm|m|u/l|iu|units?|mmhg|bpm|°c|degrees?(?: celsius)?|days?|weeks?|months?|years?|"
          r"hours?|cycles?|times?|x")
# the unit may be hyphenated to its number as an adjective: "a 6-to-8-week course", "a 10-day supply"
# a round number may be said as its decade or hundreds ("running in the 300's", "the 300 's", "in his 80s"): that number
_NUM_UNIT = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)(?:(?<=0)(?:\s?'\s?s|s)(?![\w']))?(?:-|\s*)(" + _UNITS + r")?(?![\w])", re.I)
_UNIT_CANON = {
    "day": "d", "days": "d", "week": "wk", "weeks": "wk", "month": "mo", "months": "mo", "year": "y", "years": "y",
    "hour": "h", "hours": "h", "unit": "u", "units": "u", "iu": "u", "cycle": "cycle", "cycles": "cycle",
    "time": "x", "times": "x", "degree": "°c", "degrees": "°c", "degree celsius": "°c", "degrees celsius": "°c",
    "mcg": "µg", "ug": "µg", "percent": "%", "milligram": "mg", "milligrams": "mg", "microgram": "µg",
    "micrograms": "µg", "milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "millilitres": "ml", "gram": "g",
    "grams": "g", "kilogram": "kg", "kilograms": "kg", "pound": "lb", "pounds": "lb", "lbs": "lb",
}
# heart and breathing rates in words ("98 beats per minute", "20 breaths/min"): the unit's canonical form
_RATE_UNIT = re.compile(r"(beats?|breaths?)\W.*", re.I)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "once": 1, "twice": 2,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
# a spelled-out cardinal ("sixteen", "twenty-one", "thirty four") with the unit written after it, as for digits
# hyphenated to the word it counts like digits are ("a two-week course", "one eight-ounce cup"), but not to another
# number word ("twenty-first")
_WORD_NUM = re.compile(
    r"(?<![\w-])((?:%s)(?:[- ](?:%s))?|%s)(?:(?:\s+|-)(%s))?(?![\w])(?!-(?:%s|first|second|third|\w+th)\b)" % (
        "|".join(_TENS), "|".join(list(_NUMBER_WORDS)[:9]), "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)),
        _UNITS, "|".join(list(_NUMBER_WORDS) + list(_TENS))), re.I)
# spoken three-digit numbers: "one hundred and ten", "a hundred twenty", "six hundred milligrams", and, before "over"
# as in a dictated blood pressure, the hundreds said as one digit ("one fifty over seventy", "one thirty-two over
# eighty")
_UNIT_WORD = "|".join(list(_NUMBER_WORDS)[:9])
_TEEN_WORD = "|".join(sorted(list(_NUMBER_WORDS)[9:19], key=len, reverse=True))
_SPOKEN_HUNDREDS = re.compile(
    r"(?<![\w-])(?:(?P<h>a|%s)\s+hundred(?:\s+and)?(?:\s+(?P<rest>(?:%s)(?:[- ](?:%s))?|%s|%s))?"
    r"|(?P<d>%s)\s+(?P<tens>(?:%s)(?:[- ](?:%s))?)(?=\s+over\s))(?:\s+(?P<unit>%s))?(?![\w-])" % (
        _UNIT_WORD, "|".join(_TENS), _UNIT_WORD, _TEEN_WORD, _UNIT_WORD, _UNIT_WORD, "|".join(_TENS), _UNIT_WORD,
        _UNITS), re.I)

# a spoken decimal: "four point two", "thirty-seven point five degrees", "zero point eight"
_DIGIT_WORD = "zero|oh|" + _UNIT_WORD
_SPOKEN_DECIMAL = re.compile(
    r"(?<![\w-])(?P<int>zero|(?:%s)(?:[- ](?:%s))?|%s)\s+point\s+(?P<frac>(?:%s)(?:\s+(?:%s))?)"
    r"(?:\s+(?P<unit>%s))?(?![\w-])" % (
        "|".join(_TENS), _UNIT_WORD, "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)), _DIGIT_WORD, _DIGIT_WORD,
        _UNITS), re.I)

# "a year ago", "for about a week", "in a couple of weeks", "a month or two after": an article (or "couple of") before
# a time unit is a count of it where a time word frames it; elsewhere ("once a day", "once a week or two") it is a
# rate, no number
_ARTICLE_TIME = re.compile(
    r"(?:\b(?:about|around|approximately|roughly|almost|nearly|over|for|in|within|after|past|last|than|just|only)"
    r"\s+(?P<a>an?|a\s+couple\s+of|a\s+single)\s+(?P<u>hours?|days?|weeks?|months?|years?)\b"
    r"|(?<!once\s)(?<!twice\s)(?<!times\s)\b(?P<a2>an?|a\s+couple\s+of)\s+(?P<u2>hours?|days?|weeks?|months?|years?)"
    r"(?=\s+(?:ago|later|earlier|before|prior|or\s+(?:so|two|2|three|3))\b))",
    re.I)


# "one" as a pronoun, not a count: "one of the side effects", "the one on the left", "no one", "at one point"
_ONE_BEFORE = re.compile(r"\b(?:the|this|that|no|any|each|every|which|another|a|at|little|other|right|wrong)\s+$",
                         re.I)
_ONE_AFTER = re.compile(r"\s+(?:of|another|or\s+(?:the\s+)?other)\b", re.I)


# "once" as a conjunction, not a count: "once you are on that daily", "once the swelling goes down"
_ONCE_CONJ = re.compile(r"\s+(?:you|he|she|they|we|i|it|the|that|this|these|those|your|his|her|their|my|our)\b", re.I)


def _not_a_count(text: str, m: re.Match) -> bool:
    """A spelled 'one' that stands for a thing, or a 'once' that means 'when': no count."""
    word = m.group(1).lower()
    if m.group(2) or word not in ("one", "once"):
        return False
    if word == "once":
        return bool(_ONCE_CONJ.match(text, m.end()))
    return bool(_ONE_BEFORE.search(text[max(0, m.start() - 12):m.start()]) or _ONE_AFTER.match(text, m.end()))


def _spoken_value(words: str) -> int:
    """The value of a spoken number below one hundred ("thirty-two", "fifteen", "seven")."""
    parts = re.split(r"[- ]", words.lower())
    return _TENS.get(parts[0], 0) + (_NUMBER_WORDS.get(parts[-1], 0) if len(parts) > 1 or parts[0] not in _TENS else 0)


def find_numbers(text: str) -> list[tuple[float, str | None, str]]:
    """(value, canonical unit or None, surface) for each number; dates are not numbers here."""
    return [(v, u, surface) for _, _, v, u, surface in number_spans(text)]


def number_spans(text: str) -> list[tuple[int, int, float, str | None, str]]:
    """(start, end, value, canonical unit or None, surface) for each number of ``text``, in the order
    ``find_numbers`` gives them ("BP 162/98 mmHg": 162, then 98 mmHg)."""
    masked = text
    for start, end, *_ in date_spans(text):
        masked = masked[:start] + " " * (end - start) + masked[end:]
    out = []
    for m in _NUM_UNIT.finditer(masked):
        raw = m.group(1)
        # "1,500 mg" groups thousands; "39,5 degrees" is a decimal comma
        raw = raw.replace(",", "") if re.fullmatch(r"\d{1,3},\d{3}", raw) else raw.replace(",", ".")
        try:
            val = float(raw)
        except ValueError:
            continue
        unit = (m.group(2) or "").lower() or None
        if unit:
            rate = _RATE_UNIT.match(unit)
            unit = ("bpm" if rate.group(1).startswith("beat") else "/min") if rate else _UNIT_CANON.get(unit, unit)
        out.append((m.start(), m.end(), val, unit, m.group(0).strip()))
    spoken = []
    for m in _SPOKEN_DECIMAL.finditer(text):
        digits = "".join(str(_NUMBER_WORDS.get(d.lower(), 0)) for d in m.group("frac").split())
        spoken.append((m.start(), m.end()))
        unit = (m.group("unit") or "").lower() or None
        out.append((m.start(), m.end(), float(f"{_spoken_value(m.group('int'))}.{digits}"),
                    _UNIT_CANON.get(unit, unit) if unit else None, m.group(0).strip()))
    for m in _SPOKEN_HUNDREDS.finditer(text):
        if any(a <= m.start() < b for a, b in spoken):
            continue
        if m.group("h"):
            val = _NUMBER_WORDS.get(m.group("h").lower(), 1) * 100 + (
                _spoken_value(m.group("rest")) if m.group("rest") else 0)
        else:
            val = _NUMBER_WORDS[m.group("d").lower()] * 100 + _spoken_value(m.group("tens"))
        spoken.append((m.start(), m.end()))
        unit = (m.group("unit") or "").lower() or None
        out.append((m.start(), m.end(), float(val), _UNIT_CANON.get(unit, unit) if unit else None, m.group(0).strip()))
    for m in _ARTICLE_TIME.finditer(text):
        g = "a" if m.group("a") else "a2"
        art, unit = m.group(g).lower(), (m.group("u") or m.group("u2")).lower()
        out.append((m.start(g), m.end(), 2.0 if "couple" in art else 1.0, _UNIT_CANON[unit], text[m.start(g):m.end()]))
    for m in _WORD_NUM.finditer(text):
        if any(a <= m.start() < b for a, b in spoken) or _not_a_count(text, m):
            continue
        val = _spoken_value(m.group(1))
        unit = (m.group(2) or "").lower() or None
        out.append((m.start(), m.end(), float(val), _UNIT_CANON.get(unit, unit) if unit else None, m.group(0).strip()))
    return out


@lru_cache(maxsize=8192)
def hyphen_parts(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(content token, its parts' tokens) for each hyphenated word ("tension-type" -> ("tension", "type")): one text
    writes "tension-type headache", another "tension type headache". Cached: the option scorer asks it of every
    passage for every option."""
    out = {}
    for w in words(text):
        if "-" in w:
            parts = tuple(stem(x) for x in w.split("-") if len(x) > 1 and x not in STOPWORDS)
            if parts:
                out[stem(w)] = parts
    return tuple(out.items())


@lru_cache(maxsize=8192)
def value_tokens(text: str) -> frozenset[str]:
    """The numbers ``text`` states, by value, and their units, canonical: tokens that compare across writing styles
    ("one fifty over seventy" and "150/70" both give "150" and "70"; "twenty milligrams" gives "20" and "mg").
    Cached, as ``hyphen_parts``."""
    return frozenset(tok for v, unit, _ in find_numbers(text) for tok in (number_token(v), unit) if tok)


def number_token(value: float) -> str:
    """A number as one token ("150", "1.5")."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def value_token(token: str) -> str | None:
    """A content token as ``value_tokens`` writes it: a number by value ("1,500" -> "1500"), a unit word by its
    canonical unit ("milligram" -> "mg"); None for other words."""
    if token[:1].isdigit():  # the token is one bare number as ``number_spans`` reads it, or no value
        spans = number_spans(token)
        whole = len(spans) == 1 and spans[0][:2] == (0, len(token)) and spans[0][3] is None
        return number_token(spans[0][2]) if whole else None
    return _UNIT_CANON.get(token, token) if re.fullmatch(_UNITS, token, re.I) else None


# SI prefixes that make one unit of another ("70 mL" of an FEV1 written in litres, mg/dL and g/dL)
_SI_PREFIX = {"m": 1e-3, "µ": 1e-6, "u": 1e-6, "n": 1e-9, "c": 1e-2, "d": 1e-1, "k": 1e3}


def canonical_unit(unit: str | None) -> str:
    """A unit as the number reader writes it ("mL" -> "ml", "g/g" -> "g"); '' for none."""
    read = find_numbers(f"1 {unit}") if unit else []
    return (read[0][1] if read and read[0][1] else (unit or "")).replace(" ", "").replace("μ", "µ").lower()


def _prefix_factor(unit: str, target: str) -> float | None:
    """How many ``target`` one ``unit`` is when the two are the same unit (1.0) or an SI prefix apart, else None."""
    a, b = canonical_unit(unit), canonical_unit(target)
    if a == b:
        return 1.0
    if a and b and a.endswith(b) and a[: len(a) - len(b)] in _SI_PREFIX:
        return _SI_PREFIX[a[: len(a) - len(b)]]
    if a and b and b.endswith(a) and b[: len(b) - len(a)] in _SI_PREFIX:
        return 1.0 / _SI_PREFIX[b[: len(b) - len(a)]]
    return None


def same_quantity(unit: str | None, other: str | None) -> bool:
    """Both units measure one quantity: equal, or an SI prefix apart (L and mL, mg/dL and g/dL)."""
    return bool(unit and other) and _prefix_factor(unit, other) is not None


def in_unit(value: float, unit: str | None, target: str | None) -> float:
    """``value`` (in ``unit``) expressed in ``target`` (1.34 L -> 1340 mL); unchanged when either unit is missing
    or they measure different things."""
    f = _prefix_factor(unit, target) if unit and target else None
    return value * f if f is not None else value


@lru_cache(maxsize=1)
def _date_extractor():
    from extractors.dates import DateExtractor

    return DateExtractor()


@lru_cache(maxsize=8192)
def date_spans(text: str) -> tuple[tuple[int, int, dt.date, str, str | None], ...]:
    """(start, end, date, surface, role) of each full calendar date in the text, in reading order, read by the
    extractors' date finder (role: 'birth_date', 'admission', ... or None); month- or year-only mentions and dates
    without a written year are left out."""
    x = _date_extractor()
    exprs = x.resolve(text, [e for e in x.find(text) if e.kind == "absolute"], None, False)
    return tuple((e.start, e.end, e.value, e.text, e.attrs.get("role")) for e in exprs
                 if e.value is not None and e.precision == "day" and not e.attrs.get("year_inferred"))


def _month_exprs(text: str) -> list:
    x = _date_extractor()
    exprs = [e for e in x.find(text) if e.kind == "absolute"]
    return [e for e in x.resolve(text, exprs, None, False) if e.value is not None and e.precision in ("day", "month")]


def months_in(text: str) -> set[tuple[int, int]]:
    """(year, month) of every full or month-precision date written in ``text`` (relative ones left out)."""
    return {(e.value.year, e.value.month) for e in _month_exprs(text)}


def month_spans(text: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(start, end, (year, month)) of each date written to the month only ("June 2023", "06/2023")."""
    return [(e.start, e.end, (e.value.year, e.value.month)) for e in _month_exprs(text) if e.precision == "month"]


def find_dates(text: str) -> list[tuple[dt.date, str]]:
    """(date, surface) of each full calendar date in the text (``date_spans``)."""
    return [(d, surface) for _, _, d, surface, _ in date_spans(text or "")]


# -- the analyser ---------------------------------------------------------------------------------
def validate_options(options) -> dict[str, str]:
    """Options as {LETTER: text}; raise InputError on anything malformed."""
    if options is None:
        return {}
    if isinstance(options, (list, tuple)):
        options = {chr(ord("A") + i): v for i, v in enumerate(options)}
    if not isinstance(options, dict):
        raise InputError(f"options must be a mapping of letters to answer texts, got {type(options).__name__}")
    if len(options) == 1:
        raise InputError("a multiple-choice question needs at least two options")
    if len(options) > 10:
        raise InputError(f"too many options ({len(options)}); at most 10")
    out: dict[str, str] = {}
    for k, v in options.items():
        letter = str(k).strip().upper()
        if not re.fullmatch(r"[A-J]", letter):
            raise InputError(f"option key {k!r} is not a letter A-J")
        if letter in out:
            raise InputError(f"option {letter} given twice")
        if not isinstance(v, str) or not v.strip():
            raise InputError(f"option {letter} is empty")
        out[letter] = v.strip()
    return dict(sorted(out.items()))


def _clean_phrase(p: str) -> str:
    p = re.sub(r"^(?:the|a|an|his|her|their|patient'?s?)\s+", "", p.strip(" ?.,;:"), flags=re.I)
    p = re.sub(r"\s+(?:was|were|is|did|had|has)\b.*$", "", p, flags=re.I)
    return p.strip(" ?.,;:")


def concept_phrases(text: str) -> list[str]:
    """Maximal runs of content words: 'the lymph node biopsy that led to' -> ['lymph node biopsy', ...]."""
    phrases, cur = [], []
    for w in _WORD.findall(text or ""):
        lw = w.lower()
        if lw in STOPWORDS or lw in ("what", "which", "date", "dates", "day", "days", "value", "values", "type",
                                     "kind", "receive", "received", "start", "started", "stop", "stopped",
                                     "diagnosed", "treated", "performed", "administered", "led", "long"):
            if cur:
                phrases.append(" ".join(cur))
                cur = []
            continue
        cur.append(w)
    if cur:
        phrases.append(" ".join(cur))
    return [p for p in phrases if len(p) >= 2]


class QuestionAnalyzer:
    """``run(question, options, allow_abstain) -> QuestionAnalysis`` (rules; no model)."""

    def warm_up(self) -> None:  # nothing heavy; component interface
        return None

    def run(self, question: str, options=None, allow_abstain: bool = True) -> QuestionAnalysis:
        if not isinstance(question, str) or not question.strip():
            raise InputError("empty question: type a question about the patient")
        q = " ".join(question.split())
        if len(q) > 2000:
            raise InputError(f"question too long ({len(q)} characters; at most 2000)")
        opts = validate_options(options)
        abstain_letter = next((k for k, v in opts.items() if ABSTAIN_OPTION.search(v)), None)
        kind, pair, direction = self._kind(q, bool(opts))
        concepts = []
        if pair:
            concepts += [p for p in pair if p]
        for p in concept_phrases(q):
            if p.lower() not in {c.lower() for c in concepts}:
                concepts.append(p)
        return QuestionAnalysis(
            question=q, kind=kind, concepts=concepts, keywords=content_tokens(q), dates=[d for d, _ in find_dates(q)],
            options=opts, abstain_option=abstain_letter, allow_abstain=allow_abstain, pair=pair, direction=direction,
            temporal=kind in ("order", "interval") or bool(re.search(r"\b(when|date|dates|day|year|month)\b", q, re.I)),
        )

    @staticmethod
    def _kind(q: str, has_options: bool) -> tuple[str, tuple[str, str] | None, str | None]:
        pair = None
        m = _BETWEEN.search(q) or _FROM_TO.search(q) or _SEPARATED.search(q)
        if m:
            pair = (_clean_phrase(m.group(1)), _clean_phrase(m.group(2)))
        if _NEGATION_Q.search(wh_clause(q)[1]) and re.search(r"\b(which|what|who)\b", q, re.I) and not re.search(
            r"\bwhy\b.*\bnot\b", q, re.I
        ):
            return "negation", pair, None
        if _INTERVAL_Q.search(q):
            if pair is None:
                m = _AFTER.search(q)
                if m and m.group(2):
                    pair = (_clean_phrase(m.group(1)), _clean_phrase(m.group(2)))
            return "interval", pair, None
        if _COUNT_Q.search(q):
            return "count", pair, None
        if _TREND_Q.search(q) and re.search(r"\b(value|level|lab|count|score|pressure|weight|trend|course)s?\b", q, re.I):
            return "trend", pair, None
        m = _ORDER_Q.search(q)
        if m and not re.search(r"^\s*(when|on what date|what (?:was|is) the date)\b|\bdate of\b", q, re.I):
            word = m.group(1).lower()
            direction = "last" if word in ("last", "latest", "most recent", "subsequent", "subsequently", "next") else "first"
            return "order", pair, direction
        if _YESNO_Q.search(q) and not has_options:
            return "yesno", pair, None
        return "lookup", pair, None
