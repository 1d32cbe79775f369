"""Claims that contradict the record's structured lists: a conflict is shown to the user, never used as an answer.

A note sentence can state, without addressing any reader, something the same record's lists deny: "the patient has
no allergies and takes warfarin, not apixaban" while the allergy list names penicillin and the medication list
apixaban. Such a sentence is not flagged as an injection (it is a plain clinical statement), so the verifier asks
here whether the sentences an answer cites contradict a list.

Everything comes typed from the store's facts: the section each fact sits in (the lists), its assertion (negation
is the assertion engine's decision, not re-read here), its ``change`` attribute (stopped, switched, held), the
historical flag and the note's date. Cue words (``agent/resources/conflict_cues.json``, versioned) only name the list sections, the replacement
wording the extractors do not type ("instead of X", "X was replaced by"), and the scope of an allergy denial
("no known drug allergies" denies them all, "no food allergies" does not). A change is not a conflict: a drug said
not taken is contradicted by a current list of the same note or the same day; a drug said stopped or replaced only by a list of
the same note that comes after the change (a discharge list, or any current list when the note reports the change
rather than ordering it in the plan): a stop the note places in the past, a change on another day, an admission
list before an in-stay change and a plan that stops a listed drug are the record's history. An allergy denial is
contradicted by a list documented no later than the denial (allergies persist; one found later is news).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from agent.injection import tokenize
from agent.records import Conflict, NoteSpan
from agent.resources import load
from agent.tools import sentence_around, split_sentences
from clinqa.records import Assertion, Fact, FactType, Note

_CODE_SYSTEMS = ("DRUGBANK", "RXNORM", "UNII")  # substance-level codes: two names with one of them are one drug
_CLAUSE_END = frozenset(".;:!?")


def _words(text: str) -> list[str]:
    return tokenize(text)[0]


def _phrases(entries: list[str]) -> list[tuple[str, ...]]:
    return sorted({tuple(_words(e)) for e in entries if _words(e)}, key=len, reverse=True)


def _ends_with(words: list[str], phrases, slack: int) -> bool:
    """A phrase ends at most ``slack`` words before the end of ``words``, with no punctuation after it but the
    slash of a combination ("replaces tiotropium/olodaterol")."""
    words = [w for w in words if w != "/"]
    for k in range(slack + 1):
        if k > len(words) or (k and not words[-k][0].isalnum()):
            return False
        tail = words[: len(words) - k]
        if any(tuple(tail[-len(p):]) == p for p in phrases if len(tail) >= len(p)):
            return True
    return False


def _starts_with(words: list[str], phrases, slack: int) -> bool:
    """A phrase starts at most ``slack`` words into ``words``, before any clause mark."""
    words = [w for w in words if w != "/"]
    for k in range(min(slack, len(words)) + 1):
        if k and words[k - 1] in _CLAUSE_END:
            return False
        if any(tuple(words[k:k + len(p)]) == p for p in phrases):
            return True
    return False


def _trigger_spans(f: Fact, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Each assertion cue that decided ``f`` (the engine's ``rule_id:trigger`` records), where it occurs in
    ``text[start:end]`` nearest to the mention (note offsets)."""
    low = text[start:end].lower()
    out = []
    for trig in f.assertion_triggers:
        for piece in (x.strip().lower() for x in trig.split(":")[1:]):
            found = [(start + m.start(), start + m.end())
                     for m in re.finditer(rf"(?<!\w){re.escape(piece)}(?!\w)", low)] if piece else []
            if found:
                out.append(min(found, key=lambda sp: f.start - sp[1] if sp[1] <= f.start else sp[0] - f.end + 10**6))
    return out


def _trigger_before(f: Fact, text: str, sentence_start: int) -> tuple[int, int] | None:
    """The cue before the mention that starts first ("no other known allergies": "no", not "known"); None when the
    cue follows the mention ("allergy ... was not given") or is not found."""
    spans = _trigger_spans(f, text, sentence_start, f.start)
    return min(spans) if spans else None


@dataclass
class _Record:
    """One patient's notes and facts, indexed for the checks (rebuilt when the store's generation changes)."""

    generation: str
    notes: dict[str, Note]
    facts: dict[str, list[Fact]] = field(default_factory=dict)  # note id -> facts
    medications: list[Fact] = field(default_factory=list)  # present, current entries of medication lists
    allergens: list[Fact] = field(default_factory=list)  # present drug entries of allergy lists


