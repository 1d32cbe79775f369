"""The smaller problems of issue 17: no id leak, no invented dates, body Date: lines, quiet progress."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from clinqa.errors import UnknownPatientError
from graph_store.readers import ReadItem, read_path


def test_unknown_patient_error_lists_no_other_ids(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    path = tmp_path / "lh.json"
    path.write_text(json.dumps({f"secret-{i}": {"texts": {"t": "Aspirin."}} for i in range(3)}))
    ws.ingest([path], progress=False)
    for call in (lambda: ws.store.notes("ghost"), lambda: ws.retriever.retrieve("ghost", "aspirin"),
                 lambda: ws.store.require_patient("secret")):
        with pytest.raises(UnknownPatientError) as e:
            call()
        assert "secret-" not in str(e.value) and "unknown patient" in str(e.value)


@pytest.mark.parametrize(
    "name, body, expected",
    [
        ("note.txt", "Date: 03/14/2021\nSeen in clinic.", dt.date(2021, 3, 14)),
        ("visit.md", "Clinic letter\nDate of service: 2020-11-02\nStable.", dt.date(2020, 11, 2)),
        ("letter.txt", "DATE - 5 January 2019\nReferral for chest pain.", dt.date(2019, 1, 5)),
        ("undated.txt", "Seen in clinic. Stable. Continue current medication.", None),
    ],
)
def test_text_note_dates(tmp_path, name, body, expected):
    path = tmp_path / "p1" / name
    path.parent.mkdir()
    path.write_text(body)
    (item,) = [x for x in read_path(path) if isinstance(x, ReadItem)]
    note = item.notes[0]
    assert note.note_date == expected and note.date_known is (expected is not None)
    assert ("date_unknown" in note.flags) is (expected is None)


def test_undated_notes_do_not_become_the_last_date(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    d = tmp_path / "in" / "p1"
    d.mkdir(parents=True)
    (d / "2020-05-01_clinic.txt").write_text("Clinic. Stable.")
    (d / "misc.txt").write_text("Undated letter. Stable.")
    path = tmp_path / "lh.json"
    path.write_text(json.dumps({"p2": {"texts": {"t": "No date anywhere here."}}}))
    ws.ingest([tmp_path / "in", path], progress=False)
    rows = {r["patient_id"]: r for r in ws.store.patient_summaries()}
    assert rows["p1"]["last"] == "2020-05-01" and rows["p2"]["last"] is None
    assert dt.date.today().isoformat() not in json.dumps(rows)


def test_quiet_ingest_prints_no_progress_bars(tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps({f"p{i:02d}": {"texts": {f"t{j}": f"Note {j}. Aspirin {i} mg." for j in range(5)}}
                                for i in range(60)}))  # > 50 patients: the index bar would show without -q
    env = {**os.environ, "CLINQA_HOME": str(tmp_path / "ws"), "CLINQA_EMBEDDER": "hashing"}
    loud = subprocess.run([sys.executable, "-c", "from clinqa.workspace import Workspace; import sys; "
                           "Workspace(sys.argv[1], extract=False).ingest([sys.argv[2]])", str(tmp_path / "ws2"), str(path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert "index" in loud.stderr  # the bar this test silences exists
    quiet = subprocess.run([sys.executable, "-c", "from clinqa.workspace import Workspace; import sys; "
                            "Workspace(sys.argv[1], extract=False).ingest([sys.argv[2]], progress=False)",
                            str(tmp_path / "ws"), str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr.strip() == ""
