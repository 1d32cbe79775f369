"""Pydantic records the agent returns (the contract the UI, CLI and evals read).

An ``Answer`` is self-contained: the text, the chosen option, exact citations
into the notes, the structured facts it used, the verification verdict with
per-claim findings, the route the agent took, timings and token counts.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

VerificationStatus = Literal["verified", "partial", "unsupported", "abstained"]
FindingStatus = Literal["supported", "unsupported", "contradicted", "skipped"]


class Citation(BaseModel):
    """One quoted note span: ``note.text[start:end] == quote``."""

    evidence_id: str
    patient_id: str
    note_id: str
    start: int
    end: int
    quote: str
    note_date: str | None = None
    section: str | None = None

    def label(self) -> str:
        return f"[{self.evidence_id}] {self.note_id} {self.note_date or 'undated'} {self.start}-{self.end}"


class FactUsed(BaseModel):
    """A structured fact or computed timeline result that went into the answer."""

    fact_id: str
    kind: str  # "fact" | "interval" | "order" | "count" | "lab_series" | "first" | "last"
    text: str  # one table row, human readable
    name: str | None = None
    assertion: str | None = None
    date: str | None = None
    codes: dict[str, str] = Field(default_factory=dict)
    evidence_ids: list[str] = Field(default_factory=list)
    value: Any = None  # computed value (days, count, ordered names) when kind is computed


class Finding(BaseModel):
    """One checked claim of the answer."""

    check: str  # "citation" | "number" | "date" | "entity" | "assertion" | "judge" | "choice"
    claim: str
    status: FindingStatus
    detail: str = ""
    prompt_tokens: int = 0  # what the check cost a model (the entailment judge); counted in the answer's tokens
    completion_tokens: int = 0


class Verification(BaseModel):
    status: VerificationStatus
    findings: list[Finding] = Field(default_factory=list)
    reason: str | None = None
    draft_choice: str | None = None  # the option the reasoner proposed before verification (abstained answers too)

    @property
    def ok(self) -> bool:
        return self.status in ("verified", "partial")


class Answer(BaseModel):
    patient_id: str
    question: str
    text: str
    choice: str | None = None
    abstained: bool = False
    citations: list[Citation] = Field(default_factory=list)
    facts_used: list[FactUsed] = Field(default_factory=list)
    verification: Verification
    route: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=lambda: {"prompt": 0, "completion": 0})
    kind: str = "lookup"
    backend: str = "extractive"
    model: str | None = None
    mode: str = "stack"
    option_verdicts: dict[str, str] = Field(default_factory=dict)  # letter -> supported|contradicted|not_documented
    # letter -> the verifier's verdict had that option been the answer: "verified" or "failed <check>: <detail>"
    option_checks: dict[str, str] = Field(default_factory=dict)
    attempts: int = 1
    context_tokens: int = 0  # size of the assembled (or, collapsed, raw-notes) context the reasoner saw, in tokens
    # notes of this chart left out because they name another patient (wrong-patient documents): never silent
    excluded_notes: list[str] = Field(default_factory=list)
    # sentences the agent retrieved but did not use as evidence: they address a reader or a model (injection)
    flagged: list["FlaggedSentence"] = Field(default_factory=list)
    # cited sentences that contradict the record's allergy or medication list (agent.conflicts): shown, not answers
    conflicts: list["Conflict"] = Field(default_factory=list)


class FlaggedSentence(BaseModel):
    """A note sentence left out of the evidence because it talks to a reader or system, with the reason."""

    note_id: str
    start: int
    end: int
    quote: str
    reason: str


class NoteSpan(BaseModel):
    """An exact note span: ``note.text[start:end] == quote``."""

    note_id: str
    start: int
    end: int
    quote: str
    note_date: str | None = None


class Conflict(BaseModel):
    """A sentence whose claim contradicts structured facts elsewhere in the record (an allergy or medication list):
    ``claim`` the sentence, ``facts`` the list entries it contradicts, ``why`` in words."""

    kind: Literal["medication", "allergy"]
    claim: NoteSpan
    facts: list[NoteSpan]
    why: str

    def describe(self) -> str:
        """'"<claim>" (<note>) vs "<fact>" (<note>): <why>': one line for the verifier's finding and the renderers."""
        facts = "; ".join(f'"{" ".join(f.quote.split())}" ({f.note_id})' for f in self.facts)
        return f'"{" ".join(self.claim.quote.split())}" ({self.claim.note_id}) vs {facts}: {self.why}'


class AgentEvent(BaseModel):
    """One node update of the agent graph, streamed to the UI; the last event carries ``answer``."""

    node: str
    summary: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    elapsed_s: float = 0.0
    answer: Answer | None = None


# -- question intent ------------------------------------------------------------------------------------------
Asked = Literal["value", "dose", "date", "reason", "count", "order", "interval", "presence", "test_result", "trend",
                "other"]
EntityType = Literal["drug", "problem", "test", "procedure", "relative", "other"]
TimeRole = Literal["initial", "current", "on_date", "before", "after", "between", "first", "last", "none"]
Relation = Literal["start", "stop", "replace", "cause", "onset", "change"]


class IntentEntity(BaseModel):
    """An entity the question names, as worded there (resolved to graph concepts later)."""

    text: str
    type: EntityType = "other"


class Intent(BaseModel):
    """What a question asks, as typed slots: it drives the tools the agent runs and the claim the verifier checks.

    ``asked``: value (a named thing: which drug, which diagnosis), dose, date, reason (why / indication / cause),
    count, order, interval, presence (is X documented / did X happen), test_result, trend.
    ``relations``: the events the question's verbs name ("which drug replaced the one that caused the cough" ->
    replace, cause); they pick the medication and timeline queries.
    ``negated``: the question asks for the exception or an absence ("which was NOT given", "what was ruled out").
    ``time_role`` with ``anchor`` (the anchor event or date as worded): "initial dose" -> initial, "on 2020-03-01" ->
    on_date, "before the surgery" -> before + "the surgery". ``experiencer``: whose fact (patient, family or other
    person) and ``relative`` the family member named ("mother").
    """

    asked: Asked = "other"
    entities: list[IntentEntity] = Field(default_factory=list)
    time_role: TimeRole = "none"
    anchor: str | None = None
    experiencer: Literal["patient", "family", "other"] = "patient"
    relative: str | None = None
    negated: bool = False
    relations: list[Relation] = Field(default_factory=list)
    source: Literal["llm", "rules"] = "rules"  # which parser produced it


Answer.model_rebuild()