class ConflictChecker:
    """``run(patient_id, passages) -> list[Conflict]``: the claims in those note spans that a list contradicts.

    ``tools``: the agent's Toolbox (the store's notes and typed facts). ``cues``: the parsed cue resource.
    """

    def __init__(self, tools, cues: dict | None = None):
        c = cues or load("conflict_cues")
        if "version" not in c:
            raise ValueError("conflict cues have no version")
        self.version = c["version"]
        self.tools = tools
        self.med_sections = frozenset(c["medication_list_sections"])
        self.before_stay = frozenset(c["before_stay_sections"])
        self.after_change = frozenset(c["after_change_sections"])
        self.change_orders = frozenset(c["change_order_sections"])
        self.allergy_sections = frozenset(c["allergy_list_sections"])
        self.stopped = frozenset(c["stopped_changes"])
        self.event_negations = frozenset(c["event_only_negations"])
        self.replaced_before = _phrases(c["replaced_before"])
        self.replaced_after = _phrases(c["replaced_after"])
        self.before_window = int(c["before_window_words"])
        self.after_window = int(c["after_window_words"])
        self.allergy_heads = _phrases(c["allergy_heads"])
        self.denial_scope = frozenset(c["allergy_denial_scope"])
        self.denial_objects = frozenset(c["allergy_object_markers"])
        self.no_allergy = frozenset(c["no_allergy_abbreviations"])
        self._records: dict[str, _Record] = {}

    # -- public -------------------------------------------------------------------------------------------
    def run(self, patient_id: str, passages) -> list[Conflict]:
        """Conflicts whose claim sentence overlaps one of ``passages`` (anything with note_id, start, end)."""
        rec = self._record(patient_id)
        out: list[Conflict] = []
        seen: set[tuple] = set()
        for p in passages:
            note = rec.notes.get(p.note_id)
            if note is None:
                continue
            for c in self._claims(rec, note, p.start, p.end):
                key = (c.kind, c.claim.note_id, c.claim.start, tuple((f.note_id, f.start) for f in c.facts))
                if key not in seen:
                    seen.add(key)
                    out.append(c)
        return out

    def cited(self, ctx, evidence_ids: list[str]) -> list[Conflict]:
        """Conflicts in the passages behind an answer's evidence ids (what the answer rests on)."""
        known = ctx.ids()
        passages = [ctx.passages[e] for r in evidence_ids if r in known for e in ctx.evidence_of(r)]
        return self.run(ctx.patient_id, passages)

    # -- the record -----------------------------------------------------------------------------------------
    def _record(self, pid: str) -> _Record:
        gen = self.tools.store.generation(pid)
        rec = self._records.get(pid)
        if rec is not None and rec.generation == gen:
            return rec
        notes = self.tools.notes(pid)
        rec = _Record(gen, notes)
        for f in self.tools.store.facts(pid):
            if f.note_id not in notes:  # inactive versions and another patient's documents
                continue
            rec.facts.setdefault(f.note_id, []).append(f)
        for nid, facts in rec.facts.items():
            text = notes[nid].text
            # an allergy section that says "no known allergies" lists none (a drug after it is another section's)
            none_listed = any(f.section in self.allergy_sections and f.type == FactType.PROBLEM
                              and f.assertion == Assertion.ABSENT and self._denies_allergies(f, text) for f in facts)
            for f in facts:
                if f.type != FactType.DRUG or f.assertion != Assertion.PRESENT or f.experiencer.value != "patient":
                    continue
                if f.section in self.allergy_sections:
                    if not none_listed:
                        rec.allergens.append(f)
                elif f.section in self.med_sections and not f.historical and not self._no_longer_taken(f, text, facts):
                    rec.medications.append(f)
        self._records[pid] = rec
        return rec

    # -- claims -----------------------------------------------------------------------------------------------
    def _claims(self, rec: _Record, note: Note, start: int, end: int) -> list[Conflict]:
        facts = rec.facts.get(note.note_id, [])
        out = []
        for f in facts:
            if not (start <= f.start and f.end <= end) or f.experiencer.value != "patient":
                continue
            if f.type == FactType.DRUG and f.section not in self.allergy_sections and self._denied(f, note.text, facts):
                out += self._medication_conflict(rec, note, f)
            elif f.type == FactType.PROBLEM and f.assertion == Assertion.ABSENT and self._denies_allergies(f, note.text):
                out += self._allergy_conflict(rec, note, sentence_around(note.text, f.start, f.end))
        for s, e in split_sentences(note.text):
            if s < end and e > start and self.no_allergy & set(_words(note.text[s:e])):
                out += self._allergy_conflict(rec, note, (s, e))
        return out

    def _denied(self, f: Fact, text: str, facts: list[Fact]) -> bool:
        """The mention says the drug is not taken: negated (not a negated change, "do not stop X"; not by a cue that
        only ends events, "the pain resolved with X"), or stopped / replaced (not a change the note places in the
        past)."""
        if f.historical:
            return False
        if f.assertion == Assertion.ABSENT:
            cues = {t.split(":")[-1].strip().lower() for t in f.assertion_triggers}
            return ("change" not in f.attributes and not cues & self.event_negations
                    and not self._event_context(f, text, facts))
        return f.assertion == Assertion.PRESENT and self._no_longer_taken(f, text, facts)

    def _no_longer_taken(self, f: Fact, text: str, facts: list[Fact]) -> bool:
        """Stopped (typed by the extractors) or replaced ("instead of X", "X ... was replaced by")."""
        if f.attributes.get("change") in self.stopped:
            return True
        s, e = sentence_around(text, f.start, f.end)
        before = _words(text[s:f.start])
        nxt = min((g.start for g in facts if g.type == FactType.DRUG and f.end <= g.start < e), default=e)
        after = _words(text[f.end:nxt])
        return (_ends_with(before, self.replaced_before, self.before_window)
                or _starts_with(after, self.replaced_after, self.after_window))

    @staticmethod
    def _event_context(f: Fact, text: str, facts: list[Fact]) -> bool:
        """The negation that covers the drug is a negated event's ("no bleeding on apixaban", "the heartburn resolved
        after trying omeprazole"): another negated mention of the sentence was decided by the same cue."""
        s, e = sentence_around(text, f.start, f.end)
        mine = set(_trigger_spans(f, text, s, e))
        return bool(mine) and any(g is not f and g.type != FactType.DRUG and g.assertion == Assertion.ABSENT
                                  and s <= g.start < e and mine & set(_trigger_spans(g, text, s, e)) for g in facts)

    def _denies_allergies(self, f: Fact, text: str) -> bool:
        """A negated mention of allergies in general ("no known drug allergies"), not of some ("no food allergies",
        "no other allergies", "no allergy to contrast")."""
        words = _words(f.name)
        head = next((p for p in self.allergy_heads if tuple(words[-len(p):]) == p), None)
        if head is None or not set(words[: len(words) - len(head)]) <= self.denial_scope:
            return False
        s, e = sentence_around(text, f.start, f.end)
        t = _trigger_before(f, text, s)
        if t is None:
            return False
        between = [w for w in _words(text[t[1]:f.start]) if w[0].isalnum()]
        if not set(between) <= self.denial_scope:
            return False
        after = _words(text[f.end:e])
        if after and after[0] in self.denial_objects:
            obj = []
            for w in after[1:]:
                if not w[0].isalnum():
                    break
                obj.append(w)
            return set(obj) <= self.denial_scope
        return True

    # -- what contradicts a claim ---------------------------------------------------------------------------------
    def _medication_conflict(self, rec: _Record, note: Note, f: Fact) -> list[Conflict]:
        """A drug said not taken: the same drug on a current list of this note or of the same day. A drug said stopped
        or replaced: on a list of this note that comes after the change (a discharge list, or any current list
        when the change is reported rather than ordered in the plan)."""
        stop_claim = f.assertion == Assertion.PRESENT
        hits = []
        for m in rec.medications:
            if not _same_drug(f, m):
                continue
            same_note = m.note_id == note.note_id
            if stop_claim:
                if not same_note or m.section in self.before_stay:
                    continue  # another note's list is another time; an admission list comes before the change
                if f.section in self.change_orders and m.section not in self.after_change:
                    continue  # the plan orders the change: the list before it is the state it changes
            elif not same_note and not (note.note_date and note.date_known and rec.notes[m.note_id].date_known
                                        and rec.notes[m.note_id].note_date == note.note_date):
                continue  # a list of another day is another time (or, undated, of no known time)
            hits.append(m)
        if not hits:
            return []
        how = "stopped or replaced" if stop_claim else "not taken"
        lists = ", ".join(sorted({f"{m.note_id} ({_day(rec.notes[m.note_id].note_date) or 'undated'})" for m in hits}))
        return [self._conflict(rec, "medication", note, sentence_around(note.text, f.start, f.end), hits,
                               f"the sentence says {f.name} is {how}, the medication list of {lists} has it")]

    def _allergy_conflict(self, rec: _Record, note: Note, span: tuple[int, int]) -> list[Conflict]:
        """A drug allergy listed in this note or in a note dated no later than the denial."""
        hits = []
        for a in rec.allergens:
            list_note = rec.notes[a.note_id]
            if a.note_id == note.note_id or (note.date_known and list_note.date_known and note.note_date
                                             and list_note.note_date and list_note.note_date <= note.note_date):
                hits.append(a)
        if not hits:
            return []
        names = ", ".join(sorted({a.name for a in hits}))
        return [self._conflict(rec, "allergy", note, span, hits,
                               f"the sentence denies allergies, the allergy list names {names}")]

    @staticmethod
    def _conflict(rec: _Record, kind: str, note: Note, span: tuple[int, int], facts: list[Fact], why: str) -> Conflict:
        shown = []
        for f in facts:
            n = rec.notes[f.note_id]
            s, e = sentence_around(n.text, f.start, f.end)
            if all((x.note_id, x.start) != (n.note_id, s) for x in shown):
                shown.append(NoteSpan(note_id=n.note_id, start=s, end=e, quote=n.text[s:e], note_date=_day(n.note_date)))
        return Conflict(kind=kind, claim=NoteSpan(note_id=note.note_id, start=span[0], end=span[1],
                                                  quote=note.text[span[0]:span[1]], note_date=_day(note.note_date)),
                        facts=shown, why=why)


def _same_drug(a: Fact, b: Fact) -> bool:
    if a.name.lower() == b.name.lower():
        return True
    return any(a.codes.get(k) and a.codes.get(k) == b.codes.get(k) for k in _CODE_SYSTEMS)


def _day(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None
