"""Helpers shared by the resolvers: option coverage, dated sentences, the resolver registry."""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable, Protocol

from agent.records import Intent
from agent.resources import load
from agent.tools import Computed, Passage, Toolbox
from agent.understand import DAYS_PER_UNIT, content_tokens, find_dates, find_numbers, in_unit

GENERIC = frozenset(content_tokens(
    "dose dosage change changed medication medications drug drugs started start patient received receive "
    "develop developed later study show caused cause replaced replace new prescribed treatment therapy "
    "after before follow followed up"))


def cues() -> dict:
    return load("query_cues")


def named(intent: Intent, *types: str) -> list[str]:
    """The question's entities of these types that name something particular ('metoclopramide', 'dry cough'),
    not a class noun standing for the unknown ('the medication', 'the adverse effect')."""
    generic = set(cues()["generic_entities"])
    return [e.text for e in intent.entities
            if e.type in types and any(w not in generic for w in e.text.lower().split())]


def typed_share(options: dict[str, str], typ: str) -> float:
    """The share of options that hold a dictionary term of this type (drug options make a 'which drug' query)."""
    from agent.intent import shared_parser

    if not options:
        return 0.0
    parser = shared_parser()
    return sum(any(t == typ for _, _, t in parser.typed_mentions(v)) for v in options.values()) / len(options)


def drug_term(option: str) -> str:
    """The drug an option names ("treatment with domperidone", "It was replaced by losartan." -> the drug's words);
    the whole option when it names no dictionary drug."""
    from agent.intent import shared_parser

    spans = [(s, e) for s, e, t in shared_parser().typed_mentions(option) if t == "drug"]
    return option[spans[0][0]:spans[-1][1]] if spans else option.strip()


def weights(tools: Toolbox, pid: str, option: str) -> dict[str, float]:
    return {t: tools.idf(pid, t) for t in set(content_tokens(option))}


def coverage(tools: Toolbox, pid: str, option: str, text: str, w: dict | None = None, toks=None) -> float:
    """IDF-weighted share of the option's words that the text has (weights / text tokens may be passed in)."""
    w = weights(tools, pid, option) if w is None else w
    if not w:
        return 0.0
    toks = set(content_tokens(text)) if toks is None else toks
    return sum(v for t, v in w.items() if t in toks) / (sum(w.values()) or 1.0)


def sent_date(p: Passage) -> dt.date | None:
    ds = find_dates(p.text)
    return ds[0][0] if ds else p.note_date


def as_timeline(p: Passage) -> Passage:
    return Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, 1.0, "timeline")


# the units an interval option may state; a year is too coarse to single out a count of days
_INTERVAL_UNITS = ("d", None, "wk", "mo")


def option_for_days(options: dict[str, str], days: int) -> str | None:
    """The one option whose number of days / weeks / months states ``days`` (a unit's half as tolerance);
    None when no option or more than one does."""
    hits = set()
    for k, t in options.items():
        for v, u, _ in find_numbers(t):
            per = DAYS_PER_UNIT[u] if u in _INTERVAL_UNITS else None
            if per is not None and abs(v * per - days) <= (0.5 if per == 1.0 else per / 2):
                hits.add(k)
    return hits.pop() if len(hits) == 1 else None


def numbers_match(xs, ys) -> bool:
    return len(xs) == len(ys) and all(abs(a - b) < 1e-6 for a, b in zip(xs, ys))


def single_out(scores: dict[str, float], floor: float, margin: float = 0.15) -> str | None:
    """The best-scoring option if it reaches ``floor`` and leads the runner-up by ``margin``, else None."""
    ranked = sorted(scores, key=lambda k: -scores[k])
    if not ranked:
        return None
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return ranked[0] if scores[ranked[0]] >= floor and scores[ranked[0]] - second >= margin else None


def sentence_dates(tools: Toolbox, pid: str) -> list[tuple[Passage, set, frozenset]]:
    """Each sentence with the dates written in it and its content tokens (cached per patient and store generation)."""
    cache = tools.__dict__.setdefault("_chain_dates", {})
    gen = tools._patient(pid)[0]
    hit = cache.get(pid)
    if hit is None or hit[0] != gen:
        hit = (gen, [(p, {d for d, _ in find_dates(p.text)}, toks) for p, toks in zip(tools.sentences(pid), tools._patient(pid)[5])])
        cache[pid] = hit
    return hit[1]


