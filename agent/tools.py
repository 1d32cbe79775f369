"""The agent's tools: thin, typed wrappers over the graph/timeline queries, hybrid retrieval and the notes.

Each tool returns ``Passage``s (exact note spans) and ``Computed`` results so the
context builder never sees layer-specific types. The layers below are optional
at run time: when the graph or the retriever cannot be used (not built, no facts,
no chunks) the toolbox falls back to lexical scoring over the notes' sentences,
so the agent always answers from quoted note text.
"""
from __future__ import annotations

import functools
import datetime as dt
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clinqa.records import FactType, Note
from agent.resources import load as load_resource
from agent.understand import content_tokens, months_in, number_spans
from extractors.dates import anchor_role
from extractors.text import split_sentences as extract_sentences

log = logging.getLogger(__name__)



@dataclass
class Passage:
    """An exact note span put in front of the reasoner (``note.text[start:end] == text``)."""

    patient_id: str
    note_id: str
    start: int
    end: int
    text: str
    note_date: dt.date | None
    section: str | None = None
    score: float = 0.0
    source: str = "retrieval"  # retrieval | lexical | fact | timeline | option
    fact_ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.note_id, self.start, self.end)


@dataclass
class FactRow:
    """One structured fact (a mention) for the facts table."""

    fact_id: str
    name: str
    type: str
    assertion: str
    date: dt.date | None
    detail: str
    codes: dict[str, str]
    passage: Passage
    experiencer: str = "patient"
    historical: bool = False


@dataclass
class Computed:
    """A result the code computed from the timeline (interval, order, count, first/last, lab series)."""

    kind: str
    text: str
    value: Any
    passages: list[Passage]
    documented: bool = True


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence / list-line spans, trimmed: the extractors' one splitter (abbreviations, hard-wrapped lines, a
    speech recognizer's spaced periods), without fragments under three characters."""
    return [(s, e) for s, e in extract_sentences(text) if e - s >= 3]


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    for s, e in split_sentences(text):
        if s <= start < e or (start <= s < end):
            return min(s, start), max(e, end)
    return start, end


