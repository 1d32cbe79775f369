"""ClinicalExtractor: note -> facts (sections, problems, drugs, labs, vitals, procedures, dates, relations).

Haystack-2 style component: ``__init__(config)`` is cheap, ``warm_up()`` loads the dictionaries once per
process, ``run(note)`` returns ``list[Fact]``; ``pipe(notes, n_process, batch_size)`` fans out to worker
processes (forked workers share the warmed tables copy-on-write; under spawn the extractor pickles as
its config only and warms up inside the worker).

Huge notes are processed in slices of ``slice_chars`` cut at paragraph/line boundaries, carrying the
current section and the date anchors across slices, so memory stays bounded by the slice size plus
the facts themselves (no spaCy Doc of the whole note is ever built, so ``nlp.max_length`` never applies).
"""
from __future__ import annotations

import bisect
import collections
import datetime as dt
import gc
import logging
import multiprocessing as mp
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from clinqa.records import Assertion, DateKind, Experiencer, Fact, FactType, Note, Relation
from extractors import codes as codes_mod
from extractors.dates import DateExpr, DateExtractor
from extractors.lab_tables import LabTableReader
from extractors.measurements import LabExtractor, Measurement, VitalExtractor
from extractors.medications import MedicationAttributes
from extractors.relations import relate
from extractors.sections import SectionDetector, SectionHeader
from extractors.text import slice_points, split_sentences
from extractors.vocab import Entry, Match, Vocabulary, tokenize, vocabulary

log = logging.getLogger(__name__)

CONCEPT_TYPES = (FactType.PROBLEM, FactType.DRUG, FactType.LAB, FactType.VITAL, FactType.PROCEDURE)


@dataclass
class ExtractorConfig:
    slice_chars: int = 100_000  # huge notes are processed in windows of about this size
    assertion: bool = True  # use extractors.assertion.AssertionClassifier when importable
    unii: bool = True  # add codes["UNII"] from the FDA UNII table (streamed once, ~1 s)
    icd_titles: bool = True  # ICD-10-CM titles as extra problem terms and for code lookup
    rxnorm_path: str | None = None  # RXNCONSO.RRF; default $CLINQA_RXNORM
    sections: bool = True
    dates: bool = True
    relations: bool = True

    @classmethod
    def from_any(cls, config: "ExtractorConfig | dict | None") -> "ExtractorConfig":
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        return cls(**dict(config))



def _fmt_num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)

_FACT_TYPE = dict(FactType._value2member_map_)  # enum lookup without EnumType.__call__ (hot path)

