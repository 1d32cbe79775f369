"""Shape schemas (pydantic) for the input formats the readers accept.

Readers validate a record's shape here first, so a wrong-shape file (an entry
that is a string, ``text_dates`` given as a list, ...) becomes one problem line
naming the field, instead of an ``AttributeError`` deep inside a reader. Only
the fields the readers use are modelled; anything else is allowed and kept.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class _Lenient(BaseModel):
    """Unknown fields allowed; numbers accepted where text is expected (ids, dates written as numbers)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


# -- LongHealth -----------------------------------------------------------------------------------
class LongHealthQuestion(_Lenient):
    question: str = Field(min_length=1)
    correct: str | None = None
    answer_location: dict[str, Any] = Field(default_factory=dict)
    kind: str | None = None


class LongHealthPatient(_Lenient):
    name: str | None = None
    birthday: str | None = None
    diagnosis: str | None = None
    texts: dict[str, Any] = Field(min_length=1)  # each text is checked on its own, so one bad text is one problem
    text_dates: dict[str, str | None] = Field(default_factory=dict)
    text_types: dict[str, str | None] = Field(default_factory=dict)
    questions: list[Any] = Field(default_factory=list)  # each question is checked on its own

    @field_validator("text_dates", "text_types", mode="before")
    @classmethod
    def _null_map_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v

    @field_validator("questions", mode="before")
    @classmethod
    def _null_list_is_empty(cls, v: Any) -> Any:
        return [] if v is None else v


class PatientMeta(_Lenient):
    """``patient.json`` next to a folder of text notes."""

    name: str | None = None
    birthday: str | None = None
    diagnosis: str | None = None


# -- FHIR R4 (the parts of DocumentReference / Patient / Bundle that are read) ------------------------
class Reference(_Lenient):
    reference: str | None = None


class Attachment(_Lenient):
    contentType: str | None = None
    data: str | None = None
    url: str | None = None


class DocumentContent(_Lenient):
    attachment: Attachment


class Coding(_Lenient):
    display: str | None = None


class CodeableConcept(_Lenient):
    text: str | None = None
    coding: list[Coding] = Field(default_factory=list)


class Period(_Lenient):
    start: str | None = None


class DocumentContext(_Lenient):
    period: Period | None = None


class DocumentReference(_Lenient):
    resourceType: Literal["DocumentReference"]
    id: str | None = None
    subject: Reference | None = None
    date: str | None = None
    description: str | None = None
    type: CodeableConcept | None = None
    content: list[DocumentContent] = Field(default_factory=list)
    context: DocumentContext | None = None


class HumanName(_Lenient):
    text: str | None = None
    given: list[str] = Field(default_factory=list)
    family: str | None = None


class FhirPatient(_Lenient):
    resourceType: Literal["Patient"]
    id: str | None = None
    name: list[HumanName] = Field(default_factory=list)
    birthDate: str | None = None


class BundleEntry(_Lenient):
    resource: dict[str, Any]


class Bundle(_Lenient):
    resourceType: Literal["Bundle"]
    entry: list[Any] = Field(default_factory=list)  # each entry is checked on its own


# -- CSV rows -----------------------------------------------------------------------------------------
class CsvRow(BaseModel):
    """One row of a notes export, after the column mapping (``readers.CSV_COLUMNS``); values as given."""

    patient_id: str
    text: str
    note_date: str | None = None
    note_type: str | None = None
    note_id: str | None = None


_KIND = {"dict_type": "an object", "model_type": "an object", "list_type": "a list", "string_type": "text", "missing": "required",
         "literal_error": "a different value", "too_short": "non-empty"}


def shape_problem(err: ValidationError, limit: int = 3, root: str = "record") -> str:
    """One line for a validation error: ``wrong shape: entry[2].subject: expected an object, got text; ...``."""
    parts = []
    for e in err.errors()[:limit]:
        loc = ""
        for p in e["loc"]:
            loc += f"[{p}]" if isinstance(p, int) else (f".{p}" if loc else str(p))
        got = type(e.get("input")).__name__
        got = {"str": "text", "dict": "an object", "list": "a list", "NoneType": "null", "int": "a number",
               "float": "a number", "bool": "true/false"}.get(got, got)
        if e["type"] == "missing":
            parts.append(f"{loc or root}: required field missing")
        elif e["type"] in _KIND:
            parts.append(f"{loc or root}: expected {_KIND[e['type']]}, got {got}")
        else:
            parts.append(f"{loc or root}: {e['msg']}")
    more = len(err.errors()) - limit
    return "wrong shape: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