class Toolbox:
    """Tool wrappers bound to one workspace; caches each patient's notes and sentences by store generation."""

    def __init__(self, workspace):
        self.ws = workspace
        self.store = workspace.store
        self._notes: dict[str, tuple[str, dict[str, Note], list[Passage], Counter, set[str]]] = {}
        self._graphs_ok: bool | None = None
        self._retriever_ok: bool | None = None
        self.last_retrieval = ""

    # -- notes and sentences ----------------------------------------------------------------------
    def _patient(self, pid: str):
        gen = self.store.generation(pid)
        hit = self._notes.get(pid)
        if hit is None or hit[0] != gen:
            notes = {n.note_id: n for n in self.store.notes(pid)}
            foreign = self._foreign(pid, list(notes.values()))
            sents, df, toks = [], Counter(), []
            for n in notes.values():
                if n.note_id in foreign:
                    continue  # another patient's document: never evidence for this one
                for s, e in split_sentences(n.text):
                    p = Passage(pid, n.note_id, s, e, n.text[s:e], n.note_date, None, 0.0, "lexical")
                    sents.append(p)
                    toks.append(frozenset(content_tokens(p.text)))
                    df.update(toks[-1])
            hit = (gen, notes, sents, df, foreign, toks)
            self._notes[pid] = hit
        return hit

    def _foreign(self, pid: str, notes: list[Note]) -> set[str]:
        from graph_store.resolution import PatientIdentity

        try:
            p = self.store.patient(pid)
        except Exception:
            return set()
        return set(PatientIdentity(p.name, p.birthday).foreign_notes(notes))

    def foreign_notes(self, pid: str) -> set[str]:
        """Ids of notes in the chart that name another patient (by name / birth date)."""
        return self._patient(pid)[4]

    def notes(self, pid: str) -> dict[str, Note]:
        return self._patient(pid)[1]

    def sentences(self, pid: str) -> list[Passage]:
        return self._patient(pid)[2]

    def note_heading_tokens(self, pid: str, note_id: str) -> set[str]:
        """Content stems of a note's title / first line (its type: admission note, discharge letter, ...)."""
        note = self.notes(pid).get(note_id)
        if note is None:
            return set()
        first = note.text.strip().split("\n", 1)[0][:80]
        return set(content_tokens(" ".join(x for x in (note.title if note.title and not note.title.startswith("text_") else "",
                                                      note.note_type if note.note_type != "note" else "", first) if x)))

    def doc_freq(self, pid: str, token: str) -> int:
        """How many of the patient's sentences hold the (content) token."""
        return self._patient(pid)[3].get(token, 0)

    def idf(self, pid: str, token: str) -> float:
        _, _, sents, df, _, _ = self._patient(pid)
        return math.log(1 + (len(sents) + 1) / (df.get(token, 0) + 0.5))

    def passage_for(self, pid: str, note_id: str, start: int, end: int, source: str, sentence: bool = True,
                    section: str | None = None, fact_ids: list[str] | None = None) -> Passage | None:
        note = self.notes(pid).get(note_id)
        if note is None:
            return None
        s, e = sentence_around(note.text, start, end) if sentence else (start, end)
        return Passage(pid, note_id, s, e, note.text[s:e], note.note_date, section, 0.0, source, list(fact_ids or []))

    def lexical(self, pid: str, query: str, k: int = 8, exclude: set | None = None) -> list[Passage]:
        """IDF-weighted token overlap over every sentence of the patient's notes (the fallback retriever)."""
        q = set(content_tokens(query))
        if not q:
            return []
        weights = {t: self.idf(pid, t) for t in q}
        total = sum(weights.values()) or 1.0
        scored = []
        for p, toks in zip(self.sentences(pid), self._patient(pid)[5]):
            if exclude and p.key in exclude:
                continue
            s = sum(w for t, w in weights.items() if t in toks) / total
            if s > 0:
                scored.append((s, p))
        scored.sort(key=lambda x: (-x[0], x[1].note_id, x[1].start))
        out = []
        for s, p in scored[:k]:
            out.append(Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, s, "lexical"))
        return out

    def neighbors(self, pid: str, passage: Passage, n: int = 2) -> list[Passage]:
        """Sentences right after (and before) a passage in its note: a heading's body, a list under a title."""
        sents = [p for p in self.sentences(pid) if p.note_id == passage.note_id]
        idx = [i for i, p in enumerate(sents) if p.end > passage.start and p.start < passage.end]
        if not idx:
            return []
        lo, hi = max(0, idx[0] - 1), min(len(sents), idx[-1] + 1 + n)
        return [Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, passage.score * 0.9,
                        "neighbor") for i, p in enumerate(sents[lo:hi], lo) if i not in idx]

    # -- retrieval --------------------------------------------------------------------------------
    def retrieve(self, pid: str, query: str, k: int = 8, mode: str = "hybrid",
                 options: list[str] | None = None) -> list[Passage]:
        """Hybrid retrieval when the index has chunks for the patient; lexical sentences otherwise.
        ``options``: a multiple-choice question's options, one sub-query each (every option's best evidence)."""
        hits = []
        if self._retriever_ok is not False:
            try:
                hits = self.ws.retriever.retrieve(pid, query, k=k, mode=mode, options=options or None)
                self._retriever_ok = True
            except ImportError as e:
                log.info("retriever unavailable (%s); lexical fallback", e)
                self._retriever_ok = False
            except Exception as e:  # a broken index must not stop the answer; fall back and say so in logs
                log.warning("retrieval failed (%s: %s); lexical fallback", type(e).__name__, e)
        out = [
            Passage(h.chunk.patient_id, h.chunk.note_id, h.chunk.start, h.chunk.end, h.chunk.text, h.chunk.note_date,
                    h.chunk.section, float(h.score), f"retrieval:{getattr(h, 'mode', mode)}")
            for h in hits
        ]
        foreign = self.foreign_notes(pid)
        out = [p for p in out if p.note_id not in foreign]
        self.last_retrieval = out[0].source if out else "lexical-fallback"
        if not out:
            out = self.lexical(pid, query, k)
        return out

    # -- graph / timeline -------------------------------------------------------------------------
    @property
    def graphs(self):
        if self._graphs_ok is False:
            return None
        try:
            g = self.ws.graphs
            self._graphs_ok = True
            return g
        except Exception as e:  # layer missing or failed to build
            log.info("graph layer unavailable (%s)", e)
            self._graphs_ok = False
            return None

    def _ev_passage(self, pid: str, ev, source: str, fact_id: str | None = None) -> Passage | None:
        return self.passage_for(pid, ev.note_id, ev.start, ev.end, source, section=getattr(ev, "section", None),
                                fact_ids=[fact_id or getattr(ev, "fact_id", None)] if (fact_id or getattr(ev, "fact_id", None)) else [])

    def resolve(self, pid: str, phrase: str) -> list[str]:
        g = self.graphs
        if g is None:
            return []
        try:
            return list(g.resolve(pid, phrase))
        except Exception as e:
            log.info("resolve failed: %s", e)
            return []

    def facts(self, pid: str, concept: str | None = None, assertion: str | None = None, limit: int = 40) -> list[FactRow]:
        """Fact mentions (all assertions unless filtered) for a concept, with their sentence as passage."""
        g = self.graphs
        rows: list[FactRow] = []
        if g is not None:
            try:
                res = g.facts(pid, name_or_code=concept, assertion=assertion)
                foreign = self.foreign_notes(pid)
                for v in [v for v in res if v.evidence.note_id not in foreign][:limit]:
                    p = self._ev_passage(pid, v.evidence, "fact", v.fact_id)
                    if p is None:
                        continue
                    rows.append(FactRow(v.fact_id, v.concept_name or v.name, v.type, v.assertion, v.date,
                                        _detail(v.attributes), dict(v.codes or {}), p, v.experiencer, v.historical))
                return rows
            except Exception as e:
                log.info("graph facts failed (%s); reading facts from the store", e)
        try:
            facts = self.store.facts(pid)
        except Exception:
            return []
        want = set(content_tokens(concept)) if concept else None
        foreign = self.foreign_notes(pid)
        for f in facts:
            if f.type.value == "SECTION" or f.type.value == "DATE" or f.note_id in foreign:
                continue
            if want is not None and not want <= set(content_tokens(f.name + " " + f.text)):
                continue
            if assertion and f.assertion.value != assertion:
                continue
            p = self.passage_for(pid, f.note_id, f.start, f.end, "fact", section=f.section, fact_ids=[f.fact_id])
            if p is None:
                continue
            rows.append(FactRow(f.fact_id, f.name, f.type.value, f.assertion.value, f.date, _detail(f.attributes),
                                dict(f.codes), p, f.experiencer.value, f.historical))
            if len(rows) >= limit:
                break
        return rows

    def _call(self, name: str, *args):
        g = self.graphs
        if g is None or not hasattr(g, name):
            return None
        try:
            return getattr(g, name)(*args)
        except Exception as e:
            log.info("graph %s failed: %s", name, e)
            return None

    def interval(self, pid: str, a: str, b: str) -> Computed | None:
        r = self._call("interval_between", pid, a, b)
        if r is None:
            return None
        if not getattr(r, "documented", True) or not hasattr(r, "days"):
            return Computed("interval", getattr(r, "message", f"interval {a} -> {b} not documented"), None, [], False)
        ps = [p for p in (self._ev_passage(pid, r.a_evidence, "timeline"), self._ev_passage(pid, r.b_evidence, "timeline")) if p]
        return Computed("interval", r.message, {"days": r.days, "a_date": r.a_date, "b_date": r.b_date}, ps)

    def dated_mention(self, pid: str, phrase: str, min_cover: float = 0.75) -> tuple[dt.date, Passage] | None:
        """Earliest dated sentence mentioning the phrase (explicit date in the sentence, else the note date)."""
        from agent.understand import find_dates

        best = None
        for p in self.lexical(pid, phrase, k=12):
            if p.score < min_cover:
                continue
            ds = find_dates(p.text)
            d = ds[0][0] if ds else p.note_date
            if d is not None and (best is None or d < best[0]):
                best = (d, p)
        return best

    def interval_from_notes(self, pid: str, a: str, b: str) -> Computed | None:
        """Fallback when the timeline cannot answer: days between the first dated mentions, computed in code."""
        ma, mb = self.dated_mention(pid, a), self.dated_mention(pid, b)
        if ma is None or mb is None:
            return None
        days = (mb[0] - ma[0]).days
        text = (f"{days} day(s) from {a} ({ma[0].isoformat()}) to {b} ({mb[0].isoformat()}); computed from the "
                f"dates of the first mentions in the notes")
        pa, pb = ma[1], mb[1]
        pa.source = pb.source = "timeline"
        return Computed("interval", text, {"days": days, "a_date": ma[0], "b_date": mb[0]}, [pa, pb])

    def named_lab_series(self, pid: str, phrases: list[str], units: set[str] | None = None
                         ) -> tuple[str | None, Computed | None]:
        """The dated series of the lab test a question names, and the words that named it.

        Word runs of up to three words are tried longest first; runs the lab vocabulary knows ("UPCR",
        "hemoglobin") come before other runs ("bleed admission"), so a test is not read from a stray word. For
        each run the graph's typed lab results come first, the notes' lab rows and sentences second. When the
        options give a unit, a series none of whose values carries it (up to an SI prefix) belongs to another
        test or is no series at all."""
        from agent.claims import cue_rx
        from agent.understand import STOPWORDS, find_dates, words

        runs = []
        for phrase in phrases:
            ws_ = phrase.split()
            for n in range(min(3, len(ws_)), 0, -1):
                for i in range(len(ws_) - n + 1):
                    sub = " ".join(ws_[i:i + n]).strip(" ,;:()")
                    if (len(sub) < 2 or sub in runs or find_dates(sub)
                            or any(cue_rx("extremes", k).search(sub) for k in ("max", "min"))
                            or re.search(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|^\d", sub, re.I)
                            or not [w for w in words(sub)
                                    if w not in STOPWORDS and w not in ("patient's", "change", "level")]):
                        continue  # an extreme, a date or a frame word is not a test name
                    runs.append(sub)
        known = [r for r in runs if is_lab_name(r)]
        for sub in known + [r for r in runs if r not in known]:
            for c in (self.lab_series(pid, sub), self.lab_series_from_notes(pid, sub)):
                if c is not None and _unit_fits(c.value["points"], units):
                    return sub, c
        return None, None

    def lab_series_from_notes(self, pid: str, test: str) -> Computed | None:
        """Fallback when the graph has no lab facts: '<test> ... <number> <unit>' in the notes, dated, in order."""
        from agent.understand import find_dates

        words = [w for w in re.findall(r"[A-Za-z0-9]+", test) if len(w) >= 2 or w.isdigit()]
        if not words:
            return None
        names = [words] + [re.findall(r"[A-Za-z0-9]+", al) for al in lab_aliases(test)]
        # "<test> 1.38 mg/dL", "<test>: 1.38", or a lab-table row "<test>      1.38  mg/dL  0.7-1.2  H"
        def name_rx(ws: list[str]) -> str:
            body = r"\W+".join(re.escape(w) for w in ws)
            # short abbreviations (Cr, K, Hb) only as written in capitals, so "cr" inside words or "ca" never hit
            return body if len("".join(ws)) > 3 else "(?-i:" + "|".join({body.capitalize(), body.upper()}) + ")"

        alts = "|".join(dict.fromkeys(name_rx(ws) for ws in names if ws))
        rx = re.compile(r"(?<![A-Za-z0-9])(?:" + alts + r")(?![A-Za-z0-9])(?:[ \t]{2,60}|[^0-9\n]{0,25}?)(?<![-\d])"
                        r"(\d+(?:[.,]\d+)?)(?![-\d])\s*([%a-zA-Z/µ][%a-zA-Z/µ0-9.]*)?", re.I)
        points = []
        for p in self.sentences(pid):
            for m in rx.finditer(p.text):
                if _LAB_COMPARATOR.search(p.text[m.start():m.start(1)]):
                    continue  # "rises above 0.5 g/g", "Hb < 8": a threshold, not a result
                ds = find_dates(p.text)
                day = ds[0][0] if ds else p.note_date
                points.append((day, float(m.group(1).replace(",", ".")), m.group(2) or "", p))
        points = [x for x in points if x[0] is not None]
        if len(points) < 2:
            return None
        points.sort(key=lambda x: (x[0], x[3].note_id, x[3].start))
        vals = [v for _, v, _, _ in points]
        trend = "increasing" if vals[-1] > vals[0] else "decreasing" if vals[-1] < vals[0] else "unchanged"
        series = ", ".join(f"{d.isoformat()}: {v:g} {u}".strip() for d, v, u, _ in points)
        ps = []
        for _, _, _, p in points:
            if p not in ps:
                ps.append(p)
        return Computed("lab_series", f"{test} series: {series} (overall {trend}; computed from the notes)",
                        {"points": [{"date": d, "value": v, "unit": u} for d, v, u, _ in points], "trend": trend},
                        [Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, 0.0, "timeline")
                         for p in ps[:8]])

    def order(self, pid: str, concepts: list[str]) -> Computed | None:
        r = self._call("order", pid, concepts)
        if r is None:
            return None
        ps = [p for it in r.items for p in [self._ev_passage(pid, it.evidence, "timeline")] if p]
        value = [{"query": it.query, "name": it.name, "date": it.date} for it in r.items]
        return Computed("order", r.message, {"items": value, "not_documented": list(r.not_documented)}, ps, bool(r.items))

    def first_last(self, pid: str, concept: str, which: str = "first") -> Computed | None:
        r = self._call(which, pid, concept)
        if r is None:
            return None
        if not getattr(r, "date", None) and not hasattr(r, "evidence"):
            return Computed(which, getattr(r, "message", "not documented"), None, [], False)
        p = self._ev_passage(pid, r.evidence, "timeline")
        text = f"{which} {r.event_type.replace('_', ' ')} of {r.name}: {r.date.isoformat() if r.date else 'undated'}" + (
            f" ({r.detail})" if r.detail else "")
        return Computed(which, text, {"name": r.name, "date": r.date, "event": r.event_type}, [p] if p else [])

    def count(self, pid: str, concept: str) -> Computed | None:
        r = self._call("count", pid, concept)
        if r is None:
            return None
        ps = [p for e in r.events[:12] for p in [self._ev_passage(pid, e.evidence, "timeline")] if p]
        return Computed("count", r.message, {"count": r.count, "repeats_ignored": r.repeats_ignored}, ps, r.count > 0)

    def lab_series(self, pid: str, test: str) -> Computed | None:
        r = self._call("lab_series", pid, test)
        if r is None or not r.points:
            return None
        ps, seen = [], set()
        for pt in r.points:  # every value's passage: the verifier re-reads each one (a table row holds several)
            p = self._ev_passage(pid, pt.evidence, "timeline")
            if p is not None and (p.note_id, p.start, p.end) not in seen:
                seen.add((p.note_id, p.start, p.end))
                ps.append(p)
        pts = [{"date": pt.date, "value": pt.value, "unit": pt.unit, "abnormal": pt.abnormal} for pt in r.points]
        series = ", ".join(f"{pt['date'] or 'undated'}: {pt['value']} {pt['unit'] or ''}".strip() for pt in pts)
        trend = None
        vals = [pt["value"] for pt in pts if isinstance(pt["value"], (int, float))]
        if len(vals) >= 2:
            trend = "increasing" if vals[-1] > vals[0] else "decreasing" if vals[-1] < vals[0] else "unchanged"
        text = f"{r.name} series: {series}" + (f" (overall {trend})" if trend else "")
        return Computed("lab_series", text, {"points": pts, "trend": trend}, ps)

    def timeline(self, pid: str, start=None, end=None, limit: int = 30) -> list[Computed]:
        r = self._call("timeline", pid, None, start, end)
        if r is None:
            return []
        out = []
        for e in list(r)[:limit]:
            p = self._ev_passage(pid, e.evidence, "timeline")
            out.append(Computed("event", f"{e.date.isoformat() if e.date else 'undated'} {e.event_type}: {e.name}"
                                + (f" ({e.detail})" if e.detail else ""), {"name": e.name, "date": e.date}, [p] if p else []))
        return out




