"""The agent's hybrid retrieval for a multiple-choice question runs one sub-query per option, so the one
sentence that decides the answer reaches the context even when the other options fill the notes."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Note, Patient
from graph_store.readers import ReadItem


@pytest.fixture
def qa(tmp_path):
    from agent import ClinicalQA
    from clinqa.workspace import Workspace
    from retrieval import Retriever
    from retrieval.embedding import HashingEmbedder

    ws = Workspace(tmp_path / "ws", extract=False)
    ws._retriever = Retriever(ws, embedder=HashingEmbedder())  # noqa: SLF001 - model-free embedder for speed
    filler = "Sigmoid colon adenocarcinoma with sigmoid wall thickening. Adenocarcinoma of the sigmoid colon. "
    notes = [Note("p1", f"n{i}", f"Progress note {i}:\n" + filler * 2, note_date=dt.date(2020, 1, i + 1)) for i in range(6)]
    notes.append(Note("p1", "ct", "CT report:\nThere is no evidence of liver metastases.", note_date=dt.date(2020, 2, 1)))
    ws.ingest_items([ReadItem(Patient("p1"), notes)], progress=False)
    q = ClinicalQA(ws, backend="extractive")
    yield q
    q.close()


def test_hybrid_retrieval_gets_the_options(qa, monkeypatch):
    seen = []
    real = qa.ws.retriever.retrieve

    def spy(*args, **kw):
        seen.append(kw.get("options"))
        return real(*args, **kw)

    monkeypatch.setattr(qa.ws.retriever, "retrieve", spy)
    options = {"A": "sigmoid wall thickening", "B": "liver metastases", "C": "adenocarcinoma of the sigmoid colon"}
    ans = qa.ask("p1", "Which of the following was ruled out or documented as absent in the patient?", options=options)
    assert any(o and set(o) == set(options.values()) for o in seen), seen
    assert ans.choice == "B"
    assert any(qa.ws.store.note(c.note_id).text.startswith("CT report") for c in ans.citations)
    for c in ans.citations:
        assert qa.ws.store.note(c.note_id).text[c.start : c.end] == c.quote
