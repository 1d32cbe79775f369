"""Wrong-shape input: one problem line naming the file and the field, never a traceback; the batch goes on."""
from __future__ import annotations

import base64
import copy
import json

import pytest

from clinqa.workspace import Workspace

NOTE = "Progress note. Stable. Continue metformin 500 mg twice daily.\n"


def _docref(rid="d1"):
    return {"resourceType": "DocumentReference", "id": rid, "subject": {"reference": "Patient/p9"},
            "date": "2023-05-02", "type": {"text": "Progress note"},
            "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(NOTE.encode()).decode()}}]}


def _bundle():
    return {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p9", "name": [{"given": ["Max"], "family": "Muster"}]}},
        {"resource": _docref("d1")}, {"resource": _docref("d2")}]}


def _lh():
    return {"p1": {"name": "Anna", "texts": {"text_0": NOTE, "text_1": "Second " + NOTE},
                   "text_dates": {"text_0": "2023-01-01"}, "questions": [{"question": "Which drug?"}]}}


def _set(obj, path, value):
    obj = copy.deepcopy(obj)
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


FHIR_CASES = [
    ("entry is a string", _set(_bundle(), ["entry", 1], "DocumentReference/d1"), "entry[1]", 1),
    ("entry not a list", _set(_bundle(), ["entry"], {"resource": _docref()}), "entry", 0),
    ("subject as string", _set(_bundle(), ["entry", 1, "resource", "subject"], "Patient/p9"), "subject", 1),
    ("content as string", _set(_bundle(), ["entry", 1, "resource", "content"], "hello"), "content", 1),
    ("type as string", _set(_bundle(), ["entry", 1, "resource", "type"], "Progress note"), "type", 1),
    ("attachment as string", _set(_bundle(), ["entry", 1, "resource", "content", 0, "attachment"], "x"), "attachment", 1),
    ("resource as list", _set(_bundle(), ["entry", 1, "resource"], []), "resource", 1),
    ("patient name as string", _set(_bundle(), ["entry", 0, "resource", "name"], "Max"), "name", 2),
    ("coding as object", _set(_bundle(), ["entry", 1, "resource", "type"], {"coding": {"display": "x"}}), "coding", 1),
    ("single docref subject list", _set(_docref(), ["subject"], ["Patient/p9"]), "subject", 0),
]

LH_CASES = [
    ("text_dates as list", _set(_lh(), ["p1", "text_dates"], ["2023-01-01"]), "text_dates", 0),
    ("texts as list", _set(_lh(), ["p1", "texts"], [NOTE]), "texts", 0),
    ("text_types as string", _set(_lh(), ["p1", "text_types"], "note"), "text_types", 0),
    ("questions as object", _set(_lh(), ["p1", "questions"], {"question": "x"}), "questions", 0),
    ("question as string", _set(_lh(), ["p1", "questions", 0], "Which drug?"), "questions[0]", 2),
    ("name as object", _set(_lh(), ["p1", "name"], {"first": "Anna"}), "name", 0),
    ("text as number", _set(_lh(), ["p1", "texts", "text_1"], 42), "text_1", 1),
]


@pytest.mark.parametrize("label, obj, field, n_ok", FHIR_CASES + LH_CASES, ids=[c[0] for c in FHIR_CASES + LH_CASES])
def test_wrong_shape_is_one_line_and_the_batch_goes_on(tmp_path, label, obj, field, n_ok):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    good = tmp_path / "good" / "p2"
    good.mkdir(parents=True)
    (good / "n.txt").write_text(NOTE)
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s = ws.ingest([bad, tmp_path / "good"], progress=False)
    assert len(s.failed) == 1, s.failed
    line = s.failed[0]
    assert "\n" not in line and str(bad) in line and field in line
    assert "Traceback" not in line and "AttributeError" not in line
    assert ws.store.has_patient("p2")  # the input after the bad one was ingested
    assert s.added == 1 + n_ok and s.exit_code == 3


def test_csv_rows_with_wrong_shape(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "SUBJECT_ID,CHARTDATE,TEXT\n"
        "101,2150-01-03,Fine note.\n"
        "102,2150-01-04,too,many,fields\n"
        "   ,2150-01-04,no patient\n"
        "103,2150-01-05,Also fine.\n"
    )
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s = ws.ingest([path], progress=False)
    assert s.added == 2 and len(s.failed) == 2
    assert "n.csv:3" in s.failed[0] and "fields" in s.failed[0]
    assert "n.csv:4" in s.failed[1] and "without patient id" in s.failed[1]


def test_csv_broken_quote_stops_with_one_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'patient_id,text\n1,"ok"\n2,"unterminated\n' + b"x" * 100)
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s = ws.ingest([path], progress=False)
    assert s.added == 1 and all("q.csv" in f for f in s.failed)


def test_shape_problem_names_field_and_kind():
    from pydantic import ValidationError

    from graph_store.schemas import DocumentReference, shape_problem

    with pytest.raises(ValidationError) as e:
        DocumentReference.model_validate(_set(_docref(), ["subject"], "Patient/p9"))
    msg = shape_problem(e.value)
    assert msg == "wrong shape: subject: expected an object, got text"


@pytest.mark.parametrize(
    "name, content",
    [
        ("header_only.csv", b"patient_id,text\n"),
        ("empty_bundle.json", json.dumps({"resourceType": "Bundle", "entry": []}).encode()),
        ("only_observations.json", json.dumps({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Observation", "id": "o1"}}]}).encode()),
    ],
)
def test_input_without_any_note_is_a_problem(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s = ws.ingest([path], progress=False)
    assert s.exit_code == 1 and any(name in f and "no notes found" in f for f in s.failed)


def test_utf16_with_bom_is_decoded(tmp_path):
    path = tmp_path / "p1" / "n.txt"
    path.parent.mkdir()
    path.write_bytes("Patient klagt über Schmerzen.".encode("utf-16"))
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    assert ws.ingest([path], progress=False).added == 1
    (note,) = ws.store.notes("p1")
    assert note.text == "Patient klagt über Schmerzen." and "encoding:utf-16" in note.flags


def test_problem_lines_stay_one_line_whatever_the_file_name(tmp_path):
    d = tmp_path / "in" / "p1"
    d.mkdir(parents=True)
    (d / "bad\nname.txt").write_text("")
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s = ws.ingest([tmp_path / "in"], progress=False)
    assert s.failed and all("\n" not in f for f in s.failed) and "bad\\nname.txt" in s.failed[0]