def _vocab_aliases(resource: str, section: str, field: str) -> dict[str, list[str]]:
    """name/term (lower case) -> the other names of the same entry, from an extractors vocabulary (cached)."""
    cache = _ALIASES.get(resource)
    if cache is None:
        cache = _ALIASES[resource] = {}
        try:
            import json
            from importlib import resources

            data = json.loads(resources.files("extractors.resources").joinpath(resource).read_text())
            for entry in data.get(section, []):
                names = [entry["name"], *entry.get(field, [])]
                for n in names:
                    cache.setdefault(n.lower(), []).extend(x for x in names if x.lower() != n.lower())
        except Exception as e:  # the vocabulary is optional: the phrase's own words still work
            log.info("%s vocabulary unavailable (%s)", resource, e)
    return cache


_ALIASES: dict[str, dict[str, list[str]]] = {}


def lab_aliases(test: str) -> list[str]:
    """Other names of a lab test ("creatinine" -> cr, creat, scr, ...) from the extractors' lab vocabulary."""
    return list(dict.fromkeys(_vocab_aliases("labs.json", "labs", "aliases").get(" ".join(test.lower().split()), [])))


def is_lab_name(name: str) -> bool:
    """Whether the lab vocabulary knows ``name`` as a test's name or alias ("UPCR", "haemoglobin")."""
    return " ".join(name.lower().split()) in _vocab_aliases("labs.json", "labs", "aliases")