# direction words of a dose change ("stop" also marks the old drug of a switch)
DIRECTION = {"up": re.compile(r"\b(increas|uptitrat|escalat|rais|doubl|higher|rose|risen|went up|climb)", re.I),
             "down": re.compile(r"\b(reduc|decreas|lower|halv|de-?escalat|tapere?d? down|fell|fallen|declin|dropp|"
                                r"went down)", re.I),
             "same": re.compile(r"\b(unchanged|same|constant|stable|not changed|no change|remained|throughout|"
                                r"maintained|kept at|continued at)", re.I),
             "stop": re.compile(r"\b(stopp|discontinu|ceased|withdrawn)", re.I)}
_ARROW = re.compile(r"\s*(?:->|→|=>)\s*|\s+to\s+")


def change_direction(option: str) -> str | None:
    """The change an option states: its words ("increased", "unchanged", "then stopped"), else the order of its
    two doses around an arrow or "to" ("750 mg/m2 -> 1000 mg/m2" is up)."""
    for name in ("stop", "up", "down", "same"):
        if DIRECTION[name].search(option):
            return name
    parts = _ARROW.split(option)
    if len(parts) == 2:
        a, b = find_numbers(parts[0]), find_numbers(parts[1])
        if a and b and a[0][0] != b[0][0]:
            return "up" if b[0][0] > a[0][0] else "down"
    return None


def series_change(pts: list[dict], ext, dates: list, latest: bool) -> dict | None:
    """The change from one end to the other of a dated series: from its extreme (or the first date asked) to the
    date asked (or the latest value); None when an end is missing or ambiguous."""
    if not pts:
        return None
    on = lambda day: [pt for pt in pts if pt["date"] == day]  # noqa: E731
    if ext is not None:
        start = ext(pts, key=lambda pt: pt["value"])
        rest = list(dates)
    elif dates:
        got = on(dates[0])
        start, rest = (got[0] if len(got) == 1 else None), list(dates[1:])
    else:
        return None
    if start is None:
        return None
    if rest:
        got = on(rest[0])
        end = got[0] if len(got) == 1 else None
    elif latest:
        end = max(pts, key=lambda pt: pt["date"])
    else:
        return None
    if end is None or end is start or end["date"] < start["date"]:
        return None  # a change runs forward in time
    return change_of(start["value"], end["value"], start["date"], end["date"], start.get("unit") or end.get("unit"))


def change_of(x: float, y: float, from_date, to_date, unit: str | None = None) -> dict:
    """The change from value x (on from_date) to y (on to_date), both in ``unit``: its two ends, size and
    direction."""
    return {"from": x, "to": y, "from_date": from_date, "to_date": to_date, "value": abs(y - x), "unit": unit,
            "direction": "up" if y > x else "down" if y < x else "same"}


def states_change(option: str, size: float, direction: str, unit: str | None = None) -> bool:
    """Does the option state this size of change (in ``unit``, or the same unit with another SI prefix) to its own
    precision, and no other direction ("a decrease of 70 mL", "4.28 g/g")?"""
    ns = find_numbers(option)
    if len(ns) != 1:
        return False
    size = in_unit(size, unit, ns[0][1])
    frac = re.search(r"\d[.,](\d+)", ns[0][2])
    decimals = len(frac.group(1)) if frac and not re.search(r"\d,\d{3}\b", ns[0][2]) else 0
    if abs(ns[0][0] - size) > 0.5 * 10 ** -decimals + 1e-9:
        return False
    said = change_direction(option)
    return said is None or said == direction


DOSE_NUM = r"(\d+(?:\.\d+)?)\s*(mg/m2|mg/kg|mcg|µg|mg|g|units?|iu|ml)\b"


class Resolver(Protocol):
    """A typed query: None when the question's intent slots (and options) are not what it answers, else a
    ``Computed`` fact (``documented`` when it singles out one option)."""

    def __call__(self, tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None: ...


RESOLVERS: dict[str, Resolver] = {}
# the ``Computed.kind`` each resolver emits (the reasoner takes a documented fact of these kinds as the answer)
KINDS: dict[str, str] = {}


def register(name: str, kind: str | None = None) -> Callable[[Resolver], Resolver]:
    """Register a resolver under ``name`` (the names ``agent.chain.ORDER`` lists); ``kind`` is the
    ``Computed.kind`` it emits (default: ``name``)."""
    def deco(fn: Resolver) -> Resolver:
        if name in RESOLVERS:
            raise ValueError(f"resolver {name!r} registered twice")
        RESOLVERS[name], KINDS[name] = fn, kind or name
        return fn
    return deco
