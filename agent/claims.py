"""Claims: what an answer asserts, bound to the entity the question is about, and where the evidence states it.

A ``Claim`` is built from the question's ``Intent`` and the chosen option: the subject (the drug, problem,
test or relative asked about), the value the answer adds (its words, numbers with units and count words,
dates), the time role asked (initial / current dose, start / stop date), the experiencer and the polarity.
``locate`` finds the clause of a cited passage that states the value; ``bind`` decides whether that
value belongs to the subject there or to a competing entity of the same sentence ("Metformin 500 mg,
amlodipine 5 mg": 500 mg is metformin's). Cue words come from ``agent/resources/verify_cues.json``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from agent.records import Intent
from agent.resources import load
from agent.tools import numbered_noun, split_sentences
from agent.understand import (STOPWORDS, content_tokens, date_spans, find_dates, find_numbers, hyphen_parts, month_spans,
                              months_in, number_spans, stem)

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-/+']*|\d+(?:[.,]\d+)?")
CLAUSE_PENALTY = 200  # characters added to a distance that crosses a clause boundary


@lru_cache(maxsize=1)
def cues() -> dict:
    return load("verify_cues")


@lru_cache(maxsize=1)
def _relative_index() -> dict[str, str]:
    """surface word -> canonical relative ("mom" -> "mother")."""
    return {w: canon for canon, ws in cues()["relatives"].items() for w in ws}


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    return frozenset(stem(w) for w in cues()["generic_subjects"])


def subject_words(phrase: str) -> set[str]:
    """The stems of a subject phrase that can name it: not generic words ("level", "result") nor numbers."""
    return {t for t in content_tokens(phrase) if t not in _generic() and not t[0].isdigit()}


def relatives_in(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical relative) for each family member named in the text."""
    idx = _relative_index()
    return [(m.start(), m.end(), idx[m.group(0).lower()]) for m in re.finditer(r"[A-Za-z]+", text)
            if m.group(0).lower() in idx]


def _cue_rx(words: list[str]) -> re.Pattern:
    alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(alts) + r")(?![A-Za-z])", re.I)


@lru_cache(maxsize=None)
def cue_rx(group: str, name: str) -> re.Pattern:
    """A compiled alternation of one cue list (``cue_rx("event_roles", "start")``)."""
    return _cue_rx(cues()[group][name])


@lru_cache(maxsize=None)
def cue_rx_words(name: str) -> re.Pattern:
    """A compiled alternation of a top-level cue list (``cue_rx_words("polarity_words")``)."""
    return _cue_rx(cues()[name])