def _unit_fits(points: list[dict], units: set[str] | None) -> bool:
    """Some value of the series carries one of ``units``, or the same unit with another SI prefix; no units asked
    means any series fits."""
    from agent.understand import same_quantity

    return not units or any(same_quantity(pt.get("unit"), u) for pt in points for u in units)


def procedure_aliases(name: str) -> list[str]:
    """Other names of a procedure / imaging study ("bone scan" -> bone scintigraphy, ...) from the extractors'
    procedure vocabulary: an option may name a study otherwise than its report does."""
    return list(dict.fromkeys(_vocab_aliases("procedures.json", "procedures", "terms").get(" ".join(name.lower().split()), [])))


def _detail(attrs: dict) -> str:
    if not attrs:
        return ""
    keys = ("value", "unit", "dose", "route", "frequency", "change", "abnormal")
    return " ".join(str(attrs[k]) for k in keys if attrs.get(k) not in (None, ""))


# -- dated events from option phrases -------------------------------------------------------------------
_EVENT_CUE = re.compile(
    r"^(?:the\s+)?(start|starting|initiation|introduction|beginning|onset|first episode|development|stop|stopping|"
    r"discontinuation|cessation|withdrawal|dose (?:change|increase|reduction|adjustment)|change in (?:the )?dose|"
    r"increase|reduction|switch)\s+(?:of|in|to|from)\s+(?:the\s+)?(.+)$", re.I)
