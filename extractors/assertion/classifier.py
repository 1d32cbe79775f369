"""AssertionClassifier: assertion status, temporality and experiencer of a concept span."""
from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any, Sequence

from clinqa.records import Assertion, Experiencer
from extractors.dates import DateExpr, DateExtractor
from extractors.text import split_sentences  # the project's one sentence splitter

from .engine import (
    FIELD_OF,
    WS_TOKEN_RE,
    Match,
    RuleSet,
    load_rules,
)

DEFAULT_RULES = Path(__file__).resolve().parent / "resources" / "context_rules.json"

_ASSERTION_OF = {
    "NEGATED_EXISTENCE": Assertion.ABSENT,
    "POSSIBLE_EXISTENCE": Assertion.POSSIBLE,
    "HYPOTHETICAL": Assertion.HYPOTHETICAL,
}
_EXPERIENCER_OF = {"FAMILY": Experiencer.FAMILY, "OTHER_EXPERIENCER": Experiencer.OTHER}

_MAYBE_MULTI = re.compile(r"[.!?][\"')\]]*\s+\S|\n")
# a header that opens a line: "FAMILY HISTORY:", "Plan:"
_HEADER_RE = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z /&]{1,40}?)[ \t]*:")
# a header inside a passage ("...  PAST MEDICAL HISTORY:  Diabetes"): up to 6 words before a colon
_INLINE_HEADER_RE = re.compile(r"([A-Za-z][A-Za-z/&'-]*(?:[ \t]+[A-Za-z/&'-]+){0,5})[ \t]*:(?![/\d])")
# the same headers with a plural marker ("DIAGNOSIS(ES):", "PROCEDURE(S):"), searched only where one is written
# (an optional marker in the two regexes above would slow every search)
_PLURAL_MARK_RE = re.compile(r"\([eE]?[sS]\)[ \t]*:")
_PLURAL_HEADER_RE = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z /&]{1,40}?)\([eE]?[sS]\)[ \t]*:")
_PLURAL_INLINE_HEADER_RE = re.compile(r"([A-Za-z][A-Za-z/&'-]*(?:[ \t]+[A-Za-z/&'-]+){0,5})\([eE]?[sS]\)[ \t]*:(?![/\d])")
# a sentence holds a date expression that temporality can use only with one of these words (an offset from
# the note date) or a date cue found by ``_date_cues``
_DATE_WORDS = frozenset("ago earlier previously last yesterday today tonight".split())
# with a note date: a year, a numeric date with a short year, or a day next to a month name ("May 3")
_DATE_NUMBER_RE = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}[/.]\d{1,2}[/.]\d\d\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
    re.I,
)
_DATES = DateExtractor()
_NO_TAGS: frozenset[str] = frozenset()
_REF_DATE = dt.date(2000, 1, 1)  # stand-in note date: only offsets ("3 years ago") are read against it
_NOTE_RELATIVE = frozenset({"rel_ago", "rel_word"})
_CLAUSE_PUNCT = frozenset(",;:.()")


def _headers(rx: re.Pattern[str], plural_rx: re.Pattern[str], text: str, a: int = 0, b: int | None = None
             ) -> list[re.Match[str]]:
    """Matches of a header regex in text[a:b] and, where a plural marker is written, of its plural twin, in
    text order."""
    b = len(text) if b is None else b
    found = list(rx.finditer(text, a, b))
    if _PLURAL_MARK_RE.search(text, a, b):
        found = sorted(found + list(plural_rx.finditer(text, a, b)), key=lambda m: m.start())
    return found


@dataclass
class AssertionResult:
    assertion: Assertion = Assertion.PRESENT
    historical: bool = False
    experiencer: Experiencer = Experiencer.PATIENT
    triggers: list[str] = field(default_factory=list)  # "rule_id:trigger text" that decided each field


