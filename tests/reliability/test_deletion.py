"""Deleting a patient removes everything derived: no file of the workspace keeps a trace of them."""
from __future__ import annotations

import hashlib
import sqlite3

TOKEN = "Zorbquix7731"  # in the patient id, the folder name, the note text and the ingest run records


def _files(home):
    return [p for p in home.rglob("*") if p.is_file()]


def _traces(home, needles: list[bytes]) -> list[str]:
    return [f"{p.relative_to(home)}: {n!r}" for p in _files(home) for n in needles if n in p.read_bytes()]


def _ingest_two(tmp_path, ws):
    root = tmp_path / "in"
    (root / f"pt-{TOKEN}").mkdir(parents=True)
    (root / f"pt-{TOKEN}" / "2023-01-02_clinic.txt").write_text(
        f"Clinic letter. Mr {TOKEN} reports chest pain.\n\nPlan:\nStart aspirin 100 mg daily. Review in {TOKEN} clinic.")
    (root / f"pt-{TOKEN}" / "2023-02-02_lab.txt").write_text(f"Labs for {TOKEN}: creatinine 1.1 mg/dL.")
    (root / f"pt-{TOKEN}" / "broken.txt").write_bytes(b"")  # a failed file of this patient, named in the run record
    (root / "keeper").mkdir()
    (root / "keeper" / "2023-01-05_note.txt").write_text("Other patient. Knee pain, ibuprofen as needed.")
    return ws.ingest([root], progress=False)


def test_delete_patient_leaves_no_trace_in_any_workspace_file(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    s = _ingest_two(tmp_path, ws)
    assert s.added == 3 and len(s.failed) == 1
    pid = f"pt-{TOKEN}"
    shas = [hashlib.sha256(c.text.encode()).hexdigest() for c in ws.store.chunks(pid)]
    assert shas and ws.retriever.retrieve(pid, "chest pain aspirin", k=3)
    ws.store.purge_freed()
    assert _traces(ws.home, [TOKEN.encode()]), "the token must be findable before deletion (else the test proves nothing)"
    assert _traces(ws.home, [s.encode() for s in shas])

    ws.delete_patient(pid)
    ws.store.close()
    ws.retriever.close()

    assert _traces(ws.home, [TOKEN.encode(), *(s.encode() for s in shas)]) == []
    con = sqlite3.connect(ws.home / "index" / "embeddings.sqlite")
    assert con.execute("SELECT COUNT(*) FROM emb WHERE sha IN (%s)" % ",".join("?" * len(shas)), shas).fetchone()[0] == 0
    con.close()
    # the other patient is untouched and still searchable
    assert [h.note_id for h in ws.retriever.retrieve("keeper", "knee ibuprofen", k=1)] == ["keeper/2023-01-05_note.txt"]


def test_delete_note_removes_its_vectors_and_text(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    _ingest_two(tmp_path, ws)
    pid = f"pt-{TOKEN}"
    note = next(n for n in ws.store.notes(pid) if "lab" in n.source_key)
    shas = [hashlib.sha256(c.text.encode()).hexdigest() for c in ws.store.chunks(pid) if c.note_id == note.note_id]
    ws.delete_note(note.note_id)
    ws.store.close()
    ws.retriever.close()
    assert _traces(ws.home, [b"creatinine 1.1", *(s.encode() for s in shas)]) == []
    assert [n.source_key for n in ws.store.notes(pid)] == ["2023-01-02_clinic.txt"]


def test_shared_text_keeps_its_vector_for_the_other_patient(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    root = tmp_path / "in"
    for p in ("a1", "b1"):
        (root / p).mkdir(parents=True)
        (root / p / "n.txt").write_text("Identical template text: no known drug allergies.")
    ws.ingest([root], progress=False)
    sha = hashlib.sha256(ws.store.chunks("b1")[0].text.encode()).hexdigest()
    ws.delete_patient("a1")
    assert ws.retriever.emb_cache.get_many(ws.retriever.embedder.name, [sha])
    assert ws.retriever.retrieve("b1", "drug allergies", k=1)
