"""retrieval: section-aware note chunks, per-patient FAISS + BM25 indexes, hybrid (RRF) retrieval with provenance."""
from retrieval.chunking import NoteChunker
from retrieval.retriever import Hit, Retriever, rrf_fuse

__all__ = ["NoteChunker", "Retriever", "Hit", "rrf_fuse"]