class _Tokens:
    __slots__ = ("toks", "starts", "ends")

    def __init__(self, text: str, rules: RuleSet):
        low = text.lower()
        variants = rules.has_variant(low)
        pairs = (rules.ws_token_re if variants else WS_TOKEN_RE).findall(low)  # (leading whitespace, token)
        self.toks = [t for _, t in pairs]
        self.ends = list(accumulate([len(w) + len(t) for w, t in pairs]))
        self.starts = [e - len(t) for e, t in zip(self.ends, self.toks)]
        if variants:  # a written variant ("-ve") is read as its word ("negative"); its span stays the written one
            sp = rules.spellings
            self.toks = [sp.get(t, t) for t in self.toks]

    def span_to_tokens(self, start: int, end: int) -> tuple[int, int]:
        ts = bisect_right(self.ends, start)  # first token ending after start
        te = bisect_left(self.starts, end)  # first token starting at/after end
        if te <= ts:
            te = ts + 1 if ts < len(self.toks) else ts
        return ts, te


class AssertionClassifier:
    """ConText-style assertion classifier; rules are data (resources/context_rules.json).

    Picklable: only the rules path and raw JSON travel; matchers are rebuilt on unpickle.
    """

    def __init__(self, rules_path: str | Path | None = None):
        self.rules_path = Path(rules_path) if rules_path is not None else DEFAULT_RULES
        self._rules: RuleSet | None = None

    @classmethod
    def from_rules(cls, rules: RuleSet) -> "AssertionClassifier":
        """A classifier over an already built rule set (e.g. ``RuleSet.without(...)`` while tuning)."""
        clf = cls()
        clf._rules = rules
        return clf

    # ------------------------------------------------------------------ setup
    @property
    def rules(self) -> RuleSet:
        if self._rules is None:
            self._rules = load_rules(self.rules_path)
        return self._rules

    @property
    def version(self) -> str:
        return self.rules.version

    def warm_up(self) -> None:
        """Load and compile the rules once (idempotent)."""
        _ = self.rules

    def __getstate__(self) -> dict[str, Any]:
        return {"rules_path": str(self.rules_path), "data": self._rules.data if self._rules else None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.rules_path = Path(state["rules_path"])
        self._rules = RuleSet(state["data"]) if state.get("data") is not None else None

    # ------------------------------------------------------------------ API
    def classify(self, text: str, start: int, end: int, section: str | None = None,
                 note_date: dt.date | None = None) -> AssertionResult:
        """text is a sentence (or short passage); [start, end) is the target concept span in it.

        ``section`` is the target's section title; when None, the nearest header written in the passage
        before the target ("PAST MEDICAL HISTORY:  ...") is used. ``note_date`` resolves absolute dates.
        """
        if not (0 <= start <= end <= len(text)):
            raise ValueError(f"target span [{start},{end}) outside text of length {len(text)}")
        rules = self.rules
        tk = _Tokens(text, rules)
        ts, te = tk.span_to_tokens(start, end)
        lo, hi = 0, len(tk.toks)
        if _MAYBE_MULTI.search(text):  # a short passage: keep the scope inside the target's sentence
            for s0, s1 in split_sentences(text):
                if s0 <= start < s1:
                    lo = bisect_left(tk.starts, s0)
                    hi = max(bisect_left(tk.starts, s1), te)
                    lo = min(lo, ts)
                    break
        entry = rules.section_entry(section) if section is not None else self._inline_section(rules, text, start)
        matches = rules.match(tk.toks, lo, hi, entry["tags"] if entry else _NO_TAGS)
        matches.extend(self._time_matches(rules, text, tk, lo, hi, note_date, self._date_cues(text, tk, note_date)))
        matches.extend(self._header_stops(rules, text, tk, lo, hi))
        return self._decide(rules, text, tk, matches, ts, te, lo, hi, entry)

    @staticmethod
    def _inline_section(rules: RuleSet, text: str, start: int) -> dict[str, Any] | None:
        """The section of the last header before ``start`` in the passage (None when unknown)."""
        entry = None
        for m in _headers(_INLINE_HEADER_RE, _PLURAL_INLINE_HEADER_RE, text, 0, start):
            words = m.group(1).split()
            known = None
            for k in range(len(words)):  # longest known title ending at the colon
                known = rules.section_entry(" ".join(words[k:]))
                if known is not None:
                    break
            if known is not None:
                entry = known
            elif m.group(1).isupper() or m.start() == 0:
                entry = None  # an unknown header ends the previous section
        return entry

    @staticmethod
    def _header_stops(rules: RuleSet, text: str, tk: _Tokens, lo: int, hi: int) -> list[Match]:
        """Section headers written inside the sentence ("... {Not Entered}  MENSTRUAL HISTORY:  post-menopausal")
        as stops of every scope: a header opens a new section, which no trigger before it reaches. A header is
        the longest run of upper-case words, or a known section title, right before a colon."""
        if hi <= lo:
            return []
        s0, s1 = tk.starts[lo], tk.ends[hi - 1]
        if text.find(":", s0, s1) < 0:
            return []
        out = []
        for m in _headers(_INLINE_HEADER_RE, _PLURAL_INLINE_HEADER_RE, text, s0, s1):
            words = m.group(1).split()
            k = len(words)
            while k > 0 and words[k - 1].isupper():
                k -= 1
            if k == len(words) or len(" ".join(words[k:])) < 2:
                k = next((i for i in range(len(words)) if rules.section_entry(" ".join(words[i:]))), len(words))
            if k == len(words):
                continue
            start = m.start(1) + len(m.group(1)) - len(" ".join(words[k:]))
            a, b = tk.span_to_tokens(start, m.end())
            out.append(Match(rules.header_rule, a, b, text[start:m.end()]))
        return out

    @staticmethod
    def _date_cues(text: str, tk: _Tokens, note_date: dt.date | None) -> list[int]:
        """Token indices where an absolute date may start; none without a note date to read it against."""
        if note_date is None:
            return []
        starts = tk.starts
        return [bisect_left(starts, m.start()) for m in _DATE_NUMBER_RE.finditer(text)]

    @staticmethod
    def _time_matches(rules: RuleSet, text: str, tk: _Tokens, lo: int, hi: int,
                      note_date: dt.date | None, cue_pos: list[int]) -> list[Match]:
        """Date expressions of the sentence as triggers: older than the cut-off -> HISTORICAL, recent ones end
        a historical scope. Offsets ("3 years ago", "last year") need no note date; absolute dates ("in 2009")
        are read against the note date and ignored without one. ``cue_pos``: token indices from ``_date_cues``."""
        cfg = rules.time
        if cfg is None or hi <= lo:
            return []
        toks = tk.toks
        s0, s1 = tk.starts[lo], tk.ends[hi - 1]
        window = toks[lo:hi]
        if _DATE_WORDS.isdisjoint(window):
            k = bisect_left(cue_pos, lo)
            if k == len(cue_pos) or cue_pos[k] >= hi:
                return []
        spans = [(tk.starts[k] - s0, tk.ends[k] - s0) for k in range(lo, hi)]
        exprs = _DATES.find(text, s0, s1, tokens=(window, spans))
        if not exprs:
            return []
        _DATES.resolve(text, exprs, note_date or _REF_DATE, True)
        return _date_triggers(rules, tk, exprs, note_date, note_date or _REF_DATE)

    def classify_targets(
        self,
        text: str,
        targets: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]] | None = None,
        sections: Sequence[str | None] | None = None,
        note_date: dt.date | None = None,
        dates: Sequence[DateExpr] | None = None,
    ) -> list[AssertionResult]:
        """Whole-note form: many targets in one note.

        ``sentences`` are char spans of the note's sentences (split here when None); ``sections`` gives
        each target's canonical section title or None (detected from "TITLE:" line headers when None);
        ``note_date`` resolves absolute dates for temporality; ``dates`` are the note's date expressions
        already found and resolved by ``extractors.dates`` (offsets into ``text``): given, they are used as
        they are instead of searching the sentences again.
        """
        if not targets:
            return []
        rules = self.rules
        if sentences is None:
            sentences = split_sentences(text)
        if sections is not None and len(sections) != len(targets):
            raise ValueError("sections must have one entry per target")
        sent_starts = [s for s, _ in sentences]
        tk = _Tokens(text, rules)
        header_pos: list[int] = []
        header_entry: list[Any] = []
        if sections is None:
            for m in _headers(_HEADER_RE, _PLURAL_HEADER_RE, text):
                header_pos.append(m.start())
                header_entry.append(rules.section_entry(m.group(1)))
        cue_pos = self._date_cues(text, tk, note_date) if dates is None else []
        dated = sorted(dates or (), key=lambda d: d.start)
        date_starts = [d.start for d in dated]
        cache: dict[tuple[int, frozenset[str]], tuple[int, int, list[Match]]] = {}
        out: list[AssertionResult] = []
        for k, (start, end) in enumerate(targets):
            if sections is not None:
                entry = rules.section_entry(sections[k])
            else:
                h = bisect_right(header_pos, start) - 1
                entry = header_entry[h] if h >= 0 else None
            tags = entry["tags"] if entry else _NO_TAGS
            si = bisect_right(sent_starts, start) - 1
            if si >= 0 and start < sentences[si][1]:
                sent = cache.get((si, tags))
                if sent is None:
                    s0, s1 = sentences[si]
                    lo = bisect_left(tk.starts, s0)
                    hi = bisect_left(tk.starts, s1)
                    found = rules.match(tk.toks, lo, hi, tags)
                    if text.find(":", s0, s1) >= 0:
                        found.extend(self._header_stops(rules, text, tk, lo, hi))
                    if dates is None:
                        found.extend(self._time_matches(rules, text, tk, lo, hi, note_date, cue_pos))
                    elif rules.time is not None:
                        d0, d1 = bisect_left(date_starts, s0), bisect_left(date_starts, s1)
                        if d1 > d0:
                            found.extend(_date_triggers(rules, tk, dated[d0:d1], note_date, note_date))
                    sent = cache[(si, tags)] = (lo, hi, found)
            else:  # target outside any given sentence: use the target alone
                lo = bisect_left(tk.starts, start)
                hi = bisect_left(tk.starts, end)
                sent = (lo, hi, [])
            lo, hi, matches = sent
            ts, te = tk.span_to_tokens(start, end)
            out.append(self._decide(rules, text, tk, matches, ts, te, lo, hi, entry))
        return out

    # ------------------------------------------------------------------ scope
    def _decide(
        self,
        rules: RuleSet,
        text: str,
        tk: _Tokens,
        matches: list[Match],
        ts: int,
        te: int,
        lo: int,
        hi: int,
        section: dict[str, Any] | None,
    ) -> AssertionResult:
        toks = tk.toks
        best: dict[str, tuple[int, Match, str]] = {}
        if matches:
            stops = [m for m in matches if m.rule.category == "TERMINATE"]
            header = rules.header_rule
            heads = [m for m in stops if m.rule is header] if stops else stops
            titles: list[tuple[int, int]] = []
            if heads:
                # the target is never part of a header: an upper-case target right before one ("... COLLAPSE  TWO
                # DIMENSIONAL ECHO:  size is normal") is not swallowed by the header's upper-case words
                stops = [Match(m.rule, te, m.end, m.text) if m.rule is header and m.start < te < m.end else m
                         for m in stops]
                # known section titles written in the sentence: their words are the section's, not a trigger
                titles = [(m.start, m.end) for m in heads if rules.section_entry(m.text.rstrip(": \t"))]
            clause_cats = rules.clause_categories
            for m in matches:
                rule = m.rule
                cat0 = rule.category
                if cat0 == "PSEUDO" or (cat0 == "TERMINATE" and not rule.also):
                    continue
                if m.end > ts and m.start < te:  # overlaps the target itself
                    continue
                if rule.sentence_initial and m.start != lo:
                    continue
                if cat0 == "HISTORICAL" and (m.end < len(toks) and toks[m.end] == ":" or titles and any(
                        a <= m.start and m.end <= b for a, b in titles)):
                    continue  # in a header title ("CLINICAL HISTORY:", "PAST SURGICAL HISTORY:"): the section decides
                d = rule.direction
                if m.end <= ts and d in ("FORWARD", "BIDIRECTIONAL"):
                    a, b, forward = m.end, ts, True
                elif m.start >= te and d in ("BACKWARD", "BIDIRECTIONAL"):
                    a, b, forward = te, m.start, False
                else:
                    continue
                if rule.scope_breaks and not rule.scope_breaks.isdisjoint(toks[a:b]):
                    continue
                if _leaves_brackets(toks[a:b], forward):
                    continue  # "heart failure (PE excluded by CTPA)": a trigger in an aside stays inside it
                if rule.not_after and not forward and self._clause_opens_with(toks, lo, ts, rule.not_after):
                    continue
                dist = -1
                crosses = None
                for cat in rule.categories:
                    if self._blocked(rule, cat, matches, stops, a, b):
                        continue
                    if cat in clause_cats:
                        if crosses is None:
                            crosses = b > a and self._other_clause(rules, toks, a, b, forward)
                        if crosses:
                            continue
                    if dist < 0:
                        dist = self._distance(rules, toks, a, b)
                        in_scope = rule.max_scope is None or dist <= rule.max_scope or (
                            rule.list_scope and self._is_list(rules, toks, a, b))
                    if not in_scope:
                        break
                    fld = FIELD_OF[cat]
                    cur = best.get(fld)
                    if cur is None or dist < cur[0]:
                        best[fld] = (dist, m, cat)
        res = AssertionResult()
        if "assertion" in best:
            _, m, cat = best["assertion"]
            res.assertion = _ASSERTION_OF[cat]
            res.triggers.append(self._label(text, tk, m))
        if "temporality" in best:
            m = best["temporality"][1]
            res.historical = True
            res.triggers.append(self._label(text, tk, m))
        elif section and section["historical"]:
            res.historical = True
            res.triggers.append(f"section:{section['id']}")
        elif rules.priors and res.assertion is not Assertion.HYPOTHETICAL:
            for prior in rules.priors:
                hit = prior.applies(toks, ts, te, lo)
                if hit is not None:
                    res.historical = True
                    res.triggers.append(f"{prior.id}:{text[tk.starts[hit[0]]:tk.ends[hit[1] - 1]]}")
                    break
        if "experiencer" in best:
            _, m, cat = best["experiencer"]
            res.experiencer = _EXPERIENCER_OF[cat]
            res.triggers.append(self._label(text, tk, m))
        elif section and section["experiencer"]:
            res.experiencer = Experiencer(section["experiencer"])
            res.triggers.append(f"section:{section['id']}")
        if res.experiencer is Experiencer.FAMILY and not res.historical:
            res.historical = True  # a relative's condition is family history, which is history
        if len(res.triggers) > 1:
            res.triggers = list(dict.fromkeys(res.triggers))
        return res

    @staticmethod
    def _label(text: str, tk: _Tokens, m: Match) -> str:
        return f"{m.rule.id}:{text[tk.starts[m.start]:tk.ends[m.end - 1]]}"

    @staticmethod
    def _blocked(rule, cat: str, matches, stops, a: int, b: int) -> bool:
        for s in stops:
            if s.start >= a and s.end <= b and (not s.rule.applies_to or cat in s.rule.applies_to):
                return True
        if rule.terminated_by:
            for o in matches:
                if o.start >= a and o.end <= b and o.rule.category in rule.terminated_by:
                    return True
        return False

    @staticmethod
    def _other_clause(rules: RuleSet, toks: list[str], a: int, b: int, forward: bool) -> bool:
        """toks[a:b] (between trigger and target) crosses into another finite clause: seen from a FORWARD
        trigger, a separator followed by a clause verb or a subject ("denies fever, and has [cough]", "no
        bleeding, the patient remained [stable]"; a relative pronoun after the separator keeps the clause: "her
        father, who had a [stroke]"); from a BACKWARD one, a clause verb followed by a separator ("[vomiting] was
        noted, fever was not seen")."""
        seps, verbs = rules.clause_separators, rules.clause_verbs
        rel, subj = rules.clause_relatives, rules.clause_subjects
        opened = False
        for j in range(a, b):
            t = toks[j]
            if forward:
                if t in seps:
                    opened = True
                elif opened and (t in rel):
                    opened = False
                elif opened and (t in verbs or t in subj):
                    return True
            elif opened:
                if t in seps:
                    return True
            elif t in verbs:
                opened = True
        return False

    @staticmethod
    def _clause_opens_with(toks: list[str], lo: int, ts: int, words: frozenset[str], window: int = 3) -> bool:
        """One of ``words`` opens the clause the target is the subject of: it stands at most ``window`` tokens
        before the target ("once the [infection]", "until her [rash]"), with no punctuation mark between; further
        back it is another use of the word ("once daily and the cough ...", "until yesterday, ...")."""
        for j in range(ts - 1, max(lo, ts - window) - 1, -1):
            t = toks[j]
            if t in words:
                return True
            if t in _CLAUSE_PUNCT:
                return False
        return False

    @staticmethod
    def _distance(rules: RuleSet, toks: list[str], a: int, b: int) -> int:
        seps = rules.list_separators
        n = 0
        for j in range(a, b):
            t = toks[j]
            if t not in seps and (t[0].isalnum() or t[0] == "_"):
                n += 1
        return n

    @staticmethod
    def _is_list(rules: RuleSet, toks: list[str], a: int, b: int) -> bool:
        """Everything in toks[a:b] is short list items joined by separators (at least one separator)."""
        seps = rules.list_separators
        limit = rules.list_item_max_words
        words = 0
        nsep = 0
        for j in range(a, b):
            t = toks[j]
            if t in seps:
                nsep += 1
                words = 0
            elif t[0].isalnum():
                words += 1
                if words > limit:
                    return False
        return nsep > 0