_CUE_WORDS = {
    "start": r"\b(start|started|initiat|began|begun|commenced|introduc|switched to|was given|prescribed|added|cycle 1\b)",
    "onset": r"\b(for the past|since|began|started|developed|onset|new|c/o|complain|reports?)\b",
    "stop": r"\b(stop|discontinu|ceased|withdrawn|switched|held)\w*",
    "dose": r"\b(increas|decreas|reduc|titrat|adjust|changed|uptitrat|escalat)\w*",
    # the direction of a dose change, when the event phrase names one ("reduction of X to 720 mg")
    "dose_down": r"\b(decreas|reduc|lower|cut|taper|de-?escalat|halv)\w*",
    "dose_up": r"\b(increas|rais|uptitrat|escalat|doubl)\w*",
}
_REL_AGO = re.compile(r"\b(?:for the (?:past|last)|since|over the (?:past|last))\s+(\d+|one|two|three|four|five|six|seven|"
                      r"eight|nine|ten)\s+(day|week|month)s?\b|\b(\d+|an?|one|two|three|four|five|six)\s+(day|week|month)s?\s+ago\b", re.I)
_NUMW = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _cue_kind(cue: str | None) -> str | None:
    if not cue:
        return None
    c = cue.lower()
    if c.startswith(("start", "initiation", "introduction", "beginning")):
        return "start"
    if c.startswith(("onset", "first episode", "development")):
        return "onset"
    if c.startswith(("stop", "discontinuation", "cessation", "withdrawal", "switch")):
        return "stop"
    return "dose"


@functools.lru_cache(maxsize=1)
def _event_fillers() -> re.Pattern:
    """Auxiliaries and verbs of mere occurrence an event clause wraps its thing in (query_cues.json)."""
    from agent.resources import load

    return re.compile(r"\b(?:%s)\b" % "|".join(map(re.escape, load("query_cues")["event_fillers"])), re.I)


def split_event_phrase(phrase: str) -> tuple[str | None, str]:
    """'the start of nitrofurantoin' -> ('start', 'nitrofurantoin'); 'the colonoscopy' -> (None, 'colonoscopy')."""
    p = phrase.strip().strip(".")
    m = _EVENT_CUE.match(p)
    if m:
        return _cue_kind(m.group(1)), m.group(2).strip()
    # a clause ("Domperidone was started", "the akathisia began", "colonoscopy performed"): its event word names
    # the kind, the rest names the thing
    from agent.intent import shared_parser

    spans = [x for x in shared_parser().relation_spans(p) if x[0] in ("start", "onset", "stop", "change")]
    kind = {"start": "start", "onset": "onset", "stop": "stop", "change": "dose"}[spans[0][0]] if spans else None
    for _, s, e in reversed(spans):
        p = p[:s] + " " + p[e:]
    p = " ".join(_event_fillers().sub(" ", p).split())
    if kind == "start" and any(t == "problem" for _, _, t in shared_parser().typed_mentions(p)):
        kind = "onset"  # a problem that "began" had an onset, not a start
    return kind, re.sub(r"^(?:(?:of|the|a|an)\s+)+", "", p, flags=re.I) or phrase.strip()


def relative_onset(text: str, note_date: dt.date | None) -> dt.date | None:
    """'for the past 26 days' / '3 weeks ago' in a note of date D -> D minus that duration."""
    if note_date is None:
        return None
    m = _REL_AGO.search(text)
    if not m:
        return None
    n, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    k = int(n) if n.isdigit() else _NUMW.get(n.lower(), 0)
    days = k * {"day": 1, "week": 7, "month": 30}[unit.lower()]
    return note_date - dt.timedelta(days=days) if days else None


_SINCE_DATE = re.compile(r"\b(?:since|beginning|starting|from|began on|started on|onset on|onset)\s+", re.I)
_SYMPTOM_CUE = re.compile(r"\b(c/o|complain\w*|reports?|reported|describes?|notes?|noticed|developed|experienc\w*|"
                          r"presents? with|suffer\w*|onset)\b", re.I)


def onset_of(p: Passage) -> tuple[dt.date, str] | None:
    """A sentence's own onset date: "for the past 6 days" before the note date, or "since 30 August 2015"."""
    from agent.understand import find_dates

    rel = relative_onset(p.text, p.note_date)
    if rel is not None:
        return rel, "relative"
    for m in _SINCE_DATE.finditer(p.text):
        ds = find_dates(p.text[m.end():m.end() + 30])
        if ds:
            return ds[0][0], "since"
    return None


