"""Patient store: atomic writes, idempotent re-ingest, versioning, cascading deletes."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from clinqa.errors import UnknownNoteError, UnknownPatientError
from clinqa.records import Chunk, Fact, FactType, Note, Patient
from graph_store.store import PatientStore


def _note(text="Pt with HTN. Started lisinopril 10 mg.", key="n1", pid="p1"):
    return Note(pid, key, text, note_date=dt.date(2023, 3, 1), note_type="progress_note")


def _derived(store, note):
    store.assign_note_id(note)
    i = note.text.index("HTN")
    fact = Fact(note.patient_id, note.note_id, i, i + 3, "HTN", FactType.PROBLEM, "hypertension", {"ICD10CM": "I10"})
    chunk = Chunk(note.patient_id, note.note_id, 0, len(note.text), note.text)
    return [fact], [chunk]


@pytest.fixture
def store(tmp_path):
    s = PatientStore(tmp_path / "db.sqlite")
    yield s
    s.close()


def test_write_and_read_back(store):
    note = _note()
    facts, chunks = _derived(store, note)
    res = store.write_note(note, Patient("p1", "Ann"), facts, chunks)
    assert res.status == "added"
    got = store.notes("p1")
    assert [n.text for n in got] == [note.text]
    assert got[0].note_date == dt.date(2023, 3, 1)
    f = store.facts("p1")[0]
    assert got[0].text[f.start:f.end] == f.text == "HTN"
    assert f.codes == {"ICD10CM": "I10"}
    assert store.chunks("p1")[0].text == note.text
    assert store.patient("p1").name == "Ann"


def test_identical_reingest_is_noop(store):
    n1 = _note()
    store.write_note(n1, None, *_derived(store, n1))
    n2 = _note()
    assert store.plan_note(n2) == "unchanged"
    assert store.write_note(n2).status == "unchanged"
    assert store.counts()["notes"] == 1
    assert len(store.facts("p1")) == 1


def test_changed_note_is_versioned(store):
    n1 = _note()
    store.write_note(n1, None, *_derived(store, n1))
    n2 = _note(text="Pt with HTN. Started lisinopril 20 mg.")
    facts, chunks = _derived(store, n2)
    res = store.write_note(n2, None, facts, chunks)
    assert res.status == "versioned" and n2.version == 2 and n2.note_id.endswith("@v2")
    active = store.notes("p1")
    assert len(active) == 1 and "20 mg" in active[0].text
    assert len(store.notes("p1", include_inactive=True)) == 2
    # derived rows of the superseded version are gone; only the new ones remain
    assert {f.note_id for f in store.facts("p1")} == {n2.note_id}
    assert {c.note_id for c in store.chunks("p1")} == {n2.note_id}


def test_failed_write_leaves_nothing(store):
    n1 = _note()
    store.write_note(n1, None, *_derived(store, n1))
    before = store.counts()
    bad = _note(key="n2", text="Another note about DM2 and HTN.")
    store.assign_note_id(bad)
    wrong = Fact("p1", bad.note_id, 0, 5, "XXXXX", FactType.PROBLEM, "x")  # span text does not match the note
    with pytest.raises(ValueError):
        store.write_note(bad, None, [wrong], [])
    assert store.counts() == before


def test_transaction_rolls_back_on_db_error(store, monkeypatch):
    n1 = _note()
    facts, chunks = _derived(store, n1)
    orig = PatientStore._insert_chunks

    def boom(con, chunks):
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(PatientStore, "_insert_chunks", staticmethod(boom))
    with pytest.raises(sqlite3.OperationalError):
        store.write_note(n1, None, facts, chunks)
    monkeypatch.setattr(PatientStore, "_insert_chunks", orig)
    assert store.counts()["notes"] == 0 and store.counts()["facts"] == 0


def test_delete_note_and_patient_cascade(store):
    a, b = _note(key="a"), _note(key="b", text="Follow-up: HTN controlled.")
    store.write_note(a, None, *_derived(store, a))
    store.write_note(b, None, *_derived(store, b))
    store.delete_note(a.note_id)
    assert [n.note_id for n in store.notes("p1")] == [b.note_id]
    assert {f.note_id for f in store.facts("p1")} == {b.note_id}
    store.delete_patient("p1")
    assert store.counts() == {"patients": 0, "notes": 0, "facts": 0, "chunks": 0, "questions": 0}


def test_unknown_patient_and_note_errors(store):
    with pytest.raises(UnknownPatientError, match="unknown patient 'nobody'"):
        store.notes("nobody")
    with pytest.raises(UnknownPatientError):
        store.require_patient("")
    with pytest.raises(UnknownNoteError):
        store.note("p1/none")


def test_generation_changes_with_notes(store):
    n1 = _note()
    store.write_note(n1, None, *_derived(store, n1))
    g1 = store.generation("p1")
    n2 = _note(key="n2", text="New note: HTN.")
    store.write_note(n2, None, *_derived(store, n2))
    assert store.generation("p1") != g1


def test_persists_across_reopen(tmp_path):
    s = PatientStore(tmp_path / "db.sqlite")
    n = _note()
    s.write_note(n, None, *_derived(s, n))
    s.close()
    s2 = PatientStore(tmp_path / "db.sqlite")
    assert s2.notes("p1")[0].text == n.text
    s2.close()


def test_a_store_held_too_long_is_reported_busy_not_damaged(tmp_path):
    """SQLite's "database is locked" (another process kept the store past the busy timeout) is no damage."""
    import sqlite3

    from graph_store.store import storage_error

    err = storage_error(sqlite3.OperationalError("database is locked"), tmp_path / "clinqa.sqlite")
    assert err is not None and "busy" in str(err) and "damaged" not in str(err)
