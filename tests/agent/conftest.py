"""Agent test fixtures: an extractive ClinicalQA over hand-written notes, stored without extraction (fast)."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Note, Patient


@pytest.fixture(scope="module")
def notes_qa(tmp_path_factory):
    """``notes_qa(patient, {key: (iso_date, text)}, extract=False)`` -> ClinicalQA over those notes (with the
    extractors' facts when ``extract``); all closed at teardown."""
    from agent import ClinicalQA
    from clinqa.workspace import Workspace

    made = []

    def build(patient: Patient, notes: dict[str, tuple[str, str]], extract: bool = False):
        ws = Workspace(tmp_path_factory.mktemp(patient.patient_id), extract=extract, chunk=False)
        for key, (day, text) in notes.items():
            note = Note(patient.patient_id, key, text, note_date=dt.date.fromisoformat(day))
            ws.store.assign_note_id(note)
            ws.store.write_note(note, patient, ws.extractor.run(note) if extract else [], [])
        made.append(ClinicalQA(ws, backend="extractive"))
        return made[-1]

    yield build
    for q in made:
        q.close()
