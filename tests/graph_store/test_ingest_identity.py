"""Patient and note identity at ingest: distinct sources never merge; confusable ids are refused, naming both."""
from __future__ import annotations

import base64
import json
import unicodedata

import pytest

from clinqa.workspace import Workspace

NOTE = "Seen in clinic. Blood pressure 130/80. Continue ramipril 5 mg daily.\n"


def _ws(tmp_path):
    return Workspace(tmp_path / "ws", extract=False, chunk=False)


def _lh(tmp_path, patients: dict, name="lh.json"):
    path = tmp_path / name
    path.write_text(json.dumps(patients, ensure_ascii=False), "utf-8")
    return path


def _texts(ws, pid):
    return {n.source_key: n.text for n in ws.store.notes(pid)}


@pytest.mark.parametrize(
    "a, b",
    [
        ("pt/001", "pt_001"),  # once both became pt_001
        ("Müller", "Möller"),  # once both became M_ller
        ("患者一", "患者二"),  # once both became "unnamed"
        ("p 1", "p_1"),
        ("p.1", "p-1"),
    ],
)
def test_longhealth_keys_stay_distinct_patients(tmp_path, a, b):
    ws = _ws(tmp_path)
    path = _lh(tmp_path, {
        a: {"name": "Anna A", "texts": {"text_0": "First patient. " + NOTE}},
        b: {"name": "Berta B", "texts": {"text_0": "Second patient. " + NOTE}},
    })
    s = ws.ingest([path], progress=False)
    assert s.added == 2 and not s.failed and s.exit_code == 0
    assert {p.patient_id for p in ws.store.patients()} == {a, b}
    assert ws.store.patient(a).name == "Anna A" and ws.store.patient(b).name == "Berta B"
    assert _texts(ws, a)["text_0"].startswith("First") and _texts(ws, b)["text_0"].startswith("Second")
    assert len({n.note_id for pid in (a, b) for n in ws.store.notes(pid)}) == 2


def test_non_ascii_folder_names_stay_distinct(tmp_path):
    root = tmp_path / "in"
    for name, word in (("患者一", "alpha"), ("患者二", "beta"), ("Ωμέγα", "gamma")):
        (root / name).mkdir(parents=True)
        (root / name / "note.txt").write_text(f"{word} {NOTE}", "utf-8")
    ws = _ws(tmp_path)
    s = ws.ingest([root], progress=False)
    assert s.added == 3 and not s.failed
    assert {p.patient_id for p in ws.store.patients()} == {"患者一", "患者二", "Ωμέγα"}
    assert _texts(ws, "患者二")["note.txt"].startswith("beta")


def test_note_file_names_that_once_collided_are_two_notes(tmp_path):
    d = tmp_path / "in" / "p1"
    d.mkdir(parents=True)
    (d / "lab 1.txt").write_text("Potassium 4.1 mmol/L.")
    (d / "lab_1.txt").write_text("Sodium 139 mmol/L.")
    ws = _ws(tmp_path)
    s = ws.ingest([tmp_path / "in"], progress=False)
    assert s.added == 2 and s.versioned == 0
    texts = _texts(ws, "p1")
    assert texts == {"lab 1.txt": "Potassium 4.1 mmol/L.", "lab_1.txt": "Sodium 139 mmol/L."}
    # a re-ingest replaces a note only when the same source id maps to it
    (d / "lab 1.txt").write_text("Potassium 5.9 mmol/L (high).")
    s2 = ws.ingest([tmp_path / "in"], progress=False)
    assert s2.versioned == 1 and s2.unchanged == 1
    assert _texts(ws, "p1")["lab_1.txt"] == "Sodium 139 mmol/L."


def test_note_ids_never_collide_across_separators(tmp_path):
    ws = _ws(tmp_path)
    path = _lh(tmp_path, {
        "pt/001": {"texts": {"a": "one " + NOTE}},
        "pt": {"texts": {"001/a": "two " + NOTE}},
        "x@v2": {"texts": {"t": "three " + NOTE}},
        "x": {"texts": {"t": "four " + NOTE}},
    })
    s = ws.ingest([path], progress=False)
    assert s.added == 4 and not s.failed
    ids = [n.note_id for pid in ("pt/001", "pt", "x@v2", "x") for n in ws.store.notes(pid)]
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    "a, b",
    [
        (unicodedata.normalize("NFC", "Müller"), unicodedata.normalize("NFD", "Müller")),  # same on screen
        ("P001", "p001"),  # case only
        ("ＰＴ１", "PT1"),  # full-width digits and letters
    ],
)
def test_confusable_keys_in_one_file_are_refused_naming_both(tmp_path, a, b):
    ws = _ws(tmp_path)
    path = _lh(tmp_path, {a: {"texts": {"t": "one " + NOTE}}, b: {"texts": {"t": "two " + NOTE}}})
    s = ws.ingest([path], progress=False)
    assert s.added == 0 and len(s.failed) == 2 and s.exit_code == 1
    for line in s.failed:
        assert repr(a) in line and repr(b) in line and "refused" in line
    assert ws.store.patients() == []


