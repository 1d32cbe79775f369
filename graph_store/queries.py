"""Typed results of the patient-graph queries (what the agent's tools receive).

Every result that states something about the patient carries ``Evidence``: the
note, the exact character span, the quoted text and the note date, so the
agent can cite it and the verifier can check it against the note. A query that
finds nothing returns an empty result (or ``NotDocumented``) whose ``message``
says that the record does not document it -- never a guess.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Evidence:
    """One quoted note span: ``note.text[start:end] == quote``."""

    patient_id: str
    note_id: str
    start: int
    end: int
    quote: str
    note_date: dt.date | None
    section: str | None = None
    fact_id: str | None = None

    def cite(self) -> str:
        day = self.note_date.isoformat() if self.note_date else "undated"
        return f"[{self.note_id} {day} {self.start}-{self.end}] \"{self.quote}\""


@dataclass
class FactView:
    """One stored fact (a mention) as the graph sees it: resolved concept and cross-note flags."""

    fact_id: str
    concept_key: str
    concept_name: str
    type: str  # FactType value
    name: str
    text: str
    assertion: str
    historical: bool
    experiencer: str
    date: dt.date | None  # when it occurred if known, else the note date
    date_kind: str  # DateKind value ("occurred" | "documented" | "unknown")
    date_text: str | None
    attributes: dict[str, Any]
    codes: dict[str, str]
    evidence: Evidence
    copy_forward_of: str | None = None  # fact_id of the earlier mention this sentence was carried forward from
    conflict: bool = False  # the concept is present in one note and negated in another

    @property
    def is_copy_forward(self) -> bool:
        return self.copy_forward_of is not None


@dataclass
class TimelineEvent:
    """A dated event: a diagnosis, a medication start/stop/dose change, a procedure, a lab result, an adverse event."""

    date: dt.date | None
    date_kind: str
    event_type: str  # see EVENT_TYPES
    concept_key: str
    name: str
    detail: str  # human-readable: "40 mg PO daily", "7.2 %", ...
    fact_id: str
    evidence: Evidence
    attributes: dict[str, Any] = field(default_factory=dict)
    mentions: list[Evidence] = field(default_factory=list)  # later mentions/copy-forward repeats of the same event

    @property
    def all_evidence(self) -> list[Evidence]:
        return [self.evidence, *self.mentions]


EVENT_TYPES = (
    "diagnosis", "finding", "adverse_event", "medication_start", "medication_stop", "medication_hold",
    "dose_change", "medication", "medication_past", "procedure", "lab_result", "vital_sign",
)


@dataclass
class DoseChange:
    date: dt.date | None
    change: str | None  # started | increased | decreased | continued | ...
    dose: Any
    unit: str | None
    route: str | None
    frequency: str | None
    evidence: Evidence


@dataclass
class MedicationInterval:
    """A medication from its start to its stop (``end`` None: no stop documented)."""

    concept_key: str
    name: str
    start: dt.date | None
    end: dt.date | None
    start_evidence: Evidence
    end_evidence: Evidence | None
    start_explicit: bool  # True: a "started" mention; False: first documented mention
    end_reason: str | None  # "stopped" | "held" | None
    last_documented: dt.date | None
    doses: list[DoseChange] = field(default_factory=list)

    @property
    def ongoing(self) -> bool:
        return self.end is None

    def active_on(self, day: dt.date) -> bool:
        if self.start is None or day < self.start:
            return False
        return self.end is None or day < self.end or (day == self.end and self.end_reason is None)


@dataclass
class LabPoint:
    date: dt.date | None
    value: Any
    unit: str | None
    abnormal: str | None
    evidence: Evidence
    ref_range: str | None = None


@dataclass
class LabSeries:
    test: str
    concept_key: str | None
    name: str | None
    points: list[LabPoint]
    message: str

    @property
    def documented(self) -> bool:
        return bool(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[LabPoint]:
        return iter(self.points)


@dataclass
class Conflict:
    """A concept asserted present in one place and negated/ruled out in another; both kept, with dates."""

    concept_key: str
    name: str
    present: list[FactView]
    negated: list[FactView]
    message: str


@dataclass
class Interval:
    """Days between the first occurrences of two concepts (b minus a; negative: b came first)."""

    a: str
    b: str
    a_key: str
    b_key: str
    a_date: dt.date
    b_date: dt.date
    days: int
    a_evidence: Evidence
    b_evidence: Evidence
    message: str
    documented: bool = True

    def __bool__(self) -> bool:
        return True


@dataclass
class OrderItem:
    query: str
    concept_key: str
    name: str
    date: dt.date | None
    date_kind: str
    evidence: Evidence


@dataclass
class OrderResult:
    """Concepts sorted by first occurrence; ``not_documented`` names the ones the record does not mention."""

    items: list[OrderItem]
    not_documented: list[str]
    message: str

    @property
    def documented(self) -> bool:
        return bool(self.items)


@dataclass
class CountResult:
    """Distinct events of a concept, copy-forward repeats not counted."""

    concept: str
    concept_keys: list[str]
    count: int
    events: list[TimelineEvent]
    repeats_ignored: int
    message: str

    @property
    def documented(self) -> bool:
        return self.count > 0


@dataclass
class NotDocumented:
    """Nothing in the record answers this query (falsy)."""

    query: str
    message: str
    documented: bool = False

    def __bool__(self) -> bool:
        return False


@dataclass
class Results(Generic[T]):
    """A list result that also says, in words, what it found or that nothing was documented."""

    query: str
    items: list[T]
    message: str

    @property
    def documented(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> T:
        return self.items[i]


def to_jsonable(obj: Any) -> Any:
    """Plain JSON-ready data (dates as ISO strings) for tool outputs and APIs."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, (Results, LabSeries, OrderResult, CountResult, NotDocumented)):
            out["documented"] = bool(obj.documented)
        return out
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    return obj
