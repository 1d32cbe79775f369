"""Chunker: exact offsets, section boundaries, windows/overlap, SECTION facts vs header fallback."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from clinqa.records import Fact, FactType, Note
from retrieval import NoteChunker
from retrieval.chunking import detect_sections, split_sentences

DATA = Path(__file__).parent / "data" / "longhealth_mini.json"

NOTE = """Discharge summary

History:
58 year old woman with HTN. She reports chest pain on exertion. No fever. Weight stable.
Denies smoking.

Medications:
- Metoprolol 25 mg BID
- Aspirin 81 mg daily
- Atorvastatin 40 mg nightly

PLAN
Stress test next week. Return if symptoms worsen.
"""


def _note(text: str = NOTE, pid: str = "p1") -> Note:
    n = Note(pid, "n1", text, note_date=dt.date(2021, 5, 1))
    n.note_id = f"{pid}/n1"
    return n


def _fixture_notes() -> list[Note]:
    data = json.loads(DATA.read_text())
    out = []
    for pid, p in data.items():
        for key, text in p["texts"].items():
            n = Note(pid, key, text)
            n.note_id = f"{pid}/{key}"
            out.append(n)
    return out


@pytest.mark.parametrize("window,overlap", [(1, 0), (2, 1), (3, 1), (5, 2)])
def test_offsets_match_note_text_and_cover_it(window, overlap):
    chunker = NoteChunker(window=window, overlap=overlap)
    for note in [_note(), *_fixture_notes()]:
        chunks = chunker.run(note, [])
        assert chunks, note.note_id
        covered = [False] * len(note.text)
        for c in chunks:
            assert note.text[c.start : c.end] == c.text
            assert c.text == c.text.strip() and c.text
            assert (c.patient_id, c.note_id, c.note_date) == (note.patient_id, note.note_id, note.note_date)
            for i in range(c.start, c.end):
                covered[i] = True
        # every non-blank character of the note is retrievable
        missing = [i for i, ch in enumerate(note.text) if not ch.isspace() and not covered[i]]
        assert not missing, note.text[missing[0] : missing[0] + 40]
        assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_chunks_stay_inside_their_section():
    note = _note()
    chunks = NoteChunker(window=4, overlap=1).run(note, [])
    sections = detect_sections(note.text)
    assert [s.name for s in sections] == [None, "history", "medications", "plan"]
    for c in chunks:
        owner = [s for s in sections if s.start <= c.start and c.end <= s.end]
        assert len(owner) == 1 and owner[0].name == c.section
    meds = [c for c in chunks if c.section == "medications"]
    assert meds and "Metoprolol" in meds[0].text and "Stress test" not in " ".join(c.text for c in meds)


def test_window_and_overlap_share_exactly_overlap_sentences():
    text = "Findings: " + " ".join(f"Sentence number {i} is here." for i in range(10))
    note = _note(text)
    chunks = NoteChunker(window=3, overlap=1).run(note, [])
    sents = split_sentences(text, 0, len(text), 1000)
    assert len(sents) == 10  # "Findings: Sentence number 0 is here." is one sentence
    bounds = [(c.start, c.end) for c in chunks]
    assert bounds[0] == (sents[0][0], sents[2][1])
    assert bounds[1] == (sents[2][0], sents[4][1])  # sentence 2 shared
    assert bounds[-1][1] == sents[-1][1]


def test_section_facts_take_precedence_over_header_detection():
    text = "Chief complaint: cough. Assessment and plan: start amoxicillin. Follow up in 1 week."
    note = _note(text)
    a = text.index("Assessment and plan")
    facts = [
        Fact("p1", note.note_id, 0, 15, text[0:15], FactType.SECTION, "chief complaint",
             attributes={"section": "chief_complaint", "body_end": a}),
        Fact("p1", note.note_id, a, a + 19, text[a : a + 19], FactType.SECTION, "assessment and plan",
             attributes={"section": "assessment_plan", "body_end": len(text)}),
    ]
    chunks = NoteChunker(window=3, overlap=1).run(note, facts)
    assert {c.section for c in chunks} == {"chief_complaint", "assessment_plan"}
    plan = [c for c in chunks if c.section == "assessment_plan"]
    assert all(c.start >= a for c in plan) and "amoxicillin" in plan[0].text
    assert all(c.end <= a for c in chunks if c.section == "chief_complaint")


def test_long_sentence_is_cut_below_max_chars():
    text = "Narrative: " + " ".join(["word"] * 600)
    chunks = NoteChunker(window=3, overlap=1, max_chars=300).run(_note(text), [])
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_no_headers_gives_one_unnamed_section():
    text = "patient seen today. doing well. continue current meds."
    chunks = NoteChunker().run(_note(text), [])
    assert {c.section for c in chunks} == {None}


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError):
        NoteChunker(window=2, overlap=2)
    with pytest.raises(ValueError):
        NoteChunker(window=0)