def _onset_date(self: Toolbox, pid: str, event: str, drug: str | None = None, not_before: dt.date | None = None,
                ignore: frozenset = frozenset()):
    """When did a symptom / adverse event begin?  -> (date, passage, how) or None.

    A sentence that names the event with a duration or a since-date dates it directly. Often the diagnosing
    note tells the complaint in other words ("restlessness ... since 03/04/2021") and names the diagnosis
    elsewhere ("switched because of metoclopramide-induced akathisia"): then the complaint with an onset that
    stands nearest to the naming sentence, in that note, is the event's (text copied forward from an earlier
    note is not). With ``drug`` the naming sentence must name it too; onsets before ``not_before`` are
    another episode."""
    ew = {t: self.idf(pid, t) for t in content_tokens(event) if t not in ignore}
    dw = {t for t in content_tokens(drug or "") if t not in ignore}
    if not ew:
        return None
    total = sum(ew.values()) or 1.0
    by_note: dict[str, list[tuple[Passage, frozenset]]] = {}
    for p, toks in zip(self.sentences(pid), self._patient(pid)[5]):
        by_note.setdefault(p.note_id, []).append((p, toks))
    cands = []  # (rank, distance, onset, passage, how): 0 = the sentence names the event, 1 = via the naming note
    links: dict[str, list[int]] = {}
    for nid, sents in by_note.items():
        for p, toks in sents:
            cov = sum(v for t, v in ew.items() if t in toks) / total
            if cov >= 0.5:
                o = onset_of(p)
                if o is not None and (not_before is None or o[0] >= not_before):
                    cands.append((0, 0, o[0], p, o[1]))
            if (cov >= 0.3 and dw & toks) if dw else cov >= 0.5:
                links.setdefault(nid, []).append(p.start)
    notes = self.notes(pid)
    for nid, at in links.items():
        note = notes.get(nid)
        older = [n.text for n in notes.values() if note is not None and n.note_id != nid and n.note_date
                 and note.note_date and n.note_date < note.note_date]
        for p, toks in by_note[nid]:
            if (dw and dw & toks) or not _SYMPTOM_CUE.search(p.text) or any(p.text in t for t in older):
                continue  # the drug's own sentences; no complaint; text copied forward from an earlier note
            o = onset_of(p)
            if o is not None and (not_before is None or o[0] >= not_before):
                cands.append((1, min(abs(p.start - x) for x in at), o[0], p, o[1]))
    if not cands:
        return None
    cands.sort(key=lambda c: (c[0], c[1], c[2], c[3].note_id, c[3].start))
    _, _, day, p, how = cands[0]
    return day, p, how if cands[0][0] == 0 else f"{how}, in the note naming it"


Toolbox.onset_date = _onset_date


def _event_date_of(self: Toolbox, pid: str, phrase: str, min_cover: float = 0.6):
    """When did the event an option names happen?  -> (date, passage, how) or None.

    The phrase's head ("start of", "onset of", "dose change of") picks the sentences that describe that event;
    the date is the sentence's own date (explicit, or "for the past N days" before the note date), else the
    note's date; the earliest such date of the best-matching sentences is the event's date."""
    from agent.understand import find_dates

    cue, target = split_event_phrase(phrase)
    rank = _ranks(phrase, target)
    if rank:  # the ordinal is checked on each sentence below; the search looks for the thing it ranks
        target = _ORDINAL.sub(" ", target).strip()
    if not content_tokens(target):
        return None
    hits = self.lexical(pid, target, k=40)
    if cue == "onset":
        # a symptom's onset is told as a duration ("pain in the Achilles tendon for the past 26 days"); the
        # sentence names it in its own words, so a partial match that dates it beats a full one that does not
        rel = [(relative_onset(p.text, p.note_date), p) for p in hits if p.score >= 0.3]
        rel = [(d, p) for d, p in rel if d is not None]
        if rel:
            rel.sort(key=lambda x: (-round(x[1].score, 2), x[0]))
            return rel[0][0], rel[0][1], "relative"
        linked = self.onset_date(pid, target)  # the complaint told in other words in the note naming the event
        if linked is not None:
            return linked
    cands = [p for p in hits if p.score >= min_cover]
    for alias in ([] if cands else procedure_aliases(target)):
        cands = [p for p in self.lexical(pid, alias, k=40) if p.score >= min_cover]
        if cands:
            break  # "the bone scan" is reported as "Bone scintigraphy"
    if not cands:
        cands = _covered_with_heading(self, pid, target, hits, min_cover)
    if rank:  # "the first infusion": a sentence that ranks the thing otherwise ("the second infusion") tells another
        # event; one that ranks it both ways ("first dose on 15.11.2023, second dose given today") tells this event
        # in the part that starts at this rank's ordinal
        def ranked(ps):
            return [p if _ranks(p.text, target) <= rank else _rank_part(p, target, rank) for p in ps
                    if _ranks(p.text, target) <= rank or rank <= _ranks(p.text, target)]

        cands = ranked(cands)
        # a sentence that gives the thing this very rank tells it, even in fewer of its words ("Session 1 on
        # 10.01.2023" for "the first EVL session"); one that names it unranked ("Next EVL session in 4 weeks") may
        # tell any occurrence
        exact = [p for p in cands if rank & _ranks(p.text, target)]
        cands = exact or [p for p in ranked(x for x in hits if x.score >= min_cover / 2)
                          if rank & _ranks(p.text, target)] or cands
    role = anchor_role(phrase) or ("admission" if _ARRIVAL.search(phrase) else None)
    if not cands:
        return self.stay_date(pid, role, phrase) if role else None
    rx = re.compile(_CUE_WORDS[cue], re.I) if cue else None
    if rx is not None:  # the sentences that tell the event ("was reduced to 720 mg"), before the best-covering ones
        # (a medication table's "720 mg | twice daily | maintenance" names the dose, not its change)
        cued = [p for p in cands if rx.search(p.text)]
        way = next((k for k in ("dose_down", "dose_up")
                    if cue == "dose" and re.search(_CUE_WORDS[k], phrase, re.I)), None)
        if way:  # "reduction of X": a sentence that reduces it ("the dose was reduced to 720 mg", which need not
            # repeat the drug's name), not one that raises it
            same_way = [p for p in hits if p.score >= min_cover - 0.15 and re.search(_CUE_WORDS[way], p.text, re.I)]
            cued = same_way or cued
        if cued:
            cands = cued
        elif cue == "dose":
            return None  # a dose change must be described as one
    top = max(p.score for p in cands)
    cands = [p for p in cands if p.score >= top - 0.15]
    explicit, implicit = [], []
    weights = {t: self.idf(pid, t) for t in content_tokens(target)}
    for p in cands:
        rel = relative_onset(p.text, p.note_date) if cue in (None, "onset") else None
        ds = [d for d, _ in find_dates(p.text)]
        noted = self.role_date(pid, p.note_id, role) if role and not ds and rel is None else None
        if rel is not None:
            explicit.append((rel, p, "relative"))
        elif ds:
            # a stay written as a range ("admission 06/14-06/21/2023"): the end the event's role names
            own = self.role_date(pid, p.note_id, role, within=(p.start, p.end)) if role else None
            explicit.append((own[0] if own else _date_nearest(p.text, target, weights) or min(ds), p, "explicit"))
        elif noted is not None:
            # "admitted with RLL pneumonia" in a note that writes "admitted 05/19/2023": the note's own date of
            # that admission (its sentence is the evidence), not the day the note was written
            explicit.append((*noted, f"the note's {role} date"))
        elif p.note_date is not None and _SAME_DAY.search(p.text):
            explicit.append((p.note_date, p, "the day of its note"))  # "3 bands placed today (session 2)"
        elif p.note_date is not None and _REPORT_HEAD.match(p.text):
            explicit.append((p.note_date, p, "the date of its report"))  # "Examination: CT pulmonary angiography"
        elif p.note_date is not None:
            implicit.append((p.note_date, p, "note date"))
    pool = explicit or implicit
    if not pool:
        return None
    pool.sort(key=lambda x: (x[0], x[1].note_id, x[1].start))
    return pool[0]