_UNIT_DAYS = {"day": 1, "week": 7, "wk": 7, "month": 30, "year": 365, "yr": 365}


def _offset_days(offset: str) -> int | None:
    """'-3 years' -> 1095 (days back); None when it is not a backward offset in days or more."""
    m = re.fullmatch(r"-(\d+) ([a-z]+?)s?", offset or "")
    if not m or m.group(2) not in _UNIT_DAYS:
        return None
    return int(m.group(1)) * _UNIT_DAYS[m.group(2)]


def _date_triggers(rules: RuleSet, tk: _Tokens, exprs: Sequence[Any], note_date: dt.date | None,
                   base: dt.date | None) -> list[Match]:
    """Resolved date expressions -> HISTORICAL triggers (older than the cut-off) or recent stops.

    ``base`` is the date the note-relative expressions ("3 years ago") were resolved against (None: not
    resolved, then their offset is read)."""
    cfg = rules.time
    out = []
    for e in exprs:
        if e.kind == "duration" or e.attrs.get("role") == "birth_date":
            continue
        if e.pattern in _NOTE_RELATIVE:
            if e.value is not None and base is not None:
                days = (base - e.value).days
            elif e.pattern == "rel_ago" and _offset_days(e.attrs.get("offset", "")) is not None:
                days = _offset_days(e.attrs["offset"])
            else:
                continue
        elif e.value is None:
            continue
        elif note_date is not None:  # the latest day the expression can mean ("March 2021" -> 31 March)
            last = e.value
            if e.precision == "year":
                last = dt.date(last.year, 12, 31)
            elif e.precision == "month":
                last = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1) - dt.timedelta(days=1)
            days = (note_date - last).days
        else:  # an absolute date with no note date to read it against
            continue
        a, b = tk.span_to_tokens(e.start, e.end)
        if days > cfg["historical_after_days"]:
            out.append(Match(rules.time_rule, a, b, e.text))
        elif days >= 0:
            out.append(Match(rules.time_recent_rule, a, b, e.text))
    return out


def _leaves_brackets(between: Sequence[str], forward: bool) -> bool:
    """Does the way from a trigger to its target leave the trigger's brackets? A bracketed aside is a clause of
    its own: its trigger does not reach the words outside it (an unmatched ')' after a forward trigger, an
    unmatched '(' before a backward one)."""
    close, open_ = (")", "(") if forward else ("(", ")")
    depth = 0
    for t in (between if forward else reversed(between)):
        if t == open_:
            depth += 1
        elif t == close:
            if depth == 0:
                return True
            depth -= 1
    return False
