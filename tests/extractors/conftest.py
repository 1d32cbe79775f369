"""Fixtures of the extractors tests: one warmed ClinicalExtractor per session, and a helper to run text."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Fact, FactType, Note

NOTE_DATE = dt.date(2024, 5, 1)


@pytest.fixture(scope="session")
def cx():
    from extractors import ClinicalExtractor

    x = ClinicalExtractor()
    x.warm_up()
    return x


def make_note(text: str, note_date: dt.date | None = NOTE_DATE, date_known: bool = True, note_id: str = "n1") -> Note:
    return Note("p1", f"src/{note_id}", text, note_date=note_date, date_known=date_known, note_id=note_id)


@pytest.fixture
def extract(cx):
    """extract(text, **note_kw) -> list[Fact]; also checks that every span is exactly the note text."""

    def run(text: str, **kw) -> list[Fact]:
        note = make_note(text, **kw)
        facts = cx.run(note)
        for f in facts:
            assert f.text == text[f.start : f.end], f
            assert f.note_id == note.note_id and f.patient_id == note.patient_id
        return facts

    return run


def of_type(facts, t: str) -> list[Fact]:
    return [f for f in facts if f.type == FactType(t)]


def one(facts, t: str, name: str) -> Fact:
    got = [f for f in facts if f.type == FactType(t) and f.name == name]
    assert len(got) == 1, (t, name, [(f.type.value, f.name, f.text) for f in facts])
    return got[0]
