"""Workspaces for the reliability tests: real store, chunker, FAISS and BM25; model-free hashing embedder."""
from __future__ import annotations

import pytest

from clinqa.workspace import Workspace
from retrieval import Retriever
from retrieval.embedding import HashingEmbedder


def open_ws(home) -> Workspace:
    ws = Workspace(home, extract=False)
    ws._retriever = Retriever(ws, embedder=HashingEmbedder())
    return ws


@pytest.fixture
def make_ws():
    opened = []

    def make(home):
        ws = open_ws(home)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.store.close()
        ws.retriever.close()