def test_confusable_folders_and_note_names_are_refused(tmp_path):
    root = tmp_path / "in"
    (root / "P7").mkdir(parents=True)
    (root / "p7").mkdir()
    (root / "P7" / "a.txt").write_text(NOTE)
    (root / "p7" / "a.txt").write_text(NOTE)
    (root / "q1").mkdir()
    (root / "q1" / "Echo.txt").write_text("echo one")
    (root / "q1" / "echo.txt").write_text("echo two")
    (root / "q1" / "ok.txt").write_text("kept")
    ws = _ws(tmp_path)
    s = ws.ingest([root], progress=False)
    assert s.added == 1 and s.exit_code == 3
    assert _texts(ws, "q1") == {"ok.txt": "kept"}
    assert sum("'P7'" in f and "'p7'" in f for f in s.failed) == 2
    assert sum("'Echo.txt'" in f and "'echo.txt'" in f for f in s.failed) == 2


def test_confusable_with_a_stored_patient_is_refused(tmp_path):
    ws = _ws(tmp_path)
    first = _lh(tmp_path, {"MRN-77": {"texts": {"t": NOTE}}}, "first.json")
    ws.ingest([first], progress=False)
    second = _lh(tmp_path, {"mrn-77": {"texts": {"t": "other " + NOTE}}}, "second.json")
    s = ws.ingest([second], progress=False)
    assert s.added == 0 and s.exit_code == 1
    assert "'mrn-77'" in s.failed[0] and "'MRN-77'" in s.failed[0] and "first.json" in s.failed[0]
    assert [p.patient_id for p in ws.store.patients()] == ["MRN-77"]


def test_same_id_with_another_name_is_refused_not_overwritten(tmp_path):
    ws = _ws(tmp_path)
    a = _lh(tmp_path, {"p1": {"name": "Anna Berger", "birthday": "1950-01-02", "texts": {"t": NOTE}}}, "a.json")
    ws.ingest([a], progress=False)
    b = _lh(tmp_path, {"p1": {"name": "Rosa Petrov", "texts": {"u": "other " + NOTE}}}, "b.json")
    s = ws.ingest([b], progress=False)
    assert s.added == 0 and s.exit_code == 1
    assert "Anna Berger" in s.failed[0] and "Rosa Petrov" in s.failed[0]
    assert "a.json" in s.failed[0] and "b.json" in s.failed[0]
    assert ws.store.patient("p1").name == "Anna Berger" and set(_texts(ws, "p1")) == {"t"}
    # the same person written differently (case, spacing, accents, a middle name, another date format) is no conflict
    for i, (name, birthday) in enumerate([("ANNA  berger", None), ("Anna Maria Berger", "01/02/1950"),
                                           ("Änna Berger", "1950-01-02")]):
        c = _lh(tmp_path, {"p1": {"name": name, "birthday": birthday, "texts": {f"u{i}": f"{i} " + NOTE}}}, f"c{i}.json")
        assert ws.ingest([c], progress=False).added == 1, name
    assert ws.store.patient("p1").name == "Anna Berger"  # the registered name is kept, never overwritten
    d = _lh(tmp_path, {"p1": {"name": "Anna Berger", "birthday": "1951-01-02", "texts": {"v": "x " + NOTE}}}, "d.json")
    s = ws.ingest([d], progress=False)
    assert s.added == 0 and "birthday '1950-01-02'" in s.failed[0] and "'1951-01-02'" in s.failed[0]


def test_duplicate_json_keys_are_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"p1": {"texts": {"t": "one"}}, "p1": {"texts": {"t": "two"}}}')
    ws = _ws(tmp_path)
    s = ws.ingest([path], progress=False)
    assert s.added == 0 and "duplicate key 'p1'" in s.failed[0]


def test_fhir_docref_without_id_has_a_stable_identity(tmp_path):
    doc = {"resourceType": "DocumentReference", "subject": {"reference": "Patient/pt/9"},
           "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(NOTE.encode()).decode()}}]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc))
    ws = _ws(tmp_path)
    assert ws.ingest([path], progress=False).added == 1
    assert ws.ingest([path], progress=False).unchanged == 1  # same content -> same note, not a new one
    assert [p.patient_id for p in ws.store.patients()] == ["9"]
