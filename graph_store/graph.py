"""Per-patient knowledge graph and timeline, built on demand from the stored facts.

The facts table in the store is the source of truth; ``PatientGraphs`` turns one
patient's facts from many notes into (a) a networkx ``MultiDiGraph`` (patient,
notes, concepts, mentions, dated events; mention->concept, note->mention,
relation and temporal edges) for export and traversal, and (b) typed indexes the
query methods answer from. Both are cached per patient and rebuilt when the
store's generation token (or the patient's fact rows) change.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from clinqa.errors import ClinqaError
from clinqa.records import Assertion, DateKind, Experiencer, Fact, FactType, Note
from graph_store.queries import (
    Conflict,
    CountResult,
    DoseChange,
    Evidence,
    FactView,
    Interval,
    LabPoint,
    LabSeries,
    MedicationInterval,
    NotDocumented,
    OrderItem,
    OrderResult,
    Results,
    TimelineEvent,
)
from graph_store.resolution import (
    Concept,
    ConceptResolver,
    CopyForwardDetector,
    DrugNames,
    IdentityCheck,
    PatientIdentity,
    dictionary_senses,
    normalize_name,
)
from graph_store.store import PatientStore


class UnknownFactError(ClinqaError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown fact"


_CHANGE_EVENT = {
    "started": "medication_start", "start": "medication_start", "initiated": "medication_start",
    "stopped": "medication_stop", "stop": "medication_stop", "discontinued": "medication_stop",
    "held": "medication_hold", "increased": "dose_change", "decreased": "dose_change",
    "changed": "dose_change", "continued": "medication",
}
_CATEGORY_EVENT = {"problem": "diagnosis", "procedure": "procedure", "lab": "lab_result", "vital": "vital_sign"}
_UNDATED = dt.date.max
_DOSE_KEYS = ("dose", "unit", "route", "frequency")  # sort key for events without any date


@dataclass
class PatientModel:
    """Everything built for one patient; the graph plus the indexes the queries read."""

    patient_id: str
    token: str
    graph: nx.MultiDiGraph
    notes: dict[str, Note]
    note_rank: dict[str, int]
    views: dict[str, FactView]  # fact_id -> view (concept facts only)
    concepts: dict[str, Concept]
    events: list[TimelineEvent]
    events_by_concept: dict[str, list[TimelineEvent]]
    event_of_fact: dict[str, TimelineEvent]
    intervals: dict[str, list[MedicationInterval]]
    conflicts: list[Conflict]
    terms: dict[str, set[str]]  # normalized term -> concept keys
    repeats: dict[str, str]
    build_seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, IdentityCheck] = field(default_factory=dict)  # notes of another patient (facts left out)


def _date_str(d: dt.date | None) -> str:
    return d.isoformat() if d else "undated"


class PatientGraphs:
    """Builds, caches and queries per-patient graphs. Thread-safe (the UI calls from worker threads)."""

    def __init__(self, store: PatientStore, *, use_unii: bool = False, max_cached: int = 32):
        self.store = store
        self.drug_names = DrugNames(use_unii=use_unii)
        self.resolver = ConceptResolver(self.drug_names)
        self.copy_forward = CopyForwardDetector()
        self.max_cached = max_cached
        self._cache: dict[str, PatientModel] = {}
        self._lock = threading.RLock()

    # -- cache -------------------------------------------------------------------------------------
    def _token(self, pid: str) -> str:
        return self.store.generation(pid)  # covers notes added/removed/versioned and re-extraction

    def model(self, patient_id: str) -> PatientModel:
        """The built model for a patient (raises UnknownPatientError for an unknown id)."""
        self.store.require_patient(patient_id)
        token = self._token(patient_id)
        with self._lock:
            m = self._cache.get(patient_id)
            if m is not None and m.token == token:
                return m
            m = self._build(patient_id, token)
            self._cache[patient_id] = m
            while len(self._cache) > self.max_cached:
                self._cache.pop(next(iter(self._cache)))
            return m

    def graph(self, patient_id: str) -> nx.MultiDiGraph:
        return self.model(patient_id).graph

    def invalidate(self, patient_id: str | None = None) -> None:
        with self._lock:
            if patient_id is None:
                self._cache.clear()
            else:
                self._cache.pop(patient_id, None)

    # -- build -------------------------------------------------------------------------------------
    def _build(self, pid: str, token: str) -> PatientModel:
        import time

        t0 = time.perf_counter()
        notes = self.store.notes(pid)
        note_by_id = {n.note_id: n for n in notes}
        facts = [f for f in self.store.facts(pid) if f.note_id in note_by_id]
        try:
            p = self.store.patient(pid)
            identity = PatientIdentity(p.name, p.birthday)
        except Exception:  # no registered identity: nothing to compare with
            identity = None
        return self.build_from(pid, notes, facts, token=token, t0=t0, identity=identity)

    def build_from(
        self, pid: str, notes: list[Note], facts: list[Fact], token: str = "", t0: float | None = None,
        identity: PatientIdentity | None = None,
    ) -> PatientModel:
        """Build a model from records (used by _build; handy for benchmarks without a store).

        With ``identity`` (the registered name / birthday), facts of notes that document another patient
        are left out of the concepts and the timeline; ``model.foreign`` says which notes and why."""
        import time

        t0 = time.perf_counter() if t0 is None else t0
        foreign = identity.foreign_notes(notes) if identity is not None else {}
        if foreign:
            facts = [f for f in facts if f.note_id not in foreign]
        notes = sorted(notes, key=lambda n: (not n.date_known or n.note_date is None, n.note_date or dt.date.min,
                                             n.note_id))  # undated notes last
        note_by_id = {n.note_id: n for n in notes}
        rank = {n.note_id: i for i, n in enumerate(notes)}
        fact_by_id = {f.fact_id: f for f in facts}
        fact_key, concepts = self.resolver.run(facts)
        repeats = self.copy_forward.run(notes, facts, fact_key)

        # fact views with their effective (occurred or documented) date
        views: dict[str, FactView] = {}
        for f in facts:
            key = fact_key.get(f.fact_id)
            if key is None:
                continue
            note = note_by_id[f.note_id]
            date, kind = self._effective_date(f, note)
            views[f.fact_id] = FactView(
                fact_id=f.fact_id, concept_key=key, concept_name=concepts[key].name, type=FactType(f.type).value,
                name=f.name, text=f.text, assertion=Assertion(f.assertion).value, historical=f.historical,
                experiencer=Experiencer(f.experiencer).value, date=date, date_kind=kind, date_text=f.date_text,
                attributes=dict(f.attributes), codes=dict(f.codes), evidence=self._evidence(f, note),
                copy_forward_of=repeats.get(f.fact_id),
            )

        conflicts = self._conflicts(concepts, views, rank)
        conflicted = {c.concept_key for c in conflicts}
        for v in views.values():
            v.conflict = v.concept_key in conflicted

        events, event_of_fact = self._events(facts, views, fact_by_id, repeats, rank)
        by_concept: dict[str, list[TimelineEvent]] = defaultdict(list)
        for e in events:
            by_concept[e.concept_key].append(e)
        intervals = {
            key: self._intervals(evs) for key, evs in by_concept.items() if concepts[key].category == "drug"
        }
        terms: dict[str, set[str]] = defaultdict(set)
        for key, c in concepts.items():
            for t in c.match_terms():
                terms[t].add(key)

        model = PatientModel(
            patient_id=pid, token=token, graph=nx.MultiDiGraph(), notes=note_by_id, note_rank=rank, views=views,
            concepts=concepts, events=events, events_by_concept=dict(by_concept), event_of_fact=event_of_fact,
            intervals=intervals, conflicts=conflicts, terms=dict(terms), repeats=repeats, foreign=foreign,
        )
        model.graph = self._graph(model, facts, fact_by_id)
        model.build_seconds = time.perf_counter() - t0
        model.stats = {
            "notes": len(notes), "facts": len(facts), "mentions": len(views), "concepts": len(concepts),
            "events": len(events), "copy_forward": len(repeats), "conflicts": len(conflicts),
            "nodes": model.graph.number_of_nodes(), "edges": model.graph.number_of_edges(),
            "foreign_notes": len(foreign),
        }
        return model

    @staticmethod
    def _evidence(f: Fact, note: Note) -> Evidence:
        quote = note.text[f.start : f.end]
        return Evidence(
            patient_id=note.patient_id, note_id=note.note_id, start=f.start, end=f.end, quote=quote,
            note_date=note.note_date if note.date_known else None, section=f.section, fact_id=f.fact_id,
        )

    def _effective_date(self, f: Fact, note: Note) -> tuple[dt.date | None, str]:
        """When it happened if the note says so, else when it was documented, else unknown."""
        if f.date is not None and DateKind(f.date_kind) == DateKind.OCCURRED:
            return f.date, DateKind.OCCURRED.value
        if f.date is None and f.date_text and note.date_known and note.note_date:
            parsed = _parse_relative(f.date_text, note.note_date)
            if parsed is not None:
                return parsed, DateKind.OCCURRED.value
        if note.date_known and note.note_date:
            return (f.date or note.note_date), DateKind.DOCUMENTED.value
        return f.date, DateKind.UNKNOWN.value

    @staticmethod
    def _conflicts(concepts: dict[str, Concept], views: dict[str, FactView], rank: dict[str, int]) -> list[Conflict]:
        present: dict[str, list[FactView]] = defaultdict(list)
        negated: dict[str, list[FactView]] = defaultdict(list)
        for v in views.values():
            if v.experiencer != Experiencer.PATIENT.value:
                continue
            if v.assertion == Assertion.PRESENT.value:
                present[v.concept_key].append(v)
            elif v.assertion == Assertion.ABSENT.value:
                negated[v.concept_key].append(v)
        out = []
        for key in sorted(set(present) & set(negated)):
            p = sorted(present[key], key=lambda v: (rank[v.evidence.note_id], v.evidence.start))
            n = sorted(negated[key], key=lambda v: (rank[v.evidence.note_id], v.evidence.start))
            p_notes = sorted({v.evidence.note_id for v in p}, key=rank.get)
            n_notes = sorted({v.evidence.note_id for v in n}, key=rank.get)
            msg = (
                f"{concepts[key].name}: documented as present in {', '.join(p_notes)} "
                f"({', '.join(sorted({_date_str(v.evidence.note_date) for v in p}))}) and as absent/ruled out in "
                f"{', '.join(n_notes)} ({', '.join(sorted({_date_str(v.evidence.note_date) for v in n}))})"
            )
            out.append(Conflict(concept_key=key, name=concepts[key].name, present=p, negated=n, message=msg))
        return out

    @staticmethod
    def _event_type(v: FactView, category: str, adverse: set[str]) -> str:
        if category == "drug":
            change = str(v.attributes.get("change") or "").lower()
            if not change and v.historical:
                return "medication_past"  # "previously on warfarin": not evidence of taking it now
            return _CHANGE_EVENT.get(change, "medication")
        if category == "problem":
            if v.fact_id in adverse:
                return "adverse_event"
            return "diagnosis"
        return _CATEGORY_EVENT.get(category, "finding")

    @staticmethod
    def _detail(v: FactView, category: str) -> str:
        a = v.attributes
        if category == "drug":
            parts = [str(a[k]) for k in ("dose", "unit", "route", "frequency") if a.get(k) not in (None, "")]
            if a.get("change"):
                parts.insert(0, str(a["change"]))
            return " ".join(parts)
        if category in ("lab", "vital"):
            parts = [str(a[k]) for k in ("value", "unit") if a.get(k) not in (None, "")]
            if a.get("abnormal"):
                parts.append(f"({a['abnormal']})")
            return " ".join(parts)
        return "historical" if v.historical else ""

    def _events(
        self,
        facts: list[Fact],
        views: dict[str, FactView],
        fact_by_id: dict[str, Fact],
        repeats: dict[str, str],
        rank: dict[str, int],
    ) -> tuple[list[TimelineEvent], dict[str, TimelineEvent]]:
        adverse: set[str] = set()
        for f in facts:
            for r in f.relations:
                if r.kind == "adverse_event_of":
                    if FactType(f.type) == FactType.PROBLEM:
                        adverse.add(f.fact_id)
                    tgt = fact_by_id.get(r.target)
                    if tgt is not None and FactType(tgt.type) == FactType.PROBLEM:
                        adverse.add(tgt.fact_id)
        ordered = sorted(views.values(), key=lambda v: (rank[v.evidence.note_id], v.evidence.start, v.evidence.end))
        events: list[TimelineEvent] = []
        by_key: dict[tuple, TimelineEvent] = {}
        of_fact: dict[str, TimelineEvent] = {}
        latest_for_concept: dict[str, TimelineEvent] = {}
        for v in ordered:
            if v.assertion != Assertion.PRESENT.value or v.experiencer != Experiencer.PATIENT.value:
                continue
            if v.copy_forward_of is not None:
                continue  # attached to the original's event below
            category = v.concept_key.split(":", 1)[0]
            etype = self._event_type(v, category, adverse)
            detail = self._detail(v, category)
            ident = (v.concept_key, etype, v.date, detail if category != "problem" else "")
            ev = by_key.get(ident)
            if ev is None and v.date_kind != DateKind.OCCURRED.value and (
                category == "problem" or (category == "procedure" and v.historical)
            ):
                # a later undated mention ("hypertension, stable"; "s/p appendectomy") refers back to the known
                # event; only an explicitly dated occurrence on another date makes a new one
                ev = latest_for_concept.get(v.concept_key)
            if ev is not None:
                ev.mentions.append(v.evidence)
                of_fact[v.fact_id] = ev
                continue
            ev = TimelineEvent(
                date=v.date, date_kind=v.date_kind, event_type=etype, concept_key=v.concept_key,
                name=v.concept_name, detail=detail, fact_id=v.fact_id, evidence=v.evidence,
                attributes=dict(v.attributes),
            )
            by_key[ident] = ev
            of_fact[v.fact_id] = ev
            latest_for_concept[v.concept_key] = ev
            events.append(ev)
        for fid, orig in repeats.items():  # copy-forward repeats are more evidence for the original event
            ev = of_fact.get(orig)
            if ev is not None:
                ev.mentions.append(views[fid].evidence)
                of_fact[fid] = ev
        events.sort(key=lambda e: (e.date or _UNDATED, rank[e.evidence.note_id], e.evidence.start))
        return events, of_fact

    @staticmethod
    def _intervals(events: list[TimelineEvent]) -> list[MedicationInterval]:
        """Medication intervals from start to stop/hold; dose changes recorded along the way."""
        out: list[MedicationInterval] = []
        cur: MedicationInterval | None = None

        def dose_of(e: TimelineEvent) -> DoseChange:
            a = e.attributes
            return DoseChange(e.date, a.get("change"), a.get("dose"), a.get("unit"), a.get("route"),
                              a.get("frequency"), e.evidence)

        def same_dose(a: DoseChange, b: DoseChange) -> bool:
            return (a.dose, a.unit, a.frequency) == (b.dose, b.unit, b.frequency)

        for e in events:
            if e.date is None or e.event_type == "medication_past":
                continue
            if e.event_type in ("medication_stop", "medication_hold"):
                reason = "stopped" if e.event_type == "medication_stop" else "held"
                if cur is None:  # a stop with no documented start: start unknown
                    out.append(MedicationInterval(e.concept_key, e.name, None, e.date, e.evidence, e.evidence,
                                                  False, reason, e.date, [dose_of(e)]))
                else:
                    cur.end, cur.end_evidence, cur.end_reason, cur.last_documented = e.date, e.evidence, reason, e.date
                    out.append(cur)
                    cur = None
                continue
            d = dose_of(e)
            if cur is None:
                cur = MedicationInterval(e.concept_key, e.name, e.date, None, e.evidence, None,
                                         e.event_type == "medication_start", None, e.date, [d])
                continue
            cur.last_documented = max(cur.last_documented or e.date, e.date)
            has_dose = d.dose not in (None, "")
            if e.event_type == "dose_change" or (has_dose and not any(same_dose(d, x) for x in cur.doses[-1:])):
                cur.doses.append(d)
        if cur is not None:
            out.append(cur)
        return out

    def _graph(self, m: PatientModel, facts: list[Fact], fact_by_id: dict[str, Fact]) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph(patient_id=m.patient_id)
        try:
            p = self.store.patient(m.patient_id)
            g.add_node(f"patient:{m.patient_id}", kind="patient", name=p.name, birthday=p.birthday,
                       diagnosis=p.diagnosis)
        except ClinqaError:
            g.add_node(f"patient:{m.patient_id}", kind="patient")
        pnode = f"patient:{m.patient_id}"
        prev = None
        for n in sorted(m.notes.values(), key=lambda n: m.note_rank[n.note_id]):
            nn = f"note:{n.note_id}"
            g.add_node(nn, kind="note", note_id=n.note_id, date=n.note_date if n.date_known else None,
                       note_type=n.note_type, title=n.title)
            g.add_edge(pnode, nn, key="has_note", kind="has_note")
            if prev is not None:
                g.add_edge(prev, nn, key="next_note", kind="next_note")
            prev = nn
        for key, c in m.concepts.items():
            g.add_node(f"concept:{key}", kind="concept", category=c.category, name=c.name, codes=c.codes,
                       synonyms=sorted(c.synonyms), mentions=len(c.fact_ids),
                       conflict=any(x.concept_key == key for x in m.conflicts))
            g.add_edge(pnode, f"concept:{key}", key="has_concept", kind="has_concept")
        for fid, v in m.views.items():
            mn = f"mention:{fid}"
            g.add_node(mn, kind="mention", fact_id=fid, fact_type=v.type, text=v.text, note_id=v.evidence.note_id,
                       start=v.evidence.start, end=v.evidence.end, section=v.evidence.section, assertion=v.assertion,
                       historical=v.historical, experiencer=v.experiencer, date=v.date, date_kind=v.date_kind,
                       attributes=v.attributes, copy_forward_of=v.copy_forward_of)
            g.add_edge(f"note:{v.evidence.note_id}", mn, key="mentions", kind="mentions")
            g.add_edge(mn, f"concept:{v.concept_key}", key="of_concept", kind="of_concept")
            if v.copy_forward_of:
                g.add_edge(mn, f"mention:{v.copy_forward_of}", key="copy_forward_of", kind="copy_forward_of")
            a = v.attributes
            if v.type == FactType.DRUG.value and any(a.get(k) not in (None, "") for k in _DOSE_KEYS):
                dn = f"dose:{fid}"  # drug -> dose, as written in this mention
                g.add_node(dn, kind="dose", **{k: a.get(k) for k in (*_DOSE_KEYS, "change")})
                g.add_edge(mn, dn, key="has_dose", kind="has_dose")
        for f in facts:  # extractor relations: drug->dose, drug->adverse event, drug->indication
            if f.fact_id not in m.views:
                continue
            for r in f.relations:
                if r.target not in m.views:
                    continue
                g.add_edge(f"mention:{f.fact_id}", f"mention:{r.target}", key=r.kind, kind=r.kind, rule=r.rule)
                a, b = f"concept:{m.views[f.fact_id].concept_key}", f"concept:{m.views[r.target].concept_key}"
                if not g.has_edge(a, b, key=r.kind):
                    g.add_edge(a, b, key=r.kind, kind=r.kind, evidence=[f.fact_id])
                else:
                    g.edges[a, b, r.kind]["evidence"].append(f.fact_id)
        prev_ev = None
        for i, e in enumerate(m.events):
            en = f"event:{i}:{e.fact_id}"
            g.add_node(en, kind="event", event_type=e.event_type, date=e.date, date_kind=e.date_kind,
                       name=e.name, detail=e.detail, fact_id=e.fact_id)
            g.add_edge(en, f"concept:{e.concept_key}", key="event_of", kind="event_of")
            for ev in e.all_evidence:
                if ev.fact_id:
                    g.add_edge(en, f"mention:{ev.fact_id}", key="evidenced_by", kind="evidenced_by")
            if e.date is not None:
                if prev_ev is not None:  # temporal order: a chain of dated events
                    g.add_edge(prev_ev, en, key="before", kind="before")
                prev_ev = en
        return g

    # -- concept matching --------------------------------------------------------------------------
    def resolve(self, patient_id: str, text: str) -> list[str]:
        """Concept keys matching a name, synonym, surface text or code (case-insensitive; brand meets generic)."""
        return self._resolve(self.model(patient_id), text)

    def _resolve(self, m: PatientModel, text: str) -> list[str]:
        if not isinstance(text, str) or not text.strip():
            return []
        raw = text.strip().lower()
        if raw in m.concepts:
            return [raw]
        norm = normalize_name(text)
        cands = {raw, norm, self.drug_names.generic(text, use_unii=False)}
        keys: set[str] = set()
        for c in cands:
            keys |= m.terms.get(c, set())
        if not keys and self.drug_names.use_unii:
            keys |= m.terms.get(self.drug_names.generic(text, use_unii=True), set())
        if not keys and len(norm) >= 3:
            # all query words inside one concept name/synonym ("diabetes" -> "type 2 diabetes mellitus")
            words = set(norm.split())
            for key, c in m.concepts.items():
                if any(words <= set(s.split()) for s in (c.name, *c.synonyms)):
                    keys.add(key)
        if not keys:
            # a dictionary synonym the patient's notes do not use ("HTN" for hypertension, "RR" for respiratory rate):
            # the dictionary's preferred name or codes
            for e in dictionary_senses(text):
                keys |= m.terms.get(normalize_name(e.name), set()) | m.terms.get(e.name.lower(), set())
                for _, code in e.codes:
                    keys |= m.terms.get(code.lower(), set())
        return sorted(keys)

    # -- queries -----------------------------------------------------------------------------------
    def facts(
        self,
        patient_id: str,
        type: str | FactType | None = None,  # noqa: A002 - the contract's keyword
        name_or_code: str | None = None,
        assertion: str | Assertion | None = None,
        include_copy_forward: bool = True,
    ) -> Results[FactView]:
        """Mentions filtered by fact type, concept (name/synonym/code) and assertion, in chronological order."""
        m = self.model(patient_id)
        views = list(m.views.values())
        what = []
        if type is not None:
            t = (type.value if isinstance(type, FactType) else str(type)).upper()
            views = [v for v in views if v.type == t]
            what.append(t)
        if name_or_code is not None:
            keys = set(self._resolve(m, name_or_code))
            views = [v for v in views if v.concept_key in keys]
            what.append(repr(name_or_code))
        if assertion is not None:
            a = (assertion.value if isinstance(assertion, Assertion) else str(assertion)).lower()
            views = [v for v in views if v.assertion == a]
            what.append(a)
        if not include_copy_forward:
            views = [v for v in views if v.copy_forward_of is None]
        views.sort(key=lambda v: (v.date or _UNDATED, m.note_rank[v.evidence.note_id], v.evidence.start))
        q = " ".join(what) or "all facts"
        msg = (f"{len(views)} fact(s) for {q}" if views
               else f"the record of {patient_id} does not document {q}")
        return Results(q, views, msg)

    def timeline(
        self,
        patient_id: str,
        types: Iterable[str] | str | None = None,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
    ) -> Results[TimelineEvent]:
        """Events ordered by the date they occurred (documented date when that is all we know)."""
        m = self.model(patient_id)
        start_d, end_d = _as_date(start), _as_date(end)
        events = m.events
        if types is not None:
            wanted = {types.lower()} if isinstance(types, str) else {str(t).lower() for t in types}
            events = [e for e in events if e.event_type in wanted or e.concept_key.split(":", 1)[0] in wanted
                      or (e.event_type.startswith("medication") and "medication" in wanted)]
        if start_d or end_d:
            events = [e for e in events if e.date is not None and (not start_d or e.date >= start_d)
                      and (not end_d or e.date <= end_d)]
        window = f" between {_date_str(start_d) if start_d else 'the start'} and {_date_str(end_d) if end_d else 'now'}"
        q = f"timeline{(' of ' + ','.join(sorted(wanted))) if types is not None else ''}" + (
            window if start_d or end_d else "")
        msg = f"{len(events)} event(s)" if events else f"no events documented for {patient_id} ({q})"
        return Results(q, list(events), msg)

    def _concept_events(self, m: PatientModel, concept: str) -> tuple[list[str], list[TimelineEvent]]:
        keys = self._resolve(m, concept)
        evs = [e for k in keys for e in m.events_by_concept.get(k, [])]
        evs.sort(key=lambda e: (e.date or _UNDATED, m.note_rank[e.evidence.note_id], e.evidence.start))
        return keys, evs

    def _not_documented(self, m: PatientModel, concept: str, keys: list[str]) -> NotDocumented:
        if not keys:
            return NotDocumented(concept, f"{concept!r} is not documented in the notes of {m.patient_id}")
        other = [v for v in m.views.values() if v.concept_key in keys]
        kinds = sorted({v.assertion if v.experiencer == "patient" else f"{v.experiencer} history" for v in other})
        ev = other[0].evidence.cite() if other else ""
        return NotDocumented(
            concept,
            f"{concept!r} is not documented as occurring for {m.patient_id}; it is mentioned only as "
            f"{'/'.join(kinds)} ({len(other)} mention(s), e.g. {ev})",
        )

    def first(self, patient_id: str, concept: str) -> TimelineEvent | NotDocumented:
        """The earliest dated event of a concept, by the date it occurred."""
        m = self.model(patient_id)
        keys, evs = self._concept_events(m, concept)
        dated = [e for e in evs if e.date is not None]
        return dated[0] if dated else (evs[0] if evs else self._not_documented(m, concept, keys))

    def last(self, patient_id: str, concept: str) -> TimelineEvent | NotDocumented:
        """The latest dated event of a concept (its most recent occurrence or mention)."""
        m = self.model(patient_id)
        keys, evs = self._concept_events(m, concept)
        dated = [e for e in evs if e.date is not None]
        return dated[-1] if dated else (evs[-1] if evs else self._not_documented(m, concept, keys))

    def order(self, patient_id: str, concepts: Sequence[str]) -> OrderResult:
        """Concepts sorted by first occurrence; says which were not documented."""
        m = self.model(patient_id)
        items, missing = [], []
        for c in concepts:
            ev = self.first(patient_id, c)
            if isinstance(ev, NotDocumented) or ev.date is None:
                missing.append(c)
                continue
            items.append(OrderItem(c, ev.concept_key, ev.name, ev.date, ev.date_kind, ev.evidence))
        items.sort(key=lambda it: (it.date, m.note_rank[it.evidence.note_id], it.evidence.start))
        msg = " < ".join(f"{it.query} ({_date_str(it.date)})" for it in items) or "none of them is documented"
        if missing and items:
            msg += f"; not documented: {', '.join(missing)}"
        return OrderResult(items, missing, msg)

    def interval_between(self, patient_id: str, a: str, b: str) -> Interval | NotDocumented:
        """Days from the first occurrence of ``a`` to the first occurrence of ``b`` (computed, not read)."""
        ea, eb = self.first(patient_id, a), self.first(patient_id, b)
        for q, e in ((a, ea), (b, eb)):
            if isinstance(e, NotDocumented):
                return NotDocumented(f"{a} -> {b}", e.message)
            if e.date is None:
                return NotDocumented(f"{a} -> {b}", f"{q!r} is documented but its date is unknown")
        days = (eb.date - ea.date).days
        msg = f"{days} day(s) from {a} ({ea.date.isoformat()}) to {b} ({eb.date.isoformat()})"
        return Interval(a, b, ea.concept_key, eb.concept_key, ea.date, eb.date, days, ea.evidence, eb.evidence, msg)

    def count(self, patient_id: str, concept: str) -> CountResult:
        """Distinct documented events of a concept; copy-forward repeats are not counted."""
        m = self.model(patient_id)
        keys, evs = self._concept_events(m, concept)
        repeats = sum(1 for fid, _ in m.repeats.items() if m.views[fid].concept_key in keys)
        if not evs:
            return CountResult(concept, keys, 0, [], repeats, self._not_documented(m, concept, keys).message)
        msg = f"{len(evs)} distinct event(s) of {concept!r}" + (
            f" ({repeats} copy-forward repeat(s) not counted)" if repeats else "")
        return CountResult(concept, keys, len(evs), evs, repeats, msg)

    def medication_intervals(self, patient_id: str, drug: str | None = None) -> Results[MedicationInterval]:
        m = self.model(patient_id)
        keys = self._resolve(m, drug) if drug else sorted(m.intervals)
        out = [iv for k in keys for iv in m.intervals.get(k, [])]
        out.sort(key=lambda iv: (iv.start or dt.date.min, iv.name))
        q = drug or "all medications"
        msg = (f"{len(out)} interval(s)" if out
               else f"no medication interval (start/stop/current use) documented for {q!r}")
        return Results(q, out, msg)

    def active_medications(self, patient_id: str, on: dt.date | str | None = None) -> Results[MedicationInterval]:
        """Medications whose interval covers ``on`` (default: the latest note date)."""
        m = self.model(patient_id)
        day = _as_date(on)
        if day is None:
            dates = [n.note_date for n in m.notes.values() if n.note_date and n.date_known]
            if not dates:
                return Results("active medications", [], "no dated notes: cannot tell which medications are active")
            day = max(dates)
        active = [iv for ivs in m.intervals.values() for iv in ivs if iv.active_on(day)]
        active.sort(key=lambda iv: iv.name)
        open_ended = [iv.name for iv in active if iv.end is None]
        msg = (f"{len(active)} medication(s) active on {day.isoformat()}" if active
               else f"no medication documented as active on {day.isoformat()}")
        if open_ended:
            msg += f"; no stop documented for {', '.join(open_ended)} (active from start through the last note)"
        return Results(f"active medications on {day.isoformat()}", active, msg)

    def lab_series(self, patient_id: str, test: str) -> LabSeries:
        """All results of one lab test (or vital sign) in date order, copy-forward repeats dropped."""
        m = self.model(patient_id)
        keys = [k for k in self._resolve(m, test) if m.concepts[k].category in ("lab", "vital")]
        points = []
        for k in keys:
            for e in m.events_by_concept.get(k, []):
                a = e.attributes
                points.append(LabPoint(e.date, a.get("value"), a.get("unit"), a.get("abnormal"), e.evidence,
                                       a.get("ref_range")))
        points.sort(key=lambda p: (p.date or _UNDATED, m.note_rank[p.evidence.note_id], p.evidence.start))
        name = m.concepts[keys[0]].name if keys else None
        msg = (f"{len(points)} result(s) of {name}" if points
               else f"no results of {test!r} are documented for {patient_id}")
        return LabSeries(test, keys[0] if keys else None, name, points, msg)

    def conflicts(self, patient_id: str) -> Results[Conflict]:
        """Concepts asserted present in one place and negated/ruled out in another (both kept, with dates)."""
        m = self.model(patient_id)
        msg = f"{len(m.conflicts)} conflicting concept(s)" if m.conflicts else "no conflicting assertions documented"
        return Results("conflicts", list(m.conflicts), msg)

    def evidence(self, fact: Any, patient_id: str | None = None) -> list[Evidence]:
        """The note spans behind a fact id / Fact / FactView / TimelineEvent (event: all its mentions)."""
        if isinstance(fact, TimelineEvent):
            return fact.all_evidence
        if isinstance(fact, Evidence):
            return [fact]
        fid = getattr(fact, "fact_id", fact)
        pid = patient_id or getattr(fact, "patient_id", None) or getattr(
            getattr(fact, "evidence", None), "patient_id", None)
        if pid is None:
            row = self.store.con.execute("SELECT patient_id FROM facts WHERE fact_id=?", (fid,)).fetchone()
            if row is None:
                raise UnknownFactError(f"unknown fact {fid!r}")
            pid = row[0]
        m = self.model(pid)
        if fid not in m.views:
            raise UnknownFactError(f"unknown fact {fid!r} for patient {pid}")
        ev = m.event_of_fact.get(fid)
        own = m.views[fid].evidence
        if ev is None:
            return [own]
        return [own, *(e for e in ev.all_evidence if e != own)]

    def foreign_notes(self, patient_id: str) -> dict[str, IdentityCheck]:
        """Notes in this chart that document another patient (their facts are not on the timeline)."""
        return dict(self.model(patient_id).foreign)

    def stats(self, patient_id: str) -> dict[str, int]:
        return dict(self.model(patient_id).stats)


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ClinqaError(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def _parse_relative(text: str, base: dt.date) -> dt.date | None:
    """Resolve "two weeks ago" / "on 3/4" against the note date (dateparser; lazy import)."""
    try:
        import dateparser
    except ImportError:  # pragma: no cover - dateparser is a declared dependency
        return None
    got = dateparser.parse(
        text, settings={"RELATIVE_BASE": dt.datetime.combine(base, dt.time()), "PREFER_DATES_FROM": "past"}
    )
    return got.date() if got else None