class ClinicalExtractor:
    """Rule + dictionary clinical information extraction for one note at a time."""

    def __init__(self, config: ExtractorConfig | dict | None = None):
        self.config = ExtractorConfig.from_any(config)
        self._warm = False
        self._lock = threading.Lock()
        self._init_light()

    def _init_light(self) -> None:
        self.sections = SectionDetector()
        self.labs = LabExtractor()
        self.vitals = VitalExtractor()
        self.meds = MedicationAttributes()
        self.dates = DateExtractor()
        self.lab_tables = LabTableReader(self.labs, self.dates)
        self.vocab: Vocabulary | None = None
        self.assertion_classifier = None
        self.rxnorm = None
        self._icd_cache: dict[tuple, str | None] = {}

    # -- component protocol ------------------------------------------------------------------------
    def warm_up(self) -> None:
        with self._lock:
            if self._warm:
                return
            cfg = self.config
            self.vocab = vocabulary(include_icd_titles=cfg.icd_titles)
            self.rxnorm = codes_mod.rxnorm_index(cfg.rxnorm_path)
            if cfg.assertion:
                try:
                    from extractors.assertion import AssertionClassifier  # written in parallel

                    clf = AssertionClassifier()
                    if hasattr(clf, "warm_up"):
                        clf.warm_up()
                    self.assertion_classifier = clf
                except ImportError:
                    log.warning("extractors.assertion not available: every concept is asserted present")
                    self.assertion_classifier = None
            self._warm = True

    def __getstate__(self) -> dict[str, Any]:
        return {"config": asdict(self.config)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = ExtractorConfig(**state["config"])
        self._warm = False
        self._lock = threading.Lock()
        self._init_light()

    @property
    def version(self) -> str:
        from extractors._resources import resource_versions

        return "+".join(f"{k}@{v}" for k, v in sorted(resource_versions().items()))

    # -- public API ------------------------------------------------------------------------------------
    def run(self, note: Note) -> list[Fact]:
        if not self._warm:
            self.warm_up()
        text = note.text or ""
        if not text.strip():
            return []
        state: dict[str, Any] = {"section": None, "dates": {}}
        facts: list[Fact] = []
        for s, e in slice_points(text, self.config.slice_chars):
            facts.extend(self._run_slice(note, text, s, e, state))
        return facts

    def pipe(self, notes: Iterable[Note], n_process: int = 1, batch_size: int = 32) -> Iterator[list[Fact]]:
        """Facts for each note, in input order.

        ``n_process`` > 1 starts ``n_process - 1`` worker processes and lets this process work on every
        other batch itself, so n_process=2 uses two cores without a third process competing for them
        (on a 2-core machine an idle parent that only unpickles results is pure overhead).
        """
        if n_process is None or n_process == 1:
            for n in notes:
                yield self.run(n)
            return
        if n_process < 0:
            n_process = os.cpu_count() or 1
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.warm_up()
        if ctx.get_start_method() == "fork":
            gc.freeze()  # children inherit the tables; keep the collector from touching (copying) them
        workers = n_process - 1
        batches = _batched(notes, max(1, batch_size))
        pending: collections.deque = collections.deque()
        exhausted = False
        with ctx.Pool(workers, initializer=_init_worker, initargs=(self,)) as pool:
            while True:
                while not exhausted and sum(1 for k, _ in pending if k == "remote") < 2 * workers:
                    b = next(batches, None)
                    if b is None:
                        exhausted = True
                    else:
                        pending.append(("remote", pool.apply_async(_run_batch, (b,))))
                local_waiting = sum(1 for k, _ in pending if k == "local")
                if not exhausted and local_waiting < 2:
                    b = next(batches, None)
                    if b is None:
                        exhausted = True
                    else:
                        pending.append(("local", [self.run(n) for n in b]))
                        local_waiting += 1
                if not pending:
                    return
                while pending:
                    kind, payload = pending[0]
                    if kind == "remote":
                        if not payload.ready() and not exhausted and local_waiting < 2:
                            break  # do a local batch meanwhile
                        result = payload.get()
                    else:
                        result = payload
                        local_waiting -= 1
                    pending.popleft()
                    yield from result

    # -- one slice ----------------------------------------------------------------------------------
    def _run_slice(self, note: Note, text: str, s: int, e: int, state: dict) -> list[Fact]:
        cfg = self.config
        pid, nid = note.patient_id, note.note_id
        sub = text[s:e]
        out: list[Fact] = []

        # sections
        headers: list[SectionHeader] = self.sections.find(text, s, e) if cfg.sections else []
        head_starts = [h.start for h in headers]
        carried = state.get("section")

        def section_at(pos: int) -> str | None:
            i = bisect.bisect_right(head_starts, pos) - 1
            return headers[i].title if i >= 0 else carried

        for h in headers:
            out.append(Fact(pid, nid, h.start, h.end, text[h.start:h.end], FactType.SECTION, h.title,
                            section=h.title, attributes={"section": h.title}, provenance=[h.rule]))
        if headers:
            state["section"] = headers[-1].title
        known_header_spans = _Spans((h.start, h.end) for h in headers if not h.rule.endswith(":generic"))

        sentences = split_sentences(text, s, e)
        sent_starts = [a for a, _ in sentences]

        def sent_index(pos: int) -> int:
            return max(bisect.bisect_right(sent_starts, pos) - 1, 0)

        # lab tables: each cell a result dated by its row or column; nothing else is read inside a table
        meas: list[Measurement]
        meas, table_blocks = self.lab_tables.run(text, s, e, note.note_date, note.date_known)
        in_table = _Spans(table_blocks)

        # dictionary matches: concepts, lab test names and vital labels (a name + value is a measurement)
        tokens = tokenize(sub)
        matches: list[Match] = self.vocab.index.match(sub, tokens)
        concepts: list[Fact] = []
        last_end = -1
        for mt in matches:
            ms, me = mt.start + s, mt.end + s
            if ms < last_end or known_header_spans.overlaps(ms, me) or (table_blocks and in_table.overlaps(ms, me)):
                continue
            got = None
            lab_names = [x.name for x in mt.entries if x.type == "LABNAME"]
            vital_names = [x.name for x in mt.entries if x.type == "VITALNAME"]
            if lab_names or vital_names:
                line_end = text.find("\n", me, e)
                limit = e if line_end < 0 else line_end
                if vital_names:
                    got = self.vitals.read(text, ms, me, vital_names, limit)
                if got is None and lab_names:
                    got = self.labs.read(text, ms, me, lab_names[0], limit)
            if got is not None:
                meas.append(got)
                last_end = got.end
                continue
            entry = next((x for x in mt.entries if x.type not in ("LABNAME", "VITALNAME")), None)
            if entry is None:
                continue
            if entry.type == "AMBIG":
                entry = self._disambiguate(text, ms, me, entry, section_at(ms), sentences[sent_index(ms)] if sentences else (s, e))
                if entry is None:
                    continue
            f = self._concept_fact(note, text, ms, me, entry, section_at(ms))
            if f is not None:
                concepts.append(f)
                last_end = me
        taken = _Spans((m.start, m.end) for m in meas)
        for m in self.vitals.bare_bp(text, s, e):
            if not taken.overlaps(m.start, m.end):
                meas.append(m)
        meas.sort(key=lambda m: m.start)
        for m in meas:
            attrs: dict[str, Any] = {"value": m.value}
            if m.unit:
                attrs["unit"] = m.unit
            if m.abnormal:
                attrs["abnormal"] = m.abnormal
            attrs.update(m.attrs)
            concepts.append(Fact(pid, nid, m.start, m.end, text[m.start:m.end], FactType(m.type), m.name,
                                 section=section_at(m.start), attributes=attrs, provenance=[m.rule], date=m.date,
                                 date_kind=DateKind.OCCURRED if m.date else DateKind.DOCUMENTED, date_text=m.date_text))
        concepts.sort(key=lambda f: (f.start, f.end))

        # medication attributes and change status
        sent_of = {id(f): sent_index(f.start) for f in concepts}
        drugs_by_sent: dict[int, list[Fact]] = {}
        for f in concepts:
            if f.type == FactType.DRUG:
                drugs_by_sent.setdefault(sent_of[id(f)], []).append(f)
        doses: dict[tuple[int, int], Fact] = {}
        for k, f in enumerate(concepts):
            if f.type != FactType.DRUG:
                continue
            si = sent_of[id(f)]
            ss, se = sentences[si] if sentences else (s, e)
            nxt = concepts[k + 1].start if k + 1 < len(concepts) else se
            limit = min(se, nxt) if nxt > f.end else se
            attrs, dose_span = self.meds.attributes(text, f.start, f.end, max(limit, f.end))
            f.attributes.update(attrs)
            if dose_span is not None:  # the drug -> dose relation, with the dose's own exact span
                rel = Relation("dose_of", f.fact_id, f"medattr:{self.meds.version}")
                dose = doses.get(dose_span)
                if dose is None:  # "Lasix (furosemide) 40 mg": one dose, a relation to each drug mention
                    ds, de = dose_span
                    dose = doses[dose_span] = Fact(
                        pid, nid, ds, de, text[ds:de], FactType.DOSE, f"{_fmt_num(attrs['dose'])} {attrs['unit']}",
                        section=f.section, attributes={"dose": attrs["dose"], "unit": attrs["unit"]},
                        provenance=[f"medattr:{self.meds.version}"])
                    out.append(dose)
                dose.relations.append(rel)
            others = [(g.start, g.end) for g in drugs_by_sent[si] if g is not f]
            ch = self.meds.change(text, ss, se, f.start, f.end, others)
            if ch:
                f.attributes["change"] = ch[0]
                f.attributes["change_text"] = ch[1]
                f.provenance.append(f"change:{self.meds.version}:{ch[1].lower()}")
            if attrs:
                f.provenance.append(f"medattr:{self.meds.version}")

        # dates
        date_exprs: list[DateExpr] = []
        if cfg.dates:
            date_exprs = self.dates.find(text, s, e, tokens)
            self.dates.resolve(text, date_exprs, note.note_date, note.date_known, state["dates"])
            for d in date_exprs:
                attrs = {"value": d.value.isoformat() if d.value else None, "kind": d.kind, "pattern": d.pattern,
                         "precision": d.precision}
                attrs.update(d.attrs)
                out.append(Fact(pid, nid, d.start, d.end, text[d.start:d.end], FactType.DATE,
                                attrs["value"] or re.sub(r"\s+", " ", d.text.lower()), section=section_at(d.start),
                                date=d.value, date_kind=DateKind.OCCURRED if d.value else DateKind.UNKNOWN,
                                date_text=d.text, attributes=attrs, provenance=[f"date:{d.pattern}"]))
        by_sent: dict[int, list[DateExpr]] = {}
        for d in date_exprs:
            if d.value is not None and d.kind != "duration" and d.attrs.get("role") != "birth_date":
                by_sent.setdefault(sent_index(d.start), []).append(d)
        clause_cuts: dict[int, list[int]] = {}
        for si in by_sent:  # a date dates the concepts of its own clause ("SOB, s/p CABG in 2015")
            ss, se = sentences[si]
            clause_cuts[si] = [m.start() for m in _CLAUSE.finditer(text, ss, se)]
        known = note.note_date is not None and note.date_known
        for f in concepts:
            if f.date is not None:
                continue  # a table cell, dated by its row or column
            si = sent_of[id(f)]
            cands = by_sent.get(si)
            if cands:
                cuts = clause_cuts[si]
                ci = bisect.bisect_right(cuts, f.start)
                cands = [d for d in cands if bisect.bisect_right(cuts, d.start) == ci]
            if cands:
                d = min(cands, key=lambda x: abs(x.start - f.start))
                f.date, f.date_kind, f.date_text = d.value, DateKind.OCCURRED, d.text
            elif known:
                f.date, f.date_kind = note.note_date, DateKind.DOCUMENTED
            else:
                f.date, f.date_kind = None, DateKind.UNKNOWN

        # relations
        if cfg.relations and concepts:
            for src, kind, tgt, rule in relate(text, concepts, sent_of):
                if not any(r.kind == kind and r.target == tgt.fact_id for r in src.relations):
                    src.relations.append(Relation(kind, tgt.fact_id, rule))

        # assertion status (negation, uncertainty, hypothetical, historical, experiencer)
        if self.assertion_classifier is not None and concepts:
            self._assert(sub, s, concepts, sentences, note, date_exprs if cfg.dates else None)

        out.extend(concepts)
        out.sort(key=lambda f: (f.start, f.end, f.type._value_))
        return out

    # -- helpers ----------------------------------------------------------------------------------
    def _assert(self, sub: str, offset: int, concepts: list[Fact], sentences: list[tuple[int, int]], note: Note,
                dates: list[DateExpr] | None) -> None:
        """Classify the slice's concepts; the note date and the dates already resolved above let time expressions
        ("in 2009", "3 years ago") count as historical evidence."""
        targets = [(f.start - offset, f.end - offset) for f in concepts]
        sents = [(a - offset, b - offset) for a, b in sentences]
        secs = [f.section for f in concepts]
        note_date = note.note_date if note.date_known else None
        if dates and offset:  # slice offsets, as the targets
            dates = [replace(d, start=d.start - offset, end=d.end - offset) for d in dates]
        results = self.assertion_classifier.classify_targets(sub, targets, sents, secs, note_date=note_date,
                                                             dates=dates)
        for f, r in zip(concepts, results):
            if r is None:
                continue
            a = getattr(r, "assertion", Assertion.PRESENT)
            f.assertion = a if type(a) is Assertion else Assertion(a)
            f.historical = bool(getattr(r, "historical", False))
            x = getattr(r, "experiencer", Experiencer.PATIENT)
            f.experiencer = x if type(x) is Experiencer else Experiencer(x)
            f.assertion_triggers = list(getattr(r, "triggers", []) or [])

    def _disambiguate(self, text: str, start: int, end: int, entry: Entry, section: str | None,
                      sent: tuple[int, int]) -> Entry | None:
        amb = self.vocab.ambiguous
        spec = amb["ambiguous"].get(entry.category)
        if spec is None:
            return None
        w = int(amb.get("window_chars", 160))
        ctx = " " + " ".join([
            text[max(sent[0], start - w) : start].lower(), text[end : min(sent[1], end + w)].lower(),
            text[max(0, start - w) : start].lower(), text[end : end + w].lower(), (section or "").lower(),
        ]) + " "
        right = text[end : end + 25].lower()
        scores = []
        for sense in spec["senses"]:
            score = sum(1 for c in sense["cues"] if c in ctx)
            if sense["type"] == "DRUG" and re.match(r"\s*\d+(?:\.\d+)?\s*(?:mg|mcg)\b", right):
                score += 3  # "MS 4 mg IV": a dose right after the abbreviation
            if sense["name"] == "room air" and re.search(r"\bon\s*$", text[max(0, start - 6) : start].lower()):
                score += 3
            if sense["name"] == "physical exam" and (section or "") == "physical exam":
                score += 2
            scores.append(score)
        best = max(range(len(scores)), key=lambda i: scores[i])
        ranked = sorted(scores, reverse=True)
        if ranked[0] < int(spec.get("min_score", 1)) or (len(ranked) > 1 and ranked[0] == ranked[1]):
            default = spec.get("default")
            if not default:
                return None
            best = next(i for i, s in enumerate(spec["senses"]) if s["name"] == default)
        sense = spec["senses"][best]
        if sense["type"] == "NONE":
            return None
        src = f"{entry.source}:{entry.category}->{sense['name']}"
        if sense["type"] == "DRUG":
            canon = self.vocab.drug_canonical(sense.get("drug", sense["name"])) or sense["name"]
            return Entry("DRUG", canon, src, tuple(self.vocab.drug_codes(canon).items()), rank=0)
        c = []
        if sense.get("icd10cm"):
            c.append(("ICD10CM", sense["icd10cm"]))
        if sense.get("mesh"):
            c.append(("MESH", sense["mesh"]))
        return Entry(sense["type"], sense["name"], src, tuple(c), rank=0)

    def _concept_fact(self, note: Note, text: str, start: int, end: int, entry: Entry, section: str | None) -> Fact | None:
        ftype = _FACT_TYPE.get(entry.type) or FactType(entry.type)
        codes = dict(entry.codes)
        attrs: dict[str, Any] = {}
        prov = [entry.source]
        if ftype == FactType.PROBLEM:
            if "ICD10CM" not in codes and self.config.icd_titles:
                code = self._icd(text[start:end], entry.name)
                if code:
                    codes["ICD10CM"] = code
                    prov.append("code:icd10cm-title")
        elif ftype == FactType.DRUG:
            surface = text[start:end]
            unii = self.vocab.unii
            su = unii.get(surface.upper())
            if entry.brand or (su is not None and su[2] == "bn" and surface.lower() != entry.name):
                attrs["brand"] = surface
            if self.config.unii:
                u = unii.get(entry.name.upper()) or su
                if u:
                    codes["UNII"] = u[0]
            if self.rxnorm is not None:
                cui = self.rxnorm.lookup(entry.name, text[start:end])
                if cui:
                    codes["RXNORM"] = cui
                    prov.append("code:rxnorm")
        elif ftype == FactType.PROCEDURE and entry.category:
            attrs["category"] = entry.category
        return Fact(note.patient_id, note.note_id, start, end, text[start:end], ftype, entry.name, codes=codes,
                    section=section, attributes=attrs, provenance=prov)

    def _icd(self, surface: str, name: str) -> str | None:
        key = (surface.lower(), name)
        if key not in self._icd_cache:
            self._icd_cache[key] = codes_mod.icd10_lookup(surface, name)
        return self._icd_cache[key]


_CLAUSE = re.compile(r";|\b(?:s/p|status post|but|whereas|history of|h/o|hx of|previously|in the past)\b", re.I)


class _Spans:
    """Non-overlapping spans with an O(log n) overlap test."""

    def __init__(self, spans: Iterable[tuple[int, int]]):
        self.spans = sorted(spans)
        self.starts = [a for a, _ in self.spans]

    def overlaps(self, s: int, e: int) -> bool:
        i = bisect.bisect_left(self.starts, e) - 1  # last span starting before e
        while i >= 0:
            a, b = self.spans[i]
            if b > s:
                return True
            if b <= s:
                return False
            i -= 1
        return False


# -- multiprocessing workers -----------------------------------------------------------------------
_worker: ClinicalExtractor | None = None


def _init_worker(extractor: ClinicalExtractor) -> None:
    global _worker
    _worker = extractor
    _worker.warm_up()


def _run_in_worker(note: Note) -> list[Fact]:
    assert _worker is not None
    return _worker.run(note)


def _run_batch(notes: list[Note]) -> list[list[Fact]]:
    assert _worker is not None
    return [_worker.run(n) for n in notes]


def _batched(notes: Iterable[Note], size: int) -> Iterator[list[Note]]:
    batch: list[Note] = []
    for n in notes:
        batch.append(n)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_default: ClinicalExtractor | None = None


def default_extractor() -> ClinicalExtractor:
    global _default
    if _default is None:
        _default = ClinicalExtractor()
    return _default


def pipe(notes: Iterable[Note], n_process: int = 1, batch_size: int = 32,
         extractor: ClinicalExtractor | None = None) -> Iterator[list[Fact]]:
    """Module-level convenience: ``extractors.pipe(notes, n_process=2)`` with a shared default extractor."""
    yield from (extractor or default_extractor()).pipe(notes, n_process=n_process, batch_size=batch_size)