Toolbox.event_date = _event_date_of


def _covered_with_heading(self: Toolbox, pid: str, target: str, hits: list[Passage], min_cover: float) -> list[Passage]:
    """Sentences that cover an event phrase together with their note's heading: "PCV20 vaccination in the
    pulmonology clinic" is told as "Today we administered PCV20" in the note headed "Pulmonology Outpatient
    Clinic". The heading may only add the words of where or by whom: the sentence itself must name the rarest of
    the phrase's other words that the record holds (the thing done)."""
    weights = {t: self.idf(pid, t) for t in content_tokens(target)}
    total = sum(weights.values()) or 1.0
    out = []
    for p in hits:
        own, heading = set(content_tokens(p.text)), self.note_heading_tokens(pid, p.note_id)
        what = {t: w for t, w in weights.items() if t not in heading and self.doc_freq(pid, t)}
        rarest = max(what.values(), default=None)
        if rarest is None or not any(t in own for t, w in what.items() if w == rarest):
            continue
        cover = sum(w for t, w in weights.items() if t in own | heading) / total
        if cover >= min_cover:
            out.append(Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, p.section, cover,
                               p.source))
    return out


def _query_words(name: str) -> str:
    """One query_cues word list as a regex alternation."""
    return "|".join(map(re.escape, load_resource("query_cues")[name]))


_LAB_COMPARATOR = re.compile(r"(?<![A-Za-z])(?:" + _query_words("lab_comparators") + r")(?![A-Za-z])", re.I)
_ORDINAL = re.compile(r"\b(?:" + _query_words("ordinals") + r")\b", re.I)
_ARRIVAL = re.compile(r"\b(?:" + _query_words("arrival_words") + r")\b", re.I)
_REPORT_HEAD = re.compile(r"\s*(?:" + _query_words("report_heads") + r")\s*:", re.I)
_SAME_DAY = re.compile(r"\b(?:" + _query_words("same_day_words") + r")\b", re.I)


def _role_date(self: Toolbox, pid: str, note_id: str, role: str,
               within: tuple[int, int] | None = None) -> tuple[dt.date, Passage] | None:
    """The date a note writes for its admission, discharge or surgery (the extractors' DATE facts of that role),
    with the sentence that writes it; ``within``: only a date written inside that span of the note."""
    dated = [f for f in self.store.facts(pid, note_id)
             if f.type == FactType.DATE and f.date is not None and f.attributes.get("role") == role
             and (within is None or within[0] <= f.start < within[1])]
    if not dated:
        return None
    f = min(dated, key=lambda f: (f.date, f.start))
    p = self.passage_for(pid, note_id, f.start, f.end, "timeline")
    return (f.date, p) if p is not None else None


Toolbox.role_date = _role_date


def _stay_date(self: Toolbox, pid: str, role: str, phrase: str):
    """'the discharge for the February-March 2024 inpatient stay': no sentence says it in those words, but the
    record's dates of that role (a stay's range, 'discharged on ...') in the months the phrase names do, when they
    agree on one day.  -> (date, passage, how) or None."""
    months = months_in(phrase)
    own = set(self.notes(pid)) - self.foreign_notes(pid)
    got = [f for f in self.store.facts(pid) if f.note_id in own and f.type == FactType.DATE and f.date is not None
           and f.attributes.get("role") == role and (not months or (f.date.year, f.date.month) in months)]
    if len({f.date for f in got}) != 1:
        return None
    f = got[0]
    p = self.passage_for(pid, f.note_id, f.start, f.end, "timeline")
    return (f.date, p, f"the record's {role} date") if p is not None else None


