"""Every reader, and every kind of bad input: clear errors naming the file, the batch goes on."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from clinqa.workspace import Workspace
from graph_store.readers import ReadItem, ReadProblem, parse_date, read_path

NOTE = "HISTORY OF PRESENT ILLNESS: 64M with HTN presents with chest pain.\nPLAN: start aspirin 81 mg daily.\n"


def items(path):
    got = list(read_path(path))
    return [x for x in got if isinstance(x, ReadItem)], [x for x in got if isinstance(x, ReadProblem)]


def test_folder_front_matter_and_filename_dates(tmp_path):
    p = tmp_path / "notes" / "pat-7"
    p.mkdir(parents=True)
    (p / "a.md").write_text("---\ndate: 2023-03-14\ntype: discharge_summary\ntitle: Discharge\n---\n" + NOTE)
    (p / "2023-02-01_progress.txt").write_text(NOTE)
    (p / "undated.txt").write_text(NOTE)
    (p / "image.png").write_bytes(b"\x89PNG\r\n")
    ok, problems = items(tmp_path / "notes")
    assert len(ok) == 1 and ok[0].patient.patient_id == "pat-7"
    by_key = {n.source_key: n for n in ok[0].notes}
    a = by_key["a.md"]
    assert a.note_date == dt.date(2023, 3, 14) and a.note_type == "discharge_summary" and a.title == "Discharge"
    assert a.text == NOTE  # front matter stripped, offsets are relative to the stored text
    prog = by_key["2023-02-01_progress.txt"]
    assert prog.note_date == dt.date(2023, 2, 1) and prog.date_known and prog.note_type == "progress_note"
    und = by_key["undated.txt"]
    assert not und.date_known and "date_unknown" in und.flags
    assert len(problems) == 1 and problems[0].skipped and "image.png" in problems[0].source


def test_longhealth_json_with_questions(tmp_path):
    data = {
        "patient_01": {
            "name": "Anna Example", "birthday": "1950-01-02", "diagnosis": "DLBCL",
            "texts": {"text_0": "Date: 03/14/2023\n" + NOTE, "text_1": "Discharge letter 2023-04-01\nNo fever."},
            "questions": [{
                "No": 1, "question": "Which drug was started?", "answer_a": "aspirin", "answer_b": "heparin",
                "answer_c": "warfarin", "answer_d": "insulin", "answer_e": "metformin", "correct": "aspirin",
                "answer_location": {"text_0": [[0.5, 0.9]]},
            }],
        }
    }
    path = tmp_path / "lh.json"
    path.write_text(json.dumps(data))
    ok, problems = items(path)
    assert not problems
    item = ok[0]
    assert item.patient.name == "Anna Example" and item.patient.diagnosis == "DLBCL"
    dates = {n.source_key: n.note_date for n in item.notes}
    assert dates == {"text_0": dt.date(2023, 3, 14), "text_1": dt.date(2023, 4, 1)}
    q = item.questions[0]
    assert q.options["A"] == "aspirin" and q.correct_letter == "A" and q.answer_location == {"text_0": [[0.5, 0.9]]}


def _docref(rid, text, subject="Patient/p9", ctype="text/plain", date="2023-05-02T10:00:00Z"):
    return {
        "resourceType": "DocumentReference", "id": rid, "subject": {"reference": subject}, "date": date,
        "type": {"text": "Progress note"},
        "content": [{"attachment": {"contentType": ctype, "data": base64.b64encode(text.encode()).decode()}}],
    }


def test_fhir_bundle_and_single_docref(tmp_path):
    bundle = {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9", "name": [{"given": ["Max"], "family": "Muster"}],
                          "birthDate": "1960-02-03"}},
            {"resource": _docref("d1", NOTE)},
            {"resource": _docref("d2", "# Radiology\nNo pulmonary embolism.", ctype="text/markdown")},
            {"resource": _docref("d3", "x", ctype="application/pdf")},
            {"resource": {"resourceType": "Observation", "id": "o1"}},
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    ok, problems = items(path)
    assert len(ok) == 1 and ok[0].patient.name == "Max Muster"
    assert sorted(n.source_key for n in ok[0].notes) == ["d1", "d2"]
    assert ok[0].notes[0].note_date == dt.date(2023, 5, 2) and ok[0].notes[0].note_type == "Progress note"
    assert any("d3" in p.source or "entry[3]" in p.source for p in problems if not p.skipped)
    assert any(p.skipped and "Observation" in p.problem for p in problems)
    single = tmp_path / "docref.json"
    single.write_text(json.dumps(_docref("d7", NOTE)))
    ok, problems = items(single)
    assert not problems and ok[0].notes[0].patient_id == "p9"


@pytest.mark.parametrize(
    "resource, message",
    [
        ({"resourceType": "DocumentReference", "id": "x", "content": []}, "no subject"),
        ({**_docref("x", NOTE), "content": [{"attachment": {"contentType": "text/plain", "data": "%%%notbase64"}}]},
         "not valid base64"),
        ({"resourceType": "Claim"}, "unsupported FHIR resourceType"),
    ],
)
def test_malformed_fhir(tmp_path, resource, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(resource))
    ok, problems = items(path)
    assert not ok and message in problems[0].problem and str(path) in problems[0].source


def test_csv_streamed(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        "ROW_ID,SUBJECT_ID,CHARTDATE,CATEGORY,TEXT\n"
        '1,101,2150-01-03,Discharge summary,"Admission Date: ...\nNo chest pain, ""quoted"" text."\n'
        "2,101,2150-01-05,Nursing,Stable overnight.\n"
        "3,,2150-01-05,Nursing,orphan row\n"
        "4,102,,Radiology,\n"
    )
    ok, problems = items(path)
    assert [(i.patient.patient_id, i.notes[0].note_date) for i in ok] == [
        ("101", dt.date(2150, 1, 3)), ("101", dt.date(2150, 1, 5))]
    assert '"quoted"' in ok[0].notes[0].text and ok[0].notes[0].note_type == "Discharge summary"
    assert [p.source.rsplit(":", 1)[1] for p in problems] == ["4", "5"]
    assert "without patient id" in problems[0].problem and "empty note" in problems[1].problem


def test_csv_missing_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    ok, problems = items(path)
    assert not ok and "lacks required column" in problems[0].problem


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"   \n\n", "empty note"),
        ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 100, "binary"),
        ("bad.json", b"{not json", "malformed JSON"),
        ("weird.json", b'{"a": 1}', "neither LongHealth"),
        ("huge.txt", b"word " * (1024 * 1024 + 10), "larger than 5 MB"),
        ("note.docx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_bad_inputs_name_file_and_problem(tmp_path, name, content, message):
    path = tmp_path / "pat" / name
    path.parent.mkdir()
    path.write_bytes(content)
    ok, problems = items(path)
    assert not ok
    assert message in problems[0].problem and name in problems[0].source


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("Patient klagt \u00fcber Schmerzen. No fever.", "latin-1"),
        ("Patient: Jos\u00e9 M\u00fcller, caf\u00e9. Fi\u00e8vre \u00e0 39\u00b0C, parac\u00e9tamol.", "latin-1"),
        ("Pt Ren\u00e9e \u00d8stergaard seen \u2013 BP 120/80, na\u00efve to statins.", "cp1252"),
        ("\u041f\u0430\u0446\u0438\u0435\u043d\u0442 \u0436\u0430\u043b\u0443\u0435\u0442\u0441\u044f "
         "\u043d\u0430 \u0431\u043e\u043b\u044c \u0432 \u0433\u0440\u0443\u0434\u0438, "
         "\u043d\u0430\u0437\u043d\u0430\u0447\u0435\u043d \u0430\u0441\u043f\u0438\u0440\u0438\u043d.", "cp1251"),
    ],
)
def test_legacy_encodings_are_decoded_and_recorded(tmp_path, text, encoding):
    path = tmp_path / "pat" / "legacy.txt"
    path.parent.mkdir()
    path.write_bytes(text.encode(encoding))
    ok, problems = items(path)
    assert not problems
    note = ok[0].notes[0]
    assert note.text == text
    assert any(f.startswith("encoding:") for f in note.flags)


def test_utf8_notes_carry_no_encoding_flag(tmp_path):
    path = tmp_path / "pat" / "u.txt"
    path.parent.mkdir()
    path.write_text("Patient klagt \u00fcber Schmerzen.", "utf-8")
    note = items(path)[0][0].notes[0]
    assert not any(f.startswith("encoding:") for f in note.flags)


def test_missing_path_and_not_a_file(tmp_path):
    _, problems = items(tmp_path / "nope.txt")
    assert "no such file" in problems[0].problem
    _, problems = items("/dev/null")
    assert problems and problems[0].problem in ("not a regular file", "empty file")


def test_parse_date_formats():
    assert parse_date("2023-03-14") == dt.date(2023, 3, 14)
    assert parse_date("03/14/2023") == dt.date(2023, 3, 14)
    assert parse_date("March 14, 2023") == dt.date(2023, 3, 14)
    assert parse_date("2150-01-03 00:00:00") == dt.date(2150, 1, 3)
    assert parse_date("not a date") is None and parse_date("") is None


def test_batch_continues_and_nothing_lost(tmp_path):
    good = tmp_path / "good" / "p1"
    good.mkdir(parents=True)
    (good / "2023-01-01_note.txt").write_text(NOTE)
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    s1 = ws.ingest([tmp_path / "good"], progress=False)
    assert s1.added == 1 and not s1.failed
    bad = tmp_path / "bad.json"
    bad.write_text("{broken")
    (good / "2023-01-02_note2.txt").write_text("Second note: no fever.")
    s2 = ws.ingest([bad, tmp_path / "missing", tmp_path / "good"], progress=False)
    assert s2.added == 1 and s2.unchanged == 1 and len(s2.failed) == 2
    assert "bad.json: malformed JSON" in s2.failed[0]
    assert len(ws.store.notes("p1")) == 2
    s3 = ws.ingest([tmp_path / "good"], progress=False)
    assert s3.unchanged == 2 and s3.added == 0
    assert "2 unchanged" in s3.render()
