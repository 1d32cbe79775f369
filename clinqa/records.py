"""Typed records that flow between the layers (notes -> facts/chunks -> hits -> answers).

Plain dataclasses: cheap to build in the extraction hot path, picklable for
``nlp.pipe(n_process=2)``, and serialisable to/from JSON for the SQLite store.
Every record that points into a note carries (patient_id, note_id, start, end);
``note.text[start:end]`` is exactly the record's ``text``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class FactType(str, enum.Enum):
    PROBLEM = "PROBLEM"  # diagnoses, symptoms, findings
    DRUG = "DRUG"
    LAB = "LAB"
    VITAL = "VITAL"
    PROCEDURE = "PROCEDURE"  # procedures and imaging
    SECTION = "SECTION"  # a section header span (title in attributes["section"])
    DATE = "DATE"  # a normalized date/duration expression
    DOSE = "DOSE"  # a drug's dose as written ("40 mg"); relation dose_of -> the drug fact


class Assertion(str, enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"  # negated / ruled out
    POSSIBLE = "possible"  # uncertain, suspected, "cannot exclude"
    HYPOTHETICAL = "hypothetical"  # conditional / future ("return if fever develops")


class Experiencer(str, enum.Enum):
    PATIENT = "patient"
    FAMILY = "family"
    OTHER = "other"


class DateKind(str, enum.Enum):
    OCCURRED = "occurred"  # the note says when it happened
    DOCUMENTED = "documented"  # only known to be documented on the note date
    UNKNOWN = "unknown"  # note date unknown too


@dataclass(frozen=True)
class Span:
    """Provenance of anything quoted from a note."""

    patient_id: str
    note_id: str
    start: int
    end: int


@dataclass
class Patient:
    patient_id: str
    name: str | None = None
    birthday: str | None = None
    diagnosis: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Note:
    """One clinical document. ``note_id`` is assigned by the store."""

    patient_id: str
    source_key: str  # stable identity inside its source (file path, text_0, DocumentReference id, CSV row id)
    text: str
    note_date: dt.date | None = None
    date_known: bool = True  # False when the reader fell back to the ingest date
    note_type: str = "note"
    title: str | None = None
    source: str = ""  # file or URI it came from
    flags: list[str] = field(default_factory=list)  # e.g. "decode_replaced", "date_unknown"
    note_id: str = ""
    version: int = 1
    sha256: str = ""
    ingest_run: str = ""

    def __post_init__(self) -> None:
        if not self.sha256:
            self.sha256 = sha256_text(self.text)


@dataclass
class Relation:
    kind: str  # "dose_of", "adverse_event_of", "indication_of", "caused_by", ...
    target: str  # fact_id of the other end
    rule: str = ""


@dataclass
class Fact:
    """One extracted clinical fact anchored to an exact note span."""

    patient_id: str
    note_id: str
    start: int
    end: int
    text: str
    type: FactType
    name: str  # normalized / preferred name (generic drug name, lower-cased problem)
    codes: dict[str, str] = field(default_factory=dict)  # {"ICD10CM": "I10", "DRUGBANK": "DB00...", "MESH": ..., "UNII": ...}
    section: str | None = None
    assertion: Assertion = Assertion.PRESENT
    historical: bool = False
    experiencer: Experiencer = Experiencer.PATIENT
    assertion_triggers: list[str] = field(default_factory=list)  # "rule_id:trigger text" that decided it
    date: dt.date | None = None
    date_kind: DateKind = DateKind.DOCUMENTED
    date_text: str | None = None  # the expression that dated it, if any
    attributes: dict[str, Any] = field(default_factory=dict)  # dose, unit, route, frequency, change, value, abnormal...
    relations: list[Relation] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)  # rule / dictionary ids that produced it
    fact_id: str = ""

    def __post_init__(self) -> None:
        if not self.fact_id:
            kind = self.type._value_ if isinstance(self.type, FactType) else FactType(self.type).value
            self.fact_id = "f_" + hashlib.sha1(f"{self.note_id}|{self.start}|{self.end}|{kind}".encode()).hexdigest()[:16]

    @property
    def span(self) -> Span:
        return Span(self.patient_id, self.note_id, self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["type"] = FactType(self.type).value
        d["assertion"] = Assertion(self.assertion).value
        d["experiencer"] = Experiencer(self.experiencer).value
        d["date_kind"] = DateKind(self.date_kind).value
        d["date"] = self.date.isoformat() if self.date else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Fact":
        d = dict(d)
        d["type"] = FactType(d["type"])
        d["assertion"] = Assertion(d.get("assertion", "present"))
        d["experiencer"] = Experiencer(d.get("experiencer", "patient"))
        d["date_kind"] = DateKind(d.get("date_kind", "documented"))
        d["date"] = dt.date.fromisoformat(d["date"]) if d.get("date") else None
        d["relations"] = [Relation(**r) for r in d.get("relations", [])]
        return cls(**d)


@dataclass
class Chunk:
    """A retrieval unit: a sentence window inside one section of one note."""

    patient_id: str
    note_id: str
    start: int
    end: int
    text: str
    section: str | None = None
    note_date: dt.date | None = None
    chunk_id: str = ""

    def __post_init__(self) -> None:
        if not self.chunk_id:
            raw = f"{self.note_id}|{self.start}|{self.end}"
            self.chunk_id = "c_" + hashlib.sha1(raw.encode()).hexdigest()[:16]

    @property
    def content_hash(self) -> str:
        return sha256_text(self.text)


@dataclass
class Question:
    """A benchmark / sample question kept with its patient (LongHealth shape plus extras)."""

    patient_id: str
    question_id: str
    text: str
    options: dict[str, str] = field(default_factory=dict)  # {"A": "...", ...}
    correct: str | None = None  # the correct option *text* as LongHealth ships it
    answer_location: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def correct_letter(self) -> str | None:
        for letter, text in self.options.items():
            if self.correct is not None and text.strip() == self.correct.strip():
                return letter
        return None
