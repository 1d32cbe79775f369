"""`clinqa search` prints hits with note, date, section and text; user errors exit 2 with a clear message."""
from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinqa.errors import ClinqaError

DATA = Path(__file__).parent / "data" / "longhealth_mini.json"


@pytest.fixture
def app(tmp_path, monkeypatch):
    from clinqa.workspace import Workspace
    from retrieval.commands import register

    monkeypatch.setenv("CLINQA_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("CLINQA_EMBEDDER", "hashing")
    ws = Workspace(extract=False)
    ws.ingest([DATA], progress=False)
    ws.store.close()
    a = typer.Typer()

    @a.callback()
    def _root() -> None:
        pass

    register(a)
    return a


def test_search_prints_provenance(app):
    r = CliRunner().invoke(app, ["search", "patient_02", "kyphoplasty fracture", "-k", "2", "--mode", "bm25"])
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith("#1") and "patient_02/text_1" in first and "2020-03-24" in first and "[course]" in first
    assert "kyphoplasty" in r.output


def test_search_json_offsets(app):
    import json

    from clinqa.workspace import Workspace

    r = CliRunner().invoke(app, ["search", "patient_03", "BRAF mutation", "--json", "-k", "3"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    store = Workspace(extract=False).store
    for row in rows:
        assert store.note(row["note_id"]).text[row["start"] : row["end"]] == row["text"]
        assert row["patient_id"] == "patient_03"


def test_search_errors_are_clinqa_errors(app):
    for args in (["search", "nobody", "x"], ["search", "patient_01", "  "], ["search", "patient_01", "x", "--from", "May"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code != 0 and isinstance(r.exception, ClinqaError), args


def test_search_with_options_returns_offsets_of_this_patient(app):
    import json

    from clinqa.workspace import Workspace

    r = CliRunner().invoke(app, ["search", "patient_03", "Which mutation was found?", "--json", "-k", "4",
                                 "-o", "BRAF mutation", "-o", "KRAS mutation"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert rows and [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    store = Workspace(extract=False).store
    for row in rows:
        assert row["patient_id"] == "patient_03"
        assert store.note(row["note_id"]).text[row["start"] : row["end"]] == row["text"]