Toolbox.stay_date = _stay_date


def _rank_mentions(text: str, target: str) -> list[tuple[int, int]]:
    """(offset, rank) of each ordinal word the text gives the target ("the second ferric carboxymaltose infusion"
    -> rank 2): an ordinal counts when one of the target's words follows it within three words (query_cues'
    ordinals); so does a number after one of the target's words that names a repeated event ("EVL session 2",
    query_cues' numbered_events)."""
    ordinals = load_resource("query_cues")["ordinals"]
    want = set(content_tokens(_ORDINAL.sub(" ", target)))
    words = [(m.start(), m.group(0).lower()) for m in re.finditer(r"[A-Za-z0-9]+", text)]
    out = [(at, ordinals[w]) for i, (at, w) in enumerate(words)
           if w in ordinals and any(set(content_tokens(x)) & want for _, x in words[i + 1:i + 4])]
    # a number after the target's event noun ranks it too ("EVL session 2", "cycle #3"), not a measured amount
    for s, _, v, unit, _ in number_spans(text):
        noun = numbered_noun(text, s)
        if (unit is None and v == int(v) and 1 <= v <= max(ordinals.values()) and noun is not None
                and set(content_tokens(noun[1])) & want):
            out.append((noun[0], int(v)))
    return sorted(out)


def numbered_noun(text: str, at: int) -> tuple[int, str] | None:
    """(offset, noun) of the repeated event's noun that the number at ``at`` follows ("Cycle 6", "EVL session 2",
    "infusion no. 2": query_cues' numbered_events): the number names which occurrence, it counts nothing."""
    m = re.search(r"([A-Za-z]+)\s*(?:#|no\.|number)?\s*$", text[max(0, at - 30):at])
    if m is None or m.group(1).lower() not in load_resource("query_cues")["numbered_events"]:
        return None
    return max(0, at - 30) + m.start(1), m.group(1)


def _ranks(text: str, target: str) -> set[int]:
    """The ranks the text's ordinal words give the target (``_rank_mentions``)."""
    return {r for _, r in _rank_mentions(text, target)}


def _rank_part(p: Passage, target: str, rank: set[int]) -> Passage:
    """The part of a sentence that tells the ranked occurrence: from its ordinal word to the next ordinal of the
    target ("..., second dose given today" of "first dose on 15.11.2023, second dose given today"), an exact span of
    the same note."""
    spots = _rank_mentions(p.text, target)
    starts = [a for a, r in spots if r in rank]
    if not starts:
        return p
    a = starts[0]
    b = min((x for x, _ in spots if x > a), default=len(p.text))
    text = p.text[a:b].rstrip(" ,;")
    return Passage(p.patient_id, p.note_id, p.start + a, p.start + a + len(text), text, p.note_date, p.section,
                   p.score, p.source, list(p.fact_ids))


def _date_nearest(text: str, target: str, weights: dict[str, float] | None = None):
    """Of several dates in one sentence, the one written nearest the target's mention ("MMF (switched 04.04.2023);
    atovaquone (12.07.2023)": atovaquone's is the second); None when the target is not found by its words.

    A mention is a run of the target's words (stopwords may come between, punctuation may not: "low-dose CT of the
    chest"); the run that holds the most of them, weighted by ``weights`` (the record's idf) when given, places the
    event: in "Follow-up on 16.05.2024 with low-dose CT of the chest on 14.05.2024", the CT, not the follow-up; in
    "Apixaban 2.5 mg ...; since 17.05.2024 (5 mg from 23.02.2024)" the drug, not a lone dose unit. A date's distance
    is the gap between its span and the mention's."""
    from agent.understand import STOPWORDS, find_dates

    want = set(content_tokens(target))
    toks = [(m.start(), m.end(), set(content_tokens(m.group(0))) & want, m.group(0).lower())
            for m in re.finditer(r"\d+(?:[.,]\d+)*|[A-Za-z][A-Za-z0-9\-/+']*", text)]
    runs, cur = [], None  # (start, end, target words in it); a run stops at punctuation ("...); torasemide")
    for a, b, hit, low in toks:
        if cur and re.search(r"[;,:()\[\]\n]", text[cur[1]:a]):
            runs.append(cur)
            cur = None
        if hit:
            cur = (cur[0], b, cur[2] | hit) if cur else (a, b, set(hit))
        elif low not in STOPWORDS and cur:
            runs.append(cur)
            cur = None
    if cur:
        runs.append(cur)
    if not runs:
        return None
    score = lambda ws: sum((weights or {}).get(t, 1.0) if weights else 1.0 for t in ws)  # noqa: E731
    top = max(score(r[2]) for r in runs)
    spans = [(a, b) for a, b, ws in runs if score(ws) >= top - 1e-9]
    dated = [(d, text.find(surface), text.find(surface) + len(surface)) for d, surface in find_dates(text)]
    cuts = [0] + [m.end() for m in re.finditer(r"[;\n]", text)] + [len(text) + 1]
    part = lambda i: max(j for j, c in enumerate(cuts) if c <= i)  # noqa: E731 (the ';'-separated item of a list)
    gap = lambda ds, de, ms, me: ms - de if de <= ms else ds - me if ds >= me else 0  # noqa: E731
    # a date in the mention's own list item first, then the nearest; at equal distance the one after ("X on <date>")
    return min(dated, key=lambda x: min((part(x[1]) != part(ms), gap(x[1], x[2], ms, me), x[1] < ms)
                                        for ms, me in spans))[0] if dated else None