def clauses(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Clause spans inside ``text[start:end]``: split at the resource's boundaries (", and", "; ", " but ", ...)."""
    end = len(text) if end is None else end
    seg = text[start:end].lower()
    cuts = sorted({m.start() for b in cues()["clause_boundaries"] for m in re.finditer(re.escape(b), seg)})
    out, pos = [], 0
    for c in cuts:
        if c > pos:
            out.append((start + pos, start + c))
        pos = c + 1
    out.append((start + pos, end))
    return [(s, e) for s, e in out if e > s]


@dataclass
class Claim:
    """What one answer asserts (see the module docstring)."""

    question: str
    answer: str
    intent: Intent
    subject: list[str] = field(default_factory=list)  # subject phrases as worded in the question
    subject_terms: set[str] = field(default_factory=set)  # their content stems
    value_terms: list[str] = field(default_factory=list)  # stems the answer adds to the question
    numbers: list[tuple[float, str | None, str]] = field(default_factory=list)
    dates: list = field(default_factory=list)
    relative: str | None = None  # canonical family member the question asks about
    negated: bool = False  # the answer asserts an absence / the exception
    role: str | None = None  # "initial" | "current" (dose / value asked at a time)
    event_role: str | None = None  # "start" | "stop" | "change" (which event a date belongs to)
    ratios: list[tuple[float, ...]] = field(default_factory=list)  # slash groups: "162/98", "92/22 µg"
    topic_only: bool = False  # the subject is the question's own words, not a typed entity: it can only contradict
    aliases: list[str] = field(default_factory=list)  # the subject's other dictionary names ("hemoglobin a1c" for "HbA1c")
    frequencies: list[str] = field(default_factory=list)  # how often, as "1/d", "2/d", "1/y" (verify_cues frequencies)
    months: list[tuple[int, int]] = field(default_factory=list)  # dates written to the month only ("in June 2023")

    @property
    def checkable(self) -> bool:
        return bool(self.value_terms or self.numbers or self.dates or self.frequencies or self.months)

    @property
    def fixed(self) -> int:
        """How many typed values (numbers, dates, months, frequencies) the answer states: all must be found."""
        return len(self.numbers) + len(self.dates) + len(self.months) + len(self.frequencies)


def _subject_phrases(intent: Intent) -> list[str]:
    """The entities the question is about, without generic words ("the patient's medication")."""
    out = []
    anchor = (intent.anchor or "").lower()
    for e in intent.entities:
        if e.type == "relative" or (anchor and e.text.lower() in anchor):
            continue  # the time anchor ("at her second banding session") is not what the answer is about
        terms = [t for t in content_tokens(e.text) if t not in _generic() and not t[0].isdigit()]
        if terms:
            out.append(e.text)
    return out


def _question_role(question: str, intent: Intent) -> tuple[str | None, str | None]:
    q = question
    role = None
    if intent.time_role in ("initial", "first"):
        role = "initial"
    elif intent.time_role in ("current", "last"):
        role = "current"
    elif cue_rx("question_roles", "initial").search(q):
        role = "initial"
    elif cue_rx("question_roles", "current").search(q):
        role = "current"
    ev = None
    if intent.asked == "date":
        hits = [r for r in ("start", "stop", "change") if cue_rx("event_roles", r).search(q)]
        ev = hits[0] if len(hits) == 1 else None
    return role, ev


@lru_cache(maxsize=1)
def _frame() -> frozenset[str]:
    """Stems of the question frame words (how long ago, which of the following, in total)."""
    return frozenset(stem(w) for w in cues()["question_frame_words"])


def is_frame_phrase(phrase: str) -> bool:
    """A phrase made only of question frame words ("total", "placed"): it names nothing in the record."""
    terms = content_tokens(phrase)
    return bool(terms) and all(t in _frame() for t in terms)


@lru_cache(maxsize=256)
def _topic_phrases(question: str, anchor: str | None) -> tuple[str, ...]:
    """For a question that names no dictionary entity ("How long ago was the rotator cuff repair?"), the runs of
    its own words that name what it is about: not stopwords, question frame words, relation words, generic
    subjects, the time anchor, the kind of answer asked ("which anticoagulant"), numbers or a person's name (a
    capitalised word inside the sentence that no dictionary knows). Cached: every option's claim asks again."""
    frame = _frame() | _generic()
    anchor = set(content_tokens(anchor or ""))
    from agent.intent import shared_parser

    parser = shared_parser()
    typed = parser.typed_mentions(question)
    relation = [(a, b) for _, a, b in parser.relation_spans(question)]  # "switched to", "because of"
    runs, run = [], []
    prev = ""
    for i, m in enumerate(re.finditer(r"[A-Za-z][A-Za-z']*|\S", question)):
        w = m.group(0)
        t = stem(w.lower().removesuffix("'s"))
        known = any(a <= m.start() < b for a, b, _ in typed)
        name = i > 0 and w[:1].isupper() and not w.isupper() and not known  # a brand name is a drug, not a person
        asked = prev in ("which", "what")  # "which anticoagulant": the kind of answer, not the topic
        prev = w.lower()
        if any(a <= m.start() < b for a, b in relation):
            asked = True
        if (not w[:1].isalpha() or w.lower() in STOPWORDS or t in frame or t in anchor or name or asked
                or len(t) < 3 or w.lower() in _relative_index()):
            if run:
                runs.append(" ".join(run))
            run = []
        else:
            run.append(w)
    if run:
        runs.append(" ".join(run))
    return tuple(dict.fromkeys(runs))


def build_claim(question: str, answer: str, intent: Intent) -> Claim:
    """The claim "the answer to ``question`` is ``answer``", typed by the question's intent."""
    subject = _subject_phrases(intent)
    topic_only = not subject and not intent.entities
    if topic_only:
        subject = list(_topic_phrases(question, intent.anchor))
    subject_terms = {t for p in subject for t in content_tokens(p) if t not in _generic() and not t[0].isdigit()}
    q_terms = set(content_tokens(question))
    q_nums = find_numbers(question)
    grouped = _ratio_spans(answer)
    # a slash group's unit ("162/98 mmHg") is the group's: the group check binds its numbers, so a text that omits
    # the unit ("BP 162/98") still states it
    freqs = frequency_spans(answer)
    months = month_spans(answer)  # "in June 2023" is a month, not the word "june" and the number 2023
    numbers = [(v, None if any(a <= s < b for a, b in grouped) else u, surface)
               for s, _, v, u, surface in number_spans(answer)
               if not any(abs(v - q[0]) < 1e-9 and (u == q[1]) for q in q_nums)
               and not any(a <= s < b for a, b, _ in freqs)  # "once" of "once a year" is the frequency's
               and not any(a <= s < b for a, b, _ in months)]
    # the answer's polarity words ("ruled out") are its assertion, checked on their own, not words to find
    words = cue_rx_words("polarity_words").sub(" ", answer)
    for a, b, _ in months:
        words = words.replace(answer[a:b], " ")
    for _, _, _, surface, _ in date_spans(answer):  # "December 28, 2018" is the date, found as a date in any writing
        words = words.replace(surface, " ")
    for _, unit, surface in find_numbers(answer):
        if unit:  # "5 mg": the unit belongs to the number, it is not a word to find on its own
            words = words.replace(surface, " ")
    for a, b, _ in freqs:  # "once a year" is a frequency, not the words "year" to find
        words = words.replace(answer[a:b], " ")
    worded = worded_ratios(answer)
    for _, _, between in worded:  # "6 out of 10" is the group 6/10, not the words "out" and "of"
        words = words.replace(between, " ")
    value_terms = [t for t in dict.fromkeys(content_tokens(words))
                   if t not in q_terms and not t[0].isdigit() and len(t) >= 2]
    rel = intent.relative
    if rel is None and intent.experiencer == "family":
        found = relatives_in(question)
        rel = found[0][2] if found else None
    elif rel is not None:
        rel = _relative_index().get(rel.lower().split()[-1], rel.lower())
    role, ev = _question_role(question, intent)
    slashed = ratios(answer)
    return Claim(question, answer, intent, subject, subject_terms, value_terms, numbers,
                 [d for d, _ in find_dates(answer)], rel, intent.negated, role, ev,
                 slashed + [g for g, _, _ in worded if g not in slashed],
                 topic_only and bool(subject), [] if topic_only else _aliases(subject, [u for _, u, _ in numbers if u]),
                 [k for _, _, k in freqs], list(dict.fromkeys(m for _, _, m in months)))


def _aliases(subject: list[str], units: list[str]) -> list[str]:
    """The subject's other dictionary names; an ambiguous measurement name ("RR") by the unit of the answer's value."""
    from graph_store.resolution import concept_terms

    unit = units[0] if len(set(units)) == 1 else None
    return [t for phrase in subject for t in concept_terms(phrase, unit) if subject_words(t)]


_RATIO = re.compile(r"(?<![\w.,/])\d+(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)+(?![\w/]*\d)")


def states_ratio(group: tuple[float, ...], text: str) -> bool:
    """Does ``text`` state the slash group: as the same group, or as the same numbers in a row outside any group
    ("three out of six" for "3/6")? A group is one value: "92/22 µg" is not stated by "92/55/22 µg"."""
    if group in ratios(text):
        return True
    grouped = _ratio_spans(text)
    loose = [v for a, _, v, _, _ in sorted(number_spans(text)) if not any(x <= a < y for x, y in grouped)]
    n = len(group)
    return any(tuple(loose[i:i + n]) == group for i in range(len(loose) - n + 1))


def _ratio_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every slash group of numbers in ``text``."""
    return [(m.start(), m.end()) for m in _RATIO.finditer(text)]


def ratios(text: str) -> list[tuple[float, ...]]:
    """Slash groups of numbers (a blood pressure "162/98", a combination's strengths "92/55/22"), dates left out."""
    return [tuple(float(x) for x in re.split(r"\s?/\s?", m.group(0))) for m in _RATIO.finditer(text)
            if not find_dates(m.group(0))]


@lru_cache(maxsize=1)
def _frequency_rx() -> tuple[re.Pattern, dict[str, str]]:
    table = {phrase.lower(): key for key, phrases in cues()["frequencies"].items() for phrase in phrases}
    alts = "|".join(re.escape(p) for p in sorted(table, key=len, reverse=True))
    return re.compile(r"(?<![\w.])(?:%s)(?![\w])" % alts, re.I), table


# "every 6 hours", "every six hours", "q8h", "each 12 hrs": 24 / N doses a day, computed, however the number is written
_EVERY_N_HOURS = re.compile(r"(?<![\w.])(?:every|each|q)\s*(?P<n>\d+|[a-z]+(?:[- ][a-z]+)?)\s*(?:hours?|hrs?|h)(?![\w])",
                            re.I)


# a dosing schedule by time of day, morning-noon-evening(-night): "1-0-1" is twice a day, "0-0-1" once, "1-1-1-1"
# four times; one digit a slot, so dates ("20-11-2023") and ranges ("1-2 weeks") are none
_DOSING_SCHEDULE = re.compile(r"(?<![\w.,/-])(?:[0-4](?:[.,]5)?|½)(?:-(?:[0-4](?:[.,]5)?|½)){2,3}(?![\w/-]|[.,]\d)")


def frequency_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, "1/d" | "2/d" | "1/y" ...) for each way of saying how often ("annual", "twice a day", "BID",
    "every six hours", "1-0-1")."""
    rx, table = _frequency_rx()
    out = [(m.start(), m.end(), table[m.group(0).lower()]) for m in rx.finditer(text)]
    for m in _DOSING_SCHEDULE.finditer(text):
        doses = sum(1 for slot in m.group(0).split("-") if slot != "0")
        if doses:
            out.append((m.start(), m.end(), f"{doses}/d"))
    for m in _EVERY_N_HOURS.finditer(text):
        n = find_numbers(m.group("n"))
        if len(n) == 1 and n[0][0] > 0 and not any(a < m.end() and m.start() < b for a, b, _ in out):
            out.append((m.start(), m.end(), f"{24 / n[0][0]:g}/d"))
    return sorted(out)


def worded_ratios(text: str) -> list[tuple[tuple[float, float], str, str]]:
    """Two numbers joined by a ratio word ("6 out of 10", "150 over 70"; verify_cues ``ratio_words``): the group
    a record may write with a slash ("6/10", "150/70"), with the surface and the joining words."""
    spans = sorted(number_spans(text))
    out = []
    for (a, b, v, u, _), (c, d, w, u2, _) in zip(spans, spans[1:]):
        between = text[b:c]
        if u is None and re.fullmatch(r"\s+(?:%s)\s+" % "|".join(map(re.escape, cues()["ratio_words"])), between, re.I):
            out.append(((v, w), text[a:d], between))
    return out


_PARTS = re.compile(r";\s*|,?\s+then\s+|\s*→\s*|\s*->\s*", re.I)


def answer_parts(answer: str) -> list[str]:
    """The parts of a composite answer ("15 mg daily at admission; 2.5 mg daily in March", "A, then B → C",
    "20 mL TID from June 2023, raised to 30 mL TID in August 2023"), each a claim of its own; a plain answer is one
    part."""
    parts = [x.strip(" .,") for x in _PARTS.split(answer) if x and x.strip(" .,")]
    parts = [y for x in parts for y in _valued_steps(x)]
    return parts if len(parts) >= 2 else [answer]


def _valued_steps(text: str) -> list[str]:
    """A list of steps told with commas, each with its own number or date ("20 mL TID from June 2023, raised to
    30 mL TID in August 2023"): one part per step. Commas inside a date ("May 21, 2024") or a number do not cut;
    a list where some item has no value of its own ("4.4 cm, left upper lobe") stays whole."""
    dated = [(a, b) for a, b, *_ in date_spans(text)] + [(a, b) for a, b, _ in month_spans(text)]
    cuts = [m.start() for m in re.finditer(r",\s", text) if not any(a <= m.start() < b for a, b in dated)]
    if not cuts:
        return [text]
    bounds = [0, *cuts, len(text)]
    steps = [text[bounds[i]:bounds[i + 1]].strip(" ,") for i in range(len(bounds) - 1)]
    valued = all(number_spans(s) or find_dates(s) or month_spans(s) for s in steps)
    return steps if valued and all(steps) else [text]


# -- where the evidence states the value --------------------------------------------------------------------
@dataclass
class Located:
    """The value's mention inside one passage text: its clause, sentence and span (offsets into the text)."""

    text: str
    sentence: tuple[int, int]
    clause: tuple[int, int]
    span: tuple[int, int]  # from the first to the last matched value token
    coverage: float  # share of the claim's value terms (and numbers) found in the clause


def _tokens(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, stem) of content words; a slash compound ("sofosbuvir/velpatasvir") also yields its parts."""
    out = []
    for m in _TOKEN.finditer(text, start, end):
        w = m.group(0).lower().strip("'")
        if w in STOPWORDS:
            continue
        out.append((m.start(), m.end(), w if w[0].isdigit() else stem(w)))
        if "/" in w and not w[0].isdigit():
            pos = m.start()
            for part in m.group(0).split("/"):
                if len(part) >= 3:
                    out.append((pos, pos + len(part), stem(part.lower())))
                pos += len(part) + 1
    return out


def _months_stated(months: list[tuple[int, int]], sentence: str, note_date) -> bool:
    """Each month the answer names is a date the sentence writes ("after admission 06/14-06/21/2023 ...;
    discharged on lactulose 20 mL TID"), or the month of the note the sentence is in."""
    said = months_in(sentence)
    if note_date is not None:
        said.add((note_date.year, note_date.month))
    return all(m in said for m in months)


def _joined(toks: list[tuple[int, int, str]], compounds: dict[str, tuple[str, ...]]) -> list[tuple[int, int, str]]:
    """The answer's hyphenated words where the text writes their parts apart, in order ("tension type" for
    "tension-type"); not the other way round, since a part alone is not the word ("smoker" of "non-smoker")."""
    out = []
    for word, parts in compounds.items():
        n = len(parts)
        for i in range(len(toks) - n + 1):
            if tuple(t for _, _, t in toks[i:i + n]) == parts:
                out.append((toks[i][0], toks[i + n - 1][1], word))
    return out


def _number_spans(text: str, start: int, end: int, numbers, claim_ratios=(), count: bool = False) -> list[tuple[int, int]]:
    """Spans in text[start:end] of numbers equal to the claim's (value and unit; count words included)."""
    seg = text[start:end]
    grouped = _ratio_spans(seg)
    # a number inside a slash group belongs to the group ("BP: 130/68" states no heart rate of 68), unless the
    # answer states that group too
    found = [x for x in number_spans(seg) if not any(a <= x[0] < b for a, b in grouped) or claim_ratios]
    if count:  # "Cycle 6 of FOLFOX was postponed" names a sixth cycle not given: it counts no cycles ("Cycle 4 of
        # CAPOX was administered today" tells four given, unless a later one was: ``Verifier._series``)
        from agent.chain.cycle_count import not_given

        found = [x for x in found if numbered_noun(seg, x[0]) is None or not not_given(seg, x[0])]
    spans = []
    for v, u, _ in numbers:
        # a unit the answer states must be the text's too ("10 days" is not "three times a day"), unless records
        # routinely leave it out ("HR: 98" for "98 beats per minute")
        # a count ("how many tablets") is no measure: "lortab 5 milligram", "every six hours" state no count of 5 or 6
        # (a count unit, "4 cycles", "3 times", still counts)
        # the occurrence with the answer's own unit (or none, like the answer) first: "3 out of 10" is not the "3" of
        # "3 months ago" before it
        hit = next(((start + a, start + b) for a, b, g, gu, _ in sorted(found, key=lambda x: x[3] != u)
                    if abs(g - v) < 1e-6 and (
                        (u is None and not (count and gu not in (None, "cycle", "x"))) or gu == u
                        or (gu is None and u in cues()["omissible_units"] and _bare(seg, b)))), None)
        if hit is None:
            return []
        spans.append(hit)
    return spans


def _bare(seg: str, end: int) -> bool:
    """A number that stands alone after ``end``: "EF 35 on the echo", "HR: 98." (not "45-year-old", "45 -year-old",
    "3 tablets", whose next word says what it counts)."""
    rest = seg[end:].lstrip()
    if rest.startswith("-"):
        return False
    word = re.match(r"[A-Za-z]+", rest)
    return word is None or word.group(0).lower() in STOPWORDS


def locate(claim: Claim, text: str, note_date=None) -> Located | None:
    """The clause of ``text`` that best states the claim's value (all its numbers, most of its words; a date
    either written in the clause or the date of the note it is in)."""
    best = None
    want = set(claim.value_terms)
    compounds = {w: parts for w, parts in hyphen_parts(claim.answer) if w in want and len(parts) >= 2}
    for s0, e0 in split_sentences(text):
        # the note's date dates the sentence only where it writes no other date ("On 15 July 2022: leukocytes 6.1"
        # in a letter of July 23 is July 15's value)
        own = bool(claim.dates) and note_date is not None and not {x for x, _ in find_dates(text[s0:e0])} - {note_date}
        for cs, ce in clauses(text, s0, e0):
            toks = _tokens(text, cs, ce)
            if compounds:
                toks = sorted(toks + _joined(toks, compounds))
            toks = _compact(toks, want)
            hits = [(a, b) for a, b, t in toks if t in want]
            got = {t for _, _, t in toks if t in want}
            nspans = _number_spans(text, cs, ce, claim.numbers, claim.ratios,
                                   count=claim.intent.asked == "count") if claim.numbers else []
            if claim.numbers and not nspans:
                continue
            if claim.ratios and not all(states_ratio(g, text[cs:ce]) for g in claim.ratios):
                continue
            freqs = [(a + cs, b + cs, k) for a, b, k in frequency_spans(text[cs:ce])]
            if claim.frequencies and not set(claim.frequencies) <= {k for _, _, k in freqs}:
                continue
            if claim.dates:  # each written in the clause, or the note's own date
                said = {x for x, _ in find_dates(text[cs:ce])}
                if not all(d in said or (own and d == note_date) for d in claim.dates):
                    continue
            if claim.months and not _months_stated(claim.months, text[s0:e0], note_date):
                continue
            fixed = claim.fixed
            parts = len(want) + fixed
            cov = (len(got) + fixed) / parts if parts else 0.0
            hits = _densest(hits, toks)
            # each frequency where the answer's other words and numbers are ("losartan 50 mg daily", not the
            # "daily" of the drug before it)
            near = hits + nspans
            mid = (min(a for a, _ in near) + max(b for _, b in near)) / 2 if near else cs
            fspans = [min(((a, b) for a, b, k in freqs if k == key), key=lambda x: abs((x[0] + x[1]) / 2 - mid))
                      for key in claim.frequencies]
            spans = hits + nspans + fspans
            if not spans:
                if not (claim.dates or claim.months):
                    continue
                spans = [(cs, ce)]
            span = (min(a for a, _ in spans), max(b for _, b in spans))
            key = (cov, -(span[1] - span[0]))
            if best is None or key > best[0]:
                best = (key, Located(text, (s0, e0), (cs, ce), span, cov))
    return best[1] if best else None


def _compact(toks: list[tuple[int, int, str]], want: set[str]) -> list[tuple[int, int, str]]:
    """The run of content tokens, at most three per value word (and ten at least) long, that holds the most distinct
    value words: an answer's words must be stated together, not picked one by one from a long dialogue turn."""
    width = max(10, 3 * len(want))
    if len(toks) <= width or not want:
        return toks
    best, best_n = toks[:width], -1
    for i in range(len(toks)):
        if toks[i][2] not in want:
            continue
        run = toks[i:i + width]
        n = len({t for _, _, t in run if t in want})
        if n > best_n:
            best, best_n = run, n
    return best


def _densest(hits: list[tuple[int, int]], toks) -> list[tuple[int, int]]:
    """The shortest run of matched tokens that still covers every distinct value term found ("the left lung ...,
    ruling out a lung abscess": the second "lung", next to "abscess")."""
    seq = [(a, b, t) for a, b, t in toks if (a, b) in set(hits)]
    need = {t for _, _, t in seq}
    best = None
    for i in range(len(seq)):
        got = set()
        for j in range(i, len(seq)):
            got.add(seq[j][2])
            if got == need:
                if best is None or seq[j][1] - seq[i][0] < best[1] - best[0]:
                    best = (seq[i][0], seq[j][1], i, j)
                break
    return [(a, b) for a, b, _ in seq[best[2]:best[3] + 1]] if best else hits


def subject_spans(claim: Claim, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Mentions of the claim's subject in text[start:end]: a run of tokens covering at least half of (and at
    least one distinctive word of) a subject phrase, or all of one of its dictionary aliases; relatives by their cue
    words."""
    out = []
    if claim.relative:
        out += [(a, b) for a, b, r in relatives_in(text[start:end]) for a, b in [(start + a, start + b)] if r == claim.relative]
    for phrase, whole in [(p, False) for p in claim.subject] + [(p, True) for p in claim.aliases]:
        terms = subject_words(phrase)
        if not terms:
            continue
        toks = [(a, b, t) for a, b, t in _tokens(text, start, end)]
        # the question's own wording: half its words; another name of the subject only in full
        need = len(terms) if whole else max(1, (len(terms) + 1) // 2)
        for i, (a, _, t) in enumerate(toks):
            if t not in terms:
                continue
            window = toks[i:i + len(terms) + 2]
            got = {x[2] for x in window if x[2] in terms}
            if len(got) >= need:
                # the mention ends at its last new word: a repeated word ("rate ... respiratory rate") is another's
                first_end: dict[str, int] = {}
                for x in window:
                    if x[2] in terms:
                        first_end.setdefault(x[2], x[1])
                last = max(first_end.values())
                out.append((a, last))
    return sorted(set(out))


def distance(text: str, a: tuple[int, int], b: tuple[int, int], sentence: tuple[int, int]) -> int:
    """Characters between two spans, plus ``CLAUSE_PENALTY`` for each clause boundary between them."""
    if a[1] <= b[0]:
        gap = (a[1], b[0])
    elif b[1] <= a[0]:
        gap = (b[1], a[0])
    else:
        return 0
    cl = clauses(text, *sentence)
    crossings = sum(1 for s, _ in cl if gap[0] < s <= gap[1])
    return (gap[1] - gap[0]) + CLAUSE_PENALTY * crossings
